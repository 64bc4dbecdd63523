#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sluice/api/common/runtime_context.h"
#include "sluice/checkpoint/checkpoint_responder.h"
#include "sluice/core/clock.h"
#include "sluice/runtime/stream_task.h"

namespace sluice {

/// The asynchronous part of checkpoints (Flink's asynchronous snapshot threads): runs jobs one
/// after the other on a thread of its own, so that tasks go on processing meanwhile. Jobs still
/// queued at stop() are dropped (their checkpoint can no longer complete). Thread-safe.
class SnapshotMaterializer {
 public:
  SnapshotMaterializer();
  ~SnapshotMaterializer();
  SnapshotMaterializer(const SnapshotMaterializer&) = delete;
  SnapshotMaterializer& operator=(const SnapshotMaterializer&) = delete;
  /// Queues `job`; dropped when stopped.
  void submit(std::function<void()> job);
  /// Drops queued jobs, waits for the running one and ends the thread. Idempotent.
  void stop();

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;
};

/// The task side of checkpoints for the tasks of one deployment (Flink's
/// SubtaskCheckpointCoordinator): at each barrier a task takes the synchronous part of its
/// snapshot (operator state, a copy-on-write view of keyed state) on its own thread; the
/// materializer thread serializes the keyed state into a state file of its own in the
/// checkpoint's directory (CheckpointResponder::stateLocation; inline when there is none); once
/// that and the task's channel state (unaligned checkpoints) are in, the task acknowledges with
/// state handles. A snapshot that fails declines the checkpoint. Finished tasks report their
/// final state (FLIP-147). Everything goes to the job through the CheckpointResponder, so the
/// same code runs under a MiniCluster and in a TaskManager.
///
/// Thread-safe: hooks run on the tasks' threads and the materializer thread.
class SubtaskCheckpointCoordinator {
 public:
  /// An operator of a task's chain, head first: its stable id and its name (for messages).
  struct ChainedOperator {
    std::string operatorId;
    std::string name;
  };
  /// Test-only: runs on the task's thread at each checkpoint, just before its snapshot.
  using CheckpointHookForTesting = std::function<void(
      const TaskInfo& task, const CheckpointBarrier& barrier, const CheckpointMetrics& metrics)>;

  /// `clock` measures start delays (CheckpointStats); `attemptNumber` tags finished-task
  /// reports; `checkpointingEnabled` false makes finished tasks report no final state.
  SubtaskCheckpointCoordinator(CheckpointResponder& responder, std::shared_ptr<Clock> clock,
                               int attemptNumber, bool checkpointingEnabled,
                               CheckpointHookForTesting hookForTesting = {});
  ~SubtaskCheckpointCoordinator();
  SubtaskCheckpointCoordinator(const SubtaskCheckpointCoordinator&) = delete;
  SubtaskCheckpointCoordinator& operator=(const SubtaskCheckpointCoordinator&) = delete;

  /// Installs the checkpoint, channel state, abort, finished and waiting-for-final-checkpoint
  /// hooks on `task` (before it runs); `taskIndex` names it to the responder, `chain` has one
  /// entry per operator of the task, head first. The task must outlive stop().
  void attach(StreamTask& task, int taskIndex, const TaskInfo& info,
              std::vector<ChainedOperator> chain);
  /// Stops the materializer (queued snapshots are dropped). Call before attached tasks are
  /// destroyed. Idempotent.
  void stop() { materializer_.stop(); }

 private:
  // A task's snapshot waiting for its keyed state to be materialized and for its channel state
  // before it is acknowledged.
  struct PendingAck {
    int taskIndex = 0;
    std::vector<OperatorSnapshotAck> acks;
    int64_t alignmentMillis = 0;
    int64_t startDelayMillis = 0;
    bool materialized = false;
    std::optional<TaskChannelState> channelState;
  };
  struct Attached {
    StreamTask* task;
    int taskIndex;
    TaskInfo info;
    std::vector<ChainedOperator> chain;
  };

  void snapshotTask(const Attached& a, const CheckpointBarrier& barrier,
                    const CheckpointMetrics& metrics);
  void completeChannelState(StreamTask& task, int64_t checkpointId, TaskChannelState state);
  void acknowledge(int64_t checkpointId, PendingAck ready);
  std::vector<OperatorSnapshotAck> finalSnapshot(const Attached& a);
  static OperatorSnapshotAck ackFor(const Attached& a, size_t k);
  void dropPendingAck(StreamTask& task, int64_t checkpointId);

  CheckpointResponder& responder_;
  std::shared_ptr<Clock> clock_;
  int attemptNumber_;
  bool checkpointingEnabled_;
  CheckpointHookForTesting hookForTesting_;
  std::mutex pendingAcksMutex_;
  std::map<std::pair<StreamTask*, int64_t>, PendingAck> pendingAcks_;
  SnapshotMaterializer materializer_;
};

}  // namespace sluice
