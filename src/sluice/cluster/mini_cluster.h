#pragma once

#include <memory>

#include "sluice/cluster/local_executor.h"

namespace sluice {

/// The embedded cluster (Flink's MiniCluster): a JobMaster per submitted job and a TaskExecutor
/// per execution attempt, all in this process, talking through the same gateways
/// (TaskExecutorGateway, CheckpointResponder, CheckpointParticipants) a distributed cluster
/// puts RPC behind. Stateless itself: each job owns what it runs on and frees it when its
/// JobClient goes away. Thread-safe.
class MiniCluster {
 public:
  /// Deploys and starts every task of `jobGraph`. Throws SluiceException when the graph cannot
  /// be deployed or the checkpoint to restore does not fit it, JobExecutionException when a
  /// source coordinator cannot start.
  static std::unique_ptr<JobClient> submitJob(const JobGraph& jobGraph,
                                              const ExecutionOptions& options);
};

}  // namespace sluice
