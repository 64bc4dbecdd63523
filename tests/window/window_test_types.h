#pragma once

// Element and result types shared by the window tests.

#include <compare>
#include <cstdint>
#include <ostream>

#include "sluice/core/time.h"

namespace sluice::window_testing {

/// A keyed event with a timestamp and a value to sum.
struct Event {
  int32_t key = 0;
  Timestamp ts = 0;
  int64_t value = 0;
  friend auto operator<=>(const Event&, const Event&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Event& e) {
    return os << "Event{" << e.key << ", ts " << e.ts << ", " << e.value << "}";
  }
};

/// One firing of one window: its key and bounds, element count and value sum.
struct Result {
  int32_t key = 0;
  Timestamp start = 0;
  Timestamp end = 0;
  int64_t count = 0;
  int64_t sum = 0;
  friend auto operator<=>(const Result&, const Result&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Result& r) {
    return os << "Result{key " << r.key << ", [" << r.start << ", " << r.end << "), count "
              << r.count << ", sum " << r.sum << "}";
  }
};

struct KeyOf {
  int32_t operator()(const Event& e) const { return e.key; }
};

}  // namespace sluice::window_testing
