#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "sluice/api/common/runtime_context.h"

namespace sluice {

/// The outcome of a finished job (Flink's JobExecutionResult): net runtime and accumulators
/// merged over all subtasks.
class JobExecutionResult {
 public:
  JobExecutionResult() = default;
  JobExecutionResult(std::string jobName, int64_t netRuntimeMillis,
                     std::map<std::string, std::unique_ptr<Accumulator>> accumulators)
      : jobName_(std::move(jobName)),
        netRuntimeMillis_(netRuntimeMillis),
        accumulators_(std::move(accumulators)) {}

  const std::string& getJobName() const { return jobName_; }
  /// Wall time from the start of the first task to the end of the last, milliseconds.
  int64_t getNetRuntime() const { return netRuntimeMillis_; }
  /// The merged value of a SimpleAccumulator<V> (IntCounter, LongCounter, DoubleCounter).
  /// Throws SluiceException when there is no accumulator `name` of that type.
  template <typename V>
  V getAccumulatorResult(const std::string& name) const {
    auto it = accumulators_.find(name);
    auto* acc = it == accumulators_.end()
                    ? nullptr
                    : dynamic_cast<const SimpleAccumulator<V>*>(it->second.get());
    if (acc == nullptr) throw SluiceException("no accumulator '" + name + "' of that type");
    return acc->getLocalValue();
  }
  const std::map<std::string, std::unique_ptr<Accumulator>>& getAllAccumulatorResults() const {
    return accumulators_;
  }

 private:
  std::string jobName_;
  int64_t netRuntimeMillis_ = 0;
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators_;
};

}  // namespace sluice
