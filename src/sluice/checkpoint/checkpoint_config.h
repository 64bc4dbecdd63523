#pragma once

// Checkpointing settings of a job (Flink's CheckpointConfig together with CheckpointingOptions):
// whether and how often checkpoints are triggered, their consistency mode, timeouts and limits,
// where they are stored, how many are retained and what happens to them when the job ends.
//
// Built from a Configuration (fromConfiguration(), Flink's CheckpointConfig.configure) or with
// the setters (Flink's env.getCheckpointConfig().setXxx()). The keys are declared in
// core/config_options.h (kCheckpointingInterval ...), with Flink 2.0's names primary and Flink
// 1.x's names accepted as fallback keys.
//
// Times are milliseconds throughout, as in Flink's CheckpointConfig getters.

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/configuration.h"

namespace sluice {

/// The consistency guarantee of checkpoints (Flink's CheckpointingMode).
enum class CheckpointingMode {
  /// Operators with several input channels align barriers (or, with unaligned checkpoints,
  /// store the overtaken in-flight buffers): after a restore every record affects state once.
  kExactlyOnce,
  /// Barriers are not aligned (Flink's CheckpointBarrierTracker): after a restore some records
  /// may affect state twice.
  kAtLeastOnce,
};

/// "EXACTLY_ONCE" or "AT_LEAST_ONCE" (Flink's names, as written in configuration).
const char* toString(CheckpointingMode mode);

/// Parses a mode name case-insensitively, ignoring surrounding ASCII whitespace. Throws
/// ConfigurationException quoting `text` and listing the valid names otherwise. Thread-safe.
CheckpointingMode parseCheckpointingMode(std::string_view text);

/// What happens to the retained checkpoints of a job when it ends (Flink 2.0's
/// ExternalizedCheckpointRetention, Flink 1.x's ExternalizedCheckpointCleanup: same names).
/// Subsumed checkpoints (beyond `num-retained`) are always deleted, and savepoints never.
enum class ExternalizedCheckpointRetention {
  /// Retained checkpoints are deleted whenever the job terminates (finished, cancelled, failed,
  /// suspended): Flink's CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION.
  kNoExternalizedCheckpoints,
  /// Kept when the job fails or is suspended, deleted when it is cancelled or finishes
  /// (Flink's RETAIN_ON_FAILURE).
  kDeleteOnCancellation,
  /// Kept when the job fails, is suspended or cancelled; deleted only when it finishes
  /// (Flink's RETAIN_ON_CANCELLATION).
  kRetainOnCancellation,
};

/// "NO_EXTERNALIZED_CHECKPOINTS", "DELETE_ON_CANCELLATION" or "RETAIN_ON_CANCELLATION".
const char* toString(ExternalizedCheckpointRetention retention);

/// Parses a retention name case-insensitively, ignoring surrounding ASCII whitespace. Throws
/// ConfigurationException quoting `text` and listing the valid names otherwise. Thread-safe.
ExternalizedCheckpointRetention parseExternalizedCheckpointRetention(std::string_view text);

/// How a job ended, as far as checkpoint cleanup cares (the globally terminal states of Flink's
/// JobStatus, plus SUSPENDED: the job manager lost leadership or shut down).
enum class JobTerminalStatus { kFinished, kCanceled, kFailed, kSuspended };

/// "FINISHED", "CANCELED", "FAILED" or "SUSPENDED".
const char* toString(JobTerminalStatus status);

/// Whether the retained checkpoints of a job that ended with `status` are deleted under
/// `retention` (Flink's CheckpointProperties.discardOnJobFinished/Cancelled/Failed/Suspended for
/// the properties CheckpointProperties.forCheckpoint(policy) gives). Thread-safe.
bool discardRetainedCheckpointsOn(ExternalizedCheckpointRetention retention,
                                  JobTerminalStatus status);

/// The checkpointing settings of one job (Flink's CheckpointConfig). A plain value: copyable,
/// comparable. Not synchronized: build it before the job starts, then share it read-only
/// (concurrent const calls are safe).
///
/// Setters check their argument alone and throw ConfigurationException (Flink throws
/// IllegalArgumentException) naming the setting and the value; validate() checks combinations.
class CheckpointConfig {
 public:
  /// The shortest checkpoint interval and timeout, ms (Flink's
  /// CheckpointCoordinatorConfiguration.MINIMAL_CHECKPOINT_TIME).
  static constexpr int64_t kMinimalCheckpointTimeMs = 10;
  /// Flink's CheckpointConfig.DEFAULT_TIMEOUT: 10 minutes.
  static constexpr int64_t kDefaultTimeoutMs = 10 * 60 * 1000;

  /// Flink's defaults: checkpointing disabled, EXACTLY_ONCE, timeout 10 min, no min pause, one
  /// concurrent checkpoint, no tolerated failures, aligned, aligned-checkpoint timeout 0,
  /// NO_EXTERNALIZED_CHECKPOINTS, one retained checkpoint, no directories.
  CheckpointConfig() = default;

  /// The settings of `config`: every checkpointing key that is set (see core/config_options.h,
  /// kCheckpointingInterval to kSavepointDirectory; fallback keys included) replaces the default.
  /// Then validate(). Throws ConfigurationException naming the key and the value when a value is
  /// malformed or out of range ("Invalid value '5 ms' for key 'execution.checkpointing.interval':
  /// must be at least 10 ms, or 0 to disable periodic checkpoints"), or naming both keys when a
  /// combination is invalid.
  static CheckpointConfig fromConfiguration(const Configuration& config);

  /// Applies the checkpointing keys that are set in `config` on top of the current settings
  /// (Flink's CheckpointConfig.configure(ReadableConfig)); keys that are not set leave their
  /// setting alone. Does not call validate(). Throws ConfigurationException as
  /// fromConfiguration() does for single values; on a throw, settings applied before the
  /// failing key stay applied.
  void configure(const Configuration& config);

  /// Writes every setting into `config` under its primary key (durations as "10 min"), so that
  /// fromConfiguration(config) gives back an equal CheckpointConfig. Empty directories are
  /// written as empty strings.
  void writeTo(Configuration& config) const;

  /// Checks settings that are valid alone but not together, as Flink checks them when it builds
  /// the job: unaligned checkpoints need EXACTLY_ONCE (Flink's InputProcessorUtil: "Cannot use
  /// unaligned checkpoints with AT_LEAST_ONCE checkpointing mode") and at most one concurrent
  /// checkpoint (Flink's CheckpointCoordinatorConfiguration). Throws ConfigurationException
  /// naming the keys involved.
  void validate() const;

  // -- interval ---------------------------------------------------------------------------------

  /// Whether periodic checkpoints are triggered (interval > 0).
  bool isCheckpointingEnabled() const { return intervalMs_ > 0; }
  /// The base interval between checkpoint triggers, ms; 0 when checkpointing is disabled.
  /// Triggers may be delayed by max-concurrent-checkpoints and min-pause.
  int64_t getCheckpointInterval() const { return intervalMs_; }
  /// Enables periodic checkpoints every `intervalMs`. Throws ConfigurationException if
  /// `intervalMs` < kMinimalCheckpointTimeMs (use disableCheckpointing() to disable).
  void setCheckpointInterval(int64_t intervalMs);
  /// Disables periodic checkpoints (savepoints can still be taken).
  void disableCheckpointing() { intervalMs_ = 0; }

  // -- mode, timeouts, limits -------------------------------------------------------------------

  CheckpointingMode getCheckpointingMode() const { return mode_; }
  void setCheckpointingMode(CheckpointingMode mode) { mode_ = mode; }

  /// The longest a checkpoint may take before it is aborted, ms.
  int64_t getCheckpointTimeout() const { return timeoutMs_; }
  /// Throws ConfigurationException if `timeoutMs` < kMinimalCheckpointTimeMs.
  void setCheckpointTimeout(int64_t timeoutMs);

  /// The least time between the end of one checkpoint and the trigger of the next, ms.
  int64_t getMinPauseBetweenCheckpoints() const { return minPauseMs_; }
  /// Throws ConfigurationException if `minPauseMs` < 0.
  void setMinPauseBetweenCheckpoints(int64_t minPauseMs);

  /// How many checkpoints may be in progress at the same time.
  int getMaxConcurrentCheckpoints() const { return maxConcurrent_; }
  /// Throws ConfigurationException if `maxConcurrent` < 1.
  void setMaxConcurrentCheckpoints(int maxConcurrent);

  /// How many consecutive checkpoint failures the job tolerates before it fails (0: the first
  /// failed checkpoint fails the job).
  int getTolerableCheckpointFailureNumber() const { return tolerableFailures_; }
  /// Throws ConfigurationException if `number` < 0.
  void setTolerableCheckpointFailureNumber(int number);

  // -- unaligned checkpoints --------------------------------------------------------------------

  bool isUnalignedCheckpointsEnabled() const { return unaligned_; }
  /// Enables (or disables) unaligned checkpoints. Needs EXACTLY_ONCE and one concurrent
  /// checkpoint, checked by validate().
  void enableUnalignedCheckpoints(bool enabled = true) { unaligned_ = enabled; }

  /// With unaligned checkpoints, how long a checkpoint starts aligned before switching to
  /// unaligned, ms; 0 = always unaligned.
  int64_t getAlignedCheckpointTimeout() const { return alignedTimeoutMs_; }
  /// Throws ConfigurationException if `timeoutMs` < 0.
  void setAlignedCheckpointTimeout(int64_t timeoutMs);

  // -- retention and storage --------------------------------------------------------------------

  ExternalizedCheckpointRetention getExternalizedCheckpointRetention() const { return retention_; }
  void setExternalizedCheckpointRetention(ExternalizedCheckpointRetention retention) {
    retention_ = retention;
  }
  /// Whether checkpoints survive the job's cancellation or failure (anything but
  /// NO_EXTERNALIZED_CHECKPOINTS), as Flink's isExternalizedCheckpointsEnabled.
  bool isExternalizedCheckpointsEnabled() const {
    return retention_ != ExternalizedCheckpointRetention::kNoExternalizedCheckpoints;
  }

  /// How many completed checkpoints are kept (`execution.checkpointing.num-retained`).
  int getMaxRetainedCheckpoints() const { return maxRetained_; }
  /// Throws ConfigurationException if `count` < 1.
  void setMaxRetainedCheckpoints(int count);

  /// The root directory of checkpoints, a local path (a `file://` URI as configured is kept
  /// as written; FileCheckpointStorage resolves it); empty = checkpoints kept in memory only.
  const std::string& getCheckpointStorage() const { return checkpointsDir_; }
  /// Sets the root directory of checkpoints (Flink's setCheckpointStorage(String)).
  void setCheckpointStorage(std::string directory) { checkpointsDir_ = std::move(directory); }

  /// The default savepoint directory; empty = none.
  const std::string& getDefaultSavepointDirectory() const { return savepointDir_; }
  void setDefaultSavepointDirectory(std::string directory) { savepointDir_ = std::move(directory); }

  friend bool operator==(const CheckpointConfig&, const CheckpointConfig&) = default;

 private:
  int64_t intervalMs_ = 0;
  CheckpointingMode mode_ = CheckpointingMode::kExactlyOnce;
  int64_t timeoutMs_ = kDefaultTimeoutMs;
  int64_t minPauseMs_ = 0;
  int maxConcurrent_ = 1;
  int tolerableFailures_ = 0;
  bool unaligned_ = false;
  int64_t alignedTimeoutMs_ = 0;
  ExternalizedCheckpointRetention retention_ =
      ExternalizedCheckpointRetention::kNoExternalizedCheckpoints;
  int maxRetained_ = 1;
  std::string checkpointsDir_;
  std::string savepointDir_;
};

}  // namespace sluice
