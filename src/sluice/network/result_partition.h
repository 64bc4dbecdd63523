#pragma once

#include <compare>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/core/exceptions.h"
#include "sluice/network/buffer.h"

namespace sluice {

/// Told when a subpartition that was empty receives a buffer. Called on the producer's
/// thread; must be quick and must not call back into the subpartition.
class BufferAvailabilityListener {
 public:
  virtual ~BufferAvailabilityListener() = default;
  virtual void notifyDataAvailable(int channelIndex) = 0;
  /// A priority event (an unaligned checkpoint barrier) was put at the head of the channel's
  /// queue: the consumer should serve this channel next (Flink's
  /// BufferAvailabilityListener#notifyPriorityEvent). Same rules as notifyDataAvailable; by
  /// default the same as notifyDataAvailable.
  virtual void notifyPriorityEvent(int channelIndex) { notifyDataAvailable(channelIndex); }
};

class ResultSubpartitionView;

/// The queue of finished buffers from one producer subtask to one consumer subtask
/// (Flink's PipelinedSubpartition). Thread-safe: the producer adds; the one reader (a
/// ResultSubpartitionView: a local input channel, or the network server sending to a remote
/// one) polls.
///
/// Priority events (unaligned checkpoint barriers) go to the head of the queue, behind earlier
/// priority events only, and so overtake the data queued there (Flink's
/// PipelinedSubpartition#addPriorityElement); the overtaken data stays queued, in order, and is
/// delivered after the event.
class ResultSubpartition {
 public:
  /// Appends a finished buffer (data or event) and wakes the consumer if it was idle.
  void add(BufferPtr buffer);
  /// Puts the event buffer `event` ahead of every queued buffer that is not itself a priority
  /// event, and appends the payload of every data buffer it overtakes, oldest first, to
  /// `overtaken` when not null (the output channel state of an unaligned checkpoint: the data
  /// the consumer had not taken yet). Copies the bytes (O(queued bytes)); the buffers stay
  /// queued. Notifies the listener with notifyPriorityEvent.
  void addPriorityEvent(BufferPtr event, std::vector<uint8_t>* overtaken);
  /// Takes the oldest buffer, or null when empty. `moreAvailable` says whether another one
  /// is queued behind it. Ownership of the buffer passes to the caller.
  BufferPtr poll(bool& moreAvailable);
  /// Opens the one read view of this subpartition: `listener` is told (as channel
  /// `channelIndex`) whenever data arrives in an empty queue, and at once when buffers are
  /// already queued. Throws SluiceException when a view is already open.
  std::unique_ptr<ResultSubpartitionView> createReadView(BufferAvailabilityListener& listener,
                                                         int channelIndex);
  /// Drops queued buffers (on cancellation) so that they return to their pool.
  void releaseAll();
  /// Buffers queued and not yet consumed (Flink's backlog).
  int backlog() const;

 private:
  mutable std::mutex mutex_;
  std::deque<BufferPtr> buffers_;
  size_t numPriority_ = 0;  // priority events at the head of buffers_
  BufferAvailabilityListener* listener_ = nullptr;
  int channelIndex_ = -1;

  friend class ResultSubpartitionView;
  void detachListener();
};

/// The reading side of one ResultSubpartition (Flink's ResultSubpartitionView): what a
/// LocalInputChannel polls, and what the network server of a remote exchange will poll to fill
/// its frames. Destroying the view (or releaseAllResources) detaches its listener: no
/// notification starts after that returns. Not thread-safe itself: one reader thread.
class ResultSubpartitionView {
 public:
  explicit ResultSubpartitionView(ResultSubpartition& subpartition)
      : subpartition_(&subpartition) {}
  ~ResultSubpartitionView() { releaseAllResources(); }
  ResultSubpartitionView(const ResultSubpartitionView&) = delete;
  ResultSubpartitionView& operator=(const ResultSubpartitionView&) = delete;

  /// The oldest queued buffer, or null when none is queued (ResultSubpartition::poll).
  BufferPtr pollNext(bool& moreAvailable) { return subpartition_->poll(moreAvailable); }
  /// Buffers queued and not yet polled (Flink's backlog, announced with every remote frame).
  int backlog() const { return subpartition_->backlog(); }
  /// Detaches the listener; the queued buffers stay with the subpartition. Idempotent.
  void releaseAllResources();

 private:
  ResultSubpartition* subpartition_;
  bool released_ = false;
};

/// The output of one producer subtask on one job edge: one subpartition per connected consumer
/// subtask, and the bounded buffer pool they draw from (Flink's ResultPartition).
/// Pool size as Flink's: numSubpartitions * buffersPerChannel + floatingBuffers.
class ResultPartition {
 public:
  ResultPartition(int numSubpartitions, int numBuffers, uint32_t segmentSize);
  int numSubpartitions() const { return static_cast<int>(subpartitions_.size()); }
  ResultSubpartition& subpartition(int i) { return *subpartitions_[static_cast<size_t>(i)]; }
  BufferPool& bufferPool() { return pool_; }
  /// Cancels: wakes writers blocked on the pool and drops queued buffers.
  void release();

 private:
  BufferPool pool_;
  std::vector<std::unique_ptr<ResultSubpartition>> subpartitions_;
};

/// An input channel asked for a result partition that is not (or no longer) produced where it
/// looked (Flink's PartitionNotFoundException). Recoverable: the producer may not be deployed
/// yet, or was restarted.
class PartitionNotFoundException : public SluiceException {
 public:
  explicit PartitionNotFoundException(const std::string& partition)
      : SluiceException("result partition " + partition + " not found") {}
};

/// Names one result partition of an execution attempt: the output of producer subtask
/// `producerSubtask` on job edge `jobEdge` (Flink's ResultPartitionID; the cluster adds the
/// execution attempt when partitions of several attempts can live side by side).
struct ResultPartitionId {
  int jobEdge = 0;
  int producerSubtask = 0;
  friend auto operator<=>(const ResultPartitionId&, const ResultPartitionId&) = default;
  /// "edge E, subtask S", for messages.
  std::string toString() const;
};

/// The result partitions produced in this process, by id (Flink's ResultPartitionManager):
/// where an input channel asks for the subpartition it reads, so that a consumer is handed a
/// read view and never holds the producer's objects. Thread-safe.
class ResultPartitionManager {
 public:
  /// Makes `partition` available as `id`; it must outlive its registration. Throws
  /// SluiceException when `id` is already registered.
  void registerPartition(const ResultPartitionId& id, ResultPartition& partition);
  /// Opens the read view of subpartition `subpartition` of partition `id` (see
  /// ResultSubpartition::createReadView). Throws PartitionNotFoundException when `id` is not
  /// registered, SluiceException when the subpartition does not exist or is already read.
  std::unique_ptr<ResultSubpartitionView> createSubpartitionView(
      const ResultPartitionId& id, int subpartition, BufferAvailabilityListener& listener,
      int channelIndex);
  /// Forgets every partition (they must no longer be read).
  void clear();

 private:
  mutable std::mutex mutex_;
  std::map<ResultPartitionId, ResultPartition*> partitions_;
};

}  // namespace sluice
