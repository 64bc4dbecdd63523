#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>

#include "sluice/core/configuration.h"

namespace sluice {

/// Decides whether a failed job restarts and after how long (Flink's
/// RestartBackoffTimeStrategy). The executor calls notifyFailure() once per failure, then asks
/// canRestart() and getBackoffTimeMillis(). Not thread-safe: one job's failover loop owns it.
class RestartStrategy {
 public:
  virtual ~RestartStrategy() = default;
  /// Records a failure at `timestampMillis` (ms since the epoch).
  virtual void notifyFailure(int64_t timestampMillis) = 0;
  /// Whether the job may restart after the failures recorded so far.
  virtual bool canRestart() const = 0;
  /// How long to wait before the restart, ms.
  virtual int64_t getBackoffTimeMillis() const = 0;
  /// The strategy's name and settings, for log lines ("fixed-delay (attempts 3, delay 10 ms)").
  virtual std::string describe() const = 0;

  /// The strategy `config` selects with Flink's keys (restart-strategy.type and its
  /// restart-strategy.<type>.* options; see config_options.h). An unset type derives it as
  /// Flink 1.19+: exponential-delay when `checkpointingEnabled`, else none. Throws
  /// ConfigurationException naming the key of a malformed value.
  static std::unique_ptr<RestartStrategy> fromConfiguration(const Configuration& config,
                                                            bool checkpointingEnabled);

  /// Never restarts (`none`).
  static std::unique_ptr<RestartStrategy> noRestart();
  /// Restarts up to `attempts` times, waiting `delayMillis` before each (`fixed-delay`).
  static std::unique_ptr<RestartStrategy> fixedDelay(int attempts, int64_t delayMillis);
  /// Restarts unless the last `maxFailures` failures all fall within `intervalMillis` (so the
  /// maxFailures-th failure within an interval fails the job), waiting `delayMillis` before each
  /// restart (`failure-rate`), as Flink's FailureRateRestartBackoffTimeStrategy.
  static std::unique_ptr<RestartStrategy> failureRate(int maxFailures, int64_t intervalMillis,
                                                      int64_t delayMillis);
  /// Exponential backoff (`exponential-delay`), as Flink's
  /// ExponentialDelayRestartBackoffTimeStrategy: the first restart waits `initialMillis`, each
  /// further one `multiplier` times the previous backoff, at most `maxMillis`; every backoff is
  /// moved by a uniformly random fraction in [-jitter, +jitter] of itself (`seed` makes it
  /// reproducible); a failure `resetThresholdMillis` or more after the previous one starts over
  /// from `initialMillis`. After `attemptsBeforeReset` restarts without a reset the job fails.
  static std::unique_ptr<RestartStrategy> exponentialDelay(int64_t initialMillis, int64_t maxMillis,
                                                           double multiplier,
                                                           int64_t resetThresholdMillis,
                                                           double jitter, int attemptsBeforeReset,
                                                           uint64_t seed = std::random_device{}());
};

}  // namespace sluice
