// Generated out-of-order streams (thousands of events, tens of keys, random delays) through
// tumbling, sliding and session windows, against a brute-force oracle that simulates Flink's
// window semantics from the definitions: which windows an element belongs to (by enumeration),
// the watermark sequence, on-time firing when the watermark passes a window's end, late firing
// within allowed lateness, cleanup, and the late-data side output.
//
// The same streams run through the operator harness (watermark after every element) and through
// whole jobs at parallelism 1 and 4: with a single punctuated source the watermark sequence is
// deterministic, so even which elements are late is exact; with parallel sources and a bound on
// out-of-orderness no smaller than the largest delay, nothing is late and every window is the
// complete batch window.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "sluice/api/windowed_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"
#include "window/window_test_types.h"

namespace sluice {
namespace window_oracle_test {

using std::chrono::milliseconds;
using window_testing::Event;
using window_testing::KeyOf;
using window_testing::Result;

struct CountSum {
  int64_t count = 0;
  int64_t sum = 0;
};
struct CountSumAgg : AggregateFunction<Event, CountSum, CountSum> {
  CountSum createAccumulator() override { return {}; }
  CountSum add(const Event& e, CountSum acc) override { return {acc.count + 1, acc.sum + e.value}; }
  CountSum getResult(const CountSum& acc) override { return acc; }
  CountSum merge(CountSum a, CountSum b) override { return {a.count + b.count, a.sum + b.sum}; }
};
/// Window function over all elements.
template <typename K>
struct ListToResult : ProcessWindowFunction<Event, Result, K, TimeWindow> {
  using Ctx = ProcessWindowContext<K, TimeWindow>;
  void process(const K&, Ctx& ctx, const std::vector<Event>& elements,
               Collector<Result>& out) override {
    Result r{elements.empty() ? -1 : elements[0].key, ctx.window().start, ctx.window().end, 0, 0};
    for (const auto& e : elements) {
      EXPECT_EQ(e.key, r.key);
      ++r.count;
      r.sum += e.value;
    }
    out.collect(r);
  }
};
/// Window function after the CountSum aggregation; the key comes from the context.
struct AggToResult : ProcessWindowFunction<CountSum, Result, int32_t, TimeWindow> {
  void process(const int32_t& key, Context& ctx, const std::vector<CountSum>& in,
               Collector<Result>& out) override {
    out.collect(Result{key, ctx.window().start, ctx.window().end, in.at(0).count, in.at(0).sum});
  }
};

// ---- the oracle ----------------------------------------------------------------------------

struct WindowConfig {
  enum Kind { kTumbling, kSliding, kSession } kind = kTumbling;
  int64_t size = 0;
  int64_t slide = 0;
  int64_t offset = 0;
  int64_t gap = 0;
  std::string name;

  std::shared_ptr<const WindowAssigner<Event, TimeWindow>> assigner() const {
    switch (kind) {
      case kTumbling:
        return TumblingEventTimeWindows::of<Event>(milliseconds(size), milliseconds(offset));
      case kSliding:
        return SlidingEventTimeWindows::of<Event>(milliseconds(size), milliseconds(slide),
                                                  milliseconds(offset));
      case kSession:
        return EventTimeSessionWindows::withGap<Event>(milliseconds(gap));
    }
    return nullptr;
  }
};

std::ostream& operator<<(std::ostream& os, const WindowConfig& c) { return os << c.name; }

struct Outcome {
  std::vector<Result> results;
  std::vector<Event> late;
};

/// Windows [s, s + size) with s = offset + k·slide containing `ts`, found by stepping from a
/// truncated guess (no floor-modulo formula, unlike the code under test).
std::vector<std::pair<Timestamp, Timestamp>> slidingWindowsOf(Timestamp ts, int64_t size,
                                                              int64_t slide, int64_t offset) {
  Timestamp s = offset + (ts - offset) / slide * slide;
  while (s > ts) s -= slide;
  while (s + slide <= ts) s += slide;
  std::vector<std::pair<Timestamp, Timestamp>> out;
  for (; s + size > ts; s -= slide) {
    if (s <= ts) out.emplace_back(s, s + size);
  }
  return out;
}

/// Simulates the windows over `events` in arrival order. The watermark after each event is
/// max timestamp so far − bound − 1 (a punctuated generator); bound < 0: no watermark until the
/// end of input.
Outcome simulate(const WindowConfig& config, const std::vector<Event>& events, int64_t bound,
                 int64_t lateness) {
  struct Win {
    Timestamp start, end;
    int64_t count = 0, sum = 0;
  };
  std::map<int32_t, std::vector<Win>> windows;
  Timestamp watermark = kMinWatermark;
  Outcome out;
  auto emit = [&](int32_t key, const Win& w) {
    out.results.push_back(Result{key, w.start, w.end, w.count, w.sum});
  };
  auto advance = [&](Timestamp to) {
    for (auto& [key, ws] : windows) {
      // The trigger's timer at maxTimestamp fires once the watermark crosses it.
      for (const auto& w : ws) {
        if (watermark < w.end - 1 && w.end - 1 <= to) emit(key, w);
      }
      // Cleanup at maxTimestamp + allowed lateness.
      std::erase_if(ws, [&](const Win& w) { return w.end - 1 + lateness <= to; });
    }
    watermark = to;
  };
  auto process = [&](const Event& e) {
    auto& ws = windows[e.key];
    if (config.kind == WindowConfig::kSession) {
      Win cover{e.ts, e.ts + config.gap, 1, e.value};
      std::vector<bool> merged(ws.size(), false);
      for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < ws.size(); ++i) {
          if (merged[i] || !(cover.start <= ws[i].end && cover.end >= ws[i].start)) continue;
          merged[i] = changed = true;
          cover.start = std::min(cover.start, ws[i].start);
          cover.end = std::max(cover.end, ws[i].end);
          cover.count += ws[i].count;
          cover.sum += ws[i].sum;
        }
      }
      if (cover.end - 1 + lateness <= watermark) {  // a late window merges with nothing
        if (e.ts + lateness <= watermark) out.late.push_back(e);
        return;
      }
      std::vector<Win> kept;
      for (size_t i = 0; i < ws.size(); ++i) {
        if (!merged[i]) kept.push_back(ws[i]);
      }
      kept.push_back(cover);
      ws = std::move(kept);
      if (cover.end - 1 <= watermark) emit(e.key, cover);  // late firing
      return;
    }
    int64_t slide = config.kind == WindowConfig::kTumbling ? config.size : config.slide;
    bool skipped = true;
    for (auto [start, end] : slidingWindowsOf(e.ts, config.size, slide, config.offset)) {
      if (end - 1 + lateness <= watermark) continue;  // window already cleaned up
      skipped = false;
      auto it = std::find_if(ws.begin(), ws.end(),
                             [&](const Win& w) { return w.start == start && w.end == end; });
      if (it == ws.end()) it = ws.insert(ws.end(), Win{start, end});
      ++it->count;
      it->sum += e.value;
      if (end - 1 <= watermark) emit(e.key, *it);  // late firing
    }
    if (skipped && e.ts + lateness <= watermark) out.late.push_back(e);
  };
  Timestamp maxSeen = kMinWatermark;
  for (const auto& e : events) {
    process(e);
    maxSeen = std::max(maxSeen, e.ts);
    if (bound >= 0 && maxSeen - bound - 1 > watermark) advance(maxSeen - bound - 1);
  }
  advance(kMaxWatermark);
  return out;
}

/// Timestamps base + 10·i − delay, delay uniform in [0, maxDelay); keys and values uniform.
std::vector<Event> generate(int n, int keys, int64_t maxDelay, Timestamp base, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    Timestamp ts = base + 10 * i - static_cast<int64_t>(rng() % static_cast<uint32_t>(maxDelay));
    events.push_back(Event{static_cast<int32_t>(rng() % static_cast<uint32_t>(keys)), ts,
                           static_cast<int64_t>(rng() % 1000)});
  }
  return events;
}

template <typename T>
std::vector<T> values(const std::vector<testing::StreamRecord<T>>& records) {
  std::vector<T> out;
  for (const auto& r : records) out.push_back(r.value);
  return out;
}
template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<WindowConfig> configs() {
  using C = WindowConfig;
  return {
      C{C::kTumbling, 1000, 0, 0, 0, "Tumbling1000"},
      C{C::kTumbling, 700, 0, -300, 0, "Tumbling700OffsetMinus300"},
      C{C::kTumbling, 500, 0, 123, 0, "Tumbling500Offset123"},
      C{C::kSliding, 1000, 250, 0, 0, "Sliding1000By250"},
      C{C::kSliding, 700, 300, -100, 0, "Sliding700By300OffsetMinus100"},
      C{C::kSliding, 300, 500, 50, 0, "Sliding300By500Offset50"},
      C{C::kSession, 0, 0, 0, 150, "Session150"},
      C{C::kSession, 0, 0, 0, 400, "Session400"},
  };
}

// The oracle itself, on a stream where the answer is known by other means: with no watermark
// before the end, every window is the batch window (sessions: sort and sweep, touching merges).
TEST(WindowOracle, WithoutWatermarksEqualsBatchWindows) {
  auto events = generate(2000, 7, 300, -5000, 3);
  for (const auto& config : configs()) {
    auto outcome = simulate(config, events, -1, 0);
    EXPECT_TRUE(outcome.late.empty());
    std::vector<Result> batch;
    std::map<int32_t, std::vector<Event>> byKey;
    for (auto& e : events) byKey[e.key].push_back(e);
    for (auto& [key, es] : byKey) {
      std::sort(es.begin(), es.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
      if (config.kind == WindowConfig::kSession) {
        Result r{key, es[0].ts, es[0].ts + config.gap, 0, 0};
        for (auto& e : es) {
          if (e.ts > r.end) {
            batch.push_back(r);
            r = Result{key, e.ts, e.ts + config.gap, 0, 0};
          }
          r.end = std::max(r.end, e.ts + config.gap);
          ++r.count;
          r.sum += e.value;
        }
        batch.push_back(r);
      } else {
        int64_t slide = config.kind == WindowConfig::kTumbling ? config.size : config.slide;
        std::map<Timestamp, Result> ws;
        for (auto& e : es) {
          // Every start ≡ offset (mod slide) in (ts − size, ts], by scanning.
          for (Timestamp s = e.ts - config.size + 1; s <= e.ts; ++s) {
            if (((s - config.offset) % slide + slide) % slide != 0) continue;
            auto& r = ws.try_emplace(s, Result{key, s, s + config.size, 0, 0}).first->second;
            ++r.count;
            r.sum += e.value;
          }
        }
        for (auto& [s, r] : ws) batch.push_back(r);
      }
    }
    EXPECT_EQ(sorted(outcome.results), sorted(batch)) << config;
  }
}

// ---- through the operator harness ------------------------------------------------------------

std::unique_ptr<OneInputStreamOperator<Event, Result>> makeOperator(const WindowConfig& config,
                                                                    int64_t lateness,
                                                                    const std::string& lateTag,
                                                                    bool aggregate) {
  WindowSpec<Event, TimeWindow> spec;
  spec.assigner = config.assigner();
  spec.allowedLatenessMillis = lateness;
  spec.lateDataTag = lateTag;
  if (aggregate) {
    using E = windowing::ProcessEmitter<AggToResult, windowing::ProjectAggregate<CountSumAgg>>;
    return std::make_unique<WindowOperator<int32_t, Event, Result, TimeWindow, KeyOf,
                                           windowing::AggregateContents<Event, CountSumAgg>, E>>(
        spec, KeyOf{}, windowing::AggregateContents<Event, CountSumAgg>{}, E{{}, {}, {}});
  }
  using E = windowing::ProcessEmitter<ListToResult<int32_t>, windowing::ProjectReduction>;
  return std::make_unique<
      WindowOperator<int32_t, Event, Result, TimeWindow, KeyOf, windowing::ListContents<Event>, E>>(
      spec, KeyOf{}, windowing::ListContents<Event>{}, E{{}, {}, {}});
}

class OracleHarness : public ::testing::TestWithParam<WindowConfig> {};

TEST_P(OracleHarness, WindowOperatorEqualsTheOracle) {
  const WindowConfig& config = GetParam();
  // Delays up to 500 ms with bound 500: nothing late. Delays up to 1500 ms with bound 50: many
  // late elements (for sliding windows an element is late only when its last window is), some
  // within the allowed lateness.
  auto inOrder = generate(4000, 20, 500, -8000, 11);
  auto disorder = generate(4000, 20, 1500, -8000, 12);
  OutputTag<Event> late("late");
  for (auto [bound, lateness] : {std::pair<int64_t, int64_t>{500, 0}, {50, 0}, {50, 200}}) {
    const auto& events = bound == 500 ? inOrder : disorder;
    auto expected = simulate(config, events, bound, lateness);
    if (bound < 500) {
      EXPECT_GT(expected.late.size(), 20u) << "the test needs late elements";
    } else {
      EXPECT_TRUE(expected.late.empty());
    }
    for (bool aggregate : {false, true}) {
      testing::OneInputStreamOperatorTestHarness<Event, Result> h(
          makeOperator(config, lateness, late.id, aggregate));
      h.declareSideOutput(late);
      Timestamp maxSeen = kMinWatermark, emitted = kMinWatermark;
      for (const auto& e : events) {
        h.processElement(e, e.ts);
        maxSeen = std::max(maxSeen, e.ts);
        if (maxSeen - bound - 1 > emitted) {
          emitted = maxSeen - bound - 1;
          h.processWatermark(emitted);
        }
      }
      h.processWatermark(kMaxWatermark);
      std::vector<Result> results;
      for (auto& r : h.extractOutput()) {
        EXPECT_EQ(r.timestamp, r.value.end - 1);
        results.push_back(r.value);
      }
      std::vector<Event> lateEvents;
      for (auto& r : h.extractSideOutput(late)) {
        EXPECT_EQ(r.timestamp, r.value.ts);
        lateEvents.push_back(r.value);
      }
      EXPECT_EQ(sorted(results), sorted(expected.results))
          << config << " bound " << bound << " lateness " << lateness << " aggregate " << aggregate;
      EXPECT_EQ(sorted(lateEvents), sorted(expected.late))
          << config << " bound " << bound << " lateness " << lateness;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Assigners, OracleHarness, ::testing::ValuesIn(configs()),
                         [](const auto& info) { return info.param.name; });

// Processing-time windows through the harness clock: random clock steps and elements. The oracle:
// an element's windows are those of the processing time at which it arrives; a window fires
// (and is dropped) when the clock reaches its maxTimestamp; sessions merge as in event time.
class ProcessingTimeOracle : public ::testing::TestWithParam<WindowConfig> {};

TEST_P(ProcessingTimeOracle, HarnessClockDrivesWindowsLikeTheOracle) {
  const WindowConfig& config = GetParam();
  WindowSpec<Event, TimeWindow> spec;
  switch (config.kind) {
    case WindowConfig::kTumbling:
      spec.assigner = TumblingProcessingTimeWindows::of<Event>(milliseconds(config.size),
                                                               milliseconds(config.offset));
      break;
    case WindowConfig::kSliding:
      spec.assigner = SlidingProcessingTimeWindows::of<Event>(
          milliseconds(config.size), milliseconds(config.slide), milliseconds(config.offset));
      break;
    case WindowConfig::kSession:
      spec.assigner = ProcessingTimeSessionWindows::withGap<Event>(milliseconds(config.gap));
      break;
  }
  using E = windowing::ProcessEmitter<ListToResult<int32_t>, windowing::ProjectReduction>;
  testing::OneInputStreamOperatorTestHarness<Event, Result> h(
      std::make_unique<WindowOperator<int32_t, Event, Result, TimeWindow, KeyOf,
                                      windowing::ListContents<Event>, E>>(
          spec, KeyOf{}, windowing::ListContents<Event>{}, E{{}, {}, {}}),
      testing::HarnessConfig{}, std::make_shared<ManualClock>(-2000));
  struct Win {
    Timestamp start, end;
    int64_t count = 0, sum = 0;
  };
  std::map<int32_t, std::vector<Win>> windows;
  std::vector<std::pair<Result, Timestamp>> expected;  // with the time they fire at
  std::vector<std::pair<Result, Timestamp>> got;
  auto advanceTo = [&](Timestamp now) {
    for (auto& [key, ws] : windows) {
      for (const auto& w : ws) {
        if (w.end - 1 <= now)
          expected.emplace_back(Result{key, w.start, w.end, w.count, w.sum}, now);
      }
      std::erase_if(ws, [&](const Win& w) { return w.end - 1 <= now; });
    }
    h.setProcessingTime(now);
    for (auto& r : h.extractOutput()) {
      EXPECT_EQ(r.timestamp, r.value.end - 1);
      got.emplace_back(r.value, now);
    }
  };
  std::mt19937 rng(99);
  Timestamp now = -2000;  // processing time may be anything, even before the epoch
  h.setProcessingTime(now);
  for (int step = 0; step < 5000; ++step) {
    if (rng() % 3 == 0) {
      now += static_cast<Timestamp>(rng() % 40);
      advanceTo(now);
      continue;
    }
    Event e{static_cast<int32_t>(rng() % 10), kNoTimestamp, static_cast<int64_t>(rng() % 100)};
    h.processElement(e);
    auto& ws = windows[e.key];
    if (config.kind == WindowConfig::kSession) {
      Win cover{now, now + config.gap, 1, e.value};
      for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < ws.size(); ++i) {
          if (!(cover.start <= ws[i].end && cover.end >= ws[i].start)) continue;
          cover = Win{std::min(cover.start, ws[i].start), std::max(cover.end, ws[i].end),
                      cover.count + ws[i].count, cover.sum + ws[i].sum};
          ws.erase(ws.begin() + static_cast<std::ptrdiff_t>(i));
          changed = true;
          break;
        }
      }
      ws.push_back(cover);
      continue;
    }
    int64_t slide = config.kind == WindowConfig::kTumbling ? config.size : config.slide;
    for (auto [start, end] : slidingWindowsOf(now, config.size, slide, config.offset)) {
      auto it = std::find_if(ws.begin(), ws.end(),
                             [&](const Win& w) { return w.start == start && w.end == end; });
      if (it == ws.end()) it = ws.insert(ws.end(), Win{start, end});
      ++it->count;
      it->sum += e.value;
    }
  }
  advanceTo(now + 10'000);
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(sorted(got), sorted(expected)) << config;
}

INSTANTIATE_TEST_SUITE_P(
    Assigners, ProcessingTimeOracle,
    ::testing::Values(WindowConfig{WindowConfig::kTumbling, 100, 0, 0, 0, "Tumbling100"},
                      WindowConfig{WindowConfig::kTumbling, 70, 0, -30, 0, "Tumbling70Off"},
                      WindowConfig{WindowConfig::kSliding, 100, 25, 5, 0, "Sliding100By25"},
                      WindowConfig{WindowConfig::kSliding, 30, 50, 0, 0, "Sliding30By50"},
                      WindowConfig{WindowConfig::kSession, 0, 0, 0, 40, "Session40"}),
    [](const auto& info) { return info.param.name; });

// Flink: an element between windows (size < slide) belongs to no window; it goes to the late
// side output only when it is late itself (timestamp + allowed lateness <= watermark), else it
// is dropped without a trace.
template <typename Op>
void checkGapElements(std::unique_ptr<Op> op) {
  OutputTag<Event> late("late");
  testing::OneInputStreamOperatorTestHarness<Event, Result> h(std::move(op));
  h.declareSideOutput(late);
  h.processWatermark(350);             // [0, 300) has fired
  h.processElement({1, 400, 1}, 400);  // between [0, 300) and [500, 800), not late
  h.processElement({1, 340, 2}, 340);  // between, late
  h.processElement({1, 100, 3}, 100);  // in [0, 300), late
  h.processElement({1, 600, 4}, 600);
  h.processWatermark(kMaxWatermark);
  EXPECT_EQ(values(h.extractSideOutput(late)), (std::vector<Event>{{1, 340, 2}, {1, 100, 3}}));
  EXPECT_EQ(values(h.extractOutput()), (std::vector<Result>{{1, 500, 800, 1, 4}}));
}

TEST(SlidingGaps, ElementsBetweenWindowsAreLateOnlyWhenTheirTimestampIs) {
  WindowConfig config{WindowConfig::kSliding, 300, 500, 0, 0, "gaps"};
  checkGapElements(makeOperator(config, 0, "late", false));
  checkGapElements(makeOperator(config, 0, "late", true));
}

// The SlicedWindowOperator (window/sliced_window_operator.h, which the API uses for tumbling and
// sliding aggregations without lateness) sends the element at 400 to the late output: it
// compares the watermark with the end of the window before the gap, not with the timestamp.
TEST(SlidingGaps, SlicedOperatorAgreesWithFlink) {
  using E = windowing::ProcessEmitter<AggToResult, windowing::ProjectAggregate<CountSumAgg>>;
  using Op = SlicedWindowOperator<int32_t, Event, Result, KeyOf,
                                  windowing::AggregateContents<Event, CountSumAgg>, E>;
  checkGapElements(std::make_unique<Op>(300, 500, 0, "late", KeyOf{},
                                        windowing::AggregateContents<Event, CountSumAgg>{},
                                        E{{}, {}, {}}));
}

// ---- whole jobs ------------------------------------------------------------------------------

/// Watermark = max timestamp − bound − 1 on every event: deterministic, unlike periodic ones.
struct PunctuatedBound final : WatermarkGenerator<Event> {
  explicit PunctuatedBound(int64_t b) : bound(b) {}
  void onEvent(const Event&, Timestamp ts, WatermarkOutput& out) override {
    max = std::max(max, ts);
    out.emitWatermark(Watermark{max - bound - 1});
  }
  void onPeriodicEmit(WatermarkOutput&) override {}
  int64_t bound;
  Timestamp max = kMinWatermark;
};

struct JobOutcome {
  std::vector<Result> results;
  std::vector<Event> late;
};

/// Runs `events` through keyBy → window → process or aggregate, at `parallelism`. With
/// `punctuatedBound` >= 0 the source is one subtask with punctuated watermarks (deterministic
/// lateness); otherwise `parallelism` source subtasks with bounded out-of-orderness of
/// `periodicBound` and periodic watermarks.
JobOutcome runJob(const WindowConfig& config, const std::vector<Event>& events, int parallelism,
                  int64_t punctuatedBound, int64_t periodicBound, int64_t lateness,
                  bool aggregate) {
  auto env = testing::makeEnv(parallelism);
  auto strategy =
      [&] {
        if (punctuatedBound >= 0) {
          env->setAutoWatermarkInterval(0);
          return WatermarkStrategy<Event>::forGenerator(
              [b = punctuatedBound] { return std::make_unique<PunctuatedBound>(b); });
        }
        env->setAutoWatermarkInterval(5);
        return WatermarkStrategy<Event>::forBoundedOutOfOrderness(milliseconds(periodicBound));
      }()
          .withTimestampAssigner([](const Event& e) { return e.ts; });
  SingleOutputStreamOperator<Event> source = [&] {
    if (punctuatedBound >= 0) {
      auto s = env->fromSource<Event, CollectionSplit>(
          std::make_shared<CollectionSource<Event>>(events), strategy, "Events");
      s.setParallelism(1);
      return s;
    }
    // Subtask i emits events i, i + p, i + 2p, ... in order.
    auto shared = std::make_shared<const std::vector<Event>>(events);
    auto next = std::make_shared<std::vector<std::atomic<size_t>>>(parallelism);
    for (int i = 0; i < parallelism; ++i) (*next)[static_cast<size_t>(i)] = static_cast<size_t>(i);
    auto src = std::make_shared<testing::FunctionSource<Event>>(
        [shared, next, parallelism](ReaderOutput<Event>& out, int subtask) {
          auto& i = (*next)[static_cast<size_t>(subtask)];
          if (i >= shared->size()) return InputStatus::kEndOfInput;
          out.collect((*shared)[i]);
          i += static_cast<size_t>(parallelism);
          return InputStatus::kMoreAvailable;
        });
    return env->fromSource<Event, testing::SubtaskSplit>(src, strategy, "Events");
  }();
  OutputTag<Event> late("late");
  auto windowed = source.keyBy(KeyOf{}).window(config.assigner());
  if (lateness > 0) windowed.allowedLateness(milliseconds(lateness));
  windowed.sideOutputLateData(late);
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  auto lateSink = std::make_shared<testing::CollectSink<Event>>();
  auto result = aggregate ? windowed.aggregate(CountSumAgg{}, AggToResult{})
                          : windowed.process(ListToResult<int32_t>{});
  result.sinkTo(sink);
  result.getSideOutput(late).sinkTo(lateSink);
  env->execute();
  return {sorted(sink->values()), sorted(lateSink->values())};
}

class OracleJob : public ::testing::TestWithParam<std::tuple<WindowConfig, int>> {};

TEST_P(OracleJob, LateElementsExactWithOnePunctuatedSource) {
  auto [config, parallelism] = GetParam();
  auto events = generate(3000, 20, 1500, -6000, 21);
  for (int64_t lateness : {0, 200}) {
    auto expected = simulate(config, events, 50, lateness);
    ASSERT_GT(expected.late.size(), 20u);
    for (bool aggregate : {false, true}) {
      // Aggregations of tumbling and sliding windows without lateness run on the
      // SlicedWindowOperator; the others on the general WindowOperator.
      auto got = runJob(config, events, parallelism, 50, -1, lateness, aggregate);
      EXPECT_EQ(got.results, sorted(expected.results))
          << config << " p " << parallelism << " lateness " << lateness << " aggregate "
          << aggregate;
      EXPECT_EQ(got.late, sorted(expected.late)) << config << " p " << parallelism << " lateness "
                                                 << lateness << " aggregate " << aggregate;
    }
  }
}

TEST_P(OracleJob, NothingLateWithParallelSourcesAndEnoughOutOfOrderness) {
  auto [config, parallelism] = GetParam();
  auto events = generate(3000, 20, 500, -6000, 22);
  auto expected = simulate(config, events, -1, 0);
  for (bool aggregate : {false, true}) {
    auto got = runJob(config, events, parallelism, -1, 500, 0, aggregate);
    EXPECT_EQ(got.results, sorted(expected.results))
        << config << " p " << parallelism << " aggregate " << aggregate;
    EXPECT_TRUE(got.late.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Assigners, OracleJob,
                         ::testing::Combine(::testing::ValuesIn(configs()),
                                            ::testing::Values(1, 4)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_p" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace window_oracle_test
}  // namespace sluice
