#pragma once

// Key groups exactly as Flink computes them, so that a key lands in the same key group and on
// the same parallel operator instance as it would in Flink:
//
//   keyGroup      = murmurHash(KeyHash<K>::hashCode(key)) % maxParallelism
//   operatorIndex = keyGroup * parallelism / maxParallelism
//
// (Flink's KeyGroupRangeAssignment and MathUtils.murmurHash). `KeyHash<K>` reproduces
// Java's `hashCode()` of the Java value that corresponds to a C++ key, which is what Flink
// feeds into murmurHash.
//
// Thread-safety: everything here is a pure function or an immutable value type.

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "sluice/core/exceptions.h"

namespace sluice {

/// Default lower bound of the max parallelism (number of key groups) derived from an
/// operator's parallelism (Flink's KeyGroupRangeAssignment.DEFAULT_LOWER_BOUND_MAX_PARALLELISM).
inline constexpr int32_t kDefaultLowerBoundMaxParallelism = 128;

/// Inclusive upper bound of parallelism and max parallelism, 2^15 (Flink's
/// KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM). Keeps keyGroup * parallelism < 2^31.
inline constexpr int32_t kUpperBoundMaxParallelism = 32768;

/// The MurmurHash3 32-bit finalizer (fmix32) on a 32-bit value, as Flink's MathUtils.bitMix.
/// All arithmetic is modulo 2^32. Pure; never throws.
constexpr int32_t bitMix(int32_t in) noexcept {
  uint32_t h = static_cast<uint32_t>(in);
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return static_cast<int32_t>(h);
}

/// Flink's MathUtils.murmurHash(int): one MurmurHash3_x86_32 round over the 4-byte block
/// `code` with seed 0 and length 4, then the fmix32 finalizer, then mapped to a non-negative
/// value: x if x >= 0, -x if x < 0 and x != INT32_MIN, and 0 for INT32_MIN.
/// Result in [0, 2^31 - 1]. Pure; never throws.
constexpr int32_t murmurHash(int32_t code) noexcept {
  uint32_t h = static_cast<uint32_t>(code);
  h *= 0xcc9e2d51U;
  h = std::rotl(h, 15);
  h *= 0x1b873593U;
  h = std::rotl(h, 13);
  h = h * 5U + 0xe6546b64U;
  h ^= 4U;  // length in bytes
  const int32_t mixed = bitMix(static_cast<int32_t>(h));
  if (mixed >= 0) return mixed;
  if (mixed != INT32_MIN) return -mixed;
  return 0;
}

// ------------------------------------------------------------------------------------------
// KeyHash: Java hashCode() of the corresponding Java value.
// ------------------------------------------------------------------------------------------

/// Specialization point: `static int32_t hashCode(const K&)` returning the same int32 as
/// Java's `hashCode()` of the Java value Flink would hold for the key, so the key lands in
/// the same key group as in Flink. The primary template is only declared, so a key type
/// without a KeyHash fails to compile (and `KeyHashable<K>` is false). Specialize it for your
/// own key types, e.g. to mirror a Java POJO's `Objects.hash(a, b)`:
///
///   template <> struct sluice::KeyHash<MyKey> {
///     static int32_t hashCode(const MyKey& k) {
///       uint32_t h = 1;  // java.util.Arrays.hashCode starts from 1
///       h = 31 * h + static_cast<uint32_t>(KeyHash<std::string>::hashCode(k.name));
///       h = 31 * h + static_cast<uint32_t>(KeyHash<int64_t>::hashCode(k.id));
///       return static_cast<int32_t>(h);
///     }
///   };
///
/// Implementations must be pure and thread-safe, and must agree with equality: equal keys
/// must hash equally.
template <typename K, typename Enable = void>
struct KeyHash;

/// True when KeyHash<K>::hashCode(const K&) exists and returns int32_t.
template <typename K>
concept KeyHashable = requires(const K& key) {
  { KeyHash<K>::hashCode(key) } -> std::same_as<int32_t>;
};

/// java.lang.String.hashCode() of the Java string decoded from UTF-8 bytes `utf8`:
/// h = 31 * h + c over the UTF-16 code units c (modulo 2^32), starting from 0; code points
/// above U+FFFF contribute their surrogate pair. Malformed UTF-8 is replaced by U+FFFD exactly
/// as JDK 9+ `new String(bytes, StandardCharsets.UTF_8)` does (one U+FFFD per malformed
/// subsequence as that decoder delimits it; an encoded surrogate ED A0..BF xx is one U+FFFD).
/// ASCII input takes a fast path. Pure; never throws.
int32_t javaStringHashCode(std::string_view utf8) noexcept;

namespace detail {
template <typename T>
inline constexpr bool kIsCharType =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

/// Java's Long.hashCode: (int) (bits ^ (bits >>> 32)).
constexpr int32_t foldLongBits(uint64_t bits) noexcept {
  return static_cast<int32_t>(static_cast<uint32_t>(bits ^ (bits >> 32)));
}
}  // namespace detail

/// Integers (not bool, not character types). Up to 32 bits: the value, as Java's
/// Byte/Short/Integer.hashCode (signed types sign-extend; uint8/uint16 zero-extend; uint32
/// gives its bit pattern, which equals Long.hashCode of the zero-extended value). 64 bits:
/// Long.hashCode of the bit pattern, (int) (v ^ (v >>> 32)).
template <typename K>
struct KeyHash<
    K, std::enable_if_t<std::is_integral_v<K> && !std::is_same_v<K, bool> &&
                        !detail::kIsCharType<K> && std::is_same_v<K, std::remove_cv_t<K>>>> {
  static_assert(sizeof(K) <= 8, "KeyHash supports integers of at most 64 bits");
  static constexpr int32_t hashCode(const K& key) noexcept {
    if constexpr (sizeof(K) <= 4) {
      return static_cast<int32_t>(key);
    } else {
      return detail::foldLongBits(static_cast<uint64_t>(key));
    }
  }
};

/// bool: Java Boolean.hashCode, 1231 for true and 1237 for false.
template <>
struct KeyHash<bool> {
  static constexpr int32_t hashCode(const bool& key) noexcept { return key ? 1231 : 1237; }
};

/// Character types: Java Character.hashCode, the (unsigned) code unit value. A plain `char`
/// is taken as an unsigned byte (U+0000..U+00FF); char32_t/wchar_t values above U+FFFF (which
/// no Java char can hold) hash as their value, like Java Integer.hashCode of the code point.
template <typename K>
struct KeyHash<K, std::enable_if_t<detail::kIsCharType<K>>> {
  static constexpr int32_t hashCode(const K& key) noexcept {
    return static_cast<int32_t>(static_cast<std::make_unsigned_t<K>>(key));
  }
};

/// float: Java Float.hashCode = floatToIntBits (all NaNs map to 0x7fc00000; -0.0f and 0.0f
/// differ).
template <>
struct KeyHash<float> {
  static constexpr int32_t hashCode(const float& key) noexcept {
    if (key != key) return 0x7fc00000;
    return std::bit_cast<int32_t>(key);
  }
};

/// double: Java Double.hashCode = Long.hashCode(doubleToLongBits) (all NaNs map to
/// 0x7ff8000000000000; -0.0 and 0.0 differ).
template <>
struct KeyHash<double> {
  static constexpr int32_t hashCode(const double& key) noexcept {
    if (key != key) return detail::foldLongBits(0x7ff8000000000000ULL);
    return detail::foldLongBits(std::bit_cast<uint64_t>(key));
  }
};

/// Enums: the hash of the underlying integer. (Flink rejects Java enums as keys because
/// their hashCode is identity-based; Sluice hashes the value instead, deterministically.)
template <typename K>
struct KeyHash<K, std::enable_if_t<std::is_enum_v<K>>> {
  static constexpr int32_t hashCode(const K& key) noexcept {
    using U = std::underlying_type_t<K>;
    return KeyHash<U>::hashCode(static_cast<U>(key));
  }
};

/// std::string: java.lang.String.hashCode of the UTF-8 text (see javaStringHashCode).
template <>
struct KeyHash<std::string> {
  static int32_t hashCode(const std::string& key) noexcept { return javaStringHashCode(key); }
};

/// std::string_view: same as std::string.
template <>
struct KeyHash<std::string_view> {
  static int32_t hashCode(const std::string_view& key) noexcept { return javaStringHashCode(key); }
};

/// std::optional<T>: 0 when empty (Java null inside a Tuple hashes as 0), else KeyHash<T>.
template <KeyHashable T>
struct KeyHash<std::optional<T>> {
  static int32_t hashCode(const std::optional<T>& key) noexcept(
      noexcept(KeyHash<T>::hashCode(std::declval<const T&>()))) {
    return key.has_value() ? KeyHash<T>::hashCode(*key) : 0;
  }
};

/// std::tuple<Ts...>: Flink's TupleN.hashCode, h = 31 * h + hash(f_i) over the fields in
/// order, starting from 0 (so Tuple1 hashes as its field and Tuple0 as 0), modulo 2^32.
template <KeyHashable... Ts>
struct KeyHash<std::tuple<Ts...>> {
  static int32_t hashCode(const std::tuple<Ts...>& key) {
    uint32_t h = 0;
    std::apply(
        [&h](const Ts&... field) {
          ((h = 31U * h + static_cast<uint32_t>(KeyHash<Ts>::hashCode(field))), ...);
        },
        key);
    return static_cast<int32_t>(h);
  }
};

/// std::pair<A, B>: Flink's Tuple2.hashCode, 31 * hash(first) + hash(second), modulo 2^32.
template <KeyHashable A, KeyHashable B>
struct KeyHash<std::pair<A, B>> {
  static int32_t hashCode(const std::pair<A, B>& key) {
    return static_cast<int32_t>(31U * static_cast<uint32_t>(KeyHash<A>::hashCode(key.first)) +
                                static_cast<uint32_t>(KeyHash<B>::hashCode(key.second)));
  }
};

// ------------------------------------------------------------------------------------------
// KeyGroupRange
// ------------------------------------------------------------------------------------------

/// An inclusive range [startKeyGroup, endKeyGroup] of key-group indexes (Flink's
/// KeyGroupRange). The empty range is {0, -1}. Value type; iterable with range-for, yielding
/// each key group in ascending order. Construct validated ranges with `of()`; aggregate
/// initialization performs no checks.
struct KeyGroupRange {
  int32_t startKeyGroup = 0;  ///< First key group, inclusive, >= 0.
  int32_t endKeyGroup = -1;   ///< Last key group, inclusive; startKeyGroup - 1 when empty.

  /// Forward iterator over the key groups of a range (yields int32_t by value).
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = int32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const int32_t*;
    using reference = int32_t;

    constexpr Iterator() noexcept = default;
    constexpr explicit Iterator(int32_t keyGroup) noexcept : keyGroup_(keyGroup) {}
    constexpr int32_t operator*() const noexcept { return keyGroup_; }
    constexpr Iterator& operator++() noexcept {
      ++keyGroup_;
      return *this;
    }
    constexpr Iterator operator++(int) noexcept {
      Iterator old = *this;
      ++keyGroup_;
      return old;
    }
    constexpr bool operator==(const Iterator&) const noexcept = default;

   private:
    int32_t keyGroup_ = 0;
  };

  /// [start, end] if start <= end, else the empty range (Flink's KeyGroupRange.of).
  /// Throws std::invalid_argument if the range is non-empty and start < 0.
  static KeyGroupRange of(int32_t startKeyGroup, int32_t endKeyGroup);

  /// The empty range {0, -1}.
  static constexpr KeyGroupRange emptyRange() noexcept { return KeyGroupRange{0, -1}; }

  /// Whether keyGroup lies in [startKeyGroup, endKeyGroup].
  constexpr bool contains(int32_t keyGroup) const noexcept {
    return keyGroup >= startKeyGroup && keyGroup <= endKeyGroup;
  }

  /// Number of key groups in the range, 1 + end - start (0 when empty).
  constexpr int32_t numberOfKeyGroups() const noexcept { return 1 + endKeyGroup - startKeyGroup; }

  /// Whether the range holds no key group.
  constexpr bool empty() const noexcept { return endKeyGroup < startKeyGroup; }

  /// The idx-th key group, startKeyGroup + idx. Throws std::out_of_range unless
  /// 0 <= idx < numberOfKeyGroups().
  int32_t keyGroupId(int32_t idx) const;

  /// The key groups in both ranges, or the empty range (Flink's getIntersection).
  KeyGroupRange intersection(const KeyGroupRange& other) const noexcept;

  constexpr Iterator begin() const noexcept { return Iterator(startKeyGroup); }
  constexpr Iterator end() const noexcept {
    return Iterator(empty() ? startKeyGroup : endKeyGroup + 1);
  }

  constexpr bool operator==(const KeyGroupRange&) const noexcept = default;

  /// "KeyGroupRange{startKeyGroup=0, endKeyGroup=31}", as Flink's toString.
  std::string toString() const;
};

// ------------------------------------------------------------------------------------------
// KeyGroupRangeAssignment
// ------------------------------------------------------------------------------------------

/// Flink's KeyGroupRangeAssignment: how keys map to key groups and key groups to parallel
/// operator instances. Static functions only. The per-record functions (assignToKeyGroup,
/// computeKeyGroupForKeyHash, computeOperatorIndexForKeyGroup, assignKeyToParallelOperator)
/// are inline and unchecked: callers validate maxParallelism and parallelism once, with
/// checkParallelismPreconditions, when they are configured.
class KeyGroupRangeAssignment {
 public:
  KeyGroupRangeAssignment() = delete;

  static constexpr int32_t kDefaultLowerBoundMaxParallelism =
      sluice::kDefaultLowerBoundMaxParallelism;
  static constexpr int32_t kUpperBoundMaxParallelism = sluice::kUpperBoundMaxParallelism;

  /// Operator index in [0, parallelism) that `key` is routed to:
  /// computeOperatorIndexForKeyGroup(maxParallelism, parallelism,
  /// assignToKeyGroup(key, maxParallelism)). Requires 1 <= parallelism <= maxParallelism
  /// <= 32768 (unchecked).
  template <KeyHashable K>
  static int32_t assignKeyToParallelOperator(const K& key, int32_t maxParallelism,
                                             int32_t parallelism) {
    return computeOperatorIndexForKeyGroup(maxParallelism, parallelism,
                                           assignToKeyGroup(key, maxParallelism));
  }

  /// Key group in [0, maxParallelism) of `key`:
  /// computeKeyGroupForKeyHash(KeyHash<K>::hashCode(key), maxParallelism).
  /// Requires 1 <= maxParallelism <= 32768 (unchecked).
  template <KeyHashable K>
  static int32_t assignToKeyGroup(const K& key, int32_t maxParallelism) {
    return computeKeyGroupForKeyHash(KeyHash<K>::hashCode(key), maxParallelism);
  }

  /// Key group in [0, maxParallelism) of a key with Java hash `keyHash`:
  /// murmurHash(keyHash) % maxParallelism. Requires maxParallelism >= 1 (unchecked).
  static constexpr int32_t computeKeyGroupForKeyHash(int32_t keyHash,
                                                     int32_t maxParallelism) noexcept {
    return murmurHash(keyHash) % maxParallelism;
  }

  /// Operator index in [0, parallelism) owning `keyGroup`:
  /// keyGroup * parallelism / maxParallelism (integer division). Requires
  /// 1 <= parallelism <= maxParallelism and 0 <= keyGroup < maxParallelism (unchecked).
  static constexpr int32_t computeOperatorIndexForKeyGroup(int32_t maxParallelism,
                                                           int32_t parallelism,
                                                           int32_t keyGroup) noexcept {
    return static_cast<int32_t>(static_cast<int64_t>(keyGroup) * parallelism / maxParallelism);
  }

  /// The key groups owned by operator `operatorIndex`:
  /// [ceil(operatorIndex * maxParallelism / parallelism),
  ///  ((operatorIndex + 1) * maxParallelism - 1) / parallelism], the exact inverse of
  /// computeOperatorIndexForKeyGroup; the ranges of all operator indexes partition
  /// [0, maxParallelism). Throws ConfigurationException if parallelism or maxParallelism is
  /// outside [1, 32768] or parallelism > maxParallelism, and std::out_of_range unless
  /// 0 <= operatorIndex < parallelism.
  static KeyGroupRange computeKeyGroupRangeForOperatorIndex(int32_t maxParallelism,
                                                            int32_t parallelism,
                                                            int32_t operatorIndex);

  /// Default max parallelism for an operator without an explicit one:
  /// min(max(roundUpToPowerOfTwo(p + p / 2), 128), 32768). Throws ConfigurationException
  /// unless 1 <= operatorParallelism <= 32768.
  static int32_t computeDefaultMaxParallelism(int32_t operatorParallelism);

  /// Throws ConfigurationException, naming the value, unless 1 <= parallelism <= 32768.
  /// Used for both parallelism and max parallelism.
  static void checkParallelismPreconditions(int32_t parallelism);
};

}  // namespace sluice
