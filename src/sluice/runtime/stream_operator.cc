#include "sluice/runtime/stream_operator.h"

#include "sluice/state/operator_state.h"

namespace sluice {

StreamOperatorBase::~StreamOperatorBase() = default;

OperatorStateStore& StreamOperatorBase::getOperatorStateStore() {
  if (!operatorStateStore_) {
    auto store = std::make_unique<OperatorStateStore>();
    if (context_.restoredOperatorState != nullptr) store->restore(*context_.restoredOperatorState);
    operatorStateStore_ = std::move(store);
  }
  return *operatorStateStore_;
}

OperatorStateSnapshot StreamOperatorBase::snapshotOperatorState(int64_t checkpointId,
                                                                int64_t timestamp) {
  (void)checkpointId;
  (void)timestamp;
  if (operatorStateStore_) return operatorStateStore_->snapshot();
  if (context_.restoredOperatorState != nullptr) return *context_.restoredOperatorState;
  return {};
}

}  // namespace sluice
