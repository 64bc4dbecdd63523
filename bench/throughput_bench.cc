// Throughput benchmarks of the runtime's main paths. Each case prints one JSON object:
//   {"benchmark": ..., "records": N, "seconds": s, "records_per_second": r,
//    "records_per_second_per_core": r / cores_used, "peak_rss_bytes": b}
// Usage: throughput_bench [chained|keyed|keyed_checkpointed|wordcount|wordcount_checkpointed|
//                          backpressure|all] [--records N] [--input DIR]
// Run one case per process (scripts/bench.sh does) so that peak RSS belongs to that case.

#include <sys/resource.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "sluice/api/data_stream.h"
#include "sluice/connectors/file_source.h"
#include "wordcount/tokenizer.h"

namespace {

using sluice::bench::peakRssBytes;

using Clock = std::chrono::steady_clock;

int coresUsed(int threads) {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(cores, threads));
}

void report(const std::string& name, int64_t records, double seconds, int threads,
            const std::string& extra = "") {
  double rate = static_cast<double>(records) / seconds;
  std::printf(
      "{\"benchmark\": \"%s\", \"records\": %lld, \"seconds\": %.3f, \"records_per_second\": %.0f, "
      "\"cores_used\": %d, \"records_per_second_per_core\": %.0f, \"peak_rss_bytes\": %lld%s}\n",
      name.c_str(), static_cast<long long>(records), seconds, rate, coresUsed(threads),
      rate / coresUsed(threads), static_cast<long long>(peakRssBytes()), extra.c_str());
  std::fflush(stdout);
}

std::unique_ptr<sluice::StreamExecutionEnvironment> makeEnv(int parallelism) {
  auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(sluice::Configuration());
  env->setParallelism(parallelism);
  return env;
}

// source -> map -> filter -> sink, all chained in one task: no serialization.
void chained(int64_t records) {
  auto env = makeEnv(1);
  env->fromSequence(1, records)
      .map([](const int64_t& v) { return v * 2 + 1; })
      .filter([](const int64_t& v) { return (v & 7) != 0; })
      .sinkTo(std::make_shared<sluice::DiscardingSink<int64_t>>());
  auto start = Clock::now();
  env->execute("chained");
  report("chained_source_map_filter_sink", records,
         std::chrono::duration<double>(Clock::now() - start).count(), 1);
}

// source -> keyBy -> sum -> sink across a local exchange (two tasks, two threads).
void keyed(int64_t records) {
  auto env = makeEnv(1);
  env->fromSequence(1, records)
      .map([](const int64_t& v) { return std::pair<int64_t, int64_t>(v & 1023, 1); })
      .keyBy([](const std::pair<int64_t, int64_t>& p) { return p.first; })
      .sum<1>()
      .sinkTo(std::make_shared<sluice::DiscardingSink<std::pair<int64_t, int64_t>>>());
  auto start = Clock::now();
  env->execute("keyed");
  report("source_keyby_sum_sink", records,
         std::chrono::duration<double>(Clock::now() - start).count(), 2, ", \"keys\": 1024");
}

// The keyed case with a checkpoint every second (issue 5: within 5% of no checkpointing):
// snapshots of the 1024 sums, source positions and the enumerator to a temp directory.
void keyedCheckpointed(int64_t records) {
  auto env = makeEnv(1);
  std::string dir = "/tmp/sluice-bench-checkpoints-" + std::to_string(::getpid());
  env->enableCheckpointing(1000);
  env->getCheckpointConfig().setCheckpointStorage(dir);
  env->fromSequence(1, records)
      .map([](const int64_t& v) { return std::pair<int64_t, int64_t>(v & 1023, 1); })
      .keyBy([](const std::pair<int64_t, int64_t>& p) { return p.first; })
      .sum<1>()
      .sinkTo(std::make_shared<sluice::DiscardingSink<std::pair<int64_t, int64_t>>>());
  auto start = Clock::now();
  auto job = env->executeAsync("keyed-checkpointed");
  job->getJobExecutionResult();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int completed = 0;
  int64_t maxDuration = 0;
  for (const auto& s : job->checkpointStatistics()) {
    if (!s.completed) continue;
    ++completed;
    maxDuration = std::max(maxDuration, s.durationMillis);
  }
  std::filesystem::remove_all(dir);
  report("source_keyby_sum_sink_checkpoint_1s", records, seconds, 2,
         ", \"keys\": 1024, \"checkpoints_completed\": " + std::to_string(completed) +
             ", \"max_checkpoint_ms\": " + std::to_string(maxDuration));
}

/// The checkpoints a job completed: how many, and their longest duration and alignment, ms.
std::string checkpointFields(const sluice::JobClient& job) {
  int completed = 0;
  int64_t maxDuration = 0;
  int64_t maxAlignment = 0;
  int64_t maxStartDelay = 0;
  int64_t inFlight = 0;
  for (const auto& s : job.checkpointStatistics()) {
    if (!s.completed) continue;
    ++completed;
    maxDuration = std::max(maxDuration, s.durationMillis);
    maxAlignment = std::max(maxAlignment, s.maxAlignmentMillis);
    maxStartDelay = std::max(maxStartDelay, s.maxStartDelayMillis);
    inFlight = std::max(inFlight, s.channelStateBytes);
  }
  return ", \"checkpoints_completed\": " + std::to_string(completed) +
         ", \"max_checkpoint_ms\": " + std::to_string(maxDuration) +
         ", \"max_alignment_ms\": " + std::to_string(maxAlignment) +
         ", \"max_start_delay_ms\": " + std::to_string(maxStartDelay) +
         ", \"max_in_flight_bytes\": " + std::to_string(inFlight);
}

// WordCount over a directory of text (the Gutenberg books) read `copies` times, counts to a
// discarding sink; with a checkpoint every `checkpointMillis` (0: none) to a temp directory.
void wordcount(const std::string& input, int parallelism, int copies = 1,
               int64_t checkpointMillis = 0) {
  auto env = makeEnv(parallelism);
  std::string dir = "/tmp/sluice-bench-checkpoints-" + std::to_string(::getpid());
  if (checkpointMillis > 0) {
    env->enableCheckpointing(checkpointMillis);
    env->getCheckpointConfig().setCheckpointStorage(dir);
  }
  using sluice::examples::WordCount;
  struct CountWords : sluice::RichMapFunction<WordCount, WordCount> {
    sluice::LongCounter* words = nullptr;
    void open(sluice::RuntimeContext& ctx) override { words = &ctx.getLongCounter("words"); }
    WordCount map(const WordCount& w) override {
      words->add(1);
      return w;
    }
  };
  sluice::fromTextFiles(*env, std::vector<std::string>(static_cast<size_t>(copies), input))
      .flatMap(sluice::examples::Tokenizer{})
      .map(CountWords{})
      .keyBy([](const WordCount& wc) -> const std::string& { return wc.first; })
      .sum<1>()
      .sinkTo(std::make_shared<sluice::DiscardingSink<WordCount>>());
  auto start = Clock::now();
  auto job = env->executeAsync("wordcount");
  auto result = job->getJobExecutionResult();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::filesystem::remove_all(dir);
  std::string name = "wordcount_p" + std::to_string(parallelism);
  if (copies > 1) name += "_x" + std::to_string(copies);
  if (checkpointMillis > 0) name += "_checkpoint_" + std::to_string(checkpointMillis) + "ms";
  report(name, result.getAccumulatorResult<int64_t>("words"), seconds, 2 * parallelism,
         checkpointMillis > 0 ? checkpointFields(*job) : "");
}

// Checkpoints under backpressure: a fast source at parallelism 2 feeds, over a keyBy, a slow
// sink (about 2 µs per record) through the default network buffers, so the queues between them
// are full. Aligned barriers wait behind the queued buffers; unaligned ones overtake them and
// store them as channel state. Reports the checkpoints' alignment and duration.
void backpressure(bool unaligned, int64_t records) {
  auto env = makeEnv(2);
  std::string dir = "/tmp/sluice-bench-checkpoints-" + std::to_string(::getpid());
  env->enableCheckpointing(200);
  env->getCheckpointConfig().setCheckpointStorage(dir);
  env->getCheckpointConfig().enableUnalignedCheckpoints(unaligned);
  struct SlowSink : sluice::RichMapFunction<int64_t, int64_t> {
    int64_t map(const int64_t& v) override {
      auto until = Clock::now() + std::chrono::microseconds(2);
      while (Clock::now() < until) {
      }
      return v;
    }
  };
  env->fromSequence(1, records)
      .keyBy([](const int64_t& v) { return v & 1023; })
      .map(SlowSink{})
      .sinkTo(std::make_shared<sluice::DiscardingSink<int64_t>>());
  auto start = Clock::now();
  auto job = env->executeAsync("backpressure");
  job->getJobExecutionResult();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::filesystem::remove_all(dir);
  report(std::string("backpressure_checkpoint_200ms_") + (unaligned ? "unaligned" : "aligned"),
         records, seconds, 4, checkpointFields(*job));
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = argc > 1 ? argv[1] : "all";
  int64_t records = 50'000'000;
  const char* dataDir = std::getenv("SLUICE_DATA_DIR");
  std::string input = std::string(dataDir ? dataDir : "../shared/data") + "/gutenberg";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--records") records = std::atoll(argv[i + 1]);
    if (flag == "--input") input = argv[i + 1];
  }
  if (which == "chained" || which == "all") chained(records * 4);
  if (which == "keyed" || which == "all") keyed(records);
  if (which == "keyed_checkpointed" || which == "all") keyedCheckpointed(records);
  if (which == "wordcount" || which == "all") {
    wordcount(input, 1);
    wordcount(input, 2);
  }
  // WordCount long enough for checkpoints every second: the books 40 times, with and without.
  if (which == "wordcount_checkpointed" || which == "all") {
    wordcount(input, 2, 40);
    wordcount(input, 2, 40, 1000);
  }
  if (which == "backpressure" || which == "all") {
    backpressure(false, records / 25);
    backpressure(true, records / 25);
  }
  return 0;
}
