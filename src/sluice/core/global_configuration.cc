#include "sluice/core/global_configuration.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "sluice/core/exceptions.h"

namespace sluice {
namespace {

std::string_view nodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "map";
    case YAML::NodeType::Sequence:
      return "list";
    case YAML::NodeType::Scalar:
      return "scalar";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "undefined value";
}

int lineOf(const YAML::Node& node) { return node.Mark().line + 1; }

class Flattener {
 public:
  explicit Flattener(std::string_view sourceName) : sourceName_(sourceName) {}

  void flatten(const YAML::Node& map, const std::string& prefix) {
    for (const auto& entry : map) {
      const YAML::Node& keyNode = entry.first;
      const YAML::Node& valueNode = entry.second;
      if (!keyNode.IsScalar()) {
        throw ConfigurationException(
            fmt::format("Invalid configuration in {} at line {}: a key must be a plain value, "
                        "found a {}",
                        sourceName_, lineOf(keyNode), nodeKind(keyNode)));
      }
      const std::string key = prefix.empty() ? keyNode.Scalar() : prefix + "." + keyNode.Scalar();
      switch (valueNode.Type()) {
        case YAML::NodeType::Map:
          flatten(valueNode, key);
          break;
        case YAML::NodeType::Sequence:
          put(key, listValue(valueNode), keyNode);
          break;
        case YAML::NodeType::Scalar:
          put(key, valueNode.Scalar(), keyNode);
          break;
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
          markSeen(key, keyNode);  // an empty value leaves the key unset
          break;
      }
    }
  }

  Configuration::Map take() { return std::move(entries_); }

 private:
  static std::string listValue(const YAML::Node& sequence) {
    std::vector<std::string> elements;
    for (const YAML::Node& element : sequence) {
      if (element.IsScalar()) {
        elements.push_back(element.Scalar());
      } else if (element.IsNull()) {
        elements.emplace_back();
      } else {
        YAML::Emitter emitter;
        emitter << YAML::Flow << element;
        elements.emplace_back(emitter.c_str());
      }
    }
    return joinListValue(elements);
  }

  void markSeen(const std::string& key, const YAML::Node& keyNode) {
    const auto [it, inserted] = seenLines_.emplace(key, lineOf(keyNode));
    if (!inserted) {
      throw ConfigurationException(fmt::format(
          "Duplicate configuration key '{}' in {} at line {} (first given at line {}); nested "
          "and dotted spellings of a key are the same key",
          key, sourceName_, lineOf(keyNode), it->second));
    }
  }

  void put(const std::string& key, std::string value, const YAML::Node& keyNode) {
    markSeen(key, keyNode);
    entries_.emplace(key, std::move(value));
  }

  std::string_view sourceName_;
  Configuration::Map entries_;
  std::map<std::string, int, std::less<>> seenLines_;
};

}  // namespace

Configuration parseYamlConfiguration(std::string_view yaml, std::string_view sourceName) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw ConfigurationException(fmt::format("Invalid YAML in {} at line {}, column {}: {}",
                                             sourceName, e.mark.line + 1, e.mark.column + 1,
                                             e.msg));
  }
  if (root.IsNull() || !root.IsDefined()) {
    return Configuration();
  }
  if (!root.IsMap()) {
    throw ConfigurationException(
        fmt::format("Invalid configuration in {} at line {}: the top level must be a map of keys "
                    "to values, found a {}",
                    sourceName, lineOf(root), nodeKind(root)));
  }
  Flattener flattener(sourceName);
  try {
    flattener.flatten(root, "");
  } catch (const YAML::Exception& e) {
    throw ConfigurationException(fmt::format("Invalid configuration in {} at line {}: {}",
                                             sourceName, e.mark.line + 1, e.msg));
  }
  Configuration config(flattener.take());
  warnAboutUnknownKeys(config, sourceName);
  return config;
}

Configuration loadConfigurationFile(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) {
    throw ConfigurationException(
        fmt::format("Configuration file '{}' does not exist or is not a file", file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    throw ConfigurationException(fmt::format("Could not read configuration file '{}': {}",
                                             file.string(), std::strerror(errno)));
  }
  return parseYamlConfiguration(text.str(), file.string());
}

Configuration loadConfiguration() {
  const char* confDirEnv = std::getenv(std::string(kConfDirEnvironmentVariable).c_str());
  const bool explicitDir = confDirEnv != nullptr && *confDirEnv != '\0';
  const std::filesystem::path confDir =
      explicitDir ? std::filesystem::path(confDirEnv) : std::filesystem::path(kDefaultConfDir);
  const std::filesystem::path file = confDir / kConfigFileName;

  Configuration config;
  std::error_code error;
  if (std::filesystem::exists(file, error)) {
    config = loadConfigurationFile(file);
    spdlog::debug("Loaded configuration from {}", file.string());
  } else if (explicitDir) {
    throw ConfigurationException(fmt::format(
        "Configuration file '{}' does not exist ({} is set to '{}'); create it or unset {}",
        file.string(), kConfDirEnvironmentVariable, confDirEnv, kConfDirEnvironmentVariable));
  }

  const char* dataDirEnv = std::getenv(std::string(kDataDirEnvironmentVariable).c_str());
  if (dataDirEnv != nullptr && *dataDirEnv != '\0') {
    config.set(kDataDir.key(), dataDirEnv);
  }
  return config;
}

void validateKnownOptions(const Configuration& config) {
  for (const ConfigOptionBase* option : knownOptions()) {
    option->validate(config);
  }
}

}  // namespace sluice
