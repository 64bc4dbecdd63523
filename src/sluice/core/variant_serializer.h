#pragma once

// TypeSerializer for std::variant (see type_serializer.h for the contract every serializer
// follows). Include this header wherever a std::variant is used as a record or state type.
//
// Format (version 1): one byte with the index of the held alternative, then that alternative
// in its own format. At most 255 alternatives.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "sluice/core/type_serializer.h"

namespace sluice {

namespace detail {

template <typename... Ts>
constexpr size_t minVariantAlternativeSize() {
  size_t min = SIZE_MAX;
  ((min = std::min(min, minSerializedSize<Ts>())), ...);
  return min;
}

}  // namespace detail

/// std::variant<Ts...>: a byte with index(), then the held alternative. Deserialization reuses
/// the held alternative of `reuse` when the index matches, else default-constructs the new one
/// (so every alternative must be default-constructible). Throws SerializationException on
/// serializing a variant that is valueless by exception, and on reading an index that is out
/// of range (corrupt input).
template <Serializable... Ts>
struct TypeSerializer<std::variant<Ts...>> {
  static_assert(sizeof...(Ts) <= 255, "a serializable std::variant has at most 255 alternatives");
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSerializedSize = 1 + detail::minVariantAlternativeSize<Ts...>();

  static void serialize(const std::variant<Ts...>& value, DataOutputView& out) {
    if (value.valueless_by_exception()) {
      throw SerializationException(
          "cannot serialize a std::variant that is valueless by exception");
    }
    out.writeRaw<uint8_t>(static_cast<uint8_t>(value.index()));
    std::visit(
        [&out](const auto& alternative) {
          using A = std::decay_t<decltype(alternative)>;
          TypeSerializer<A>::serialize(alternative, out);
        },
        value);
  }

  static void deserialize(std::variant<Ts...>& reuse, DataInputView& in) {
    const uint8_t index = in.readRaw<uint8_t>();
    if (index >= sizeof...(Ts)) {
      throw SerializationException("corrupt std::variant index " + std::to_string(index) +
                                   " at offset " + std::to_string(in.position() - 1) +
                                   ": the variant has " + std::to_string(sizeof...(Ts)) +
                                   " alternatives");
    }
    kReaders[index](reuse, in);
  }

 private:
  using Reader = void (*)(std::variant<Ts...>&, DataInputView&);
  template <size_t I>
  static void read(std::variant<Ts...>& reuse, DataInputView& in) {
    if (reuse.index() != I) reuse.template emplace<I>();
    TypeSerializer<std::variant_alternative_t<I, std::variant<Ts...>>>::deserialize(
        std::get<I>(reuse), in);
  }
  template <size_t... I>
  static constexpr std::array<Reader, sizeof...(Ts)> readers(std::index_sequence<I...>) {
    return {&read<I>...};
  }
  static constexpr std::array<Reader, sizeof...(Ts)> kReaders =
      readers(std::index_sequence_for<Ts...>{});
};

}  // namespace sluice
