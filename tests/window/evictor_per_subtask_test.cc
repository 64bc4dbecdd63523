// Each parallel subtask evicts with an evictor of its own (Flink deserializes one per subtask):
// an evictor with state sees only one thread and only its own subtask's keys.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sluice/api/windowed_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

std::atomic<int> threadChanges{0};
std::atomic<int> instancesUsed{0};

// Keeps the last element; remembers the thread it first ran on and counts calls from another.
class ThreadCheckingEvictor final : public Evictor<int64_t, GlobalWindow> {
 public:
  std::unique_ptr<Evictor<int64_t, GlobalWindow>> clone() const override {
    return std::make_unique<ThreadCheckingEvictor>(*this);
  }
  void evictBefore(std::vector<TimestampedValue<int64_t>>& e, const GlobalWindow&,
                   Timestamp) override {
    check();
    if (e.size() > 1) e.erase(e.begin(), e.end() - 1);
  }
  void evictAfter(std::vector<TimestampedValue<int64_t>>&, const GlobalWindow&,
                  Timestamp) override {
    check();
  }

 private:
  void check() {
    if (owner_ == std::thread::id()) {
      owner_ = std::this_thread::get_id();
      ++instancesUsed;
    } else if (owner_ != std::this_thread::get_id()) {
      ++threadChanges;
    }
  }
  std::thread::id owner_;
};

TEST(EvictorPerSubtask, EverySubtaskEvictsWithItsOwnCopy) {
  auto env = testing::makeEnv(4);
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  env->fromSequence(1, 4000)
      .keyBy([](const int64_t& v) { return v % 64; })
      .window(GlobalWindows::create<int64_t>())
      .trigger(std::shared_ptr<const Trigger<int64_t, GlobalWindow>>(
          CountTrigger<int64_t, GlobalWindow>::of(5)))
      .evictor(std::make_shared<ThreadCheckingEvictor>())
      .reduce([](const int64_t& a, const int64_t& b) { return a + b; })
      .sinkTo(sink);
  env->execute("evictor per subtask");
  EXPECT_EQ(threadChanges.load(), 0);
  EXPECT_EQ(instancesUsed.load(), 4);  // one per subtask (every subtask gets keys)
  // Keys have 62 or 63 elements; CountTrigger(5) fires 12 times per key, each firing emitting
  // the one element the evictor left.
  EXPECT_EQ(sink->values().size(), 64u * 12);
}

}  // namespace
}  // namespace sluice
