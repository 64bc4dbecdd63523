// Accumulators cross from the tasks to the JobMaster serialized (as between processes): the
// built-in counters and a registered user type round-trip and merge over subtasks; an
// unregistered or malformed one is refused naming its type.

#include <gtest/gtest.h>

#include <algorithm>

#include "sluice/testing/captured_log.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

TEST(AccumulatorSerialization, BuiltInCountersRoundTrip) {
  LongCounter l;
  l.add(-5);
  l.add(1LL << 40);
  IntCounter i;
  i.add(7);
  DoubleCounter d;
  d.add(0.25);
  auto l2 = deserializeAccumulator(serializeAccumulator(l));
  auto i2 = deserializeAccumulator(serializeAccumulator(i));
  auto d2 = deserializeAccumulator(serializeAccumulator(d));
  EXPECT_EQ(dynamic_cast<LongCounter&>(*l2).getLocalValue(), (1LL << 40) - 5);
  EXPECT_EQ(dynamic_cast<IntCounter&>(*i2).getLocalValue(), 7);
  EXPECT_EQ(dynamic_cast<DoubleCounter&>(*d2).getLocalValue(), 0.25);
  EXPECT_EQ(serializeAccumulator(l).typeName, "LongCounter");
}

TEST(AccumulatorSerialization, UnknownTypeAndMalformedBytesAreRefused) {
  try {
    deserializeAccumulator({"NoSuchAccumulator", {}});
    FAIL();
  } catch (const SerializationException& e) {
    EXPECT_NE(std::string(e.what()).find("'NoSuchAccumulator'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(deserializeAccumulator({"LongCounter", {1, 2, 3}}), SerializationException);
  EXPECT_THROW(deserializeAccumulator({"IntCounter", {1, 2, 3, 4, 5}}), SerializationException);
}

// A user accumulator: the maximum seen.
class MaxAccumulator final : public Accumulator {
 public:
  void add(int64_t v) { max_ = std::max(max_, v); }
  int64_t value() const { return max_; }
  void merge(const Accumulator& other) override {
    max_ = std::max(max_, dynamic_cast<const MaxAccumulator&>(other).max_);
  }
  std::unique_ptr<Accumulator> clone() const override {
    return std::make_unique<MaxAccumulator>(*this);
  }
  std::string toString() const override { return std::to_string(max_); }
  std::string typeName() const override { return "test.MaxAccumulator"; }
  void serialize(DataOutputView& out) const override { out.writeRaw<int64_t>(max_); }

 private:
  int64_t max_ = INT64_MIN;
};

struct TrackMax : RichMapFunction<int64_t, int64_t> {
  MaxAccumulator* max = nullptr;
  void open(RuntimeContext& ctx) override {
    ctx.addAccumulator("max", std::make_unique<MaxAccumulator>());
    max = static_cast<MaxAccumulator*>(ctx.getAccumulator("max"));
  }
  int64_t map(const int64_t& v) override {
    max->add(v);
    return v;
  }
};

JobExecutionResult runMaxJob() {
  auto env = testing::makeEnv(3);
  env->fromSequence(1, 999)
      .rebalance()
      .map(TrackMax{})
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  return env->execute("max accumulator");
}

TEST(AccumulatorSerialization, UserTypeMergesOverSubtasksOnceRegistered) {
  {
    // Not registered: left out of the result, and the log says which and why.
    testing::CapturedLog log;
    JobExecutionResult result = runMaxJob();
    EXPECT_EQ(result.getAllAccumulatorResults().count("max"), 0u);
    EXPECT_NE(log.text().find("no reader for accumulator type 'test.MaxAccumulator'"),
              std::string::npos)
        << log.text();
  }
  registerAccumulatorType("test.MaxAccumulator", [](DataInputView& in) {
    auto acc = std::make_unique<MaxAccumulator>();
    acc->add(in.readRaw<int64_t>());
    return acc;
  });
  JobExecutionResult result = runMaxJob();
  ASSERT_EQ(result.getAllAccumulatorResults().count("max"), 1u);
  EXPECT_EQ(result.getAllAccumulatorResults().at("max")->toString(), "999");
}

}  // namespace
}  // namespace sluice
