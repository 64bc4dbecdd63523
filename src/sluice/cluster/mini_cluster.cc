#include "sluice/cluster/mini_cluster.h"

#include "sluice/cluster/job_master.h"
#include "sluice/cluster/task_executor.h"

namespace sluice {

std::unique_ptr<JobClient> MiniCluster::submitJob(const JobGraph& jobGraph,
                                                  const ExecutionOptions& options) {
  TaskDeployer deployer = [](const JobGraph& job, const ExecutionGraph& executionGraph,
                             const ExecutionOptions& settings, int attemptNumber,
                             std::shared_ptr<const CompletedCheckpoint> restore,
                             CheckpointResponder& checkpoints) {
    return std::make_unique<TaskExecutor>(job, executionGraph, settings, std::move(restore),
                                          checkpoints, attemptNumber);
  };
  auto job = std::make_unique<JobMaster>(jobGraph, options, std::move(deployer));
  job->start();
  return job;
}

}  // namespace sluice
