// Nexmark q4 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

// ---- q4: average closing price per category ----------------------------------------------------

struct Q4Auction {
  int64_t id = 0;
  int64_t dateTime = 0;
  int64_t expires = 0;
  int64_t category = 0;
};

struct Q4Bid {
  int64_t auction = 0;
  int64_t price = 0;
  int64_t dateTime = 0;
};

/// A change of one auction's closing price (MAX(price) of its bids within its lifetime):
/// `previous` -1 when the auction had no such bid before.
struct Q4MaxUpdate {
  int64_t category = 0;
  int64_t previous = -1;
  int64_t current = 0;
};

struct Q4Average {
  int64_t category = 0;
  int64_t average = 0;
};

void encodeQ4(const Q4Average& r, std::string& out) { appendCsv(out, r.category, r.average); }

struct Q4Auctions {
  void operator()(const Event& e, Collector<Q4Auction>& out) const {
    if (const Auction* a = std::get_if<Auction>(&e)) {
      out.collect({a->id, a->dateTime, a->expires, a->category});
    }
  }
};

struct Q4Bids {
  void operator()(const Event& e, Collector<Q4Bid>& out) const {
    if (const Bid* b = std::get_if<Bid>(&e)) out.collect({b->auction, b->price, b->dateTime});
  }
};

/// The join auction.id = bid.auction with bid.dateTime BETWEEN auction.dateTime AND expires,
/// grouped by auction: emits every rise of an auction's maximum price.
///
/// State per auction id: the auction with its current maximum, cleared by an event-time timer
/// at `expires` (every bid up to `expires` has arrived then); bids that arrive before their
/// auction wait in a list until the watermark passes their dateTime (an auction arriving later
/// has a later dateTime, so they can no longer match; a bid arriving after that point is
/// dropped at once for the same reason).
class Q4MaxPrice final : public KeyedCoProcessFunction<int64_t, Q4Auction, Q4Bid, Q4MaxUpdate> {
 public:
  struct Open {
    int64_t dateTime = 0;
    int64_t expires = 0;
    int64_t category = 0;
    int64_t maxPrice = -1;
  };
  struct Waiting {
    int64_t dateTime = 0;
    int64_t price = 0;
  };

  void open(RuntimeContext&) override {
    auction_ = &getState(kAuction);
    pending_ = &getListState(kPending);
  }
  void processElement1(const Q4Auction& a, Context& ctx, Collector<Q4MaxUpdate>& out) override {
    Open open{a.dateTime, a.expires, a.category, -1};
    for (const Waiting& w : pending_->get()) {
      if (w.dateTime >= a.dateTime && w.dateTime <= a.expires) {
        open.maxPrice = std::max(open.maxPrice, w.price);
      }
    }
    pending_->clear();
    if (open.maxPrice >= 0) out.collect({a.category, -1, open.maxPrice});
    auction_->update(open);
    ctx.timerService().registerEventTimeTimer(a.expires);
  }
  void processElement2(const Q4Bid& b, Context& ctx, Collector<Q4MaxUpdate>& out) override {
    std::optional<Open> open = auction_->value();
    if (open) {
      if (b.dateTime >= open->dateTime && b.dateTime <= open->expires && b.price > open->maxPrice) {
        out.collect({open->category, open->maxPrice, b.price});
        open->maxPrice = b.price;
        auction_->update(*open);
      }
      return;
    }
    if (b.dateTime <= ctx.timerService().currentWatermark()) return;  // can no longer match
    pending_->add({b.dateTime, b.price});
    ctx.timerService().registerEventTimeTimer(b.dateTime);
  }
  void onTimer(Timestamp t, OnTimerContext&, Collector<Q4MaxUpdate>&) override {
    if (std::optional<Open> open = auction_->value()) {
      if (t >= open->expires) auction_->clear();
      return;
    }
    std::vector<Waiting> keep;
    for (const Waiting& w : pending_->get()) {
      if (w.dateTime > t) keep.push_back(w);
    }
    if (keep.empty()) {
      pending_->clear();
    } else {
      pending_->update(keep);
    }
  }

 private:
  inline static const ValueStateDescriptor<Open> kAuction{"auction"};
  inline static const ListStateDescriptor<Waiting> kPending{"pending-bids"};
  ValueState<Open>* auction_ = nullptr;
  ListState<Waiting>* pending_ = nullptr;
};

/// AVG(final) GROUP BY category over the closing-price updates: one line per change.
class Q4CategoryAverage final : public KeyedProcessFunction<int64_t, Q4MaxUpdate, Q4Average> {
 public:
  struct SumCount {
    int64_t sum = 0;
    int64_t count = 0;
  };
  void open(RuntimeContext&) override { totals_ = &getState(kTotals); }
  void processElement(const Q4MaxUpdate& u, Context&, Collector<Q4Average>& out) override {
    SumCount t = totals_->value().value_or(SumCount{});
    if (u.previous < 0) {
      ++t.count;
      t.sum += u.current;
    } else {
      t.sum += u.current - u.previous;
    }
    totals_->update(t);
    out.collect({u.category, t.sum / t.count});
  }

 private:
  inline static const ValueStateDescriptor<SumCount> kTotals{"sum-count"};
  ValueState<SumCount>* totals_ = nullptr;
};

}  // namespace

void q4(const DataStream<Event>& events, const QueryOptions& options) {
  auto auctions = events.flatMap(Q4Auctions{}).name("Auctions");
  auto bids = events.flatMap(Q4Bids{}).name("Bids");
  auto averages = auctions.keyBy([](const Q4Auction& a) { return a.id; })
                      .connect(bids.keyBy([](const Q4Bid& b) { return b.auction; }))
                      .process(Q4MaxPrice{})
                      .name("Closing Price")
                      .keyBy([](const Q4MaxUpdate& u) { return u.category; })
                      .process(Q4CategoryAverage{})
                      .name("Average per Category");
  addSink<Q4Average>(averages, options, &encodeQ4);
}

}  // namespace sluice::nexmark::detail
