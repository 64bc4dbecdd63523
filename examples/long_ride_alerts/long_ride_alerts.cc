// Long Ride Alerts (Flink's training exercise) over the NYC taxi ride events: the rideId of
// every ride whose END does not arrive within the threshold of its START in event time, or
// whose duration exceeds the threshold (exactly the threshold does not alert). See
// long_ride_pipeline.h for the dataflow and the precise semantics.
//
//   long_ride_alerts --input ../shared/data/nyctaxi/nycTaxiRides.gz --output out/long_rides
//                    [--threshold-minutes N] [--max-out-of-orderness MS] [-p N] [-Dkey=value]
//
// Writes one rideId per line into part files under --output and prints a summary. Exit codes:
// 0 success, 1 job or input error, 2 usage error.

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "long_ride_alerts/long_ride_pipeline.h"
#include "sluice/cli/command_line.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/core/config_options.h"

namespace {

int64_t counter(const sluice::JobExecutionResult& result, const char* name) {
  if (result.getAllAccumulatorResults().count(name) == 0) return 0;
  return result.getAccumulatorResult<int64_t>(name);
}

}  // namespace

int main(int argc, char** argv) {
  sluice::rides::LongRideOptions options;
  sluice::CommandLine cli("long_ride_alerts",
                          "Alerts for taxi rides longer than a threshold (or never ending), "
                          "on Sluice.");
  cli.addOption("--input", options.input, "taxi ride events, CSV (.gz)")->required();
  cli.addOption("--output", options.output,
                "output directory (must be new or empty unless restoring with -s)")
      ->required();
  cli.addOption("--threshold-minutes", options.thresholdMinutes,
                "alert for rides longer than this, minutes (default 120)")
      ->check(CLI::NonNegativeNumber);
  cli.addOption("--max-out-of-orderness", options.maxOutOfOrdernessMillis,
                "watermark delay behind the highest eventTime seen, ms (default 60000)")
      ->check(CLI::NonNegativeNumber);
  try {
    sluice::Configuration conf = cli.parse(argc, argv);
    // The job's sinks write into subdirectories: the output directory itself must be new or
    // empty too (unless the run continues an earlier one from its checkpoint).
    if (conf.get(sluice::kSavepointPath).empty()) {
      sluice::prepareOutputDirectory(options.output, sluice::WriteMode::kNoOverwrite);
    }
    auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(conf);
    sluice::rides::buildLongRideJob(*env, options);

    auto start = std::chrono::steady_clock::now();
    sluice::JobExecutionResult result = env->execute("Long Ride Alerts");
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    int64_t events = counter(result, sluice::rides::kEventsCounter);
    std::printf("Long ride alerts: %s -> %s (threshold %lld min)\n", options.input.c_str(),
                options.output.c_str(), static_cast<long long>(options.thresholdMinutes));
    std::printf("  events:    %lld\n", static_cast<long long>(events));
    std::printf("  rides:     %lld\n",
                static_cast<long long>(counter(result, sluice::rides::kRidesCounter)));
    std::printf("  alerts:    %lld\n",
                static_cast<long long>(counter(result, sluice::rides::kAlertsCounter)));
    std::printf("  wall time: %.3f s (%.0f events/s, parallelism %d)\n", seconds,
                seconds > 0 ? static_cast<double>(events) / seconds : 0.0, env->getParallelism());
    return 0;
  } catch (const sluice::CommandLineError& e) {
    (e.isHelp() ? std::cout : std::cerr) << e.what() << std::endl;
    return e.exitCode();
  } catch (const std::exception& e) {
    std::cerr << "long_ride_alerts: " << e.what() << std::endl;
    return 1;
  }
}
