#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sluice/cluster/local_executor.h"
#include "sluice/graph/execution_graph.h"
#include "sluice/network/result_partition.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {

class StreamTask;
class OperatorCoordinator;
class OperatorEventGateway;
class SubtaskCheckpointCoordinator;

/// How an execution attempt's tasks ended, as the JobMaster learns it.
struct TaskExecutionOutcome {
  /// The first task failure, "" when every task finished or the attempt was cancelled first.
  std::string failure;
  /// Whether a restart may cure `failure` (false for bad input records, bad configuration and
  /// SuppressRestartsException: see isRecoverable).
  bool recoverable = true;
  bool cancelled = false;
};

/// What a JobMaster asks of the TaskExecutor running one execution attempt of its tasks
/// (Flink's TaskExecutorGateway). In-process now (TaskExecutor); the cluster puts RPC behind
/// the same calls. Tasks are named by their index among the job's tasks
/// (ExecutionGraph::executionVertices). Thread-safe.
class TaskExecutorGateway {
 public:
  virtual ~TaskExecutorGateway() = default;
  /// Starts the source coordinators and the tasks. Throws JobExecutionException when a
  /// coordinator cannot start.
  virtual void startTasks() = 0;
  /// Snapshots every source coordinator and injects `barrier` at the source tasks that still
  /// run (CheckpointParticipants::triggerSources). Throws SluiceException when a source cannot
  /// checkpoint or the tasks are released.
  virtual std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) = 0;
  /// Injects `barrier` at task `taskIndex` (one waiting for its final checkpoint).
  virtual void triggerTask(int taskIndex, const CheckpointBarrier& barrier) = 0;
  virtual void notifyCheckpointComplete(int64_t checkpointId) = 0;
  virtual void notifyCheckpointAborted(int64_t checkpointId) = 0;
  /// Cancels every task; returns at once.
  virtual void cancelTasks() = 0;
  /// Fails every task with `reason` (unless they already failed or were cancelled).
  virtual void failTasks(const std::string& reason, bool recoverable) = 0;
  /// Waits until every task ended; how they ended.
  virtual TaskExecutionOutcome awaitTermination() = 0;
  /// The accumulators of every ended task, serialized as they would cross a process: one
  /// (name, value) per operator instance that registered it (Flink's AccumulatorSnapshot; the
  /// JobMaster merges them). Call after awaitTermination().
  virtual std::vector<std::pair<std::string, SerializedAccumulator>> accumulatorSnapshots()
      const = 0;
  /// Buffer-pool statistics of the ended tasks. Call after awaitTermination().
  virtual NetworkStats networkStats() const = 0;
  /// Frees tasks, coordinators and partitions. Call after awaitTermination(); idempotent.
  virtual void releaseTasks() = 0;
};

/// Runs one execution attempt of every task of a job on threads of this process (one thread
/// per subtask), with local channels between them: Flink's TaskExecutor with every slot of the
/// job. Creates the tasks from the ExecutionGraph, restores them from `restore` (state
/// assignment: checkpoint/state_assignment.h), wires result partitions to input gates, and
/// reports checkpoints through `checkpoints`. A failure anywhere cancels every task.
class TaskExecutor final : public TaskExecutorGateway {
 public:
  /// Deploys every task, restoring from `restore` when not null. Throws SluiceException when
  /// the graph cannot be deployed or the checkpoint does not fit it. `jobGraph` and
  /// `executionGraph` must outlive this object.
  TaskExecutor(const JobGraph& jobGraph, const ExecutionGraph& executionGraph,
               const ExecutionOptions& options, std::shared_ptr<const CompletedCheckpoint> restore,
               CheckpointResponder& checkpoints, int attemptNumber);
  ~TaskExecutor() override;

  void startTasks() override;
  std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) override;
  void triggerTask(int taskIndex, const CheckpointBarrier& barrier) override;
  void notifyCheckpointComplete(int64_t checkpointId) override;
  void notifyCheckpointAborted(int64_t checkpointId) override;
  void cancelTasks() override;
  void failTasks(const std::string& reason, bool recoverable) override;
  TaskExecutionOutcome awaitTermination() override;
  std::vector<std::pair<std::string, SerializedAccumulator>> accumulatorSnapshots() const override;
  NetworkStats networkStats() const override;
  void releaseTasks() override;

 private:
  void deploy(const std::shared_ptr<const CompletedCheckpoint>& restore);
  void wireOutputs(const JobVertex& v, int subtask, StreamTask& task);
  void wireInputs(const JobVertex& v, const ExecutionVertex& ev, StreamTask& task);
  void restoreChannelState(const CompletedCheckpoint& restore);
  void onTaskFailed(StreamTask& task);
  void stopAll();

  const JobGraph& jobGraph_;
  const ExecutionGraph& executionGraph_;
  ExecutionOptions options_;
  TimerScheduler scheduler_;
  int attemptNumber_;
  std::unique_ptr<SubtaskCheckpointCoordinator> subtaskCheckpoints_;
  // partitions_[job edge][producer subtask], each registered in partitionManager_
  std::vector<std::vector<std::unique_ptr<ResultPartition>>> partitions_;
  ResultPartitionManager partitionManager_;
  std::map<int, std::unique_ptr<OperatorCoordinator>> coordinators_;
  // Each operator subtask's way to its coordinator (StreamOperatorContext::operatorEventGateway).
  std::vector<std::unique_ptr<OperatorEventGateway>> operatorEventGateways_;
  std::vector<std::unique_ptr<StreamTask>> tasks_;  // by task index
  // Source vertices: head node id and its subtasks.
  std::vector<std::pair<int, std::vector<StreamTask*>>> sourceVertices_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::mutex joinMutex_;
  std::mutex releaseMutex_;
  std::string failure_;
  bool failureRecoverable_ = true;
  bool cancelRequested_ = false;
  bool released_ = false;
};

}  // namespace sluice
