#include "sluice/core/memory_size.h"

#include <array>
#include <charconv>
#include <string>

#include <fmt/format.h>

#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {
namespace {

struct MemoryUnit {
  int64_t multiplier;
  std::array<std::string_view, 3> labels;  // labels[1] is the one used for formatting
};

// Flink's MemorySize.MemoryUnit, smallest first.
constexpr std::array<MemoryUnit, 5> kMemoryUnits{{
    {1, {"b", "bytes", ""}},
    {int64_t{1} << 10, {"k", "kb", "kibibytes"}},
    {int64_t{1} << 20, {"m", "mb", "mebibytes"}},
    {int64_t{1} << 30, {"g", "gb", "gibibytes"}},
    {int64_t{1} << 40, {"t", "tb", "tebibytes"}},
}};

constexpr std::string_view kAcceptedUnits =
    "b|bytes, k|kb|kibibytes, m|mb|mebibytes, g|gb|gibibytes, t|tb|tebibytes (1 kb = 1024 "
    "bytes); a number without a unit is bytes";

[[noreturn]] void throwMalformed(std::string_view text, std::string_view reason) {
  throw ConfigurationException(fmt::format(
      "Could not parse memory size '{}': {}. Accepted units: {}", text, reason, kAcceptedUnits));
}

}  // namespace

int64_t parseMemorySizeBytes(std::string_view text) {
  std::string_view rest = trimAscii(text);
  if (!rest.empty() && rest.front() == '-') {
    throwMalformed(text, "a memory size cannot be negative");
  }
  size_t digitCount = 0;
  while (digitCount < rest.size() && rest[digitCount] >= '0' && rest[digitCount] <= '9') {
    ++digitCount;
  }
  if (digitCount == 0) {
    throwMalformed(text, "it does not start with an integer");
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + digitCount, value);
  if (ec != std::errc() || end != rest.data() + digitCount) {
    throwMalformed(text, "the number does not fit in 64 bits");
  }
  const std::string_view unitText = trimAscii(rest.substr(digitCount));
  if (unitText.empty()) {
    return value;
  }
  std::string unit(unitText);
  for (char& c : unit) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (const MemoryUnit& memoryUnit : kMemoryUnits) {
    for (std::string_view label : memoryUnit.labels) {
      if (!label.empty() && label == unit) {
        int64_t bytes = 0;
        if (__builtin_mul_overflow(value, memoryUnit.multiplier, &bytes)) {
          throwMalformed(text, "the size does not fit in 64-bit bytes");
        }
        return bytes;
      }
    }
  }
  throwMalformed(text, fmt::format("unknown memory unit '{}'", unitText));
}

std::string formatMemorySize(int64_t bytes) {
  if (bytes != 0) {
    for (auto it = kMemoryUnits.rbegin(); it != kMemoryUnits.rend(); ++it) {
      if (bytes % it->multiplier == 0) {
        return fmt::format("{} {}", bytes / it->multiplier, it->labels[1]);
      }
    }
  }
  return fmt::format("0 {}", kMemoryUnits[0].labels[1]);
}

}  // namespace sluice
