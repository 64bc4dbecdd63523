#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/checkpoint/checkpoint_barrier_handler.h"
#include "sluice/checkpoint/checkpoint_state.h"
#include "sluice/network/input_gate.h"
#include "sluice/network/record_deserializer.h"
#include "sluice/network/record_writer.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/operator_event.h"
#include "sluice/runtime/source_operator.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/runtime/type_info.h"

namespace sluice {

/// Where one input channel of a task leads: which operator input, and its index among that
/// input's channels.
struct ChannelBinding {
  int inputIndex = 0;
  int channelInInput = 0;
};

/// How a task ended.
enum class TaskState { kCreated, kRunning, kFinished, kCanceled, kFailed };

/// One parallel subtask: an operator chain run by one thread with a mailbox (Flink's
/// StreamTask). Records, timers, split assignments and control actions all run on that thread,
/// so operators need no locks. The task owns its operators, their runtime contexts, its outputs,
/// record writers and input gate; result partitions belong to the job.
///
/// Checkpoints: a task with inputs hands the barriers, cancellation markers and ends of
/// partition of its channels to a CheckpointBarrierHandler (exactly-once: aligned, unaligned or
/// aligned with a timeout; at least once: tracked; see checkpoint_barrier_handler.h). When it
/// triggers, the task runs the checkpoint hook (operator snapshot, set by the executor), then
/// broadcasts the barrier on every output before any later record; when it aborts, the task runs
/// the abort hook and broadcasts a cancellation marker. A source task is triggered by
/// triggerCheckpointAsync() and does the same between two emitNext() calls.
///
/// Unaligned checkpoints (Flink's FLIP-76): the barrier goes out as a priority event ahead of
/// the buffers queued in the task's result subpartitions, which become the output channel state;
/// the partial elements held by the input deserializers at the snapshot and every buffer that
/// arrives on a channel before its barrier become the input channel state. The channel state
/// hook receives both once the last barrier arrived (see setChannelStateHook). A task restored
/// with setRestoredChannelState() first re-emits the restored output state, then replays the
/// restored input state through its deserializers, before any new input.
///
/// Built by the executor (single-threaded), then run() on the task's thread. cancel(),
/// triggerCheckpointAsync() and notifyCheckpoint*Async() are thread-safe.
class StreamTask final : private CheckpointBarrierTarget {
 public:
  /// Takes the snapshot of the chain for the barrier's checkpoint and acknowledges it; runs on
  /// the task thread, between records, before the barrier is forwarded.
  using CheckpointHook =
      std::function<void(const CheckpointBarrier& barrier, const CheckpointMetrics& metrics)>;
  /// Told (on the task thread) that checkpoint `checkpointId` was aborted at this task by its
  /// barriers (cancellation marker, or subsumed by a newer checkpoint): decline it. For an
  /// unaligned checkpoint this can follow its CheckpointHook; its channel state is then dropped
  /// and the ChannelStateHook is not called for it.
  using CheckpointAbortHook = std::function<void(int64_t checkpointId)>;
  /// Receives (on the task thread) the channel state of checkpoint `checkpointId` at this task
  /// once it is complete. See setChannelStateHook.
  using ChannelStateHook = std::function<void(int64_t checkpointId, TaskChannelState state)>;

  /// `bufferTimeoutMillis`: 0 flushes after every record, -1 only when buffers are full, else
  /// the flush period.
  StreamTask(TaskInfo info, TimerScheduler& scheduler, int ownerId, int64_t bufferTimeoutMillis);
  ~StreamTask() override;
  StreamTask(const StreamTask&) = delete;
  StreamTask& operator=(const StreamTask&) = delete;

  Mailbox& mailbox() { return mailbox_; }
  ProcessingTimeService& processingTimeService() { return timeService_; }
  const TaskInfo& taskInfo() const { return info_; }
  /// Operator `index` of the chain (0 is the head).
  /// Hands operator `index` its restored state (before setupOperator): every old subtask's
  /// keyed state (the backend keeps its key groups) and this subtask's redistributed operator
  /// state.
  void setRestoredState(int index, std::vector<KeyedStateSnapshot> keyed,
                        OperatorStateSnapshot operatorState) {
    restoredKeyed_[index] = std::move(keyed);
    restoredOperator_[index] = std::move(operatorState);
  }
  StreamOperatorBase* operatorAt(int index) {
    return operators_.at(static_cast<size_t>(index)).get();
  }

  /// Appends an operator to the chain (head first) with its own runtime context; returns it.
  StreamOperatorBase* addOperator(std::unique_ptr<StreamOperatorBase> op, const std::string& name);
  /// Wires operator `index`: calls its setup() with `output`, the gateway to its coordinator
  /// (null when it has none; must outlive the task) and the outputs of its side outputs by tag
  /// id.
  void setupOperator(int index, OutputBase* output, OperatorEventGateway* operatorEventGateway,
                     std::map<std::string, OutputBase*> sideOutputs = {});
  /// Delivers `event` from its coordinator to operator `index` of the chain: a mail that calls
  /// its handleOperatorEvent on the task thread (Flink's OperatorEventDispatcher). Thread-safe;
  /// dropped when the task has ended. Throws std::out_of_range for an index not in the chain.
  void dispatchOperatorEvent(int index, OperatorEvent event);
  /// Creates a writer into `partition`, owned by the task.
  RecordWriter& addRecordWriter(ResultPartition& partition);
  /// Keeps `output` alive as long as the task; returns it.
  OutputBase* adoptOutput(std::unique_ptr<OutputBase> output);
  /// Connects the head operator's inputs: `channels[i]` (with channelIndex() == i) is bound by
  /// `bindings[i]`, and `handlers[k]` feeds input k. The task's input gate owns the channels.
  void setInputs(std::vector<std::unique_ptr<InputChannel>> channels,
                 std::vector<ChannelBinding> bindings,
                 std::vector<std::unique_ptr<InputHandler>> handlers);

  /// The task's thread body. Never throws: the outcome is state() and failureMessage().
  void run();
  /// Stops the task from any thread; a blocked task wakes when the job also releases its
  /// partitions.
  void cancel();

  TaskState state() const { return state_.load(); }
  /// Why the task failed: names the operator and subtask and quotes the original error.
  const std::string& failureMessage() const { return failure_; }
  /// Whether a restart may cure the failure (isRecoverable of the error that failed the task).
  bool failureRecoverable() const { return failureRecoverable_; }
  /// pipeline.auto-watermark-interval handed to operators, ms.
  void setAutoWatermarkInterval(int64_t millis) { autoWatermarkIntervalMillis_ = millis; }
  /// Called (on the task thread) when the task fails, before it returns from run().
  void setFailureListener(std::function<void(StreamTask&)> listener) {
    failureListener_ = std::move(listener);
  }
  /// The runtime contexts of the chain's operators (accumulators, counters), for the job
  /// result; read after run() returned.
  std::vector<const RuntimeContext*> runtimeContexts() const;

  /// Exactly-once (the default: barriers aligned) or at-least-once (barriers tracked). Set
  /// before run().
  void setCheckpointingMode(CheckpointingMode mode) { checkpointingMode_ = mode; }
  CheckpointingMode checkpointingMode() const { return checkpointingMode_; }
  /// Whether periodic checkpoints are configured; reaches operators as
  /// StreamOperatorContext::checkpointingEnabled (two-phase-commit sinks commit at checkpoints
  /// then). Call before setupOperator().
  void setCheckpointingEnabled(bool enabled) { checkpointingEnabled_ = enabled; }
  /// The snapshot hook (see CheckpointHook); by default nothing is snapshotted and the barrier
  /// is only forwarded. Set before run(). An exception it throws fails the task.
  void setCheckpointHook(CheckpointHook hook) { checkpointHook_ = std::move(hook); }
  /// Called on the task thread once the chain has finished (every input ended, every operator
  /// finished and, if one requires it, the final checkpoint completed), before the end of
  /// partition goes out: the executor reports the task's final state to the checkpoint
  /// coordinator (FLIP-147). Not called when the task fails or is cancelled. Set before run().
  void setFinishedHook(std::function<void()> hook) { finishedHook_ = std::move(hook); }
  /// Called on the task thread when the task starts to wait for its final checkpoint (see
  /// StreamOperatorBase::requiresFinalCheckpoint): from then on its checkpoints are triggered
  /// with triggerCheckpointAsync(), as a source's. Set before run().
  void setWaitingForFinalCheckpointHook(std::function<void()> hook) {
    waitingHook_ = std::move(hook);
  }
  /// The decline hook (see CheckpointAbortHook); by default none. Set before run().
  void setCheckpointAbortHook(CheckpointAbortHook hook) { checkpointAbortHook_ = std::move(hook); }
  /// The channel state hook; by default none. Set before run(). For every checkpoint whose
  /// CheckpointHook ran at this task it is called exactly once, after it, unless the checkpoint
  /// is aborted at this task first (then the CheckpointAbortHook runs instead):
  /// - aligned checkpoints: right after the barrier was forwarded, with an empty state;
  /// - unaligned checkpoints (Flink's ChannelStateWriter result): a source task right after
  ///   forwarding the barrier (output state only); a task with inputs when every open input
  ///   channel delivered the barrier or ended — immediately for a single channel, later for
  ///   several, meanwhile the task keeps processing records.
  /// An acknowledgement of the checkpoint must wait for it: the snapshot is complete only with
  /// its channel state. An exception it throws fails the task.
  void setChannelStateHook(ChannelStateHook hook) { channelStateHook_ = std::move(hook); }
  /// Hands the task the channel state of the unaligned checkpoint it is restored from (call
  /// after setInputs() and addRecordWriter(), before run()). When it runs, the task first
  /// re-emits every restored output buffer into its result subpartition (before the operators
  /// are initialized, so before any new output), then feeds every restored input channel's bytes,
  /// channel by channel in ascending index order, through that channel's deserializer to the
  /// operators, and only then reads new input; the channel's deserializer carries a partial
  /// element over into the channel's new data. Channel state can only be restored into the
  /// same task layout it was taken from (same parallelism of this and the neighbouring
  /// vertices, same job graph), as the channels are matched by index; Flink instead rescales it
  /// with special rules, which Sluice does not support. The task fails with a SluiceException
  /// naming the channel when a restored channel does not exist here; a mismatch that does not
  /// show in the indices shows as a corrupt stream.
  void setRestoredChannelState(TaskChannelState state) { restoredChannelState_ = std::move(state); }

  /// Source tasks, and tasks waiting for their final checkpoint (every input ended): takes
  /// checkpoint `barrier.checkpointId` as a mail on the task thread, between two emitNext()
  /// calls: runs the checkpoint hook, then broadcasts the barrier on every output (Flink's
  /// StreamTask#triggerCheckpointAsync). A barrier not newer than the last one taken is
  /// ignored. Thread-safe. Returns false, and does nothing, when the task has ended or is a
  /// task with inputs that still runs them (its barriers come through its channels); a task
  /// that ends before the mail runs never takes the checkpoint (its final state stands in:
  /// CheckpointCoordinator::taskFinished).
  bool triggerCheckpointAsync(const CheckpointBarrier& barrier);
  /// Checkpoint `checkpointId` completed (every task acknowledged it): calls
  /// notifyCheckpointComplete on every operator of the chain, tail first as Flink, as a mail on
  /// the task thread. Thread-safe; dropped when the task ends first. An exception an operator
  /// throws fails the task.
  void notifyCheckpointCompleteAsync(int64_t checkpointId);
  /// Checkpoint `checkpointId` was aborted by the coordinator: notifyCheckpointAborted on every
  /// operator of the chain, as notifyCheckpointCompleteAsync.
  void notifyCheckpointAbortedAsync(int64_t checkpointId);
  /// The barrier handler of a task with inputs while it runs, else null. Task thread only (or
  /// after run() returned).
  const CheckpointBarrierHandler* barrierHandler() const { return barrierHandler_.get(); }

 private:
  struct Channel {
    ChannelBinding binding;
    RecordDeserializer deserializer;
    bool finished = false;
  };

  void invoke();
  void restoreOutputChannelState();
  void restoreInputChannelState();
  void runSourceLoop();
  void runInputLoop();
  void endOfChannel(Channel& channel);
  /// Serves mails (checkpoint triggers and notifications) until a checkpoint taken after the
  /// operators finished completes.
  void waitForFinalCheckpoint();
  void checkCancelled() const {
    if (cancelled_.load(std::memory_order_relaxed)) throw CancelTaskException();
  }
  void closeOperators() noexcept;
  /// Runs the checkpoint hook, then forwards the barrier on every output.
  void performCheckpoint(const CheckpointBarrier& barrier, const CheckpointMetrics& metrics);

  // CheckpointBarrierTarget, for the barrier handler.
  void blockChannel(int channel) override { gate_->blockChannel(channel); }
  void resumeChannels() override { gate_->resumeAllChannels(); }
  void triggerCheckpointOnBarrier(const CheckpointBarrier& barrier,
                                  const CheckpointMetrics& metrics) override {
    performCheckpoint(barrier, metrics);
  }
  void abortCheckpointOnBarrier(int64_t checkpointId) override;
  void persistInflightBuffer(int64_t checkpointId, int channel, const Buffer& buffer) override;
  void inputChannelStateComplete(int64_t checkpointId) override;
  void scheduleAlignmentTimeout(int64_t delayNanos) override;
  void completeChannelState(int64_t checkpointId, TaskChannelState state);

  TaskInfo info_;
  Mailbox mailbox_;
  ProcessingTimeService timeService_;
  int64_t bufferTimeoutMillis_;
  int64_t autoWatermarkIntervalMillis_ = 200;
  std::vector<std::unique_ptr<RuntimeContext>> contexts_;
  std::vector<std::unique_ptr<StreamOperatorBase>> operators_;
  // Restored state per operator index, kept alive while the operators live.
  std::map<int, std::vector<KeyedStateSnapshot>> restoredKeyed_;
  std::map<int, OperatorStateSnapshot> restoredOperator_;
  std::vector<std::unique_ptr<RecordWriter>> writers_;
  std::vector<std::unique_ptr<OutputBase>> outputs_;
  std::unique_ptr<InputGate> gate_;
  std::vector<Channel> channels_;
  std::vector<std::unique_ptr<InputHandler>> handlers_;
  std::vector<int> openChannelsPerInput_;
  int openChannels_ = 0;
  bool operatorsClosed_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<TaskState> state_{TaskState::kCreated};
  std::string failure_;
  bool failureRecoverable_ = true;
  std::function<void(StreamTask&)> failureListener_;
  CheckpointingMode checkpointingMode_ = CheckpointingMode::kExactlyOnce;
  bool checkpointingEnabled_ = false;
  CheckpointHook checkpointHook_;
  CheckpointAbortHook checkpointAbortHook_;
  ChannelStateHook channelStateHook_;
  TaskChannelState restoredChannelState_;
  // The unaligned checkpoint whose input channel state is being collected, or -1.
  int64_t collectingCheckpointId_ = -1;
  TaskChannelState collecting_;
  std::unique_ptr<CheckpointBarrierHandler> barrierHandler_;
  int64_t latestCheckpointId_ = -1;  // the last checkpoint this task took
  std::function<void()> finishedHook_;
  std::function<void()> waitingHook_;
  // FLIP-147: set (before the hook) when the task waits for its final checkpoint; the first
  // checkpoint taken while waiting; whether one of those completed.
  std::atomic<bool> waitingForFinalCheckpoint_{false};
  int64_t finalCheckpointId_ = -1;
  bool finalCheckpointCompleted_ = false;
};

}  // namespace sluice
