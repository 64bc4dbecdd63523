#include "sluice/core/configuration.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "sluice/core/config_options.h"
#include "sluice/core/duration.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/global_configuration.h"
#include "sluice/core/memory_size.h"

#include "sluice/testing/captured_log.h"

namespace sluice {
namespace {

using sluice::testing::CapturedLog;

// The message of the ConfigurationException `fn` throws; fails the test if it throws nothing.
template <class Fn>
std::string configurationError(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigurationException& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigurationException";
  return "";
}

// Sets (or, with std::nullopt, unsets) an environment variable and restores it on destruction.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-conf-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  std::filesystem::path path_;
};

size_t countOccurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Durations

struct DurationCase {
  const char* text;
  int64_t millis;
};

TEST(DurationTest, ParsesFlinkSpellings) {
  const std::vector<DurationCase> cases = {
      {"0", 0},
      {"123", 123},
      {"123ms", 123},
      {"123 ms", 123},
      {"1 milli", 1},
      {"2 millis", 2},
      {"3 millisecond", 3},
      {"4 milliseconds", 4},
      {"1s", 1'000},
      {"2 sec", 2'000},
      {"3 secs", 3'000},
      {"4 second", 4'000},
      {"5 seconds", 5'000},
      {"1min", 60'000},
      {"2 m", 120'000},
      {"3 minute", 180'000},
      {"4 minutes", 240'000},
      {"1h", 3'600'000},
      {"2 hour", 7'200'000},
      {"3 hours", 10'800'000},
      {"1d", 86'400'000},
      {"2 day", 172'800'000},
      {"3 days", 259'200'000},
      {"1500us", 1},
      {"2500 \u00b5s", 2},
      {"3000 micro", 3},
      {"4000 micros", 4},
      {"5000 microseconds", 5},
      {"2000000ns", 2},
      {"3000000 nano", 3},
      {"4999999 nanoseconds", 4},
      {"  10  S  ", 10'000},
      {"1 MIN", 60'000},
      {"7 Ms", 7},
      {"-1", -1},
      {"-1 ms", -1},
      {"-2 s", -2'000},
      {"+5s", 5'000},
      {"200000 days", 17'280'000'000'000},
  };
  for (const DurationCase& c : cases) {
    EXPECT_EQ(parseDurationMillis(c.text), c.millis) << "text: '" << c.text << "'";
  }
}

TEST(DurationTest, ParsesToNanoseconds) {
  EXPECT_EQ(parseDuration("1 us"), std::chrono::nanoseconds(1'000));
  EXPECT_EQ(parseDuration("7ns"), std::chrono::nanoseconds(7));
  EXPECT_EQ(parseDuration("250"), std::chrono::nanoseconds(250'000'000));
  EXPECT_EQ(parseDuration("1 d"), std::chrono::nanoseconds(86'400'000'000'000));
  EXPECT_EQ(parseDuration("-3 ms"), std::chrono::nanoseconds(-3'000'000));
}

TEST(DurationTest, RejectsMalformedText) {
  for (const char* text : {"", "   ", "abc", "ms", "1.5 s", "1 2 s", "- 1", "1 fortnight", "s1",
                           "99999999999999999999", "0x10"}) {
    EXPECT_THROW(parseDurationMillis(text), ConfigurationException) << "text: '" << text << "'";
  }
  // Fits in milliseconds but not in nanoseconds.
  EXPECT_THROW(parseDuration("200000 days"), ConfigurationException);
  EXPECT_THROW(parseDurationMillis("9223372036854775807 d"), ConfigurationException);
}

TEST(DurationTest, ErrorQuotesTextAndListsUnits) {
  const std::string message = configurationError([] { parseDurationMillis("10 parsecs"); });
  EXPECT_NE(message.find("Could not parse duration '10 parsecs'"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown time unit 'parsecs'"), std::string::npos) << message;
  EXPECT_NE(message.find("ms|milli|millis|millisecond|milliseconds"), std::string::npos) << message;
  EXPECT_NE(message.find("min|m|minute|minutes"), std::string::npos) << message;
}

TEST(DurationTest, FormatsWithLargestExactUnit) {
  EXPECT_EQ(formatDuration(0), "0 ms");
  EXPECT_EQ(formatDuration(100), "100 ms");
  EXPECT_EQ(formatDuration(1'000), "1 s");
  EXPECT_EQ(formatDuration(1'500), "1500 ms");
  EXPECT_EQ(formatDuration(60'000), "1 min");
  EXPECT_EQ(formatDuration(3'601'000), "3601 s");
  EXPECT_EQ(formatDuration(7'200'000), "2 h");
  EXPECT_EQ(formatDuration(86'400'000), "1 d");
  EXPECT_EQ(formatDuration(-1), "-1 ms");
  EXPECT_EQ(formatDuration(-60'000), "-1 min");
  for (int64_t millis : {0L, 1L, -1L, 999L, 1'000L, 61'000L, 3'600'000L, 90'000'000L}) {
    EXPECT_EQ(parseDurationMillis(formatDuration(millis)), millis);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory sizes

struct MemoryCase {
  const char* text;
  int64_t bytes;
};

TEST(MemorySizeTest, ParsesFlinkSpellings) {
  constexpr int64_t kKb = 1024;
  const std::vector<MemoryCase> cases = {
      {"0", 0},
      {"1234", 1234},
      {"1b", 1},
      {"12 bytes", 12},
      {"1k", kKb},
      {"2kb", 2 * kKb},
      {"3 kibibytes", 3 * kKb},
      {"32 kb", 32 * kKb},
      {"1m", kKb * kKb},
      {"2 mb", 2 * kKb * kKb},
      {"3 mebibytes", 3 * kKb * kKb},
      {"1g", kKb * kKb * kKb},
      {"2gb", 2 * kKb * kKb * kKb},
      {"3 gibibytes", 3 * kKb * kKb * kKb},
      {"1t", kKb * kKb * kKb * kKb},
      {"2 tb", 2 * kKb * kKb * kKb * kKb},
      {"3 tebibytes", 3 * kKb * kKb * kKb * kKb},
      {"64 MB", 64 * kKb * kKb},
      {"  8 KB  ", 8 * kKb},
  };
  for (const MemoryCase& c : cases) {
    EXPECT_EQ(parseMemorySizeBytes(c.text), c.bytes) << "text: '" << c.text << "'";
  }
}

TEST(MemorySizeTest, RejectsMalformedText) {
  for (const char* text : {"", "  ", "-1", "-1 kb", "1.5mb", "1 kib", "abc", "mb", "8 eb",
                           "9999999 tb", "99999999999999999999"}) {
    EXPECT_THROW(parseMemorySizeBytes(text), ConfigurationException) << "text: '" << text << "'";
  }
  const std::string message = configurationError([] { parseMemorySizeBytes("8 eb"); });
  EXPECT_NE(message.find("Could not parse memory size '8 eb'"), std::string::npos) << message;
  EXPECT_NE(message.find("k|kb|kibibytes"), std::string::npos) << message;
}

TEST(MemorySizeTest, FormatsWithLargestExactUnit) {
  EXPECT_EQ(formatMemorySize(0), "0 bytes");
  EXPECT_EQ(formatMemorySize(1536), "1536 bytes");
  EXPECT_EQ(formatMemorySize(32768), "32 kb");
  EXPECT_EQ(formatMemorySize(int64_t{1} << 20), "1 mb");
  EXPECT_EQ(formatMemorySize(int64_t{3} << 30), "3 gb");
  EXPECT_EQ(formatMemorySize(int64_t{1} << 40), "1 tb");
  for (int64_t bytes : {int64_t{0}, int64_t{7}, int64_t{4096}, int64_t{5} << 30}) {
    EXPECT_EQ(parseMemorySizeBytes(formatMemorySize(bytes)), bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration and options

TEST(ConfigurationTest, DefaultsMatchFlink) {
  const Configuration config;
  EXPECT_EQ(config.get(kDefaultParallelism), 1);
  EXPECT_EQ(config.get(kMaxParallelism), -1);
  EXPECT_EQ(config.get(kBufferTimeout), DurationMs{100});
  EXPECT_TRUE(config.get(kBufferTimeoutEnabled));
  EXPECT_EQ(config.get(kMemorySegmentSize), MemorySize{32 * 1024});
  EXPECT_EQ(config.get(kNetworkBuffersPerChannel), 2);
  EXPECT_EQ(config.get(kNetworkFloatingBuffersPerGate), 8);
  EXPECT_EQ(config.get(kAutoWatermarkInterval), DurationMs{200});
  EXPECT_FALSE(config.get(kObjectReuse));
  EXPECT_EQ(config.get(kRuntimeMode), "STREAMING");
  EXPECT_EQ(config.get(kPipelineName), "");
  EXPECT_EQ(config.get(kDataDir), "../shared/data");
  EXPECT_EQ(effectiveBufferTimeoutMillis(config), 100);
  EXPECT_EQ(kBufferTimeout.defaultValueString(), "100 ms");
  EXPECT_EQ(kMemorySegmentSize.defaultValueString(), "32 kb");
}

TEST(ConfigurationTest, ReadsTypedValues) {
  Configuration config;
  config.set("parallelism.default", " 4 ");
  config.set("pipeline.object-reuse", "TRUE");
  config.set("execution.buffer-timeout", "1 min");
  config.set("taskmanager.memory.segment-size", "64kb");
  config.set("execution.runtime-mode", "batch");
  config.set("pipeline.name", "word count");
  EXPECT_EQ(config.get(kDefaultParallelism), 4);
  EXPECT_TRUE(config.get(kObjectReuse));
  EXPECT_EQ(config.get(kBufferTimeout).millis, 60'000);
  EXPECT_EQ(config.get(kMemorySegmentSize).bytes, 65'536);
  EXPECT_EQ(config.get(kRuntimeMode), "batch");
  EXPECT_EQ(config.get(kPipelineName), "word count");

  const ConfigOption<double> ratio("test.ratio", 0.5, "a ratio");
  const ConfigOption<int64_t> big("test.big", 0, "a big number");
  config.set("test.ratio", "0.75");
  config.set("test.big", "+9000000000");
  EXPECT_DOUBLE_EQ(config.get(ratio), 0.75);
  EXPECT_EQ(config.get(big), 9'000'000'000);
}

TEST(ConfigurationTest, MalformedValueNamesKeyValueAndType) {
  Configuration config;
  config.set("parallelism.default", "abc");
  EXPECT_EQ(configurationError([&] { config.get(kDefaultParallelism); }),
            "Could not parse value 'abc' for key 'parallelism.default': expected an integer");

  config.set("parallelism.default", "3000000000");
  EXPECT_EQ(configurationError([&] { config.get(kDefaultParallelism); }),
            "Could not parse value '3000000000' for key 'parallelism.default': expected an "
            "integer between -2147483648 and 2147483647");

  config.set("pipeline.object-reuse", "yes");
  EXPECT_EQ(configurationError([&] { config.get(kObjectReuse); }),
            "Could not parse value 'yes' for key 'pipeline.object-reuse': expected a boolean "
            "(true or false)");

  config.set("pipeline.auto-watermark-interval", "5 parsecs");
  const std::string durationMessage =
      configurationError([&] { config.get(kAutoWatermarkInterval); });
  EXPECT_EQ(
      durationMessage.rfind(
          "Could not parse value '5 parsecs' for key "
          "'pipeline.auto-watermark-interval': expected a duration: unknown time unit 'parsecs'. ",
          0),
      0u)
      << durationMessage;
  EXPECT_NE(durationMessage.find("unknown time unit 'parsecs'"), std::string::npos);

  config.set("taskmanager.memory.segment-size", "lots");
  EXPECT_EQ(
      configurationError([&] { config.get(kMemorySegmentSize); })
          .rfind("Could not parse value 'lots' for key 'taskmanager.memory.segment-size': "
                 "expected a memory size: it does not start with an integer. Accepted units: ",
                 0),
      0u);

  const ConfigOption<double> ratio("test.ratio", 0.5, "a ratio");
  config.set("test.ratio", "half");
  EXPECT_EQ(configurationError([&] { config.get(ratio); }),
            "Could not parse value 'half' for key 'test.ratio': expected a number");
}

TEST(ConfigurationTest, ValidatorsRejectOutOfRangeValues) {
  Configuration config;
  config.set("parallelism.default", "0");
  EXPECT_EQ(configurationError([&] { config.get(kDefaultParallelism); }),
            "Invalid value '0' for key 'parallelism.default': must be at least 1");

  config.set("execution.buffer-timeout", "-1");
  EXPECT_EQ(config.get(kBufferTimeout).millis, -1);
  config.set("execution.buffer-timeout", "-2 ms");
  EXPECT_THROW(config.get(kBufferTimeout), ConfigurationException);

  config.set("pipeline.auto-watermark-interval", "-1");
  EXPECT_THROW(config.get(kAutoWatermarkInterval), ConfigurationException);

  config.set("taskmanager.memory.segment-size", "64 bytes");
  EXPECT_EQ(config.get(kMemorySegmentSize).bytes, 64);
  config.set("taskmanager.memory.segment-size", "63");
  EXPECT_EQ(configurationError([&] { config.get(kMemorySegmentSize); }),
            "Invalid value '63' for key 'taskmanager.memory.segment-size': must be between 64 "
            "bytes and 1 gb");
  config.set("taskmanager.memory.segment-size", "2 gb");
  EXPECT_THROW(config.get(kMemorySegmentSize), ConfigurationException);

  config.set("pipeline.max-parallelism", "0");
  EXPECT_THROW(config.get(kMaxParallelism), ConfigurationException);
  config.set("pipeline.max-parallelism", "32769");
  EXPECT_THROW(config.get(kMaxParallelism), ConfigurationException);
  config.set("pipeline.max-parallelism", "32768");
  EXPECT_EQ(config.get(kMaxParallelism), 32768);

  config.set("execution.runtime-mode", "micro-batch");
  EXPECT_EQ(configurationError([&] { config.get(kRuntimeMode); }),
            "Invalid value 'micro-batch' for key 'execution.runtime-mode': must be one of "
            "STREAMING, BATCH, AUTOMATIC");
}

TEST(ConfigurationTest, BufferTimeoutAcceptsFlink119Keys) {
  Configuration config;
  config.set("execution.buffer-timeout.interval", "10 ms");
  EXPECT_TRUE(config.contains(kBufferTimeout));
  EXPECT_EQ(config.get(kBufferTimeout).millis, 10);
  config.set("execution.buffer-timeout", "20 ms");
  EXPECT_EQ(config.get(kBufferTimeout).millis, 20);  // the primary key wins
  EXPECT_EQ(effectiveBufferTimeoutMillis(config), 20);
  config.set("execution.buffer-timeout.enabled", "false");
  EXPECT_EQ(effectiveBufferTimeoutMillis(config), -1);

  config.remove("execution.buffer-timeout");
  config.set("execution.buffer-timeout.interval", "bad");
  EXPECT_EQ(configurationError([&] {
              config.get(kBufferTimeout);
            }).rfind("Could not parse value 'bad' for key 'execution.buffer-timeout.interval'", 0),
            0u);
}

TEST(ConfigurationTest, SetGetContainsRemoveAddAll) {
  Configuration config;
  EXPECT_TRUE(config.empty());
  config.set("b.key", "1");
  config.set("a.key", "2");
  config.set(kBufferTimeout, DurationMs{60'000});
  config.set(kMemorySegmentSize, MemorySize{65'536});
  config.set(kDefaultParallelism, 3);
  EXPECT_EQ(config.getString("execution.buffer-timeout"), "1 min");
  EXPECT_EQ(config.getString("taskmanager.memory.segment-size"), "64 kb");
  EXPECT_EQ(config.getString("parallelism.default"), "3");
  EXPECT_EQ(config.getString("missing"), std::nullopt);
  EXPECT_EQ(config.getString("missing", "fallback"), "fallback");
  EXPECT_EQ(config.getOptional(kObjectReuse), std::nullopt);
  EXPECT_EQ(config.getOptional(kDefaultParallelism), 3);
  EXPECT_TRUE(config.contains("a.key"));
  EXPECT_TRUE(config.remove("a.key"));
  EXPECT_FALSE(config.remove("a.key"));
  EXPECT_FALSE(config.contains("a.key"));

  Configuration other;
  other.set("b.key", "override");
  other.set("c.key", "new");
  config.addAll(other);
  const Configuration::Map expected = {
      {"b.key", "override"},
      {"c.key", "new"},
      {"execution.buffer-timeout", "1 min"},
      {"parallelism.default", "3"},
      {"taskmanager.memory.segment-size", "64 kb"},
  };
  EXPECT_EQ(config.toMap(), expected);
  EXPECT_EQ(config.size(), 5u);
}

TEST(ConfigurationTest, ListValuesRoundTrip) {
  const std::vector<std::string> elements = {"a", "b;c", "it's", "", " padded "};
  const std::string joined = joinListValue(elements);
  EXPECT_EQ(joined, "a;'b;c';'it''s';'';' padded '");
  EXPECT_EQ(splitListValue(joined), elements);
  EXPECT_EQ(splitListValue("x; y ;z"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(splitListValue("\"a;b\";c"), (std::vector<std::string>{"a;b", "c"}));
  EXPECT_TRUE(splitListValue("  ").empty());
  EXPECT_THROW(splitListValue("'open;b"), ConfigurationException);
  EXPECT_THROW(splitListValue("'a'b;c"), ConfigurationException);
}

TEST(ConfigOptionsTest, RegistryAndKnownKeys) {
  std::vector<std::string> keys;
  for (const ConfigOptionBase* option : knownOptions()) keys.push_back(option->key());
  const std::vector<std::string> expected = {
      "parallelism.default",
      "pipeline.max-parallelism",
      "execution.buffer-timeout",
      "execution.buffer-timeout.enabled",
      "taskmanager.memory.segment-size",
      "taskmanager.network.memory.buffers-per-channel",
      "taskmanager.network.memory.floating-buffers-per-gate",
      "pipeline.auto-watermark-interval",
      "pipeline.object-reuse",
      "execution.runtime-mode",
      "execution.target",
      "pipeline.name",
      "sluice.data-dir",
      "execution.checkpointing.interval",
      "execution.checkpointing.mode",
      "execution.checkpointing.timeout",
      "execution.checkpointing.min-pause",
      "execution.checkpointing.max-concurrent-checkpoints",
      "execution.checkpointing.tolerable-failed-checkpoints",
      "execution.checkpointing.unaligned.enabled",
      "execution.checkpointing.aligned-checkpoint-timeout",
      "execution.checkpointing.externalized-checkpoint-retention",
      "execution.checkpointing.num-retained",
      "execution.checkpointing.dir",
      "execution.checkpointing.savepoint-dir",
      "execution.savepoint.path",
      "execution.savepoint.ignore-unclaimed-state",
      "restart-strategy.type",
      "restart-strategy.fixed-delay.attempts",
      "restart-strategy.fixed-delay.delay",
      "restart-strategy.failure-rate.max-failures-per-interval",
      "restart-strategy.failure-rate.failure-rate-interval",
      "restart-strategy.failure-rate.delay",
      "restart-strategy.exponential-delay.initial-backoff",
      "restart-strategy.exponential-delay.max-backoff",
      "restart-strategy.exponential-delay.backoff-multiplier",
      "restart-strategy.exponential-delay.reset-backoff-threshold",
      "restart-strategy.exponential-delay.jitter-factor",
      "restart-strategy.exponential-delay.attempts-before-reset-backoff",
  };
  EXPECT_EQ(keys, expected);
  EXPECT_TRUE(isKnownKey("state.checkpoints.dir"));
  EXPECT_TRUE(isKnownKey("savepoints.state.backend.fs.dir"));

  EXPECT_TRUE(isKnownKey("parallelism.default"));
  EXPECT_TRUE(isKnownKey("execution.buffer-timeout.interval"));
  EXPECT_TRUE(isKnownKey("state.backend.type"));
  EXPECT_TRUE(isKnownKey("execution.checkpointing.interval"));
  EXPECT_TRUE(isKnownKey("restart-strategy.type"));
  EXPECT_TRUE(isKnownKey("sql-client.execution.result-mode"));
  EXPECT_FALSE(isKnownKey("paralelism.default"));
  EXPECT_FALSE(isKnownKey("pipeline.unknown"));
  EXPECT_FALSE(isKnownKey("state"));
}

TEST(ConfigOptionsTest, DefaultsWrittenAsTextValidate) {
  Configuration config;
  for (const ConfigOptionBase* option : knownOptions()) {
    config.set(option->key(), option->defaultValueString());
  }
  EXPECT_NO_THROW(validateKnownOptions(config));
  EXPECT_EQ(config.get(kBufferTimeout), DurationMs{100});
  EXPECT_EQ(config.get(kMemorySegmentSize), MemorySize{32 * 1024});
}

// ---------------------------------------------------------------------------------------------
// YAML configuration files

TEST(ConfigYamlTest, FlattensNestedMapsAndLists) {
  const std::string yaml = R"(# Sluice configuration
parallelism:
  default: 4
pipeline.object-reuse: true
pipeline:
  name: "word count"
execution:
  buffer-timeout:
    interval: 10 ms
taskmanager.memory.segment-size: 64 kb
user.paths:
  - /a
  - b;c
  - 3
user.empty:
user.quoted: ''
)";
  CapturedLog log;
  const Configuration config = parseYamlConfiguration(yaml, "test.yaml");
  const Configuration::Map expected = {
      {"execution.buffer-timeout.interval", "10 ms"},
      {"parallelism.default", "4"},
      {"pipeline.name", "word count"},
      {"pipeline.object-reuse", "true"},
      {"taskmanager.memory.segment-size", "64 kb"},
      {"user.paths", "/a;'b;c';3"},
      {"user.quoted", ""},
  };
  EXPECT_EQ(config.toMap(), expected);
  EXPECT_EQ(config.get(kDefaultParallelism), 4);
  EXPECT_EQ(config.get(kBufferTimeout).millis, 10);
  EXPECT_EQ(splitListValue(*config.getString("user.paths")),
            (std::vector<std::string>{"/a", "b;c", "3"}));
}

TEST(ConfigYamlTest, UnknownKeysWarnOnceEachAndAreKept) {
  CapturedLog log;
  const Configuration config = parseYamlConfiguration(
      "parallelism.default: 2\nmy.setting: 1\nstate.backend.type: hashmap\nother:\n  key: x\n",
      "conf/config.yaml");
  EXPECT_EQ(config.getString("my.setting"), "1");
  const std::string text = log.text();
  EXPECT_EQ(countOccurrences(text, "Unknown configuration key"), 2u) << text;
  EXPECT_NE(text.find("warning Unknown configuration key 'my.setting' in conf/config.yaml; it is "
                      "ignored"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Unknown configuration key 'other.key' in conf/config.yaml"),
            std::string::npos)
      << text;
}

TEST(ConfigYamlTest, MisspelledKeysNameTheClosestKnownKey) {
  CapturedLog log;
  parseYamlConfiguration(
      "execution.checkpointing.intervall: 200ms\nparalellism.default: 2\n"
      "state.backend.type: rocksdb\nexecution.checkpointing.snapshot-compression: true\n",
      "conf/config.yaml");
  const std::string text = log.text();
  // Keys under reserved prefixes far from every known key stay silent (Flink has many).
  EXPECT_EQ(countOccurrences(text, "Unknown configuration key"), 2u) << text;
  EXPECT_NE(text.find("Unknown configuration key 'execution.checkpointing.intervall' in "
                      "conf/config.yaml; it is ignored. Did you mean "
                      "'execution.checkpointing.interval'?"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("'paralellism.default' in conf/config.yaml; it is ignored. Did you mean "
                      "'parallelism.default'?"),
            std::string::npos)
      << text;
}

TEST(ConfigOptionsTest, ClosestKnownKeyCountsEditsAndSwaps) {
  EXPECT_EQ(closestKnownKey("parallelism.defualt", 1), "parallelism.default");  // a swap
  EXPECT_EQ(closestKnownKey("parallelism.default", 0), "parallelism.default");
  EXPECT_EQ(closestKnownKey("paralelism.defaul", 1), "");  // two edits away
  EXPECT_EQ(closestKnownKey("paralelism.defaul", 2), "parallelism.default");
  EXPECT_EQ(closestKnownKey("no.such.thing", 3), "");
}

TEST(ConfigYamlTest, RejectsDuplicateKeysAcrossSpellings) {
  const std::string message = configurationError([] {
    parseYamlConfiguration("parallelism.default: 2\nparallelism:\n  default: 3\n", "dup.yaml");
  });
  EXPECT_EQ(message.rfind("Duplicate configuration key 'parallelism.default' in dup.yaml at line 3 "
                          "(first given at line 1)",
                          0),
            0u)
      << message;
}

TEST(ConfigYamlTest, SyntaxErrorsNameFileAndLine) {
  const std::string message = configurationError(
      [] { parseYamlConfiguration("a: 1\nb: [1, 2\nc: 3\n", "/etc/sluice/config.yaml"); });
  EXPECT_EQ(message.rfind("Invalid YAML in /etc/sluice/config.yaml at line ", 0), 0u) << message;

  const std::string topLevel =
      configurationError([] { parseYamlConfiguration("- a\n- b\n", "list.yaml"); });
  EXPECT_NE(topLevel.find("list.yaml"), std::string::npos) << topLevel;
  EXPECT_NE(topLevel.find("top level must be a map"), std::string::npos) << topLevel;
}

TEST(ConfigYamlTest, EmptyOrCommentOnlyTextIsEmpty) {
  EXPECT_TRUE(parseYamlConfiguration("", "x").empty());
  EXPECT_TRUE(parseYamlConfiguration("# parallelism:\n#   default: 1\n", "x").empty());
}

TEST(ConfigYamlTest, LoadsFromSluiceConfDir) {
  TempDir dir;
  dir.write("config.yaml",
            "parallelism:\n  default: 6\nsluice:\n  data-dir: /from/file\npipeline.name: job\n");
  ScopedEnv confDir("SLUICE_CONF_DIR", dir.path().string());
  {
    ScopedEnv dataDir("SLUICE_DATA_DIR", std::nullopt);
    const Configuration config = loadConfiguration();
    EXPECT_EQ(config.get(kDefaultParallelism), 6);
    EXPECT_EQ(config.get(kPipelineName), "job");
    EXPECT_EQ(config.get(kDataDir), "/from/file");
  }
  {
    ScopedEnv dataDir("SLUICE_DATA_DIR", "/from/env");
    EXPECT_EQ(loadConfiguration().get(kDataDir), "/from/env");
  }
}

TEST(ConfigYamlTest, MissingFileInExplicitDirIsAnError) {
  TempDir dir;
  ScopedEnv confDir("SLUICE_CONF_DIR", dir.path().string());
  const std::string message = configurationError([] { loadConfiguration(); });
  EXPECT_NE(message.find((dir.path() / "config.yaml").string()), std::string::npos) << message;
  EXPECT_NE(message.find("SLUICE_CONF_DIR"), std::string::npos) << message;
}

TEST(ConfigYamlTest, MissingFileInDefaultDirIsEmpty) {
  TempDir dir;
  ScopedEnv confDir("SLUICE_CONF_DIR", std::nullopt);
  ScopedEnv dataDir("SLUICE_DATA_DIR", std::nullopt);
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  Configuration config;
  EXPECT_NO_THROW(config = loadConfiguration());
  std::filesystem::current_path(previous);
  EXPECT_TRUE(config.empty());
}

TEST(ConfigYamlTest, DefaultDirIsConfUnderWorkingDirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "conf");
  dir.write("conf/config.yaml", "pipeline.object-reuse: true\n");
  ScopedEnv confDir("SLUICE_CONF_DIR", std::nullopt);
  ScopedEnv dataDir("SLUICE_DATA_DIR", std::nullopt);
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  Configuration config;
  EXPECT_NO_THROW(config = loadConfiguration());
  std::filesystem::current_path(previous);
  EXPECT_TRUE(config.get(kObjectReuse));
}

TEST(ConfigYamlTest, ValuesAreValidatedLazilyOrByValidateKnownOptions) {
  TempDir dir;
  dir.write("config.yaml", "parallelism:\n  default: abc\nmy.own.key: whatever\n");
  ScopedEnv confDir("SLUICE_CONF_DIR", dir.path().string());
  CapturedLog log;
  Configuration config;
  ASSERT_NO_THROW(config = loadConfiguration());
  EXPECT_EQ(configurationError([&] { validateKnownOptions(config); }),
            "Could not parse value 'abc' for key 'parallelism.default': expected an integer");
  config.set("parallelism.default", "2");
  EXPECT_NO_THROW(validateKnownOptions(config));
}

TEST(ConfigYamlTest, ShippedConfigFileLoadsWithoutWarnings) {
  CapturedLog log;
  const Configuration config =
      loadConfigurationFile(std::filesystem::path(SLUICE_SOURCE_DIR) / "conf" / "config.yaml");
  EXPECT_NO_THROW(validateKnownOptions(config));
  EXPECT_EQ(log.text(), "");
  EXPECT_EQ(config.get(kDefaultParallelism), 1);
  EXPECT_EQ(config.get(kBufferTimeout).millis, 100);
}

}  // namespace
}  // namespace sluice
