#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/configuration.h"

namespace sluice {

// The configuration options Sluice knows, with Flink's keys and defaults. Each is a constant
// defined in config_options.cc (do not read them from other static initializers). All are
// immutable and safe to read from any thread.

/// `parallelism.default` (int, default 1): parallelism of operators that do not set their own,
/// as Flink's CoreOptions.DEFAULT_PARALLELISM. `-p N` on the command line sets it. Must be >= 1.
extern const ConfigOption<int32_t> kDefaultParallelism;

/// `pipeline.max-parallelism` (int, default -1): number of key groups, the upper limit for
/// rescaling keyed state, as Flink's PipelineOptions.MAX_PARALLELISM. -1 means "derive it" as
/// Flink's KeyGroupRangeAssignment.computeDefaultMaxParallelism does:
/// min(max(roundUpToPowerOfTwo(p + p / 2), 128), 32768) for operator parallelism p, i.e. 128 for
/// any parallelism up to 85. Otherwise must be between 1 and 32768.
extern const ConfigOption<int32_t> kMaxParallelism;

/// `execution.buffer-timeout` (duration, default 100 ms): the longest a partly filled network
/// buffer waits before it is sent, as Flink's ExecutionOptions.BUFFER_TIMEOUT. 0 flushes after
/// every record (lowest latency); -1 flushes only when a buffer is full (highest throughput);
/// anything below -1 is rejected. Flink 1.19 renamed the key to
/// `execution.buffer-timeout.interval`, which is accepted as a fallback key (this key wins when
/// both are set). Read it through effectiveBufferTimeoutMillis(), which applies
/// kBufferTimeoutEnabled.
extern const ConfigOption<DurationMs> kBufferTimeout;

/// `execution.buffer-timeout.enabled` (bool, default true): Flink 1.19's switch; false means
/// flush only when a buffer is full, as a buffer timeout of -1 does.
extern const ConfigOption<bool> kBufferTimeoutEnabled;

/// `taskmanager.memory.segment-size` (memory size, default 32 kb): size of a network buffer and
/// of a managed memory page, as Flink's TaskManagerOptions.MEMORY_SEGMENT_SIZE. Must be between
/// 64 bytes and 1 gb; unlike Flink (a power of two of at least 4 kb) small sizes are allowed so
/// tests can make records span buffers.
extern const ConfigOption<MemorySize> kMemorySegmentSize;

/// `taskmanager.network.memory.buffers-per-channel` (int, default 2): exclusive buffers per
/// input channel for credit-based flow control, as Flink's
/// NettyShuffleEnvironmentOptions.NETWORK_BUFFERS_PER_CHANNEL. Must be >= 0.
extern const ConfigOption<int32_t> kNetworkBuffersPerChannel;

/// `taskmanager.network.memory.floating-buffers-per-gate` (int, default 8): floating buffers
/// shared by the channels of one input gate, as Flink's
/// NettyShuffleEnvironmentOptions.NETWORK_EXTRA_BUFFERS_PER_GATE. Must be >= 0.
extern const ConfigOption<int32_t> kNetworkFloatingBuffersPerGate;

/// `pipeline.auto-watermark-interval` (duration, default 200 ms): how often periodic watermark
/// generators emit, as Flink's PipelineOptions.AUTO_WATERMARK_INTERVAL. 0 disables periodic
/// emission. Must be >= 0.
extern const ConfigOption<DurationMs> kAutoWatermarkInterval;

/// `pipeline.object-reuse` (bool, default false): whether operators may reuse record objects
/// instead of copying them between chained operators, as Flink's PipelineOptions.OBJECT_REUSE.
extern const ConfigOption<bool> kObjectReuse;

/// `execution.runtime-mode` (string, default "STREAMING"): STREAMING, BATCH or AUTOMATIC
/// (BATCH if every source is bounded), as Flink's ExecutionOptions.RUNTIME_MODE. Matched
/// case-insensitively, as Flink matches enum values; compare the value the same way.
extern const ConfigOption<std::string> kRuntimeMode;

/// `execution.target` (string, default "local"): which pipeline executor runs the job, as
/// Flink's DeploymentOptions.TARGET; `local` runs it on a MiniCluster in this process
/// (cluster/pipeline_executor.h).
extern const ConfigOption<std::string> kExecutionTarget;

/// `pipeline.name` (string, default empty): the job name, as Flink's PipelineOptions.NAME. Empty
/// means the program or environment chooses one.
extern const ConfigOption<std::string> kPipelineName;

/// `sluice.data-dir` (string, default "../shared/data", relative to the working directory):
/// where examples, tests and benchmarks find their input data. Sluice-specific. The
/// environment variable SLUICE_DATA_DIR (kDataDirEnvironmentVariable), when set and non-empty,
/// overrides the configuration file: loadConfiguration() stores it under this key; `-D
/// sluice.data-dir=...` on the command line overrides both.
extern const ConfigOption<std::string> kDataDir;

/// Name of the environment variable that overrides kDataDir.
inline constexpr std::string_view kDataDirEnvironmentVariable = "SLUICE_DATA_DIR";

// Checkpointing (Flink's CheckpointingOptions of Flink 1.20/2.0, whose keys are primary here;
// the Flink 1.x keys they replaced are accepted as fallback keys, the new key winning when both
// are set). Read them together through CheckpointConfig (runtime/checkpoint_config.h), which also
// checks combinations (e.g. unaligned checkpoints need EXACTLY_ONCE).

/// `execution.checkpointing.interval` (duration, default 0 = not set): the base interval at which
/// checkpoints are triggered, as Flink's CheckpointingOptions.CHECKPOINTING_INTERVAL. 0 (or -1,
/// Flink 1.x's "disabled") disables periodic checkpoints; otherwise it must be at least 10 ms
/// (Flink's CheckpointCoordinatorConfiguration.MINIMAL_CHECKPOINT_TIME).
extern const ConfigOption<DurationMs> kCheckpointingInterval;

/// `execution.checkpointing.mode` (string, default "EXACTLY_ONCE"): EXACTLY_ONCE (barriers are
/// aligned, or unaligned when enabled) or AT_LEAST_ONCE (barriers are not aligned), as Flink's
/// CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE. Matched case-insensitively.
extern const ConfigOption<std::string> kCheckpointingMode;

/// `execution.checkpointing.timeout` (duration, default 10 min): the longest a checkpoint may take
/// before it is aborted, as Flink's CheckpointingOptions.CHECKPOINTING_TIMEOUT. At least 10 ms.
extern const ConfigOption<DurationMs> kCheckpointingTimeout;

/// `execution.checkpointing.min-pause` (duration, default 0): the least time between the end of
/// one checkpoint and the trigger of the next, as Flink's MIN_PAUSE_BETWEEN_CHECKPOINTS. >= 0.
extern const ConfigOption<DurationMs> kCheckpointingMinPause;

/// `execution.checkpointing.max-concurrent-checkpoints` (int, default 1): how many checkpoints may
/// be in progress at once, as Flink's MAX_CONCURRENT_CHECKPOINTS. At least 1.
extern const ConfigOption<int32_t> kMaxConcurrentCheckpoints;

/// `execution.checkpointing.tolerable-failed-checkpoints` (int, default 0): how many consecutive
/// checkpoint failures the job tolerates before it fails, as Flink's TOLERABLE_FAILURE_NUMBER.
/// >= 0.
extern const ConfigOption<int32_t> kTolerableFailedCheckpoints;

/// `execution.checkpointing.unaligned.enabled` (bool, default false): unaligned checkpoints
/// (barriers overtake in-flight buffers, which become part of the checkpoint), as Flink's
/// CheckpointingOptions.ENABLE_UNALIGNED. Flink 1.x's key `execution.checkpointing.unaligned` is
/// a fallback key.
extern const ConfigOption<bool> kUnalignedCheckpoints;

/// `execution.checkpointing.aligned-checkpoint-timeout` (duration, default 0): with unaligned
/// checkpoints enabled, how long a checkpoint starts aligned before it switches to unaligned; 0
/// means always unaligned. As Flink's ALIGNED_CHECKPOINT_TIMEOUT; Flink 1.13's key
/// `execution.checkpointing.alignment-timeout` is a fallback key. >= 0.
extern const ConfigOption<DurationMs> kAlignedCheckpointTimeout;

/// `execution.checkpointing.externalized-checkpoint-retention` (string, default
/// "NO_EXTERNALIZED_CHECKPOINTS"): what happens to retained checkpoints when the job ends, as
/// Flink's EXTERNALIZED_CHECKPOINT_RETENTION: NO_EXTERNALIZED_CHECKPOINTS (deleted whenever the
/// job terminates), DELETE_ON_CANCELLATION (kept if the job fails, deleted if it is cancelled or
/// finishes), RETAIN_ON_CANCELLATION (kept if it fails or is cancelled). The names are those of
/// Flink 2.0's ExternalizedCheckpointRetention and of Flink 1.x's ExternalizedCheckpointCleanup
/// (the same three). Matched case-insensitively.
extern const ConfigOption<std::string> kExternalizedCheckpointRetention;

/// `execution.checkpointing.num-retained` (int, default 1): how many completed checkpoints are
/// kept; older ones are deleted (subsumed), as Flink's MAX_RETAINED_CHECKPOINTS. Flink 1.x's key
/// `state.checkpoints.num-retained` is a fallback key. At least 1.
extern const ConfigOption<int32_t> kMaxRetainedCheckpoints;

/// `execution.checkpointing.dir` (string, default empty = checkpoints are kept in memory only):
/// the root directory of checkpoints, as Flink's CHECKPOINTS_DIRECTORY; checkpoints go to
/// `<dir>/<jobId>/chk-<n>/`. A local path or a `file://` URI. Flink 1.x's keys
/// `state.checkpoints.dir` and `state.backend.fs.checkpointdir` are fallback keys.
extern const ConfigOption<std::string> kCheckpointsDirectory;

/// `execution.checkpointing.savepoint-dir` (string, default empty = a savepoint needs an explicit
/// target directory): the default savepoint directory, as Flink's SAVEPOINT_DIRECTORY. Flink
/// 1.x's keys `state.savepoints.dir` and `savepoints.state.backend.fs.dir` are fallback keys.
extern const ConfigOption<std::string> kSavepointDirectory;
/// execution.savepoint.path: the checkpoint or savepoint to start from (a chk-<n> or
/// savepoint directory, its _metadata file, or latest:DIR), as `flink run -s`; empty starts
/// fresh.
extern const ConfigOption<std::string> kSavepointPath;
/// execution.savepoint.ignore-unclaimed-state: skip restored state of operators the job no
/// longer has (`--allow-non-restored-state`) instead of failing.
extern const ConfigOption<bool> kSavepointIgnoreUnclaimedState;

// Restart strategies (Flink's RestartStrategyOptions), read by RestartStrategy::fromConfiguration.

/// `restart-strategy.type` (string, default empty): none (also off, disable), fixed-delay
/// (fixeddelay), failure-rate (failurerate) or exponential-delay (exponentialdelay), matched
/// case-insensitively. Empty derives it as Flink 1.19+ does: exponential-delay when periodic
/// checkpointing is on, none otherwise. Flink 1.x's key `restart-strategy` is a fallback key.
extern const ConfigOption<std::string> kRestartStrategyType;
/// `restart-strategy.fixed-delay.attempts` (int, default 1): restarts before the job fails.
extern const ConfigOption<int32_t> kFixedDelayAttempts;
/// `restart-strategy.fixed-delay.delay` (duration, default 1 s): wait before each restart.
extern const ConfigOption<DurationMs> kFixedDelayDelay;
/// `restart-strategy.failure-rate.max-failures-per-interval` (int, default 1): as Flink, the
/// job fails when this many failures fall within one failure-rate interval.
extern const ConfigOption<int32_t> kFailureRateMaxFailures;
/// `restart-strategy.failure-rate.failure-rate-interval` (duration, default 1 min).
extern const ConfigOption<DurationMs> kFailureRateInterval;
/// `restart-strategy.failure-rate.delay` (duration, default 1 s): wait before each restart.
extern const ConfigOption<DurationMs> kFailureRateDelay;
/// `restart-strategy.exponential-delay.initial-backoff` (duration, default 1 s).
extern const ConfigOption<DurationMs> kExponentialDelayInitialBackoff;
/// `restart-strategy.exponential-delay.max-backoff` (duration, default 1 min).
extern const ConfigOption<DurationMs> kExponentialDelayMaxBackoff;
/// `restart-strategy.exponential-delay.backoff-multiplier` (double, default 1.5, >= 1).
extern const ConfigOption<double> kExponentialDelayBackoffMultiplier;
/// `restart-strategy.exponential-delay.reset-backoff-threshold` (duration, default 1 h): a
/// failure this long after the previous one starts again from the initial backoff.
extern const ConfigOption<DurationMs> kExponentialDelayResetBackoffThreshold;
/// `restart-strategy.exponential-delay.jitter-factor` (double, default 0.1, in [0, 1]): each
/// backoff is moved randomly by up to this fraction of it.
extern const ConfigOption<double> kExponentialDelayJitterFactor;
/// `restart-strategy.exponential-delay.attempts-before-reset-backoff` (int, default
/// 2147483647): restarts allowed before the backoff resets; one more fails the job.
extern const ConfigOption<int32_t> kExponentialDelayAttempts;

/// Every option above, in declaration order. Thread-safe.
const std::vector<const ConfigOptionBase*>& knownOptions();

/// Key prefixes reserved for layers that do not define their options yet ("state.",
/// "execution.checkpointing.", "restart-strategy.", "taskmanager.", "jobmanager.", "rest.",
/// "metrics.", "table.", "sql-client.", "high-availability.", "cluster.", "heartbeat.", "web.").
/// Keys under them are treated as known, so Flink configuration files and future options do not
/// produce unknown-key warnings; the price is that a typo under such a prefix is not reported.
/// Thread-safe.
const std::vector<std::string_view>& reservedKeyPrefixes();

/// Whether `key` is the key or a fallback key of a known option, or starts with a reserved
/// prefix. Keys that are not known cause a warning when loaded from a file, never an error.
/// Thread-safe.
bool isKnownKey(std::string_view key);

/// The key (or fallback key) of a known option closest to `key` in edits (insertions,
/// deletions, substitutions and swaps of adjacent characters: optimal string alignment
/// distance), if it is at most `maxEdits` edits away; empty otherwise. Thread-safe.
std::string closestKnownKey(std::string_view key, size_t maxEdits);

/// Logs a warning for every key of `config` that no option knows, naming `source` (a file, or
/// "-D") and the closest known key when one is near ("did you mean ..."). A key under a
/// reserved prefix (reservedKeyPrefixes) is warned about only when it is within 2 edits of a
/// known key: a likely misspelling such as `execution.checkpointing.intervall`. Unknown keys
/// are never an error (a Flink configuration has many Sluice does not read). Thread-safe for a
/// configuration that is not being modified.
void warnAboutUnknownKeys(const Configuration& config, std::string_view source);

/// The buffer timeout to use in milliseconds: -1 (flush only when full) if
/// kBufferTimeoutEnabled is false, else kBufferTimeout (0 = flush after every record).
/// Throws ConfigurationException if either value is malformed. Thread-safe for a configuration
/// that is not being modified.
int64_t effectiveBufferTimeoutMillis(const Configuration& config);

}  // namespace sluice
