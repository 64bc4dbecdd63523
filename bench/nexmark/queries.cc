#include "nexmark/queries.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "sluice/api/broadcast_stream.h"
#include "sluice/api/data_stream.h"
#include "sluice/api/joined_streams.h"
#include "sluice/api/sinks.h"
#include "sluice/api/windowed_stream.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/connectors/nexmark_source.h"
#include "sluice/core/exceptions.h"
#include "sluice/runtime/co_process_function.h"
#include "sluice/runtime/process_function.h"
#include "sluice/window/window_assigners.h"
#include "sluice/window/window_functions.h"

namespace sluice::nexmark {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kTumbleMs = 10'000;      // q7, q8
constexpr int64_t kHopSizeMs = 10'000;     // q5
constexpr int64_t kHopSlideMs = 2'000;     // q5
constexpr int64_t kSessionGapMs = 10'000;  // q11
constexpr int64_t kQ2Modulus = 123;
constexpr int64_t kQ3Category = 10;
constexpr int64_t kQ1RateMilli = 908;  // 0.908 as thousandths

// ---- CSV encoding -----------------------------------------------------------------------------

void appendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out.append(buf, end);
}

/// A DECIMAL with 3 decimals given in thousandths, as Flink prints DECIMAL(p, 3).
void appendThousandths(int64_t v, std::string& out) {
  if (v < 0) {
    out += '-';
    v = -v;
  }
  appendInt(v / 1000, out);
  out += '.';
  const int64_t frac = v % 1000;
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

/// A DECIMAL(p, 3) column given in thousandths.
struct Thousandths {
  int64_t value;
};

void appendField(int64_t v, std::string& out) { appendInt(v, out); }
void appendField(Thousandths v, std::string& out) { appendThousandths(v.value, out); }
void appendField(const std::string& v, std::string& out) { out += v; }

/// The fields as one CSV line without line end (generated strings need no quoting).
template <typename... Fields>
void appendCsv(std::string& out, const Fields&... fields) {
  bool first = true;
  ((out.append(first ? "" : ","), appendField(fields, out), first = false), ...);
}

template <typename T>
using Encode = void (*)(const T&, std::string&);

/// The query's sink: part files directly in the output directory, or a blackhole.
template <typename T>
void addSink(const DataStream<T>& stream, const QueryOptions& options, Encode<T> encode) {
  if (options.outputDirectory.empty()) {
    stream.sinkTo(std::make_shared<DiscardingSink<T>>(), "Blackhole");
    return;
  }
  stream.sinkTo(FileSink<T>::forRowFormat(options.outputDirectory)
                    .withBucketAssigner(BasePathBucketAssigner<T>())
                    .withEncoder([encode](const T& value, std::string& out) {
                      encode(value, out);
                      out += '\n';
                    })
                    .build(),
                "File Sink");
}

int64_t tumbleStart(int64_t t, int64_t size) {
  const int64_t r = t % size;
  return r < 0 ? t - r - size : t - r;
}

// ---- projections out of the event stream ------------------------------------------------------

/// auction, bidder, price, dateTime, extra (q0, q1 with price in thousandths of euros, q7).
struct BidRow {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  int64_t dateTime = 0;
  std::string extra;
};

void encodeQ0(const BidRow& r, std::string& out) {
  appendCsv(out, r.auction, r.bidder, r.price, r.dateTime, r.extra);
}

void encodeQ1(const BidRow& r, std::string& out) {
  appendCsv(out, r.auction, r.bidder, Thousandths{r.price}, r.dateTime, r.extra);
}

/// q7's SELECT order: auction, price, bidder, dateTime, extra.
void encodeQ7(const BidRow& r, std::string& out) {
  appendCsv(out, r.auction, r.price, r.bidder, r.dateTime, r.extra);
}

/// The bids as BidRow, price multiplied by kPriceFactor (1: dollars; kQ1RateMilli: thousandths
/// of euros).
template <int64_t kPriceFactor>
struct BidRows {
  void operator()(const Event& e, Collector<BidRow>& out) const {
    if (const Bid* b = std::get_if<Bid>(&e)) {
      row.auction = b->auction;
      row.bidder = b->bidder;
      row.price = b->price * kPriceFactor;
      row.dateTime = b->dateTime;
      row.extra.assign(b->extra);
      out.collect(row);
    }
  }
  mutable BidRow row;  // reused: keeps the capacity of `extra`
};

struct AuctionPrice {
  int64_t auction = 0;
  int64_t price = 0;
};

void encodeQ2(const AuctionPrice& r, std::string& out) { appendCsv(out, r.auction, r.price); }

// ---- q3: local item suggestion -----------------------------------------------------------------

/// A person of the join; name/city/state only when its state qualifies.
struct Q3Person {
  int64_t id = 0;
  bool qualifies = false;
  std::string name;
  std::string city;
  std::string state;
};

struct Q3Auction {
  int64_t id = 0;
  int64_t seller = 0;
};

struct Q3Row {
  std::string name;
  std::string city;
  std::string state;
  int64_t id = 0;
};

void encodeQ3(const Q3Row& r, std::string& out) { appendCsv(out, r.name, r.city, r.state, r.id); }

struct Q3Persons {
  void operator()(const Event& e, Collector<Q3Person>& out) const {
    if (const Person* p = std::get_if<Person>(&e)) {
      Q3Person row;
      row.id = p->id;
      row.qualifies = p->state == "OR" || p->state == "ID" || p->state == "CA";
      if (row.qualifies) {
        row.name = p->name;
        row.city = p->city;
        row.state = p->state;
      }
      out.collect(row);
    }
  }
};

struct Q3Auctions {
  void operator()(const Event& e, Collector<Q3Auction>& out) const {
    if (const Auction* a = std::get_if<Auction>(&e); a != nullptr && a->category == kQ3Category) {
      out.collect({a->id, a->seller});
    }
  }
};

/// The inner join on person id = seller. Person ids are unique, so a person's row is final when
/// it arrives: auctions seen before it wait in a list; a person whose state does not qualify is
/// kept as a tombstone (id only) so that its later auctions are dropped at once.
class Q3Join final : public KeyedCoProcessFunction<int64_t, Q3Person, Q3Auction, Q3Row> {
 public:
  void open(RuntimeContext&) override {
    person_ = &getState(kPerson);
    pending_ = &getListState(kPending);
  }
  void processElement1(const Q3Person& p, Context&, Collector<Q3Row>& out) override {
    if (p.qualifies) {
      for (int64_t auction : pending_->get()) out.collect({p.name, p.city, p.state, auction});
    }
    pending_->clear();
    person_->update(p);
  }
  void processElement2(const Q3Auction& a, Context&, Collector<Q3Row>& out) override {
    std::optional<Q3Person> p = person_->value();
    if (!p) {
      pending_->add(a.id);
    } else if (p->qualifies) {
      out.collect({p->name, p->city, p->state, a.id});
    }
  }

 private:
  inline static const ValueStateDescriptor<Q3Person> kPerson{"person"};
  inline static const ListStateDescriptor<int64_t> kPending{"pending-auctions"};
  ValueState<Q3Person>* person_ = nullptr;
  ListState<int64_t>* pending_ = nullptr;
};

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

// ---- q5: hot items ---------------------------------------------------------------------------

struct BidAuctions {
  void operator()(const Event& e, Collector<int64_t>& out) const {
    if (const Bid* b = std::get_if<Bid>(&e)) out.collect(b->auction);
  }
};

struct BidBidders {
  void operator()(const Event& e, Collector<int64_t>& out) const {
    if (const Bid* b = std::get_if<Bid>(&e)) out.collect(b->bidder);
  }
};

struct Identity {
  int64_t operator()(int64_t v) const { return v; }
};

/// count(*) (incremental).
class CountAggregate final : public AggregateFunction<int64_t, int64_t, int64_t> {
 public:
  int64_t createAccumulator() override { return 0; }
  int64_t add(const int64_t&, int64_t acc) override { return acc + 1; }
  int64_t getResult(const int64_t& acc) override { return acc; }
  int64_t merge(int64_t a, int64_t b) override { return a + b; }
};

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

// ---- q8: monitor new users ------------------------------------------------------------------

struct Q8Person {
  int64_t id = 0;
  std::string name;
  int64_t dateTime = 0;
};

struct Q8Auction {
  int64_t seller = 0;
  int64_t dateTime = 0;
};

struct Q8Row {
  int64_t id = 0;
  std::string name;
  int64_t starttime = 0;
};

void encodeQ8(const Q8Row& r, std::string& out) { appendCsv(out, r.id, r.name, r.starttime); }

struct Q8Persons {
  void operator()(const Event& e, Collector<Q8Person>& out) const {
    if (const Person* p = std::get_if<Person>(&e)) out.collect({p->id, p->name, p->dateTime});
  }
};

struct Q8Auctions {
  void operator()(const Event& e, Collector<Q8Auction>& out) const {
    if (const Auction* a = std::get_if<Auction>(&e)) out.collect({a->seller, a->dateTime});
  }
};

/// GROUP BY id, name, window of the persons joined with GROUP BY seller, window of the
/// auctions: each distinct (id, name) of a window that also has an auction of that seller.
struct Q8Join {
  void operator()(const std::vector<Q8Person>& persons, const std::vector<Q8Auction>& auctions,
                  Collector<Q8Row>& out) const {
    if (persons.empty() || auctions.empty()) return;
    for (size_t i = 0; i < persons.size(); ++i) {
      const Q8Person& p = persons[i];
      bool seen = false;
      for (size_t j = 0; j < i && !seen; ++j) seen = persons[j].name == p.name;
      if (!seen) out.collect({p.id, p.name, tumbleStart(p.dateTime, kTumbleMs)});
    }
  }
};

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

// ---- the programs ---------------------------------------------------------------------------

using Builder = std::function<void(const DataStream<Event>&, const QueryOptions&)>;

void q0(const DataStream<Event>& events, const QueryOptions& options) {
  addSink<BidRow>(events.flatMap(BidRows<1>{}).name("Bids"), options, &encodeQ0);
}

void q1(const DataStream<Event>& events, const QueryOptions& options) {
  addSink<BidRow>(events.flatMap(BidRows<kQ1RateMilli>{}).name("Bids in Euro"), options, &encodeQ1);
}

void q2(const DataStream<Event>& events, const QueryOptions& options) {
  auto selected =
      events
          .flatMap([](const Event& e, Collector<AuctionPrice>& out) {
            if (const Bid* b = std::get_if<Bid>(&e); b && b->auction % kQ2Modulus == 0) {
              out.collect({b->auction, b->price});
            }
          })
          .name("Selection");
  addSink<AuctionPrice>(selected, options, &encodeQ2);
}

void q3(const DataStream<Event>& events, const QueryOptions& options) {
  auto persons = events.flatMap(Q3Persons{}).name("Persons");
  auto auctions = events.flatMap(Q3Auctions{}).name("Auctions in Category 10");
  auto joined = persons.keyBy([](const Q3Person& p) { return p.id; })
                    .connect(auctions.keyBy([](const Q3Auction& a) { return a.seller; }))
                    .process(Q3Join{})
                    .name("Join");
  addSink<Q3Row>(joined, options, &encodeQ3);
}

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

void q8(const DataStream<Event>& events, const QueryOptions& options) {
  using Tagged = TaggedUnion<Q8Person, Q8Auction>;
  auto persons = events.flatMap(Q8Persons{}).name("Persons");
  auto auctions = events.flatMap(Q8Auctions{}).name("Auctions");
  auto joined = persons.coGroup(auctions)
                    .where([](const Q8Person& p) { return p.id; })
                    .equalTo([](const Q8Auction& a) { return a.seller; })
                    .window(TumblingEventTimeWindows::of<Tagged>(milliseconds(kTumbleMs)))
                    .apply(Q8Join{});
  addSink<Q8Row>(joined, options, &encodeQ8);
}

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

const std::vector<std::pair<std::string, Builder>>& builders() {
  static const std::vector<std::pair<std::string, Builder>> kBuilders = {
      {"q0", q0}, {"q1", q1}, {"q2", q2}, {"q3", q3},   {"q4", q4},
      {"q5", q5}, {"q7", q7}, {"q8", q8}, {"q11", q11},
  };
  return kBuilders;
}

}  // namespace

const std::vector<std::string>& queryNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& [name, builder] : builders()) names.push_back(name);
    return names;
  }();
  return kNames;
}

void addQuery(StreamExecutionEnvironment& env, const std::string& query,
              const QueryOptions& options) {
  for (const auto& [name, builder] : builders()) {
    if (name == query) {
      builder(fromNexmark(env, options.events, options.config, options.numSplits), options);
      return;
    }
  }
  std::string known;
  for (const std::string& name : queryNames()) known += " " + name;
  throw SluiceException("Nexmark: unknown query '" + query + "' (known:" + known + ")");
}

}  // namespace sluice::nexmark
