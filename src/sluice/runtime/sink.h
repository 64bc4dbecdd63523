#pragma once

#include <memory>

#include "sluice/runtime/operator_state.h"
#include "sluice/runtime/stream_operator.h"

namespace sluice {

/// Per-record context of a sink write (Flink's SinkWriter.Context).
struct SinkContext {
  Timestamp timestamp = kNoTimestamp;  ///< the record's event time, if any
  Timestamp currentWatermark = kMinWatermark;
};

/// What a sink writer learns when it is created (Flink's WriterInitContext).
struct WriterInitContext {
  int subtaskIndex = 0;
  int parallelism = 1;
  ProcessingTimeService* processingTimeService = nullptr;
};

/// Writes records to an external system (Flink's Sink V2 SinkWriter). Runs on the task thread.
/// A writer that also derives from CheckpointedFunction gets operator state: its
/// initializeState() runs right after the writer is created, its snapshotState() at each
/// checkpoint (as Flink's BufferingSink example with a SinkFunction).
template <typename T>
class SinkWriter {
 public:
  virtual ~SinkWriter() = default;
  virtual void write(const T& value, const SinkContext& context) = 0;
  /// Flushes buffered data; `endOfInput` on the final flush of a bounded job.
  virtual void flush(bool endOfInput) { (void)endOfInput; }
  virtual void close() {}
};

/// A factory of one writer per subtask (Flink's Sink). Shared read-only by subtasks.
template <typename T>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const = 0;
};

/// Drives a SinkWriter as the last operator of a chain (Flink's SinkWriterOperator). The writer
/// is created in initializeState(), as Flink's.
template <typename T>
class SinkWriterOperator final : public OneInputStreamOperator<T, NoOutput> {
 public:
  explicit SinkWriterOperator(std::shared_ptr<const Sink<T>> sink) : sink_(std::move(sink)) {}

  void initializeState() override {
    WriterInitContext init;
    init.subtaskIndex = this->getRuntimeContext().getIndexOfThisSubtask();
    init.parallelism = this->getRuntimeContext().getNumberOfParallelSubtasks();
    init.processingTimeService = this->context_.processingTimeService;
    writer_ = callUserFunction(*this, [&] { return sink_->createWriter(init); });
    checkpointed_ = dynamic_cast<CheckpointedFunction*>(writer_.get());
    if (checkpointed_ != nullptr) {
      FunctionInitializationContext context(this->getOperatorStateStore(),
                                            this->context_.restoredOperatorState != nullptr);
      callUserFunction(*this, [&] { checkpointed_->initializeState(context); });
    }
  }
  OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp) override {
    if (checkpointed_ != nullptr) {
      FunctionSnapshotContext context(checkpointId, timestamp);
      callUserFunction(*this, [&] { checkpointed_->snapshotState(context); });
    }
    return OneInputStreamOperator<T, NoOutput>::snapshotOperatorState(checkpointId, timestamp);
  }
  void collect(const T& value, Timestamp timestamp) final { write(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { write(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    sinkContext_.currentWatermark = watermark.timestamp;
  }
  void finish() override {
    callUserFunction(*this, [&] { writer_->flush(true); });
  }
  void close() override {
    if (writer_) callUserFunction(*this, [&] { writer_->close(); });
  }

 private:
  void write(const T& value, Timestamp timestamp) {
    sinkContext_.timestamp = timestamp;
    callUserFunction(*this, [&] { writer_->write(value, sinkContext_); });
  }

  std::shared_ptr<const Sink<T>> sink_;
  std::unique_ptr<SinkWriter<T>> writer_;
  CheckpointedFunction* checkpointed_ = nullptr;  ///< writer_, if it is a CheckpointedFunction
  SinkContext sinkContext_;
};

}  // namespace sluice
