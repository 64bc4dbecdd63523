#include "sluice/core/configuration.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {
namespace {

// Signals a malformed value; `detail` (may be empty) says more than the option's type name.
struct ParseFailure {
  std::string detail;
};

// The message of `e` without `prefix` (which repeats what the caller's message already says).
std::string reasonOf(const ConfigurationException& e, std::string_view prefix) {
  std::string_view message = e.what();
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  return std::string(message);
}

template <class T>
struct ValueTraits;

template <class Int>
Int parseInteger(std::string_view text) {
  std::string_view digits = trimAscii(text);
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  Int value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) {
    throw ParseFailure{fmt::format("between {} and {}", std::numeric_limits<Int>::min(),
                                   std::numeric_limits<Int>::max())};
  }
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw ParseFailure{};
  }
  return value;
}

template <>
struct ValueTraits<int32_t> {
  static constexpr std::string_view kTypeName = "an integer";
  static int32_t parse(std::string_view text) { return parseInteger<int32_t>(text); }
  static std::string format(int32_t value) { return std::to_string(value); }
};

template <>
struct ValueTraits<int64_t> {
  static constexpr std::string_view kTypeName = "an integer";
  static int64_t parse(std::string_view text) { return parseInteger<int64_t>(text); }
  static std::string format(int64_t value) { return std::to_string(value); }
};

template <>
struct ValueTraits<bool> {
  static constexpr std::string_view kTypeName = "a boolean (true or false)";
  // As Flink: "true" or "false" in any case, nothing else.
  static bool parse(std::string_view text) {
    const std::string_view trimmed = trimAscii(text);
    if (equalsIgnoreCaseAscii(trimmed, "true")) return true;
    if (equalsIgnoreCaseAscii(trimmed, "false")) return false;
    throw ParseFailure{};
  }
  static std::string format(bool value) { return value ? "true" : "false"; }
};

template <>
struct ValueTraits<double> {
  static constexpr std::string_view kTypeName = "a number";
  static double parse(std::string_view text) {
    std::string_view digits = trimAscii(text);
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    double value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      throw ParseFailure{};
    }
    return value;
  }
  static std::string format(double value) { return fmt::format("{}", value); }
};

template <>
struct ValueTraits<std::string> {
  static constexpr std::string_view kTypeName = "a string";
  static std::string parse(std::string_view text) { return std::string(text); }
  static std::string format(const std::string& value) { return value; }
};

template <>
struct ValueTraits<DurationMs> {
  static constexpr std::string_view kTypeName = "a duration";
  static DurationMs parse(std::string_view text) {
    try {
      return DurationMs{parseDurationMillis(text)};
    } catch (const ConfigurationException& e) {
      throw ParseFailure{reasonOf(e, fmt::format("Could not parse duration '{}': ", text))};
    }
  }
  static std::string format(const DurationMs& value) { return formatDuration(value.millis); }
};

template <>
struct ValueTraits<MemorySize> {
  static constexpr std::string_view kTypeName = "a memory size";
  static MemorySize parse(std::string_view text) {
    try {
      return MemorySize{parseMemorySizeBytes(text)};
    } catch (const ConfigurationException& e) {
      throw ParseFailure{reasonOf(e, fmt::format("Could not parse memory size '{}': ", text))};
    }
  }
  static std::string format(const MemorySize& value) { return formatMemorySize(value.bytes); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// ConfigOption

ConfigOptionBase::ConfigOptionBase(std::string key, std::string description,
                                   std::vector<std::string> fallbackKeys)
    : key_(std::move(key)),
      description_(std::move(description)),
      fallbackKeys_(std::move(fallbackKeys)) {}

template <class T>
requires ConfigValueType<T> ConfigOption<T>::ConfigOption(std::string key, T defaultValue,
                                                          std::string description,
                                                          std::vector<std::string> fallbackKeys,
                                                          Validator validator)
    : ConfigOptionBase(std::move(key), std::move(description), std::move(fallbackKeys)),
      defaultValue_(std::move(defaultValue)),
      validator_(validator) {}

template <class T>
requires ConfigValueType<T> std::string ConfigOption<T>::checkValue(const T& value)
const { return validator_ == nullptr ? std::string() : validator_(value); }

template <class T>
requires ConfigValueType<T> std::string_view ConfigOption<T>::typeName()
const { return ValueTraits<T>::kTypeName; }

template <class T>
requires ConfigValueType<T> std::string ConfigOption<T>::defaultValueString()
const { return ValueTraits<T>::format(defaultValue_); }

template <class T>
requires ConfigValueType<T>
void ConfigOption<T>::validate(const Configuration& config) const {
  (void)config.getOptional(*this);
}

// ---------------------------------------------------------------------------------------------
// Configuration

void Configuration::set(std::string key, std::string value) {
  entries_.insert_or_assign(std::move(key), std::move(value));
}

template <class T>
void Configuration::set(const ConfigOption<T>& option, const std::type_identity_t<T>& value) {
  set(option.key(), ValueTraits<T>::format(value));
}

bool Configuration::remove(std::string_view key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

bool Configuration::contains(std::string_view key) const { return entries_.contains(key); }

bool Configuration::contains(const ConfigOptionBase& option) const {
  return find(option) != nullptr;
}

std::optional<std::string> Configuration::getString(std::string_view key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::string Configuration::getString(std::string_view key, std::string_view defaultValue) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? std::string(defaultValue) : it->second;
}

const Configuration::Map::value_type* Configuration::find(const ConfigOptionBase& option) const {
  if (const auto it = entries_.find(option.key()); it != entries_.end()) return &*it;
  for (const std::string& fallbackKey : option.fallbackKeys()) {
    if (const auto it = entries_.find(fallbackKey); it != entries_.end()) return &*it;
  }
  return nullptr;
}

template <class T>
std::optional<T> Configuration::getOptional(const ConfigOption<T>& option) const {
  const Map::value_type* entry = find(option);
  if (entry == nullptr) return std::nullopt;
  const auto& [key, text] = *entry;
  std::optional<T> value;
  try {
    value = ValueTraits<T>::parse(text);
  } catch (const ParseFailure& failure) {
    std::string message = fmt::format("Could not parse value '{}' for key '{}': expected {}", text,
                                      key, ValueTraits<T>::kTypeName);
    if (!failure.detail.empty()) {
      message += std::is_integral_v<T> ? " " : ": ";
      message += failure.detail;
    }
    throw ConfigurationException(message);
  }
  if (std::string problem = option.checkValue(*value); !problem.empty()) {
    throw ConfigurationException(
        fmt::format("Invalid value '{}' for key '{}': {}", text, key, problem));
  }
  return value;
}

template <class T>
T Configuration::get(const ConfigOption<T>& option) const {
  std::optional<T> value = getOptional(option);
  return value ? std::move(*value) : option.defaultValue();
}

#define SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(T)                                       \
  template void Configuration::set(const ConfigOption<T>&, const std::type_identity_t<T>&); \
  template std::optional<T> Configuration::getOptional(const ConfigOption<T>&) const;       \
  template T Configuration::get(const ConfigOption<T>&) const;

SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(int32_t)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(int64_t)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(bool)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(double)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(std::string)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(DurationMs)
SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS(MemorySize)

#undef SLUICE_INSTANTIATE_CONFIGURATION_ACCESSORS

template class ConfigOption<int32_t>;
template class ConfigOption<int64_t>;
template class ConfigOption<bool>;
template class ConfigOption<double>;
template class ConfigOption<std::string>;
template class ConfigOption<DurationMs>;
template class ConfigOption<MemorySize>;

void Configuration::addAll(const Configuration& other) {
  for (const auto& [key, value] : other.entries_) {
    entries_.insert_or_assign(key, value);
  }
}

// ---------------------------------------------------------------------------------------------
// List values

std::string joinListValue(const std::vector<std::string>& elements) {
  std::string result;
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) result += ';';
    const std::string& element = elements[i];
    const bool needsQuotes = element.empty() ||
                             element.find_first_of(";'\"") != std::string::npos ||
                             trimAscii(element).size() != element.size();
    if (!needsQuotes) {
      result += element;
      continue;
    }
    result += '\'';
    for (char c : element) {
      if (c == '\'') result += '\'';
      result += c;
    }
    result += '\'';
  }
  return result;
}

std::vector<std::string> splitListValue(std::string_view value) {
  std::vector<std::string> elements;
  if (trimAscii(value).empty()) return elements;
  size_t pos = 0;
  while (true) {
    while (pos < value.size() && isAsciiSpace(value[pos])) ++pos;
    std::string element;
    if (pos < value.size() && (value[pos] == '\'' || value[pos] == '"')) {
      const char quote = value[pos++];
      bool closed = false;
      while (pos < value.size()) {
        if (value[pos] == quote) {
          if (pos + 1 < value.size() && value[pos + 1] == quote) {
            element += quote;
            pos += 2;
            continue;
          }
          ++pos;
          closed = true;
          break;
        }
        element += value[pos++];
      }
      if (!closed) {
        throw ConfigurationException(
            fmt::format("Could not parse list value '{}': unterminated quote", value));
      }
      while (pos < value.size() && isAsciiSpace(value[pos])) ++pos;
      if (pos < value.size() && value[pos] != ';') {
        throw ConfigurationException(fmt::format(
            "Could not parse list value '{}': unexpected text after a quoted element", value));
      }
    } else {
      const size_t end = std::min(value.find(';', pos), value.size());
      element = std::string(trimAscii(value.substr(pos, end - pos)));
      pos = end;
    }
    elements.push_back(std::move(element));
    if (pos >= value.size()) break;
    ++pos;  // skip ';'
  }
  return elements;
}

}  // namespace sluice
