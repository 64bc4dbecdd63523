#pragma once

// Checkpoint barrier handling of a task with inputs (Flink's CheckpointBarrierHandler and its two
// implementations SingleCheckpointBarrierHandler — exactly once, aligned or unaligned — and
// CheckpointBarrierTracker — at least once), after Carbone et al., "Lightweight Asynchronous
// Snapshots for Distributed Dataflows" (2015), and Flink's FLIP-76 for unaligned checkpoints.
// The handler sees every barrier, cancellation marker and end of partition of the task's input
// channels, in the order the task polls them, and decides when the task takes its snapshot. It
// never touches records: it blocks and resumes channels through its target, counts the data
// buffers the task reports while a checkpoint is in progress and, for unaligned checkpoints,
// tells the target which of them to persist as input channel state.
//
// Unaligned checkpoints (exactly-once mode, barriers with CheckpointBarrier::isUnalignedNow()):
// the first barrier of checkpoint n on any channel triggers the task at once (with
// CheckpointMetrics::unaligned set; the task forwards the barrier as a priority event that
// overtakes its queued output buffers and keeps those as output channel state). From then on
// every data buffer of a channel that has not delivered barrier n yet goes to
// CheckpointBarrierTarget::persistInflightBuffer (and is still processed normally); no channel is
// blocked. When every open channel delivered barrier n (an end of partition counts), the input
// channel state is complete: inputChannelStateComplete(n). A newer barrier or a cancellation
// marker aborts an incomplete one (abortCheckpointOnBarrier). Aligned checkpoints with a timeout
// (CheckpointBarrier::isTimeoutable()) start aligned and switch to unaligned when the alignment
// has lasted the timeout or an unaligned barrier of the same checkpoint arrives (Flink's
// AlternatingWaitingForFirstBarrier / AlternatingCollectingBarriers states).

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sluice/checkpoint/checkpoint_config.h"  // CheckpointingMode
#include "sluice/network/events.h"

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
  /// Whether the checkpoint is taken unaligned at this task (its channel state follows through
  /// CheckpointBarrierTarget::inputChannelStateComplete).
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
  /// a newer barrier): tell downstream (cancellation marker) and the coordinator. For an
  /// unaligned checkpoint this may come after its trigger: drop its channel state.
  virtual void abortCheckpointOnBarrier(int64_t checkpointId) = 0;
  /// Unaligned checkpoint `checkpointId` was triggered and `buffer`, a data buffer that arrived
  /// on `channel` before that channel's barrier, is about to be processed: append its payload
  /// to the channel's input state (Flink's ChannelStateWriter#addInputData). The buffer is
  /// processed normally afterwards. Default: ignored.
  virtual void persistInflightBuffer(int64_t /*checkpointId*/, int /*channel*/,
                                     const Buffer& /*buffer*/) {}
  /// Every open channel delivered the barrier of unaligned checkpoint `checkpointId` (ends of
  /// partition count): its input channel state is complete (Flink's
  /// ChannelStateWriter#finishInput). Default: ignored.
  virtual void inputChannelStateComplete(int64_t /*checkpointId*/) {}
  /// An alignment with a timeout started: call CheckpointBarrierHandler::checkAlignmentTimeout()
  /// on the task thread once `delayNanos` have passed (Flink's registerAlignmentTimer). Without
  /// it (the default ignores it) the timeout is only checked as data buffers arrive.
  virtual void scheduleAlignmentTimeout(int64_t /*delayNanos*/) {}
};

/// Decides, from the barriers, cancellation markers and ends of partition of a task's input
/// channels (all inputs together, numbered as the task's input gate numbers them), when the task
/// snapshots. Create one with create(); feed it every such event in the order the task polls
/// them.
///
/// Rules common to both modes (Flink's): checkpoint ids increase; a barrier or marker of a
/// checkpoint not newer than the last one completed or aborted here is ignored; a channel that
/// reaches end of partition no longer needs to deliver barriers (it counts as aligned); a
/// checkpoint is aborted at most once. Exactly-once mode takes a checkpoint aligned, unaligned
/// or aligned with a timeout as its barriers say (see the file comment and CheckpointBarrier);
/// at-least-once mode ignores the alignment options.
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
  /// Metrics only: a task that supports unaligned checkpoints calls onBuffer() instead.
  void onBufferProcessed(uint32_t bytes) {
    if (aligning_) {
      bytesDuringAlignment_ += bytes;
      ++buffersDuringAlignment_;
    }
  }
  /// The task is about to process data `buffer` of `channel`: counts it for a running
  /// alignment's metrics, may switch a timed-out alignment to unaligned, and during an unaligned
  /// checkpoint hands it to CheckpointBarrierTarget::persistInflightBuffer when `channel` has not
  /// delivered the barrier yet. Cheap (one predictable branch, no call) when no checkpoint is in
  /// progress at this task; call once per data buffer, before processing it.
  void onBuffer(int channel, const Buffer& buffer) {
    if (inProgress_) [[unlikely]]
      onBufferInProgress(channel, buffer);
  }
  /// Switches a running aligned-with-timeout alignment to unaligned if it has lasted its
  /// barrier's alignedCheckpointTimeoutMillis (measured on the handler's clock from the first
  /// barrier's arrival at this task); returns whether it switched. Task thread; no-op otherwise.
  virtual bool checkAlignmentTimeout() { return false; }
  /// True while an exactly-once alignment is in progress (some channel is held back).
  bool isAligning() const { return aligning_; }
  /// True while an unaligned checkpoint was triggered here and some channel's barrier is missing
  /// (its input channel state is being collected).
  bool isCollectingChannelState() const { return collecting_; }

  virtual CheckpointingMode mode() const = 0;
  /// The newest checkpoint completed here (aligned: triggered; unaligned: its input channel
  /// state complete) or aborted, or -1.
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
  /// The slow path of onBuffer() (only while inProgress_).
  virtual void onBufferInProgress(int /*channel*/, const Buffer& /*buffer*/) {}

  CheckpointBarrierTarget& target_;
  NanoClock clock_;
  std::vector<bool> finished_;
  int numOpen_;
  int64_t latestDoneId_ = -1;
  int64_t latestAbortedId_ = -1;
  bool aligning_ = false;
  bool collecting_ = false;  // unaligned: triggered, input channel state being collected
  bool inProgress_ = false;  // aligning_ || collecting_: onBuffer() takes its slow path
  int64_t bytesDuringAlignment_ = 0;
  int64_t buffersDuringAlignment_ = 0;
};

}  // namespace sluice
