// Nexmark q5 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

struct AuctionCount {
  int64_t auction = 0;
  int64_t count = 0;
  int64_t windowEnd = 0;
};

struct Q5Row {
  int64_t auction = 0;
  int64_t num = 0;
};

void encodeQ5(const Q5Row& r, std::string& out) { appendCsv(out, r.auction, r.num); }

class Q5CountWindow final
    : public ProcessWindowFunction<int64_t, AuctionCount, int64_t, TimeWindow> {
 public:
  void process(const int64_t& auction, Context& ctx, const std::vector<int64_t>& counts,
               Collector<AuctionCount>& out) override {
    out.collect({auction, counts.front(), ctx.window().end});
  }
};

/// Per window (keyed by its end): the auctions whose count equals the window's maximum, emitted
/// when the watermark passes the window (all its counts have arrived: they carry the window's
/// max timestamp end - 1).
class Q5HotItems final : public KeyedProcessFunction<int64_t, AuctionCount, Q5Row> {
 public:
  void open(RuntimeContext&) override {
    max_ = &getState(kMax);
    auctions_ = &getListState(kAuctions);
  }
  void processElement(const AuctionCount& c, Context& ctx, Collector<Q5Row>&) override {
    std::optional<int64_t> max = max_->value();
    if (!max) ctx.timerService().registerEventTimeTimer(c.windowEnd - 1);
    if (!max || c.count > *max) {
      max_->update(c.count);
      scratch_.assign(1, c.auction);
      auctions_->update(scratch_);
    } else if (c.count == *max) {
      auctions_->add(c.auction);
    }
  }
  void onTimer(Timestamp, OnTimerContext&, Collector<Q5Row>& out) override {
    const int64_t max = max_->value().value_or(0);
    for (int64_t auction : auctions_->get()) out.collect({auction, max});
    max_->clear();
    auctions_->clear();
  }

 private:
  inline static const ValueStateDescriptor<int64_t> kMax{"max-count"};
  inline static const ListStateDescriptor<int64_t> kAuctions{"hot-auctions"};
  ValueState<int64_t>* max_ = nullptr;
  ListState<int64_t>* auctions_ = nullptr;
  std::vector<int64_t> scratch_;
};

}  // namespace

void q5(const DataStream<Event>& events, const QueryOptions& options) {
  auto hot = events.flatMap(BidAuctions{})
                 .name("Bid Auctions")
                 .keyBy(Identity{})
                 .window(SlidingEventTimeWindows::of<int64_t>(milliseconds(kHopSizeMs),
                                                              milliseconds(kHopSlideMs)))
                 .aggregate(CountAggregate{}, Q5CountWindow{})
                 .name("Bids per Auction")
                 .keyBy([](const AuctionCount& c) { return c.windowEnd; })
                 .process(Q5HotItems{})
                 .name("Hot Items");
  addSink<Q5Row>(hot, options, &encodeQ5);
}

}  // namespace sluice::nexmark::detail
