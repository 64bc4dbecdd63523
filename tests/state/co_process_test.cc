// CoProcessFunction on connected streams and KeyedCoProcessFunction on two connected keyed
// streams (keyed state shared by both inputs, timers), whole jobs against brute force.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "sluice/api/broadcast_stream.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace co_process_test {

using ::testing::HasSubstr;
using Order = std::pair<int32_t, int64_t>;    // (key, order id); timestamp = order id
using Payment = std::pair<int32_t, int64_t>;  // (key, amount); timestamp = amount
using Result = std::pair<int32_t, int64_t>;

/// Tags the first input's values positive and the second's negative; values of the second input
/// above 50 also go to a side output.
struct Tagger : CoProcessFunction<int64_t, int64_t, int64_t> {
  static inline const OutputTag<int64_t> kLarge{"large"};
  void processElement1(const int64_t& v, Context&, Collector<int64_t>& out) override {
    out.collect(v);
  }
  void processElement2(const int64_t& v, Context& ctx, Collector<int64_t>& out) override {
    out.collect(-v);
    if (v > 50) ctx.output(kLarge, v);
  }
};

/// Registers a timer, which needs keyed streams.
struct TimerOnNonKeyed : CoProcessFunction<int64_t, int64_t, int64_t> {
  void processElement1(const int64_t&, Context& ctx, Collector<int64_t>&) override {
    ctx.timerService().registerEventTimeTimer(10);
  }
  void processElement2(const int64_t&, Context&, Collector<int64_t>&) override {}
};

/// Joins each payment with its key's order, whichever arrives first (payments before the
/// order are buffered in ListState); when the watermark passes the order's timestamp + 1000,
/// emits (key, -number of payments joined).
struct OrderPaymentJoin : KeyedCoProcessFunction<int32_t, Order, Payment, Result> {
  void processElement1(const Order& o, Context& ctx, Collector<Result>& out) override {
    getState(ValueStateDescriptor<int64_t>("order")).update(o.second);
    auto& buffered = getListState(ListStateDescriptor<int64_t>("buffered"));
    for (int64_t amount : buffered.get()) emit(ctx.getCurrentKey(), o.second, amount, out);
    buffered.clear();
    ctx.timerService().registerEventTimeTimer(o.second + 1000);
  }
  void processElement2(const Payment& p, Context& ctx, Collector<Result>& out) override {
    if (auto order = getState(ValueStateDescriptor<int64_t>("order")).value()) {
      emit(ctx.getCurrentKey(), *order, p.second, out);
    } else {
      getListState(ListStateDescriptor<int64_t>("buffered")).add(p.second);
    }
  }
  void onTimer(Timestamp timestamp, OnTimerContext& ctx, Collector<Result>& out) override {
    EXPECT_EQ(ctx.timeDomain(), TimeDomain::kEventTime);
    EXPECT_EQ(ctx.timestamp(), std::optional<Timestamp>(timestamp));
    auto& joined = getState(ValueStateDescriptor<int64_t>("joined"));
    out.collect({ctx.getCurrentKey(), -joined.value().value_or(0)});
  }

 private:
  void emit(int32_t key, int64_t order, int64_t amount, Collector<Result>& out) {
    auto& joined = getState(ValueStateDescriptor<int64_t>("joined"));
    joined.update(joined.value().value_or(0) + 1);
    out.collect({key, order * 1000 + amount});
  }
};

class CoProcessJob : public ::testing::TestWithParam<int> {};

TEST_P(CoProcessJob, CoProcessFunctionSeesBothInputsAndSideOutputs) {
  std::vector<int64_t> a, b;
  for (int64_t i = 0; i < 500; ++i) a.push_back(i);
  for (int64_t i = 0; i < 100; ++i) b.push_back(i);
  auto env = testing::makeEnv(GetParam());
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  auto side = std::make_shared<testing::CollectSink<int64_t>>();
  auto processed = env->fromCollection(a)
                       .rebalance()
                       .connect(env->fromCollection(b).rebalance())
                       .process(Tagger{});
  processed.sinkTo(sink);
  processed.getSideOutput(Tagger::kLarge).sinkTo(side);
  env->execute();
  std::vector<int64_t> expected = a, expectedSide;
  for (int64_t v : b) {
    expected.push_back(-v);
    if (v > 50) expectedSide.push_back(v);
  }
  auto got = sink->values();
  auto gotSide = side->values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  std::sort(gotSide.begin(), gotSide.end());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(gotSide, expectedSide);
}

TEST_P(CoProcessJob, TimersOnNonKeyedCoProcessFail) {
  auto env = testing::makeEnv(GetParam());
  env->fromElements<int64_t>({1, 2})
      .connect(env->fromElements<int64_t>({3}))
      .process(TimerOnNonKeyed{})
      .sinkTo(std::make_shared<testing::CollectSink<int64_t>>());
  try {
    env->execute();
    FAIL() << "a timer on a non-keyed co-process function was accepted";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("Setting timers is only supported on keyed streams"));
  }
}

TEST_P(CoProcessJob, KeyedCoProcessJoinsByKeyWithStateAndTimers) {
  std::vector<Order> orders;
  std::vector<Payment> payments;
  std::map<int32_t, int64_t> orderOf;
  std::map<int32_t, int64_t> paymentsOf;
  std::vector<Result> expected;
  for (int32_t k = 0; k < 300; ++k) {
    int64_t order = 10 * k + 5;
    orders.emplace_back(k, order);
    orderOf[k] = order;
  }
  // Payments with timestamps around the orders': some arrive before their order, some after.
  for (int64_t i = 0; i < 3000; ++i) {
    int32_t k = static_cast<int32_t>((i * 7) % 300);
    payments.emplace_back(k, i);
    ++paymentsOf[k];
    expected.emplace_back(k, orderOf[k] * 1000 + i);
  }
  for (auto& [k, n] : paymentsOf) expected.emplace_back(k, -n);
  for (int32_t k = 0; k < 300; ++k) {
    if (!paymentsOf.count(k)) expected.emplace_back(k, 0);
  }

  auto env = testing::makeEnv(GetParam());
  auto strategy = WatermarkStrategy<std::pair<int32_t, int64_t>>::forMonotonousTimestamps()
                      .withTimestampAssigner([](const auto& e) { return e.second; });
  auto sink = std::make_shared<testing::CollectSink<Result>>();
  auto key = [](const std::pair<int32_t, int64_t>& e) { return e.first; };
  auto orderStream = env->fromCollection(orders).assignTimestampsAndWatermarks(strategy).keyBy(key);
  auto paymentStream =
      env->fromCollection(payments).assignTimestampsAndWatermarks(strategy).keyBy(key);
  orderStream.connect(paymentStream).process(OrderPaymentJoin{}).sinkTo(sink);
  env->execute();
  auto got = sink->values();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, CoProcessJob, ::testing::Values(1, 4));

}  // namespace co_process_test
}  // namespace sluice
