// The Long Ride Alerts example end to end, as a user runs it, against a brute-force oracle over
// the same input: per ride, start = START eventTime (else END otherTime); alert iff the END is
// missing or END eventTime - start > threshold (a ride of exactly the threshold does not alert).

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "integration/process_util.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing::dataDir;
using sluice::testing::run;
using sluice::testing::RunResult;
using sluice::testing::tempDir;

std::string binary() { return std::string(SLUICE_BINARY_DIR) + "/examples/long_ride_alerts"; }

/// "YYYY-MM-DD HH:MM:SS" (UTC) as seconds since the epoch, via timegm (independent of the
/// example's parser).
int64_t parseSeconds(const std::string& s) {
  std::tm tm{};
  EXPECT_EQ(std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
            6)
      << s;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

/// The alerted ride ids by brute force over the (gzipped) CSV at `path`.
std::set<int64_t> oracle(const std::string& path, int64_t thresholdMinutes) {
  struct Ride {
    std::optional<int64_t> start;     // START eventTime
    std::optional<int64_t> end;       // END eventTime
    std::optional<int64_t> endStart;  // END otherTime
  };
  std::map<int64_t, Ride> rides;
  FILE* pipe = popen(("gzip -dc '" + path + "'").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) data.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0);
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string field;
    while (std::getline(ls, field, ',')) f.push_back(field);
    EXPECT_EQ(f.size(), 11u) << line;
    if (f.size() != 11) continue;
    Ride& r = rides[std::stoll(f[0])];
    if (f[1] == "START") {
      r.start = parseSeconds(f[2]);
    } else {
      EXPECT_EQ(f[1], "END") << line;
      r.end = parseSeconds(f[2]);
      r.endStart = parseSeconds(f[3]);
    }
  }
  std::set<int64_t> alerts;
  for (const auto& [id, r] : rides) {
    int64_t start = r.start ? *r.start : *r.endStart;
    if (!r.end || *r.end - start > thresholdMinutes * 60) alerts.insert(id);
  }
  return alerts;
}

/// The hidden (uncommitted) files under `out`.
std::set<std::string> hiddenFiles(const fs::path& out) {
  std::set<std::string> hidden;
  if (!fs::exists(out)) return hidden;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] == '.') {
      hidden.insert(entry.path().string());
    }
  }
  return hidden;
}

/// The alerted ids in the committed part files under `out`, failing on a duplicate or on a
/// part file not committed (other than those in `leftovers`: a killed run's, which a restored
/// run never commits, as Flink leaves them).
std::set<int64_t> readAlerts(const fs::path& out, const std::set<std::string>& leftovers = {}) {
  std::set<int64_t> ids;
  if (fs::exists(out)) {
    for (const auto& entry : fs::recursive_directory_iterator(out)) {
      if (!entry.is_regular_file() || leftovers.count(entry.path().string()) > 0) continue;
      EXPECT_NE(entry.path().filename().string()[0], '.') << "unfinished " << entry.path();
      std::ifstream file(entry.path());
      std::string line;
      while (std::getline(file, line)) {
        int64_t id = std::stoll(line);
        EXPECT_TRUE(ids.insert(id).second) << "ride " << id << " alerted twice";
      }
    }
  }
  return ids;
}

/// Runs the example; returns the alerted ids, failing on a duplicate.
std::set<int64_t> runJob(const std::string& input, const std::string& args) {
  fs::path out = tempDir("long-rides");
  fs::remove_all(out);  // the job creates it
  RunResult r = run(binary() + " --input '" + input + "' --output '" + out.string() + "' " + args);
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("alerts:"), std::string::npos) << r.output;
  std::set<int64_t> ids = readAlerts(out);
  fs::remove_all(out);
  return ids;
}

// (threshold minutes, parallelism, watermark interval: "" default or e.g. "1ms")
class LongRideAlertsTest : public ::testing::TestWithParam<std::tuple<int64_t, int, std::string>> {
};

TEST_P(LongRideAlertsTest, AlertsMatchBruteForceOnNycTaxiRides) {
  auto [threshold, parallelism, interval] = GetParam();
  std::string input = dataDir() + "/nyctaxi/nycTaxiRides.gz";
  if (!fs::exists(input)) GTEST_SKIP() << "no data at " << input;
  std::string args =
      "--threshold-minutes " + std::to_string(threshold) + " -p " + std::to_string(parallelism);
  if (!interval.empty()) args += " -Dpipeline.auto-watermark-interval=" + interval;
  std::set<int64_t> expected = oracle(input, threshold);
  ASSERT_GT(expected.size(), 1000u);
  std::set<int64_t> got = runJob(input, args);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Thresholds, LongRideAlertsTest,
                         ::testing::Combine(::testing::Values(int64_t{60}, int64_t{120}),
                                            ::testing::Values(1, 2, 4),
                                            ::testing::Values(std::string(), std::string("1ms"))));

// Checkpoints after tasks finish (FLIP-147), as a new user hit it: at -p 2 the one input file
// is one split, so one source subtask finishes at once; checkpoints must still complete. Killed
// with SIGKILL after its first checkpoint and restarted with `-s latest:DIR` into the same
// output, the committed alerts equal the oracle, none twice.
TEST(LongRideAlertsCrash, CheckpointsWithAFinishedSourceSubtaskAndRestoreAfterSigkill) {
  std::string input = dataDir() + "/nyctaxi/nycTaxiRides.gz";
  if (!fs::exists(input)) GTEST_SKIP() << "no data at " << input;
  fs::path out = tempDir("long-rides-crash");
  fs::remove_all(out);
  fs::path checkpoints = tempDir("long-rides-crash-checkpoints");
  std::string command = binary() + " --input '" + input + "' --output '" + out.string() +
                        "' --threshold-minutes 60 -p 2 -Dexecution.checkpointing.interval=100ms" +
                        " -Dexecution.checkpointing.dir='" + checkpoints.string() + "'";
  fs::path log = tempDir("long-rides-crash-log") / "first-run.log";
  ASSERT_TRUE(sluice::testing::runAndKillAfterCheckpoint(command, checkpoints, 1, log))
      << "not killed after its first checkpoint; its log:\n"
      << run("cat '" + log.string() + "'").output;

  const std::set<std::string> leftovers = hiddenFiles(out);
  RunResult r = run(command + " -s 'latest:" + checkpoints.string() + "'");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(readAlerts(out, leftovers), oracle(input, 60));
  fs::remove_all(out);
  fs::remove_all(checkpoints);
  fs::remove_all(log.parent_path());
}

TEST(LongRideAlertsEdgeCases, BoundaryEndOnlyOutOfOrderAndMissingEnds) {
  fs::path dir = tempDir("long-rides-edge");
  fs::path csv = dir / "rides.csv";
  {
    std::ofstream f(csv);
    auto row = [&f](int id, const char* type, const char* t, const char* other) {
      f << id << ',' << type << ",2013-01-01 " << t << ',' << other
        << ",-73.9,40.7,-73.9,40.7,1,2013000001,2013000001\n";
    };
    const char* none = "1970-01-01 00:00:00";
    row(1, "START", "00:00:00", none);
    row(2, "START", "00:00:00", none);
    row(8, "START", "00:01:00", none);
    row(6, "END", "00:10:00", "2013-01-01 00:05:00");  // END before its START, 5 min early
    row(6, "START", "00:05:00", none);
    row(4, "END", "00:20:00", "2012-12-31 23:00:00");  // END only, 80 min
    row(5, "END", "00:20:00", "2012-12-31 23:30:00");  // END only, 50 min
    row(3, "START", "00:30:00", none);                 // no END
    row(1, "END", "01:00:00", "2013-01-01 00:00:00");  // exactly 60 min: no alert
    row(2, "END", "01:00:01", "2013-01-01 00:00:00");  // 60 min 1 s: alert
    row(8, "END", "01:40:00", "2013-01-01 00:01:00");  // 99 min
    row(9, "START", "01:45:00", none);
    row(9, "END", "01:50:00", "2013-01-01 01:45:00");
    row(10, "START", "03:00:00", none);  // pushes the watermark past every timer
    row(10, "END", "03:10:00", "2013-01-01 03:00:00");
  }
  ASSERT_EQ(run("gzip '" + csv.string() + "'").exitCode, 0);
  std::string gz = csv.string() + ".gz";
  std::set<int64_t> expected = oracle(gz, 60);
  EXPECT_EQ(expected, (std::set<int64_t>{2, 3, 4, 8}));
  for (int p : {1, 2}) {
    for (const char* interval : {"200ms", "1ms"}) {
      std::string args = "--threshold-minutes 60 --max-out-of-orderness 600000 -p " +
                         std::to_string(p) + " -Dpipeline.auto-watermark-interval=" + interval;
      EXPECT_EQ(runJob(gz, args), expected) << args;
    }
  }
  EXPECT_EQ(oracle(gz, 100), (std::set<int64_t>{3}));
  EXPECT_EQ(runJob(gz, "--threshold-minutes 100 -p 2"), (std::set<int64_t>{3}));
  fs::remove_all(dir);
}

TEST(LongRideAlertsBadInput, UsageAndInputErrors) {
  EXPECT_EQ(run(binary() + " --output /tmp/x").exitCode, 2);  // --input missing
  EXPECT_EQ(run(binary() + " --input x --output /tmp/x --threshold-minutes -5").exitCode, 2);
  fs::path out = tempDir("long-rides-bad");
  RunResult r = run(binary() + " --input /nonexistent/rides.gz --output '" + out.string() + "/o'");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("/nonexistent/rides.gz"), std::string::npos) << r.output;
  fs::remove_all(out);
}

}  // namespace
