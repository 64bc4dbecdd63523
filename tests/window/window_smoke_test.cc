// Windows end to end against brute force: tumbling, sliding, session, count windows.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sluice/api/windowed_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace window_smoke {

using Event = std::pair<int32_t, int64_t>;             // (key, timestamp ms)
using Result = std::tuple<int32_t, int64_t, int64_t>;  // (key, window start, count)

std::vector<Event> outOfOrderEvents(int n, int keys, int64_t maxDelay, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    int64_t ts = i * 10 - static_cast<int64_t>(rng() % static_cast<uint32_t>(maxDelay));
    events.emplace_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(keys)),
                        std::max<int64_t>(0, ts));
  }
  return events;
}

struct CountWithWindow : ProcessWindowFunction<Event, Result, int32_t, TimeWindow> {
  void process(const int32_t& key, Context& ctx, const std::vector<Event>& elements,
               Collector<Result>& out) override {
    out.collect({key, ctx.window().start, static_cast<int64_t>(elements.size())});
  }
};

struct CountAgg : AggregateFunction<Event, int64_t, int64_t> {
  int64_t createAccumulator() override { return 0; }
  int64_t add(const Event&, int64_t acc) override { return acc + 1; }
  int64_t getResult(const int64_t& acc) override { return acc; }
  int64_t merge(int64_t a, int64_t b) override { return a + b; }
};

struct TagWindow : ProcessWindowFunction<int64_t, Result, int32_t, TimeWindow> {
  void process(const int32_t& key, Context& ctx, const std::vector<int64_t>& counts,
               Collector<Result>& out) override {
    out.collect({key, ctx.window().start, counts.at(0)});
  }
};

std::vector<Result> sorted(std::vector<Result> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class WindowSmoke : public ::testing::TestWithParam<int> {};

TEST_P(WindowSmoke, SlidingAndTumblingCountsMatchBruteForce) {
  auto events = outOfOrderEvents(5000, 7, 500, 42);
  for (auto [size, slide] : {std::pair<int64_t, int64_t>{1000, 1000}, {1000, 250}, {700, 300}}) {
    auto env = testing::makeEnv(GetParam());
    auto sink = std::make_shared<testing::CollectSink<Result>>();
    auto strategy =
        WatermarkStrategy<Event>::forBoundedOutOfOrderness(std::chrono::milliseconds(500))
            .withTimestampAssigner([](const Event& e) { return e.second; });
    env->fromSource<Event, CollectionSplit>(std::make_shared<CollectionSource<Event>>(events),
                                            strategy, "Events")
        .keyBy([](const Event& e) { return e.first; })
        .window(SlidingEventTimeWindows::of<Event>(std::chrono::milliseconds(size),
                                                   std::chrono::milliseconds(slide)))
        .aggregate(CountAgg{}, TagWindow{})
        .sinkTo(sink);
    env->execute();

    std::map<std::pair<int32_t, int64_t>, int64_t> expected;
    for (auto& [key, ts] : events) {
      for (int64_t start = ts - ((ts % slide) + slide) % slide; start > ts - size; start -= slide) {
        ++expected[{key, start}];
      }
    }
    std::vector<Result> expect;
    for (auto& [kw, c] : expected) expect.emplace_back(kw.first, kw.second, c);
    EXPECT_EQ(sorted(sink->values()), sorted(expect)) << size << "/" << slide;
  }
}

TEST_P(WindowSmoke, SessionWindowsMergeLikeSortAndScan) {
  auto events = outOfOrderEvents(3000, 5, 300, 7);
  // Thin the stream so that gaps appear.
  std::vector<Event> sparse;
  for (size_t i = 0; i < events.size(); ++i) {
    if ((i / 50) % 3 != 1) sparse.push_back(events[i]);
  }
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  auto strategy = WatermarkStrategy<Event>::forBoundedOutOfOrderness(std::chrono::milliseconds(300))
                      .withTimestampAssigner([](const Event& e) { return e.second; });
  env->fromSource<Event, CollectionSplit>(std::make_shared<CollectionSource<Event>>(sparse),
                                          strategy, "Events")
      .keyBy([](const Event& e) { return e.first; })
      .window(EventTimeSessionWindows::withGap<Event>(std::chrono::milliseconds(200)))
      .process(CountWithWindow{})
      .sinkTo(sink);
  env->execute();

  std::map<int32_t, std::vector<int64_t>> byKey;
  for (auto& [k, ts] : sparse) byKey[k].push_back(ts);
  std::vector<Result> expect;
  for (auto& [k, ts] : byKey) {
    std::sort(ts.begin(), ts.end());
    int64_t start = ts[0], end = ts[0] + 200, count = 0;
    for (int64_t t : ts) {
      if (t <= end) {  // touching windows intersect and merge (TimeWindow::intersects)
        end = std::max(end, t + 200);
        ++count;
      } else {
        expect.emplace_back(k, start, count);
        start = t;
        end = t + 200;
        count = 1;
      }
    }
    expect.emplace_back(k, start, count);
  }
  EXPECT_EQ(sorted(sink->values()), sorted(expect));
}

TEST_P(WindowSmoke, CountWindows) {
  std::vector<Event> events;
  for (int i = 0; i < 1000; ++i) events.emplace_back(i % 3, i);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<Event>>();
  auto sinkSliding = std::make_shared<testing::CollectSink<Event>>();
  auto keyed = env->fromCollection(events).keyBy([](const Event& e) { return e.first; });
  auto sumTs = [](const Event& a, const Event& b) { return Event{a.first, a.second + b.second}; };
  keyed.countWindow(10).reduce(sumTs).sinkTo(sink);
  keyed.countWindow(5, 2).reduce(sumTs).sinkTo(sinkSliding);
  env->execute();
  std::vector<Event> expect, expectSliding;
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> ts;
    for (auto& e : events) {
      if (e.first == k) ts.push_back(e.second);
    }
    for (size_t i = 0; i + 10 <= ts.size(); i += 10) {
      int64_t s = 0;
      for (size_t j = i; j < i + 10; ++j) s += ts[j];
      expect.emplace_back(k, s);
    }
    for (size_t n = 2; n <= ts.size(); n += 2) {  // fires every 2 elements, last 5 kept
      int64_t s = 0;
      for (size_t j = n >= 5 ? n - 5 : 0; j < n; ++j) s += ts[j];
      expectSliding.emplace_back(k, s);
    }
  }
  auto sortedE = [](std::vector<Event> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sortedE(sink->values()), sortedE(expect));
  EXPECT_EQ(sortedE(sinkSliding->values()), sortedE(expectSliding));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, WindowSmoke, ::testing::Values(1, 4));

TEST(WindowSmoke, LateElementsGoToTheSideOutput) {
  // Timestamps: 1000, 5000 (watermark with bound 0 → 4999), then 1500 is late for [1000, 2000).
  std::vector<Event> events{{1, 1000}, {1, 5000}, {1, 1500}, {1, 5100}};
  auto env = testing::makeEnv(1);
  env->setAutoWatermarkInterval(0);
  auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                    struct Punctuated : WatermarkGenerator<Event> {
                      void onEvent(const Event&, Timestamp ts, WatermarkOutput& out) override {
                        out.emitWatermark(Watermark{ts - 1});
                      }
                      void onPeriodicEmit(WatermarkOutput&) override {}
                    };
                    return std::make_unique<Punctuated>();
                  }).withTimestampAssigner([](const Event& e) { return e.second; });
  OutputTag<Event> late("late");
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  auto lateSink = std::make_shared<testing::CollectSink<Event>>();
  auto windowed = env->fromSource<Event, CollectionSplit>(
                         std::make_shared<CollectionSource<Event>>(events), strategy, "Events")
                      .keyBy([](const Event& e) { return e.first; })
                      .window(TumblingEventTimeWindows::of<Event>(std::chrono::seconds(1)))
                      .sideOutputLateData(late)
                      .process(CountWithWindow{});
  windowed.sinkTo(sink);
  windowed.getSideOutput(late).sinkTo(lateSink);
  env->execute();
  EXPECT_EQ(sorted(sink->values()), sorted({Result{1, 1000, 1}, Result{1, 5000, 2}}));
  EXPECT_EQ(lateSink->values(), (std::vector<Event>{{1, 1500}}));
}

}  // namespace window_smoke
}  // namespace sluice

namespace sluice {
namespace window_smoke {

struct SumTs : AggregateFunction<Event, int64_t, int64_t> {
  int64_t createAccumulator() override { return 0; }
  int64_t add(const Event& e, int64_t acc) override { return acc + e.second; }
  int64_t getResult(const int64_t& acc) override { return acc; }
  int64_t merge(int64_t a, int64_t b) override { return a + b; }
};

// Sliding windows run on slices unless a trigger, evictor or lateness is set; with a
// deterministic (punctuated) watermark and many late elements, both operators must agree on
// every result and on which elements are late.
TEST(WindowSmoke, SlicedSlidingWindowsEqualTheGeneralOperator) {
  auto events = outOfOrderEvents(4000, 5, 3000, 99);
  for (int64_t slide : {250, 1000}) {  // sliding and tumbling
    auto run = [&](bool general) {
      auto env = testing::makeEnv(1);
      env->setAutoWatermarkInterval(0);
      auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                        struct Punctuated : WatermarkGenerator<Event> {
                          Timestamp max = kMinWatermark;
                          void onEvent(const Event&, Timestamp ts, WatermarkOutput& out) override {
                            max = std::max(max, ts);
                            out.emitWatermark(Watermark{max - 200});
                          }
                          void onPeriodicEmit(WatermarkOutput&) override {}
                        };
                        return std::make_unique<Punctuated>();
                      }).withTimestampAssigner([](const Event& e) { return e.second; });
      OutputTag<Event> late("late");
      auto sink = std::make_shared<testing::CollectSink<Result>>();
      auto lateSink = std::make_shared<testing::CollectSink<Event>>();
      auto windowed = env->fromSource<Event, CollectionSplit>(
                             std::make_shared<CollectionSource<Event>>(events), strategy, "Events")
                          .keyBy([](const Event& e) { return e.first; })
                          .window(SlidingEventTimeWindows::of<Event>(
                              std::chrono::milliseconds(1000), std::chrono::milliseconds(slide)));
      windowed.sideOutputLateData(late);
      if (general) {
        windowed.trigger(std::shared_ptr<const Trigger<Event, TimeWindow>>(
            EventTimeTrigger<Event, TimeWindow>::create()));
      }
      struct Tag : ProcessWindowFunction<int64_t, Result, int32_t, TimeWindow> {
        void process(const int32_t& key, Context& ctx, const std::vector<int64_t>& sums,
                     Collector<Result>& out) override {
          out.collect({key, ctx.window().start, sums.at(0)});
        }
      };
      auto result = windowed.aggregate(SumTs{}, Tag{});
      result.sinkTo(sink);
      result.getSideOutput(late).sinkTo(lateSink);
      env->execute();
      auto lateValues = lateSink->values();
      std::sort(lateValues.begin(), lateValues.end());
      return std::make_pair(sorted(sink->values()), lateValues);
    };
    auto sliced = run(false);
    auto general = run(true);
    EXPECT_GT(sliced.second.size(), 10u) << "the test needs late elements";
    EXPECT_GT(sliced.first.size(), 100u);
    EXPECT_EQ(sliced.first, general.first) << slide;
    EXPECT_EQ(sliced.second, general.second) << slide;
  }
}

}  // namespace window_smoke
}  // namespace sluice

namespace sluice {
namespace window_smoke {

// A generator that emits in onEvent must not let its watermark overtake the record: the second
// event touches the first session ([0, 1000) and [1000, 2000) merge), and the watermark 999 it
// triggers must come after it.
TEST(WindowSmoke, WatermarkFromOnEventFollowsItsRecord) {
  std::vector<Event> events{{1, 0}, {1, 1000}};
  auto env = testing::makeEnv(1);
  env->setAutoWatermarkInterval(0);
  auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                    struct Punctuated : WatermarkGenerator<Event> {
                      void onEvent(const Event&, Timestamp ts, WatermarkOutput& out) override {
                        out.emitWatermark(Watermark{ts - 1});
                      }
                      void onPeriodicEmit(WatermarkOutput&) override {}
                    };
                    return std::make_unique<Punctuated>();
                  }).withTimestampAssigner([](const Event& e) { return e.second; });
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  env->fromSource<Event, CollectionSplit>(std::make_shared<CollectionSource<Event>>(events),
                                          strategy, "Events")
      .keyBy([](const Event& e) { return e.first; })
      .window(EventTimeSessionWindows::withGap<Event>(std::chrono::milliseconds(1000)))
      .process(CountWithWindow{})
      .sinkTo(sink);
  env->execute();
  EXPECT_EQ(sink->values(), (std::vector<Result>{{1, 0, 2}}));
}

}  // namespace window_smoke
}  // namespace sluice

namespace sluice {
namespace window_smoke {

// Flink's untyped factories: the stream supplies the element type; the results equal the typed
// assigner's.
TEST(WindowSmoke, UntypedAssignerFactoriesEqualTypedOnes) {
  auto events = outOfOrderEvents(2000, 4, 300, 3);
  auto run = [&](bool untyped) {
    auto env = testing::makeEnv(2);
    auto strategy =
        WatermarkStrategy<Event>::forBoundedOutOfOrderness(std::chrono::milliseconds(300))
            .withTimestampAssigner([](const Event& e) { return e.second; });
    auto sink = std::make_shared<testing::CollectSink<Result>>();
    auto keyed = env->fromSource<Event, CollectionSplit>(
                        std::make_shared<CollectionSource<Event>>(events), strategy, "Events")
                     .keyBy([](const Event& e) { return e.first; });
    if (untyped) {
      keyed.window(EventTimeSessionWindows::withGap(std::chrono::milliseconds(50)))
          .process(CountWithWindow{})
          .sinkTo(sink);
    } else {
      keyed.window(EventTimeSessionWindows::withGap<Event>(std::chrono::milliseconds(50)))
          .process(CountWithWindow{})
          .sinkTo(sink);
    }
    env->execute();
    return sorted(sink->values());
  };
  auto typed = run(false);
  EXPECT_GT(typed.size(), 10u);
  EXPECT_EQ(run(true), typed);
  EXPECT_THROW(TumblingEventTimeWindows::of(std::chrono::milliseconds(0)), ConfigurationException);
}

}  // namespace window_smoke
}  // namespace sluice

namespace sluice {
namespace window_smoke {

// The README's event-time example, with the source type deduced.
TEST(WindowSmoke, ReadmeExampleRuns) {
  struct Sale {
    std::string country;
    int64_t timeMillis;
    double amount;
  };
  std::vector<Sale> sales{
      {"UK", 1000, 1.5}, {"UK", 3'600'000, 2.0}, {"FR", 10, 4.0}, {"UK", 2000, 2.5}};
  auto env = testing::makeEnv(2);
  auto strategy = WatermarkStrategy<Sale>::forBoundedOutOfOrderness(std::chrono::minutes(1))
                      .withTimestampAssigner([](const Sale& s) { return s.timeMillis; });
  auto sink = std::make_shared<testing::CollectSink<std::pair<std::string, double>>>();
  env->fromSource(std::make_shared<CollectionSource<Sale>>(sales), strategy, "Sales")
      .keyBy([](const Sale& s) { return s.country; })
      .window(TumblingEventTimeWindows::of(std::chrono::hours(1)))
      .reduce([](const Sale& a, const Sale& b) {
        return Sale{a.country, a.timeMillis, a.amount + b.amount};
      })
      .map([](const Sale& s) { return std::pair<std::string, double>(s.country, s.amount); })
      .sinkTo(sink);
  env->execute();
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got,
            (std::vector<std::pair<std::string, double>>{{"FR", 4.0}, {"UK", 2.0}, {"UK", 4.0}}));
}

}  // namespace window_smoke
}  // namespace sluice
