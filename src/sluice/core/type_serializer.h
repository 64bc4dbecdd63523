#pragma once

// Static, non-virtual serializers for record and state types (Flink's TypeSerializer).
//
// `TypeSerializer<T>` is a class template with one specialization per type or family of types.
// Every specialization provides
//
//   static constexpr uint32_t kVersion;                          // format version of this
//                                                                // specialization's own framing
//   static void serialize(const T& value, DataOutputView& out);
//   static void deserialize(T& reuse, DataInputView& in);      // overwrites `reuse`
//
// and may provide `static constexpr size_t kMinSerializedSize` (a lower bound on the bytes any
// value takes), which containers use to reject corrupt element counts before allocating; a
// specialization without it is treated as "may take 0 bytes": its containers grow element by
// element instead of pre-sizing, and hold at most 2^24 elements that take zero bytes.
//
// Everything is defined inline in this header so that the hot path (millions of records per
// second) compiles down to direct writes into the output buffer; deserialization reuses the
// capacity of `reuse` (strings, vectors, optionals, nested fields), so steady-state
// deserialization into a reused object does not allocate, except for node-based containers
// (std::map, std::unordered_map), which allocate one node per entry.
//
// Built-in formats (all fixed-width values little-endian; "varint" is unsigned LEB128):
//   arithmetic T (except bool, long double)  sizeof(T) raw bytes (two's complement / IEEE 754)
//   bool                                     1 byte, 0x00 or 0x01; anything else is rejected
//   enum E                                   as its underlying integer type
//   std::string                              varint byte length, then the bytes (no terminator)
//   std::optional<T>                         1 flag byte 0x00 (empty) or 0x01 followed by T
//   std::vector<T> (including vector<bool>)  varint count, then each element (bool: 1 byte each)
//   std::map / std::unordered_map<K, V>      varint count, then key, value, key, value, ...
//                                            (map: ascending key order; unordered: iteration
//                                            order); a repeated key on input is rejected
//   std::pair<A, B>, std::tuple<Ts...>       the fields in order, no framing
//   std::array<T, N>                         the N elements, no count
//   aggregate struct (via Boost.PFR)         the fields in declaration order, no framing
//
// `kVersion` is 1 for every built-in specialization. The aggregate format follows the
// struct's fields, so adding, removing or reordering fields changes the format without a
// version change: types stored in savepoints that must evolve should get a hand-written
// specialization with their own version.
//
// Customisation: specialize `sluice::TypeSerializer` for your type, before the first use:
//
//   class Money {  // not an aggregate: private members
//    public:
//     int64_t cents() const; void setCents(int64_t c);
//    private: int64_t cents_ = 0;
//   };
//   template <>
//   struct sluice::TypeSerializer<Money> {
//     static constexpr uint32_t kVersion = 1;
//     static constexpr size_t kMinSerializedSize = 8;
//     static void serialize(const Money& m, DataOutputView& out) { out.writeRaw(m.cents()); }
//     static void deserialize(Money& m, DataInputView& in) { m.setCents(in.readRaw<int64_t>()); }
//   };
//
// Aggregates need nothing: `struct Bid { int64_t auction; std::string bidder; };` is
// serializable as is. A full specialization for an aggregate type wins over reflection; a
// *partial* specialization for an aggregate class template must also specialize
// `DisableReflectionSerializer` for it (otherwise both would match and the compiler reports
// an ambiguity). Aggregates with base classes, reference members or C-array members are not
// supported by Boost.PFR and need a hand-written specialization.
//
// Errors: deserialization of truncated or corrupt input throws SerializationException (never
// reads out of bounds, never allocates more than a small multiple of the remaining input for
// element counts); on exception, `reuse` is left valid but unspecified. Serialization does
// not throw except std::bad_alloc from the output buffer.
//
// Thread-safety: all functions are stateless; concurrent calls on distinct streams are safe.

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/pfr/core.hpp>
#include <boost/pfr/tuple_size.hpp>

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"

namespace sluice {

static_assert(std::endian::native == std::endian::little,
              "Sluice's serialized formats are little-endian and it writes host-order bytes");

/// The serializer for T: the specialization point described at the top of this file.
/// The primary template is only declared, so a type without a serializer is incomplete and
/// `Serializable<T>` is false.
template <typename T, typename Enable = void>
struct TypeSerializer;

/// True when `TypeSerializer<T>` is defined and provides kVersion, serialize() and
/// deserialize() with the signatures documented at the top of this file.
template <typename T>
concept Serializable = requires(const T& value, T& reuse, DataOutputView& out, DataInputView& in) {
  { TypeSerializer<T>::kVersion } -> std::convertible_to<uint32_t>;
  TypeSerializer<T>::serialize(value, out);
  TypeSerializer<T>::deserialize(reuse, in);
};

/// Opt-out of the Boost.PFR aggregate serializer for aggregate type T: specialize as
/// `std::true_type` when you provide a partial specialization of TypeSerializer for an
/// aggregate class template (full specializations need no opt-out).
template <typename T>
struct DisableReflectionSerializer : std::false_type {};

namespace detail {

/// Lower bound on the serialized size of any T: `TypeSerializer<T>::kMinSerializedSize` if
/// the specialization declares it, else 0.
template <typename T>
constexpr size_t minSerializedSize() {
  if constexpr (requires {
                  { TypeSerializer<T>::kMinSerializedSize } -> std::convertible_to<size_t>;
                }) {
    return TypeSerializer<T>::kMinSerializedSize;
  } else {
    return 0;
  }
}

// Out-of-line error paths (type_serializer.cc), so the inlined fast paths stay small.
[[noreturn]] void throwInvalidFlagByte(const char* what, uint8_t value, size_t offset);
[[noreturn]] void throwDuplicateMapKey(size_t entryIndex, size_t offset);
[[noreturn]] void throwTrailingBytes(size_t trailing, size_t consumed);
[[noreturn]] void throwTooManyZeroByteElements(size_t count, size_t offset);

/// Most elements that serialize to zero bytes one container may hold (2^24); bounds the
/// memory a corrupt count can claim for element types without kMinSerializedSize.
inline constexpr size_t kMaxZeroByteElements = size_t{1} << 24;

template <typename T>
inline constexpr bool kIsUnqualified = std::is_same_v<T, std::remove_cv_t<T>>;

template <typename T>
inline constexpr bool kIsRawArithmetic =
    std::is_arithmetic_v<T>&& kIsUnqualified<T> && !std::is_same_v<T, bool> &&
    !std::is_same_v<T, long double>;

template <typename T>
struct IsStdArray : std::false_type {};
template <typename E, size_t N>
struct IsStdArray<std::array<E, N>> : std::true_type {};

template <typename T, size_t... I>
constexpr bool allFieldsSerializable(std::index_sequence<I...>) {
  return (Serializable<boost::pfr::tuple_element_t<I, T>> && ...);
}

template <typename T, size_t... I>
constexpr size_t sumFieldMinSizes(std::index_sequence<I...>) {
  return (size_t{0} + ... + minSerializedSize<boost::pfr::tuple_element_t<I, T>>());
}

/// True for unqualified aggregate class types that are not std::array, are not opted out,
/// and whose fields are all Serializable.
template <typename T>
constexpr bool isReflectionSerializable() {
  if constexpr (std::is_class_v<T> && std::is_aggregate_v<T> && kIsUnqualified<T> &&
                !IsStdArray<T>::value && !DisableReflectionSerializer<T>::value) {
    return allFieldsSerializable<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
  } else {
    return false;
  }
}

/// Reads `n` elements into `v`, deserializing into existing elements first so that their
/// capacity is reused. Pre-sizes only when the element has a non-zero minimum size, in which
/// case `n` was already validated against the remaining input.
template <typename E, typename A>
void deserializeElements(std::vector<E, A>& v, size_t n, DataInputView& in) {
  if constexpr (minSerializedSize<E>() > 0) {
    v.resize(n);
    for (auto& e : v) TypeSerializer<E>::deserialize(e, in);
  } else {
    // `n` is unvalidated: grow one element at a time, and bound the number of elements that
    // consume no input, so a corrupt count cannot make us allocate without reading.
    if (v.size() > n) v.resize(n);
    size_t zeroByteElements = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i == v.size()) v.emplace_back();
      const size_t before = in.position();
      TypeSerializer<E>::deserialize(v[i], in);
      if (in.position() == before && ++zeroByteElements > kMaxZeroByteElements) {
        throwTooManyZeroByteElements(n, before);
      }
    }
  }
}

template <typename Map>
void serializeMap(const Map& m, DataOutputView& out) {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  out.writeVarUint(m.size());
  for (const auto& [k, v] : m) {
    TypeSerializer<K>::serialize(k, out);
    TypeSerializer<V>::serialize(v, out);
  }
}

template <typename Map>
void deserializeMap(Map& m, DataInputView& in) {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  constexpr size_t kEntryMin = minSerializedSize<K>() + minSerializedSize<V>();
  const size_t n = in.readLength(kEntryMin);
  m.clear();
  if constexpr (kEntryMin > 0 && requires { m.reserve(n); }) m.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t at = in.position();
    K key{};
    V value{};
    TypeSerializer<K>::deserialize(key, in);
    TypeSerializer<V>::deserialize(value, in);
    const size_t before = m.size();
    // Serialized std::maps are in ascending order, so the end hint makes insertion O(1).
    m.emplace_hint(m.end(), std::move(key), std::move(value));
    if (m.size() == before) throwDuplicateMapKey(i, at);
  }
}

}  // namespace detail

/// Arithmetic types other than bool and long double: sizeof(T) raw little-endian bytes.
/// long double has no serializer (its x87 padding bytes are indeterminate).
template <typename T>
struct TypeSerializer<T, std::enable_if_t<detail::kIsRawArithmetic<T>>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = sizeof(T);
  static void serialize(const T& value, DataOutputView& out) { out.writeRaw<T>(value); }
  static void deserialize(T& reuse, DataInputView& in) { reuse = in.readRaw<T>(); }
};

/// bool: one byte, 0x00 or 0x01. Throws SerializationException on any other byte.
template <>
struct TypeSerializer<bool> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const bool& value, DataOutputView& out) {
    out.writeRaw<uint8_t>(value ? 1 : 0);
  }
  static void deserialize(bool& reuse, DataInputView& in) {
    const uint8_t b = in.readRaw<uint8_t>();
    if (b > 1) detail::throwInvalidFlagByte("bool", b, in.position() - 1);
    reuse = b != 0;
  }
};

/// Enums: as the underlying integer type. Values are not checked against the enumerators
/// (any value of the underlying type is a valid enum value in C++).
template <typename T>
struct TypeSerializer<T, std::enable_if_t<std::is_enum_v<T> && detail::kIsUnqualified<T>>> {
  using Underlying = std::underlying_type_t<T>;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = detail::minSerializedSize<Underlying>();
  static void serialize(const T& value, DataOutputView& out) {
    TypeSerializer<Underlying>::serialize(static_cast<Underlying>(value), out);
  }
  static void deserialize(T& reuse, DataInputView& in) {
    Underlying u{};
    TypeSerializer<Underlying>::deserialize(u, in);
    reuse = static_cast<T>(u);
  }
};

/// std::string: varint byte length, then the raw bytes. Reuses the capacity of `reuse`.
/// Throws SerializationException if the length exceeds the remaining input.
template <>
struct TypeSerializer<std::string> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::string& value, DataOutputView& out) { out.writeString(value); }
  static void deserialize(std::string& reuse, DataInputView& in) { in.readString(reuse); }
};

/// std::optional<T>: flag byte 0x00 (empty) or 0x01 followed by the value. If `reuse` holds a
/// value it is deserialized in place. Throws SerializationException on any other flag byte.
template <Serializable T>
struct TypeSerializer<std::optional<T>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::optional<T>& value, DataOutputView& out) {
    if (value.has_value()) {
      out.writeRaw<uint8_t>(1);
      TypeSerializer<T>::serialize(*value, out);
    } else {
      out.writeRaw<uint8_t>(0);
    }
  }
  static void deserialize(std::optional<T>& reuse, DataInputView& in) {
    const uint8_t flag = in.readRaw<uint8_t>();
    if (flag == 0) {
      reuse.reset();
      return;
    }
    if (flag != 1) detail::throwInvalidFlagByte("std::optional presence", flag, in.position() - 1);
    if (!reuse.has_value()) reuse.emplace();
    TypeSerializer<T>::deserialize(*reuse, in);
  }
};

/// std::vector<T>: varint count, then the elements. Existing elements of `reuse` are
/// deserialized in place (their capacity is reused). Throws SerializationException if the
/// count cannot fit in the remaining input.
template <Serializable T, typename A>
struct TypeSerializer<std::vector<T, A>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::vector<T, A>& value, DataOutputView& out) {
    out.writeVarUint(value.size());
    for (const auto& e : value) TypeSerializer<T>::serialize(e, out);
  }
  static void deserialize(std::vector<T, A>& reuse, DataInputView& in) {
    const size_t n = in.readLength(detail::minSerializedSize<T>());
    detail::deserializeElements(reuse, n, in);
  }
};

/// std::vector<bool>: varint count, then one byte (0x00/0x01) per element.
template <typename A>
struct TypeSerializer<std::vector<bool, A>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::vector<bool, A>& value, DataOutputView& out) {
    out.writeVarUint(value.size());
    for (bool b : value) out.writeRaw<uint8_t>(b ? 1 : 0);
  }
  static void deserialize(std::vector<bool, A>& reuse, DataInputView& in) {
    const size_t n = in.readLength(1);
    reuse.resize(n);
    for (size_t i = 0; i < n; ++i) {
      bool b = false;
      TypeSerializer<bool>::deserialize(b, in);
      reuse[i] = b;
    }
  }
};

/// std::map<K, V>: varint count, then key/value pairs in ascending key order. `reuse` is
/// cleared (entries allocate nodes). Throws SerializationException on a corrupt count or a
/// repeated key.
template <Serializable K, Serializable V, typename C, typename A>
struct TypeSerializer<std::map<K, V, C, A>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::map<K, V, C, A>& value, DataOutputView& out) {
    detail::serializeMap(value, out);
  }
  static void deserialize(std::map<K, V, C, A>& reuse, DataInputView& in) {
    detail::deserializeMap(reuse, in);
  }
};

/// std::unordered_map<K, V>: as std::map, entries in iteration order (so two equal maps may
/// serialize to different bytes).
template <Serializable K, Serializable V, typename H, typename E, typename A>
struct TypeSerializer<std::unordered_map<K, V, H, E, A>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1;
  static void serialize(const std::unordered_map<K, V, H, E, A>& value, DataOutputView& out) {
    detail::serializeMap(value, out);
  }
  static void deserialize(std::unordered_map<K, V, H, E, A>& reuse, DataInputView& in) {
    detail::deserializeMap(reuse, in);
  }
};

/// std::pair<A, B>: first, then second; no framing.
template <Serializable A, Serializable B>
struct TypeSerializer<std::pair<A, B>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize =
      detail::minSerializedSize<A>() + detail::minSerializedSize<B>();
  static void serialize(const std::pair<A, B>& value, DataOutputView& out) {
    TypeSerializer<A>::serialize(value.first, out);
    TypeSerializer<B>::serialize(value.second, out);
  }
  static void deserialize(std::pair<A, B>& reuse, DataInputView& in) {
    TypeSerializer<A>::deserialize(reuse.first, in);
    TypeSerializer<B>::deserialize(reuse.second, in);
  }
};

/// std::tuple<Ts...>: the fields in order; no framing.
template <Serializable... Ts>
struct TypeSerializer<std::tuple<Ts...>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = (size_t{0} + ... + detail::minSerializedSize<Ts>());
  static void serialize(const std::tuple<Ts...>& value, DataOutputView& out) {
    std::apply([&out](const Ts&... f) { (TypeSerializer<Ts>::serialize(f, out), ...); }, value);
  }
  static void deserialize(std::tuple<Ts...>& reuse, DataInputView& in) {
    std::apply([&in](Ts&... f) { (TypeSerializer<Ts>::deserialize(f, in), ...); }, reuse);
  }
};

/// std::array<T, N>: the N elements; no count.
template <Serializable T, size_t N>
struct TypeSerializer<std::array<T, N>> {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = N * detail::minSerializedSize<T>();
  static void serialize(const std::array<T, N>& value, DataOutputView& out) {
    for (const auto& e : value) TypeSerializer<T>::serialize(e, out);
  }
  static void deserialize(std::array<T, N>& reuse, DataInputView& in) {
    for (auto& e : reuse) TypeSerializer<T>::deserialize(e, in);
  }
};

/// Aggregate structs without a serializer of their own: the fields in declaration order
/// (Boost.PFR `for_each_field`), no framing. Applies only when every field is Serializable,
/// T is not a std type handled above, and DisableReflectionSerializer<T> is false.
template <typename T>
struct TypeSerializer<T, std::enable_if_t<detail::isReflectionSerializable<T>()>> {
  static constexpr uint32_t kVersion = 1;
  /// Marks the reflection serializer: its format is the fields' (serializer_description.h).
  static constexpr bool kReflection = true;
  static constexpr size_t kMinSerializedSize =
      detail::sumFieldMinSizes<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
  static void serialize(const T& value, DataOutputView& out) {
    boost::pfr::for_each_field(value, [&out](const auto& field) {
      TypeSerializer<std::remove_cvref_t<decltype(field)>>::serialize(field, out);
    });
  }
  static void deserialize(T& reuse, DataInputView& in) {
    boost::pfr::for_each_field(reuse, [&in](auto& field) {
      TypeSerializer<std::remove_cvref_t<decltype(field)>>::deserialize(field, in);
    });
  }
};

/// Serializes `value` into a new byte vector (for tests, snapshots and metadata; the hot path
/// writes into a reused DataOutputView instead). Fails to compile if T is not Serializable.
template <typename T>
std::vector<uint8_t> serializeToBytes(const T& value) {
  static_assert(Serializable<T>,
                "no sluice::TypeSerializer<T> for this type or for one of its element/field "
                "types: specialize sluice::TypeSerializer (see sluice/core/type_serializer.h)");
  if constexpr (Serializable<T>) {
    DataOutputView out;
    TypeSerializer<T>::serialize(value, out);
    return std::move(out.bytes());
  } else {
    return {};
  }
}

/// Deserializes a T (default-constructed, then overwritten) from exactly `size` bytes at
/// `data`. Throws SerializationException if the input is truncated or corrupt, or if
/// "trailing N bytes" remain after the value. `data` may be null when `size` is 0.
template <typename T>
T deserializeFromBytes(const uint8_t* data, size_t size) {
  static_assert(Serializable<T>,
                "no sluice::TypeSerializer<T> for this type or for one of its element/field "
                "types: specialize sluice::TypeSerializer (see sluice/core/type_serializer.h)");
  static_assert(std::is_default_constructible_v<T>,
                "deserializeFromBytes<T> needs a default-constructible T");
  T value{};
  if constexpr (Serializable<T>) {
    DataInputView in(data, size);
    TypeSerializer<T>::deserialize(value, in);
    if (!in.atEnd()) detail::throwTrailingBytes(in.remaining(), in.position());
  }
  return value;
}

/// Overload of deserializeFromBytes for a whole byte vector; same errors.
template <typename T>
T deserializeFromBytes(const std::vector<uint8_t>& bytes) {
  return deserializeFromBytes<T>(bytes.data(), bytes.size());
}

}  // namespace sluice
