#pragma once

// Interval join of two keyed streams (Flink's KeyedStream#intervalJoin):
//
//   left.keyBy(k1).intervalJoin(right.keyBy(k2))
//       .between(std::chrono::milliseconds(-2), std::chrono::milliseconds(1))
//       .process([](const L& l, const R& r, Collector<OUT>& out) { ... });
//
// emits for every pair of the same key with r.ts in [l.ts + lower, l.ts + upper], in event time
// only. See IntervalJoinOperator for buffering, lateness and state cleanup. Program
// construction is single-threaded, as for all of the DataStream API.

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "sluice/api/data_stream.h"
#include "sluice/api/joined_streams.h"
#include "sluice/window/interval_join_operator.h"

namespace sluice {

namespace detail {

/// Output type of an interval join function: explicit OUT, F::OutputType, or the
/// Collector<OUT>& parameter of processElement() / operator(); void when it cannot be told.
template <typename OUT, typename F>
auto processJoinOutput() {
  if constexpr (!std::is_void_v<OUT>) {
    return std::type_identity<OUT>{};
  } else if constexpr (requires { typename F::OutputType; }) {
    return std::type_identity<typename F::OutputType>{};
  } else if constexpr (requires { &F::processElement; }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::processElement)>>{};
  } else if constexpr (requires { &F::operator(); }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::operator())>>{};
  } else {
    return std::type_identity<void>{};
  }
}

}  // namespace detail

/// An interval join with its bounds (Flink's KeyedStream.IntervalJoined): optionally make a
/// bound exclusive or send late elements to side outputs, then process() the pairs.
template <typename T1, typename KS1, typename T2, typename KS2>
class IntervalJoined {
 public:
  using Key = typename KeyedStream<T1, KS1>::KeyType;

  IntervalJoined(KeyedStream<T1, KS1> left, KeyedStream<T2, KS2> right, int64_t lowerBound,
                 int64_t upperBound)
      : left_(std::move(left)),
        right_(std::move(right)),
        lowerBound_(lowerBound),
        upperBound_(upperBound) {}

  /// Excludes right elements at exactly left.ts + lowerBound.
  IntervalJoined& lowerBoundExclusive() {
    lowerInclusive_ = false;
    return *this;
  }
  /// Excludes right elements at exactly left.ts + upperBound.
  IntervalJoined& upperBoundExclusive() {
    upperInclusive_ = false;
    return *this;
  }
  /// Left elements that arrive late (timestamp below the watermark) go to `tag` instead of
  /// being dropped (Flink's sideOutputLeftLateData).
  IntervalJoined& sideOutputLeftLateData(const OutputTag<T1>& tag) {
    spec_.leftLateDataTag = tag.id;
    return *this;
  }
  /// Right elements that arrive late go to `tag` instead of being dropped (Flink's
  /// sideOutputRightLateData).
  IntervalJoined& sideOutputRightLateData(const OutputTag<T2>& tag) {
    spec_.rightLateDataTag = tag.id;
    return *this;
  }

  /// Calls `fn` for every joined pair: a ProcessJoinFunction, or a callable
  /// `void(const T1&, const T2&, ProcessJoinContext&, Collector<OUT>&)` or
  /// `void(const T1&, const T2&, Collector<OUT>&)`. OUT comes from the Collector parameter or
  /// F::OutputType, or explicitly as process<OUT>(fn). Results carry max(left.ts, right.ts).
  /// The job fails with a SluiceException naming the operator when an element has no
  /// timestamp.
  template <typename OUT = void, typename F>
  auto process(F fn) const {
    using O = typename decltype(detail::processJoinOutput<OUT, F>())::type;
    static_assert(!std::is_void_v<O>,
                  "cannot tell the interval join function's output type: call process<OUT>(fn)");
    using Op = IntervalJoinOperator<Key, T1, T2, O, KS1, KS2, F>;
    IntervalJoinSpec spec = spec_;
    spec.lowerBound = lowerInclusive_ ? lowerBound_ : lowerBound_ + 1;
    spec.upperBound = upperInclusive_ ? upperBound_ : upperBound_ - 1;
    KS1 ks1 = left_.getKeySelector();
    KS2 ks2 = right_.getKeySelector();
    auto factory = std::make_shared<FunctionOperatorFactory>(
        [spec, ks1, ks2, fn]() -> std::unique_ptr<StreamOperatorBase> {
          return std::make_unique<Op>(spec, ks1, ks2, fn);
        });
    StreamExecutionEnvironment* env = &left_.getExecutionEnvironment();
    int id = env->addNode(detail::makeNode("IntervalJoin", factory, typeInfoOf<O>()),
                          left_.upstreams(), right_.upstreams());
    return SingleOutputStreamOperator<O>(env, id);
  }

 private:
  KeyedStream<T1, KS1> left_;
  KeyedStream<T2, KS2> right_;
  int64_t lowerBound_;
  int64_t upperBound_;
  bool lowerInclusive_ = true;
  bool upperInclusive_ = true;
  IntervalJoinSpec spec_;
};

/// Two keyed streams to be joined on time intervals (Flink's KeyedStream.IntervalJoin); both
/// must be keyed by the same key type. Event time only.
template <typename T1, typename KS1, typename T2, typename KS2>
class IntervalJoin {
 public:
  IntervalJoin(KeyedStream<T1, KS1> left, KeyedStream<T2, KS2> right)
      : left_(std::move(left)), right_(std::move(right)) {
    static_assert(std::is_same_v<typename KeyedStream<T1, KS1>::KeyType,
                                 typename KeyedStream<T2, KS2>::KeyType>,
                  "both inputs of an interval join must be keyed by the same key type");
    detail::checkSameEnvironment(left_.getExecutionEnvironment(), right_.getExecutionEnvironment(),
                                 "interval-join");
  }

  /// Joins each left element l with the right elements r of its key with
  /// r.ts in [l.ts + lowerBound, l.ts + upperBound] (inclusive; see lowerBoundExclusive() and
  /// upperBoundExclusive()). Bounds are in ms or any coarser std::chrono duration and may be
  /// negative. Throws ConfigurationException when lowerBound > upperBound.
  IntervalJoined<T1, KS1, T2, KS2> between(std::chrono::milliseconds lowerBound,
                                           std::chrono::milliseconds upperBound) const {
    if (lowerBound > upperBound) {
      throw ConfigurationException("interval join: the lower bound (" +
                                   std::to_string(lowerBound.count()) +
                                   " ms) must not be greater than the upper bound (" +
                                   std::to_string(upperBound.count()) + " ms)");
    }
    return IntervalJoined<T1, KS1, T2, KS2>(left_, right_, lowerBound.count(), upperBound.count());
  }

 private:
  KeyedStream<T1, KS1> left_;
  KeyedStream<T2, KS2> right_;
};

// ---- the KeyedStream entry point ------------------------------------------------------------

template <typename T, typename KeySelector>
template <typename U, typename KS2>
IntervalJoin<T, KeySelector, U, KS2> KeyedStream<T, KeySelector>::intervalJoin(
    const KeyedStream<U, KS2>& other) const {
  return IntervalJoin<T, KeySelector, U, KS2>(*this, other);
}

}  // namespace sluice
