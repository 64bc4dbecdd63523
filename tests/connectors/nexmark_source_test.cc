// The Nexmark split-based source: whole jobs at parallelism 1 and 3 emit exactly the generated
// events with their event times as timestamps, and a reader snapshotted mid-range hands over
// exactly the events it has not emitted yet.

#include "sluice/connectors/nexmark_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "connector_test_util.h"
#include "sluice/state/operator_state.h"

namespace sluice::nexmark {
namespace {

constexpr int64_t kEvents = 20'000;

std::vector<std::string> expectedCsv(int64_t numEvents, const GeneratorConfig& config) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(numEvents));
  for (int64_t n = 0; n < numEvents; ++n) out.push_back(toCsv(generate(n, config)));
  std::sort(out.begin(), out.end());
  return out;
}

/// Records every event's CSV line with the timestamp it arrived with, and the watermarks
/// current at the sink. Thread-safe.
class TimestampSink final : public Sink<Event> {
 public:
  struct Shared {
    std::mutex mutex;
    std::vector<std::pair<Timestamp, Event>> received;
  };
  std::unique_ptr<SinkWriter<Event>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>(shared_);
  }
  std::shared_ptr<Shared> shared() const { return shared_; }

 private:
  struct Writer final : SinkWriter<Event> {
    explicit Writer(std::shared_ptr<Shared> s) : shared(std::move(s)) {}
    void write(const Event& value, const SinkContext& context) override {
      std::lock_guard lock(shared->mutex);
      shared->received.emplace_back(context.timestamp, value);
    }
    std::shared_ptr<Shared> shared;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

class NexmarkSourceJobTest : public ::testing::TestWithParam<int> {};

TEST_P(NexmarkSourceJobTest, EmitsExactlyTheGeneratedEvents) {
  GeneratorConfig config;
  auto env = testing::makeEnv(GetParam());
  auto lines = std::make_shared<std::vector<std::string>>();
  auto sink = std::make_shared<testing::VectorSink<std::string>>(lines);
  // rebalance: the events cross the network, through the std::variant serializer.
  fromNexmark(*env, kEvents, config)
      .rebalance()
      .map([](const Event& e) { return toCsv(e); })
      .sinkTo(sink);
  env->execute();
  std::vector<std::string> got = testing::sorted(*lines);
  ASSERT_EQ(got.size(), static_cast<size_t>(kEvents));
  EXPECT_TRUE(got == expectedCsv(kEvents, config));
}

TEST_P(NexmarkSourceJobTest, TimestampsAreEventTimes) {
  GeneratorConfig config;
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<TimestampSink>();
  fromNexmark(*env, kEvents, config).sinkTo(sink);
  env->execute();
  std::lock_guard lock(sink->shared()->mutex);
  const auto& received = sink->shared()->received;
  ASSERT_EQ(received.size(), static_cast<size_t>(kEvents));
  for (const auto& [ts, event] : received) {
    ASSERT_EQ(ts, eventTime(event)) << toCsv(event);
  }
}

INSTANTIATE_TEST_SUITE_P(NexmarkParallelism, NexmarkSourceJobTest, ::testing::Values(1, 3));

// Without a configured count, ranges hold at most kDefaultNexmarkSplitEvents events (1 s of
// event time), in event-number order, so readers asking for the next range stay together on
// the event-time timeline.
TEST(NexmarkSourceTest, DefaultSplitsAreShortRangesInOrder) {
  GeneratorConfig config;
  const int64_t events = 2 * kDefaultNexmarkSplitEvents + 5;
  std::vector<NexmarkSplit> splits = NexmarkSource(events, config).splits(2);
  ASSERT_EQ(splits.size(), 3u);
  int64_t next = 0;
  for (const auto& s : splits) {
    EXPECT_EQ(s.from, next);
    EXPECT_LE(s.to - s.from + 1, kDefaultNexmarkSplitEvents);
    next = s.to + 1;
  }
  EXPECT_EQ(next, events);
  EXPECT_EQ(NexmarkSource(events, config).splits(4).size(), 4u);  // at least one per reader
}

TEST(NexmarkSourceTest, ConfiguredSplitCountOverridesParallelism) {
  GeneratorConfig config;
  NexmarkSource source(kEvents, config, 7);
  std::vector<NexmarkSplit> splits = source.splits(2);
  ASSERT_EQ(splits.size(), 7u);
  int64_t next = 0;
  for (const auto& s : splits) {
    EXPECT_EQ(s.from, next);
    EXPECT_GE(s.to - s.from + 1, kEvents / 7);
    EXPECT_LE(s.to - s.from + 1, kEvents / 7 + 1);
    next = s.to + 1;
  }
  EXPECT_EQ(next, kEvents);
  // More readers than events: no empty splits.
  EXPECT_EQ(NexmarkSource(2, config).splits(5).size(), 2u);
  EXPECT_TRUE(NexmarkSource(0, config).splits(3).empty());
  EXPECT_THROW(NexmarkSource(-1, config), SluiceException);

  auto env = testing::makeEnv(2);
  auto lines = std::make_shared<std::vector<std::string>>();
  auto sink = std::make_shared<testing::VectorSink<std::string>>(lines);
  fromNexmark(*env, 1'000, config, 7).map([](const Event& e) { return toCsv(e); }).sinkTo(sink);
  env->execute();
  std::vector<std::string> got = testing::sorted(*lines);
  EXPECT_TRUE(got == expectedCsv(1'000, config));
}

struct VectorOutput final : Output<Event> {
  void collect(const Event& value, Timestamp ts) override {
    values.push_back(toCsv(value));
    timestamps.push_back(ts);
    EXPECT_EQ(ts, eventTime(value));
  }
  void emitWatermark(Watermark) override {}
  void emitWatermarkStatus(bool) override {}
  std::vector<std::string> values;
  std::vector<Timestamp> timestamps;
};

/// A reader context with no enumerator: splits come only from the test.
struct NoEnumerator final : SourceReaderContext {
  int getIndexOfSubtask() const override { return 0; }
  int currentParallelism() const override { return 1; }
  void sendSplitRequest() override { ++requests; }
  int requests = 0;
};

void drain(SourceReader<Event, NexmarkSplit>& reader, ReaderOutput<Event>& out) {
  while (reader.pollNext(out) == InputStatus::kMoreAvailable) {
  }
}

TEST(NexmarkSourceTest, RestoredReadersEmitExactlyTheRest) {
  GeneratorConfig config;
  NexmarkSource source(kEvents, config, 2);
  const std::vector<std::string> expected = expectedCsv(kEvents, config);
  for (int polls : {0, 1, 2, 3, 5}) {
    for (int newReaders : {1, 2, 3}) {
      NoEnumerator context;
      VectorOutput before;
      ReaderOutput<Event> out(&before);
      auto reader = source.createReader(context);
      reader->addSplits(source.splits(1));
      for (int i = 0; i < polls; ++i) reader->pollNext(out);
      // Each split's events come in event-number order.
      for (size_t i = 0; i < before.values.size(); ++i) {
        ASSERT_EQ(before.values[i], toCsv(generate(static_cast<int64_t>(i), config)));
      }
      std::vector<NexmarkSplit> splits = reader->snapshotState(1);
      int64_t remaining = 0;
      for (const auto& s : splits) remaining += s.to - s.from + 1;
      ASSERT_EQ(remaining + static_cast<int64_t>(before.values.size()), kEvents) << polls;

      // Through operator state, as the source operator stores them, split over new readers.
      OperatorStateStore store;
      store.getListState(ListStateDescriptor<NexmarkSplit>("SourceReaderState")).update(splits);
      auto parts = redistributeOperatorState({store.snapshot()}, newReaders);
      std::vector<std::string> all = before.values;
      for (const auto& part : parts) {
        OperatorStateStore restored;
        restored.restore(part);
        NoEnumerator c;
        VectorOutput after;
        ReaderOutput<Event> o(&after);
        auto r = source.createReader(c);
        r->addSplits(restored.getListState(ListStateDescriptor<NexmarkSplit>("SourceReaderState"))
                         .get()
                         .toVector());
        drain(*r, o);
        all.insert(all.end(), after.values.begin(), after.values.end());
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), static_cast<size_t>(kEvents))
          << polls << " polls, " << newReaders << " readers";
      ASSERT_TRUE(all == expected) << polls << " polls, " << newReaders << " readers";
    }
  }
}

}  // namespace
}  // namespace sluice::nexmark
