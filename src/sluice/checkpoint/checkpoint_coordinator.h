#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sluice/checkpoint/checkpoint_config.h"
#include "sluice/checkpoint/checkpoint_responder.h"
#include "sluice/checkpoint/checkpoint_state.h"
#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/core/clock.h"
#include "sluice/network/events.h"

namespace sluice {

/// Statistics of one checkpoint (Flink's checkpoint statistics), times in ms.
struct CheckpointStats {
  int64_t checkpointId = 0;
  int64_t triggerTimestamp = 0;   ///< ms since the epoch
  int64_t durationMillis = 0;     ///< trigger to completion (or abort)
  int64_t stateSizeBytes = 0;     ///< keyed + operator state bytes over all subtasks
  int64_t channelStateBytes = 0;  ///< in-flight buffers stored by unaligned checkpoints
  int64_t maxAlignmentMillis = 0;
  /// Longest time from the trigger until a task started the checkpoint (its first barrier
  /// arrived: the barrier's trip through queued data), ms, as Flink's checkpoint start delay.
  int64_t maxStartDelayMillis = 0;
  bool completed = false;
  std::string path;     ///< the chk-<n> directory when completed
  std::string failure;  ///< why it was aborted
};

/// What the coordinator drives: the job's sources and the acknowledgement count. Implemented
/// by the executor (the coordinator moves into the JobManager later; this is its seam). Tasks
/// are named by their index in the job's deployment, 0 <= index < numTasks().
class CheckpointParticipants {
 public:
  virtual ~CheckpointParticipants() = default;
  /// Snapshots every source coordinator and injects `barrier` at the source tasks that still run
  /// (atomically per source: OperatorCoordinator::checkpointCoordinator); finished source tasks
  /// are skipped (their final state comes through CheckpointCoordinator::taskFinished). Returns
  /// the coordinator states by operator id. Throws SluiceException saying why when the
  /// checkpoint cannot start (a source cannot checkpoint).
  virtual std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) = 0;
  /// Injects `barrier` at task `taskIndex` directly, as at a source: a task all of whose inputs
  /// ended and that waits for its final checkpoint (FLIP-147), so no barrier reaches it through
  /// its channels. Nothing happens when the task has ended meanwhile.
  virtual void triggerTask(int taskIndex, const CheckpointBarrier& barrier) = 0;
  /// Number of tasks that must acknowledge each checkpoint (finished ones included: their
  /// final state stands in for their acknowledgement).
  virtual int numTasks() const = 0;
  virtual void notifyComplete(int64_t checkpointId) = 0;
  virtual void notifyAborted(int64_t checkpointId) = 0;
  /// Fails the running job with `reason` (too many consecutive checkpoint failures); its
  /// restart strategy decides what follows. Called with the coordinator's lock held.
  virtual void failJob(const std::string& reason) = 0;
};

/// Triggers periodic checkpoints, collects the tasks' acknowledgements, writes completed
/// checkpoints to storage, subsumes old ones, notifies the tasks, and aborts checkpoints that
/// time out or are declined (Flink's CheckpointCoordinator). One thread of its own; thread-safe:
/// tasks acknowledge and decline from their threads.
class CheckpointCoordinator final : public CheckpointResponder {
 public:
  CheckpointCoordinator(std::string jobId, CheckpointConfig config,
                        CheckpointParticipants& participants, std::shared_ptr<Clock> clock);
  ~CheckpointCoordinator() override;

  /// Starts the coordinator's thread: periodic checkpoints when the config enables them, and
  /// completion of checkpoints triggered by triggerCheckpoint().
  void start();
  /// Stops triggering and aborts pending checkpoints; returns once the thread ended.
  void stop();
  /// stop(), then cleans up the retained checkpoints as
  /// execution.checkpointing.externalized-checkpoint-retention says for a job that ended with
  /// `status` (CompletedCheckpointStore::shutdown).
  void shutdown(JobTerminalStatus status);

  /// Failover (Flink's stopCheckpointScheduler): aborts the pending checkpoint with `reason`
  /// and triggers none until resume(). Savepoints requested meanwhile fail.
  void suspend(const std::string& reason);
  /// Triggers again; the next periodic checkpoint is due one interval from now.
  void resume();

  /// One operator's part of a task's acknowledgement (see CheckpointResponder).
  using OperatorAck = OperatorSnapshotAck;
  /// `alignmentMillis` and `startDelayMillis` are the task's (see CheckpointStats). A task
  /// acknowledges a checkpoint at most once; a repeated acknowledgement is ignored.
  void acknowledge(int64_t checkpointId, int taskIndex, std::vector<OperatorAck> acks,
                   int64_t alignmentMillis, int64_t startDelayMillis) override;

  /// Checkpoints after tasks finish (Flink's FLIP-147): task `taskIndex` finished (every input
  /// ended, its operators finished) and is about to end; `finalState` is the snapshot of its
  /// operators taken then, or nullopt when the executor keeps none (checkpointing is not
  /// enabled). The final state stands in for the task's acknowledgement of the pending
  /// checkpoint, if the task did not acknowledge it, and of every later checkpoint, so
  /// checkpoints go on while some tasks have finished: a finished source is skipped, a channel
  /// from a finished task counts as aligned at its end of partition, and a restore from such a
  /// checkpoint gives the finished subtasks their final state (a source reader with no split
  /// left reads nothing). Without a final state, checkpoints are aborted from then on, saying
  /// why. Called on the task's thread; reports of another attempt than the current one
  /// (beginAttempt) are ignored.
  void taskFinished(int attemptNumber, int taskIndex,
                    std::optional<std::vector<OperatorAck>> finalState) override;
  /// Task `taskIndex` finished its input and waits for a final checkpoint before it ends (its
  /// chain has a two-phase-commit sink that commits what it prepared at end of input only when
  /// a checkpoint taken after that completes). No barrier reaches it through its channels any
  /// more, so from now on the coordinator triggers it directly (CheckpointParticipants::
  /// triggerTask), the pending checkpoint at once if the task has not acknowledged it.
  void taskWaitingForFinalCheckpoint(int attemptNumber, int taskIndex) override;
  /// A new execution attempt (0 first, then one per restart) is about to deploy its tasks:
  /// forgets the finished and waiting tasks of the previous one. Call before the tasks start.
  void beginAttempt(int attemptNumber);
  /// A task could not take checkpoint `checkpointId`: its snapshot failed (`countsAsFailure`:
  /// counted against execution.checkpointing.tolerable-failed-checkpoints), or it aborted the
  /// checkpoint because an input ended or a newer barrier overtook it (not counted, as Flink's
  /// task-closing declines).
  void decline(int64_t checkpointId, const std::string& reason, bool countsAsFailure) override;

  /// Triggers a checkpoint now (tests, savepoints); returns its id, or nullopt when it could
  /// not be triggered (a checkpoint is pending, a source cannot checkpoint, or a task finished
  /// without a final state: see taskFinished).
  std::optional<int64_t> triggerCheckpoint();
  /// Triggers a savepoint (a checkpoint written self-contained to a new savepoint-<job>-<random>
  /// directory under `targetDirectory`, or under state.savepoints.dir when empty; never subsumed
  /// or deleted). Waits, up to the checkpoint timeout, for a pending checkpoint to end first. The
  /// future holds the savepoint's directory, or throws SluiceException when the savepoint was
  /// aborted (declined, timed out, not triggerable as triggerCheckpoint, job restarting) or could
  /// not be written;
  /// ConfigurationException when there is no directory at all.
  std::future<std::string> triggerSavepoint(const std::string& targetDirectory);
  /// Where tasks write the state files of pending checkpoint `checkpointId`: its chk-<n>
  /// directory, created when the checkpoint was triggered; empty when the checkpoint keeps its
  /// state inline (a savepoint, no checkpoint directory) or is no longer pending. Thread-safe.
  std::string stateLocation(int64_t checkpointId) const override;
  /// The newest completed checkpoint (what a failover restores), or null.
  std::shared_ptr<const CompletedCheckpoint> latestCompletedCheckpoint() const;
  /// Statistics of every checkpoint so far, oldest first.
  std::vector<CheckpointStats> statistics() const;
  /// Directory of the latest completed checkpoint, or "".
  std::string latestCompletedPath() const;

 private:
  struct Pending {
    int64_t id = 0;
    int64_t timestamp = 0;
    CheckpointBarrier barrier;
    std::string location;  // see stateLocation()
    int acksLeft = 0;
    std::set<int> acknowledged;  // task indices
    int64_t maxAlignmentMillis = 0;
    int64_t maxStartDelayMillis = 0;
    CompletedCheckpoint checkpoint;
    // Savepoints: where to write it and who waits for its directory.
    std::optional<std::string> savepointDirectory;
    std::shared_ptr<std::promise<std::string>> savepointResult;
  };
  std::optional<int64_t> triggerLocked(std::unique_lock<std::mutex>& lock,
                                       std::optional<std::string> savepointDirectory,
                                       std::shared_ptr<std::promise<std::string>> savepointResult);
  void run();
  void abortLocked(const std::string& reason);
  void countFailureLocked(const std::string& reason);
  void completeLocked(std::unique_lock<std::mutex>& lock);
  // Adds one task's operator states to the pending checkpoint and counts its acknowledgement
  // (once per task).
  void addAcknowledgementLocked(int taskIndex, std::vector<OperatorAck> acks);

  std::string jobId_;
  CheckpointConfig config_;
  CheckpointParticipants& participants_;
  std::shared_ptr<Clock> clock_;
  FileCheckpointStorage storage_;
  CompletedCheckpointStore store_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Pending> pending_;
  bool completing_ = false;
  int64_t nextId_ = 1;
  int64_t lastEnd_ = 0;
  bool stopped_ = false;
  bool suspended_ = false;
  int consecutiveFailures_ = 0;
  // FLIP-147: final states of finished tasks (nullopt: finished without one), and the tasks
  // waiting for their final checkpoint, by task index; cleared when an attempt is replaced.
  std::map<int, std::optional<std::vector<OperatorAck>>> finished_;
  std::set<int> waiting_;
  int attemptNumber_ = 0;
  std::thread thread_;
  std::vector<CheckpointStats> stats_;
};

}  // namespace sluice
