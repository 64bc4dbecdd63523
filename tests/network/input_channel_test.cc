// The exchange seam: an InputGate knows its channels only as InputChannel, a LocalInputChannel
// finds its producer through the ResultPartitionManager, buffers return to the producer's pool
// when the consumer drops them (the backpressure the contract promises), and a released
// channel is never notified again.

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "sluice/network/input_gate.h"
#include "sluice/network/record_writer.h"
#include "sluice/testing/local_channels.h"

namespace sluice {
namespace {

struct CountingListener final : BufferAvailabilityListener {
  std::vector<int> available;
  std::vector<int> priority;
  void notifyDataAvailable(int channel) override { available.push_back(channel); }
  void notifyPriorityEvent(int channel) override { priority.push_back(channel); }
};

BufferPtr eventBuffer(uint8_t tag) {
  BufferPtr b = allocateUnpooledBuffer(1, BufferType::kEvent);
  b->data[0] = tag;
  b->size = 1;
  return b;
}

TEST(ResultPartitionManager, AChannelForAnUnknownPartitionIsRefused) {
  ResultPartitionManager manager;
  ResultPartition partition(2, 4, 64);
  manager.registerPartition({3, 1}, partition);
  CountingListener listener;
  LocalInputChannel unknown(0, manager, ResultPartitionId{3, 0}, 0);
  try {
    unknown.requestSubpartition(listener);
    FAIL() << "expected PartitionNotFoundException";
  } catch (const PartitionNotFoundException& e) {
    EXPECT_NE(std::string(e.what()).find("edge 3, subtask 0"), std::string::npos) << e.what();
  }
  LocalInputChannel noSuchSubpartition(0, manager, ResultPartitionId{3, 1}, 2);
  EXPECT_THROW(noSuchSubpartition.requestSubpartition(listener), SluiceException);
  EXPECT_THROW(manager.registerPartition({3, 1}, partition), SluiceException);
}

TEST(ResultPartitionManager, ASubpartitionHasOneReader) {
  ResultPartitionManager manager;
  ResultPartition partition(1, 4, 64);
  manager.registerPartition({0, 0}, partition);
  CountingListener listener;
  LocalInputChannel first(0, manager, ResultPartitionId{0, 0}, 0);
  LocalInputChannel second(1, manager, ResultPartitionId{0, 0}, 0);
  first.requestSubpartition(listener);
  EXPECT_THROW(second.requestSubpartition(listener), SluiceException);
  // Once the first reader is gone, the subpartition can be read again (a restarted consumer).
  first.releaseAllResources();
  EXPECT_NO_THROW(second.requestSubpartition(listener));
}

TEST(LocalInputChannel, AnnouncesQueuedDataAtOnceAndNothingAfterRelease) {
  ResultPartitionManager manager;
  ResultPartition partition(1, 4, 64);
  partition.subpartition(0).add(eventBuffer(1));  // queued before the consumer connects
  auto channels = testing::localChannels(manager, {&partition});
  CountingListener listener;
  channels[0]->requestSubpartition(listener);
  EXPECT_EQ(listener.available, std::vector<int>{0});
  bool more = true;
  BufferPtr b = channels[0]->pollNext(more);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->data[0], 1);
  EXPECT_FALSE(more);
  partition.subpartition(0).add(eventBuffer(2));  // empty -> data: one notification
  partition.subpartition(0).add(eventBuffer(3));  // not empty: none
  EXPECT_EQ(listener.available, (std::vector<int>{0, 0}));
  partition.subpartition(0).addPriorityEvent(eventBuffer(9), nullptr);
  EXPECT_EQ(listener.priority, std::vector<int>{0});
  b = channels[0]->pollNext(more);
  EXPECT_EQ(b->data[0], 9);  // the priority event overtook the queued buffers
  EXPECT_TRUE(more);
  channels[0]->releaseAllResources();
  channels[0]->releaseAllResources();  // idempotent
  while (channels[0]->pollNext(more)) {
  }
  partition.subpartition(0).add(eventBuffer(4));
  partition.subpartition(0).addPriorityEvent(eventBuffer(5), nullptr);
  EXPECT_EQ(listener.available.size(), 2u);
  EXPECT_EQ(listener.priority.size(), 1u);
}

// Backpressure as the contract states it: the producer's pool refills only when the consumer
// drops what it polled, whatever the consumer does with the buffer meanwhile.
TEST(LocalInputChannel, BuffersReturnToTheProducersPoolWhenTheConsumerDropsThem) {
  ResultPartitionManager manager;
  ResultPartition partition(1, 2, 16);
  RecordWriter writer(partition, true);  // one element per buffer
  std::vector<uint8_t> element(8, 'x');
  writer.emit(element.data(), element.size(), 0);
  writer.emit(element.data(), element.size(), 0);
  EXPECT_EQ(partition.bufferPool().numInUse(), 2);
  EXPECT_FALSE(partition.bufferPool().tryRequest());  // a writer would wait here

  auto channels = testing::localChannels(manager, {&partition});
  CountingListener listener;
  channels[0]->requestSubpartition(listener);
  bool more = false;
  BufferPtr held = channels[0]->pollNext(more);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->pool, &partition.bufferPool());   // no copy: the producer's buffer
  EXPECT_EQ(partition.bufferPool().numInUse(), 2);  // polled but still held
  held.reset();
  EXPECT_EQ(partition.bufferPool().numInUse(), 1);
  BufferPtr again = partition.bufferPool().tryRequest();
  EXPECT_TRUE(again);
}

/// An InputChannel backed by nothing but a queue: the gate must serve it exactly as a local
/// one, since a remote channel will be just another implementation.
class QueueChannel final : public InputChannel {
 public:
  using InputChannel::InputChannel;
  void requestSubpartition(BufferAvailabilityListener& listener) override {
    listener_ = &listener;
    if (!queue_.empty()) listener_->notifyDataAvailable(channelIndex());
  }
  BufferPtr pollNext(bool& more) override {
    if (queue_.empty()) {
      more = false;
      return nullptr;
    }
    BufferPtr b = std::move(queue_.front());
    queue_.pop_front();
    more = !queue_.empty();
    return b;
  }
  void resumeConsumption() override { ++resumed; }
  void releaseAllResources() override {
    listener_ = nullptr;
    ++released;
  }
  void push(uint8_t tag) {
    queue_.push_back(eventBuffer(tag));
    if (queue_.size() == 1 && listener_ != nullptr) listener_->notifyDataAvailable(channelIndex());
  }

  int resumed = 0;
  int released = 0;

 private:
  std::deque<BufferPtr> queue_;
  BufferAvailabilityListener* listener_ = nullptr;
};

TEST(InputGate, ServesAnyInputChannelAndResumesTheChannelsItHeldBack) {
  std::vector<std::unique_ptr<InputChannel>> channels;
  std::vector<QueueChannel*> raw;
  for (int i = 0; i < 3; ++i) {
    channels.push_back(std::make_unique<QueueChannel>(i));
    raw.push_back(static_cast<QueueChannel*>(channels.back().get()));
  }
  raw[0]->push(10);
  int wakeups = 0;
  InputGate gate(std::move(channels), [&] { ++wakeups; });
  gate.connect();
  EXPECT_EQ(wakeups, 1);
  raw[1]->push(20);
  raw[2]->push(30);
  gate.blockChannel(1);
  std::vector<int> seen;
  while (auto next = gate.pollNext()) seen.push_back(next->buffer->data[0]);
  EXPECT_EQ(seen, (std::vector<int>{10, 30}));  // channel 1 is held back
  EXPECT_EQ(raw[1]->resumed, 0);
  gate.resumeAllChannels();
  EXPECT_EQ(raw[0]->resumed, 0);
  EXPECT_EQ(raw[1]->resumed, 1);  // only the channel that was held back
  EXPECT_EQ(raw[2]->resumed, 0);
  auto next = gate.pollNext();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->channel, 1);
  EXPECT_EQ(next->buffer->data[0], 20);
  gate.disconnect();
  for (auto* c : raw) EXPECT_EQ(c->released, 1);
}

TEST(InputGate, RefusesChannelsOutOfOrder) {
  std::vector<std::unique_ptr<InputChannel>> channels;
  channels.push_back(std::make_unique<QueueChannel>(1));
  EXPECT_THROW(InputGate(std::move(channels), nullptr), SluiceException);
}

}  // namespace
}  // namespace sluice
