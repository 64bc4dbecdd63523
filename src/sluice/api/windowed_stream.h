#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sluice/api/data_stream.h"
#include "sluice/window/sliced_window_operator.h"
#include "sluice/window/window_contents.h"

namespace sluice {

/// A keyed stream cut into windows (Flink's WindowedStream): set the trigger, evictor, allowed
/// lateness and late-data side output, then reduce, aggregate or process each window. Results
/// carry the window's maxTimestamp() as their timestamp.
template <typename T, typename KeySelector, typename W>
class WindowedStream {
 public:
  using K = typename KeyedStream<T, KeySelector>::KeyType;

  WindowedStream(KeyedStream<T, KeySelector> input,
                 std::shared_ptr<const WindowAssigner<T, W>> assigner, bool nonParallel = false)
      : input_(std::move(input)), nonParallel_(nonParallel) {
    spec_.assigner = std::move(assigner);
  }

  /// Replaces the assigner's default trigger.
  WindowedStream& trigger(std::shared_ptr<const Trigger<T, W>> trigger) {
    if (spec_.assigner->isMerging() && !trigger->canMerge()) {
      throw ConfigurationException(
          "A merging window assigner cannot be used with a trigger "
          "that does not support merging.");
    }
    spec_.trigger = std::move(trigger);
    return *this;
  }
  /// Removes elements before/after the window function (the window then keeps every element).
  WindowedStream& evictor(std::shared_ptr<Evictor<T, W>> evictor) {
    spec_.evictor = std::move(evictor);
    return *this;
  }
  /// How long after a window's end late elements still update it (event time only).
  WindowedStream& allowedLateness(std::chrono::milliseconds lateness) {
    if (lateness.count() < 0) throw ConfigurationException("allowed lateness must not be negative");
    spec_.allowedLatenessMillis = lateness.count();
    return *this;
  }
  /// Elements too late for any window go to `tag` instead of being dropped.
  WindowedStream& sideOutputLateData(const OutputTag<T>& tag) {
    spec_.lateDataTag = tag.id;
    return *this;
  }

  /// Incremental reduce; emits the reduction of each window.
  template <typename F>
  SingleOutputStreamOperator<T> reduce(F fn) const {
    return build<T>("Window(Reduce)", windowing::ReduceContents<T, F>{fn},
                    windowing::ReduceResultEmitter{});
  }
  /// Incremental reduce, then `process` with the one reduced value and the window's metadata.
  template <typename F, typename PWF>
  SingleOutputStreamOperator<typename PWF::OutputType> reduce(F fn, PWF process) const {
    using Emitter = windowing::ProcessEmitter<PWF, windowing::ProjectReduction>;
    return build<typename PWF::OutputType>(
        "Window(Reduce, Process)", windowing::ReduceContents<T, F>{fn}, Emitter{process, {}, {}});
  }
  /// Incremental aggregation (only the accumulator is stored per window).
  template <typename AggF>
  SingleOutputStreamOperator<typename AggF::OutputType> aggregate(AggF fn) const {
    return build<typename AggF::OutputType>("Window(Aggregate)",
                                            windowing::AggregateContents<T, AggF>{fn},
                                            windowing::AggregateResultEmitter<AggF>{fn});
  }
  /// Incremental aggregation, then `process` with the one result and the window's metadata.
  template <typename AggF, typename PWF>
  SingleOutputStreamOperator<typename PWF::OutputType> aggregate(AggF fn, PWF process) const {
    using Emitter = windowing::ProcessEmitter<PWF, windowing::ProjectAggregate<AggF>>;
    return build<typename PWF::OutputType>("Window(Aggregate, Process)",
                                           windowing::AggregateContents<T, AggF>{fn},
                                           Emitter{process, {fn}, {}});
  }
  /// All elements of each window at once.
  template <typename PWF>
  SingleOutputStreamOperator<typename PWF::OutputType> process(PWF process) const {
    using Emitter = windowing::ProcessEmitter<PWF, windowing::ProjectReduction>;
    return build<typename PWF::OutputType>("Window(Process)", windowing::ListContents<T>{},
                                           Emitter{process, {}, {}});
  }

 private:
  template <typename OUT, typename Contents, typename Emitter>
  SingleOutputStreamOperator<OUT> build(const std::string& name, Contents contents,
                                        Emitter emitter) const {
    auto ks = input_.getKeySelector();
    WindowSpec<T, W> spec = spec_;
    SingleOutputStreamOperator<OUT> result = [&] {
      if constexpr (std::is_same_v<W, TimeWindow> &&
                    !std::is_same_v<Contents, windowing::ListContents<T>>) {
        // Tumbling and sliding event-time windows with incremental aggregation run on slices.
        auto* sliding = dynamic_cast<const detail::SlidingWindows<T, true>*>(spec.assigner.get());
        if (sliding != nullptr && !spec.evictor && !spec.trigger &&
            spec.allowedLatenessMillis == 0) {
          int64_t size = sliding->size(), slide = sliding->slide(), offset = sliding->offset();
          std::string late = spec.lateDataTag;
          return input_.template transform<OUT>(
              name, [size, slide, offset, late, ks, contents, emitter] {
                return std::make_unique<
                    SlicedWindowOperator<K, T, OUT, KeySelector, Contents, Emitter>>(
                    size, slide, offset, late, ks, contents, emitter);
              });
        }
      }
      if (spec.evictor) {
        // With an evictor every element is kept, and the function folds what remains.
        using E = windowing::EvictingEmitter<T, W, Contents, Emitter>;
        E evicting{spec.evictor, contents, emitter};
        return input_.template transform<OUT>(name, [spec, ks, evicting] {
          return std::make_unique<
              WindowOperator<K, T, OUT, W, KeySelector, windowing::TimestampedListContents<T>, E>>(
              spec, ks, windowing::TimestampedListContents<T>{}, evicting);
        });
      }
      return input_.template transform<OUT>(name, [spec, ks, contents, emitter] {
        return std::make_unique<WindowOperator<K, T, OUT, W, KeySelector, Contents, Emitter>>(
            spec, ks, contents, emitter);
      });
    }();
    if (nonParallel_) result.setParallelism(1);
    return result;
  }

  KeyedStream<T, KeySelector> input_;
  WindowSpec<T, W> spec_;
  bool nonParallel_;
};

/// The key of windowAll(): every element has the same one (Flink's NullByteKeySelector).
template <typename T>
struct NullByteKeySelector {
  uint8_t operator()(const T&) const { return 0; }
};

// ---- definitions of the KeyedStream/DataStream entry points --------------------------------

template <typename T, typename KeySelector>
template <typename W>
WindowedStream<T, KeySelector, W> KeyedStream<T, KeySelector>::window(
    std::shared_ptr<const WindowAssigner<T, W>> assigner) const {
  return WindowedStream<T, KeySelector, W>(*this, std::move(assigner));
}

template <typename T, typename KeySelector>
WindowedStream<T, KeySelector, GlobalWindow> KeyedStream<T, KeySelector>::countWindow(
    int64_t size) const {
  WindowedStream<T, KeySelector, GlobalWindow> w(*this, GlobalWindows::create<T>());
  w.trigger(std::shared_ptr<const Trigger<T, GlobalWindow>>(
      PurgingTrigger<T, GlobalWindow>::of(CountTrigger<T, GlobalWindow>::of(size))));
  return w;
}

template <typename T, typename KeySelector>
WindowedStream<T, KeySelector, GlobalWindow> KeyedStream<T, KeySelector>::countWindow(
    int64_t size, int64_t slide) const {
  WindowedStream<T, KeySelector, GlobalWindow> w(*this, GlobalWindows::create<T>());
  w.evictor(CountEvictor<T, GlobalWindow>::of(size));
  w.trigger(
      std::shared_ptr<const Trigger<T, GlobalWindow>>(CountTrigger<T, GlobalWindow>::of(slide)));
  return w;
}

template <typename T>
template <typename W>
WindowedStream<T, NullByteKeySelector<T>, W> DataStream<T>::windowAll(
    const AnyTypeAssigner<W>& assigner) const {
  return windowAll(assigner.template forType<T>());
}

template <typename T>
template <typename W>
WindowedStream<T, NullByteKeySelector<T>, W> DataStream<T>::windowAll(
    std::shared_ptr<const WindowAssigner<T, W>> assigner) const {
  return WindowedStream<T, NullByteKeySelector<T>, W>(keyBy(NullByteKeySelector<T>{}),
                                                      std::move(assigner), true);
}

}  // namespace sluice
