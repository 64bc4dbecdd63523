#include "sluice/network/record_deserializer.h"

#include <algorithm>
#include <string>

namespace sluice {

bool RecordDeserializer::nextSpanning(DataInputView& element) {
  uint32_t avail = buffer_->size - pos_;
  if (!spanning_) {
    if (avail == 0) {
      buffer_.reset();
      return false;
    }
    spanning_ = true;
    lengthHave_ = 0;
    spill_.clear();
  }
  if (lengthHave_ < 4) {
    uint32_t take = std::min(4 - lengthHave_, avail);
    std::memcpy(lengthBytes_ + lengthHave_, buffer_->data + pos_, take);
    lengthHave_ += take;
    pos_ += take;
    avail -= take;
    if (lengthHave_ < 4) {
      buffer_.reset();
      return false;
    }
    std::memcpy(&elementLength_, lengthBytes_, 4);
    if (elementLength_ > kMaxElementBytes) {
      throw SerializationException("corrupt stream: element length " +
                                   std::to_string(elementLength_) + " exceeds the limit of " +
                                   std::to_string(kMaxElementBytes) + " bytes");
    }
    spill_.reserve(elementLength_);
  }
  uint32_t take = std::min<uint32_t>(elementLength_ - static_cast<uint32_t>(spill_.size()), avail);
  spill_.insert(spill_.end(), buffer_->data + pos_, buffer_->data + pos_ + take);
  pos_ += take;
  if (spill_.size() == elementLength_) {
    spanning_ = false;
    element = DataInputView(spill_.data(), spill_.size());
    return true;
  }
  buffer_.reset();
  return false;
}

void RecordDeserializer::copyUnconsumed(std::vector<uint8_t>& out) const {
  if (spanning_) {
    out.insert(out.end(), lengthBytes_, lengthBytes_ + lengthHave_);
    if (lengthHave_ == 4) out.insert(out.end(), spill_.begin(), spill_.end());
  }
  if (buffer_ && pos_ < buffer_->size) {
    out.insert(out.end(), buffer_->data + pos_, buffer_->data + buffer_->size);
  }
}

void RecordDeserializer::clear() {
  buffer_.reset();
  spanning_ = false;
  spill_.clear();
  lengthHave_ = 0;
}

}  // namespace sluice
