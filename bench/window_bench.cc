// Window benchmarks; each case prints one JSON object:
//   {"benchmark", "records", "seconds", "records_per_second", "cores_used",
//    "records_per_second_per_core", "peak_rss_bytes", "windows_emitted"}
// Usage: window_bench [tumbling|sliding|all] [--records N]
// Events: the numbers 0..N-1, timestamp = n / 1000 ms (1 M events per second of event time),
// key = n % 10000; a count per key and window, emitted to a discarding sink.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_util.h"
#include "sluice/api/windowed_stream.h"

namespace {

using sluice::bench::peakRssBytes;

using Clock = std::chrono::steady_clock;
constexpr int64_t kKeys = 10000;

struct Count : sluice::AggregateFunction<int64_t, int64_t, int64_t> {
  int64_t createAccumulator() override { return 0; }
  int64_t add(const int64_t&, int64_t acc) override { return acc + 1; }
  int64_t getResult(const int64_t& acc) override { return acc; }
  int64_t merge(int64_t a, int64_t b) override { return a + b; }
};

struct CountEmitted : sluice::RichMapFunction<int64_t, int64_t> {
  sluice::LongCounter* windows = nullptr;
  void open(sluice::RuntimeContext& ctx) override { windows = &ctx.getLongCounter("windows"); }
  int64_t map(const int64_t& v) override {
    windows->add(1);
    return v;
  }
};

void run(const std::string& name, int64_t records, bool sliding) {
  auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(sluice::Configuration());
  env->setParallelism(1);
  auto strategy =
      sluice::WatermarkStrategy<int64_t>::forMonotonousTimestamps().withTimestampAssigner(
          [](const int64_t& v) { return v / 1000; });
  auto keyed =
      env->fromSource<int64_t, sluice::NumberSequenceSplit>(
             std::make_shared<sluice::NumberSequenceSource>(0, records - 1), strategy, "Events")
          .keyBy([](const int64_t& v) { return v % kKeys; });
  auto windowed =
      sliding
          ? keyed.window(sluice::SlidingEventTimeWindows::of<int64_t>(std::chrono::seconds(10),
                                                                      std::chrono::seconds(1)))
          : keyed.window(sluice::TumblingEventTimeWindows::of<int64_t>(std::chrono::seconds(1)));
  windowed.aggregate(Count{})
      .map(CountEmitted{})
      .sinkTo(std::make_shared<sluice::DiscardingSink<int64_t>>());
  auto start = Clock::now();
  auto result = env->execute(name);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int cores = std::max(1, std::min(2, static_cast<int>(std::thread::hardware_concurrency())));
  double rate = static_cast<double>(records) / seconds;
  std::printf(
      "{\"benchmark\": \"%s\", \"records\": %lld, \"seconds\": %.3f, \"records_per_second\": %.0f, "
      "\"cores_used\": %d, \"records_per_second_per_core\": %.0f, \"peak_rss_bytes\": %lld, "
      "\"windows_emitted\": %lld, \"keys\": %lld}\n",
      name.c_str(), static_cast<long long>(records), seconds, rate, cores, rate / cores,
      static_cast<long long>(peakRssBytes()),
      static_cast<long long>(result.getAccumulatorResult<int64_t>("windows")),
      static_cast<long long>(kKeys));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = argc > 1 ? argv[1] : "all";
  int64_t records = 20'000'000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--records") records = std::atoll(argv[i + 1]);
  }
  if (which == "tumbling" || which == "all") run("tumbling_count_10k_keys", records, false);
  if (which == "sliding" || which == "all") run("sliding_10s_1s_count_10k_keys", records, true);
  return 0;
}
