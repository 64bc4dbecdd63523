#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/type_serializer.h"
#include "sluice/runtime/operator_state.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/runtime/watermark_strategy.h"

namespace sluice {

/// Whether a source ends (Flink's Boundedness).
enum class Boundedness { kBounded, kContinuousUnbounded };

/// What SourceReader::pollNext reports (Flink's InputStatus).
enum class InputStatus {
  kMoreAvailable,     ///< call pollNext again soon
  kNothingAvailable,  ///< wait for a mail (e.g. a split assignment) before polling again
  kEndOfInput,        ///< the reader is done for good
};

/// Event time of one source subtask (Flink's SourceOperator watermark handling with
/// ProgressiveTimestampsAndWatermarks): timestamps from the strategy's assigner, one watermark
/// generator per split (or one for records emitted without a split), and the subtask's
/// watermark = minimum over its non-idle splits, emitted when it advances; idle when all are.
/// Task thread only.
template <typename T>
class SourceWatermarks {
 public:
  /// Watermark state of one split (or of the reader's main output).
  struct SplitState final : WatermarkOutput {
    std::unique_ptr<WatermarkGenerator<T>> generator;
    Timestamp watermark = kMinWatermark;
    bool idle = false;
    bool changed = false;
    void emitWatermark(Watermark w) override {
      if (w.timestamp > watermark) {
        watermark = w.timestamp;
        changed = true;
      }
      markActive();
    }
    void markIdle() override {
      if (!idle) changed = true;
      idle = true;
    }
    void markActive() override {
      if (idle) changed = true;
      idle = false;
    }
  };

  SourceWatermarks(WatermarkStrategy<T> strategy, Output<T>* output, std::function<int64_t()> clock)
      : strategy_(std::move(strategy)), output_(output), clock_(std::move(clock)) {
    // The main generator exists from the start, so a subtask that never emits still holds event
    // time back — until its idleness timeout marks it idle (as Flink).
    main_.generator = strategy_.createWatermarkGenerator(clock_);
  }

  /// Timestamp of a record: from the assigner, else the one it carries.
  Timestamp assign(const T& value, Timestamp recordTimestamp) const {
    const auto& assigner = strategy_.timestampAssigner();
    return assigner ? assigner(value, recordTimestamp) : recordTimestamp;
  }
  /// Emits a record of `split` to `output` with its assigned timestamp, then lets the split's
  /// generator see it: the record goes first, so that a watermark the generator emits does not
  /// overtake it (as Flink).
  void emit(Output<T>* output, SplitState& split, const T& value, Timestamp recordTimestamp) {
    Timestamp timestamp = assign(value, recordTimestamp);
    output->collect(value, timestamp);
    split.generator->onEvent(value, timestamp, split);
    if (split.changed) update();
  }
  /// At end of input: a last periodic emission, and active again if idle, so that the final
  /// watermark that follows is not ignored downstream (as Flink).
  void finish() {
    onPeriodicEmit();
    if (idle_) {
      idle_ = false;
      output_->emitWatermarkStatus(false);
    }
  }
  /// Runs every generator's periodic emission and forwards progress.
  void onPeriodicEmit() {
    main_.generator->onPeriodicEmit(main_);
    for (auto& [id, s] : splits_) s.generator->onPeriodicEmit(s);
    update();
  }
  SplitState& main() {
    mainUsed_ = true;
    return main_;
  }
  SplitState& split(const std::string& splitId) {
    auto [it, fresh] = splits_.try_emplace(splitId);
    if (fresh) it->second.generator = strategy_.createWatermarkGenerator(clock_);
    return it->second;
  }
  void releaseSplit(const std::string& splitId) {
    splits_.erase(splitId);
    update();
  }

 private:
  void update() {
    Timestamp min = kMaxWatermark;
    bool anyActive = false;
    // The main output counts unless the reader works with split outputs only.
    bool countMain = mainUsed_ || splits_.empty();
    auto visit = [&](SplitState& s) {
      s.changed = false;
      if (s.idle) return;
      anyActive = true;
      if (s.watermark < min) min = s.watermark;
    };
    if (countMain) visit(main_);
    for (auto& [id, s] : splits_) visit(s);
    if (!anyActive) {
      if (!idle_) {
        idle_ = true;
        output_->emitWatermarkStatus(true);
      }
      return;
    }
    if (idle_) {
      idle_ = false;
      output_->emitWatermarkStatus(false);
    }
    if (min > emitted_) {
      emitted_ = min;
      output_->emitWatermark(Watermark{min});
    }
  }

  WatermarkStrategy<T> strategy_;
  Output<T>* output_;
  std::function<int64_t()> clock_;
  SplitState main_;
  bool mainUsed_ = false;
  std::map<std::string, SplitState> splits_;
  Timestamp emitted_ = kMinWatermark;
  bool idle_ = false;
};

template <typename T>
class ReaderOutput;

/// The output of one split (Flink's SourceOutput): records emitted here drive that split's
/// watermark generator. Obtained from ReaderOutput::createOutputForSplit.
template <typename T>
class SourceOutput final {
 public:
  SourceOutput(Output<T>* output, SourceWatermarks<T>* watermarks,
               typename SourceWatermarks<T>::SplitState* split)
      : output_(output), watermarks_(watermarks), split_(split) {}
  void collect(const T& value) { collect(value, kNoTimestamp); }
  void collect(const T& value, Timestamp timestamp) {
    if (watermarks_ == nullptr) {
      output_->collect(value, timestamp);
    } else {
      watermarks_->emit(output_, *split_, value, timestamp);
    }
  }

 private:
  Output<T>* output_;
  SourceWatermarks<T>* watermarks_;
  typename SourceWatermarks<T>::SplitState* split_;
};

/// Where a source reader emits (Flink's ReaderOutput). Final, so the call inlines into the
/// reader's loop; one virtual call reaches the first chained operator. With a watermark
/// strategy, records get their timestamps here and feed the watermark generators.
template <typename T>
class ReaderOutput final {
 public:
  explicit ReaderOutput(Output<T>* output = nullptr,
                        const std::map<std::string, OutputBase*>* sideOutputs = nullptr,
                        SourceWatermarks<T>* watermarks = nullptr)
      : output_(output), sideOutputs_(sideOutputs), watermarks_(watermarks) {}
  void collect(const T& value) { collect(value, kNoTimestamp); }
  /// Emits `value` with event time `timestamp` (ms since epoch); a timestamp assigner of the
  /// source's watermark strategy replaces it.
  void collect(const T& value, Timestamp timestamp) {
    if (watermarks_ == nullptr) {
      output_->collect(value, timestamp);
    } else {
      watermarks_->emit(output_, watermarks_->main(), value, timestamp);
    }
  }
  void emitWatermark(Watermark watermark) { output_->emitWatermark(watermark); }
  /// An output whose records drive the watermark generator of split `splitId` (Flink's
  /// createOutputForSplit); valid until releaseOutputForSplit(splitId).
  SourceOutput<T> createOutputForSplit(const std::string& splitId) {
    if (watermarks_ == nullptr) return SourceOutput<T>(output_, nullptr, nullptr);
    return SourceOutput<T>(output_, watermarks_, &watermarks_->split(splitId));
  }
  /// The split is finished: its watermark no longer holds the subtask back.
  void releaseOutputForSplit(const std::string& splitId) {
    if (watermarks_ != nullptr) watermarks_->releaseSplit(splitId);
  }
  /// Emits `value` to side output `tag` (e.g. bad records); dropped when nothing consumes it.
  template <typename X>
  void collect(const OutputTag<X>& tag, const X& value, Timestamp timestamp = kNoTimestamp) {
    if (sideOutputs_ == nullptr) return;
    auto it = sideOutputs_->find(tag.id);
    if (it != sideOutputs_->end()) static_cast<Output<X>*>(it->second)->collect(value, timestamp);
  }
  /// Whether side output `tag` has a consumer.
  bool hasSideOutput(const std::string& tagId) const {
    return sideOutputs_ != nullptr && sideOutputs_->count(tagId) > 0;
  }

 private:
  Output<T>* output_;
  const std::map<std::string, OutputBase*>* sideOutputs_;
  SourceWatermarks<T>* watermarks_;
};

/// The reader's view of its subtask and of the enumerator (Flink's SourceReaderContext).
class SourceReaderContext {
 public:
  virtual ~SourceReaderContext() = default;
  virtual int getIndexOfSubtask() const = 0;
  virtual int currentParallelism() const = 0;
  /// Asks the enumerator for a split; it answers later with addSplits() or
  /// notifyNoMoreSplits(), delivered through the task's mailbox.
  virtual void sendSplitRequest() = 0;
};

/// Reads records from the splits it is assigned, step-wise and without blocking (Flink's
/// FLIP-27 SourceReader). All methods run on the task thread.
template <typename T, typename SplitT>
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  virtual void start() {}
  /// Emits zero or more records (a bounded batch, so that mails are served in between) and says
  /// whether more are available now. Throwing fails the job with the source's name.
  virtual InputStatus pollNext(ReaderOutput<T>& output) = 0;
  virtual void addSplits(std::vector<SplitT> splits) = 0;
  virtual void notifyNoMoreSplits() = 0;
  /// The splits this reader holds and has not finished, each advanced to the first record not
  /// yet emitted (Flink's SourceReader.snapshotState): a restored reader given these splits
  /// emits exactly the records this one had not. Called on the task thread between pollNext
  /// calls, when a checkpoint is taken. The default throws SluiceException: a reader that
  /// cannot say where it is cannot take part in checkpoints.
  virtual std::vector<SplitT> snapshotState(int64_t checkpointId) {
    (void)checkpointId;
    throw SluiceException(
        "this source's reader does not support checkpoints: it does not implement "
        "snapshotState()");
  }
  virtual void close() {}
};

/// The enumerator's view of the readers (Flink's SplitEnumeratorContext). Call its methods only
/// from within the enumerator's own callbacks.
template <typename SplitT>
class SplitEnumeratorContext {
 public:
  virtual ~SplitEnumeratorContext() = default;
  virtual int currentParallelism() const = 0;
  virtual void assignSplit(SplitT split, int subtask) = 0;
  virtual void signalNoMoreSplits(int subtask) = 0;
};

/// Discovers splits and hands them to readers (Flink's SplitEnumerator). One per source per
/// job; its callbacks are serialized by the coordinator (never concurrent).
template <typename SplitT>
class SplitEnumerator {
 public:
  virtual ~SplitEnumerator() = default;
  virtual void start() {}
  virtual void handleSplitRequest(int subtask) = 0;
  virtual void addReader(int subtask) { (void)subtask; }
  /// The splits not assigned yet (Flink's SplitEnumerator.snapshotState), for checkpoint
  /// `checkpointId`. The default throws SluiceException: the source cannot checkpoint.
  virtual std::vector<SplitT> snapshotState(int64_t checkpointId) {
    (void)checkpointId;
    throw SluiceException("this source's split enumerator does not support checkpoints");
  }
  /// Replaces the splits still to assign with those of a checkpoint; called after creation,
  /// before start() (Flink's Source.restoreEnumerator). The default throws SluiceException.
  virtual void restoreState(std::vector<SplitT> remaining) {
    (void)remaining;
    throw SluiceException("this source's split enumerator cannot be restored from a checkpoint");
  }
  virtual void close() {}
};

/// A split-based source (Flink's FLIP-27 Source): a factory of one enumerator and of one reader
/// per subtask. Shared read-only by all subtasks, so its methods are const.
template <typename T, typename SplitT>
class Source {
 public:
  using OutputType = T;
  using SplitType = SplitT;
  virtual ~Source() = default;
  virtual Boundedness getBoundedness() const = 0;
  virtual std::unique_ptr<SplitEnumerator<SplitT>> createEnumerator(
      SplitEnumeratorContext<SplitT>& context) const = 0;
  virtual std::unique_ptr<SourceReader<T, SplitT>> createReader(
      SourceReaderContext& context) const = 0;
};

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
