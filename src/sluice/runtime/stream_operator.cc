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

void StreamOperatorBase::handleOperatorEvent(const OperatorEvent& event) {
  (void)event;
  throw SluiceException("operator '" + nameWithSubtask() +
                        "' received an operator event but has "
                        "no coordinator that sends any");
}

OperatorStateSnapshot StreamOperatorBase::snapshotOperatorState(int64_t checkpointId,
                                                                int64_t timestamp) {
  (void)checkpointId;
  (void)timestamp;
  if (operatorStateStore_) return operatorStateStore_->snapshot();
  if (context_.restoredOperatorState != nullptr) return *context_.restoredOperatorState;
  return {};
}

namespace detail {

void rethrowFromUserFunction(const std::string& operatorWithSubtask) {
  try {
    throw;
  } catch (const UserFunctionException&) {
    throw;
  } catch (const CancelTaskException&) {
    throw;
  } catch (const std::exception& e) {
    throw UserFunctionException(operatorWithSubtask, e.what(), isRecoverable(e));
  } catch (...) {
    throw UserFunctionException(operatorWithSubtask, "an exception that is not a std::exception");
  }
}

}  // namespace detail

}  // namespace sluice
