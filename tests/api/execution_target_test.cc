// execution.target picks the pipeline executor that runs a job: `local` by default, a
// registered one by name, and an unknown one is refused naming the known targets.

#include <gtest/gtest.h>

#include <atomic>

#include "sluice/cluster/pipeline_executor.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

size_t run(const Configuration& config) {
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(config);
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  env->fromSequence(1, 10).sinkTo(sink);
  env->execute("execution target");
  return sink->values().size();
}

TEST(ExecutionTarget, LocalIsTheDefault) {
  EXPECT_EQ(run(Configuration()), 10u);
  Configuration local;
  local.set("execution.target", "local");
  EXPECT_EQ(run(local), 10u);
}

TEST(ExecutionTarget, UnknownTargetIsRefusedNamingTheKnownOnes) {
  Configuration config;
  config.set("execution.target", "remote-nonexistent");
  try {
    run(config);
    FAIL() << "an unknown execution.target ran";
  } catch (const ConfigurationException& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("no executor for 'remote-nonexistent'"), std::string::npos) << message;
    EXPECT_NE(message.find("local"), std::string::npos) << message;
  }
}

// A registered executor receives the job graph and the configuration: the seam the cluster's
// `remote` target uses.
TEST(ExecutionTarget, RegisteredExecutorRunsTheJob) {
  static std::atomic<int> submitted{0};
  class Counting final : public PipelineExecutor {
   public:
    std::unique_ptr<JobClient> execute(const JobGraph& jobGraph, const ExecutionOptions& options,
                                       const Configuration& configuration) override {
      EXPECT_EQ(configuration.getString("execution.target", ""), "counting-test");
      ++submitted;
      return pipelineExecutorFor("local")->execute(jobGraph, options, configuration);
    }
  };
  registerPipelineExecutor("counting-test", [] { return std::make_unique<Counting>(); });
  Configuration config;
  config.set("execution.target", "counting-test");
  EXPECT_EQ(run(config), 10u);
  EXPECT_EQ(submitted.load(), 1);
}

}  // namespace
}  // namespace sluice
