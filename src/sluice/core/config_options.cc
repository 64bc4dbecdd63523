#include "sluice/core/config_options.h"

#include <algorithm>
#include <initializer_list>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sluice/core/strings.h"

namespace sluice {
namespace {

std::string atLeastOne(const int32_t& value) {
  return value >= 1 ? std::string() : "must be at least 1";
}

std::string nonNegative(const int32_t& value) {
  return value >= 0 ? std::string() : "must not be negative";
}

constexpr int32_t kUpperBoundMaxParallelism = 1 << 15;  // Flink's UPPER_BOUND_MAX_PARALLELISM

std::string validMaxParallelism(const int32_t& value) {
  if (value == -1 || (value >= 1 && value <= kUpperBoundMaxParallelism)) return {};
  return fmt::format("must be -1 (derive from the parallelism) or between 1 and {}",
                     kUpperBoundMaxParallelism);
}

std::string validBufferTimeout(const DurationMs& value) {
  return value.millis >= -1 ? std::string()
                            : "must be -1 (flush only when full), 0 (flush every record) or "
                              "a positive duration";
}

std::string nonNegativeDuration(const DurationMs& value) {
  return value.millis >= 0 ? std::string() : "must not be negative";
}

// Flink requires a power of two of at least 4 kb (its minimum page size); Sluice allows small
// segments so tests can make records span buffers. Same bounds as the environment checks.
constexpr int64_t kMinSegmentSize = 64;
constexpr int64_t kMaxSegmentSize = int64_t{1} << 30;

std::string validSegmentSize(const MemorySize& value) {
  return value.bytes >= kMinSegmentSize && value.bytes <= kMaxSegmentSize
             ? std::string()
             : "must be between 64 bytes and 1 gb";
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

std::string validRuntimeMode(const std::string& value) {
  for (std::string_view mode : {"STREAMING", "BATCH", "AUTOMATIC"}) {
    if (equalsIgnoreCase(value, mode)) return {};
  }
  return "must be one of STREAMING, BATCH, AUTOMATIC";
}

// CheckpointCoordinatorConfiguration.MINIMAL_CHECKPOINT_TIME in Flink.
constexpr int64_t kMinimalCheckpointTimeMs = 10;

std::string validCheckpointInterval(const DurationMs& value) {
  return value.millis == 0 || value.millis == -1 || value.millis >= kMinimalCheckpointTimeMs
             ? std::string()
             : "must be at least 10 ms, or 0 to disable periodic checkpoints";
}

std::string validCheckpointTimeout(const DurationMs& value) {
  return value.millis >= kMinimalCheckpointTimeMs ? std::string() : "must be at least 10 ms";
}

std::string oneOf(const std::string& value, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (equalsIgnoreCaseAscii(trimAscii(value), name)) return {};
  }
  std::string message = "must be one of ";
  bool first = true;
  for (std::string_view name : names) {
    if (!first) message += ", ";
    message += name;
    first = false;
  }
  return message;
}

std::string validCheckpointingMode(const std::string& value) {
  return oneOf(value, {"EXACTLY_ONCE", "AT_LEAST_ONCE"});
}

std::string validExternalizedRetention(const std::string& value) {
  return oneOf(value,
               {"NO_EXTERNALIZED_CHECKPOINTS", "DELETE_ON_CANCELLATION", "RETAIN_ON_CANCELLATION"});
}

}  // namespace

const ConfigOption<int32_t> kDefaultParallelism{
    "parallelism.default",
    1,
    "Parallelism of operators that do not set their own; -p on the command line sets it.",
    {},
    &atLeastOne};

const ConfigOption<int32_t> kMaxParallelism{
    "pipeline.max-parallelism",
    -1,
    "Number of key groups, the upper limit for rescaling keyed state; -1 derives it from the "
    "parallelism (128 for parallelism up to 85).",
    {},
    &validMaxParallelism};

const ConfigOption<DurationMs> kBufferTimeout{
    "execution.buffer-timeout",
    DurationMs{100},
    "Longest time a partly filled network buffer waits before it is sent; 0 flushes after every "
    "record, -1 only when the buffer is full.",
    {"execution.buffer-timeout.interval"},
    &validBufferTimeout};

const ConfigOption<bool> kBufferTimeoutEnabled{
    "execution.buffer-timeout.enabled", true,
    "If false, buffers are sent only when full and the buffer timeout is ignored."};

const ConfigOption<MemorySize> kMemorySegmentSize{
    "taskmanager.memory.segment-size",
    MemorySize{32 * 1024},
    "Size of a network buffer and of a managed memory page.",
    {},
    &validSegmentSize};

const ConfigOption<int32_t> kNetworkBuffersPerChannel{
    "taskmanager.network.memory.buffers-per-channel",
    2,
    "Exclusive network buffers per input channel (credit-based flow control).",
    {},
    &nonNegative};

const ConfigOption<int32_t> kNetworkFloatingBuffersPerGate{
    "taskmanager.network.memory.floating-buffers-per-gate",
    8,
    "Floating network buffers shared by the channels of one input gate.",
    {},
    &nonNegative};

const ConfigOption<DurationMs> kAutoWatermarkInterval{
    "pipeline.auto-watermark-interval",
    DurationMs{200},
    "Interval at which periodic watermark generators emit; 0 disables periodic watermarks.",
    {},
    &nonNegativeDuration};

const ConfigOption<bool> kObjectReuse{
    "pipeline.object-reuse", false,
    "Whether chained operators may reuse record objects instead of copying them."};

const ConfigOption<std::string> kRuntimeMode{
    "execution.runtime-mode",
    "STREAMING",
    "STREAMING, BATCH, or AUTOMATIC (BATCH if every source is bounded).",
    {},
    &validRuntimeMode};

const ConfigOption<std::string> kExecutionTarget{
    "execution.target", "local",
    "Which pipeline executor runs the job: local (a MiniCluster in this process)."};

const ConfigOption<std::string> kPipelineName{"pipeline.name", "",
                                              "The job name; empty lets the program choose one."};

const ConfigOption<std::string> kDataDir{
    "sluice.data-dir", "../shared/data",
    "Directory of input data for examples, tests and benchmarks; the environment variable "
    "SLUICE_DATA_DIR overrides the configuration file."};

const ConfigOption<DurationMs> kCheckpointingInterval{
    "execution.checkpointing.interval",
    DurationMs{0},
    "Base interval at which checkpoints are triggered; 0 disables periodic checkpoints.",
    {},
    &validCheckpointInterval};

const ConfigOption<std::string> kCheckpointingMode{
    "execution.checkpointing.mode",
    "EXACTLY_ONCE",
    "EXACTLY_ONCE (barriers aligned or unaligned) or AT_LEAST_ONCE (barriers not aligned).",
    {},
    &validCheckpointingMode};

const ConfigOption<DurationMs> kCheckpointingTimeout{
    "execution.checkpointing.timeout",
    DurationMs{10 * 60 * 1000},
    "Longest time a checkpoint may take before it is aborted.",
    {},
    &validCheckpointTimeout};

const ConfigOption<DurationMs> kCheckpointingMinPause{
    "execution.checkpointing.min-pause",
    DurationMs{0},
    "Least time between the end of a checkpoint and the trigger of the next.",
    {},
    &nonNegativeDuration};

const ConfigOption<int32_t> kMaxConcurrentCheckpoints{
    "execution.checkpointing.max-concurrent-checkpoints",
    1,
    "Number of checkpoints that may be in progress at the same time.",
    {},
    &atLeastOne};

const ConfigOption<int32_t> kTolerableFailedCheckpoints{
    "execution.checkpointing.tolerable-failed-checkpoints",
    0,
    "Number of consecutive checkpoint failures tolerated before the job fails.",
    {},
    &nonNegative};

const ConfigOption<bool> kUnalignedCheckpoints{
    "execution.checkpointing.unaligned.enabled",
    false,
    "Unaligned checkpoints: barriers overtake in-flight buffers, which are stored with the "
    "checkpoint.",
    {"execution.checkpointing.unaligned"}};

const ConfigOption<DurationMs> kAlignedCheckpointTimeout{
    "execution.checkpointing.aligned-checkpoint-timeout",
    DurationMs{0},
    "With unaligned checkpoints, how long a checkpoint starts aligned before switching to "
    "unaligned; 0 means always unaligned.",
    {"execution.checkpointing.alignment-timeout"},
    &nonNegativeDuration};

const ConfigOption<std::string> kExternalizedCheckpointRetention{
    "execution.checkpointing.externalized-checkpoint-retention",
    "NO_EXTERNALIZED_CHECKPOINTS",
    "What happens to retained checkpoints when the job ends: NO_EXTERNALIZED_CHECKPOINTS, "
    "DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION.",
    {},
    &validExternalizedRetention};

const ConfigOption<int32_t> kMaxRetainedCheckpoints{
    "execution.checkpointing.num-retained",
    1,
    "Number of completed checkpoints kept; older ones are deleted.",
    {"state.checkpoints.num-retained"},
    &atLeastOne};

const ConfigOption<std::string> kCheckpointsDirectory{
    "execution.checkpointing.dir",
    "",
    "Root directory of checkpoints (<dir>/<jobId>/chk-<n>/); empty keeps them in memory only.",
    {"state.checkpoints.dir", "state.backend.fs.checkpointdir"}};

const ConfigOption<std::string> kSavepointDirectory{
    "execution.checkpointing.savepoint-dir",
    "",
    "Default directory of savepoints; empty requires an explicit target directory.",
    {"state.savepoints.dir", "savepoints.state.backend.fs.dir"}};

const ConfigOption<std::string> kSavepointPath{
    "execution.savepoint.path", "",
    "Checkpoint or savepoint to restore from (directory, _metadata file, or latest:DIR)."};

const ConfigOption<bool> kSavepointIgnoreUnclaimedState{
    "execution.savepoint.ignore-unclaimed-state", false,
    "Allow restored state of operators the job no longer has to be skipped."};

namespace {

std::string validRestartStrategy(const std::string& value) {
  for (const char* name :
       {"", "none", "off", "disable", "fixed-delay", "fixeddelay", "failure-rate", "failurerate",
        "exponential-delay", "exponentialdelay"}) {
    if (equalsIgnoreCase(trimAscii(value), name)) return {};
  }
  return "must be none, fixed-delay, failure-rate or exponential-delay";
}

std::string positiveDuration(const DurationMs& value) {
  return value.millis > 0 ? std::string() : "must be positive";
}

std::string atLeastOneDouble(const double& value) {
  return value >= 1.0 ? std::string() : "must be at least 1";
}

std::string fraction(const double& value) {
  return value >= 0.0 && value <= 1.0 ? std::string() : "must be between 0 and 1";
}

}  // namespace

const ConfigOption<std::string> kRestartStrategyType{
    "restart-strategy.type",
    "",
    "none, fixed-delay, failure-rate or exponential-delay; empty: exponential-delay when "
    "checkpointing is on, else none.",
    {"restart-strategy"},
    &validRestartStrategy};
const ConfigOption<int32_t> kFixedDelayAttempts{
    "restart-strategy.fixed-delay.attempts", 1, "Restarts before the job fails.", {}, &nonNegative};
const ConfigOption<DurationMs> kFixedDelayDelay{"restart-strategy.fixed-delay.delay",
                                                DurationMs{1000},
                                                "Wait before each restart.",
                                                {},
                                                &nonNegativeDuration};
const ConfigOption<int32_t> kFailureRateMaxFailures{
    "restart-strategy.failure-rate.max-failures-per-interval",
    1,
    "Failures allowed within one interval.",
    {},
    &atLeastOne};
const ConfigOption<DurationMs> kFailureRateInterval{
    "restart-strategy.failure-rate.failure-rate-interval",
    DurationMs{60 * 1000},
    "Interval over which failures are counted.",
    {},
    &positiveDuration};
const ConfigOption<DurationMs> kFailureRateDelay{"restart-strategy.failure-rate.delay",
                                                 DurationMs{1000},
                                                 "Wait before each restart.",
                                                 {},
                                                 &nonNegativeDuration};
const ConfigOption<DurationMs> kExponentialDelayInitialBackoff{
    "restart-strategy.exponential-delay.initial-backoff",
    DurationMs{1000},
    "Wait before the first restart.",
    {},
    &nonNegativeDuration};
const ConfigOption<DurationMs> kExponentialDelayMaxBackoff{
    "restart-strategy.exponential-delay.max-backoff",
    DurationMs{60 * 1000},
    "Longest wait before a restart.",
    {},
    &nonNegativeDuration};
const ConfigOption<double> kExponentialDelayBackoffMultiplier{
    "restart-strategy.exponential-delay.backoff-multiplier",
    1.5,
    "Factor applied to the backoff after each failure.",
    {},
    &atLeastOneDouble};
const ConfigOption<DurationMs> kExponentialDelayResetBackoffThreshold{
    "restart-strategy.exponential-delay.reset-backoff-threshold",
    DurationMs{60 * 60 * 1000},
    "A failure this long after the previous one resets the backoff.",
    {},
    &positiveDuration};
const ConfigOption<double> kExponentialDelayJitterFactor{
    "restart-strategy.exponential-delay.jitter-factor",
    0.1,
    "Random fraction by which each backoff is moved.",
    {},
    &fraction};
const ConfigOption<int32_t> kExponentialDelayAttempts{
    "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    2147483647,
    "Restarts allowed before the backoff resets.",
    {},
    &atLeastOne};

const std::vector<const ConfigOptionBase*>& knownOptions() {
  static const std::vector<const ConfigOptionBase*> options{
      &kDefaultParallelism,
      &kMaxParallelism,
      &kBufferTimeout,
      &kBufferTimeoutEnabled,
      &kMemorySegmentSize,
      &kNetworkBuffersPerChannel,
      &kNetworkFloatingBuffersPerGate,
      &kAutoWatermarkInterval,
      &kObjectReuse,
      &kRuntimeMode,
      &kExecutionTarget,
      &kPipelineName,
      &kDataDir,
      &kCheckpointingInterval,
      &kCheckpointingMode,
      &kCheckpointingTimeout,
      &kCheckpointingMinPause,
      &kMaxConcurrentCheckpoints,
      &kTolerableFailedCheckpoints,
      &kUnalignedCheckpoints,
      &kAlignedCheckpointTimeout,
      &kExternalizedCheckpointRetention,
      &kMaxRetainedCheckpoints,
      &kCheckpointsDirectory,
      &kSavepointDirectory,
      &kSavepointPath,
      &kSavepointIgnoreUnclaimedState,
      &kRestartStrategyType,
      &kFixedDelayAttempts,
      &kFixedDelayDelay,
      &kFailureRateMaxFailures,
      &kFailureRateInterval,
      &kFailureRateDelay,
      &kExponentialDelayInitialBackoff,
      &kExponentialDelayMaxBackoff,
      &kExponentialDelayBackoffMultiplier,
      &kExponentialDelayResetBackoffThreshold,
      &kExponentialDelayJitterFactor,
      &kExponentialDelayAttempts,
  };
  return options;
}

const std::vector<std::string_view>& reservedKeyPrefixes() {
  static const std::vector<std::string_view> prefixes{
      "state.",
      "execution.checkpointing.",
      "restart-strategy.",
      "taskmanager.",
      "jobmanager.",
      "rest.",
      "metrics.",
      "table.",
      "sql-client.",
      "high-availability.",
      "cluster.",
      "heartbeat.",
      "web.",
  };
  return prefixes;
}

bool isKnownKey(std::string_view key) {
  for (const ConfigOptionBase* option : knownOptions()) {
    if (option->key() == key) return true;
    for (const std::string& fallbackKey : option->fallbackKeys()) {
      if (fallbackKey == key) return true;
    }
  }
  for (std::string_view prefix : reservedKeyPrefixes()) {
    if (key.starts_with(prefix)) return true;
  }
  return false;
}

namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), computed only
// up to `limit`: returns limit + 1 as soon as every alignment exceeds it.
size_t editDistance(std::string_view a, std::string_view b, size_t limit) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t rowMin = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
      rowMin = std::min(rowMin, cur[j]);
    }
    if (rowMin > limit) return limit + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

}  // namespace

std::string closestKnownKey(std::string_view key, size_t maxEdits) {
  std::string best;
  size_t bestDistance = maxEdits + 1;
  auto consider = [&](std::string_view candidate) {
    const size_t d = editDistance(key, candidate, maxEdits);
    if (d < bestDistance) {
      bestDistance = d;
      best = std::string(candidate);
    }
  };
  for (const ConfigOptionBase* option : knownOptions()) {
    consider(option->key());
    for (const std::string& fallbackKey : option->fallbackKeys()) consider(fallbackKey);
  }
  return best;
}

void warnAboutUnknownKeys(const Configuration& config, std::string_view source) {
  constexpr size_t kLikelyTypoEdits = 2;
  for (const auto& [key, value] : config.toMap()) {
    (void)value;
    bool exact = false;
    for (const ConfigOptionBase* option : knownOptions()) {
      if (option->key() == key) exact = true;
      for (const std::string& fallbackKey : option->fallbackKeys()) exact |= fallbackKey == key;
    }
    if (exact) continue;
    const bool reserved = isKnownKey(key);
    const std::string near =
        closestKnownKey(key, reserved ? kLikelyTypoEdits : std::max<size_t>(3, key.size() / 4));
    if (reserved && near.empty()) continue;  // a key of a layer Sluice does not configure yet
    if (near.empty()) {
      spdlog::warn("Unknown configuration key '{}' in {}; it is ignored", key, source);
    } else {
      spdlog::warn("Unknown configuration key '{}' in {}; it is ignored. Did you mean '{}'?", key,
                   source, near);
    }
  }
}

int64_t effectiveBufferTimeoutMillis(const Configuration& config) {
  const int64_t timeout = config.get(kBufferTimeout).millis;
  return config.get(kBufferTimeoutEnabled) ? timeout : -1;
}

}  // namespace sluice
