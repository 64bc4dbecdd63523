#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "sluice/core/time.h"

namespace sluice {

/// An element of a window with its timestamp (Flink's TimestampedValue).
template <typename T>
struct TimestampedValue {
  T value;
  Timestamp timestamp;
};

/// Removes elements from a window before and/or after the window function runs (Flink's
/// Evictor). `elements` is the window's content in arrival order; erase what is evicted.
template <typename T, typename W>
class Evictor {
 public:
  virtual ~Evictor() = default;
  /// A copy of this evictor. Every parallel subtask evicts with a copy of its own (as each
  /// Flink subtask deserializes its own evictor), so evictors may keep state without locks.
  virtual std::unique_ptr<Evictor> clone() const = 0;
  virtual void evictBefore(std::vector<TimestampedValue<T>>& elements, const W& window,
                           Timestamp currentWatermark) = 0;
  virtual void evictAfter(std::vector<TimestampedValue<T>>& elements, const W& window,
                          Timestamp currentWatermark) = 0;
};

/// Keeps the last `maxCount` elements (Flink's CountEvictor), before the function unless
/// `doEvictAfter`.
template <typename T, typename W>
class CountEvictor final : public Evictor<T, W> {
 public:
  std::unique_ptr<Evictor<T, W>> clone() const override {
    return std::make_unique<CountEvictor>(*this);
  }
  CountEvictor(int64_t maxCount, bool doEvictAfter) : maxCount_(maxCount), after_(doEvictAfter) {}
  static std::shared_ptr<Evictor<T, W>> of(int64_t maxCount, bool doEvictAfter = false) {
    return std::make_shared<CountEvictor>(maxCount, doEvictAfter);
  }
  void evictBefore(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (!after_) evict(e);
  }
  void evictAfter(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (after_) evict(e);
  }

 private:
  void evict(std::vector<TimestampedValue<T>>& e) {
    if (static_cast<int64_t>(e.size()) > maxCount_) {
      e.erase(e.begin(), e.end() - maxCount_);
    }
  }
  int64_t maxCount_;
  bool after_;
};

/// Keeps elements within `windowSize` of the newest element's timestamp (Flink's TimeEvictor):
/// evicts those with timestamp <= max − windowSize.
template <typename T, typename W>
class TimeEvictor final : public Evictor<T, W> {
 public:
  std::unique_ptr<Evictor<T, W>> clone() const override {
    return std::make_unique<TimeEvictor>(*this);
  }
  TimeEvictor(int64_t windowSizeMillis, bool doEvictAfter)
      : size_(windowSizeMillis), after_(doEvictAfter) {}
  static std::shared_ptr<Evictor<T, W>> of(std::chrono::milliseconds windowSize,
                                           bool doEvictAfter = false) {
    return std::make_shared<TimeEvictor>(windowSize.count(), doEvictAfter);
  }
  void evictBefore(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (!after_) evict(e);
  }
  void evictAfter(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (after_) evict(e);
  }

 private:
  void evict(std::vector<TimestampedValue<T>>& e) {
    if (e.empty() || e.front().timestamp == kNoTimestamp) return;
    Timestamp max = e.front().timestamp;
    for (const auto& v : e) max = std::max(max, v.timestamp);
    Timestamp cutoff = max - size_;
    std::erase_if(e, [cutoff](const TimestampedValue<T>& v) { return v.timestamp <= cutoff; });
  }
  int64_t size_;
  bool after_;
};

/// Evicts elements whose delta to the last element is >= `threshold` (Flink's DeltaEvictor).
template <typename T, typename W>
class DeltaEvictor final : public Evictor<T, W> {
 public:
  std::unique_ptr<Evictor<T, W>> clone() const override {
    return std::make_unique<DeltaEvictor>(*this);
  }
  using DeltaFunction = std::function<double(const T& oldPoint, const T& newPoint)>;
  DeltaEvictor(double threshold, DeltaFunction delta, bool doEvictAfter)
      : threshold_(threshold), delta_(std::move(delta)), after_(doEvictAfter) {}
  static std::shared_ptr<Evictor<T, W>> of(double threshold, DeltaFunction delta,
                                           bool doEvictAfter = false) {
    return std::make_shared<DeltaEvictor>(threshold, std::move(delta), doEvictAfter);
  }
  void evictBefore(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (!after_) evict(e);
  }
  void evictAfter(std::vector<TimestampedValue<T>>& e, const W&, Timestamp) override {
    if (after_) evict(e);
  }

 private:
  void evict(std::vector<TimestampedValue<T>>& e) {
    if (e.empty()) return;
    T last = e.back().value;
    std::erase_if(
        e, [&](const TimestampedValue<T>& v) { return delta_(v.value, last) >= threshold_; });
  }
  double threshold_;
  DeltaFunction delta_;
  bool after_;
};

}  // namespace sluice
