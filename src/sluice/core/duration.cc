#include "sluice/core/duration.h"

#include <array>
#include <charconv>
#include <string>

#include <fmt/format.h>

#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {
namespace {

struct TimeUnitLabels {
  int64_t nanosPerUnit;
  std::array<std::string_view, 7> labels;  // empty entries are unused
};

constexpr int64_t kNanosPerMicro = 1'000;
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Flink's labels (TimeUtils.TimeUnit), plus "us" and "m", which Flink's documentation lists.
constexpr std::array<TimeUnitLabels, 7> kTimeUnits{{
    {kNanosPerSecond * 86'400, {"d", "day", "days"}},
    {kNanosPerSecond * 3'600, {"h", "hour", "hours"}},
    {kNanosPerSecond * 60, {"min", "m", "mins", "minute", "minutes"}},
    {kNanosPerSecond, {"s", "sec", "secs", "second", "seconds"}},
    {kNanosPerMilli, {"ms", "milli", "millis", "millisecond", "milliseconds"}},
    {kNanosPerMicro,
     {"us", "\u00b5s", "\u03bcs", "micro", "micros", "microsecond", "microseconds"}},
    {1, {"ns", "nano", "nanos", "nanosecond", "nanoseconds"}},
}};

constexpr std::string_view kAcceptedUnits =
    "d|day|days, h|hour|hours, min|m|minute|minutes, s|sec|secs|second|seconds, "
    "ms|milli|millis|millisecond|milliseconds, us|\u00b5s|micro|micros|microsecond|microseconds, "
    "ns|nano|nanos|nanosecond|nanoseconds; a number without a unit is milliseconds";

[[noreturn]] void throwMalformed(std::string_view text, std::string_view reason) {
  throw ConfigurationException(fmt::format("Could not parse duration '{}': {}. Accepted units: {}",
                                           text, reason, kAcceptedUnits));
}

struct ParsedDuration {
  int64_t value;
  int64_t nanosPerUnit;
};

// "<sign><digits><spaces><unit>" after trimming; digits may be empty (then the text is malformed).
struct NumberAndUnit {
  bool negative = false;
  std::string_view digits;
  std::string_view unit;
};

NumberAndUnit splitNumberAndUnit(std::string_view text) {
  std::string_view rest = trimAscii(text);
  NumberAndUnit parts;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    parts.negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  size_t digitCount = 0;
  while (digitCount < rest.size() && rest[digitCount] >= '0' && rest[digitCount] <= '9') {
    ++digitCount;
  }
  parts.digits = rest.substr(0, digitCount);
  parts.unit = trimAscii(rest.substr(digitCount));
  return parts;
}

ParsedDuration parseParts(std::string_view text) {
  const NumberAndUnit parts = splitNumberAndUnit(text);
  if (parts.digits.empty()) {
    throwMalformed(text, "it does not start with an integer");
  }
  int64_t magnitude = 0;
  const auto [end, ec] =
      std::from_chars(parts.digits.data(), parts.digits.data() + parts.digits.size(), magnitude);
  if (ec != std::errc() || end != parts.digits.data() + parts.digits.size()) {
    throwMalformed(text, "the number does not fit in 64 bits");
  }
  const int64_t value = parts.negative ? -magnitude : magnitude;
  if (parts.unit.empty()) {
    return {value, kNanosPerMilli};
  }
  const std::string unit = toLowerAscii(parts.unit);
  for (const TimeUnitLabels& timeUnit : kTimeUnits) {
    for (std::string_view label : timeUnit.labels) {
      if (!label.empty() && label == unit) {
        return {value, timeUnit.nanosPerUnit};
      }
    }
  }
  throwMalformed(text, fmt::format("unknown time unit '{}'", parts.unit));
}

}  // namespace

std::chrono::nanoseconds parseDuration(std::string_view text) {
  const ParsedDuration parsed = parseParts(text);
  int64_t nanos = 0;
  if (__builtin_mul_overflow(parsed.value, parsed.nanosPerUnit, &nanos)) {
    throwMalformed(text, "the duration does not fit in 64-bit nanoseconds");
  }
  return std::chrono::nanoseconds(nanos);
}

int64_t parseDurationMillis(std::string_view text) {
  const ParsedDuration parsed = parseParts(text);
  if (parsed.nanosPerUnit < kNanosPerMilli) {
    return parsed.value / (kNanosPerMilli / parsed.nanosPerUnit);  // truncates toward zero
  }
  int64_t millis = 0;
  if (__builtin_mul_overflow(parsed.value, parsed.nanosPerUnit / kNanosPerMilli, &millis)) {
    throwMalformed(text, "the duration does not fit in 64-bit milliseconds");
  }
  return millis;
}

std::string formatDuration(int64_t millis) {
  struct Unit {
    int64_t millis;
    std::string_view label;
  };
  static constexpr std::array<Unit, 4> kUnits{{
      {86'400'000, "d"},
      {3'600'000, "h"},
      {60'000, "min"},
      {1'000, "s"},
  }};
  if (millis != 0) {
    for (const Unit& unit : kUnits) {
      if (millis % unit.millis == 0) {
        return fmt::format("{} {}", millis / unit.millis, unit.label);
      }
    }
  }
  return fmt::format("{} ms", millis);
}

}  // namespace sluice
