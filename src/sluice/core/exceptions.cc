#include "sluice/core/exceptions.h"

namespace sluice {

bool isRecoverable(const std::exception& e) {
  if (const auto* wrapper = dynamic_cast<const WrappedException*>(&e)) {
    return wrapper->recoverable();
  }
  return dynamic_cast<const SuppressRestartsException*>(&e) == nullptr &&
         dynamic_cast<const ConfigurationException*>(&e) == nullptr;
}

}  // namespace sluice
