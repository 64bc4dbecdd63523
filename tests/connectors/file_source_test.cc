#include "sluice/connectors/file_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "connector_test_util.h"

namespace sluice {
namespace {

using namespace sluice::testing;

/// Runs a job that reads `paths` at `parallelism` and returns every line.
std::vector<std::string> readAll(const std::vector<std::string>& paths, int parallelism) {
  auto env = makeEnv(parallelism);
  auto out = std::make_shared<std::vector<std::string>>();
  fromTextFiles(*env, paths).sinkTo(std::make_shared<VectorSink<std::string>>(out));
  env->execute("file source test");
  return *out;
}

/// The message of what `fn` throws (empty when it does not throw).
template <typename Fn>
std::string errorOf(Fn fn) {
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

std::string numberedLines(int from, int to, const std::string& tag) {
  std::string s;
  for (int i = from; i < to; ++i) s += tag + "-line-" + std::to_string(i) + "\n";
  return s;
}

class FileSourceJobTest : public ::testing::TestWithParam<int> {};

TEST_P(FileSourceJobTest, LinesEqualIndependentRead) {
  TempDir dir;
  writeFile(dir / "a.txt", "alpha\nbeta\n\ngamma\n");
  writeFile(dir / "sub/deeper/b.txt", "no trailing newline\nlast");
  writeFile(dir / "empty.txt", "");
  // Large enough for several 1 MiB buffers and batches.
  writeFile(dir / "sub/big.txt", numberedLines(0, 120000, "big"));
  // A line longer than the read buffer, between two short ones.
  writeFile(dir / "long.txt", "short1\n" + std::string(3 << 20, 'x') + "\nshort2\n");
  writeFile(dir / "c.gz", gzipBytes(numberedLines(0, 50000, "gz")));
  // Two concatenated gzip members (as `cat a.gz b.gz` makes).
  writeFile(dir / "multi.gz",
            gzipBytes(numberedLines(0, 1000, "m1")) + gzipBytes(numberedLines(0, 2000, "m2"), 9));
  // Hidden files and directories are skipped, as Flink's DefaultFileFilter does.
  writeFile(dir / ".hidden.txt", "hidden\n");
  writeFile(dir / "_SUCCESS", "hidden\n");
  writeFile(dir / ".git/config.txt", "hidden\n");
  writeFile(dir / "_tmp/x.txt", "hidden\n");

  std::vector<std::string> expected;
  for (const char* f : {"a.txt", "sub/deeper/b.txt", "empty.txt", "sub/big.txt", "long.txt"}) {
    for (auto& l : splitLines(readFile(dir / f))) expected.push_back(l);
  }
  for (const char* f : {"c.gz", "multi.gz"}) {
    std::string content = commandOutput("gzip -dc " + (dir / f).string());
    ASSERT_FALSE(content.empty()) << "gzip -dc failed on " << f;
    for (auto& l : splitLines(content)) expected.push_back(l);
  }

  std::vector<std::string> files = FileSource::listFiles({dir.str()});
  EXPECT_EQ(files.size(), 7u);
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  for (const auto& f : files) EXPECT_EQ(f.find("hidden"), std::string::npos) << f;

  std::vector<std::string> lines = readAll({dir.str()}, GetParam());
  EXPECT_EQ(lines.size(), expected.size());
  EXPECT_TRUE(sorted(lines) == sorted(expected));
}

TEST_P(FileSourceJobTest, SeveralPathsIncludingRealData) {
  std::string gutenberg = dataDir() + "/gutenberg";
  if (!fs::is_directory(gutenberg)) GTEST_SKIP() << "no data at " << gutenberg;
  TempDir dir;
  writeFile(dir / "one.txt", "one\ntwo\n");
  std::vector<std::string> expected = {"one", "two"};
  for (const auto& f : FileSource::listFiles({gutenberg})) {
    for (auto& l : splitLines(readFile(f))) expected.push_back(l);
  }
  std::vector<std::string> lines = readAll({gutenberg, (dir / "one.txt").string()}, GetParam());
  EXPECT_EQ(lines.size(), expected.size());
  EXPECT_TRUE(sorted(lines) == sorted(expected));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, FileSourceJobTest, ::testing::Values(1, 4));

TEST(FileSource, StripsCarriageReturnOfCrlf) {
  TempDir dir;
  writeFile(dir / "crlf.txt", "a\r\nb\r\n\r\nmid\rdle\r\nlast\r");
  writeFile(dir / "crlf.gz", gzipBytes("x\r\ny\r\n"));
  std::vector<std::string> lines = readAll({dir.str()}, 1);
  EXPECT_EQ(sorted(lines), sorted({"a", "b", "", "mid\rdle", "last", "x", "y"}));
}

TEST(FileSource, CrlfSplitAcrossBufferBoundary) {
  TempDir dir;
  // The CR of the first line ends exactly at the 1 MiB read-buffer boundary.
  std::string first(static_cast<size_t>(1 << 20) - 1, 'q');
  writeFile(dir / "f.txt", first + "\r\nsecond\r\n");
  std::vector<std::string> lines = readAll({dir.str()}, 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], first);
  EXPECT_EQ(lines[1], "second");
}

TEST(FileSource, ReadsNycTaxiRides) {
  std::string path = dataDir() + "/nyctaxi/nycTaxiRides.gz";
  if (!fs::exists(path)) GTEST_SKIP() << "no data at " << path;
  std::vector<std::string> lines = readAll({path}, 2);
  EXPECT_EQ(lines.size(), 100000u);
}

TEST(FileSource, MissingPathFailsAtConstruction) {
  TempDir dir;
  std::string missing = (dir / "does-not-exist.txt").string();
  auto env = makeEnv(1);
  std::string msg = errorOf([&] { fromTextFiles(*env, {missing}); });
  EXPECT_NE(msg.find("Input path does not exist: " + missing), std::string::npos) << msg;
  EXPECT_THROW(FileSource::forTextLines({dir.str(), missing}), IOException);
}

TEST(FileSource, EmptyDirectoryFailsAtConstruction) {
  TempDir dir;
  fs::create_directories(dir / "nothing/here");
  writeFile(dir / "nothing/.only-hidden", "x\n");
  std::string empty = (dir / "nothing").string();
  std::string msg = errorOf([&] { FileSource::forTextLines({empty}); });
  EXPECT_NE(msg.find("No input files found under " + empty), std::string::npos) << msg;
}

TEST(FileSource, UnreadableFileFailsAtConstruction) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  TempDir dir;
  writeFile(dir / "secret.txt", "x\n");
  fs::permissions(dir / "secret.txt", fs::perms::none);
  std::string path = (dir / "secret.txt").string();
  std::string msg = errorOf([&] { FileSource::forTextLines({dir.str()}); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(FileSource, GarbageGzipFailsAtConstruction) {
  TempDir dir;
  writeFile(dir / "garbage.gz", "this is not gzip at all\n");
  std::string path = (dir / "garbage.gz").string();
  std::string msg = errorOf([&] { FileSource::forTextLines({path}); });
  EXPECT_NE(msg.find("Not a gzip file: " + path), std::string::npos) << msg;
}

TEST(FileSource, CorruptGzipDataFailsTheJob) {
  TempDir dir;
  std::string valid = gzipBytes(numberedLines(0, 20000, "c"));
  // Valid header, then the deflate data overwritten with noise.
  std::string corrupt = valid;
  std::mt19937 rng(42);
  for (size_t i = 20; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(rng());
  writeFile(dir / "corrupt.gz", corrupt);
  std::string path = (dir / "corrupt.gz").string();
  std::string msg = errorOf([&] { readAll({path}, 1); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("Corrupt gzip data"), std::string::npos) << msg;
}

TEST(FileSource, TruncatedGzipFailsTheJob) {
  TempDir dir;
  std::string valid = gzipBytes(numberedLines(0, 200000, "t"));
  writeFile(dir / "ok.txt", "fine\n");
  writeFile(dir / "truncated.gz", valid.substr(0, valid.size() / 2));
  std::string path = (dir / "truncated.gz").string();
  for (int parallelism : {1, 4}) {
    std::string msg = errorOf([&] { readAll({dir.str()}, parallelism); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("Unexpected end of gzip file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("while reading line"), std::string::npos) << msg;
  }
}

TEST(FileSource, GzipMissingItsTrailerFailsTheJob) {
  TempDir dir;
  std::string valid = gzipBytes("a\nb\nc\n");
  // Only the 8-byte CRC/size trailer is missing: the data is complete but unverified.
  writeFile(dir / "notrailer.gz", valid.substr(0, valid.size() - 8));
  std::string path = (dir / "notrailer.gz").string();
  std::string msg = errorOf([&] { readAll({path}, 1); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(FileSource, TrailingGarbageAfterGzipMemberFailsTheJob) {
  TempDir dir;
  writeFile(dir / "trailing.gz", gzipBytes("a\nb\n") + "garbage after the member");
  std::string path = (dir / "trailing.gz").string();
  std::string msg = errorOf([&] { readAll({path}, 1); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(FileSource, FileRemovedBeforeExecuteFailsTheJob) {
  TempDir dir;
  writeFile(dir / "gone.txt", "x\n");
  auto env = makeEnv(1);
  auto out = std::make_shared<std::vector<std::string>>();
  fromTextFiles(*env, {(dir / "gone.txt").string()})
      .sinkTo(std::make_shared<VectorSink<std::string>>(out));
  fs::remove(dir / "gone.txt");
  std::string msg = errorOf([&] { env->execute("gone"); });
  EXPECT_NE(msg.find((dir / "gone.txt").string()), std::string::npos) << msg;
}

}  // namespace
}  // namespace sluice
