#include "sluice/checkpoint/checkpoint_config.h"

#include <fmt/format.h>

#include "sluice/core/config_options.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {

const char* toString(CheckpointingMode mode) {
  switch (mode) {
    case CheckpointingMode::kExactlyOnce:
      return "EXACTLY_ONCE";
    case CheckpointingMode::kAtLeastOnce:
      return "AT_LEAST_ONCE";
  }
  return "?";
}

CheckpointingMode parseCheckpointingMode(std::string_view text) {
  const std::string_view name = trimAscii(text);
  for (CheckpointingMode mode :
       {CheckpointingMode::kExactlyOnce, CheckpointingMode::kAtLeastOnce}) {
    if (equalsIgnoreCaseAscii(name, toString(mode))) return mode;
  }
  throw ConfigurationException(fmt::format(
      "Unknown checkpointing mode '{}': must be one of EXACTLY_ONCE, AT_LEAST_ONCE", text));
}

const char* toString(ExternalizedCheckpointRetention retention) {
  switch (retention) {
    case ExternalizedCheckpointRetention::kNoExternalizedCheckpoints:
      return "NO_EXTERNALIZED_CHECKPOINTS";
    case ExternalizedCheckpointRetention::kDeleteOnCancellation:
      return "DELETE_ON_CANCELLATION";
    case ExternalizedCheckpointRetention::kRetainOnCancellation:
      return "RETAIN_ON_CANCELLATION";
  }
  return "?";
}

ExternalizedCheckpointRetention parseExternalizedCheckpointRetention(std::string_view text) {
  const std::string_view name = trimAscii(text);
  for (ExternalizedCheckpointRetention retention :
       {ExternalizedCheckpointRetention::kNoExternalizedCheckpoints,
        ExternalizedCheckpointRetention::kDeleteOnCancellation,
        ExternalizedCheckpointRetention::kRetainOnCancellation}) {
    if (equalsIgnoreCaseAscii(name, toString(retention))) return retention;
  }
  throw ConfigurationException(
      fmt::format("Unknown externalized checkpoint retention '{}': must be one of "
                  "NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION, RETAIN_ON_CANCELLATION",
                  text));
}

const char* toString(JobTerminalStatus status) {
  switch (status) {
    case JobTerminalStatus::kFinished:
      return "FINISHED";
    case JobTerminalStatus::kCanceled:
      return "CANCELED";
    case JobTerminalStatus::kFailed:
      return "FAILED";
    case JobTerminalStatus::kSuspended:
      return "SUSPENDED";
  }
  return "?";
}

bool discardRetainedCheckpointsOn(ExternalizedCheckpointRetention retention,
                                  JobTerminalStatus status) {
  switch (retention) {
    case ExternalizedCheckpointRetention::kNoExternalizedCheckpoints:
      return true;
    case ExternalizedCheckpointRetention::kDeleteOnCancellation:
      return status == JobTerminalStatus::kFinished || status == JobTerminalStatus::kCanceled;
    case ExternalizedCheckpointRetention::kRetainOnCancellation:
      return status == JobTerminalStatus::kFinished;
  }
  return false;
}

// -----------------------------------------------------------------------------------------------
// CheckpointConfig

CheckpointConfig CheckpointConfig::fromConfiguration(const Configuration& config) {
  CheckpointConfig result;
  result.configure(config);
  result.validate();
  return result;
}

void CheckpointConfig::configure(const Configuration& config) {
  // Configuration::getOptional() parses and range-checks each value and names the key that is
  // actually set (the primary key or a fallback key) when it is wrong, so the setters below
  // cannot throw for a value that passed it.
  if (auto interval = config.getOptional(kCheckpointingInterval)) {
    if (interval->millis <= 0) {
      disableCheckpointing();
    } else {
      setCheckpointInterval(interval->millis);
    }
  }
  if (auto mode = config.getOptional(kCheckpointingMode)) {
    setCheckpointingMode(parseCheckpointingMode(*mode));
  }
  if (auto timeout = config.getOptional(kCheckpointingTimeout)) {
    setCheckpointTimeout(timeout->millis);
  }
  if (auto minPause = config.getOptional(kCheckpointingMinPause)) {
    setMinPauseBetweenCheckpoints(minPause->millis);
  }
  if (auto maxConcurrent = config.getOptional(kMaxConcurrentCheckpoints)) {
    setMaxConcurrentCheckpoints(*maxConcurrent);
  }
  if (auto tolerable = config.getOptional(kTolerableFailedCheckpoints)) {
    setTolerableCheckpointFailureNumber(*tolerable);
  }
  if (auto unaligned = config.getOptional(kUnalignedCheckpoints)) {
    enableUnalignedCheckpoints(*unaligned);
  }
  if (auto alignedTimeout = config.getOptional(kAlignedCheckpointTimeout)) {
    setAlignedCheckpointTimeout(alignedTimeout->millis);
  }
  if (auto retention = config.getOptional(kExternalizedCheckpointRetention)) {
    setExternalizedCheckpointRetention(parseExternalizedCheckpointRetention(*retention));
  }
  if (auto retained = config.getOptional(kMaxRetainedCheckpoints)) {
    setMaxRetainedCheckpoints(*retained);
  }
  if (auto directory = config.getOptional(kCheckpointsDirectory)) {
    setCheckpointStorage(std::string(trimAscii(*directory)));
  }
  if (auto directory = config.getOptional(kSavepointDirectory)) {
    setDefaultSavepointDirectory(std::string(trimAscii(*directory)));
  }
}

void CheckpointConfig::writeTo(Configuration& config) const {
  config.set(kCheckpointingInterval, DurationMs{intervalMs_});
  config.set(kCheckpointingMode, std::string(toString(mode_)));
  config.set(kCheckpointingTimeout, DurationMs{timeoutMs_});
  config.set(kCheckpointingMinPause, DurationMs{minPauseMs_});
  config.set(kMaxConcurrentCheckpoints, maxConcurrent_);
  config.set(kTolerableFailedCheckpoints, tolerableFailures_);
  config.set(kUnalignedCheckpoints, unaligned_);
  config.set(kAlignedCheckpointTimeout, DurationMs{alignedTimeoutMs_});
  config.set(kExternalizedCheckpointRetention, std::string(toString(retention_)));
  config.set(kMaxRetainedCheckpoints, maxRetained_);
  config.set(kCheckpointsDirectory, checkpointsDir_);
  config.set(kSavepointDirectory, savepointDir_);
}

void CheckpointConfig::validate() const {
  if (!unaligned_) return;
  if (mode_ != CheckpointingMode::kExactlyOnce) {
    throw ConfigurationException(fmt::format(
        "Unaligned checkpoints ('{}' = true) need '{}' = EXACTLY_ONCE, but it is {}; disable "
        "unaligned checkpoints or use EXACTLY_ONCE",
        kUnalignedCheckpoints.key(), kCheckpointingMode.key(), toString(mode_)));
  }
  if (maxConcurrent_ > 1) {
    throw ConfigurationException(
        fmt::format("Unaligned checkpoints ('{}' = true) need '{}' = 1, but it is {}",
                    kUnalignedCheckpoints.key(), kMaxConcurrentCheckpoints.key(), maxConcurrent_));
  }
}

void CheckpointConfig::setCheckpointInterval(int64_t intervalMs) {
  if (intervalMs < kMinimalCheckpointTimeMs) {
    throw ConfigurationException(
        fmt::format("Checkpoint interval must be at least {} ms, got {} ms (call "
                    "disableCheckpointing() to disable periodic checkpoints)",
                    kMinimalCheckpointTimeMs, intervalMs));
  }
  intervalMs_ = intervalMs;
}

void CheckpointConfig::setCheckpointTimeout(int64_t timeoutMs) {
  if (timeoutMs < kMinimalCheckpointTimeMs) {
    throw ConfigurationException(fmt::format("Checkpoint timeout must be at least {} ms, got {} ms",
                                             kMinimalCheckpointTimeMs, timeoutMs));
  }
  timeoutMs_ = timeoutMs;
}

void CheckpointConfig::setMinPauseBetweenCheckpoints(int64_t minPauseMs) {
  if (minPauseMs < 0) {
    throw ConfigurationException(fmt::format(
        "Minimal pause between checkpoints must not be negative, got {} ms", minPauseMs));
  }
  minPauseMs_ = minPauseMs;
}

void CheckpointConfig::setMaxConcurrentCheckpoints(int maxConcurrent) {
  if (maxConcurrent < 1) {
    throw ConfigurationException(fmt::format(
        "Maximum number of concurrent checkpoints must be at least 1, got {}", maxConcurrent));
  }
  maxConcurrent_ = maxConcurrent;
}

void CheckpointConfig::setTolerableCheckpointFailureNumber(int number) {
  if (number < 0) {
    throw ConfigurationException(fmt::format(
        "Number of tolerable checkpoint failures must not be negative, got {}", number));
  }
  tolerableFailures_ = number;
}

void CheckpointConfig::setAlignedCheckpointTimeout(int64_t timeoutMs) {
  if (timeoutMs < 0) {
    throw ConfigurationException(
        fmt::format("Aligned checkpoint timeout must not be negative, got {} ms", timeoutMs));
  }
  alignedTimeoutMs_ = timeoutMs;
}

void CheckpointConfig::setMaxRetainedCheckpoints(int count) {
  if (count < 1) {
    throw ConfigurationException(
        fmt::format("Number of retained checkpoints must be at least 1, got {}", count));
  }
  maxRetained_ = count;
}

}  // namespace sluice
