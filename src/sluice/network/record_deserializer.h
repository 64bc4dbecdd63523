#pragma once

#include <cstdint>
#include <vector>

#include "sluice/core/data_view.h"
#include "sluice/network/buffer.h"

namespace sluice {

/// Reassembles the length-prefixed elements written by RecordWriter from the buffers of one
/// input channel (Flink's SpillingAdaptiveSpanningRecordDeserializer). An element that lies
/// wholly in one buffer is read in place, without a copy; one that spans buffers is gathered
/// into a reusable side buffer. Buffers are recycled as soon as they are consumed.
///
/// Not thread-safe: one per channel, on the consuming task's thread.
class RecordDeserializer {
 public:
  /// Elements above this size (bytes) are treated as corruption.
  static constexpr uint32_t kMaxElementBytes = 1u << 30;

  /// Hands over the channel's next data buffer. Precondition: next() returned false.
  void setNextBuffer(BufferPtr buffer) {
    buffer_ = std::move(buffer);
    pos_ = 0;
  }

  /// Makes `element` view the next whole element (without its length prefix) and returns
  /// true; returns false when the current buffer is used up. The view stays valid until the
  /// next call. Throws SerializationException on an impossible element length.
  bool next(DataInputView& element) {
    if (!buffer_) return false;
    uint32_t avail = buffer_->size - pos_;
    if (!spanning_ && avail >= 4) {
      uint32_t len;
      std::memcpy(&len, buffer_->data + pos_, 4);
      if (avail - 4 >= len) {
        element = DataInputView(buffer_->data + pos_ + 4, len);
        pos_ += 4 + len;
        return true;
      }
    }
    return nextSpanning(element);
  }

  /// True while part of an element has been read and the rest has not arrived.
  bool hasPartialElement() const { return spanning_; }
  /// Appends to `out` the bytes handed over but not yet returned as elements, in stream order:
  /// the partial element (its length prefix and the bytes gathered so far), then the unread rest
  /// of the current buffer. They start at an element boundary. For the input channel state of
  /// an unaligned checkpoint (Flink's RecordDeserializer#getUnconsumedBuffer). Leaves the
  /// deserializer unchanged.
  void copyUnconsumed(std::vector<uint8_t>& out) const;
  /// Drops any buffer and partial element.
  void clear();

 private:
  bool nextSpanning(DataInputView& element);

  BufferPtr buffer_;
  uint32_t pos_ = 0;
  bool spanning_ = false;
  uint8_t lengthBytes_[4] = {};
  uint32_t lengthHave_ = 0;
  uint32_t elementLength_ = 0;
  std::vector<uint8_t> spill_;
};

}  // namespace sluice
