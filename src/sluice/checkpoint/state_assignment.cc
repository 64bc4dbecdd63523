#include "sluice/checkpoint/state_assignment.h"

#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/core/exceptions.h"
#include "sluice/state/key_groups.h"

namespace sluice {

std::optional<OperatorRestoreState> assignOperatorState(const CompletedCheckpoint& checkpoint,
                                                        const std::string& operatorId,
                                                        const std::string& operatorName,
                                                        const TaskInfo& task,
                                                        const StateReadHook& readHook) {
  auto it = checkpoint.operators.find(operatorId);
  if (it == checkpoint.operators.end()) return std::nullopt;
  const OperatorCheckpointState& op = it->second;
  OperatorRestoreState result;
  std::vector<OperatorStateSnapshot> old(static_cast<size_t>(op.parallelism));
  const KeyGroupRange mine = KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
      task.maxNumberOfParallelSubtasks, task.numberOfParallelSubtasks, task.indexOfSubtask);
  for (const auto& [subtask, st] : op.subtasks) {
    if (!st.keyedState.keyGroups.empty() || !st.keyedStateHandle.empty()) {
      if (st.keyedState.maxParallelism != task.maxNumberOfParallelSubtasks) {
        throw SluiceException("operator '" + operatorName + "' has max parallelism " +
                              std::to_string(task.maxNumberOfParallelSubtasks) +
                              " but its checkpointed keyed state was written with " +
                              std::to_string(st.keyedState.maxParallelism));
      }
      KeyedStateSnapshot part;
      part.maxParallelism = st.keyedState.maxParallelism;
      part.stateMetaInfo = st.keyedState.stateMetaInfo;
      for (const auto& [kg, bytes] : st.keyedState.keyGroups) {
        if (mine.contains(kg)) part.keyGroups.emplace(kg, bytes);
      }
      for (const auto& [kg, range] : st.keyedStateHandle.keyGroups) {
        if (!mine.contains(kg)) continue;
        part.keyGroups.emplace(kg, FileCheckpointStorage::readStateFileRange(
                                       checkpoint.directory, st.keyedStateHandle.file, range));
        if (readHook) readHook(op.operatorId, task.indexOfSubtask, kg, range.length);
      }
      if (!part.keyGroups.empty()) result.keyed.push_back(std::move(part));
    }
    if (subtask >= 0 && subtask < op.parallelism) {
      old[static_cast<size_t>(subtask)] = st.operatorState;
    }
  }
  auto parts = redistributeOperatorState(old, task.numberOfParallelSubtasks);
  result.operatorState = std::move(parts[static_cast<size_t>(task.indexOfSubtask)]);
  return result;
}

void checkAllStateAssigned(const CompletedCheckpoint& checkpoint,
                           const std::set<std::string>& operatorIds, bool allowNonRestoredState) {
  if (allowNonRestoredState) return;
  for (const auto& [id, op] : checkpoint.operators) {
    if (operatorIds.count(id) == 0) {
      throw SluiceException("the checkpoint holds state of operator '" + op.operatorName +
                            "' (id " + id +
                            ") that this job does not have; give it the same uid, or allow "
                            "non-restored state (--allow-non-restored-state)");
    }
  }
}

std::map<int, TaskChannelState> assignChannelState(
    const CompletedCheckpoint& checkpoint, const ChannelStateVertex& vertex,
    const std::vector<ChannelStateVertex>& neighbours) {
  std::map<int, TaskChannelState> result;
  auto restored = [&](const std::string& id) -> const OperatorCheckpointState* {
    auto it = checkpoint.operators.find(id);
    return it == checkpoint.operators.end() ? nullptr : &it->second;
  };
  const OperatorCheckpointState* op = restored(vertex.headOperatorId);
  if (op == nullptr) return result;
  bool any = false;
  for (const auto& [subtask, st] : op->subtasks) {
    any = any || !st.inputChannelState.empty() || !st.resultSubpartitionState.empty();
  }
  if (!any) return result;
  bool same = op->parallelism == vertex.parallelism;
  for (const auto& n : neighbours) {
    const OperatorCheckpointState* other = restored(n.headOperatorId);
    same = same && other != nullptr && other->parallelism == n.parallelism;
  }
  if (!same) {
    throw SluiceException(
        "the checkpoint holds in-flight data (an unaligned checkpoint) of '" + vertex.name +
        "', which can only be restored at the parallelism it was taken with, also for the "
        "operators it exchanges data with; restore from an aligned checkpoint or a savepoint "
        "to rescale");
  }
  for (const auto& [subtask, st] : op->subtasks) {
    if (st.inputChannelState.empty() && st.resultSubpartitionState.empty()) continue;
    TaskChannelState state;
    state.inputChannels = st.inputChannelState;
    state.resultSubpartitions = st.resultSubpartitionState;
    result.emplace(subtask, std::move(state));
  }
  return result;
}

}  // namespace sluice
