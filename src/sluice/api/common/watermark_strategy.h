#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "sluice/core/exceptions.h"
#include "sluice/core/time.h"

namespace sluice {

/// Where a WatermarkGenerator emits (Flink's WatermarkOutput).
class WatermarkOutput {
 public:
  virtual ~WatermarkOutput() = default;
  /// A watermark; ones that do not advance are ignored downstream.
  virtual void emitWatermark(Watermark watermark) = 0;
  /// No events for a while: do not hold back downstream event time.
  virtual void markIdle() = 0;
  /// Events again (also implied by emitWatermark).
  virtual void markActive() = 0;
};

/// Generates watermarks from the events it sees and/or periodically (Flink's
/// WatermarkGenerator). One instance per source split or per operator subtask, used on one
/// task thread.
template <typename T>
class WatermarkGenerator {
 public:
  virtual ~WatermarkGenerator() = default;
  /// Called for every event with its assigned timestamp (ms).
  virtual void onEvent(const T& event, Timestamp eventTimestamp, WatermarkOutput& output) = 0;
  /// Called every pipeline.auto-watermark-interval (default 200 ms of processing time).
  virtual void onPeriodicEmit(WatermarkOutput& output) = 0;
};

/// Watermark = highest timestamp seen − maxOutOfOrderness − 1 ms, emitted periodically
/// (Flink's BoundedOutOfOrdernessWatermarks). With 0 it is Flink's AscendingTimestampsWatermarks.
template <typename T>
class BoundedOutOfOrdernessWatermarks final : public WatermarkGenerator<T> {
 public:
  explicit BoundedOutOfOrdernessWatermarks(int64_t maxOutOfOrdernessMillis)
      : outOfOrderness_(maxOutOfOrdernessMillis),
        maxTimestamp_(kMinWatermark + maxOutOfOrdernessMillis + 1) {
    if (maxOutOfOrdernessMillis < 0) {
      throw ConfigurationException("max out-of-orderness must not be negative");
    }
  }
  void onEvent(const T&, Timestamp eventTimestamp, WatermarkOutput&) override {
    if (eventTimestamp > maxTimestamp_) maxTimestamp_ = eventTimestamp;
  }
  void onPeriodicEmit(WatermarkOutput& output) override {
    output.emitWatermark(Watermark{maxTimestamp_ - outOfOrderness_ - 1});
  }

 private:
  int64_t outOfOrderness_;
  Timestamp maxTimestamp_;
};

/// Never emits (Flink's NoWatermarksGenerator).
template <typename T>
class NoWatermarksGenerator final : public WatermarkGenerator<T> {
 public:
  void onEvent(const T&, Timestamp, WatermarkOutput&) override {}
  void onPeriodicEmit(WatermarkOutput&) override {}
};

/// Wraps a generator and marks the stream idle when no event arrived for `idleTimeout` of
/// processing time, active again on the next event (Flink's WatermarksWithIdleness).
template <typename T>
class WatermarksWithIdleness final : public WatermarkGenerator<T> {
 public:
  using Clock = std::function<int64_t()>;
  WatermarksWithIdleness(std::unique_ptr<WatermarkGenerator<T>> inner, int64_t idleTimeoutMillis,
                         Clock clock)
      : inner_(std::move(inner)), timeout_(idleTimeoutMillis), clock_(std::move(clock)) {}
  void onEvent(const T& event, Timestamp ts, WatermarkOutput& output) override {
    inner_->onEvent(event, ts, output);
    sawEvent_ = true;
    if (idle_) {
      idle_ = false;
      output.markActive();
    }
  }
  void onPeriodicEmit(WatermarkOutput& output) override {
    int64_t now = clock_();
    if (sawEvent_ || lastActivity_ < 0) {
      sawEvent_ = false;
      lastActivity_ = now;
    }
    if (idle_) return;
    if (now - lastActivity_ >= timeout_) {
      idle_ = true;
      output.markIdle();
      return;
    }
    inner_->onPeriodicEmit(output);
  }

 private:
  std::unique_ptr<WatermarkGenerator<T>> inner_;
  int64_t timeout_;
  Clock clock_;
  int64_t lastActivity_ = -1;
  bool sawEvent_ = false;
  bool idle_ = false;
};

/// How a stream gets event timestamps and watermarks (Flink's WatermarkStrategy): a timestamp
/// assigner (optional; without it records keep the timestamp they carry), a generator factory,
/// and an optional idle timeout. A value type, copied into every subtask.
template <typename T>
class WatermarkStrategy {
 public:
  using TimestampAssigner = std::function<Timestamp(const T& element, Timestamp recordTimestamp)>;
  using GeneratorFactory = std::function<std::unique_ptr<WatermarkGenerator<T>>()>;

  /// Watermarks lag the highest timestamp by `maxOutOfOrderness` (+1 ms), as Flink.
  static WatermarkStrategy forBoundedOutOfOrderness(std::chrono::milliseconds maxOutOfOrderness) {
    int64_t ms = maxOutOfOrderness.count();
    if (ms < 0) throw ConfigurationException("max out-of-orderness must not be negative");
    return forGenerator([ms] { return std::make_unique<BoundedOutOfOrdernessWatermarks<T>>(ms); });
  }
  /// Timestamps never decrease: watermark = highest timestamp − 1 ms.
  static WatermarkStrategy forMonotonousTimestamps() {
    return forBoundedOutOfOrderness(std::chrono::milliseconds(0));
  }
  /// No watermarks (event time stands still until the end of input).
  static WatermarkStrategy noWatermarks() {
    return forGenerator([] { return std::make_unique<NoWatermarksGenerator<T>>(); });
  }
  /// A custom generator, one per split or subtask.
  static WatermarkStrategy forGenerator(GeneratorFactory factory) {
    WatermarkStrategy s;
    s.factory_ = std::move(factory);
    return s;
  }

  /// Timestamps from `assigner(element, recordTimestamp)`, ms since the epoch.
  template <typename F>
  WatermarkStrategy withTimestampAssigner(F assigner) const {
    WatermarkStrategy s = *this;
    if constexpr (std::is_invocable_v<F&, const T&, Timestamp>) {
      s.assigner_ = std::move(assigner);
    } else {
      s.assigner_ = [a = std::move(assigner)](const T& e, Timestamp) mutable { return a(e); };
    }
    return s;
  }
  /// Marks a split or subtask idle after `idleTimeout` of processing time without events, so
  /// it does not hold back event time (Flink's withIdleness).
  WatermarkStrategy withIdleness(std::chrono::milliseconds idleTimeout) const {
    if (idleTimeout.count() <= 0) throw ConfigurationException("idle timeout must be positive");
    WatermarkStrategy s = *this;
    s.idleTimeoutMillis_ = idleTimeout.count();
    return s;
  }

  /// A new generator, wrapped for idleness when configured; `clock` gives processing time.
  std::unique_ptr<WatermarkGenerator<T>> createWatermarkGenerator(
      std::function<int64_t()> clock) const {
    auto g = factory_();
    if (idleTimeoutMillis_ > 0) {
      g = std::make_unique<WatermarksWithIdleness<T>>(std::move(g), idleTimeoutMillis_,
                                                      std::move(clock));
    }
    return g;
  }
  const TimestampAssigner& timestampAssigner() const { return assigner_; }
  bool generatesWatermarks() const { return static_cast<bool>(factory_); }

 private:
  GeneratorFactory factory_;
  TimestampAssigner assigner_;
  int64_t idleTimeoutMillis_ = 0;
};

}  // namespace sluice
