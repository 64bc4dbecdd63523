#pragma once

// The retail analytics job over the UCI Online Retail data (one CSV file per day, header
// InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country), shared
// by examples/retail_analytics and bench/retail_bench:
//
//   CsvSource<RetailRow> (files as splits, bad rows to a side output; event time = InvoiceDate,
//   watermarks of EagerBoundedOutOfOrderness)
//     -> ToSale (compact record, exact revenue)
//        -> keyBy(country)  -> 1 h tumbling event-time windows -> hourly_revenue/
//        -> HasCustomer -> keyBy(customer) -> 30 min event-time sessions -> customer_sessions/
//     -> ToInvoiceLine (rows with a customer: purchases and cancellations)
//        -> keyBy((customer, stock code)) -> MatchCancellations (keyed state, event-time
//           timers) -> cancellations/, side output unmatched_cancellations/
//     side outputs: malformed rows -> dead_letters/, late events -> late_events/
//
// Cancellations. A purchase is a row with a CustomerID, an InvoiceNo of digits only and
// Quantity > 0; a cancellation a row with a CustomerID and an InvoiceNo starting with 'C' (any
// Quantity). Other rows take no part. Per (CustomerID, StockCode), each cancellation at time c
// matches the latest purchase with time in [c - 30 days, c]; of purchases at the same time, the
// one with the larger invoice number. A purchase is not used up: it can be matched by several
// cancellations (each is decided independently). Decided in event time: rows wait in keyed
// state until the watermark passes their time (an event-time timer), so every purchase at or
// before a cancellation has been seen whatever the order in which the files are read; a
// purchase is dropped from state by a timer 30 days + 1 ms after its time. A row that arrives
// behind the watermark (none with the default bound) is still taken, at the next watermark.
//
// Representations. Time: InvoiceDate "YYYY-MM-DD HH:MM:SS" read as UTC, ms since the epoch
// (int64). Money: int64 milli-cents (1e-5 of the currency unit). UnitPrice has at most 3
// decimals in the data and Quantity is an integer, so every line's revenue Quantity*UnitPrice
// is exact, sums are exact and independent of the order of addition; results are rounded once,
// at output, to cents (half away from zero). Values that do not parse (a date, a price with more
// than 5 decimals, a customer id that is not an integer) make the row a bad record of the
// CsvSource, so it reaches dead_letters/ whole and no other output. An int64 overflow of a
// revenue fails the job with a message (it would need sums beyond 9e13 currency units).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/api/windowed_stream.h"
#include "sluice/connectors/csv_source.h"
#include "sluice/connectors/file_sink.h"
#include "sluice/core/civil_time.h"

namespace sluice::retail {

// ---- time -----------------------------------------------------------------------------------

// Dates and times: parseDateTime / appendDateTime of sluice/core/civil_time.h.

// ---- money ----------------------------------------------------------------------------------

/// Milli-cents per currency unit: prices are exact with up to 5 decimals.
inline constexpr int64_t kMilliCentsPerUnit = 100000;
inline constexpr int kMaxPriceDecimals = 5;
inline constexpr int kMaxPriceIntegerDigits = 12;

/// Parses a decimal "[-+]digits[.digits]" with at most 5 decimals into milli-cents.
constexpr bool parseMilliCents(std::string_view s, int64_t& out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  int64_t units = 0;
  int intDigits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (++intDigits > kMaxPriceIntegerDigits) return false;
    units = units * 10 + (s[i] - '0');
  }
  int64_t fraction = 0;
  int fracDigits = 0;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (++fracDigits > kMaxPriceDecimals) return false;
      fraction = fraction * 10 + (s[i] - '0');
    }
    if (fracDigits == 0) return false;
  }
  if (i != s.size() || intDigits + fracDigits == 0) return false;
  for (int k = fracDigits; k < kMaxPriceDecimals; ++k) fraction *= 10;
  int64_t v = units * kMilliCentsPerUnit + fraction;
  out = negative ? -v : v;
  return true;
}

/// Rounds milli-cents to cents, half away from zero.
constexpr int64_t roundToCents(int64_t milliCents) {
  int64_t cents = milliCents / 1000;
  int64_t rest = milliCents % 1000;
  if (rest >= 500) ++cents;
  if (rest <= -500) --cents;
  return cents;
}

static_assert(roundToCents(1500) == 2 && roundToCents(-1500) == -2 && roundToCents(1499) == 1 &&
              roundToCents(-1499) == -1);
static_assert([] {
  int64_t v = 0;
  return parseMilliCents("2.55", v) && v == 255000 && parseMilliCents("-11062.06", v) &&
         v == -1106206000 && parseMilliCents("0.001", v) && v == 100 &&
         !parseMilliCents("1.234567", v) && !parseMilliCents("1.", v) && !parseMilliCents("", v) &&
         !parseMilliCents("1.8.5", v);
}());

/// Appends milli-cents rounded to cents with two decimals ("-12.35", "0.00").
inline void appendMoney(int64_t milliCents, std::string& out) {
  int64_t cents = roundToCents(milliCents);
  uint64_t magnitude = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  if (cents < 0) out += '-';
  out += std::to_string(magnitude / 100);
  out += '.';
  out += static_cast<char>('0' + magnitude / 10 % 10);
  out += static_cast<char>('0' + magnitude % 10);
}

/// Appends `field` as one RFC 4180 CSV field: quoted (with '"' doubled) when it contains the
/// delimiter, a quote, CR or LF, or starts/ends with a space; as is otherwise.
inline void appendCsvField(std::string_view field, std::string& out) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) {
    out.append(field);
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// ---- the input row --------------------------------------------------------------------------

/// InvoiceDate: ms since the epoch, UTC.
struct EventTime {
  int64_t millis = 0;
};

/// UnitPrice in milli-cents.
struct Price {
  int64_t milliCents = 0;
};

/// CustomerID, written as a float in the data ("17850.0"); kNone when the field is empty.
struct CustomerId {
  static constexpr int64_t kNone = -1;
  int64_t id = kNone;
};

/// One row of the retail CSV files, columns in file order.
struct RetailRow {
  std::string invoiceNo;
  std::string stockCode;
  std::string description;
  int64_t quantity = 0;
  EventTime invoiceDate;
  Price unitPrice;
  CustomerId customerId;
  std::string country;
};

}  // namespace sluice::retail

namespace sluice {

template <>
struct CsvFieldParser<retail::EventTime> {
  static bool parse(std::string_view field, retail::EventTime& out, std::string& error) {
    if (auto millis = parseDateTime(field)) {
      out.millis = *millis;
      return true;
    }
    error = detail::quoteForMessage(field) + " is not a date-time YYYY-MM-DD HH:MM:SS";
    return false;
  }
};

template <>
struct CsvFieldParser<retail::Price> {
  static bool parse(std::string_view field, retail::Price& out, std::string& error) {
    if (retail::parseMilliCents(field, out.milliCents)) return true;
    error = detail::quoteForMessage(field) +
            " is not a price (a decimal number with at most 12 integer digits and 5 decimals)";
    return false;
  }
};

template <>
struct CsvFieldParser<retail::CustomerId> {
  static bool parse(std::string_view field, retail::CustomerId& out, std::string& error) {
    if (field.empty()) {
      out.id = retail::CustomerId::kNone;
      return true;
    }
    // Digits, optionally followed by '.' and zeros ("17850.0").
    size_t i = 0;
    int64_t id = 0;
    for (; i < field.size() && field[i] >= '0' && field[i] <= '9' && i < 18; ++i) {
      id = id * 10 + (field[i] - '0');
    }
    bool ok = i > 0;
    if (ok && i < field.size() && field[i] == '.') {
      size_t dot = i++;
      while (i < field.size() && field[i] == '0') ++i;
      ok = i > dot + 1;
    }
    if (ok && i == field.size()) {
      out.id = id;
      return true;
    }
    error = detail::quoteForMessage(field) +
            " is not a customer id (a non-negative integer, optionally written as 123.0)";
    return false;
  }
};

}  // namespace sluice

namespace sluice::retail {

// ---- records between operators and results ---------------------------------------------------

/// What the windows need of a row.
struct Sale {
  int64_t eventTime = 0;  ///< ms since the epoch
  int64_t customerId = CustomerId::kNone;
  int64_t revenue = 0;  ///< Quantity * UnitPrice, milli-cents
  std::string country;
};

/// Accumulator and result of RevenueAggregate.
struct RevenueTotals {
  int64_t orderLines = 0;
  int64_t revenue = 0;  ///< milli-cents
};

/// One line of hourly_revenue/.
struct HourlyRevenue {
  int64_t windowStart = 0;
  int64_t windowEnd = 0;
  std::string country;
  int64_t orderLines = 0;
  int64_t revenue = 0;  ///< milli-cents
};

/// One line of customer_sessions/.
struct CustomerSession {
  int64_t customerId = 0;
  int64_t sessionStart = 0;
  int64_t sessionEnd = 0;  ///< the merged window's end: last event + gap
  int64_t orderLines = 0;
  int64_t revenue = 0;  ///< milli-cents
};

// Accumulator names (JobExecutionResult::getAccumulatorResult<int64_t>).
inline constexpr const char* kRowsParsed = "rows-parsed";
inline constexpr const char* kDeadLetters = "dead-letters";
inline constexpr const char* kRowsWithoutCustomer = "rows-without-customer";
inline constexpr const char* kHourlyWindows = "hourly-windows";
inline constexpr const char* kSessionWindows = "session-windows";
inline constexpr const char* kLateEvents = "late-events";
inline constexpr const char* kCancellationsMatched = "cancellations-matched";
inline constexpr const char* kCancellationsUnmatched = "cancellations-unmatched";

inline constexpr std::chrono::hours kHourlyWindowSize{1};
inline constexpr std::chrono::minutes kSessionGap{30};
/// How far back a cancellation looks for its purchase.
inline constexpr std::chrono::days kCancellationWindow{30};

/// Flink's BoundedOutOfOrdernessWatermarks (watermark = highest timestamp seen - bound - 1 ms),
/// but emitted as the highest timestamp advances, not only every pipeline.auto-watermark-interval
/// of processing time. Replaying a year of history takes well under a second; with periodic
/// watermarks alone, event time would advance in a few big steps and every window of the year
/// would stay open until the end. Here windows close as the data passes them, and when they do
/// no longer depends on the machine's speed.
///
/// onEvent emits the watermark of the events *before* this one: Sluice's source output runs the
/// generator before it emits the record (Flink emits the record first), so a watermark that
/// counted the record itself would overtake it, and with a bound of 0 a session window that the
/// record touches would fire without it. One event later, the stream is as Flink's.
template <typename T>
class EagerBoundedOutOfOrderness final : public WatermarkGenerator<T> {
 public:
  explicit EagerBoundedOutOfOrderness(int64_t maxOutOfOrdernessMillis)
      : bound_(maxOutOfOrdernessMillis) {
    if (bound_ < 0) throw ConfigurationException("max out-of-orderness must not be negative");
  }
  void onEvent(const T&, Timestamp timestamp, WatermarkOutput& output) override {
    if (timestamp <= maxTimestamp_) return;
    if (maxTimestamp_ != kMinWatermark) output.emitWatermark(Watermark{watermark()});
    maxTimestamp_ = timestamp;
  }
  void onPeriodicEmit(WatermarkOutput& output) override {
    if (maxTimestamp_ != kMinWatermark) output.emitWatermark(Watermark{watermark()});
  }

 private:
  Timestamp watermark() const {
    Timestamp w;
    if (__builtin_sub_overflow(maxTimestamp_, bound_, &w) || w == kMinWatermark) {
      return kMinWatermark;
    }
    return w - 1;
  }

  int64_t bound_;
  Timestamp maxTimestamp_ = kMinWatermark;
};

/// RetailRow -> Sale with revenue Quantity * UnitPrice; counts the rows.
class ToSale final : public RichMapFunction<RetailRow, Sale> {
 public:
  void open(RuntimeContext& context) override { rows_ = &context.getLongCounter(kRowsParsed); }
  Sale map(const RetailRow& row) override {
    rows_->add(1);
    Sale sale;
    sale.eventTime = row.invoiceDate.millis;
    sale.customerId = row.customerId.id;
    if (__builtin_mul_overflow(row.quantity, row.unitPrice.milliCents, &sale.revenue)) {
      throw SluiceException(
          "revenue of invoice " + row.invoiceNo + " (quantity " + std::to_string(row.quantity) +
          " x price " + std::to_string(row.unitPrice.milliCents) + " milli-cents) overflows int64");
    }
    sale.country = row.country;
    return sale;
  }

 private:
  LongCounter* rows_ = nullptr;
};

/// Keeps sales with a customer id; counts the others.
class HasCustomer final : public RichFilterFunction<Sale> {
 public:
  void open(RuntimeContext& context) override {
    without_ = &context.getLongCounter(kRowsWithoutCustomer);
  }
  bool filter(const Sale& sale) override {
    if (sale.customerId != CustomerId::kNone) return true;
    without_->add(1);
    return false;
  }

 private:
  LongCounter* without_ = nullptr;
};

/// Counts the records that pass (all of them) into accumulator `name`.
template <typename T>
class CountingFilter final : public RichFilterFunction<T> {
 public:
  explicit CountingFilter(const char* name) : name_(name) {}
  void open(RuntimeContext& context) override { counter_ = &context.getLongCounter(name_); }
  bool filter(const T&) override {
    counter_->add(1);
    return true;
  }

 private:
  const char* name_;
  LongCounter* counter_ = nullptr;
};

struct CountryKey {
  const std::string& operator()(const Sale& sale) const { return sale.country; }
};

struct CustomerKey {
  int64_t operator()(const Sale& sale) const { return sale.customerId; }
};

/// Order lines and exact revenue of a window (only this accumulator is kept per window).
class RevenueAggregate final : public AggregateFunction<Sale, RevenueTotals, RevenueTotals> {
 public:
  RevenueTotals createAccumulator() override { return {}; }
  RevenueTotals add(const Sale& sale, RevenueTotals acc) override {
    ++acc.orderLines;
    acc.revenue = checkedAdd(acc.revenue, sale.revenue);
    return acc;
  }
  RevenueTotals getResult(const RevenueTotals& acc) override { return acc; }
  RevenueTotals merge(RevenueTotals a, RevenueTotals b) override {
    return {a.orderLines + b.orderLines, checkedAdd(a.revenue, b.revenue)};
  }

 private:
  static int64_t checkedAdd(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
      throw SluiceException("revenue sum overflows int64 milli-cents");
    }
    return r;
  }
};

/// Adds the window bounds and the country to the totals of an hourly window.
class HourlyRevenueWindow final
    : public ProcessWindowFunction<RevenueTotals, HourlyRevenue, std::string, TimeWindow> {
 public:
  void open(RuntimeContext& context) override {
    windows_ = &context.getLongCounter(kHourlyWindows);
  }
  void process(const std::string& country, Context& context,
               const std::vector<RevenueTotals>& totals, Collector<HourlyRevenue>& out) override {
    const TimeWindow& w = context.window();
    out.collect({w.start, w.end, country, totals.front().orderLines, totals.front().revenue});
    windows_->add(1);
  }

 private:
  LongCounter* windows_ = nullptr;
};

/// Adds the session bounds and the customer to the totals of a session window.
class CustomerSessionWindow final
    : public ProcessWindowFunction<RevenueTotals, CustomerSession, int64_t, TimeWindow> {
 public:
  void open(RuntimeContext& context) override {
    windows_ = &context.getLongCounter(kSessionWindows);
  }
  void process(const int64_t& customer, Context& context, const std::vector<RevenueTotals>& totals,
               Collector<CustomerSession>& out) override {
    const TimeWindow& w = context.window();
    out.collect({customer, w.start, w.end, totals.front().orderLines, totals.front().revenue});
    windows_->add(1);
  }

 private:
  LongCounter* windows_ = nullptr;
};

/// A late event as a line of late_events/: output,event_time,country,customer_id,revenue.
struct LateEventLine {
  const char* output;
  std::string map(const Sale& sale) const {
    std::string line = output;
    line += ',';
    appendDateTime(sale.eventTime, line);
    line += ',';
    appendCsvField(sale.country, line);
    line += ',';
    if (sale.customerId != CustomerId::kNone) line += std::to_string(sale.customerId);
    line += ',';
    appendMoney(sale.revenue, line);
    return line;
  }
};

// ---- cancellations ----------------------------------------------------------------------------

/// A row that takes part in matching cancellations: a purchase or a cancellation, with a customer.
struct InvoiceLine {
  int64_t eventTime = 0;  ///< ms since the epoch
  int64_t customerId = 0;
  std::string stockCode;
  std::string invoiceNo;
  int64_t quantity = 0;
  bool cancellation = false;
};

/// One line of cancellations/.
struct CancellationMatch {
  std::string cancelInvoice;
  std::string originalInvoice;
  int64_t customerId = 0;
  std::string stockCode;
  int64_t quantity = 0;      ///< the cancellation's Quantity
  int64_t delayMinutes = 0;  ///< (cancellation time - purchase time) / 1 min, truncated
};

/// One line of unmatched_cancellations/.
struct UnmatchedCancellation {
  std::string cancelInvoice;
  int64_t customerId = 0;
  std::string stockCode;
  int64_t quantity = 0;
};

/// InvoiceNo of a purchase: digits only.
inline bool isPurchaseInvoice(std::string_view invoice) {
  return !invoice.empty() && invoice.find_first_not_of("0123456789") == std::string_view::npos;
}

/// Whether invoice number `a` (digits) is smaller than `b` (digits), numerically.
inline bool invoiceNumberLess(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    size_t i = s.find_first_not_of('0');
    return i == std::string_view::npos ? std::string_view{} : s.substr(i);
  };
  a = strip(a);
  b = strip(b);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

/// Keeps the rows that take part in matching cancellations, as InvoiceLines.
class ToInvoiceLine final : public ProcessFunction<RetailRow, InvoiceLine> {
 public:
  void processElement(const RetailRow& row, Context&, Collector<InvoiceLine>& out) override {
    if (row.customerId.id == CustomerId::kNone) return;
    bool cancellation = !row.invoiceNo.empty() && row.invoiceNo.front() == 'C';
    if (!cancellation && !(isPurchaseInvoice(row.invoiceNo) && row.quantity > 0)) return;
    out.collect({row.invoiceDate.millis, row.customerId.id, row.stockCode, row.invoiceNo,
                 row.quantity, cancellation});
  }
};

using CustomerStockKey = std::pair<int64_t, std::string>;

struct CustomerStock {
  CustomerStockKey operator()(const InvoiceLine& line) const {
    return {line.customerId, line.stockCode};
  }
};

/// Matches each cancellation with the latest purchase of its (customer, stock code) at most
/// kCancellationWindow before it (see the top of this file). State per key: "pending", the rows
/// not yet decided by time; "purchases", time -> the largest invoice number of the purchases at
/// that time, kept while a cancellation can still match them.
class MatchCancellations final
    : public KeyedProcessFunction<CustomerStockKey, InvoiceLine, CancellationMatch> {
 public:
  explicit MatchCancellations(OutputTag<UnmatchedCancellation> unmatched)
      : unmatched_(std::move(unmatched)) {}

  void open(RuntimeContext& context) override {
    matched_ = &context.getLongCounter(kCancellationsMatched);
    unmatchedCount_ = &context.getLongCounter(kCancellationsUnmatched);
  }

  void processElement(const InvoiceLine& line, Context& ctx,
                      Collector<CancellationMatch>&) override {
    auto& pending = getMapState(kPending);
    std::vector<InvoiceLine> lines =
        pending.get(line.eventTime).value_or(std::vector<InvoiceLine>{});
    lines.push_back(line);
    pending.put(line.eventTime, lines);
    ctx.timerService().registerEventTimeTimer(line.eventTime);
  }

  void onTimer(Timestamp time, OnTimerContext& ctx, Collector<CancellationMatch>& out) override {
    auto& pending = getMapState(kPending);
    auto& purchases = getMapState(kPurchases);
    constexpr int64_t window =
        std::chrono::duration_cast<std::chrono::milliseconds>(kCancellationWindow).count();
    // Every row with a time up to the watermark: purchases first (a purchase at the
    // cancellation's time matches it), then the cancellations.
    std::vector<InvoiceLine> due;
    std::vector<int64_t> dueTimes;
    for (const auto& [t, lines] : pending.entries()) {
      if (t > time) break;
      dueTimes.push_back(t);
      due.insert(due.end(), lines.begin(), lines.end());
    }
    for (int64_t t : dueTimes) pending.remove(t);
    for (const InvoiceLine& line : due) {
      if (line.cancellation) continue;
      std::optional<std::string> best = purchases.get(line.eventTime);
      if (!best || invoiceNumberLess(*best, line.invoiceNo)) {
        purchases.put(line.eventTime, line.invoiceNo);
      }
      ctx.timerService().registerEventTimeTimer(line.eventTime + window + 1);
    }
    for (const InvoiceLine& line : due) {
      if (!line.cancellation) continue;
      // The latest purchase at or before the cancellation (entries come in ascending time).
      std::optional<std::pair<int64_t, std::string>> latest;
      for (const auto& [t, invoice] : purchases.entries()) {
        if (t > line.eventTime) break;
        latest.emplace(t, invoice);
      }
      if (latest && latest->first >= line.eventTime - window) {
        out.collect({line.invoiceNo, latest->second, line.customerId, line.stockCode, line.quantity,
                     (line.eventTime - latest->first) / 60000});
        matched_->add(1);
      } else {
        ctx.output(unmatched_, UnmatchedCancellation{line.invoiceNo, line.customerId,
                                                     line.stockCode, line.quantity});
        unmatchedCount_->add(1);
      }
    }
    // Purchases before time - window can match no cancellation at or after `time`.
    std::vector<int64_t> expired;
    for (const auto& [t, invoice] : purchases.entries()) {
      if (t >= time - window) break;
      expired.push_back(t);
    }
    for (int64_t t : expired) purchases.remove(t);
  }

 private:
  inline static const MapStateDescriptor<int64_t, std::vector<InvoiceLine>> kPending{"pending"};
  inline static const MapStateDescriptor<int64_t, std::string> kPurchases{"purchases"};
  OutputTag<UnmatchedCancellation> unmatched_;
  LongCounter* matched_ = nullptr;
  LongCounter* unmatchedCount_ = nullptr;
};

// ---- encoders (one CSV line per record, no header) -------------------------------------------

inline void encodeHourlyRevenue(const HourlyRevenue& r, std::string& out) {
  appendDateTime(r.windowStart, out);
  out += ',';
  appendDateTime(r.windowEnd, out);
  out += ',';
  appendCsvField(r.country, out);
  out += ',';
  out += std::to_string(r.orderLines);
  out += ',';
  appendMoney(r.revenue, out);
  out += '\n';
}

inline void encodeCustomerSession(const CustomerSession& s, std::string& out) {
  out += std::to_string(s.customerId);
  out += ',';
  appendDateTime(s.sessionStart, out);
  out += ',';
  appendDateTime(s.sessionEnd, out);
  out += ',';
  out += std::to_string(s.orderLines);
  out += ',';
  appendMoney(s.revenue, out);
  out += '\n';
}

inline void encodeDeadLetter(const BadRecord& bad, std::string& out) {
  appendCsvField(bad.file, out);
  out += ',';
  out += std::to_string(bad.line);
  out += ',';
  appendCsvField(bad.reason, out);
  out += ',';
  appendCsvField(bad.raw, out);
  out += '\n';
}

inline void encodeCancellation(const CancellationMatch& m, std::string& out) {
  appendCsvField(m.cancelInvoice, out);
  out += ',';
  appendCsvField(m.originalInvoice, out);
  out += ',';
  out += std::to_string(m.customerId);
  out += ',';
  appendCsvField(m.stockCode, out);
  out += ',';
  out += std::to_string(m.quantity);
  out += ',';
  out += std::to_string(m.delayMinutes);
  out += '\n';
}

inline void encodeUnmatchedCancellation(const UnmatchedCancellation& u, std::string& out) {
  appendCsvField(u.cancelInvoice, out);
  out += ',';
  out += std::to_string(u.customerId);
  out += ',';
  appendCsvField(u.stockCode, out);
  out += ',';
  out += std::to_string(u.quantity);
  out += '\n';
}

inline void encodeLine(const std::string& line, std::string& out) {
  out += line;
  out += '\n';
}

// ---- the job --------------------------------------------------------------------------------

struct RetailJobOptions {
  std::vector<std::string> inputs;  ///< files or directories of daily CSV files
  std::string output;               ///< base directory of the outputs; empty: discard results
  int64_t maxOutOfOrdernessMillis = 60000;
};

/// The output subdirectories.
inline constexpr const char* kHourlyRevenueDir = "hourly_revenue";
inline constexpr const char* kCustomerSessionsDir = "customer_sessions";
inline constexpr const char* kDeadLettersDir = "dead_letters";
inline constexpr const char* kLateEventsDir = "late_events";
inline constexpr const char* kCancellationsDir = "cancellations";
inline constexpr const char* kUnmatchedCancellationsDir = "unmatched_cancellations";

template <typename T>
std::shared_ptr<const Sink<T>> makeSink(const RetailJobOptions& options, const char* subdir,
                                        void (*encoder)(const T&, std::string&)) {
  if (options.output.empty()) return std::make_shared<DiscardingSink<T>>();
  return FileSink<T>::forRowFormat((std::filesystem::path(options.output) / subdir).string(),
                                   encoder)
      .withBucketAssigner(BasePathBucketAssigner<T>{})
      .build();
}

/// Adds the job to `env`. Throws IOException for missing or empty inputs (from CsvSource) and
/// ConfigurationException for a negative out-of-orderness. Defined in pipeline/*.cc, one
/// translation unit per branch, so that no file instantiates every operator of the job.
void buildRetailJob(StreamExecutionEnvironment& env, const RetailJobOptions& options);

/// Hourly revenue per country (pipeline/hourly_revenue.cc); returns the late events the
/// window left behind, as lines for the late-events files.
DataStream<std::string> addHourlyRevenue(const DataStream<Sale>& sales,
                                         const RetailJobOptions& options);

/// Revenue per customer session (pipeline/customer_sessions.cc); returns the late events the
/// window left behind, as lines for the late-events files.
DataStream<std::string> addCustomerSessions(const DataStream<Sale>& sales,
                                            const RetailJobOptions& options);

/// The cancellation branch (pipeline/cancellations.cc): matches each cancellation with the
/// purchases it cancels.
void addCancellations(const DataStream<RetailRow>& rows, const RetailJobOptions& options);

/// The job's counters, from the accumulators.
struct RetailSummary {
  int64_t rowsParsed = 0;
  int64_t deadLetters = 0;
  int64_t rowsWithoutCustomer = 0;
  int64_t hourlyWindows = 0;
  int64_t sessionWindows = 0;
  int64_t lateEvents = 0;
  int64_t cancellationsMatched = 0;
  int64_t cancellationsUnmatched = 0;
  int64_t rowsRead() const { return rowsParsed + deadLetters; }
};

inline RetailSummary summarize(const JobExecutionResult& result) {
  auto get = [&result](const char* name) -> int64_t {
    // An accumulator exists once a subtask opened the function that registers it.
    if (result.getAllAccumulatorResults().count(name) == 0) return 0;
    return result.getAccumulatorResult<int64_t>(name);
  };
  RetailSummary s;
  s.rowsParsed = get(kRowsParsed);
  s.deadLetters = get(kDeadLetters);
  s.rowsWithoutCustomer = get(kRowsWithoutCustomer);
  s.hourlyWindows = get(kHourlyWindows);
  s.sessionWindows = get(kSessionWindows);
  s.lateEvents = get(kLateEvents);
  s.cancellationsMatched = get(kCancellationsMatched);
  s.cancellationsUnmatched = get(kCancellationsUnmatched);
  return s;
}

}  // namespace sluice::retail
