#pragma once

#include <string>
#include <vector>

#include "sluice/core/time.h"

namespace sluice {

/// Type-erased part of an operator's output: what does not depend on the record type.
/// Every output belongs to one task and is used only on its thread.
class OutputBase {
 public:
  virtual ~OutputBase() = default;
  /// Forwards a watermark downstream (to chained operators, or broadcast to every channel).
  virtual void emitWatermark(Watermark watermark) = 0;
  /// Forwards a change of watermark status: `idle` when the stream will send no watermarks for
  /// now, so that consumers no longer wait for it (Flink's WatermarkStatus).
  virtual void emitWatermarkStatus(bool idle) = 0;
};

/// Where an operator emits records of type T (Flink's Output<StreamRecord<T>>). A chained
/// downstream operator is itself an Output of its input type, so handing a record to the next
/// operator in a chain is a single virtual call with the value passed by reference: no copy, no
/// serialization (DESIGN "Records"). Outputs that feed the network serialize the value.
template <typename T>
class Output : public OutputBase {
 public:
  /// Emits `value` with event-time `timestamp` (kNoTimestamp when it has none). The value is
  /// only borrowed: the callee copies what it keeps.
  virtual void collect(const T& value, Timestamp timestamp) = 0;
};

/// Sends every record and watermark to several outputs, in order (Flink's
/// BroadcastingOutputCollector), when an operator feeds more than one consumer.
template <typename T>
class BroadcastingOutput final : public Output<T> {
 public:
  explicit BroadcastingOutput(std::vector<Output<T>*> outputs) : outputs_(std::move(outputs)) {}
  void collect(const T& value, Timestamp timestamp) override {
    for (auto* o : outputs_) o->collect(value, timestamp);
  }
  void emitWatermark(Watermark watermark) override {
    for (auto* o : outputs_) o->emitWatermark(watermark);
  }
  void emitWatermarkStatus(bool idle) override {
    for (auto* o : outputs_) o->emitWatermarkStatus(idle);
  }

 private:
  std::vector<Output<T>*> outputs_;
};

/// Swallows everything: the output of an operator whose results nobody consumes.
template <typename T>
class DiscardingOutput final : public Output<T> {
 public:
  void collect(const T&, Timestamp) override {}
  void emitWatermark(Watermark) override {}
  void emitWatermarkStatus(bool) override {}
};

/// Names a side output of type T (Flink's OutputTag): operators emit into it next to their main
/// output, and getSideOutput(tag) turns it into a stream. Tags are equal when their ids are.
template <typename T>
struct OutputTag {
  explicit OutputTag(std::string tagId) : id(std::move(tagId)) {}
  std::string id;
};

/// What user functions emit into (Flink's Collector): a final class so that the call from a
/// flatMap function inlines; it forwards to the operator's output with the timestamp of the
/// input record, as Flink's TimestampedCollector.
template <typename T>
class Collector final {
 public:
  explicit Collector(Output<T>* output = nullptr) : output_(output) {}
  void collect(const T& value) { output_->collect(value, timestamp_); }
  void setTimestamp(Timestamp timestamp) { timestamp_ = timestamp; }
  void setOutput(Output<T>* output) { output_ = output; }

 private:
  Output<T>* output_;
  Timestamp timestamp_ = kNoTimestamp;
};

}  // namespace sluice
