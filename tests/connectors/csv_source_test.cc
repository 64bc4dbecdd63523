// CsvSource: whole jobs over generated CSV files with injected malformed records, the
// bad-record side output, failures, and the real retail data set.

#include "sluice/connectors/csv_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "connector_test_util.h"

namespace sluice {
// Row types live outside the anonymous namespace: with them inside, GCC 12 devirtualizes
// WatermarksWithIdleness<T>::onEvent into a false -Winfinite-recursion.
namespace csv_test {

struct Order {
  std::string id;
  int64_t quantity = 0;
  double price = 0;
  std::optional<std::string> note;
  auto operator<=>(const Order&) const = default;
  bool operator==(const Order&) const = default;
};

struct Reading {
  std::string sensor;
  std::optional<int> value;
  bool operator==(const Reading&) const = default;
};

/// A row of the retail data set.
struct RetailRow {
  std::string invoiceNo, stockCode, description;
  int64_t quantity = 0;
  std::string invoiceDate;
  double unitPrice = 0;
  std::optional<double> customerId;
  std::string country;
};

/// A row that also wants to know where it came from: FileMetadata takes no column.
struct Located {
  std::string id;
  FileMetadata origin;
  int64_t quantity = 0;
};

}  // namespace csv_test

namespace {

using csv_test::Order;
using csv_test::Reading;
using csv_test::RetailRow;

using namespace sluice::testing;

/// A bad record the generator injected, with a part of the reason it must carry.
struct ExpectedBad {
  std::string file;
  int64_t line = 0;
  std::string raw;
  std::string reasonPart;
};

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string dataDir() {
  const char* d = std::getenv("SLUICE_DATA_DIR");
  return d != nullptr ? d : "/work/shared/data";
}

std::string quoted(const std::string& v) {
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string shortest(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

/// Writes one CSV file row by row, tracking on which line each row starts.
class FileBuilder {
 public:
  FileBuilder(fs::path path, bool crlf) : path_(std::move(path)), eol_(crlf ? "\r\n" : "\n") {}
  /// Appends `text` and a line end; returns the line it starts on.
  int64_t row(const std::string& text) {
    int64_t start = line_;
    content_ += text + eol_;
    line_ += 1 + std::count(text.begin(), text.end(), '\n');
    return start;
  }
  /// Appends `text` without a line end (the end of the file).
  int64_t tail(const std::string& text) {
    content_ += text;
    return line_;
  }
  void write(bool gzip) { writeFile(path_, gzip ? gzipBytes(content_) : content_); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
  std::string eol_;
  std::string content_;
  int64_t line_ = 1;
};

struct Dataset {
  std::vector<Order> good;
  std::vector<ExpectedBad> bad;
};

/// Files under `dir` with a header, well-formed rows (quoted where needed) and, when
/// `injectBad`, malformed records of every kind at random places.
Dataset generate(const TempDir& dir, bool injectBad) {
  std::mt19937 rng(7);
  Dataset d;
  const std::vector<std::optional<std::string>> notes = {
      std::nullopt,        "plain",
      "with, comma",       "with \"quote\"",
      "multi\nline\nnote", "RECORD FRAME 7\" SINGLE SIZE ",
      "crlf\r\ninside",    "  spaces  "};
  struct Spec {
    std::string name;
    int rows;
    bool crlf;
    bool gzip;
  };
  const std::vector<Spec> specs = {{"a.csv", 3000, false, false},
                                   {"sub/b.csv", 40000, false, false},  // > the 1 MiB buffer
                                   {"sub/deeper/c.csv", 500, true, false},
                                   {"d.csv.gz", 5000, true, true},
                                   {"header-only.csv", 0, false, false},
                                   {"f.csv", 1, false, false}};
  for (size_t fi = 0; fi < specs.size(); ++fi) {
    const Spec& spec = specs[fi];
    FileBuilder file(dir / spec.name, spec.crlf);
    file.row("id,quantity,price,note");
    for (int i = 0; i < spec.rows; ++i) {
      Order o;
      o.id = "o-" + std::to_string(fi) + "-" + std::to_string(i);
      if (rng() % 50 == 0) o.id += ", \"special\"";
      o.quantity = static_cast<int64_t>(rng() % 2001) - 1000;
      o.price = static_cast<double>(rng() % 100000) / 100.0;
      o.note = notes[rng() % notes.size()];
      bool quoteAll = rng() % 10 == 0;
      auto field = [&](const std::string& v) {
        return quoteAll || v.find_first_of(",\"\r\n") != std::string::npos ? quoted(v) : v;
      };
      file.row(field(o.id) + "," + field(std::to_string(o.quantity)) + "," +
               field(shortest(o.price)) + "," + (o.note ? field(*o.note) : ""));
      d.good.push_back(o);
      if (!injectBad || rng() % 97 != 0) continue;
      auto bad = [&](const std::string& raw, const std::string& reason) {
        d.bad.push_back({file.path(), file.row(raw), raw, reason});
      };
      switch (rng() % 7) {
        case 0:
          bad("o-x,1,2.5", "expected 4 fields, found 3");
          break;
        case 1:
          bad("o-x,abc,1.0,", "field 2 (quantity): 'abc' is not an integer");
          break;
        case 2:
          bad("o-x,1,2\"5,n", "unexpected '\"' inside the unquoted field 3");
          break;
        case 3:
          bad("\"o-x\"y,1,2,n", "unexpected 'y' after the closing quote of field 1");
          break;
        case 4:
          bad("", "expected 4 fields, found 1 (an empty line)");
          break;
        case 5:
          bad("\"o-\nx\",1,notanumber,\"multi\nline\"", "field 3 (price): 'notanumber'");
          break;
        default:
          bad("o-x,1,2.5,n,extra,\"fields, too\"", "expected 4 fields, found 6");
          break;
      }
    }
    if (injectBad && spec.name == "f.csv") {
      std::string raw = "o-end,1,2,\"never closed\nmore, stuff\n";
      d.bad.push_back({file.path(), file.tail(raw), raw, "unterminated quoted field 4"});
    }
    file.write(spec.gzip);
  }
  writeFile(dir / "_SUCCESS", "");                // hidden: skipped
  writeFile(dir / ".hidden.csv", "not,a,csv\n");  // hidden: skipped
  return d;
}

struct JobOutput {
  std::vector<Order> good;
  std::vector<BadRecord> bad;
};

enum class BadRecordMode { kNone, kSideOutput, kTagNotConsumed };

JobOutput runJob(const std::vector<std::string>& paths, int parallelism, BadRecordMode mode) {
  auto env = makeEnv(parallelism);
  OutputTag<BadRecord> tag("bad-records");
  auto builder = CsvSource<Order>::forPaths(paths).withHeader();
  if (mode != BadRecordMode::kNone) builder.withBadRecords(tag);
  auto orders = env->fromSource<Order, FileSourceSplit>(builder.build(), "CSV Source");
  auto good = std::make_shared<std::vector<Order>>();
  auto bad = std::make_shared<std::vector<BadRecord>>();
  orders.sinkTo(std::make_shared<VectorSink<Order>>(good));
  if (mode == BadRecordMode::kSideOutput) {
    orders.getSideOutput(tag).sinkTo(std::make_shared<VectorSink<BadRecord>>(bad));
  }
  env->execute("csv source test");
  return {*good, *bad};
}

template <typename T>
std::vector<T> sortedCopy(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class CsvSourceJobTest : public ::testing::TestWithParam<int> {};

TEST_P(CsvSourceJobTest, WellFormedRowsAndNoBadRecords) {
  TempDir dir;
  Dataset d = generate(dir, false);
  JobOutput out = runJob({dir.str()}, GetParam(), BadRecordMode::kSideOutput);
  EXPECT_EQ(out.good.size(), d.good.size());
  EXPECT_TRUE(sortedCopy(out.good) == sortedCopy(d.good));
  EXPECT_TRUE(out.bad.empty());
  // Without a side output too: nothing is malformed, nothing fails.
  EXPECT_EQ(runJob({dir.str()}, GetParam(), BadRecordMode::kNone).good.size(), d.good.size());
}

TEST_P(CsvSourceJobTest, MalformedRowsGoToTheSideOutput) {
  TempDir dir;
  Dataset d = generate(dir, true);
  ASSERT_GT(d.bad.size(), 20u);
  JobOutput out = runJob({dir.str()}, GetParam(), BadRecordMode::kSideOutput);
  EXPECT_EQ(out.good.size(), d.good.size());
  EXPECT_TRUE(sortedCopy(out.good) == sortedCopy(d.good));

  ASSERT_EQ(out.bad.size(), d.bad.size());
  auto key = [](const std::string& file, int64_t line) {
    return file + ":" + std::to_string(line);
  };
  std::map<std::string, const BadRecord*> byPlace;
  for (const auto& b : out.bad) byPlace[key(b.file, b.line)] = &b;
  for (const auto& e : d.bad) {
    auto it = byPlace.find(key(e.file, e.line));
    ASSERT_NE(it, byPlace.end()) << "missing bad record " << key(e.file, e.line);
    EXPECT_EQ(it->second->raw, e.raw) << key(e.file, e.line);
    EXPECT_NE(it->second->reason.find(e.reasonPart), std::string::npos)
        << key(e.file, e.line) << ": " << it->second->reason;
  }
}

TEST_P(CsvSourceJobTest, MalformedRowWithoutSideOutputFailsTheJob) {
  TempDir dir;
  Dataset d = generate(dir, true);
  std::string msg = errorOf([&] { runJob({dir.str()}, GetParam(), BadRecordMode::kNone); });
  ASSERT_FALSE(msg.empty());
  bool namesABadRecord = false;
  for (const auto& e : d.bad) {
    if (msg.find("Malformed CSV record in " + e.file + " at line " + std::to_string(e.line) + ": " +
                 e.reasonPart) != std::string::npos) {
      namesABadRecord = true;
    }
  }
  EXPECT_TRUE(namesABadRecord) << msg;
  EXPECT_NE(msg.find("withBadRecords"), std::string::npos) << msg;
  if (GetParam() == 1) {  // one reader: the first bad record in reading order
    EXPECT_NE(msg.find(d.bad.front().file + " at line " + std::to_string(d.bad.front().line)),
              std::string::npos)
        << msg;
  }
}

TEST_P(CsvSourceJobTest, UnconsumedSideOutputFailsTheJob) {
  TempDir dir;
  Dataset d = generate(dir, true);
  std::string msg =
      errorOf([&] { runJob({dir.str()}, GetParam(), BadRecordMode::kTagNotConsumed); });
  EXPECT_NE(msg.find("Malformed CSV record in "), std::string::npos) << msg;
  EXPECT_NE(msg.find("side output 'bad-records'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not consume it"), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(Parallelism, CsvSourceJobTest, ::testing::Values(1, 4));

// A malformed row fails the same way on every attempt: with checkpointing on, the default restart
// strategy (exponential-delay, unlimited attempts) would retry it forever. It fails the job at
// once instead, naming file, line and record.
TEST(CsvSource, MalformedRowWithCheckpointingFailsAtOnceWithoutRestarts) {
  TempDir dir;
  const std::string path = (dir / "orders.csv").string();
  writeFile(path, "id,quantity,price,note\na1,2,2.5,x\na2,two,1.0,y\na3,1,1.0,z\n");
  Configuration config;
  config.set("execution.checkpointing.interval", "50ms");
  config.set("execution.checkpointing.dir", (dir / "checkpoints").string());
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(config);
  env->setParallelism(2);
  env->fromSource<Order, FileSourceSplit>(CsvSource<Order>::forPaths({path}).withHeader().build(),
                                          "CSV Source")
      .sinkTo(std::make_shared<VectorSink<Order>>(std::make_shared<std::vector<Order>>()));
  auto client = env->executeAsync("malformed row");
  const std::string msg = errorOf([&] { client->getJobExecutionResult(); });
  EXPECT_NE(msg.find("Malformed CSV record in " + path + " at line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a2,two,1.0,y"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not restarted"), std::string::npos) << msg;
  EXPECT_EQ(client->numberOfRestarts(), 0);
  EXPECT_EQ(client->getJobStatus(), JobStatus::kFailed);
}

// Each record knows its file and starting line, as Flink SQL's `file.path` metadata column,
// across files, after a multi-line quoted record and a header, at parallelism 1 and 2.
TEST(CsvSource, FileMetadataFieldsGetTheRecordsFileAndLine) {
  TempDir dir;
  const std::string a = (dir / "a.csv").string();
  const std::string b = (dir / "b.csv").string();
  writeFile(a, "id,quantity\nx1,1\n\"x\n2\",2\nx3,3\n");
  writeFile(b, "id,quantity\ny1,4\n");
  std::map<std::string, std::pair<std::string, int64_t>> expected = {
      {"x1", {a, 2}}, {"x\n2", {a, 3}}, {"x3", {a, 5}}, {"y1", {b, 2}}};
  for (int parallelism : {1, 2}) {
    auto env = makeEnv(parallelism);
    auto rows = std::make_shared<std::vector<csv_test::Located>>();
    env->fromSource<csv_test::Located, FileSourceSplit>(
           CsvSource<csv_test::Located>::forPaths({dir.str()}).withHeader().build(), "CSV")
        .sinkTo(std::make_shared<VectorSink<csv_test::Located>>(rows));
    env->execute("file metadata");
    ASSERT_EQ(rows->size(), expected.size());
    for (const auto& r : *rows) {
      ASSERT_TRUE(expected.count(r.id)) << r.id;
      EXPECT_EQ(r.origin.path, expected[r.id].first) << r.id;
      EXPECT_EQ(r.origin.line, expected[r.id].second) << r.id;
    }
  }
}

TEST(CsvSource, DelimiterColumnNamesAndNoHeader) {
  TempDir dir;
  writeFile(dir / "r.csv", "s1;5\n\"s;2\";\ns3;x\n");
  auto env = makeEnv(1);
  OutputTag<BadRecord> tag("bad");
  auto source = CsvSource<Reading>::forPaths({dir.str()})
                    .withDelimiter(';')
                    .withColumnNames({"sensor", "value"})
                    .withBadRecords(tag)
                    .build();
  auto stream = env->fromSource<Reading, FileSourceSplit>(source, "readings");
  auto good = std::make_shared<std::vector<Reading>>();
  auto bad = std::make_shared<std::vector<BadRecord>>();
  stream.sinkTo(std::make_shared<VectorSink<Reading>>(good));
  stream.getSideOutput(tag).sinkTo(std::make_shared<VectorSink<BadRecord>>(bad));
  env->execute("readings");
  EXPECT_EQ(*good, (std::vector<Reading>{{"s1", 5}, {"s;2", std::nullopt}}));
  ASSERT_EQ(bad->size(), 1u);
  EXPECT_EQ((*bad)[0], (BadRecord{(dir / "r.csv").string(), 3,
                                  "field 2 (value): 'x' is not an integer", "s3;x"}));
}

TEST(CsvSource, MalformedHeaderIsABadRecord) {
  TempDir dir;
  writeFile(dir / "h.csv", "sensor,\"value\nnever closed\n");
  auto env = makeEnv(1);
  auto stream = env->fromSource<Reading, FileSourceSplit>(
      CsvSource<Reading>::forPaths({dir.str()}).withHeader().build(), "readings");
  stream.sinkTo(std::make_shared<VectorSink<Reading>>(std::make_shared<std::vector<Reading>>()));
  std::string msg = errorOf([&] { env->execute("readings"); });
  EXPECT_NE(msg.find("at line 1: unterminated quoted field 2"), std::string::npos) << msg;
}

TEST(CsvSource, ConstructionErrorsAsFileSource) {
  TempDir dir;
  std::string missing = (dir / "missing.csv").string();
  std::string msg = errorOf([&] { CsvSource<Order>::forPaths({missing}).build(); });
  EXPECT_NE(msg.find("Input path does not exist: " + missing), std::string::npos) << msg;

  fs::create_directories(dir / "empty");
  msg = errorOf([&] { CsvSource<Order>::forPaths({(dir / "empty").string()}).build(); });
  EXPECT_NE(msg.find("No input files found under"), std::string::npos) << msg;

  writeFile(dir / "fake.gz", "id,quantity\n");
  msg = errorOf([&] { CsvSource<Order>::forPaths({(dir / "fake.gz").string()}).build(); });
  EXPECT_NE(msg.find("Not a gzip file: " + (dir / "fake.gz").string()), std::string::npos) << msg;

  EXPECT_THROW(CsvSource<Order>::forPaths({}).build(), SluiceException);
  writeFile(dir / "ok.csv", "a,1,2,\n");
  EXPECT_THROW(CsvSource<Order>::forPaths({dir.str() + "/ok.csv"}).withDelimiter('"').build(),
               SluiceException);
}

TEST(CsvSource, CorruptGzipFailsTheJobNamingTheFile) {
  TempDir dir;
  std::string content = "id,quantity,price,note\n";
  for (int i = 0; i < 20000; ++i) content += "o-" + std::to_string(i) + ",1,2.5,\n";
  std::string corrupt = gzipBytes(content);
  std::mt19937 rng(3);
  for (size_t i = 20; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(rng());
  writeFile(dir / "corrupt.csv.gz", corrupt);
  std::string path = (dir / "corrupt.csv.gz").string();
  std::string msg = errorOf([&] { runJob({path}, 1, BadRecordMode::kSideOutput); });
  EXPECT_NE(msg.find("Corrupt gzip data in " + path), std::string::npos) << msg;
}

/// Counts retail rows without keeping them.
struct RetailStats {
  std::atomic<int64_t> rows{0};
  std::atomic<int64_t> noCustomer{0};
  std::atomic<int64_t> cancellations{0};
  std::atomic<int64_t> cancellationsWithPositiveQuantity{0};
  std::atomic<int64_t> negativeQuantity{0};
  std::atomic<int64_t> descriptionsWithQuote{0};
};

class RetailStatsSink final : public Sink<RetailRow> {
 public:
  explicit RetailStatsSink(std::shared_ptr<RetailStats> stats) : stats_(std::move(stats)) {}
  std::unique_ptr<SinkWriter<RetailRow>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<Writer>(stats_);
  }

 private:
  struct Writer final : SinkWriter<RetailRow> {
    explicit Writer(std::shared_ptr<RetailStats> s) : stats(std::move(s)) {}
    void write(const RetailRow& r, const SinkContext&) override {
      ++stats->rows;
      if (!r.customerId) ++stats->noCustomer;
      if (!r.invoiceNo.empty() && r.invoiceNo[0] == 'C') {
        ++stats->cancellations;
        if (r.quantity > 0) ++stats->cancellationsWithPositiveQuantity;
      }
      if (r.quantity < 0) ++stats->negativeQuantity;
      if (r.description.find('"') != std::string::npos) ++stats->descriptionsWithQuote;
    }
    std::shared_ptr<RetailStats> stats;
  };
  std::shared_ptr<RetailStats> stats_;
};

TEST(CsvSource, ReadsTheRetailDataSet) {
  std::string byDay = dataDir() + "/retail/by-day";
  if (!fs::is_directory(byDay)) GTEST_SKIP() << "no data at " << byDay;
  auto env = makeEnv(4);
  OutputTag<BadRecord> tag("bad");
  auto rows = env->fromSource<RetailRow, FileSourceSplit>(
      CsvSource<RetailRow>::forPaths({byDay}).withHeader().withBadRecords(tag).build(), "retail");
  auto stats = std::make_shared<RetailStats>();
  auto bad = std::make_shared<std::vector<BadRecord>>();
  rows.sinkTo(std::make_shared<RetailStatsSink>(stats));
  rows.getSideOutput(tag).sinkTo(std::make_shared<VectorSink<BadRecord>>(bad));
  env->execute("retail");
  EXPECT_EQ(FileSource::listFiles({byDay}).size(), 305u);
  EXPECT_EQ(stats->rows.load(), 541909);
  EXPECT_TRUE(bad->empty()) << bad->size() << " bad records, first: " << bad->front().file << ":"
                            << bad->front().line << ": " << bad->front().reason;
  EXPECT_EQ(stats->noCustomer.load(), 135080);
  // The data README says 10,624 rows are cancellations whose InvoiceNo starts with 'C'; in the
  // files (checked with Python's csv module) 9,288 InvoiceNos start with 'C' and 10,624 rows
  // have a negative Quantity, a superset: the README conflates the two counts.
  EXPECT_EQ(stats->cancellations.load(), 9288);
  EXPECT_EQ(stats->negativeQuantity.load(), 10624);
  EXPECT_EQ(stats->cancellationsWithPositiveQuantity.load(), 0);
  EXPECT_GT(stats->descriptionsWithQuote.load(), 0);  // doubled quotes were unescaped
}

}  // namespace
}  // namespace sluice
