#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace sluice {

/// Source of processing time in milliseconds since the epoch. Injectable so that tests
/// control time (DESIGN: "Processing time comes from an injectable clock").
/// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Current processing time, milliseconds since the epoch.
  virtual int64_t currentTimeMillis() const = 0;
  /// Registers a callback run (on the advancing thread) whenever time jumps forward in a way a
  /// sleeping waiter cannot observe; the wall clock never calls it. Returns a registration id.
  virtual int addAdvanceListener(std::function<void()> listener) {
    (void)listener;
    return -1;
  }
  virtual void removeAdvanceListener(int id) { (void)id; }
};

/// The wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t currentTimeMillis() const override;
  /// The process-wide instance.
  static std::shared_ptr<Clock> instance();
};

/// A clock that only moves when told to, for deterministic tests of processing-time
/// behaviour (buffer timeouts, processing-time timers). Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t startMillis = 0) : now_(startMillis) {}
  int64_t currentTimeMillis() const override;
  /// Moves time forward by `millis` (>= 0) and wakes every listener.
  void advance(int64_t millis);
  /// Sets time to `millis` (must not go backwards) and wakes every listener.
  void setTime(int64_t millis);
  int addAdvanceListener(std::function<void()> listener) override;
  void removeAdvanceListener(int id) override;

 private:
  mutable std::mutex mutex_;
  int64_t now_;
  int nextId_ = 0;
  std::vector<std::pair<int, std::function<void()>>> listeners_;
};

}  // namespace sluice
