#include "sluice/cli/command_line.h"

#include <cstdlib>
#include <iostream>
#include <limits>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sluice/core/config_options.h"
#include "sluice/core/global_configuration.h"

namespace sluice {
namespace {

constexpr int kUsageErrorExitCode = 2;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

CommandLine::CommandLine(const std::string& programName, const std::string& description)
    : app_(std::make_unique<CLI::App>(description, programName)) {
  app_->add_option("-D", dynamicProperties_,
                   "Set a configuration entry, e.g. -Dparallelism.default=4 or "
                   "-D execution.buffer-timeout=10ms (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app_->add_option("-p,--parallelism", parallelism_,
                   "Default parallelism of the job (sets parallelism.default; wins over -D)")
      ->type_name("N")
      ->check(CLI::Range(1, std::numeric_limits<int32_t>::max()));
  app_->add_option("-s,--fromSavepoint,--from-savepoint", savepointPath_,
                   "Restore from a checkpoint or savepoint directory, or latest:DIR for the newest "
                   "complete checkpoint under DIR (sets execution.savepoint.path)")
      ->type_name("PATH");
  app_->add_flag("-n,--allowNonRestoredState,--allow-non-restored-state", allowNonRestoredState_,
                 "Skip restored state that no operator of the job claims "
                 "(sets execution.savepoint.ignore-unclaimed-state)");
  app_->footer(
      fmt::format("Configuration is read from ${}/{} (default {}/{}); -D and -p override it.",
                  kConfDirEnvironmentVariable, kConfigFileName, kDefaultConfDir, kConfigFileName));
}

CommandLine::~CommandLine() = default;

CLI::App& CommandLine::app() { return *app_; }

CLI::Option* CommandLine::addOption(const std::string& name, std::string& target,
                                    const std::string& description) {
  return app_->add_option(name, target, description);
}

CLI::Option* CommandLine::addOption(const std::string& name, std::vector<std::string>& target,
                                    const std::string& description) {
  return app_->add_option(name, target, description)->allow_extra_args(false);
}

CLI::Option* CommandLine::addOption(const std::string& name, int64_t& target,
                                    const std::string& description) {
  return app_->add_option(name, target, description);
}

CLI::Option* CommandLine::addFlag(const std::string& name, bool& target,
                                  const std::string& description) {
  return app_->add_flag(name, target, description);
}

Configuration CommandLine::parse(int argc, const char* const* argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::Success&) {  // --help (CallForHelp) and the like
    throw CommandLineError(0, app_->help());
  } catch (const CLI::ParseError& e) {
    throw CommandLineError(
        kUsageErrorExitCode,
        fmt::format("{}: {}\nRun with --help for more information.", app_->get_name(), e.what()));
  }

  Configuration overrides;
  for (const std::string& property : dynamicProperties_) {
    const size_t equals = property.find('=');
    const std::string_view key = equals == std::string::npos
                                     ? std::string_view()
                                     : trim(std::string_view(property).substr(0, equals));
    if (key.empty()) {
      throw CommandLineError(
          kUsageErrorExitCode,
          fmt::format("{}: invalid -D argument '{}': expected key=value, e.g. "
                      "-Dparallelism.default=4\nRun with --help for more information.",
                      app_->get_name(), property));
    }
    overrides.set(std::string(key), property.substr(equals + 1));
  }
  if (parallelism_ > 0) {
    overrides.set(kDefaultParallelism, parallelism_);
  }
  if (!savepointPath_.empty()) overrides.set(kSavepointPath, savepointPath_);
  if (allowNonRestoredState_) overrides.set(kSavepointIgnoreUnclaimedState, true);

  warnAboutUnknownKeys(overrides, "-D");
  Configuration config = loadConfiguration();
  config.addAll(overrides);
  validateKnownOptions(config);
  return config;
}

Configuration CommandLine::parseOrExit(int argc, const char* const* argv) {
  try {
    return parse(argc, argv);
  } catch (const CommandLineError& e) {
    (e.isHelp() ? std::cout : std::cerr) << e.what() << std::endl;
    std::exit(e.exitCode());
  } catch (const ConfigurationException& e) {
    std::cerr << app_->get_name() << ": " << e.what() << std::endl;
    std::exit(1);
  }
}

}  // namespace sluice
