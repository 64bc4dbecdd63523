#include "sluice/network/result_partition.h"

#include "sluice/core/exceptions.h"

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

std::unique_ptr<ResultSubpartitionView> ResultSubpartition::createReadView(
    BufferAvailabilityListener& listener, int channelIndex) {
  bool hasData;
  {
    std::lock_guard lock(mutex_);
    if (listener_ != nullptr) throw SluiceException("subpartition is already being read");
    listener_ = &listener;
    channelIndex_ = channelIndex;
    hasData = !buffers_.empty();
  }
  auto view = std::make_unique<ResultSubpartitionView>(*this);
  if (hasData) listener.notifyDataAvailable(channelIndex);
  return view;
}

void ResultSubpartition::detachListener() {
  std::lock_guard lock(mutex_);
  listener_ = nullptr;
  channelIndex_ = -1;
}

void ResultSubpartitionView::releaseAllResources() {
  if (released_) return;
  released_ = true;
  subpartition_->detachListener();
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

std::string ResultPartitionId::toString() const {
  return "edge " + std::to_string(jobEdge) + ", subtask " + std::to_string(producerSubtask);
}

void ResultPartitionManager::registerPartition(const ResultPartitionId& id,
                                               ResultPartition& partition) {
  std::lock_guard lock(mutex_);
  if (!partitions_.emplace(id, &partition).second) {
    throw SluiceException("result partition " + id.toString() + " is already registered");
  }
}

std::unique_ptr<ResultSubpartitionView> ResultPartitionManager::createSubpartitionView(
    const ResultPartitionId& id, int subpartition, BufferAvailabilityListener& listener,
    int channelIndex) {
  ResultPartition* partition = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = partitions_.find(id);
    if (it == partitions_.end()) throw PartitionNotFoundException(id.toString());
    partition = it->second;
  }
  if (subpartition < 0 || subpartition >= partition->numSubpartitions()) {
    throw SluiceException("result partition " + id.toString() + " has no subpartition " +
                          std::to_string(subpartition) + " (it has " +
                          std::to_string(partition->numSubpartitions()) + ")");
  }
  return partition->subpartition(subpartition).createReadView(listener, channelIndex);
}

void ResultPartitionManager::clear() {
  std::lock_guard lock(mutex_);
  partitions_.clear();
}

}  // namespace sluice
