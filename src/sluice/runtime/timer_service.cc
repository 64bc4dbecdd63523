#include "sluice/runtime/timer_service.h"

#include <chrono>

namespace sluice {

TimerScheduler::TimerScheduler(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {
  listenerId_ = clock_->addAdvanceListener([this] {
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  });
  thread_ = std::thread([this] { run(); });
}

TimerScheduler::~TimerScheduler() { shutdown(); }

void TimerScheduler::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ && !thread_.joinable()) return;
    stopped_ = true;
    timers_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (listenerId_ >= 0) {
    clock_->removeAdvanceListener(listenerId_);
    listenerId_ = -1;
  }
}

void TimerScheduler::schedule(int64_t time, int owner, Mailbox* mailbox,
                              std::function<void(int64_t)> callback) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    bool first = timers_.empty() || time < timers_.begin()->first;
    timers_.emplace(time, Entry{owner, mailbox, std::move(callback)});
    if (!first) return;
  }
  wake_.notify_all();
}

void TimerScheduler::cancelOwner(int owner) {
  std::lock_guard lock(mutex_);
  std::erase_if(timers_, [owner](const auto& e) { return e.second.owner == owner; });
}

void TimerScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    if (timers_.empty()) {
      wake_.wait(lock);
      continue;
    }
    int64_t now = clock_->currentTimeMillis();
    auto it = timers_.begin();
    if (it->first <= now) {
      int64_t time = it->first;
      Entry entry = std::move(it->second);
      timers_.erase(it);
      // Posting under the lock makes cancelOwner() a barrier: nothing of a cancelled owner
      // reaches its mailbox afterwards.
      entry.mailbox->put([cb = std::move(entry.callback), time] { cb(time); });
      continue;
    }
    wake_.wait_for(lock, std::chrono::milliseconds(it->first - now));
  }
}

bool TimerScheduler::hasDueTimers() {
  std::lock_guard lock(mutex_);
  return !stopped_ && !timers_.empty() && timers_.begin()->first <= clock_->currentTimeMillis();
}

void ProcessingTimeService::registerTimer(int64_t time, std::function<void(int64_t)> callback) {
  scheduler_.schedule(time, owner_, &mailbox_, std::move(callback));
}

void ProcessingTimeService::scheduleAtFixedRate(int64_t periodMillis,
                                                std::function<void(int64_t)> callback) {
  scheduleRepeating(currentProcessingTime() + periodMillis, periodMillis,
                    std::make_shared<std::function<void(int64_t)>>(std::move(callback)));
}

void ProcessingTimeService::scheduleRepeating(
    int64_t time, int64_t period, std::shared_ptr<std::function<void(int64_t)>> callback) {
  registerTimer(time, [this, period, callback](int64_t firedAt) {
    (*callback)(firedAt);
    // Periods missed while the task was busy (or the clock jumped) are skipped, not replayed.
    int64_t next = firedAt + period;
    int64_t now = currentProcessingTime();
    if (next <= now) next = now + period;
    scheduleRepeating(next, period, callback);
  });
}

}  // namespace sluice
