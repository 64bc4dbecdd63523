// Asynchronous (copy-on-write) snapshots of ~1 GB of heap keyed state; each result prints one
// JSON object. Usage: snapshot_bench [--keys N] [--value-bytes B]
//
// Fills a HeapKeyedStateBackend (128 key groups) with N keys of ValueState<std::string> of B
// bytes (default 5.5 M × 100 B ≈ 1 GB resident), then measures on the "task" thread (main):
// - the synchronous part of snapshotAsync() (what the task thread is blocked for), ms;
// - materialize() on a second thread while the task thread runs read-modify-writes on random
//   keys: materialization ms and MB/s, the task thread's ops/s and worst single-operation
//   latency during it, against the same loop with no snapshot running;
// - for comparison, a synchronous snapshot() (what the task thread was blocked for before);
// - peak resident memory.

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "bench_util.h"
#include "sluice/state/keyed_state_store.h"

namespace {

using sluice::bench::currentRssBytes;
using sluice::bench::peakRssBytes;

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct LoopResult {
  int64_t ops = 0;
  double seconds = 0;
  double maxOpMicros = 0;
};

/// Read-modify-write of random keys (one character of the value changes) until `stop()` says
/// so; timed per operation to find the worst one (a chunk copy under a running snapshot).
template <typename Stop>
LoopResult rmwLoop(sluice::HeapKeyedStateBackend<int64_t>& backend,
                   sluice::ValueState<std::string>& state, int64_t keys, std::mt19937_64& rng,
                   Stop&& stop) {
  LoopResult r;
  auto start = Clock::now();
  auto last = start;
  while (!stop(r.ops)) {
    for (int i = 0; i < 256; ++i) {
      backend.setCurrentKey(static_cast<int64_t>(rng() % static_cast<uint64_t>(keys)));
      std::string v = state.value().value_or(std::string());
      if (!v.empty()) v[static_cast<size_t>(r.ops) % v.size()] ^= 1;
      state.update(v);
      ++r.ops;
      auto now = Clock::now();
      r.maxOpMicros =
          std::max(r.maxOpMicros, std::chrono::duration<double, std::micro>(now - last).count());
      last = now;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

size_t totalBytes(const sluice::KeyedStateSnapshot& s) {
  size_t n = 0;
  for (const auto& [kg, bytes] : s.keyGroups) n += bytes.size();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t keys = 5'500'000;
  int64_t valueBytes = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--keys") keys = std::atoll(argv[i + 1]);
    if (flag == "--value-bytes") valueBytes = std::atoll(argv[i + 1]);
  }
  int64_t rssBefore = currentRssBytes();
  sluice::HeapKeyedStateBackend<int64_t> backend;
  backend.init(sluice::KeyGroupRange{0, 127}, 128);
  sluice::KeyedStateStore<int64_t, sluice::VoidNamespace> store(backend);
  auto& state = store.getState(sluice::ValueStateDescriptor<std::string>("value"));
  auto fillStart = Clock::now();
  std::string value(static_cast<size_t>(valueBytes), 'x');
  for (int64_t k = 0; k < keys; ++k) {
    backend.setCurrentKey(k);
    value[static_cast<size_t>(k) % value.size()] = static_cast<char>('a' + k % 26);
    state.update(value);
  }
  double fillMs = msSince(fillStart);
  int64_t stateBytes = currentRssBytes() - rssBefore;
  std::printf(
      "{\"benchmark\": \"snapshot_fill\", \"keys\": %lld, \"value_bytes\": %lld, "
      "\"state_rss_bytes\": %lld, \"fill_ms\": %.0f, \"peak_rss_bytes\": %lld}\n",
      static_cast<long long>(keys), static_cast<long long>(valueBytes),
      static_cast<long long>(stateBytes), fillMs, static_cast<long long>(peakRssBytes()));
  std::fflush(stdout);

  std::mt19937_64 rng(42);
  // Baseline: the task loop with no snapshot running, for a fixed number of operations.
  constexpr int64_t kBaselineOps = 3'000'000;
  LoopResult without =
      rmwLoop(backend, state, keys, rng, [](int64_t ops) { return ops >= kBaselineOps; });

  // The copy-on-write cost alone: the task loop while a snapshot is held (not materialized), on
  // one thread, until every chunk was copied once and after.
  {
    sluice::AsyncKeyedSnapshot held = backend.snapshotAsync(99);
    LoopResult first =
        rmwLoop(backend, state, keys, rng, [](int64_t ops) { return ops >= 200'000; });
    LoopResult after =
        rmwLoop(backend, state, keys, rng, [](int64_t ops) { return ops >= 1'000'000; });
    auto releaseStart = Clock::now();
    { sluice::AsyncKeyedSnapshot gone = std::move(held); }
    double releaseMs = msSince(releaseStart);
    std::printf(
        "{\"benchmark\": \"task_rmw_with_snapshot_held\", \"ops_per_second_first_200k\": %.0f, "
        "\"ops_per_second_next_1m\": %.0f, \"max_op_us_first\": %.1f, \"release_ms\": %.0f, "
        "\"peak_rss_bytes\": %lld}\n",
        static_cast<double>(first.ops) / first.seconds,
        static_cast<double>(after.ops) / after.seconds, first.maxOpMicros, releaseMs,
        static_cast<long long>(peakRssBytes()));
    std::fflush(stdout);
  }

  // The synchronous part (best of a few: it is the task thread's blocking time).
  double syncMs = 1e9;
  for (int i = 0; i < 5; ++i) {
    auto start = Clock::now();
    sluice::AsyncKeyedSnapshot s = backend.snapshotAsync(i);
    syncMs = std::min(syncMs, msSince(start));
  }
  auto syncStart = Clock::now();
  sluice::AsyncKeyedSnapshot snapshot = backend.snapshotAsync(100);
  double syncOnceMs = msSince(syncStart);
  std::printf(
      "{\"benchmark\": \"async_snapshot_sync_part\", \"keys\": %lld, \"state_rss_bytes\": %lld, "
      "\"sync_ms\": %.3f, \"sync_ms_best_of_5\": %.3f, \"peak_rss_bytes\": %lld}\n",
      static_cast<long long>(keys), static_cast<long long>(stateBytes), syncOnceMs, syncMs,
      static_cast<long long>(peakRssBytes()));
  std::fflush(stdout);

  // Materialize on another thread while the task thread writes.
  std::atomic<bool> done{false};
  double materializeMs = 0;
  size_t snapshotBytes = 0;
  std::thread materializer([&] {
    auto start = Clock::now();
    sluice::KeyedStateSnapshot result = snapshot.materialize();
    materializeMs = msSince(start);
    snapshotBytes = totalBytes(result);
    sluice::AsyncKeyedSnapshot released = std::move(snapshot);  // frees the retained chunks
    done.store(true, std::memory_order_release);
  });
  LoopResult during = rmwLoop(backend, state, keys, rng,
                              [&](int64_t) { return done.load(std::memory_order_acquire); });
  materializer.join();
  std::printf(
      "{\"benchmark\": \"async_snapshot_materialize\", \"keys\": %lld, \"snapshot_bytes\": %zu, "
      "\"materialize_ms\": %.0f, \"mb_per_second\": %.0f, \"peak_rss_bytes\": %lld}\n",
      static_cast<long long>(keys), snapshotBytes, materializeMs,
      static_cast<double>(snapshotBytes) / 1e6 / (materializeMs / 1e3),
      static_cast<long long>(peakRssBytes()));
  std::printf(
      "{\"benchmark\": \"task_rmw_during_materialization\", \"ops_per_second_without\": %.0f, "
      "\"ops_per_second_during\": %.0f, \"ops_during\": %lld, \"max_op_us_without\": %.1f, "
      "\"max_op_us_during\": %.1f, \"peak_rss_bytes\": %lld}\n",
      static_cast<double>(without.ops) / without.seconds,
      static_cast<double>(during.ops) / during.seconds, static_cast<long long>(during.ops),
      without.maxOpMicros, during.maxOpMicros, static_cast<long long>(peakRssBytes()));
  std::fflush(stdout);

  // What the task thread was blocked for with synchronous snapshots.
  auto blockingStart = Clock::now();
  sluice::KeyedStateSnapshot blocking = backend.snapshot();
  double blockingMs = msSince(blockingStart);
  std::printf(
      "{\"benchmark\": \"sync_snapshot_blocking\", \"keys\": %lld, \"snapshot_bytes\": %zu, "
      "\"ms\": %.0f, \"peak_rss_bytes\": %lld}\n",
      static_cast<long long>(keys), totalBytes(blocking), blockingMs,
      static_cast<long long>(peakRssBytes()));
  return 0;
}
