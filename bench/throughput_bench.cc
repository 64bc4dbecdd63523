// Throughput benchmarks of the runtime's main paths. Each case prints one JSON object:
//   {"benchmark": ..., "records": N, "seconds": s, "records_per_second": r,
//    "records_per_second_per_core": r / cores_used, "peak_rss_bytes": b}
// Usage: throughput_bench [chained|keyed|wordcount|all] [--records N] [--input DIR]
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

#include "sluice/api/data_stream.h"
#include "sluice/connectors/file_source.h"
#include "wordcount/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t peakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

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

// WordCount over a directory of text (the Gutenberg books), counts to a discarding sink.
void wordcount(const std::string& input, int parallelism) {
  auto env = makeEnv(parallelism);
  using sluice::examples::WordCount;
  struct CountWords : sluice::RichMapFunction<WordCount, WordCount> {
    sluice::LongCounter* words = nullptr;
    void open(sluice::RuntimeContext& ctx) override { words = &ctx.getLongCounter("words"); }
    WordCount map(const WordCount& w) override {
      words->add(1);
      return w;
    }
  };
  sluice::fromTextFiles(*env, {input})
      .flatMap(sluice::examples::Tokenizer{})
      .map(CountWords{})
      .keyBy([](const WordCount& wc) -> const std::string& { return wc.first; })
      .sum<1>()
      .sinkTo(std::make_shared<sluice::DiscardingSink<WordCount>>());
  auto start = Clock::now();
  auto result = env->execute("wordcount");
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report("wordcount_p" + std::to_string(parallelism), result.getAccumulatorResult<int64_t>("words"),
         seconds, 2 * parallelism);
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
  return 0;
}
