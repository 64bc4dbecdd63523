#pragma once

// What a snapshot records about the serializer of each state type, so that a restore can tell
// a compatible format from an incompatible one (Flink's TypeSerializerSnapshot, reduced to what
// static serializers need).

#include <boost/core/type_name.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "sluice/core/type_serializer.h"

namespace sluice {

template <typename T>
std::string serializerDescription();

namespace detail {

template <typename T>
struct TemplateArguments {
  using type = std::tuple<>;
};
template <template <typename...> class C, typename... A>
struct TemplateArguments<C<A...>> {
  using type = std::tuple<A...>;
};

template <typename T>
void appendDescription(std::string& out, bool& first) {
  // Empty classes (comparators, hashers, allocators among template arguments) hold no data;
  // they are skipped before Serializable<T> is asked, which Boost.PFR cannot answer for some.
  if constexpr (!std::is_empty_v<T>) {
    if constexpr (Serializable<T>) {
      if (!first) out += ',';
      first = false;
      out += serializerDescription<T>();
    }
  }
}

template <typename... A>
std::string describeArguments(std::tuple<A...>*) {
  std::string out;
  bool first = true;
  (appendDescription<A>(out, first), ...);
  (void)first;  // unused when there are no arguments
  return out;
}

template <typename T, size_t... I>
std::string describeFields(std::index_sequence<I...>) {
  std::string out;
  bool first = true;
  (appendDescription<boost::pfr::tuple_element_t<I, T>>(out, first), ...);
  (void)first;  // unused when there are no fields
  return out;
}

}  // namespace detail

/// A description of T's serialized format that changes whenever the format may: T's portable
/// name (boost::core::type_name) and its serializer's kVersion; for an aggregate serialized by
/// reflection, the descriptions of its fields in order (so adding, removing, reordering or
/// retyping a field changes it); for a class template instance, those of its serializable type
/// arguments (so `std::vector<Bid>` changes with Bid). E.g. `Bid{long@1,std::string@1}`,
/// `std::vector<Bid>@1<Bid{long@1,std::string@1}>`. Types without a TypeSerializer are
/// described as `<name>@none`. Deterministic for one source, compiler-independent for the names
/// boost::core::type_name spells out.
template <typename T>
std::string serializerDescription() {
  const std::string name = boost::core::type_name<T>();
  if constexpr (!Serializable<T>) {
    return name + "@none";
  } else if constexpr (requires { TypeSerializer<T>::kReflection; }) {
    return name + "{" +
           detail::describeFields<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{}) + "}";
  } else {
    std::string out = name + "@" + std::to_string(TypeSerializer<T>::kVersion);
    using Arguments = typename detail::TemplateArguments<T>::type;
    if constexpr (std::tuple_size_v < Arguments >> 0) {
      std::string args = detail::describeArguments(static_cast<Arguments*>(nullptr));
      if (!args.empty()) out += "<" + args + ">";
    }
    return out;
  }
}

}  // namespace sluice
