// The ExecutionGraph's distribution of channels, against brute-force expectations: POINTWISE
// (rescale) splits producers and consumers as evenly as possible, ALL_TO_ALL connects all, and
// every task's channels are numbered by edge, producer and subpartition.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sluice/graph/execution_graph.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

JobGraph build(StreamExecutionEnvironment& env) {
  StreamGraph g = env.streamGraph();
  g.resolve(env.getParallelism(), env.getMaxParallelism());
  return JobGraph::fromStreamGraph(std::move(g), "test", true);
}

// A rescale edge from p producers to c consumers.
JobGraph rescaleJob(int p, int c) {
  auto env = testing::makeEnv(1);
  env->fromSequence(1, 10)
      .setParallelism(p)
      .rescale()
      .map([](const int64_t& v) { return v; })
      .setParallelism(c)
      .print()
      .setParallelism(c);
  return build(*env);
}

// Checks the channels of every consumer of edge 0 against what the producers' consumer lists
// say, and that each channel of the edge appears exactly once.
void checkConsistent(const JobGraph& jg, const ExecutionGraph& eg) {
  const JobEdge& e = jg.edges().at(0);
  const int p = jg.vertices()[static_cast<size_t>(e.sourceVertex)].parallelism;
  const int c = jg.vertices()[static_cast<size_t>(e.targetVertex)].parallelism;
  std::set<std::tuple<int, int, int>> expected;  // (producer, subpartition, consumer)
  for (int i = 0; i < p; ++i) {
    const auto& consumers = eg.consumers(e.id, i);
    for (size_t s = 0; s < consumers.size(); ++s) {
      expected.emplace(i, static_cast<int>(s), consumers[s]);
    }
  }
  std::set<std::tuple<int, int, int>> actual;
  for (int j = 0; j < c; ++j) {
    const ExecutionVertex& ev = eg.executionVertex(e.targetVertex, j);
    EXPECT_EQ(ev.subtask, j);
    int previousProducer = -1;
    for (size_t k = 0; k < ev.inputChannels.size(); ++k) {
      const auto& ch = ev.inputChannels[k];
      EXPECT_EQ(ch.channelInInput, static_cast<int>(k));
      EXPECT_GT(ch.producerSubtask, previousProducer);  // ascending producers
      previousProducer = ch.producerSubtask;
      EXPECT_TRUE(actual.emplace(ch.producerSubtask, ch.subpartition, j).second);
    }
  }
  EXPECT_EQ(actual, expected);
}

TEST(ExecutionGraph, PointwiseSplitsAsEvenlyAsPossible) {
  for (int p = 1; p <= 7; ++p) {
    for (int c = 1; c <= 7; ++c) {
      SCOPED_TRACE("p=" + std::to_string(p) + " c=" + std::to_string(c));
      JobGraph jg = rescaleJob(p, c);
      ASSERT_EQ(jg.edges().size(), 1u);
      ASSERT_TRUE(jg.edges()[0].pointwise);
      ExecutionGraph eg(jg);
      checkConsistent(jg, eg);
      // Brute force: every consumer reads from max(1, p/c) or one more producers, every
      // producer feeds max(1, c/p) or one more consumers, and the channels total max(p, c).
      int total = 0;
      for (int j = 0; j < c; ++j) {
        int n = static_cast<int>(
            eg.executionVertex(jg.edges()[0].targetVertex, j).inputChannels.size());
        EXPECT_GE(n, std::max(1, p / c));
        EXPECT_LE(n, std::max(1, p / c) + 1);
        total += n;
      }
      for (int i = 0; i < p; ++i) {
        int n = static_cast<int>(eg.consumers(0, i).size());
        EXPECT_GE(n, std::max(1, c / p));
        EXPECT_LE(n, std::max(1, c / p) + 1);
      }
      EXPECT_EQ(total, std::max(p, c));
    }
  }
}

TEST(ExecutionGraph, AllToAllConnectsEveryProducerToEveryConsumer) {
  auto env = testing::makeEnv(3);
  env->fromSequence(1, 10)
      .setParallelism(2)
      .rebalance()
      .map([](const int64_t& v) { return v; })
      .print();
  JobGraph jg = build(*env);
  ExecutionGraph eg(jg);
  checkConsistent(jg, eg);
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(eg.executionVertex(1, j).inputChannels.size(), 2u);
  }
  EXPECT_EQ(eg.numTasks(), 5);
  for (int t = 0; t < eg.numTasks(); ++t) EXPECT_EQ(eg.executionVertices()[t].taskIndex, t);
  EXPECT_THROW(eg.executionVertex(1, 3), std::out_of_range);
}

TEST(ExecutionGraph, TwoInputsNumberTheirChannelsSeparately) {
  auto env = testing::makeEnv(2);
  auto a = env->fromSequence(1, 10).setParallelism(3);
  auto b = env->fromSequence(1, 10).setParallelism(1);
  a.connect(b).map([](const int64_t& v) { return v; }, [](const int64_t& v) { return v; }).print();
  JobGraph jg = build(*env);
  ExecutionGraph eg(jg);
  const JobVertex& target = jg.vertices().back();
  for (int j = 0; j < 2; ++j) {
    std::map<int, int> perInput;
    for (const auto& ch : eg.executionVertex(target.id, j).inputChannels) {
      EXPECT_EQ(ch.channelInInput, perInput[ch.inputIndex]++);
    }
    EXPECT_EQ(perInput[0], 3);
    EXPECT_EQ(perInput[1], 1);
  }
}

}  // namespace
}  // namespace sluice
