#pragma once

// Test harnesses that run one operator outside a job, as Flink's
// OneInputStreamOperatorTestHarness and TwoInputStreamOperatorTestHarness: the test feeds
// records, watermarks and processing time, reads what the operator emitted (records with
// timestamps, watermarks, watermark statuses and side outputs), takes snapshots of its keyed and
// operator state, restores a fresh operator from them (at another parallelism too), and tells it
// that checkpoints completed or were aborted.
//
// Processing time is a ManualClock. Timers go through the real runtime path (TimerScheduler
// thread → the harness's Mailbox → run on the test thread), and setProcessingTime() runs every
// timer that is due, deterministically: see drainDueTimers(). Nothing runs behind the test's
// back: mails run only inside setProcessingTime()/advanceProcessingTime()/runDueTimers(), on the
// calling thread, so operator state needs no locks and the test sees a fixed interleaving.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/api/common/runtime_context.h"
#include "sluice/core/clock.h"
#include "sluice/core/exceptions.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/state/operator_state.h"

namespace sluice::testing {

/// A record an operator emitted, with its timestamp (Flink's StreamRecord).
template <typename T>
struct StreamRecord {
  T value;
  Timestamp timestamp = kNoTimestamp;
  friend bool operator==(const StreamRecord&, const StreamRecord&) = default;
  friend std::ostream& operator<<(std::ostream& os, const StreamRecord& r) {
    os << "StreamRecord{";
    if constexpr (requires { os << r.value; }) {
      os << r.value;
    } else {
      os << "?";
    }
    return os << " @" << r.timestamp << "}";
  }
};

/// A change of watermark status an operator emitted.
struct WatermarkStatus {
  bool idle = false;
  friend bool operator==(const WatermarkStatus&, const WatermarkStatus&) = default;
};

/// Records everything emitted into it, in order. Test thread only.
template <typename T>
class RecordingOutput final : public Output<T> {
 public:
  using Element = std::variant<StreamRecord<T>, Watermark, WatermarkStatus>;
  void collect(const T& value, Timestamp timestamp) override {
    elements.emplace_back(StreamRecord<T>{value, timestamp});
  }
  void emitWatermark(Watermark watermark) override { elements.emplace_back(watermark); }
  void emitWatermarkStatus(bool idle) override { elements.emplace_back(WatermarkStatus{idle}); }

  /// Records from element `from` on.
  std::vector<StreamRecord<T>> records(size_t from = 0) const {
    std::vector<StreamRecord<T>> out;
    for (size_t i = from; i < elements.size(); ++i) {
      if (auto* r = std::get_if<StreamRecord<T>>(&elements[i])) out.push_back(*r);
    }
    return out;
  }

  std::vector<Element> elements;
};

/// Identity of the subtask the harness plays.
struct HarnessConfig {
  int parallelism = 1;
  int subtask = 0;
  int maxParallelism = 128;
  std::string operatorName = "TestOperator";
  /// pipeline.auto-watermark-interval handed to the operator; 0 disables periodic watermarks.
  int64_t autoWatermarkIntervalMillis = 0;
  /// Keyed state to restore at open() (snapshots of a previous run, any parallelism).
  std::vector<KeyedStateSnapshot> restoredKeyedState = {};
  /// Operator state to restore at open() (this subtask's part: see redistributeOperatorState).
  std::optional<OperatorStateSnapshot> restoredOperatorState = {};
};

/// What a checkpoint takes of one operator subtask (Flink's OperatorSubtaskState, without
/// channel state): its keyed state (empty for a non-keyed operator) and its operator state.
struct OperatorSubtaskSnapshot {
  KeyedStateSnapshot keyedState;
  OperatorStateSnapshot operatorState;
};

/// What the one- and two-input harnesses share: the operator's identity, processing time,
/// outputs, snapshots and checkpoint notifications (Flink's AbstractStreamOperatorTestHarness).
/// Lifecycle: construct, declareSideOutput() for each side output the test reads, optionally
/// initializeState(snapshot), open() (setup → initializeState → open; the first process call
/// opens implicitly), process*, snapshot() / notifyCheckpointComplete(), endInput() (finish),
/// close(). Test thread only.
template <typename Op, typename OUT>
class AbstractStreamOperatorTestHarness {
 public:
  using Operator = Op;
  using Factory = std::function<std::unique_ptr<Operator>()>;
  using Element = typename RecordingOutput<OUT>::Element;

  explicit AbstractStreamOperatorTestHarness(
      std::unique_ptr<Operator> op, HarnessConfig config = {},
      std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(0))
      : config_(std::move(config)),
        clock_(std::move(clock)),
        scheduler_(std::make_unique<TimerScheduler>(clock_)),
        timeService_(
            std::make_unique<ProcessingTimeService>(*scheduler_, mailbox_, kOperatorOwner)),
        op_(std::move(op)) {
    if (!op_) throw SluiceException("operator test harness: no operator");
    TaskInfo info;
    info.taskName = config_.operatorName;
    info.indexOfSubtask = config_.subtask;
    info.numberOfParallelSubtasks = config_.parallelism;
    info.maxNumberOfParallelSubtasks = config_.maxParallelism;
    runtimeContext_ = std::make_unique<RuntimeContext>(info, config_.operatorName);
  }
  ~AbstractStreamOperatorTestHarness() {
    if (opened_ && !closed_) {
      try {
        op_->close();
      } catch (...) {
        // A destructor must not throw; close() reports errors to tests that call it.
      }
    }
    // No timer may reach the mailbox or run after this point.
    timeService_->cancelAll();
    scheduler_->shutdown();
  }
  AbstractStreamOperatorTestHarness(const AbstractStreamOperatorTestHarness&) = delete;
  AbstractStreamOperatorTestHarness& operator=(const AbstractStreamOperatorTestHarness&) = delete;

  /// Gives the operator a consumer for side output `tag` (before open()); without it, what the
  /// operator emits there is dropped, as in a job where nothing consumes the tag.
  template <typename X>
  void declareSideOutput(const OutputTag<X>& tag) {
    if (opened_) throw SluiceException("declareSideOutput() must come before open()");
    auto out = std::make_unique<RecordingOutput<X>>();
    sideOutputPointers_[tag.id] = out.get();
    sideOutputs_[tag.id] = std::move(out);
  }

  /// Restores `snapshot` (of this operator's previous run; keyed state of any parallelism,
  /// operator state already this subtask's part) when the operator opens. Before open() only.
  void initializeState(const OperatorSubtaskSnapshot& snapshot) {
    if (opened_) throw SluiceException("initializeState() must come before open()");
    config_.restoredKeyedState.clear();
    if (!snapshot.keyedState.keyGroups.empty() || !snapshot.keyedState.stateMetaInfo.empty()) {
      config_.restoredKeyedState.push_back(snapshot.keyedState);
    }
    config_.restoredOperatorState = snapshot.operatorState;
  }

  /// setup → initializeState → open.
  void open() {
    if (opened_) return;
    opened_ = true;
    StreamOperatorContext context;
    context.runtimeContext = runtimeContext_.get();
    context.processingTimeService = timeService_.get();
    context.mailbox = &mailbox_;
    context.autoWatermarkIntervalMillis = config_.autoWatermarkIntervalMillis;
    context.sideOutputs = sideOutputPointers_;
    if (!config_.restoredKeyedState.empty())
      context.restoredKeyedState = &config_.restoredKeyedState;
    if (config_.restoredOperatorState)
      context.restoredOperatorState = &*config_.restoredOperatorState;
    op_->setup(context, &output_);
    op_->initializeState();
    op_->open();
  }

  /// Sets processing time to `millis` (never backwards) and runs every timer due by then, in
  /// timestamp order, including timers that those timers register for times <= `millis`.
  void setProcessingTime(int64_t millis) {
    open();
    clock_->setTime(millis);
    drainDueTimers(millis);
  }
  void advanceProcessingTime(int64_t millis) {
    setProcessingTime(clock_->currentTimeMillis() + millis);
  }
  /// Runs timers registered for the current time or earlier since the last call.
  void runDueTimers() { setProcessingTime(clock_->currentTimeMillis()); }
  int64_t processingTime() const { return clock_->currentTimeMillis(); }

  /// Calls finish(): the operator flushes what it buffers (Flink's endInput + finish).
  void endInput() {
    open();
    op_->finish();
  }
  void close() {
    open();
    if (closed_) return;
    closed_ = true;
    op_->close();
    timeService_->cancelAll();
  }

  /// Records emitted since the last extractOutput() (and clears them from later extractions).
  std::vector<StreamRecord<OUT>> extractOutput() {
    auto out = output_.records(extracted_);
    extracted_ = output_.elements.size();
    return out;
  }
  /// Values emitted since the last extractOutput().
  std::vector<OUT> extractOutputValues() {
    std::vector<OUT> out;
    for (auto& r : extractOutput()) out.push_back(std::move(r.value));
    return out;
  }
  /// Everything emitted so far, in order: records, watermarks, statuses.
  const std::vector<Element>& output() const { return output_.elements; }
  /// Watermarks emitted so far.
  std::vector<Timestamp> watermarks() const {
    std::vector<Timestamp> out;
    for (const auto& e : output_.elements) {
      if (auto* w = std::get_if<Watermark>(&e)) out.push_back(w->timestamp);
    }
    return out;
  }
  /// Records emitted to side output `tag` since the last call for it.
  template <typename X>
  std::vector<StreamRecord<X>> extractSideOutput(const OutputTag<X>& tag) {
    auto it = sideOutputs_.find(tag.id);
    if (it == sideOutputs_.end()) {
      throw SluiceException("side output '" + tag.id + "' was not declared");
    }
    auto* out = dynamic_cast<RecordingOutput<X>*>(it->second.get());
    if (out == nullptr) throw SluiceException("side output '" + tag.id + "' has another type");
    size_t& from = sideExtracted_[tag.id];
    auto records = out->records(from);
    from = out->elements.size();
    return records;
  }

  Operator& getOperator() { return *op_; }
  /// What a checkpoint `checkpointId` taken now (at `timestamp`, ms) stores of the operator:
  /// its keyed state (every key group of this subtask) and its operator state, as the task's
  /// synchronous snapshot takes them. Throws what the operator's snapshotState throws.
  OperatorSubtaskSnapshot snapshot(int64_t checkpointId = 1, int64_t timestamp = 0) {
    open();
    OperatorSubtaskSnapshot out;
    if (KeyedStateBackendBase* backend = op_->keyedStateBackend()) {
      out.keyedState = backend->snapshot();
    }
    out.operatorState = op_->snapshotOperatorState(checkpointId, timestamp);
    return out;
  }
  /// Checkpoint `checkpointId` completed (StreamOperatorBase::notifyCheckpointComplete).
  void notifyCheckpointComplete(int64_t checkpointId) {
    open();
    op_->notifyCheckpointComplete(checkpointId);
  }
  /// Checkpoint `checkpointId` was aborted.
  void notifyCheckpointAborted(int64_t checkpointId) {
    open();
    op_->notifyCheckpointAborted(checkpointId);
  }
  /// Snapshot of the operator's keyed state (every key group of this subtask), as a checkpoint
  /// takes it. Throws SluiceException for a non-keyed operator.
  KeyedStateSnapshot snapshotKeyedState() {
    open();
    KeyedStateBackendBase* backend = op_->keyedStateBackend();
    if (backend == nullptr) throw SluiceException("snapshotKeyedState(): not a keyed operator");
    return backend->snapshot();
  }
  ManualClock& clock() { return *clock_; }
  RuntimeContext& runtimeContext() { return *runtimeContext_; }
  Mailbox& mailbox() { return mailbox_; }

 protected:
  static constexpr int kOperatorOwner = 1;
  static constexpr int kProbeOwner = 2;

  // The TimerScheduler thread posts due timers to the mailbox in timestamp order (ties in
  // registration order). A probe timer registered for `now` is therefore posted after every
  // timer registered before it for a time <= now. Each round registers a probe and runs mails
  // until the probe ran; timers run in a round may register new timers <= now, which the next
  // round's probe orders after them. A round in which only the probe ran proves that nothing
  // is due: no polling of time, no sleeps.
  void drainDueTimers(int64_t now) {
    for (;;) {
      auto reached = std::make_shared<bool>(false);
      scheduler_->schedule(now, kProbeOwner, &mailbox_, [reached](int64_t) { *reached = true; });
      int ran = 0;
      while (!*reached) {
        mailbox_.waitForMailOrInput();
        ran += mailbox_.runAll();
      }
      if (ran == 1) return;
    }
  }

  HarnessConfig config_;
  std::shared_ptr<ManualClock> clock_;
  Mailbox mailbox_;
  std::unique_ptr<TimerScheduler> scheduler_;
  std::unique_ptr<ProcessingTimeService> timeService_;
  std::unique_ptr<RuntimeContext> runtimeContext_;
  RecordingOutput<OUT> output_;
  std::map<std::string, std::unique_ptr<OutputBase>> sideOutputs_;
  std::map<std::string, OutputBase*> sideOutputPointers_;
  std::map<std::string, size_t> sideExtracted_;
  size_t extracted_ = 0;
  std::unique_ptr<Operator> op_;
  bool opened_ = false;
  bool closed_ = false;
};

/// Runs one OneInputStreamOperator<IN, OUT> (Flink's OneInputStreamOperatorTestHarness; for a
/// keyed operator it is also the KeyedOneInputStreamOperatorTestHarness: the operator selects
/// keys itself).
template <typename IN, typename OUT>
class OneInputStreamOperatorTestHarness
    : public AbstractStreamOperatorTestHarness<OneInputStreamOperator<IN, OUT>, OUT> {
  using Base = AbstractStreamOperatorTestHarness<OneInputStreamOperator<IN, OUT>, OUT>;

 public:
  using Base::Base;
  using typename Base::Factory;
  OneInputStreamOperatorTestHarness(
      const Factory& factory, HarnessConfig config = {},
      std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(0))
      : Base(factory(), std::move(config), std::move(clock)) {}

  void processElement(const IN& value, Timestamp timestamp = kNoTimestamp) {
    this->open();
    this->op_->processElement(value, timestamp);
  }
  void processWatermark(Timestamp timestamp) {
    this->open();
    this->op_->processWatermark(Watermark{timestamp});
  }
  void processWatermarkStatus(bool idle) {
    this->open();
    this->op_->processWatermarkStatus(idle);
  }
};

/// Runs one TwoInputStreamOperator<IN1, IN2, OUT> (Flink's TwoInputStreamOperatorTestHarness):
/// records and watermarks per input; the operator's event time is the minimum of its inputs'.
template <typename IN1, typename IN2, typename OUT>
class TwoInputStreamOperatorTestHarness
    : public AbstractStreamOperatorTestHarness<TwoInputStreamOperator<IN1, IN2, OUT>, OUT> {
  using Base = AbstractStreamOperatorTestHarness<TwoInputStreamOperator<IN1, IN2, OUT>, OUT>;

 public:
  using Base::Base;
  using typename Base::Factory;
  TwoInputStreamOperatorTestHarness(
      const Factory& factory, HarnessConfig config = {},
      std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(0))
      : Base(factory(), std::move(config), std::move(clock)) {}

  void processElement1(const IN1& value, Timestamp timestamp = kNoTimestamp) {
    this->open();
    this->op_->processElement1(value, timestamp);
  }
  void processElement2(const IN2& value, Timestamp timestamp = kNoTimestamp) {
    this->open();
    this->op_->processElement2(value, timestamp);
  }
  /// A watermark on input `input` (0 or 1).
  void processWatermark(int input, Timestamp timestamp) {
    this->open();
    this->op_->processWatermark(input, Watermark{timestamp});
  }
  void processWatermark1(Timestamp timestamp) { processWatermark(0, timestamp); }
  void processWatermark2(Timestamp timestamp) { processWatermark(1, timestamp); }
  /// Input `input` (0 or 1) turns idle or active again.
  void processWatermarkStatus(int input, bool idle) {
    this->open();
    this->op_->processWatermarkStatus(input, idle);
  }
};

}  // namespace sluice::testing
