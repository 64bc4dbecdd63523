#pragma once

// State assignment on restore (Flink's StateAssignmentOperation): which part of a completed
// checkpoint each subtask of the restored job starts from. Keyed state goes by key group (a
// subtask takes, and reads from the state files, only the key groups it owns, so any new
// parallelism works); operator state is redistributed as Flink's round-robin repartitioner
// does (redistributeOperatorState); channel state of unaligned checkpoints goes back to the
// same subtask and only at the same parallelism.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sluice/api/common/runtime_context.h"
#include "sluice/checkpoint/checkpoint_state.h"

namespace sluice {

/// Called for every key group read from a state file on restore (operator id, the new subtask,
/// key group, bytes read); for tests. Must be thread-safe.
using StateReadHook =
    std::function<void(const std::string& operatorId, int subtask, int keyGroup, uint64_t bytes)>;

/// What one operator of one new subtask restores from.
struct OperatorRestoreState {
  /// Keyed state of the key groups the subtask owns, one snapshot per old subtask that had any.
  std::vector<KeyedStateSnapshot> keyed;
  /// The subtask's share of the operator state.
  OperatorStateSnapshot operatorState;
};

/// The state operator `operatorId` (named `operatorName` in errors) of subtask `task` restores
/// from `checkpoint`, or nullopt when the checkpoint has none of that operator. Reads keyed
/// state in state files from the checkpoint's directory, only the byte ranges of the key
/// groups `task` owns (KeyGroupRangeAssignment). Throws SluiceException when the checkpointed
/// keyed state was written with another max parallelism, or when a state file cannot be read
/// (names the file). Thread-safe (reads only).
std::optional<OperatorRestoreState> assignOperatorState(const CompletedCheckpoint& checkpoint,
                                                        const std::string& operatorId,
                                                        const std::string& operatorName,
                                                        const TaskInfo& task,
                                                        const StateReadHook& readHook = {});

/// Throws SluiceException naming the first operator of `checkpoint` whose id is not in
/// `operatorIds` (the restored job lacks it: Flink's "cannot map checkpoint state"), unless
/// `allowNonRestoredState` (execution.savepoint.ignore-unclaimed-state).
void checkAllStateAssigned(const CompletedCheckpoint& checkpoint,
                           const std::set<std::string>& operatorIds, bool allowNonRestoredState);

/// A task of the restored job, for channel state assignment: the operator id of its chain's
/// head (channel state is stored with it) and its parallelism.
struct ChannelStateVertex {
  std::string headOperatorId;
  std::string name;  ///< for errors
  int parallelism = 1;
};

/// The channel state (in-flight buffers of an unaligned checkpoint) of `vertex`'s subtasks by
/// subtask index; empty when the checkpoint holds none for it. Channel state restores only
/// when the vertex and every vertex it exchanges data with (`neighbours`) run at the
/// parallelism the checkpoint was taken with (Flink rescales it with rules Sluice does not
/// have yet): throws SluiceException saying so otherwise.
std::map<int, TaskChannelState> assignChannelState(
    const CompletedCheckpoint& checkpoint, const ChannelStateVertex& vertex,
    const std::vector<ChannelStateVertex>& neighbours);

}  // namespace sluice
