#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/time.h"
#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/operators.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/keyed_state_store.h"

namespace sluice {

/// What a ProcessJoinFunction sees of the pair it is called for (Flink's
/// ProcessJoinFunction.Context). Valid only during the call; task thread only.
class ProcessJoinContext {
 public:
  virtual ~ProcessJoinContext() = default;
  /// Event time of the pair's left element, ms.
  virtual Timestamp getLeftTimestamp() const = 0;
  /// Event time of the pair's right element, ms.
  virtual Timestamp getRightTimestamp() const = 0;
  /// Event time of the joined pair, ms: the larger of both, which results carry.
  virtual Timestamp getTimestamp() const = 0;
  /// The operator's event time: the combined watermark of both inputs, ms.
  virtual Timestamp getCurrentWatermark() const = 0;
  /// Emits `value` with the pair's timestamp to side output `tag` (dropped when nothing
  /// consumes it).
  template <typename X>
  void output(const OutputTag<X>& tag, const X& value) {
    if (auto* out = static_cast<Output<X>*>(sideOutputFor(tag.id))) {
      out->collect(value, getTimestamp());
    }
  }

 protected:
  virtual OutputBase* sideOutputFor(const std::string& tagId) = 0;
};

/// The function of an interval join (Flink's ProcessJoinFunction): called once per joined pair
/// (left, right) with the pair's context; results carry the pair's timestamp,
/// max(left timestamp, right timestamp). Each parallel subtask gets its own copy.
template <typename IN1, typename IN2, typename OUT>
class ProcessJoinFunction : public RichFunction {
 public:
  using OutputType = OUT;
  using Context = ProcessJoinContext;
  virtual void processElement(const IN1& left, const IN2& right, Context& context,
                              Collector<OUT>& out) = 0;
};

/// Settings of an interval join. Both bounds are inclusive here (exclusive ones are moved by
/// 1 ms when the join is built), in ms relative to the left element's timestamp.
struct IntervalJoinSpec {
  int64_t lowerBound = 0;
  int64_t upperBound = 0;
  std::string leftLateDataTag;   ///< non-empty: side output of late left elements
  std::string rightLateDataTag;  ///< non-empty: side output of late right elements
};

namespace detail {

/// t + d, clamped to the range of Timestamp.
inline Timestamp saturatingAdd(Timestamp t, int64_t d) {
  Timestamp r = 0;
  if (__builtin_add_overflow(t, d, &r)) {
    return d > 0 ? std::numeric_limits<Timestamp>::max() : std::numeric_limits<Timestamp>::min();
  }
  return r;
}

/// Calls an interval join function: `processElement(l, r, ctx, out)`, `fn(l, r, ctx, out)` or
/// `fn(l, r, out)`.
template <typename F, typename IN1, typename IN2, typename OUT>
void invokeProcessJoin(F& fn, const IN1& left, const IN2& right, ProcessJoinContext& context,
                       Collector<OUT>& out) {
  if constexpr (requires { fn.processElement(left, right, context, out); }) {
    fn.processElement(left, right, context, out);
  } else if constexpr (requires { fn(left, right, context, out); }) {
    fn(left, right, context, out);
  } else {
    fn(left, right, out);
  }
}

}  // namespace detail

/// Joins two keyed streams in event time: emits f(left, right) for every pair of the same key
/// with right.ts in [left.ts + lowerBound, left.ts + upperBound] (Flink's IntervalJoinOperator).
///
/// Each element is added to its side's buffer, then joined with the buffered elements of the
/// other side whose timestamps lie in its interval; results carry max(left.ts, right.ts).
/// Buffers are keyed state (per key group): a map from timestamp to the elements with that
/// timestamp. Elements with a timestamp below the operator's watermark are late: they go to the
/// side's late-data output if configured, else are dropped (counted in numLateRecordsDropped()).
/// A left element is kept until the watermark passes ts + max(0, upperBound), a right element
/// until it passes ts + max(0, -lowerBound), through one event-time timer per (key, side,
/// timestamp), as Flink. Unlike Flink, a bucket is removed one ms later (when the watermark
/// exceeds that time rather than reaches it), so that an element exactly at the watermark —
/// which is not late — still meets every partner. Elements without timestamp fail the job.
/// Runs on the task thread only.
template <typename K, typename T1, typename T2, typename OUT, typename KeySelector1,
          typename KeySelector2, typename F>
class IntervalJoinOperator final : public TwoInputStreamOperator<T1, T2, OUT> {
 public:
  IntervalJoinOperator(IntervalJoinSpec spec, KeySelector1 keySelector1, KeySelector2 keySelector2,
                       F fn)
      : spec_(std::move(spec)),
        keySelector1_(std::move(keySelector1)),
        keySelector2_(std::move(keySelector2)),
        fn_(std::move(fn)) {}

  void initializeState() override { initKeyedStateBackend(*this, keyContext_); }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void open() override {
    timers_ = std::make_unique<InternalTimerService<K, Cleanup>>(
        keyContext_, *this->context_.processingTimeService,
        [this](const auto& timer) { onCleanupTimer(timer.ns); }, [](const auto&) {});
    collector_.setOutput(this->output_);
    leftLate_ = lateOutput<T1>(spec_.leftLateDataTag);
    rightLate_ = lateOutput<T2>(spec_.rightLateDataTag);
    callUserFunction(*this, [&] { detail::openFunction(fn_, this->getRuntimeContext()); });
  }
  void close() override { detail::closeFunction(fn_); }

  void processElement1(const T1& value, Timestamp timestamp) override {
    checkTimestamp(timestamp, "first (left)");
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector1_(value); }));
    if (isLate(timestamp)) {
      dropLate(leftLate_, value, timestamp);
      return;
    }
    left_.getOrCreate(VoidNamespace{}, [] { return Buffer<T1>{}; })[timestamp].push_back(value);
    if (Buffer<T2>* other = right_.get(VoidNamespace{})) {
      Timestamp from = detail::saturatingAdd(timestamp, spec_.lowerBound);
      Timestamp to = detail::saturatingAdd(timestamp, spec_.upperBound);
      for (auto it = other->lower_bound(from); it != other->end() && it->first <= to; ++it) {
        for (const T2& right : it->second) emit(value, right, timestamp, it->first);
      }
    }
    Timestamp keepUntil =
        spec_.upperBound > 0 ? detail::saturatingAdd(timestamp, spec_.upperBound) : timestamp;
    timers_->registerEventTimeTimer(Cleanup{timestamp, false}, detail::saturatingAdd(keepUntil, 1));
  }

  void processElement2(const T2& value, Timestamp timestamp) override {
    checkTimestamp(timestamp, "second (right)");
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector2_(value); }));
    if (isLate(timestamp)) {
      dropLate(rightLate_, value, timestamp);
      return;
    }
    right_.getOrCreate(VoidNamespace{}, [] { return Buffer<T2>{}; })[timestamp].push_back(value);
    if (Buffer<T1>* other = left_.get(VoidNamespace{})) {
      // left.ts in [right.ts - upperBound, right.ts - lowerBound]
      Timestamp from = detail::saturatingAdd(timestamp, -spec_.upperBound);
      Timestamp to = detail::saturatingAdd(timestamp, -spec_.lowerBound);
      for (auto it = other->lower_bound(from); it != other->end() && it->first <= to; ++it) {
        for (const T1& left : it->second) emit(left, value, it->first, timestamp);
      }
    }
    Timestamp keepUntil =
        spec_.lowerBound < 0 ? detail::saturatingAdd(timestamp, -spec_.lowerBound) : timestamp;
    timers_->registerEventTimeTimer(Cleanup{timestamp, true}, detail::saturatingAdd(keepUntil, 1));
  }

  void processWatermark(int input, Watermark watermark) override {
    TwoInputStreamOperator<T1, T2, OUT>::processWatermark(input, watermark);
    advanceTimers();
  }
  void processWatermarkStatus(int input, bool idle) override {
    TwoInputStreamOperator<T1, T2, OUT>::processWatermarkStatus(input, idle);
    advanceTimers();
  }

  /// Late elements dropped because their side has no late-data output (Flink's
  /// numLateRecordsDropped metric).
  int64_t numLateRecordsDropped() const { return lateDropped_; }
  /// Keys with buffered elements, counted once per side (for tests of state cleanup).
  size_t numBufferedKeys() const { return left_.size() + right_.size(); }

 private:
  template <typename T>
  using Buffer = std::map<Timestamp, std::vector<T>>;

  /// Timer namespace: which buffer and which of its timestamps a cleanup timer removes.
  struct Cleanup {
    Timestamp bucket = 0;
    bool right = false;
    friend bool operator==(const Cleanup&, const Cleanup&) = default;
    size_t hash() const { return std::hash<int64_t>{}(bucket)*31 + (right ? 1 : 0); }
  };

  /// Flink's ProcessJoinFunction.Context for the pair being emitted.
  struct ContextImpl final : ProcessJoinContext {
    explicit ContextImpl(IntervalJoinOperator* op) : op(op) {}
    Timestamp getLeftTimestamp() const override { return left; }
    Timestamp getRightTimestamp() const override { return right; }
    Timestamp getTimestamp() const override { return std::max(left, right); }
    Timestamp getCurrentWatermark() const override { return op->currentWatermark(); }
    OutputBase* sideOutputFor(const std::string& tagId) override {
      auto it = op->context_.sideOutputs.find(tagId);
      return it == op->context_.sideOutputs.end() ? nullptr : it->second;
    }
    IntervalJoinOperator* op;
    Timestamp left = kNoTimestamp;
    Timestamp right = kNoTimestamp;
  };

  void emit(const T1& left, const T2& right, Timestamp leftTs, Timestamp rightTs) {
    joinContext_.left = leftTs;
    joinContext_.right = rightTs;
    collector_.setTimestamp(std::max(leftTs, rightTs));
    callUserFunction(*this, [&] {
      detail::invokeProcessJoin(fn_, left, right, static_cast<ProcessJoinContext&>(joinContext_),
                                collector_);
    });
  }

  void checkTimestamp(Timestamp timestamp, const char* side) const {
    if (timestamp == kNoTimestamp) {
      throw SluiceException(
          "interval join '" + this->nameWithSubtask() + "': a record of the " + side +
          " input has no timestamp (Long.MIN_VALUE marker). Interval joins work in event time "
          "only: give the source a WatermarkStrategy with a timestamp assigner, or call "
          "assignTimestampsAndWatermarks(...) before keyBy(...).");
    }
  }
  bool isLate(Timestamp timestamp) const {
    Timestamp watermark = this->currentWatermark();
    return watermark != kMinWatermark && timestamp < watermark;
  }
  template <typename T>
  void dropLate(Output<T>* lateOutput, const T& value, Timestamp timestamp) {
    if (lateOutput != nullptr) {
      lateOutput->collect(value, timestamp);
    } else {
      ++lateDropped_;
    }
  }
  template <typename T>
  Output<T>* lateOutput(const std::string& tagId) const {
    if (tagId.empty()) return nullptr;
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : static_cast<Output<T>*>(it->second);
  }

  void advanceTimers() {
    if (this->currentWatermark() > timers_->currentWatermark()) {
      timers_->advanceWatermark(this->currentWatermark());
    }
  }
  void onCleanupTimer(const Cleanup& cleanup) {
    if (cleanup.right) {
      removeBucket(right_, cleanup.bucket);
    } else {
      removeBucket(left_, cleanup.bucket);
    }
  }
  template <typename T>
  static void removeBucket(KeyedStateTable<K, VoidNamespace, Buffer<T>>& table, Timestamp bucket) {
    Buffer<T>* buffer = table.get(VoidNamespace{});
    if (buffer == nullptr) return;
    buffer->erase(bucket);
    if (buffer->empty()) table.remove(VoidNamespace{});
  }

  IntervalJoinSpec spec_;
  KeySelector1 keySelector1_;
  KeySelector2 keySelector2_;
  F fn_;

  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateTable<K, VoidNamespace, Buffer<T1>> left_{keyContext_, "left-buffer"};
  KeyedStateTable<K, VoidNamespace, Buffer<T2>> right_{keyContext_, "right-buffer"};
  std::unique_ptr<InternalTimerService<K, Cleanup>> timers_;

  Collector<OUT> collector_;
  ContextImpl joinContext_{this};
  Output<T1>* leftLate_ = nullptr;
  Output<T2>* rightLate_ = nullptr;
  int64_t lateDropped_ = 0;
};

}  // namespace sluice
