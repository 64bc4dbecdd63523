#pragma once

// What a checkpoint holds for one operator subtask and for one job (Flink's
// OperatorSubtaskState, OperatorState and CompletedCheckpoint): the data model the checkpoint
// coordinator assembles from task acknowledgements, checkpoint storage writes and reads, and
// restore hands back to operators (through StreamOperatorContext::restoredKeyedState and
// ::restoredOperatorState).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sluice/runtime/keyed_state.h"
#include "sluice/runtime/operator_state.h"

namespace sluice {

/// The state of one operator subtask in one checkpoint.
struct SubtaskCheckpointState {
  /// Keyed state by key group (empty for non-keyed operators).
  KeyedStateSnapshot keyedState;
  /// Operator (non-keyed) state, including broadcast state and source split positions.
  OperatorStateSnapshot operatorState;
  /// In-flight buffers per input channel, for unaligned checkpoints (channel index → bytes of
  /// the serialized records in arrival order); empty for aligned checkpoints.
  std::map<int, std::vector<uint8_t>> inputChannelState;
};

/// The state of one operator (all its subtasks), matched to the operator on restore by its id
/// (the hash of its uid, or of its position in the graph: StreamNode::operatorId).
struct OperatorCheckpointState {
  std::string operatorId;
  /// The operator's name, for error messages only.
  std::string operatorName;
  int parallelism = 1;
  int maxParallelism = 128;
  /// The operator coordinator's state (a source's unassigned splits), empty when stateless.
  std::vector<uint8_t> coordinatorState;
  /// Subtask index → its state; subtasks with no state may be absent.
  std::map<int, SubtaskCheckpointState> subtasks;
};

/// A complete checkpoint or savepoint of a job.
struct CompletedCheckpoint {
  std::string jobId;
  int64_t checkpointId = 0;
  /// When the checkpoint was triggered, ms since the epoch.
  int64_t timestamp = 0;
  bool savepoint = false;
  /// Operator id → state.
  std::map<std::string, OperatorCheckpointState> operators;
};

}  // namespace sluice
