// Part of the retail job (retail_pipeline.h), in a translation unit of its own.

#include "retail_analytics/retail_pipeline.h"

namespace sluice::retail {

DataStream<std::string> addHourlyRevenue(const DataStream<Sale>& sales,
                                         const RetailJobOptions& options) {
  OutputTag<Sale> late("late-hourly");
  auto hourly = sales.keyBy(CountryKey{})
                    .window(TumblingEventTimeWindows::of<Sale>(kHourlyWindowSize))
                    .sideOutputLateData(late)
                    .aggregate(RevenueAggregate{}, HourlyRevenueWindow{})
                    .name("Hourly Revenue");
  hourly.sinkTo(makeSink<HourlyRevenue>(options, kHourlyRevenueDir, &encodeHourlyRevenue),
                "Hourly Revenue Files");
  return hourly.getSideOutput(late).map(LateEventLine{kHourlyRevenueDir});
}

}  // namespace sluice::retail
