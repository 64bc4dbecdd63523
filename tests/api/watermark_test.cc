// Timestamps and watermarks: generator formulas, per-split watermarks in sources, propagation as
// the minimum over channels, idleness, and the final watermark at end of input.

#include <gtest/gtest.h>

#include <algorithm>

#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using testing::makeEnv;

/// What an operator saw: watermarks in order, and (timestamp, value) of records.
struct Seen {
  std::mutex mutex;
  std::vector<Timestamp> watermarks;
  std::vector<std::pair<Timestamp, int64_t>> records;
  std::vector<bool> statuses;
};

class RecordingOperator final : public OneInputStreamOperator<int64_t, int64_t> {
 public:
  explicit RecordingOperator(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
  void processElement(const int64_t& v, Timestamp ts) override {
    std::lock_guard l(seen_->mutex);
    seen_->records.emplace_back(ts, v);
    output_->collect(v, ts);
  }
  void processWatermark(Watermark w) override {
    {
      std::lock_guard l(seen_->mutex);
      seen_->watermarks.push_back(w.timestamp);
    }
    output_->emitWatermark(w);
  }
  void processWatermarkStatus(bool idle) override {
    std::lock_guard l(seen_->mutex);
    seen_->statuses.push_back(idle);
  }

 private:
  std::shared_ptr<Seen> seen_;
};

SingleOutputStreamOperator<int64_t> record(const DataStream<int64_t>& in,
                                           std::shared_ptr<Seen> seen) {
  return in.transform<int64_t>("Record",
                               [seen] { return std::make_unique<RecordingOperator>(seen); });
}

TEST(Watermarks, BoundedOutOfOrdernessIsMaxMinusBoundMinusOne) {
  struct Out : WatermarkOutput {
    std::vector<Timestamp> wms;
    void emitWatermark(Watermark w) override { wms.push_back(w.timestamp); }
    void markIdle() override {}
    void markActive() override {}
  } out;
  BoundedOutOfOrdernessWatermarks<int> g(1000);
  g.onEvent(0, 5000, out);
  g.onEvent(0, 3000, out);
  g.onPeriodicEmit(out);
  g.onEvent(0, 9000, out);
  g.onPeriodicEmit(out);
  EXPECT_EQ(out.wms, (std::vector<Timestamp>{3999, 7999}));
}

TEST(Watermarks, SourceStrategyAssignsTimestampsAndEndsWithMaxWatermark) {
  auto env = makeEnv(1);
  env->setAutoWatermarkInterval(0);  // only the final watermark
  auto seen = std::make_shared<Seen>();
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  std::vector<int64_t> input{5, 1, 9};
  auto strategy = WatermarkStrategy<int64_t>::forBoundedOutOfOrderness(std::chrono::milliseconds(2))
                      .withTimestampAssigner([](const int64_t& v) { return v * 1000; });
  auto src = env->fromSource<int64_t, CollectionSplit>(
      std::make_shared<CollectionSource<int64_t>>(input), strategy, "Numbers");
  record(src.rebalance(), seen).sinkTo(sink);
  env->execute();
  EXPECT_EQ(seen->records,
            (std::vector<std::pair<Timestamp, int64_t>>{{5000, 5}, {1000, 1}, {9000, 9}}));
  ASSERT_FALSE(seen->watermarks.empty());
  EXPECT_EQ(seen->watermarks.back(), kMaxWatermark);
  // Before the end: the periodic emission at end of input gives max − 2 − 1.
  EXPECT_EQ(seen->watermarks.front(), 9000 - 3);
}

// Two source subtasks with different event times: downstream event time is their minimum, and
// it never goes backwards.
TEST(Watermarks, DownstreamWatermarkIsTheMinimumOverChannels) {
  auto clock = std::make_shared<ManualClock>(0);
  auto env = makeEnv(2);
  env->setClock(clock).setAutoWatermarkInterval(10);
  auto released = std::make_shared<std::atomic<bool>>(false);
  auto emitted = std::make_shared<std::array<std::atomic<int>, 2>>();
  // Subtask 0 emits timestamps 0..99 s; subtask 1 emits 1000..1099 s.
  auto source = std::make_shared<testing::FunctionSource<int64_t>>(
      [released, emitted](ReaderOutput<int64_t>& out, int subtask) {
        auto& n = (*emitted)[static_cast<size_t>(subtask)];
        if (n < 100) {
          out.collect(subtask * 1000 + n, (subtask * 1000 + n) * 1000);
          ++n;
          return InputStatus::kMoreAvailable;
        }
        if (released->load()) return InputStatus::kEndOfInput;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return InputStatus::kMoreAvailable;
      });
  auto seen = std::make_shared<Seen>();
  auto strategy = WatermarkStrategy<int64_t>::forMonotonousTimestamps();
  record(env->fromSource<int64_t, testing::SubtaskSplit>(source, strategy, "Two").rebalance(), seen)
      .setParallelism(1)
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  auto client = env->executeAsync();
  ASSERT_TRUE(testing::eventually([&] { return (*emitted)[0] == 100 && (*emitted)[1] == 100; }));
  ASSERT_TRUE(testing::eventually([&] {
    clock->advance(10);
    std::lock_guard l(seen->mutex);
    return !seen->watermarks.empty() && seen->watermarks.back() == 99 * 1000 - 1;
  }));
  std::vector<Timestamp> beforeEnd;
  {
    std::lock_guard l(seen->mutex);
    beforeEnd = seen->watermarks;
  }
  released->store(true);
  client->getJobExecutionResult();
  // While both run, subtask 0 (the slower in event time) bounds the watermark.
  for (Timestamp w : beforeEnd) EXPECT_LE(w, 99 * 1000 - 1);
  std::lock_guard l(seen->mutex);
  EXPECT_TRUE(std::is_sorted(seen->watermarks.begin(), seen->watermarks.end()));
  EXPECT_EQ(seen->watermarks.back(), kMaxWatermark);
}

// One source subtask goes silent: with withIdleness it no longer holds event time back.
TEST(Watermarks, IdleSubtaskDoesNotStallTheWatermark) {
  auto clock = std::make_shared<ManualClock>(0);
  auto env = makeEnv(2);
  env->setClock(clock).setAutoWatermarkInterval(10);
  auto released = std::make_shared<std::atomic<bool>>(false);
  auto emitted = std::make_shared<std::atomic<int>>(0);
  auto source = std::make_shared<testing::FunctionSource<int64_t>>(
      [released, emitted](ReaderOutput<int64_t>& out, int subtask) {
        if (subtask == 0 && *emitted < 50) {
          out.collect(*emitted, *emitted * 1000);
          ++*emitted;
          return InputStatus::kMoreAvailable;
        }
        if (released->load()) return InputStatus::kEndOfInput;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return InputStatus::kMoreAvailable;
      });
  auto seen = std::make_shared<Seen>();
  auto strategy = WatermarkStrategy<int64_t>::forMonotonousTimestamps().withIdleness(
      std::chrono::milliseconds(100));
  record(env->fromSource<int64_t, testing::SubtaskSplit>(source, strategy, "OneIdle").rebalance(),
         seen)
      .setParallelism(1)
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  auto client = env->executeAsync();
  ASSERT_TRUE(testing::eventually([&] { return *emitted == 50; }));
  // Subtask 1 never emits; after the idle timeout only subtask 0 counts: 49 s − 1 ms.
  bool advanced = testing::eventually(
      [&] {
        clock->advance(10);
        std::lock_guard l(seen->mutex);
        return !seen->watermarks.empty() && seen->watermarks.back() == 49 * 1000 - 1;
      },
      10);
  {
    std::lock_guard l(seen->mutex);
    std::string got;
    for (auto w : seen->watermarks) got += std::to_string(w) + " ";
    for (bool b : seen->statuses) got += b ? "I " : "A ";
    EXPECT_TRUE(advanced) << got;
  }
  released->store(true);
  client->getJobExecutionResult();
}

TEST(Watermarks, AssignTimestampsAndWatermarksOnAnyStream) {
  auto env = makeEnv(2);
  env->setAutoWatermarkInterval(0);
  auto seen = std::make_shared<Seen>();
  record(env->fromSequence(1, 100)
             .assignTimestampsAndWatermarks(
                 WatermarkStrategy<int64_t>::forBoundedOutOfOrderness(std::chrono::seconds(1))
                     .withTimestampAssigner([](const int64_t& v, Timestamp) { return v * 10; }))
             .rebalance(),
         seen)
      .setParallelism(1)
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  env->execute();
  std::lock_guard l(seen->mutex);
  ASSERT_EQ(seen->records.size(), 100u);
  for (auto& [ts, v] : seen->records) EXPECT_EQ(ts, v * 10);
  EXPECT_EQ(seen->watermarks.back(), kMaxWatermark);
}

TEST(WatermarkValve, IdleChannelsAreExcludedAndStatusIsCombined) {
  WatermarkValve valve(2);
  EXPECT_FALSE(valve.inputWatermark(10, 0).hasWatermark);  // channel 1 still at MIN
  auto r = valve.inputStatus(true, 1);
  EXPECT_TRUE(r.hasWatermark);
  EXPECT_EQ(r.watermark.timestamp, 10);
  EXPECT_FALSE(r.statusChanged);
  r = valve.inputStatus(true, 0);
  EXPECT_TRUE(r.statusChanged);
  EXPECT_TRUE(r.idle);
  r = valve.inputStatus(false, 1);
  EXPECT_TRUE(r.statusChanged);
  EXPECT_FALSE(r.idle);
  // Channel 1 rejoins behind the output watermark: it counts again only once caught up.
  EXPECT_FALSE(valve.inputWatermark(5, 1).hasWatermark);
  r = valve.inputWatermark(20, 1);
  EXPECT_TRUE(r.hasWatermark);
  EXPECT_EQ(r.watermark.timestamp, 20);
}

}  // namespace
}  // namespace sluice
