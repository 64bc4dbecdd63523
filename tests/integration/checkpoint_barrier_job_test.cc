// Checkpoint barriers through a whole job on the local executor: barriers injected at the
// sources (JobClient::triggerCheckpoint) reach every task, each task's checkpoint hook
// runs once per checkpoint, and in exactly-once mode a keyed map behind a keyBy has, when its
// hook runs, seen exactly the records each source emitted before the barrier (no record after
// it, none missing), at parallelism 1 and 4.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "sluice/cluster/local_executor.h"
#include "sluice/network/buffer.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using testing::eventually;
using testing::FunctionSource;
using testing::makeEnv;
using testing::SubtaskSplit;

constexpr int kMaxParallelism = 4;
constexpr int kCheckpoints = 5;

using Record = std::pair<int, int64_t>;  // (source subtask, sequence number)

/// What the job's tasks record. Each slot is written only by the task thread that owns it (a
/// source subtask, a map subtask); the test reads it after the job ended, or atomics meanwhile.
struct Observations {
  // Source side: records emitted so far, and at each checkpoint's hook.
  std::array<std::atomic<int64_t>, kMaxParallelism> emitted{};
  std::array<std::map<int64_t, int64_t>, kMaxParallelism> emittedAtCheckpoint;
  // Map side: per map subtask and source subtask, the sequence numbers in arrival order, and
  // how many had arrived at each checkpoint's hook.
  std::array<std::array<std::vector<int64_t>, kMaxParallelism>, kMaxParallelism> received;
  std::array<std::map<int64_t, std::array<int64_t, kMaxParallelism>>, kMaxParallelism>
      receivedAtCheckpoint;
  // Read across threads while the job runs: per map and source subtask the records received;
  // per source subtask the latest checkpoint it took and its emitted count then.
  std::array<std::array<std::atomic<int64_t>, kMaxParallelism>, kMaxParallelism> receivedCount{};
  std::array<std::atomic<int64_t>, kMaxParallelism> latestCheckpoint{};
  std::array<std::atomic<int64_t>, kMaxParallelism> emittedAtLatestCheckpoint{};
  // Hook calls per (task name, subtask, checkpoint).
  std::mutex mutex;
  std::map<std::tuple<std::string, int, int64_t>, int> hookCalls;
  std::atomic<int> hooksRun{0};
  std::atomic<bool> stop{false};
};

/// The keyed map: records what it sees per upstream source subtask.
struct CountingMap : RichMapFunction<Record, Record> {
  explicit CountingMap(std::shared_ptr<Observations> o) : obs(std::move(o)) {}
  void open(RuntimeContext& context) override { subtask = context.getIndexOfThisSubtask(); }
  Record map(const Record& r) override {
    obs->received[static_cast<size_t>(subtask)][static_cast<size_t>(r.first)].push_back(r.second);
    obs->receivedCount[static_cast<size_t>(subtask)][static_cast<size_t>(r.first)].fetch_add(1);
    return r;
  }
  std::shared_ptr<Observations> obs;
  int subtask = -1;
};

void runJob(CheckpointingMode mode, int parallelism) {
  SCOPED_TRACE(std::string(toString(mode)) + ", parallelism " + std::to_string(parallelism));
  int64_t liveBefore = liveBufferCount();
  auto obs = std::make_shared<Observations>();
  auto env = makeEnv(parallelism);
  auto source = std::make_shared<FunctionSource<Record>>(
      [obs](ReaderOutput<Record>& out, int subtask) {
        if (obs->stop.load()) return InputStatus::kEndOfInput;
        auto& emitted = obs->emitted[static_cast<size_t>(subtask)];
        for (int i = 0; i < 16; ++i) {
          out.collect(Record{subtask, emitted.load(std::memory_order_relaxed)});
          emitted.fetch_add(1, std::memory_order_relaxed);
        }
        // Sources at different speeds, so barriers reach the map at different times.
        std::this_thread::sleep_for(std::chrono::microseconds(20 + 30 * subtask));
        return InputStatus::kMoreAvailable;
      },
      Boundedness::kContinuousUnbounded);
  env->fromSource<Record, SubtaskSplit>(source, "Gen")
      .keyBy([](const Record& r) { return r.second % 1009; })
      .map(CountingMap(obs))
      .sinkTo(std::make_shared<DiscardingSink<Record>>());

  // What env->executeAsync() does, with checkpoint options of our own.
  StreamGraph graph = env->streamGraph();
  graph.resolve(parallelism, -1);
  JobGraph jobGraph = JobGraph::fromStreamGraph(std::move(graph), "barriers", true);
  ASSERT_EQ(jobGraph.vertices().size(), 2u);  // Source | Map -> Sink
  const int numTasks = 2 * parallelism;
  ExecutionOptions options;
  auto clock = std::make_shared<ManualClock>(1'000'000);
  options.clock = clock;            // moved only by source 0's hook: start delays are exact
  options.bufferTimeoutMillis = 0;  // records after a barrier travel at once
  options.checkpointingMode = mode;
  options.checkpointHookForTesting = [obs, clock, mode, parallelism](
                                         const TaskInfo& task, const CheckpointBarrier& barrier,
                                         const CheckpointMetrics&) {
    auto s = static_cast<size_t>(task.indexOfSubtask);
    const int64_t id = barrier.checkpointId;
    if (task.taskName.rfind("Source", 0) == 0) {
      obs->emittedAtCheckpoint[s][id] = obs->emitted[s].load();
      obs->emittedAtLatestCheckpoint[s] = obs->emittedAtCheckpoint[s][id];
      obs->latestCheckpoint[s] = id;
      if (s == 0) {
        // Source 0 forwards its barrier late: it holds it until every other source has emitted
        // records after its own barrier. Exactly once, the maps must hold those back until
        // source 0's barrier arrives; at least once, they process them before it, so their
        // snapshots see records after the barrier.
        clock->advance(10);  // 10 ms of the job's clock pass at this source: its start delay
        auto othersAhead = [&] {
          for (size_t o = 1; o < static_cast<size_t>(parallelism); ++o) {
            if (obs->latestCheckpoint[o].load() < id ||
                obs->emitted[o].load() < obs->emittedAtLatestCheckpoint[o].load() + 4) {
              return false;
            }
            if (mode == CheckpointingMode::kAtLeastOnce) {
              int64_t received = 0;
              for (size_t m = 0; m < static_cast<size_t>(parallelism); ++m) {
                received += obs->receivedCount[m][o].load();
              }
              if (received <= obs->emittedAtLatestCheckpoint[o].load()) return false;
            }
          }
          return true;
        };
        EXPECT_TRUE(eventually(othersAhead)) << "checkpoint " << id;
      }
    } else {
      auto& counts = obs->receivedAtCheckpoint[s][barrier.checkpointId];
      for (size_t k = 0; k < kMaxParallelism; ++k) {
        counts[k] = static_cast<int64_t>(obs->received[s][k].size());
      }
    }
    std::lock_guard lock(obs->mutex);
    ++obs->hookCalls[{task.taskName, task.indexOfSubtask, barrier.checkpointId}];
    ++obs->hooksRun;
  };
  auto client = LocalExecutor::submit(jobGraph, options);

  auto emittedTotal = [&] {
    int64_t n = 0;
    for (int s = 0; s < parallelism; ++s) n += obs->emitted[static_cast<size_t>(s)].load();
    return n;
  };
  for (int64_t id = 1; id <= kCheckpoints; ++id) {
    int64_t target = emittedTotal() + 2000;
    ASSERT_TRUE(eventually([&] { return emittedTotal() >= target; }));
    // The previous checkpoint completes once every task acknowledged it.
    ASSERT_TRUE(eventually([&] {
      auto triggered = client->triggerCheckpoint();
      if (triggered) {
        EXPECT_EQ(*triggered, id);
      }
      return triggered.has_value();
    }));
    ASSERT_TRUE(eventually([&] { return obs->hooksRun.load() >= id * numTasks; }))
        << "checkpoint " << id << ": " << obs->hooksRun.load() << " hooks ran";
  }
  // The hooks run when a task takes its snapshot; its acknowledgement follows the asynchronous
  // part, so the last checkpoint may still be pending here: ending the job now would abort it.
  ASSERT_TRUE(eventually([&] {
    for (const CheckpointStats& s : client->checkpointStatistics()) {
      if (s.checkpointId == kCheckpoints && s.completed) return true;
    }
    return false;
  })) << "checkpoint "
      << kCheckpoints << " did not complete";
  obs->stop = true;
  client->getJobExecutionResult();
  EXPECT_EQ(liveBufferCount(), liveBefore);

  // Source 0 holds every barrier while 10 ms pass on the job's clock: each checkpoint's start
  // delay (trigger to a task's first barrier, here the source's own hook) is at least that.
  int completed = 0;
  for (const CheckpointStats& s : client->checkpointStatistics()) {
    if (!s.completed) continue;
    ++completed;
    EXPECT_GE(s.maxStartDelayMillis, 10) << "checkpoint " << s.checkpointId;
  }
  EXPECT_EQ(completed, kCheckpoints);

  // Every task's hook ran once per checkpoint.
  EXPECT_EQ(obs->hookCalls.size(), static_cast<size_t>(numTasks * kCheckpoints));
  for (const auto& [key, calls] : obs->hookCalls) {
    EXPECT_EQ(calls, 1) << std::get<0>(key) << " " << std::get<1>(key) << " chk "
                        << std::get<2>(key);
  }
  int64_t receivedTotal = 0;
  int cutsAfterBarrier = 0;  // at least once: snapshots that saw records after the barrier
  for (int m = 0; m < parallelism; ++m) {
    for (int s = 0; s < parallelism; ++s) {
      const auto& seqs = obs->received[static_cast<size_t>(m)][static_cast<size_t>(s)];
      receivedTotal += static_cast<int64_t>(seqs.size());
      ASSERT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << "map " << m << " source " << s;
      for (int64_t id = 1; id <= kCheckpoints; ++id) {
        int64_t cut = obs->emittedAtCheckpoint[static_cast<size_t>(s)].at(id);
        // Records of source s routed to map m before the barrier.
        auto expected =
            static_cast<int64_t>(std::lower_bound(seqs.begin(), seqs.end(), cut) - seqs.begin());
        int64_t seen =
            obs->receivedAtCheckpoint[static_cast<size_t>(m)].at(id)[static_cast<size_t>(s)];
        if (mode == CheckpointingMode::kExactlyOnce) {
          EXPECT_EQ(seen, expected) << "map " << m << " source " << s << " checkpoint " << id;
        } else {
          EXPECT_GE(seen, expected) << "map " << m << " source " << s << " checkpoint " << id;
          cutsAfterBarrier += seen > expected ? 1 : 0;
        }
      }
    }
  }
  EXPECT_EQ(receivedTotal, emittedTotal()) << "records were lost";
  if (mode == CheckpointingMode::kAtLeastOnce && parallelism > 1) {
    // Source 0 held each barrier until the maps had records of another source after its
    // barrier: at least once does not hold them back, so snapshots include them.
    EXPECT_GT(cutsAfterBarrier, 0) << "at least once never let records overtake a barrier";
  }
}

TEST(CheckpointBarrierJob, ExactlyOnceParallelismOne) {
  runJob(CheckpointingMode::kExactlyOnce, 1);
}
TEST(CheckpointBarrierJob, ExactlyOnceParallelismFour) {
  runJob(CheckpointingMode::kExactlyOnce, 4);
}
TEST(CheckpointBarrierJob, AtLeastOnceParallelismFour) {
  runJob(CheckpointingMode::kAtLeastOnce, 4);
}

}  // namespace
}  // namespace sluice
