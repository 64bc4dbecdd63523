#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

/// A number of bytes, the value type of memory-size configuration options
/// (`ConfigOption<MemorySize>`), as Flink's MemorySize. Never negative when produced by
/// parseMemorySizeBytes(). A plain value; thread-compatible.
struct MemorySize {
  /// The size in bytes.
  int64_t bytes = 0;

  friend constexpr bool operator==(const MemorySize&, const MemorySize&) = default;
};

/// Parses a memory size written as Flink's MemorySize.parse accepts it: a non-negative integer,
/// optional whitespace, then an optional unit (case-insensitive); a number without a unit is
/// bytes. Units are binary (1 kb = 1024 bytes):
///   b, bytes; k, kb, kibibytes; m, mb, mebibytes; g, gb, gibibytes; t, tb, tebibytes.
/// Surrounding whitespace is ignored. Returns the size in bytes.
/// Throws ConfigurationException quoting `text` and listing the accepted units if the text is
/// empty, negative, fractional ("1.5 mb"), has an unknown unit, or overflows 64 bits.
/// Thread-safe (pure function).
int64_t parseMemorySizeBytes(std::string_view text);

/// Formats a size in bytes with the largest unit that represents it exactly, as Flink's
/// MemorySize.toString: 32768 -> "32 kb", 1536 -> "1536 bytes", 0 -> "0 bytes". The result
/// parses back with parseMemorySizeBytes() to the same value. Thread-safe.
std::string formatMemorySize(int64_t bytes);

}  // namespace sluice
