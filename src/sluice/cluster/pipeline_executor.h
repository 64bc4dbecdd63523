#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/cluster/local_executor.h"
#include "sluice/core/configuration.h"

namespace sluice {

/// Runs the job a program built (Flink's PipelineExecutor). StreamExecutionEnvironment::
/// execute() picks one by `execution.target`: `local` (the default) runs the job on a MiniCluster
/// in this process; the cluster adds `remote` (submission to a JobManager) behind the same call.
class PipelineExecutor {
 public:
  virtual ~PipelineExecutor() = default;
  /// Submits `jobGraph` with `options` (`configuration` is the job's whole configuration, for
  /// executors that ship it). Returns once the job is running. Throws SluiceException when the
  /// job cannot be deployed, JobExecutionException when it cannot start.
  virtual std::unique_ptr<JobClient> execute(const JobGraph& jobGraph,
                                             const ExecutionOptions& options,
                                             const Configuration& configuration) = 0;
};

/// Makes the executor of one execution.target.
using PipelineExecutorFactory = std::function<std::unique_ptr<PipelineExecutor>()>;

/// Registers `factory` for execution.target `target` (Flink's PipelineExecutorFactory service
/// loading), replacing an earlier one of the same name. Thread-safe.
void registerPipelineExecutor(const std::string& target, PipelineExecutorFactory factory);

/// The executor for execution.target `target` (exact name, as Flink). Throws
/// ConfigurationException naming the known targets when none is registered under it.
/// Thread-safe.
std::unique_ptr<PipelineExecutor> pipelineExecutorFor(const std::string& target);

/// The registered execution targets, sorted.
std::vector<std::string> pipelineExecutorTargets();

}  // namespace sluice
