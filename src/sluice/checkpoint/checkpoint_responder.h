#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/checkpoint/checkpoint_state.h"

namespace sluice {

/// One operator's part of a task's acknowledgement: the operator's identity (id, name for
/// messages, parallelism, max parallelism, subtask index) and the subtask's state of it.
struct OperatorSnapshotAck {
  std::string operatorId;
  std::string operatorName;
  int parallelism = 1;
  int maxParallelism = 128;
  int subtask = 0;
  SubtaskCheckpointState state;
};

/// What tasks report about checkpoints to their job's checkpoint coordinator (Flink's
/// CheckpointResponder, with FLIP-147's finished-task reports): the seam between the task side
/// (runtime's SubtaskCheckpointCoordinator) and the JobMaster side (CheckpointCoordinator, which
/// implements it in-process; the cluster puts RPC behind the same calls). Tasks are named by
/// their index among the job's tasks (ExecutionGraph::executionVertices). Implementations are
/// thread-safe: every task calls from its own thread or its snapshot thread.
class CheckpointResponder {
 public:
  virtual ~CheckpointResponder() = default;
  /// Task `taskIndex` took checkpoint `checkpointId`: its operators' states, keyed state by
  /// handle when it went to a state file (stateLocation). `alignmentMillis` and
  /// `startDelayMillis` are the task's (CheckpointStats). A repeated acknowledgement is ignored.
  virtual void acknowledge(int64_t checkpointId, int taskIndex,
                           std::vector<OperatorSnapshotAck> acks, int64_t alignmentMillis,
                           int64_t startDelayMillis) = 0;
  /// A task could not take checkpoint `checkpointId` (see CheckpointCoordinator::decline).
  virtual void decline(int64_t checkpointId, const std::string& reason, bool countsAsFailure) = 0;
  /// Task `taskIndex` of execution attempt `attemptNumber` finished, with the final snapshot of
  /// its operators or nullopt (see CheckpointCoordinator::taskFinished).
  virtual void taskFinished(int attemptNumber, int taskIndex,
                            std::optional<std::vector<OperatorSnapshotAck>> finalState) = 0;
  /// Task `taskIndex` waits for a final checkpoint (see
  /// CheckpointCoordinator::taskWaitingForFinalCheckpoint).
  virtual void taskWaitingForFinalCheckpoint(int attemptNumber, int taskIndex) = 0;
  /// The directory tasks write checkpoint `checkpointId`'s state files to, or "" when its state
  /// stays inline (a savepoint, no checkpoint directory, or no longer pending). In a cluster
  /// this travels with the trigger (Flink's CheckpointStorageLocationReference).
  virtual std::string stateLocation(int64_t checkpointId) const = 0;
};

}  // namespace sluice
