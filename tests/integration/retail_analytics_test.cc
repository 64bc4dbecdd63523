// The retail analytics example end to end, as a user runs it, against independent oracles:
// SQLite (the sqlite3 CLI) imports the CSV files and computes the hourly revenue per country with
// integer arithmetic; customer sessions come from a sort-and-scan over SQLite's rows here.
// Times are formatted with gmtime_r, money with integer division: no code shared with the job.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sluice/connectors/csv_format.h"

#include "integration/process_util.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing::dataDir;
using sluice::testing::run;
using sluice::testing::RunResult;
using sluice::testing::tempDir;

std::string retailDir() { return dataDir() + "/retail/by-day"; }

std::string binary() { return std::string(SLUICE_BINARY_DIR) + "/examples/retail_analytics"; }

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) fields.push_back(field);
  if (!line.empty() && line.back() == '\t') fields.emplace_back();
  return fields;
}

// "YYYY-MM-DD HH:MM:SS" of seconds since the epoch, UTC.
std::string utc(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &parts);
  return buf;
}

// Milli-cents (1e-5 currency units) as currency with 2 decimals, half away from zero.
std::string money(int64_t milliCents) {
  bool negative = milliCents < 0;
  int64_t magnitude = negative ? -milliCents : milliCents;
  int64_t cents = (magnitude + 500) / 1000;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%lld.%02lld", negative && cents != 0 ? "-" : "",
                static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
  return buf;
}

struct Oracle {
  std::vector<std::string> hourly;    // expected lines of hourly_revenue/, sorted
  std::vector<std::string> sessions;  // expected lines of customer_sessions/, sorted
  int64_t rows = 0;
  int64_t rowsWithoutCustomer = 0;
  std::vector<std::string> cancellations;           // expected lines of cancellations/, sorted
  std::vector<std::string> unmatchedCancellations;  // of unmatched_cancellations/, sorted
};

// Brute force over the rows of `tsv` (InvoiceNo, StockCode, Quantity, epoch seconds, customer;
// only rows with a customer): for each cancellation ('C...'), the purchases (InvoiceNo of
// digits, Quantity > 0) of the same customer and stock code with time in [cancel - 30 days,
// cancel], the largest (time, invoice number) of them.
void bruteForceCancellations(const fs::path& tsv, Oracle& o) {
  struct Row {
    std::string invoice, stock;
    int64_t quantity, time, customer;
  };
  std::vector<Row> rows;
  std::ifstream in(tsv);
  for (std::string line; std::getline(in, line);) {
    auto f = splitTabs(line);
    EXPECT_EQ(f.size(), 5u) << line;
    if (f.size() != 5) continue;
    rows.push_back({f[0], f[1], std::stoll(f[2]), std::stoll(f[3]), std::stoll(f[4])});
  }
  auto isPurchase = [](const Row& r) {
    return !r.invoice.empty() && r.quantity > 0 &&
           std::all_of(r.invoice.begin(), r.invoice.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  std::map<std::pair<int64_t, std::string>, std::vector<const Row*>> purchases;
  for (const Row& r : rows) {
    if (isPurchase(r)) purchases[{r.customer, r.stock}].push_back(&r);
  }
  constexpr int64_t kWindow = 30 * 24 * 3600;
  for (const Row& c : rows) {
    if (c.invoice.empty() || c.invoice[0] != 'C') continue;
    const Row* best = nullptr;
    for (const Row* p : purchases[{c.customer, c.stock}]) {
      if (p->time > c.time || p->time < c.time - kWindow) continue;
      if (best == nullptr || std::make_pair(p->time, std::stoll(p->invoice)) >
                                 std::make_pair(best->time, std::stoll(best->invoice))) {
        best = p;
      }
    }
    if (best != nullptr) {
      o.cancellations.push_back(c.invoice + "," + best->invoice + "," + std::to_string(c.customer) +
                                "," + c.stock + "," + std::to_string(c.quantity) + "," +
                                std::to_string((c.time - best->time) / 60));
    } else {
      o.unmatchedCancellations.push_back(c.invoice + "," + std::to_string(c.customer) + "," +
                                         c.stock + "," + std::to_string(c.quantity));
    }
  }
  std::sort(o.cancellations.begin(), o.cancellations.end());
  std::sort(o.unmatchedCancellations.begin(), o.unmatchedCancellations.end());
}

// The expected outputs for the CSV files in `inputDir`, from SQLite.
Oracle computeOracle(const fs::path& inputDir) {
  fs::path work = tempDir("retail-oracle");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(inputDir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  {
    std::ofstream sql(work / "oracle.sql");
    sql << "CREATE TABLE sales(InvoiceNo TEXT, StockCode TEXT, Description TEXT, "
           "Quantity INTEGER, InvoiceDate TEXT, UnitPrice TEXT, CustomerID TEXT, Country TEXT);\n";
    for (const auto& f : files) sql << ".import --csv --skip 1 '" << f << "' sales\n";
    // Revenue in exact integer milli-cents: the price (at most 5 decimals) scaled and rounded
    // to an integer once, then multiplied by the integer quantity.
    sql << "CREATE TABLE lines AS SELECT InvoiceDate AS t, Country AS country, "
           "CustomerID AS customer, "
           "Quantity * CAST(round(CAST(UnitPrice AS REAL) * 100000) AS INTEGER) AS mc "
           "FROM sales;\n"
        << ".mode tabs\n.headers off\n"
        << ".output '" << (work / "hourly.tsv").string() << "'\n"
        << "SELECT strftime('%Y-%m-%d %H:00:00', t), strftime('%Y-%m-%d %H:00:00', t, '+1 hour'), "
           "country, count(*), sum(mc) FROM lines GROUP BY 1, 3;\n"
        << ".output '" << (work / "events.tsv").string() << "'\n"
        << "SELECT CAST(CAST(customer AS REAL) AS INTEGER), CAST(strftime('%s', t) AS INTEGER), mc "
           "FROM lines WHERE customer <> '' ORDER BY 1, 2;\n"
        << ".output '" << (work / "counts.tsv").string() << "'\n"
        << "SELECT count(*), sum(customer = '') FROM lines;\n"
        << ".output '" << (work / "cancel.tsv").string() << "'\n"
        << "SELECT InvoiceNo, StockCode, Quantity, CAST(strftime('%s', InvoiceDate) AS INTEGER), "
           "CAST(CAST(CustomerID AS REAL) AS INTEGER) FROM sales WHERE CustomerID <> '' AND "
           "(InvoiceNo GLOB 'C*' OR (InvoiceNo <> '' AND InvoiceNo NOT GLOB '*[^0-9]*' AND "
           "Quantity > 0));\n";
  }
  RunResult r = run("sqlite3 -batch :memory: < '" + (work / "oracle.sql").string() + "'");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(r.output, "") << "sqlite3 warned (malformed input for the oracle?)";

  Oracle o;
  std::ifstream hourly(work / "hourly.tsv");
  for (std::string line; std::getline(hourly, line);) {
    auto f = splitTabs(line);
    EXPECT_EQ(f.size(), 5u) << line;
    if (f.size() != 5) continue;
    o.hourly.push_back(f[0] + "," + f[1] + "," + f[2] + "," + f[3] + "," + money(std::stoll(f[4])));
  }
  // Sessions: a customer's events sorted by time; an event joins the session while it is not
  // after the session's end (last event + gap), as Flink merges [t, t + gap) windows that
  // intersect (touching windows merge).
  constexpr int64_t kGap = 30 * 60;
  std::ifstream events(work / "events.tsv");
  int64_t customer = -1, start = 0, end = 0, count = 0, revenue = 0;
  auto flush = [&] {
    if (count > 0) {
      o.sessions.push_back(std::to_string(customer) + "," + utc(start) + "," + utc(end) + "," +
                           std::to_string(count) + "," + money(revenue));
    }
  };
  for (std::string line; std::getline(events, line);) {
    auto f = splitTabs(line);
    EXPECT_EQ(f.size(), 3u) << line;
    if (f.size() != 3) continue;
    int64_t c = std::stoll(f[0]), t = std::stoll(f[1]), mc = std::stoll(f[2]);
    if (c != customer || t > end) {
      flush();
      customer = c;
      start = t;
      count = 0;
      revenue = 0;
    }
    end = t + kGap;
    ++count;
    revenue += mc;
  }
  flush();
  std::ifstream counts(work / "counts.tsv");
  std::string line;
  std::getline(counts, line);
  auto f = splitTabs(line);
  if (f.size() == 2) {
    o.rows = std::stoll(f[0]);
    o.rowsWithoutCustomer = std::stoll(f[1]);
  }
  std::sort(o.hourly.begin(), o.hourly.end());
  std::sort(o.sessions.begin(), o.sessions.end());
  bruteForceCancellations(work / "cancel.tsv", o);
  fs::remove_all(work);
  return o;
}

const Oracle& fullDataOracle() {
  static const Oracle oracle = computeOracle(retailDir());
  return oracle;
}

// The contents of the finished part files under `dir`; fails on unfinished (hidden) parts.
/// The part files under `dir`, concatenated in name order. With `committedOnly`, hidden
/// in-progress and pending part files (a killed run's) are skipped; otherwise any file not named
/// part-* is a test failure.
std::string readParts(const fs::path& dir, bool committedOnly = false) {
  std::string all;
  EXPECT_TRUE(fs::is_directory(dir)) << dir;
  if (!fs::is_directory(dir)) return all;
  std::vector<fs::path> parts;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    if (committedOnly && name[0] == '.') continue;
    EXPECT_EQ(name.rfind("part-", 0), 0u) << "unexpected file " << e.path();
    parts.push_back(e.path());
  }
  std::sort(parts.begin(), parts.end());
  for (const auto& p : parts) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    all += s.str();
  }
  return all;
}

std::vector<std::string> sortedLines(const fs::path& dir, bool committedOnly = false) {
  std::vector<std::string> lines;
  std::istringstream in(readParts(dir, committedOnly));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Both sorted; a short report of what differs.
::testing::AssertionResult sameLines(const std::vector<std::string>& expected,
                                     const std::vector<std::string>& actual) {
  if (expected == actual) return ::testing::AssertionSuccess();
  std::vector<std::string> missing, unexpected;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(unexpected));
  auto out = ::testing::AssertionFailure();
  out << expected.size() << " lines expected, " << actual.size() << " written; " << missing.size()
      << " missing, " << unexpected.size() << " unexpected";
  for (size_t i = 0; i < std::min<size_t>(missing.size(), 5); ++i) {
    out << "\n  missing:    " << missing[i];
  }
  for (size_t i = 0; i < std::min<size_t>(unexpected.size(), 5); ++i) {
    out << "\n  unexpected: " << unexpected[i];
  }
  return out;
}

// A number printed in the summary after `label`, or -1.
int64_t summaryValue(const std::string& output, const std::string& label) {
  size_t pos = output.find(label);
  if (pos == std::string::npos) return -1;
  return std::stoll(output.substr(output.find_first_of("0123456789", pos + label.size())));
}

class RetailAnalyticsTest : public ::testing::TestWithParam<int> {};

TEST_P(RetailAnalyticsTest, OutputsEqualTheSqliteOracle) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  const Oracle& oracle = fullDataOracle();
  ASSERT_EQ(oracle.rows, 541909);
  ASSERT_EQ(oracle.rowsWithoutCustomer, 135080);

  fs::path out = tempDir("retail") / "out";
  RunResult r = run(binary() + " --input '" + retailDir() + "' --output '" + out.string() +
                    "' -p " + std::to_string(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;

  EXPECT_TRUE(sameLines(oracle.hourly, sortedLines(out / "hourly_revenue")));
  EXPECT_TRUE(sameLines(oracle.sessions, sortedLines(out / "customer_sessions")));
  EXPECT_EQ(readParts(out / "dead_letters"), "");
  EXPECT_EQ(readParts(out / "late_events"), "");

  EXPECT_EQ(summaryValue(r.output, "rows read:"), oracle.rows) << r.output;
  EXPECT_EQ(summaryValue(r.output, "dead letters:"), 0) << r.output;
  EXPECT_EQ(summaryValue(r.output, "rows without customer:"), oracle.rowsWithoutCustomer)
      << r.output;
  EXPECT_EQ(summaryValue(r.output, "windows emitted:"),
            static_cast<int64_t>(oracle.hourly.size() + oracle.sessions.size()))
      << r.output;
  EXPECT_EQ(summaryValue(r.output, "late events:"), 0) << r.output;
  fs::remove_all(out.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Parallelism, RetailAnalyticsTest, ::testing::Values(1, 2, 4));

// Process crash: the job with a checkpoint every 100 ms is killed with SIGKILL after its third
// checkpoint and restarted with `-s latest:DIR` into the same output directory; its committed
// outputs must equal the oracle's exactly (nothing lost, nothing written twice).
TEST(RetailAnalyticsCrash, SigkillAndRestoreCommitsExactlyTheOraclesOutputs) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  const Oracle& oracle = fullDataOracle();
  fs::path root = tempDir("retail-crash");
  fs::path out = root / "out";
  fs::path checkpoints = root / "checkpoints";
  std::string command = binary() + " --input '" + retailDir() + "' --output '" + out.string() +
                        "' -p 2 -Dexecution.checkpointing.interval=100ms" +
                        " -Dexecution.checkpointing.dir='" + checkpoints.string() + "'";
  fs::path log = root / "first-run.log";
  ASSERT_TRUE(sluice::testing::runAndKillAfterCheckpoint(command, checkpoints, 3, log))
      << "not killed after its third checkpoint; its log:\n"
      << run("cat '" + log.string() + "'").output;

  RunResult r = run(command + " -s 'latest:" + checkpoints.string() + "'");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(sameLines(oracle.hourly, sortedLines(out / "hourly_revenue", true)));
  EXPECT_TRUE(sameLines(oracle.sessions, sortedLines(out / "customer_sessions", true)));
  EXPECT_TRUE(sameLines(oracle.cancellations, sortedLines(out / "cancellations", true)));
  EXPECT_TRUE(
      sameLines(oracle.unmatchedCancellations, sortedLines(out / "unmatched_cancellations", true)));
  EXPECT_EQ(readParts(out / "dead_letters", true), "");
  EXPECT_EQ(readParts(out / "late_events", true), "");
  fs::remove_all(root);
}

// Cancellations matched with purchases in event time, against the brute force over the same
// files: the daily files are read in parallel, so a key's rows arrive out of order.
class RetailCancellationsTest : public ::testing::TestWithParam<int> {};

TEST_P(RetailCancellationsTest, CancellationsEqualTheBruteForce) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  const Oracle& oracle = fullDataOracle();
  ASSERT_FALSE(oracle.cancellations.empty());
  ASSERT_FALSE(oracle.unmatchedCancellations.empty());

  fs::path out = tempDir("retail-cancel") / "out";
  RunResult r = run(binary() + " --input '" + retailDir() + "' --output '" + out.string() +
                    "' -p " + std::to_string(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(sameLines(oracle.cancellations, sortedLines(out / "cancellations")));
  EXPECT_TRUE(
      sameLines(oracle.unmatchedCancellations, sortedLines(out / "unmatched_cancellations")));
  EXPECT_EQ(summaryValue(r.output, "cancellations matched:"),
            static_cast<int64_t>(oracle.cancellations.size()))
      << r.output;
  EXPECT_EQ(summaryValue(r.output, "cancellations unmatched:"),
            static_cast<int64_t>(oracle.unmatchedCancellations.size()))
      << r.output;
  fs::remove_all(out.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Parallelism, RetailCancellationsTest, ::testing::Values(1, 2, 4));

struct Injection {
  size_t file;          // index among the copied files
  size_t afterLine;     // inserted after this line of the original (1 = the header)
  std::string raw;      // the malformed row
  std::string mention;  // a word the reason must contain
};

// Malformed rows injected into copies of three days: each must appear once in dead_letters/
// (file, line, raw as written), nowhere else, and the other outputs must equal the oracle of
// the untouched files.
TEST(RetailAnalyticsDeadLetters, MalformedRowsGoToDeadLettersOnly) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  std::vector<fs::path> originals;
  for (const auto& e : fs::directory_iterator(retailDir())) originals.push_back(e.path());
  std::sort(originals.begin(), originals.end());
  ASSERT_GE(originals.size(), 3u);
  originals.resize(3);

  const std::vector<Injection> injections = {
      {0, 6,
       "536365,85123A,\"WHITE HANGING HEART T-LIGHT HOLDER, \"\"BAD\"\"\",six,2010-12-01 "
       "08:26:00,2.55,17850.0,United Kingdom",
       "Quantity"},
      {0, 40, "536365,85123A,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,United Kingdom",
       "expected 8 fields"},
      {1, 2, "536600,22632,HAND WARMER RED POLKA DOT,6,2010-12-02 25:61:00,1.85,17850.0,France",
       "InvoiceDate"},
      {1, 100, "536601,22632,HAND WARMER,6,2010-02-30 10:00:00,1.85,17850.0,France", "InvoiceDate"},
      {1, 101, "536602,22632,HAND WARMER,6,2010-12-02 10:00:00,1.8.5,17850.0,France", "UnitPrice"},
      {2, 50, "536603,22632,HAND WARMER,6,2010-12-03 10:00:00,1.85,abc,France", "CustomerID"},
      {2, 51, "536604,\"BAD\"QUOTE,HAND WARMER,6,2010-12-03 10:00:00,1.85,,France",
       "closing quote"},
      {2, 52, "", "expected 8 fields"},
  };

  fs::path root = tempDir("retail-bad");
  fs::path clean = root / "clean", dirty = root / "dirty", out = root / "out";
  fs::create_directories(clean);
  fs::create_directories(dirty);
  // (file name, line) -> raw, for the rows expected in dead_letters/.
  std::map<std::pair<std::string, int64_t>, std::string> expected;
  for (size_t i = 0; i < originals.size(); ++i) {
    std::string name = originals[i].filename().string();
    fs::copy_file(originals[i], clean / name);
    std::ifstream in(originals[i], std::ios::binary);
    std::ofstream copy(dirty / name, std::ios::binary);
    size_t line = 0;
    int64_t written = 0;
    for (std::string text; std::getline(in, text);) {
      copy << text << '\n';
      ++line;
      ++written;
      for (const auto& inj : injections) {
        if (inj.file == i && inj.afterLine == line) {
          copy << inj.raw << '\n';
          expected[{name, ++written}] = inj.raw;
        }
      }
    }
  }
  ASSERT_EQ(expected.size(), injections.size());

  Oracle oracle = computeOracle(clean);
  RunResult r =
      run(binary() + " --input '" + dirty.string() + "' --output '" + out.string() + "' -p 2");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(sameLines(oracle.hourly, sortedLines(out / "hourly_revenue")));
  EXPECT_TRUE(sameLines(oracle.sessions, sortedLines(out / "customer_sessions")));
  EXPECT_EQ(readParts(out / "late_events"), "");

  // dead_letters/ is CSV (RFC 4180): file,line,reason,raw.
  std::string letters = readParts(out / "dead_letters");
  auto reader = sluice::CsvRecordReader::overString(letters);
  std::map<std::pair<std::string, int64_t>, std::string> found;
  while (reader.next()) {
    ASSERT_TRUE(reader.ok()) << reader.error() << ": " << reader.raw();
    ASSERT_EQ(reader.size(), 4u) << reader.raw();
    std::string file(reader[0]);
    int64_t line = std::stoll(std::string(reader[1]));
    std::string reason(reader[2]), raw(reader[3]);
    std::string name = fs::path(file).filename().string();
    EXPECT_EQ(fs::path(file).parent_path(), dirty) << reader.raw();
    EXPECT_TRUE(found.emplace(std::make_pair(name, line), raw).second) << "twice: " << reader.raw();
    for (const auto& inj : injections) {
      if (inj.raw == raw) {
        EXPECT_NE(reason.find(inj.mention), std::string::npos) << reason;
      }
    }
  }
  EXPECT_EQ(found, expected);
  EXPECT_EQ(summaryValue(r.output, "dead letters:"), static_cast<int64_t>(injections.size()))
      << r.output;
  EXPECT_EQ(summaryValue(r.output, "rows read:"),
            oracle.rows + static_cast<int64_t>(injections.size()))
      << r.output;
  fs::remove_all(root);
}

// An event far behind the others is late for its windows when the watermark has passed them:
// it must reach late_events/ (once per window output), not vanish. With a large enough
// --max-out-of-orderness, nothing is late and the outputs equal the oracle. Deterministic: the
// job's watermarks follow the events (one reader, watermarks in order with the records).
TEST(RetailAnalyticsLateEvents, LateEventsAreKeptNotDropped) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  std::vector<fs::path> originals;
  for (const auto& e : fs::directory_iterator(retailDir())) originals.push_back(e.path());
  std::sort(originals.begin(), originals.end());
  ASSERT_FALSE(originals.empty());
  fs::path root = tempDir("retail-late");
  fs::path moved = root / "moved", without = root / "without";
  fs::create_directories(moved);
  fs::create_directories(without);
  std::string name = originals[0].filename().string();
  std::vector<std::string> lines;
  {
    std::ifstream in(originals[0]);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_GT(lines.size(), 100u);
  std::string first = lines[1];  // the day's first row, moved to the end of the file
  {
    std::ofstream m(moved / name), w(without / name);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 1) continue;
      m << lines[i] << '\n';
      w << lines[i] << '\n';
    }
    m << first << '\n';
  }
  // The first row of 2010-12-01: 6 x 2.55 for customer 17850 in the United Kingdom at 08:26.
  ASSERT_EQ(first.find("536365,85123A,"), 0u) << first;

  fs::path out = root / "out0";
  RunResult r = run(binary() + " --input '" + moved.string() + "' --output '" + out.string() +
                    "' -p 1 --max-out-of-orderness 0");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  Oracle withoutFirst = computeOracle(without);
  EXPECT_TRUE(sameLines(withoutFirst.hourly, sortedLines(out / "hourly_revenue")));
  EXPECT_TRUE(sameLines(withoutFirst.sessions, sortedLines(out / "customer_sessions")));
  EXPECT_EQ(
      sortedLines(out / "late_events"),
      (std::vector<std::string>{"customer_sessions,2010-12-01 08:26:00,United Kingdom,17850,15.30",
                                "hourly_revenue,2010-12-01 08:26:00,United Kingdom,17850,15.30"}));
  EXPECT_EQ(summaryValue(r.output, "late events:"), 2) << r.output;

  out = root / "out3h";
  r = run(binary() + " --input '" + moved.string() + "' --output '" + out.string() +
          "' -p 2 --max-out-of-orderness 36000000");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  Oracle all = computeOracle(moved);
  EXPECT_TRUE(sameLines(all.hourly, sortedLines(out / "hourly_revenue")));
  EXPECT_TRUE(sameLines(all.sessions, sortedLines(out / "customer_sessions")));
  EXPECT_EQ(readParts(out / "late_events"), "");
  fs::remove_all(root);
}

TEST(RetailAnalyticsBadUsage, ErrorsAndExitCodes) {
  fs::path root = tempDir("retail-usage");
  // Usage errors: exit 2.
  EXPECT_EQ(run(binary() + " --input '" + retailDir() + "'").exitCode, 2);
  EXPECT_EQ(run(binary() + " --output '" + (root / "o").string() + "'").exitCode, 2);
  EXPECT_EQ(run(binary() + " --input '" + retailDir() + "' --output '" + (root / "o").string() +
                "' --max-out-of-orderness -5")
                .exitCode,
            2);
  EXPECT_EQ(run(binary() + " --input x --output y --frobnicate").exitCode, 2);
  // Input and output errors: exit 1 with a message that names the path.
  RunResult missing =
      run(binary() + " --input /nonexistent/retail --output '" + (root / "o").string() + "'");
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.output.find("/nonexistent/retail"), std::string::npos) << missing.output;
  fs::create_directories(root / "full");
  std::ofstream(root / "full" / "old.csv") << "x\n";
  RunResult full =
      run(binary() + " --input '" + retailDir() + "' --output '" + (root / "full").string() + "'");
  EXPECT_EQ(full.exitCode, 1);
  EXPECT_NE(full.output.find("not empty"), std::string::npos) << full.output;
  fs::remove_all(root);
}

}  // namespace
