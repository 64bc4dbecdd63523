#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/api/common/runtime_context.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/time.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {

class OperatorEventGateway;
struct OperatorEvent;
class OperatorStateStore;
struct OperatorStateSnapshot;
class KeyedStateBackendBase;
struct KeyedStateSnapshot;

/// An exception thrown by user code, tagged with the operator and subtask it came from. It
/// passes unchanged through upstream operators of the same chain, so the job's error names the
/// operator whose function threw. Recoverable (a restart may help) unless the original was not
/// (isRecoverable: SuppressRestartsException, ConfigurationException).
class UserFunctionException : public WrappedException {
 public:
  UserFunctionException(const std::string& operatorWithSubtask, const std::string& what,
                        bool recoverable = true)
      : WrappedException("operator '" + operatorWithSubtask + "' threw: " + what, recoverable) {}
};

namespace detail {
/// The exception path of callUserFunction, out of line so that the call it wraps stays small
/// enough to inline into every record's path: rethrows the exception in flight, a
/// UserFunctionException or CancelTaskException unchanged, anything else as a
/// UserFunctionException naming `operatorWithSubtask` (keeping isRecoverable). Call only from
/// a catch handler.
[[noreturn]] void rethrowFromUserFunction(const std::string& operatorWithSubtask);
}  // namespace detail

/// Calls user code `fn(args...)`; an exception it throws becomes a UserFunctionException
/// naming `op`. Zero cost when nothing is thrown.
template <typename Op, typename Fn, typename... Args>
inline decltype(auto) callUserFunction(const Op& op, Fn&& fn, Args&&... args) {
  try {
    return std::forward<Fn>(fn)(std::forward<Args>(args)...);
  } catch (...) {
    detail::rethrowFromUserFunction(op.nameWithSubtask());
  }
}

/// What the runtime hands an operator at setup: its identity, processing time, mailbox and,
/// for operators with a coordinator (sources), the gateway to it. Owned by the task; valid
/// until the operator closes.
struct StreamOperatorContext {
  RuntimeContext* runtimeContext = nullptr;
  ProcessingTimeService* processingTimeService = nullptr;
  Mailbox* mailbox = nullptr;
  /// Sends events to the operator's OperatorCoordinator; null when it has none.
  OperatorEventGateway* operatorEventGateway = nullptr;
  /// pipeline.auto-watermark-interval: period of watermark generators, ms; 0 disables.
  int64_t autoWatermarkIntervalMillis = 200;
  /// Whether the job takes periodic checkpoints (execution.checkpointing.interval > 0; Flink's
  /// StreamingRuntimeContext#isCheckpointingEnabled). Two-phase-commit sinks (sink.h) defer
  /// making output visible to checkpoint completion only when it is set.
  bool checkpointingEnabled = false;
  /// Side outputs that have consumers, by tag id; each is an Output<X> of the tag's type.
  std::map<std::string, OutputBase*> sideOutputs;
  /// The operator state to restore (operator_state.h: this subtask's part of a checkpoint or
  /// savepoint, already redistributed with redistributeOperatorState), or null on a fresh
  /// start. Set before initializeState(); the task keeps it alive until the operator closes.
  const OperatorStateSnapshot* restoredOperatorState = nullptr;
  /// The keyed state to restore (keyed_state.h): snapshots whose key groups overlap this
  /// subtask's range (of any old parallelism: each key group is restored from the snapshot that
  /// holds it), or null on a fresh start. Set before initializeState(); kept alive by the task
  /// until the operator closes.
  const std::vector<KeyedStateSnapshot>* restoredKeyedState = nullptr;
};

/// The lifecycle every operator shares (Flink's StreamOperator): setup → initializeState →
/// open → process* → finish (may still emit) → close (must not emit). Never called
/// concurrently: everything runs on the task thread. One small interface; the typed inputs
/// come from OneInputStreamOperator / TwoInputStreamOperator, sources from SourceOperator.
class StreamOperatorBase {
 public:
  StreamOperatorBase() = default;
  StreamOperatorBase(const StreamOperatorBase&) = delete;
  StreamOperatorBase& operator=(const StreamOperatorBase&) = delete;
  virtual ~StreamOperatorBase();

  /// Wires the operator; `output` is an Output<OUT> of the operator's output type (null for
  /// sinks).
  virtual void setup(const StreamOperatorContext& context, OutputBase* output) {
    context_ = context;
    outputBase_ = output;
  }
  virtual void initializeState() {}
  virtual void open() {}
  /// Called when input `inputIndex` (0-based) has ended.
  virtual void endInput(int inputIndex) { (void)inputIndex; }
  /// Called once after every input ended: flush buffered results downstream.
  virtual void finish() {}
  /// Releases resources; must not emit. Also called after a failure or cancellation.
  virtual void close() {}
  /// Whether, with checkpointing enabled, the task must wait after finish() until a checkpoint
  /// taken after it completes before it ends (Flink's final checkpoint, FLIP-147): a
  /// two-phase-commit sink commits what it prepared at end of input only then, so a failure
  /// before that restores a checkpoint that replays the input into uncommitted output only.
  /// Default false: the task ends at once and its final state stands in for it in later
  /// checkpoints.
  virtual bool requiresFinalCheckpoint() const { return false; }

  /// Takes a snapshot of this subtask's operator state (non-keyed; operator_state.h) for
  /// checkpoint `checkpointId` triggered at `timestamp` (ms): operators with a
  /// CheckpointedFunction call its snapshotState first (Flink's
  /// StreamingFunctionUtils.snapshotFunctionState). The default snapshots the store of
  /// getOperatorStateStore() if the operator created one; otherwise it carries the restored
  /// state through unchanged, or is empty. Called on the task thread between records, after
  /// initializeState(). Throws what snapshotState throws (as UserFunctionException) and
  /// SluiceException when a state's type has no TypeSerializer.
  virtual OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp);

  /// Checkpoint `checkpointId` completed: every task acknowledged it (Flink's
  /// CheckpointListener#notifyCheckpointComplete; sinks commit here). Called on the task thread
  /// between records, at most once per checkpoint, possibly not at all (a later completion
  /// subsumes it). An exception fails the task. Default: nothing.
  virtual void notifyCheckpointComplete(int64_t checkpointId) { (void)checkpointId; }
  /// Checkpoint `checkpointId` was aborted (Flink's CheckpointListener#notifyCheckpointAborted):
  /// drop what was prepared for it. Same calling rules as notifyCheckpointComplete.
  virtual void notifyCheckpointAborted(int64_t checkpointId) { (void)checkpointId; }

  /// An event from the operator's OperatorCoordinator (Flink's
  /// OperatorEventHandler#handleOperatorEvent). Task thread, between records, after open(), in
  /// the order the coordinator sent them. An exception fails the task. The default throws
  /// SluiceException: the operator expects no events.
  virtual void handleOperatorEvent(const OperatorEvent& event);

  /// The typed entry for records of input `index`: an Output<IN> that runs this operator.
  virtual OutputBase* input(int index) {
    (void)index;
    return nullptr;
  }
  virtual int numInputs() const { return 1; }
  /// The keyed state backend of a keyed operator (every keyed state and timer, by key group:
  /// what checkpoints snapshot and rescaling redistributes), null for non-keyed operators.
  virtual KeyedStateBackendBase* keyedStateBackend() { return nullptr; }

  RuntimeContext& getRuntimeContext() const { return *context_.runtimeContext; }
  /// The output of side output `tag`, or null when nothing consumes it (then records emitted
  /// there are dropped, as in Flink). Look it up once (e.g. in open()), not per record.
  template <typename X>
  Output<X>* sideOutput(const OutputTag<X>& tag) const {
    auto it = context_.sideOutputs.find(tag.id);
    return it == context_.sideOutputs.end() ? nullptr : static_cast<Output<X>*>(it->second);
  }
  const StreamOperatorContext& context() const { return context_; }
  /// This subtask's operator state store (Flink's OperatorStateStore), created on the first
  /// call, restored (lazily) from context().restoredOperatorState when that is set. Call from
  /// initializeState() or later. Task thread only.
  OperatorStateStore& getOperatorStateStore();
  /// "Map (2/4)".
  std::string nameWithSubtask() const {
    return context_.runtimeContext == nullptr
               ? std::string("operator")
               : context_.runtimeContext->getTaskInfo().nameWithSubtask(
                     context_.runtimeContext->getOperatorName());
  }

 protected:
  StreamOperatorContext context_;
  OutputBase* outputBase_ = nullptr;

 private:
  std::unique_ptr<OperatorStateStore> operatorStateStore_;
};

/// An operator with one input of type IN and output OUT (Flink's OneInputStreamOperator). It is
/// the Output<IN> of its predecessor: records arrive through collect(), which calls
/// processElement(). Hot operators override collect() directly (final) to save a call.
template <typename IN, typename OUT>
class OneInputStreamOperator : public StreamOperatorBase, public Output<IN> {
 public:
  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    StreamOperatorBase::setup(context, output);
    output_ = static_cast<Output<OUT>*>(output);
  }
  /// Handles one record with its timestamp (kNoTimestamp when none).
  virtual void processElement(const IN& value, Timestamp timestamp) = 0;
  /// Handles a watermark; the default forwards it.
  virtual void processWatermark(Watermark watermark) {
    if (output_ != nullptr) output_->emitWatermark(watermark);
  }

  /// Handles a change of the input's watermark status; the default forwards it.
  virtual void processWatermarkStatus(bool idle) {
    if (output_ != nullptr) output_->emitWatermarkStatus(idle);
  }

  void collect(const IN& value, Timestamp timestamp) override { processElement(value, timestamp); }
  void emitWatermark(Watermark watermark) override { processWatermark(watermark); }
  void emitWatermarkStatus(bool idle) override { processWatermarkStatus(idle); }
  OutputBase* input(int) override { return static_cast<Output<IN>*>(this); }

 protected:
  Output<OUT>* output_ = nullptr;
};

/// An operator with two inputs (Flink's TwoInputStreamOperator), for connected streams. Its
/// event time is the minimum of the two inputs' watermarks, as Flink's.
template <typename IN1, typename IN2, typename OUT>
class TwoInputStreamOperator : public StreamOperatorBase {
 public:
  void setup(const StreamOperatorContext& context, OutputBase* output) override {
    StreamOperatorBase::setup(context, output);
    output_ = static_cast<Output<OUT>*>(output);
  }
  virtual void processElement1(const IN1& value, Timestamp timestamp) = 0;
  virtual void processElement2(const IN2& value, Timestamp timestamp) = 0;
  /// Combines the inputs' watermarks (an idle input does not hold the other back); forwards
  /// the minimum when it advances, as Flink's AbstractStreamOperator#processWatermark1/2.
  virtual void processWatermark(int input, Watermark watermark) {
    (input == 0 ? wm1_ : wm2_) = watermark.timestamp;
    advanceCombined();
  }
  /// Combines the inputs' statuses: idle only when both are idle.
  virtual void processWatermarkStatus(int input, bool idle) {
    (input == 0 ? idle1_ : idle2_) = idle;
    bool both = idle1_ && idle2_;
    if (both != idle_) {
      idle_ = both;
      if (output_ != nullptr) output_->emitWatermarkStatus(both);
    }
    if (!both) advanceCombined();
  }
  /// The operator's event time: the combined watermark of its inputs.
  Timestamp currentWatermark() const { return combined_; }
  OutputBase* input(int index) override {
    return index == 0 ? static_cast<OutputBase*>(&input1_) : static_cast<OutputBase*>(&input2_);
  }
  int numInputs() const override { return 2; }

 protected:
  Output<OUT>* output_ = nullptr;

 private:
  template <typename IN, int kIndex>
  struct InputAdapter final : Output<IN> {
    explicit InputAdapter(TwoInputStreamOperator* op) : op_(op) {}
    void collect(const IN& value, Timestamp timestamp) override {
      if constexpr (kIndex == 0) {
        op_->processElement1(value, timestamp);
      } else {
        op_->processElement2(value, timestamp);
      }
    }
    void emitWatermark(Watermark watermark) override { op_->processWatermark(kIndex, watermark); }
    void emitWatermarkStatus(bool idle) override { op_->processWatermarkStatus(kIndex, idle); }
    TwoInputStreamOperator* op_;
  };
  InputAdapter<IN1, 0> input1_{this};
  InputAdapter<IN2, 1> input2_{this};
  void advanceCombined() {
    Timestamp combined = idle1_ ? wm2_ : (idle2_ ? wm1_ : std::min(wm1_, wm2_));
    if (idle1_ && idle2_) return;
    if (combined > combined_) {
      combined_ = combined;
      if (output_ != nullptr) output_->emitWatermark(Watermark{combined});
    }
  }
  Timestamp wm1_ = kMinWatermark;
  Timestamp wm2_ = kMinWatermark;
  Timestamp combined_ = kMinWatermark;
  bool idle1_ = false;
  bool idle2_ = false;
  bool idle_ = false;
};

/// Empty output type of sinks.
struct NoOutput {};

}  // namespace sluice
