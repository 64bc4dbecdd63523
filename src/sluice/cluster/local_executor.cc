#include "sluice/cluster/local_executor.h"

#include "sluice/cluster/mini_cluster.h"

namespace sluice {

const char* toString(JobStatus status) {
  switch (status) {
    case JobStatus::kCreated:
      return "CREATED";
    case JobStatus::kRunning:
      return "RUNNING";
    case JobStatus::kRestarting:
      return "RESTARTING";
    case JobStatus::kCancelling:
      return "CANCELLING";
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kFailed:
      return "FAILED";
    case JobStatus::kCanceled:
      return "CANCELED";
  }
  return "?";
}

std::unique_ptr<JobClient> LocalExecutor::submit(const JobGraph& jobGraph,
                                                 const ExecutionOptions& options) {
  return MiniCluster::submitJob(jobGraph, options);
}

}  // namespace sluice
