// CheckpointConfig (configuration keys, defaults, errors), FileCheckpointStorage (layout,
// round trip, `latest:`, corruption and truncation detection, relocatable savepoints) and
// CompletedCheckpointStore (retention and cleanup on job termination).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "connectors/connector_test_util.h"
#include "sluice/checkpoint/checkpoint_config.h"
#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/core/config_options.h"
#include "sluice/core/global_configuration.h"

namespace sluice {
namespace checkpoint_storage_test {

namespace fs = std::filesystem;
using sluice::testing::TempDir;
using ::testing::HasSubstr;

// Runs `body`, expecting an exception of type E whose message contains every one of `parts`.
template <class E, class F>
void expectThrowWith(F&& body, std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "expected an exception mentioning '" << *parts.begin() << "'";
  } catch (const E& e) {
    for (const std::string& part : parts) EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

// ---------------------------------------------------------------------------------------------
// CheckpointConfig

TEST(CheckpointConfigTest, DefaultsAreFlinks) {
  const CheckpointConfig config = CheckpointConfig::fromConfiguration(Configuration());
  EXPECT_EQ(config, CheckpointConfig());
  EXPECT_FALSE(config.isCheckpointingEnabled());
  EXPECT_EQ(config.getCheckpointInterval(), 0);
  EXPECT_EQ(config.getCheckpointingMode(), CheckpointingMode::kExactlyOnce);
  EXPECT_EQ(config.getCheckpointTimeout(), 10 * 60 * 1000);
  EXPECT_EQ(config.getMinPauseBetweenCheckpoints(), 0);
  EXPECT_EQ(config.getMaxConcurrentCheckpoints(), 1);
  EXPECT_EQ(config.getTolerableCheckpointFailureNumber(), 0);
  EXPECT_FALSE(config.isUnalignedCheckpointsEnabled());
  EXPECT_EQ(config.getAlignedCheckpointTimeout(), 0);
  EXPECT_EQ(config.getExternalizedCheckpointRetention(),
            ExternalizedCheckpointRetention::kNoExternalizedCheckpoints);
  EXPECT_FALSE(config.isExternalizedCheckpointsEnabled());
  EXPECT_EQ(config.getMaxRetainedCheckpoints(), 1);
  EXPECT_EQ(config.getCheckpointStorage(), "");
  EXPECT_EQ(config.getDefaultSavepointDirectory(), "");
}

TEST(CheckpointConfigTest, ReadsEveryKey) {
  Configuration conf;
  conf.set("execution.checkpointing.interval", "30 s");
  conf.set("execution.checkpointing.mode", "exactly_once");
  conf.set("execution.checkpointing.timeout", "2 min");
  conf.set("execution.checkpointing.min-pause", "500 ms");
  conf.set("execution.checkpointing.max-concurrent-checkpoints", "1");
  conf.set("execution.checkpointing.tolerable-failed-checkpoints", "3");
  conf.set("execution.checkpointing.unaligned.enabled", "true");
  conf.set("execution.checkpointing.aligned-checkpoint-timeout", "5 s");
  conf.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
  conf.set("execution.checkpointing.num-retained", "4");
  conf.set("execution.checkpointing.dir", "file:///tmp/checkpoints");
  conf.set("execution.checkpointing.savepoint-dir", "/tmp/savepoints");
  const CheckpointConfig config = CheckpointConfig::fromConfiguration(conf);
  EXPECT_TRUE(config.isCheckpointingEnabled());
  EXPECT_EQ(config.getCheckpointInterval(), 30000);
  EXPECT_EQ(config.getCheckpointingMode(), CheckpointingMode::kExactlyOnce);
  EXPECT_EQ(config.getCheckpointTimeout(), 120000);
  EXPECT_EQ(config.getMinPauseBetweenCheckpoints(), 500);
  EXPECT_EQ(config.getMaxConcurrentCheckpoints(), 1);
  EXPECT_EQ(config.getTolerableCheckpointFailureNumber(), 3);
  EXPECT_TRUE(config.isUnalignedCheckpointsEnabled());
  EXPECT_EQ(config.getAlignedCheckpointTimeout(), 5000);
  EXPECT_EQ(config.getExternalizedCheckpointRetention(),
            ExternalizedCheckpointRetention::kRetainOnCancellation);
  EXPECT_TRUE(config.isExternalizedCheckpointsEnabled());
  EXPECT_EQ(config.getMaxRetainedCheckpoints(), 4);
  EXPECT_EQ(config.getCheckpointStorage(), "file:///tmp/checkpoints");
  EXPECT_EQ(config.getDefaultSavepointDirectory(), "/tmp/savepoints");
  // The keys are registered options: validated at start-up, no unknown-key warning.
  EXPECT_NO_THROW(validateKnownOptions(conf));
  for (const auto& [key, value] : conf.toMap()) EXPECT_TRUE(isKnownKey(key)) << key;

  Configuration atLeastOnce;
  atLeastOnce.set("execution.checkpointing.mode", " AT_LEAST_ONCE ");
  atLeastOnce.set("execution.checkpointing.max-concurrent-checkpoints", "3");
  atLeastOnce.set("execution.checkpointing.externalized-checkpoint-retention",
                  "delete_on_cancellation");
  const CheckpointConfig other = CheckpointConfig::fromConfiguration(atLeastOnce);
  EXPECT_EQ(other.getCheckpointingMode(), CheckpointingMode::kAtLeastOnce);
  EXPECT_EQ(other.getMaxConcurrentCheckpoints(), 3);
  EXPECT_EQ(other.getExternalizedCheckpointRetention(),
            ExternalizedCheckpointRetention::kDeleteOnCancellation);
}

TEST(CheckpointConfigTest, IntervalZeroOrMinusOneDisables) {
  for (const char* value : {"0", "0 ms", "-1", "-1 ms"}) {
    Configuration conf;
    conf.set("execution.checkpointing.interval", value);
    EXPECT_FALSE(CheckpointConfig::fromConfiguration(conf).isCheckpointingEnabled()) << value;
  }
  Configuration conf;
  conf.set("execution.checkpointing.interval", "10 ms");
  EXPECT_EQ(CheckpointConfig::fromConfiguration(conf).getCheckpointInterval(), 10);
}

TEST(CheckpointConfigTest, AcceptsFlink1Keys) {
  Configuration conf;
  conf.set("state.checkpoints.dir", "/tmp/old-checkpoints");
  conf.set("state.savepoints.dir", "/tmp/old-savepoints");
  conf.set("state.checkpoints.num-retained", "3");
  conf.set("execution.checkpointing.unaligned", "true");
  conf.set("execution.checkpointing.alignment-timeout", "1 s");
  CheckpointConfig config = CheckpointConfig::fromConfiguration(conf);
  EXPECT_EQ(config.getCheckpointStorage(), "/tmp/old-checkpoints");
  EXPECT_EQ(config.getDefaultSavepointDirectory(), "/tmp/old-savepoints");
  EXPECT_EQ(config.getMaxRetainedCheckpoints(), 3);
  EXPECT_TRUE(config.isUnalignedCheckpointsEnabled());
  EXPECT_EQ(config.getAlignedCheckpointTimeout(), 1000);
  for (const auto& [key, value] : conf.toMap()) EXPECT_TRUE(isKnownKey(key)) << key;

  // The Flink 2.0 key wins over the Flink 1.x key.
  conf.set("execution.checkpointing.dir", "/tmp/new-checkpoints");
  conf.set("execution.checkpointing.num-retained", "5");
  conf.set("execution.checkpointing.unaligned.enabled", "false");
  config = CheckpointConfig::fromConfiguration(conf);
  EXPECT_EQ(config.getCheckpointStorage(), "/tmp/new-checkpoints");
  EXPECT_EQ(config.getMaxRetainedCheckpoints(), 5);
  EXPECT_FALSE(config.isUnalignedCheckpointsEnabled());
}

TEST(CheckpointConfigTest, BadValuesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"execution.checkpointing.interval", "5 ms"},
      {"execution.checkpointing.interval", "often"},
      {"execution.checkpointing.mode", "EXACTLY_TWICE"},
      {"execution.checkpointing.timeout", "5 ms"},
      {"execution.checkpointing.timeout", "-1 min"},
      {"execution.checkpointing.min-pause", "-1 ms"},
      {"execution.checkpointing.max-concurrent-checkpoints", "0"},
      {"execution.checkpointing.max-concurrent-checkpoints", "one"},
      {"execution.checkpointing.tolerable-failed-checkpoints", "-1"},
      {"execution.checkpointing.unaligned.enabled", "yes"},
      {"execution.checkpointing.unaligned", "maybe"},
      {"execution.checkpointing.aligned-checkpoint-timeout", "-5 s"},
      {"execution.checkpointing.externalized-checkpoint-retention", "KEEP_FOREVER"},
      {"execution.checkpointing.num-retained", "0"},
      {"state.checkpoints.num-retained", "-2"},
  };
  for (const auto& [key, value] : bad) {
    Configuration conf;
    conf.set(key, value);
    SCOPED_TRACE(key + " = " + value);
    expectThrowWith<ConfigurationException>([&] { CheckpointConfig::fromConfiguration(conf); },
                                            {"'" + key + "'", value});
  }
}

TEST(CheckpointConfigTest, InvalidCombinationsNameBothKeys) {
  Configuration conf;
  conf.set("execution.checkpointing.unaligned.enabled", "true");
  conf.set("execution.checkpointing.mode", "AT_LEAST_ONCE");
  expectThrowWith<ConfigurationException>(
      [&] { CheckpointConfig::fromConfiguration(conf); },
      {"execution.checkpointing.unaligned.enabled", "execution.checkpointing.mode"});

  conf.set("execution.checkpointing.mode", "EXACTLY_ONCE");
  conf.set("execution.checkpointing.max-concurrent-checkpoints", "2");
  expectThrowWith<ConfigurationException>([&] { CheckpointConfig::fromConfiguration(conf); },
                                          {"execution.checkpointing.unaligned.enabled",
                                           "execution.checkpointing.max-concurrent-checkpoints"});
}

TEST(CheckpointConfigTest, SettersCheckTheirArgument) {
  CheckpointConfig config;
  config.setCheckpointInterval(1000);
  EXPECT_TRUE(config.isCheckpointingEnabled());
  config.disableCheckpointing();
  EXPECT_FALSE(config.isCheckpointingEnabled());
  EXPECT_THROW(config.setCheckpointInterval(9), ConfigurationException);
  EXPECT_THROW(config.setCheckpointTimeout(0), ConfigurationException);
  EXPECT_THROW(config.setMinPauseBetweenCheckpoints(-1), ConfigurationException);
  EXPECT_THROW(config.setMaxConcurrentCheckpoints(0), ConfigurationException);
  EXPECT_THROW(config.setTolerableCheckpointFailureNumber(-1), ConfigurationException);
  EXPECT_THROW(config.setAlignedCheckpointTimeout(-1), ConfigurationException);
  EXPECT_THROW(config.setMaxRetainedCheckpoints(0), ConfigurationException);
  EXPECT_EQ(config, CheckpointConfig());  // failed setters change nothing

  config.setCheckpointInterval(60000);
  config.setCheckpointingMode(CheckpointingMode::kAtLeastOnce);
  config.setCheckpointTimeout(30000);
  config.setMinPauseBetweenCheckpoints(100);
  config.setMaxConcurrentCheckpoints(2);
  config.setTolerableCheckpointFailureNumber(7);
  config.setAlignedCheckpointTimeout(250);
  config.setExternalizedCheckpointRetention(ExternalizedCheckpointRetention::kDeleteOnCancellation);
  config.setMaxRetainedCheckpoints(3);
  config.setCheckpointStorage("/tmp/c");
  config.setDefaultSavepointDirectory("/tmp/s");
  EXPECT_NO_THROW(config.validate());
  config.enableUnalignedCheckpoints();
  EXPECT_THROW(config.validate(), ConfigurationException);
  config.enableUnalignedCheckpoints(false);

  // writeTo() and fromConfiguration() round-trip every setting.
  Configuration conf;
  config.writeTo(conf);
  EXPECT_EQ(CheckpointConfig::fromConfiguration(conf), config);
  EXPECT_NO_THROW(validateKnownOptions(conf));
}

TEST(CheckpointConfigTest, RetentionOnTermination) {
  using R = ExternalizedCheckpointRetention;
  using S = JobTerminalStatus;
  for (S status : {S::kFinished, S::kCanceled, S::kFailed, S::kSuspended}) {
    EXPECT_TRUE(discardRetainedCheckpointsOn(R::kNoExternalizedCheckpoints, status));
  }
  EXPECT_TRUE(discardRetainedCheckpointsOn(R::kDeleteOnCancellation, S::kFinished));
  EXPECT_TRUE(discardRetainedCheckpointsOn(R::kDeleteOnCancellation, S::kCanceled));
  EXPECT_FALSE(discardRetainedCheckpointsOn(R::kDeleteOnCancellation, S::kFailed));
  EXPECT_FALSE(discardRetainedCheckpointsOn(R::kDeleteOnCancellation, S::kSuspended));
  EXPECT_TRUE(discardRetainedCheckpointsOn(R::kRetainOnCancellation, S::kFinished));
  EXPECT_FALSE(discardRetainedCheckpointsOn(R::kRetainOnCancellation, S::kCanceled));
  EXPECT_FALSE(discardRetainedCheckpointsOn(R::kRetainOnCancellation, S::kFailed));
  EXPECT_FALSE(discardRetainedCheckpointsOn(R::kRetainOnCancellation, S::kSuspended));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints for the storage tests

std::vector<uint8_t> bytesOf(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

OperatorStateSnapshot::State stateOf(OperatorStateMode mode,
                                     const std::vector<std::string>& elements) {
  OperatorStateSnapshot::State state;
  state.mode = mode;
  for (const std::string& element : elements) {
    const std::vector<uint8_t> bytes = bytesOf(element);
    state.append(bytes);
  }
  return state;
}

// Three operators: a source with split positions (union state) and in-flight channel state on
// one subtask, a keyed operator with two subtasks (one of them also with list and broadcast
// state), and a stateless sink with no subtasks recorded.
CompletedCheckpoint sampleCheckpoint(const std::string& jobId, int64_t id) {
  CompletedCheckpoint checkpoint;
  checkpoint.jobId = jobId;
  checkpoint.checkpointId = id;
  checkpoint.timestamp = 1700000000000 + id;

  OperatorCheckpointState source;
  source.operatorId = "a1b2c3-source";
  source.operatorName = "Source: numbers";
  source.parallelism = 2;
  source.maxParallelism = 128;
  source.coordinatorState = {1, 2, 3, 0, 255};
  for (int subtask = 0; subtask < 2; ++subtask) {
    SubtaskCheckpointState state;
    state.operatorState.states["splits"] = stateOf(
        OperatorStateMode::kUnion, {"split-" + std::to_string(subtask) + "@" + std::to_string(id)});
    if (subtask == 1) {
      state.inputChannelState[0] = bytesOf("in-flight-0");
      state.inputChannelState[3] = std::vector<uint8_t>(1000, 0xAB);
    }
    source.subtasks[subtask] = std::move(state);
  }
  checkpoint.operators[source.operatorId] = source;

  OperatorCheckpointState keyed;
  keyed.operatorId = "d4e5f6-keyed";
  keyed.operatorName = "KeyedProcess -> Map";
  keyed.parallelism = 2;
  keyed.maxParallelism = 128;
  for (int subtask = 0; subtask < 2; ++subtask) {
    SubtaskCheckpointState state;
    state.keyedState.maxParallelism = 128;
    for (int kg = subtask * 64; kg < subtask * 64 + 64; kg += 9) {
      state.keyedState.keyGroups[kg] =
          bytesOf("kg" + std::to_string(kg) + "#" + std::to_string(id));
    }
    state.keyedState.keyGroups[subtask * 64 + 1] = {};  // an empty key group
    state.keyedState.stateMetaInfo["count"] =
        StateMetaInfo::keyed<std::string, VoidNamespace, int64_t>();
    state.keyedState.stateMetaInfo["_timers/user-timers"] =
        StateMetaInfo{{{"key", "k"}, {"namespace", ""}}};
    if (subtask == 0) {
      state.operatorState.states["buffer"] =
          stateOf(OperatorStateMode::kSplitDistribute, {"x", "", "yz"});
      state.operatorState.states["rules"] =
          stateOf(OperatorStateMode::kBroadcast, {"k1v1", "k2v2"});
    }
    keyed.subtasks[subtask] = std::move(state);
  }
  checkpoint.operators[keyed.operatorId] = keyed;

  OperatorCheckpointState sink;
  sink.operatorId = "ffff-sink";
  sink.operatorName = "";
  sink.parallelism = 3;
  sink.maxParallelism = 256;
  checkpoint.operators[sink.operatorId] = sink;
  return checkpoint;
}

void expectSameCheckpoint(const CompletedCheckpoint& actual, const CompletedCheckpoint& expected) {
  EXPECT_EQ(actual.jobId, expected.jobId);
  EXPECT_EQ(actual.checkpointId, expected.checkpointId);
  EXPECT_EQ(actual.timestamp, expected.timestamp);
  EXPECT_EQ(actual.savepoint, expected.savepoint);
  ASSERT_EQ(actual.operators.size(), expected.operators.size());
  for (const auto& [id, op] : expected.operators) {
    SCOPED_TRACE("operator " + id);
    ASSERT_TRUE(actual.operators.contains(id));
    const OperatorCheckpointState& got = actual.operators.at(id);
    EXPECT_EQ(got.operatorId, op.operatorId);
    EXPECT_EQ(got.operatorName, op.operatorName);
    EXPECT_EQ(got.parallelism, op.parallelism);
    EXPECT_EQ(got.maxParallelism, op.maxParallelism);
    EXPECT_EQ(got.coordinatorState, op.coordinatorState);
    ASSERT_EQ(got.subtasks.size(), op.subtasks.size());
    for (const auto& [index, subtask] : op.subtasks) {
      SCOPED_TRACE("subtask " + std::to_string(index));
      ASSERT_TRUE(got.subtasks.contains(index));
      const SubtaskCheckpointState& state = got.subtasks.at(index);
      EXPECT_EQ(state.keyedState.maxParallelism, subtask.keyedState.maxParallelism);
      EXPECT_EQ(state.keyedState.keyGroups, subtask.keyedState.keyGroups);
      EXPECT_EQ(state.keyedState.stateMetaInfo, subtask.keyedState.stateMetaInfo);
      EXPECT_EQ(state.operatorState, subtask.operatorState);
      EXPECT_EQ(state.inputChannelState, subtask.inputChannelState);
    }
  }
}

std::vector<uint8_t> readBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// ---------------------------------------------------------------------------------------------
// FileCheckpointStorage

TEST(CheckpointStorageTest, WritesFlinksLayoutAndRoundTrips) {
  TempDir tmp;
  const FileCheckpointStorage storage((tmp / "checkpoints").string());
  const CompletedCheckpoint checkpoint = sampleCheckpoint("job-0123456789", 7);
  const std::string dir = storage.writeCheckpoint(checkpoint);
  EXPECT_EQ(fs::path(dir), tmp / "checkpoints" / "job-0123456789" / "chk-7");
  EXPECT_EQ(dir, storage.checkpointDirectory("job-0123456789", 7));
  // Exactly one file: the metadata, no temporary left behind.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{"_metadata"});

  expectSameCheckpoint(FileCheckpointStorage::load(dir), checkpoint);
  expectSameCheckpoint(FileCheckpointStorage::load(dir + "/_metadata"), checkpoint);
  expectSameCheckpoint(FileCheckpointStorage::load("file://" + dir), checkpoint);

  // In memory, the same bytes give the same checkpoint, and serialization is deterministic.
  const std::vector<uint8_t> bytes = FileCheckpointStorage::serializeMetadata(checkpoint);
  EXPECT_EQ(bytes, readBytes(fs::path(dir) / "_metadata"));
  EXPECT_EQ(std::memcmp(bytes.data(), "SLCKMETA", 8), 0);
  expectSameCheckpoint(FileCheckpointStorage::deserializeMetadata(bytes.data(), bytes.size(), "x"),
                       checkpoint);

  // An empty checkpoint (no operators) round-trips too.
  CompletedCheckpoint empty;
  empty.jobId = "job-0123456789";
  empty.checkpointId = 8;
  expectSameCheckpoint(FileCheckpointStorage::load(storage.writeCheckpoint(empty)), empty);
}

// Version 3: keyed state in a state file next to _metadata, referred to per key group by byte
// range; a reader reads exactly a range; references that leave the directory or overrun the
// file are refused.
TEST(CheckpointStorageTest, KeyGroupsInStateFilesRoundTripAndAreReadByRange) {
  TempDir tmp;
  const FileCheckpointStorage storage((tmp / "checkpoints").string());
  const std::string dir = storage.checkpointDirectory("job-0123456789", 9);
  fs::create_directories(dir);
  const std::map<int, std::vector<uint8_t>> keyGroups = {
      {3, {1, 2, 3}}, {7, {}}, {90, std::vector<uint8_t>(5000, 42)}};
  const KeyGroupsStateHandle handle =
      FileCheckpointStorage::writeKeyGroupsFile(dir, "op-2", keyGroups);
  EXPECT_EQ(handle.file.rfind("op-2-", 0), 0u) << handle.file;
  EXPECT_EQ(fs::file_size(fs::path(dir) / handle.file), 5003u);
  for (const auto& [kg, bytes] : keyGroups) {
    EXPECT_EQ(FileCheckpointStorage::readStateFileRange(dir, handle.file, handle.keyGroups.at(kg)),
              bytes)
        << "key group " << kg;
  }
  CompletedCheckpoint checkpoint;
  checkpoint.jobId = "job-0123456789";
  checkpoint.checkpointId = 9;
  OperatorCheckpointState& op = checkpoint.operators["op"];
  op.operatorId = "op";
  op.parallelism = 4;
  SubtaskCheckpointState& subtask = op.subtasks[2];
  subtask.keyedState.maxParallelism = 128;
  subtask.keyedStateHandle = handle;
  const CompletedCheckpoint loaded =
      FileCheckpointStorage::load(storage.writeCheckpoint(checkpoint));
  EXPECT_EQ(loaded.directory, dir);
  EXPECT_EQ(loaded.operators.at("op").subtasks.at(2).keyedStateHandle, handle);
  EXPECT_TRUE(loaded.operators.at("op").subtasks.at(2).keyedState.keyGroups.empty());

  subtask.keyedStateHandle.file = "../elsewhere";
  expectThrowWith<SluiceException>([&] { FileCheckpointStorage::serializeMetadata(checkpoint); },
                                   {"not a plain file name"});
  expectThrowWith<SerializationException>(
      [&] {
        FileCheckpointStorage::readStateFileRange(dir, "../elsewhere", {0, 1});
      },
      {"not a plain file name"});
  expectThrowWith<SerializationException>(
      [&] {
        FileCheckpointStorage::readStateFileRange(dir, handle.file, {5000, 4});
      },
      {handle.file, "shorter than the checkpoint says"});
  expectThrowWith<IOException>(
      [&] {
        FileCheckpointStorage::readStateFileRange(dir, "missing", {0, 1});
      },
      {"missing"});
}

TEST(CheckpointStorageTest, RefusesToOverwriteAndReusesIncompleteDirectories) {
  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  const CompletedCheckpoint checkpoint = sampleCheckpoint("job", 3);
  storage.writeCheckpoint(checkpoint);
  expectThrowWith<IOException>([&] { storage.writeCheckpoint(sampleCheckpoint("job", 3)); },
                               {"already exists", "chk-3"});
  expectSameCheckpoint(FileCheckpointStorage::load(storage.checkpointDirectory("job", 3)),
                       checkpoint);

  // A crash before the rename leaves chk-4 with only a temporary file: incomplete, and a later
  // attempt at checkpoint 4 (after restoring from 3) writes over it.
  const fs::path chk4 = storage.checkpointDirectory("job", 4);
  fs::create_directories(chk4);
  writeBytes(chk4 / "_metadata.inprogress", {1, 2, 3});
  expectThrowWith<IOException>([&] { FileCheckpointStorage::load(chk4.string()); },
                               {"not a complete checkpoint", chk4.string()});
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + tmp.str()),
            storage.checkpointDirectory("job", 3));
  const CompletedCheckpoint fourth = sampleCheckpoint("job", 4);
  EXPECT_EQ(storage.writeCheckpoint(fourth), chk4.string());
  expectSameCheckpoint(FileCheckpointStorage::load(chk4.string()), fourth);
  EXPECT_FALSE(fs::exists(chk4 / "_metadata.inprogress"));
}

TEST(CheckpointStorageTest, RejectsInconsistentCheckpointsBeforeWritingAnything) {
  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  CompletedCheckpoint badIndex = sampleCheckpoint("job", 1);
  badIndex.operators.begin()->second.subtasks[5] = {};
  expectThrowWith<SluiceException>([&] { storage.writeCheckpoint(badIndex); }, {"subtask index 5"});
  CompletedCheckpoint badKeyGroup = sampleCheckpoint("job", 1);
  badKeyGroup.operators.at("d4e5f6-keyed").subtasks[0].keyedState.keyGroups[128] = {};
  expectThrowWith<SluiceException>([&] { storage.writeCheckpoint(badKeyGroup); },
                                   {"key group 128"});
  CompletedCheckpoint savepoint = sampleCheckpoint("job", 1);
  savepoint.savepoint = true;
  EXPECT_THROW(storage.writeCheckpoint(savepoint), SluiceException);
  EXPECT_THROW(storage.writeCheckpoint(sampleCheckpoint("../escape", 1)), SluiceException);
  EXPECT_THROW(storage.writeCheckpoint(sampleCheckpoint("", 1)), SluiceException);
  EXPECT_TRUE(fs::is_empty(tmp.path()));

  const FileCheckpointStorage unconfigured("");
  expectThrowWith<ConfigurationException>(
      [&] { unconfigured.writeCheckpoint(sampleCheckpoint("job", 1)); },
      {"execution.checkpointing.dir"});
}

TEST(CheckpointStorageTest, LatestPicksTheNewestCompleteCheckpoint) {
  TempDir tmp;
  const fs::path root = tmp / "checkpoints";
  const FileCheckpointStorage storage(root.string());
  for (int64_t id : {1, 2, 3}) storage.writeCheckpoint(sampleCheckpoint("jobA", id));
  storage.writeCheckpoint(sampleCheckpoint("jobB", 2));
  const fs::path jobDir = root / "jobA";
  const std::vector<uint8_t> valid = readBytes(jobDir / "chk-3" / "_metadata");

  // Newer but incomplete: no _metadata, a truncated one, a corrupted one, a misnamed dir.
  fs::create_directories(jobDir / "chk-9");
  fs::create_directories(jobDir / "chk-8");
  writeBytes(jobDir / "chk-8" / "_metadata",
             std::vector<uint8_t>(valid.begin(), valid.begin() + valid.size() / 2));
  fs::create_directories(jobDir / "chk-7");
  std::vector<uint8_t> corrupted = valid;
  corrupted[corrupted.size() - 5] ^= 0x10;
  writeBytes(jobDir / "chk-7" / "_metadata", corrupted);
  fs::create_directories(jobDir / "chk-x10");
  writeBytes(jobDir / "chk-x10" / "_metadata", valid);
  writeBytes(jobDir / "chk-11", valid);  // a file, not a directory

  const std::string expected = (jobDir / "chk-3").string();
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + jobDir.string()), expected);
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + root.string()), expected);
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath(" latest:file://" + root.string() + " "),
            expected);
  EXPECT_EQ(FileCheckpointStorage::load(expected).checkpointId, 3);

  // A direct path is returned as a local path; one without _metadata is rejected.
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("file://" + expected), expected);
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::resolveRestorePath((jobDir / "chk-9").string()); },
      {"not a complete checkpoint"});
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::resolveRestorePath((tmp / "nowhere").string()); },
      {"no such file or directory"});

  // Nothing complete left: a clear error.
  for (int64_t id : {1, 2, 3}) fs::remove(jobDir / ("chk-" + std::to_string(id)) / "_metadata");
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::resolveRestorePath("latest:" + jobDir.string()); },
      {"no complete checkpoint", jobDir.string()});
  // The root still has jobB's chk-2.
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + root.string()),
            (root / "jobB" / "chk-2").string());
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::resolveRestorePath("latest:" + (tmp / "none").string()); },
      {"not a directory"});
}

TEST(CheckpointStorageTest, LoadErrorsAreClear) {
  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  const std::string dir = storage.writeCheckpoint(sampleCheckpoint("job", 1));
  const fs::path metadata = fs::path(dir) / "_metadata";
  const std::vector<uint8_t> valid = readBytes(metadata);

  expectThrowWith<IOException>([&] { FileCheckpointStorage::load((tmp / "missing").string()); },
                               {"no such file or directory"});
  fs::create_directories(tmp / "job" / "chk-2");
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::load((tmp / "job" / "chk-2").string()); },
      {"not a complete checkpoint", "_metadata"});

  // Bad magic.
  std::vector<uint8_t> bytes = valid;
  bytes[0] = 'X';
  writeBytes(metadata, bytes);
  expectThrowWith<SerializationException>([&] { FileCheckpointStorage::load(dir); },
                                          {"bad magic", metadata.string()});

  // A newer format version with a valid checksum.
  bytes = valid;
  const uint32_t version = FileCheckpointStorage::kMetadataVersion + 1;
  std::memcpy(bytes.data() + 8, &version, 4);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, bytes.data(), 20);
  crc = crc32(crc, bytes.data() + 24, static_cast<uInt>(bytes.size() - 24));
  const auto crc32Value = static_cast<uint32_t>(crc);
  std::memcpy(bytes.data() + 20, &crc32Value, 4);
  writeBytes(metadata, bytes);
  expectThrowWith<SerializationException>(
      [&] { FileCheckpointStorage::load(dir); },
      {"unsupported format version " + std::to_string(version), metadata.string()});

  // Checksum mismatch.
  bytes = valid;
  bytes[40] ^= 0x01;
  writeBytes(metadata, bytes);
  expectThrowWith<SerializationException>([&] { FileCheckpointStorage::load(dir); },
                                          {"corrupted", "checksum mismatch"});

  // Every truncation, including the empty file.
  for (size_t size = 0; size < valid.size(); ++size) {
    SCOPED_TRACE("truncated to " + std::to_string(size));
    expectThrowWith<SerializationException>(
        [&] { FileCheckpointStorage::deserializeMetadata(valid.data(), size, metadata.string()); },
        {"truncated", metadata.string()});
  }
  writeBytes(metadata, std::vector<uint8_t>(valid.begin(), valid.end() - 1));
  expectThrowWith<SerializationException>([&] { FileCheckpointStorage::load(dir); }, {"truncated"});
  // Trailing bytes.
  bytes = valid;
  bytes.push_back(0);
  EXPECT_THROW(FileCheckpointStorage::deserializeMetadata(bytes.data(), bytes.size(), "x"),
               SerializationException);
}

TEST(CheckpointStorageTest, EverySingleByteFlipIsDetected) {
  // A small checkpoint: one operator, one subtask with keyed, operator and channel state.
  CompletedCheckpoint checkpoint;
  checkpoint.jobId = "j";
  checkpoint.checkpointId = 2;
  checkpoint.timestamp = 99;
  OperatorCheckpointState op;
  op.operatorId = "op";
  op.operatorName = "Map";
  op.parallelism = 1;
  SubtaskCheckpointState subtask;
  subtask.keyedState.maxParallelism = 128;
  subtask.keyedState.keyGroups[5] = bytesOf("v5");
  subtask.operatorState.states["s"] = stateOf(OperatorStateMode::kSplitDistribute, {"e"});
  subtask.inputChannelState[1] = bytesOf("c");
  op.subtasks[0] = subtask;
  checkpoint.operators["op"] = op;

  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  const std::string dir = storage.writeCheckpoint(checkpoint);
  const fs::path metadata = fs::path(dir) / "_metadata";
  const std::vector<uint8_t> valid = readBytes(metadata);
  ASSERT_LT(valid.size(), 200u);
  for (size_t offset = 0; offset < valid.size(); ++offset) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      SCOPED_TRACE("offset " + std::to_string(offset) + " mask " + std::to_string(mask));
      std::vector<uint8_t> bytes = valid;
      bytes[offset] ^= mask;
      expectThrowWith<SerializationException>(
          [&] { FileCheckpointStorage::deserializeMetadata(bytes.data(), bytes.size(), "meta"); },
          {"meta", "corrupted"});
      if (mask == 0xFF) {
        writeBytes(metadata, bytes);
        expectThrowWith<SerializationException>([&] { FileCheckpointStorage::load(dir); },
                                                {metadata.string(), "corrupted"});
      }
    }
  }
  writeBytes(metadata, valid);
  expectSameCheckpoint(FileCheckpointStorage::load(dir), checkpoint);
}

// Damage that the checksum does not see (bytes changed and the CRC recomputed, as a buggy
// writer would produce) still fails cleanly in the payload parser, never out of bounds.
TEST(CheckpointStorageTest, MalformedPayloadWithValidChecksumFailsCleanly) {
  const std::vector<uint8_t> valid =
      FileCheckpointStorage::serializeMetadata(sampleCheckpoint("job", 5));
  auto withCrc = [](std::vector<uint8_t> bytes) {
    const uint64_t payload = bytes.size() - 24;
    std::memcpy(bytes.data() + 12, &payload, 8);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, bytes.data(), 20);
    crc = crc32(crc, bytes.data() + 24, static_cast<uInt>(payload));
    const auto value = static_cast<uint32_t>(crc);
    std::memcpy(bytes.data() + 20, &value, 4);
    return bytes;
  };
  std::mt19937 rng(42);
  int failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bytes = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = 24 + rng() % (bytes.size() - 24);
      switch (rng() % 3) {
        case 0:
          bytes[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          bytes.resize(std::max<size_t>(24, at));  // cut the payload
          break;
        default:
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<uint8_t>(rng()));
      }
      if (bytes.size() <= 24) break;
    }
    bytes = withCrc(std::move(bytes));
    try {
      FileCheckpointStorage::deserializeMetadata(bytes.data(), bytes.size(), "fuzz");
    } catch (const SerializationException& e) {
      ++failures;
      EXPECT_THAT(e.what(), HasSubstr("corrupted"));
    }
  }
  EXPECT_GT(failures, 1000);
}

TEST(CheckpointStorageTest, SavepointsAreSelfContainedAndRelocatable) {
  TempDir tmp;
  const FileCheckpointStorage storage((tmp / "checkpoints").string(),
                                      (tmp / "savepoints").string());
  const CompletedCheckpoint checkpoint = sampleCheckpoint("a1b2c3d4e5f6", 12);
  const std::string dir = storage.writeSavepoint(checkpoint, (tmp / "target").string());
  EXPECT_EQ(fs::path(dir).parent_path(), tmp / "target");
  EXPECT_TRUE(std::regex_match(fs::path(dir).filename().string(),
                               std::regex("savepoint-a1b2c3-[0-9a-f]{12}")))
      << dir;
  CompletedCheckpoint expected = checkpoint;
  expected.savepoint = true;
  expectSameCheckpoint(FileCheckpointStorage::load(dir), expected);

  // Two savepoints of the same job get different directories.
  const std::string second = storage.writeSavepoint(checkpoint, (tmp / "target").string());
  EXPECT_NE(second, dir);

  // Moved somewhere else, the savepoint still loads (no absolute paths inside).
  const fs::path moved = tmp / "elsewhere" / "deeper" / "my-savepoint";
  fs::create_directories(moved.parent_path());
  fs::rename(dir, moved);
  expectSameCheckpoint(FileCheckpointStorage::load(moved.string()), expected);
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath(moved.string()), moved.string());
  // Nor does the metadata mention the directory it was written to.
  const std::vector<uint8_t> bytes = readBytes(moved / "_metadata");
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(text.find(tmp.str()), std::string::npos);

  // Without a target the default directory is used; without either, a clear error.
  const std::string defaulted = storage.writeSavepoint(checkpoint);
  EXPECT_EQ(fs::path(defaulted).parent_path(), tmp / "savepoints");
  const FileCheckpointStorage noDefault((tmp / "checkpoints").string());
  expectThrowWith<ConfigurationException>([&] { noDefault.writeSavepoint(checkpoint); },
                                          {"execution.checkpointing.savepoint-dir"});
  // Savepoints are not candidates of latest:.
  expectThrowWith<IOException>(
      [&] { FileCheckpointStorage::resolveRestorePath("latest:" + (tmp / "savepoints").string()); },
      {"no complete checkpoint"});
}

TEST(CheckpointStorageTest, LocalPathsAndUris) {
  EXPECT_EQ(FileCheckpointStorage::toLocalPath("file:///tmp/a/b"), "/tmp/a/b");
  EXPECT_EQ(FileCheckpointStorage::toLocalPath("file:/tmp/a"), "/tmp/a");
  EXPECT_EQ(FileCheckpointStorage::toLocalPath("FILE://localhost/tmp/a"), "/tmp/a");
  EXPECT_EQ(FileCheckpointStorage::toLocalPath("/plain/path"), "/plain/path");
  EXPECT_EQ(FileCheckpointStorage::toLocalPath("relative/dir"), "relative/dir");
  EXPECT_EQ(FileCheckpointStorage::toLocalPath(""), "");
  expectThrowWith<ConfigurationException>(
      [] { FileCheckpointStorage::toLocalPath("hdfs://namenode/checkpoints"); }, {"hdfs://"});
  EXPECT_THROW(FileCheckpointStorage::toLocalPath("s3://bucket/x"), ConfigurationException);
  EXPECT_THROW(FileCheckpointStorage::toLocalPath("file://remote-host/x"), ConfigurationException);
  EXPECT_THROW(FileCheckpointStorage::toLocalPath("file:relative"), ConfigurationException);
  EXPECT_THROW(FileCheckpointStorage("s3://bucket/checkpoints"), ConfigurationException);

  CheckpointConfig config;
  config.setCheckpointStorage("file:///tmp/ck");
  config.setDefaultSavepointDirectory("/tmp/sp");
  const FileCheckpointStorage storage(config);
  EXPECT_EQ(storage.checkpointsDirectory(), "/tmp/ck");
  EXPECT_EQ(storage.defaultSavepointDirectory(), "/tmp/sp");
}

TEST(CheckpointStorageTest, DiscardDeletesOnlyCheckpointDirectories) {
  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  const std::string dir = storage.writeCheckpoint(sampleCheckpoint("job", 1));
  FileCheckpointStorage::discard(dir + "/_metadata");
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_NO_THROW(FileCheckpointStorage::discard(dir));  // idempotent

  const std::string savepoint = storage.writeSavepoint(sampleCheckpoint("job", 2), tmp.str());
  FileCheckpointStorage::discard(savepoint + "/");
  EXPECT_FALSE(fs::exists(savepoint));

  fs::create_directories(tmp / "precious");
  writeBytes(tmp / "precious" / "_metadata", {1});
  expectThrowWith<SluiceException>(
      [&] { FileCheckpointStorage::discard((tmp / "precious").string()); }, {"Refusing"});
  EXPECT_THROW(FileCheckpointStorage::discard(tmp.str()), SluiceException);
  EXPECT_TRUE(fs::exists(tmp / "precious" / "_metadata"));
}

// ---------------------------------------------------------------------------------------------
// CompletedCheckpointStore

TEST(CompletedCheckpointStoreTest, KeepsTheLastNAndDeletesTheRest) {
  TempDir tmp;
  const FileCheckpointStorage storage(tmp.str());
  CompletedCheckpointStore store(3);
  std::vector<std::string> dirs;
  for (int64_t id = 1; id <= 7; ++id) {
    const CompletedCheckpoint checkpoint = sampleCheckpoint("job", id);
    dirs.push_back(storage.writeCheckpoint(checkpoint));
    const std::vector<RetainedCheckpoint> subsumed =
        store.addCheckpoint({id, checkpoint.timestamp, dirs.back(), nullptr});
    if (id <= 3) {
      EXPECT_TRUE(subsumed.empty());
    } else {
      ASSERT_EQ(subsumed.size(), 1u);
      EXPECT_EQ(subsumed[0].checkpointId, id - 3);
    }
  }
  ASSERT_EQ(store.numberOfRetainedCheckpoints(), 3u);
  std::vector<int64_t> ids;
  for (const RetainedCheckpoint& c : store.allCheckpoints()) ids.push_back(c.checkpointId);
  EXPECT_EQ(ids, (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(store.latestCheckpoint()->checkpointId, 7);
  for (int64_t id = 1; id <= 7; ++id) {
    EXPECT_EQ(fs::exists(dirs[static_cast<size_t>(id - 1)]), id >= 5) << "chk-" << id;
  }
  EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + tmp.str()), dirs.back());

  // Ids must increase.
  EXPECT_THROW(store.addCheckpoint({7, 0, "", nullptr}), SluiceException);
  EXPECT_THROW(store.addCheckpoint({3, 0, "", nullptr}), SluiceException);
  // Savepoints are never retained.
  auto savepoint = std::make_shared<CompletedCheckpoint>(sampleCheckpoint("job", 8));
  savepoint->savepoint = true;
  EXPECT_THROW(store.addCheckpoint({8, 0, "", savepoint}), SluiceException);

  // With the default of one, only the newest is kept; in-memory entries have no files.
  CompletedCheckpointStore single(CheckpointConfig{});
  EXPECT_EQ(single.maxRetainedCheckpoints(), 1);
  auto inMemory = std::make_shared<const CompletedCheckpoint>(sampleCheckpoint("job", 1));
  single.addCheckpoint({1, 1, "", inMemory});
  single.addCheckpoint({2, 2, "", nullptr});
  ASSERT_EQ(single.numberOfRetainedCheckpoints(), 1u);
  EXPECT_EQ(single.latestCheckpoint()->checkpointId, 2);
  EXPECT_THROW(CompletedCheckpointStore(0), ConfigurationException);
}

TEST(CompletedCheckpointStoreTest, ShutdownFollowsTheRetentionPolicy) {
  using R = ExternalizedCheckpointRetention;
  using S = JobTerminalStatus;
  struct Case {
    R retention;
    S status;
    bool deleted;
  };
  const std::vector<Case> cases = {
      {R::kNoExternalizedCheckpoints, S::kCanceled, true},
      {R::kNoExternalizedCheckpoints, S::kFailed, true},
      {R::kDeleteOnCancellation, S::kCanceled, true},
      {R::kDeleteOnCancellation, S::kFailed, false},
      {R::kRetainOnCancellation, S::kCanceled, false},
      {R::kRetainOnCancellation, S::kSuspended, false},
      {R::kRetainOnCancellation, S::kFinished, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(toString(c.retention)) + " / " + toString(c.status));
    TempDir tmp;
    const FileCheckpointStorage storage(tmp.str());
    CompletedCheckpointStore store(2, c.retention);
    std::vector<std::string> dirs;
    for (int64_t id = 1; id <= 3; ++id) {
      dirs.push_back(storage.writeCheckpoint(sampleCheckpoint("job", id)));
      store.addCheckpoint({id, id, dirs.back(), nullptr});
    }
    EXPECT_FALSE(fs::exists(dirs[0]));  // subsumed in any case
    EXPECT_EQ(store.shutdown(c.status), c.deleted);
    EXPECT_EQ(store.numberOfRetainedCheckpoints(), 0u);
    EXPECT_EQ(fs::exists(dirs[1]), !c.deleted);
    EXPECT_EQ(fs::exists(dirs[2]), !c.deleted);
    if (!c.deleted) {
      EXPECT_EQ(FileCheckpointStorage::resolveRestorePath("latest:" + tmp.str()), dirs[2]);
    }
  }
}

}  // namespace checkpoint_storage_test
}  // namespace sluice
