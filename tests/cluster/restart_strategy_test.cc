// Restart strategies against hand-computed expectations from Flink's definitions: fixed-delay
// allows `attempts` restarts; failure-rate fails the job on the max-th failure within one
// interval; exponential-delay multiplies its backoff up to the maximum, resets after a quiet
// threshold and stays within its jitter; the configuration picks them with Flink's keys.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sluice/cluster/restart_strategy.h"
#include "sluice/core/exceptions.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

TEST(RestartStrategy, NoneNeverRestarts) {
  auto s = RestartStrategy::noRestart();
  s->notifyFailure(0);
  EXPECT_FALSE(s->canRestart());
}

TEST(RestartStrategy, FixedDelayAllowsExactlyItsAttempts) {
  auto s = RestartStrategy::fixedDelay(3, 250);
  for (int i = 1; i <= 3; ++i) {
    s->notifyFailure(i * 1000);
    EXPECT_TRUE(s->canRestart()) << "failure " << i;
    EXPECT_EQ(s->getBackoffTimeMillis(), 250);
  }
  s->notifyFailure(4000);
  EXPECT_FALSE(s->canRestart());
  auto zero = RestartStrategy::fixedDelay(0, 0);
  zero->notifyFailure(0);
  EXPECT_FALSE(zero->canRestart());
}

TEST(RestartStrategy, FailureRateFailsOnTheMaxthFailureWithinAnInterval) {
  auto s = RestartStrategy::failureRate(3, 1000, 10);
  s->notifyFailure(0);
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(400);
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(1500);  // 0, 400, 1500: spans more than the interval
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(1600);  // 400, 1500, 1600: span 1200 ms
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(1700);  // 1500, 1600, 1700: three within 1000 ms
  EXPECT_FALSE(s->canRestart());
  EXPECT_EQ(s->getBackoffTimeMillis(), 10);

  auto one = RestartStrategy::failureRate(1, 1000, 0);
  one->notifyFailure(5000);
  EXPECT_FALSE(one->canRestart());  // as Flink: max 1 per interval tolerates none
}

TEST(RestartStrategy, ExponentialDelayGrowsCapsAndResets) {
  auto s = RestartStrategy::exponentialDelay(100, 1000, 2.0, 10'000, 0.0, 100);
  std::vector<int64_t> backoffs;
  int64_t t = 0;
  for (int i = 0; i < 6; ++i) {
    s->notifyFailure(t += 50);
    ASSERT_TRUE(s->canRestart());
    backoffs.push_back(s->getBackoffTimeMillis());
  }
  EXPECT_EQ(backoffs, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  s->notifyFailure(t + 10'000);  // quiet for the reset threshold
  EXPECT_EQ(s->getBackoffTimeMillis(), 100);
}

TEST(RestartStrategy, ExponentialDelayJitterStaysWithinItsFraction) {
  auto s = RestartStrategy::exponentialDelay(1000, 1000, 1.5, 1'000'000, 0.1, 1000, 42);
  bool varied = false;
  for (int i = 0; i < 200; ++i) {
    s->notifyFailure(i);
    int64_t b = s->getBackoffTimeMillis();
    EXPECT_GE(b, 900);
    EXPECT_LE(b, 1000);  // capped at the maximum backoff
    varied = varied || b != 1000;
  }
  EXPECT_TRUE(varied);
}

TEST(RestartStrategy, ExponentialDelayAttemptsBeforeReset) {
  auto s = RestartStrategy::exponentialDelay(1, 10, 2.0, 1'000'000, 0.0, 2);
  s->notifyFailure(1);
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(2);
  EXPECT_TRUE(s->canRestart());
  s->notifyFailure(3);
  EXPECT_FALSE(s->canRestart());
}

TEST(RestartStrategy, ConfigurationSelectsWithFlinksKeys) {
  Configuration empty;
  EXPECT_EQ(RestartStrategy::fromConfiguration(empty, false)->describe(), "none");
  EXPECT_THAT(RestartStrategy::fromConfiguration(empty, true)->describe(),
              HasSubstr("exponential-delay"));

  Configuration fixed;
  fixed.set("restart-strategy.type", "FixedDelay");
  fixed.set("restart-strategy.fixed-delay.attempts", "4");
  fixed.set("restart-strategy.fixed-delay.delay", "2 s");
  auto s = RestartStrategy::fromConfiguration(fixed, true);
  EXPECT_EQ(s->describe(), "fixed-delay (attempts 4, delay 2000 ms)");

  Configuration legacy;  // Flink 1.x key
  legacy.set("restart-strategy", "failure-rate");
  legacy.set("restart-strategy.failure-rate.max-failures-per-interval", "2");
  EXPECT_THAT(RestartStrategy::fromConfiguration(legacy, false)->describe(),
              HasSubstr("failure-rate (max 2 failures per 60000 ms"));

  Configuration bad;
  bad.set("restart-strategy.type", "sometimes");
  EXPECT_THAT([&] { RestartStrategy::fromConfiguration(bad, false); },
              ::testing::ThrowsMessage<ConfigurationException>(HasSubstr("restart-strategy.type")));
  Configuration badMultiplier;
  badMultiplier.set("restart-strategy.exponential-delay.backoff-multiplier", "0.5");
  EXPECT_THAT([&] { RestartStrategy::fromConfiguration(badMultiplier, true); },
              ::testing::ThrowsMessage<ConfigurationException>(
                  HasSubstr("restart-strategy.exponential-delay.backoff-multiplier")));
}

}  // namespace
}  // namespace sluice
