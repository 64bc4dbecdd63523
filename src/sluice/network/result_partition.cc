#include "sluice/network/result_partition.h"

namespace sluice {

void ResultSubpartition::add(BufferPtr buffer) {
  BufferAvailabilityListener* notify = nullptr;
  {
    std::lock_guard lock(mutex_);
    buffers_.push_back(std::move(buffer));
    if (buffers_.size() == 1) notify = listener_;
  }
  if (notify != nullptr) notify->notifyDataAvailable(channelIndex_);
}

void ResultSubpartition::addPriorityEvent(BufferPtr event, std::vector<uint8_t>* overtaken) {
  BufferAvailabilityListener* notify = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (overtaken != nullptr) {
      for (size_t i = numPriority_; i < buffers_.size(); ++i) {
        const Buffer& b = *buffers_[i];
        if (b.type == BufferType::kData)
          overtaken->insert(overtaken->end(), b.data, b.data + b.size);
      }
    }
    buffers_.insert(buffers_.begin() + static_cast<std::ptrdiff_t>(numPriority_), std::move(event));
    ++numPriority_;
    notify = listener_;
  }
  if (notify != nullptr) notify->notifyPriorityEvent(channelIndex_);
}

BufferPtr ResultSubpartition::poll(bool& moreAvailable) {
  std::lock_guard lock(mutex_);
  if (buffers_.empty()) {
    moreAvailable = false;
    return nullptr;
  }
  if (numPriority_ > 0) --numPriority_;
  BufferPtr b = std::move(buffers_.front());
  buffers_.pop_front();
  moreAvailable = !buffers_.empty();
  return b;
}

void ResultSubpartition::setListener(BufferAvailabilityListener* listener, int channelIndex) {
  bool hasData;
  {
    std::lock_guard lock(mutex_);
    listener_ = listener;
    channelIndex_ = channelIndex;
    hasData = !buffers_.empty();
  }
  if (hasData && listener != nullptr) listener->notifyDataAvailable(channelIndex);
}

void ResultSubpartition::releaseAll() {
  std::deque<BufferPtr> drop;
  std::lock_guard lock(mutex_);
  drop.swap(buffers_);
  numPriority_ = 0;
}

int ResultSubpartition::backlog() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(buffers_.size());
}

ResultPartition::ResultPartition(int numSubpartitions, int numBuffers, uint32_t segmentSize)
    : pool_(numBuffers, segmentSize) {
  subpartitions_.reserve(static_cast<size_t>(numSubpartitions));
  for (int i = 0; i < numSubpartitions; ++i) {
    subpartitions_.push_back(std::make_unique<ResultSubpartition>());
  }
}

void ResultPartition::release() {
  pool_.destroy();
  for (auto& s : subpartitions_) s->releaseAll();
}

}  // namespace sluice
