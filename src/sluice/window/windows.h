#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include "sluice/core/exceptions.h"
#include "sluice/core/time.h"

namespace sluice {

/// A window of time [start, end): end exclusive, maxTimestamp() = end − 1 (Flink's TimeWindow).
struct TimeWindow {
  Timestamp start = 0;
  Timestamp end = 0;

  Timestamp maxTimestamp() const { return end - 1; }
  bool intersects(const TimeWindow& other) const {
    return start <= other.end && end >= other.start;
  }
  /// The smallest window containing both.
  TimeWindow cover(const TimeWindow& other) const {
    return {std::min(start, other.start), std::max(end, other.end)};
  }
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
  friend bool operator<(const TimeWindow& a, const TimeWindow& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  }
  size_t hash() const { return std::hash<int64_t>{}(start)*31 + std::hash<int64_t>{}(end); }
  std::string toString() const {
    return "TimeWindow{start=" + std::to_string(start) + ", end=" + std::to_string(end) + "}";
  }

  /// Start of the window of `size` with `offset` that contains `timestamp` (Flink's
  /// TimeWindow.getWindowStartWithOffset), correct for negative timestamps too.
  static Timestamp getWindowStartWithOffset(Timestamp timestamp, int64_t offset, int64_t size) {
    int64_t remainder = (timestamp - offset) % size;
    return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
  }
};

/// The one window of GlobalWindows: every element, forever (Flink's GlobalWindow).
struct GlobalWindow {
  Timestamp maxTimestamp() const { return kMaxWatermark; }
  friend bool operator==(const GlobalWindow&, const GlobalWindow&) { return true; }
  friend bool operator<(const GlobalWindow&, const GlobalWindow&) { return false; }
  size_t hash() const { return 0; }
  std::string toString() const { return "GlobalWindow"; }
};

}  // namespace sluice
