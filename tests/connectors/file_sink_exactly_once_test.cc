// Two-phase commit of sinks (runtime/sink_writer_operator.h) and the exactly-once FileSink: a
// SinkWriterOperator is driven through checkpoints, completions, aborts, crashes and restores (also
// at another parallelism), and the visible part files are compared, as a multiset of lines, with
// the records that the completed checkpoints cover (the oracle: what was written before each
// barrier, counted independently by the test).

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connector_test_util.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/core/clock.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {
namespace {

using namespace sluice::testing;

/// Runs one SinkWriterOperator subtask as a task would: setup with a StreamOperatorContext
/// (checkpointing on or off, optionally restored operator state), initializeState, open; then
/// the test calls write/snapshot/complete/abort/endInput/close. Processing time is a
/// ManualClock that never advances, so no timer fires. Test thread only.
template <typename T>
class SinkSubtask {
 public:
  SinkSubtask(std::shared_ptr<const Sink<T>> sink, bool checkpointing, int subtask = 0,
              int parallelism = 1, std::optional<OperatorStateSnapshot> restored = std::nullopt)
      : clock_(std::make_shared<ManualClock>(1000000)),
        scheduler_(clock_),
        timeService_(scheduler_, mailbox_, 1),
        restored_(std::move(restored)) {
    TaskInfo info;
    info.taskName = "Sink: files";
    info.indexOfSubtask = subtask;
    info.numberOfParallelSubtasks = parallelism;
    runtimeContext_ = std::make_unique<RuntimeContext>(info, "Sink: files");
    op_ = std::make_unique<SinkWriterOperator<T>>(std::move(sink));
    StreamOperatorContext context;
    context.runtimeContext = runtimeContext_.get();
    context.processingTimeService = &timeService_;
    context.mailbox = &mailbox_;
    context.checkpointingEnabled = checkpointing;
    if (restored_) context.restoredOperatorState = &*restored_;
    op_->setup(context, nullptr);
    op_->initializeState();
    op_->open();
  }
  ~SinkSubtask() {
    if (!closed_) {
      try {
        op_->close();
      } catch (...) {
      }
    }
    timeService_.cancelAll();
    scheduler_.shutdown();
  }

  void write(const T& value) { op_->processElement(value, kNoTimestamp); }
  /// The operator state of checkpoint `id`, as the task's checkpoint hook takes it.
  OperatorStateSnapshot snapshot(int64_t id) { return op_->snapshotOperatorState(id, 0); }
  void complete(int64_t id) { op_->notifyCheckpointComplete(id); }
  void abort(int64_t id) { op_->notifyCheckpointAborted(id); }
  void endInput() { op_->finish(); }
  /// End of input with checkpointing (FLIP-147): finish(), then the final checkpoint `id`,
  /// whose completion commits what finish() prepared.
  void endInputWithFinalCheckpoint(int64_t id) {
    EXPECT_TRUE(op_->requiresFinalCheckpoint());
    op_->finish();
    op_->snapshotOperatorState(id, 0);
    op_->notifyCheckpointComplete(id);
  }
  /// close() as the task calls it, after finish() or after a failure ("crash" when no
  /// finish() came before).
  void close() {
    closed_ = true;
    op_->close();
  }
  SinkWriterOperator<T>& op() { return *op_; }
  int64_t counter(const std::string& name) { return runtimeContext_->counter(name).getCount(); }

 private:
  std::shared_ptr<ManualClock> clock_;
  Mailbox mailbox_;
  TimerScheduler scheduler_;
  ProcessingTimeService timeService_;
  std::optional<OperatorStateSnapshot> restored_;
  std::unique_ptr<RuntimeContext> runtimeContext_;
  std::unique_ptr<SinkWriterOperator<T>> op_;
  bool closed_ = false;
};

using Counts = std::map<std::string, int>;

/// Every line of every visible (not hidden) file under `base`, counted.
Counts visibleLines(const fs::path& base) {
  Counts counts;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    if (name[0] == '.') continue;
    EXPECT_EQ(name.find("inprogress"), std::string::npos) << e.path();
    std::string content = readFile(e.path());
    EXPECT_TRUE(content.empty() || content.back() == '\n') << "torn part " << e.path();
    for (const auto& line : splitLines(content)) ++counts[line];
  }
  return counts;
}

int numVisibleFiles(const fs::path& base) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') ++n;
  }
  return n;
}

/// Each of the numbers [from, to] once, as text.
Counts range(int64_t from, int64_t to) {
  Counts counts;
  for (int64_t i = from; i <= to; ++i) ++counts[std::to_string(i)];
  return counts;
}

Counts operator+(Counts a, const Counts& b) {
  for (const auto& [k, n] : b) a[k] += n;
  return a;
}

std::shared_ptr<const FileSink<int64_t>> onCheckpointSink(const TempDir& dir) {
  return FileSink<int64_t>::forRowFormat(dir.str())
      .withBucketAssigner(BasePathBucketAssigner<int64_t>())
      .withRollingPolicy(OnCheckpointRollingPolicy{})
      .build();
}

std::shared_ptr<const FileSink<int64_t>> sizeRollingSink(const TempDir& dir, int64_t partSize) {
  return FileSink<int64_t>::forRowFormat(dir.str())
      .withBucketAssigner(BasePathBucketAssigner<int64_t>())
      .withRollingPolicy(DefaultRollingPolicy{partSize, 3600000, 3600000})
      .build();
}

void writeRange(SinkSubtask<int64_t>& task, int64_t from, int64_t to) {
  for (int64_t i = from; i <= to; ++i) task.write(i);
}

// ---- FileSink with checkpointing ----------------------------------------------------------

TEST(FileSinkExactlyOnce, PartsBecomeVisibleWhenTheCheckpointCompletesNotAtTheBarrier) {
  TempDir dir;
  SinkSubtask<int64_t> task(onCheckpointSink(dir), /*checkpointing=*/true);
  writeRange(task, 1, 100);
  task.snapshot(1);
  EXPECT_EQ(visibleLines(dir.path()), Counts{}) << "committed at the barrier";
  EXPECT_EQ(task.op().numPendingCommittables(), 1u);
  writeRange(task, 101, 150);  // after barrier 1
  task.complete(1);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 100));
  EXPECT_EQ(task.op().numPendingCommittables(), 0u);
  task.snapshot(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 100));
  task.complete(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 150));
  // A checkpoint with nothing written prepares nothing.
  task.snapshot(3);
  task.complete(3);
  EXPECT_EQ(numVisibleFiles(dir.path()), 2);
  EXPECT_EQ(task.counter("numCommittablesSuccess"), 2);
  EXPECT_EQ(task.counter("numCommittablesTotal"), 2);
}

TEST(FileSinkExactlyOnce, CrashAfterTheBarrierThenRestoreCommitsThePendingPartsOnce) {
  TempDir dir;
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(onCheckpointSink(dir), true);
    writeRange(task, 1, 100);
    checkpoint1 = task.snapshot(1);
    writeRange(task, 101, 130);  // lost with the attempt
    task.close();                // failure: no notifyCheckpointComplete(1) reached the task
  }
  EXPECT_EQ(visibleLines(dir.path()), Counts{}) << "a failed attempt published files";

  // Checkpoint 1 completed (its _metadata exists): the job restores from it.
  SinkSubtask<int64_t> task(onCheckpointSink(dir), true, 0, 1, checkpoint1);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 100)) << "restore must commit checkpoint 1";
  writeRange(task, 101, 160);  // the source replays from the checkpoint
  task.snapshot(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 100));
  task.complete(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 160));
  writeRange(task, 161, 170);
  task.endInput();
  EXPECT_EQ(visibleLines(dir.path()), range(1, 160)) << "end of input waits for a checkpoint";
  task.snapshot(3);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 160));
  task.complete(3);  // the final checkpoint
  task.close();
  EXPECT_EQ(visibleLines(dir.path()), range(1, 170));
}

// Checkpoint 2 completes before the end of input but reaches the sink after it: it must not
// commit what finish() prepared (checkpoint 2 does not hold it); the final checkpoint does.
TEST(FileSinkExactlyOnce, OnlyACheckpointTakenAfterTheEndOfInputCommitsItsOutput) {
  TempDir dir;
  SinkSubtask<int64_t> task(onCheckpointSink(dir), true);
  writeRange(task, 1, 50);
  task.snapshot(2);
  writeRange(task, 51, 80);
  task.endInput();
  task.complete(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 50));
  OperatorStateSnapshot final = task.snapshot(3);
  task.complete(3);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 80));
  task.close();
  // A restore from the final checkpoint re-commits idempotently: nothing twice.
  SinkSubtask<int64_t> restored(onCheckpointSink(dir), true, 0, 1, final);
  restored.endInputWithFinalCheckpoint(4);
  restored.close();
  EXPECT_EQ(visibleLines(dir.path()), range(1, 80));
}

TEST(FileSinkExactlyOnce, RestoreFromAnEarlierCheckpointDropsWhatFollowedIt) {
  // Checkpoint 2's barrier was taken but checkpoint 2 never completed: the job restores from 1.
  TempDir dir;
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(onCheckpointSink(dir), true);
    writeRange(task, 1, 40);
    checkpoint1 = task.snapshot(1);
    task.complete(1);
    writeRange(task, 41, 80);
    task.snapshot(2);
    task.close();
  }
  EXPECT_EQ(visibleLines(dir.path()), range(1, 40));
  SinkSubtask<int64_t> task(onCheckpointSink(dir), true, 0, 1, checkpoint1);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 40)) << "re-commit must be idempotent";
  // Checkpoint 1 lists the committable its barrier prepared; it was committed before the crash.
  EXPECT_EQ(task.counter("numCommittablesAlreadyCommitted"), 1);
  writeRange(task, 41, 80);
  task.snapshot(2);
  task.complete(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 80));
}

TEST(FileSinkExactlyOnce, ReCommitOfAlreadyCommittedPartsIsANoOp) {
  TempDir dir;
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(onCheckpointSink(dir), true);
    writeRange(task, 1, 50);
    checkpoint1 = task.snapshot(1);
    task.complete(1);  // committed, but the checkpoint's state still lists the committable
    task.close();
  }
  EXPECT_EQ(visibleLines(dir.path()), range(1, 50));
  for (int restore = 0; restore < 2; ++restore) {
    SinkSubtask<int64_t> task(onCheckpointSink(dir), true, 0, 1, checkpoint1);
    EXPECT_EQ(task.counter("numCommittablesAlreadyCommitted"), 1) << "restore " << restore;
    EXPECT_EQ(task.counter("numCommittablesSuccess"), 0);
    EXPECT_EQ(visibleLines(dir.path()), range(1, 50));
    task.close();
  }
}

TEST(FileSinkExactlyOnce, AbortedCheckpointsCommitWithTheNextCompletedOne) {
  TempDir dir;
  SinkSubtask<int64_t> task(onCheckpointSink(dir), true);
  writeRange(task, 1, 10);
  task.snapshot(1);
  task.abort(1);
  EXPECT_EQ(visibleLines(dir.path()), Counts{});
  EXPECT_EQ(task.op().numPendingCommittables(), 1u);
  writeRange(task, 11, 20);
  OperatorStateSnapshot checkpoint2 = task.snapshot(2);
  writeRange(task, 21, 30);
  task.snapshot(3);
  EXPECT_EQ(visibleLines(dir.path()), Counts{});
  // The notification of 2 is lost (subsumed); completing 3 commits 1, 2 and 3.
  task.complete(3);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 30));
  task.close();

  // Checkpoint 2's state carries the committables of the aborted checkpoint 1, too: a restore
  // from it re-commits both (already committed: no-ops).
  SinkSubtask<int64_t> restored(onCheckpointSink(dir), true, 0, 1, checkpoint2);
  EXPECT_EQ(restored.counter("numCommittablesTotal"), 2);
  EXPECT_EQ(restored.counter("numCommittablesAlreadyCommitted"), 2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 30));
}

TEST(FileSinkExactlyOnce, DefaultRollingPolicyResumesTheInProgressPartTruncatedToTheCheckpoint) {
  // Flink's DefaultRollingPolicy does not roll at a checkpoint: the open part is checkpointed
  // with its length and resumed after a restore.
  TempDir dir;
  auto sink = sizeRollingSink(dir, 1 << 20);
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(sink, true);
    writeRange(task, 1, 50);
    checkpoint1 = task.snapshot(1);
    task.complete(1);
    EXPECT_EQ(visibleLines(dir.path()), Counts{}) << "the part has not rolled yet";
    writeRange(task, 51, 80);
    task.snapshot(2);  // flushes 51..80 into the in-progress file
    task.close();      // crash before checkpoint 2 completed
  }
  SinkSubtask<int64_t> task(sink, true, 0, 1, checkpoint1);
  writeRange(task, 51, 100);
  task.endInputWithFinalCheckpoint(3);
  task.close();
  EXPECT_EQ(visibleLines(dir.path()), range(1, 100));
  EXPECT_EQ(numVisibleFiles(dir.path()), 1) << "the resumed part holds everything";
}

TEST(FileSinkExactlyOnce, PartsRolledBySizeWaitForTheCheckpoint) {
  TempDir dir;
  SinkSubtask<int64_t> task(sizeRollingSink(dir, 64), true);
  writeRange(task, 1, 200);  // many rolls
  EXPECT_EQ(visibleLines(dir.path()), Counts{}) << "rolled parts were published early";
  task.snapshot(1);
  EXPECT_EQ(visibleLines(dir.path()), Counts{});
  task.complete(1);
  Counts visible = visibleLines(dir.path());
  // Everything but the open part is visible, each record once.
  int total = 0;
  for (const auto& [line, n] : visible) {
    EXPECT_EQ(n, 1) << line;
    total += n;
  }
  EXPECT_GT(total, 150);
  EXPECT_LT(total, 200);
  EXPECT_EQ(visible, range(1, total)) << "a prefix, since one bucket rolls in order";
  task.endInputWithFinalCheckpoint(2);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 200));
}

TEST(FileSinkExactlyOnce, RestoreAtAnotherParallelism) {
  for (int newParallelism : {1, 2, 5}) {
    SCOPED_TRACE("new parallelism " + std::to_string(newParallelism));
    TempDir dir;
    auto sink = sizeRollingSink(dir, 200);
    std::vector<OperatorStateSnapshot> checkpoint1;
    Counts beforeBarrier;
    {
      std::vector<std::unique_ptr<SinkSubtask<int64_t>>> tasks;
      for (int i = 0; i < 3; ++i) {
        tasks.push_back(std::make_unique<SinkSubtask<int64_t>>(sink, true, i, 3));
      }
      // Subtask i writes numbers i*1000+1 .. i*1000+100+10*i: some parts rolled (pending) and
      // one part open per subtask at the barrier.
      for (int i = 0; i < 3; ++i) {
        writeRange(*tasks[i], i * 1000 + 1, i * 1000 + 100 + 10 * i);
        beforeBarrier = beforeBarrier + range(i * 1000 + 1, i * 1000 + 100 + 10 * i);
      }
      for (auto& t : tasks) checkpoint1.push_back(t->snapshot(1));
      for (int i = 0; i < 3; ++i) writeRange(*tasks[i], i * 1000 + 500, i * 1000 + 520);
      for (auto& t : tasks) t->snapshot(2);
      for (auto& t : tasks) t->close();  // crash: checkpoint 2 never completed
    }
    EXPECT_EQ(visibleLines(dir.path()), Counts{});
    std::vector<OperatorStateSnapshot> parts =
        redistributeOperatorState(checkpoint1, newParallelism);
    std::vector<std::unique_ptr<SinkSubtask<int64_t>>> tasks;
    for (int i = 0; i < newParallelism; ++i) {
      tasks.push_back(
          std::make_unique<SinkSubtask<int64_t>>(sink, true, i, newParallelism, parts[i]));
    }
    // Restored pending parts are visible; none of the records after the barrier.
    Counts afterRestore = visibleLines(dir.path());
    for (const auto& [line, n] : afterRestore) {
      EXPECT_EQ(n, 1) << line;
      EXPECT_EQ(beforeBarrier.count(line), 1u) << line;
    }
    EXPECT_FALSE(afterRestore.empty());
    Counts replay;
    for (int i = 0; i < newParallelism; ++i) {
      writeRange(*tasks[i], 50000 + i * 100, 50000 + i * 100 + 30);
      replay = replay + range(50000 + i * 100, 50000 + i * 100 + 30);
    }
    for (auto& t : tasks) t->snapshot(2);
    for (auto& t : tasks) t->complete(2);
    for (auto& t : tasks) t->endInputWithFinalCheckpoint(3);
    for (auto& t : tasks) t->close();
    EXPECT_EQ(visibleLines(dir.path()), beforeBarrier + replay);
  }
}

TEST(FileSinkExactlyOnce, EveryBucketsPendingPartIsCommittedOnRestore) {
  struct ParityAssigner final : BucketAssigner<int64_t> {
    void getBucketId(const int64_t& v, const BucketAssignerContext&, std::string& id) override {
      id += v % 2 == 0 ? "even" : "odd/nested";
    }
  };
  TempDir dir;
  auto sink = FileSink<int64_t>::forRowFormat(dir.str())
                  .withBucketAssigner(ParityAssigner())
                  .withRollingPolicy(OnCheckpointRollingPolicy{})
                  .build();
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(sink, true);
    writeRange(task, 1, 99);
    checkpoint1 = task.snapshot(1);
    EXPECT_EQ(task.op().numPendingCommittables(), 2u);
    task.close();
  }
  SinkSubtask<int64_t> task(sink, true, 0, 1, checkpoint1);
  EXPECT_EQ(visibleLines(dir.path()), range(1, 99));
  Counts even = visibleLines(dir / "even");
  for (const auto& [line, n] : even) EXPECT_EQ(std::stoll(line) % 2, 0) << line;
  EXPECT_EQ(even.size(), 49u);
}

// ---- FileSink without checkpointing: as before ---------------------------------------------

TEST(FileSinkAtLeastOnce, WithoutCheckpointingPartsAreVisibleWhenTheyRoll) {
  TempDir dir;
  SinkSubtask<int64_t> task(sizeRollingSink(dir, 64), /*checkpointing=*/false);
  writeRange(task, 1, 200);
  Counts visible = visibleLines(dir.path());
  EXPECT_FALSE(visible.empty()) << "rolled parts are committed at once";
  // A (manually triggered) checkpoint prepares nothing.
  task.snapshot(1);
  EXPECT_EQ(task.op().numPendingCommittables(), 0u);
  task.close();  // publishes the open part, also after a failure
  EXPECT_EQ(visibleLines(dir.path()), range(1, 200));
}

TEST(FileSinkAtLeastOnce, BoundedJobCommitsEverythingAtEndOfInput) {
  TempDir dir;
  auto env = makeEnv(3);
  env->fromSequence(1, 3000).rebalance().sinkTo(onCheckpointSink(dir), "Files");
  env->execute("bounded file sink");
  EXPECT_EQ(visibleLines(dir.path()), range(1, 3000));
  EXPECT_EQ(numVisibleFiles(dir.path()), 3) << "one part per subtask, rolled at end of input";
}

// ---- the generic two-phase-commit API -------------------------------------------------------

/// A batch of records that a subtask prepared (an "open transaction").
struct Batch {
  int writer = 0;  ///< unique per writer instance (subtask and attempt)
  int64_t sequence = 0;
  std::vector<std::string> records;
};

/// An external system that publishes batches; committing a batch twice is detected by its id.
struct ExternalStore {
  std::map<std::pair<int, int64_t>, std::vector<std::string>> published;
  int nextWriterId = 0;
  int retryRequests = 0;     ///< the next commits ask for this many retries
  bool failUnknown = false;  ///< the next commit fails for an unknown reason
  Counts lines() const {
    Counts c;
    for (const auto& [id, records] : published) {
      for (const auto& r : records) ++c[r];
    }
    return c;
  }
};

class BatchSink final : public TwoPhaseCommittingSink<std::string, Batch> {
 public:
  explicit BatchSink(std::shared_ptr<ExternalStore> store) : store_(std::move(store)) {}

  std::unique_ptr<CommittingSinkWriter<std::string, Batch>> createCommittingWriter(
      const WriterInitContext& context) const override {
    (void)context;
    return std::make_unique<Writer>(store_->nextWriterId++);
  }
  std::unique_ptr<Committer<Batch>> createCommitter(const CommitterInitContext&) const override {
    return std::make_unique<StoreCommitter>(store_);
  }

 private:
  struct Writer final : CommittingSinkWriter<std::string, Batch> {
    explicit Writer(int id) : id(id) {}
    void write(const std::string& v, const SinkContext&) override { open.push_back(v); }
    std::vector<Batch> prepareCommit() override {
      if (open.empty()) return {};
      std::vector<Batch> out{Batch{id, next++, std::move(open)}};
      open.clear();
      return out;
    }
    int id;
    int64_t next = 0;
    std::vector<std::string> open;
  };
  struct StoreCommitter final : Committer<Batch> {
    explicit StoreCommitter(std::shared_ptr<ExternalStore> s) : store(std::move(s)) {}
    void commit(std::vector<CommitRequest<Batch>>& requests) override {
      for (auto& r : requests) {
        if (store->failUnknown) {
          r.signalFailedWithUnknownReason("store unavailable");
          continue;
        }
        if (store->retryRequests > 0) {
          --store->retryRequests;
          r.retryLater();
          continue;
        }
        auto key = std::make_pair(r.getCommittable().writer, r.getCommittable().sequence);
        if (!store->published.emplace(key, r.getCommittable().records).second) {
          r.signalAlreadyCommitted();
        }
      }
    }
    std::shared_ptr<ExternalStore> store;
  };
  std::shared_ptr<ExternalStore> store_;
};

TEST(TwoPhaseCommittingSink, RetriesAndFailuresKeepTheCommittables) {
  auto store = std::make_shared<ExternalStore>();
  auto sink = std::make_shared<BatchSink>(store);
  OperatorStateSnapshot checkpoint2;
  {
    SinkSubtask<std::string> task(sink, true);
    task.write("a");
    task.write("b");
    task.snapshot(1);
    store->retryRequests = 1;
    task.complete(1);
    EXPECT_EQ(store->lines(), Counts{}) << "the committer asked for a retry";
    EXPECT_EQ(task.op().numPendingCommittables(), 1u);
    task.write("c");
    task.snapshot(2);
    task.complete(2);  // retries batch 0 and commits batch 1
    EXPECT_EQ(store->lines(), (Counts{{"a", 1}, {"b", 1}, {"c", 1}}));
    EXPECT_EQ(task.counter("numCommittablesRetry"), 1);
    task.write("d");
    checkpoint2 = task.snapshot(3);
    store->failUnknown = true;
    EXPECT_THROW(task.complete(3), UserFunctionException);
    EXPECT_EQ(task.op().numPendingCommittables(), 1u) << "a failed commit keeps the committable";
    task.close();
  }
  store->failUnknown = false;
  // The job restarts from checkpoint 3 (it completed; the commit failed): "d" is committed.
  SinkSubtask<std::string> task(sink, true, 0, 1, checkpoint2);
  EXPECT_EQ(store->lines(), (Counts{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}));
  task.write("e");
  task.endInputWithFinalCheckpoint(4);
  EXPECT_EQ(store->lines(), (Counts{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}}));
}

TEST(TwoPhaseCommittingSink, EndOfInputCommitsWithoutACheckpoint) {
  auto store = std::make_shared<ExternalStore>();
  SinkSubtask<std::string> task(std::make_shared<BatchSink>(store), false);
  task.write("x");
  task.write("y");
  EXPECT_EQ(store->lines(), Counts{});
  store->retryRequests = 2;  // retried at end of input
  task.endInput();
  EXPECT_EQ(store->lines(), (Counts{{"x", 1}, {"y", 1}}));
}

TEST(FileCommitter, CommitIsIdempotent) {
  TempDir dir;
  writeFile(dir / ".part-x.inprogress.1", "1\n");
  FileSinkCommittable c{"", (dir / ".part-x.inprogress.1").string(), (dir / "part-x").string()};
  EXPECT_EQ(FileCommitter::commitPart(c), FileCommitter::Result::kCommitted);
  EXPECT_EQ(FileCommitter::commitPart(c), FileCommitter::Result::kAlreadyCommitted);
  EXPECT_EQ(readFile(dir / "part-x"), "1\n");
  fs::remove(dir / "part-x");
  EXPECT_EQ(FileCommitter::commitPart(c), FileCommitter::Result::kMissing);
}

TEST(FileSinkExactlyOnce, MissingInProgressPartFailsTheRestoreWithItsName) {
  TempDir dir;
  auto sink = sizeRollingSink(dir, 1 << 20);
  OperatorStateSnapshot checkpoint1;
  {
    SinkSubtask<int64_t> task(sink, true);
    writeRange(task, 1, 5);
    checkpoint1 = task.snapshot(1);
    task.close();
  }
  for (const auto& e : fs::directory_iterator(dir.path())) fs::remove(e.path());
  try {
    SinkSubtask<int64_t> task(sink, true, 0, 1, checkpoint1);
    FAIL() << "expected the restore to fail";
  } catch (const UserFunctionException& e) {
    EXPECT_NE(std::string(e.what()).find(".inprogress."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
