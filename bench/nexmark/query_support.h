#pragma once

// What the Nexmark query programs share (CSV encoding, the sink, projections of the event
// stream) and the programs themselves, one translation unit per query (query_q*.cc) so that no
// file instantiates every operator of the benchmark at once. Internal to bench/nexmark.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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

#include "nexmark/queries.h"

namespace sluice::nexmark::detail {

using std::chrono::milliseconds;

constexpr int64_t kTumbleMs = 10'000;      // q7, q8
constexpr int64_t kHopSizeMs = 10'000;     // q5
constexpr int64_t kHopSlideMs = 2'000;     // q5
constexpr int64_t kSessionGapMs = 10'000;  // q11
constexpr int64_t kQ2Modulus = 123;
constexpr int64_t kQ3Category = 10;
constexpr int64_t kQ1RateMilli = 908;  // 0.908 as thousandths

// ---- CSV encoding -----------------------------------------------------------------------------

inline void appendInt(int64_t v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out.append(buf, end);
}

/// A DECIMAL with 3 decimals given in thousandths, as Flink prints DECIMAL(p, 3).
inline void appendThousandths(int64_t v, std::string& out) {
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

inline void appendField(int64_t v, std::string& out) { appendInt(v, out); }
inline void appendField(Thousandths v, std::string& out) { appendThousandths(v.value, out); }
inline void appendField(const std::string& v, std::string& out) { out += v; }

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

inline int64_t tumbleStart(int64_t t, int64_t size) {
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

inline void encodeQ0(const BidRow& r, std::string& out) {
  appendCsv(out, r.auction, r.bidder, r.price, r.dateTime, r.extra);
}

inline void encodeQ1(const BidRow& r, std::string& out) {
  appendCsv(out, r.auction, r.bidder, Thousandths{r.price}, r.dateTime, r.extra);
}

/// q7's SELECT order: auction, price, bidder, dateTime, extra.
inline void encodeQ7(const BidRow& r, std::string& out) {
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

inline void encodeQ2(const AuctionPrice& r, std::string& out) {
  appendCsv(out, r.auction, r.price);
}

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

// The query programs: build the query over the event stream and add its sink.
void q0(const DataStream<Event>& events, const QueryOptions& options);
void q1(const DataStream<Event>& events, const QueryOptions& options);
void q2(const DataStream<Event>& events, const QueryOptions& options);
void q3(const DataStream<Event>& events, const QueryOptions& options);
void q4(const DataStream<Event>& events, const QueryOptions& options);
void q5(const DataStream<Event>& events, const QueryOptions& options);
void q7(const DataStream<Event>& events, const QueryOptions& options);
void q8(const DataStream<Event>& events, const QueryOptions& options);
void q11(const DataStream<Event>& events, const QueryOptions& options);

}  // namespace sluice::nexmark::detail
