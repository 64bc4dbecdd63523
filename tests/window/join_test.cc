// Window join, coGroup and interval join against brute-force nested loops, plus the interval
// join operator driven directly for lateness and state cleanup.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "sluice/api/interval_join.h"
#include "sluice/api/joined_streams.h"
#include "sluice/core/variant_serializer.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace join_test {

struct Left {
  int32_t key = 0;
  int64_t ts = 0;
  int32_t id = 0;
};
struct Right {
  int32_t key = 0;
  int64_t ts = 0;
  int32_t id = 0;
  std::string payload;
};

using Tagged = TaggedUnion<Left, Right>;
using Pair = std::tuple<int32_t, int32_t, int64_t>;  // (left id, right id, result timestamp)

/// Keeps every record with its timestamp. Thread-safe.
template <typename T>
class TimestampedSink final : public Sink<T> {
 public:
  struct Shared {
    std::mutex mutex;
    std::vector<std::pair<T, Timestamp>> received;
  };
  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>(shared_);
  }
  std::vector<std::pair<T, Timestamp>> received() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->received;
  }

 private:
  struct Writer final : SinkWriter<T> {
    explicit Writer(std::shared_ptr<Shared> s) : shared(std::move(s)) {}
    void write(const T& value, const SinkContext& context) override {
      std::lock_guard lock(shared->mutex);
      shared->received.emplace_back(value, context.timestamp);
    }
    std::shared_ptr<Shared> shared;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

/// Timestamps i * step minus up to maxDelay, rounded down to multiples of 10 ms so that
/// interval bounds (multiples of 10) are hit exactly; keys in [firstKey, firstKey + keys).
template <typename T>
std::vector<T> outOfOrder(int n, int firstKey, int keys, int64_t step, int64_t maxDelay,
                          uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> out;
  for (int i = 0; i < n; ++i) {
    int64_t ts = i * step - static_cast<int64_t>(rng() % static_cast<uint32_t>(maxDelay));
    T e{};
    e.key = firstKey + static_cast<int32_t>(rng() % static_cast<uint32_t>(keys));
    e.ts = std::max<int64_t>(0, ts) / 10 * 10;
    e.id = i;
    if constexpr (requires { e.payload; }) e.payload = "r" + std::to_string(i);
    out.push_back(e);
  }
  return out;
}

template <typename T>
WatermarkStrategy<T> boundedStrategy(int64_t bound) {
  return WatermarkStrategy<T>::forBoundedOutOfOrderness(std::chrono::milliseconds(bound))
      .withTimestampAssigner([](const T& e) { return e.ts; });
}

template <typename T>
DataStream<T> source(StreamExecutionEnvironment& env, const std::vector<T>& events, int64_t bound) {
  return env.fromSource<T, CollectionSplit>(std::make_shared<CollectionSource<T>>(events),
                                            boundedStrategy<T>(bound), "Events");
}

/// Window ends (maxTimestamp) of the sliding windows containing ts.
std::vector<int64_t> windowsOf(int64_t ts, int64_t size, int64_t slide) {
  std::vector<int64_t> out;
  for (int64_t start = TimeWindow::getWindowStartWithOffset(ts, 0, slide); start > ts - size;
       start -= slide) {
    out.push_back(start + size - 1);
  }
  return out;
}

template <typename V>
std::vector<V> sorted(std::vector<V> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const int64_t kOutOfOrderness = 300;

class WindowJoin : public ::testing::TestWithParam<int> {};

TEST_P(WindowJoin, MatchesNestedLoopPerKeyAndWindow) {
  auto lefts = outOfOrder<Left>(1200, 0, 5, 10, kOutOfOrderness, 1);
  auto rights = outOfOrder<Right>(900, 0, 5, 13, kOutOfOrderness, 2);
  for (auto [size, slide] : {std::pair<int64_t, int64_t>{1000, 1000}, {1000, 250}}) {
    auto env = testing::makeEnv(GetParam());
    auto sink = std::make_shared<TimestampedSink<std::pair<int32_t, int32_t>>>();
    source(*env, lefts, kOutOfOrderness)
        .join(source(*env, rights, kOutOfOrderness))
        .where([](const Left& l) { return l.key; })
        .equalTo([](const Right& r) { return r.key; })
        .window(SlidingEventTimeWindows::of(std::chrono::milliseconds(size),  // untyped, as Flink
                                            std::chrono::milliseconds(slide)))
        .apply([](const Left& l, const Right& r) {
          EXPECT_EQ(l.key, r.key);
          EXPECT_EQ(r.payload, "r" + std::to_string(r.id));
          return std::pair<int32_t, int32_t>(l.id, r.id);
        })
        .sinkTo(sink);
    env->execute();

    std::vector<Pair> expected;
    for (const Left& l : lefts) {
      for (const Right& r : rights) {
        if (l.key != r.key) continue;
        auto rw = windowsOf(r.ts, size, slide);
        for (int64_t end : windowsOf(l.ts, size, slide)) {
          if (std::find(rw.begin(), rw.end(), end) != rw.end())
            expected.emplace_back(l.id, r.id, end);
        }
      }
    }
    std::vector<Pair> actual;
    for (const auto& [p, ts] : sink->received()) actual.emplace_back(p.first, p.second, ts);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(sorted(actual), sorted(expected)) << size << "/" << slide;
  }
}

/// A flat join function object, with open() and its output type from OutputType.
struct FlatJoin : RichFlatJoinFunction<Left, Right, int64_t> {
  void open(RuntimeContext&) override { opened = true; }
  void join(const Left& l, const Right& r, Collector<int64_t>& out) override {
    EXPECT_TRUE(opened);
    if ((l.id + r.id) % 2 == 0) out.collect(int64_t{l.id} * 100000 + r.id);
  }
  bool opened = false;
};

TEST_P(WindowJoin, FlatJoinFunctionEmitsAnyNumberPerPair) {
  auto lefts = outOfOrder<Left>(400, 0, 3, 10, kOutOfOrderness, 3);
  auto rights = outOfOrder<Right>(400, 0, 3, 10, kOutOfOrderness, 4);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  // A non-default source parallelism: the tagging map follows it.
  env->fromSource<Left, CollectionSplit>(std::make_shared<CollectionSource<Left>>(lefts),
                                         boundedStrategy<Left>(kOutOfOrderness), "Lefts")
      .setParallelism(2)
      .join(source(*env, rights, kOutOfOrderness))
      .where([](const Left& l) { return l.key; })
      .equalTo([](const Right& r) { return r.key; })
      .window(TumblingEventTimeWindows::of<Tagged>(std::chrono::milliseconds(500)))
      // Passed through to the window operator; chosen so that the result does not change.
      .trigger(EventTimeTrigger<Tagged, TimeWindow>::create())
      .evictor(CountEvictor<Tagged, TimeWindow>::of(1'000'000))
      .allowedLateness(std::chrono::milliseconds(100))
      .apply(FlatJoin{})
      .sinkTo(sink);
  env->execute();
  std::vector<int64_t> expected;
  for (const Left& l : lefts) {
    for (const Right& r : rights) {
      if (l.key == r.key && l.ts / 500 == r.ts / 500 && (l.id + r.id) % 2 == 0) {
        expected.push_back(int64_t{l.id} * 100000 + r.id);
      }
    }
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
}

TEST_P(WindowJoin, SelfJoinOfOneTypeKeepsTheSidesApart) {
  auto lefts = outOfOrder<Left>(300, 0, 3, 10, kOutOfOrderness, 21);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<std::pair<int32_t, int32_t>>>();
  auto stream = source(*env, lefts, kOutOfOrderness);
  stream.join(stream.filter([](const Left& l) { return l.id % 3 == 0; }))
      .where([](const Left& l) { return l.key; })
      .equalTo([](const Left& l) { return l.key; })
      .window(TumblingEventTimeWindows::of<TaggedUnion<Left, Left>>(std::chrono::milliseconds(400)))
      .apply([](const Left& a, const Left& b) { return std::pair<int32_t, int32_t>(a.id, b.id); })
      .sinkTo(sink);
  env->execute();
  std::vector<std::pair<int32_t, int32_t>> expected;
  for (const Left& a : lefts) {
    for (const Left& b : lefts) {
      if (b.id % 3 == 0 && a.key == b.key && a.ts / 400 == b.ts / 400) {
        expected.emplace_back(a.id, b.id);
      }
    }
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
}

using Group = std::tuple<int32_t, int64_t, std::vector<int32_t>, std::vector<int32_t>>;

class CoGroup : public ::testing::TestWithParam<int> {};

TEST_P(CoGroup, MatchesGroupingPerKeyAndWindowIncludingOneSidedWindows) {
  // Keys 0..5 on the left, 3..8 on the right; the right side has gaps in time.
  auto lefts = outOfOrder<Left>(1000, 0, 6, 10, kOutOfOrderness, 5);
  std::vector<Right> rights;
  for (const Right& r : outOfOrder<Right>(1000, 3, 6, 10, kOutOfOrderness, 6)) {
    if ((r.id / 150) % 2 == 0) rights.push_back(r);
  }
  for (auto [size, slide] : {std::pair<int64_t, int64_t>{700, 700}, {600, 200}}) {
    auto env = testing::makeEnv(GetParam());
    auto sink = std::make_shared<TimestampedSink<Group>>();
    source(*env, lefts, kOutOfOrderness)
        .coGroup(source(*env, rights, kOutOfOrderness))
        .where([](const Left& l) { return l.key; })
        .equalTo([](const Right& r) { return r.key; })
        .window(SlidingEventTimeWindows::of<Tagged>(std::chrono::milliseconds(size),
                                                    std::chrono::milliseconds(slide)))
        .apply(
            [](const std::vector<Left>& ls, const std::vector<Right>& rs, Collector<Group>& out) {
              EXPECT_FALSE(ls.empty() && rs.empty());
              Group g{ls.empty() ? rs[0].key : ls[0].key, 0, {}, {}};
              for (const Left& l : ls) std::get<2>(g).push_back(l.id);
              for (const Right& r : rs) std::get<3>(g).push_back(r.id);
              std::sort(std::get<2>(g).begin(), std::get<2>(g).end());
              std::sort(std::get<3>(g).begin(), std::get<3>(g).end());
              out.collect(g);
            })
        .sinkTo(sink);
    env->execute();

    std::map<std::pair<int32_t, int64_t>, Group> groups;
    auto group = [&](int32_t key, int64_t end) -> Group& {
      auto [it, fresh] = groups.try_emplace({key, end}, Group{key, end, {}, {}});
      return it->second;
    };
    for (const Left& l : lefts) {
      for (int64_t end : windowsOf(l.ts, size, slide))
        std::get<2>(group(l.key, end)).push_back(l.id);
    }
    for (const Right& r : rights) {
      for (int64_t end : windowsOf(r.ts, size, slide))
        std::get<3>(group(r.key, end)).push_back(r.id);
    }
    std::vector<Group> expected;
    int leftOnly = 0, rightOnly = 0;
    for (auto& [kw, g] : groups) {
      std::sort(std::get<2>(g).begin(), std::get<2>(g).end());
      std::sort(std::get<3>(g).begin(), std::get<3>(g).end());
      leftOnly += std::get<3>(g).empty() ? 1 : 0;
      rightOnly += std::get<2>(g).empty() ? 1 : 0;
      expected.push_back(g);
    }
    ASSERT_GT(leftOnly, 0);
    ASSERT_GT(rightOnly, 0);
    std::vector<Group> actual;
    for (auto [g, ts] : sink->received()) {
      std::get<1>(g) = ts;  // the window's maxTimestamp
      actual.push_back(g);
    }
    EXPECT_EQ(sorted(actual), sorted(expected)) << size << "/" << slide;
  }
}

INSTANTIATE_TEST_SUITE_P(Parallelism, WindowJoin, ::testing::Values(1, 4));
INSTANTIATE_TEST_SUITE_P(Parallelism, CoGroup, ::testing::Values(1, 4));

// ---- interval join ----------------------------------------------------------------------------

struct Bounds {
  int64_t lower;
  int64_t upper;
  bool lowerExclusive;
  bool upperExclusive;
};

std::vector<Pair> nestedLoop(const std::vector<Left>& lefts, const std::vector<Right>& rights,
                             const Bounds& b) {
  std::vector<Pair> out;
  for (const Left& l : lefts) {
    for (const Right& r : rights) {
      if (l.key != r.key) continue;
      int64_t lo = l.ts + b.lower, hi = l.ts + b.upper;
      bool in = (b.lowerExclusive ? r.ts > lo : r.ts >= lo) &&
                (b.upperExclusive ? r.ts < hi : r.ts <= hi);
      if (in) out.emplace_back(l.id, r.id, std::max(l.ts, r.ts));
    }
  }
  return out;
}

class IntervalJoinTest : public ::testing::TestWithParam<int> {};

TEST_P(IntervalJoinTest, MatchesNestedLoopWithBounds) {
  auto lefts = outOfOrder<Left>(1500, 0, 7, 10, kOutOfOrderness, 11);
  auto rights = outOfOrder<Right>(1200, 0, 7, 12, kOutOfOrderness, 12);
  for (Bounds b : {Bounds{-200, 300, false, false}, Bounds{-200, 300, true, true},
                   Bounds{0, 0, false, false}, Bounds{-500, -100, false, true},
                   Bounds{100, 400, true, false}, Bounds{-30, 30, true, true}}) {
    auto env = testing::makeEnv(GetParam());
    auto sink = std::make_shared<TimestampedSink<std::tuple<int32_t, int32_t, int64_t, int64_t>>>();
    auto joined =
        source(*env, lefts, kOutOfOrderness)
            .keyBy([](const Left& l) { return l.key; })
            .intervalJoin(
                source(*env, rights, kOutOfOrderness).keyBy([](const Right& r) { return r.key; }))
            .between(std::chrono::milliseconds(b.lower), std::chrono::milliseconds(b.upper));
    if (b.lowerExclusive) joined.lowerBoundExclusive();
    if (b.upperExclusive) joined.upperBoundExclusive();
    joined
        .process([](const Left& l, const Right& r, ProcessJoinContext& ctx,
                    Collector<std::tuple<int32_t, int32_t, int64_t, int64_t>>& out) {
          EXPECT_EQ(l.key, r.key);
          EXPECT_EQ(ctx.getTimestamp(), std::max(l.ts, r.ts));
          out.collect({l.id, r.id, ctx.getLeftTimestamp(), ctx.getRightTimestamp()});
        })
        .sinkTo(sink);
    env->execute();

    std::vector<Pair> actual;
    for (const auto& [t, ts] : sink->received()) {
      auto [lid, rid, lts, rts] = t;
      EXPECT_EQ(lts, lefts[static_cast<size_t>(lid)].ts);
      EXPECT_EQ(rts, rights[static_cast<size_t>(rid)].ts);
      actual.emplace_back(lid, rid, ts);
    }
    auto expected = nestedLoop(lefts, rights, b);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(sorted(actual), sorted(expected))
        << b.lower << (b.lowerExclusive ? "(excl)" : "") << ", " << b.upper
        << (b.upperExclusive ? "(excl)" : "");
  }
}

/// A ProcessJoinFunction subclass: output type from OutputType, side output from the context.
struct TaggingJoin : ProcessJoinFunction<Left, Right, int64_t> {
  void processElement(const Left& l, const Right& r, Context& ctx,
                      Collector<int64_t>& out) override {
    out.collect(int64_t{l.id} * 100000 + r.id);
    if (l.ts == r.ts) ctx.output(OutputTag<int32_t>("same-ts"), l.id);
  }
};

TEST_P(IntervalJoinTest, ProcessJoinFunctionAndSideOutput) {
  auto lefts = outOfOrder<Left>(500, 0, 4, 10, kOutOfOrderness, 13);
  auto rights = outOfOrder<Right>(500, 0, 4, 10, kOutOfOrderness, 14);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  auto sameTs = std::make_shared<testing::CollectSink<int32_t>>();
  auto joined = source(*env, lefts, kOutOfOrderness)
                    .keyBy([](const Left& l) { return l.key; })
                    .intervalJoin(source(*env, rights, kOutOfOrderness).keyBy([](const Right& r) {
                      return r.key;
                    }))
                    .between(std::chrono::milliseconds(-50), std::chrono::milliseconds(50))
                    .process(TaggingJoin{});
  joined.sinkTo(sink);
  joined.getSideOutput(OutputTag<int32_t>("same-ts")).sinkTo(sameTs);
  env->execute();
  std::vector<int64_t> expected;
  std::vector<int32_t> expectedSame;
  for (const auto& [lid, rid, ts] : nestedLoop(lefts, rights, Bounds{-50, 50, false, false})) {
    expected.push_back(int64_t{lid} * 100000 + rid);
    if (lefts[static_cast<size_t>(lid)].ts == rights[static_cast<size_t>(rid)].ts) {
      expectedSame.push_back(lid);
    }
  }
  ASSERT_FALSE(expectedSame.empty());
  EXPECT_EQ(sorted(sink->values()), sorted(expected));
  EXPECT_EQ(sorted(sameTs->values()), sorted(expectedSame));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, IntervalJoinTest, ::testing::Values(1, 4));

TEST(IntervalJoinTest, ElementsWithoutTimestampFailTheJob) {
  auto env = testing::makeEnv(1);
  env->fromCollection(std::vector<Left>{{1, 10, 0}})
      .keyBy([](const Left& l) { return l.key; })
      .intervalJoin(
          env->fromCollection(std::vector<Right>{{1, 10, 0, ""}}).keyBy([](const Right& r) {
            return r.key;
          }))
      .between(std::chrono::milliseconds(-1), std::chrono::milliseconds(1))
      .process([](const Left&, const Right&, Collector<int32_t>&) {})
      .sinkTo(std::make_shared<testing::CollectSink<int32_t>>());
  try {
    env->execute();
    FAIL() << "expected the job to fail";
  } catch (const SluiceException& e) {
    EXPECT_NE(std::string(e.what()).find("has no timestamp"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("IntervalJoin"), std::string::npos) << e.what();
  }
}

TEST(IntervalJoinTest, LowerBoundAboveUpperBoundIsRejected) {
  auto env = testing::makeEnv(1);
  auto keyed =
      env->fromCollection(std::vector<Left>{{1, 10, 0}}).keyBy([](const Left& l) { return l.key; });
  EXPECT_THROW(keyed.intervalJoin(keyed).between(std::chrono::seconds(1), std::chrono::seconds(0)),
               ConfigurationException);
}

// ---- the interval join operator, driven directly ----------------------------------------------

template <typename T>
struct CollectingOutput final : Output<T> {
  void collect(const T& value, Timestamp timestamp) override {
    records.emplace_back(value, timestamp);
  }
  void emitWatermark(Watermark watermark) override { watermarks.push_back(watermark.timestamp); }
  void emitWatermarkStatus(bool) override {}
  std::vector<std::pair<T, Timestamp>> records;
  std::vector<Timestamp> watermarks;
};

/// Emits (left id, right id).
struct IdPair {
  void operator()(const Left& l, const Right& r, Collector<std::pair<int32_t, int32_t>>& out) {
    out.collect({l.id, r.id});
  }
};
struct KeyOfLeft {
  int32_t operator()(const Left& l) const { return l.key; }
};
struct KeyOfRight {
  int32_t operator()(const Right& r) const { return r.key; }
};

/// One IntervalJoinOperator with its context, outside any job (as Flink's
/// KeyedTwoInputStreamOperatorTestHarness).
class IntervalJoinHarness {
 public:
  using Op = IntervalJoinOperator<int32_t, Left, Right, std::pair<int32_t, int32_t>, KeyOfLeft,
                                  KeyOfRight, IdPair>;
  explicit IntervalJoinHarness(IntervalJoinSpec spec) : op(std::move(spec), {}, {}, {}) {
    StreamOperatorContext context;
    context.runtimeContext = &runtimeContext;
    context.processingTimeService = &timeService;
    context.mailbox = &mailbox;
    context.sideOutputs["late-left"] = &lateLeft;
    op.setup(context, &output);
    op.initializeState();
    op.open();
  }
  ~IntervalJoinHarness() { op.close(); }
  void left(int32_t key, int64_t ts, int32_t id) { op.processElement1(Left{key, ts, id}, ts); }
  void right(int32_t key, int64_t ts, int32_t id) {
    op.processElement2(Right{key, ts, id, ""}, ts);
  }
  void watermark(int64_t ts) {
    op.processWatermark(0, Watermark{ts});
    op.processWatermark(1, Watermark{ts});
  }
  std::vector<std::pair<int32_t, int32_t>> pairs() {
    std::vector<std::pair<int32_t, int32_t>> out;
    for (auto& [p, ts] : output.records) out.push_back(p);
    output.records.clear();
    return out;
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(0);
  TimerScheduler scheduler{clock};
  Mailbox mailbox;
  ProcessingTimeService timeService{scheduler, mailbox, 0};
  RuntimeContext runtimeContext{TaskInfo{"IntervalJoin", 0, 1, 128, 0}, "IntervalJoin"};
  CollectingOutput<std::pair<int32_t, int32_t>> output;
  CollectingOutput<Left> lateLeft;
  Op op;
};

using IdPairs = std::vector<std::pair<int32_t, int32_t>>;

TEST(IntervalJoinOperatorTest, LateElementsAreDroppedAndBuffersCleanedByWatermark) {
  IntervalJoinHarness h(IntervalJoinSpec{-100, 100, "", ""});
  h.left(1, 1000, 1);
  h.right(1, 1050, 1);
  h.right(2, 1000, 2);  // another key: no partner
  EXPECT_EQ(h.pairs(), (IdPairs{{1, 1}}));
  EXPECT_EQ(h.output.records.size(), 0u);
  EXPECT_EQ(h.op.numBufferedKeys(), 3u);  // key 1 on both sides, key 2 on the right

  h.watermark(2000);  // everything at or before 1100 is cleaned up
  EXPECT_EQ(h.output.watermarks, (std::vector<Timestamp>{2000}));
  EXPECT_EQ(h.op.numBufferedKeys(), 0u);

  h.left(1, 1999, 2);   // late: below the watermark
  h.right(1, 1950, 3);  // late
  EXPECT_EQ(h.op.numLateRecordsDropped(), 2);
  h.right(1, 2000, 4);  // at the watermark: not late
  h.left(1, 2050, 5);
  EXPECT_EQ(h.pairs(), (IdPairs{{5, 4}}));
  EXPECT_EQ(h.op.numLateRecordsDropped(), 2);
}

TEST(IntervalJoinOperatorTest, ElementAtTheWatermarkStillMeetsItsBoundaryPartner) {
  // left 1900 may join right in [1900, 2000]; Flink cleans it when the watermark reaches 2000,
  // which loses the pair with a right element at exactly 2000 (not late). Sluice keeps it 1 ms
  // longer.
  IntervalJoinHarness h(IntervalJoinSpec{0, 100, "", ""});
  h.left(1, 1900, 1);
  h.watermark(2000);
  h.right(1, 2000, 2);
  EXPECT_EQ(h.pairs(), (IdPairs{{1, 2}}));
  EXPECT_EQ(h.op.numBufferedKeys(), 2u);
  h.watermark(2001);  // both are past use now
  EXPECT_EQ(h.op.numBufferedKeys(), 0u);
}

TEST(IntervalJoinOperatorTest, LateElementsGoToTheSideOutput) {
  IntervalJoinHarness h(IntervalJoinSpec{-10, 10, "late-left", ""});
  h.watermark(500);
  h.left(3, 499, 7);
  h.right(3, 499, 8);
  EXPECT_EQ(h.lateLeft.records.size(), 1u);
  EXPECT_EQ(h.lateLeft.records.at(0).first.id, 7);
  EXPECT_EQ(h.lateLeft.records.at(0).second, 499);
  EXPECT_EQ(h.op.numLateRecordsDropped(), 1);  // the right one: no right side output
  EXPECT_TRUE(h.pairs().empty());
}

// ---- std::variant serializer ------------------------------------------------------------------

TEST(JoinTaggedUnion, VariantSerializerRoundTripsEveryAlternativeAndRejectsBadIndex) {
  using V = std::variant<int32_t, std::string, Right>;
  DataOutputView out;
  for (const V& v : {V(int32_t{42}), V(std::string("hello")), V(Right{1, 2, 3, "x"})}) {
    out.clear();
    TypeSerializer<V>::serialize(v, out);
    V reuse(std::string("reused"));
    DataInputView in(out.data(), out.size());
    TypeSerializer<V>::deserialize(reuse, in);
    EXPECT_EQ(in.remaining(), 0u);
    ASSERT_EQ(reuse.index(), v.index());
    if (v.index() == 2) {
      EXPECT_EQ(std::get<2>(reuse).payload, "x");
      EXPECT_EQ(std::get<2>(reuse).ts, 2);
    } else if (v.index() == 1) {
      EXPECT_EQ(std::get<1>(reuse), "hello");
    } else {
      EXPECT_EQ(std::get<0>(reuse), 42);
    }
  }
  static_assert(TypeSerializer<V>::kMinSerializedSize == 2);  // index + a string's length
  const uint8_t bad[] = {3, 0, 0, 0, 0};
  DataInputView in(bad, sizeof(bad));
  V reuse;
  EXPECT_THROW(TypeSerializer<V>::deserialize(reuse, in), SerializationException);
}

}  // namespace join_test
}  // namespace sluice
