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
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/operator_state.h"

namespace sluice {

/// A job-wide component beside the subtasks of one operator (Flink's OperatorCoordinator);
/// sources use it to run their enumerator.
class OperatorCoordinator {
 public:
  virtual ~OperatorCoordinator() = default;
  virtual void start() {}
  virtual void close() {}
  /// Takes the coordinator's state for checkpoint `checkpointId` and, atomically with it,
  /// calls `triggerSubtasks` (which injects the barrier at the operator's subtasks), so every
  /// decision the coordinator made before its snapshot reaches the subtasks before the barrier
  /// and every later one after (Flink's OperatorCoordinator.checkpointCoordinator followed by
  /// the subtask trigger). Returns the serialized state (empty when stateless).
  virtual std::vector<uint8_t> checkpointCoordinator(int64_t checkpointId,
                                                     const std::function<void()>& triggerSubtasks) {
    (void)checkpointId;
    triggerSubtasks();
    return {};
  }
  /// Restores the state checkpointCoordinator returned; called before start().
  virtual void resetToCheckpoint(const std::vector<uint8_t>& state) { (void)state; }
};

/// Runs a source's enumerator and routes split requests and assignments between it and the
/// readers (Flink's SourceCoordinator). Thread-safe: readers call in from their task threads;
/// assignments travel to a reader as mails, so the reader receives them on its own thread.
template <typename SplitT>
class SourceCoordinator final : public OperatorCoordinator, public SplitEnumeratorContext<SplitT> {
 public:
  /// How a reader subtask receives enumerator decisions; the callbacks run on its task thread.
  struct ReaderGateway {
    Mailbox* mailbox = nullptr;
    std::function<void(std::vector<SplitT>)> addSplits;
    std::function<void()> noMoreSplits;
  };
  using EnumeratorFactory =
      std::function<std::unique_ptr<SplitEnumerator<SplitT>>(SplitEnumeratorContext<SplitT>&)>;

  SourceCoordinator(int parallelism, EnumeratorFactory factory)
      : parallelism_(parallelism), factory_(std::move(factory)), readers_(parallelism) {}

  void start() override {
    std::lock_guard lock(mutex_);
    enumerator_ = factory_(*this);
    if (restored_) {
      enumerator_->restoreState(std::move(*restored_));
      restored_.reset();
    }
    enumerator_->start();
  }
  /// The enumerator's unassigned splits, serialized (TypeSerializer<std::vector<SplitT>>).
  std::vector<uint8_t> checkpointCoordinator(
      int64_t checkpointId, const std::function<void()>& triggerSubtasks) override {
    if constexpr (Serializable<SplitT>) {
      std::lock_guard lock(mutex_);
      std::vector<SplitT> remaining = enumerator_->snapshotState(checkpointId);
      triggerSubtasks();
      DataOutputView out;
      TypeSerializer<std::vector<SplitT>>::serialize(remaining, out);
      return std::vector<uint8_t>(out.data(), out.data() + out.size());
    } else {
      (void)checkpointId;
      (void)triggerSubtasks;
      throw SluiceException("the source's splits have no TypeSerializer: it cannot checkpoint");
    }
  }
  void resetToCheckpoint(const std::vector<uint8_t>& state) override {
    if constexpr (Serializable<SplitT>) {
      restored_ = deserializeFromBytes<std::vector<SplitT>>(state.data(), state.size());
    } else {
      (void)state;
      throw SluiceException("the source's splits have no TypeSerializer: it cannot restore");
    }
  }
  void close() override {
    std::lock_guard lock(mutex_);
    if (enumerator_) enumerator_->close();
  }
  void registerReader(int subtask, ReaderGateway gateway) {
    std::lock_guard lock(mutex_);
    readers_[static_cast<size_t>(subtask)] = std::move(gateway);
    enumerator_->addReader(subtask);
  }
  void handleSplitRequest(int subtask) {
    std::lock_guard lock(mutex_);
    enumerator_->handleSplitRequest(subtask);
  }

  int currentParallelism() const override { return parallelism_; }
  void assignSplit(SplitT split, int subtask) override {
    ReaderGateway& g = readers_.at(static_cast<size_t>(subtask));
    g.mailbox->put([add = g.addSplits, s = std::move(split)]() mutable {
      std::vector<SplitT> splits;
      splits.push_back(std::move(s));
      add(std::move(splits));
    });
  }
  void signalNoMoreSplits(int subtask) override {
    ReaderGateway& g = readers_.at(static_cast<size_t>(subtask));
    g.mailbox->put(g.noMoreSplits);
  }

 private:
  std::mutex mutex_;
  int parallelism_;
  EnumeratorFactory factory_;
  std::unique_ptr<SplitEnumerator<SplitT>> enumerator_;
  std::vector<ReaderGateway> readers_;
  std::optional<std::vector<SplitT>> restored_;
};

/// Type-erased side of a source operator that the task's loop drives.
class SourceOperatorBase : public StreamOperatorBase {
 public:
  /// Lets the reader emit; the task calls this whenever it has no mail to run.
  virtual InputStatus emitNext() = 0;
  int numInputs() const override { return 0; }
};

/// Runs one SourceReader as the head of a source task's chain (Flink's SourceOperator).
template <typename T, typename SplitT>
class SourceOperator final : public SourceOperatorBase, public SourceReaderContext {
 public:
  SourceOperator(std::shared_ptr<const Source<T, SplitT>> source, WatermarkStrategy<T> strategy)
      : source_(std::move(source)), strategy_(std::move(strategy)) {}

  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    SourceOperatorBase::setup(context, output);
    mainOutput_ = static_cast<Output<T>*>(output);
    coordinator_ = static_cast<SourceCoordinator<SplitT>*>(context.coordinator);
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
    typename SourceCoordinator<SplitT>::ReaderGateway gateway;
    gateway.mailbox = context_.mailbox;
    gateway.addSplits = [this](std::vector<SplitT> splits) {
      callUserFunction(*this, [&] { reader_->addSplits(std::move(splits)); });
    };
    gateway.noMoreSplits = [this] {
      callUserFunction(*this, [&] { reader_->notifyNoMoreSplits(); });
    };
    coordinator_->registerReader(getIndexOfSubtask(), std::move(gateway));
    reader_->start();
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
    if constexpr (Serializable<SplitT>) {
      if (context_.restoredOperatorState != nullptr) {
        restoredSplits_ = splitsState().get();
      }
    }
  }
  /// Stores the reader's unfinished splits (snapshotState) in "SourceReaderState".
  OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp) override {
    if constexpr (Serializable<SplitT>) {
      std::vector<SplitT> splits =
          callUserFunction(*this, [&] { return reader_->snapshotState(checkpointId); });
      splitsState().update(splits);
    } else {
      throw SluiceException("the splits of source '" + nameWithSubtask() +
                            "' have no TypeSerializer: the source cannot take part in checkpoints");
    }
    return SourceOperatorBase::snapshotOperatorState(checkpointId, timestamp);
  }

  int getIndexOfSubtask() const override {
    return context_.runtimeContext->getIndexOfThisSubtask();
  }
  int currentParallelism() const override {
    return context_.runtimeContext->getNumberOfParallelSubtasks();
  }
  void sendSplitRequest() override { coordinator_->handleSplitRequest(getIndexOfSubtask()); }

 private:
  std::shared_ptr<const Source<T, SplitT>> source_;
  WatermarkStrategy<T> strategy_;
  std::unique_ptr<SourceWatermarks<T>> watermarks_;
  std::unique_ptr<SourceReader<T, SplitT>> reader_;
  Output<T>* mainOutput_ = nullptr;
  ReaderOutput<T> output_;
  SourceCoordinator<SplitT>* coordinator_ = nullptr;
  std::vector<SplitT> restoredSplits_;

  ListState<SplitT>& splitsState() {
    return getOperatorStateStore().getListState(ListStateDescriptor<SplitT>("SourceReaderState"));
  }
};

}  // namespace sluice
