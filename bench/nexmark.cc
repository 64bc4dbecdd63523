// The Nexmark benchmark harness: runs one query over N generated events on the embedded
// cluster at maximum speed (the source is not throttled) and prints one JSON line:
//
//   {"query", "events", "parallelism", "seconds", "events_per_second", "cpu_seconds",
//    "events_per_core_second", "peak_rss_bytes"}
//
// seconds is the wall time of the job (env.execute); cpu_seconds the user + system CPU time
// the process spent meanwhile (getrusage, measured: all threads of the embedded cluster);
// events_per_core_second = events / cpu_seconds, the figure to compare per core with other
// systems. peak_rss_bytes is the process's peak resident set size.
//
//   nexmark --query q5 --events 10000000 -p 2 [--tps RATE] [--output DIR]
//           [--dump-events FILE] [-Dkey=value]
//
// --tps sets the generator's first-event rate (events per second of event time, default
// 10,000): it shapes timestamps, not speed. --output writes the query's CSV lines (part files)
// to DIR instead of discarding them. --dump-events writes every generated event as one CSV line
// (sluice::nexmark::toCsv) to FILE before the job runs, for checking results with other tools.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "bench_util.h"
#include "nexmark/queries.h"
#include "sluice/cli/command_line.h"
#include "sluice/connectors/nexmark_generator.h"

namespace {

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void dumpEvents(const std::string& path, int64_t events,
                const sluice::nexmark::GeneratorConfig& config) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw sluice::SluiceException("cannot open " + path + " for writing");
  std::string line;
  for (int64_t n = 0; n < events; ++n) {
    line = sluice::nexmark::toCsv(sluice::nexmark::generate(n, config));
    line += '\n';
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  out.close();
  if (!out) throw sluice::SluiceException("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string query;
  int64_t events = 0;
  std::string output;
  std::string dumpPath;
  double tps = sluice::nexmark::GeneratorConfig().firstEventRate;
  sluice::CommandLine cli("nexmark", "Runs one Nexmark query and prints one JSON line.");
  std::string names;
  for (const std::string& name : sluice::nexmark::queryNames()) names += " " + name;
  cli.addOption("--query", query, "the query:" + names)->required();
  cli.addOption("--events", events, "number of events to generate (> 0)")->required();
  cli.app()
      .add_option("--tps", tps, "first-event rate, events per second of event time (> 0)")
      ->check(CLI::PositiveNumber);
  cli.addOption("--output", output, "write the results as CSV part files to this directory");
  cli.addOption("--dump-events", dumpPath, "write every generated event as CSV to this file");
  try {
    sluice::Configuration conf = cli.parse(argc, argv);
    if (events <= 0) throw sluice::CommandLineError(2, "--events must be > 0");
    sluice::nexmark::QueryOptions options;
    options.events = events;
    options.config.firstEventRate = tps;
    options.outputDirectory = output;
    if (!dumpPath.empty()) dumpEvents(dumpPath, events, options.config);

    auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(conf);
    sluice::nexmark::addQuery(*env, query, options);
    const double cpuBefore = cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    env->execute("Nexmark " + query);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpuSeconds() - cpuBefore;

    nlohmann::json result;
    result["query"] = query;
    result["events"] = events;
    result["parallelism"] = env->getParallelism();
    result["seconds"] = seconds;
    result["events_per_second"] = static_cast<double>(events) / seconds;
    result["cpu_seconds"] = cpu;
    result["events_per_core_second"] = static_cast<double>(events) / cpu;
    result["peak_rss_bytes"] = sluice::bench::peakRssBytes();
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const sluice::CommandLineError& e) {
    (e.isHelp() ? std::cout : std::cerr) << e.what() << std::endl;
    return e.exitCode();
  } catch (const std::exception& e) {
    std::cerr << "nexmark: " << e.what() << std::endl;
    return 1;
  }
}
