// Part of the retail job (retail_pipeline.h), in a translation unit of its own.

#include "retail_analytics/retail_pipeline.h"

namespace sluice::retail {

void addCancellations(const DataStream<RetailRow>& rows, const RetailJobOptions& options) {
  OutputTag<UnmatchedCancellation> unmatchedCancellations("unmatched-cancellations");
  auto cancellations = rows.process(ToInvoiceLine{})
                           .name("To Invoice Line")
                           .keyBy(CustomerStock{})
                           .process(MatchCancellations(unmatchedCancellations))
                           .name("Match Cancellations");
  cancellations.sinkTo(makeSink<CancellationMatch>(options, kCancellationsDir, &encodeCancellation),
                       "Cancellation Files");
  cancellations.getSideOutput(unmatchedCancellations)
      .sinkTo(makeSink<UnmatchedCancellation>(options, kUnmatchedCancellationsDir,
                                              &encodeUnmatchedCancellation),
              "Unmatched Cancellation Files");
}

}  // namespace sluice::retail
