#pragma once

#include <type_traits>
#include <unordered_map>
#include <vector>

#include "sluice/core/key_groups.h"
#include "sluice/runtime/stream_operator.h"

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

/// Base of operators that run one user function: opens and closes it with the runtime context.
template <typename F, typename Base>
class UdfOperator : public Base {
 public:
  explicit UdfOperator(F fn) : fn_(std::move(fn)) {}
  void open() override {
    callUserFunction(*this, [&] { detail::openFunction(fn_, this->getRuntimeContext()); });
  }
  void close() override { detail::closeFunction(fn_); }

 protected:
  F fn_;
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

/// Hash of a state key for in-memory tables: std::hash where it exists, else the key's
/// Java-compatible hashCode, mixed.
template <typename K>
struct StateKeyHash {
  size_t operator()(const K& key) const {
    if constexpr (requires { std::hash<K>{}(key); }) {
      return std::hash<K>{}(key);
    } else {
      return static_cast<size_t>(static_cast<uint32_t>(murmurHash(KeyHash<K>::hashCode(key))));
    }
  }
};

/// A value per key, partitioned by key group so that it can later be snapshotted and
/// redistributed per key group (DESIGN "Keys"). The minimal heap form the keyed-state issue
/// generalizes into state backends. Task thread only.
template <typename K, typename V>
class KeyGroupedValueMap {
 public:
  void init(KeyGroupRange range, int maxParallelism) {
    range_ = range;
    maxParallelism_ = maxParallelism;
    tables_.assign(static_cast<size_t>(range.numberOfKeyGroups()), {});
  }
  /// The table of `key`'s key group. Throws SluiceException when the key does not belong to
  /// this subtask (a partitioning bug).
  template <typename KeyLike>
  std::unordered_map<K, V, StateKeyHash<K>>& tableFor(const KeyLike& key) {
    int kg = KeyGroupRangeAssignment::assignToKeyGroup(key, maxParallelism_);
    if (!range_.contains(kg)) {
      throw SluiceException("key group " + std::to_string(kg) + " is not in this subtask's range");
    }
    return tables_[static_cast<size_t>(kg - range_.startKeyGroup)];
  }
  size_t size() const {
    size_t n = 0;
    for (auto& t : tables_) n += t.size();
    return n;
  }

 private:
  KeyGroupRange range_{0, -1};
  int maxParallelism_ = 128;
  std::vector<std::unordered_map<K, V, StateKeyHash<K>>> tables_;
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
    const TaskInfo& info = this->getRuntimeContext().getTaskInfo();
    state_.init(
        KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
            info.maxNumberOfParallelSubtasks, info.numberOfParallelSubtasks, info.indexOfSubtask),
        info.maxNumberOfParallelSubtasks);
  }
  void collect(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { process(value, timestamp); }

 private:
  void process(const T& value, Timestamp timestamp) {
    decltype(auto) key =
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector_(value); });
    auto& table = state_.tableFor(key);
    auto it = table.find(key);
    if (it == table.end()) {
      it = table.emplace(K(key), value).first;
    } else {
      it->second = callUserFunction(
          *this, [&] { return detail::invokeReduce(this->fn_, it->second, value); });
    }
    this->output_->collect(it->second, timestamp);
  }

  KeySelector keySelector_;
  KeyGroupedValueMap<K, T> state_;
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
