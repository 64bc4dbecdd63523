#pragma once

// The split-based source interfaces user code implements (Flink's FLIP-27 Source,
// SplitEnumerator, SourceReader) and what a reader emits into (ReaderOutput, SourceOutput,
// with per-split watermark generation). The runtime side (coordinator, operator) is
// runtime/source_operator.h.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/api/common/watermark_strategy.h"
#include "sluice/core/exceptions.h"

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

}  // namespace sluice
