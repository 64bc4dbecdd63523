#include "sluice/cli/command_line.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sluice/core/config_options.h"
#include "sluice/core/exceptions.h"

#include "sluice/testing/captured_log.h"

namespace sluice {
namespace {

// Points SLUICE_CONF_DIR at a fresh directory holding `configYaml` as config.yaml (and unsets
// SLUICE_DATA_DIR) for the lifetime of the object; restores both afterwards.
class ConfFixture {
 public:
  explicit ConfFixture(const std::string& configYaml) {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-cli-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    std::ofstream(dir_ / "config.yaml") << configYaml;
    save("SLUICE_CONF_DIR", oldConfDir_);
    save("SLUICE_DATA_DIR", oldDataDir_);
    setenv("SLUICE_CONF_DIR", dir_.c_str(), 1);
    unsetenv("SLUICE_DATA_DIR");
  }
  ~ConfFixture() {
    restore("SLUICE_CONF_DIR", oldConfDir_);
    restore("SLUICE_DATA_DIR", oldDataDir_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

 private:
  static void save(const char* name, std::optional<std::string>& slot) {
    if (const char* value = std::getenv(name)) slot = value;
  }
  static void restore(const char* name, const std::optional<std::string>& slot) {
    if (slot) {
      setenv(name, slot->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }

  std::filesystem::path dir_;
  std::optional<std::string> oldConfDir_;
  std::optional<std::string> oldDataDir_;
};

Configuration parseArgs(CommandLine& commandLine, std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  return commandLine.parse(static_cast<int>(argv.size()), argv.data());
}

// The CommandLineError parsing `args` throws; fails the test if it throws none.
std::optional<CommandLineError> commandLineError(CommandLine& commandLine,
                                                 std::vector<std::string> args) {
  try {
    parseArgs(commandLine, std::move(args));
  } catch (const CommandLineError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a CommandLineError";
  return std::nullopt;
}

TEST(CommandLineTest, NoArgumentsGiveFileConfiguration) {
  ConfFixture conf("parallelism.default: 2\npipeline.name: from-file\n");
  CommandLine commandLine("prog");
  const Configuration config = parseArgs(commandLine, {});
  EXPECT_EQ(config.get(kDefaultParallelism), 2);
  EXPECT_EQ(config.get(kPipelineName), "from-file");
}

TEST(CommandLineTest, DynamicPropertiesInBothForms) {
  ConfFixture conf("pipeline.name: from-file\n");
  CommandLine commandLine("prog");
  const Configuration config =
      parseArgs(commandLine, {"-Dpipeline.name=job one", "-D", "execution.buffer-timeout=10ms",
                              "-Dmy.key=a=b", "-Dmy.empty="});
  EXPECT_EQ(config.getString("pipeline.name"), "job one");  // -D overrides the file
  EXPECT_EQ(config.get(kBufferTimeout).millis, 10);
  EXPECT_EQ(config.getString("my.key"), "a=b");  // split at the first '='
  EXPECT_EQ(config.getString("my.empty"), "");
}

TEST(CommandLineTest, LaterDynamicPropertyWins) {
  ConfFixture conf("");
  CommandLine commandLine("prog");
  const Configuration config =
      parseArgs(commandLine, {"-Dparallelism.default=3", "-D", "parallelism.default=7"});
  EXPECT_EQ(config.get(kDefaultParallelism), 7);
}

TEST(CommandLineTest, ParallelismFlagWinsOverDynamicPropertyAndFile) {
  ConfFixture conf("parallelism:\n  default: 2\n");
  {
    CommandLine commandLine("prog");
    const Configuration config = parseArgs(commandLine, {"-p", "5", "-Dparallelism.default=3"});
    EXPECT_EQ(config.get(kDefaultParallelism), 5);
  }
  {
    CommandLine commandLine("prog");
    EXPECT_EQ(parseArgs(commandLine, {"--parallelism", "6"}).get(kDefaultParallelism), 6);
  }
  {
    CommandLine commandLine("prog");
    EXPECT_EQ(parseArgs(commandLine, {"-Dparallelism.default=3"}).get(kDefaultParallelism), 3);
  }
}

TEST(CommandLineTest, RepeatableProgramOptions) {
  ConfFixture conf("");
  CommandLine commandLine("prog");
  std::vector<std::string> inputs;
  std::string output = "default-out";
  int64_t limit = -1;
  bool verbose = false;
  commandLine.addOption("--input", inputs, "input file (repeatable)");
  commandLine.addOption("-o,--output", output, "output file");
  commandLine.addOption("--limit", limit, "record limit");
  commandLine.addFlag("-v,--verbose", verbose, "log more");
  parseArgs(commandLine, {"--input", "a.csv", "--input", "b.csv", "--input=c.csv", "-o", "out.txt",
                          "--limit", "12", "-v"});
  EXPECT_EQ(inputs, (std::vector<std::string>{"a.csv", "b.csv", "c.csv"}));
  EXPECT_EQ(output, "out.txt");
  EXPECT_EQ(limit, 12);
  EXPECT_TRUE(verbose);
}

TEST(CommandLineTest, UnsetProgramOptionsKeepTheirValues) {
  ConfFixture conf("");
  CommandLine commandLine("prog");
  std::vector<std::string> inputs;
  std::string output = "default-out";
  bool verbose = false;
  commandLine.addOption("--input", inputs, "input file (repeatable)");
  commandLine.addOption("--output", output, "output file");
  commandLine.addFlag("--verbose", verbose, "log more");
  parseArgs(commandLine, {});
  EXPECT_TRUE(inputs.empty());
  EXPECT_EQ(output, "default-out");
  EXPECT_FALSE(verbose);
}

TEST(CommandLineTest, HelpIsSignalledWithExitCodeZero) {
  ConfFixture conf("");
  CommandLine commandLine("wordcount", "Counts words.");
  std::vector<std::string> inputs;
  commandLine.addOption("--input", inputs, "input file (repeatable)");
  for (const char* flag : {"--help", "-h"}) {
    const std::optional<CommandLineError> error = commandLineError(commandLine, {flag});
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->exitCode(), 0);
    EXPECT_TRUE(error->isHelp());
    const std::string help = error->what();
    EXPECT_NE(help.find("Counts words."), std::string::npos) << help;
    EXPECT_NE(help.find("--input"), std::string::npos) << help;
    EXPECT_NE(help.find("--parallelism"), std::string::npos) << help;
    EXPECT_NE(help.find("-D"), std::string::npos) << help;
    EXPECT_NE(help.find("SLUICE_CONF_DIR"), std::string::npos) << help;
  }
}

TEST(CommandLineTest, UsageErrorsHaveExitCodeTwo) {
  ConfFixture conf("");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "--bogus"},
      {{"-p"}, "parallelism"},
      {{"-p", "0"}, "0"},
      {{"-p", "abc"}, "abc"},
      {{"-D"}, "-D"},
      {{"-Dno-equals-sign"}, "invalid -D argument 'no-equals-sign': expected key=value"},
      {{"-D=value"}, "invalid -D argument '=value'"},
      {{"--input", "a", "b"}, "b"},
      {{"stray"}, "stray"},
  };
  for (const auto& [args, expectedText] : cases) {
    CommandLine commandLine("prog");
    std::vector<std::string> inputs;
    commandLine.addOption("--input", inputs, "input file (repeatable)");
    const std::optional<CommandLineError> error = commandLineError(commandLine, args);
    ASSERT_TRUE(error.has_value()) << args.front();
    EXPECT_EQ(error->exitCode(), 2) << args.front();
    EXPECT_FALSE(error->isHelp());
    const std::string message = error->what();
    EXPECT_NE(message.find(expectedText), std::string::npos) << message;
    EXPECT_NE(message.find("--help"), std::string::npos) << message;
  }
}

TEST(CommandLineTest, MalformedKnownOptionIsAConfigurationError) {
  ConfFixture conf("");
  CommandLine commandLine("prog");
  try {
    parseArgs(commandLine, {"-Dparallelism.default=abc"});
    FAIL() << "expected a ConfigurationException";
  } catch (const ConfigurationException& e) {
    EXPECT_STREQ(e.what(),
                 "Could not parse value 'abc' for key 'parallelism.default': expected an integer");
  }
}

TEST(CommandLineTest, MalformedValueInFileFailsAtStart) {
  ConfFixture conf("execution:\n  runtime-mode: sideways\n");
  CommandLine commandLine("prog");
  try {
    parseArgs(commandLine, {});
    FAIL() << "expected a ConfigurationException";
  } catch (const ConfigurationException& e) {
    EXPECT_STREQ(e.what(),
                 "Invalid value 'sideways' for key 'execution.runtime-mode': must be one of "
                 "STREAMING, BATCH, AUTOMATIC");
  }
  // -D can repair it.
  CommandLine repaired("prog");
  EXPECT_EQ(parseArgs(repaired, {"-Dexecution.runtime-mode=BATCH"}).get(kRuntimeMode), "BATCH");
}

TEST(CommandLineTest, MisspelledDynamicPropertyWarnsWithTheClosestKey) {
  ConfFixture conf("");
  sluice::testing::CapturedLog log;
  CommandLine cli("prog");
  Configuration config = parseArgs(cli, {"-Dexecution.checkpointing.intervall=200ms"});
  EXPECT_EQ(config.getString("execution.checkpointing.intervall"), "200ms");  // kept, unused
  EXPECT_NE(log.text().find("Unknown configuration key 'execution.checkpointing.intervall' in -D; "
                            "it is ignored. Did you mean 'execution.checkpointing.interval'?"),
            std::string::npos)
      << log.text();
}

}  // namespace
}  // namespace sluice
