#include "sluice/core/clock.h"

#include <chrono>

#include "sluice/core/exceptions.h"

namespace sluice {

int64_t SystemClock::currentTimeMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Clock> SystemClock::instance() {
  static std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

int64_t ManualClock::currentTimeMillis() const {
  std::lock_guard lock(mutex_);
  return now_;
}

void ManualClock::advance(int64_t millis) {
  if (millis < 0) throw SluiceException("ManualClock::advance: negative step");
  int64_t target;
  {
    std::lock_guard lock(mutex_);
    target = now_ + millis;
  }
  setTime(target);
}

void ManualClock::setTime(int64_t millis) {
  std::vector<std::function<void()>> toCall;
  {
    std::lock_guard lock(mutex_);
    if (millis < now_) throw SluiceException("ManualClock::setTime: time must not go backwards");
    now_ = millis;
    for (auto& [id, fn] : listeners_) toCall.push_back(fn);
  }
  for (auto& fn : toCall) fn();
}

int ManualClock::addAdvanceListener(std::function<void()> listener) {
  std::lock_guard lock(mutex_);
  listeners_.emplace_back(nextId_, std::move(listener));
  return nextId_++;
}

void ManualClock::removeAdvanceListener(int id) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [id](auto& l) { return l.first == id; });
}

}  // namespace sluice
