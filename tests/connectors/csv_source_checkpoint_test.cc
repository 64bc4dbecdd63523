// CsvSource reader positions for checkpoints: a reader snapshotted at many points (every record
// boundary of small edge-case files, random ones of the real retail data, plain and gzip, also
// across read-buffer boundaries) plus fresh readers restored from the snapshot (also with the
// splits redistributed over another number of readers) emit exactly the records of an
// uninterrupted read, bad records and error messages included, with the same line numbers and
// byte offsets. Oracles: a brute-force RFC 4180 parse written here (no code shared with
// CsvRecordReader), the generator's own bookkeeping of lines and offsets, and the uninterrupted
// read. The split enumerator's remaining splits survive a snapshot and restore too.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "connector_test_util.h"
#include "sluice/connectors/csv_source.h"
#include "sluice/core/data_view.h"
#include "sluice/core/type_serializer.h"

namespace sluice {
// Row types outside the anonymous namespace (see csv_source_test.cc: GCC 12 false warning).
namespace csv_checkpoint_test {

/// A retail row with every field as text, so that every well-formed record parses.
struct RetailText {
  std::string invoiceNo, stockCode, description, quantity, invoiceDate, unitPrice, customerId,
      country;
  bool operator==(const RetailText&) const = default;
};

/// The row of the synthetic files: a bad record when `n` is not an integer or the field count
/// is not 3.
struct Triple {
  std::string id;
  std::string text;
  int64_t n = 0;
  bool operator==(const Triple&) const = default;
};

}  // namespace csv_checkpoint_test

namespace {

using csv_checkpoint_test::RetailText;
using csv_checkpoint_test::Triple;
using namespace sluice::testing;

std::string dataDir() {
  const char* d = std::getenv("SLUICE_DATA_DIR");
  return d != nullptr ? d : std::string(SLUICE_SOURCE_DIR) + "/../shared/data";
}

std::string retailDir() { return dataDir() + "/retail/by-day"; }

// ---- the oracle: a brute-force RFC 4180 parse -------------------------------------------------

struct OracleRecord {
  int64_t offset = 0;  ///< content offset of the record's first byte
  int64_t line = 0;    ///< 1-based line it starts on
  std::vector<std::string> fields;
  std::string raw;  ///< without its line end
};

/// Every record of well-formed CSV `content`, one character at a time: a UTF-8 byte order mark
/// at offset 0 is skipped; a record ends at LF (a CR right before it, or at the very end, is
/// dropped); '"' opens a quoted field only at a field's start, '""' inside one is a '"'; an
/// empty line is a record of one empty field; a last line needs no LF.
std::vector<OracleRecord> bruteForceParse(const std::string& content) {
  std::vector<OracleRecord> out;
  size_t i = content.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int64_t line = 1;
  const size_t n = content.size();
  while (i < n) {
    OracleRecord r;
    r.offset = static_cast<int64_t>(i);
    r.line = line;
    const size_t start = i;
    std::string field;
    bool quoted = false;
    bool fieldStart = true;
    size_t rawEnd = n;
    while (i < n) {
      char c = content[i];
      if (quoted) {
        if (c == '"' && i + 1 < n && content[i + 1] == '"') {
          field += '"';
          i += 2;
        } else if (c == '"') {
          quoted = false;
          ++i;
        } else {
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        continue;
      }
      if (c == '"' && fieldStart) {
        quoted = true;
        fieldStart = false;
        ++i;
        continue;
      }
      fieldStart = false;
      if (c == '\r' && (i + 1 == n || content[i + 1] == '\n')) {
        ++i;
        continue;
      }
      if (c == ',') {
        r.fields.push_back(field);
        field.clear();
        fieldStart = true;
        ++i;
        continue;
      }
      if (c == '\n') {
        rawEnd = i;
        ++i;
        ++line;
        break;
      }
      field += c;
      ++i;
    }
    r.fields.push_back(field);
    r.raw = content.substr(start, rawEnd - start);
    if (!r.raw.empty() && r.raw.back() == '\r') r.raw.pop_back();
    out.push_back(std::move(r));
  }
  return out;
}

RetailText toRetail(const std::vector<std::string>& f) {
  EXPECT_EQ(f.size(), 8u);
  if (f.size() != 8) return {};
  return RetailText{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
}

// ---- harness ------------------------------------------------------------------------------------

template <typename T>
struct CollectOutput final : Output<T> {
  void collect(const T& value, Timestamp) override { values.push_back(value); }
  void emitWatermark(Watermark) override {}
  void emitWatermarkStatus(bool) override {}
  std::vector<T> values;
};

struct NoEnumerator final : SourceReaderContext {
  int getIndexOfSubtask() const override { return 0; }
  int currentParallelism() const override { return 1; }
  void sendSplitRequest() override {}
};

/// The splits as a checkpoint stores them: through TypeSerializer and back.
std::vector<FileSourceSplit> throughCheckpoint(const std::vector<FileSourceSplit>& splits) {
  DataOutputView out;
  TypeSerializer<std::vector<FileSourceSplit>>::serialize(splits, out);
  return deserializeFromBytes<std::vector<FileSourceSplit>>(out.data(), out.size());
}

/// One typed reader with its main and bad-record outputs.
template <typename T>
struct Reader {
  Reader(const CsvSource<T>& source, const std::optional<OutputTag<BadRecord>>& tag)
      : reader(source.createReader(context)) {
    if (tag) sides[tag->id] = &bad;
    output = ReaderOutput<T>(&main, &sides);
  }
  InputStatus poll() { return reader->pollNext(output); }
  void drain() {
    while (poll() != InputStatus::kEndOfInput) {
    }
  }
  NoEnumerator context;
  CollectOutput<T> main;
  CollectOutput<BadRecord> bad;
  std::map<std::string, OutputBase*> sides;
  ReaderOutput<T> output;
  std::unique_ptr<SourceReader<T, FileSourceSplit>> reader;
};

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---- typed readers over the real retail data --------------------------------------------------

/// A file of the data set with its oracle records (header included as record 0).
struct OracleFile {
  std::string path;
  int64_t size = 0;  ///< content bytes (decompressed)
  std::vector<OracleRecord> records;
};

/// Rows of `file` (the header skipped) whose record starts in [from, to).
std::vector<RetailText> rowsBetween(const OracleFile& file, int64_t from, int64_t to) {
  std::vector<RetailText> rows;
  for (size_t i = 1; i < file.records.size(); ++i) {
    const OracleRecord& r = file.records[i];
    if (r.offset >= from && r.offset < to) rows.push_back(toRetail(r.fields));
  }
  return rows;
}

class RetailCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
    std::vector<std::string> days = FileSource::listFiles({retailDir()});
    ASSERT_GE(days.size(), 24u);
    // One file of 12 days (> 1 MiB, so reads cross the reader's buffer boundary), plain and
    // gzip, and single days, plain (read in place) and gzip.
    std::string big;
    for (size_t i = 0; i < 12; ++i) {
      std::string day = readFile(days[i]);
      if (i > 0) day.erase(0, day.find('\n') + 1);  // one header
      big += day;
    }
    ASSERT_GT(big.size(), size_t{1} << 21);
    writeFile(dir_ / "retail.csv", big);
    writeFile(dir_ / "retail.csv.gz", gzipBytes(big));
    add((dir_ / "retail.csv").string(), big);
    add((dir_ / "retail.csv.gz").string(), big);
    for (size_t i = 12; i < 24; ++i) {
      std::string day = readFile(days[i]);
      if (i % 2 == 0) {
        add(days[i], day);
      } else {
        std::string gz = (dir_ / (fs::path(days[i]).filename().string() + ".gz")).string();
        writeFile(gz, gzipBytes(day));
        add(gz, day);
      }
    }
  }
  void add(const std::string& path, const std::string& content) {
    OracleFile f{path, static_cast<int64_t>(content.size()), bruteForceParse(content)};
    ASSERT_GT(f.records.size(), 100u);
    for (const auto& r : f.records) ASSERT_EQ(r.fields.size(), 8u) << path << ":" << r.line;
    files_.push_back(std::move(f));
  }
  const OracleFile& file(const std::string& path) const {
    for (const auto& f : files_) {
      if (f.path == path) return f;
    }
    ADD_FAILURE() << "unknown split path " << path;
    return files_.front();
  }
  /// Asserts that `offset` is where a record starts in `f` (not its header), or the end.
  ::testing::AssertionResult isRecordBoundary(const OracleFile& f, int64_t offset) const {
    if (offset == 0 || offset == f.size) return ::testing::AssertionSuccess();
    for (size_t i = 1; i < f.records.size(); ++i) {
      if (f.records[i].offset == offset) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "offset " << offset << " of " << f.path << " is not the start of a record";
  }

  TempDir dir_;
  std::vector<OracleFile> files_;
};

// R readers read the files dealt out round robin for a random number of polls each; their
// snapshots go through TypeSerializer, are dealt out in contiguous ranges (as operator list
// state is redistributed) to M fresh readers, which read to the end. Each reader before emitted
// exactly the records before its snapshot offsets, each reader after exactly those from the
// offsets of its splits on, and every offset is a record boundary: together every record of
// every file once, in file order.
TEST_F(RetailCheckpoint, RestoredReadersEmitExactlyTheRemainingRecordsAtAnyParallelism) {
  auto source = CsvSource<RetailText>::forPaths({dir_.str()}).withHeader().build();
  std::mt19937 rng(20240611);
  int64_t midFileSnapshots = 0;
  for (int round = 0; round < 40; ++round) {
    const int before = 1 + static_cast<int>(rng() % 3);
    const int after = 1 + static_cast<int>(rng() % 4);
    SCOPED_TRACE("round " + std::to_string(round) + ": " + std::to_string(before) + " -> " +
                 std::to_string(after) + " readers");
    std::vector<std::vector<std::string>> assigned(before);
    for (size_t i = 0; i < files_.size(); ++i) assigned[i % before].push_back(files_[i].path);

    std::vector<FileSourceSplit> checkpoint;
    for (int r = 0; r < before; ++r) {
      Reader<RetailText> reader(*source, std::nullopt);
      std::vector<FileSourceSplit> splits;
      for (size_t i = 0; i < assigned[r].size(); ++i) {
        splits.push_back(FileSourceSplit{std::to_string(i), assigned[r][i], 0});
      }
      reader.reader->addSplits(splits);
      reader.reader->notifyNoMoreSplits();
      // Up to a little past the end of this reader's files (~1024 records per poll).
      int polls = static_cast<int>(rng() % (8 + 8 * files_.size() / before));
      bool ended = false;
      for (int p = 0; p < polls && !ended; ++p) ended = reader.poll() == InputStatus::kEndOfInput;
      std::vector<FileSourceSplit> snapshot = reader.reader->snapshotState(round + 1);
      reader.reader->close();

      // Where each file of this reader stands: finished ones are not in the snapshot.
      std::map<std::string, int64_t> cut;
      for (const auto& s : snapshot) {
        const OracleFile& f = file(s.path);
        EXPECT_TRUE(isRecordBoundary(f, s.offset));
        EXPECT_TRUE(cut.emplace(s.path, s.offset).second) << "split twice: " << s.path;
        if (s.offset > 0) ++midFileSnapshots;
      }
      std::vector<RetailText> expected;
      for (const auto& path : assigned[r]) {
        auto it = cut.find(path);
        auto rows = rowsBetween(file(path), 0,
                                it == cut.end() ? std::numeric_limits<int64_t>::max() : it->second);
        expected.insert(expected.end(), rows.begin(), rows.end());
      }
      ASSERT_EQ(reader.main.values.size(), expected.size()) << "reader " << r << " before";
      ASSERT_TRUE(reader.main.values == expected) << "reader " << r << " before";
      checkpoint.insert(checkpoint.end(), snapshot.begin(), snapshot.end());
    }

    checkpoint = throughCheckpoint(checkpoint);
    const size_t n = checkpoint.size();
    size_t next = 0;
    for (int j = 0; j < after; ++j) {
      size_t count = n / after + (static_cast<size_t>(j) < n % after ? 1 : 0);
      std::vector<FileSourceSplit> mine(checkpoint.begin() + next,
                                        checkpoint.begin() + next + count);
      next += count;
      std::vector<RetailText> expected;
      for (const auto& s : mine) {
        auto rows = rowsBetween(file(s.path), s.offset, std::numeric_limits<int64_t>::max());
        expected.insert(expected.end(), rows.begin(), rows.end());
      }
      Reader<RetailText> restored(*source, std::nullopt);
      restored.reader->addSplits(mine);
      restored.reader->notifyNoMoreSplits();
      restored.drain();
      ASSERT_EQ(restored.main.values.size(), expected.size()) << "reader " << j << " after";
      ASSERT_TRUE(restored.main.values == expected) << "reader " << j << " after";
      EXPECT_TRUE(restored.reader->snapshotState(100).empty());
    }
  }
  EXPECT_GT(midFileSnapshots, 20) << "too few snapshots inside a file: the test proves little";
}

// CsvSplitReader steps one record at a time, so a snapshot can fall after any record: at random
// points of the 12-day file (plain and gzip, across the 1 MiB buffer), the records (fields,
// line, offset, raw) before plus those of a restored reader equal the brute-force parse.
TEST_F(RetailCheckpoint, SplitReaderResumesAfterAnyRecord) {
  CsvSourceOptions o;
  o.paths = {dir_.str()};
  o.header = true;
  auto options = std::make_shared<const CsvSourceOptions>(o);
  std::mt19937 rng(99);
  for (const std::string& path : {files_[0].path, files_[1].path}) {
    const OracleFile& f = file(path);
    const size_t total = f.records.size() - 1;  // without the header
    std::vector<size_t> points = {0, 1, total - 1, total};
    for (int i = 0; i < 25; ++i) points.push_back(rng() % (total + 1));
    for (size_t k : points) {
      SCOPED_TRACE(path + " after " + std::to_string(k) + " records");
      NoEnumerator context;
      std::vector<const OracleRecord*> seen;
      std::vector<FileSourceSplit> snapshot;
      auto check = [&](const detail::CsvSplitReader& r) {
        const CsvRecordReader& rec = r.record();
        size_t i = seen.size() + 1;
        ASSERT_LT(i, f.records.size());
        const OracleRecord& want = f.records[i];
        ASSERT_TRUE(rec.ok()) << rec.error();
        ASSERT_EQ(rec.recordOffset(), want.offset);
        ASSERT_EQ(rec.line(), want.line);
        ASSERT_EQ(rec.raw(), want.raw);
        ASSERT_EQ(std::vector<std::string>(rec.fields().begin(), rec.fields().end()), want.fields);
        ASSERT_EQ(r.columnNames().size(), 8u);
        ASSERT_EQ(r.columnNames()[3], "Quantity");
        seen.push_back(&want);
      };
      {
        detail::CsvSplitReader reader(options, context);
        reader.addSplits({FileSourceSplit{"0", path, 0}});
        reader.notifyNoMoreSplits();
        for (size_t i = 0; i < k; ++i) {
          ASSERT_EQ(reader.next(), detail::CsvSplitReader::Step::kRecord);
          check(reader);
        }
        snapshot = throughCheckpoint(reader.snapshotState());
      }
      ASSERT_EQ(snapshot.size(), 1u);
      // Not opened yet: from the start; else the start of the next record, or the end.
      EXPECT_EQ(snapshot[0].offset, k == 0 ? 0 : k < total ? f.records[k + 1].offset : f.size);
      detail::CsvSplitReader restored(options, context);
      restored.addSplits(snapshot);
      restored.notifyNoMoreSplits();
      while (restored.next() == detail::CsvSplitReader::Step::kRecord) {
        check(restored);
        if (::testing::Test::HasFatalFailure()) return;
      }
      EXPECT_EQ(seen.size(), total);
    }
  }
}

// ---- edge cases: every record boundary of small synthetic files -----------------------------

/// What a CsvSplitReader reports of one record.
struct Seen {
  int64_t line, offset;
  bool ok;
  std::string raw, error, fields, columnNames;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "line " << s.line << " offset " << s.offset << (s.ok ? " ok " : " bad ") << s.raw
            << " [" << s.fields << "] " << s.error;
}

Seen seen(const detail::CsvSplitReader& r) {
  const CsvRecordReader& rec = r.record();
  Seen s{rec.line(), rec.recordOffset(), rec.ok(), std::string(rec.raw()), rec.error(), "", ""};
  for (auto f : rec.fields()) s.fields += "<" + std::string(f) + ">";
  for (const auto& c : r.columnNames()) s.columnNames += c + "|";
  return s;
}

/// All records of `splits` from a fresh CsvSplitReader.
std::vector<Seen> readAll(const std::shared_ptr<const CsvSourceOptions>& options,
                          std::vector<FileSourceSplit> splits) {
  NoEnumerator context;
  detail::CsvSplitReader reader(options, context);
  reader.addSplits(std::move(splits));
  reader.notifyNoMoreSplits();
  std::vector<Seen> out;
  while (reader.next() == detail::CsvSplitReader::Step::kRecord) out.push_back(seen(reader));
  return out;
}

struct EdgeFile {
  std::string name;
  std::string content;
  bool header;
  bool wellFormed;  ///< the brute-force parse applies
};

std::vector<EdgeFile> edgeFiles() {
  std::vector<EdgeFile> files;
  files.push_back({"quoted.csv",
                   "id,text,n\n"
                   "1,plain,10\n"
                   "2,\"two\nlines\",20\n"
                   "3,\"a, \"\"quoted\"\" comma\",30\n"
                   "\n"
                   "4,\"three\r\nCRLF\nlines\",40\n"
                   "\n"
                   "\n"
                   "5,last,50",
                   true, true});
  files.push_back({"crlf.csv",
                   "\xEF\xBB\xBF"
                   "id,text,n\r\n"
                   "1,x,1\r\n"
                   "\r\n"
                   "2,\"q\r\nr\",2\r\n"
                   "3,\"\",3\r\n"
                   "4,y,4\r\n",
                   true, true});
  files.push_back({"noheader.csv", "a,b,1\n\"\n\",c,2\n,,\nz,z,9\r", false, true});
  files.push_back({"malformed.csv",
                   "id,text,n\n"
                   "1,ok,1\n"
                   "2,bad\"quote,2\n"
                   "3,\"closed\"x,3\n"
                   "4,\"multi\nline\",4\n"
                   "5,ok,notanumber\n"
                   "6,\"x\"\r\n"
                   "7,\"never closed,7\n"
                   "8,gone,8\n",
                   true, false});
  files.push_back({"badheader.csv", "id,\"te\"xt,n\n1,a,1\n2,\"b\nb\",2\n", true, false});
  files.push_back({"unterminated.csv", "a,b,1\n\"never\nclosed,2\n3,c\n", false, false});
  return files;
}

// Snapshot after every record of each edge-case file (plain and gzip): records before plus
// records after restore equal the uninterrupted read, which equals the brute-force parse for the
// well-formed files; line numbers, offsets, errors and header names included.
TEST(CsvSplitReaderCheckpoint, ResumesAtEveryRecordBoundaryOfEdgeCaseFiles) {
  TempDir dir;
  for (const EdgeFile& e : edgeFiles()) {
    writeFile(dir / e.name, e.content);
    writeFile(dir / (e.name + ".gz"), gzipBytes(e.content));
    CsvSourceOptions o;
    o.paths = {dir.str()};
    o.header = e.header;
    auto options = std::make_shared<const CsvSourceOptions>(o);
    for (const std::string& path : {(dir / e.name).string(), (dir / (e.name + ".gz")).string()}) {
      SCOPED_TRACE(path);
      std::vector<Seen> all = readAll(options, {FileSourceSplit{"0", path, 0}});
      ASSERT_FALSE(all.empty());
      if (e.wellFormed) {
        std::vector<OracleRecord> oracle = bruteForceParse(e.content);
        ASSERT_EQ(all.size() + (e.header ? 1 : 0), oracle.size());
        for (size_t i = 0; i < all.size(); ++i) {
          const OracleRecord& want = oracle[i + (e.header ? 1 : 0)];
          std::string fields;
          for (const auto& f : want.fields) fields += "<" + f + ">";
          EXPECT_TRUE(all[i].ok) << all[i];
          EXPECT_EQ(all[i].line, want.line) << all[i];
          EXPECT_EQ(all[i].offset, want.offset) << all[i];
          EXPECT_EQ(all[i].raw, want.raw) << all[i];
          EXPECT_EQ(all[i].fields, fields) << all[i];
          if (e.header) {
            EXPECT_EQ(all[i].columnNames, "id|text|n|");
          }
        }
      }
      for (size_t k = 0; k <= all.size(); ++k) {
        NoEnumerator context;
        std::vector<Seen> got;
        std::vector<FileSourceSplit> snapshot;
        {
          detail::CsvSplitReader reader(options, context);
          reader.addSplits({FileSourceSplit{"0", path, 0}});
          for (size_t i = 0; i < k; ++i) {
            ASSERT_EQ(reader.next(), detail::CsvSplitReader::Step::kRecord);
            got.push_back(seen(reader));
          }
          snapshot = throughCheckpoint(reader.snapshotState());
        }
        ASSERT_EQ(snapshot.size(), 1u);  // the file, whose end next() has not seen yet
        std::vector<Seen> rest = readAll(options, snapshot);
        got.insert(got.end(), rest.begin(), rest.end());
        EXPECT_EQ(got, all) << "snapshot after " << k << " records at offset "
                            << snapshot[0].offset;
      }
    }
  }
}

// A file that is shorter than the checkpointed offset on restore (it changed) fails the reader
// with the file and the offset in the message.
TEST(CsvSplitReaderCheckpoint, FileShorterThanTheOffsetFailsNamingFileAndOffset) {
  TempDir dir;
  std::string path = (dir / "t.csv").string();
  writeFile(path, "a,b,1\nc,d,2\ne,f,3\n");
  CsvSourceOptions o;
  o.paths = {dir.str()};
  auto options = std::make_shared<const CsvSourceOptions>(o);
  NoEnumerator context;
  detail::CsvSplitReader reader(options, context);
  reader.addSplits({FileSourceSplit{"0", path, 0}});
  ASSERT_EQ(reader.next(), detail::CsvSplitReader::Step::kRecord);
  ASSERT_EQ(reader.next(), detail::CsvSplitReader::Step::kRecord);
  auto snapshot = reader.snapshotState();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].offset, 12);
  writeFile(path, "a,b,1\n");
  detail::CsvSplitReader restored(options, context);
  restored.addSplits(snapshot);
  std::string msg = errorOf([&] { restored.next(); });
  EXPECT_NE(msg.find("byte offset 12 of " + path), std::string::npos) << msg;
}

// ---- typed readers with bad records -----------------------------------------------------------

struct ExpectedBad {
  int64_t line, offset;
  std::string raw;
};

/// ~6000 records: a header, good rows (some with quoted line breaks, some CRLF) and bad ones of
/// every kind at known lines and offsets, a last line without a newline.
struct BadDataset {
  std::string content;
  std::vector<Triple> good;
  std::vector<ExpectedBad> bad;
};

BadDataset generateWithBadRecords(int records, int firstBad) {
  std::mt19937 rng(5);
  BadDataset d;
  int64_t line = 1;
  auto append = [&](const std::string& text, bool crlf) {
    d.content += text + (crlf ? "\r\n" : "\n");
    line += 1 + std::count(text.begin(), text.end(), '\n');
  };
  append("id,text,n", false);
  for (int i = 0; i < records; ++i) {
    bool crlf = rng() % 5 == 0;
    int64_t offset = static_cast<int64_t>(d.content.size());
    std::string id = "r" + std::to_string(i);
    if (i >= firstBad && rng() % 40 == 0) {
      static const std::vector<std::string> kBad = {",x,notanumber", ",\"x\"y,1",
                                                    ",x\"y,1",       ",x",
                                                    ",x,1,extra",    ",\"x\",12345678901234567890"};
      std::string raw = id + kBad[rng() % kBad.size()];
      if (rng() % 7 == 0) raw = "";  // an empty line
      d.bad.push_back({line, offset, raw});
      append(raw, crlf);
      continue;
    }
    std::string text = rng() % 6 == 0 ? "line\nbreak, \"quoted\"" : "t" + std::to_string(rng());
    int64_t n = static_cast<int64_t>(rng() % 100000) - 50000;
    d.good.push_back({id, text, n});
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += "\"";
    append(id + "," + (text.find_first_of(",\"\n") != std::string::npos ? quoted : text) + "," +
               std::to_string(n),
           crlf);
  }
  d.content += "last,no newline,7";
  d.good.push_back({"last", "no newline", 7});
  return d;
}

// Bad records go to the side output: after a snapshot at every poll boundary and a restore, the
// rows and bad records before plus after equal the uninterrupted read, which equals the
// generator's rows and bad records (file, line, raw; reasons as the uninterrupted read's).
TEST(CsvSourceReaderCheckpoint, BadRecordsAfterRestoreKeepTheirLinesAndReasons) {
  TempDir dir;
  BadDataset d = generateWithBadRecords(6000, 0);
  ASSERT_GT(d.bad.size(), 50u);
  writeFile(dir / "bad.csv", d.content);
  writeFile(dir / "bad.csv.gz", gzipBytes(d.content));
  OutputTag<BadRecord> tag("bad");
  auto source = CsvSource<Triple>::forPaths({dir.str()}).withHeader().withBadRecords(tag).build();
  for (const std::string& path : {(dir / "bad.csv").string(), (dir / "bad.csv.gz").string()}) {
    Reader<Triple> whole(*source, tag);
    whole.reader->addSplits({FileSourceSplit{"0", path, 0}});
    whole.reader->notifyNoMoreSplits();
    whole.drain();
    ASSERT_TRUE(whole.main.values == d.good) << path;
    ASSERT_EQ(whole.bad.values.size(), d.bad.size()) << path;
    for (size_t i = 0; i < d.bad.size(); ++i) {
      EXPECT_EQ(whole.bad.values[i].file, path);
      EXPECT_EQ(whole.bad.values[i].line, d.bad[i].line);
      EXPECT_EQ(whole.bad.values[i].raw, d.bad[i].raw);
    }
    for (int polls = 0; polls <= 8; ++polls) {
      SCOPED_TRACE(path + " after " + std::to_string(polls) + " polls");
      Reader<Triple> first(*source, tag);
      first.reader->addSplits({FileSourceSplit{"0", path, 0}});
      first.reader->notifyNoMoreSplits();
      for (int p = 0; p < polls; ++p) first.poll();
      auto snapshot = throughCheckpoint(first.reader->snapshotState(polls));
      Reader<Triple> second(*source, tag);
      second.reader->addSplits(snapshot);
      second.reader->notifyNoMoreSplits();
      second.drain();
      std::vector<Triple> rows = first.main.values;
      rows.insert(rows.end(), second.main.values.begin(), second.main.values.end());
      std::vector<BadRecord> bad = first.bad.values;
      bad.insert(bad.end(), second.bad.values.begin(), second.bad.values.end());
      EXPECT_TRUE(rows == whole.main.values) << rows.size() << " rows";
      EXPECT_TRUE(bad == whole.bad.values) << bad.size() << " bad records";
    }
  }
}

// Without a side output the first bad record fails the reader. Restored from a snapshot taken
// before it, the reader fails with the same message, which names the file, the line and the byte
// offset the generator recorded.
TEST(CsvSourceReaderCheckpoint, ErrorAfterRestoreNamesTheSameLineAndOffset) {
  TempDir dir;
  BadDataset d = generateWithBadRecords(5000, 3500);
  ASSERT_FALSE(d.bad.empty());
  writeFile(dir / "late-bad.csv", d.content);
  writeFile(dir / "late-bad.csv.gz", gzipBytes(d.content));
  auto source = CsvSource<Triple>::forPaths({dir.str()}).withHeader().build();
  for (const std::string& path :
       {(dir / "late-bad.csv").string(), (dir / "late-bad.csv.gz").string()}) {
    Reader<Triple> whole(*source, std::nullopt);
    whole.reader->addSplits({FileSourceSplit{"0", path, 0}});
    whole.reader->notifyNoMoreSplits();
    std::string expected = errorOf([&] { whole.drain(); });
    const ExpectedBad& b = d.bad.front();
    EXPECT_NE(expected.find("Malformed CSV record in " + path + " at line " +
                            std::to_string(b.line) + ": "),
              std::string::npos)
        << expected;
    EXPECT_NE(expected.find("(byte offset " + std::to_string(b.offset) + ")"), std::string::npos)
        << expected;
    for (int polls = 1; polls <= 3; ++polls) {
      Reader<Triple> first(*source, std::nullopt);
      first.reader->addSplits({FileSourceSplit{"0", path, 0}});
      first.reader->notifyNoMoreSplits();
      for (int p = 0; p < polls; ++p) ASSERT_EQ(first.poll(), InputStatus::kMoreAvailable);
      auto snapshot = throughCheckpoint(first.reader->snapshotState(1));
      ASSERT_EQ(snapshot.size(), 1u);
      ASSERT_GT(snapshot[0].offset, 0);
      ASSERT_LT(snapshot[0].offset, b.offset);
      Reader<Triple> second(*source, std::nullopt);
      second.reader->addSplits(snapshot);
      second.reader->notifyNoMoreSplits();
      EXPECT_EQ(errorOf([&] { second.drain(); }), expected) << "after " << polls << " polls";
    }
  }
}

// ---- the enumerator -----------------------------------------------------------------------------

struct RecordingContext final : SplitEnumeratorContext<FileSourceSplit> {
  int currentParallelism() const override { return 2; }
  void assignSplit(FileSourceSplit split, int subtask) override {
    assigned.emplace_back(subtask, std::move(split));
  }
  void signalNoMoreSplits(int subtask) override { noMore.insert(subtask); }
  std::vector<std::pair<int, FileSourceSplit>> assigned;
  std::set<int> noMore;
};

// The enumerator's unassigned splits survive a snapshot: a restored enumerator hands out
// exactly those, then signals the end; with the ones assigned before, every file once.
TEST(CsvSourceEnumeratorCheckpoint, RestoredEnumeratorHandsOutExactlyTheUnassignedSplits) {
  TempDir dir;
  for (int i = 0; i < 5; ++i) writeFile(dir / ("f" + std::to_string(i) + ".csv"), "a,b,1\n");
  auto source = CsvSource<Triple>::forPaths({dir.str()}).build();
  RecordingContext before;
  auto enumerator = source->createEnumerator(before);
  enumerator->start();
  enumerator->handleSplitRequest(0);
  enumerator->handleSplitRequest(1);
  auto remaining = throughCheckpoint(enumerator->snapshotState(1));
  ASSERT_EQ(remaining.size(), 3u);

  RecordingContext after;
  auto restored = source->createEnumerator(after);
  restored->restoreState(remaining);
  restored->start();
  for (int i = 0; i < 5; ++i) restored->handleSplitRequest(i % 2);
  ASSERT_EQ(after.assigned.size(), 3u);
  EXPECT_EQ(after.noMore, (std::set<int>{0, 1}));
  std::vector<std::string> all;
  for (const auto& [subtask, s] : before.assigned) all.push_back(s.path);
  for (const auto& [subtask, s] : after.assigned) all.push_back(s.path);
  std::vector<std::string> files = FileSource::listFiles({dir.str()});
  EXPECT_EQ(sorted(all), sorted(files));
}

}  // namespace
}  // namespace sluice
