#pragma once

#include <type_traits>
#include <unordered_map>
#include <vector>

#include "sluice/runtime/stream_operator.h"
#include "sluice/state/key_groups.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/state/operator_state.h"

namespace sluice {

namespace detail {

/// Calls open()/close() on functions that derive from RichFunction; no-op for lambdas.
template <typename F>
void openFunction(F& fn, RuntimeContext& context) {
  if constexpr (std::is_base_of_v<RichFunction, F>) fn.open(context);
}
template <typename F>
void closeFunction(F& fn) {
  if constexpr (std::is_base_of_v<RichFunction, F>) fn.close();
}

/// User functions are either callables or objects with Flink's method name (map, filter, ...).
template <typename F, typename IN>
decltype(auto) invokeMap(F& fn, const IN& value) {
  if constexpr (requires { fn.map(value); }) {
    return fn.map(value);
  } else {
    return fn(value);
  }
}
template <typename F, typename IN>
bool invokeFilter(F& fn, const IN& value) {
  if constexpr (requires { fn.filter(value); }) {
    return fn.filter(value);
  } else {
    return fn(value);
  }
}
template <typename F, typename IN, typename OUT>
void invokeFlatMap(F& fn, const IN& value, Collector<OUT>& out) {
  if constexpr (requires { fn.flatMap(value, out); }) {
    fn.flatMap(value, out);
  } else {
    fn(value, out);
  }
}
template <typename F, typename T>
T invokeReduce(F& fn, const T& a, const T& b) {
  if constexpr (requires { fn.reduce(a, b); }) {
    return fn.reduce(a, b);
  } else {
    return fn(a, b);
  }
}

}  // namespace detail

/// Base of operators that run one user function (Flink's AbstractUdfStreamOperator): opens and
/// closes it with the runtime context, and, when it derives from CheckpointedFunction, gives it
/// its operator state in initializeState() and calls its snapshotState() from
/// snapshotOperatorState() (Flink's StreamingFunctionUtils). Nothing of this is on the record
/// path.
template <typename F, typename Base>
class UdfOperator : public Base {
 public:
  static constexpr bool kCheckpointed = std::is_base_of_v<CheckpointedFunction, F>;

  explicit UdfOperator(F fn) : fn_(std::move(fn)) {}
  void initializeState() override {
    Base::initializeState();
    if constexpr (kCheckpointed) {
      FunctionInitializationContext context(this->getOperatorStateStore(),
                                            this->context_.restoredOperatorState != nullptr);
      callUserFunction(*this, [&] { fn_.initializeState(context); });
      functionStateInitialized_ = true;
    }
  }
  void open() override {
    callUserFunction(*this, [&] { detail::openFunction(fn_, this->getRuntimeContext()); });
  }
  void close() override { detail::closeFunction(fn_); }
  OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp) override {
    if constexpr (kCheckpointed) {
      // Only a function whose state was initialized has states to write into.
      if (functionStateInitialized_) {
        FunctionSnapshotContext context(checkpointId, timestamp);
        callUserFunction(*this, [&] { fn_.snapshotState(context); });
      }
    }
    return Base::snapshotOperatorState(checkpointId, timestamp);
  }

 protected:
  F fn_;

 private:
  bool functionStateInitialized_ = false;
};

/// map(): one output per input (Flink's StreamMap).
template <typename IN, typename OUT, typename F>
class StreamMap final : public UdfOperator<F, OneInputStreamOperator<IN, OUT>> {
 public:
  using UdfOperator<F, OneInputStreamOperator<IN, OUT>>::UdfOperator;
  void collect(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const IN& value, Timestamp timestamp) final { process(value, timestamp); }

 private:
  void process(const IN& value, Timestamp timestamp) {
    this->output_->collect(
        callUserFunction(*this, [&]() -> OUT { return detail::invokeMap(this->fn_, value); }),
        timestamp);
  }
};

/// filter(): keeps the records the predicate accepts (Flink's StreamFilter).
template <typename T, typename F>
class StreamFilter final : public UdfOperator<F, OneInputStreamOperator<T, T>> {
 public:
  using UdfOperator<F, OneInputStreamOperator<T, T>>::UdfOperator;
  void collect(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { process(value, timestamp); }

 private:
  void process(const T& value, Timestamp timestamp) {
    if (callUserFunction(*this, [&] { return detail::invokeFilter(this->fn_, value); })) {
      this->output_->collect(value, timestamp);
    }
  }
};

/// flatMap(): zero or more outputs per input (Flink's StreamFlatMap).
template <typename IN, typename OUT, typename F>
class StreamFlatMap final : public UdfOperator<F, OneInputStreamOperator<IN, OUT>> {
 public:
  using UdfOperator<F, OneInputStreamOperator<IN, OUT>>::UdfOperator;
  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    OneInputStreamOperator<IN, OUT>::setup(context, output);
    collector_.setOutput(this->output_);
  }
  void collect(const IN& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const IN& value, Timestamp timestamp) final { process(value, timestamp); }

 private:
  void process(const IN& value, Timestamp timestamp) {
    collector_.setTimestamp(timestamp);
    callUserFunction(*this, [&] { detail::invokeFlatMap(this->fn_, value, collector_); });
  }
  Collector<OUT> collector_;
};

/// reduce() on a KeyedStream: emits the running reduction per key for every record (Flink's
/// StreamGroupedReduceOperator).
template <typename T, typename K, typename KeySelector, typename F>
class StreamGroupedReduce final : public UdfOperator<F, OneInputStreamOperator<T, T>> {
 public:
  StreamGroupedReduce(KeySelector keySelector, F fn)
      : UdfOperator<F, OneInputStreamOperator<T, T>>(std::move(fn)),
        keySelector_(std::move(keySelector)) {}

  void initializeState() override {
    initKeyedStateBackend(*this, keyContext_);
    UdfOperator<F, OneInputStreamOperator<T, T>>::initializeState();
  }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void collect(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { process(value, timestamp); }

 private:
  void process(const T& value, Timestamp timestamp) {
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector_(value); }));
    T* current = state_.get(VoidNamespace{});
    if (current == nullptr) {
      state_.put(VoidNamespace{}, value);
      this->output_->collect(value, timestamp);
    } else {
      *current =
          callUserFunction(*this, [&] { return detail::invokeReduce(this->fn_, *current, value); });
      this->output_->collect(*current, timestamp);
    }
  }

  KeySelector keySelector_;
  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateTable<K, VoidNamespace, T> state_{keyContext_, "_op_state"};
};

/// map() on connected streams (Flink's CoStreamMap): one function per input, same output.
template <typename IN1, typename IN2, typename OUT, typename F1, typename F2>
class CoStreamMap final : public TwoInputStreamOperator<IN1, IN2, OUT> {
 public:
  CoStreamMap(F1 f1, F2 f2) : f1_(std::move(f1)), f2_(std::move(f2)) {}
  void processElement1(const IN1& value, Timestamp timestamp) override {
    this->output_->collect(callUserFunction(*this, [&]() -> OUT { return f1_(value); }), timestamp);
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    this->output_->collect(callUserFunction(*this, [&]() -> OUT { return f2_(value); }), timestamp);
  }

 private:
  F1 f1_;
  F2 f2_;
};

/// flatMap() on connected streams (Flink's CoStreamFlatMap).
template <typename IN1, typename IN2, typename OUT, typename F1, typename F2>
class CoStreamFlatMap final : public TwoInputStreamOperator<IN1, IN2, OUT> {
 public:
  CoStreamFlatMap(F1 f1, F2 f2) : f1_(std::move(f1)), f2_(std::move(f2)) {}
  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    TwoInputStreamOperator<IN1, IN2, OUT>::setup(context, output);
    collector_.setOutput(this->output_);
  }
  void processElement1(const IN1& value, Timestamp timestamp) override {
    collector_.setTimestamp(timestamp);
    callUserFunction(*this, [&] { f1_(value, collector_); });
  }
  void processElement2(const IN2& value, Timestamp timestamp) override {
    collector_.setTimestamp(timestamp);
    callUserFunction(*this, [&] { f2_(value, collector_); });
  }

 private:
  F1 f1_;
  F2 f2_;
  Collector<OUT> collector_;
};

}  // namespace sluice
