#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <vector>

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

/// The queue of finished buffers from one producer subtask to one consumer subtask
/// (Flink's PipelinedSubpartition). Thread-safe: the producer adds, the consumer polls.
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
  /// is queued behind it.
  BufferPtr poll(bool& moreAvailable);
  /// Connects the consumer; notifies it at once when buffers are already queued.
  void setListener(BufferAvailabilityListener* listener, int channelIndex);
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

}  // namespace sluice
