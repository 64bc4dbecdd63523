// The retail analytics job (examples/retail_analytics, CsvSource over the UCI Online Retail
// files) with periodic checkpoints: checkpoints complete (the CSV source used to decline every
// one), and a job cancelled after a checkpoint and restored from `latest:DIR` at another
// parallelism runs to the end, its sources emitting exactly the rows the checkpoint had not
// covered: the rows at or after each reader split's offset plus those of the enumerator's
// unassigned files, counted here from the checkpoint's `_metadata` and a quote-aware scan of
// the files (no code shared with the CSV reader).
//
// Not checked here: the job's file outputs across a restore. The FileSink publishes exactly
// once only with its two-phase commit; until then a cancelled run's in-progress parts are lost
// or duplicated, so the outputs are discarded and only the sources' exactness is asserted.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../examples/retail_analytics/retail_pipeline.h"
#include "integration/process_util.h"
#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/temp_dir.h"

namespace sluice {
namespace retail_checkpoint_test {

namespace fs = std::filesystem;
using testing::TempDir;

std::string retailDir() { return testing::dataDir() + "/retail/by-day"; }

constexpr int64_t kRetailRows = 541909;

/// Content offsets at which the data rows of a CSV file with a header start: after every LF
/// outside quotes ('"' toggles; a doubled quote toggles twice), the header's start excluded.
std::vector<int64_t> rowStarts(const std::string& content) {
  std::vector<int64_t> starts;
  bool quoted = false;
  for (size_t i = 0; i < content.size(); ++i) {
    char c = content[i];
    if (c == '"') quoted = !quoted;
    if (c == '\n' && !quoted && i + 1 < content.size())
      starts.push_back(static_cast<int64_t>(i + 1));
  }
  return starts;
}

struct Files {
  std::map<std::string, std::vector<int64_t>> rows;  ///< path -> row starts
  std::map<std::string, int64_t> sizes;
};

const Files& retailFiles() {
  static const Files files = [] {
    Files f;
    for (const auto& path : FileSource::listFiles({retailDir()})) {
      std::ifstream in(path, std::ios::binary);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      f.rows[path] = rowStarts(content);
      f.sizes[path] = static_cast<int64_t>(content.size());
    }
    return f;
  }();
  return files;
}

std::unique_ptr<StreamExecutionEnvironment> makeJob(int parallelism, const std::string& checkpoints,
                                                    const std::string& restore) {
  Configuration conf;
  conf.set("execution.checkpointing.interval", "10 ms");
  conf.set("execution.checkpointing.dir", checkpoints);
  conf.set("execution.checkpointing.num-retained", "2");
  conf.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  if (!restore.empty()) conf.set("execution.savepoint.path", restore);
  auto env = StreamExecutionEnvironment::getExecutionEnvironment(conf);
  env->setParallelism(parallelism);
  retail::RetailJobOptions options;
  options.inputs = {retailDir()};
  options.output = "";  // discarded: see the top of the file
  retail::buildRetailJob(*env, options);
  return env;
}

bool anyCompleted(const JobClient& job) {
  for (const auto& s : job.checkpointStatistics()) {
    if (s.completed) return true;
  }
  return false;
}

/// Checkpoints the CSV source declined or could not take part in (its reader or enumerator).
std::vector<std::string> sourceFailures(const JobClient& job) {
  std::vector<std::string> out;
  for (const auto& s : job.checkpointStatistics()) {
    if (!s.completed && (s.failure.find("snapshotState") != std::string::npos ||
                         s.failure.find("does not support checkpoints") != std::string::npos ||
                         s.failure.find("cannot checkpoint") != std::string::npos)) {
      out.push_back("checkpoint " + std::to_string(s.checkpointId) + ": " + s.failure);
    }
  }
  return out;
}

// A whole run with checkpoints every 10 ms: checkpoints complete while the CSV source reads,
// none is declined because of the source, and the run still reads every row exactly once.
TEST(RetailCheckpoint, CheckpointsCompleteWhileTheCsvSourceReads) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  TempDir dir;
  auto job = makeJob(2, (dir.path() / "chk").string(), "")->executeAsync("retail");
  bool completed = testing::eventually([&] { return anyCompleted(*job); }, 60);
  JobExecutionResult result = job->getJobExecutionResult();
  EXPECT_TRUE(completed) << "no checkpoint completed";
  std::vector<std::string> failures = sourceFailures(*job);
  EXPECT_TRUE(failures.empty()) << failures.front();
  retail::RetailSummary s = retail::summarize(result);
  EXPECT_EQ(s.rowsRead(), kRetailRows);
  EXPECT_EQ(s.deadLetters, 0);
}

/// Rows the sources must still emit after a restore from `checkpoint`: for every split in a
/// reader's state, the rows at or after its offset (which must be a row boundary); for every
/// split the enumerator had not assigned, all its rows.
int64_t rowsNotCovered(const CompletedCheckpoint& checkpoint, int& sourcesFound,
                       int64_t& midFileSplits) {
  const Files& files = retailFiles();
  int64_t rows = 0;
  auto remaining = [&](const FileSourceSplit& s) -> int64_t {
    auto it = files.rows.find(s.path);
    EXPECT_NE(it, files.rows.end()) << "unknown file " << s.path;
    if (it == files.rows.end()) return 0;
    const std::vector<int64_t>& starts = it->second;
    if (s.offset > 0) {
      ++midFileSplits;
      bool boundary = s.offset == files.sizes.at(s.path) ||
                      std::binary_search(starts.begin(), starts.end(), s.offset);
      EXPECT_TRUE(boundary) << "offset " << s.offset << " of " << s.path << " is not a row start";
    }
    return starts.end() - std::lower_bound(starts.begin(), starts.end(), s.offset);
  };
  for (const auto& [id, op] : checkpoint.operators) {
    bool isSource = false;
    if (!op.coordinatorState.empty()) {
      isSource = true;
      for (const auto& s :
           deserializeFromBytes<std::vector<FileSourceSplit>>(op.coordinatorState)) {
        EXPECT_EQ(s.offset, 0) << "an unassigned split was read";
        rows += remaining(s);
      }
    }
    for (const auto& [subtask, state] : op.subtasks) {
      auto it = state.operatorState.states.find("SourceReaderState");
      if (it == state.operatorState.states.end()) continue;
      isSource = true;
      for (size_t i = 0; i < it->second.size(); ++i) {
        auto bytes = it->second.element(i);
        rows += remaining(deserializeFromBytes<FileSourceSplit>(bytes.data(), bytes.size()));
      }
    }
    if (isSource) ++sourcesFound;
  }
  return rows;
}

class RetailRestore : public ::testing::TestWithParam<std::pair<int, int>> {};

// Cancelled after a checkpoint completed, restored from latest:DIR at another parallelism: the
// restored job runs to the end, and its sources emit exactly the rows the checkpoint had not
// covered (the count of rows that reached the job's first operator equals the count from the
// checkpoint's split positions); a lost row or a replayed one would change it.
TEST_P(RetailRestore, RestoredJobReadsExactlyTheRowsAfterTheCheckpoint) {
  if (!fs::exists(retailDir())) GTEST_SKIP() << "no data at " << retailDir();
  auto [before, after] = GetParam();
  TempDir dir;
  std::string chk = (dir.path() / "chk").string();
  auto job = makeJob(before, chk, "")->executeAsync("retail");
  bool completed = testing::eventually([&] { return anyCompleted(*job); }, 60);
  job->cancel();
  try {
    job->getJobExecutionResult();
  } catch (const JobExecutionException&) {
    // cancelled, as intended
  }
  ASSERT_TRUE(completed) << "no checkpoint completed";
  std::vector<std::string> failures = sourceFailures(*job);
  EXPECT_TRUE(failures.empty()) << failures.front();

  std::string latest = FileCheckpointStorage::resolveRestorePath("latest:" + chk);
  CompletedCheckpoint checkpoint = FileCheckpointStorage::load(latest);
  int sources = 0;
  int64_t midFile = 0;
  int64_t expected = rowsNotCovered(checkpoint, sources, midFile);
  ASSERT_EQ(sources, 1) << "the checkpoint holds no CSV source state";
  EXPECT_LE(expected, kRetailRows);

  auto restored = makeJob(after, (dir.path() / "chk2").string(), "latest:" + chk);
  JobExecutionResult result = restored->execute("retail restored");
  retail::RetailSummary s = retail::summarize(result);
  EXPECT_EQ(s.rowsRead(), expected)
      << "checkpoint " << latest << " with " << midFile << " splits resumed inside a file";
  EXPECT_EQ(s.deadLetters, 0);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, RetailRestore,
                         ::testing::Values(std::pair{2, 3}, std::pair{3, 1}, std::pair{1, 2}));

}  // namespace retail_checkpoint_test
}  // namespace sluice
