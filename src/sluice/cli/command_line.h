#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/configuration.h"
#include "sluice/core/exceptions.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sluice {

/// Thrown by CommandLine::parse() when the program should stop before running: for `--help`
/// (exitCode() 0, message() is the help text, to print on stdout) and for usage errors such as
/// an unknown flag, a missing or malformed value, an unexpected argument or `-D` without '='
/// (exitCode() 2, message() says what was wrong and points to --help, to print on stderr).
/// A program's main() catches it, prints what(), and returns exitCode().
class CommandLineError : public SluiceException {
 public:
  /// `exitCode` is the process exit status to use; `message` the text to print.
  CommandLineError(int exitCode, const std::string& message)
      : SluiceException(message), exitCode_(exitCode) {}

  /// 0 for --help, 2 for usage errors.
  int exitCode() const noexcept { return exitCode_; }

  /// Whether this is a request for help rather than an error.
  bool isHelp() const noexcept { return exitCode_ == 0; }

 private:
  int exitCode_;
};

/// The common command line of every Sluice program, built on CLI11. Besides the program's own
/// options it understands, as `flink run` does:
///   -D key=value, -Dkey=value   set a configuration entry (repeatable; the value may contain
///                               '=', it is split at the first one)
///   -p N, --parallelism N       set `parallelism.default` (N >= 1); wins over -D
///   -h, --help                  print help
/// These names are reserved; a program adds its own options through addOption()/addFlag() or
/// directly on app() (include <CLI/CLI.hpp> for that).
///
/// Unlike Flink, where `-Dkey` without a value means key=true, a -D argument without '=' is a
/// usage error.
///
/// Not thread-safe; use from the main thread. parse() is meant to be called once.
class CommandLine {
 public:
  /// `programName` appears in the help text; `description` (may be empty) below it.
  explicit CommandLine(const std::string& programName, const std::string& description = "");
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// The underlying CLI11 application, for anything the helpers below do not cover.
  CLI::App& app();

  /// Adds an option taking one string value, e.g. name "--output" or "-o,--output"; `target`
  /// keeps its value if the option is not given. Returns the CLI11 option for further settings
  /// (e.g. ->required()).
  CLI::Option* addOption(const std::string& name, std::string& target,
                         const std::string& description);

  /// Adds a repeatable option taking one value per occurrence (`--input a --input b` appends
  /// "a", "b" to `target`, in order).
  CLI::Option* addOption(const std::string& name, std::vector<std::string>& target,
                         const std::string& description);

  /// Adds an option taking one integer value; a non-integer is a usage error.
  CLI::Option* addOption(const std::string& name, int64_t& target, const std::string& description);

  /// Adds a flag without a value; `target` becomes true when it is given.
  CLI::Option* addFlag(const std::string& name, bool& target, const std::string& description);

  /// Parses the arguments (argv[0] is the program path) and returns loadConfiguration()
  /// overlaid with the -D entries in order (a later -D for the same key wins), then with
  /// `parallelism.default` from -p, and checks it with validateKnownOptions(). The program's own
  /// option targets are filled in.
  /// Throws CommandLineError for --help (exit code 0) and usage errors (exit code 2), and
  /// ConfigurationException for an unreadable configuration file or a malformed value of a
  /// known option (from the file or from -D; the message names the key).
  Configuration parse(int argc, const char* const* argv);

  /// parse(), for a main() that wants nothing else from its command line: on --help prints the
  /// help on stdout and exits the process with 0; on a usage error or a bad configuration prints
  /// the message on stderr and exits with 2 (usage) or 1 (configuration), as CLI11's
  /// CLI11_PARSE does. Returns the configuration otherwise.
  Configuration parseOrExit(int argc, const char* const* argv);

 private:
  std::unique_ptr<CLI::App> app_;
  std::vector<std::string> dynamicProperties_;
  int32_t parallelism_ = 0;
  std::string savepointPath_;
  bool allowNonRestoredState_ = false;
};

}  // namespace sluice
