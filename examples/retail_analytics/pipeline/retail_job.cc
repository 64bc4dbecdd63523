// Part of the retail job (retail_pipeline.h), in a translation unit of its own.

#include "retail_analytics/retail_pipeline.h"

namespace sluice::retail {

void buildRetailJob(StreamExecutionEnvironment& env, const RetailJobOptions& options) {
  OutputTag<BadRecord> badRows("bad-rows");
  auto source =
      CsvSource<RetailRow>::forPaths(options.inputs).withHeader().withBadRecords(badRows).build();
  int64_t bound = options.maxOutOfOrdernessMillis;
  if (bound < 0) throw ConfigurationException("max out-of-orderness must not be negative");
  auto strategy = WatermarkStrategy<RetailRow>::forGenerator([bound] {
                    return std::make_unique<EagerBoundedOutOfOrderness<RetailRow>>(bound);
                  }).withTimestampAssigner([](const RetailRow& row, Timestamp) {
    return row.invoiceDate.millis;
  });
  auto rows = env.fromSource<RetailRow, FileSourceSplit>(source, strategy, "Retail CSV");

  rows.getSideOutput(badRows)
      .filter(CountingFilter<BadRecord>(kDeadLetters))
      .name("Count Dead Letters")
      .sinkTo(makeSink<BadRecord>(options, kDeadLettersDir, &encodeDeadLetter), "Dead Letters");

  auto sales = rows.map(ToSale{}).name("To Sale");
  auto lateHourly = addHourlyRevenue(sales, options);
  auto lateSessions = addCustomerSessions(sales, options);
  addCancellations(rows, options);

  // Events behind the watermark would be dropped by the windows: keep them instead.
  lateHourly.union_(lateSessions)
      .filter(CountingFilter<std::string>(kLateEvents))
      .name("Count Late Events")
      .sinkTo(makeSink<std::string>(options, kLateEventsDir, &encodeLine), "Late Events");
}

}  // namespace sluice::retail
