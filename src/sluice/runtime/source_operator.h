#pragma once

// The runtime side of FLIP-27 sources: OperatorCoordinator, SourceCoordinator (runs the split
// enumerator) and SourceOperator (runs a reader in a task). The interfaces user code implements
// are in api/common/source.h.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/api/common/source.h"
#include "sluice/core/type_serializer.h"
#include "sluice/runtime/operator_coordinator.h"
#include "sluice/runtime/source_events.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/operator_state.h"

namespace sluice {

/// Runs a source's enumerator and routes split requests and assignments between it and the
/// readers as source events (source_events.h; Flink's SourceCoordinator). Thread-safe: events
/// from readers and checkpoints may come from any thread; the enumerator's callbacks are
/// serialized under one lock. Assignments reach a reader through its SubtaskGateway, in order,
/// on the reader's task thread.
template <typename SplitT>
class SourceCoordinator final : public OperatorCoordinator, public SplitEnumeratorContext<SplitT> {
  static_assert(
      Serializable<SplitT>,
      "a Source's split type needs a sluice::TypeSerializer: splits travel to the readers "
      "as serialized operator events and are stored in checkpoints (Flink requires the "
      "split serializer for the same reason)");

 public:
  using EnumeratorFactory =
      std::function<std::unique_ptr<SplitEnumerator<SplitT>>(SplitEnumeratorContext<SplitT>&)>;

  SourceCoordinator(int parallelism, EnumeratorFactory factory)
      : parallelism_(parallelism), factory_(std::move(factory)), readers_(parallelism) {}

  void executionAttemptReady(int subtask, int attemptNumber,
                             std::shared_ptr<SubtaskGateway> gateway) override {
    (void)attemptNumber;
    std::lock_guard lock(mutex_);
    readers_.at(static_cast<size_t>(subtask)) = std::move(gateway);
  }
  void start() override {
    std::lock_guard lock(mutex_);
    enumerator_ = factory_(*this);
    if (restored_) {
      enumerator_->restoreState(std::move(*restored_));
      restored_.reset();
    }
    enumerator_->start();
  }
  /// Reader registration (SplitEnumerator::addReader) and split requests
  /// (SplitEnumerator::handleSplitRequest). Throws SerializationException for other events.
  void handleEventFromOperator(int subtask, const OperatorEvent& event) override {
    std::lock_guard lock(mutex_);
    switch (sourceEventKind(event)) {
      case SourceEventKind::kReaderRegistration:
        enumerator_->addReader(subtask);
        break;
      case SourceEventKind::kRequestSplit:
        enumerator_->handleSplitRequest(subtask);
        break;
      default:
        throw SerializationException("source coordinator: subtask " + std::to_string(subtask) +
                                     " sent an event meant for readers");
    }
  }
  /// The enumerator's unassigned splits, serialized (TypeSerializer<std::vector<SplitT>>).
  std::vector<uint8_t> checkpointCoordinator(
      int64_t checkpointId, const std::function<void()>& triggerSubtasks) override {
    std::lock_guard lock(mutex_);
    std::vector<SplitT> remaining = enumerator_->snapshotState(checkpointId);
    triggerSubtasks();
    DataOutputView out;
    TypeSerializer<std::vector<SplitT>>::serialize(remaining, out);
    return std::vector<uint8_t>(out.data(), out.data() + out.size());
  }
  void resetToCheckpoint(const std::vector<uint8_t>& state) override {
    restored_ = deserializeFromBytes<std::vector<SplitT>>(state.data(), state.size());
  }
  void close() override {
    std::lock_guard lock(mutex_);
    if (enumerator_) enumerator_->close();
  }

  int currentParallelism() const override { return parallelism_; }
  /// Sends `split` to reader `subtask` as an AddSplits event. Throws SluiceException when the
  /// subtask is not deployed.
  void assignSplit(SplitT split, int subtask) override {
    std::vector<SplitT> splits;
    splits.push_back(std::move(split));
    reader(subtask).sendEvent(addSplitsEvent(splits));
  }
  void signalNoMoreSplits(int subtask) override {
    reader(subtask).sendEvent(sourceEvent(SourceEventKind::kNoMoreSplits));
  }

 private:
  std::mutex mutex_;
  int parallelism_;
  EnumeratorFactory factory_;
  std::unique_ptr<SplitEnumerator<SplitT>> enumerator_;
  std::vector<std::shared_ptr<SubtaskGateway>> readers_;  // by subtask
  std::optional<std::vector<SplitT>> restored_;

  SubtaskGateway& reader(int subtask) {  // called with mutex_ held, from the enumerator
    if (subtask < 0 || subtask >= parallelism_ || !readers_[static_cast<size_t>(subtask)]) {
      throw SluiceException("source coordinator: no reader subtask " + std::to_string(subtask) +
                            " (parallelism " + std::to_string(parallelism_) + ")");
    }
    return *readers_[static_cast<size_t>(subtask)];
  }
};

/// Type-erased side of a source operator that the task's loop drives.
class SourceOperatorBase : public StreamOperatorBase {
 public:
  /// Lets the reader emit; the task calls this whenever it has no mail to run.
  virtual InputStatus emitNext() = 0;
  int numInputs() const override { return 0; }
};

/// Runs one SourceReader as the head of a source task's chain (Flink's SourceOperator). It
/// reaches its SourceCoordinator only by operator events: it registers in open(), asks for
/// splits with sendSplitRequest(), and receives splits in handleOperatorEvent() (on the task
/// thread, between records).
template <typename T, typename SplitT>
class SourceOperator final : public SourceOperatorBase, public SourceReaderContext {
  static_assert(Serializable<SplitT>, "a Source's split type needs a sluice::TypeSerializer");

 public:
  SourceOperator(std::shared_ptr<const Source<T, SplitT>> source, WatermarkStrategy<T> strategy)
      : source_(std::move(source)), strategy_(std::move(strategy)) {}

  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    SourceOperatorBase::setup(context, output);
    mainOutput_ = static_cast<Output<T>*>(output);
    coordinator_ = context.operatorEventGateway;
    if (coordinator_ == nullptr) {
      throw SluiceException("source '" + nameWithSubtask() + "' has no coordinator gateway");
    }
  }
  void open() override {
    ProcessingTimeService* time = context_.processingTimeService;
    if (strategy_.generatesWatermarks()) {
      watermarks_ = std::make_unique<SourceWatermarks<T>>(
          strategy_, mainOutput_, [time] { return time->currentProcessingTime(); });
      if (context_.autoWatermarkIntervalMillis > 0) {
        time->scheduleAtFixedRate(context_.autoWatermarkIntervalMillis,
                                  [w = watermarks_.get()](int64_t) { w->onPeriodicEmit(); });
      }
    }
    output_ = ReaderOutput<T>(mainOutput_, &context_.sideOutputs, watermarks_.get());
    reader_ = source_->createReader(*this);
    if (!restoredSplits_.empty()) {
      callUserFunction(*this, [&] { reader_->addSplits(std::move(restoredSplits_)); });
      restoredSplits_.clear();
    }
    coordinator_->sendEventToCoordinator(sourceEvent(SourceEventKind::kReaderRegistration));
    reader_->start();
  }
  /// AddSplits and NoMoreSplits from the coordinator, handed to the reader. Throws
  /// SerializationException for another event, and what the reader throws.
  void handleOperatorEvent(const OperatorEvent& event) override {
    switch (sourceEventKind(event)) {
      case SourceEventKind::kAddSplits: {
        std::vector<SplitT> splits = splitsOfEvent<SplitT>(event);
        callUserFunction(*this, [&] { reader_->addSplits(std::move(splits)); });
        break;
      }
      case SourceEventKind::kNoMoreSplits:
        callUserFunction(*this, [&] { reader_->notifyNoMoreSplits(); });
        break;
      default:
        throw SerializationException("source '" + nameWithSubtask() +
                                     "' received an event meant for its coordinator");
    }
  }
  InputStatus emitNext() override {
    InputStatus status = callUserFunction(*this, [&] { return reader_->pollNext(output_); });
    if (status == InputStatus::kEndOfInput) {
      if (watermarks_) watermarks_->finish();
      // A finished source lets every event-time timer downstream fire (as Flink).
      mainOutput_->emitWatermark(Watermark{kMaxWatermark});
    }
    return status;
  }
  void close() override {
    if (reader_) reader_->close();
  }

  /// Restores the splits this subtask held at the checkpoint (operator list state
  /// "SourceReaderState", even-split redistributed on rescaling, as Flink's SourceOperator);
  /// the reader gets them in open(), before it asks the enumerator for more.
  void initializeState() override {
    if (context_.restoredOperatorState != nullptr) restoredSplits_ = splitsState().get().toVector();
  }
  /// Stores the reader's unfinished splits (snapshotState) in "SourceReaderState".
  OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp) override {
    std::vector<SplitT> splits =
        callUserFunction(*this, [&] { return reader_->snapshotState(checkpointId); });
    splitsState().update(splits);
    return SourceOperatorBase::snapshotOperatorState(checkpointId, timestamp);
  }

  int getIndexOfSubtask() const override {
    return context_.runtimeContext->getIndexOfThisSubtask();
  }
  int currentParallelism() const override {
    return context_.runtimeContext->getNumberOfParallelSubtasks();
  }
  void sendSplitRequest() override {
    coordinator_->sendEventToCoordinator(sourceEvent(SourceEventKind::kRequestSplit));
  }

 private:
  std::shared_ptr<const Source<T, SplitT>> source_;
  WatermarkStrategy<T> strategy_;
  std::unique_ptr<SourceWatermarks<T>> watermarks_;
  std::unique_ptr<SourceReader<T, SplitT>> reader_;
  Output<T>* mainOutput_ = nullptr;
  ReaderOutput<T> output_;
  OperatorEventGateway* coordinator_ = nullptr;
  std::vector<SplitT> restoredSplits_;

  ListState<SplitT>& splitsState() {
    return getOperatorStateStore().getListState(ListStateDescriptor<SplitT>("SourceReaderState"));
  }
};

}  // namespace sluice
