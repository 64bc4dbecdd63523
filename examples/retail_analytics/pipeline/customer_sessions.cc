// Part of the retail job (retail_pipeline.h), in a translation unit of its own.

#include "retail_analytics/retail_pipeline.h"

namespace sluice::retail {

DataStream<std::string> addCustomerSessions(const DataStream<Sale>& sales,
                                            const RetailJobOptions& options) {
  OutputTag<Sale> late("late-sessions");
  auto sessions = sales.filter(HasCustomer{})
                      .name("Has Customer")
                      .keyBy(CustomerKey{})
                      .window(EventTimeSessionWindows::withGap<Sale>(kSessionGap))
                      .sideOutputLateData(late)
                      .aggregate(RevenueAggregate{}, CustomerSessionWindow{})
                      .name("Customer Sessions");
  sessions.sinkTo(makeSink<CustomerSession>(options, kCustomerSessionsDir, &encodeCustomerSession),
                  "Customer Session Files");
  return sessions.getSideOutput(late).map(LateEventLine{kCustomerSessionsDir});
}

}  // namespace sluice::retail
