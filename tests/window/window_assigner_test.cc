// Window assigners against brute force: tumbling and sliding windows with positive and negative
// offsets and timestamps (Flink's TimeWindow.getWindowStartWithOffset), maxTimestamp = end − 1,
// parameter checks, session windows and their merging (Flink's TimeWindow.mergeWindows).

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "sluice/window/window_assigners.h"

namespace sluice {
namespace window_assigner_test {

using std::chrono::milliseconds;

/// Every window [s, s + size) with s ≡ offset (mod slide) that contains `ts`, by enumeration:
/// no modular arithmetic, so it is independent of the formula under test.
std::vector<TimeWindow> bruteForceWindows(Timestamp ts, int64_t size, int64_t slide,
                                          int64_t offset) {
  std::vector<TimeWindow> out;
  // Candidate starts: offset + k * slide for k in a range wide enough around ts.
  int64_t lo = ts - size - 2 * slide;
  int64_t hi = ts + 2 * slide;
  // First candidate >= lo, found by stepping (the ranges here are small).
  int64_t s = offset;
  while (s > lo) s -= slide;
  while (s < lo) s += slide;
  for (; s <= hi; s += slide) {
    if (s <= ts && ts < s + size) out.push_back(TimeWindow{s, s + size});
  }
  // Flink lists them from the latest start to the earliest.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return b < a; });
  return out;
}

std::vector<TimeWindow> assign(const WindowAssigner<int, TimeWindow>& a, Timestamp ts,
                               Timestamp now = 0) {
  std::vector<TimeWindow> out;
  a.assignWindows(0, ts, now, out);
  return out;
}

TEST(TimeWindow, MaxTimestampIsEndMinusOneAndIntersectsIncludesTouching) {
  TimeWindow w{10, 20};
  EXPECT_EQ(w.maxTimestamp(), 19);
  EXPECT_TRUE(w.intersects(TimeWindow{20, 30}));  // touching windows merge, as in Flink
  EXPECT_TRUE(w.intersects(TimeWindow{0, 10}));
  EXPECT_FALSE(w.intersects(TimeWindow{21, 30}));
  EXPECT_FALSE(w.intersects(TimeWindow{0, 9}));
  EXPECT_EQ(w.cover(TimeWindow{5, 12}), (TimeWindow{5, 20}));
  EXPECT_EQ(GlobalWindow{}.maxTimestamp(), kMaxWatermark);
}

TEST(TimeWindow, WindowStartWithOffsetMatchesEnumeration) {
  for (int64_t size : {1, 3, 7, 10, 1000}) {
    for (int64_t offset = -(size - 1); offset < size; offset += std::max<int64_t>(1, size / 5)) {
      for (Timestamp ts = -2500; ts <= 2500; ts += 7) {
        auto expected = bruteForceWindows(ts, size, size, offset);
        ASSERT_EQ(expected.size(), 1u);
        EXPECT_EQ(TimeWindow::getWindowStartWithOffset(ts, offset, size), expected[0].start)
            << "ts " << ts << " offset " << offset << " size " << size;
      }
    }
  }
}

TEST(TumblingEventTimeWindows, AssignsTheOneWindowWithOffsetsAndNegativeTimestamps) {
  for (int64_t size : {5, 60, 1000}) {
    for (int64_t offset : {int64_t{0}, size / 3, -size / 3, size - 1, -(size - 1)}) {
      auto a = TumblingEventTimeWindows::of<int>(milliseconds(size), milliseconds(offset));
      EXPECT_TRUE(a->isEventTime());
      EXPECT_FALSE(a->isMerging());
      for (Timestamp ts = -3 * size - 1; ts <= 3 * size + 1; ++ts) {
        auto got = assign(*a, ts);
        ASSERT_EQ(got, bruteForceWindows(ts, size, size, offset))
            << "ts " << ts << " size " << size << " offset " << offset;
        EXPECT_EQ(got[0].maxTimestamp(), got[0].end - 1);
      }
    }
  }
}

TEST(TumblingEventTimeWindows, ConcreteBoundaries) {
  // Flink's documentation example: hourly windows shifted by 15 minutes start at :15.
  auto hourly = TumblingEventTimeWindows::of<int>(std::chrono::hours(1), std::chrono::minutes(15));
  auto w = assign(*hourly, 3'600'000 + 10 * 60'000);  // 01:10 → [00:15, 01:15)
  EXPECT_EQ(w, (std::vector<TimeWindow>{{15 * 60'000, 75 * 60'000}}));
  auto tumbling = TumblingEventTimeWindows::of<int>(milliseconds(10));
  EXPECT_EQ(assign(*tumbling, -1), (std::vector<TimeWindow>{{-10, 0}}));
  EXPECT_EQ(assign(*tumbling, -10), (std::vector<TimeWindow>{{-10, 0}}));
  EXPECT_EQ(assign(*tumbling, -11), (std::vector<TimeWindow>{{-20, -10}}));
  EXPECT_EQ(assign(*tumbling, 9), (std::vector<TimeWindow>{{0, 10}}));
  EXPECT_EQ(assign(*tumbling, 10), (std::vector<TimeWindow>{{10, 20}}));
  auto negative = TumblingEventTimeWindows::of<int>(milliseconds(10), milliseconds(-3));
  EXPECT_EQ(assign(*negative, 0), (std::vector<TimeWindow>{{-3, 7}}));
  EXPECT_EQ(assign(*negative, 7), (std::vector<TimeWindow>{{7, 17}}));
  EXPECT_EQ(assign(*negative, -4), (std::vector<TimeWindow>{{-13, -3}}));
}

TEST(SlidingEventTimeWindows, AssignsEveryWindowContainingTheTimestamp) {
  struct Case {
    int64_t size, slide;
  };
  for (auto [size, slide] : {Case{10, 5}, Case{10, 3}, Case{7, 2}, Case{9, 9}, Case{3, 5},
                             Case{1000, 250}, Case{700, 300}}) {
    for (int64_t offset : {int64_t{0}, slide / 2, -slide / 2, slide - 1, -(slide - 1)}) {
      auto a = SlidingEventTimeWindows::of<int>(milliseconds(size), milliseconds(slide),
                                                milliseconds(offset));
      for (Timestamp ts = -3 * size - 3; ts <= 3 * size + 3; ++ts) {
        // Windows with size < slide leave gaps: then an element may have no window at all.
        ASSERT_EQ(assign(*a, ts), bruteForceWindows(ts, size, slide, offset))
            << "ts " << ts << " size " << size << " slide " << slide << " offset " << offset;
      }
    }
  }
}

TEST(SlidingProcessingTimeWindows, UseTheCurrentProcessingTimeNotTheTimestamp) {
  auto a = SlidingProcessingTimeWindows::of<int>(milliseconds(10), milliseconds(5));
  EXPECT_FALSE(a->isEventTime());
  // The record timestamp is ignored (it may even be absent).
  EXPECT_EQ(assign(*a, kNoTimestamp, 12), (std::vector<TimeWindow>{{10, 20}, {5, 15}}));
  auto t = TumblingProcessingTimeWindows::of<int>(milliseconds(10), milliseconds(2));
  EXPECT_EQ(assign(*t, 999, -5), (std::vector<TimeWindow>{{-8, 2}}));
}

TEST(WindowAssigners, EventTimeAssignersRejectRecordsWithoutTimestamp) {
  auto a = TumblingEventTimeWindows::of<int>(milliseconds(10));
  EXPECT_THROW(assign(*a, kNoTimestamp), SluiceException);
  auto s = EventTimeSessionWindows::withGap<int>(milliseconds(10));
  EXPECT_THROW(assign(*s, kNoTimestamp), SluiceException);
}

TEST(WindowAssigners, RejectInvalidParametersAsFlink) {
  // abs(offset) < size for tumbling; abs(offset) < slide and size > 0 for sliding.
  EXPECT_THROW(TumblingEventTimeWindows::of<int>(milliseconds(10), milliseconds(10)),
               ConfigurationException);
  EXPECT_THROW(TumblingEventTimeWindows::of<int>(milliseconds(10), milliseconds(-10)),
               ConfigurationException);
  EXPECT_THROW(TumblingEventTimeWindows::of<int>(milliseconds(0)), ConfigurationException);
  EXPECT_THROW(SlidingEventTimeWindows::of<int>(milliseconds(10), milliseconds(5), milliseconds(5)),
               ConfigurationException);
  EXPECT_THROW(SlidingEventTimeWindows::of<int>(milliseconds(0), milliseconds(5)),
               ConfigurationException);
  EXPECT_THROW(SlidingEventTimeWindows::of<int>(milliseconds(10), milliseconds(0)),
               ConfigurationException);
  EXPECT_THROW(EventTimeSessionWindows::withGap<int>(milliseconds(0)), ConfigurationException);
  EXPECT_NO_THROW(TumblingEventTimeWindows::of<int>(milliseconds(10), milliseconds(-9)));
  EXPECT_NO_THROW(SlidingEventTimeWindows::of<int>(milliseconds(3), milliseconds(5)));
}

TEST(SessionWindows, AssignTimestampPlusGapStaticOrDynamic) {
  auto s = EventTimeSessionWindows::withGap<int>(milliseconds(10));
  EXPECT_TRUE(s->isMerging());
  EXPECT_TRUE(s->isEventTime());
  EXPECT_EQ(assign(*s, -5), (std::vector<TimeWindow>{{-5, 5}}));
  auto d = EventTimeSessionWindows::withDynamicGap<int>([](const int& v) { return v * 10; });
  std::vector<TimeWindow> out;
  d->assignWindows(3, 100, 0, out);
  EXPECT_EQ(out, (std::vector<TimeWindow>{{100, 130}}));
  out.clear();
  // Flink: "Dynamic gap extractor must return positive value".
  EXPECT_THROW(d->assignWindows(0, 100, 0, out), SluiceException);
  auto p = ProcessingTimeSessionWindows::withGap<int>(milliseconds(7));
  EXPECT_FALSE(p->isEventTime());
  EXPECT_EQ(assign(*p, 1000, 50), (std::vector<TimeWindow>{{50, 57}}));
}

/// What mergeWindows reports, as sets (Flink hands a Set of windows).
std::vector<std::pair<std::set<TimeWindow>, TimeWindow>> merges(
    const WindowAssigner<int, TimeWindow>& a, const std::vector<TimeWindow>& windows) {
  std::vector<std::pair<std::set<TimeWindow>, TimeWindow>> out;
  a.mergeWindows(windows, [&](const std::vector<TimeWindow>& group, const TimeWindow& result) {
    out.emplace_back(std::set<TimeWindow>(group.begin(), group.end()), result);
  });
  std::sort(out.begin(), out.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  return out;
}

TEST(SessionWindows, MergeOverlappingAndTouchingWindowsOnly) {
  auto s = EventTimeSessionWindows::withGap<int>(milliseconds(10));
  // Unsorted input: [0,10) and [10,20) touch and merge, [40,50) and [45,55) overlap; [25,35) and
  // [60,70) stay alone.
  auto m = merges(*s, {{45, 55}, {0, 10}, {25, 35}, {10, 20}, {40, 50}, {60, 70}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].second, (TimeWindow{0, 20}));
  EXPECT_EQ(m[0].first, (std::set<TimeWindow>{{0, 10}, {10, 20}}));
  EXPECT_EQ(m[1].second, (TimeWindow{40, 55}));
  EXPECT_EQ(m[1].first, (std::set<TimeWindow>{{40, 50}, {45, 55}}));
  auto bridged = merges(*s, {{25, 35}, {40, 50}, {33, 41}});
  ASSERT_EQ(bridged.size(), 1u);
  EXPECT_EQ(bridged[0].second, (TimeWindow{25, 50}));
  EXPECT_EQ(bridged[0].first.size(), 3u);
  EXPECT_TRUE(merges(*s, {{0, 10}, {11, 20}}).empty());
  // A window nested in another merges into it.
  auto nested = merges(*s, {{0, 100}, {20, 30}});
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0].second, (TimeWindow{0, 100}));
}

// Random sets of windows: the merge result equals a union-find over "intersects" computed
// pairwise, independent of the sort-and-sweep under test.
TEST(SessionWindows, MergeEqualsConnectedComponentsOfIntersection) {
  auto s = EventTimeSessionWindows::withGap<int>(milliseconds(10));
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>(state >> 33);
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<TimeWindow> windows;
    std::set<TimeWindow> seen;
    int n = 1 + static_cast<int>(next() % 12);
    while (static_cast<int>(windows.size()) < n) {
      int64_t start = next() % 200 - 100;
      TimeWindow w{start, start + 1 + next() % 30};
      if (seen.insert(w).second) windows.push_back(w);
    }
    std::vector<size_t> parent(windows.size());
    for (size_t i = 0; i < parent.size(); ++i) parent[i] = i;
    std::function<size_t(size_t)> find = [&](size_t i) {
      return parent[i] == i ? i : parent[i] = find(parent[i]);
    };
    for (size_t i = 0; i < windows.size(); ++i) {
      for (size_t j = 0; j < windows.size(); ++j) {
        if (windows[i].intersects(windows[j])) parent[find(i)] = find(j);
      }
    }
    std::map<size_t, std::set<TimeWindow>> components;
    for (size_t i = 0; i < windows.size(); ++i) components[find(i)].insert(windows[i]);
    std::vector<std::pair<std::set<TimeWindow>, TimeWindow>> expected;
    for (auto& [root, group] : components) {
      if (group.size() < 2) continue;
      TimeWindow cover = *group.begin();
      for (auto& w : group) cover = cover.cover(w);
      expected.emplace_back(group, cover);
    }
    std::sort(expected.begin(), expected.end(),
              [](const auto& x, const auto& y) { return x.second < y.second; });
    ASSERT_EQ(merges(*s, windows), expected) << "round " << round;
  }
}

TEST(GlobalWindows, OneWindowNeverFiringByDefault) {
  auto g = GlobalWindows::create<int>();
  std::vector<GlobalWindow> out;
  g->assignWindows(1, kNoTimestamp, 0, out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_FALSE(g->isEventTime());
  EXPECT_FALSE(g->isMerging());
  auto trigger = g->getDefaultTrigger();
  using Never = NeverTrigger<int, GlobalWindow>;
  EXPECT_NE(dynamic_cast<Never*>(trigger.get()), nullptr);
}

}  // namespace window_assigner_test
}  // namespace sluice
