#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sluice/core/time.h"
#include "sluice/window/windows.h"

namespace sluice {

/// What a trigger decides (Flink's TriggerResult).
enum class TriggerResult { kContinue, kFire, kPurge, kFireAndPurge };
inline bool isFire(TriggerResult r) {
  return r == TriggerResult::kFire || r == TriggerResult::kFireAndPurge;
}
inline bool isPurge(TriggerResult r) {
  return r == TriggerResult::kPurge || r == TriggerResult::kFireAndPurge;
}

/// What a trigger may do for the window it is called for (Flink's Trigger.TriggerContext):
/// timers, the clocks, and small per-(key, window) integer state. Timers and state are scoped to
/// the current key and window.
class TriggerContext {
 public:
  virtual ~TriggerContext() = default;
  virtual Timestamp getCurrentProcessingTime() const = 0;
  virtual Timestamp getCurrentWatermark() const = 0;
  virtual void registerProcessingTimeTimer(Timestamp time) = 0;
  virtual void registerEventTimeTimer(Timestamp time) = 0;
  virtual void deleteProcessingTimeTimer(Timestamp time) = 0;
  virtual void deleteEventTimeTimer(Timestamp time) = 0;
  /// Trigger state named `name` of the current key and window, or nullopt.
  virtual std::optional<int64_t> getState(const std::string& name) = 0;
  virtual void setState(const std::string& name, int64_t value) = 0;
  virtual void clearState(const std::string& name) = 0;
};

/// Context of Trigger::onMerge: also merges the state of the windows being merged into the
/// resulting window (Flink's OnMergeContext#mergePartitionedState).
class OnMergeContext : public TriggerContext {
 public:
  /// Combines state `name` of the merged windows with `combine` into the new window.
  virtual void mergeState(const std::string& name,
                          const std::function<int64_t(int64_t, int64_t)>& combine) = 0;
};

/// Decides when a window's contents are emitted and purged (Flink's Trigger). One instance
/// serves all keys and windows of a subtask: keep state in the context, not in members.
template <typename T, typename W>
class Trigger {
 public:
  virtual ~Trigger() = default;
  virtual TriggerResult onElement(const T& element, Timestamp timestamp, const W& window,
                                  TriggerContext& ctx) = 0;
  virtual TriggerResult onEventTime(Timestamp time, const W& window, TriggerContext& ctx) = 0;
  virtual TriggerResult onProcessingTime(Timestamp time, const W& window, TriggerContext& ctx) = 0;
  /// Whether the trigger supports merging windows (session windows).
  virtual bool canMerge() const { return false; }
  virtual void onMerge(const W& window, OnMergeContext& ctx) {
    (void)window;
    (void)ctx;
    throw SluiceException("this trigger does not support merging windows");
  }
  /// Removes the trigger's timers and state of `window`.
  virtual void clear(const W& window, TriggerContext& ctx) {
    (void)window;
    (void)ctx;
  }
  virtual std::unique_ptr<Trigger> clone() const = 0;
};

/// Fires when the watermark passes the window's end (Flink's EventTimeTrigger); also fires at
/// once for an element of a window the watermark already passed (late firing).
template <typename T, typename W>
class EventTimeTrigger final : public Trigger<T, W> {
 public:
  static std::unique_ptr<Trigger<T, W>> create() { return std::make_unique<EventTimeTrigger>(); }
  TriggerResult onElement(const T&, Timestamp, const W& window, TriggerContext& ctx) override {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult::kFire;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp time, const W& window, TriggerContext&) override {
    return time == window.maxTimestamp() ? TriggerResult::kFire : TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W& window, OnMergeContext& ctx) override {
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) {
      ctx.registerEventTimeTimer(window.maxTimestamp());
    }
  }
  void clear(const W& window, TriggerContext& ctx) override {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<EventTimeTrigger>(*this);
  }
};

/// Fires when processing time passes the window's end (Flink's ProcessingTimeTrigger).
template <typename T, typename W>
class ProcessingTimeTrigger final : public Trigger<T, W> {
 public:
  static std::unique_ptr<Trigger<T, W>> create() {
    return std::make_unique<ProcessingTimeTrigger>();
  }
  TriggerResult onElement(const T&, Timestamp, const W& window, TriggerContext& ctx) override {
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kFire;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W& window, OnMergeContext& ctx) override {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime()) {
      ctx.registerProcessingTimeTimer(window.maxTimestamp());
    }
  }
  void clear(const W& window, TriggerContext& ctx) override {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp());
  }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<ProcessingTimeTrigger>(*this);
  }
};

/// Fires every `maxCount` elements of a window (Flink's CountTrigger).
template <typename T, typename W>
class CountTrigger final : public Trigger<T, W> {
 public:
  explicit CountTrigger(int64_t maxCount) : maxCount_(maxCount) {
    if (maxCount < 1) throw ConfigurationException("CountTrigger needs a count of at least 1");
  }
  static std::unique_ptr<Trigger<T, W>> of(int64_t maxCount) {
    return std::make_unique<CountTrigger>(maxCount);
  }
  TriggerResult onElement(const T&, Timestamp, const W&, TriggerContext& ctx) override {
    int64_t count = ctx.getState(kState).value_or(0) + 1;
    if (count >= maxCount_) {
      ctx.clearState(kState);
      return TriggerResult::kFire;
    }
    ctx.setState(kState, count);
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W&, OnMergeContext& ctx) override {
    ctx.mergeState(kState, [](int64_t a, int64_t b) { return a + b; });
  }
  void clear(const W&, TriggerContext& ctx) override { ctx.clearState(kState); }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<CountTrigger>(*this);
  }

 private:
  static constexpr const char* kState = "count";
  int64_t maxCount_;
};

/// Turns every FIRE of the wrapped trigger into FIRE_AND_PURGE (Flink's PurgingTrigger).
template <typename T, typename W>
class PurgingTrigger final : public Trigger<T, W> {
 public:
  explicit PurgingTrigger(std::unique_ptr<Trigger<T, W>> nested) : nested_(std::move(nested)) {}
  PurgingTrigger(const PurgingTrigger& o) : nested_(o.nested_->clone()) {}
  static std::unique_ptr<Trigger<T, W>> of(std::unique_ptr<Trigger<T, W>> nested) {
    return std::make_unique<PurgingTrigger>(std::move(nested));
  }
  TriggerResult onElement(const T& e, Timestamp ts, const W& w, TriggerContext& ctx) override {
    return purge(nested_->onElement(e, ts, w, ctx));
  }
  TriggerResult onEventTime(Timestamp time, const W& w, TriggerContext& ctx) override {
    return purge(nested_->onEventTime(time, w, ctx));
  }
  TriggerResult onProcessingTime(Timestamp time, const W& w, TriggerContext& ctx) override {
    return purge(nested_->onProcessingTime(time, w, ctx));
  }
  bool canMerge() const override { return nested_->canMerge(); }
  void onMerge(const W& w, OnMergeContext& ctx) override { nested_->onMerge(w, ctx); }
  void clear(const W& w, TriggerContext& ctx) override { nested_->clear(w, ctx); }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<PurgingTrigger>(*this);
  }

 private:
  static TriggerResult purge(TriggerResult r) {
    return isFire(r) ? TriggerResult::kFireAndPurge : r;
  }
  std::unique_ptr<Trigger<T, W>> nested_;
};

/// Fires every `interval` of event time while the window is open, and at its end (Flink's
/// ContinuousEventTimeTrigger): firing times are multiples of the interval.
template <typename T, typename W>
class ContinuousEventTimeTrigger final : public Trigger<T, W> {
 public:
  explicit ContinuousEventTimeTrigger(int64_t intervalMillis) : interval_(intervalMillis) {
    if (intervalMillis <= 0) throw ConfigurationException("trigger interval must be positive");
  }
  static std::unique_ptr<Trigger<T, W>> of(std::chrono::milliseconds interval) {
    return std::make_unique<ContinuousEventTimeTrigger>(interval.count());
  }
  TriggerResult onElement(const T&, Timestamp timestamp, const W& window,
                          TriggerContext& ctx) override {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult::kFire;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    if (!ctx.getState(kState)) registerNext(timestamp - (timestamp % interval_), window, ctx);
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp time, const W& window, TriggerContext& ctx) override {
    if (time == window.maxTimestamp()) return TriggerResult::kFire;
    auto fireAt = ctx.getState(kState);
    if (fireAt && *fireAt == time) {
      ctx.clearState(kState);
      registerNext(time, window, ctx);
      return TriggerResult::kFire;
    }
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W& window, OnMergeContext& ctx) override {
    ctx.mergeState(kState, [](int64_t a, int64_t b) { return std::min(a, b); });
    if (auto next = ctx.getState(kState)) ctx.registerEventTimeTimer(*next);
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) {
      ctx.registerEventTimeTimer(window.maxTimestamp());
    }
  }
  void clear(const W& window, TriggerContext& ctx) override {
    if (auto next = ctx.getState(kState)) ctx.deleteEventTimeTimer(*next);
    ctx.clearState(kState);
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<ContinuousEventTimeTrigger>(*this);
  }

 private:
  void registerNext(Timestamp time, const W& window, TriggerContext& ctx) {
    Timestamp next = std::min(time + interval_, window.maxTimestamp());
    ctx.setState(kState, next);
    ctx.registerEventTimeTimer(next);
  }
  static constexpr const char* kState = "fire-time";
  int64_t interval_;
};

/// Fires every `interval` of processing time while elements arrive (Flink's
/// ContinuousProcessingTimeTrigger): firing times are multiples of the interval.
template <typename T, typename W>
class ContinuousProcessingTimeTrigger final : public Trigger<T, W> {
 public:
  explicit ContinuousProcessingTimeTrigger(int64_t intervalMillis) : interval_(intervalMillis) {
    if (intervalMillis <= 0) throw ConfigurationException("trigger interval must be positive");
  }
  static std::unique_ptr<Trigger<T, W>> of(std::chrono::milliseconds interval) {
    return std::make_unique<ContinuousProcessingTimeTrigger>(interval.count());
  }
  TriggerResult onElement(const T&, Timestamp, const W& window, TriggerContext& ctx) override {
    if (!ctx.getState(kState)) {
      Timestamp now = ctx.getCurrentProcessingTime();
      registerNext(now - (now % interval_), window, ctx);
    }
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp time, const W& window, TriggerContext& ctx) override {
    auto fireAt = ctx.getState(kState);
    if (fireAt && *fireAt == time) {
      ctx.clearState(kState);
      registerNext(time, window, ctx);
      return TriggerResult::kFire;
    }
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W&, OnMergeContext& ctx) override {
    ctx.mergeState(kState, [](int64_t a, int64_t b) { return std::min(a, b); });
    if (auto next = ctx.getState(kState)) ctx.registerProcessingTimeTimer(*next);
  }
  void clear(const W&, TriggerContext& ctx) override {
    if (auto next = ctx.getState(kState)) ctx.deleteProcessingTimeTimer(*next);
    ctx.clearState(kState);
  }
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<ContinuousProcessingTimeTrigger>(*this);
  }

 private:
  void registerNext(Timestamp time, const W& window, TriggerContext& ctx) {
    Timestamp next = std::min(time + interval_, window.maxTimestamp());
    ctx.setState(kState, next);
    ctx.registerProcessingTimeTimer(next);
  }
  static constexpr const char* kState = "fire-time";
  int64_t interval_;
};

/// Never fires (GlobalWindows' default trigger; Flink's GlobalWindows.NeverTrigger).
template <typename T, typename W>
class NeverTrigger final : public Trigger<T, W> {
 public:
  TriggerResult onElement(const T&, Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const W&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const W&, OnMergeContext&) override {}
  std::unique_ptr<Trigger<T, W>> clone() const override {
    return std::make_unique<NeverTrigger>(*this);
  }
};

}  // namespace sluice
