#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace sluice {

class BufferPool;

/// What a network buffer holds: serialized stream elements, or one runtime event
/// (barrier, end of partition) that travels in order with the data (Flink's Buffer#isBuffer).
enum class BufferType : uint8_t { kData, kEvent };

/// A fixed-capacity segment of bytes travelling from a producer subtask to a consumer
/// (Flink's NetworkBuffer). Data buffers come from a bounded BufferPool and return to it when
/// released; event buffers are small and unpooled. Owned by exactly one party at a time.
struct Buffer {
  uint8_t* data = nullptr;
  uint32_t size = 0;      ///< bytes written, <= capacity
  uint32_t capacity = 0;  ///< bytes
  BufferType type = BufferType::kData;
  BufferPool* pool = nullptr;           ///< null for unpooled (event) buffers
  std::unique_ptr<uint8_t[]> unpooled;  ///< storage of unpooled buffers

  uint32_t remaining() const { return capacity - size; }
};

/// Returns a buffer to its pool (or frees an unpooled one).
struct BufferRecycler {
  void operator()(Buffer* buffer) const;
};

/// Unique ownership of a buffer; dropping it recycles the buffer.
using BufferPtr = std::unique_ptr<Buffer, BufferRecycler>;

/// Allocates an unpooled buffer of `capacity` bytes (used for events).
BufferPtr allocateUnpooledBuffer(uint32_t capacity, BufferType type);

/// A bounded pool of equally sized buffers (Flink's LocalBufferPool). A writer that finds the
/// pool empty waits in requestBlocking(): that wait is backpressure, and because every buffer
/// comes back only after its consumer has read it, memory stays bounded by
/// numBuffers * segmentSize bytes.
///
/// Thread-safe: requested on the producer's task thread, recycled on the consumer's.
/// The pool must outlive every buffer taken from it.
class BufferPool {
 public:
  /// `numBuffers` >= 1 buffers of `segmentSize` bytes each, allocated up front.
  BufferPool(int numBuffers, uint32_t segmentSize);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  /// Takes a free buffer, waiting while none is free.
  /// Throws CancelTaskException when the pool is destroyed while (or before) waiting.
  BufferPtr requestBlocking();
  /// Takes a free buffer or returns null at once.
  BufferPtr tryRequest();
  /// Wakes every waiter with CancelTaskException; later requests fail the same way.
  void destroy();

  int numBuffers() const { return static_cast<int>(buffers_.size()); }
  uint32_t segmentSize() const { return segmentSize_; }
  /// Buffers currently handed out.
  int numInUse() const;
  /// The largest numInUse() seen since construction.
  int maxInUse() const;
  /// How many requests had to wait for a buffer (each one a moment of backpressure).
  int64_t numBlockedRequests() const;

 private:
  friend struct BufferRecycler;
  void recycle(Buffer* buffer);
  Buffer* takeLocked();

  uint32_t segmentSize_;
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<Buffer> buffers_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<Buffer*> free_;
  bool destroyed_ = false;
  int maxInUse_ = 0;
  int64_t blockedRequests_ = 0;
};

/// Number of buffers currently allocated in this process by any pool or as events; zero
/// once every job has ended (tests use it to prove nothing leaks).
int64_t liveBufferCount();

}  // namespace sluice
