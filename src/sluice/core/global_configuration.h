#pragma once

#include <filesystem>
#include <string_view>

#include "sluice/core/config_options.h"
#include "sluice/core/configuration.h"

namespace sluice {

/// Environment variable naming the configuration directory (Flink's FLINK_CONF_DIR).
inline constexpr std::string_view kConfDirEnvironmentVariable = "SLUICE_CONF_DIR";

/// Configuration directory used when SLUICE_CONF_DIR is not set, relative to the working
/// directory.
inline constexpr std::string_view kDefaultConfDir = "conf";

/// Name of the configuration file inside the configuration directory (Flink 1.19+'s
/// config.yaml; the legacy flink-conf.yaml format is not supported).
inline constexpr std::string_view kConfigFileName = "config.yaml";

/// Loads the configuration of a Sluice process, as Flink's GlobalConfiguration.loadConfiguration:
/// reads `$SLUICE_CONF_DIR/config.yaml`, or `conf/config.yaml` under the working directory when
/// SLUICE_CONF_DIR is unset or empty (see loadConfigurationFile() for the format), then applies
/// the environment variable SLUICE_DATA_DIR, if set and non-empty, as `sluice.data-dir`.
/// A missing file in the default location yields an empty configuration.
/// Throws ConfigurationException naming the path if SLUICE_CONF_DIR is set and the file does not
/// exist, or for any error of loadConfigurationFile(). Values are not validated here (see
/// validateKnownOptions()). Reads the environment; not safe concurrently with setenv().
Configuration loadConfiguration();

/// Reads a configuration file in Flink's standard YAML format (see parseYamlConfiguration()).
/// Throws ConfigurationException naming `file` if it does not exist or cannot be read, or for
/// any error of parseYamlConfiguration(). Thread-safe.
Configuration loadConfigurationFile(const std::filesystem::path& file);

/// Parses configuration text in Flink 1.19+'s standard YAML format. The top level is a map;
/// nested maps flatten into dotted keys (`parallelism:\n  default: 4` is `parallelism.default`
/// = "4"); scalars are kept as their text; sequences become Flink's list syntax "a;b;c" (see
/// joinListValue(); non-scalar elements are kept as YAML flow text); a null value (`key:` or
/// `key: ~`) leaves the key unset. `sourceName` (usually the file path) is used in messages.
/// Logs one spdlog warning per key that isNotKnownKey() ("Unknown configuration key 'x' in
/// <source>; it is ignored"); such keys are still stored, so programs can read their own keys.
/// Throws ConfigurationException naming `sourceName` and the line on YAML syntax errors, on a top
/// level that is not a map, on a non-scalar key, and on a key given twice (also when once nested
/// and once dotted), which Flink's config.yaml rejects too. Thread-safe.
Configuration parseYamlConfiguration(std::string_view yaml, std::string_view sourceName);

/// Parses and range-checks every known option (knownOptions()) that is set in `config`, and
/// throws ConfigurationException naming the key and the value for the first malformed or
/// out-of-range one, so a program fails at start rather than when the option is first read.
/// Unknown keys are not checked. Thread-safe for a configuration that is not being modified.
void validateKnownOptions(const Configuration& config);

}  // namespace sluice
