#include <gtest/gtest.h>

#include <mutex>

#include "sluice/api/data_stream.h"

namespace sluice {
namespace {

template <typename T>
class CollectSink final : public Sink<T> {
 public:
  explicit CollectSink(std::shared_ptr<std::vector<T>> out) : out_(std::move(out)) {}
  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>(out_, mutex_);
  }

 private:
  struct Writer final : SinkWriter<T> {
    Writer(std::shared_ptr<std::vector<T>> out, std::shared_ptr<std::mutex> m) : out_(out), m_(m) {}
    void write(const T& v, const SinkContext&) override {
      std::lock_guard l(*m_);
      out_->push_back(v);
    }
    std::shared_ptr<std::vector<T>> out_;
    std::shared_ptr<std::mutex> m_;
  };
  std::shared_ptr<std::vector<T>> out_;
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

TEST(Smoke, SequenceMapKeyBySum) {
  Configuration conf;
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(conf);
  env->setParallelism(2);
  auto out = std::make_shared<std::vector<std::pair<int64_t, int64_t>>>();
  env->fromSequence(1, 1000)
      .map([](const int64_t& v) { return std::pair<int64_t, int64_t>(v % 10, v); })
      .keyBy([](const std::pair<int64_t, int64_t>& p) { return p.first; })
      .sum<1>()
      .sinkTo(std::make_shared<CollectSink<std::pair<int64_t, int64_t>>>(out));
  env->execute("smoke");
  ASSERT_EQ(out->size(), 1000u);
  std::map<int64_t, int64_t> finalSums;
  for (auto& [k, v] : *out) finalSums[k] = std::max(finalSums[k], v);
  for (int64_t k = 0; k < 10; ++k) {
    int64_t expect = 0;
    for (int64_t v = 1; v <= 1000; ++v)
      if (v % 10 == k) expect += v;
    EXPECT_EQ(finalSums[k], expect) << k;
  }
}

}  // namespace
}  // namespace sluice
