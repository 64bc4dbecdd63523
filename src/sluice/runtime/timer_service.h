#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "sluice/core/clock.h"
#include "sluice/runtime/mailbox.h"

namespace sluice {

/// One thread per job that fires processing-time timers of every task at the times of an
/// injectable Clock. A due timer does not run on this thread: it is put into the owning task's
/// mailbox, so timer callbacks run on the task thread, as Flink's. With a ManualClock, timers
/// fire when the test advances the clock.
///
/// Thread-safe.
class TimerScheduler {
 public:
  explicit TimerScheduler(std::shared_ptr<Clock> clock);
  ~TimerScheduler();
  TimerScheduler(const TimerScheduler&) = delete;
  TimerScheduler& operator=(const TimerScheduler&) = delete;

  const std::shared_ptr<Clock>& clock() const { return clock_; }
  /// At processing time `time` (ms), puts `callback(time)` into `mailbox`. `owner` groups
  /// timers for cancelOwner().
  void schedule(int64_t time, int owner, Mailbox* mailbox, std::function<void(int64_t)> callback);
  /// Forgets every pending timer of `owner`; none of them fires after this returns.
  void cancelOwner(int owner);
  /// Stops the thread; pending timers never fire.
  void shutdown();
  /// Whether some timer is due at the clock's current time but not yet in its mailbox. After
  /// a ManualClock advance, a test waits until this is false to know every timer due by then
  /// has been posted (then it runs the mailbox), instead of sleeping.
  bool hasDueTimers();

 private:
  struct Entry {
    int owner;
    Mailbox* mailbox;
    std::function<void(int64_t)> callback;
  };
  void run();

  std::shared_ptr<Clock> clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<int64_t, Entry> timers_;
  bool stopped_ = false;
  int listenerId_ = -1;
  std::thread thread_;
};

/// A task's view of processing time (Flink's ProcessingTimeService): the current time, and
/// timers that run on the task thread. Not thread-safe: use on the task thread.
class ProcessingTimeService {
 public:
  ProcessingTimeService(TimerScheduler& scheduler, Mailbox& mailbox, int owner)
      : scheduler_(scheduler), mailbox_(mailbox), owner_(owner) {}
  ~ProcessingTimeService() { cancelAll(); }

  /// Processing time now, ms since the epoch.
  int64_t currentProcessingTime() const { return scheduler_.clock()->currentTimeMillis(); }
  /// Runs `callback(time)` on the task thread once processing time reaches `time`.
  void registerTimer(int64_t time, std::function<void(int64_t)> callback);
  /// Runs `callback` every `periodMillis` (> 0), first at now + period, on the task thread;
  /// periods missed while the task was busy are skipped, not replayed.
  void scheduleAtFixedRate(int64_t periodMillis, std::function<void(int64_t)> callback);
  /// Cancels every timer of this task.
  void cancelAll() { scheduler_.cancelOwner(owner_); }

 private:
  void scheduleRepeating(int64_t time, int64_t period,
                         std::shared_ptr<std::function<void(int64_t)>> callback);

  TimerScheduler& scheduler_;
  Mailbox& mailbox_;
  int owner_;
};

}  // namespace sluice
