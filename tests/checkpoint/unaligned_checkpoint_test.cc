// Unaligned checkpoints (Flink's FLIP-76): the exactly-once barrier handler's unaligned and
// aligned-with-timeout rules (scripted barriers and buffers against the expected trigger,
// persist, complete and abort calls), priority events in the network stack (a barrier
// overtakes queued buffers, which become output channel state), StreamTask end to end over real
// channels (producer tasks → one consumer task: the captured output + input channel state is
// exactly the records in flight, no gap, no overlap), restore from that channel state (every
// record processed exactly once), and the `_metadata` format carrying output channel state.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sluice/checkpoint/checkpoint_barrier_handler.h"
#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/core/clock.h"
#include "sluice/core/data_view.h"
#include "sluice/network/events.h"
#include "sluice/network/input_gate.h"
#include "sluice/network/record_deserializer.h"
#include "sluice/network/record_writer.h"
#include "sluice/network/result_partition.h"
#include "sluice/runtime/source_operator.h"
#include "sluice/runtime/stream_task.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/local_channels.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using Log = std::vector<std::string>;

CheckpointBarrier alignedBarrier(int64_t id) { return CheckpointBarrier{id, 1000 + id}; }
CheckpointBarrier unalignedBarrier(int64_t id) {
  CheckpointBarrier b{id, 1000 + id};
  b.unaligned = true;
  return b;
}
CheckpointBarrier timeoutableBarrier(int64_t id, int64_t timeoutMillis) {
  CheckpointBarrier b{id, 1000 + id};
  b.alignedCheckpointTimeoutMillis = timeoutMillis;
  return b;
}

BufferPtr dataBuffer(const std::string& payload) {
  BufferPtr b = allocateUnpooledBuffer(static_cast<uint32_t>(payload.size()), BufferType::kData);
  std::memcpy(b->data, payload.data(), payload.size());
  b->size = static_cast<uint32_t>(payload.size());
  return b;
}

std::string bytesToString(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// ---- the handler alone ------------------------------------------------------------------------

/// Logs every call ("block 1", "resume", "trigger 5 unaligned", "abort 4", "complete 5",
/// "timer 10ms") and keeps the persisted payloads per checkpoint and channel.
struct RecordingTarget final : CheckpointBarrierTarget {
  Log log;
  std::vector<CheckpointBarrier> triggered;
  std::vector<CheckpointMetrics> metrics;
  std::map<int64_t, std::map<int, std::string>> persisted;

  void blockChannel(int channel) override { log.push_back("block " + std::to_string(channel)); }
  void resumeChannels() override { log.push_back("resume"); }
  void triggerCheckpointOnBarrier(const CheckpointBarrier& barrier,
                                  const CheckpointMetrics& m) override {
    log.push_back("trigger " + std::to_string(barrier.checkpointId) +
                  (m.unaligned ? " unaligned" : ""));
    triggered.push_back(barrier);
    metrics.push_back(m);
  }
  void abortCheckpointOnBarrier(int64_t checkpointId) override {
    log.push_back("abort " + std::to_string(checkpointId));
  }
  void persistInflightBuffer(int64_t checkpointId, int channel, const Buffer& buffer) override {
    persisted[checkpointId][channel].append(reinterpret_cast<const char*>(buffer.data),
                                            buffer.size);
  }
  void inputChannelStateComplete(int64_t checkpointId) override {
    log.push_back("complete " + std::to_string(checkpointId));
  }
  void scheduleAlignmentTimeout(int64_t delayNanos) override {
    log.push_back("timer " + std::to_string(delayNanos / 1'000'000) + "ms");
  }
  Log take() {
    Log out;
    out.swap(log);
    return out;
  }
};

class UnalignedHandlerTest : public ::testing::Test {
 protected:
  void make(int channels, CheckpointingMode mode = CheckpointingMode::kExactlyOnce) {
    handler_ = CheckpointBarrierHandler::create(mode, channels, target_, [this] { return now_; });
  }
  void barrier(const CheckpointBarrier& b, int channel) { handler_->processBarrier(b, channel); }
  /// The task is about to process `payload` from `channel`.
  void data(int channel, const std::string& payload) {
    BufferPtr b = dataBuffer(payload);
    handler_->onBuffer(channel, *b);
  }

  RecordingTarget target_;
  std::unique_ptr<CheckpointBarrierHandler> handler_;
  int64_t now_ = 0;
};

TEST_F(UnalignedHandlerTest, FirstBarrierTriggersAtOnceWithoutBlocking) {
  make(3);
  data(0, "before");  // no checkpoint in progress: nothing persisted
  barrier(unalignedBarrier(1), 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned"}));
  ASSERT_EQ(target_.metrics.size(), 1u);
  EXPECT_TRUE(target_.metrics[0].unaligned);
  EXPECT_TRUE(target_.triggered[0].unaligned);
  EXPECT_FALSE(handler_->isAligning());
  EXPECT_TRUE(handler_->isCollectingChannelState());
  EXPECT_TRUE(target_.persisted.empty());
}

TEST_F(UnalignedHandlerTest, PersistsExactlyTheBuffersBeforeEachChannelsBarrier) {
  make(3);
  barrier(unalignedBarrier(1), 1);
  data(0, "a");  // channel 0: before its barrier
  data(1, "x");  // channel 1: after its barrier
  data(2, "b");
  data(0, "c");
  barrier(unalignedBarrier(1), 0);
  data(0, "y");  // after channel 0's barrier
  data(2, "d");
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned"}));
  barrier(unalignedBarrier(1), 2);  // the last one: the input channel state is complete
  EXPECT_EQ(target_.take(), (Log{"complete 1"}));
  data(2, "z");  // after completion: nothing persisted
  EXPECT_EQ(target_.persisted[1], (std::map<int, std::string>{{0, "ac"}, {2, "bd"}}));
  EXPECT_FALSE(handler_->isCollectingChannelState());
  EXPECT_EQ(handler_->latestCompletedOrAbortedId(), 1);
  // A late barrier of checkpoint 1 is ignored; the next checkpoint starts afresh.
  barrier(unalignedBarrier(2), 2);
  data(0, "e");
  data(2, "w");
  EXPECT_EQ(target_.take(), (Log{"trigger 2 unaligned"}));
  EXPECT_EQ(target_.persisted[2], (std::map<int, std::string>{{0, "e"}}));
}

TEST_F(UnalignedHandlerTest, SingleChannelTriggersAndCompletesAtOnce) {
  make(1);
  barrier(unalignedBarrier(4), 0);
  EXPECT_EQ(target_.take(), (Log{"trigger 4 unaligned", "complete 4"}));
  data(0, "after");
  EXPECT_TRUE(target_.persisted.empty());
}

TEST_F(UnalignedHandlerTest, NewerBarrierAbortsAnIncompleteCheckpoint) {
  make(3);
  barrier(unalignedBarrier(1), 0);
  data(1, "a");
  barrier(unalignedBarrier(2), 1);  // checkpoint 1 can no longer complete here
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned", "abort 1", "trigger 2 unaligned"}));
  data(0, "b");                     // channel 0 delivered 1, not 2: persisted for 2
  data(1, "c");                     // channel 1 delivered 2
  barrier(unalignedBarrier(1), 2);  // obsolete: ignored
  data(2, "d");
  barrier(unalignedBarrier(2), 0);
  barrier(unalignedBarrier(2), 2);
  EXPECT_EQ(target_.take(), (Log{"complete 2"}));
  EXPECT_EQ(target_.persisted[1], (std::map<int, std::string>{{1, "a"}}));
  EXPECT_EQ(target_.persisted[2], (std::map<int, std::string>{{0, "b"}, {2, "d"}}));
}

TEST_F(UnalignedHandlerTest, CancellationMarkerAbortsAnIncompleteCheckpoint) {
  make(2);
  barrier(unalignedBarrier(1), 0);
  handler_->processCancellationMarker(1, 1);
  data(1, "a");                     // nothing is collected any more
  barrier(unalignedBarrier(1), 1);  // ignored: aborted
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned", "abort 1"}));
  EXPECT_TRUE(target_.persisted.empty());
  EXPECT_FALSE(handler_->isCollectingChannelState());
}

TEST_F(UnalignedHandlerTest, EndOfPartitionCountsAsTheChannelsBarrier) {
  make(3);
  barrier(unalignedBarrier(1), 0);
  data(1, "a");  // everything up to the end of partition is in flight
  handler_->processEndOfPartition(1);
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned"}));
  barrier(unalignedBarrier(1), 2);
  EXPECT_EQ(target_.take(), (Log{"complete 1"}));
  EXPECT_EQ(target_.persisted[1], (std::map<int, std::string>{{1, "a"}}));
  // The channel whose barrier arrived ends while a later checkpoint collects: it no longer counts.
  barrier(unalignedBarrier(2), 0);
  handler_->processEndOfPartition(0);
  EXPECT_EQ(target_.take(), (Log{"trigger 2 unaligned"}));
  handler_->processEndOfPartition(2);
  EXPECT_EQ(target_.take(), (Log{"complete 2"}));
}

TEST_F(UnalignedHandlerTest, UnalignedBarrierSwitchesARunningAlignment) {
  make(3);
  barrier(alignedBarrier(1), 0);
  data(1, "counted");  // aligned: processed, not persisted
  EXPECT_EQ(target_.take(), (Log{"block 0"}));
  EXPECT_TRUE(handler_->isAligning());
  now_ = 7'000'000;
  barrier(unalignedBarrier(1), 1);  // an upstream task switched: so does this one
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned", "resume"}));
  EXPECT_TRUE(target_.triggered[0].unaligned) << "forwarded unaligned, downstream switches too";
  EXPECT_EQ(target_.metrics[0].alignmentDurationNanos, 7'000'000);
  EXPECT_EQ(target_.metrics[0].buffersProcessedDuringAlignment, 1);
  data(0, "x");  // channel 0 was aligned: its data is after the barrier
  data(2, "y");
  barrier(alignedBarrier(1), 2);
  EXPECT_EQ(target_.take(), (Log{"complete 1"}));
  EXPECT_EQ(target_.persisted[1], (std::map<int, std::string>{{2, "y"}}));
}

TEST_F(UnalignedHandlerTest, AlignedCheckpointTimeoutSwitchesToUnaligned) {
  make(3);
  barrier(timeoutableBarrier(1, 10), 0);
  EXPECT_EQ(target_.take(), (Log{"block 0", "timer 10ms"}));
  now_ = 5'000'000;
  EXPECT_FALSE(handler_->checkAlignmentTimeout());
  data(1, "early");  // still aligned
  barrier(timeoutableBarrier(1, 10), 1);
  EXPECT_EQ(target_.take(), (Log{"block 1"}));
  now_ = 10'000'000;
  data(2, "late");  // the timeout has passed: switch first, then this buffer is persisted
  EXPECT_EQ(target_.take(), (Log{"trigger 1 unaligned", "resume"}));
  EXPECT_TRUE(target_.triggered[0].unaligned);
  EXPECT_EQ(target_.triggered[0].alignedCheckpointTimeoutMillis, 0);
  EXPECT_EQ(target_.persisted[1], (std::map<int, std::string>{{2, "late"}}));
  barrier(timeoutableBarrier(1, 10), 2);
  EXPECT_EQ(target_.take(), (Log{"complete 1"}));

  // The timer path: no buffer arrives, the timer calls checkAlignmentTimeout.
  barrier(timeoutableBarrier(2, 10), 2);
  EXPECT_EQ(target_.take(), (Log{"block 2", "timer 10ms"}));
  now_ = 30'000'000;
  EXPECT_TRUE(handler_->checkAlignmentTimeout());
  EXPECT_EQ(target_.take(), (Log{"trigger 2 unaligned", "resume"}));
  EXPECT_FALSE(handler_->checkAlignmentTimeout());  // a stale timer does nothing
}

TEST_F(UnalignedHandlerTest, AlignmentWithinTheTimeoutStaysAligned) {
  make(2);
  barrier(timeoutableBarrier(1, 10), 0);
  now_ = 9'000'000;
  data(1, "a");
  barrier(timeoutableBarrier(1, 10), 1);
  EXPECT_EQ(target_.take(), (Log{"block 0", "timer 10ms", "trigger 1", "resume"}));
  EXPECT_FALSE(target_.metrics[0].unaligned);
  now_ = 100'000'000;
  EXPECT_FALSE(handler_->checkAlignmentTimeout());  // the timer of a completed alignment
  EXPECT_TRUE(target_.persisted.empty());
}

TEST_F(UnalignedHandlerTest, SavepointsAreAlwaysAligned) {
  make(2);
  CheckpointBarrier savepoint = unalignedBarrier(1);
  savepoint.savepoint = true;
  barrier(savepoint, 0);
  data(1, "a");
  barrier(savepoint, 1);
  EXPECT_EQ(target_.take(), (Log{"block 0", "trigger 1", "resume"}));
  EXPECT_TRUE(target_.persisted.empty());
}

TEST_F(UnalignedHandlerTest, AtLeastOnceIgnoresAlignmentOptions) {
  make(2, CheckpointingMode::kAtLeastOnce);
  barrier(unalignedBarrier(1), 0);
  data(1, "a");
  barrier(unalignedBarrier(1), 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 1"}));
  EXPECT_TRUE(target_.persisted.empty());
}

// ---- the network stack ------------------------------------------------------------------------

void drain(ResultSubpartition& sub, std::vector<std::string>* order) {
  bool more = true;
  while (BufferPtr b = sub.poll(more)) {
    if (b->type == BufferType::kEvent) {
      RuntimeEvent e = deserializeEvent(*b);
      order->push_back("event " + std::to_string(static_cast<int>(e.type)) + " " +
                       std::to_string(e.barrier.checkpointId));
    } else {
      order->push_back("data " + std::string(reinterpret_cast<char*>(b->data), b->size));
    }
  }
}

TEST(PriorityEvents, ABarrierOvertakesQueuedDataWhichIsReturnedAsOutputState) {
  ResultSubpartition sub;
  sub.add(dataBuffer("d1"));
  sub.add(serializeEvent(RuntimeEvent{EventType::kCancelCheckpointMarker, alignedBarrier(3)}));
  sub.add(dataBuffer("d2"));
  std::vector<uint8_t> overtaken;
  sub.addPriorityEvent(
      serializeEvent(RuntimeEvent{EventType::kCheckpointBarrier, unalignedBarrier(4)}), &overtaken);
  EXPECT_EQ(bytesToString(overtaken), "d1d2");  // data only, oldest first
  std::vector<uint8_t> second;
  sub.addPriorityEvent(
      serializeEvent(RuntimeEvent{EventType::kCheckpointBarrier, unalignedBarrier(5)}), &second);
  EXPECT_EQ(bytesToString(second), "d1d2");  // behind the earlier priority event
  std::vector<std::string> order;
  drain(sub, &order);
  EXPECT_EQ(order, (std::vector<std::string>{"event 2 4", "event 2 5", "data d1", "event 3 3",
                                             "data d2"}));
  // Priority bookkeeping resets once polled: a new priority event goes to the (new) head.
  sub.add(dataBuffer("d3"));
  std::vector<uint8_t> third;
  sub.addPriorityEvent(
      serializeEvent(RuntimeEvent{EventType::kCheckpointBarrier, unalignedBarrier(6)}), &third);
  EXPECT_EQ(bytesToString(third), "d3");
  order.clear();
  drain(sub, &order);
  EXPECT_EQ(order, (std::vector<std::string>{"event 2 6", "data d3"}));
}

TEST(PriorityEvents, RecordWriterFlushesThenOvertakesAndTheGateServesThePriorityChannelFirst) {
  ResultPartition first(1, 8, 16);
  ResultPartition second(1, 8, 16);
  std::atomic<int> wakeups{0};
  ResultPartitionManager manager;
  InputGate gate(testing::localChannels(manager, {&first, &second}), [&] { ++wakeups; });
  gate.connect();
  RecordWriter a(first, false);
  RecordWriter b(second, false);
  std::vector<uint8_t> bytes(20, 'a');  // spans two 16-byte buffers
  a.emit(bytes.data(), bytes.size(), 0);
  std::vector<uint8_t> other(5, 'b');
  b.emit(other.data(), other.size(), 0);
  b.flushAll();
  // Channel 0 has one full buffer queued and 4 bytes in its writer; channel 1 one buffer.
  std::vector<std::vector<uint8_t>> overtaken;
  b.broadcastPriorityEvent(RuntimeEvent{EventType::kCheckpointBarrier, unalignedBarrier(1)},
                           overtaken);
  ASSERT_EQ(overtaken.size(), 1u);
  EXPECT_EQ(bytesToString(overtaken[0]), "bbbbb");
  a.broadcastPriorityEvent(RuntimeEvent{EventType::kCheckpointBarrier, unalignedBarrier(1)},
                           overtaken);
  EXPECT_EQ(bytesToString(overtaken[0]), std::string(20, 'a'))
      << "the writer's partial buffer is flushed and overtaken too";
  // Channel 0 announced its priority event last: it is served first.
  auto next = gate.pollNext();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->channel, 0);
  EXPECT_EQ(next->buffer->type, BufferType::kEvent);
  next = gate.pollNext();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->channel, 1);
  EXPECT_EQ(next->buffer->type, BufferType::kEvent);
  gate.disconnect();
  first.release();
  second.release();
}

TEST(PriorityEvents, DeserializerReportsItsPartialElementAsUnconsumedBytes) {
  // Two elements, 4-byte length prefix each: "abc" and "defgh"; the second is cut.
  std::vector<uint8_t> stream;
  for (std::string s : {"abc", "defgh"}) {
    uint32_t len = static_cast<uint32_t>(s.size());
    stream.insert(stream.end(), reinterpret_cast<uint8_t*>(&len),
                  reinterpret_cast<uint8_t*>(&len) + 4);
    stream.insert(stream.end(), s.begin(), s.end());
  }
  for (size_t cut = 8; cut < stream.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    RecordDeserializer d;
    d.setNextBuffer(dataBuffer(std::string(stream.begin(), stream.begin() + cut)));
    DataInputView element;
    ASSERT_TRUE(d.next(element));
    EXPECT_EQ(element.remaining(), 3u);
    EXPECT_FALSE(d.next(element));
    std::vector<uint8_t> unconsumed;
    d.copyUnconsumed(unconsumed);
    EXPECT_EQ(unconsumed, std::vector<uint8_t>(stream.begin() + 7, stream.begin() + cut));
    d.clear();
  }
}

// ---- tasks over real channels: producers → one consumer ---------------------------------------

constexpr int kProducers = 2;
constexpr int64_t kRecords = 4000;
constexpr int kPoolBuffers = 6;
constexpr uint32_t kSegmentBytes = 64;

/// One framed element: u32 length, then producer (u8), sequence number (i64) and seq % 53
/// padding bytes (so that elements span the 64-byte buffers).
std::vector<uint8_t> frame(int producer, int64_t seq) {
  uint32_t padding = static_cast<uint32_t>(seq % 53);
  uint32_t len = 1 + 8 + padding;
  std::vector<uint8_t> out(4 + len);
  std::memcpy(out.data(), &len, 4);
  out[4] = static_cast<uint8_t>(producer);
  std::memcpy(out.data() + 5, &seq, 8);
  std::memset(out.data() + 13, static_cast<int>(seq & 0x7F), padding);
  return out;
}

/// Decodes one element; false if malformed.
bool decode(DataInputView& element, int& producer, int64_t& seq) {
  if (element.remaining() < 9) return false;
  producer = element.readRaw<uint8_t>();
  seq = element.readRaw<int64_t>();
  if (element.remaining() != static_cast<size_t>(seq % 53)) return false;
  std::vector<uint8_t> padding(element.remaining());
  element.readBytes(padding.data(), padding.size());
  for (uint8_t p : padding) {
    if (p != static_cast<uint8_t>(seq & 0x7F)) return false;
  }
  return true;
}

/// The sequence numbers of `producer` in `bytes`, which must hold whole elements only.
std::vector<int64_t> sequencesIn(const std::vector<uint8_t>& bytes, int producer) {
  std::vector<int64_t> seqs;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint32_t len = 0;
    if (bytes.size() - pos < 4) {
      ADD_FAILURE() << "a partial length prefix at the end of the channel state";
      break;
    }
    std::memcpy(&len, bytes.data() + pos, 4);
    if (bytes.size() - pos - 4 < len) {
      ADD_FAILURE() << "a partial element at the end of the channel state";
      break;
    }
    DataInputView element(bytes.data() + pos + 4, len);
    int p = -1;
    int64_t seq = -1;
    if (!decode(element, p, seq) || p != producer) {
      ADD_FAILURE() << "a malformed element in the channel state at byte " << pos;
      break;
    }
    seqs.push_back(seq);
    pos += 4 + len;
  }
  return seqs;
}

/// Emits (producer, 0..kRecords) on subpartition 0; backs off (kMoreAvailable, a short sleep)
/// while its pool is nearly used up, so that the test can trigger it between records while its
/// queue is full.
struct SequenceSource final : SourceOperatorBase {
  RecordWriter* writer = nullptr;
  ResultPartition* partition = nullptr;
  int producer = 0;
  int64_t next = 0;
  InputStatus emitNext() override {
    if (next >= kRecords) return InputStatus::kEndOfInput;
    if (partition->bufferPool().numInUse() >= kPoolBuffers - 1) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      return InputStatus::kMoreAvailable;
    }
    auto f = frame(producer, next++);
    writer->emit(f.data(), f.size(), 0);
    return InputStatus::kMoreAvailable;
  }
};

/// The consumer's state: the next expected sequence number per channel (= producer).
struct ConsumerState {
  std::array<std::atomic<int64_t>, kProducers> next{};
  std::atomic<bool> paused{false};
  std::mutex mutex;
  std::string error;  // guarded by mutex
};

/// Checks every element against the expected next sequence number of its channel: in order,
/// no gap, no duplicate. Waits while paused (before each buffer).
struct SequenceHandler final : InputHandler {
  ConsumerState* state = nullptr;
  void processBuffer(RecordDeserializer& deserializer, int channel) override {
    while (state->paused.load()) std::this_thread::sleep_for(std::chrono::microseconds(50));
    DataInputView element;
    while (deserializer.next(element)) {
      int producer = -1;
      int64_t seq = -1;
      auto& next = state->next[static_cast<size_t>(channel)];
      if (!decode(element, producer, seq) || producer != channel || seq != next.load()) {
        std::lock_guard lock(state->mutex);
        if (state->error.empty()) {
          state->error = "channel " + std::to_string(channel) + ": got producer " +
                         std::to_string(producer) + " seq " + std::to_string(seq) +
                         ", expected seq " + std::to_string(next.load());
        }
      }
      next.store(seq + 1);
    }
  }
  void channelFinished(int) override {}
};

struct NoOp final : StreamOperatorBase {};

/// What one checkpoint left behind.
struct CheckpointResult {
  std::array<int64_t, kProducers> emitted{};  // per producer: records emitted before its snapshot
  std::array<int64_t, kProducers> seen{};     // per channel: records the consumer processed
  std::array<TaskChannelState, kProducers> producerState;
  TaskChannelState consumerState;
  std::array<bool, kProducers> producerDone{};
  bool consumerSnapshot = false;
  bool consumerDone = false;
};

/// Where a run starts: nothing, or a checkpoint.
struct RunStart {
  std::array<int64_t, kProducers> producerNext{};
  std::array<int64_t, kProducers> consumerNext{};
  std::array<TaskChannelState, kProducers> producerState;
  TaskChannelState consumerState;
};

struct RunResult {
  std::map<int64_t, CheckpointResult> checkpoints;
  std::array<int64_t, kProducers> consumerNextAtEnd{};
  std::string error;
};

/// Runs two producer tasks and one consumer task to the end from `start`, taking `numCheckpoints`
/// unaligned checkpoints along the way with a deterministic schedule per checkpoint k:
/// pause the consumer; wait until both producers have (nearly) filled their pools; trigger
/// producer 0 (its barrier overtakes its full queue); resume the consumer; wait until the
/// consumer took its snapshot (at producer 0's barrier) and then processed one more record of
/// producer 1 (which is in flight: before producer 1's barrier); trigger producer 1; wait for
/// the consumer's channel state.
RunResult runPipeline(const RunStart& start, int numCheckpoints) {
  TimerScheduler scheduler(std::make_shared<ManualClock>());
  std::vector<std::unique_ptr<ResultPartition>> partitions;
  ResultPartitionManager manager;
  std::vector<std::unique_ptr<StreamTask>> producers;
  std::vector<SequenceSource*> sources;
  std::mutex mutex;  // guards result.checkpoints
  RunResult result;
  for (int i = 0; i < kProducers; ++i) {
    partitions.push_back(std::make_unique<ResultPartition>(1, kPoolBuffers, kSegmentBytes));
    auto task = std::make_unique<StreamTask>(TaskInfo{"Source: Seq", i, kProducers, 128, 0},
                                             scheduler, i, -1);
    auto source = std::make_unique<SequenceSource>();
    source->producer = i;
    source->next = start.producerNext[static_cast<size_t>(i)];
    source->partition = partitions.back().get();
    SequenceSource* s = source.get();
    task->addOperator(std::move(source), "Source: Seq");
    task->setupOperator(0, nullptr, nullptr);
    s->writer = &task->addRecordWriter(*partitions.back());
    task->setCheckpointHook([&, i, s](const CheckpointBarrier& b, const CheckpointMetrics&) {
      std::lock_guard lock(mutex);
      result.checkpoints[b.checkpointId].emitted[static_cast<size_t>(i)] = s->next;
    });
    task->setChannelStateHook([&, i](int64_t id, TaskChannelState state) {
      std::lock_guard lock(mutex);
      auto& c = result.checkpoints[id];
      c.producerState[static_cast<size_t>(i)] = std::move(state);
      c.producerDone[static_cast<size_t>(i)] = true;
    });
    task->setRestoredChannelState(start.producerState[static_cast<size_t>(i)]);
    sources.push_back(s);
    producers.push_back(std::move(task));
  }

  ConsumerState consumerState;
  for (int i = 0; i < kProducers; ++i) {
    consumerState.next[static_cast<size_t>(i)] = start.consumerNext[static_cast<size_t>(i)];
  }
  StreamTask consumer(TaskInfo{"Check", 0, 1, 128, 0}, scheduler, kProducers, -1);
  consumer.addOperator(std::make_unique<NoOp>(), "Check");
  consumer.setupOperator(0, nullptr, nullptr);
  std::vector<std::unique_ptr<InputHandler>> handlers;
  auto handler = std::make_unique<SequenceHandler>();
  handler->state = &consumerState;
  handlers.push_back(std::move(handler));
  std::vector<ResultPartition*> upstream;
  std::vector<ChannelBinding> bindings;
  for (int i = 0; i < kProducers; ++i) {
    upstream.push_back(partitions[static_cast<size_t>(i)].get());
    bindings.push_back(ChannelBinding{0, i});
  }
  consumer.setInputs(testing::localChannels(manager, upstream), std::move(bindings),
                     std::move(handlers));
  consumer.setCheckpointHook([&](const CheckpointBarrier& b, const CheckpointMetrics& m) {
    EXPECT_TRUE(m.unaligned);
    std::lock_guard lock(mutex);
    auto& c = result.checkpoints[b.checkpointId];
    for (int i = 0; i < kProducers; ++i) {
      c.seen[static_cast<size_t>(i)] = consumerState.next[static_cast<size_t>(i)].load();
    }
    c.consumerSnapshot = true;
  });
  consumer.setChannelStateHook([&](int64_t id, TaskChannelState state) {
    std::lock_guard lock(mutex);
    auto& c = result.checkpoints[id];
    c.consumerState = std::move(state);
    c.consumerDone = true;
  });
  consumer.setCheckpointAbortHook(
      [&](int64_t id) { ADD_FAILURE() << "checkpoint " << id << " aborted at the consumer"; });
  consumer.setRestoredChannelState(start.consumerState);
  // A failed task releases the partitions and cancels the others, as the executor does, so that
  // no thread waits forever.
  auto failAll = [&](StreamTask&) {
    for (auto& p : partitions) p->release();
    for (auto& p : producers) p->cancel();
    consumer.cancel();
  };
  consumer.setFailureListener(failAll);
  for (auto& p : producers) p->setFailureListener(failAll);

  auto checkpoint = [&](int64_t id, auto pred) {
    return testing::eventually([&] {
      std::lock_guard lock(mutex);
      return pred(result.checkpoints[id]);
    });
  };
  std::vector<std::thread> threads;
  for (auto& p : producers) threads.emplace_back([t = p.get()] { t->run(); });
  threads.emplace_back([&] { consumer.run(); });
  // Failures here are not fatal, so that the threads are always joined.
  auto step = [](bool ok, const char* what) {
    if (!ok) ADD_FAILURE() << what;
    return ok;
  };
  for (int64_t k = 1; k <= numCheckpoints; ++k) {
    consumerState.paused = true;
    int64_t seenOf1 = -1;
    bool ok =
        step(testing::eventually([&] {
               for (auto& p : partitions) {
                 if (p->bufferPool().numInUse() < kPoolBuffers - 1) return false;
               }
               return true;
             }),
             "the producers did not fill their pools") &&
        step(producers[0]->triggerCheckpointAsync(unalignedBarrier(k)), "producer 0 had ended") &&
        step(checkpoint(k, [](CheckpointResult& c) { return c.producerDone[0]; }),
             "producer 0 did not checkpoint");
    consumerState.paused = false;
    ok = ok &&
         step(checkpoint(k,
                         [&](CheckpointResult& c) {
                           if (c.consumerSnapshot) seenOf1 = c.seen[1];
                           return c.consumerSnapshot && consumerState.next[1].load() > seenOf1;
                         }),
              "the consumer did not snapshot or process producer 1's records") &&
         step(producers[1]->triggerCheckpointAsync(unalignedBarrier(k)), "producer 1 had ended") &&
         step(checkpoint(k, [](CheckpointResult& c) { return c.consumerDone; }),
              "the consumer's channel state did not complete");
    if (!ok) break;
  }
  consumerState.paused = false;
  for (auto& t : threads) t.join();
  for (auto& p : producers) EXPECT_EQ(p->state(), TaskState::kFinished) << p->failureMessage();
  EXPECT_EQ(consumer.state(), TaskState::kFinished) << consumer.failureMessage();
  for (int i = 0; i < kProducers; ++i) {
    result.consumerNextAtEnd[static_cast<size_t>(i)] =
        consumerState.next[static_cast<size_t>(i)].load();
  }
  result.error = consumerState.error;
  scheduler.shutdown();
  return result;
}

/// The oracle of checkpoint `c`: per channel, the consumer's input state followed by the
/// producer's output state holds exactly the records the producer emitted before its snapshot
/// and the consumer had not processed before its own: [seen, emitted), in order.
void expectChannelStateIsExactlyTheRecordsInFlight(const CheckpointResult& c, int64_t id) {
  for (int i = 0; i < kProducers; ++i) {
    SCOPED_TRACE("checkpoint " + std::to_string(id) + ", channel " + std::to_string(i));
    const auto& in = c.consumerState.inputChannels;
    const auto& out = c.producerState[static_cast<size_t>(i)].resultSubpartitions;
    std::vector<uint8_t> bytes;
    if (auto it = in.find(i); it != in.end()) bytes = it->second;
    if (auto it = out.find(ResultSubpartitionInfo{0, 0}); it != out.end()) {
      bytes.insert(bytes.end(), it->second.begin(), it->second.end());
    }
    std::vector<int64_t> expected;
    for (int64_t s = c.seen[static_cast<size_t>(i)]; s < c.emitted[static_cast<size_t>(i)]; ++s) {
      expected.push_back(s);
    }
    EXPECT_EQ(sequencesIn(bytes, i), expected);
  }
}

TEST(UnalignedCheckpointTasks, ChannelStateHoldsExactlyTheRecordsInFlightAndRestoresExactlyOnce) {
  const int64_t before = liveBufferCount();
  RunResult run = runPipeline(RunStart{}, 3);
  EXPECT_EQ(run.error, "");
  for (int i = 0; i < kProducers; ++i)
    EXPECT_EQ(run.consumerNextAtEnd[static_cast<size_t>(i)], kRecords);
  ASSERT_EQ(run.checkpoints.size(), 3u);
  for (const auto& [id, c] : run.checkpoints) {
    ASSERT_TRUE(c.consumerDone && c.producerDone[0] && c.producerDone[1]);
    expectChannelStateIsExactlyTheRecordsInFlight(c, id);
    // The schedule makes both kinds of channel state non-empty: producer 0's barrier overtook
    // its full queue, and the consumer processed records of producer 1 before its barrier.
    EXPECT_FALSE(c.producerState[0].resultSubpartitions.empty()) << "checkpoint " << id;
    EXPECT_TRUE(c.consumerState.inputChannels.count(1)) << "checkpoint " << id;
    EXPECT_LT(c.seen[0], c.emitted[0]);
  }

  // Restore from each checkpoint: the producers resume after their snapshot, re-emitting their
  // output state; the consumer resumes at its snapshot, replaying its input state first. Every
  // record from there on is processed exactly once, in order (the handler checks each one).
  for (const auto& [id, c] : run.checkpoints) {
    SCOPED_TRACE("restored from checkpoint " + std::to_string(id));
    RunStart start;
    start.producerNext = c.emitted;
    start.consumerNext = c.seen;
    start.producerState = c.producerState;
    start.consumerState = c.consumerState;
    RunResult restored = runPipeline(start, 0);
    EXPECT_EQ(restored.error, "");
    for (int i = 0; i < kProducers; ++i) {
      EXPECT_EQ(restored.consumerNextAtEnd[static_cast<size_t>(i)], kRecords);
    }
  }
  EXPECT_EQ(liveBufferCount(), before) << "a buffer leaked";
}

TEST(UnalignedCheckpointTasks, ChannelStateOfAnotherLayoutFailsTheTaskClearly) {
  TimerScheduler scheduler(std::make_shared<ManualClock>());
  ResultPartition partition(1, 2, 64);
  ResultPartitionManager manager;
  StreamTask task(TaskInfo{"Check", 0, 1, 128, 0}, scheduler, 0, -1);
  task.addOperator(std::make_unique<NoOp>(), "Check");
  task.setupOperator(0, nullptr, nullptr);
  ConsumerState state;
  std::vector<std::unique_ptr<InputHandler>> handlers;
  auto handler = std::make_unique<SequenceHandler>();
  handler->state = &state;
  handlers.push_back(std::move(handler));
  task.setInputs(testing::localChannels(manager, {&partition}), {ChannelBinding{}},
                 std::move(handlers));
  TaskChannelState restored;
  restored.inputChannels[3] = {1, 2, 3};
  task.setRestoredChannelState(restored);
  task.run();
  EXPECT_EQ(task.state(), TaskState::kFailed);
  EXPECT_NE(task.failureMessage().find("input channel 3"), std::string::npos)
      << task.failureMessage();
  EXPECT_NE(task.failureMessage().find("parallelism"), std::string::npos);
  scheduler.shutdown();
}

TEST(UnalignedCheckpointTasks, AlignedCheckpointsReportEmptyChannelState) {
  TimerScheduler scheduler(std::make_shared<ManualClock>());
  ResultPartition partition(1, 4, 64);
  StreamTask task(TaskInfo{"Source: Seq", 0, 1, 128, 0}, scheduler, 0, -1);
  auto source = std::make_unique<SequenceSource>();
  source->partition = &partition;
  SequenceSource* s = source.get();
  s->next = kRecords;  // emits nothing: ends after the mails that are there when it starts
  task.addOperator(std::move(source), "Source: Seq");
  task.setupOperator(0, nullptr, nullptr);
  s->writer = &task.addRecordWriter(partition);
  Log log;
  task.setCheckpointHook([&](const CheckpointBarrier& b, const CheckpointMetrics&) {
    log.push_back("snapshot " + std::to_string(b.checkpointId));
  });
  task.setChannelStateHook([&](int64_t id, TaskChannelState state) {
    log.push_back("channel state " + std::to_string(id) + (state.empty() ? " empty" : ""));
  });
  // Triggered before run(): the mail runs before the source's first emitNext().
  ASSERT_TRUE(task.triggerCheckpointAsync(alignedBarrier(1)));
  task.run();
  EXPECT_EQ(task.state(), TaskState::kFinished) << task.failureMessage();
  EXPECT_EQ(log, (Log{"snapshot 1", "channel state 1 empty"}));
  partition.release();
  scheduler.shutdown();
}

// ---- `_metadata` ------------------------------------------------------------------------------

TEST(UnalignedCheckpointMetadata, OutputChannelStateRoundTripsAndVersions1And2StillRead) {
  CompletedCheckpoint checkpoint;
  checkpoint.jobId = "job";
  checkpoint.checkpointId = 7;
  checkpoint.timestamp = 1234;
  OperatorCheckpointState op;
  op.operatorId = "op";
  op.operatorName = "Map";
  op.parallelism = 2;
  SubtaskCheckpointState subtask;
  subtask.inputChannelState[1] = {1, 2, 3};
  subtask.resultSubpartitionState[ResultSubpartitionInfo{0, 1}] = {4, 5};
  subtask.resultSubpartitionState[ResultSubpartitionInfo{1, 0}] = std::vector<uint8_t>(300, 9);
  op.subtasks[1] = subtask;
  checkpoint.operators["op"] = op;
  std::vector<uint8_t> bytes = FileCheckpointStorage::serializeMetadata(checkpoint);
  uint32_t version = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  EXPECT_EQ(version, FileCheckpointStorage::kMetadataVersion);
  CompletedCheckpoint back =
      FileCheckpointStorage::deserializeMetadata(bytes.data(), bytes.size(), "test");
  const auto& got = back.operators.at("op").subtasks.at(1);
  EXPECT_EQ(got.inputChannelState, subtask.inputChannelState);
  EXPECT_EQ(got.resultSubpartitionState, subtask.resultSubpartitionState);

  // A version 1 file is the same payload without the output-state count and the keyed-state
  // serializers of each subtask (here the last two bytes): it still reads, with no output state.
  subtask.resultSubpartitionState.clear();
  checkpoint.operators["op"].subtasks[1] = subtask;
  std::vector<uint8_t> v1 = FileCheckpointStorage::serializeMetadata(checkpoint);
  ASSERT_EQ(v1.back(), 0);  // varint 0: no keyed-state serializers (version 4)
  v1.pop_back();
  ASSERT_EQ(v1.back(), 0);  // varint 0: no output state (version 2)
  v1.pop_back();
  const uint32_t one = 1;
  std::memcpy(v1.data() + 8, &one, 4);
  const uint64_t payload = v1.size() - FileCheckpointStorage::kMetadataHeaderSize;
  std::memcpy(v1.data() + 12, &payload, 8);
  // The CRC (zlib's CRC-32) covers the header's first 20 bytes and the payload.
  uint32_t crc = 0;
  {
    auto update = [](uint32_t c, const uint8_t* p, size_t n) {
      c = ~c;
      for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
      }
      return ~c;
    };
    crc = update(0, v1.data(), 20);
    crc = update(crc, v1.data() + 24, payload);
    // Version 2 differs from version 3 only in what key-group blobs may be (no file ranges
    // here), and from version 4 in the serializers after each subtask (here none: the last
    // byte): that payload under version 2 reads the same.
    std::vector<uint8_t> v2 = bytes;
    ASSERT_EQ(v2.back(), 0);
    v2.pop_back();
    const uint32_t two = 2;
    std::memcpy(v2.data() + 8, &two, 4);
    const uint64_t payload2 = v2.size() - FileCheckpointStorage::kMetadataHeaderSize;
    std::memcpy(v2.data() + 12, &payload2, 8);
    uint32_t crc2 = update(0, v2.data(), 20);
    crc2 = update(crc2, v2.data() + 24, v2.size() - FileCheckpointStorage::kMetadataHeaderSize);
    std::memcpy(v2.data() + 20, &crc2, 4);
    CompletedCheckpoint fromV2 =
        FileCheckpointStorage::deserializeMetadata(v2.data(), v2.size(), "v2");
    EXPECT_EQ(fromV2.operators.at("op").subtasks.at(1).resultSubpartitionState,
              back.operators.at("op").subtasks.at(1).resultSubpartitionState);
  }
  std::memcpy(v1.data() + 20, &crc, 4);
  CompletedCheckpoint old = FileCheckpointStorage::deserializeMetadata(v1.data(), v1.size(), "v1");
  const auto& oldSubtask = old.operators.at("op").subtasks.at(1);
  EXPECT_EQ(oldSubtask.inputChannelState, subtask.inputChannelState);
  EXPECT_TRUE(oldSubtask.resultSubpartitionState.empty());
}

}  // namespace
}  // namespace sluice
