// Keyed state and timer benchmarks; each case prints one JSON object:
//   {"benchmark", "records", "seconds", "ops_per_second", "cores_used", "ops_per_second_per_core",
//    "peak_rss_bytes", "keys"} and, for the memory case, "bytes_per_key".
// Usage: state_bench [value|value_direct|noop|list|timers|value_chained|noop_chained|
//                     list_chained|timers_chained|memory|all] [--records N]
// Pipeline: NumberSequenceSource 0..N-1 (timestamp = n) → keyBy(n % keys) →
// KeyedProcessFunction → DiscardingSink, parallelism 1 (2 tasks on 2 cores).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_util.h"
#include "sluice/api/data_stream.h"

namespace {

using sluice::bench::currentRssBytes;
using sluice::bench::peakRssBytes;

using Clock = std::chrono::steady_clock;
using sluice::Collector;
using sluice::KeyedProcessFunction;
using sluice::Timestamp;

/// Resident memory when the state function opened and when it closed (state still alive).
std::atomic<int64_t> rssAtOpen{0};
std::atomic<int64_t> rssAtClose{0};

/// Read-modify-write of a ValueState<int64_t> per element.
struct ValueRmw : KeyedProcessFunction<int64_t, int64_t, int64_t> {
  sluice::ValueState<int64_t>* count = nullptr;
  void open(sluice::RuntimeContext&) override {
    count = &getState(sluice::ValueStateDescriptor<int64_t>("count"));
    rssAtOpen = currentRssBytes();
  }
  void close() override { rssAtClose = currentRssBytes(); }
  void processElement(const int64_t&, Context&, Collector<int64_t>&) override {
    count->update(count->value().value_or(0) + 1);
  }
};

/// ListState add per element.
struct ListAdd : KeyedProcessFunction<int64_t, int64_t, int64_t> {
  sluice::ListState<int64_t>* list = nullptr;
  void open(sluice::RuntimeContext&) override {
    list = &getListState(sluice::ListStateDescriptor<int64_t>("list"));
  }
  void processElement(const int64_t& v, Context&, Collector<int64_t>&) override { list->add(v); }
};

/// One event-time timer per element at its timestamp + 1; fired timers are counted.
struct TimerPerElement : KeyedProcessFunction<int64_t, int64_t, int64_t> {
  int64_t fired = 0;
  sluice::LongCounter* counter = nullptr;
  void open(sluice::RuntimeContext& ctx) override { counter = &ctx.getLongCounter("fired"); }
  void close() override { counter->add(fired); }
  void processElement(const int64_t&, Context& ctx, Collector<int64_t>&) override {
    ctx.timerService().registerEventTimeTimer(*ctx.timestamp() + 1);
  }
  void onTimer(Timestamp, OnTimerContext&, Collector<int64_t>&) override { ++fired; }
};

/// Does nothing: the baseline of the memory case.
struct Nothing : KeyedProcessFunction<int64_t, int64_t, int64_t> {
  void open(sluice::RuntimeContext&) override { rssAtOpen = currentRssBytes(); }
  void close() override { rssAtClose = currentRssBytes(); }
  void processElement(const int64_t&, Context&, Collector<int64_t>&) override {}
};

/// `chained`: the keyed function chained to the source through reinterpretAsKeyedStream (one
/// task, one thread: the cost of the state itself plus the source), else over a keyBy exchange
/// (two tasks on two cores).
template <typename F>
double runJob(const std::string& name, int64_t records, int64_t keys, F fn,
              int64_t* fired = nullptr, bool chained = false) {
  auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(sluice::Configuration());
  env->setParallelism(1);
  auto strategy =
      sluice::WatermarkStrategy<int64_t>::forMonotonousTimestamps().withTimestampAssigner(
          [](const int64_t& v) { return v; });
  auto numbers = env->fromSource<int64_t, sluice::NumberSequenceSplit>(
      std::make_shared<sluice::NumberSequenceSource>(0, records - 1), strategy, "Numbers");
  auto key = [keys](const int64_t& v) { return v % keys; };
  auto sink = std::make_shared<sluice::DiscardingSink<int64_t>>();
  if (chained) {
    sluice::DataStreamUtils::reinterpretAsKeyedStream(numbers, key).process(fn).sinkTo(sink);
  } else {
    numbers.keyBy(key).process(fn).sinkTo(sink);
  }
  auto start = Clock::now();
  auto result = env->execute(name);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (fired != nullptr) *fired = result.getAccumulatorResult<int64_t>("fired");
  return seconds;
}

void report(const std::string& name, int64_t records, int64_t keys, double seconds,
            const std::string& extra = "", int cores = 0) {
  if (cores == 0) {
    cores = std::max(1, std::min(2, static_cast<int>(std::thread::hardware_concurrency())));
  }
  double rate = static_cast<double>(records) / seconds;
  std::printf(
      "{\"benchmark\": \"%s\", \"records\": %lld, \"seconds\": %.3f, \"ops_per_second\": %.0f, "
      "\"cores_used\": %d, \"ops_per_second_per_core\": %.0f, \"peak_rss_bytes\": %lld, "
      "\"keys\": %lld%s}\n",
      name.c_str(), static_cast<long long>(records), seconds, rate, cores, rate / cores,
      static_cast<long long>(peakRssBytes()), static_cast<long long>(keys), extra.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = argc > 1 ? argv[1] : "all";
  int64_t records = 20'000'000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--records") records = std::atoll(argv[i + 1]);
  }
  constexpr int64_t kKeys = 100'000;
  if (which == "value" || which == "all") {
    report("value_state_rmw_100k_keys", records, kKeys,
           runJob("value_state_rmw", records, kKeys, ValueRmw{}));
  }
  if (which == "value_direct" || which == "all") {
    // The state alone, on one thread (no job): set the key, read, write.
    sluice::HeapKeyedStateBackend<int64_t> context;
    context.init(sluice::KeyGroupRange{0, 127}, 128);
    sluice::KeyedStateStore<int64_t, sluice::VoidNamespace> store(context);
    auto& count = store.getState(sluice::ValueStateDescriptor<int64_t>("count"));
    auto start = Clock::now();
    for (int64_t i = 0; i < records; ++i) {
      context.setCurrentKey(i % kKeys);
      count.update(count.value().value_or(0) + 1);
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report("value_state_rmw_direct_1_thread", records, kKeys, seconds, "", 1);
  }
  if (which == "noop" || which == "all") {
    // The same pipeline without state: the ceiling the state cases run under.
    report("noop_keyed_process_100k_keys", records, kKeys,
           runJob("noop", records, kKeys, Nothing{}));
  }
  if (which == "list" || which == "all") {
    report("list_state_add_100k_keys", records, kKeys,
           runJob("list_state_add", records, kKeys, ListAdd{}));
  }
  if (which == "timers" || which == "all") {
    int64_t fired = 0;
    double seconds = runJob("timers", records, kKeys, TimerPerElement{}, &fired);
    report("event_timer_register_fire_100k_keys", records, kKeys, seconds,
           ", \"timers_fired\": " + std::to_string(fired));
  }
  // The same cases chained into the source (one thread): what the state costs per core without
  // the keyBy exchange, which the cases above pay on the second core.
  if (which == "value_chained" || which == "all") {
    report("value_state_rmw_100k_keys_chained", records, kKeys,
           runJob("value_state_rmw_chained", records, kKeys, ValueRmw{}, nullptr, true), "", 1);
  }
  if (which == "noop_chained" || which == "all") {
    report("noop_keyed_process_100k_keys_chained", records, kKeys,
           runJob("noop_chained", records, kKeys, Nothing{}, nullptr, true), "", 1);
  }
  if (which == "list_chained" || which == "all") {
    report("list_state_add_100k_keys_chained", records, kKeys,
           runJob("list_state_add_chained", records, kKeys, ListAdd{}, nullptr, true), "", 1);
  }
  if (which == "timers_chained" || which == "all") {
    int64_t fired = 0;
    double seconds = runJob("timers_chained", records, kKeys, TimerPerElement{}, &fired, true);
    report("event_timer_register_fire_100k_keys_chained", records, kKeys, seconds,
           ", \"timers_fired\": " + std::to_string(fired), 1);
  }
  if (which == "memory" || which == "all") {
    // Each of 1 M keys gets one ValueState<int64_t>; the resident memory the state function
    // gained between open() and close() (state alive), less that of a stateless baseline over
    // the same records, per key.
    constexpr int64_t kMemKeys = 1'000'000;
    runJob("memory_baseline", kMemKeys, kMemKeys, Nothing{});
    int64_t baseline = rssAtClose - rssAtOpen;
    int64_t peakBefore = peakRssBytes();
    double seconds = runJob("memory_value_state", kMemKeys, kMemKeys, ValueRmw{});
    int64_t delta = rssAtClose - rssAtOpen - baseline;
    report("value_state_bytes_per_key_1m_keys", kMemKeys, kMemKeys, seconds,
           ", \"bytes_per_key\": " +
               std::to_string(static_cast<double>(delta) / static_cast<double>(kMemKeys)) +
               ", \"peak_rss_delta_per_key\": " +
               std::to_string(static_cast<double>(peakRssBytes() - peakBefore) /
                              static_cast<double>(kMemKeys)));
  }
  return 0;
}
