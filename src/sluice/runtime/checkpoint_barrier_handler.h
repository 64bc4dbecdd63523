#pragma once

// Checkpoint barrier handling of a task with inputs (Flink's CheckpointBarrierHandler and its two
// implementations SingleCheckpointBarrierHandler — aligned — and CheckpointBarrierTracker — at
// least once), after Carbone et al., "Lightweight Asynchronous Snapshots for Distributed
// Dataflows" (2015). The handler sees every barrier, cancellation marker and end of partition
// of the task's input channels, in the order the task polls them, and decides when the task
// takes its snapshot. It never touches records: it blocks and resumes channels through its
// target and counts the data buffers the task reports while an alignment is in progress.
//
// Unaligned checkpoints (barriers overtake in-flight data, which is persisted as channel state;
// Flink's FLIP-76) are not implemented yet. The extension point is a third implementation
// behind CheckpointBarrierHandler::create(): on the first barrier it would trigger at once,
// have the task forward the barrier ahead of its output buffers (a priority event in the
// subpartitions), and hand every buffer that arrives on a channel before that channel's barrier
// to the target for persisting (a new CheckpointBarrierTarget::persistInflightBuffer, feeding
// SubtaskCheckpointState::inputChannelState in checkpoint_state.h). Until then a barrier flagged
// `unaligned` is aligned like any other, which is consistent, only slower under backpressure.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sluice/network/events.h"
#include "sluice/runtime/checkpoint_config.h"  // CheckpointingMode

namespace sluice {

/// What a task measured about one checkpoint's barriers (Flink's CheckpointMetrics, the part
/// the barrier handler knows).
struct CheckpointMetrics {
  /// From the first barrier of the checkpoint at this task to the trigger, ns. In
  /// exactly-once mode the time channels were held back; in at-least-once mode the spread of
  /// the barriers' arrivals (nothing was held back). 0 for single-channel inputs and sources.
  int64_t alignmentDurationNanos = 0;
  /// Bytes and buffers of data the task processed from not yet aligned channels during the
  /// alignment (exactly-once only; 0 in at-least-once mode).
  int64_t bytesProcessedDuringAlignment = 0;
  int64_t buffersProcessedDuringAlignment = 0;
  /// Whether the checkpoint was taken unaligned (always false for now).
  bool unaligned = false;

  int64_t alignmentDurationMillis() const { return alignmentDurationNanos / 1000000; }
};

/// What a barrier handler acts on: the task's input gate and the task itself (Flink's
/// CheckpointableInput and CheckpointableTask). Called synchronously from the handler's
/// process* methods, on the task thread.
class CheckpointBarrierTarget {
 public:
  virtual ~CheckpointBarrierTarget() = default;
  /// Holds back `channel`: its later buffers stay queued until resumeChannels().
  virtual void blockChannel(int channel) = 0;
  /// Releases every held-back channel.
  virtual void resumeChannels() = 0;
  /// Every open channel delivered `barrier`: take the snapshot and forward the barrier.
  virtual void triggerCheckpointOnBarrier(const CheckpointBarrier& barrier,
                                          const CheckpointMetrics& metrics) = 0;
  /// Checkpoint `checkpointId` is abandoned at this task (cancellation marker, or subsumed by
  /// a newer barrier): tell downstream (cancellation marker) and the coordinator.
  virtual void abortCheckpointOnBarrier(int64_t checkpointId) = 0;
};

/// Decides, from the barriers, cancellation markers and ends of partition of a task's input
/// channels (all inputs together, numbered as the task's input gate numbers them), when the task
/// snapshots. Create one with create(); feed it every such event in the order the task polls
/// them.
///
/// Rules common to both modes (Flink's): checkpoint ids increase; a barrier or marker of a
/// checkpoint not newer than the last one triggered or aborted here is ignored; a channel that
/// reaches end of partition no longer needs to deliver barriers (it counts as aligned); a
/// checkpoint is aborted at most once.
///
/// Not thread-safe: the task thread only. The process* methods throw SluiceException on an
/// impossible input sequence (a channel index out of range, a second barrier of the same
/// checkpoint on one channel, an event after a channel's end of partition); the task then
/// fails, because its input is corrupt. Exceptions of the target's callbacks pass through.
class CheckpointBarrierHandler {
 public:
  /// Nanoseconds of a monotonic clock (injectable so tests can control durations).
  using NanoClock = std::function<int64_t()>;

  /// The handler for `mode` over `numChannels` >= 1 channels, acting on `target` (which must
  /// outlive it). `clock` defaults to std::chrono::steady_clock.
  static std::unique_ptr<CheckpointBarrierHandler> create(CheckpointingMode mode, int numChannels,
                                                          CheckpointBarrierTarget& target,
                                                          NanoClock clock = nullptr);
  virtual ~CheckpointBarrierHandler() = default;

  /// `channel` delivered `barrier`.
  virtual void processBarrier(const CheckpointBarrier& barrier, int channel) = 0;
  /// `channel` delivered a cancellation marker of `checkpointId` (Flink's
  /// CancelCheckpointMarker): the checkpoint is aborted here.
  virtual void processCancellationMarker(int64_t checkpointId, int channel) = 0;
  /// `channel` delivered its end of partition; nothing follows on it.
  virtual void processEndOfPartition(int channel) = 0;

  /// Counts a data buffer of `bytes` the task is about to process, for the metrics of a
  /// running alignment. Cheap (one branch) when no alignment runs; call once per buffer.
  void onBufferProcessed(uint32_t bytes) {
    if (aligning_) {
      bytesDuringAlignment_ += bytes;
      ++buffersDuringAlignment_;
    }
  }
  /// True while an exactly-once alignment is in progress (some channel is held back).
  bool isAligning() const { return aligning_; }

  virtual CheckpointingMode mode() const = 0;
  /// The newest checkpoint triggered or aborted here, or -1.
  int64_t latestCompletedOrAbortedId() const { return latestDoneId_; }
  /// Channels that have not delivered their end of partition.
  int numOpenChannels() const { return numOpen_; }
  int numChannels() const { return static_cast<int>(finished_.size()); }

 protected:
  CheckpointBarrierHandler(int numChannels, CheckpointBarrierTarget& target, NanoClock clock);
  /// Throws unless `channel` is a valid, open channel; `what` names the event.
  void checkChannel(int channel, const char* what) const;
  /// Marks `channel` finished (after checkChannel).
  void finishChannel(int channel);
  /// Calls the target's abort once per checkpoint id.
  void notifyAbort(int64_t checkpointId);
  int64_t now() const { return clock_(); }

  CheckpointBarrierTarget& target_;
  NanoClock clock_;
  std::vector<bool> finished_;
  int numOpen_;
  int64_t latestDoneId_ = -1;
  int64_t latestAbortedId_ = -1;
  bool aligning_ = false;
  int64_t bytesDuringAlignment_ = 0;
  int64_t buffersDuringAlignment_ = 0;
};

}  // namespace sluice
