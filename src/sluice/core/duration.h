#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

/// A duration in milliseconds, the value type of duration-typed configuration options
/// (`ConfigOption<DurationMs>`). Negative values are representable because some options give
/// them a meaning (e.g. a buffer timeout of -1 ms means "flush only when the buffer is full");
/// each option's validator decides whether they are allowed. A plain value; thread-compatible.
struct DurationMs {
  /// The length in milliseconds.
  int64_t millis = 0;

  /// The same length as a std::chrono duration.
  constexpr std::chrono::milliseconds chrono() const { return std::chrono::milliseconds(millis); }

  friend constexpr bool operator==(const DurationMs&, const DurationMs&) = default;
};

/// Parses a duration written as Flink's TimeUtils.parseDuration accepts it: an integer, optional
/// whitespace, then an optional unit label (case-insensitive); a number without a unit is
/// milliseconds. Labels:
///   ns, nano, nanos, nanosecond, nanoseconds;
///   us, µs, micro, micros, microsecond, microseconds;
///   ms, milli, millis, millisecond, milliseconds;
///   s, sec, secs, second, seconds;
///   m, min, mins, minute, minutes;
///   h, hour, hours;
///   d, day, days.
/// Unlike Flink, a leading '-' (or '+') is accepted so that options such as the buffer timeout
/// can express -1; the caller decides whether a negative value is valid. Fractions ("1.5 s")
/// are rejected, as in Flink. Surrounding whitespace is ignored.
/// Returns the duration in nanoseconds.
/// Throws ConfigurationException quoting `text` and listing the accepted units if the text is
/// empty, does not start with a number, has an unknown unit, or overflows 64-bit nanoseconds
/// (about ±292 years). Thread-safe (pure function).
std::chrono::nanoseconds parseDuration(std::string_view text);

/// Parses `text` like parseDuration() and returns whole milliseconds, truncated toward zero
/// ("1500 us" is 1 ms). Accepts durations too long for nanoseconds as long as the milliseconds
/// fit in 64 bits. Throws ConfigurationException as parseDuration() does. Thread-safe.
int64_t parseDurationMillis(std::string_view text);

/// Formats a duration in milliseconds with the largest unit that represents it exactly, as
/// Flink's TimeUtils.formatWithHighestUnit: 60000 -> "1 min", 3601000 -> "3601 s",
/// 100 -> "100 ms", 0 -> "0 ms", -1 -> "-1 ms". The result parses back with
/// parseDurationMillis() to the same value. Thread-safe.
std::string formatDuration(int64_t millis);

}  // namespace sluice
