#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "sluice/runtime/operators.h"
#include "sluice/window/evictors.h"
#include "sluice/window/window_operator.h"

namespace sluice::windowing {

// Contents policies: what a window keeps (see WindowOperator).

/// Incremental reduce: the running reduction (Flink's ReducingState).
template <typename T, typename F>
struct ReduceContents {
  using Acc = std::optional<T>;
  F fn;
  Acc create() { return std::nullopt; }
  void add(Acc& acc, const T& value, Timestamp) {
    if (acc) {
      acc = detail::invokeReduce(fn, *acc, value);
    } else {
      acc = value;
    }
  }
  void merge(Acc& into, Acc&& from) {
    if (!from) return;
    if (into) {
      into = detail::invokeReduce(fn, *into, *from);
    } else {
      into = std::move(from);
    }
  }
};

/// Incremental aggregation: one accumulator (Flink's AggregatingState).
template <typename T, typename F>
struct AggregateContents {
  using Acc = std::decay_t<decltype(std::declval<F&>().createAccumulator())>;
  F fn;
  Acc create() { return fn.createAccumulator(); }
  void add(Acc& acc, const T& value, Timestamp) { acc = fn.add(value, std::move(acc)); }
  void merge(Acc& into, Acc&& from) { into = fn.merge(std::move(into), std::move(from)); }
};

/// All elements (Flink's ListState), for process functions without pre-aggregation.
template <typename T>
struct ListContents {
  using Acc = std::vector<T>;
  Acc create() { return {}; }
  void add(Acc& acc, const T& value, Timestamp) { acc.push_back(value); }
  void merge(Acc& into, Acc&& from) {
    into.insert(into.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
  }
};

/// All elements with their timestamps, for evictors.
template <typename T>
struct TimestampedListContents {
  using Acc = std::vector<TimestampedValue<T>>;
  Acc create() { return {}; }
  void add(Acc& acc, const T& value, Timestamp ts) { acc.push_back({value, ts}); }
  bool isEmpty(const Acc& acc) const { return acc.empty(); }
  void merge(Acc& into, Acc&& from) {
    into.insert(into.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
  }
};

// Emitters: what a firing window emits.

template <typename F>
void openUdf(F& fn, RuntimeContext& ctx) {
  detail::openFunction(fn, ctx);
}

/// Emits the reduction itself.
struct ReduceResultEmitter {
  void open(RuntimeContext&) {}
  void close() {}
  template <typename Ctx>
  void clear(Ctx&) {}
  template <typename Ctx, typename T, typename OUT>
  void emit(Ctx&, std::optional<T>& acc, Collector<OUT>& out) {
    if (acc) out.collect(*acc);
  }
};

/// Emits getResult(accumulator).
template <typename F>
struct AggregateResultEmitter {
  F fn;
  void open(RuntimeContext& ctx) { openUdf(fn, ctx); }
  void close() { detail::closeFunction(fn); }
  template <typename Ctx>
  void clear(Ctx&) {}
  template <typename Ctx, typename Acc, typename OUT>
  void emit(Ctx&, Acc& acc, Collector<OUT>& out) {
    out.collect(fn.getResult(acc));
  }
};

/// Hands the window's values to a ProcessWindowFunction; `Project` turns the contents into
/// the vector of values it receives (the one pre-aggregated value, or all elements).
template <typename PWF, typename Project>
struct ProcessEmitter {
  PWF fn;
  Project project;
  using IN = typename PWF::InputType;
  std::vector<IN> values;
  void open(RuntimeContext& ctx) {
    openUdf(fn, ctx);
    project.open(ctx);
  }
  void close() {
    fn.close();
    project.close();
  }
  template <typename Ctx>
  void clear(Ctx& ctx) {
    fn.clear(ctx);
  }
  template <typename Ctx, typename Acc, typename OUT>
  void emit(Ctx& ctx, Acc& acc, Collector<OUT>& out) {
    if constexpr (std::is_same_v<Acc, std::vector<IN>>) {
      fn.process(ctx.key(), ctx, acc, out);
    } else {
      values.clear();
      if (project(acc, values)) fn.process(ctx.key(), ctx, values, out);
    }
  }
};

/// Project for ProcessEmitter after reduce: the reduction, if any.
struct ProjectReduction {
  void open(RuntimeContext&) {}
  void close() {}
  template <typename T>
  bool operator()(std::optional<T>& acc, std::vector<T>& values) {
    if (!acc) return false;
    values.push_back(*acc);
    return true;
  }
};

/// Project for ProcessEmitter after aggregate: getResult(accumulator).
template <typename F>
struct ProjectAggregate {
  F fn;
  void open(RuntimeContext& ctx) { openUdf(fn, ctx); }
  void close() { detail::closeFunction(fn); }
  template <typename Acc, typename V>
  bool operator()(Acc& acc, std::vector<V>& values) {
    values.push_back(fn.getResult(acc));
    return true;
  }
};

/// Evicts from the timestamped elements, folds what remains with `Fold` (a contents policy)
/// and emits with `Inner` (Flink's EvictingWindowOperator).
template <typename T, typename W, typename Fold, typename Inner>
struct EvictingEmitter {
  std::shared_ptr<Evictor<T, W>> evictor;
  Fold fold;
  Inner inner;
  EvictingEmitter(std::shared_ptr<Evictor<T, W>> e, Fold f, Inner i)
      : evictor(std::move(e)), fold(std::move(f)), inner(std::move(i)) {}
  /// A copy evicts with a clone of the evictor: each operator instance (parallel subtask) has
  /// its own.
  EvictingEmitter(const EvictingEmitter& other)
      : evictor(other.evictor->clone()), fold(other.fold), inner(other.inner) {}
  EvictingEmitter(EvictingEmitter&&) noexcept = default;
  EvictingEmitter& operator=(const EvictingEmitter&) = delete;
  EvictingEmitter& operator=(EvictingEmitter&&) noexcept = default;
  void open(RuntimeContext& ctx) { inner.open(ctx); }
  void close() { inner.close(); }
  template <typename Ctx>
  void clear(Ctx& ctx) {
    inner.clear(ctx);
  }
  template <typename Ctx, typename OUT>
  void emit(Ctx& ctx, std::vector<TimestampedValue<T>>& elements, Collector<OUT>& out) {
    evictor->evictBefore(elements, ctx.window(), ctx.currentWatermark());
    auto acc = fold.create();
    for (const auto& e : elements) fold.add(acc, e.value, e.timestamp);
    inner.emit(ctx, acc, out);
    evictor->evictAfter(elements, ctx.window(), ctx.currentWatermark());
  }
};

}  // namespace sluice::windowing
