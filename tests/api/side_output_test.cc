// Side outputs: records emitted under a tag reach only getSideOutput(tag) consumers.

#include <gtest/gtest.h>

#include <algorithm>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

TEST(SideOutput, SourceSideOutputReachesItsConsumersOnly) {
  for (int p : {1, 3}) {
    auto env = testing::makeEnv(p);
    OutputTag<std::string> odd("odd");
    auto counters = std::make_shared<std::array<std::atomic<int64_t>, 3>>();
    auto source = std::make_shared<testing::FunctionSource<int64_t>>(
        [counters, odd](ReaderOutput<int64_t>& out, int subtask) {
          auto& n = (*counters)[static_cast<size_t>(subtask)];
          if (n == 100) return InputStatus::kEndOfInput;
          int64_t v = subtask * 1000 + n++;
          if (v % 2) {
            out.collect(odd, "odd " + std::to_string(v));
          } else {
            out.collect(v);
          }
          return InputStatus::kMoreAvailable;
        });
    auto numbers = env->fromSource<int64_t, testing::SubtaskSplit>(source, "Numbers");
    auto main = std::make_shared<testing::CollectSink<int64_t>>();
    auto side = std::make_shared<testing::CollectSink<std::string>>();
    auto side2 = std::make_shared<testing::CollectSink<std::string>>();
    numbers.sinkTo(main);
    numbers.getSideOutput(odd).rebalance().map([](const std::string& s) { return s; }).sinkTo(side);
    numbers.getSideOutput(odd).sinkTo(side2);  // chained consumer of the same tag
    env->execute();
    std::vector<int64_t> expectMain;
    std::vector<std::string> expectSide;
    for (int s = 0; s < p; ++s) {
      for (int64_t n = 0; n < 100; ++n) {
        int64_t v = s * 1000 + n;
        if (v % 2) {
          expectSide.push_back("odd " + std::to_string(v));
        } else {
          expectMain.push_back(v);
        }
      }
    }
    auto sorted = [](auto v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(sorted(main->values()), sorted(expectMain));
    EXPECT_EQ(sorted(side->values()), sorted(expectSide));
    EXPECT_EQ(sorted(side2->values()), sorted(expectSide));
  }
}

}  // namespace
}  // namespace sluice
