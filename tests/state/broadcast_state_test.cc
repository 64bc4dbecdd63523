// The broadcast state pattern: a rules stream broadcast to every subtask of an events
// operator, non-keyed and keyed, whole jobs against brute force. Events are held back until
// every subtask has seen every rule, so each event sees the final rules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sluice/api/broadcast_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace broadcast_state_test {

using ::testing::HasSubstr;
using Rule = std::pair<int32_t, int64_t>;   // (rule id, threshold); threshold < 0 removes
using Event = std::pair<int32_t, int64_t>;  // (key, value)

const MapStateDescriptor<int32_t, int64_t> kRules("rules");

std::vector<Rule> makeRules() {
  std::vector<Rule> rules;
  for (int32_t i = 0; i < 40; ++i) rules.emplace_back(i % 15, 100 + (i * 37) % 900);
  rules.emplace_back(3, -1);
  rules.emplace_back(7, -1);
  return rules;
}
std::vector<Event> makeEvents() {
  std::vector<Event> events;
  for (int64_t i = 0; i < 2000; ++i)
    events.emplace_back(static_cast<int32_t>(i % 23), (i * 61) % 1000);
  return events;
}
/// The rules map after each rule, as brute force applies them.
std::vector<std::map<int32_t, int64_t>> ruleHistory(const std::vector<Rule>& rules) {
  std::vector<std::map<int32_t, int64_t>> out;
  std::map<int32_t, int64_t> m;
  for (auto& [id, threshold] : rules) {
    if (threshold < 0) {
      m.erase(id);
    } else {
      m[id] = threshold;
    }
    out.push_back(m);
  }
  return out;
}
std::string describe(const std::map<int32_t, int64_t>& m) {
  std::string s;
  for (auto& [k, v] : m) s += std::to_string(k) + "=" + std::to_string(v) + ",";
  return s;
}
/// Ids of the rules whose threshold `value` reaches.
std::string matches(const std::map<int32_t, int64_t>& m, int64_t value) {
  std::string s;
  for (auto& [k, v] : m) {
    if (value >= v) s += std::to_string(k) + ",";
  }
  return s;
}

/// Applies a rule to the broadcast state; the number of rules all subtasks applied so far is
/// counted in `applied`.
template <typename Ctx>
void applyRule(const Rule& r, Ctx& ctx, std::atomic<int>& applied) {
  auto& state = ctx.getBroadcastState(kRules);
  if (r.second < 0) {
    state.remove(r.first);
  } else {
    state.put(r.first, r.second);
  }
  applied.fetch_add(1);
}

/// Non-keyed: emits "B|subtask|rule index|state" per rule and "E|key|value|matching rule ids"
/// per event.
struct MatchRules : BroadcastProcessFunction<Event, Rule, std::string> {
  explicit MatchRules(std::shared_ptr<std::atomic<int>> a) : applied(std::move(a)) {}
  void open(RuntimeContext& context) override { subtask = context.getIndexOfThisSubtask(); }
  void processElement(const Event& e, ReadOnlyContext& ctx, Collector<std::string>& out) override {
    const auto& rules = ctx.getBroadcastState(kRules);
    out.collect("E|" + std::to_string(e.first) + "|" + std::to_string(e.second) + "|" +
                matches(rules.entries(), e.second));
  }
  void processBroadcastElement(const Rule& r, Context& ctx, Collector<std::string>& out) override {
    applyRule(r, ctx, *applied);
    out.collect("B|" + std::to_string(subtask) + "|" + std::to_string(seen++) + "|" +
                describe(ctx.getBroadcastState(kRules).entries()));
  }
  std::shared_ptr<std::atomic<int>> applied;
  int subtask = 0;
  int seen = 0;
};

/// Keyed: counts per key (keyed state) the events that match at least one rule, emitting
/// (key, count) per event; an event-time timer per key emits (key, -count) at the end. Each rule
/// emits (-1 - subtask, number of rules).
struct CountMatches
    : KeyedBroadcastProcessFunction<int32_t, Event, Rule, std::pair<int32_t, int64_t>> {
  explicit CountMatches(std::shared_ptr<std::atomic<int>> a) : applied(std::move(a)) {}
  void open(RuntimeContext& context) override { subtask = context.getIndexOfThisSubtask(); }
  void processElement(const Event& e, ReadOnlyContext& ctx,
                      Collector<std::pair<int32_t, int64_t>>& out) override {
    EXPECT_EQ(ctx.getCurrentKey(), e.first);
    auto& count = getState(ValueStateDescriptor<int64_t>("count"));
    if (!matches(ctx.getBroadcastState(kRules).entries(), e.second).empty()) {
      count.update(count.value().value_or(0) + 1);
    }
    out.collect({e.first, count.value().value_or(0)});
    ctx.timerService().registerEventTimeTimer(1'000'000);
  }
  void processBroadcastElement(const Rule& r, Context& ctx,
                               Collector<std::pair<int32_t, int64_t>>& out) override {
    applyRule(r, ctx, *applied);
    out.collect({-1 - subtask, static_cast<int64_t>(ctx.getBroadcastState(kRules).size())});
  }
  void onTimer(Timestamp, OnTimerContext& ctx,
               Collector<std::pair<int32_t, int64_t>>& out) override {
    out.collect({ctx.getCurrentKey(),
                 -getState(ValueStateDescriptor<int64_t>("count")).value().value_or(0)});
  }
  std::shared_ptr<std::atomic<int>> applied;
  int subtask = 0;
};

/// Reads a broadcast state that was not declared in broadcast(...).
struct UndeclaredState : BroadcastProcessFunction<Event, Rule, std::string> {
  void processElement(const Event&, ReadOnlyContext&, Collector<std::string>&) override {}
  void processBroadcastElement(const Rule&, Context& ctx, Collector<std::string>&) override {
    ctx.getBroadcastState(MapStateDescriptor<int32_t, int64_t>("typo")).put(1, 1);
  }
};

/// Uses keyed state where there is no key.
struct KeyedStateOnBroadcastSide
    : KeyedBroadcastProcessFunction<int32_t, Event, Rule, std::string> {
  void processElement(const Event&, ReadOnlyContext&, Collector<std::string>&) override {}
  void processBroadcastElement(const Rule&, Context&, Collector<std::string>&) override {
    getState(ValueStateDescriptor<int64_t>("count")).update(1);
  }
};

/// Events of one source subtask, released only once `applied` reaches `gate`.
std::shared_ptr<testing::FunctionSource<Event>> gatedEvents(
    std::shared_ptr<std::atomic<int>> applied, int gate) {
  auto events = std::make_shared<std::vector<Event>>(makeEvents());
  auto next = std::make_shared<size_t>(0);
  return std::make_shared<testing::FunctionSource<Event>>(
      [applied, gate, events, next](ReaderOutput<Event>& out, int subtask) {
        if (subtask != 0 || *next >= events->size()) return InputStatus::kEndOfInput;
        if (applied->load() < gate) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return InputStatus::kMoreAvailable;
        }
        out.collect((*events)[(*next)++], 1000);
        return InputStatus::kMoreAvailable;
      });
}

class BroadcastStateJob : public ::testing::TestWithParam<int> {};

TEST_P(BroadcastStateJob, NonKeyedEventsSeeRulesAndStateIsIdenticalInAllSubtasks) {
  int p = GetParam();
  auto rules = makeRules();
  auto applied = std::make_shared<std::atomic<int>>(0);
  auto env = testing::makeEnv(p);
  auto sink = std::make_shared<testing::CollectSink<std::string>>();
  auto ruleStream = env->fromCollection(rules).broadcast(kRules);
  env->fromSource<Event, testing::SubtaskSplit>(
         gatedEvents(applied, static_cast<int>(rules.size()) * p), "Events")
      .setParallelism(1)
      .rebalance()
      .connect(ruleStream)
      .process(MatchRules(applied))
      .sinkTo(sink);
  env->execute();

  auto history = ruleHistory(rules);
  std::vector<std::string> expected;
  for (int s = 0; s < p; ++s) {
    for (size_t i = 0; i < history.size(); ++i) {
      expected.push_back("B|" + std::to_string(s) + "|" + std::to_string(i) + "|" +
                         describe(history[i]));
    }
  }
  for (auto& [k, v] : makeEvents()) {
    expected.push_back("E|" + std::to_string(k) + "|" + std::to_string(v) + "|" +
                       matches(history.back(), v));
  }
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

TEST_P(BroadcastStateJob, KeyedEventsSeeRulesWithKeyedStateAndTimers) {
  int p = GetParam();
  auto rules = makeRules();
  auto applied = std::make_shared<std::atomic<int>>(0);
  auto env = testing::makeEnv(p);
  auto sink = std::make_shared<testing::CollectSink<std::pair<int32_t, int64_t>>>();
  auto ruleStream = env->fromCollection(rules).broadcast(kRules);
  auto strategy = WatermarkStrategy<Event>::forMonotonousTimestamps();
  env->fromSource<Event, testing::SubtaskSplit>(
         gatedEvents(applied, static_cast<int>(rules.size()) * p), strategy, "Events")
      .setParallelism(1)
      .keyBy([](const Event& e) { return e.first; })
      .connect(ruleStream)
      .process(CountMatches(applied))
      .sinkTo(sink);
  env->execute();

  auto history = ruleHistory(rules);
  std::vector<std::pair<int32_t, int64_t>> expected;
  for (int s = 0; s < p; ++s) {
    for (auto& m : history) expected.emplace_back(-1 - s, static_cast<int64_t>(m.size()));
  }
  std::map<int32_t, int64_t> count;
  for (auto& [k, v] : makeEvents()) {
    if (!matches(history.back(), v).empty()) ++count[k];
    expected.emplace_back(k, count[k]);
  }
  for (auto& [k, n] : count) expected.emplace_back(k, -n);
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

TEST_P(BroadcastStateJob, UndeclaredBroadcastStateFails) {
  auto env = testing::makeEnv(GetParam());
  env->fromElements<Event>({{1, 1}})
      .connect(env->fromElements<Rule>({{1, 1}}).broadcast(kRules))
      .process(UndeclaredState{})
      .sinkTo(std::make_shared<testing::CollectSink<std::string>>());
  try {
    env->execute();
    FAIL() << "an undeclared broadcast state was accepted";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("broadcast state 'typo' does not exist"));
  }
}

TEST_P(BroadcastStateJob, KeyedStateOnTheBroadcastSideFails) {
  auto env = testing::makeEnv(GetParam());
  env->fromElements<Event>({{1, 1}})
      .keyBy([](const Event& e) { return e.first; })
      .connect(env->fromElements<Rule>({{1, 1}}).broadcast(kRules))
      .process(KeyedStateOnBroadcastSide{})
      .sinkTo(std::make_shared<testing::CollectSink<std::string>>());
  try {
    env->execute();
    FAIL() << "keyed state without a current key was accepted";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("no current key"));
  }
}

INSTANTIATE_TEST_SUITE_P(Parallelism, BroadcastStateJob, ::testing::Values(1, 4));

}  // namespace broadcast_state_test
}  // namespace sluice
