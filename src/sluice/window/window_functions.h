#pragma once

#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/api/common/runtime_context.h"
#include "sluice/state/keyed_state_store.h"

namespace sluice {

/// Incremental aggregation (Flink's AggregateFunction): an accumulator per window, to which
/// elements are added one at a time; merge() combines two (session windows, sliding panes).
template <typename IN, typename ACC, typename OUT>
class AggregateFunction {
 public:
  using InputType = IN;
  using AccumulatorType = ACC;
  using OutputType = OUT;
  virtual ~AggregateFunction() = default;
  virtual ACC createAccumulator() = 0;
  virtual ACC add(const IN& value, ACC accumulator) = 0;
  virtual OUT getResult(const ACC& accumulator) = 0;
  virtual ACC merge(ACC a, ACC b) = 0;
};

/// Context of a ProcessWindowFunction call (Flink's ProcessWindowFunction.Context).
template <typename KEY, typename W>
class ProcessWindowContext {
 public:
  virtual ~ProcessWindowContext() = default;
  virtual const W& window() const = 0;
  virtual Timestamp currentProcessingTime() const = 0;
  virtual Timestamp currentWatermark() const = 0;
  /// State of the current key scoped to this window; cleared when the window is purged for good
  /// (call it from clear()).
  virtual KeyedStateStore<KEY, W>& windowState() = 0;
  /// State of the current key across all its windows.
  virtual KeyedStateStore<KEY, VoidNamespace>& globalState() = 0;
  /// Emits to side output `tag` (dropped when nothing consumes it).
  template <typename X>
  void output(const OutputTag<X>& tag, const X& value) {
    if (auto* out = static_cast<Output<X>*>(sideOutput(tag.id))) {
      out->collect(value, window().maxTimestamp());
    }
  }

 protected:
  virtual OutputBase* sideOutput(const std::string& tagId) = 0;
};

/// Processes all elements of a window at once, with its metadata (Flink's
/// ProcessWindowFunction). Combined with reduce or aggregate, `elements` holds the one
/// pre-aggregated value. Results carry the window's maxTimestamp() as timestamp.
template <typename IN, typename OUT, typename KEY, typename W>
class ProcessWindowFunction : public RichFunction {
 public:
  using InputType = IN;
  using OutputType = OUT;
  using Context = ProcessWindowContext<KEY, W>;
  virtual void process(const KEY& key, Context& context, const std::vector<IN>& elements,
                       Collector<OUT>& out) = 0;
  /// Called when the window is purged for good: release per-window state here.
  virtual void clear(Context& context) { (void)context; }
};

}  // namespace sluice
