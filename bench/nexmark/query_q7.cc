// Nexmark q7 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

// ---- q7: highest bid ------------------------------------------------------------------------

/// A bid for the window ending at `windowEnd`: inside it, or exactly on its end (`boundary`:
/// compared with the window's maximum but not part of it).
struct Q7Candidate {
  int64_t windowEnd = 0;
  bool boundary = false;
  BidRow row;
};

struct Q7Candidates {
  void operator()(const BidRow& row, Collector<Q7Candidate>& out) const {
    candidate.row = row;
    candidate.windowEnd = tumbleStart(row.dateTime, kTumbleMs) + kTumbleMs;
    candidate.boundary = false;
    out.collect(candidate);
    if (candidate.windowEnd - kTumbleMs == row.dateTime) {
      candidate.windowEnd = row.dateTime;
      candidate.boundary = true;
      out.collect(candidate);
    }
  }
  mutable Q7Candidate candidate;
};

/// Per window (keyed by its end): the maximum price, the window's bids at that price and the
/// boundary bids; at the window's end (all bids up to and including it have arrived) emits the
/// bids of both kinds at the maximum price.
class Q7HighestBid final : public KeyedProcessFunction<int64_t, Q7Candidate, BidRow> {
 public:
  void open(RuntimeContext&) override {
    max_ = &getState(kMax);
    winners_ = &getListState(kWinners);
    boundary_ = &getListState(kBoundary);
  }
  void processElement(const Q7Candidate& c, Context& ctx, Collector<BidRow>&) override {
    if (c.boundary) {
      boundary_->add(c.row);
      ctx.timerService().registerEventTimeTimer(c.windowEnd);
      return;
    }
    std::optional<int64_t> max = max_->value();
    if (!max) ctx.timerService().registerEventTimeTimer(c.windowEnd);
    if (!max || c.row.price > *max) {
      max_->update(c.row.price);
      scratch_.assign(1, c.row);
      winners_->update(scratch_);
    } else if (c.row.price == *max) {
      winners_->add(c.row);
    }
  }
  void onTimer(Timestamp, OnTimerContext&, Collector<BidRow>& out) override {
    if (std::optional<int64_t> max = max_->value()) {
      for (const BidRow& row : winners_->get()) out.collect(row);
      for (const BidRow& row : boundary_->get()) {
        if (row.price == *max) out.collect(row);
      }
    }
    max_->clear();
    winners_->clear();
    boundary_->clear();
  }

 private:
  inline static const ValueStateDescriptor<int64_t> kMax{"max-price"};
  inline static const ListStateDescriptor<BidRow> kWinners{"winners"};
  inline static const ListStateDescriptor<BidRow> kBoundary{"boundary-bids"};
  ValueState<int64_t>* max_ = nullptr;
  ListState<BidRow>* winners_ = nullptr;
  ListState<BidRow>* boundary_ = nullptr;
  std::vector<BidRow> scratch_;
};

}  // namespace

void q7(const DataStream<Event>& events, const QueryOptions& options) {
  auto highest = events.flatMap(BidRows<1>{})
                     .name("Bids")
                     .flatMap(Q7Candidates{})
                     .name("Window Candidates")
                     .keyBy([](const Q7Candidate& c) { return c.windowEnd; })
                     .process(Q7HighestBid{})
                     .name("Highest Bid");
  addSink<BidRow>(highest, options, &encodeQ7);
}

}  // namespace sluice::nexmark::detail
