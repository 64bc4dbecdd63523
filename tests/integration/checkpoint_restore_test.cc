// Checkpoints end to end on the embedded cluster: a keyed counting job checkpoints
// periodically, is cancelled after a checkpoint completed, and a second run restored from
// `latest:DIR` (at another parallelism) ends with every key's count exactly equal to the number
// of its records: the source positions, the enumerator's remaining splits and the keyed state
// were restored consistently (a lost record would leave a count short, a replayed one long).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/cluster/local_executor.h"
#include "sluice/graph/job_graph.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/temp_dir.h"

namespace sluice {
namespace checkpoint_restore_test {

using testing::TempDir;

constexpr int64_t kRecords = 200'000;
constexpr int64_t kKeys = 7;

struct Count : KeyedProcessFunction<int64_t, int64_t, std::pair<int64_t, int64_t>> {
  void processElement(const int64_t&, Context& ctx,
                      Collector<std::pair<int64_t, int64_t>>& out) override {
    auto& count = getState(ValueStateDescriptor<int64_t>("count"));
    int64_t c = count.value().value_or(0) + 1;
    count.update(c);
    out.collect({ctx.getCurrentKey(), c});
  }
};

/// Count with its state declared as a string: the same name, another serializer.
struct CountAsText : KeyedProcessFunction<int64_t, int64_t, std::pair<int64_t, int64_t>> {
  void processElement(const int64_t&, Context& ctx,
                      Collector<std::pair<int64_t, int64_t>>& out) override {
    auto& count = getState(ValueStateDescriptor<std::string>("count"));
    int64_t c = std::stoll(count.value().value_or("0")) + 1;
    count.update(std::to_string(c));
    out.collect({ctx.getCurrentKey(), c});
  }
};

template <typename CountFunction = Count>
std::unique_ptr<StreamExecutionEnvironment> makeJob(
    int parallelism, const std::string& checkpoints, const std::string& restore,
    std::shared_ptr<testing::CollectSink<std::pair<int64_t, int64_t>>> sink, int64_t keys = kKeys) {
  Configuration conf;
  conf.set("execution.checkpointing.interval", "20 ms");
  conf.set("execution.checkpointing.dir", checkpoints);
  conf.set("execution.checkpointing.num-retained", "2");
  // Kept after cancel() so the second run can restore from them.
  conf.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  if (!restore.empty()) conf.set("execution.savepoint.path", restore);
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(conf);
  env->setParallelism(parallelism);
  env->fromSequence(0, kRecords - 1)
      .uid("numbers")
      .map([](const int64_t& v) {
        // Slow enough that checkpoints happen while the source still has records.
        if (v % 200 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return v;
      })
      .uid("slow-map")
      .keyBy([keys](const int64_t& v) { return v % keys; })
      .process(CountFunction{})
      .uid("count")
      .sinkTo(sink);
  return env;
}

/// Whether some checkpoint of `job` completed.
bool anyCompleted(const JobClient& job) {
  for (const auto& s : job.checkpointStatistics()) {
    if (s.completed) return true;
  }
  return false;
}

class CheckpointRestore : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(CheckpointRestore, CancelledJobRestoredFromLatestCheckpointCountsEveryRecordOnce) {
  auto [before, after] = GetParam();
  TempDir dir;
  auto first = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto job = makeJob(before, dir.path().string(), "", first)->executeAsync("counting");
  bool completed = testing::eventually([&] { return anyCompleted(*job); }, 20);
  job->cancel();
  EXPECT_THROW(job->getJobExecutionResult(), JobExecutionException);
  ASSERT_TRUE(completed) << "no checkpoint completed";

  auto second = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  makeJob(after, dir.path().string(), "latest:" + dir.path().string(), second)->execute("restored");
  std::map<int64_t, int64_t> finalCount;
  for (const auto& [key, count] : second->values()) {
    finalCount[key] = std::max(finalCount[key], count);
  }
  ASSERT_EQ(finalCount.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, count] : finalCount) {
    EXPECT_EQ(count, kRecords / kKeys + (key < kRecords % kKeys ? 1 : 0)) << "key " << key;
  }
  // The restored run resumed: it did not recount from zero.
  EXPECT_LT(second->values().size(), static_cast<size_t>(kRecords));
}

// The checkpoint records each keyed state's serializers; a job that declares the state with
// another type is refused on restore with an error naming the state and both formats, at once
// (no restart can cure it), instead of misreading the bytes.
TEST(CheckpointRestoreSerializers, AStateRestoredWithAnotherTypeFailsTheJobAtOnceNamingIt) {
  TempDir dir;
  auto first = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto job = makeJob(2, dir.str(), "", first)->executeAsync("counting");
  ASSERT_TRUE(testing::eventually([&] { return anyCompleted(*job); }, 20));
  job->cancel();
  EXPECT_THROW(job->getJobExecutionResult(), JobExecutionException);

  CompletedCheckpoint checkpoint =
      FileCheckpointStorage::load(FileCheckpointStorage::resolveRestorePath("latest:" + dir.str()));
  bool recorded = false;
  for (const auto& [id, op] : checkpoint.operators) {
    for (const auto& [subtask, st] : op.subtasks) {
      auto it = st.keyedState.stateMetaInfo.find("count");
      if (it == st.keyedState.stateMetaInfo.end()) continue;
      recorded = true;
      EXPECT_EQ(it->second, (StateMetaInfo::keyed<int64_t, VoidNamespace, int64_t>()));
    }
  }
  EXPECT_TRUE(recorded) << "no subtask recorded the serializers of 'count'";

  auto second = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto restored = makeJob<CountAsText>(2, dir.str(), "latest:" + dir.str(), second);
  try {
    restored->execute("restored with another type");
    FAIL() << "the restore was not refused";
  } catch (const JobExecutionException& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, ::testing::HasSubstr("keyed state 'count'"));
    EXPECT_THAT(what, ::testing::HasSubstr("value serializer changed"));
    EXPECT_THAT(what, ::testing::HasSubstr(serializerDescription<std::string>()));
  }
  EXPECT_TRUE(second->values().empty());
}

INSTANTIATE_TEST_SUITE_P(Parallelism, CheckpointRestore,
                         ::testing::Values(std::pair{1, 1}, std::pair{2, 2}, std::pair{2, 3},
                                           std::pair{3, 1}));

// Keyed state is written by each task to a state file of its own in chk-<n>, and _metadata
// refers to it by byte range per key group (the coordinator never holds it); a rescaled restore
// (4 -> 2 and 2 -> 4) reads from those files exactly the key groups each new subtask owns,
// nothing else, and the counts still come out exact.
class RescaledRestore : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(RescaledRestore, EachSubtaskReadsOnlyTheBytesOfItsKeyGroups) {
  auto [before, after] = GetParam();
  constexpr int64_t kManyKeys = 500;
  TempDir dir;
  auto first = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto job = makeJob(before, dir.str(), "", first, kManyKeys)->executeAsync("counting");
  ASSERT_TRUE(testing::eventually([&] { return anyCompleted(*job); }, 20));
  job->cancel();
  EXPECT_THROW(job->getJobExecutionResult(), JobExecutionException);

  CompletedCheckpoint checkpoint =
      FileCheckpointStorage::load(FileCheckpointStorage::resolveRestorePath("latest:" + dir.str()));
  // The keyed operator's state is in one file per old subtask, none of it inline.
  std::map<int, uint64_t> stored;  // key group -> bytes
  std::string keyedOperator;
  for (const auto& [id, op] : checkpoint.operators) {
    for (const auto& [subtask, st] : op.subtasks) {
      EXPECT_TRUE(st.keyedState.keyGroups.empty()) << op.operatorName << " keeps state inline";
      if (st.keyedStateHandle.empty()) continue;
      keyedOperator = id;
      EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(checkpoint.directory) /
                                          st.keyedStateHandle.file));
      for (const auto& [kg, range] : st.keyedStateHandle.keyGroups) stored[kg] = range.length;
    }
  }
  ASSERT_FALSE(keyedOperator.empty()) << "no keyed state in a file";
  ASSERT_GT(stored.size(), 100u);

  // The restored run, through the executor with a hook that sees every state file read.
  auto second = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto env = makeJob(after, dir.str(), "", second, kManyKeys);
  StreamGraph graph = env->streamGraph();
  graph.resolve(after, -1);
  JobGraph jobGraph = JobGraph::fromStreamGraph(std::move(graph), "restored", true);
  ExecutionOptions options;
  options.restoreCheckpoint = std::make_shared<const CompletedCheckpoint>(checkpoint);
  std::mutex mutex;
  std::map<int, std::map<int, uint64_t>> reads;  // new subtask -> key group -> bytes
  options.stateReadHookForTesting = [&](const std::string& operatorId, int subtask, int kg,
                                        uint64_t bytes) {
    std::lock_guard lock(mutex);
    EXPECT_EQ(operatorId, keyedOperator);
    EXPECT_TRUE(reads[subtask].emplace(kg, bytes).second) << "key group " << kg << " read twice";
  };
  LocalExecutor::submit(jobGraph, options)->getJobExecutionResult();
  for (int subtask = 0; subtask < after; ++subtask) {
    const KeyGroupRange range =
        KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, after, subtask);
    std::map<int, uint64_t> expected;
    for (const auto& [kg, bytes] : stored) {
      if (range.contains(kg)) expected[kg] = bytes;
    }
    EXPECT_EQ(reads[subtask], expected) << "subtask " << subtask << " of " << after;
  }
  std::map<int64_t, int64_t> finalCount;
  for (const auto& [key, count] : second->values()) {
    finalCount[key] = std::max(finalCount[key], count);
  }
  ASSERT_EQ(finalCount.size(), static_cast<size_t>(kManyKeys));
  for (const auto& [key, count] : finalCount) {
    EXPECT_EQ(count, kRecords / kManyKeys + (key < kRecords % kManyKeys ? 1 : 0)) << "key " << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Parallelism, RescaledRestore,
                         ::testing::Values(std::pair{4, 2}, std::pair{2, 4}));

TEST(CheckpointRestore, StateOfAnOperatorTheJobLacksFailsUnlessAllowed) {
  TempDir dir;
  auto sink = std::make_shared<testing::CollectSink<std::pair<int64_t, int64_t>>>();
  auto job = makeJob(1, dir.path().string(), "", sink)->executeAsync("counting");
  ASSERT_TRUE(testing::eventually([&] { return job->triggerCheckpoint().has_value(); }, 10));
  ASSERT_TRUE(testing::eventually([&] { return anyCompleted(*job); }, 20));
  job->cancel();
  EXPECT_THROW(job->getJobExecutionResult(), JobExecutionException);

  Configuration conf;
  conf.set("execution.savepoint.path", "latest:" + dir.path().string());
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(conf);
  env->fromSequence(0, 10)
      .map([](const int64_t& v) { return v; })
      .uid("other")
      .sinkTo(std::make_shared<testing::CollectSink<int64_t>>());
  try {
    env->execute("other");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("does not have"));
  }
  conf.set("execution.savepoint.ignore-unclaimed-state", "true");
  auto allowed = StreamExecutionEnvironment::getExecutionEnvironment(conf);
  auto out = std::make_shared<testing::CollectSink<int64_t>>();
  allowed->fromSequence(0, 10)
      .uid("other-source")
      .map([](const int64_t& v) { return v; })
      .uid("other")
      .sinkTo(out);
  allowed->execute("other");
  EXPECT_EQ(out->values().size(), 11u);
}

}  // namespace checkpoint_restore_test
}  // namespace sluice
