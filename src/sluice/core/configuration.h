#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sluice/core/duration.h"
#include "sluice/core/memory_size.h"

namespace sluice {

class Configuration;

/// The value types a ConfigOption can have: int32_t, int64_t, bool, double, std::string,
/// DurationMs (milliseconds) and MemorySize (bytes).
template <class T>
concept ConfigValueType = std::same_as<T, int32_t> || std::same_as<T, int64_t> ||
    std::same_as<T, bool> || std::same_as<T, double> || std::same_as<T, std::string> ||
    std::same_as<T, DurationMs> || std::same_as<T, MemorySize>;

/// The type-independent part of a ConfigOption: key, synonyms, description. Lets the registry
/// (knownOptions()) hold options of different types. Immutable after construction, so safe to
/// share between threads.
class ConfigOptionBase {
 public:
  virtual ~ConfigOptionBase() = default;

  /// The key, e.g. "parallelism.default".
  const std::string& key() const { return key_; }

  /// Further keys read when `key()` is absent, in order (Flink's fallback/deprecated keys). When
  /// several are set, `key()` wins, then the earliest fallback key.
  const std::vector<std::string>& fallbackKeys() const { return fallbackKeys_; }

  /// Human-readable description for documentation and help output.
  const std::string& description() const { return description_; }

  /// What a value must look like, phrased to follow "expected", e.g. "an integer".
  virtual std::string_view typeName() const = 0;

  /// The default value as configuration text, e.g. "100 ms" or "32 kb".
  virtual std::string defaultValueString() const = 0;

  /// Parses and checks this option's value in `config` if the option is set there (under its key
  /// or a fallback key). Throws ConfigurationException, as Configuration::get() does, if the value
  /// is malformed or out of range.
  virtual void validate(const Configuration& config) const = 0;

 protected:
  ConfigOptionBase(std::string key, std::string description, std::vector<std::string> fallbackKeys);

 private:
  std::string key_;
  std::string description_;
  std::vector<std::string> fallbackKeys_;
};

/// A typed configuration option with a default value, as Flink's ConfigOption<T>: a key, a
/// default, a description, optional fallback keys and an optional range check. Read it with
/// Configuration::get(). Immutable; safe to share between threads.
template <class T>
requires ConfigValueType<T>
class ConfigOption final : public ConfigOptionBase {
 public:
  /// Checks a parsed value; returns an empty string when it is valid, otherwise what is wrong,
  /// phrased to follow the value, e.g. "must be at least 1".
  using Validator = std::string (*)(const T& value);

  /// Creates an option. `validator` may be null (every well-formed value is accepted).
  ConfigOption(std::string key, T defaultValue, std::string description,
               std::vector<std::string> fallbackKeys = {}, Validator validator = nullptr);

  /// The value get() returns when the option is not set.
  const T& defaultValue() const { return defaultValue_; }

  /// Runs the validator: an empty string if `value` is allowed, otherwise the reason.
  std::string checkValue(const T& value) const;

  std::string_view typeName() const override;
  std::string defaultValueString() const override;
  void validate(const Configuration& config) const override;

 private:
  T defaultValue_;
  Validator validator_;
};

extern template class ConfigOption<int32_t>;
extern template class ConfigOption<int64_t>;
extern template class ConfigOption<bool>;
extern template class ConfigOption<double>;
extern template class ConfigOption<std::string>;
extern template class ConfigOption<DurationMs>;
extern template class ConfigOption<MemorySize>;

/// A set of configuration entries, string key to string value, as Flink's Configuration. Values
/// are kept as text and parsed by the typed getters when read, so a malformed value fails where
/// it is used (or at start-up through validateKnownOptions()). Keys are ordered (std::map) so
/// iteration and printing are deterministic.
///
/// Thread-safety: not synchronized. Concurrent const calls are safe; any mutation needs external
/// synchronization. Build it once at start-up, then share it read-only.
class Configuration {
 public:
  /// The entries, ordered by key; heterogeneous lookup by std::string_view.
  using Map = std::map<std::string, std::string, std::less<>>;

  Configuration() = default;

  /// A configuration holding `entries`.
  explicit Configuration(Map entries) : entries_(std::move(entries)) {}

  /// Sets `key` to `value`, replacing any previous value. Keys are taken literally (no trimming).
  void set(std::string key, std::string value);

  /// Sets `option.key()` to `value` written as configuration text (durations as "100 ms",
  /// memory sizes as "32 kb"). Fallback keys are left untouched.
  template <class T>
  void set(const ConfigOption<T>& option, const std::type_identity_t<T>& value);

  /// Removes `key`; returns whether it was present.
  bool remove(std::string_view key);

  /// Whether `key` has a value.
  bool contains(std::string_view key) const;

  /// Whether `option` has a value under its key or one of its fallback keys.
  bool contains(const ConfigOptionBase& option) const;

  /// The raw value of `key`, or std::nullopt if absent.
  std::optional<std::string> getString(std::string_view key) const;

  /// The raw value of `key`, or `defaultValue` if absent.
  std::string getString(std::string_view key, std::string_view defaultValue) const;

  /// The value of `option` (its key, else its fallback keys, else its default), parsed as T.
  /// Throws ConfigurationException naming the key, the value and the expected type if the value
  /// is malformed ("Could not parse value 'abc' for key 'parallelism.default': expected an
  /// integer"), or naming the key, the value and the rule if the option's validator rejects it.
  template <class T>
  T get(const ConfigOption<T>& option) const;

  /// As get(), but std::nullopt when the option is not set (its default is not consulted).
  template <class T>
  std::optional<T> getOptional(const ConfigOption<T>& option) const;

  /// Copies every entry of `other` into this configuration; on equal keys `other` wins.
  void addAll(const Configuration& other);

  /// All entries, ordered by key. The reference is valid until this configuration changes.
  const Map& toMap() const { return entries_; }

  /// Number of entries.
  size_t size() const { return entries_.size(); }

  /// Whether there are no entries.
  bool empty() const { return entries_.empty(); }

  friend bool operator==(const Configuration&, const Configuration&) = default;

 private:
  // The key actually set for `option` (its key or a fallback key), or nullptr.
  const Map::value_type* find(const ConfigOptionBase& option) const;

  Map entries_;
};

/// Joins `elements` into Flink's list syntax for configuration values, "a;b;c". An element that
/// contains ';' or a quote, or is empty, is wrapped in single quotes with its single quotes
/// doubled, so splitListValue() restores the elements exactly. Thread-safe.
std::string joinListValue(const std::vector<std::string>& elements);

/// Splits a value in Flink's list syntax ("a;b;c", elements optionally quoted with ' or ", a
/// doubled quote inside quotes standing for one) into its elements. Whitespace around unquoted
/// elements is trimmed; an empty or all-whitespace value is an empty list.
/// Throws ConfigurationException quoting `value` on an unterminated quote or on text after a
/// closing quote. Thread-safe.
std::vector<std::string> splitListValue(std::string_view value);

}  // namespace sluice
