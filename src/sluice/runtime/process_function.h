#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/keyed_state_store.h"

namespace sluice {

/// Which clock fired a timer (Flink's TimeDomain).
enum class TimeDomain { kEventTime, kProcessingTime };

/// Timers and clocks of a process function (Flink's TimerService). Timers are scoped to the
/// current key, deduplicated per (key, timestamp), and fired in timestamp order.
class TimerService {
 public:
  virtual ~TimerService() = default;
  virtual Timestamp currentProcessingTime() const = 0;
  virtual Timestamp currentWatermark() const = 0;
  /// Throws SluiceException outside keyed streams ("Setting timers is only supported on keyed
  /// streams").
  virtual void registerEventTimeTimer(Timestamp time) = 0;
  virtual void registerProcessingTimeTimer(Timestamp time) = 0;
  virtual void deleteEventTimeTimer(Timestamp time) = 0;
  virtual void deleteProcessingTimeTimer(Timestamp time) = 0;
};

/// Context of a process function call: the element's timestamp, timers and side outputs.
class ProcessContextBase {
 public:
  virtual ~ProcessContextBase() = default;
  /// The timestamp of the element (or of the firing timer), nullopt when it has none.
  virtual std::optional<Timestamp> timestamp() const = 0;
  virtual TimerService& timerService() = 0;
  /// Emits to side output `tag` with the current timestamp; dropped when nothing consumes it.
  template <typename X>
  void output(const OutputTag<X>& tag, const X& value) {
    if (OutputBase* out = sideOutput(tag.id)) {
      static_cast<Output<X>*>(out)->collect(value, timestamp().value_or(kNoTimestamp));
    }
  }

 protected:
  virtual OutputBase* sideOutput(const std::string& tagId) = 0;
};

namespace detail {

/// Keyed state getters of keyed process functions (as KeyedProcessFunction's), scoped to the
/// current key. The operator sets the store before open().
template <typename K>
class KeyedStateAccess {
 public:
  template <typename V>
  ValueState<V>& getState(const ValueStateDescriptor<V>& d) {
    return store().getState(d);
  }
  template <typename T>
  ListState<T>& getListState(const ListStateDescriptor<T>& d) {
    return store().getListState(d);
  }
  template <typename UK, typename UV>
  MapState<UK, UV>& getMapState(const MapStateDescriptor<UK, UV>& d) {
    return store().getMapState(d);
  }
  template <typename T>
  ReducingState<T>& getReducingState(const ReducingStateDescriptor<T>& d) {
    return store().getReducingState(d);
  }
  template <typename I, typename A, typename O>
  AggregatingState<I, O>& getAggregatingState(const AggregatingStateDescriptor<I, A, O>& d) {
    return store().getAggregatingState(d);
  }

  /// Set by the operator before open(); not for users.
  void setKeyedStateStore(KeyedStateStore<K, VoidNamespace>* store) { store_ = store; }
  /// Set by the operator while no key is current (processBroadcastElement); not for users.
  void setNoCurrentKey(bool noKey) { noKey_ = noKey; }

 private:
  KeyedStateStore<K, VoidNamespace>& store() {
    if (noKey_) {
      throw SluiceException(
          "keyed state is not available in processBroadcastElement: there is no current key");
    }
    if (store_ == nullptr) {
      throw SluiceException(
          "keyed state is only available in a function on a keyed stream, from open() on");
    }
    return *store_;
  }
  KeyedStateStore<K, VoidNamespace>* store_ = nullptr;
  bool noKey_ = false;
};

}  // namespace detail

/// The lowest-level function on a keyed stream (Flink's KeyedProcessFunction): each element
/// with its key, timestamp, keyed state and timers; onTimer when a timer fires, with that
/// timer's key current. Keyed state is created from descriptors (getState, getListState, ...)
/// in open() or later, and is scoped to the current key.
template <typename K, typename IN, typename OUT>
class KeyedProcessFunction : public RichFunction, public detail::KeyedStateAccess<K> {
 public:
  using KeyType = K;
  using InputType = IN;
  using OutputType = OUT;

  class Context : public ProcessContextBase {
   public:
    virtual const K& getCurrentKey() const = 0;
  };
  class OnTimerContext : public Context {
   public:
    virtual TimeDomain timeDomain() const = 0;
  };

  virtual void processElement(const IN& value, Context& ctx, Collector<OUT>& out) = 0;
  virtual void onTimer(Timestamp timestamp, OnTimerContext& ctx, Collector<OUT>& out) {
    (void)timestamp;
    (void)ctx;
    (void)out;
  }
};

/// A function on a non-keyed stream with access to timestamps, the clocks and side outputs
/// (Flink's ProcessFunction). Timers need a keyed stream.
template <typename IN, typename OUT>
class ProcessFunction : public RichFunction {
 public:
  using InputType = IN;
  using OutputType = OUT;
  using Context = ProcessContextBase;
  virtual void processElement(const IN& value, Context& ctx, Collector<OUT>& out) = 0;

  // Keyed state needs a keyed stream: these fail clearly (as Flink's getRuntimeContext()
  // .getState() on a non-keyed stream) instead of the call not compiling at all.
  template <typename V>
  ValueState<V>& getState(const ValueStateDescriptor<V>&) {
    noKeyedState();
  }
  template <typename T>
  ListState<T>& getListState(const ListStateDescriptor<T>&) {
    noKeyedState();
  }
  template <typename UK, typename UV>
  MapState<UK, UV>& getMapState(const MapStateDescriptor<UK, UV>&) {
    noKeyedState();
  }
  template <typename T>
  ReducingState<T>& getReducingState(const ReducingStateDescriptor<T>&) {
    noKeyedState();
  }
  template <typename I, typename A, typename O>
  AggregatingState<I, O>& getAggregatingState(const AggregatingStateDescriptor<I, A, O>&) {
    noKeyedState();
  }

 private:
  [[noreturn]] static void noKeyedState() {
    throw SluiceException(
        "Keyed state can only be used on a keyed stream: apply process() after keyBy()");
  }
};

/// Runs a KeyedProcessFunction (Flink's KeyedProcessOperator). The watermark is forwarded only
/// after the event-time timers it fires. Results of an event-time timer carry the timer's
/// timestamp; those of a processing-time timer carry none (as Flink).
template <typename K, typename IN, typename OUT, typename KeySelector, typename F>
class KeyedProcessOperator final : public OneInputStreamOperator<IN, OUT>,
                                   private KeyedProcessFunction<K, IN, OUT>::OnTimerContext,
                                   private TimerService {
 public:
  KeyedProcessOperator(KeySelector keySelector, F fn)
      : keySelector_(std::move(keySelector)), fn_(std::move(fn)) {}

  void initializeState() override { initKeyedStateBackend(*this, keyContext_); }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void open() override {
    timers_ = std::make_unique<InternalTimerService<K, VoidNamespace>>(
        keyContext_, *this->context_.processingTimeService,
        [this](const auto& t) { onTimer(t.timestamp, TimeDomain::kEventTime); },
        [this](const auto& t) { onTimer(t.timestamp, TimeDomain::kProcessingTime); });
    collector_.setOutput(this->output_);
    fn_.setKeyedStateStore(&store_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }

  void collect(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    timers_->advanceWatermark(watermark.timestamp);
    this->output_->emitWatermark(watermark);
  }

  /// Timers registered and not yet fired (for tests).
  size_t numEventTimeTimers() const { return timers_->numEventTimeTimers(); }

 private:
  void process(const IN& value, Timestamp timestamp) {
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector_(value); }));
    timestamp_ = timestamp;
    domain_ = std::nullopt;
    collector_.setTimestamp(timestamp);
    callUserFunction(*this, [&] { fn_.processElement(value, *this, collector_); });
  }
  void onTimer(Timestamp time, TimeDomain domain) {
    timestamp_ = domain == TimeDomain::kEventTime ? time : kNoTimestamp;
    domain_ = domain;
    collector_.setTimestamp(timestamp_);
    callUserFunction(*this, [&] { fn_.onTimer(time, *this, collector_); });
  }

  // Context / OnTimerContext
  std::optional<Timestamp> timestamp() const override {
    return timestamp_ == kNoTimestamp ? std::nullopt : std::optional<Timestamp>(timestamp_);
  }
  TimerService& timerService() override { return *this; }
  OutputBase* sideOutput(const std::string& tagId) override {
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : it->second;
  }
  const K& getCurrentKey() const override { return keyContext_.currentKey(); }
  TimeDomain timeDomain() const override {
    if (!domain_) throw SluiceException("timeDomain() is only available in onTimer");
    return *domain_;
  }
  // TimerService
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

  KeySelector keySelector_;
  F fn_;
  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateStore<K, VoidNamespace> store_{keyContext_};
  std::unique_ptr<InternalTimerService<K, VoidNamespace>> timers_;
  Collector<OUT> collector_;
  Timestamp timestamp_ = kNoTimestamp;
  std::optional<TimeDomain> domain_;
};

/// Runs a ProcessFunction on a non-keyed stream (Flink's ProcessOperator).
template <typename IN, typename OUT, typename F>
class ProcessOperator final : public OneInputStreamOperator<IN, OUT>,
                              private ProcessContextBase,
                              private TimerService {
 public:
  explicit ProcessOperator(F fn) : fn_(std::move(fn)) {}
  void open() override {
    collector_.setOutput(this->output_);
    callUserFunction(*this, [&] { fn_.open(this->getRuntimeContext()); });
  }
  void close() override { fn_.close(); }
  void collect(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    watermark_ = watermark.timestamp;
    this->output_->emitWatermark(watermark);
  }

 private:
  void process(const IN& value, Timestamp timestamp) {
    timestamp_ = timestamp;
    collector_.setTimestamp(timestamp);
    callUserFunction(*this, [&] { fn_.processElement(value, *this, collector_); });
  }
  std::optional<Timestamp> timestamp() const override {
    return timestamp_ == kNoTimestamp ? std::nullopt : std::optional<Timestamp>(timestamp_);
  }
  TimerService& timerService() override { return *this; }
  OutputBase* sideOutput(const std::string& tagId) override {
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : it->second;
  }
  Timestamp currentProcessingTime() const override {
    return this->context_.processingTimeService->currentProcessingTime();
  }
  Timestamp currentWatermark() const override { return watermark_; }
  [[noreturn]] static void noTimers() {
    throw SluiceException(
        "Setting timers is only supported on keyed streams: apply process() after keyBy()");
  }
  void registerEventTimeTimer(Timestamp) override { noTimers(); }
  void registerProcessingTimeTimer(Timestamp) override { noTimers(); }
  void deleteEventTimeTimer(Timestamp) override { noTimers(); }
  void deleteProcessingTimeTimer(Timestamp) override { noTimers(); }

  F fn_;
  Collector<OUT> collector_;
  Timestamp timestamp_ = kNoTimestamp;
  Timestamp watermark_ = kMinWatermark;
};

}  // namespace sluice
