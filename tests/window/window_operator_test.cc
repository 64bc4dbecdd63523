// WindowOperator under the operator harness: event-time and processing-time windows, session
// merging, every built-in trigger and evictor, window functions and their context, allowed
// lateness and the late-data side output. Expected values follow Flink's WindowOperator,
// EvictingWindowOperator and MergingWindowSet.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "sluice/testing/operator_harness.h"
#include "sluice/window/window_contents.h"
#include "sluice/window/window_operator.h"
#include "window/window_test_types.h"

namespace sluice {
namespace window_operator_test {

using std::chrono::milliseconds;
using testing::OneInputStreamOperatorTestHarness;
using testing::StreamRecord;
using window_testing::Event;
using window_testing::KeyOf;
using window_testing::Result;

/// A window's firing as a process function saw it.
struct Fired {
  int32_t key = 0;
  Timestamp start = 0;
  Timestamp end = 0;
  std::vector<int64_t> values;
  friend auto operator<=>(const Fired&, const Fired&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Fired& f) {
    os << "Fired{" << f.key << ", [" << f.start << ", " << f.end << "), {";
    for (auto v : f.values) os << v << " ";
    return os << "}}";
  }
};

/// Builds a WindowOperator as WindowedStream does, without routing sliding windows to the
/// sliced operator: these tests are about WindowOperator itself.
template <typename W>
class WindowOperatorBuilder {
 public:
  using K = int32_t;
  explicit WindowOperatorBuilder(std::shared_ptr<const WindowAssigner<Event, W>> assigner) {
    spec_.assigner = std::move(assigner);
  }
  WindowOperatorBuilder& trigger(std::unique_ptr<Trigger<Event, W>> trigger) {
    spec_.trigger = std::shared_ptr<const Trigger<Event, W>>(std::move(trigger));
    return *this;
  }
  WindowOperatorBuilder& evictor(std::shared_ptr<Evictor<Event, W>> evictor) {
    spec_.evictor = std::move(evictor);
    return *this;
  }
  WindowOperatorBuilder& allowedLateness(int64_t millis) {
    spec_.allowedLatenessMillis = millis;
    return *this;
  }
  WindowOperatorBuilder& sideOutputLateData(const OutputTag<Event>& tag) {
    spec_.lateDataTag = tag.id;
    return *this;
  }

  template <typename F>
  std::unique_ptr<OneInputStreamOperator<Event, Event>> reduce(F fn) const {
    return make<Event>(windowing::ReduceContents<Event, F>{fn}, windowing::ReduceResultEmitter{});
  }
  template <typename F, typename PWF>
  std::unique_ptr<OneInputStreamOperator<Event, typename PWF::OutputType>> reduce(
      F fn, PWF process) const {
    using E = windowing::ProcessEmitter<PWF, windowing::ProjectReduction>;
    return make<typename PWF::OutputType>(windowing::ReduceContents<Event, F>{fn},
                                          E{process, {}, {}});
  }
  template <typename AggF>
  std::unique_ptr<OneInputStreamOperator<Event, typename AggF::OutputType>> aggregate(
      AggF fn) const {
    return make<typename AggF::OutputType>(windowing::AggregateContents<Event, AggF>{fn},
                                           windowing::AggregateResultEmitter<AggF>{fn});
  }
  template <typename AggF, typename PWF>
  std::unique_ptr<OneInputStreamOperator<Event, typename PWF::OutputType>> aggregate(
      AggF fn, PWF process) const {
    using E = windowing::ProcessEmitter<PWF, windowing::ProjectAggregate<AggF>>;
    return make<typename PWF::OutputType>(windowing::AggregateContents<Event, AggF>{fn},
                                          E{process, {fn}, {}});
  }
  template <typename PWF>
  std::unique_ptr<OneInputStreamOperator<Event, typename PWF::OutputType>> process(
      PWF process) const {
    using E = windowing::ProcessEmitter<PWF, windowing::ProjectReduction>;
    return make<typename PWF::OutputType>(windowing::ListContents<Event>{}, E{process, {}, {}});
  }

 private:
  template <typename OUT, typename Contents, typename Emitter>
  std::unique_ptr<OneInputStreamOperator<Event, OUT>> make(Contents contents,
                                                           Emitter emitter) const {
    if (spec_.evictor) {
      using E = windowing::EvictingEmitter<Event, W, Contents, Emitter>;
      return std::make_unique<
          WindowOperator<K, Event, OUT, W, KeyOf, windowing::TimestampedListContents<Event>, E>>(
          spec_, KeyOf{}, windowing::TimestampedListContents<Event>{},
          E{spec_.evictor, contents, emitter});
    }
    return std::make_unique<WindowOperator<K, Event, OUT, W, KeyOf, Contents, Emitter>>(
        spec_, KeyOf{}, contents, emitter);
  }
  WindowSpec<Event, W> spec_;
};

using TimeWindows = WindowOperatorBuilder<TimeWindow>;
using Global = WindowOperatorBuilder<GlobalWindow>;
template <typename OUT>
using Harness = OneInputStreamOperatorTestHarness<Event, OUT>;

// ---- functions --------------------------------------------------------------------------------

struct SumReduce {
  Event reduce(const Event& a, const Event& b) const {
    return Event{a.key, std::max(a.ts, b.ts), a.value + b.value};
  }
};

struct CountSum {
  int64_t count = 0;
  int64_t sum = 0;
  friend auto operator<=>(const CountSum&, const CountSum&) = default;
  friend std::ostream& operator<<(std::ostream& os, const CountSum& c) {
    return os << "CountSum{" << c.count << ", " << c.sum << "}";
  }
};

struct CountSumAgg : AggregateFunction<Event, CountSum, CountSum> {
  CountSum createAccumulator() override { return {}; }
  CountSum add(const Event& e, CountSum acc) override { return {acc.count + 1, acc.sum + e.value}; }
  CountSum getResult(const CountSum& acc) override { return acc; }
  CountSum merge(CountSum a, CountSum b) override { return {a.count + b.count, a.sum + b.sum}; }
};

/// Lists the values of a window (for TimeWindow, with its bounds).
template <typename W>
struct ListValues : ProcessWindowFunction<Event, Fired, int32_t, W> {
  using Ctx = ProcessWindowContext<int32_t, W>;
  void process(const int32_t& key, Ctx& ctx, const std::vector<Event>& elements,
               Collector<Fired>& out) override {
    Fired f{key, 0, 0, {}};
    if constexpr (std::is_same_v<W, TimeWindow>) {
      f.start = ctx.window().start;
      f.end = ctx.window().end;
    }
    for (const auto& e : elements) f.values.push_back(e.value);
    out.collect(f);
  }
};

/// After reduce or aggregate: the one pre-aggregated value, with the window.
struct TagSum : ProcessWindowFunction<Event, Fired, int32_t, TimeWindow> {
  void process(const int32_t& key, Context& ctx, const std::vector<Event>& reduced,
               Collector<Fired>& out) override {
    EXPECT_EQ(reduced.size(), 1u);
    out.collect(Fired{key, ctx.window().start, ctx.window().end, {reduced.at(0).value}});
  }
};
struct TagCountSum : ProcessWindowFunction<CountSum, Fired, int32_t, TimeWindow> {
  void process(const int32_t& key, Context& ctx, const std::vector<CountSum>& results,
               Collector<Fired>& out) override {
    EXPECT_EQ(results.size(), 1u);
    out.collect(
        Fired{key, ctx.window().start, ctx.window().end, {results.at(0).count, results.at(0).sum}});
  }
};

template <typename T>
std::vector<T> values(const std::vector<StreamRecord<T>>& records) {
  std::vector<T> out;
  for (const auto& r : records) out.push_back(r.value);
  return out;
}
template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// ---- event-time basics ----------------------------------------------------------------------

TEST(WindowOperator, TumblingEventTimeReduceFiresWhenTheWatermarkPassesMaxTimestamp) {
  Harness<Event> h(
      TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(10))).reduce(SumReduce{}));
  h.processElement({1, 3, 1}, 3);
  h.processElement({1, 7, 2}, 7);
  h.processElement({2, 5, 10}, 5);
  h.processElement({1, 12, 4}, 12);
  h.processWatermark(8);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processWatermark(9);  // = maxTimestamp of [0, 10)
  auto out = h.extractOutput();
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.value < b.value; });
  EXPECT_EQ(out, (std::vector<StreamRecord<Event>>{{{1, 7, 3}, 9}, {{2, 5, 10}, 9}}));
  // Results precede the watermark that fired them; every watermark is forwarded.
  ASSERT_EQ(h.output().size(), 4u);
  EXPECT_EQ(std::get<Watermark>(h.output()[0]).timestamp, 8);
  EXPECT_EQ(std::get<Watermark>(h.output()[3]).timestamp, 9);
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Event>>{{{1, 12, 4}, 19}}));
  EXPECT_EQ(h.watermarks(), (std::vector<Timestamp>{8, 9, kMaxWatermark}));
}

TEST(WindowOperator, NegativeTimestampsAndOffsetsEndToEnd) {
  Harness<Fired> h(
      TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(10), milliseconds(-3)))
          .process(ListValues<TimeWindow>{}));
  for (Timestamp ts : {-14, -13, -4, -3, 0, 6, 7}) h.processElement({1, ts, ts}, ts);
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(
      values(h.extractOutput()),
      (std::vector<Fired>{
          {1, -23, -13, {-14}}, {1, -13, -3, {-13, -4}}, {1, -3, 7, {-3, 0, 6}}, {1, 7, 17, {7}}}));
}

// Sliding windows of one element fire in the assigner's order (latest start first), each with
// the window's maxTimestamp.
TEST(WindowOperator, SlidingEventTimeWindowsEachGetTheElement) {
  Harness<Fired> h(
      TimeWindows(SlidingEventTimeWindows::of<Event>(milliseconds(10), milliseconds(5)))
          .allowedLateness(100)
          .process(ListValues<TimeWindow>{}));
  h.processWatermark(50);
  h.processElement({1, 12, 1}, 12);  // windows [10, 20) and [5, 15), both past: fire at once
  EXPECT_EQ(h.extractOutput(),
            (std::vector<StreamRecord<Fired>>{{{1, 10, 20, {1}}, 19}, {{1, 5, 15, {1}}, 14}}));
}

// The harness plays one subtask of a parallel operator: its key groups are those of the
// subtask, so keys routed as keyBy does add up to the single-subtask result, and a key of
// another subtask is rejected.
TEST(WindowOperator, SubtasksOfAParallelOperatorOwnTheirKeyGroups) {
  std::vector<Event> events;
  for (int i = 0; i < 400; ++i) events.push_back({i % 37, i * 7, i});
  auto make = [] {
    return TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(100)))
        .process(ListValues<TimeWindow>{});
  };
  Harness<Fired> single(make(), testing::HarnessConfig{1, 0, 128});
  std::vector<std::unique_ptr<Harness<Fired>>> subtasks;
  for (int i = 0; i < 4; ++i) {
    subtasks.push_back(std::make_unique<Harness<Fired>>(make(), testing::HarnessConfig{4, i, 128}));
  }
  for (auto& e : events) {
    single.processElement(e, e.ts);
    int subtask = KeyGroupRangeAssignment::assignKeyToParallelOperator(e.key, 128, 4);
    subtasks[static_cast<size_t>(subtask)]->processElement(e, e.ts);
  }
  single.processWatermark(kMaxWatermark);
  std::vector<Fired> parallel;
  for (auto& h : subtasks) {
    h->processWatermark(kMaxWatermark);
    for (auto& f : values(h->extractOutput())) parallel.push_back(f);
  }
  EXPECT_EQ(sorted(parallel), sorted(values(single.extractOutput())));
  int32_t foreign = 0;
  while (KeyGroupRangeAssignment::assignKeyToParallelOperator(foreign, 128, 4) == 0) ++foreign;
  EXPECT_THROW(subtasks[0]->processElement({foreign, 0, 0}, 0), SluiceException);
}

// Window contents, trigger state, merging-window sets and window timers are keyed state of the
// operator's backend: a run snapshotted halfway (at parallelism 2) and restored (at 1 and 3)
// fires exactly what an uninterrupted run fires, for sliding and for merging session windows.
TEST(WindowOperator, SnapshotRestoreAtAnotherParallelismFiresTheSame) {
  std::vector<Event> events;
  std::mt19937 rng(9);
  for (int i = 0; i < 600; ++i) {
    events.push_back({static_cast<int32_t>(rng() % 23), static_cast<Timestamp>(i * 5 + rng() % 40),
                      static_cast<int64_t>(i)});
  }
  using Make = std::function<std::unique_ptr<OneInputStreamOperator<Event, Fired>>()>;
  Make sliding = [] {
    return TimeWindows(SlidingEventTimeWindows::of<Event>(milliseconds(100), milliseconds(30)))
        .allowedLateness(20)
        .process(ListValues<TimeWindow>{});
  };
  Make sessions = [] {
    return TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(15)))
        .process(ListValues<TimeWindow>{});
  };
  for (const Make& make : {sliding, sessions}) {
    auto subtasksOf = [&](int p, const std::vector<KeyedStateSnapshot>& restore) {
      std::vector<std::unique_ptr<Harness<Fired>>> out;
      for (int i = 0; i < p; ++i) {
        testing::HarnessConfig config;
        config.parallelism = p;
        config.subtask = i;
        config.restoredKeyedState = restore;
        out.push_back(std::make_unique<Harness<Fired>>(make(), config));
        out.back()->open();
      }
      return out;
    };
    auto feed = [&](std::vector<std::unique_ptr<Harness<Fired>>>& hs, size_t from, size_t to) {
      int p = static_cast<int>(hs.size());
      std::vector<Fired> fired;
      for (size_t i = from; i < to; ++i) {
        const Event& e = events[i];
        hs[static_cast<size_t>(KeyGroupRangeAssignment::assignKeyToParallelOperator(e.key, 128, p))]
            ->processElement(e, e.ts);
        if (i % 50 == 49) {
          for (auto& h : hs) h->processWatermark(static_cast<Timestamp>(i * 5) - 30);
        }
      }
      if (to == events.size()) {
        for (auto& h : hs) h->processWatermark(kMaxWatermark);
      }
      for (auto& h : hs) {
        for (auto& f : values(h->extractOutput())) fired.push_back(f);
      }
      return sorted(fired);
    };
    const size_t cut = 330;
    auto reference = subtasksOf(1, {});
    feed(reference, 0, cut);
    auto expected = feed(reference, cut, events.size());
    ASSERT_FALSE(expected.empty());

    auto first = subtasksOf(2, {});
    feed(first, 0, cut);
    std::vector<KeyedStateSnapshot> snapshots;
    for (auto& h : first) snapshots.push_back(h->snapshotKeyedState());
    for (int p : {1, 3}) {
      auto restored = subtasksOf(p, snapshots);
      EXPECT_EQ(feed(restored, cut, events.size()), expected) << "parallelism " << p;
    }
  }
}

// ---- processing time --------------------------------------------------------------------------

TEST(WindowOperator, TumblingProcessingTimeWindowsFollowTheHarnessClock) {
  Harness<Fired> h(TimeWindows(TumblingProcessingTimeWindows::of<Event>(milliseconds(10)))
                       .process(ListValues<TimeWindow>{}));
  h.setProcessingTime(3);
  h.processElement({1, 0, 1});  // no timestamp: processing time does not need one
  h.setProcessingTime(7);
  h.processElement({1, 0, 2});
  h.setProcessingTime(8);
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(9);
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Fired>>{{{1, 0, 10, {1, 2}}, 9}}));
  h.setProcessingTime(15);
  h.processElement({1, 0, 3});
  h.processElement({2, 0, 4});
  h.processWatermark(kMaxWatermark);  // event time does not fire processing-time windows
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(100);  // one jump fires everything due
  EXPECT_EQ(sorted(values(h.extractOutput())),
            (std::vector<Fired>{{1, 10, 20, {3}}, {2, 10, 20, {4}}}));
}

TEST(WindowOperator, SlidingProcessingTimeWindows) {
  Harness<Fired> h(
      TimeWindows(SlidingProcessingTimeWindows::of<Event>(milliseconds(10), milliseconds(5)))
          .process(ListValues<TimeWindow>{}));
  h.setProcessingTime(3);
  h.processElement({1, 0, 1});  // [0, 10), [-5, 5)
  h.setProcessingTime(4);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, -5, 5, {1}}}));
  h.setProcessingTime(7);
  h.processElement({1, 0, 2});  // [5, 15), [0, 10)
  h.setProcessingTime(9);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 0, 10, {1, 2}}}));
  h.setProcessingTime(20);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 5, 15, {2}}}));
}

TEST(WindowOperator, ProcessingTimeSessionsMergeAndFireAtTheirEnd) {
  Harness<Fired> h(TimeWindows(ProcessingTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .process(ListValues<TimeWindow>{}));
  h.setProcessingTime(0);
  h.processElement({1, 0, 1});  // [0, 10)
  h.setProcessingTime(5);
  h.processElement({1, 0, 2});  // [5, 15) → [0, 15)
  h.setProcessingTime(13);
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(14);
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Fired>>{{{1, 0, 15, {1, 2}}, 14}}));
  h.setProcessingTime(20);
  h.processElement({1, 0, 3});
  h.setProcessingTime(28);
  h.processElement({1, 0, 4});  // [28, 38) overlaps [20, 30): one session
  h.setProcessingTime(36);
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(37);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 20, 38, {3, 4}}}));
  // [37, 47) would overlap [20, 38), but that session fired and was removed at 37.
  h.processElement({1, 0, 5});
  h.setProcessingTime(46);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 37, 47, {5}}}));
}

// ---- triggers ----------------------------------------------------------------------------------

/// Fires on marker elements: value 0 fires, a negative value fires and purges.
struct MarkerTrigger final : Trigger<Event, GlobalWindow> {
  TriggerResult onElement(const Event& e, Timestamp, const GlobalWindow&,
                          TriggerContext&) override {
    if (e.value < 0) return TriggerResult::kFireAndPurge;
    return e.value == 0 ? TriggerResult::kFire : TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp, const GlobalWindow&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const GlobalWindow&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  std::unique_ptr<Trigger<Event, GlobalWindow>> clone() const override {
    return std::make_unique<MarkerTrigger>(*this);
  }
};

TEST(Triggers, CustomTriggerOnGlobalWindowsFireKeepsFireAndPurgeClears) {
  Harness<Fired> h(Global(GlobalWindows::create<Event>())
                       .trigger(std::make_unique<MarkerTrigger>())
                       .process(ListValues<GlobalWindow>{}));
  for (int64_t v : {1, 2, 0, 3, -1, 4, 0}) h.processElement({1, 0, v}, 0);
  h.processElement({2, 0, 9}, 0);
  h.processWatermark(kMaxWatermark);  // GlobalWindows never fire by time
  h.setProcessingTime(1'000'000);
  EXPECT_EQ(
      values(h.extractOutput()),
      (std::vector<Fired>{{1, 0, 0, {1, 2, 0}}, {1, 0, 0, {1, 2, 0, 3, -1}}, {1, 0, 0, {4, 0}}}));
}

TEST(Triggers, GlobalWindowsWithoutTriggerNeverFire) {
  Harness<Fired> h(Global(GlobalWindows::create<Event>()).process(ListValues<GlobalWindow>{}));
  for (int i = 0; i < 10; ++i) h.processElement({1, i, i}, i);
  h.processWatermark(kMaxWatermark);
  h.setProcessingTime(1'000'000);
  EXPECT_TRUE(h.extractOutput().empty());
}

TEST(Triggers, CountTriggerFiresEveryNAndKeepsContentsPurgingTriggerClears) {
  Harness<Fired> keep(Global(GlobalWindows::create<Event>())
                          .trigger(CountTrigger<Event, GlobalWindow>::of(3))
                          .process(ListValues<GlobalWindow>{}));
  Harness<Fired> purge(Global(GlobalWindows::create<Event>())
                           .trigger(PurgingTrigger<Event, GlobalWindow>::of(
                               CountTrigger<Event, GlobalWindow>::of(3)))
                           .process(ListValues<GlobalWindow>{}));
  for (int64_t v = 1; v <= 8; ++v) {
    keep.processElement({1, v, v}, v);
    purge.processElement({1, v, v}, v);
    keep.processElement({2, v, 10 * v}, v);  // another key counts on its own
  }
  auto kept = values(keep.extractOutput());
  std::vector<Fired> key1;
  for (auto& f : kept) {
    if (f.key == 1) key1.push_back(f);
  }
  EXPECT_EQ(key1, (std::vector<Fired>{{1, 0, 0, {1, 2, 3}}, {1, 0, 0, {1, 2, 3, 4, 5, 6}}}));
  EXPECT_EQ(kept.size(), 4u);
  EXPECT_EQ(values(purge.extractOutput()),
            (std::vector<Fired>{{1, 0, 0, {1, 2, 3}}, {1, 0, 0, {4, 5, 6}}}));
}

TEST(Triggers, EventTimeTriggerFiresLateForALateElementWithinAllowedLateness) {
  OutputTag<Event> late("late");
  Harness<Fired> h(TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(10)))
                       .allowedLateness(5)
                       .sideOutputLateData(late)
                       .process(ListValues<TimeWindow>{}));
  h.declareSideOutput(late);
  h.processElement({1, 1, 1}, 1);
  h.processElement({1, 3, 3}, 3);
  h.processWatermark(9);
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Fired>>{{{1, 0, 10, {1, 3}}, 9}}));
  h.processElement({1, 4, 4}, 4);  // late, within lateness: fires again with everything
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Fired>>{{{1, 0, 10, {1, 3, 4}}, 9}}));
  h.processWatermark(13);
  h.processElement({1, 8, 8}, 8);  // cleanup is at 9 + 5 = 14: still accepted
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 0, 10, {1, 3, 4, 8}}}));
  h.processWatermark(14);  // cleanup: no firing
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 5, 5}, 5);     // 5 + 5 <= 14: too late
  h.processElement({1, 12, 12}, 12);  // [10, 20) is still open
  EXPECT_TRUE(h.extractOutput().empty());
  EXPECT_EQ(h.extractSideOutput(late), (std::vector<StreamRecord<Event>>{{{1, 5, 5}, 5}}));
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 10, 20, {12}}}));
  EXPECT_TRUE(h.extractSideOutput(late).empty());
}

TEST(Triggers, LateElementsAreCountedWhenNoSideOutputIsSet) {
  auto op = TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(10)))
                .process(ListValues<TimeWindow>{});
  using Op = WindowOperator<
      int32_t, Event, Fired, TimeWindow, KeyOf, windowing::ListContents<Event>,
      windowing::ProcessEmitter<ListValues<TimeWindow>, windowing::ProjectReduction>>;
  auto* raw = dynamic_cast<Op*>(op.get());
  ASSERT_NE(raw, nullptr);
  Harness<Fired> h(std::move(op));
  h.processWatermark(100);
  h.processElement({1, 5, 5}, 5);
  h.processElement({1, 95, 5}, 95);
  h.processElement({1, 100, 5}, 100);
  EXPECT_EQ(raw->numLateRecordsDropped(), 2);
}

TEST(Triggers, ContinuousEventTimeTriggerFiresAtIntervalMultiplesAndAtTheEnd) {
  Harness<Event> h(
      TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(1000)))
          .trigger(ContinuousEventTimeTrigger<Event, TimeWindow>::of(milliseconds(300)))
          .reduce(SumReduce{}));
  h.processElement({1, 50, 1}, 50);  // first fire time: 50 − 50 % 300 + 300 = 300
  h.processWatermark(299);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 400, 2}, 400);
  h.processWatermark(300);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 400, 3}}));
  h.processWatermark(650);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 400, 3}}));  // at 600
  h.processElement({1, 700, 4}, 700);
  h.processWatermark(998);  // at 900; the next is min(1200, 999)
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 700, 7}}));
  h.processWatermark(999);  // the window's end
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Event>>{{{1, 700, 7}, 999}}));
  h.processElement({1, 1500, 5}, 1500);  // first fire at 1800, then the end at 1999
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(h.extractOutput(),
            (std::vector<StreamRecord<Event>>{{{1, 1500, 5}, 1999}, {{1, 1500, 5}, 1999}}));
}

TEST(Triggers, ContinuousProcessingTimeTriggerFiresAtIntervalMultiplesAndAtTheEnd) {
  Harness<Event> h(
      TimeWindows(TumblingProcessingTimeWindows::of<Event>(milliseconds(1000)))
          .trigger(ContinuousProcessingTimeTrigger<Event, TimeWindow>::of(milliseconds(300)))
          .reduce(SumReduce{}));
  h.setProcessingTime(50);
  h.processElement({1, 0, 1});
  h.setProcessingTime(299);
  h.processElement({1, 0, 2});
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(300);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 0, 3}}));
  h.setProcessingTime(1000);  // 600, 900, then min(1200, 999) = the end
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Event>>{
                                   {{1, 0, 3}, 999}, {{1, 0, 3}, 999}, {{1, 0, 3}, 999}}));
  h.setProcessingTime(5000);
  EXPECT_TRUE(h.extractOutput().empty());
}

TEST(Triggers, ContinuousProcessingTimeTriggerOnGlobalWindowsKeepsFiring) {
  Harness<Event> h(
      Global(GlobalWindows::create<Event>())
          .trigger(ContinuousProcessingTimeTrigger<Event, GlobalWindow>::of(milliseconds(100)))
          .reduce(SumReduce{}));
  h.setProcessingTime(1030);
  h.processElement({1, 0, 1});
  h.setProcessingTime(1099);
  EXPECT_TRUE(h.extractOutput().empty());
  h.setProcessingTime(1100);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 0, 1}}));
  h.processElement({1, 0, 2});
  h.setProcessingTime(1350);  // 1200, 1300
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Event>{{1, 0, 3}, {1, 0, 3}}));
}

TEST(Triggers, PurgingContinuousEventTimeTriggerEmitsWhatArrivedSinceTheLastFiring) {
  Harness<Fired> h(TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(1000)))
                       .trigger(PurgingTrigger<Event, TimeWindow>::of(
                           ContinuousEventTimeTrigger<Event, TimeWindow>::of(milliseconds(300))))
                       .process(ListValues<TimeWindow>{}));
  h.processElement({1, 10, 1}, 10);
  h.processElement({1, 20, 2}, 20);
  h.processWatermark(300);
  h.processElement({1, 310, 3}, 310);
  h.processWatermark(650);  // fires at 600
  h.processWatermark(899);  // nothing new: the firing at 900 is still ahead
  h.processWatermark(1500);
  EXPECT_EQ(values(h.extractOutput()),
            (std::vector<Fired>{{1, 0, 1000, {1, 2}}, {1, 0, 1000, {3}}}));
}

// The fire-time state of ContinuousEventTimeTrigger merges as the minimum (Flink's
// ReducingState with Min), so the merged session fires at the earliest pending time.
TEST(Triggers, ContinuousEventTimeTriggerOnMergingSessions) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(100)))
                       .trigger(ContinuousEventTimeTrigger<Event, TimeWindow>::of(milliseconds(50)))
                       .process(ListValues<TimeWindow>{}));
  h.processElement({1, 0, 1}, 0);      // [0, 100), fire time 50
  h.processElement({1, 120, 2}, 120);  // [120, 220), fire time 150
  h.processElement({1, 90, 3}, 90);    // bridges: [0, 220), fire time min(50, 150)
  h.processWatermark(49);
  EXPECT_TRUE(h.extractOutput().empty());
  std::vector<Timestamp> firedAt;
  for (Timestamp wm : {50, 100, 150, 200, 219, 300}) {
    h.processWatermark(wm);
    for (auto& r : h.extractOutput()) {
      EXPECT_EQ(r.value.start, 0);
      EXPECT_EQ(r.value.end, 220);
      EXPECT_EQ(r.value.values.size(), 3u);
      firedAt.push_back(wm);
    }
  }
  EXPECT_EQ(firedAt, (std::vector<Timestamp>{50, 100, 150, 200, 219}));
}

TEST(Triggers, EventTimeTriggerOnGlobalWindowsFiresAtTheEndOfInput) {
  Harness<Fired> h(Global(GlobalWindows::create<Event>())
                       .trigger(EventTimeTrigger<Event, GlobalWindow>::create())
                       .process(ListValues<GlobalWindow>{}));
  h.processElement({1, 5, 1}, 5);
  h.processWatermark(1'000'000);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 6, 2}, 6);
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(h.extractOutput(),
            (std::vector<StreamRecord<Fired>>{{{1, 0, 0, {1, 2}}, kMaxWatermark}}));
}

// ---- evictors ----------------------------------------------------------------------------------

enum class EvictorKind { kCount, kTime, kDelta };

std::shared_ptr<Evictor<Event, GlobalWindow>> makeEvictor(EvictorKind kind, bool after) {
  switch (kind) {
    case EvictorKind::kCount:
      return CountEvictor<Event, GlobalWindow>::of(4, after);
    case EvictorKind::kTime:
      return TimeEvictor<Event, GlobalWindow>::of(milliseconds(25), after);
    case EvictorKind::kDelta:
      return DeltaEvictor<Event, GlobalWindow>::of(
          10.0, [](const Event& a, const Event& b) { return std::abs(double(a.value - b.value)); },
          after);
  }
  return nullptr;
}

/// What an evictor keeps, by its definition (Flink's CountEvictor, TimeEvictor, DeltaEvictor).
std::vector<Event> keep(EvictorKind kind, const std::vector<Event>& in) {
  std::vector<Event> out;
  if (in.empty()) return out;
  switch (kind) {
    case EvictorKind::kCount:
      for (size_t i = in.size() > 4 ? in.size() - 4 : 0; i < in.size(); ++i) out.push_back(in[i]);
      break;
    case EvictorKind::kTime: {
      Timestamp max = kMinWatermark;
      for (auto& e : in) max = std::max(max, e.ts);
      for (auto& e : in) {
        if (e.ts > max - 25) out.push_back(e);
      }
      break;
    }
    case EvictorKind::kDelta:
      for (auto& e : in) {
        if (std::abs(double(e.value - in.back().value)) < 10.0) out.push_back(e);
      }
      break;
  }
  return out;
}

class Evictors : public ::testing::TestWithParam<std::tuple<EvictorKind, bool>> {};

// GlobalWindows with a non-purging CountTrigger(3): each firing sees what earlier evictions left
// plus the new elements. Evicting before: the function sees the kept elements; after: it sees
// all, and only the next firing sees the reduced state.
TEST_P(Evictors, MatchTheirDefinitionBeforeAndAfterTheFunction) {
  auto [kind, after] = GetParam();
  Harness<Fired> list(Global(GlobalWindows::create<Event>())
                          .trigger(CountTrigger<Event, GlobalWindow>::of(3))
                          .evictor(makeEvictor(kind, after))
                          .process(ListValues<GlobalWindow>{}));
  Harness<CountSum> agg(Global(GlobalWindows::create<Event>())
                            .trigger(CountTrigger<Event, GlobalWindow>::of(3))
                            .evictor(makeEvictor(kind, after))
                            .aggregate(CountSumAgg{}));
  std::mt19937 rng(static_cast<uint32_t>(kind) * 2 + after);
  std::vector<Event> state;
  std::vector<Fired> expected;
  std::vector<CountSum> expectedAgg;
  int count = 0;
  for (int i = 0; i < 300; ++i) {
    Event e{1, static_cast<Timestamp>(rng() % 100), static_cast<int64_t>(rng() % 30)};
    list.processElement(e, e.ts);
    agg.processElement(e, e.ts);
    state.push_back(e);
    if (++count < 3) continue;
    count = 0;
    if (!after) state = keep(kind, state);
    Fired f{1, 0, 0, {}};
    CountSum cs;
    for (auto& s : state) {
      f.values.push_back(s.value);
      cs = {cs.count + 1, cs.sum + s.value};
    }
    expected.push_back(f);
    expectedAgg.push_back(cs);
    if (after) state = keep(kind, state);
  }
  EXPECT_EQ(values(list.extractOutput()), expected);
  EXPECT_EQ(values(agg.extractOutput()), expectedAgg);
}

INSTANTIATE_TEST_SUITE_P(All, Evictors,
                         ::testing::Combine(::testing::Values(EvictorKind::kCount,
                                                              EvictorKind::kTime,
                                                              EvictorKind::kDelta),
                                            ::testing::Bool()));

TEST(Evictors, EvictAfterTheFunctionSawAllElementsReducesWhatTheNextFiringSees) {
  Harness<Fired> h(Global(GlobalWindows::create<Event>())
                       .trigger(CountTrigger<Event, GlobalWindow>::of(2))
                       .evictor(CountEvictor<Event, GlobalWindow>::of(1, true))
                       .process(ListValues<GlobalWindow>{}));
  for (int64_t v = 1; v <= 6; ++v) h.processElement({1, v, v}, v);
  EXPECT_EQ(values(h.extractOutput()),
            (std::vector<Fired>{{1, 0, 0, {1, 2}}, {1, 0, 0, {2, 3, 4}}, {1, 0, 0, {4, 5, 6}}}));
}

// Evicting everything after each firing turns a continuous trigger into micro-batches; an
// interval without elements emits nothing, as in Flink (an empty window state is no state).
TEST(Evictors, WindowEmptiedByTheEvictorDoesNotFireAgain) {
  Harness<Fired> h(
      Global(GlobalWindows::create<Event>())
          .trigger(ContinuousProcessingTimeTrigger<Event, GlobalWindow>::of(milliseconds(100)))
          .evictor(CountEvictor<Event, GlobalWindow>::of(0, true))
          .process(ListValues<GlobalWindow>{}));
  h.setProcessingTime(10);
  h.processElement({1, 0, 1});
  h.processElement({1, 0, 2});
  h.setProcessingTime(100);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 0, 0, {1, 2}}}));
  h.setProcessingTime(300);  // firings at 200 and 300 find no elements
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 0, 3});  // the trigger's next time is 400
  h.setProcessingTime(400);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 0, 0, {3}}}));
}

TEST(Evictors, EvictingTimeWindowsWithEventTimeTrigger) {
  Harness<Event> h(TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(100)))
                       .evictor(TimeEvictor<Event, TimeWindow>::of(milliseconds(10)))
                       .reduce(SumReduce{}));
  for (Timestamp ts : {5, 50, 91, 95, 99, 89}) h.processElement({1, ts, ts}, ts);
  h.processWatermark(kMaxWatermark);
  // Kept: timestamps > 99 − 10 = 89.
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Event>>{{{1, 99, 91 + 95 + 99}, 99}}));
}

// ---- window functions --------------------------------------------------------------------------

TEST(WindowFunctions, ReduceAggregateProcessAndCombinationsAgree) {
  std::vector<Event> events;
  std::mt19937 rng(5);
  for (int i = 0; i < 500; ++i) {
    events.push_back({static_cast<int32_t>(rng() % 5), static_cast<Timestamp>(rng() % 1000),
                      static_cast<int64_t>(rng() % 100)});
  }
  auto window = [] { return TumblingEventTimeWindows::of<Event>(milliseconds(100)); };
  Harness<Event> reduce(TimeWindows(window()).reduce(SumReduce{}));
  Harness<CountSum> aggregate(TimeWindows(window()).aggregate(CountSumAgg{}));
  Harness<Fired> process(TimeWindows(window()).process(ListValues<TimeWindow>{}));
  Harness<Fired> reduceProcess(TimeWindows(window()).reduce(SumReduce{}, TagSum{}));
  Harness<Fired> aggregateProcess(TimeWindows(window()).aggregate(CountSumAgg{}, TagCountSum{}));
  for (auto& e : events) {
    reduce.processElement(e, e.ts);
    aggregate.processElement(e, e.ts);
    process.processElement(e, e.ts);
    reduceProcess.processElement(e, e.ts);
    aggregateProcess.processElement(e, e.ts);
  }
  reduce.processWatermark(kMaxWatermark);
  aggregate.processWatermark(kMaxWatermark);
  process.processWatermark(kMaxWatermark);
  reduceProcess.processWatermark(kMaxWatermark);
  aggregateProcess.processWatermark(kMaxWatermark);

  // Brute force per (key, window start).
  std::map<std::pair<int32_t, Timestamp>, std::vector<Event>> windows;
  for (auto& e : events) windows[{e.key, e.ts - e.ts % 100}].push_back(e);
  std::vector<std::pair<Event, Timestamp>> expectReduce;
  std::vector<CountSum> expectAgg;
  std::vector<Fired> expectProcess, expectReduceProcess, expectAggProcess;
  for (auto& [kw, es] : windows) {
    auto [key, start] = kw;
    Event sum = es[0];
    for (size_t i = 1; i < es.size(); ++i) sum = SumReduce{}.reduce(sum, es[i]);
    expectReduce.emplace_back(sum, start + 99);
    expectAgg.push_back({static_cast<int64_t>(es.size()), sum.value});
    Fired f{key, start, start + 100, {}};
    for (auto& e : es) f.values.push_back(e.value);
    expectProcess.push_back(f);
    expectReduceProcess.push_back({key, start, start + 100, {sum.value}});
    expectAggProcess.push_back({key, start, start + 100, {int64_t(es.size()), sum.value}});
  }
  std::vector<std::pair<Event, Timestamp>> gotReduce;
  for (auto& r : reduce.extractOutput()) gotReduce.emplace_back(r.value, r.timestamp);
  EXPECT_EQ(sorted(gotReduce), sorted(expectReduce));
  EXPECT_EQ(sorted(values(aggregate.extractOutput())), sorted(expectAgg));
  // Elements reach the process function in arrival order.
  EXPECT_EQ(sorted(values(process.extractOutput())), sorted(expectProcess));
  EXPECT_EQ(sorted(values(reduceProcess.extractOutput())), sorted(expectReduceProcess));
  EXPECT_EQ(sorted(values(aggregateProcess.extractOutput())), sorted(expectAggProcess));
}

/// What ContextProbe reports per firing.
struct Probe {
  int32_t key = 0;
  Timestamp start = 0;
  int64_t count = 0;
  Timestamp watermark = 0;
  int64_t firingOfWindow = 0;  ///< from per-window state
  int64_t firingOfKey = 0;     ///< from global state
  friend auto operator<=>(const Probe&, const Probe&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Probe& p) {
    return os << "Probe{key " << p.key << ", start " << p.start << ", count " << p.count << ", wm "
              << p.watermark << ", window firing " << p.firingOfWindow << ", key firing "
              << p.firingOfKey << "}";
  }
};
struct Cleared {
  Timestamp start;
  int64_t stateBefore;
  bool stateAfter;
  friend auto operator<=>(const Cleared&, const Cleared&) = default;
};

struct ContextProbe : ProcessWindowFunction<Event, Probe, int32_t, TimeWindow> {
  std::shared_ptr<std::vector<Cleared>> cleared = std::make_shared<std::vector<Cleared>>();
  OutputTag<std::string> notes{"notes"};
  void process(const int32_t& key, Context& ctx, const std::vector<Event>& elements,
               Collector<Probe>& out) override {
    auto& perWindow = ctx.windowState().getState(ValueStateDescriptor<int64_t>("firings"));
    int64_t w = perWindow.value().value_or(0) + 1;
    perWindow.update(w);
    auto& perKey = ctx.globalState().getState(ValueStateDescriptor<int64_t>("firings"));
    int64_t k = perKey.value().value_or(0) + 1;
    perKey.update(k);
    out.collect(Probe{key, ctx.window().start, static_cast<int64_t>(elements.size()),
                      ctx.currentWatermark(), w, k});
    ctx.output(notes, "key " + std::to_string(key) + " window " +
                          std::to_string(ctx.window().start) + " firing " + std::to_string(w));
  }
  void clear(Context& ctx) override {
    auto& perWindow = ctx.windowState().getState(ValueStateDescriptor<int64_t>("firings"));
    int64_t before = perWindow.value().value_or(-1);
    perWindow.clear();
    cleared->push_back({ctx.window().start, before, perWindow.value().has_value()});
  }
};

TEST(WindowFunctions, ProcessContextWindowWatermarkStatesAndSideOutput) {
  ContextProbe fn;
  auto cleared = fn.cleared;
  Harness<Probe> h(TimeWindows(TumblingEventTimeWindows::of<Event>(milliseconds(10)))
                       .allowedLateness(20)
                       .process(fn));
  h.declareSideOutput(fn.notes);
  h.processElement({1, 1, 1}, 1);
  h.processElement({1, 12, 1}, 12);
  h.processElement({2, 3, 1}, 3);
  h.processWatermark(15);  // fires [0, 10) of both keys; the watermark is 15
  EXPECT_EQ(sorted(values(h.extractOutput())),
            (std::vector<Probe>{{1, 0, 1, 15, 1, 1}, {2, 0, 1, 15, 1, 1}}));
  h.processElement({1, 2, 1}, 2);  // late firing of [0, 10): second firing of that window
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Probe>{{1, 0, 2, 15, 2, 2}}));
  h.processWatermark(19);  // [10, 20) of key 1: a new window, the key's third firing
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Probe>{{1, 10, 1, 19, 1, 3}}));
  auto notes = h.extractSideOutput(fn.notes);
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[2], (StreamRecord<std::string>{"key 1 window 0 firing 2", 9}));
  EXPECT_EQ(notes[3], (StreamRecord<std::string>{"key 1 window 10 firing 1", 19}));
  EXPECT_TRUE(cleared->empty());
  h.processWatermark(29);  // cleanup of [0, 10) (at 9 + 20) for both keys: clear() runs
  EXPECT_EQ(sorted(*cleared), (std::vector<Cleared>{{0, 1, false}, {0, 2, false}}));
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(cleared->size(), 3u);
  EXPECT_TRUE(h.extractOutput().empty());
}

// ---- session windows -----------------------------------------------------------------------

TEST(Sessions, ElementBridgingTwoSessionsMergesThem) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .process(ListValues<TimeWindow>{}));
  h.processElement({1, 0, 1}, 0);    // [0, 10)
  h.processElement({1, 15, 2}, 15);  // [15, 25)
  h.processElement({2, 5, 9}, 5);    // another key: [5, 15), never merges with key 1
  h.processWatermark(8);             // [0, 10) of key 1 is still open: nothing
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 7, 3}, 7);  // [7, 17) bridges both: [0, 25)
  h.processWatermark(14);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{2, 5, 15, {9}}}));
  h.processWatermark(23);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processWatermark(24);
  auto out = h.extractOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 24);
  EXPECT_EQ(out[0].value.start, 0);
  EXPECT_EQ(out[0].value.end, 25);
  EXPECT_EQ(sorted(out[0].value.values), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Sessions, DynamicGapsAndTouchingSessions) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withDynamicGap<Event>([](const Event& e) {
                     return e.value;
                   })).process(ListValues<TimeWindow>{}));
  h.processElement({1, 0, 10}, 0);     // [0, 10)
  h.processElement({1, 10, 5}, 10);    // [10, 15): touches, merges → [0, 15)
  h.processElement({1, 16, 4}, 16);    // [16, 20): a gap of 1 ms, separate
  h.processElement({1, 30, 100}, 30);  // [30, 130)
  h.processElement({1, 40, 1}, 40);    // inside [30, 130)
  h.processWatermark(kMaxWatermark);
  auto out = values(h.extractOutput());
  for (auto& f : out) std::sort(f.values.begin(), f.values.end());
  EXPECT_EQ(sorted(out),
            (std::vector<Fired>{{1, 0, 15, {5, 10}}, {1, 16, 20, {4}}, {1, 30, 130, {1, 100}}}));
}

TEST(Sessions, CountTriggerStateMergesWithTheSessions) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .trigger(CountTrigger<Event, TimeWindow>::of(3))
                       .process(ListValues<TimeWindow>{}));
  h.processElement({1, 0, 1}, 0);
  h.processElement({1, 20, 2}, 20);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processElement({1, 10, 3}, 10);  // merges counts 1 + 1, then counts itself: 3
  auto out = values(h.extractOutput());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].start, 0);
  EXPECT_EQ(out[0].end, 30);
  EXPECT_EQ(sorted(out[0].values), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Sessions, LateElementReopensAFiredSessionWithinAllowedLateness) {
  OutputTag<Event> late("late");
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .allowedLateness(20)
                       .sideOutputLateData(late)
                       .process(ListValues<TimeWindow>{}));
  h.declareSideOutput(late);
  h.processElement({1, 0, 1}, 0);
  h.processElement({1, 5, 2}, 5);  // [0, 15)
  h.processWatermark(14);
  EXPECT_EQ(h.extractOutput(), (std::vector<StreamRecord<Fired>>{{{1, 0, 15, {1, 2}}, 14}}));
  // Late, but the session is kept until 14 + 20: it extends the session to [0, 22), whose end
  // the watermark has not passed: the merged session fires when it does.
  h.processElement({1, 12, 3}, 12);
  EXPECT_TRUE(h.extractOutput().empty());
  h.processWatermark(21);
  auto out = h.extractOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 21);
  EXPECT_EQ(out[0].value.end, 22);
  EXPECT_EQ(sorted(out[0].value.values), (std::vector<int64_t>{1, 2, 3}));
  // Inside the fired session: fires at once with everything.
  h.processElement({1, 3, 4}, 3);
  out = h.extractOutput();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sorted(out[0].value.values), (std::vector<int64_t>{1, 2, 3, 4}));
  h.processWatermark(41);            // cleanup at 21 + 20
  h.processElement({1, 1, 5}, 1);    // [1, 11): late beyond lateness
  h.processElement({1, 35, 6}, 35);  // [35, 45): a new session
  EXPECT_TRUE(h.extractOutput().empty());
  EXPECT_EQ(h.extractSideOutput(late), (std::vector<StreamRecord<Event>>{{{1, 1, 5}, 1}}));
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Fired>{{1, 35, 45, {6}}}));
}

/// Counts onMerge calls (state of the test, not of the trigger).
struct CountingMergeTrigger final : Trigger<Event, TimeWindow> {
  std::shared_ptr<int> merges = std::make_shared<int>(0);
  TriggerResult onElement(const Event&, Timestamp, const TimeWindow& w,
                          TriggerContext& ctx) override {
    ctx.registerEventTimeTimer(w.maxTimestamp());
    return TriggerResult::kContinue;
  }
  TriggerResult onEventTime(Timestamp t, const TimeWindow& w, TriggerContext&) override {
    return t == w.maxTimestamp() ? TriggerResult::kFire : TriggerResult::kContinue;
  }
  TriggerResult onProcessingTime(Timestamp, const TimeWindow&, TriggerContext&) override {
    return TriggerResult::kContinue;
  }
  bool canMerge() const override { return true; }
  void onMerge(const TimeWindow& w, OnMergeContext& ctx) override {
    ++*merges;
    ctx.registerEventTimeTimer(w.maxTimestamp());
  }
  void clear(const TimeWindow& w, TriggerContext& ctx) override {
    ctx.deleteEventTimeTimer(w.maxTimestamp());
  }
  std::unique_ptr<Trigger<Event, TimeWindow>> clone() const override {
    return std::make_unique<CountingMergeTrigger>(*this);
  }
};

// Flink's MergingWindowSet calls the merge function only when the session set changes: a new
// window that lies inside an existing session (or equals it) is not a merge.
TEST(Sessions, TriggerOnMergeOnlyWhenWindowsReallyMerge) {
  CountingMergeTrigger trigger;
  auto merges = trigger.merges;
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withDynamicGap<Event>(
                                   [](const Event& e) { return e.value; }))
                       .trigger(std::make_unique<CountingMergeTrigger>(trigger))
                       .process(ListValues<TimeWindow>{}));
  h.processElement({1, 0, 20}, 0);  // [0, 20)
  EXPECT_EQ(*merges, 0);
  h.processElement({1, 5, 5}, 5);  // [5, 10): inside
  EXPECT_EQ(*merges, 0);
  h.processElement({1, 0, 20}, 0);  // the same window again
  EXPECT_EQ(*merges, 0);
  h.processElement({1, 15, 10}, 15);  // [15, 25): extends
  EXPECT_EQ(*merges, 1);
  h.processWatermark(kMaxWatermark);
  auto out = values(h.extractOutput());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].start, 0);
  EXPECT_EQ(out[0].end, 25);
  EXPECT_EQ(sorted(out[0].values), (std::vector<int64_t>{5, 10, 20, 20}));
}

TEST(Sessions, ReduceAndAggregateMergeAccumulators) {
  auto sessions = [] { return EventTimeSessionWindows::withGap<Event>(milliseconds(10)); };
  Harness<Event> reduce(TimeWindows(sessions()).reduce(SumReduce{}));
  Harness<CountSum> aggregate(TimeWindows(sessions()).aggregate(CountSumAgg{}));
  // [0, 40) chains up once 10 and 20 arrive; [45, 55) and [60, 70) stay apart.
  for (Timestamp ts : {0, 30, 20, 10, 60, 45}) {
    reduce.processElement({1, ts, ts}, ts);
    aggregate.processElement({1, ts, ts}, ts);
  }
  reduce.processWatermark(kMaxWatermark);
  aggregate.processWatermark(kMaxWatermark);
  EXPECT_EQ(reduce.extractOutput(), (std::vector<StreamRecord<Event>>{
                                        {{1, 30, 60}, 39}, {{1, 45, 45}, 54}, {{1, 60, 60}, 69}}));
  EXPECT_EQ(values(aggregate.extractOutput()), (std::vector<CountSum>{{4, 60}, {1, 45}, {1, 60}}));
}

struct UsesWindowState : ProcessWindowFunction<Event, Fired, int32_t, TimeWindow> {
  void process(const int32_t&, Context& ctx, const std::vector<Event>&,
               Collector<Fired>&) override {
    ctx.windowState().getState(ValueStateDescriptor<int64_t>("x")).update(1);
  }
};

// Flink refuses per-window state with merging windows: a window merged away would keep it.
TEST(Sessions, PerWindowStateIsRejected) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .process(UsesWindowState{}));
  h.processElement({1, 0, 1}, 0);
  try {
    h.processWatermark(kMaxWatermark);
    FAIL() << "expected an exception";
  } catch (const SluiceException& e) {
    EXPECT_NE(std::string(e.what()).find("Per-window state is not supported"), std::string::npos)
        << e.what();
  }
}

TEST(Sessions, EvictorsSeeTheMergedElements) {
  Harness<Fired> h(TimeWindows(EventTimeSessionWindows::withGap<Event>(milliseconds(10)))
                       .evictor(TimeEvictor<Event, TimeWindow>::of(milliseconds(15)))
                       .process(ListValues<TimeWindow>{}));
  for (Timestamp ts : {0, 20, 10, 25}) h.processElement({1, ts, ts}, ts);
  h.processWatermark(kMaxWatermark);
  auto out = values(h.extractOutput());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end, 35);
  EXPECT_EQ(sorted(out[0].values), (std::vector<int64_t>{20, 25}));  // > 25 − 15
}

}  // namespace window_operator_test
}  // namespace sluice
