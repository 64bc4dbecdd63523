// Keyed state of a KeyedProcessFunction: every state type per key against a std::map oracle,
// through the operator harness and in whole jobs; name reuse and non-keyed use fail clearly.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"

namespace sluice {
namespace keyed_state_test {

using ::testing::HasSubstr;

/// x * 10 + v with two's-complement wrap-around (no signed overflow).
inline int64_t wrapFold(int64_t x, int64_t v) {
  return static_cast<int64_t>(static_cast<uint64_t>(x) * 10u + static_cast<uint64_t>(v));
}

/// (key, value); value 0 clears every state of the key.
using Op = std::pair<int32_t, int64_t>;
/// What the function sees after an op: key, value state, list size, list sum, map size,
/// map[value % 5], reducing sum, aggregating mean * 1000.
using Snapshot = std::tuple<int32_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

struct SumMean {
  std::pair<int64_t, int64_t> createAccumulator() { return {0, 0}; }
  std::pair<int64_t, int64_t> add(const int64_t& v, std::pair<int64_t, int64_t> acc) {
    return {acc.first + v, acc.second + 1};
  }
  int64_t getResult(const std::pair<int64_t, int64_t>& acc) {
    return acc.first * 1000 / acc.second;
  }
};

struct AllStates : KeyedProcessFunction<int32_t, Op, Snapshot> {
  ValueState<int64_t>* value = nullptr;
  ListState<int64_t>* list = nullptr;
  MapState<int64_t, int64_t>* map = nullptr;
  ReducingState<int64_t>* sum = nullptr;
  AggregatingState<int64_t, int64_t>* mean = nullptr;

  void open(RuntimeContext&) override {
    value = &getState(ValueStateDescriptor<int64_t>("value"));
    list = &getListState(ListStateDescriptor<int64_t>("list"));
    map = &getMapState(MapStateDescriptor<int64_t, int64_t>("map"));
    sum = &getReducingState(ReducingStateDescriptor<int64_t>(
        "sum", [](const int64_t& a, const int64_t& b) { return a + b; }));
    mean = &getAggregatingState(
        AggregatingStateDescriptor<int64_t, std::pair<int64_t, int64_t>, int64_t>("mean",
                                                                                  SumMean{}));
  }
  void processElement(const Op& op, Context& ctx, Collector<Snapshot>& out) override {
    EXPECT_EQ(ctx.getCurrentKey(), op.first);
    if (op.second == 0) {
      value->clear();
      list->clear();
      map->clear();
      sum->clear();
      mean->clear();
      EXPECT_FALSE(value->value().has_value());
      EXPECT_TRUE(list->get().empty());
      EXPECT_TRUE(map->isEmpty());
      EXPECT_FALSE(sum->get().has_value());
      EXPECT_FALSE(mean->get().has_value());
      out.collect({op.first, -1, 0, 0, 0, -1, -1, -1});
      return;
    }
    value->update(wrapFold(value->value().value_or(0), op.second));
    list->add(op.second);
    map->put(op.second % 5, op.second);
    sum->add(op.second);
    mean->add(op.second);
    int64_t listSum = 0;
    for (int64_t v : list->get()) listSum += v;
    out.collect({op.first, *value->value(), static_cast<int64_t>(list->get().size()), listSum,
                 static_cast<int64_t>(map->entries().toMap().size()),
                 map->get(op.second % 5).value_or(-1), *sum->get(), *mean->get()});
  }
};

/// The oracle: the same semantics over std::maps.
std::vector<Snapshot> oracle(const std::vector<Op>& ops) {
  std::map<int32_t, int64_t> value;
  std::map<int32_t, std::vector<int64_t>> list;
  std::map<int32_t, std::map<int64_t, int64_t>> map;
  std::map<int32_t, int64_t> sum;
  std::map<int32_t, std::pair<int64_t, int64_t>> mean;
  std::vector<Snapshot> out;
  for (auto [k, v] : ops) {
    if (v == 0) {
      value.erase(k);
      list.erase(k);
      map.erase(k);
      sum.erase(k);
      mean.erase(k);
      out.emplace_back(k, -1, 0, 0, 0, -1, -1, -1);
      continue;
    }
    value[k] = wrapFold(value[k], v);
    list[k].push_back(v);
    map[k][v % 5] = v;
    sum[k] += v;
    mean[k].first += v;
    mean[k].second += 1;
    int64_t listSum = 0;
    for (int64_t x : list[k]) listSum += x;
    out.emplace_back(k, value[k], static_cast<int64_t>(list[k].size()), listSum,
                     static_cast<int64_t>(map[k].size()), map[k][v % 5], sum[k],
                     mean[k].first * 1000 / mean[k].second);
  }
  return out;
}

std::vector<Op> randomOps(int n, int keys, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<Op> ops;
  for (int i = 0; i < n; ++i) {
    auto k = static_cast<int32_t>(rng() % static_cast<unsigned>(keys));
    auto v = static_cast<int64_t>(rng() % 9);  // 0 (clear) one time in nine
    ops.emplace_back(k, v);
  }
  return ops;
}

int32_t keyOf(const Op& op) { return op.first; }
using KeyFn = int32_t (*)(const Op&);

template <typename F, typename OUT>
std::unique_ptr<OneInputStreamOperator<Op, OUT>> keyedOperator(F fn) {
  return std::make_unique<KeyedProcessOperator<int32_t, Op, OUT, KeyFn, F>>(&keyOf, std::move(fn));
}

TEST(KeyedStateHarness, EveryStateTypeMatchesOracleAndKeysAreIsolated) {
  auto ops = randomOps(3000, 37, 7);
  testing::OneInputStreamOperatorTestHarness<Op, Snapshot> h(
      keyedOperator<AllStates, Snapshot>(AllStates{}));
  for (const auto& op : ops) h.processElement(op, 1);
  EXPECT_EQ(h.extractOutputValues(), oracle(ops));
}

TEST(KeyedStateHarness, SubtaskOfParallelOperatorOwnsItsKeyGroupsOnly) {
  testing::HarnessConfig config;
  config.parallelism = 4;
  config.subtask = 2;
  testing::OneInputStreamOperatorTestHarness<Op, Snapshot> h(
      keyedOperator<AllStates, Snapshot>(AllStates{}), config);
  auto range = KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, 4, 2);
  std::vector<Op> mine;
  int32_t foreign = -1;
  for (int32_t k = 0; k < 200; ++k) {
    if (range.contains(KeyGroupRangeAssignment::assignToKeyGroup(k, 128))) {
      mine.emplace_back(k, 1 + k % 8);
      mine.emplace_back(k, 1 + (k + 3) % 8);
    } else if (foreign < 0) {
      foreign = k;
    }
  }
  for (const auto& op : mine) h.processElement(op);
  EXPECT_EQ(h.extractOutputValues(), oracle(mine));
  ASSERT_GE(foreign, 0);
  try {
    h.processElement({foreign, 1});
    FAIL() << "a key of another subtask's key group was accepted";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("not in"));
  }
}

class KeyedStateJob : public ::testing::TestWithParam<int> {};

TEST_P(KeyedStateJob, EveryStateTypeMatchesOraclePerKey) {
  auto ops = randomOps(20000, 101, 11);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<Snapshot>>();
  env->fromCollection(ops)
      .keyBy([](const Op& op) { return op.first; })
      .process(AllStates{})
      .sinkTo(sink);
  env->execute();
  // Per key, outputs arrive in the key's op order (one source, one channel per key).
  std::map<int32_t, std::vector<Snapshot>> got;
  std::map<int32_t, std::vector<Snapshot>> expected;
  for (auto& s : sink->values()) got[std::get<0>(s)].push_back(s);
  for (auto& s : oracle(ops)) expected[std::get<0>(s)].push_back(s);
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, KeyedStateJob, ::testing::Values(1, 4));

/// Asks for state `name` as a ValueState<int64_t>, then as `Other`.
template <int kOther>
struct ReuseName : KeyedProcessFunction<int32_t, Op, int64_t> {
  void processElement(const Op&, Context&, Collector<int64_t>&) override {
    getState(ValueStateDescriptor<int64_t>("shared")).update(1);
    if constexpr (kOther == 0) {
      getListState(ListStateDescriptor<int64_t>("shared"));
    } else if constexpr (kOther == 1) {
      getState(ValueStateDescriptor<int32_t>("shared"));
    } else if constexpr (kOther == 2) {
      getMapState(MapStateDescriptor<int64_t, int64_t>("shared"));
    } else {
      getReducingState(ReducingStateDescriptor<int64_t>(
          "shared", [](const int64_t& a, const int64_t& b) { return a + b; }));
    }
  }
};

template <int kOther>
void expectReuseFails() {
  testing::OneInputStreamOperatorTestHarness<Op, int64_t> h(
      keyedOperator<ReuseName<kOther>, int64_t>(ReuseName<kOther>{}));
  try {
    h.processElement({1, 1});
    FAIL() << "state name reused with another type was accepted";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("'shared'"));
    EXPECT_THAT(e.what(), HasSubstr("another kind or type"));
  }
}

TEST(KeyedStateErrors, NameReusedWithAnotherTypeFails) {
  expectReuseFails<0>();
  expectReuseFails<1>();
  expectReuseFails<2>();
  expectReuseFails<3>();
}

TEST(KeyedStateErrors, ReducingAndAggregatingStateOfSameTypesDoNotShareAName) {
  struct Fn : KeyedProcessFunction<int32_t, Op, int64_t> {
    void processElement(const Op&, Context&, Collector<int64_t>&) override {
      getReducingState(ReducingStateDescriptor<int64_t>(
          "s", [](const int64_t& a, const int64_t& b) { return a + b; }));
      struct Same {
        int64_t createAccumulator() { return 0; }
        int64_t add(const int64_t& v, int64_t acc) { return v + acc; }
        int64_t getResult(const int64_t& acc) { return acc; }
      };
      getAggregatingState(AggregatingStateDescriptor<int64_t, int64_t, int64_t>("s", Same{}));
    }
  };
  testing::OneInputStreamOperatorTestHarness<Op, int64_t> h(keyedOperator<Fn, int64_t>(Fn{}));
  EXPECT_THROW(h.processElement({1, 1}), SluiceException);
}

TEST(KeyedStateErrors, StateWithoutCurrentKeyFails) {
  HeapKeyedStateBackend<int32_t> context;
  context.init(KeyGroupRange{0, 127}, 128);
  KeyedStateStore<int32_t, VoidNamespace> store(context);
  auto& v = store.getState(ValueStateDescriptor<int64_t>("v"));
  try {
    v.value();
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("no current key"));
  }
}

/// A non-keyed ProcessFunction that asks for keyed state or timers.
struct NonKeyed : ProcessFunction<int64_t, int64_t> {
  bool timers = false;
  void processElement(const int64_t& v, Context& ctx, Collector<int64_t>& out) override {
    if (timers) {
      ctx.timerService().registerEventTimeTimer(v + 1);
    } else {
      getState(ValueStateDescriptor<int64_t>("v")).update(v);
    }
    out.collect(v);
  }
};

TEST(KeyedStateErrors, KeyedStateOnNonKeyedStreamFailsClearly) {
  testing::OneInputStreamOperatorTestHarness<int64_t, int64_t> h(
      std::make_unique<ProcessOperator<int64_t, int64_t, NonKeyed>>(NonKeyed{}));
  try {
    h.processElement(1);
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("keyed stream"));
  }
}

TEST(KeyedStateErrors, TimersOnNonKeyedStreamFailClearly) {
  NonKeyed fn;
  fn.timers = true;
  testing::OneInputStreamOperatorTestHarness<int64_t, int64_t> h(
      std::make_unique<ProcessOperator<int64_t, int64_t, NonKeyed>>(fn));
  try {
    h.processElement(1);
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("Setting timers is only supported on keyed streams"));
  }
}

TEST(KeyedStateErrors, NonKeyedJobFailsWithClearMessage) {
  for (bool timers : {false, true}) {
    auto env = testing::makeEnv(2);
    NonKeyed fn;
    fn.timers = timers;
    env->fromCollection(std::vector<int64_t>{1, 2, 3})
        .process(fn)
        .sinkTo(std::make_shared<testing::CollectSink<int64_t>>());
    try {
      env->execute();
      FAIL() << "job succeeded";
    } catch (const SluiceException& e) {
      EXPECT_THAT(e.what(), HasSubstr("keyed stream"));
    }
  }
}

}  // namespace keyed_state_test
}  // namespace sluice
