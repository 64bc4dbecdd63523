// Nexmark q11 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

// ---- q11: user sessions ---------------------------------------------------------------------

struct Q11Row {
  int64_t bidder = 0;
  int64_t bidCount = 0;
  int64_t starttime = 0;
  int64_t endtime = 0;
};

void encodeQ11(const Q11Row& r, std::string& out) {
  appendCsv(out, r.bidder, r.bidCount, r.starttime, r.endtime);
}

class Q11SessionWindow final : public ProcessWindowFunction<int64_t, Q11Row, int64_t, TimeWindow> {
 public:
  void process(const int64_t& bidder, Context& ctx, const std::vector<int64_t>& counts,
               Collector<Q11Row>& out) override {
    out.collect({bidder, counts.front(), ctx.window().start, ctx.window().end});
  }
};

}  // namespace

void q11(const DataStream<Event>& events, const QueryOptions& options) {
  auto sessions =
      events.flatMap(BidBidders{})
          .name("Bidders")
          .keyBy(Identity{})
          .window(EventTimeSessionWindows::withGap<int64_t>(milliseconds(kSessionGapMs)))
          .aggregate(CountAggregate{}, Q11SessionWindow{})
          .name("Bids per Session");
  addSink<Q11Row>(sessions, options, &encodeQ11);
}

}  // namespace sluice::nexmark::detail
