// Chaining by Flink's rules and stable operator ids.

#include <gtest/gtest.h>

#include "sluice/graph/job_graph.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

JobGraph build(StreamExecutionEnvironment& env, bool chaining = true) {
  StreamGraph g = env.streamGraph();
  g.resolve(env.getParallelism(), env.getMaxParallelism());
  return JobGraph::fromStreamGraph(std::move(g), "test", chaining);
}

std::vector<std::string> vertexNames(const JobGraph& jg) {
  std::vector<std::string> names;
  for (const auto& v : jg.vertices()) names.push_back(v.name);
  return names;
}

void program(StreamExecutionEnvironment& env) {
  auto src = env.fromSequence(1, 10).name("Numbers");
  src.map([](const int64_t& v) { return v; })
      .filter([](const int64_t&) { return true; })
      .keyBy([](const int64_t& v) { return v; })
      .sum()
      .map([](const int64_t& v) { return v; })
      .print();
}

TEST(JobGraph, ChainsForwardEdgesOfEqualParallelism) {
  auto env = testing::makeEnv(2);
  program(*env);
  JobGraph jg = build(*env);
  EXPECT_EQ(vertexNames(jg),
            (std::vector<std::string>{"Source: Numbers -> Map -> Filter",
                                      "Keyed Aggregation -> Map -> Sink: Print to Std. Out"}));
  ASSERT_EQ(jg.edges().size(), 1u);
  EXPECT_FALSE(jg.edges()[0].pointwise);
}

TEST(JobGraph, ChainingRespectsDisableChainingStartNewChainParallelismAndUnion) {
  auto env = testing::makeEnv(2);
  auto a = env->fromSequence(1, 10);
  auto m1 = a.map([](const int64_t& v) { return v; });
  auto m2 = m1.map([](const int64_t& v) { return v; }).startNewChain();
  auto m3 = m2.map([](const int64_t& v) { return v; }).disableChaining();
  auto m4 = m3.map([](const int64_t& v) { return v; }).setParallelism(1);
  auto b = env->fromSequence(1, 10).setParallelism(1);
  m4.union_(b).map([](const int64_t& v) { return v; }).setParallelism(1).print().setParallelism(1);
  JobGraph jg = build(*env);
  EXPECT_EQ(vertexNames(jg), (std::vector<std::string>{"Source: Sequence Source -> Map", "Map",
                                                       "Map", "Map", "Source: Sequence Source",
                                                       "Map -> Sink: Print to Std. Out"}));
  JobGraph unchained = build(*env, false);
  EXPECT_EQ(unchained.vertices().size(), env->streamGraph().nodes().size());
}

TEST(JobGraph, OperatorIdsAreStableAndUidsOverridePosition) {
  auto env1 = testing::makeEnv(2);
  program(*env1);
  auto env2 = testing::makeEnv(4);  // parallelism does not change ids
  program(*env2);
  JobGraph a = build(*env1);
  JobGraph b = build(*env2);
  std::set<std::string> ids;
  for (const auto& n : a.streamGraph().nodes()) {
    EXPECT_EQ(a.operatorId(n.id), b.operatorId(n.id));
    EXPECT_EQ(a.operatorId(n.id).size(), 32u);
    ids.insert(a.operatorId(n.id));
  }
  EXPECT_EQ(ids.size(), a.streamGraph().nodes().size());

  // A uid fixes the id wherever the operator stands.
  auto env3 = testing::makeEnv(1);
  env3->fromSequence(1, 2).map([](const int64_t& v) { return v; }).uid("the-map").print();
  auto env4 = testing::makeEnv(1);
  env4->fromElements<int64_t>({1})
      .filter([](const int64_t&) { return true; })
      .map([](const int64_t& v) { return v; })
      .uid("the-map")
      .print();
  EXPECT_EQ(build(*env3).operatorId(2), build(*env4).operatorId(3));
}

TEST(JobGraph, DuplicateUidIsRejected) {
  auto env = testing::makeEnv(1);
  auto s = env->fromSequence(1, 2);
  s.map([](const int64_t& v) { return v; }).uid("x").print();
  s.map([](const int64_t& v) { return v; }).uid("x").print();
  EXPECT_THROW(build(*env), ConfigurationException);
}

TEST(JobGraph, NonParallelSourceRejectsParallelismAboveOne) {
  auto env = testing::makeEnv(1);
  EXPECT_THROW(env->fromElements<int64_t>({1, 2}).setParallelism(2), ConfigurationException);
}

}  // namespace
}  // namespace sluice
