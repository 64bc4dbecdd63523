#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sluice/checkpoint/checkpoint_coordinator.h"
#include "sluice/cluster/local_executor.h"
#include "sluice/cluster/task_executor.h"
#include "sluice/graph/execution_graph.h"

namespace sluice {

/// Deploys one execution attempt of a job's tasks and returns the gateway to the TaskExecutor
/// running them (the part of Flink's ResourceManager and slot pool a JobMaster uses). Arguments:
/// the job (the JobMaster's, alive as long as the returned gateway), its settings, the attempt's
/// number (0, then one per restart), the checkpoint to start from (or null), and where tasks
/// report checkpoints. Throws SluiceException when the tasks cannot be deployed.
using TaskDeployer = std::function<std::unique_ptr<TaskExecutorGateway>(
    const JobGraph& jobGraph, const ExecutionGraph& executionGraph, const ExecutionOptions& options,
    int attemptNumber, std::shared_ptr<const CompletedCheckpoint> restore,
    CheckpointResponder& checkpoints)>;

/// Runs one job (Flink's JobMaster with its scheduler): owns the job's ExecutionGraph and
/// checkpoint coordinator, deploys execution attempts through a TaskDeployer, and on a failure
/// restarts every task from the latest completed checkpoint as the restart strategy allows
/// (Flink's full-restart failover strategy; a failover loop on a thread of its own). In a
/// MiniCluster the JobClient is the JobMaster itself; the cluster puts REST between them.
/// Thread-safe.
class JobMaster final : public JobClient, public CheckpointParticipants {
 public:
  /// Prepares the job: runs every operator's initializeOnMaster (Sink::initializeOnMaster) and
  /// deploys the first attempt; nothing runs before start(). Throws what initializeOnMaster
  /// throws, and SluiceException when the first attempt cannot be deployed.
  JobMaster(const JobGraph& jobGraph, const ExecutionOptions& options, TaskDeployer deployer);
  ~JobMaster() override;

  /// Starts the first attempt, the checkpoint coordinator and the failover loop. Throws
  /// JobExecutionException when a source coordinator cannot start.
  void start();

  // JobClient
  void cancel() override;
  JobStatus getJobStatus() const override;
  JobExecutionResult getJobExecutionResult() override;
  NetworkStats networkStats() const override;
  std::optional<int64_t> triggerCheckpoint() override;
  std::vector<CheckpointStats> checkpointStatistics() const override;
  std::future<std::string> triggerSavepoint(const std::string& directory) override;
  std::future<std::string> stopWithSavepoint(const std::string& directory, bool drain) override;
  int numberOfRestarts() const override;

  // CheckpointParticipants: the running attempt.
  std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) override;
  void triggerTask(int taskIndex, const CheckpointBarrier& barrier) override;
  int numTasks() const override;
  void notifyComplete(int64_t checkpointId) override;
  void notifyAborted(int64_t checkpointId) override;
  void failJob(const std::string& reason) override;

 private:
  void supervise();
  void setStatus(JobStatus s);
  bool stoppedWithSavepoint() const;

  JobGraph jobGraph_;
  ExecutionGraph executionGraph_;
  ExecutionOptions options_;
  TaskDeployer deployer_;
  std::unique_ptr<RestartStrategy> restartStrategy_;
  std::unique_ptr<CheckpointCoordinator> checkpoints_;
  mutable std::mutex attemptMutex_;  // attempt_ against the coordinator's calls and cancel()
  std::unique_ptr<TaskExecutorGateway> attempt_;
  std::thread supervisor_;
  std::mutex joinMutex_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  JobStatus status_ = JobStatus::kCreated;
  bool cancelRequested_ = false;
  bool stoppedWithSavepoint_ = false;
  int restarts_ = 0;
  std::string failure_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators_;
  NetworkStats stats_;
};

}  // namespace sluice
