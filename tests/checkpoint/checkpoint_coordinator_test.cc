// CheckpointCoordinator with finished tasks (Flink's FLIP-147), against a scripted set of
// participants: a finished task's final state stands in for its acknowledgement of the pending
// and every later checkpoint; a task waiting for its final checkpoint is triggered directly;
// reports of a replaced attempt are ignored; without a final state checkpoints are refused.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "sluice/checkpoint/checkpoint_coordinator.h"

namespace sluice {
namespace {

/// Three tasks; records every trigger. Thread-safe.
struct Participants final : CheckpointParticipants {
  std::map<std::string, std::vector<uint8_t>> triggerSources(const CheckpointBarrier& b) override {
    std::lock_guard lock(mutex);
    sourceTriggers.push_back(b.checkpointId);
    return {};
  }
  void triggerTask(int taskIndex, const CheckpointBarrier& b) override {
    std::lock_guard lock(mutex);
    directTriggers.emplace_back(taskIndex, b.checkpointId);
  }
  int numTasks() const override { return 3; }
  void notifyComplete(int64_t id) override { completed.push_back(id); }
  void notifyAborted(int64_t id) override { aborted.push_back(id); }
  void failJob(const std::string& reason) override { failure = reason; }

  std::mutex mutex;
  std::vector<int64_t> sourceTriggers;
  std::vector<std::pair<int, int64_t>> directTriggers;
  std::vector<int64_t> completed;
  std::vector<int64_t> aborted;
  std::string failure;
};

/// The acknowledgement of task `task`: operator "op", subtask `task`, one operator state whose
/// single element is `marker`.
std::vector<CheckpointCoordinator::OperatorAck> ackOf(int task, uint8_t marker) {
  CheckpointCoordinator::OperatorAck ack;
  ack.operatorId = "op";
  ack.operatorName = "Op";
  ack.parallelism = 3;
  ack.subtask = task;
  std::vector<uint8_t> element{marker};
  ack.state.operatorState.states["s"].append(element);
  return {ack};
}

uint8_t markerOf(const CompletedCheckpoint& c, int subtask) {
  const auto& state = c.operators.at("op").subtasks.at(subtask).operatorState.states.at("s");
  return state.element(0)[0];
}

class CoordinatorTest : public ::testing::Test {
 protected:
  CoordinatorTest()
      : coordinator_("job", CheckpointConfig(), participants_, SystemClock::instance()) {
    coordinator_.start();  // interval 0: only triggerCheckpoint() starts checkpoints
  }
  ~CoordinatorTest() override { coordinator_.stop(); }

  /// Waits until checkpoint `id` completed or was aborted; returns whether it completed.
  bool waitFor(int64_t id) {
    for (int i = 0; i < 30000; ++i) {
      for (const CheckpointStats& s : coordinator_.statistics()) {
        if (s.checkpointId == id) return s.completed;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "checkpoint " << id << " neither completed nor aborted";
    return false;
  }

  Participants participants_;
  CheckpointCoordinator coordinator_;
};

TEST_F(CoordinatorTest, FinalStateOfAFinishedTaskStandsInForItsAcknowledgements) {
  coordinator_.taskFinished(0, 2, ackOf(2, 42));
  for (uint8_t round = 1; round <= 2; ++round) {  // the pending and every later checkpoint
    std::optional<int64_t> id = coordinator_.triggerCheckpoint();
    ASSERT_TRUE(id.has_value());
    coordinator_.acknowledge(*id, 0, ackOf(0, round), 0, 0);
    coordinator_.acknowledge(*id, 1, ackOf(1, round), 0, 0);
    ASSERT_TRUE(waitFor(*id));
    auto latest = coordinator_.latestCompletedCheckpoint();
    ASSERT_NE(latest, nullptr);
    EXPECT_EQ(latest->checkpointId, *id);
    EXPECT_EQ(markerOf(*latest, 0), round);
    EXPECT_EQ(markerOf(*latest, 2), 42);
  }
}

TEST_F(CoordinatorTest, TaskFinishingDuringACheckpointCompletesItWithItsFinalState) {
  std::optional<int64_t> id = coordinator_.triggerCheckpoint();
  ASSERT_TRUE(id.has_value());
  coordinator_.acknowledge(*id, 0, ackOf(0, 1), 0, 0);
  coordinator_.acknowledge(*id, 0, ackOf(0, 9), 0, 0);  // a repeat counts once
  coordinator_.taskFinished(0, 1, ackOf(1, 7));         // never saw the barrier
  coordinator_.acknowledge(*id, 2, ackOf(2, 3), 0, 0);
  ASSERT_TRUE(waitFor(*id));
  auto latest = coordinator_.latestCompletedCheckpoint();
  EXPECT_EQ(markerOf(*latest, 0), 1);
  EXPECT_EQ(markerOf(*latest, 1), 7);
  EXPECT_EQ(markerOf(*latest, 2), 3);
  // A task that acknowledged and then finished: its acknowledgement stands for this checkpoint.
  id = coordinator_.triggerCheckpoint();
  coordinator_.acknowledge(*id, 0, ackOf(0, 5), 0, 0);
  coordinator_.taskFinished(0, 0, ackOf(0, 6));
  coordinator_.acknowledge(*id, 2, ackOf(2, 4), 0, 0);
  ASSERT_TRUE(waitFor(*id));
  latest = coordinator_.latestCompletedCheckpoint();
  EXPECT_EQ(markerOf(*latest, 0), 5);
  EXPECT_EQ(markerOf(*latest, 1), 7);
}

TEST_F(CoordinatorTest, WaitingTaskIsTriggeredDirectlyForThePendingAndLaterCheckpoints) {
  std::optional<int64_t> first = coordinator_.triggerCheckpoint();
  coordinator_.taskWaitingForFinalCheckpoint(0, 1);
  coordinator_.taskWaitingForFinalCheckpoint(0, 2);
  coordinator_.acknowledge(*first, 2, ackOf(2, 1), 0, 0);  // had the barrier already
  {
    std::lock_guard lock(participants_.mutex);
    // Task 1 had not acknowledged: triggered at once; task 2 had not either when it reported.
    EXPECT_EQ(participants_.directTriggers,
              (std::vector<std::pair<int, int64_t>>{{1, *first}, {2, *first}}));
  }
  coordinator_.acknowledge(*first, 0, ackOf(0, 1), 0, 0);
  coordinator_.acknowledge(*first, 1, ackOf(1, 1), 0, 0);
  ASSERT_TRUE(waitFor(*first));
  coordinator_.taskFinished(0, 2, ackOf(2, 2));  // ends after its final checkpoint
  std::optional<int64_t> second = coordinator_.triggerCheckpoint();
  std::lock_guard lock(participants_.mutex);
  EXPECT_EQ(participants_.directTriggers.back(), (std::pair<int, int64_t>{1, *second}));
  EXPECT_EQ(participants_.directTriggers.size(), 3u);  // not the finished task 2
}

TEST_F(CoordinatorTest, ReportsOfAReplacedAttemptAreIgnored) {
  coordinator_.taskFinished(0, 2, ackOf(2, 42));
  coordinator_.beginAttempt(1);                   // task 2 runs again
  coordinator_.taskFinished(0, 1, ackOf(1, 43));  // late report of attempt 0
  std::optional<int64_t> id = coordinator_.triggerCheckpoint();
  coordinator_.acknowledge(*id, 0, ackOf(0, 1), 0, 0);
  coordinator_.acknowledge(*id, 1, ackOf(1, 1), 0, 0);
  for (const CheckpointStats& s : coordinator_.statistics()) EXPECT_NE(s.checkpointId, *id);
  coordinator_.acknowledge(*id, 2, ackOf(2, 1), 0, 0);
  ASSERT_TRUE(waitFor(*id));
  EXPECT_EQ(markerOf(*coordinator_.latestCompletedCheckpoint(), 2), 1);
}

TEST_F(CoordinatorTest, FinishedTaskWithoutFinalStateRefusesCheckpointsSayingWhy) {
  coordinator_.taskFinished(0, 1, std::nullopt);
  EXPECT_FALSE(coordinator_.triggerCheckpoint().has_value());
  auto stats = coordinator_.statistics();
  ASSERT_FALSE(stats.empty());
  EXPECT_NE(stats.back().failure.find("enable periodic checkpointing"), std::string::npos)
      << stats.back().failure;
}

}  // namespace
}  // namespace sluice
