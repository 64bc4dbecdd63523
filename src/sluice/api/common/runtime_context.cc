#include "sluice/api/common/runtime_context.h"

namespace sluice {

void RuntimeContext::addAccumulator(const std::string& name,
                                    std::unique_ptr<Accumulator> accumulator) {
  if (accumulators_.count(name) != 0) {
    throw SluiceException("accumulator '" + name + "' was already added in " +
                          taskInfo_.nameWithSubtask(operatorName_));
  }
  accumulators_.emplace(name, std::move(accumulator));
}

Accumulator* RuntimeContext::getAccumulator(const std::string& name) {
  auto it = accumulators_.find(name);
  return it == accumulators_.end() ? nullptr : it->second.get();
}

LongCounter& RuntimeContext::getLongCounter(const std::string& name) {
  auto it = accumulators_.find(name);
  if (it == accumulators_.end()) {
    it = accumulators_.emplace(name, std::make_unique<LongCounter>()).first;
  }
  auto* counter = dynamic_cast<LongCounter*>(it->second.get());
  if (counter == nullptr) throw SluiceException("accumulator '" + name + "' is not a LongCounter");
  return *counter;
}

}  // namespace sluice
