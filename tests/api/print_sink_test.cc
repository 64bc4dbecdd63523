// print(): Flink's line format, "N> value" in parallel, bare values at parallelism 1.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PrintSink, ParallelLinesCarryTheSubtaskPrefix) {
  auto env = testing::makeEnv(2);
  std::vector<std::pair<std::string, int64_t>> input{{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  env->fromCollection(input).rebalance().map([](const auto& p) { return p; }).print();
  ::testing::internal::CaptureStdout();
  env->execute();
  EXPECT_EQ(lines(::testing::internal::GetCapturedStdout()),
            (std::vector<std::string>{"1> (a,1)", "1> (c,3)", "2> (b,2)", "2> (d,4)"}));
}

TEST(PrintSink, SingleSubtaskPrintsBareValuesAndIdentifier) {
  auto env = testing::makeEnv(1);
  env->fromElements<double>({1.0, 2.5}).print();
  env->fromElements<std::string>({"x"}).print("out");
  ::testing::internal::CaptureStdout();
  env->execute();
  EXPECT_EQ(lines(::testing::internal::GetCapturedStdout()),
            (std::vector<std::string>{"1.0", "2.5", "out> x"}));
}

}  // namespace
}  // namespace sluice
