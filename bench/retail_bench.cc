// The retail analytics job (examples/retail_analytics) over the whole UCI Online Retail data
// set: CSV parsing, event time, hourly tumbling windows per country and session windows per
// customer. Prints one JSON object per run:
//   {"benchmark": "retail_analytics_p<N>_<sink>", "rows": N, "seconds": s,
//    "rows_per_second": r, "peak_rss_bytes": b}
// Usage: retail_bench [--input DIR] [-p N] [--output DIR]
// Without --output the results go to discarding sinks; with it, to the FileSinks as the example
// writes them (DIR must be new or empty). Run one case per process so that peak RSS is its own.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "bench_util.h"
#include "retail_analytics/retail_pipeline.h"

using sluice::bench::peakRssBytes;

int main(int argc, char** argv) {
  const char* dataDir = std::getenv("SLUICE_DATA_DIR");
  std::string input = std::string(dataDir ? dataDir : "../shared/data") + "/retail/by-day";
  int parallelism = 1;
  sluice::retail::RetailJobOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--input") {
      input = argv[i + 1];
    } else if (flag == "-p") {
      parallelism = std::atoi(argv[i + 1]);
    } else if (flag == "--output") {
      options.output = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: retail_bench [--input DIR] [-p N] [--output DIR]\n");
      return 2;
    }
  }
  try {
    options.inputs = {input};
    auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(sluice::Configuration());
    env->setParallelism(parallelism);
    sluice::retail::buildRetailJob(*env, options);
    auto start = std::chrono::steady_clock::now();
    sluice::JobExecutionResult result = env->execute("Retail Analytics Benchmark");
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int64_t rows = sluice::retail::summarize(result).rowsRead();
    std::printf(
        "{\"benchmark\": \"retail_analytics_p%d_%s\", \"rows\": %lld, \"seconds\": %.3f, "
        "\"rows_per_second\": %.0f, \"peak_rss_bytes\": %lld}\n",
        parallelism, options.output.empty() ? "discarding" : "files", static_cast<long long>(rows),
        seconds, static_cast<double>(rows) / seconds, static_cast<long long>(peakRssBytes()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "retail_bench: %s\n", e.what());
    return 1;
  }
}
