#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "sluice/network/events.h"
#include "sluice/network/result_partition.h"

namespace sluice {

/// Writes length-prefixed serialized stream elements into the buffers of one ResultPartition
/// (Flink's RecordWriter with its BufferBuilders). An element larger than the space left in a
/// buffer continues in the next one, so elements of any size pass. A buffer goes to its
/// consumer when full, on flush() (buffer timeout), or before an event.
///
/// Not thread-safe: used only on the producing task's thread. Blocks in emit() while the
/// partition's pool has no free buffer (backpressure); throws CancelTaskException if the job
/// is cancelled meanwhile.
class RecordWriter {
 public:
  /// `flushAlways`: hand over the buffer after every element (buffer timeout 0).
  RecordWriter(ResultPartition& partition, bool flushAlways);
  ~RecordWriter();

  /// Appends `n` bytes (one framed element: 4-byte little-endian length, then the element) to
  /// `channel`'s current buffer.
  void emit(const uint8_t* bytes, size_t n, int channel) {
    Buffer* b = current_[static_cast<size_t>(channel)].get();
    if (b != nullptr && b->remaining() > n && !flushAlways_) {
      std::memcpy(b->data + b->size, bytes, n);
      b->size += static_cast<uint32_t>(n);
      return;
    }
    emitSlow(bytes, n, channel);
  }
  /// Appends the same element to every channel.
  void broadcastEmit(const uint8_t* bytes, size_t n);
  /// Flushes every channel, then appends the event to every channel, in order with the data.
  void broadcastEvent(const RuntimeEvent& event);
  /// Flushes every channel, then puts the event at the head of every subpartition's queue, ahead
  /// of the data queued there (ResultSubpartition::addPriorityEvent; Flink's
  /// RecordWriter#broadcastEvent(event, isPriorityEvent = true) for unaligned barriers).
  /// `overtaken` is replaced by numChannels() vectors; overtaken[c] holds the payload of channel
  /// c's overtaken data buffers, oldest first (the output channel state).
  void broadcastPriorityEvent(const RuntimeEvent& event,
                              std::vector<std::vector<uint8_t>>& overtaken);
  /// Writes `n` bytes of restored output channel state to `channel` and hands them to the
  /// consumer at once, in full buffers (the last one partly filled), ahead of any element
  /// emitted later (Flink's recovery of result subpartition state). The bytes need not be whole
  /// elements. Precondition: nothing was emitted on `channel` yet. Blocks on the pool as emit().
  void emitRestoredData(int channel, const uint8_t* bytes, size_t n);
  /// Hands every non-empty current buffer to its consumer.
  void flushAll();
  void flush(int channel);
  /// Drops the current (partial) buffers without sending them (on cancellation).
  void releaseBuffers();

  int numChannels() const { return static_cast<int>(current_.size()); }
  /// Bytes of serialized elements written since construction.
  int64_t bytesOut() const { return bytesOut_; }

 private:
  void emitSlow(const uint8_t* bytes, size_t n, int channel);
  /// Copies `n` bytes into `channel`'s current buffer, handing full buffers to the subpartition
  /// (blocks for a buffer under backpressure).
  void append(const uint8_t* bytes, size_t n, int channel);

  ResultPartition& partition_;
  bool flushAlways_;
  std::vector<BufferPtr> current_;
  int64_t bytesOut_ = 0;
};

}  // namespace sluice
