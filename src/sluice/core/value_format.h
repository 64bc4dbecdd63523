#pragma once

#include <boost/pfr.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice {

/// Specialization point: how a value prints in print() and text sinks. Specialize
/// `ValueFormatter<MyType>` with `static void format(const MyType&, std::string& out)`, or give
/// the type a `std::string toString() const` member. Built-in renderings follow what a Flink
/// user sees from Java's toString: tuples and pairs as Flink's Tuple "(a,b)", vectors as a Java
/// List "[a, b]", maps as "{k=v, k2=v2}", empty optionals as "null", doubles with at least one
/// decimal ("1.0"), other aggregates field by field as "(a,b)".
template <typename T, typename Enable = void>
struct ValueFormatter;

template <typename T>
void appendValue(const T& value, std::string& out);

namespace detail {
template <typename T>
concept TupleLike = requires {
  std::tuple_size<T>::value;
};
template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsMap : std::false_type {};
template <typename K, typename V, typename C, typename A>
struct IsMap<std::map<K, V, C, A>> : std::true_type {};
template <typename K, typename V, typename H, typename E, typename A>
struct IsMap<std::unordered_map<K, V, H, E, A>> : std::true_type {};

void appendDouble(double value, std::string& out);
}  // namespace detail

template <typename T>
void appendValue(const T& value, std::string& out) {
  if constexpr (requires { ValueFormatter<T>::format(value, out); }) {
    ValueFormatter<T>::format(value, out);
  } else if constexpr (requires {
                         { value.toString() } -> std::convertible_to<std::string>;
                       }) {
    out += value.toString();
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += std::string_view(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    out += value;
  } else if constexpr (std::is_floating_point_v<T>) {
    detail::appendDouble(static_cast<double>(value), out);
  } else if constexpr (std::is_integral_v<T>) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, r.ptr);
  } else if constexpr (std::is_enum_v<T>) {
    appendValue(static_cast<std::underlying_type_t<T>>(value), out);
  } else if constexpr (detail::IsOptional<T>::value) {
    if (value) {
      appendValue(*value, out);
    } else {
      out += "null";
    }
  } else if constexpr (detail::IsMap<T>::value) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : value) {
      if (!first) out += ", ";
      first = false;
      appendValue(k, out);
      out += '=';
      appendValue(v, out);
    }
    out += '}';
  } else if constexpr (detail::IsVector<T>::value) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i) out += ", ";
      appendValue(static_cast<const typename T::value_type&>(value[i]), out);
    }
    out += ']';
  } else if constexpr (detail::TupleLike<T>) {
    out += '(';
    std::apply(
        [&](const auto&... fields) {
          size_t i = 0;
          ((out += (i++ ? "," : ""), appendValue(fields, out)), ...);
        },
        value);
    out += ')';
  } else if constexpr (std::is_aggregate_v<T>) {
    out += '(';
    size_t i = 0;
    boost::pfr::for_each_field(value, [&](const auto& field) {
      if (i++) out += ',';
      appendValue(field, out);
    });
    out += ')';
  } else {
    static_assert(sizeof(T) == 0,
                  "no ValueFormatter for this type: specialize sluice::ValueFormatter");
  }
}

/// The value as text (see ValueFormatter).
template <typename T>
std::string toString(const T& value) {
  std::string out;
  appendValue(value, out);
  return out;
}

}  // namespace sluice
