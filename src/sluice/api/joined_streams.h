#pragma once

// Window join and coGroup of two streams (Flink's JoinedStreams and CoGroupedStreams):
//
//   a.join(b).where(keyA).equalTo(keyB).window(assigner).apply(joinFn);
//   a.coGroup(b).where(keyA).equalTo(keyB).window(assigner).apply(coGroupFn);
//
// Built as Flink builds them, from existing parts: each input is tagged into a
// TaggedUnion<T1, T2> (std::variant) by a map, the two tagged streams are unioned, keyed by the
// key of either side and windowed by the assigner; a ProcessWindowFunction splits each
// window's elements by side and calls the user function. Results carry the window's
// maxTimestamp(). The window assigner, trigger and evictor therefore work on
// TaggedUnion<T1, T2>, e.g. TumblingEventTimeWindows::of<TaggedUnion<T1, T2>>(size).
// Program construction is single-threaded, as for all of the DataStream API.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/api/windowed_stream.h"
#include "sluice/core/variant_serializer.h"

namespace sluice {

/// An element of either input of a window join or coGroup: alternative 0 holds an element of
/// the first input, alternative 1 one of the second (Flink's CoGroupedStreams.TaggedUnion).
/// Window assigners, triggers and evictors of a join or coGroup see this type.
template <typename T1, typename T2>
using TaggedUnion = std::variant<T1, T2>;

/// join(): one result per pair of elements of the same key and window (Flink's JoinFunction).
/// Lambdas `OUT(const IN1&, const IN2&)` work as well.
template <typename IN1, typename IN2, typename OUT>
class RichJoinFunction : public RichFunction {
 public:
  using OutputType = OUT;
  virtual OUT join(const IN1& first, const IN2& second) = 0;
};

/// join(): any number of results per pair (Flink's FlatJoinFunction). Lambdas
/// `void(const IN1&, const IN2&, Collector<OUT>&)` work as well.
template <typename IN1, typename IN2, typename OUT>
class RichFlatJoinFunction : public RichFunction {
 public:
  using OutputType = OUT;
  virtual void join(const IN1& first, const IN2& second, Collector<OUT>& out) = 0;
};

/// coGroup(): all elements of one key and window, by input (Flink's CoGroupFunction); called
/// when at least one of the two is not empty. Lambdas
/// `void(const std::vector<IN1>&, const std::vector<IN2>&, Collector<OUT>&)` work as well.
template <typename IN1, typename IN2, typename OUT>
class RichCoGroupFunction : public RichFunction {
 public:
  using OutputType = OUT;
  virtual void coGroup(const std::vector<IN1>& first, const std::vector<IN2>& second,
                       Collector<OUT>& out) = 0;
};

namespace detail {

/// Parameters of a member function pointer.
template <typename M>
struct MemberSignature;
template <typename C, typename R, typename... As>
struct MemberSignature<R (C::*)(As...)> {
  using Args = std::tuple<As...>;
};
template <typename C, typename R, typename... As>
struct MemberSignature<R (C::*)(As...) const> : MemberSignature<R (C::*)(As...)> {};
template <typename C, typename R, typename... As>
struct MemberSignature<R (C::*)(As...) noexcept> : MemberSignature<R (C::*)(As...)> {};
template <typename C, typename R, typename... As>
struct MemberSignature<R (C::*)(As...) const noexcept> : MemberSignature<R (C::*)(As...)> {};

template <typename A>
struct CollectorOutput {
  using type = void;
};
template <typename OUT>
struct CollectorOutput<Collector<OUT>&> {
  using type = OUT;
};

/// OUT when the last parameter of member function M is Collector<OUT>&, else void.
template <typename M>
auto lastCollectorOutput() {
  using Args = typename MemberSignature<M>::Args;
  if constexpr (std::tuple_size_v<Args> == 0) {
    return std::type_identity<void>{};
  } else {
    return std::type_identity<
        typename CollectorOutput<std::tuple_element_t<std::tuple_size_v<Args> - 1, Args>>::type>{};
  }
}
template <typename M>
using LastCollectorOutput = typename decltype(lastCollectorOutput<M>())::type;

/// Output type of a coGroup function: explicit OUT, F::OutputType, or the Collector<OUT>&
/// parameter of coGroup() / operator(); void when it cannot be told (generic lambdas).
template <typename OUT, typename F>
auto coGroupOutput() {
  if constexpr (!std::is_void_v<OUT>) {
    return std::type_identity<OUT>{};
  } else if constexpr (requires { typename F::OutputType; }) {
    return std::type_identity<typename F::OutputType>{};
  } else if constexpr (requires { &F::coGroup; }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::coGroup)>>{};
  } else if constexpr (requires { &F::operator(); }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::operator())>>{};
  } else {
    return std::type_identity<void>{};
  }
}

/// Output type of a join function: explicit OUT, F::OutputType, the result of
/// join(a, b) / fn(a, b), or the Collector<OUT>& parameter of a flat join function.
template <typename OUT, typename F, typename T1, typename T2>
auto joinOutput() {
  if constexpr (!std::is_void_v<OUT>) {
    return std::type_identity<OUT>{};
  } else if constexpr (requires { typename F::OutputType; }) {
    return std::type_identity<typename F::OutputType>{};
  } else if constexpr (requires(F & f, const T1& a, const T2& b) { f.join(a, b); }) {
    return std::type_identity<std::decay_t<decltype(std::declval<F&>().join(
        std::declval<const T1&>(), std::declval<const T2&>()))>>{};
  } else if constexpr (requires { &F::join; }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::join)>>{};
  } else if constexpr (std::is_invocable_v<F&, const T1&, const T2&>) {
    return std::type_identity<std::decay_t<std::invoke_result_t<F&, const T1&, const T2&>>>{};
  } else if constexpr (requires { &F::operator(); }) {
    return std::type_identity<LastCollectorOutput<decltype(&F::operator())>>{};
  } else {
    return std::type_identity<void>{};
  }
}

/// Calls a join function on one pair: flat (with a collector) or returning the result.
template <typename F, typename T1, typename T2, typename OUT>
void invokeJoin(F& fn, const T1& first, const T2& second, Collector<OUT>& out) {
  if constexpr (requires { fn.join(first, second, out); }) {
    fn.join(first, second, out);
  } else if constexpr (requires { fn.join(first, second); }) {
    out.collect(fn.join(first, second));
  } else if constexpr (std::is_invocable_v<F&, const T1&, const T2&, Collector<OUT>&>) {
    fn(first, second, out);
  } else {
    out.collect(fn(first, second));
  }
}

template <typename F, typename T1, typename T2, typename OUT>
void invokeCoGroup(F& fn, const std::vector<T1>& first, const std::vector<T2>& second,
                   Collector<OUT>& out) {
  if constexpr (requires { fn.coGroup(first, second, out); }) {
    fn.coGroup(first, second, out);
  } else {
    fn(first, second, out);
  }
}

/// Wraps an element of input I into the tagged union (Flink's Input1Tagger / Input2Tagger).
template <typename Tagged, size_t I>
struct TagInput {
  template <typename T>
  Tagged operator()(const T& value) const {
    return Tagged(std::in_place_index<I>, value);
  }
};

/// The key of a tagged element: the first or the second input's key selector (Flink's
/// UnionKeySelector).
template <typename T1, typename T2, typename KS1, typename KS2>
struct UnionKeySelector {
  using Key = std::decay_t<std::invoke_result_t<KS1&, const T1&>>;
  mutable KS1 keySelector1;
  mutable KS2 keySelector2;
  Key operator()(const TaggedUnion<T1, T2>& value) const {
    if (value.index() == 0) return Key(keySelector1(std::get<0>(value)));
    return Key(keySelector2(std::get<1>(value)));
  }
};

/// Splits a window's tagged elements by input and calls the coGroup function (Flink's
/// CoGroupWindowFunction).
template <typename T1, typename T2, typename K, typename W, typename OUT, typename F>
class CoGroupWindowFunction final : public ProcessWindowFunction<TaggedUnion<T1, T2>, OUT, K, W> {
 public:
  using Base = ProcessWindowFunction<TaggedUnion<T1, T2>, OUT, K, W>;
  explicit CoGroupWindowFunction(F fn) : fn_(std::move(fn)) {}
  void open(RuntimeContext& context) override { openFunction(fn_, context); }
  void close() override { closeFunction(fn_); }
  void process(const K&, typename Base::Context&, const std::vector<TaggedUnion<T1, T2>>& elements,
               Collector<OUT>& out) override {
    first_.clear();
    second_.clear();
    for (const auto& e : elements) {
      if (e.index() == 0) {
        first_.push_back(std::get<0>(e));
      } else {
        second_.push_back(std::get<1>(e));
      }
    }
    // An evictor may have removed everything: then there is no group to call for.
    if (!first_.empty() || !second_.empty()) invokeCoGroup(fn_, first_, second_, out);
    first_.clear();
    second_.clear();
  }

 private:
  F fn_;
  std::vector<T1> first_;
  std::vector<T2> second_;
};

/// The coGroup function of a join: the join function on every pair (Flink's
/// JoinCoGroupFunction / FlatJoinCoGroupFunction), an inner join.
template <typename F>
struct JoinCoGroupFunction : RichFunction {
  explicit JoinCoGroupFunction(F f) : fn(std::move(f)) {}
  void open(RuntimeContext& context) override { openFunction(fn, context); }
  void close() override { closeFunction(fn); }
  template <typename T1, typename T2, typename OUT>
  void coGroup(const std::vector<T1>& first, const std::vector<T2>& second, Collector<OUT>& out) {
    for (const T1& a : first) {
      for (const T2& b : second) invokeJoin(fn, a, b, out);
    }
  }
  F fn;
};

/// Tags `input` with alternative I of Tagged, at the parallelism of the input's operator when
/// it has one (as Flink, so that the tagger chains to it).
template <typename Tagged, size_t I, typename T>
DataStream<Tagged> tagInput(const DataStream<T>& input) {
  SingleOutputStreamOperator<Tagged> tagged = input.map(TagInput<Tagged, I>{});
  const auto& ups = input.upstreams();
  if (ups.size() == 1) {
    const StreamNode& node = input.getExecutionEnvironment().streamGraph().node(ups[0].nodeId);
    if (node.parallelismFixed) {
      tagged.setParallelism(1);
    } else if (node.parallelism > 0) {
      tagged.setParallelism(node.parallelism);
    }
  }
  return tagged;
}

inline void checkSameEnvironment(const StreamExecutionEnvironment& a,
                                 const StreamExecutionEnvironment& b, const char* what) {
  if (&a != &b) {
    throw ConfigurationException(std::string("cannot ") + what +
                                 " streams of different execution environments");
  }
}

}  // namespace detail

/// Two streams to be co-grouped by key and window (Flink's CoGroupedStreams): choose the keys
/// with where()/equalTo(), the windows with window(), then apply() a coGroup function that
/// receives, per key and window, all elements of both inputs (when at least one has some).
template <typename T1, typename T2>
class CoGroupedStreams {
 public:
  /// What the window assigner, trigger and evictor see.
  using Element = TaggedUnion<T1, T2>;

  CoGroupedStreams(DataStream<T1> input1, DataStream<T2> input2)
      : input1_(std::move(input1)), input2_(std::move(input2)) {
    detail::checkSameEnvironment(input1_.getExecutionEnvironment(),
                                 input2_.getExecutionEnvironment(), "coGroup");
  }

  template <typename KS1, typename KS2, typename W>
  class WithWindow;

  /// The key of the second input; must be of the same type as the first's.
  template <typename KS1>
  class Where {
   public:
    Where(const CoGroupedStreams& streams, KS1 keySelector1)
        : streams_(streams), keySelector1_(std::move(keySelector1)) {}

    template <typename KS2>
    class EqualTo {
     public:
      EqualTo(const Where& where, KS2 keySelector2)
          : where_(where), keySelector2_(std::move(keySelector2)) {}
      /// The windows, by an untyped assigner (e.g. TumblingEventTimeWindows::of(5s)).
      template <typename W>
      WithWindow<KS1, KS2, W> window(const AnyTypeAssigner<W>& assigner) const {
        return window(assigner.template forType<Element>());
      }
      /// The windows, by an assigner over TaggedUnion<T1, T2> (e.g.
      /// TumblingEventTimeWindows::of<TaggedUnion<T1, T2>>(std::chrono::seconds(5))).
      template <typename E, typename W>
      WithWindow<KS1, KS2, W> window(std::shared_ptr<const WindowAssigner<E, W>> assigner) const {
        static_assert(std::is_same_v<E, Element>,
                      "the window assigner of a join or coGroup must be one for the tagged "
                      "union of both inputs, e.g. TumblingEventTimeWindows::of<TaggedUnion<T1, "
                      "T2>>(size)");
        return WithWindow<KS1, KS2, W>(where_.streams_.input1_, where_.streams_.input2_,
                                       where_.keySelector1_, keySelector2_, std::move(assigner));
      }

     private:
      Where where_;
      KS2 keySelector2_;
    };

    /// The key of the second input's elements; its type must equal the first key's.
    template <typename KS2>
    EqualTo<KS2> equalTo(KS2 keySelector2) const {
      static_assert(std::is_same_v<std::decay_t<std::invoke_result_t<KS1&, const T1&>>,
                                   std::decay_t<std::invoke_result_t<KS2&, const T2&>>>,
                    "where() and equalTo() key selectors must return the same key type");
      return EqualTo<KS2>(*this, std::move(keySelector2));
    }

   private:
    CoGroupedStreams streams_;
    KS1 keySelector1_;
  };

  /// The key of the first input's elements (needs a KeyHash, see key_groups.h).
  template <typename KS1>
  Where<KS1> where(KS1 keySelector1) const {
    return Where<KS1>(*this, std::move(keySelector1));
  }

  /// Co-grouped streams with their windows; optionally set a trigger, an evictor and allowed
  /// lateness as on a WindowedStream, then apply() the function.
  template <typename KS1, typename KS2, typename W>
  class WithWindow {
   public:
    using Key = std::decay_t<std::invoke_result_t<KS1&, const T1&>>;

    WithWindow(DataStream<T1> input1, DataStream<T2> input2, KS1 keySelector1, KS2 keySelector2,
               std::shared_ptr<const WindowAssigner<Element, W>> assigner)
        : input1_(std::move(input1)),
          input2_(std::move(input2)),
          keySelector1_(std::move(keySelector1)),
          keySelector2_(std::move(keySelector2)),
          assigner_(std::move(assigner)) {}

    /// Replaces the assigner's default trigger (Flink's WithWindow#trigger).
    WithWindow& trigger(std::shared_ptr<const Trigger<Element, W>> trigger) {
      trigger_ = std::move(trigger);
      return *this;
    }
    /// Removes elements of a window before/after the function (Flink's WithWindow#evictor).
    WithWindow& evictor(std::shared_ptr<Evictor<Element, W>> evictor) {
      evictor_ = std::move(evictor);
      return *this;
    }
    /// How long after a window's end late elements still update it, and fire it again (event
    /// time only). Throws ConfigurationException when negative.
    WithWindow& allowedLateness(std::chrono::milliseconds lateness) {
      if (lateness.count() < 0) {
        throw ConfigurationException("allowed lateness must not be negative");
      }
      allowedLateness_ = lateness;
      return *this;
    }

    /// Calls `fn(const std::vector<T1>&, const std::vector<T2>&, Collector<OUT>&)` (or a
    /// RichCoGroupFunction) once per key and window in which at least one input has elements.
    /// OUT comes from the Collector parameter or F::OutputType, or explicitly as apply<OUT>(fn).
    template <typename OUT = void, typename F>
    auto apply(F fn) const {
      using O = typename decltype(detail::coGroupOutput<OUT, F>())::type;
      static_assert(!std::is_void_v<O>,
                    "cannot tell the coGroup function's output type: call apply<OUT>(fn)");
      return build<O>(std::move(fn), "Window(CoGroup)");
    }

   private:
    template <typename, typename>
    friend class JoinedStreams;

    template <typename OUT, typename F>
    SingleOutputStreamOperator<OUT> build(F fn, const std::string& name) const {
      using Selector = detail::UnionKeySelector<T1, T2, KS1, KS2>;
      DataStream<Element> tagged1 = detail::tagInput<Element, 0>(input1_);
      DataStream<Element> tagged2 = detail::tagInput<Element, 1>(input2_);
      KeyedStream<Element, Selector> keyed =
          tagged1.union_(tagged2).keyBy(Selector{keySelector1_, keySelector2_});
      WindowedStream<Element, Selector, W> windowed = keyed.window(assigner_);
      if (trigger_) windowed.trigger(trigger_);
      if (evictor_) windowed.evictor(evictor_);
      if (allowedLateness_) windowed.allowedLateness(*allowedLateness_);
      SingleOutputStreamOperator<OUT> result =
          windowed.process(detail::CoGroupWindowFunction<T1, T2, Key, W, OUT, F>(std::move(fn)));
      result.name(name);
      return result;
    }

    DataStream<T1> input1_;
    DataStream<T2> input2_;
    KS1 keySelector1_;
    KS2 keySelector2_;
    std::shared_ptr<const WindowAssigner<Element, W>> assigner_;
    std::shared_ptr<const Trigger<Element, W>> trigger_;
    std::shared_ptr<Evictor<Element, W>> evictor_;
    std::optional<std::chrono::milliseconds> allowedLateness_;
  };

 private:
  DataStream<T1> input1_;
  DataStream<T2> input2_;
};

/// Two streams to be joined by key and window (Flink's JoinedStreams): an inner join that
/// calls the join function for every pair of elements with equal keys in the same window.
/// Implemented as a coGroup whose function loops over the pairs, as Flink's.
template <typename T1, typename T2>
class JoinedStreams {
 public:
  /// What the window assigner, trigger and evictor see.
  using Element = TaggedUnion<T1, T2>;

  JoinedStreams(DataStream<T1> input1, DataStream<T2> input2)
      : coGrouped_(std::move(input1), std::move(input2)) {}

  /// Joined streams with their windows; optionally set a trigger, an evictor and allowed
  /// lateness, then apply() the join function.
  template <typename KS1, typename KS2, typename W>
  class WithWindow {
   public:
    explicit WithWindow(typename CoGroupedStreams<T1, T2>::template WithWindow<KS1, KS2, W> inner)
        : inner_(std::move(inner)) {}

    /// Replaces the assigner's default trigger.
    WithWindow& trigger(std::shared_ptr<const Trigger<Element, W>> trigger) {
      inner_.trigger(std::move(trigger));
      return *this;
    }
    /// Removes elements of a window before/after the join.
    WithWindow& evictor(std::shared_ptr<Evictor<Element, W>> evictor) {
      inner_.evictor(std::move(evictor));
      return *this;
    }
    /// How long after a window's end late elements still update it (event time only). Throws
    /// ConfigurationException when negative.
    WithWindow& allowedLateness(std::chrono::milliseconds lateness) {
      inner_.allowedLateness(lateness);
      return *this;
    }

    /// Calls the join function for every pair (first, second) of the same key and window:
    /// `OUT fn(const T1&, const T2&)` (Flink's JoinFunction, or a RichJoinFunction) or
    /// `void fn(const T1&, const T2&, Collector<OUT>&)` (FlatJoinFunction). Results carry the
    /// window's maxTimestamp(). OUT may be given explicitly as apply<OUT>(fn).
    template <typename OUT = void, typename F>
    auto apply(F fn) const {
      using O = typename decltype(detail::joinOutput<OUT, F, T1, T2>())::type;
      static_assert(!std::is_void_v<O>,
                    "cannot tell the join function's output type: call apply<OUT>(fn)");
      return inner_.template build<O>(detail::JoinCoGroupFunction<F>(std::move(fn)),
                                      "Window(Join)");
    }

   private:
    typename CoGroupedStreams<T1, T2>::template WithWindow<KS1, KS2, W> inner_;
  };

  /// The key of the second input; must be of the same type as the first's.
  template <typename KS1>
  class Where {
   public:
    explicit Where(typename CoGroupedStreams<T1, T2>::template Where<KS1> inner)
        : inner_(std::move(inner)) {}

    template <typename KS2>
    class EqualTo {
     public:
      using Inner = typename CoGroupedStreams<T1, T2>::template Where<KS1>::template EqualTo<KS2>;
      explicit EqualTo(Inner inner) : inner_(std::move(inner)) {}
      /// The windows, by an untyped assigner (e.g. TumblingEventTimeWindows::of(5s)).
      template <typename W>
      WithWindow<KS1, KS2, W> window(const AnyTypeAssigner<W>& assigner) const {
        return window(assigner.template forType<Element>());
      }
      /// The windows, by an assigner over TaggedUnion<T1, T2> (e.g.
      /// SlidingEventTimeWindows::of<TaggedUnion<T1, T2>>(size, slide)).
      template <typename E, typename W>
      WithWindow<KS1, KS2, W> window(std::shared_ptr<const WindowAssigner<E, W>> assigner) const {
        return WithWindow<KS1, KS2, W>(inner_.window(std::move(assigner)));
      }

     private:
      Inner inner_;
    };

    /// The key of the second input's elements; its type must equal the first key's.
    template <typename KS2>
    EqualTo<KS2> equalTo(KS2 keySelector2) const {
      return EqualTo<KS2>(inner_.equalTo(std::move(keySelector2)));
    }

   private:
    typename CoGroupedStreams<T1, T2>::template Where<KS1> inner_;
  };

  /// The key of the first input's elements (needs a KeyHash, see key_groups.h).
  template <typename KS1>
  Where<KS1> where(KS1 keySelector1) const {
    return Where<KS1>(coGrouped_.where(std::move(keySelector1)));
  }

 private:
  CoGroupedStreams<T1, T2> coGrouped_;
};

// ---- the DataStream entry points ------------------------------------------------------------

template <typename T>
template <typename U>
JoinedStreams<T, U> DataStream<T>::join(const DataStream<U>& other) const {
  return JoinedStreams<T, U>(*this, other);
}

template <typename T>
template <typename U>
CoGroupedStreams<T, U> DataStream<T>::coGroup(const DataStream<U>& other) const {
  return CoGroupedStreams<T, U>(*this, other);
}

}  // namespace sluice
