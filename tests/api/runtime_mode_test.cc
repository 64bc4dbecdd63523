// execution.runtime-mode: BATCH is refused until batch execution exists, instead of silently
// running the job in STREAMING mode; STREAMING and AUTOMATIC run.

#include <gtest/gtest.h>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

std::string runWithMode(const std::string& mode) {
  Configuration config;
  config.set("execution.runtime-mode", mode);
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(config);
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  env->fromSequence(1, 10).sinkTo(sink);
  try {
    env->execute("runtime mode " + mode);
  } catch (const ConfigurationException& e) {
    return e.what();
  }
  return "ran " + std::to_string(sink->values().size());
}

TEST(RuntimeMode, BatchIsRefusedClearly) {
  const std::string message = runWithMode("batch");
  EXPECT_NE(message.find("execution.runtime-mode: BATCH is not supported yet"), std::string::npos)
      << message;
  EXPECT_NE(message.find("set it to STREAMING"), std::string::npos) << message;
}

TEST(RuntimeMode, StreamingAndAutomaticRun) {
  EXPECT_EQ(runWithMode("STREAMING"), "ran 10");
  EXPECT_EQ(runWithMode("AUTOMATIC"), "ran 10");
}

}  // namespace
}  // namespace sluice
