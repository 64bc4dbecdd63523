#pragma once

#include <memory>

#include "sluice/network/result_partition.h"

namespace sluice {

/// One channel of an InputGate: the buffers of one producer subtask's subpartition, in order
/// (Flink's InputChannel). LocalInputChannel reads a subpartition produced in this process;
/// the network stack adds a remote channel with credit-based flow control behind the same
/// interface.
///
/// The contract every implementation keeps (docs/architecture.md, "The exchange seam"):
/// - **Order.** pollNext() returns the subpartition's buffers in the order they were added,
///   except that priority events (unaligned checkpoint barriers) overtake queued data.
/// - **Notification.** After requestSubpartition(), the channel tells its listener
///   notifyDataAvailable(channelIndex()) whenever it goes from no buffer to a buffer, and
///   notifyPriorityEvent(channelIndex()) when a priority event arrives; from any thread, never
///   while holding a lock the listener could need.
/// - **Ownership.** A buffer returned by pollNext() belongs to the caller; dropping the
///   BufferPtr recycles it to the pool it came from (the producer's pool for a local channel,
///   the gate's exclusive and floating buffers for a remote one).
/// - **Backpressure.** Memory is bounded because buffers come back only when the consumer
///   drops them: a producer whose pool is empty waits (local), or gets no credit (remote).
///   A channel that is not polled (held back for alignment) holds back only its own producer.
///
/// pollNext(), resumeConsumption() and releaseAllResources() are called on the consuming
/// task's thread only.
class InputChannel {
 public:
  explicit InputChannel(int channelIndex) : channelIndex_(channelIndex) {}
  virtual ~InputChannel() = default;
  InputChannel(const InputChannel&) = delete;
  InputChannel& operator=(const InputChannel&) = delete;

  /// The channel's index in its gate.
  int channelIndex() const { return channelIndex_; }
  /// Starts reading: connects to the producer's subpartition and from now on notifies
  /// `listener` (normally the gate). Buffers already queued are announced at once. Throws
  /// PartitionNotFoundException when the partition is not (yet) produced.
  virtual void requestSubpartition(BufferAvailabilityListener& listener) = 0;
  /// The next buffer, or null when none is available now; `moreAvailable` says whether another
  /// one is queued behind it.
  virtual BufferPtr pollNext(bool& moreAvailable) = 0;
  /// Called when the gate serves the channel again after an aligned barrier held it back
  /// (Flink's InputChannel#resumeConsumption). A local channel has nothing to do; a remote one
  /// tells its producer to send again.
  virtual void resumeConsumption() {}
  /// Stops reading: no notification starts after this returns. Idempotent.
  virtual void releaseAllResources() = 0;

 private:
  int channelIndex_;
};

/// Reads a subpartition produced in the same process through its ResultSubpartitionView
/// (Flink's LocalInputChannel): buffers pass from producer to consumer without a copy and
/// return to the producer's pool when the consumer drops them.
class LocalInputChannel final : public InputChannel {
 public:
  /// Reads subpartition `subpartition` of partition `partition`, found in `partitions` when
  /// requested; `partitions` must outlive the channel.
  LocalInputChannel(int channelIndex, ResultPartitionManager& partitions,
                    ResultPartitionId partition, int subpartition)
      : InputChannel(channelIndex),
        partitions_(&partitions),
        partition_(partition),
        subpartition_(subpartition) {}

  void requestSubpartition(BufferAvailabilityListener& listener) override;
  BufferPtr pollNext(bool& moreAvailable) override;
  void releaseAllResources() override;

 private:
  ResultPartitionManager* partitions_;
  ResultPartitionId partition_;
  int subpartition_;
  std::unique_ptr<ResultSubpartitionView> view_;
};

}  // namespace sluice
