#include "sluice/cluster/restart_strategy.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "sluice/core/config_options.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {
namespace {

class NoRestart final : public RestartStrategy {
 public:
  void notifyFailure(int64_t) override {}
  bool canRestart() const override { return false; }
  int64_t getBackoffTimeMillis() const override { return 0; }
  std::string describe() const override { return "none"; }
};

class FixedDelay final : public RestartStrategy {
 public:
  FixedDelay(int attempts, int64_t delay) : attempts_(attempts), delay_(delay) {}
  void notifyFailure(int64_t) override { ++failures_; }
  bool canRestart() const override { return failures_ <= attempts_; }
  int64_t getBackoffTimeMillis() const override { return delay_; }
  std::string describe() const override {
    return fmt::format("fixed-delay (attempts {}, delay {} ms)", attempts_, delay_);
  }

 private:
  int attempts_;
  int64_t delay_;
  int64_t failures_ = 0;
};

class FailureRate final : public RestartStrategy {
 public:
  FailureRate(int maxFailures, int64_t interval, int64_t delay)
      : maxFailures_(maxFailures), interval_(interval), delay_(delay) {}
  void notifyFailure(int64_t timestamp) override {
    failures_.push_back(timestamp);
    // Only the newest maxFailures matter: the job fails when all of them lie within one
    // interval (as Flink's: the maxFailures-th failure within an interval is not restarted).
    while (static_cast<int>(failures_.size()) > maxFailures_) failures_.pop_front();
  }
  bool canRestart() const override {
    if (static_cast<int>(failures_.size()) < maxFailures_) return true;
    return failures_.back() - failures_.front() > interval_;
  }
  int64_t getBackoffTimeMillis() const override { return delay_; }
  std::string describe() const override {
    return fmt::format("failure-rate (max {} failures per {} ms, delay {} ms)", maxFailures_,
                       interval_, delay_);
  }

 private:
  int maxFailures_;
  int64_t interval_;
  int64_t delay_;
  std::deque<int64_t> failures_;
};

class ExponentialDelay final : public RestartStrategy {
 public:
  ExponentialDelay(int64_t initial, int64_t max, double multiplier, int64_t resetThreshold,
                   double jitter, int attempts, uint64_t seed)
      : initial_(initial),
        max_(std::max(initial, max)),
        multiplier_(multiplier),
        resetThreshold_(resetThreshold),
        jitter_(jitter),
        attempts_(attempts),
        random_(seed) {}

  void notifyFailure(int64_t timestamp) override {
    if (lastFailure_ < 0 || timestamp - lastFailure_ >= resetThreshold_) {
      backoff_ = initial_;
      restarts_ = 0;
    } else {
      backoff_ = std::min<int64_t>(
          max_, static_cast<int64_t>(static_cast<double>(backoff_) * multiplier_));
    }
    lastFailure_ = timestamp;
    ++restarts_;
    double range = jitter_ * static_cast<double>(backoff_);
    double offset = range > 0 ? std::uniform_real_distribution<double>(-range, range)(random_) : 0;
    jittered_ = std::clamp<int64_t>(backoff_ + static_cast<int64_t>(offset), 0, max_);
  }
  bool canRestart() const override { return restarts_ <= attempts_; }
  int64_t getBackoffTimeMillis() const override { return jittered_; }
  std::string describe() const override {
    return fmt::format(
        "exponential-delay (initial {} ms, max {} ms, multiplier {}, reset after {} ms, jitter "
        "{}, attempts {})",
        initial_, max_, multiplier_, resetThreshold_, jitter_, attempts_);
  }

 private:
  int64_t initial_;
  int64_t max_;
  double multiplier_;
  int64_t resetThreshold_;
  double jitter_;
  int attempts_;
  std::mt19937_64 random_;
  int64_t lastFailure_ = -1;
  int64_t backoff_ = 0;
  int64_t jittered_ = 0;
  int64_t restarts_ = 0;
};

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::unique_ptr<RestartStrategy> RestartStrategy::noRestart() {
  return std::make_unique<NoRestart>();
}

std::unique_ptr<RestartStrategy> RestartStrategy::fixedDelay(int attempts, int64_t delayMillis) {
  return std::make_unique<FixedDelay>(attempts, delayMillis);
}

std::unique_ptr<RestartStrategy> RestartStrategy::failureRate(int maxFailures,
                                                              int64_t intervalMillis,
                                                              int64_t delayMillis) {
  return std::make_unique<FailureRate>(maxFailures, intervalMillis, delayMillis);
}

std::unique_ptr<RestartStrategy> RestartStrategy::exponentialDelay(
    int64_t initialMillis, int64_t maxMillis, double multiplier, int64_t resetThresholdMillis,
    double jitter, int attemptsBeforeReset, uint64_t seed) {
  return std::make_unique<ExponentialDelay>(initialMillis, maxMillis, multiplier,
                                            resetThresholdMillis, jitter, attemptsBeforeReset,
                                            seed);
}

std::unique_ptr<RestartStrategy> RestartStrategy::fromConfiguration(const Configuration& config,
                                                                    bool checkpointingEnabled) {
  std::string type = lowerAscii(trimAscii(config.get(kRestartStrategyType)));
  if (type.empty()) type = checkpointingEnabled ? "exponential-delay" : "none";
  if (type == "none" || type == "off" || type == "disable") return noRestart();
  if (type == "fixed-delay" || type == "fixeddelay") {
    return fixedDelay(config.get(kFixedDelayAttempts), config.get(kFixedDelayDelay).millis);
  }
  if (type == "failure-rate" || type == "failurerate") {
    return failureRate(config.get(kFailureRateMaxFailures), config.get(kFailureRateInterval).millis,
                       config.get(kFailureRateDelay).millis);
  }
  return exponentialDelay(config.get(kExponentialDelayInitialBackoff).millis,
                          config.get(kExponentialDelayMaxBackoff).millis,
                          config.get(kExponentialDelayBackoffMultiplier),
                          config.get(kExponentialDelayResetBackoffThreshold).millis,
                          config.get(kExponentialDelayJitterFactor),
                          config.get(kExponentialDelayAttempts));
}

}  // namespace sluice
