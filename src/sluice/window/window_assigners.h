#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "sluice/window/triggers.h"
#include "sluice/window/windows.h"

namespace sluice {

/// Assigns elements to windows (Flink's WindowAssigner), with the trigger used when the user
/// sets none. Merging assigners (sessions) also merge overlapping windows. Stateless and shared.
template <typename T, typename W>
class WindowAssigner {
 public:
  using WindowType = W;
  virtual ~WindowAssigner() = default;
  /// Appends the windows of an element with `timestamp` (ms) to `out`; `currentProcessingTime`
  /// serves processing-time assigners.
  virtual void assignWindows(const T& element, Timestamp timestamp, Timestamp currentProcessingTime,
                             std::vector<W>& out) const = 0;
  virtual std::unique_ptr<Trigger<T, W>> getDefaultTrigger() const = 0;
  virtual bool isEventTime() const = 0;
  virtual bool isMerging() const { return false; }
  /// For merging assigners: calls `merge(group, result)` for each set of windows among `windows`
  /// that must become one window `result` (Flink's MergingWindowAssigner#mergeWindows).
  virtual void mergeWindows(
      const std::vector<W>& windows,
      const std::function<void(const std::vector<W>& group, const W& result)>& merge) const {
    (void)windows;
    (void)merge;
  }
};

namespace detail {
inline void checkTimestamp(Timestamp timestamp) {
  if (timestamp == kNoTimestamp) {
    throw SluiceException(
        "Record has no timestamp (Long.MIN_VALUE marker). Is the time characteristic set to "
        "processing time, or did you forget to call assignTimestampsAndWatermarks(...) or give "
        "the source a WatermarkStrategy?");
  }
}
inline void checkSizes(int64_t size, int64_t slide, int64_t offset) {
  if (size <= 0 || slide <= 0 || std::abs(offset) >= slide) {
    throw ConfigurationException(
        "window size and slide must be positive and |offset| < slide (size " +
        std::to_string(size) + " ms, slide " + std::to_string(slide) + " ms, offset " +
        std::to_string(offset) + " ms)");
  }
}

/// Sliding or tumbling windows of `size`, every `slide`, shifted by `offset` (Flink's
/// SlidingEventTimeWindows / TumblingEventTimeWindows and processing-time counterparts).
template <typename T, bool kEventTime>
class SlidingWindows final : public WindowAssigner<T, TimeWindow> {
 public:
  SlidingWindows(int64_t size, int64_t slide, int64_t offset)
      : size_(size), slide_(slide), offset_(offset) {
    checkSizes(size, slide, offset);
  }
  void assignWindows(const T&, Timestamp timestamp, Timestamp now,
                     std::vector<TimeWindow>& out) const override {
    if constexpr (kEventTime) {
      checkTimestamp(timestamp);
    } else {
      timestamp = now;
    }
    Timestamp lastStart = TimeWindow::getWindowStartWithOffset(timestamp, offset_, slide_);
    for (Timestamp start = lastStart; start > timestamp - size_; start -= slide_) {
      out.push_back(TimeWindow{start, start + size_});
    }
  }
  std::unique_ptr<Trigger<T, TimeWindow>> getDefaultTrigger() const override {
    if constexpr (kEventTime) {
      return EventTimeTrigger<T, TimeWindow>::create();
    } else {
      return ProcessingTimeTrigger<T, TimeWindow>::create();
    }
  }
  bool isEventTime() const override { return kEventTime; }
  int64_t size() const { return size_; }
  int64_t slide() const { return slide_; }
  int64_t offset() const { return offset_; }

 private:
  int64_t size_;
  int64_t slide_;
  int64_t offset_;
};

/// Session windows: [timestamp, timestamp + gap), merged while they overlap (Flink's
/// EventTimeSessionWindows / ProcessingTimeSessionWindows, static or dynamic gap).
template <typename T, bool kEventTime>
class SessionWindows final : public WindowAssigner<T, TimeWindow> {
 public:
  using GapExtractor = std::function<int64_t(const T&)>;
  explicit SessionWindows(GapExtractor gap) : gap_(std::move(gap)) {}
  void assignWindows(const T& element, Timestamp timestamp, Timestamp now,
                     std::vector<TimeWindow>& out) const override {
    if constexpr (kEventTime) {
      checkTimestamp(timestamp);
    } else {
      timestamp = now;
    }
    int64_t gap = gap_(element);
    if (gap <= 0) {
      throw SluiceException("session gap must be positive, got " + std::to_string(gap) + " ms");
    }
    out.push_back(TimeWindow{timestamp, timestamp + gap});
  }
  std::unique_ptr<Trigger<T, TimeWindow>> getDefaultTrigger() const override {
    if constexpr (kEventTime) {
      return EventTimeTrigger<T, TimeWindow>::create();
    } else {
      return ProcessingTimeTrigger<T, TimeWindow>::create();
    }
  }
  bool isEventTime() const override { return kEventTime; }
  bool isMerging() const override { return true; }
  /// Sorts by start and merges windows that intersect, as Flink's TimeWindow.mergeWindows.
  void mergeWindows(const std::vector<TimeWindow>& windows,
                    const std::function<void(const std::vector<TimeWindow>&, const TimeWindow&)>&
                        merge) const override {
    std::vector<TimeWindow> sorted = windows;
    std::sort(sorted.begin(), sorted.end());
    std::vector<TimeWindow> group;
    TimeWindow current{};
    for (const auto& w : sorted) {
      if (group.empty()) {
        current = w;
        group.push_back(w);
      } else if (current.intersects(w)) {
        current = current.cover(w);
        group.push_back(w);
      } else {
        if (group.size() > 1) merge(group, current);
        group = {w};
        current = w;
      }
    }
    if (group.size() > 1) merge(group, current);
  }

 private:
  GapExtractor gap_;
};

/// One window for everything (Flink's GlobalWindows); never fires unless given a trigger.
template <typename T>
class GlobalWindowsAssigner final : public WindowAssigner<T, GlobalWindow> {
 public:
  void assignWindows(const T&, Timestamp, Timestamp,
                     std::vector<GlobalWindow>& out) const override {
    out.push_back(GlobalWindow{});
  }
  std::unique_ptr<Trigger<T, GlobalWindow>> getDefaultTrigger() const override {
    return std::make_unique<NeverTrigger<T, GlobalWindow>>();
  }
  bool isEventTime() const override { return false; }
};

inline int64_t millis(std::chrono::milliseconds d) { return d.count(); }
}  // namespace detail

/// A window assigner described without its element type, as Flink's factories are untyped:
/// `keyed.window(TumblingEventTimeWindows::of(std::chrono::hours(1)))`. The stream it is applied
/// to supplies the type (forType<T>()). Dynamic session gaps need the type: use
/// withDynamicGap<T>.
template <typename W>
struct AnyTypeAssigner {
  enum class Kind { kSliding, kSession, kGlobal };
  Kind kind = Kind::kGlobal;
  bool eventTime = true;
  int64_t size = 0;
  int64_t slide = 0;
  int64_t offset = 0;
  int64_t gap = 0;

  template <typename T>
  std::shared_ptr<const WindowAssigner<T, W>> forType() const {
    if constexpr (std::is_same_v<W, GlobalWindow>) {
      return std::make_shared<detail::GlobalWindowsAssigner<T>>();
    } else {
      if (kind == Kind::kSession) {
        int64_t g = gap;
        auto fixed = [g](const T&) { return g; };
        if (eventTime) return std::make_shared<detail::SessionWindows<T, true>>(fixed);
        return std::make_shared<detail::SessionWindows<T, false>>(fixed);
      }
      if (eventTime) return std::make_shared<detail::SlidingWindows<T, true>>(size, slide, offset);
      return std::make_shared<detail::SlidingWindows<T, false>>(size, slide, offset);
    }
  }
};

namespace detail {
inline AnyTypeAssigner<TimeWindow> slidingSpec(bool eventTime, std::chrono::milliseconds size,
                                               std::chrono::milliseconds slide,
                                               std::chrono::milliseconds offset) {
  checkSizes(size.count(), slide.count(), offset.count());
  AnyTypeAssigner<TimeWindow> a;
  a.kind = AnyTypeAssigner<TimeWindow>::Kind::kSliding;
  a.eventTime = eventTime;
  a.size = size.count();
  a.slide = slide.count();
  a.offset = offset.count();
  return a;
}
inline AnyTypeAssigner<TimeWindow> sessionSpec(bool eventTime, std::chrono::milliseconds gap) {
  if (gap.count() <= 0) throw ConfigurationException("session gap must be positive");
  AnyTypeAssigner<TimeWindow> a;
  a.kind = AnyTypeAssigner<TimeWindow>::Kind::kSession;
  a.eventTime = eventTime;
  a.gap = gap.count();
  return a;
}
}  // namespace detail

// Factories with Flink's names. Durations are std::chrono durations (e.g. std::chrono::hours(1)).
// Each comes untyped (`of(size)`, applied to any stream) and typed (`of<T>(size)`); the typed
// form is the untyped description made concrete.

namespace detail {
template <bool kEventTime>
struct TumblingWindowsFactory {
  static AnyTypeAssigner<TimeWindow> of(
      std::chrono::milliseconds size,
      std::chrono::milliseconds offset = std::chrono::milliseconds(0)) {
    return slidingSpec(kEventTime, size, size, offset);
  }
  template <typename T>
  static std::shared_ptr<const WindowAssigner<T, TimeWindow>> of(
      std::chrono::milliseconds size,
      std::chrono::milliseconds offset = std::chrono::milliseconds(0)) {
    return of(size, offset).template forType<T>();
  }
};
template <bool kEventTime>
struct SlidingWindowsFactory {
  static AnyTypeAssigner<TimeWindow> of(
      std::chrono::milliseconds size, std::chrono::milliseconds slide,
      std::chrono::milliseconds offset = std::chrono::milliseconds(0)) {
    return slidingSpec(kEventTime, size, slide, offset);
  }
  template <typename T>
  static std::shared_ptr<const WindowAssigner<T, TimeWindow>> of(
      std::chrono::milliseconds size, std::chrono::milliseconds slide,
      std::chrono::milliseconds offset = std::chrono::milliseconds(0)) {
    return of(size, slide, offset).template forType<T>();
  }
};
template <bool kEventTime>
struct SessionWindowsFactory {
  static AnyTypeAssigner<TimeWindow> withGap(std::chrono::milliseconds gap) {
    return sessionSpec(kEventTime, gap);
  }
  template <typename T>
  static std::shared_ptr<const WindowAssigner<T, TimeWindow>> withGap(
      std::chrono::milliseconds gap) {
    return withGap(gap).template forType<T>();
  }
  /// Gap per element, ms (Flink's withDynamicGap).
  template <typename T>
  static std::shared_ptr<const WindowAssigner<T, TimeWindow>> withDynamicGap(
      std::function<int64_t(const T&)> gap) {
    return std::make_shared<SessionWindows<T, kEventTime>>(std::move(gap));
  }
};
}  // namespace detail

using TumblingEventTimeWindows = detail::TumblingWindowsFactory<true>;
using TumblingProcessingTimeWindows = detail::TumblingWindowsFactory<false>;
using SlidingEventTimeWindows = detail::SlidingWindowsFactory<true>;
using SlidingProcessingTimeWindows = detail::SlidingWindowsFactory<false>;
using EventTimeSessionWindows = detail::SessionWindowsFactory<true>;
using ProcessingTimeSessionWindows = detail::SessionWindowsFactory<false>;

struct GlobalWindows {
  static AnyTypeAssigner<GlobalWindow> create() { return {}; }
  template <typename T>
  static std::shared_ptr<const WindowAssigner<T, GlobalWindow>> create() {
    return std::make_shared<detail::GlobalWindowsAssigner<T>>();
  }
};

}  // namespace sluice
