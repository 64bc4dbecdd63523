#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "sluice/api/common/runtime_context.h"
#include "sluice/checkpoint/checkpoint_barrier_handler.h"
#include "sluice/checkpoint/checkpoint_config.h"
#include "sluice/checkpoint/checkpoint_coordinator.h"
#include "sluice/checkpoint/checkpoint_state.h"
#include "sluice/checkpoint/state_assignment.h"
#include "sluice/cluster/job_execution_result.h"
#include "sluice/cluster/restart_strategy.h"
#include "sluice/core/clock.h"
#include "sluice/graph/job_graph.h"

namespace sluice {

/// Settings of one job run that come from the configuration.
struct ExecutionOptions {
  int64_t bufferTimeoutMillis = 100;  ///< execution.buffer-timeout
  uint32_t segmentSize = 32 * 1024;   ///< taskmanager.memory.segment-size, bytes
  int buffersPerChannel = 2;          ///< taskmanager.network.memory.buffers-per-channel
  int floatingBuffers = 8;            ///< taskmanager.network.memory.floating-buffers-per-gate
  std::shared_ptr<Clock> clock = SystemClock::instance();
  uint64_t seed = 0;                          ///< for random partitioning (shuffle)
  int64_t autoWatermarkIntervalMillis = 200;  ///< pipeline.auto-watermark-interval
  /// execution.checkpointing.mode: how tasks with several input channels treat barriers.
  CheckpointingMode checkpointingMode = CheckpointingMode::kExactlyOnce;
  /// Periodic checkpoints (execution.checkpointing.*): off unless the interval is set.
  CheckpointConfig checkpointConfig;
  /// The job's id (32 hex digits), for checkpoint directories; random when empty.
  std::string jobId;
  /// The checkpoint or savepoint to start from (execution.savepoint.path / -s), or null.
  std::shared_ptr<const CompletedCheckpoint> restoreCheckpoint;
  /// Makes the job's restart strategy (restart-strategy.*); null never restarts. A failed job
  /// restarts every task from the latest completed checkpoint as the strategy allows.
  std::function<std::unique_ptr<RestartStrategy>()> restartStrategy;
  /// execution.savepoint.ignore-unclaimed-state (--allow-non-restored-state): state of
  /// operators the job no longer has is skipped instead of failing the submission.
  bool allowNonRestoredState = false;
  /// Test-only: every task runs this (on its own thread) at each checkpoint, just before it
  /// snapshots its operators and forwards the barrier. Must be thread-safe across tasks.
  std::function<void(const TaskInfo& task, const CheckpointBarrier& barrier,
                     const CheckpointMetrics& metrics)>
      checkpointHookForTesting;
  /// Test-only: called on restore for every key group of keyed state read from a state file
  /// (operator id, the new subtask, key group, bytes read). Must be thread-safe.
  StateReadHook stateReadHookForTesting;
};

/// Network statistics of a job, for tests and benchmarks.
struct NetworkStats {
  int totalBuffers = 0;         ///< buffers over all result partitions
  int maxBuffersInUse = 0;      ///< sum over partitions of each one's high-water mark
  int64_t blockedRequests = 0;  ///< buffer requests that had to wait (backpressure)
};

/// A job's lifecycle state, as Flink's JobStatus (CREATED, RUNNING, FAILING is not used,
/// RESTARTING, CANCELLING, and the terminal FINISHED, FAILED, CANCELED).
enum class JobStatus {
  kCreated,
  kRunning,
  kRestarting,
  kCancelling,
  kFinished,
  kFailed,
  kCanceled
};
/// Flink's name of the status ("RUNNING").
const char* toString(JobStatus status);

/// A running job (Flink's JobClient). Thread-safe.
class JobClient {
 public:
  virtual ~JobClient() = default;
  /// Cancels the job: every task stops, blocked ones included. Returns at once.
  virtual void cancel() = 0;
  /// Waits for the job to end. Returns its result when it finished; throws
  /// JobExecutionException naming the failing operator and subtask when it failed, or saying
  /// it was cancelled. Call once.
  virtual JobExecutionResult getJobExecutionResult() = 0;
  /// Buffer-pool statistics (meaningful after getJobExecutionResult()).
  virtual NetworkStats networkStats() const = 0;
  /// Triggers a checkpoint now, also when periodic checkpointing is off; its id, or nullopt when
  /// one is pending or a source ended. Stored on disk when a checkpoint directory is set, else
  /// kept in memory.
  virtual std::optional<int64_t> triggerCheckpoint() { return std::nullopt; }
  /// Statistics of the job's checkpoints so far (id, trigger time, duration, size, alignment).
  virtual std::vector<CheckpointStats> checkpointStatistics() const { return {}; }
  /// The job's status now.
  virtual JobStatus getJobStatus() const = 0;
  /// Takes a savepoint into a new savepoint-<job>-<random> directory under `directory`
  /// (state.savepoints.dir when empty), as Flink's JobClient.triggerSavepoint. The future holds
  /// the savepoint's directory, or throws SluiceException when it failed. Throws
  /// ConfigurationException at once when there is no directory.
  virtual std::future<std::string> triggerSavepoint(const std::string& directory) = 0;
  /// Takes a savepoint, then stops the job, which ends FINISHED (Flink's stopWithSavepoint).
  /// The future holds the savepoint's directory; if the savepoint fails the job keeps running
  /// and the future throws. `drain` (emit the maximum watermark first) is not supported yet:
  /// throws SluiceException. The JobClient must outlive the future.
  virtual std::future<std::string> stopWithSavepoint(const std::string& directory, bool drain) = 0;
  /// How many times the job restarted after failures so far.
  virtual int numberOfRestarts() const = 0;
};

/// Runs a JobGraph on threads of this process: one thread per subtask, local channels between
/// them, on a MiniCluster of its own (as Flink's LocalExecutor with a per-job MiniCluster).
class LocalExecutor {
 public:
  /// Deploys and starts every task. Throws SluiceException when the graph cannot be deployed.
  static std::unique_ptr<JobClient> submit(const JobGraph& jobGraph,
                                           const ExecutionOptions& options);
};

}  // namespace sluice
