#pragma once

// Process functions on two inputs (Flink's CoProcessFunction, KeyedCoProcessFunction) and the
// broadcast state pattern (BroadcastProcessFunction, KeyedBroadcastProcessFunction), with the
// operators that run them.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/process_function.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/state/operator_state.h"

namespace sluice {

// ---- functions --------------------------------------------------------------------------------

/// Processes the elements of two connected (non-keyed) streams (Flink's CoProcessFunction):
/// processElement1 for the first input, processElement2 for the second, with timestamps, the
/// clocks and side outputs. Timers need keyed streams (KeyedCoProcessFunction).
template <typename IN1, typename IN2, typename OUT>
class CoProcessFunction : public RichFunction {
 public:
  using FirstInputType = IN1;
  using SecondInputType = IN2;
  using OutputType = OUT;
  using Context = ProcessContextBase;

  virtual void processElement1(const IN1& value, Context& ctx, Collector<OUT>& out) = 0;
  virtual void processElement2(const IN2& value, Context& ctx, Collector<OUT>& out) = 0;
};

/// Processes the elements of two streams keyed by the same key type and connected (Flink's
/// KeyedCoProcessFunction): the element's key is current, so keyed state (shared by both
/// inputs) and timers are scoped to it; onTimer when a timer fires, with its key current.
template <typename K, typename IN1, typename IN2, typename OUT>
class KeyedCoProcessFunction : public RichFunction, public detail::KeyedStateAccess<K> {
 public:
  using KeyType = K;
  using FirstInputType = IN1;
  using SecondInputType = IN2;
  using OutputType = OUT;

  class Context : public ProcessContextBase {
   public:
    virtual const K& getCurrentKey() const = 0;
  };
  class OnTimerContext : public Context {
   public:
    virtual TimeDomain timeDomain() const = 0;
  };

  virtual void processElement1(const IN1& value, Context& ctx, Collector<OUT>& out) = 0;
  virtual void processElement2(const IN2& value, Context& ctx, Collector<OUT>& out) = 0;
  virtual void onTimer(Timestamp timestamp, OnTimerContext& ctx, Collector<OUT>& out) {
    (void)timestamp;
    (void)ctx;
    (void)out;
  }
};

namespace detail {

/// What the contexts of broadcast process functions share: the broadcast states.
class BroadcastContextBase : public ProcessContextBase {
 protected:
  virtual BroadcastStateStore& broadcastStore() = 0;
};

}  // namespace detail

/// Contexts of the broadcast process functions: ReadOnly for the non-broadcast side (reads the
/// broadcast state), the other for the broadcast side (may change it).
class BroadcastReadOnlyContext : public detail::BroadcastContextBase {
 public:
  template <typename UK, typename UV>
  const ReadOnlyBroadcastState<UK, UV>& getBroadcastState(const MapStateDescriptor<UK, UV>& d) {
    return broadcastStore().get(d);
  }
};
/// Context of processBroadcastElement: the broadcast state is writable.
class BroadcastWritableContext : public detail::BroadcastContextBase {
 public:
  template <typename UK, typename UV>
  BroadcastState<UK, UV>& getBroadcastState(const MapStateDescriptor<UK, UV>& d) {
    return broadcastStore().get(d);
  }
};

/// The function of a non-keyed stream connected with a broadcast stream (Flink's
/// BroadcastProcessFunction): processElement for the non-broadcast input (IN1), which reads the
/// broadcast state; processBroadcastElement for the broadcast input (IN2), which may change it.
/// No timers.
template <typename IN1, typename IN2, typename OUT>
class BroadcastProcessFunction : public RichFunction {
 public:
  using FirstInputType = IN1;
  using SecondInputType = IN2;
  using OutputType = OUT;
  using ReadOnlyContext = BroadcastReadOnlyContext;
  using Context = BroadcastWritableContext;

  virtual void processElement(const IN1& value, ReadOnlyContext& ctx, Collector<OUT>& out) = 0;
  virtual void processBroadcastElement(const IN2& value, Context& ctx, Collector<OUT>& out) = 0;
};

/// The function of a keyed stream connected with a broadcast stream (Flink's
/// KeyedBroadcastProcessFunction): processElement with the element's key current (keyed state,
/// timers, read-only broadcast state); processBroadcastElement without a current key (writable
/// broadcast state; no keyed state, no timers); onTimer with the timer's key current.
template <typename K, typename IN1, typename IN2, typename OUT>
class KeyedBroadcastProcessFunction : public RichFunction, public detail::KeyedStateAccess<K> {
 public:
  using KeyType = K;
  using FirstInputType = IN1;
  using SecondInputType = IN2;
  using OutputType = OUT;

  class ReadOnlyContext : public BroadcastReadOnlyContext {
   public:
    virtual const K& getCurrentKey() const = 0;
  };
  /// Context of processBroadcastElement: the writable broadcast state, and keyed state of
  /// every key through applyToKeyedState.
  class Context : public BroadcastWritableContext {
   public:
    /// Calls `fn(key, state)` for every key with a value in the keyed state of descriptor
    /// `d` (any keyed state descriptor), with that key current; `fn` may read, update or clear
    /// the state (Flink's Context.applyToKeyedState with a KeyedStateFunction).
    template <typename D, typename Fn>
    void applyToKeyedState(const D& d, Fn&& fn) {
      keyedStore().applyToAllKeys(d, std::forward<Fn>(fn));
    }

   protected:
    virtual KeyedStateStore<K, VoidNamespace>& keyedStore() = 0;
  };
  class OnTimerContext : public ReadOnlyContext {
   public:
    virtual TimeDomain timeDomain() const = 0;
  };

  virtual void processElement(const IN1& value, ReadOnlyContext& ctx, Collector<OUT>& out) = 0;
  virtual void processBroadcastElement(const IN2& value, Context& ctx, Collector<OUT>& out) = 0;
  virtual void onTimer(Timestamp timestamp, OnTimerContext& ctx, Collector<OUT>& out) {
    (void)timestamp;
    (void)ctx;
    (void)out;
  }
};

// ---- operators --------------------------------------------------------------------------------

namespace detail {

/// Plumbing of the two-input process operators: element timestamps, the collector, side
/// outputs, and the clocks.
template <typename IN1, typename IN2, typename OUT>
class TwoInputProcessBase : public TwoInputStreamOperator<IN1, IN2, OUT> {
 protected:
  void beginElement(Timestamp timestamp) {
    timestamp_ = timestamp;
    domain_ = std::nullopt;
    collector_.setTimestamp(timestamp);
  }
  std::optional<Timestamp> elementTimestamp() const {
    return timestamp_ == kNoTimestamp ? std::nullopt : std::optional<Timestamp>(timestamp_);
  }
  OutputBase* findSideOutput(const std::string& tagId) const {
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : it->second;
  }
  TimeDomain currentDomain() const {
    if (!domain_) throw SluiceException("timeDomain() is only available in onTimer");
    return *domain_;
  }

  Collector<OUT> collector_;
  Timestamp timestamp_ = kNoTimestamp;
  std::optional<TimeDomain> domain_;
};

/// The clocks without timers, for non-keyed operators and processBroadcastElement.
class TimeOnlyTimerService final : public TimerService {
 public:
  TimeOnlyTimerService(const StreamOperatorContext* context, const Timestamp* watermark,
                       std::string why)
      : context_(context), watermark_(watermark), why_(std::move(why)) {}
  Timestamp currentProcessingTime() const override {
    return context_->processingTimeService->currentProcessingTime();
  }
  Timestamp currentWatermark() const override { return *watermark_; }
  void registerEventTimeTimer(Timestamp) override { fail(); }
  void registerProcessingTimeTimer(Timestamp) override { fail(); }
  void deleteEventTimeTimer(Timestamp) override { fail(); }
  void deleteProcessingTimeTimer(Timestamp) override { fail(); }

 private:
  [[noreturn]] void fail() const { throw SluiceException(why_); }
  const StreamOperatorContext* context_;
  const Timestamp* watermark_;
  std::string why_;
};

inline constexpr const char* kNoTimersMessage =
    "Setting timers is only supported on keyed streams: apply process() after keyBy()";

/// Plumbing of the non-keyed two-input process operators: the watermark seen so far and a
/// timer service that refuses timers.
template <typename IN1, typename IN2, typename OUT>
class NonKeyedTwoInputBase : public TwoInputProcessBase<IN1, IN2, OUT> {
 public:
  void processWatermark(int input, Watermark watermark) override {
    TwoInputStreamOperator<IN1, IN2, OUT>::processWatermark(input, watermark);
    watermark_ = this->currentWatermark();
  }
  void processWatermarkStatus(int input, bool idle) override {
    TwoInputStreamOperator<IN1, IN2, OUT>::processWatermarkStatus(input, idle);
    watermark_ = this->currentWatermark();
  }

 protected:
  Timestamp watermark_ = kMinWatermark;
  TimeOnlyTimerService timeOnly_{&this->context_, &watermark_, kNoTimersMessage};
};

/// Plumbing of the keyed two-input process operators: key context, keyed state, timers. Event
/// timers fire when the combined watermark of the inputs advances, before it is forwarded.
template <typename K, typename IN1, typename IN2, typename OUT>
class KeyedTwoInputBase : public TwoInputProcessBase<IN1, IN2, OUT>, public TimerService {
  using Base = TwoInputStreamOperator<IN1, IN2, OUT>;

 public:
  void initializeState() override { initKeyedStateBackend(*this, keyContext_); }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void open() override {
    timers_ = std::make_unique<InternalTimerService<K, VoidNamespace>>(
        keyContext_, *this->context_.processingTimeService,
        [this](const auto& t) { fireTimer(t.timestamp, TimeDomain::kEventTime); },
        [this](const auto& t) { fireTimer(t.timestamp, TimeDomain::kProcessingTime); });
    this->collector_.setOutput(this->output_);
  }
  void processWatermark(int input, Watermark watermark) override {
    Hooked hooked(this);
    Base::processWatermark(input, watermark);
  }
  void processWatermarkStatus(int input, bool idle) override {
    Hooked hooked(this);
    Base::processWatermarkStatus(input, idle);
  }

  /// Timers registered and not yet fired (for tests).
  size_t numEventTimeTimers() const { return timers_->numEventTimeTimers(); }

  // TimerService (of the current key)
  Timestamp currentProcessingTime() const override { return timers_->currentProcessingTime(); }
  Timestamp currentWatermark() const override { return timers_->currentWatermark(); }
  void registerEventTimeTimer(Timestamp t) override {
    timers_->registerEventTimeTimer(VoidNamespace{}, t);
  }
  void registerProcessingTimeTimer(Timestamp t) override {
    timers_->registerProcessingTimeTimer(VoidNamespace{}, t);
  }
  void deleteEventTimeTimer(Timestamp t) override {
    timers_->deleteEventTimeTimer(VoidNamespace{}, t);
  }
  void deleteProcessingTimeTimer(Timestamp t) override {
    timers_->deleteProcessingTimeTimer(VoidNamespace{}, t);
  }

 protected:
  /// Calls the function's onTimer; the timer's key is current.
  virtual void onTimer(Timestamp time) = 0;

  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateStore<K, VoidNamespace> store_{keyContext_};
  std::unique_ptr<InternalTimerService<K, VoidNamespace>> timers_;

 private:
  void fireTimer(Timestamp time, TimeDomain domain) {
    this->timestamp_ = domain == TimeDomain::kEventTime ? time : kNoTimestamp;
    this->domain_ = domain;
    this->collector_.setTimestamp(this->timestamp_);
    onTimer(time);
  }
  /// Stands in for the output while the base combines watermarks: fires the event-time timers
  /// a combined watermark passes, then forwards it.
  struct WatermarkHook final : Output<OUT> {
    KeyedTwoInputBase* op = nullptr;
    Output<OUT>* real = nullptr;
    void collect(const OUT& value, Timestamp timestamp) override {
      real->collect(value, timestamp);
    }
    void emitWatermark(Watermark watermark) override {
      op->timers_->advanceWatermark(watermark.timestamp);
      real->emitWatermark(watermark);
    }
    void emitWatermarkStatus(bool idle) override { real->emitWatermarkStatus(idle); }
  };
  /// Installs the hook for one call, restoring the output even when a timer throws.
  struct Hooked {
    explicit Hooked(KeyedTwoInputBase* op) : op_(op) {
      op_->hook_.op = op_;
      op_->hook_.real = op_->output_;
      op_->output_ = &op_->hook_;
    }
    ~Hooked() { op_->output_ = op_->hook_.real; }
    Hooked(const Hooked&) = delete;
    Hooked& operator=(const Hooked&) = delete;
    KeyedTwoInputBase* op_;
  };
  WatermarkHook hook_;
};

}  // namespace detail

/// Runs a CoProcessFunction (Flink's CoProcessOperator).
template <typename IN1, typename IN2, typename OUT, typename F>
class CoProcessOperator final : public detail::NonKeyedTwoInputBase<IN1, IN2, OUT> {
 public:
  explicit CoProcessOperator(F fn) : fn_(std::move(fn)) {}
  void open() override {
    this->collector_.setOutput(this->output_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }
  void processElement1(const IN1& value, Timestamp timestamp) override {
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement1(value, ctx_, this->collector_); });
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement2(value, ctx_, this->collector_); });
  }

 private:
  struct Ctx final : ProcessContextBase {
    explicit Ctx(CoProcessOperator* o) : op(o) {}
    std::optional<Timestamp> timestamp() const override { return op->elementTimestamp(); }
    TimerService& timerService() override { return op->timeOnly_; }
    OutputBase* sideOutput(const std::string& tagId) override { return op->findSideOutput(tagId); }
    CoProcessOperator* op;
  };
  F fn_;
  Ctx ctx_{this};
};

/// Runs a KeyedCoProcessFunction on two keyed inputs (Flink's KeyedCoProcessOperator). Results of
/// an event-time timer carry its timestamp; those of a processing-time timer carry none.
template <typename K, typename IN1, typename IN2, typename OUT, typename KS1, typename KS2,
          typename F>
class KeyedCoProcessOperator final : public detail::KeyedTwoInputBase<K, IN1, IN2, OUT> {
 public:
  KeyedCoProcessOperator(KS1 ks1, KS2 ks2, F fn)
      : ks1_(std::move(ks1)), ks2_(std::move(ks2)), fn_(std::move(fn)) {}
  void open() override {
    detail::KeyedTwoInputBase<K, IN1, IN2, OUT>::open();
    fn_.setKeyedStateStore(&this->store_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }
  void processElement1(const IN1& value, Timestamp timestamp) override {
    this->keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return ks1_(value); }));
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement1(value, ctx_, this->collector_); });
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    this->keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return ks2_(value); }));
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement2(value, ctx_, this->collector_); });
  }

 private:
  void onTimer(Timestamp time) override {
    callUserFunction(*this, [&] { fn_.onTimer(time, ctx_, this->collector_); });
  }
  struct Ctx final : KeyedCoProcessFunction<K, IN1, IN2, OUT>::OnTimerContext {
    explicit Ctx(KeyedCoProcessOperator* o) : op(o) {}
    std::optional<Timestamp> timestamp() const override { return op->elementTimestamp(); }
    TimerService& timerService() override { return *op; }
    OutputBase* sideOutput(const std::string& tagId) override { return op->findSideOutput(tagId); }
    const K& getCurrentKey() const override { return op->keyContext_.currentKey(); }
    TimeDomain timeDomain() const override { return op->currentDomain(); }
    KeyedCoProcessOperator* op;
  };
  KS1 ks1_;
  KS2 ks2_;
  F fn_;
  Ctx ctx_{this};
};

/// Runs a BroadcastProcessFunction: input 1 is the non-broadcast stream, input 2 the broadcast
/// one (Flink's CoBroadcastWithNonKeyedOperator). Broadcast state is per subtask.
template <typename IN1, typename IN2, typename OUT, typename F>
class CoBroadcastWithNonKeyedOperator final : public detail::NonKeyedTwoInputBase<IN1, IN2, OUT> {
 public:
  CoBroadcastWithNonKeyedOperator(F fn, std::vector<std::string> descriptors)
      : fn_(std::move(fn)), states_(std::move(descriptors)) {}
  /// Restores the broadcast states (operator state, mode BROADCAST), lazily.
  void initializeState() override {
    detail::NonKeyedTwoInputBase<IN1, IN2, OUT>::initializeState();
    if (const auto* restored = this->context_.restoredOperatorState) states_.restore(*restored);
  }
  /// The broadcast states (as Flink's operator state backend snapshots them).
  OperatorStateSnapshot snapshotOperatorState(int64_t, int64_t) override {
    return states_.snapshot();
  }
  void open() override {
    this->collector_.setOutput(this->output_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }
  void processElement1(const IN1& value, Timestamp timestamp) override {
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement(value, readOnly_, this->collector_); });
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    this->beginElement(timestamp);
    callUserFunction(*this,
                     [&] { fn_.processBroadcastElement(value, writable_, this->collector_); });
  }

 private:
  template <typename Base>
  struct Ctx final : Base {
    explicit Ctx(CoBroadcastWithNonKeyedOperator* o) : op(o) {}
    std::optional<Timestamp> timestamp() const override { return op->elementTimestamp(); }
    TimerService& timerService() override { return op->timeOnly_; }
    OutputBase* sideOutput(const std::string& tagId) override { return op->findSideOutput(tagId); }
    BroadcastStateStore& broadcastStore() override { return op->states_; }
    CoBroadcastWithNonKeyedOperator* op;
  };
  F fn_;
  BroadcastStateStore states_;
  Ctx<BroadcastReadOnlyContext> readOnly_{this};
  Ctx<BroadcastWritableContext> writable_{this};
};

/// Runs a KeyedBroadcastProcessFunction: input 1 is the keyed stream, input 2 the broadcast one
/// (Flink's CoBroadcastWithKeyedOperator). Broadcast state is per subtask; keyed state and timers
/// per key of input 1.
template <typename K, typename IN1, typename IN2, typename OUT, typename KS, typename F>
class CoBroadcastWithKeyedOperator final : public detail::KeyedTwoInputBase<K, IN1, IN2, OUT> {
 public:
  CoBroadcastWithKeyedOperator(KS keySelector, F fn, std::vector<std::string> descriptors)
      : ks_(std::move(keySelector)), fn_(std::move(fn)), states_(std::move(descriptors)) {}
  /// Restores the broadcast states (operator state, mode BROADCAST), lazily.
  void initializeState() override {
    detail::KeyedTwoInputBase<K, IN1, IN2, OUT>::initializeState();
    if (const auto* restored = this->context_.restoredOperatorState) states_.restore(*restored);
  }
  /// The broadcast states (as Flink's operator state backend snapshots them).
  OperatorStateSnapshot snapshotOperatorState(int64_t, int64_t) override {
    return states_.snapshot();
  }
  void open() override {
    detail::KeyedTwoInputBase<K, IN1, IN2, OUT>::open();
    fn_.setKeyedStateStore(&this->store_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }
  void processElement1(const IN1& value, Timestamp timestamp) override {
    this->keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return ks_(value); }));
    this->beginElement(timestamp);
    callUserFunction(*this, [&] { fn_.processElement(value, keyed_, this->collector_); });
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    this->beginElement(timestamp);
    broadcastWatermark_ = this->timers_->currentWatermark();
    fn_.setNoCurrentKey(true);
    struct Reset {
      F& fn;
      ~Reset() { fn.setNoCurrentKey(false); }
    } reset{fn_};
    callUserFunction(*this,
                     [&] { fn_.processBroadcastElement(value, writable_, this->collector_); });
  }

 private:
  void onTimer(Timestamp time) override {
    callUserFunction(*this, [&] { fn_.onTimer(time, keyed_, this->collector_); });
  }
  struct KeyedCtx final : KeyedBroadcastProcessFunction<K, IN1, IN2, OUT>::OnTimerContext {
    explicit KeyedCtx(CoBroadcastWithKeyedOperator* o) : op(o) {}
    std::optional<Timestamp> timestamp() const override { return op->elementTimestamp(); }
    TimerService& timerService() override { return *op; }
    OutputBase* sideOutput(const std::string& tagId) override { return op->findSideOutput(tagId); }
    BroadcastStateStore& broadcastStore() override { return op->states_; }
    const K& getCurrentKey() const override { return op->keyContext_.currentKey(); }
    TimeDomain timeDomain() const override { return op->currentDomain(); }
    CoBroadcastWithKeyedOperator* op;
  };
  struct WritableCtx final : KeyedBroadcastProcessFunction<K, IN1, IN2, OUT>::Context {
    explicit WritableCtx(CoBroadcastWithKeyedOperator* o) : op(o) {}
    std::optional<Timestamp> timestamp() const override { return op->elementTimestamp(); }
    TimerService& timerService() override { return op->timeOnly_; }
    OutputBase* sideOutput(const std::string& tagId) override { return op->findSideOutput(tagId); }
    BroadcastStateStore& broadcastStore() override { return op->states_; }
    KeyedStateStore<K, VoidNamespace>& keyedStore() override { return op->store_; }
    CoBroadcastWithKeyedOperator* op;
  };
  KS ks_;
  F fn_;
  BroadcastStateStore states_;
  KeyedCtx keyed_{this};
  WritableCtx writable_{this};
  Timestamp broadcastWatermark_ = kMinWatermark;
  detail::TimeOnlyTimerService timeOnly_{
      &this->context_, &broadcastWatermark_,
      "timers are not available in processBroadcastElement: there is no current key"};
};

}  // namespace sluice
