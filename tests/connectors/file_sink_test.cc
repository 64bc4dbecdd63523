#include "sluice/connectors/file_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "connector_test_util.h"
#include "sluice/connectors/file_source.h"

namespace sluice {
namespace {

using namespace sluice::testing;

const std::regex kPartName(
    "([a-z]+)-([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})-([0-9]+)-([0-9]"
    "+)"
    "(.*)");

struct PartFile {
  fs::path path;
  std::string bucket;  ///< relative directory
  std::string prefix;
  std::string uuid;
  int subtask;
  int counter;
  std::string suffix;
};

/// Every finished part under `base`; fails the test on in-progress or unexpected files.
std::vector<PartFile> listParts(const fs::path& base) {
  std::vector<PartFile> parts;
  for (const auto& e : fs::recursive_directory_iterator(base)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    EXPECT_NE(name[0], '.') << "leftover in-progress file " << e.path();
    EXPECT_EQ(name.find("inprogress"), std::string::npos) << e.path();
    std::smatch m;
    if (!std::regex_match(name, m, kPartName)) {
      ADD_FAILURE() << "unexpected file name " << e.path();
      continue;
    }
    parts.push_back(PartFile{e.path(), fs::relative(e.path().parent_path(), base).string(), m[1],
                             m[2], std::stoi(m[3]), std::stoi(m[4]), m[5]});
  }
  return parts;
}

std::vector<std::string> linesOf(const std::vector<PartFile>& parts) {
  std::vector<std::string> lines;
  for (const auto& p : parts) {
    std::string content = readFile(p.path);
    EXPECT_TRUE(content.empty() || content.back() == '\n') << p.path;
    for (auto& l : splitLines(content)) lines.push_back(l);
  }
  return lines;
}

std::vector<std::string> numbersAsText(int64_t from, int64_t to) {
  std::vector<std::string> v;
  for (int64_t i = from; i <= to; ++i) v.push_back(std::to_string(i));
  return v;
}

TEST(FileSink, ParallelJobRollsBySizeAndCommitsEverything) {
  TempDir dir;
  const int64_t n = 200000;
  auto env = makeEnv(4);
  auto sink = FileSink<int64_t>::forRowFormat(dir.str())
                  .withBucketAssigner(BasePathBucketAssigner<int64_t>())
                  .withRollingPolicy(DefaultRollingPolicy{64 * 1024, 60000, 60000})
                  .build();
  // rebalance: every writer gets records even if one source reader takes all the splits.
  env->fromSequence(1, n).rebalance().sinkTo(sink, "File Sink");
  env->execute("file sink test");

  std::vector<PartFile> parts = listParts(dir.path());
  std::map<int, int> partsPerSubtask;
  std::set<std::string> uuids;
  std::map<std::string, std::set<int>> countersPerUuid;
  for (const auto& p : parts) {
    EXPECT_EQ(p.bucket, ".");
    EXPECT_EQ(p.prefix, "part");
    EXPECT_EQ(p.suffix, "");
    EXPECT_GE(p.subtask, 0);
    EXPECT_LT(p.subtask, 4);
    ++partsPerSubtask[p.subtask];
    uuids.insert(p.uuid);
    EXPECT_TRUE(countersPerUuid[p.uuid].insert(p.counter).second) << "duplicate " << p.path;
    // Every part but the last of a writer reaches the part size.
    EXPECT_LE(fs::file_size(p.path), 64u * 1024 + 32) << p.path;
  }
  EXPECT_EQ(partsPerSubtask.size(), 4u);
  for (auto& [subtask, count] : partsPerSubtask) EXPECT_GT(count, 1) << "subtask " << subtask;
  EXPECT_EQ(uuids.size(), 4u) << "one uuid per writer";
  for (auto& [uuid, counters] : countersPerUuid) {
    EXPECT_EQ(*counters.begin(), 0);
    EXPECT_EQ(*counters.rbegin(), static_cast<int>(counters.size()) - 1) << "gapless counters";
  }
  std::vector<std::string> lines = linesOf(parts);
  EXPECT_EQ(lines.size(), static_cast<size_t>(n));
  EXPECT_TRUE(sorted(lines) == sorted(numbersAsText(1, n)));
}

// Part files have random names, so a second run into the same directory would silently add a
// second copy of everything: it is refused at submission unless the job restores (the crash
// and restore tests run into the directory of the run they restore) or is told to overwrite.
TEST(FileSink, SecondRunIntoANonEmptyDirectoryIsRefusedUnlessToldToOverwrite) {
  TempDir dir;
  auto run = [&](int64_t to, WriteMode mode) {
    auto env = makeEnv(2);
    env->fromSequence(1, to).sinkTo(FileSink<int64_t>::forRowFormat(dir.str())
                                        .withBucketAssigner(BasePathBucketAssigner<int64_t>())
                                        .withWriteMode(mode)
                                        .build());
    env->execute();
  };
  run(1000, WriteMode::kNoOverwrite);  // an empty directory is fine
  try {
    run(10, WriteMode::kNoOverwrite);
    FAIL() << "a second run into a non-empty directory was accepted";
  } catch (const IOException& e) {
    EXPECT_NE(std::string(e.what()).find(dir.str() + " is not empty"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("WriteMode::kOverwrite"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sorted(linesOf(listParts(dir.path()))) == sorted(numbersAsText(1, 1000)));
  run(500, WriteMode::kOverwrite);
  EXPECT_TRUE(sorted(linesOf(listParts(dir.path()))) == sorted(numbersAsText(1, 500)));
  run(20, WriteMode::kOverwrite);  // overwriting what an overwrite wrote
  EXPECT_TRUE(sorted(linesOf(listParts(dir.path()))) == sorted(numbersAsText(1, 20)));
}

TEST(FileSink, DefaultDateTimeBucketsUseProcessingTimeInUtc) {
  TempDir dir;
  auto env = makeEnv(1);
  // 2024-03-05T07:59:59.500Z
  env->setClock(std::make_shared<ManualClock>(1709625599500));
  env->fromElements({std::string("x"), std::string("y"), std::string("z")})
      .sinkTo(FileSink<std::string>::forRowFormat(dir.str())
                  .withOutputFileConfig(OutputFileConfig{"data", ".txt"})
                  .build());
  env->execute();
  std::vector<PartFile> parts = listParts(dir.path());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].bucket, "2024-03-05--07");
  EXPECT_EQ(parts[0].prefix, "data");
  EXPECT_EQ(parts[0].suffix, ".txt");
  EXPECT_EQ(readFile(parts[0].path), "x\ny\nz\n");
}

TEST(FileSink, CustomEncoderAndBucketAssigner) {
  struct ParityAssigner final : BucketAssigner<int64_t> {
    void getBucketId(const int64_t& v, const BucketAssignerContext&, std::string& id) override {
      id += v % 2 == 0 ? "even" : "odd/nested";
    }
  };
  TempDir dir;
  auto env = makeEnv(3);
  env->fromSequence(1, 999).sinkTo(
      FileSink<int64_t>::forRowFormat(dir.str(),
                                      [](const int64_t& v, std::string& out) {
                                        out += "n=";
                                        out += std::to_string(v * 10);
                                        out += '\n';
                                      })
          .withBucketAssigner(ParityAssigner())
          .build());
  env->execute();
  std::vector<PartFile> parts = listParts(dir.path());
  std::vector<std::string> even, odd;
  for (const auto& p : parts) {
    ASSERT_TRUE(p.bucket == "even" || p.bucket == "odd/nested") << p.bucket;
    for (auto& l : splitLines(readFile(p.path))) (p.bucket == "even" ? even : odd).push_back(l);
  }
  std::vector<std::string> expectEven, expectOdd;
  for (int64_t v = 1; v <= 999; ++v) {
    (v % 2 == 0 ? expectEven : expectOdd).push_back("n=" + std::to_string(v * 10));
  }
  EXPECT_TRUE(sorted(even) == sorted(expectEven));
  EXPECT_TRUE(sorted(odd) == sorted(expectOdd));
}

TEST(FileSink, OutputReadsBackThroughFileSource) {
  TempDir dir;
  {
    auto env = makeEnv(4);
    env->fromSequence(1, 50000)
        .map([](const int64_t& v) { return std::pair<int64_t, std::string>(v, "v"); })
        .sinkTo(FileSink<std::pair<int64_t, std::string>>::forRowFormat(dir.str())
                    .withRollingPolicy(DefaultRollingPolicy{16 * 1024, 60000, 60000})
                    .build());
    env->execute();
  }
  auto env = makeEnv(4);
  auto out = std::make_shared<std::vector<std::string>>();
  fromTextFiles(*env, {dir.str()}).sinkTo(std::make_shared<VectorSink<std::string>>(out));
  env->execute();
  std::vector<std::string> expected;
  for (int64_t v = 1; v <= 50000; ++v) expected.push_back("(" + std::to_string(v) + ",v)");
  EXPECT_TRUE(sorted(*out) == sorted(expected));
}

TEST(FileSink, UnwritableBasePathFailsTheJob) {
  TempDir dir;
  writeFile(dir / "plain-file", "x");
  std::string base = (dir / "plain-file/out").string();
  auto env = makeEnv(2);
  env->fromSequence(1, 10).sinkTo(FileSink<int64_t>::forRowFormat(base).build());
  try {
    env->execute();
    FAIL() << "expected the job to fail";
  } catch (const JobExecutionException& e) {
    EXPECT_NE(std::string(e.what()).find(base), std::string::npos) << e.what();
  }
  EXPECT_THROW(RowFileWriter(base, {}, {}, 0, nullptr), IOException);
}

TEST(FileSink, BuilderRejectsBadValues) {
  EXPECT_THROW(FileSink<int>::forRowFormat("").build(), ConfigurationException);
  EXPECT_THROW(FileSink<int>::forRowFormat("/tmp/x")
                   .withRollingPolicy(DefaultRollingPolicy{0, 1, 1})
                   .build(),
               ConfigurationException);
  EXPECT_THROW(DateTimeBucketAssigner<int>("yyyy-MMM"), ConfigurationException);
  EXPECT_THROW(DateTimeBucketAssigner<int>("yyyy-'MM"), ConfigurationException);
}

TEST(DateTimeBucketFormatter, FormatsInUtc) {
  // 2024-03-05T07:08:09.123Z
  const int64_t t = 1709622489123;
  auto fmt = [](const std::string& pattern, int64_t millis) {
    DateTimeBucketFormatter f(pattern);
    std::string out;
    f.format(millis, out);
    return out;
  };
  EXPECT_EQ(fmt("yyyy-MM-dd--HH", t), "2024-03-05--07");
  EXPECT_EQ(fmt("yyyy/MM/dd/HH/mm/ss.SSS", t), "2024/03/05/07/08/09.123");
  EXPECT_EQ(fmt("'dt='yyyyMMdd' hour=''x'''H", t), "dt=20240305 hour='x'7");
  EXPECT_EQ(fmt("yy-M-d", t), "24-3-5");
  EXPECT_EQ(fmt("yyyy-MM-dd--HH", 0), "1970-01-01--00");
  EXPECT_EQ(fmt("yyyy-MM-dd--HH:mm:ss", -1), "1969-12-31--23:59:59");
  DateTimeBucketFormatter cached("HH:mm:ss");
  std::string a, b;
  cached.format(t, a);
  cached.format(t + 1000, b);
  EXPECT_EQ(a, "07:08:09");
  EXPECT_EQ(b, "07:08:10");
}

/// A RowFileWriter on a real ProcessingTimeService driven by a ManualClock, with the mailbox
/// run by the test (as the task thread would).
class TimedWriterTest : public ::testing::Test {
 protected:
  TimedWriterTest()
      : clock_(std::make_shared<ManualClock>(1000000)),
        scheduler_(clock_),
        timeService_(scheduler_, mailbox_, 0) {}

  /// Advances processing time and runs the timer mails it triggers.
  void advance(int64_t millis) {
    clock_->advance(millis);
    // Timers due now are put into the mailbox by the scheduler's thread: wait until it has
    // posted every one of them.
    ASSERT_TRUE(eventually([this] { return !scheduler_.hasDueTimers(); }));
    mailbox_.runAll();
  }

  std::shared_ptr<ManualClock> clock_;
  Mailbox mailbox_;
  TimerScheduler scheduler_;
  ProcessingTimeService timeService_;
};

TEST_F(TimedWriterTest, RollsOnRolloverInterval) {
  TempDir dir;
  RowFileWriter writer(dir.str(), DefaultRollingPolicy{1 << 30, 10000, 1000000}, {}, 7,
                       &timeService_, 2000);
  EXPECT_EQ(writer.bucketCheckIntervalMillis(), 2000);
  writer.write("b", "r1\n");
  for (int i = 0; i < 4; ++i) {
    advance(2000);
    writer.write("b", "r\n");  // keeps the part active: only the rollover interval applies
    EXPECT_EQ(writer.numCommittedParts(), 0);
  }
  advance(2000);  // 10 s after the part opened
  EXPECT_EQ(writer.numCommittedParts(), 1);
  EXPECT_EQ(writer.numOpenParts(), 0);
  writer.write("b", "r2\n");
  EXPECT_EQ(writer.numOpenParts(), 1);
  writer.close();
  std::vector<PartFile> parts = listParts(dir.path());
  ASSERT_EQ(parts.size(), 2u);
  for (const auto& p : parts) {
    EXPECT_EQ(p.bucket, "b");
    EXPECT_EQ(p.subtask, 7);
    EXPECT_EQ(p.uuid, writer.uuid());
  }
  EXPECT_EQ(sorted(linesOf(parts)), sorted({"r1", "r", "r", "r", "r", "r2"}));
}

TEST_F(TimedWriterTest, RollsOnInactivity) {
  TempDir dir;
  RowFileWriter writer(dir.str(), DefaultRollingPolicy{1 << 30, 1000000, 3000}, {}, 0,
                       &timeService_, 1000);
  writer.write("", "a\n");
  advance(1000);  // sees the write
  advance(1000);
  advance(1000);
  EXPECT_EQ(writer.numCommittedParts(), 0);
  advance(1000);  // 3 s without a write since the check that saw it
  EXPECT_EQ(writer.numCommittedParts(), 1);
  EXPECT_EQ(listParts(dir.path()).size(), 1u);
  writer.close();
  EXPECT_EQ(writer.numCommittedParts(), 1);
}

TEST_F(TimedWriterTest, FlushWithoutEndOfInputKeepsThePartInProgress) {
  TempDir dir;
  RowFileWriter writer(dir.str(), DefaultRollingPolicy{}, {}, 0, &timeService_);
  EXPECT_EQ(writer.bucketCheckIntervalMillis(), 30000);
  writer.write("", "abc\n");
  writer.flush(false);
  int inProgress = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    std::string name = e.path().filename().string();
    EXPECT_EQ(name[0], '.');
    EXPECT_NE(name.find(".inprogress."), std::string::npos);
    EXPECT_EQ(readFile(e.path()), "abc\n");
    ++inProgress;
  }
  EXPECT_EQ(inProgress, 1);
  writer.flush(true);
  EXPECT_EQ(writer.numCommittedParts(), 1);
  EXPECT_EQ(listParts(dir.path()).size(), 1u);
}

}  // namespace
}  // namespace sluice
