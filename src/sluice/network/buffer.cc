#include "sluice/network/buffer.h"

#include "sluice/core/exceptions.h"

namespace sluice {

namespace {
std::atomic<int64_t> gLiveBuffers{0};
}

int64_t liveBufferCount() { return gLiveBuffers.load(); }

void BufferRecycler::operator()(Buffer* buffer) const {
  if (buffer->pool != nullptr) {
    buffer->pool->recycle(buffer);
  } else {
    gLiveBuffers.fetch_sub(1, std::memory_order_relaxed);
    delete buffer;
  }
}

BufferPtr allocateUnpooledBuffer(uint32_t capacity, BufferType type) {
  auto* b = new Buffer();
  b->unpooled = std::make_unique<uint8_t[]>(capacity);
  b->data = b->unpooled.get();
  b->capacity = capacity;
  b->type = type;
  gLiveBuffers.fetch_add(1, std::memory_order_relaxed);
  return BufferPtr(b);
}

BufferPool::BufferPool(int numBuffers, uint32_t segmentSize)
    : segmentSize_(segmentSize),
      memory_(std::make_unique<uint8_t[]>(static_cast<size_t>(numBuffers) * segmentSize)),
      buffers_(static_cast<size_t>(numBuffers)) {
  if (numBuffers < 1 || segmentSize < 16) {
    throw ConfigurationException("a buffer pool needs at least one buffer of at least 16 bytes");
  }
  free_.reserve(buffers_.size());
  for (size_t i = 0; i < buffers_.size(); ++i) {
    buffers_[i].data = memory_.get() + i * segmentSize;
    buffers_[i].capacity = segmentSize;
    buffers_[i].pool = this;
    free_.push_back(&buffers_[i]);
  }
}

BufferPool::~BufferPool() = default;

Buffer* BufferPool::takeLocked() {
  Buffer* b = free_.back();
  free_.pop_back();
  b->size = 0;
  b->type = BufferType::kData;
  int inUse = numBuffers() - static_cast<int>(free_.size());
  if (inUse > maxInUse_) maxInUse_ = inUse;
  gLiveBuffers.fetch_add(1, std::memory_order_relaxed);
  return b;
}

BufferPtr BufferPool::requestBlocking() {
  std::unique_lock lock(mutex_);
  if (free_.empty() && !destroyed_) {
    ++blockedRequests_;
    available_.wait(lock, [this] { return !free_.empty() || destroyed_; });
  }
  if (destroyed_) throw CancelTaskException();
  return BufferPtr(takeLocked());
}

BufferPtr BufferPool::tryRequest() {
  std::lock_guard lock(mutex_);
  if (free_.empty() || destroyed_) return nullptr;
  return BufferPtr(takeLocked());
}

void BufferPool::recycle(Buffer* buffer) {
  gLiveBuffers.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  free_.push_back(buffer);
  if (free_.size() == 1) available_.notify_all();
}

void BufferPool::destroy() {
  std::lock_guard lock(mutex_);
  destroyed_ = true;
  available_.notify_all();
}

int BufferPool::numInUse() const {
  std::lock_guard lock(mutex_);
  return numBuffers() - static_cast<int>(free_.size());
}

int BufferPool::maxInUse() const {
  std::lock_guard lock(mutex_);
  return maxInUse_;
}

int64_t BufferPool::numBlockedRequests() const {
  std::lock_guard lock(mutex_);
  return blockedRequests_;
}

}  // namespace sluice
