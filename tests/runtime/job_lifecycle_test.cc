// Whole-job behaviour of the runtime: failures, cancellation, backpressure, buffer timeouts and
// clean-up (no thread or buffer outlives its job).

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "sluice/network/buffer.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"

namespace sluice {
namespace {

using testing::CollectSink;
using testing::eventually;
using testing::FunctionSource;
using testing::makeEnv;
using testing::SubtaskSplit;
using testing::threadCount;

TEST(JobLifecycle, ThrowingUserFunctionFailsTheJobNamingOperatorAndSubtask) {
  int threadsBefore = threadCount();
  auto env = makeEnv(2);
  env->fromSequence(1, 100000)
      .rebalance()
      .map([](const int64_t& v) {
        if (v == 4242) throw std::runtime_error("cannot handle 4242");
        return v;
      })
      .name("Picky Map")
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  try {
    env->execute("failing job");
    FAIL() << "the job should fail";
  } catch (const JobExecutionException& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("Job 'failing job' failed"), std::string::npos) << what;
    EXPECT_NE(what.find("Picky Map ("), std::string::npos) << what;
    EXPECT_NE(what.find("/2)"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot handle 4242"), std::string::npos) << what;
  }
  EXPECT_EQ(liveBufferCount(), 0);
  EXPECT_EQ(threadCount(), threadsBefore);
}

TEST(JobLifecycle, ThrowingSourceReaderFailsTheJob) {
  auto env = makeEnv(1);
  auto source = std::make_shared<FunctionSource<int64_t>>(
      [](ReaderOutput<int64_t>&, int) -> InputStatus { throw std::runtime_error("disk on fire"); });
  env->fromSource<int64_t, SubtaskSplit>(source, "Bad").print();
  try {
    env->execute();
    FAIL();
  } catch (const JobExecutionException& e) {
    EXPECT_NE(std::string(e.what()).find("Source: Bad (1/1)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("disk on fire"), std::string::npos) << e.what();
  }
}

TEST(JobLifecycle, CancellationStopsEveryThreadAndReleasesEveryBuffer) {
  int threadsBefore = threadCount();
  {
    auto env = makeEnv(2);
    auto source = std::make_shared<FunctionSource<int64_t>>(
        [](ReaderOutput<int64_t>& out, int) {
          for (int i = 0; i < 100; ++i) out.collect(i);
          return InputStatus::kMoreAvailable;  // never ends
        },
        Boundedness::kContinuousUnbounded);
    auto sink = std::make_shared<CollectSink<int64_t>>(
        std::make_shared<CollectSink<int64_t>::Shared>(),
        [](const int64_t&) { std::this_thread::sleep_for(std::chrono::microseconds(50)); });
    env->fromSource<int64_t, SubtaskSplit>(source, "Endless")
        .keyBy([](const int64_t& v) { return v; })
        .map([](const int64_t& v) { return v; })
        .sinkTo(sink);
    auto client = env->executeAsync("endless");
    ASSERT_TRUE(eventually([&] { return sink->shared()->count.load() > 1000; }));
    client->cancel();
    try {
      client->getJobExecutionResult();
      FAIL();
    } catch (const JobExecutionException& e) {
      EXPECT_NE(std::string(e.what()).find("was cancelled"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(liveBufferCount(), 0);
  EXPECT_EQ(threadCount(), threadsBefore);
}

// A fast source behind a slow sink: the source must wait for buffers, and it can never be ahead
// of the sink by more than what the bounded pools hold.
TEST(JobLifecycle, BackpressureBoundsInFlightRecords) {
  auto env = makeEnv(1);
  std::atomic<int64_t> emitted{0};
  std::atomic<int64_t> maxLag{0};
  std::atomic<int64_t> consumed{0};
  constexpr int64_t kRecords = 300000;
  env->fromSequence(1, kRecords)
      .map([&emitted](const int64_t& v) {
        emitted.fetch_add(1, std::memory_order_relaxed);
        return v;
      })
      .rebalance()
      .map([&](const int64_t& v) {
        int64_t c = consumed.fetch_add(1) + 1;
        int64_t lag = emitted.load() - c;
        if (lag > maxLag.load()) maxLag.store(lag);
        if (c % 256 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        return v;
      })
      .sinkTo(std::make_shared<DiscardingSink<int64_t>>());
  auto client = env->executeAsync();
  client->getJobExecutionResult();
  NetworkStats stats = client->networkStats();
  EXPECT_EQ(consumed.load(), kRecords);
  EXPECT_GT(stats.blockedRequests, 0) << "the source never had to wait";
  EXPECT_LE(stats.maxBuffersInUse, stats.totalBuffers);
  // Each int64 record is 13 bytes on the wire (length, tag, value): the pool (10 buffers of
  // 32 KiB), plus the buffer being deserialized, bound the lag.
  int64_t bound = (stats.totalBuffers + 1) * 32768 / 13 + 1;
  EXPECT_LE(maxLag.load(), bound);
  EXPECT_GT(maxLag.load(), 0);
}

/// A job on a ManualClock whose source emits three records, then idles until release():
/// source -> rebalance -> sink, so the records cross one network buffer.
struct IdlingJob {
  explicit IdlingJob(int64_t bufferTimeoutMillis) {
    auto env = makeEnv(1);
    env->setClock(clock).setBufferTimeout(bufferTimeoutMillis);
    auto source = std::make_shared<FunctionSource<int64_t>>(
        [released = released, emitted = emitted](ReaderOutput<int64_t>& out, int) {
          if (emitted->load() < 3) {
            out.collect(emitted->load());
            emitted->fetch_add(1);
            return InputStatus::kMoreAvailable;
          }
          if (released->load()) return InputStatus::kEndOfInput;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return InputStatus::kMoreAvailable;
        });
    env->fromSource<int64_t, SubtaskSplit>(source, "Three").rebalance().sinkTo(sink);
    client = env->executeAsync();
  }
  int64_t received() const { return sink->shared()->count.load(); }
  void finish() {
    released->store(true);
    client->getJobExecutionResult();
  }
  /// When each record reached the sink: the injected clock's time and whether the source had
  /// been released. The clock moves only when the test advances it, so a record flushed too
  /// early shows an earlier time, with no need to wait and see.
  std::vector<std::pair<int64_t, bool>> arrivals() const {
    std::lock_guard lock(arrivals_->mutex);
    return arrivals_->list;
  }

  struct Arrivals {
    std::mutex mutex;
    std::vector<std::pair<int64_t, bool>> list;
  };
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1000);
  std::shared_ptr<std::atomic<bool>> released = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> emitted = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<Arrivals> arrivals_ = std::make_shared<Arrivals>();
  std::shared_ptr<CollectSink<int64_t>> sink = std::make_shared<CollectSink<int64_t>>(
      std::make_shared<CollectSink<int64_t>::Shared>(),
      [clock = clock, released = released, arrivals = arrivals_](const int64_t&) {
        std::lock_guard lock(arrivals->mutex);
        arrivals->list.emplace_back(clock->currentTimeMillis(), released->load());
      });
  std::unique_ptr<JobClient> client;
};

TEST(JobLifecycle, BufferTimeoutFlushesOnTheInjectedClock) {
  IdlingJob job(100);
  ASSERT_TRUE(eventually([&] { return job.emitted->load() == 3; }));
  // Time has not moved: the three records wait in a partly filled buffer until it does.
  job.clock->advance(99);
  job.clock->advance(1);
  EXPECT_TRUE(eventually([&] { return job.received() == 3; }));
  job.finish();
  EXPECT_EQ(job.sink->values(), (std::vector<int64_t>{0, 1, 2}));
  // Flushed by the timeout at 1100, not before (nor at 1099).
  for (const auto& [time, released] : job.arrivals()) EXPECT_EQ(time, 1100);
}

TEST(JobLifecycle, BufferTimeoutZeroSendsEveryRecordAtOnce) {
  IdlingJob job(0);
  EXPECT_TRUE(eventually([&] { return job.received() == 3; }));
  job.finish();
}

TEST(JobLifecycle, BufferTimeoutMinusOneWaitsForFullBuffersOrTheEnd) {
  IdlingJob job(-1);
  ASSERT_TRUE(eventually([&] { return job.emitted->load() == 3; }));
  job.clock->advance(1000000);
  job.finish();
  EXPECT_EQ(job.received(), 3);
  // Only the end of input flushed them: every record arrived after the source was released.
  // (A timer-driven flush would race the release and, whenever it won, show here.)
  for (const auto& [time, released] : job.arrivals()) EXPECT_TRUE(released);
}

TEST(JobLifecycle, RecordsLargerThanABufferCrossTheNetwork) {
  auto env = makeEnv(2);
  auto sink = std::make_shared<CollectSink<std::string>>();
  env->fromSequence(1, 40)
      .map([](const int64_t& v) {
        return std::string(static_cast<size_t>(v) * 5000, static_cast<char>('a' + v % 26));
      })
      .rebalance()
      .sinkTo(sink);
  env->execute();
  auto values = sink->values();
  ASSERT_EQ(values.size(), 40u);
  std::sort(values.begin(), values.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t v = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(values[i],
              std::string(static_cast<size_t>(v) * 5000, static_cast<char>('a' + v % 26)));
  }
}

TEST(JobLifecycle, EmptyProgramIsRejected) {
  auto env = makeEnv(1);
  EXPECT_THROW(env->execute(), SluiceException);
}

}  // namespace
}  // namespace sluice
