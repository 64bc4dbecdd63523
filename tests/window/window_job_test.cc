// Windows in whole jobs: an idle source subtask must not stall event time, windowAll runs
// non-parallel inside a parallel job, GlobalWindows with a custom trigger, and the order of an
// event and the watermark it generates (Flink emits the event first).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "sluice/api/windowed_stream.h"
#include "sluice/runtime/timestamps_and_watermarks.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"
#include "window/window_test_types.h"

namespace sluice {
namespace window_job_test {

using std::chrono::milliseconds;
using window_testing::Event;
using window_testing::KeyOf;
using window_testing::Result;

template <typename K>
struct ToResult : ProcessWindowFunction<Event, Result, K, TimeWindow> {
  using Ctx = ProcessWindowContext<K, TimeWindow>;
  void process(const K& key, Ctx& ctx, const std::vector<Event>& elements,
               Collector<Result>& out) override {
    Result r{static_cast<int32_t>(key), ctx.window().start, ctx.window().end, 0, 0};
    for (const auto& e : elements) {
      ++r.count;
      r.sum += e.value;
    }
    out.collect(r);
  }
};

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// ---- idleness ------------------------------------------------------------------------------

/// Two source subtasks: 0 emits 50 events (ts 0..4900) then idles, 1 emits nothing, both until
/// released. Returns the results seen before the release and at the end.
std::pair<std::vector<Result>, std::vector<Result>> runWithIdleSubtask() {
  auto clock = std::make_shared<ManualClock>(0);
  auto env = testing::makeEnv(2);
  env->setClock(clock).setAutoWatermarkInterval(10);
  auto released = std::make_shared<std::atomic<bool>>(false);
  auto emitted = std::make_shared<std::atomic<int>>(0);
  auto source = std::make_shared<testing::FunctionSource<Event>>(
      [released, emitted](ReaderOutput<Event>& out, int subtask) {
        if (subtask == 0 && *emitted < 50) {
          int i = emitted->fetch_add(1);
          out.collect(Event{i % 3, i * 100, i});
          return InputStatus::kMoreAvailable;
        }
        if (released->load()) return InputStatus::kEndOfInput;
        std::this_thread::sleep_for(milliseconds(1));  // an idle reader polls, it does not spin
        return InputStatus::kMoreAvailable;
      });
  auto strategy = WatermarkStrategy<Event>::forMonotonousTimestamps()
                      .withIdleness(milliseconds(100))
                      .withTimestampAssigner([](const Event& e) { return e.ts; });
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  env->fromSource<Event, testing::SubtaskSplit>(source, strategy, "OneIdle")
      .keyBy(KeyOf{})
      .window(TumblingEventTimeWindows::of<Event>(milliseconds(1000)))
      .process(ToResult<int32_t>{})
      .sinkTo(sink);
  auto client = env->executeAsync();
  // Subtask 0's watermark reaches 4899: [0, 1000) … [3000, 4000) fire for the three keys.
  bool fired = testing::eventually([&] {
    clock->advance(10);
    return sink->shared()->count.load() >= 12;
  });
  std::vector<Result> early = sorted(sink->values());
  released->store(true);
  client->getJobExecutionResult();
  EXPECT_TRUE(fired) << "windows did not fire while a source subtask was idle";
  return {early, sorted(sink->values())};
}

std::vector<Result> idleExpected(Timestamp maxEnd) {
  std::map<std::pair<int32_t, Timestamp>, Result> windows;
  auto add = [&](int32_t key, Timestamp ts, int64_t value) {
    Timestamp start = ts / 1000 * 1000;
    auto& r =
        windows.try_emplace({key, start}, Result{key, start, start + 1000, 0, 0}).first->second;
    ++r.count;
    r.sum += value;
  };
  for (int i = 0; i < 50; ++i) add(i % 3, i * 100, i);
  std::vector<Result> out;
  for (auto& [k, r] : windows) {
    if (r.end <= maxEnd) out.push_back(r);
  }
  return out;
}

// Source subtask 1 never emits. With withIdleness it is marked idle after 100 ms of (manual)
// processing time, so the windows of subtask 0's data fire before the end of input; at the end
// both subtasks are idle, and each goes active again before its final Long.MAX_VALUE watermark
// (as Flink), so the last windows fire too.
TEST(WindowJobs, IdleSourceSubtaskDoesNotStallWindows) {
  auto [early, all] = runWithIdleSubtask();
  EXPECT_EQ(early, idleExpected(4000));
  EXPECT_EQ(all, idleExpected(kMaxWatermark));
}

// ---- windowAll -----------------------------------------------------------------------------

struct AllToResult : ProcessWindowFunction<Event, Result, uint8_t, TimeWindow> {
  std::shared_ptr<std::atomic<int>> parallelism = std::make_shared<std::atomic<int>>(0);
  OutputTag<std::string> notes{"notes"};
  void open(RuntimeContext& context) override {
    parallelism->store(context.getNumberOfParallelSubtasks());
  }
  void process(const uint8_t&, Context& ctx, const std::vector<Event>& elements,
               Collector<Result>& out) override {
    Result r{-1, ctx.window().start, ctx.window().end, 0, 0};
    for (const auto& e : elements) {
      ++r.count;
      r.sum += e.value;
    }
    out.collect(r);
    ctx.output(notes, std::to_string(ctx.window().start));
  }
};

struct CountSum {
  int64_t count = 0;
  int64_t sum = 0;
};
struct CountSumAgg : AggregateFunction<Event, CountSum, CountSum> {
  CountSum createAccumulator() override { return {}; }
  CountSum add(const Event& e, CountSum acc) override { return {acc.count + 1, acc.sum + e.value}; }
  CountSum getResult(const CountSum& acc) override { return acc; }
  CountSum merge(CountSum a, CountSum b) override { return {a.count + b.count, a.sum + b.sum}; }
};
struct AllAggToResult : ProcessWindowFunction<CountSum, Result, uint8_t, TimeWindow> {
  void process(const uint8_t&, Context& ctx, const std::vector<CountSum>& in,
               Collector<Result>& out) override {
    out.collect(Result{-1, ctx.window().start, ctx.window().end, in.at(0).count, in.at(0).sum});
  }
};

TEST(WindowJobs, WindowAllRunsWithParallelismOneInAParallelJob) {
  std::mt19937 rng(17);
  std::vector<Event> events;
  for (int i = 0; i < 4000; ++i) {
    events.push_back(Event{static_cast<int32_t>(rng() % 30),
                           -3000 + 5 * i - static_cast<Timestamp>(rng() % 300),
                           static_cast<int64_t>(rng() % 100)});
  }
  auto env = testing::makeEnv(4);
  env->setAutoWatermarkInterval(5);
  auto shared = std::make_shared<const std::vector<Event>>(events);
  auto next = std::make_shared<std::vector<std::atomic<size_t>>>(4);
  for (size_t i = 0; i < 4; ++i) (*next)[i] = i;
  auto source = std::make_shared<testing::FunctionSource<Event>>(
      [shared, next](ReaderOutput<Event>& out, int subtask) {
        auto& i = (*next)[static_cast<size_t>(subtask)];
        if (i >= shared->size()) return InputStatus::kEndOfInput;
        out.collect((*shared)[i]);
        i += 4;
        return InputStatus::kMoreAvailable;
      });
  auto strategy = WatermarkStrategy<Event>::forBoundedOutOfOrderness(milliseconds(300))
                      .withTimestampAssigner([](const Event& e) { return e.ts; });
  auto stream = env->fromSource<Event, testing::SubtaskSplit>(source, strategy, "Events");
  AllToResult fn;
  auto parallelism = fn.parallelism;
  auto all = stream.windowAll(TumblingEventTimeWindows::of<Event>(milliseconds(700))).process(fn);
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  auto notes = std::make_shared<testing::CollectSink<std::string>>();
  all.sinkTo(sink);
  all.getSideOutput(fn.notes).sinkTo(notes);
  auto aggSink = std::make_shared<testing::CollectSink<Result>>();
  stream.windowAll(SlidingEventTimeWindows::of<Event>(milliseconds(700), milliseconds(350)))
      .aggregate(CountSumAgg{}, AllAggToResult{})
      .sinkTo(aggSink);
  env->execute();
  EXPECT_EQ(parallelism->load(), 1);

  std::map<Timestamp, Result> tumbling, sliding;
  for (auto& e : events) {
    Timestamp s = e.ts - ((e.ts % 700) + 700) % 700;
    auto& t = tumbling.try_emplace(s, Result{-1, s, s + 700, 0, 0}).first->second;
    ++t.count;
    t.sum += e.value;
    for (Timestamp start = e.ts - ((e.ts % 350) + 350) % 350; start > e.ts - 700; start -= 350) {
      auto& r = sliding.try_emplace(start, Result{-1, start, start + 700, 0, 0}).first->second;
      ++r.count;
      r.sum += e.value;
    }
  }
  std::vector<Result> expectTumbling, expectSliding;
  for (auto& [s, r] : tumbling) expectTumbling.push_back(r);
  for (auto& [s, r] : sliding) expectSliding.push_back(r);
  EXPECT_EQ(sorted(sink->values()), expectTumbling);
  EXPECT_EQ(sorted(aggSink->values()), expectSliding);
  EXPECT_EQ(notes->values().size(), expectTumbling.size());
}

// ---- GlobalWindows with a custom trigger ---------------------------------------------------

/// Fires and purges on a marker (value < 0).
struct MarkerTrigger final : Trigger<Event, GlobalWindow> {
  TriggerResult onElement(const Event& e, Timestamp, const GlobalWindow&,
                          TriggerContext&) override {
    return e.value < 0 ? TriggerResult::kFireAndPurge : TriggerResult::kContinue;
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

struct Batch {
  int32_t key = 0;
  std::vector<int64_t> values;
  friend auto operator<=>(const Batch&, const Batch&) = default;
};
struct ToBatch : ProcessWindowFunction<Event, Batch, int32_t, GlobalWindow> {
  void process(const int32_t& key, Context&, const std::vector<Event>& elements,
               Collector<Batch>& out) override {
    Batch b{key, {}};
    for (const auto& e : elements) b.values.push_back(e.value);
    out.collect(b);
  }
};

class GlobalWindowJob : public ::testing::TestWithParam<int> {};

TEST_P(GlobalWindowJob, CustomTriggerBatchesPerKeyInArrivalOrder) {
  std::mt19937 rng(3);
  std::vector<Event> events;
  for (int i = 0; i < 3000; ++i) {
    int64_t v = rng() % 10 == 0 ? -i : i;
    events.push_back(Event{static_cast<int32_t>(rng() % 13), i, v});
  }
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<Batch>>();
  env->fromCollection(events)
      .keyBy(KeyOf{})
      .window(GlobalWindows::create<Event>())
      .trigger(std::make_shared<MarkerTrigger>())
      .process(ToBatch{})
      .sinkTo(sink);
  env->execute();
  std::map<int32_t, std::vector<int64_t>> pending;
  std::vector<Batch> expected;
  for (auto& e : events) {
    pending[e.key].push_back(e.value);
    if (e.value < 0) {
      expected.push_back({e.key, pending[e.key]});
      pending[e.key].clear();
    }
  }
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, GlobalWindowJob, ::testing::Values(1, 4));

// ---- the order of an event and its watermark -----------------------------------------------

/// Watermark = the event's own timestamp: the event itself is not late, later ones at or
/// before it are.
struct WatermarkAtEvent final : WatermarkGenerator<Event> {
  void onEvent(const Event&, Timestamp ts, WatermarkOutput& out) override {
    out.emitWatermark(Watermark{ts});
  }
  void onPeriodicEmit(WatermarkOutput&) override {}
};

// Flink's SourceOutputWithWatermarks and TimestampsAndWatermarksOperator emit an event before
// calling the watermark generator's onEvent ("The event must be emitted before the watermark
// generator is called"), so a watermark generated from an event never makes that event late.
TEST(EventAndWatermarkOrder, SourceEmitsTheEventBeforeItsWatermark) {
  auto env = testing::makeEnv(1);
  env->setAutoWatermarkInterval(0);
  auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                    return std::make_unique<WatermarkAtEvent>();
                  }).withTimestampAssigner([](const Event& e) { return e.ts; });
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  std::vector<Event> events{{1, 5, 1}, {1, 9, 2}, {1, 15, 3}};
  env->fromSource<Event, CollectionSplit>(std::make_shared<CollectionSource<Event>>(events),
                                          strategy, "Events")
      .keyBy(KeyOf{})
      .window(TumblingEventTimeWindows::of<Event>(milliseconds(10)))
      .process(ToResult<int32_t>{})
      .sinkTo(sink);
  env->execute();
  EXPECT_EQ(sorted(sink->values()), (std::vector<Result>{{1, 0, 10, 2, 3}, {1, 10, 20, 1, 3}}));
}

TEST(EventAndWatermarkOrder, AssignTimestampsEmitsTheEventBeforeItsWatermark) {
  auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                    return std::make_unique<WatermarkAtEvent>();
                  }).withTimestampAssigner([](const Event& e) { return e.ts; });
  testing::OneInputStreamOperatorTestHarness<Event, Event> h(
      std::make_unique<TimestampsAndWatermarksOperator<Event>>(strategy));
  h.processElement({1, 5, 1});
  ASSERT_EQ(h.output().size(), 2u);
  EXPECT_TRUE(std::holds_alternative<testing::StreamRecord<Event>>(h.output()[0]));
  EXPECT_EQ(std::get<Watermark>(h.output()[1]).timestamp, 5);
}

}  // namespace window_job_test
}  // namespace sluice
