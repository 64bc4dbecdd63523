// Retail analytics over the UCI Online Retail data (one CSV file per day): revenue per country
// in hourly event-time windows, customer sessions (30 minutes of inactivity close a session),
// cancellations matched with their purchases, malformed rows in a dead-letter output. See
// retail_pipeline.h for the dataflow and the representation of time and money.
//
//   retail_analytics --input ../shared/data/retail/by-day --output out/retail
//                    [--max-out-of-orderness MS] [-p N] [-Dkey=value]
//
// Writes, under --output, CSV part files without header:
//   hourly_revenue/     window_start,window_end,country,order_lines,revenue
//   customer_sessions/  customer_id,session_start,session_end,order_lines,revenue
//   cancellations/      cancel_invoice,original_invoice,customer_id,stock_code,quantity,
//                       delay_minutes (the latest purchase of the customer and stock code at
//                       most 30 days before the cancellation; see retail_pipeline.h)
//   unmatched_cancellations/  cancel_invoice,customer_id,stock_code,quantity
//   dead_letters/       file,line,reason,raw
//   late_events/        output,event_time,country,customer_id,revenue (events behind the
//                       watermark; empty unless --max-out-of-orderness is too small)
// and prints a summary. Exit codes: 0 success, 1 job or input error, 2 usage error.

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "retail_analytics/retail_pipeline.h"
#include "sluice/cli/command_line.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/core/config_options.h"

int main(int argc, char** argv) {
  sluice::retail::RetailJobOptions options;
  std::string input;
  sluice::CommandLine cli("retail_analytics",
                          "Hourly revenue per country and customer sessions over the UCI "
                          "Online Retail CSV files, on Sluice.");
  cli.addOption("--input", input, "directory (or file) of daily retail CSV files")->required();
  cli.addOption("--output", options.output,
                "output directory (must be new or empty unless restoring with -s)")
      ->required();
  cli.addOption("--max-out-of-orderness", options.maxOutOfOrdernessMillis,
                "watermark delay behind the highest InvoiceDate seen, ms (default 60000)")
      ->check(CLI::NonNegativeNumber);
  try {
    sluice::Configuration conf = cli.parse(argc, argv);
    // The job's sinks write into subdirectories: the output directory itself must be new or
    // empty too (unless the run continues an earlier one from its checkpoint).
    if (conf.get(sluice::kSavepointPath).empty()) {
      sluice::prepareOutputDirectory(options.output, sluice::WriteMode::kNoOverwrite);
    }
    options.inputs = {input};
    auto env = sluice::StreamExecutionEnvironment::getExecutionEnvironment(conf);
    sluice::retail::buildRetailJob(*env, options);

    auto start = std::chrono::steady_clock::now();
    sluice::JobExecutionResult result = env->execute("Retail Analytics");
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    sluice::retail::RetailSummary s = sluice::retail::summarize(result);
    std::printf("Retail analytics: %s -> %s\n", input.c_str(), options.output.c_str());
    std::printf("  rows read:             %lld\n", static_cast<long long>(s.rowsRead()));
    std::printf("  dead letters:          %lld\n", static_cast<long long>(s.deadLetters));
    std::printf("  rows without customer: %lld (not in customer_sessions)\n",
                static_cast<long long>(s.rowsWithoutCustomer));
    std::printf("  windows emitted:       %lld (%lld hourly_revenue, %lld customer_sessions)\n",
                static_cast<long long>(s.hourlyWindows + s.sessionWindows),
                static_cast<long long>(s.hourlyWindows), static_cast<long long>(s.sessionWindows));
    std::printf("  late events:           %lld\n", static_cast<long long>(s.lateEvents));
    std::printf("  cancellations matched: %lld\n", static_cast<long long>(s.cancellationsMatched));
    std::printf("  cancellations unmatched: %lld\n",
                static_cast<long long>(s.cancellationsUnmatched));
    std::printf("  wall time:             %.3f s (%.0f rows/s, parallelism %d)\n", seconds,
                seconds > 0 ? static_cast<double>(s.rowsRead()) / seconds : 0.0,
                env->getParallelism());
    return 0;
  } catch (const sluice::CommandLineError& e) {
    (e.isHelp() ? std::cout : std::cerr) << e.what() << std::endl;
    return e.exitCode();
  } catch (const std::exception& e) {
    std::cerr << "retail_analytics: " << e.what() << std::endl;
    return 1;
  }
}
