#include "sluice/cluster/pipeline_executor.h"

#include <map>
#include <mutex>

#include "sluice/cluster/mini_cluster.h"
#include "sluice/core/exceptions.h"

namespace sluice {

namespace {

/// execution.target `local`: a MiniCluster of the job's own in this process.
class LocalPipelineExecutor final : public PipelineExecutor {
 public:
  std::unique_ptr<JobClient> execute(const JobGraph& jobGraph, const ExecutionOptions& options,
                                     const Configuration&) override {
    return MiniCluster::submitJob(jobGraph, options);
  }
};

struct Registry {
  std::mutex mutex;
  std::map<std::string, PipelineExecutorFactory> factories{
      {"local", [] { return std::make_unique<LocalPipelineExecutor>(); }}};
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void registerPipelineExecutor(const std::string& target, PipelineExecutorFactory factory) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.factories[target] = std::move(factory);
}

std::vector<std::string> pipelineExecutorTargets() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> out;
  for (const auto& [name, f] : r.factories) out.push_back(name);
  return out;
}

std::unique_ptr<PipelineExecutor> pipelineExecutorFor(const std::string& target) {
  PipelineExecutorFactory factory;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto it = r.factories.find(target);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const auto& name : pipelineExecutorTargets()) known += (known.empty() ? "" : ", ") + name;
    throw ConfigurationException("execution.target: no executor for '" + target +
                                 "' (known: " + known + ")");
  }
  return factory();
}

}  // namespace sluice
