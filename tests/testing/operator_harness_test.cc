// The sluice_testing library tested on its own: a harness snapshots keyed and operator state,
// restores fresh operators from the snapshot (keyed state rescaled across subtasks), delivers
// checkpoint notifications, and runs two-input operators; the file-backed collect sink and the
// MiniCluster fixture work across a whole job.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sluice/runtime/co_process_function.h"
#include "sluice/state/key_groups.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"
#include "sluice/testing/temp_dir.h"

namespace sluice {
namespace {

/// Buffers records in operator list state and emits them only when a checkpoint that saw them
/// completes (the shape of a two-phase-commit sink).
class CommitOnCheckpoint final : public OneInputStreamOperator<int64_t, int64_t> {
 public:
  void initializeState() override { buffer_ = &listState(); }
  void processElement(const int64_t& value, Timestamp) override { buffer_->add(value); }
  OperatorStateSnapshot snapshotOperatorState(int64_t id, int64_t timestamp) override {
    pendingUpTo_[id] = buffer_->get().size();
    return OneInputStreamOperator::snapshotOperatorState(id, timestamp);
  }
  void notifyCheckpointComplete(int64_t id) override {
    auto it = pendingUpTo_.find(id);
    if (it == pendingUpTo_.end()) return;
    std::vector<int64_t> all = buffer_->get().toVector();
    for (size_t i = 0; i < it->second; ++i) output_->collect(all[i], kNoTimestamp);
    buffer_->update(
        std::vector<int64_t>(all.begin() + static_cast<std::ptrdiff_t>(it->second), all.end()));
    pendingUpTo_.clear();
  }

 private:
  ListState<int64_t>& listState() {
    return getOperatorStateStore().getListState(ListStateDescriptor<int64_t>("buffer"));
  }
  ListState<int64_t>* buffer_ = nullptr;
  std::map<int64_t, size_t> pendingUpTo_;
};

TEST(OperatorHarness, OperatorStateSnapshotsRestoresAndCheckpointNotifications) {
  testing::OperatorSubtaskSnapshot snapshot;
  {
    testing::OneInputStreamOperatorTestHarness<int64_t, int64_t> h(
        std::make_unique<CommitOnCheckpoint>());
    h.processElement(1);
    h.processElement(2);
    snapshot = h.snapshot(7);
    h.processElement(3);
    EXPECT_TRUE(h.extractOutputValues().empty());
    h.notifyCheckpointAborted(6);
    h.notifyCheckpointComplete(7);
    EXPECT_EQ(h.extractOutputValues(), (std::vector<int64_t>{1, 2}));  // not 3: after the snapshot
  }
  EXPECT_TRUE(snapshot.keyedState.keyGroups.empty());  // not a keyed operator
  ASSERT_TRUE(snapshot.operatorState.states.contains("buffer"));
  // A fresh operator restored from checkpoint 7 holds what it had buffered then.
  testing::OneInputStreamOperatorTestHarness<int64_t, int64_t> restored(
      std::make_unique<CommitOnCheckpoint>());
  restored.initializeState(snapshot);
  restored.processElement(4);
  restored.snapshot(8);
  restored.notifyCheckpointComplete(8);
  EXPECT_EQ(restored.extractOutputValues(), (std::vector<int64_t>{1, 2, 4}));
}

/// Sums per key what arrives on either input, in keyed value state.
struct SumBothInputs
    : KeyedCoProcessFunction<int64_t, std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>,
                             std::pair<int64_t, int64_t>> {
  using In = std::pair<int64_t, int64_t>;
  void add(const In& v, Collector<In>& out) {
    auto& sum = getState(ValueStateDescriptor<int64_t>("sum"));
    int64_t s = sum.value().value_or(0) + v.second;
    sum.update(s);
    out.collect({v.first, s});
  }
  void processElement1(const In& v, Context&, Collector<In>& out) override { add(v, out); }
  void processElement2(const In& v, Context&, Collector<In>& out) override { add(v, out); }
};

using Pair = std::pair<int64_t, int64_t>;
auto keyOfPair = [](const Pair& p) { return p.first; };
using SumOperator = KeyedCoProcessOperator<int64_t, Pair, Pair, Pair, decltype(keyOfPair),
                                           decltype(keyOfPair), SumBothInputs>;

std::unique_ptr<TwoInputStreamOperator<Pair, Pair, Pair>> sumOperator() {
  return std::make_unique<SumOperator>(keyOfPair, keyOfPair, SumBothInputs{});
}

TEST(OperatorHarness, TwoInputKeyedStateRescalesAcrossSubtasks) {
  constexpr int64_t kKeys = 40;
  testing::OperatorSubtaskSnapshot snapshot;
  {
    testing::TwoInputStreamOperatorTestHarness<Pair, Pair, Pair> h(sumOperator());
    for (int64_t k = 0; k < kKeys; ++k) {
      h.processElement1({k, 1});
      h.processElement2({k, 10});
    }
    EXPECT_EQ(h.extractOutputValues().size(), static_cast<size_t>(2 * kKeys));
    snapshot = h.snapshot(1);
  }
  ASSERT_FALSE(snapshot.keyedState.keyGroups.empty());
  // Restored into two subtasks: each continues the sums of the keys it owns.
  std::map<int64_t, int64_t> sums;
  for (int subtask = 0; subtask < 2; ++subtask) {
    testing::HarnessConfig config;
    config.parallelism = 2;
    config.subtask = subtask;
    testing::TwoInputStreamOperatorTestHarness<Pair, Pair, Pair> h(sumOperator(), config);
    h.initializeState(snapshot);
    const KeyGroupRange mine =
        KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, 2, subtask);
    for (int64_t k = 0; k < kKeys; ++k) {
      if (mine.contains(KeyGroupRangeAssignment::assignToKeyGroup(k, 128))) {
        h.processElement2({k, 100});
      }
    }
    for (const auto& [k, s] : h.extractOutputValues()) sums[k] = s;
  }
  ASSERT_EQ(sums.size(), static_cast<size_t>(kKeys));
  for (const auto& [k, s] : sums) EXPECT_EQ(s, 111) << "key " << k;
}

TEST(FileCollectSink, CollectsEverySubtasksLinesAndTheFixtureSeesNoLeaks) {
  testing::MiniClusterFixture cluster;
  testing::TempDir dir;
  {
    auto env = cluster.env(3);
    env->fromSequence(1, 1000)
        .map([](const int64_t& v) { return v * 2; })
        .sinkTo(std::make_shared<testing::FileCollectSink<int64_t>>(
            dir.str(), [](const int64_t& v) { return std::to_string(v); }));
    env->execute("file collect");
  }
  std::vector<std::string> lines = testing::FileCollectSink<int64_t>::readLines(dir.str());
  std::vector<int64_t> values;
  for (const auto& l : lines) values.push_back(std::stoll(l));
  std::sort(values.begin(), values.end());
  std::vector<int64_t> expected;
  for (int64_t v = 1; v <= 1000; ++v) expected.push_back(v * 2);
  EXPECT_EQ(values, expected);
  EXPECT_EQ(cluster.leaks(), "");
}

}  // namespace
}  // namespace sluice
