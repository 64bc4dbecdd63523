#include "sluice/state/key_groups.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace sluice {

namespace {

constexpr uint32_t kReplacementChar = 0xFFFD;

constexpr bool isContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

/// Accumulates java.lang.String.hashCode over UTF-16 code units.
struct JavaStringHasher {
  uint32_t h = 0;
  void unit(uint32_t codeUnit) { h = 31U * h + codeUnit; }
  void codePoint(uint32_t cp) {
    if (cp < 0x10000) {
      unit(cp);
    } else {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    }
  }
};

// A 4-byte lead followed by a second byte that cannot continue it: outside F0 90..BF,
// F4 80..8F, or not a continuation byte at all.
constexpr bool badSecondOfFour(uint8_t b1, uint8_t b2) {
  return (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) || (b1 == 0xF4 && (b2 & 0xF0) != 0x80) ||
         !isContinuation(b2);
}

}  // namespace

int32_t javaStringHashCode(std::string_view utf8) noexcept {
  const auto* p = reinterpret_cast<const uint8_t*>(utf8.data());
  const size_t n = utf8.size();
  JavaStringHasher hasher;
  size_t i = 0;
  // ASCII fast path: every byte is one UTF-16 code unit.
  while (i < n && p[i] < 0x80) hasher.unit(p[i++]);

  // General path. The replacement rules follow the JDK 9+ UTF-8 String decoder, which
  // decides how many bytes a malformed sequence swallows; each such sequence yields U+FFFD.
  while (i < n) {
    const uint8_t b1 = p[i++];
    if (b1 < 0x80) {
      hasher.unit(b1);
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {  // two-byte sequence
      if (i < n && isContinuation(p[i])) {
        hasher.unit(((b1 & 0x1Fu) << 6) | (p[i] & 0x3Fu));
        ++i;
      } else {
        hasher.unit(kReplacementChar);  // a non-continuation byte is decoded on its own next
      }
    } else if ((b1 & 0xF0) == 0xE0) {  // three-byte sequence
      if (i + 1 < n) {
        const uint8_t b2 = p[i];
        const uint8_t b3 = p[i + 1];
        const bool badSecond = (b1 == 0xE0 && (b2 & 0xE0) == 0x80) || !isContinuation(b2);
        if (badSecond) {
          hasher.unit(kReplacementChar);  // swallows b1 only
        } else if (!isContinuation(b3)) {
          hasher.unit(kReplacementChar);  // swallows b1 b2
          ++i;
        } else {
          const uint32_t c = ((b1 & 0x0Fu) << 12) | ((b2 & 0x3Fu) << 6) | (b3 & 0x3Fu);
          const bool surrogate = c >= 0xD800 && c <= 0xDFFF;
          hasher.unit(surrogate ? kReplacementChar : c);  // an encoded surrogate is one U+FFFD
          i += 2;
        }
      } else if (i < n && ((b1 == 0xE0 && (p[i] & 0xE0) == 0x80) || !isContinuation(p[i]))) {
        hasher.unit(kReplacementChar);  // swallows b1; the last byte is decoded on its own
      } else {
        hasher.unit(kReplacementChar);  // truncated at the end: one U+FFFD for the rest
        break;
      }
    } else if (b1 >= 0xF0 && b1 <= 0xF7) {  // four-byte sequence
      if (i + 2 < n) {
        const uint8_t b2 = p[i];
        const uint8_t b3 = p[i + 1];
        const uint8_t b4 = p[i + 2];
        const uint32_t cp =
            ((b1 & 0x07u) << 18) | ((b2 & 0x3Fu) << 12) | ((b3 & 0x3Fu) << 6) | (b4 & 0x3Fu);
        if (isContinuation(b2) && isContinuation(b3) && isContinuation(b4) && cp >= 0x10000 &&
            cp <= 0x10FFFF) {
          hasher.codePoint(cp);
          i += 3;
        } else {
          hasher.unit(kReplacementChar);
          if (b1 > 0xF4 || badSecondOfFour(b1, b2)) {
            // swallows b1 only
          } else if (!isContinuation(b3)) {
            i += 1;  // swallows b1 b2
          } else {
            i += 2;  // swallows b1 b2 b3
          }
        }
      } else if (b1 > 0xF4 || (i < n && badSecondOfFour(b1, p[i]))) {
        hasher.unit(kReplacementChar);  // swallows b1 only
      } else {
        // Truncated at the end: b1 and a valid b2 (if any) become one U+FFFD; a third byte
        // that is not a continuation is decoded on its own, otherwise it is swallowed too.
        hasher.unit(kReplacementChar);
        ++i;
        if (i < n && !isContinuation(p[i])) continue;
        break;
      }
    } else {  // stray continuation byte, C0, C1, F8..FF
      hasher.unit(kReplacementChar);
    }
  }
  return static_cast<int32_t>(hasher.h);
}

KeyGroupRange KeyGroupRange::of(int32_t startKeyGroup, int32_t endKeyGroup) {
  if (startKeyGroup > endKeyGroup) return emptyRange();
  if (startKeyGroup < 0) {
    throw std::invalid_argument(fmt::format(
        "KeyGroupRange [{}, {}]: the start key group must be >= 0", startKeyGroup, endKeyGroup));
  }
  return KeyGroupRange{startKeyGroup, endKeyGroup};
}

int32_t KeyGroupRange::keyGroupId(int32_t idx) const {
  if (idx < 0 || idx >= numberOfKeyGroups()) {
    throw std::out_of_range(
        fmt::format("key group index {} out of bounds for {}", idx, toString()));
  }
  return startKeyGroup + idx;
}

KeyGroupRange KeyGroupRange::intersection(const KeyGroupRange& other) const noexcept {
  const int32_t start = std::max(startKeyGroup, other.startKeyGroup);
  const int32_t end = std::min(endKeyGroup, other.endKeyGroup);
  return start <= end ? KeyGroupRange{start, end} : emptyRange();
}

std::string KeyGroupRange::toString() const {
  return fmt::format("KeyGroupRange{{startKeyGroup={}, endKeyGroup={}}}", startKeyGroup,
                     endKeyGroup);
}

KeyGroupRange KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(int32_t maxParallelism,
                                                                            int32_t parallelism,
                                                                            int32_t operatorIndex) {
  checkParallelismPreconditions(parallelism);
  checkParallelismPreconditions(maxParallelism);
  if (maxParallelism < parallelism) {
    throw ConfigurationException(
        fmt::format("maximum parallelism {} must not be smaller than parallelism {}; raise the "
                    "max parallelism or lower the parallelism",
                    maxParallelism, parallelism));
  }
  if (operatorIndex < 0 || operatorIndex >= parallelism) {
    throw std::out_of_range(
        fmt::format("operator index {} out of range [0, {})", operatorIndex, parallelism));
  }
  // Both products are at most 2^15 * 2^15 = 2^30, so 64-bit arithmetic is only belt and braces.
  const int64_t maxP = maxParallelism;
  const int64_t p = parallelism;
  const int64_t start = (operatorIndex * maxP + p - 1) / p;
  const int64_t end = ((operatorIndex + 1) * maxP - 1) / p;
  return KeyGroupRange{static_cast<int32_t>(start), static_cast<int32_t>(end)};
}

int32_t KeyGroupRangeAssignment::computeDefaultMaxParallelism(int32_t operatorParallelism) {
  checkParallelismPreconditions(operatorParallelism);
  const auto scaled = static_cast<uint32_t>(operatorParallelism + operatorParallelism / 2);
  const auto rounded = static_cast<int32_t>(std::bit_ceil(scaled));
  return std::min(std::max(rounded, kDefaultLowerBoundMaxParallelism), kUpperBoundMaxParallelism);
}

void KeyGroupRangeAssignment::checkParallelismPreconditions(int32_t parallelism) {
  if (parallelism <= 0 || parallelism > kUpperBoundMaxParallelism) {
    throw ConfigurationException(
        fmt::format("Operator parallelism not within bounds: {}; parallelism and max "
                    "parallelism must be in [1, {}]",
                    parallelism, kUpperBoundMaxParallelism));
  }
}

}  // namespace sluice
