// KeyedProcessFunction: keyed state per key and event-time timers, against brute force.

#include <gtest/gtest.h>

#include <map>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace process_smoke {

using Event = std::pair<int32_t, int64_t>;  // (key, timestamp)

/// Counts events per key in ValueState and emits (key, count) when the watermark passes the
/// key's last event + 100 ms.
struct CountUntilQuiet : KeyedProcessFunction<int32_t, Event, std::pair<int32_t, int64_t>> {
  void processElement(const Event& e, Context& ctx,
                      Collector<std::pair<int32_t, int64_t>>&) override {
    auto& count = getState(ValueStateDescriptor<int64_t>("count"));
    count.update(count.value().value_or(0) + 1);
    auto& last = getState(ValueStateDescriptor<int64_t>("last"));
    if (auto previous = last.value()) ctx.timerService().deleteEventTimeTimer(*previous + 100);
    last.update(e.second);
    ctx.timerService().registerEventTimeTimer(e.second + 100);
  }
  void onTimer(Timestamp, OnTimerContext& ctx,
               Collector<std::pair<int32_t, int64_t>>& out) override {
    auto& count = getState(ValueStateDescriptor<int64_t>("count"));
    out.collect({ctx.getCurrentKey(), *count.value()});
    count.clear();
    getState(ValueStateDescriptor<int64_t>("last")).clear();
  }
};

class ProcessSmoke : public ::testing::TestWithParam<int> {};

TEST_P(ProcessSmoke, StatePerKeyAndTimersMatchBruteForce) {
  std::vector<Event> events;
  for (int i = 0; i < 2000; ++i)
    events.emplace_back(i % 7, (i / 7) * 10 + (i % 3) * 300 * ((i / 50) % 2));
  std::sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.second < b.second; });
  auto env = testing::makeEnv(GetParam());
  env->setAutoWatermarkInterval(0);
  auto strategy = WatermarkStrategy<Event>::forGenerator([] {
                    struct P : WatermarkGenerator<Event> {
                      void onEvent(const Event&, Timestamp ts, WatermarkOutput& o) override {
                        o.emitWatermark(Watermark{ts - 1});
                      }
                      void onPeriodicEmit(WatermarkOutput&) override {}
                    };
                    return std::make_unique<P>();
                  }).withTimestampAssigner([](const Event& e) { return e.second; });
  auto sink = std::make_shared<testing::CollectSink<std::pair<int32_t, int64_t>>>();
  // One source subtask: its punctuated watermarks are the only ones (idle subtasks would hold
  // event time back until the end).
  env->fromSource(std::make_shared<CollectionSource<Event>>(events), strategy, "Events")
      .setParallelism(1)
      .keyBy([](const Event& e) { return e.first; })
      .process(CountUntilQuiet{})
      .sinkTo(sink);
  env->execute();
  // Brute force: per key, split its (sorted) events where the gap to the next is >= 100 ms...
  // and only where the watermark (next event's ts - 1 of ANY key) passes last + 100 first.
  std::map<int32_t, std::vector<int64_t>> byKey;
  for (auto& [k, ts] : events) byKey[k].push_back(ts);
  std::vector<std::pair<int32_t, int64_t>> expected;
  for (auto& [k, ts] : byKey) {
    int64_t count = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      ++count;
      // The timer at ts[i] + 100 fires before the key's next event iff some event between
      // them (of any key) has timestamp - 1 >= ts[i] + 100, i.e. the next event of this key is
      // later than that: since events are sorted, iff the next key event has ts > ts[i] + 100
      // and an event with ts >= ts[i] + 101 arrives no later than it.
      bool fires = i + 1 == ts.size() || ts[i + 1] >= ts[i] + 101;
      if (fires) {
        expected.emplace_back(k, count);
        count = 0;
      }
    }
  }
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, ProcessSmoke, ::testing::Values(1, 4));

}  // namespace process_smoke
}  // namespace sluice
