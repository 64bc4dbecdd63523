// Which subtask receives what, for every partitioner.

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>

#include "sluice/state/key_groups.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using testing::CollectSink;
using testing::makeEnv;

/// (producer subtask, value) pairs, tagged by a map chained to the source.
struct TagProducer : RichMapFunction<int64_t, std::pair<int, int64_t>> {
  int subtask = 0;
  void open(RuntimeContext& ctx) override { subtask = ctx.getIndexOfThisSubtask(); }
  std::pair<int, int64_t> map(const int64_t& v) override { return {subtask, v}; }
};
using Tagged = std::pair<int, int64_t>;

TEST(Partitioning, ForwardKeepsRecordsInTheirSubtask) {
  auto env = makeEnv(4);
  auto sink = std::make_shared<CollectSink<Tagged>>();
  env->fromSequence(1, 10000)
      .map(TagProducer{})
      .forward()
      .map([](const Tagged& t) { return t; })
      .disableChaining()
      .sinkTo(sink);
  env->execute();
  ASSERT_EQ(sink->received().size(), 10000u);
  for (auto& [consumer, t] : sink->received()) EXPECT_EQ(consumer, t.first);
}

TEST(Partitioning, ForwardBetweenDifferentParallelismIsRejected) {
  auto env = makeEnv(4);
  env->fromSequence(1, 10)
      .forward()
      .map([](const int64_t& v) { return v; })
      .setParallelism(2)
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  try {
    env->execute();
    FAIL() << "expected an error";
  } catch (const ConfigurationException& e) {
    EXPECT_NE(
        std::string(e.what()).find("Forward partitioning does not allow change of parallelism"),
        std::string::npos);
  }
}

TEST(Partitioning, RebalanceIsRoundRobinFromTheProducersIndex) {
  auto env = makeEnv(4);
  std::vector<int64_t> input;
  for (int64_t i = 0; i < 1000; ++i) input.push_back(i);
  auto sink = std::make_shared<CollectSink<int64_t>>();
  env->fromCollection(input).rebalance().sinkTo(sink);
  env->execute();
  ASSERT_EQ(sink->received().size(), 1000u);
  for (auto& [consumer, v] : sink->received()) EXPECT_EQ(consumer, v % 4) << v;
}

TEST(Partitioning, RescaleConnectsEachProducerToItsOwnConsumers) {
  auto env = makeEnv(2);
  auto sink = std::make_shared<CollectSink<Tagged>>();
  // Each producer subtask emits 2000 records of its own (the sequence source would let one
  // reader take both splits).
  auto counters = std::make_shared<std::array<std::atomic<int64_t>, 2>>();
  auto source = std::make_shared<testing::FunctionSource<int64_t>>(
      [counters](ReaderOutput<int64_t>& out, int subtask) {
        auto& n = (*counters)[static_cast<size_t>(subtask)];
        if (n == 2000) return InputStatus::kEndOfInput;
        out.collect(n++);
        return InputStatus::kMoreAvailable;
      });
  env->fromSource<int64_t, testing::SubtaskSplit>(source, "Numbers")
      .map(TagProducer{})
      .rescale()
      .map([](const Tagged& t) { return t; })
      .setParallelism(4)
      .sinkTo(sink)
      .setParallelism(4);
  env->execute();
  ASSERT_EQ(sink->received().size(), 4000u);
  std::map<int, std::set<int>> producersOf;
  std::map<int, int> perConsumer;
  for (auto& [consumer, t] : sink->received()) {
    producersOf[consumer].insert(t.first);
    ++perConsumer[consumer];
  }
  // Producer 0 feeds consumers 0 and 1, producer 1 feeds 2 and 3, alternating.
  EXPECT_EQ(producersOf[0], std::set<int>{0});
  EXPECT_EQ(producersOf[1], std::set<int>{0});
  EXPECT_EQ(producersOf[2], std::set<int>{1});
  EXPECT_EQ(producersOf[3], std::set<int>{1});
  for (int c = 0; c < 4; ++c) EXPECT_EQ(perConsumer[c], 1000) << c;
}

TEST(Partitioning, BroadcastSendsEverythingEverywhere) {
  auto env = makeEnv(3);
  auto sink = std::make_shared<CollectSink<int64_t>>();
  env->fromSequence(1, 500).broadcast().map([](const int64_t& v) { return v; }).sinkTo(sink);
  env->execute();
  std::map<int, std::multiset<int64_t>> got;
  for (auto& [consumer, v] : sink->received()) got[consumer].insert(v);
  std::multiset<int64_t> all;
  for (int64_t v = 1; v <= 500; ++v) all.insert(v);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(got[c], all) << c;
}

TEST(Partitioning, GlobalSendsEverythingToTheFirstSubtask) {
  auto env = makeEnv(3);
  auto sink = std::make_shared<CollectSink<int64_t>>();
  env->fromSequence(1, 900).global().map([](const int64_t& v) { return v; }).sinkTo(sink);
  env->execute();
  ASSERT_EQ(sink->received().size(), 900u);
  for (auto& [consumer, v] : sink->received()) EXPECT_EQ(consumer, 0);
}

TEST(Partitioning, ShuffleIsDeterministicForASeedAndCoversAllSubtasks) {
  auto run = [](uint64_t seed) {
    auto env = makeEnv(4);
    env->setSeed(seed);
    std::vector<int64_t> input;
    for (int64_t i = 0; i < 4000; ++i) input.push_back(i);
    auto sink = std::make_shared<CollectSink<int64_t>>();
    env->fromCollection(input).shuffle().sinkTo(sink);
    env->execute();
    std::map<int64_t, int> where;
    for (auto& [consumer, v] : sink->received()) EXPECT_TRUE(where.emplace(v, consumer).second);
    return where;
  };
  auto a = run(7);
  auto b = run(7);
  auto c = run(8);
  ASSERT_EQ(a.size(), 4000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::map<int, int> counts;
  for (auto& [v, consumer] : a) ++counts[consumer];
  for (int s = 0; s < 4; ++s) EXPECT_GT(counts[s], 800) << s;  // 1000 expected each
}

TEST(Partitioning, PartitionCustomUsesTheUsersChoice) {
  auto env = makeEnv(3);
  auto sink = std::make_shared<CollectSink<int64_t>>();
  env->fromSequence(0, 299)
      .partitionCustom([](const int64_t& key, int n) { return static_cast<int>(key % n); },
                       [](const int64_t& v) { return v / 10; })
      .map([](const int64_t& v) { return v; })
      .sinkTo(sink);
  env->execute();
  ASSERT_EQ(sink->received().size(), 300u);
  for (auto& [consumer, v] : sink->received()) EXPECT_EQ(consumer, (v / 10) % 3) << v;
}

TEST(Partitioning, CustomPartitionOutOfRangeFailsTheJob) {
  auto env = makeEnv(2);
  env->fromSequence(0, 10)
      .partitionCustom([](const int64_t&, int) { return 5; }, [](const int64_t& v) { return v; })
      .map([](const int64_t& v) { return v; })
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  try {
    env->execute();
    FAIL();
  } catch (const JobExecutionException& e) {
    EXPECT_NE(std::string(e.what()).find("custom partitioner returned channel 5"),
              std::string::npos)
        << e.what();
  }
}

TEST(Partitioning, KeyByRoutesByKeyGroup) {
  for (int p : {1, 3, 4}) {
    auto env = makeEnv(p);
    env->setMaxParallelism(128);
    auto sink = std::make_shared<CollectSink<std::string>>();
    std::vector<std::string> words;
    for (int i = 0; i < 2000; ++i) words.push_back("w" + std::to_string(i % 257));
    env->fromCollection(words)
        .keyBy([](const std::string& s) { return s; })
        .map([](const std::string& s) { return s; })
        .sinkTo(sink);
    env->execute();
    ASSERT_EQ(sink->received().size(), 2000u);
    for (auto& [consumer, w] : sink->received()) {
      int keyGroup = murmurHash(javaStringHashCode(w)) % 128;
      EXPECT_EQ(consumer, keyGroup * p / 128) << w;
    }
  }
}

TEST(Partitioning, ExecutionPlanNamesShipStrategies) {
  auto env = makeEnv(2);
  env->fromSequence(1, 10)
      .map([](const int64_t& v) { return v; })
      .setParallelism(3)
      .keyBy([](const int64_t& v) { return v; })
      .sum()
      .print();
  std::string plan = env->getExecutionPlan();
  EXPECT_NE(plan.find("\"ship_strategy\": \"REBALANCE\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("\"ship_strategy\": \"HASH\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("\"pact\": \"Data Source\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("\"pact\": \"Data Sink\""), std::string::npos) << plan;
}

}  // namespace
}  // namespace sluice
