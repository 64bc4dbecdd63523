// Timers of a KeyedProcessFunction: deduplication, deletion, firing order across keys, the
// watermark after the timers it fires, the timer's key, domain and timestamp, processing time,
// side outputs; and in whole jobs against an oracle.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"

namespace sluice {
namespace timers_test {

/// (key, timer timestamp, command): 'e' event timer, 'p' processing timer, 'd' delete event
/// timer, 'q' delete processing timer.
struct Cmd {
  int32_t key;
  int64_t time;
  char op;
};
/// (key, timestamp, 'e'/'p'): what onTimer saw.
using Fired = std::tuple<int32_t, int64_t, char>;

const OutputTag<std::string> kLate("late");

struct Timers : KeyedProcessFunction<int32_t, Cmd, Fired> {
  void processElement(const Cmd& c, Context& ctx, Collector<Fired>&) override {
    EXPECT_EQ(ctx.getCurrentKey(), c.key);
    auto& ts = ctx.timerService();
    switch (c.op) {
      case 'e':
        ts.registerEventTimeTimer(c.time);
        break;
      case 'p':
        ts.registerProcessingTimeTimer(c.time);
        break;
      case 'd':
        ts.deleteEventTimeTimer(c.time);
        break;
      case 'q':
        ts.deleteProcessingTimeTimer(c.time);
        break;
      case 's':
        ctx.output(kLate, "element " + std::to_string(c.key));
        break;
      default:
        break;
    }
  }
  void onTimer(Timestamp timestamp, OnTimerContext& ctx, Collector<Fired>& out) override {
    bool event = ctx.timeDomain() == TimeDomain::kEventTime;
    if (event) {
      EXPECT_EQ(ctx.timestamp(), std::optional<Timestamp>(timestamp));
      EXPECT_LE(timestamp, ctx.timerService().currentWatermark());
    } else {
      EXPECT_LE(timestamp, ctx.timerService().currentProcessingTime());
    }
    out.collect({ctx.getCurrentKey(), timestamp, event ? 'e' : 'p'});
    ctx.output(kLate, "timer " + std::to_string(ctx.getCurrentKey()));
  }
};

int32_t keyOf(const Cmd& c) { return c.key; }
using KeyFn = int32_t (*)(const Cmd&);
using Op = KeyedProcessOperator<int32_t, Cmd, Fired, KeyFn, Timers>;
using Harness = testing::OneInputStreamOperatorTestHarness<Cmd, Fired>;
using Record = testing::StreamRecord<Fired>;

std::unique_ptr<Harness> makeHarness() {
  return std::make_unique<Harness>(std::make_unique<Op>(&keyOf, Timers{}));
}

TEST(TimersHarness, RegisteredTwiceFiresOnce) {
  auto h = makeHarness();
  h->processElement({1, 10, 'e'}, 5);
  h->processElement({1, 10, 'e'}, 6);
  h->processElement({2, 10, 'e'}, 6);  // another key: its own timer
  EXPECT_EQ(static_cast<Op&>(h->getOperator()).numEventTimeTimers(), 2u);
  h->processWatermark(100);
  EXPECT_EQ(h->extractOutput(), (std::vector<Record>{{{1, 10, 'e'}, 10}, {{2, 10, 'e'}, 10}}));
  h->processWatermark(200);
  EXPECT_TRUE(h->extractOutput().empty());
}

TEST(TimersHarness, DeletedTimersDoNotFire) {
  auto h = makeHarness();
  h->processElement({1, 10, 'e'});
  h->processElement({1, 11, 'e'});
  h->processElement({2, 10, 'e'});
  h->processElement({1, 10, 'd'});
  h->processElement({3, 10, 'd'});  // never registered: no effect
  h->processWatermark(50);
  EXPECT_EQ(h->extractOutputValues(), (std::vector<Fired>{{2, 10, 'e'}, {1, 11, 'e'}}));
}

TEST(TimersHarness, FireInTimestampOrderAcrossKeysWithTheirKey) {
  auto h = makeHarness();
  std::mt19937 rng(3);
  std::set<std::pair<int64_t, int32_t>> expected;
  for (int i = 0; i < 500; ++i) {
    auto key = static_cast<int32_t>(rng() % 40);
    auto time = static_cast<int64_t>(rng() % 1000);
    h->processElement({key, time, 'e'});
    expected.emplace(time, key);
  }
  // Fire in two steps; each step exactly the timers <= its watermark, ordered by time.
  h->processWatermark(499);
  std::vector<Fired> got = h->extractOutputValues();
  h->processWatermark(999);
  auto rest = h->extractOutputValues();
  size_t firstStep = got.size();
  got.insert(got.end(), rest.begin(), rest.end());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(std::get<1>(got[i - 1]), std::get<1>(got[i]));
    }
    EXPECT_EQ(std::get<1>(got[i]) <= 499, i < firstStep);
  }
  // The (time, key) pairs are exactly the registered ones: each fired with its own key.
  std::set<std::pair<int64_t, int32_t>> gotSet;
  for (auto& f : got) gotSet.emplace(std::get<1>(f), std::get<0>(f));
  EXPECT_EQ(gotSet, expected);
}

TEST(TimersHarness, WatermarkForwardedAfterTheTimersItFires) {
  auto h = makeHarness();
  h->processElement({1, 10, 'e'});
  h->processElement({2, 20, 'e'});
  h->processElement({3, 30, 'e'});
  h->processWatermark(25);
  const auto& out = h->output();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<Record>(out[0]), (Record{{1, 10, 'e'}, 10}));
  EXPECT_EQ(std::get<Record>(out[1]), (Record{{2, 20, 'e'}, 20}));
  EXPECT_EQ(std::get<Watermark>(out[2]).timestamp, 25);
  h->processWatermark(30);
  ASSERT_EQ(h->output().size(), 5u);
  EXPECT_EQ(std::get<Record>(h->output()[3]), (Record{{3, 30, 'e'}, 30}));
  EXPECT_EQ(std::get<Watermark>(h->output()[4]).timestamp, 30);
}

TEST(TimersHarness, TimerRegisteredFromOnTimerAtOrBeforeWatermarkFiresInSameAdvance) {
  struct Chain : KeyedProcessFunction<int32_t, Cmd, Fired> {
    void processElement(const Cmd& c, Context& ctx, Collector<Fired>&) override {
      ctx.timerService().registerEventTimeTimer(c.time);
    }
    void onTimer(Timestamp t, OnTimerContext& ctx, Collector<Fired>& out) override {
      out.collect({ctx.getCurrentKey(), t, 'e'});
      if (t < 30) ctx.timerService().registerEventTimeTimer(t + 10);
    }
  };
  testing::OneInputStreamOperatorTestHarness<Cmd, Fired> h(
      std::make_unique<KeyedProcessOperator<int32_t, Cmd, Fired, KeyFn, Chain>>(&keyOf, Chain{}));
  h.processElement({4, 10, 'e'});
  h.processWatermark(25);
  EXPECT_EQ(h.extractOutputValues(), (std::vector<Fired>{{4, 10, 'e'}, {4, 20, 'e'}}));
  EXPECT_EQ(h.watermarks(), std::vector<Timestamp>{25});
  h.processWatermark(100);
  EXPECT_EQ(h.extractOutputValues(), (std::vector<Fired>{{4, 30, 'e'}}));
}

TEST(TimersHarness, ProcessingTimeTimersFollowTheHarnessClock) {
  auto h = makeHarness();
  h->processElement({1, 100, 'p'}, 7);
  h->processElement({2, 50, 'p'});
  h->processElement({2, 50, 'p'});  // deduplicated
  h->processElement({3, 60, 'p'});
  h->processElement({3, 60, 'q'});  // deleted
  h->processElement({4, 10, 'e'});  // event time: not fired by processing time
  h->setProcessingTime(49);
  EXPECT_TRUE(h->extractOutput().empty());
  h->setProcessingTime(80);
  // Processing-time results carry no timestamp.
  EXPECT_EQ(h->extractOutput(), (std::vector<Record>{{{2, 50, 'p'}, kNoTimestamp}}));
  h->setProcessingTime(1000);
  EXPECT_EQ(h->extractOutput(), (std::vector<Record>{{{1, 100, 'p'}, kNoTimestamp}}));
  h->processWatermark(10);
  EXPECT_EQ(h->extractOutput(), (std::vector<Record>{{{4, 10, 'e'}, 10}}));
}

TEST(TimersHarness, ProcessingTimerRegisteredEarlierThanScheduledOneFiresFirst) {
  auto h = makeHarness();
  h->processElement({1, 100, 'p'});
  h->processElement({2, 30, 'p'});
  h->processElement({3, 60, 'p'});
  h->setProcessingTime(200);
  EXPECT_EQ(h->extractOutputValues(),
            (std::vector<Fired>{{2, 30, 'p'}, {3, 60, 'p'}, {1, 100, 'p'}}));
}

TEST(TimersHarness, SideOutputsFromElementsAndTimers) {
  Harness h(std::make_unique<Op>(&keyOf, Timers{}));
  h.declareSideOutput(kLate);
  h.processElement({5, 0, 's'}, 3);
  h.processElement({6, 40, 'e'}, 4);
  h.processElement({7, 0, 's'});  // no timestamp
  h.processWatermark(40);
  EXPECT_EQ(h.extractSideOutput(kLate),
            (std::vector<testing::StreamRecord<std::string>>{
                {"element 5", 3}, {"element 7", kNoTimestamp}, {"timer 6", 40}}));
  EXPECT_EQ(h.extractOutputValues(), (std::vector<Fired>{{6, 40, 'e'}}));
}

TEST(TimersHarness, TimeDomainOutsideOnTimerFails) {
  struct Fn : KeyedProcessFunction<int32_t, Cmd, Fired> {
    void processElement(const Cmd&, Context& ctx, Collector<Fired>&) override {
      static_cast<OnTimerContext&>(ctx).timeDomain();
    }
  };
  testing::OneInputStreamOperatorTestHarness<Cmd, Fired> h(
      std::make_unique<KeyedProcessOperator<int32_t, Cmd, Fired, KeyFn, Fn>>(&keyOf, Fn{}));
  EXPECT_THROW(h.processElement({1, 1, 'e'}), SluiceException);
}

/// In a job: every element (key, ts) registers an event timer at ts + 5 (ties deduplicated)
/// and deletes the one at ts + 7 when ts % 4 == 0; each timer emits (key, time).
struct JobTimers : KeyedProcessFunction<int32_t, std::pair<int32_t, int64_t>, Fired> {
  void processElement(const std::pair<int32_t, int64_t>& e, Context& ctx,
                      Collector<Fired>&) override {
    ctx.timerService().registerEventTimeTimer(e.second + 5);
    if (e.second % 4 == 0) ctx.timerService().deleteEventTimeTimer(e.second + 7);
  }
  void onTimer(Timestamp t, OnTimerContext& ctx, Collector<Fired>& out) override {
    EXPECT_EQ(ctx.timestamp(), std::optional<Timestamp>(t));
    out.collect({ctx.getCurrentKey(), t, 'e'});
  }
};

class TimersJob : public ::testing::TestWithParam<int> {};

TEST_P(TimersJob, EveryRegisteredUndeletedTimerFiresOncePerKey) {
  std::mt19937 rng(5);
  std::vector<std::pair<int32_t, int64_t>> events;
  int64_t ts = 0;
  for (int i = 0; i < 20000; ++i) {
    ts += static_cast<int64_t>(rng() % 3);
    events.emplace_back(static_cast<int32_t>(rng() % 53), ts);
  }
  // Oracle: a timer exists while registered and not deleted, per (key, time).
  std::map<std::pair<int32_t, int64_t>, bool> live;
  for (auto [k, t] : events) {
    live[{k, t + 5}] = true;
    if (t % 4 == 0 && live.count({k, t + 7})) live[{k, t + 7}] = false;
  }
  // Deletions can only race registrations in the oracle when the watermark (monotonous:
  // ts - 1) has not passed the timer: t + 7 > t - 1 always, so the order above is the job's.
  std::vector<Fired> expected;
  for (auto& [kt, alive] : live) {
    if (alive) expected.emplace_back(kt.first, kt.second, 'e');
  }
  auto env = testing::makeEnv(GetParam());
  env->setAutoWatermarkInterval(0);
  auto strategy = WatermarkStrategy<std::pair<int32_t, int64_t>>::forMonotonousTimestamps()
                      .withTimestampAssigner([](const auto& e) { return e.second; });
  auto sink = std::make_shared<testing::CollectSink<Fired>>();
  env->fromSource(std::make_shared<CollectionSource<std::pair<int32_t, int64_t>>>(events), strategy,
                  "Events")
      .setParallelism(1)
      .keyBy([](const auto& e) { return e.first; })
      .process(JobTimers{})
      .sinkTo(sink);
  env->execute();
  auto got = sink->values();
  // Per key, timers fire in time order.
  std::map<int32_t, int64_t> last;
  for (auto& [k, t, d] : got) {
    auto it = last.find(k);
    if (it != last.end()) {
      EXPECT_LT(it->second, t);
    }
    last[k] = t;
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, TimersJob, ::testing::Values(1, 4));

}  // namespace timers_test
}  // namespace sluice
