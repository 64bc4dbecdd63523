#pragma once

#include <memory>

#include "sluice/api/common/watermark_strategy.h"
#include "sluice/runtime/stream_operator.h"

namespace sluice {

/// assignTimestampsAndWatermarks(): gives records timestamps from the strategy's assigner and
/// generates watermarks from them, periodically every pipeline.auto-watermark-interval (Flink's
/// TimestampsAndWatermarksOperator). Watermarks and idleness from upstream are dropped, except
/// the final Long.MAX_VALUE watermark at end of input.
template <typename T>
class TimestampsAndWatermarksOperator final : public OneInputStreamOperator<T, T>,
                                              private WatermarkOutput {
 public:
  explicit TimestampsAndWatermarksOperator(WatermarkStrategy<T> strategy)
      : strategy_(std::move(strategy)) {}

  void open() override {
    ProcessingTimeService* time = this->context_.processingTimeService;
    generator_ =
        strategy_.createWatermarkGenerator([time] { return time->currentProcessingTime(); });
    if (this->context_.autoWatermarkIntervalMillis > 0) {
      time->scheduleAtFixedRate(this->context_.autoWatermarkIntervalMillis,
                                [this](int64_t) { generator_->onPeriodicEmit(*this); });
    }
  }
  void collect(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    if (watermark.timestamp == kMaxWatermark) {
      generator_->onPeriodicEmit(*this);
      emitWatermark(watermark);
    }
  }
  void processWatermarkStatus(bool) override {}

 private:
  void process(const T& value, Timestamp timestamp) {
    const auto& assigner = strategy_.timestampAssigner();
    if (assigner) {
      timestamp = callUserFunction(*this, [&] { return assigner(value, timestamp); });
    }
    this->output_->collect(value, timestamp);
    generator_->onEvent(value, timestamp, *this);
  }

  // WatermarkOutput
  void emitWatermark(Watermark watermark) override {
    markActive();
    if (watermark.timestamp > current_) {
      current_ = watermark.timestamp;
      this->output_->emitWatermark(watermark);
    }
  }
  void markIdle() override {
    if (!idle_) {
      idle_ = true;
      this->output_->emitWatermarkStatus(true);
    }
  }
  void markActive() override {
    if (idle_) {
      idle_ = false;
      this->output_->emitWatermarkStatus(false);
    }
  }

  WatermarkStrategy<T> strategy_;
  std::unique_ptr<WatermarkGenerator<T>> generator_;
  Timestamp current_ = kMinWatermark;
  bool idle_ = false;
};

}  // namespace sluice
