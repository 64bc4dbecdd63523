// Checkpoint barriers inside a task: the barrier handler's rules in both modes (scripted
// sequences of barriers, cancellation markers and ends of partition against the expected
// block/resume/trigger/abort calls), channel blocking in the input gate, the two together over
// real result subpartitions fed by producer threads (order kept, nothing lost, snapshots cut
// exactly at the barriers), and a StreamTask's source trigger and checkpoint notifications.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/checkpoint/checkpoint_barrier_handler.h"
#include "sluice/core/clock.h"
#include "sluice/network/events.h"
#include "sluice/network/input_gate.h"
#include "sluice/network/record_deserializer.h"
#include "sluice/network/record_writer.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/source_operator.h"
#include "sluice/runtime/stream_task.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/testing/local_channels.h"

namespace sluice {
namespace {

// ---- the handler alone ------------------------------------------------------------------------

/// Logs every call as "block 1", "resume", "trigger 5", "abort 4".
struct RecordingTarget final : CheckpointBarrierTarget {
  std::vector<std::string> log;
  std::vector<CheckpointMetrics> metrics;
  void blockChannel(int channel) override { log.push_back("block " + std::to_string(channel)); }
  void resumeChannels() override { log.push_back("resume"); }
  void triggerCheckpointOnBarrier(const CheckpointBarrier& barrier,
                                  const CheckpointMetrics& m) override {
    log.push_back("trigger " + std::to_string(barrier.checkpointId));
    metrics.push_back(m);
  }
  void abortCheckpointOnBarrier(int64_t checkpointId) override {
    log.push_back("abort " + std::to_string(checkpointId));
  }
  /// The log since the last call.
  std::vector<std::string> take() {
    std::vector<std::string> out;
    out.swap(log);
    return out;
  }
};

using Log = std::vector<std::string>;

CheckpointBarrier barrier(int64_t id) { return CheckpointBarrier{id, 1000 + id, false, false}; }

class HandlerTest : public ::testing::Test {
 protected:
  void make(CheckpointingMode mode, int channels) {
    handler_ = CheckpointBarrierHandler::create(mode, channels, target_, [this] { return now_; });
  }
  void b(int64_t id, int channel) { handler_->processBarrier(barrier(id), channel); }
  void cancel(int64_t id, int channel) { handler_->processCancellationMarker(id, channel); }
  void end(int channel) { handler_->processEndOfPartition(channel); }

  RecordingTarget target_;
  std::unique_ptr<CheckpointBarrierHandler> handler_;
  int64_t now_ = 0;
};

TEST_F(HandlerTest, SingleChannelTriggersAtOnceInBothModes) {
  for (auto mode : {CheckpointingMode::kExactlyOnce, CheckpointingMode::kAtLeastOnce}) {
    make(mode, 1);
    b(1, 0);
    EXPECT_EQ(target_.take(), (Log{"trigger 1"}));
    b(2, 0);
    EXPECT_EQ(target_.take(), (Log{"trigger 2"}));
    EXPECT_EQ(target_.metrics.back().alignmentDurationNanos, 0);
    EXPECT_FALSE(handler_->isAligning());
  }
}

TEST_F(HandlerTest, ExactlyOnceBlocksEachAlignedChannelAndTriggersBeforeResuming) {
  make(CheckpointingMode::kExactlyOnce, 3);
  b(1, 0);
  EXPECT_EQ(target_.take(), (Log{"block 0"}));
  EXPECT_TRUE(handler_->isAligning());
  b(1, 2);
  EXPECT_EQ(target_.take(), (Log{"block 2"}));
  b(1, 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 1", "resume"}));
  EXPECT_FALSE(handler_->isAligning());
  EXPECT_EQ(handler_->latestCompletedOrAbortedId(), 1);
  // The next checkpoint aligns again from scratch.
  b(2, 1);
  b(2, 0);
  b(2, 2);
  EXPECT_EQ(target_.take(), (Log{"block 1", "block 0", "trigger 2", "resume"}));
}

TEST_F(HandlerTest, ExactlyOnceNewerBarrierAbortsTheRunningAlignment) {
  make(CheckpointingMode::kExactlyOnce, 3);
  b(1, 0);
  b(2, 1);  // checkpoint 1 is subsumed
  EXPECT_EQ(target_.take(), (Log{"block 0", "abort 1", "resume", "block 1"}));
  b(1, 2);  // older than the running alignment: ignored
  EXPECT_EQ(target_.take(), Log{});
  b(2, 0);
  b(2, 2);
  EXPECT_EQ(target_.take(), (Log{"block 0", "trigger 2", "resume"}));
  b(1, 1);  // older than the last triggered
  b(2, 1);  // the same as the last triggered
  EXPECT_EQ(target_.take(), Log{});
}

TEST_F(HandlerTest, ExactlyOnceCancellationMarkerAbortsOnce) {
  make(CheckpointingMode::kExactlyOnce, 2);
  b(3, 0);
  cancel(3, 1);
  EXPECT_EQ(target_.take(), (Log{"block 0", "abort 3", "resume"}));
  b(3, 1);       // its late barrier is ignored
  cancel(3, 0);  // and so is a second marker
  EXPECT_EQ(target_.take(), Log{});
  // A marker of a newer checkpoint aborts the running alignment and the marked checkpoint.
  b(4, 0);
  cancel(5, 1);
  EXPECT_EQ(target_.take(), (Log{"block 0", "abort 4", "resume", "abort 5"}));
  b(5, 0);
  EXPECT_EQ(target_.take(), Log{});
  // A marker while nothing is pending; older markers are ignored.
  cancel(7, 1);
  cancel(6, 0);
  EXPECT_EQ(target_.take(), (Log{"abort 7"}));
  b(8, 1);
  cancel(7, 0);  // older than the running alignment
  b(8, 0);
  EXPECT_EQ(target_.take(), (Log{"block 1", "trigger 8", "resume"}));
}

TEST_F(HandlerTest, ExactlyOnceEndOfPartitionCountsAsAligned) {
  make(CheckpointingMode::kExactlyOnce, 3);
  b(1, 0);
  end(1);
  EXPECT_EQ(target_.take(), (Log{"block 0"}));
  end(2);
  EXPECT_EQ(target_.take(), (Log{"trigger 1", "resume"}));
  EXPECT_EQ(handler_->numOpenChannels(), 1);
  b(2, 0);  // one open channel left: no alignment
  EXPECT_EQ(target_.take(), (Log{"trigger 2"}));
}

TEST_F(HandlerTest, ExactlyOnceMeasuresAlignment) {
  make(CheckpointingMode::kExactlyOnce, 2);
  handler_->onBufferProcessed(500);  // before the alignment: not counted
  now_ = 1000;
  b(1, 0);
  handler_->onBufferProcessed(100);
  handler_->onBufferProcessed(28);
  now_ = 7'001'000;
  b(1, 1);
  handler_->onBufferProcessed(999);  // after: not counted
  ASSERT_EQ(target_.metrics.size(), 1u);
  EXPECT_EQ(target_.metrics[0].alignmentDurationNanos, 7'000'000);
  EXPECT_EQ(target_.metrics[0].alignmentDurationMillis(), 7);
  EXPECT_EQ(target_.metrics[0].bytesProcessedDuringAlignment, 128);
  EXPECT_EQ(target_.metrics[0].buffersProcessedDuringAlignment, 2);
  EXPECT_FALSE(target_.metrics[0].unaligned);
  // The next alignment starts its counts from zero.
  b(2, 1);
  handler_->onBufferProcessed(10);
  b(2, 0);
  EXPECT_EQ(target_.metrics[1].bytesProcessedDuringAlignment, 10);
  EXPECT_EQ(target_.metrics[1].buffersProcessedDuringAlignment, 1);
}

TEST_F(HandlerTest, AtLeastOnceNeverBlocksAndCountsBarriersPerCheckpoint) {
  make(CheckpointingMode::kAtLeastOnce, 3);
  b(1, 0);
  b(2, 0);  // checkpoints overlap: channel 0 is already at 2
  b(1, 2);
  EXPECT_EQ(target_.take(), Log{});
  EXPECT_FALSE(handler_->isAligning());
  b(1, 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 1"}));
  b(2, 1);
  b(2, 2);
  EXPECT_EQ(target_.take(), (Log{"trigger 2"}));
  b(2, 0);  // late duplicate of a triggered checkpoint: ignored
  EXPECT_EQ(target_.take(), Log{});
}

TEST_F(HandlerTest, AtLeastOnceNewerCompleteCheckpointSubsumesOlderOnes) {
  make(CheckpointingMode::kAtLeastOnce, 3);
  b(1, 0);
  b(2, 0);
  b(2, 1);
  b(2, 2);
  EXPECT_EQ(target_.take(), (Log{"abort 1", "trigger 2"}));
  b(1, 1);
  EXPECT_EQ(target_.take(), Log{});
}

TEST_F(HandlerTest, AtLeastOnceCancellationMarkerAbortsItAndOlderOnes) {
  make(CheckpointingMode::kAtLeastOnce, 2);
  b(1, 0);
  b(2, 0);
  b(3, 0);
  cancel(2, 1);
  EXPECT_EQ(target_.take(), (Log{"abort 1", "abort 2"}));
  b(2, 1);  // ignored
  b(3, 1);  // checkpoint 3 is still tracked
  EXPECT_EQ(target_.take(), (Log{"trigger 3"}));
  cancel(9, 0);
  cancel(9, 1);
  EXPECT_EQ(target_.take(), (Log{"abort 9"}));
}

TEST_F(HandlerTest, AtLeastOnceEndOfPartitionCountsForEveryCheckpointInFlight) {
  make(CheckpointingMode::kAtLeastOnce, 3);
  b(1, 0);
  b(1, 1);
  b(2, 0);
  end(2);  // 1 complete (channels 0, 1 delivered, 2 ended); 2 still needs channel 1
  EXPECT_EQ(target_.take(), (Log{"trigger 1"}));
  end(0);  // channel 0 had delivered 2, but it no longer counts: channel 1 alone is open
  EXPECT_EQ(target_.take(), Log{});
  b(2, 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 2"}));
  end(1);
  EXPECT_EQ(handler_->numOpenChannels(), 0);
}

TEST_F(HandlerTest, AtLeastOnceTracksAtMostFiftyCheckpoints) {
  make(CheckpointingMode::kAtLeastOnce, 2);
  for (int id = 1; id <= 50; ++id) b(id, 0);
  EXPECT_EQ(target_.take(), Log{});
  b(51, 0);
  EXPECT_EQ(target_.take(), (Log{"abort 1"}));
  b(1, 1);  // forgotten
  b(2, 1);
  EXPECT_EQ(target_.take(), (Log{"trigger 2"}));
  EXPECT_EQ(target_.metrics.back().bytesProcessedDuringAlignment, 0);
}

TEST_F(HandlerTest, ImpossibleSequencesAreErrors) {
  for (auto mode : {CheckpointingMode::kExactlyOnce, CheckpointingMode::kAtLeastOnce}) {
    make(mode, 2);
    b(1, 0);
    try {
      b(1, 0);
      FAIL() << "a second barrier of one checkpoint on one channel";
    } catch (const SluiceException& e) {
      EXPECT_NE(std::string(e.what()).find("second barrier of checkpoint 1 on input channel 0"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(b(2, 5), SluiceException);
    EXPECT_THROW(cancel(2, -1), SluiceException);
    end(1);
    try {
      b(3, 1);
      FAIL() << "a barrier after the end of partition";
    } catch (const SluiceException& e) {
      EXPECT_NE(std::string(e.what()).find("after its end of partition"), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(end(1), SluiceException);
  }
  EXPECT_THROW(CheckpointBarrierHandler::create(CheckpointingMode::kExactlyOnce, 0, target_),
               SluiceException);
}

// ---- the input gate ---------------------------------------------------------------------------

std::vector<uint8_t> frame(int64_t value) {
  std::vector<uint8_t> out(12);
  uint32_t n = 8;
  std::memcpy(out.data(), &n, 4);
  std::memcpy(out.data() + 4, &value, 8);
  return out;
}

/// The values of one data buffer.
std::vector<int64_t> valuesOf(RecordDeserializer& deserializer, BufferPtr buffer) {
  std::vector<int64_t> out;
  deserializer.setNextBuffer(std::move(buffer));
  DataInputView element;
  while (deserializer.next(element)) out.push_back(element.readRaw<int64_t>());
  return out;
}

TEST(InputGateBlocking, ABlockedChannelKeepsItsDataQueuedInOrder) {
  ResultPartition p0(1, 8, 64);
  ResultPartition p1(1, 8, 64);
  RecordWriter w0(p0, true);  // one element per buffer
  RecordWriter w1(p1, true);
  std::atomic<int> wakeups{0};
  ResultPartitionManager manager;
  InputGate gate(testing::localChannels(manager, {&p0, &p1}), [&] { ++wakeups; });
  gate.connect();
  RecordDeserializer d0;
  RecordDeserializer d1;
  auto emit = [](RecordWriter& w, int64_t v) {
    auto f = frame(v);
    w.emit(f.data(), f.size(), 0);
  };
  emit(w0, 1);
  emit(w1, 101);
  gate.blockChannel(0);
  EXPECT_TRUE(gate.isBlocked(0));
  EXPECT_EQ(gate.numBlockedChannels(), 1);
  emit(w0, 2);
  emit(w1, 102);
  std::vector<int64_t> seen;
  while (auto next = gate.pollNext()) {
    EXPECT_EQ(next->channel, 1);
    for (int64_t v : valuesOf(d1, std::move(next->buffer))) seen.push_back(v);
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{101, 102}));
  EXPECT_FALSE(gate.hasData());
  // Data on the blocked channel neither shows nor wakes the task.
  int before = wakeups.load();
  emit(w0, 3);
  EXPECT_FALSE(gate.hasData());
  EXPECT_EQ(wakeups.load(), before);
  EXPECT_FALSE(gate.pollNext());
  EXPECT_EQ(p0.subpartition(0).backlog(), 3);
  // Resuming wakes the task and serves the channel from where it stopped.
  gate.resumeAllChannels();
  EXPECT_EQ(wakeups.load(), before + 1);
  EXPECT_FALSE(gate.isBlocked(0));
  EXPECT_TRUE(gate.hasData());
  seen.clear();
  while (auto next = gate.pollNext()) {
    EXPECT_EQ(next->channel, 0);
    for (int64_t v : valuesOf(d0, std::move(next->buffer))) seen.push_back(v);
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
  gate.resumeAllChannels();  // nothing blocked: no effect
  EXPECT_EQ(wakeups.load(), before + 1);
  gate.disconnect();
  d0.clear();
  d1.clear();
}

// ---- handler and gate together, over producer threads ------------------------------------------

constexpr int kCheckpoints = 3;

struct ChannelScript {
  int64_t records = 0;
  /// barriersAfter[k]: records written before the barrier of checkpoint k + 1; absent past the
  /// end when the channel ends early.
  std::vector<int64_t> barriersAfter;
};

/// Snapshots taken by the consumer: per checkpoint, records consumed per channel at trigger.
struct Consumer final : CheckpointBarrierTarget {
  InputGate* gate = nullptr;
  std::vector<int64_t> consumed;
  std::map<int64_t, std::vector<int64_t>> snapshots;
  std::vector<int64_t> aborts;
  int blocks = 0;
  void blockChannel(int channel) override {
    ++blocks;
    gate->blockChannel(channel);
  }
  void resumeChannels() override { gate->resumeAllChannels(); }
  void triggerCheckpointOnBarrier(const CheckpointBarrier& b, const CheckpointMetrics&) override {
    snapshots[b.checkpointId] = consumed;
  }
  void abortCheckpointOnBarrier(int64_t id) override { aborts.push_back(id); }
};

void runExchange(CheckpointingMode mode, int numChannels, uint32_t seed) {
  SCOPED_TRACE("mode " + std::string(toString(mode)) + ", " + std::to_string(numChannels) +
               " channels, seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<ChannelScript> scripts(static_cast<size_t>(numChannels));
  for (int c = 0; c < numChannels; ++c) {
    auto& s = scripts[static_cast<size_t>(c)];
    s.records = 2000 + static_cast<int64_t>(rng() % 2000);
    for (int k = 0; k < kCheckpoints; ++k) {
      s.barriersAfter.push_back(static_cast<int64_t>(rng() % static_cast<uint32_t>(s.records)));
    }
    std::sort(s.barriersAfter.begin(), s.barriersAfter.end());
  }
  // With three or more channels, the last one ends between the barriers of checkpoints 2 and 3:
  // its end of partition must count as aligned for checkpoint 3.
  if (numChannels >= 3) {
    auto& last = scripts.back();
    last.records = last.barriersAfter[1] + 10;
    last.barriersAfter.pop_back();
  }

  std::vector<std::unique_ptr<ResultPartition>> partitions;
  std::vector<ResultPartition*> upstream;
  for (int c = 0; c < numChannels; ++c) {
    // Small segments and pools: producers wait for the consumer (backpressure) while their
    // channel is held back.
    partitions.push_back(std::make_unique<ResultPartition>(1, 3, 128));
    upstream.push_back(partitions.back().get());
  }
  Mailbox mailbox;
  ResultPartitionManager manager;
  InputGate gate(testing::localChannels(manager, upstream), [&] { mailbox.signalInput(); });
  Consumer consumer;
  consumer.gate = &gate;
  consumer.consumed.assign(static_cast<size_t>(numChannels), 0);
  auto handler = CheckpointBarrierHandler::create(mode, numChannels, consumer);
  std::vector<RecordDeserializer> deserializers(static_cast<size_t>(numChannels));
  gate.connect();

  std::vector<std::thread> producers;
  for (int c = 0; c < numChannels; ++c) {
    producers.emplace_back([&, c] {
      const auto& s = scripts[static_cast<size_t>(c)];
      RecordWriter writer(*partitions[static_cast<size_t>(c)], false);
      size_t nextBarrier = 0;
      for (int64_t i = 0; i <= s.records; ++i) {
        while (nextBarrier < s.barriersAfter.size() && s.barriersAfter[nextBarrier] == i) {
          ++nextBarrier;
          writer.broadcastEvent(RuntimeEvent{EventType::kCheckpointBarrier,
                                             barrier(static_cast<int64_t>(nextBarrier))});
        }
        if (i == s.records) break;
        auto f = frame(c * 1'000'000 + i);
        writer.emit(f.data(), f.size(), 0);
      }
      writer.broadcastEvent(RuntimeEvent{EventType::kEndOfPartition, {}});
    });
  }

  int open = numChannels;
  bool orderKept = true;
  while (open > 0) {
    auto next = gate.pollNext();
    if (!next) {
      mailbox.waitForMailOrInput();
      continue;
    }
    int c = next->channel;
    if (next->buffer->type == BufferType::kEvent) {
      RuntimeEvent event = deserializeEvent(*next->buffer);
      if (event.type == EventType::kEndOfPartition) {
        --open;
        handler->processEndOfPartition(c);
      } else if (event.type == EventType::kCheckpointBarrier) {
        handler->processBarrier(event.barrier, c);
      }
      continue;
    }
    handler->onBufferProcessed(next->buffer->size);
    for (int64_t v : valuesOf(deserializers[static_cast<size_t>(c)], std::move(next->buffer))) {
      int64_t& n = consumer.consumed[static_cast<size_t>(c)];
      orderKept = orderKept && v == c * 1'000'000 + n;
      ++n;
    }
  }
  for (auto& t : producers) t.join();
  gate.disconnect();
  for (auto& d : deserializers) d.clear();

  EXPECT_TRUE(orderKept) << "a channel's records were reordered or lost";
  for (int c = 0; c < numChannels; ++c) {
    EXPECT_EQ(consumer.consumed[static_cast<size_t>(c)], scripts[static_cast<size_t>(c)].records)
        << "channel " << c;
  }
  EXPECT_TRUE(consumer.aborts.empty());
  ASSERT_EQ(consumer.snapshots.size(), static_cast<size_t>(kCheckpoints));
  if (mode == CheckpointingMode::kExactlyOnce && numChannels > 1) {
    EXPECT_GT(consumer.blocks, 0);
  }
  for (int k = 1; k <= kCheckpoints; ++k) {
    const auto& snapshot = consumer.snapshots[k];
    for (int c = 0; c < numChannels; ++c) {
      const auto& s = scripts[static_cast<size_t>(c)];
      // Records before the barrier (or every record, if the channel ended before it).
      int64_t before = static_cast<size_t>(k) <= s.barriersAfter.size()
                           ? s.barriersAfter[static_cast<size_t>(k - 1)]
                           : s.records;
      if (mode == CheckpointingMode::kExactlyOnce) {
        EXPECT_EQ(snapshot[static_cast<size_t>(c)], before)
            << "checkpoint " << k << " channel " << c;
      } else {
        EXPECT_GE(snapshot[static_cast<size_t>(c)], before)
            << "checkpoint " << k << " channel " << c;
      }
    }
  }
}

TEST(BarrierAlignmentOverChannels, ExactlyOnceSnapshotsCutExactlyAtTheBarriers) {
  for (int channels = 1; channels <= 4; ++channels) {
    for (uint32_t seed : {1u, 2u, 3u}) runExchange(CheckpointingMode::kExactlyOnce, channels, seed);
  }
}

TEST(BarrierAlignmentOverChannels, AtLeastOnceNeverBlocksAndLosesNothing) {
  for (int channels = 1; channels <= 4; ++channels) {
    for (uint32_t seed : {1u, 2u}) runExchange(CheckpointingMode::kAtLeastOnce, channels, seed);
  }
}

// ---- a source task ------------------------------------------------------------------------------

/// A source that emits nothing and ends when told (by a mail); records the checkpoint
/// notifications it gets.
struct IdleSource final : SourceOperatorBase {
  bool stop = false;
  std::vector<std::string>* log = nullptr;
  std::string name;
  InputStatus emitNext() override {
    return stop ? InputStatus::kEndOfInput : InputStatus::kNothingAvailable;
  }
  void notifyCheckpointComplete(int64_t id) override {
    log->push_back(name + " complete " + std::to_string(id));
  }
  void notifyCheckpointAborted(int64_t id) override {
    log->push_back(name + " aborted " + std::to_string(id));
  }
};

/// A chained operator that only records notifications.
struct Recorder final : StreamOperatorBase {
  std::vector<std::string>* log = nullptr;
  void notifyCheckpointComplete(int64_t id) override {
    log->push_back("tail complete " + std::to_string(id));
  }
  void notifyCheckpointAborted(int64_t id) override {
    log->push_back("tail aborted " + std::to_string(id));
  }
};

TEST(SourceTaskCheckpoints,
     TriggerRunsTheHookThenForwardsTheBarrierAndNotificationsReachOperators) {
  TimerScheduler scheduler(std::make_shared<ManualClock>());
  ResultPartition partition(2, 4, 1024);
  std::vector<std::string> log;  // task thread only until the task ended
  {
    StreamTask task(TaskInfo{"Source: Idle", 0, 1, 128, 0}, scheduler, 0, -1);
    auto source = std::make_unique<IdleSource>();
    source->log = &log;
    source->name = "head";
    IdleSource* head = source.get();
    task.addOperator(std::move(source), "Source: Idle");
    auto recorder = std::make_unique<Recorder>();
    recorder->log = &log;
    task.addOperator(std::move(recorder), "Recorder");
    task.setupOperator(1, nullptr, nullptr);
    task.setupOperator(0, nullptr, nullptr);
    task.addRecordWriter(partition);
    task.setCheckpointHook([&](const CheckpointBarrier& b, const CheckpointMetrics& m) {
      // The barrier is not yet forwarded while the hook runs.
      log.push_back("hook " + std::to_string(b.checkpointId) + " backlog " +
                    std::to_string(partition.subpartition(0).backlog()));
      EXPECT_EQ(m.alignmentDurationNanos, 0);
    });
    std::thread thread([&] { task.run(); });
    EXPECT_TRUE(task.triggerCheckpointAsync(barrier(1)));
    EXPECT_TRUE(task.triggerCheckpointAsync(barrier(1)));  // not newer: ignored
    task.notifyCheckpointCompleteAsync(1);
    EXPECT_TRUE(task.triggerCheckpointAsync(barrier(2)));
    task.notifyCheckpointAbortedAsync(2);
    task.mailbox().put([head] { head->stop = true; });
    thread.join();
    EXPECT_EQ(task.state(), TaskState::kFinished) << task.failureMessage();
    EXPECT_FALSE(task.triggerCheckpointAsync(barrier(3)));
  }
  EXPECT_EQ(log,
            (std::vector<std::string>{"hook 1 backlog 0", "tail complete 1", "head complete 1",
                                      "hook 2 backlog 1", "tail aborted 2", "head aborted 2"}));
  // Both channels got barrier 1, barrier 2, then the end of partition.
  for (int s = 0; s < 2; ++s) {
    std::vector<std::pair<EventType, int64_t>> events;
    bool more = true;
    while (auto buffer = partition.subpartition(s).poll(more)) {
      RuntimeEvent e = deserializeEvent(*buffer);
      events.emplace_back(e.type, e.barrier.checkpointId);
    }
    EXPECT_EQ(events,
              (std::vector<std::pair<EventType, int64_t>>{{EventType::kCheckpointBarrier, 1},
                                                          {EventType::kCheckpointBarrier, 2},
                                                          {EventType::kEndOfPartition, 0}}));
  }
  scheduler.shutdown();
}

// A task with inputs takes checkpoints from its barriers; a direct trigger does nothing until its
// inputs ended and it waits for its final checkpoint (FLIP-147).
TEST(SourceTaskCheckpoints, ATaskWithInputsIsTriggeredByBarriersOnly) {
  TimerScheduler scheduler(std::make_shared<ManualClock>());
  ResultPartition partition(1, 2, 64);
  ResultPartitionManager manager;
  StreamTask task(TaskInfo{"Map", 0, 1, 128, 0}, scheduler, 0, -1);
  std::vector<std::unique_ptr<InputHandler>> handlers;
  handlers.push_back(nullptr);  // never runs
  task.setInputs(testing::localChannels(manager, {&partition}), {ChannelBinding{}},
                 std::move(handlers));
  EXPECT_FALSE(task.triggerCheckpointAsync(barrier(1)));
  scheduler.shutdown();
}

}  // namespace
}  // namespace sluice
