// Semantics of the DataStream transformations, each against a brute-force computation, at
// parallelism 1 and 4.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using testing::CollectSink;
using testing::makeEnv;

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class TransformationsTest : public ::testing::TestWithParam<int> {};

TEST_P(TransformationsTest, MapFilterFlatMapMatchBruteForce) {
  auto env = makeEnv(GetParam());
  auto sink = std::make_shared<CollectSink<std::string>>();
  env->fromSequence(1, 20000)
      .map([](const int64_t& v) { return v * 3; })
      .filter([](const int64_t& v) { return v % 2 == 0; })
      .flatMap([](const int64_t& v, Collector<std::string>& out) {
        for (int64_t i = 0; i < v % 3 + (v % 4 == 0 ? 1 : 0); ++i) out.collect(std::to_string(v));
      })
      .sinkTo(sink);
  env->execute();

  std::vector<std::string> expected;
  for (int64_t v = 1; v <= 20000; ++v) {
    int64_t m = v * 3;
    if (m % 2 != 0) continue;
    for (int64_t i = 0; i < m % 3 + (m % 4 == 0 ? 1 : 0); ++i)
      expected.push_back(std::to_string(m));
  }
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
}

// Rolling aggregations keyed by the first field, fed by a non-parallel source so that each key's
// records arrive in order: every output equals the brute-force fold over that key's prefix.
TEST_P(TransformationsTest, KeyedAggregationsEmitRunningValues) {
  using Row = std::tuple<int32_t, int64_t, std::string>;
  std::vector<Row> input;
  for (int i = 0; i < 3000; ++i) {
    input.emplace_back(i % 37, (i * 7919) % 1000 - 500, "r" + std::to_string(i));
  }
  struct Case {
    std::string name;
    std::function<Row(const Row&, const Row&)> fold;
  };
  std::vector<Case> cases = {
      {"sum",
       [](const Row& a, const Row& b) {
         return Row{std::get<0>(a), std::get<1>(a) + std::get<1>(b), std::get<2>(a)};
       }},
      {"min",
       [](const Row& a, const Row& b) {
         return Row{std::get<0>(a), std::min(std::get<1>(a), std::get<1>(b)), std::get<2>(a)};
       }},
      {"max",
       [](const Row& a, const Row& b) {
         return Row{std::get<0>(a), std::max(std::get<1>(a), std::get<1>(b)), std::get<2>(a)};
       }},
      {"minBy", [](const Row& a, const Row& b) { return std::get<1>(b) < std::get<1>(a) ? b : a; }},
      {"maxBy", [](const Row& a, const Row& b) { return std::get<1>(b) > std::get<1>(a) ? b : a; }},
  };
  for (const auto& c : cases) {
    auto env = makeEnv(GetParam());
    auto sink = std::make_shared<CollectSink<Row>>();
    auto keyed = env->fromCollection(input).keyBy([](const Row& r) { return std::get<0>(r); });
    SingleOutputStreamOperator<Row> agg = c.name == "sum"     ? keyed.sum<1>()
                                          : c.name == "min"   ? keyed.min<1>()
                                          : c.name == "max"   ? keyed.max<1>()
                                          : c.name == "minBy" ? keyed.minBy<1>()
                                                              : keyed.maxBy<1>();
    agg.sinkTo(sink);
    env->execute();

    std::map<int32_t, std::vector<Row>> expected;
    std::map<int32_t, Row> acc;
    for (const Row& r : input) {
      auto it = acc.find(std::get<0>(r));
      Row next = it == acc.end() ? r : c.fold(it->second, r);
      acc[std::get<0>(r)] = next;
      expected[std::get<0>(r)].push_back(next);
    }
    std::map<int32_t, std::vector<Row>> actual;
    std::map<int32_t, int> subtaskOfKey;
    for (auto& [subtask, r] : sink->received()) {
      actual[std::get<0>(r)].push_back(r);
      auto [it, fresh] = subtaskOfKey.emplace(std::get<0>(r), subtask);
      EXPECT_EQ(it->second, subtask) << "key " << std::get<0>(r) << " seen by two subtasks";
    }
    EXPECT_EQ(actual, expected) << c.name;
  }
}

TEST_P(TransformationsTest, ReduceWithRichFunctionAndAccumulator) {
  struct Concat : RichReduceFunction<std::pair<int, std::string>> {
    LongCounter* calls = nullptr;
    void open(RuntimeContext& ctx) override { calls = &ctx.getLongCounter("reduce-calls"); }
    std::pair<int, std::string> reduce(const std::pair<int, std::string>& a,
                                       const std::pair<int, std::string>& b) override {
      calls->add(1);
      return {a.first, a.second + b.second};
    }
  };
  auto env = makeEnv(GetParam());
  std::vector<std::pair<int, std::string>> input;
  for (int i = 0; i < 500; ++i)
    input.emplace_back(i % 5, std::string(1, static_cast<char>('a' + i % 26)));
  auto sink = std::make_shared<CollectSink<std::pair<int, std::string>>>();
  env->fromCollection(input)
      .keyBy([](const auto& p) { return p.first; })
      .reduce(Concat{})
      .sinkTo(sink);
  JobExecutionResult result = env->execute();
  EXPECT_EQ(result.getAccumulatorResult<int64_t>("reduce-calls"), 500 - 5);
  std::map<int, std::string> last;
  for (auto& [s, p] : sink->received()) last[p.first] = p.second;
  for (int k = 0; k < 5; ++k) {
    std::string expect;
    for (int i = k; i < 500; i += 5) expect += static_cast<char>('a' + i % 26);
    EXPECT_EQ(last[k], expect);
  }
}

TEST_P(TransformationsTest, UnionMergesAllInputs) {
  auto env = makeEnv(GetParam());
  auto sink = std::make_shared<CollectSink<int64_t>>();
  auto a = env->fromSequence(1, 1000);
  auto b = env->fromSequence(2001, 2500);
  auto c = env->fromElements<int64_t>({-1, -2, -3});
  a.union_(b, c).map([](const int64_t& v) { return v; }).sinkTo(sink);
  env->execute();
  std::vector<int64_t> expected;
  for (int64_t v = 1; v <= 1000; ++v) expected.push_back(v);
  for (int64_t v = 2001; v <= 2500; ++v) expected.push_back(v);
  for (int64_t v : {-1, -2, -3}) expected.push_back(v);
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
}

TEST_P(TransformationsTest, ConnectCoMapAndCoFlatMap) {
  auto env = makeEnv(GetParam());
  auto sink = std::make_shared<CollectSink<std::string>>();
  auto numbers = env->fromSequence(1, 300);
  auto words = env->fromElements<std::string>({"x", "yy", "zzz"});
  numbers.connect(words)
      .map([](const int64_t& v) { return "n" + std::to_string(v); },
           [](const std::string& s) { return "w" + s; })
      .sinkTo(sink);
  auto sink2 = std::make_shared<CollectSink<std::string>>();
  numbers.connect(words)
      .flatMap<std::string>(
          [](const int64_t& v, Collector<std::string>& out) {
            if (v % 100 == 0) out.collect(std::to_string(v));
          },
          [](const std::string& s, Collector<std::string>& out) {
            for (char ch : s) out.collect(std::string(1, ch));
          })
      .sinkTo(sink2);
  env->execute();
  std::vector<std::string> expected;
  for (int v = 1; v <= 300; ++v) expected.push_back("n" + std::to_string(v));
  for (std::string s : {"x", "yy", "zzz"}) expected.push_back("w" + s);
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
  EXPECT_EQ(sorted(sink2->values()),
            sorted(std::vector<std::string>{"100", "200", "300", "x", "y", "y", "z", "z", "z"}));
}

TEST_P(TransformationsTest, RichFunctionsSeeTheirSubtask) {
  struct Tag : RichMapFunction<int64_t, std::pair<int, int>> {
    int subtask = -1;
    int parallelism = 0;
    void open(RuntimeContext& ctx) override {
      subtask = ctx.getIndexOfThisSubtask();
      parallelism = ctx.getNumberOfParallelSubtasks();
    }
    std::pair<int, int> map(const int64_t&) override { return {subtask, parallelism}; }
  };
  auto env = makeEnv(GetParam());
  auto sink = std::make_shared<CollectSink<std::pair<int, int>>>();
  env->fromSequence(1, 4000).rebalance().map(Tag{}).sinkTo(sink);
  env->execute();
  for (auto& [subtask, tag] : sink->received()) {
    EXPECT_EQ(tag.first, subtask);  // the sink is chained to the map: same subtask
    EXPECT_EQ(tag.second, GetParam());
  }
  EXPECT_EQ(sink->received().size(), 4000u);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, TransformationsTest, ::testing::Values(1, 4));

TEST(Transformations, ParallelismOneAndFourAgreeOnKeyedCounts) {
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> byParallelism;
  for (int p : {1, 4}) {
    auto env = makeEnv(p);
    auto sink = std::make_shared<CollectSink<std::pair<int64_t, int64_t>>>();
    env->fromSequence(1, 50000)
        .map([](const int64_t& v) { return std::pair<int64_t, int64_t>((v * 31) % 101, 1); })
        .keyBy([](const auto& kv) { return kv.first; })
        .sum<1>()
        .sinkTo(sink);
    env->execute();
    byParallelism[p] = sorted(sink->values());
  }
  EXPECT_EQ(byParallelism[1], byParallelism[4]);
  EXPECT_EQ(byParallelism[1].size(), 50000u);
}

}  // namespace
}  // namespace sluice
