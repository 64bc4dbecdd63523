// RecordWriter and RecordDeserializer: elements of any size cross buffers intact, buffers are
// recycled, and flushing hands over partial buffers.

#include <gtest/gtest.h>

#include <random>

#include "sluice/network/events.h"
#include "sluice/network/record_deserializer.h"
#include "sluice/network/record_writer.h"

namespace sluice {
namespace {

std::vector<uint8_t> frame(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out(4 + payload.size());
  uint32_t n = static_cast<uint32_t>(payload.size());
  std::memcpy(out.data(), &n, 4);
  if (!payload.empty()) std::memcpy(out.data() + 4, payload.data(), payload.size());
  return out;
}

// Writes random-sized elements (0 bytes to several buffers) and reads them back in order.
TEST(RecordExchange, ElementsOfAnySizeSpanBuffers) {
  for (uint32_t segment : {64u, 100u, 4096u}) {
    ResultPartition partition(1, 4, segment);
    RecordWriter writer(partition, false);
    RecordDeserializer deserializer;
    std::mt19937 rng(segment);
    std::vector<std::vector<uint8_t>> sent;
    std::vector<std::vector<uint8_t>> received;
    auto drain = [&] {
      bool more = true;
      while (auto buffer = partition.subpartition(0).poll(more)) {
        ASSERT_EQ(buffer->type, BufferType::kData);
        deserializer.setNextBuffer(std::move(buffer));
        DataInputView element;
        while (deserializer.next(element)) {
          std::vector<uint8_t> bytes(element.remaining());
          element.readBytes(bytes.data(), bytes.size());
          received.push_back(std::move(bytes));
        }
      }
    };
    for (int i = 0; i < 2000; ++i) {
      size_t size = (i % 50 == 0) ? rng() % (3 * segment) : rng() % 20;
      std::vector<uint8_t> payload(size);
      for (auto& b : payload) b = static_cast<uint8_t>(rng());
      sent.push_back(payload);
      auto framed = frame(payload);
      // Never more than the pool holds in flight: drain before the writer could block.
      if (partition.bufferPool().numInUse() >= 2) drain();
      writer.emit(framed.data(), framed.size(), 0);
    }
    writer.flushAll();
    drain();
    EXPECT_FALSE(deserializer.hasPartialElement());
    EXPECT_EQ(received, sent) << "segment " << segment;
    writer.releaseBuffers();
    deserializer.clear();
    EXPECT_EQ(partition.bufferPool().numInUse(), 0);
  }
}

TEST(RecordExchange, FlushHandsOverAPartialBufferAndEventsFollowData) {
  ResultPartition partition(2, 6, 1024);
  RecordWriter writer(partition, false);
  auto framed = frame({1, 2, 3});
  writer.emit(framed.data(), framed.size(), 1);
  EXPECT_EQ(partition.subpartition(1).backlog(), 0);  // still being filled
  writer.flush(1);
  EXPECT_EQ(partition.subpartition(1).backlog(), 1);
  writer.emit(framed.data(), framed.size(), 0);
  writer.broadcastEvent(RuntimeEvent{EventType::kEndOfPartition, {}});
  bool more = false;
  auto data = partition.subpartition(0).poll(more);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->type, BufferType::kData);
  auto event = partition.subpartition(0).poll(more);
  ASSERT_TRUE(event);
  EXPECT_EQ(deserializeEvent(*event).type, EventType::kEndOfPartition);
}

TEST(RecordExchange, FlushAlwaysSendsEveryElement) {
  ResultPartition partition(1, 4, 1024);
  RecordWriter writer(partition, true);
  auto framed = frame({9});
  writer.emit(framed.data(), framed.size(), 0);
  EXPECT_EQ(partition.subpartition(0).backlog(), 1);
}

TEST(RecordExchange, BarrierEventsRoundTrip) {
  RuntimeEvent e{EventType::kCheckpointBarrier, CheckpointBarrier{42, 1234567, true, false}};
  RuntimeEvent back = deserializeEvent(*serializeEvent(e));
  EXPECT_EQ(back.type, EventType::kCheckpointBarrier);
  EXPECT_EQ(back.barrier.checkpointId, 42);
  EXPECT_EQ(back.barrier.timestamp, 1234567);
  EXPECT_TRUE(back.barrier.unaligned);
  EXPECT_FALSE(back.barrier.savepoint);
}

TEST(RecordExchange, CorruptElementLengthIsAnError) {
  ResultPartition partition(1, 2, 64);
  RecordWriter writer(partition, true);
  uint32_t huge = 0xFFFFFFF0u;
  std::vector<uint8_t> bytes(8, 0);
  std::memcpy(bytes.data(), &huge, 4);
  writer.emit(bytes.data(), bytes.size(), 0);
  bool more;
  RecordDeserializer d;
  d.setNextBuffer(partition.subpartition(0).poll(more));
  DataInputView element;
  EXPECT_THROW(d.next(element), SerializationException);
}

TEST(BufferPool, DestroyWakesABlockedRequester) {
  BufferPool pool(1, 64);
  BufferPtr held = pool.requestBlocking();
  std::thread t([&] { EXPECT_THROW(pool.requestBlocking(), CancelTaskException); });
  while (pool.numBlockedRequests() == 0) std::this_thread::yield();
  pool.destroy();
  t.join();
}

}  // namespace
}  // namespace sluice
