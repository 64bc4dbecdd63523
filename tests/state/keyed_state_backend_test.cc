// The heap keyed state backend: the flat table against an oracle; snapshot/restore of key-group
// ranges round-trips every state type and the timers, also into another parallelism (the
// rescaled run's output equals an uninterrupted run's); state TTL with a controlled clock;
// getKeys / applyToAllKeys.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>

#include "sluice/api/broadcast_stream.h"
#include "sluice/state/heap/flat_hash_map.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"

namespace sluice {
namespace keyed_state_backend_test {

using ::testing::HasSubstr;

TEST(FlatHashMap, MatchesUnorderedMapUnderRandomInsertAndErase) {
  FlatHashMap<std::string, int64_t> map;
  std::unordered_map<std::string, int64_t> oracle;
  std::mt19937 rng(11);
  for (int step = 0; step < 200000; ++step) {
    std::string key = "k" + std::to_string(rng() % 3000);
    switch (rng() % 4) {
      case 0:
      case 1: {
        auto [v, inserted] = map.tryEmplace(key, [] { return int64_t{0}; });
        ASSERT_EQ(inserted, oracle.count(key) == 0);
        *v += step;
        oracle[key] += step;
        break;
      }
      case 2:
        ASSERT_EQ(map.erase(key), oracle.erase(key) == 1);
        break;
      default: {
        int64_t* v = map.find(key);
        auto it = oracle.find(key);
        ASSERT_EQ(v != nullptr, it != oracle.end());
        if (v) {
          ASSERT_EQ(*v, it->second);
        }
      }
    }
    ASSERT_EQ(map.size(), oracle.size());
  }
  std::unordered_map<std::string, int64_t> seen;
  map.forEach([&](const std::string& k, int64_t v) { seen.emplace(k, v); });
  EXPECT_EQ(seen, oracle);
}

TEST(FlatHashMap, IntegerKeysWithCommonLowBitsStillSpread) {
  // Identity std::hash: keys that are multiples of 4096 would all share a home slot without
  // the multiplicative mix; probes would then grow with the size.
  FlatHashMap<int64_t, int64_t> map;
  for (int64_t i = 0; i < 100000; ++i) map[i * 4096] = i;
  for (int64_t i = 0; i < 100000; ++i) ASSERT_EQ(*map.find(i * 4096), i);
  EXPECT_EQ(map.find(4095), nullptr);
  EXPECT_LE(map.allocatedBytes(), size_t{262144} * 17);
}

// ---- snapshot / restore through operators -----------------------------------------------------

/// (key, value, timestamp); value 0 clears the key's states.
struct Op {
  int32_t key = 0;
  int64_t value = 0;
};
int32_t keyOf(const Op& op) { return op.key; }
using KeyFn = int32_t (*)(const Op&);

struct SumCount {
  std::pair<int64_t, int64_t> createAccumulator() { return {0, 0}; }
  std::pair<int64_t, int64_t> add(const int64_t& v, std::pair<int64_t, int64_t> acc) {
    return {acc.first + v, acc.second + 1};
  }
  int64_t getResult(const std::pair<int64_t, int64_t>& acc) { return acc.first * 100 + acc.second; }
};

/// Uses every state type and both timer domains; each output line is a deterministic function
/// of the key's history, so runs can be compared line by line.
struct EveryState : KeyedProcessFunction<int32_t, Op, std::string> {
  ValueState<int64_t>* value = nullptr;
  ListState<std::string>* list = nullptr;
  MapState<int64_t, std::string>* map = nullptr;
  ReducingState<int64_t>* sum = nullptr;
  AggregatingState<int64_t, int64_t>* agg = nullptr;

  void open(RuntimeContext&) override {
    value = &getState(ValueStateDescriptor<int64_t>("value"));
    list = &getListState(ListStateDescriptor<std::string>("list"));
    map = &getMapState(MapStateDescriptor<int64_t, std::string>("map"));
    sum = &getReducingState(ReducingStateDescriptor<int64_t>(
        "sum", [](const int64_t& a, const int64_t& b) { return a + b; }));
    agg = &getAggregatingState(
        AggregatingStateDescriptor<int64_t, std::pair<int64_t, int64_t>, int64_t>("agg",
                                                                                  SumCount{}));
  }
  std::string describe(int32_t key) {
    std::string s =
        std::to_string(key) + " v=" + std::to_string(value->value().value_or(-1)) + " l=";
    for (const auto& e : list->get()) s += e + ",";
    s += " m=";
    for (const auto& [k, v] : map->entries()) s += std::to_string(k) + ":" + v + ",";
    s += " s=" + std::to_string(sum->get().value_or(-1)) +
         " a=" + std::to_string(agg->get().value_or(-1));
    return s;
  }
  void processElement(const Op& op, Context& ctx, Collector<std::string>& out) override {
    if (op.value == 0) {
      value->clear();
      list->clear();
      map->clear();
      sum->clear();
      agg->clear();
    } else {
      value->update(value->value().value_or(0) * 3 + op.value);
      list->add(std::to_string(op.value));
      map->put(op.value % 4, std::to_string(op.value));
      sum->add(op.value);
      agg->add(op.value);
      ctx.timerService().registerEventTimeTimer(*ctx.timestamp() + 50);
      ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() +
                                                     30);
      if (op.value % 7 == 0) ctx.timerService().deleteEventTimeTimer(*ctx.timestamp() + 50);
    }
    out.collect("E " + describe(op.key));
  }
  void onTimer(Timestamp t, OnTimerContext& ctx, Collector<std::string>& out) override {
    std::string domain = ctx.timeDomain() == TimeDomain::kEventTime ? "event" : "proc";
    out.collect("T " + domain + "@" + std::to_string(t) + " " + describe(ctx.getCurrentKey()));
  }
};

using Harness = testing::OneInputStreamOperatorTestHarness<Op, std::string>;

std::unique_ptr<OneInputStreamOperator<Op, std::string>> everyStateOperator() {
  return std::make_unique<KeyedProcessOperator<int32_t, Op, std::string, KeyFn, EveryState>>(
      &keyOf, EveryState{});
}

/// A deterministic workload in steps: each step feeds some records (timestamps rising), then
/// a watermark and a processing-time advance, so both kinds of timers fire along the way.
struct Step {
  std::vector<Op> ops;
  Timestamp timestamp = 0;
  Timestamp watermark = 0;
  int64_t processingTime = 0;
};
std::vector<Step> workload(int steps, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Step> out;
  for (int s = 0; s < steps; ++s) {
    Step step;
    step.timestamp = s * 20;
    for (int i = 0; i < 40; ++i) {
      step.ops.push_back(Op{static_cast<int32_t>(rng() % 60), static_cast<int64_t>(rng() % 30)});
    }
    step.watermark = s * 20 - 5;
    step.processingTime = s * 13;
    out.push_back(std::move(step));
  }
  return out;
}

int subtaskOf(int32_t key, int parallelism) {
  return KeyGroupRangeAssignment::assignKeyToParallelOperator(key, 128, parallelism);
}

/// Runs steps [from, to) of `steps` on the subtasks of a parallelism-`p` operator, each record
/// on the subtask that owns its key; returns the sorted output lines.
std::vector<std::string> run(std::vector<std::unique_ptr<Harness>>& subtasks,
                             const std::vector<Step>& steps, size_t from, size_t to) {
  int p = static_cast<int>(subtasks.size());
  std::vector<size_t> before;
  for (auto& h : subtasks) before.push_back(h->output().size());
  for (size_t s = from; s < to; ++s) {
    for (const Op& op : steps[s].ops) {
      subtasks[static_cast<size_t>(subtaskOf(op.key, p))]->processElement(op, steps[s].timestamp);
    }
    for (auto& h : subtasks) {
      h->processWatermark(steps[s].watermark);
      h->setProcessingTime(steps[s].processingTime);
    }
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < subtasks.size(); ++i) {
    const auto& elements = subtasks[i]->output();
    for (size_t e = before[i]; e < elements.size(); ++e) {
      if (auto* r = std::get_if<testing::StreamRecord<std::string>>(&elements[e])) {
        lines.push_back(r->value);
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::unique_ptr<Harness>> makeSubtasks(int p, std::vector<KeyedStateSnapshot> restore,
                                                   int64_t processingTime) {
  std::vector<std::unique_ptr<Harness>> out;
  for (int i = 0; i < p; ++i) {
    testing::HarnessConfig config;
    config.parallelism = p;
    config.subtask = i;
    config.restoredKeyedState = restore;
    auto h = std::make_unique<Harness>(everyStateOperator(), config,
                                       std::make_shared<ManualClock>(processingTime));
    h->open();
    out.push_back(std::move(h));
  }
  return out;
}

class KeyedSnapshotRescale : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(KeyedSnapshotRescale, RestoredRunEqualsUninterruptedRun) {
  auto [before, after] = GetParam();
  auto steps = workload(30, 17);
  const size_t cut = 14;

  auto reference = makeSubtasks(1, {}, 0);
  run(reference, steps, 0, cut);
  auto expected = run(reference, steps, cut, steps.size());

  auto first = makeSubtasks(before, {}, 0);
  run(first, steps, 0, cut);
  std::vector<KeyedStateSnapshot> snapshots;
  size_t timers = 0;
  for (auto& h : first) {
    snapshots.push_back(h->snapshotKeyedState());
    auto& op = static_cast<KeyedProcessOperator<int32_t, Op, std::string, KeyFn, EveryState>&>(
        h->getOperator());
    timers += op.numEventTimeTimers();
  }
  ASSERT_GT(timers, 0u) << "the cut must leave pending timers to carry over";

  auto second = makeSubtasks(after, snapshots, steps[cut - 1].processingTime);
  EXPECT_EQ(run(second, steps, cut, steps.size()), expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, KeyedSnapshotRescale,
                         ::testing::Values(std::pair{1, 1}, std::pair{2, 2}, std::pair{2, 1},
                                           std::pair{2, 3}, std::pair{4, 3}, std::pair{1, 4}));

TEST(KeyedSnapshot, EveryKeyGroupIsRestoredExactlyOnceAcrossSubtasks) {
  auto steps = workload(10, 3);
  auto first = makeSubtasks(2, {}, 0);
  run(first, steps, 0, steps.size());
  std::vector<KeyedStateSnapshot> snapshots;
  for (auto& h : first) snapshots.push_back(h->snapshotKeyedState());
  std::map<int, int> covered;
  for (const auto& s : snapshots) {
    for (const auto& [kg, bytes] : s.keyGroups) covered[kg]++;
  }
  ASSERT_EQ(covered.size(), 128u);
  for (const auto& [kg, n] : covered) EXPECT_EQ(n, 1) << kg;
}

TEST(KeyedSnapshot, CorruptBytesAndMaxParallelismMismatchFailClearly) {
  auto steps = workload(3, 5);
  auto first = makeSubtasks(1, {}, 0);
  run(first, steps, 0, steps.size());
  KeyedStateSnapshot snapshot = first[0]->snapshotKeyedState();

  HeapKeyedStateBackend<int32_t> backend;
  backend.init(KeyGroupRange{0, 127}, 128);
  KeyedStateTable<int32_t, VoidNamespace, int64_t> table(backend, "value");
  KeyedStateSnapshot truncated = snapshot;
  for (auto& [kg, bytes] : truncated.keyGroups) {
    if (bytes.size() > 4) bytes.resize(bytes.size() - 3);
  }
  EXPECT_THROW(backend.restore(truncated), SerializationException);

  HeapKeyedStateBackend<int32_t> other;
  other.init(KeyGroupRange{0, 255}, 256);
  try {
    other.restore(snapshot);
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("max parallelism"));
  }
}

TEST(KeyedSnapshot, StateRestoredBeforeRegistrationIsKeptAndCarriedOver) {
  HeapKeyedStateBackend<int32_t> a;
  a.init(KeyGroupRange{0, 127}, 128);
  KeyedStateStore<int32_t, VoidNamespace> storeA(a);
  for (int32_t k = 0; k < 50; ++k) {
    a.setCurrentKey(k);
    storeA.getState(ValueStateDescriptor<int64_t>("x")).update(k * 2);
  }
  KeyedStateSnapshot s1 = a.snapshot();

  // b never registers "x" but snapshots again; c registers it late and sees the values.
  HeapKeyedStateBackend<int32_t> b;
  b.init(KeyGroupRange{0, 127}, 128);
  b.restore(s1);
  KeyedStateSnapshot s2 = b.snapshot();

  HeapKeyedStateBackend<int32_t> c;
  c.init(KeyGroupRange{0, 127}, 128);
  c.restore(s2);
  KeyedStateStore<int32_t, VoidNamespace> storeC(c);
  auto& x = storeC.getState(ValueStateDescriptor<int64_t>("x"));
  for (int32_t k = 0; k < 50; ++k) {
    c.setCurrentKey(k);
    EXPECT_EQ(x.value(), k * 2);
  }
  EXPECT_EQ(storeC.keysOf("x").size(), 50u);
}

// ---- TTL ----------------------------------------------------------------------------------------

struct TtlFixture : ::testing::Test {
  int64_t now = 0;
  HeapKeyedStateBackend<int32_t> backend;
  KeyedStateStore<int32_t, VoidNamespace> store{backend};
  TtlFixture() {
    backend.init(KeyGroupRange{0, 127}, 128);
    backend.setTtlTimeProvider([this] { return now; });
  }
  static StateTtlConfig::Builder ttl(int64_t millis) {
    return StateTtlConfig::newBuilder(std::chrono::milliseconds(millis));
  }
};

TEST_F(TtlFixture, ValueExpiresAfterTtlSinceLastWrite) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).build());
  auto& v = store.getState(d);
  backend.setCurrentKey(1);
  v.update(7);
  now = 60;
  EXPECT_EQ(v.value(), 7);  // a read does not refresh under OnCreateAndWrite
  now = 99;
  EXPECT_EQ(v.value(), 7);
  now = 100;  // expired when now >= last write + ttl
  EXPECT_EQ(v.value(), std::nullopt);
  v.update(8);
  now = 150;
  EXPECT_EQ(v.value(), 8);
}

TEST_F(TtlFixture, OnReadAndWriteRefreshesOnRead) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).updateTtlOnReadAndWrite().build());
  auto& v = store.getState(d);
  backend.setCurrentKey(1);
  v.update(7);
  now = 90;
  EXPECT_EQ(v.value(), 7);
  now = 180;
  EXPECT_EQ(v.value(), 7);
  now = 280;
  EXPECT_EQ(v.value(), std::nullopt);
}

TEST_F(TtlFixture, ReturnExpiredIfNotCleanedUpReturnsItOnceThenNot) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).returnExpiredIfNotCleanedUp().disableCleanupInBackground().build());
  auto& v = store.getState(d);
  backend.setCurrentKey(1);
  v.update(7);
  now = 500;
  EXPECT_EQ(v.value(), 7);
  EXPECT_EQ(v.value(), std::nullopt);
}

TEST_F(TtlFixture, ListElementsAndMapEntriesExpireEachOnTheirOwn) {
  ListStateDescriptor<int64_t> ld("l");
  ld.enableTimeToLive(ttl(100).build());
  MapStateDescriptor<int64_t, int64_t> md("m");
  md.enableTimeToLive(ttl(100).build());
  auto& l = store.getListState(ld);
  auto& m = store.getMapState(md);
  backend.setCurrentKey(3);
  l.add(1);
  m.put(1, 10);
  now = 50;
  l.add(2);
  m.put(2, 20);
  EXPECT_EQ(l.get(), (std::vector<int64_t>{1, 2}));
  now = 120;
  EXPECT_EQ(l.get(), (std::vector<int64_t>{2}));
  EXPECT_EQ(m.get(1), std::nullopt);
  EXPECT_EQ(m.get(2), 20);
  EXPECT_FALSE(m.contains(1));
  EXPECT_EQ(m.entries().toMap(), (std::map<int64_t, int64_t>{{2, 20}}));
  now = 150;
  EXPECT_TRUE(l.get().empty());
  EXPECT_TRUE(m.isEmpty());
}

TEST_F(TtlFixture, ReducingAndAggregatingStartAfreshAfterExpiry) {
  ReducingStateDescriptor<int64_t> rd("r",
                                      [](const int64_t& a, const int64_t& b) { return a + b; });
  rd.enableTimeToLive(ttl(100).build());
  AggregatingStateDescriptor<int64_t, std::pair<int64_t, int64_t>, int64_t> ad("a", SumCount{});
  ad.enableTimeToLive(ttl(100).build());
  auto& r = store.getReducingState(rd);
  auto& a = store.getAggregatingState(ad);
  backend.setCurrentKey(2);
  r.add(5);
  a.add(5);
  now = 80;
  r.add(6);  // a write refreshes
  a.add(6);
  now = 170;
  EXPECT_EQ(r.get(), 11);
  EXPECT_EQ(a.get(), 1102);
  now = 180;
  r.add(1);
  a.add(1);
  EXPECT_EQ(r.get(), 1);
  EXPECT_EQ(a.get(), 101);
}

TEST_F(TtlFixture, KeysAreIsolated) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).build());
  auto& v = store.getState(d);
  backend.setCurrentKey(1);
  v.update(1);
  now = 60;
  backend.setCurrentKey(2);
  v.update(2);
  now = 120;
  EXPECT_EQ(v.value(), 2);
  backend.setCurrentKey(1);
  EXPECT_EQ(v.value(), std::nullopt);
}

TEST_F(TtlFixture, FullSnapshotCleanupLeavesExpiredEntriesOut) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).cleanupFullSnapshot().returnExpiredIfNotCleanedUp().build());
  auto& v = store.getState(d);
  for (int32_t k = 0; k < 100; ++k) {
    now = k;  // key k written at time k
    backend.setCurrentKey(k);
    v.update(k);
  }
  now = 150;  // keys 0..50 expired
  KeyedStateSnapshot snap = backend.snapshot();

  int64_t restoredNow = 150;
  HeapKeyedStateBackend<int32_t> other;
  other.init(KeyGroupRange{0, 127}, 128);
  other.setTtlTimeProvider([&] { return restoredNow; });
  other.restore(snap);
  KeyedStateStore<int32_t, VoidNamespace> otherStore(other);
  auto& restored = otherStore.getState(d);
  auto keys = otherStore.keysOf("v");
  std::sort(keys.begin(), keys.end());
  std::vector<int32_t> expected;
  for (int32_t k = 51; k < 100; ++k) expected.push_back(k);
  EXPECT_EQ(keys, expected);
  other.setCurrentKey(60);
  EXPECT_EQ(restored.value(), 60);  // the last-access time travels with the value
}

TEST_F(TtlFixture, IncrementalCleanupRemovesExpiredEntriesOfOtherKeys) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).cleanupIncrementally(10, false).build());
  auto& v = store.getState(d);
  for (int32_t k = 0; k < 200; ++k) {
    backend.setCurrentKey(k);
    v.update(k);
  }
  now = 1000;  // everything expired; nobody reads those keys again
  backend.setCurrentKey(500);
  for (int i = 0; i < 40; ++i) v.update(i);  // each access visits 10 more entries
  EXPECT_EQ(store.keysOf("v").size(), 1u);
}

TEST_F(TtlFixture, CleanupOnEveryRecordRunsOnKeySelection) {
  ValueStateDescriptor<int64_t> d("v");
  d.enableTimeToLive(ttl(100).cleanupIncrementally(50, true).build());
  auto& v = store.getState(d);
  for (int32_t k = 0; k < 100; ++k) {
    backend.setCurrentKey(k);
    v.update(k);
  }
  now = 1000;
  for (int i = 0; i < 5; ++i) backend.setCurrentKey(1000 + i);  // records, no state access
  EXPECT_TRUE(store.keysOf("v").empty());
}

TEST_F(TtlFixture, SameNameWithAndWithoutTtlIsAnError) {
  ValueStateDescriptor<int64_t> plain("v");
  store.getState(plain);
  ValueStateDescriptor<int64_t> withTtl("v");
  withTtl.enableTimeToLive(ttl(10).build());
  EXPECT_THROW(store.getState(withTtl), SluiceException);
}

/// TTL inside an operator follows the task's processing time (here the harness's ManualClock).
struct TtlCounter : KeyedProcessFunction<int32_t, Op, int64_t> {
  ValueState<int64_t>* count = nullptr;
  void open(RuntimeContext&) override {
    ValueStateDescriptor<int64_t> d("count");
    d.enableTimeToLive(StateTtlConfig::newBuilder(std::chrono::milliseconds(1000)).build());
    count = &getState(d);
  }
  void processElement(const Op&, Context&, Collector<int64_t>& out) override {
    int64_t c = count->value().value_or(0) + 1;
    count->update(c);
    out.collect(c);
  }
};

TEST(TtlInOperator, UsesTheTasksProcessingTime) {
  testing::OneInputStreamOperatorTestHarness<Op, int64_t> h(
      std::make_unique<KeyedProcessOperator<int32_t, Op, int64_t, KeyFn, TtlCounter>>(
          &keyOf, TtlCounter{}));
  h.processElement(Op{1, 1});
  h.setProcessingTime(999);
  h.processElement(Op{1, 1});
  h.setProcessingTime(1999);  // last write at 999: expired at 1999
  h.processElement(Op{1, 1});
  EXPECT_EQ(h.extractOutputValues(), (std::vector<int64_t>{1, 2, 1}));
}

// ---- getKeys / applyToAllKeys ------------------------------------------------------------------

TEST(ApplyToAllKeys, VisitsEveryKeyWithStateAndMayChangeIt) {
  HeapKeyedStateBackend<std::string> backend;
  backend.init(KeyGroupRange{0, 127}, 128);
  KeyedStateStore<std::string, VoidNamespace> store(backend);
  ListStateDescriptor<int64_t> d("l");
  auto& l = store.getListState(d);
  std::map<std::string, int64_t> oracle;
  for (int i = 0; i < 500; ++i) {
    std::string key = "k" + std::to_string(i % 37);
    backend.setCurrentKey(key);
    l.add(i);
    oracle[key] += i;
  }
  std::map<std::string, int64_t> seen;
  store.applyToAllKeys(d, [&](const std::string& key, ListState<int64_t>& state) {
    int64_t sum = 0;
    for (int64_t v : state.get()) sum += v;
    seen[key] = sum;
    if (key == "k3") state.clear();
  });
  EXPECT_EQ(seen, oracle);
  EXPECT_EQ(store.keysOf("l").size(), 36u);
  EXPECT_THROW(store.keysOf("nope"), SluiceException);
}

/// Sums values per key in keyed state; the one broadcast element (sent once every event was
/// processed) reads and clears every key's sum through applyToKeyedState.
using Event = std::pair<int32_t, int64_t>;
const MapStateDescriptor<int32_t, int32_t> kCommands("commands");
const ValueStateDescriptor<int64_t> kSum("sum");

struct SumThenCollect
    : KeyedBroadcastProcessFunction<int32_t, Event, int32_t, std::pair<int32_t, int64_t>> {
  explicit SumThenCollect(std::shared_ptr<std::atomic<int>> p) : processed(std::move(p)) {}
  void processElement(const Event& e, ReadOnlyContext&,
                      Collector<std::pair<int32_t, int64_t>>&) override {
    auto& sum = getState(kSum);
    sum.update(sum.value().value_or(0) + e.second);
    processed->fetch_add(1);
  }
  void processBroadcastElement(const int32_t&, Context& ctx,
                               Collector<std::pair<int32_t, int64_t>>& out) override {
    ctx.applyToKeyedState(kSum, [&](const int32_t& key, ValueState<int64_t>& state) {
      out.collect({key, state.value().value_or(-1)});
      state.clear();
    });
    // Cleared: a second pass sees no key.
    ctx.applyToKeyedState(kSum, [&](const int32_t& key, ValueState<int64_t>&) {
      out.collect({key, -999});
    });
  }
  std::shared_ptr<std::atomic<int>> processed;
};

class ApplyToKeyedStateJob : public ::testing::TestWithParam<int> {};

TEST_P(ApplyToKeyedStateJob, BroadcastSideSeesEveryKeysStateOfItsSubtask) {
  int p = GetParam();
  std::vector<Event> events;
  std::map<int32_t, int64_t> oracle;
  for (int i = 0; i < 2000; ++i) {
    Event e{i % 97, i};
    events.push_back(e);
    oracle[e.first] += e.second;
  }
  auto processed = std::make_shared<std::atomic<int>>(0);
  int total = static_cast<int>(events.size());
  auto command = std::make_shared<testing::FunctionSource<int32_t>>(
      [processed, total, sent = std::make_shared<bool>(false)](ReaderOutput<int32_t>& out,
                                                               int subtask) {
        if (subtask != 0) return InputStatus::kEndOfInput;
        if (processed->load() < total) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return InputStatus::kMoreAvailable;
        }
        if (*sent) return InputStatus::kEndOfInput;
        *sent = true;
        out.collect(1, 0);
        return InputStatus::kMoreAvailable;
      });
  auto env = testing::makeEnv(p);
  auto sink = std::make_shared<testing::CollectSink<std::pair<int32_t, int64_t>>>();
  auto commands = env->fromSource<int32_t, testing::SubtaskSplit>(command, "Commands")
                      .setParallelism(1)
                      .broadcast(kCommands);
  env->fromCollection(events)
      .keyBy([](const Event& e) { return e.first; })
      .connect(commands)
      .process(SumThenCollect(processed))
      .sinkTo(sink);
  env->execute();
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  std::vector<std::pair<int32_t, int64_t>> expected(oracle.begin(), oracle.end());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, ApplyToKeyedStateJob, ::testing::Values(1, 4));

// ---- reinterpretAsKeyedStream -------------------------------------------------------------------

struct RunningSum : KeyedProcessFunction<int64_t, int64_t, std::pair<int64_t, int64_t>> {
  void processElement(const int64_t& v, Context& ctx,
                      Collector<std::pair<int64_t, int64_t>>& out) override {
    auto& sum = getState(ValueStateDescriptor<int64_t>("sum"));
    sum.update(sum.value().value_or(0) + v);
    out.collect({ctx.getCurrentKey(), *sum.value()});
  }
};

TEST(ReinterpretAsKeyedStream, ChainsWithoutExchangeAndEqualsKeyBy) {
  auto runJob = [](bool reinterpret) {
    auto env = testing::makeEnv(1);
    auto sink = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
    auto numbers = env->fromSequence(0, 9999);
    auto key = [](const int64_t& v) { return v % 17; };
    if (reinterpret) {
      DataStreamUtils::reinterpretAsKeyedStream(numbers, key).process(RunningSum{}).sinkTo(sink);
    } else {
      numbers.keyBy(key).process(RunningSum{}).sinkTo(sink);
    }
    std::string plan = env->getExecutionPlan();
    env->execute();
    auto values = sink->values();
    std::sort(values.begin(), values.end());
    return std::pair{values, plan};
  };
  auto [viaKeyBy, keyByPlan] = runJob(false);
  auto [reinterpreted, plan] = runJob(true);
  EXPECT_EQ(reinterpreted, viaKeyBy);
  EXPECT_EQ(reinterpreted.size(), 10000u);
  EXPECT_THAT(keyByPlan, HasSubstr("HASH"));
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("HASH")));
}

TEST(ReinterpretAsKeyedStream, AStreamNotPartitionedByTheKeyFailsClearly) {
  auto env = testing::makeEnv(2);
  auto numbers = env->fromSequence(0, 9999).rebalance().map([](const int64_t& v) { return v; });
  DataStreamUtils::reinterpretAsKeyedStream(numbers, [](const int64_t& v) { return v % 17; })
      .process(RunningSum{})
      .sinkTo(std::make_shared<DiscardingSink<std::pair<int64_t, int64_t>>>());
  try {
    env->execute();
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("not keyed this way"));
  }
}

}  // namespace keyed_state_backend_test
}  // namespace sluice
