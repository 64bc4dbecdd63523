// The WordCount example end to end, as a user runs it, against an independent oracle: the
// coreutils pipeline `tr -cs 'A-Za-z0-9_' '\n' | tr A-Z a-z | sort | uniq -c`, which tokenizes
// exactly as Flink's example (\W+ split of the lower-cased line).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "integration/process_util.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing::dataDir;
using sluice::testing::run;
using sluice::testing::RunResult;
using sluice::testing::tempDir;

std::string wordcountBinary() { return std::string(SLUICE_BINARY_DIR) + "/examples/wordcount"; }

std::map<std::string, int64_t> oracle(const std::string& input) {
  std::map<std::string, int64_t> counts;
  RunResult r = run("find '" + input +
                    "' -type f ! -name '.*' -exec cat {} + | LC_ALL=C tr -cs 'A-Za-z0-9_' '\\n'"
                    " | LC_ALL=C tr 'A-Z' 'a-z' | grep -v '^$' | LC_ALL=C sort | uniq -c");
  EXPECT_EQ(r.exitCode, 0);
  std::istringstream in(r.output);
  int64_t count;
  std::string word;
  while (in >> count >> word) counts[word] = count;
  return counts;
}

class WordCountTest : public ::testing::TestWithParam<int> {};

/// Checks the committed (visible) part files under `out`: every word of `expected` has the
/// counts 1..n exactly once, nothing else.
void expectCountsOneToN(const fs::path& out, const std::map<std::string, int64_t>& expected) {
  std::map<std::string, std::vector<int64_t>> emitted;
  size_t lines = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (name[0] == '.') continue;  // in-progress or pending part files are not output yet
    std::ifstream file(entry.path());
    std::string line;
    while (std::getline(file, line)) {
      ++lines;
      ASSERT_GE(line.size(), 5u) << line;
      ASSERT_EQ(line.front(), '(') << line;
      ASSERT_EQ(line.back(), ')') << line;
      size_t comma = line.rfind(',');
      emitted[line.substr(1, comma - 1)].push_back(std::stoll(line.substr(comma + 1)));
    }
  }
  ASSERT_GT(expected.size(), 10000u);
  ASSERT_EQ(emitted.size(), expected.size());
  size_t expectedLines = 0;
  for (const auto& [word, n] : expected) {
    expectedLines += static_cast<size_t>(n);
    auto it = emitted.find(word);
    ASSERT_NE(it, emitted.end()) << word;
    std::vector<int64_t> counts = it->second;
    std::sort(counts.begin(), counts.end());
    ASSERT_EQ(counts.size(), static_cast<size_t>(n)) << word;
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(counts[static_cast<size_t>(i)], i + 1) << word;
  }
  EXPECT_EQ(lines, expectedLines);
}

TEST_P(WordCountTest, EveryWordsCountsAreOneToN) {
  std::string input = dataDir() + "/gutenberg";
  if (!fs::exists(input)) GTEST_SKIP() << "no data at " << input;
  fs::path out = tempDir("wordcount");
  RunResult r = run(wordcountBinary() + " --input '" + input + "' --output '" + out.string() +
                    "' -p " + std::to_string(GetParam()));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    ASSERT_NE(entry.path().filename().string()[0], '.') << "unfinished part file " << entry.path();
  }
  expectCountsOneToN(out, oracle(input));
  fs::remove_all(out);
}

// Process crash: WordCount with a checkpoint every 100 ms is killed with SIGKILL after some
// checkpoints completed, then restarted with `-s latest:DIR` into the same output directory.
// The committed output must have every word's counts exactly 1..n: nothing the killed run
// committed is lost, nothing after its last checkpoint is committed twice. The books are read
// 20 times over so that the run lasts long enough to be killed mid-way.
TEST(WordCountCrash, SigkillAndRestoreFromLatestCheckpointIsExactlyOnce) {
  std::string input = dataDir() + "/gutenberg";
  if (!fs::exists(input)) GTEST_SKIP() << "no data at " << input;
  constexpr int kCopies = 20;
  fs::path out = tempDir("wordcount-crash");
  fs::path checkpoints = tempDir("wordcount-crash-checkpoints");
  std::string command = wordcountBinary();
  for (int i = 0; i < kCopies; ++i) command += " --input '" + input + "'";
  command += " --output '" + out.string() + "' -p 2 -Dexecution.checkpointing.interval=100ms" +
             " -Dexecution.checkpointing.dir='" + checkpoints.string() + "'";
  fs::path log = tempDir("wordcount-crash-log") / "first-run.log";
  ASSERT_TRUE(sluice::testing::runAndKillAfterCheckpoint(command, checkpoints, 3, log))
      << "not killed after its third checkpoint; its log:\n"
      << run("cat '" + log.string() + "'").output;

  RunResult r = run(command + " -s 'latest:" + checkpoints.string() + "'");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  std::map<std::string, int64_t> expected = oracle(input);
  for (auto& [word, n] : expected) n *= kCopies;
  expectCountsOneToN(out, expected);
  fs::remove_all(out);
  fs::remove_all(checkpoints);
  fs::remove_all(log.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Parallelism, WordCountTest, ::testing::Values(1, 4));

TEST(WordCountBadInput, MissingPathIsAClearErrorAndNonZeroExit) {
  RunResult r = run(wordcountBinary() + " --input /nonexistent/books");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.output.find("/nonexistent/books"), std::string::npos) << r.output;
}

TEST(WordCountBadInput, EmptyDirectoryIsAClearError) {
  fs::path dir = tempDir("empty");
  RunResult r = run(wordcountBinary() + " --input '" + dir.string() + "'");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.output.find(dir.string()), std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(WordCountBadInput, CorruptGzipIsAClearError) {
  fs::path dir = tempDir("gz");
  {
    std::ofstream f(dir / "text.txt");
    for (int i = 0; i < 20000; ++i) f << "the quick brown fox " << i << "\n";
  }
  ASSERT_EQ(run("gzip '" + (dir / "text.txt").string() + "'").exitCode, 0);
  fs::path gz = dir / "text.txt.gz";
  auto size = fs::file_size(gz);
  fs::resize_file(gz, size / 2);  // truncated archive
  RunResult r = run(wordcountBinary() + " --input '" + gz.string() + "'");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.output.find(gz.string()), std::string::npos)
      << r.output.substr(r.output.size() > 2000 ? r.output.size() - 2000 : 0);

  fs::path garbage = dir / "garbage.gz";
  {
    std::ofstream f(garbage);
    f << "this is not gzip at all";
  }
  r = run(wordcountBinary() + " --input '" + garbage.string() + "'");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.output.find(garbage.string()), std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(WordCountBadInput, UnknownFlagExitsWithUsageError) {
  RunResult r = run(wordcountBinary() + " --input x --frobnicate");
  EXPECT_EQ(r.exitCode, 2);
  RunResult bad = run(wordcountBinary() + " --input x -Dparallelism.default=abc");
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_NE(bad.output.find("parallelism.default"), std::string::npos) << bad.output;
}

}  // namespace
