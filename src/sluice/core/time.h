#pragma once

#include <cstdint>
#include <limits>

namespace sluice {

/// Event and processing time: milliseconds since the Unix epoch, as in Flink.
using Timestamp = int64_t;

/// Marks a record that carries no timestamp (Flink's StreamRecord#hasTimestamp() == false).
inline constexpr Timestamp kNoTimestamp = std::numeric_limits<int64_t>::min();

/// A watermark at `timestamp` asserts that no more records with timestamp <= `timestamp`
/// will arrive (Flink's Watermark). Long.MIN_VALUE / MAX_VALUE play the same roles as in Flink.
struct Watermark {
  Timestamp timestamp;
  friend bool operator==(const Watermark&, const Watermark&) = default;
};

inline constexpr Timestamp kMinWatermark = std::numeric_limits<int64_t>::min();
/// Sent at end of input so that every event-time timer fires (Flink's Watermark.MAX_WATERMARK).
inline constexpr Timestamp kMaxWatermark = std::numeric_limits<int64_t>::max();

}  // namespace sluice
