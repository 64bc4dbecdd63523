// Operator state (non-keyed): OperatorStateStore round trips through snapshots and bytes,
// redistribution on rescaling (even split, union, broadcast) against brute-force recounts,
// CheckpointedFunction in map/flatMap/filter/sink operators snapshotted at one parallelism and
// restored at another, broadcast state of the broadcast operators, corrupt snapshots and
// misuse, and initializeState in whole jobs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/runtime/co_process_function.h"
#include "sluice/runtime/operators.h"
#include "sluice/runtime/sink_writer_operator.h"
#include "sluice/state/operator_state.h"
#include "sluice/testing/collect_sink.h"
#include "sluice/testing/function_source.h"
#include "sluice/testing/mini_cluster_fixture.h"
#include "sluice/testing/operator_harness.h"

namespace sluice {
namespace operator_state_test {

using ::testing::HasSubstr;
using testing::RecordingOutput;

// ---- helpers -------------------------------------------------------------------------------

/// Runs one operator outside a job as subtask `subtask` of `parallelism`, optionally with
/// restored operator state, on the library's harness: opened on construction, closed on
/// destruction. Processing time is a ManualClock that tests never advance.
template <typename Op, typename OUT>
class OperatorDriver : public testing::AbstractStreamOperatorTestHarness<Op, OUT> {
  using Base = testing::AbstractStreamOperatorTestHarness<Op, OUT>;

 public:
  OperatorDriver(std::unique_ptr<Op> op, int parallelism, int subtask,
                 std::optional<OperatorStateSnapshot> restored = std::nullopt)
      : Base(std::move(op), config(parallelism, subtask, std::move(restored))) {
    this->open();
  }

  Op& op() { return this->getOperator(); }
  /// Every value emitted so far.
  std::vector<OUT> values() const {
    std::vector<OUT> out;
    for (const auto& e : this->output()) {
      if (const auto* r = std::get_if<testing::StreamRecord<OUT>>(&e)) out.push_back(r->value);
    }
    return out;
  }
  /// The operator state a checkpoint takes now.
  OperatorStateSnapshot snapshot(int64_t checkpointId = 1, int64_t timestamp = 1000) {
    return Base::snapshot(checkpointId, timestamp).operatorState;
  }

 private:
  static testing::HarnessConfig config(int parallelism, int subtask,
                                       std::optional<OperatorStateSnapshot> restored) {
    testing::HarnessConfig c;
    c.parallelism = parallelism;
    c.subtask = subtask;
    c.operatorName = "Op";
    c.restoredOperatorState = std::move(restored);
    return c;
  }
};

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// The list of `name` (split or union per `union_`) after restoring `snapshot` in a fresh store.
template <typename T>
std::vector<T> restoredList(const OperatorStateSnapshot& snapshot, const std::string& name,
                            bool union_ = false) {
  OperatorStateStore store;
  store.restore(snapshot);
  ListStateDescriptor<T> d(name);
  return union_ ? store.getUnionListState(d).get().toVector()
                : store.getListState(d).get().toVector();
}

/// Snapshots of `lists.size()` subtasks, each holding its list in split state `name`.
std::vector<OperatorStateSnapshot> splitSnapshots(const std::vector<std::vector<int64_t>>& lists,
                                                  const std::string& name, bool union_ = false) {
  std::vector<OperatorStateSnapshot> out;
  for (const auto& list : lists) {
    OperatorStateStore store;
    ListStateDescriptor<int64_t> d(name);
    (union_ ? store.getUnionListState(d) : store.getListState(d)).update(list);
    out.push_back(store.snapshot());
  }
  return out;
}

/// Brute-force check of an even split: the new lists hold exactly the old elements (same
/// multiset), each is a contiguous run of the old lists' concatenation, and sizes differ by at
/// most one. Elements must be distinct.
void expectEvenSplit(const std::vector<std::vector<int64_t>>& oldLists,
                     const std::vector<std::vector<int64_t>>& newLists) {
  std::vector<int64_t> all;
  for (const auto& l : oldLists) all.insert(all.end(), l.begin(), l.end());
  std::vector<int64_t> got;
  for (const auto& l : newLists) got.insert(got.end(), l.begin(), l.end());
  EXPECT_EQ(sorted(got), sorted(all)) << "elements lost or duplicated";
  std::map<int64_t, size_t> position;
  for (size_t i = 0; i < all.size(); ++i) position[all[i]] = i;
  size_t n = all.size();
  size_t p = newLists.size();
  size_t larger = 0;
  for (const auto& l : newLists) {
    EXPECT_TRUE(l.size() == n / p || l.size() == n / p + 1) << l.size() << " of " << n;
    if (l.size() == n / p + 1) ++larger;
    for (size_t i = 1; i < l.size(); ++i) {
      EXPECT_EQ(position[l[i]], position[l[0]] + i) << "part is not contiguous";
    }
  }
  EXPECT_EQ(larger, n % p);
}

std::vector<std::vector<int64_t>> twoOldLists() {
  std::vector<int64_t> a;
  std::vector<int64_t> b;
  for (int64_t i = 0; i < 23; ++i) a.push_back(i * 10);
  for (int64_t i = 0; i < 14; ++i) b.push_back(1000 + i * 7);
  return {a, b};
}

struct Reading {
  int32_t sensor = 0;
  std::string name;
  double value = 0;
  friend bool operator==(const Reading&, const Reading&) = default;
};

/// No TypeSerializer: not an aggregate (private member).
class Opaque {
 public:
  explicit Opaque(int v = 0) : v_(v) {}
  int value() const { return v_; }

 private:
  int v_;
};

// ---- the store: round trips ----------------------------------------------------------------

TEST(OperatorStateStoreTest, EveryKindRoundTripsThroughSnapshotAndBytes) {
  OperatorStateStore store;
  EXPECT_FALSE(store.isRestored());
  auto& split = store.getListState(ListStateDescriptor<std::string>("buffer"));
  split.add("a");
  split.addAll({"b", "", "long string with spaces"});
  auto& unionList = store.getUnionListState(ListStateDescriptor<int64_t>("offsets"));
  unionList.update({5, -7, INT64_MAX});
  auto& readings = store.getListState(ListStateDescriptor<Reading>("readings"));
  readings.add({1, "temp", 21.5});
  readings.add({2, "hum", 0.25});
  auto& broadcast = store.getBroadcastState(MapStateDescriptor<int32_t, std::string>("rules"));
  broadcast.put(3, "three");
  broadcast.put(-1, "minus one");
  store.getListState(ListStateDescriptor<int32_t>("empty"));

  EXPECT_EQ(store.getRegisteredStateNames(),
            (std::set<std::string>{"buffer", "empty", "offsets", "readings"}));
  EXPECT_EQ(store.getRegisteredBroadcastStateNames(), (std::set<std::string>{"rules"}));

  OperatorStateSnapshot snapshot = store.snapshot();
  ASSERT_EQ(snapshot.states.size(), 5u);
  EXPECT_EQ(snapshot.states.at("buffer").mode, OperatorStateMode::kSplitDistribute);
  EXPECT_EQ(snapshot.states.at("buffer").size(), 4u);
  EXPECT_EQ(snapshot.states.at("offsets").mode, OperatorStateMode::kUnion);
  EXPECT_EQ(snapshot.states.at("rules").mode, OperatorStateMode::kBroadcast);
  EXPECT_EQ(snapshot.states.at("rules").size(), 2u);  // one element per entry
  EXPECT_TRUE(snapshot.states.at("empty").empty());

  auto bytes = snapshot.serialize();
  OperatorStateSnapshot decoded = OperatorStateSnapshot::deserialize(bytes);
  EXPECT_EQ(decoded, snapshot);

  OperatorStateStore restored;
  restored.restore(decoded);
  EXPECT_TRUE(restored.isRestored());
  EXPECT_EQ(restored.getListState(ListStateDescriptor<std::string>("buffer")).get(),
            (std::vector<std::string>{"a", "b", "", "long string with spaces"}));
  EXPECT_EQ(restored.getUnionListState(ListStateDescriptor<int64_t>("offsets")).get(),
            (std::vector<int64_t>{5, -7, INT64_MAX}));
  EXPECT_EQ(restored.getListState(ListStateDescriptor<Reading>("readings")).get(),
            (std::vector<Reading>{{1, "temp", 21.5}, {2, "hum", 0.25}}));
  auto& rules = restored.getBroadcastState(MapStateDescriptor<int32_t, std::string>("rules"));
  EXPECT_EQ(rules.entries(), (std::map<int32_t, std::string>{{-1, "minus one"}, {3, "three"}}));
  EXPECT_TRUE(restored.getListState(ListStateDescriptor<int32_t>("empty")).get().empty());
  // Everything requested again: the same snapshot.
  EXPECT_EQ(restored.snapshot(), snapshot);
}

TEST(OperatorStateStoreTest, ListStateOperations) {
  OperatorStateStore store;
  ListStateDescriptor<int32_t> d("l");
  auto& list = store.getListState(d);
  EXPECT_TRUE(list.get().empty());
  list.add(1);
  list.addAll({2, 3});
  EXPECT_EQ(list.get(), (std::vector<int32_t>{1, 2, 3}));
  list.update({9});
  EXPECT_EQ(list.get(), (std::vector<int32_t>{9}));
  EXPECT_EQ(&store.getListState(d), &list);  // the same state on every request
  list.clear();
  EXPECT_TRUE(list.get().empty());
  EXPECT_TRUE(store.snapshot().states.at("l").empty());
}

TEST(OperatorStateStoreTest, RestoredStatesNeverRequestedAreCarriedIntoNextSnapshot) {
  OperatorStateStore first;
  first.getListState(ListStateDescriptor<int64_t>("kept")).update({1, 2, 3});
  first.getBroadcastState(MapStateDescriptor<int32_t, int32_t>("map")).put(1, 2);
  first.getListState(ListStateDescriptor<int64_t>("used")).update({7});
  OperatorStateSnapshot snapshot = first.snapshot();

  OperatorStateStore second;
  second.restore(snapshot);
  second.getListState(ListStateDescriptor<int64_t>("used")).add(8);
  OperatorStateSnapshot next = second.snapshot();
  EXPECT_EQ(next.states.at("kept"), snapshot.states.at("kept"));
  EXPECT_EQ(next.states.at("map"), snapshot.states.at("map"));
  EXPECT_EQ(restoredList<int64_t>(next, "used"), (std::vector<int64_t>{7, 8}));
}

TEST(OperatorStateStoreTest, FreshStoreIsNotRestoredAndRestoreComesFirst) {
  OperatorStateStore store;
  EXPECT_FALSE(store.isRestored());
  store.getListState(ListStateDescriptor<int32_t>("x"));
  try {
    store.restore(OperatorStateSnapshot{});
    FAIL() << "restore after a state was requested must fail";
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("before any state is requested"));
  }
}

// ---- the store: misuse ---------------------------------------------------------------------

TEST(OperatorStateStoreTest, SameNameWithAnotherKindOrTypeFailsClearly) {
  OperatorStateStore store;
  store.getListState(ListStateDescriptor<int32_t>("s"));
  try {
    store.getUnionListState(ListStateDescriptor<int32_t>("s"));
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("operator state 's' is already registered as list state"));
    EXPECT_THAT(e.what(), HasSubstr("cannot also be used as union list state"));
  }
  try {
    store.getBroadcastState(MapStateDescriptor<int32_t, int32_t>("s"));
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot also be used as broadcast state"));
  }
  try {
    store.getListState(ListStateDescriptor<std::string>("s"));
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("operator state 's' is already registered as list state"));
    EXPECT_THAT(e.what(), HasSubstr("other element types"));
  }
  store.getBroadcastState(MapStateDescriptor<int32_t, int32_t>("m"));
  EXPECT_THROW(store.getBroadcastState(MapStateDescriptor<int32_t, int64_t>("m")), SluiceException);
  EXPECT_THROW(store.getListState(ListStateDescriptor<int32_t>("m")), SluiceException);
}

TEST(OperatorStateStoreTest, RestoredStateRequestedAsAnotherKindFails) {
  OperatorStateStore first;
  first.getUnionListState(ListStateDescriptor<int32_t>("u")).add(1);
  OperatorStateStore second;
  second.restore(first.snapshot());
  try {
    second.getListState(ListStateDescriptor<int32_t>("u"));
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("operator state 'u' was restored as union list state"));
  }
}

TEST(OperatorStateStoreTest, RestoredElementsOfAnotherTypeFailClearly) {
  OperatorStateStore first;
  first.getListState(ListStateDescriptor<int64_t>("wide")).update({1, 2});
  first.getListState(ListStateDescriptor<int32_t>("narrow")).update({7});
  auto snapshot = first.snapshot();
  // The snapshot records the element serializers: another type is refused before any element
  // is read, naming both.
  {
    OperatorStateStore second;
    second.restore(snapshot);
    try {
      second.getListState(ListStateDescriptor<int32_t>("wide"));
      FAIL();
    } catch (const StateMigrationException& e) {
      EXPECT_THAT(e.what(), HasSubstr("cannot restore operator state 'wide'"));
      EXPECT_THAT(e.what(), HasSubstr(serializerDescription<int64_t>()));
      EXPECT_THAT(e.what(), HasSubstr(serializerDescription<int32_t>()));
    }
  }
  // Without recorded serializers (format 1), the elements themselves give the type away.
  for (auto& [name, state] : snapshot.states) state.meta = StateMetaInfo{};
  {
    OperatorStateStore second;
    second.restore(snapshot);
    try {
      second.getListState(ListStateDescriptor<int32_t>("wide"));
      FAIL();
    } catch (const SerializationException& e) {
      EXPECT_THAT(e.what(), HasSubstr("cannot restore operator state 'wide': element 0"));
      EXPECT_THAT(e.what(), HasSubstr("left over"));
    }
  }
  {
    OperatorStateStore second;
    second.restore(snapshot);
    try {
      second.getListState(ListStateDescriptor<std::string>("narrow"));
      FAIL();
    } catch (const SerializationException& e) {
      EXPECT_THAT(e.what(), HasSubstr("cannot restore operator state 'narrow': element 0"));
    }
  }
}

TEST(OperatorStateStoreTest, TimeToLiveIsRejected) {
  OperatorStateStore store;
  ListStateDescriptor<int32_t> d("ttl");
  d.enableTimeToLive(StateTtlConfig::newBuilder(std::chrono::milliseconds(10)).build());
  try {
    store.getListState(d);
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("time-to-live is only supported for keyed state"));
  }
}

TEST(OperatorStateStoreTest, TypeWithoutSerializerWorksUntilSnapshot) {
  OperatorStateStore store;
  auto& list = store.getListState(ListStateDescriptor<Opaque>("opaque"));
  list.add(Opaque(3));
  EXPECT_EQ(list.get()[0].value(), 3);
  try {
    store.snapshot();
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("operator state 'opaque' cannot be snapshotted"));
    EXPECT_THAT(e.what(), HasSubstr("TypeSerializer"));
  }
}

// ---- snapshot bytes ------------------------------------------------------------------------

OperatorStateSnapshot sampleSnapshot() {
  OperatorStateStore store;
  store.getListState(ListStateDescriptor<std::string>("a")).update({"x", "yy", "zzz"});
  store.getUnionListState(ListStateDescriptor<int64_t>("b")).update({1, 2});
  store.getBroadcastState(MapStateDescriptor<int32_t, int32_t>("c")).put(4, 5);
  return store.snapshot();
}

TEST(OperatorStateSnapshotTest, EmptySnapshotRoundTrips) {
  OperatorStateSnapshot empty;
  EXPECT_EQ(OperatorStateSnapshot::deserialize(empty.serialize()), empty);
}

TEST(OperatorStateSnapshotTest, EmbeddedInAStreamReadsExactlyItsBytes) {
  auto snapshot = sampleSnapshot();
  DataOutputView out;
  snapshot.serialize(out);
  out.writeRaw<uint32_t>(0xDEADBEEF);
  DataInputView in(out.data(), out.size());
  EXPECT_EQ(OperatorStateSnapshot::deserialize(in), snapshot);
  EXPECT_EQ(in.readRaw<uint32_t>(), 0xDEADBEEFu);
}

TEST(OperatorStateSnapshotTest, CorruptBytesGiveClearExceptions) {
  auto bytes = sampleSnapshot().serialize();
  auto expectFailure = [](std::vector<uint8_t> b, const std::string& what) {
    try {
      OperatorStateSnapshot::deserialize(b);
      ADD_FAILURE() << "no exception, expected: " << what;
    } catch (const SerializationException& e) {
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  };
  // Every truncation.
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(OperatorStateSnapshot::deserialize(truncated), SerializationException) << n;
  }
  expectFailure(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 2),
                "corrupt or truncated operator state snapshot: truncated input");
  expectFailure(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 9),
                "corrupt or truncated operator state snapshot: corrupt length 3 at offset 5");
  auto badMagic = bytes;
  badMagic[0] ^= 0xFF;
  expectFailure(badMagic, "not an operator state snapshot");
  auto badVersion = bytes;
  badVersion[4] = 7;
  expectFailure(badVersion, "unsupported format version 7");
  auto trailing = bytes;
  trailing.push_back(0);
  expectFailure(trailing, "1 trailing bytes");
  // The mode byte of the first state ("a": count at 5, name length at 6, name at 7).
  auto badMode = bytes;
  ASSERT_EQ(badMode[6], 1);
  ASSERT_EQ(badMode[7], 'a');
  badMode[8] = 9;
  expectFailure(badMode, "unknown distribution mode 9 of state 'a'");
  // A huge element count.
  auto hugeCount = bytes;
  hugeCount[9] = 0x7F;
  expectFailure(hugeCount, "corrupt length");
}

TEST(OperatorStateSnapshotTest, FlippedBytesNeverCrash) {
  auto bytes = sampleSnapshot().serialize();
  int failures = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      auto corrupt = bytes;
      corrupt[i] ^= flip;
      try {
        auto snapshot = OperatorStateSnapshot::deserialize(corrupt);
        // Decodes (e.g. a changed element byte): restoring must fail cleanly or succeed.
        OperatorStateStore store;
        store.restore(snapshot);
        try {
          store.getListState(ListStateDescriptor<std::string>("a"));
        } catch (const SluiceException&) {
        }
      } catch (const SerializationException&) {
        ++failures;
      }
    }
  }
  EXPECT_GT(failures, 0);
}

// ---- redistribution ------------------------------------------------------------------------

class OperatorStateRedistributionTest : public ::testing::TestWithParam<int> {};

TEST_P(OperatorStateRedistributionTest, EvenSplitMatchesBruteForce) {
  const int p = GetParam();
  auto oldLists = twoOldLists();
  auto newSnapshots = redistributeOperatorState(splitSnapshots(oldLists, "buf"), p);
  ASSERT_EQ(newSnapshots.size(), static_cast<size_t>(p));
  std::vector<std::vector<int64_t>> newLists;
  for (const auto& s : newSnapshots) {
    EXPECT_EQ(s.states.at("buf").mode, OperatorStateMode::kSplitDistribute);
    newLists.push_back(restoredList<int64_t>(s, "buf"));
  }
  expectEvenSplit(oldLists, newLists);
}

TEST_P(OperatorStateRedistributionTest, UnionGivesEverySubtaskAllElements) {
  const int p = GetParam();
  auto oldLists = twoOldLists();
  auto newSnapshots = redistributeOperatorState(splitSnapshots(oldLists, "offsets", true), p);
  ASSERT_EQ(newSnapshots.size(), static_cast<size_t>(p));
  std::vector<int64_t> all;
  for (const auto& l : oldLists) all.insert(all.end(), l.begin(), l.end());
  for (const auto& s : newSnapshots) {
    EXPECT_EQ(s.states.at("offsets").mode, OperatorStateMode::kUnion);
    EXPECT_EQ(sorted(restoredList<int64_t>(s, "offsets", true)), sorted(all));
  }
}

TEST_P(OperatorStateRedistributionTest, BroadcastGivesEverySubtaskOneCopy) {
  const int p = GetParam();
  MapStateDescriptor<std::string, int64_t> d("rules");
  std::map<std::string, int64_t> rules{{"a", 1}, {"b", 2}, {"c", 3}};
  std::vector<OperatorStateSnapshot> old;
  for (int s = 0; s < 2; ++s) {
    OperatorStateStore store;
    store.getBroadcastState(d).putAll(rules);
    old.push_back(store.snapshot());
  }
  auto newSnapshots = redistributeOperatorState(old, p);
  ASSERT_EQ(newSnapshots.size(), static_cast<size_t>(p));
  for (const auto& s : newSnapshots) {
    EXPECT_EQ(s.states.at("rules").size(), rules.size());  // one copy, not one per old subtask
    OperatorStateStore store;
    store.restore(s);
    EXPECT_EQ(store.getBroadcastState(d).entries(), rules);
  }
}

TEST_P(OperatorStateRedistributionTest, MixedStatesAndEmptySubtasks) {
  const int p = GetParam();
  // Old subtask 1 has no state at all; subtask 0 has split, union and broadcast state.
  OperatorStateStore s0;
  s0.getListState(ListStateDescriptor<int64_t>("split")).update({1, 2, 3, 4, 5});
  s0.getUnionListState(ListStateDescriptor<int64_t>("union")).update({10});
  s0.getBroadcastState(MapStateDescriptor<int32_t, int32_t>("bc")).put(1, 1);
  auto newSnapshots = redistributeOperatorState({s0.snapshot(), OperatorStateSnapshot{}}, p);
  std::vector<std::vector<int64_t>> newLists;
  for (const auto& s : newSnapshots) {
    newLists.push_back(restoredList<int64_t>(s, "split"));
    EXPECT_EQ(restoredList<int64_t>(s, "union", true), (std::vector<int64_t>{10}));
    ASSERT_EQ(s.states.count("bc"), 1u);
  }
  expectEvenSplit({{1, 2, 3, 4, 5}, {}}, newLists);
}

INSTANTIATE_TEST_SUITE_P(NewParallelism, OperatorStateRedistributionTest,
                         ::testing::Values(1, 3, 4));

TEST(OperatorStateRedistributionTest, SameParallelismKeepsSplitStateAndUnionsUnionState) {
  auto oldLists = twoOldLists();
  auto old = splitSnapshots(oldLists, "split");
  auto unions = splitSnapshots({{1}, {2}}, "union", true);
  for (size_t i = 0; i < 2; ++i) old[i].states.merge(unions[i].states);
  auto again = redistributeOperatorState(old, 2);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(restoredList<int64_t>(again[i], "split"), oldLists[i]);
    EXPECT_EQ(restoredList<int64_t>(again[i], "union", true), (std::vector<int64_t>{1, 2}));
  }
}

TEST(OperatorStateRedistributionTest, LargerPartsRotateOverSubtasksAcrossStates) {
  // Two states of 5 elements each to 3 subtasks: "a" gives 2, 2, 1 (from subtask 0), "b"
  // starts where "a"'s larger parts ended, so each subtask holds 3 or 4 elements in total.
  std::vector<OperatorStateSnapshot> old(1);
  {
    OperatorStateStore store;
    store.getListState(ListStateDescriptor<int64_t>("a")).update({1, 2, 3, 4, 5});
    store.getListState(ListStateDescriptor<int64_t>("b")).update({6, 7, 8, 9, 10});
    old[0] = store.snapshot();
  }
  auto parts = redistributeOperatorState(old, 3);
  std::vector<size_t> totals;
  for (const auto& s : parts) totals.push_back(s.states.at("a").size() + s.states.at("b").size());
  EXPECT_EQ(sorted(totals), (std::vector<size_t>{3, 3, 4}));
  EXPECT_EQ(restoredList<int64_t>(parts[0], "a"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(restoredList<int64_t>(parts[1], "a"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(restoredList<int64_t>(parts[2], "a"), (std::vector<int64_t>{5}));
  EXPECT_EQ(restoredList<int64_t>(parts[2], "b"), (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(restoredList<int64_t>(parts[0], "b"), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(restoredList<int64_t>(parts[1], "b"), (std::vector<int64_t>{10}));
}

TEST(OperatorStateRedistributionTest, BroadcastCopiesComeFromOldSubtasksRoundRobin) {
  MapStateDescriptor<int32_t, int32_t> d("bc");
  std::vector<OperatorStateSnapshot> old;
  for (int s = 0; s < 2; ++s) {
    OperatorStateStore store;
    store.getBroadcastState(d).put(0, s);  // different copies show which one was taken
    old.push_back(store.snapshot());
  }
  auto parts = redistributeOperatorState(old, 5);
  for (int i = 0; i < 5; ++i) {
    OperatorStateStore store;
    store.restore(parts[static_cast<size_t>(i)]);
    EXPECT_EQ(store.getBroadcastState(d).get(0), i % 2);
  }
}

TEST(OperatorStateRedistributionTest, InvalidInputFails) {
  EXPECT_THROW(redistributeOperatorState({}, 0), SluiceException);
  EXPECT_EQ(redistributeOperatorState({}, 3).size(), 3u);
  auto a = splitSnapshots({{1}}, "x");
  auto b = splitSnapshots({{2}}, "x", true);
  try {
    redistributeOperatorState({a[0], b[0]}, 3);
    FAIL();
  } catch (const SluiceException& e) {
    EXPECT_THAT(e.what(), HasSubstr("operator state 'x' has mode SPLIT_DISTRIBUTE"));
  }
}

// ---- CheckpointedFunction in operators -----------------------------------------------------

/// What each function instance saw in initializeState.
struct Observations {
  struct Init {
    bool restored = false;
    std::vector<int64_t> buffered;  ///< restored buffer
    int64_t totalSeen = 0;          ///< sum of the union state: elements seen by all subtasks
  };
  std::vector<Init> inits;
  std::vector<int64_t> checkpointIds;
};

const ListStateDescriptor<int64_t> kBuffered("buffered-elements");
const ListStateDescriptor<int64_t> kSeen("seen");

/// Flink's BufferingSink example as a flatMap: buffers elements and emits them in batches of
/// `threshold`; a negative element flushes the buffer. The buffer is operator state (even
/// split); the number of elements each subtask saw is union state.
struct BufferingFlatMap : CheckpointedFunction {
  BufferingFlatMap(size_t t, std::shared_ptr<Observations> o)
      : threshold(t), observations(std::move(o)) {}

  void flatMap(const int64_t& v, Collector<int64_t>& out) {
    if (v >= 0) {
      ++seen;
      buffered.push_back(v);
    }
    if (v < 0 || buffered.size() >= threshold) {
      for (int64_t b : buffered) out.collect(b);
      buffered.clear();
    }
  }
  void snapshotState(FunctionSnapshotContext& context) override {
    checkpointed->update(buffered);
    seenState->update({seen});
    observations->checkpointIds.push_back(context.getCheckpointId());
  }
  void initializeState(FunctionInitializationContext& context) override {
    checkpointed = &context.getOperatorStateStore().getListState(kBuffered);
    seenState = &context.getOperatorStateStore().getUnionListState(kSeen);
    Observations::Init init;
    init.restored = context.isRestored();
    if (context.isRestored()) {
      buffered = checkpointed->get().toVector();
      init.buffered = buffered;
      for (int64_t s : seenState->get()) init.totalSeen += s;
    }
    observations->inits.push_back(init);
  }

  size_t threshold;
  std::shared_ptr<Observations> observations;
  std::vector<int64_t> buffered;
  int64_t seen = 0;
  ListState<int64_t>* checkpointed = nullptr;
  ListState<int64_t>* seenState = nullptr;
};

using BufferingOp = StreamFlatMap<int64_t, int64_t, BufferingFlatMap>;
using BufferingDriver = OperatorDriver<BufferingOp, int64_t>;

std::unique_ptr<BufferingDriver> bufferingDriver(std::shared_ptr<Observations> o, int p, int s,
                                                 std::optional<OperatorStateSnapshot> restored) {
  return std::make_unique<BufferingDriver>(
      std::make_unique<BufferingOp>(BufferingFlatMap(25, std::move(o))), p, s, std::move(restored));
}

TEST(CheckpointedFunctionOperatorStateTest, FreshStartIsNotRestored) {
  auto observations = std::make_shared<Observations>();
  auto driver = bufferingDriver(observations, 1, 0, std::nullopt);
  ASSERT_EQ(observations->inits.size(), 1u);
  EXPECT_FALSE(observations->inits[0].restored);
  EXPECT_TRUE(observations->inits[0].buffered.empty());
}

TEST(CheckpointedFunctionOperatorStateTest, BufferingFlatMapRescaledFrom2To3KeepsBuffer) {
  auto before = std::make_shared<Observations>();
  std::vector<std::vector<int64_t>> inputs(2);
  for (int64_t i = 0; i < 37; ++i) inputs[0].push_back(i);
  for (int64_t i = 0; i < 20; ++i) inputs[1].push_back(500 + i * 3);

  // Parallelism 2: feed, then checkpoint 7.
  std::vector<int64_t> emitted;
  std::vector<OperatorStateSnapshot> snapshots;
  for (int s = 0; s < 2; ++s) {
    auto driver = bufferingDriver(before, 2, s, std::nullopt);
    for (int64_t v : inputs[static_cast<size_t>(s)]) driver->op().processElement(v, kNoTimestamp);
    auto out = driver->values();
    emitted.insert(emitted.end(), out.begin(), out.end());
    // Through bytes, as a checkpoint stores it.
    snapshots.push_back(OperatorStateSnapshot::deserialize(driver->snapshot(7, 123).serialize()));
  }
  EXPECT_EQ(before->checkpointIds, (std::vector<int64_t>{7, 7}));
  EXPECT_FALSE(before->inits[0].restored);

  // Brute force: what was not emitted is buffered.
  std::multiset<int64_t> expected;
  for (const auto& in : inputs) expected.insert(in.begin(), in.end());
  for (int64_t v : emitted) expected.erase(expected.find(v));
  ASSERT_EQ(expected.size(), 12u + 20u);

  // Restore at parallelism 3 and flush every subtask.
  auto after = std::make_shared<Observations>();
  auto parts = redistributeOperatorState(snapshots, 3);
  std::multiset<int64_t> flushed;
  std::vector<size_t> sizes;
  for (int s = 0; s < 3; ++s) {
    auto driver = bufferingDriver(after, 3, s, parts[static_cast<size_t>(s)]);
    driver->op().processElement(-1, kNoTimestamp);
    auto out = driver->values();
    flushed.insert(out.begin(), out.end());
    sizes.push_back(out.size());
  }
  EXPECT_EQ(flushed, expected);
  EXPECT_EQ(sorted(sizes), (std::vector<size_t>{10, 11, 11}));
  ASSERT_EQ(after->inits.size(), 3u);
  for (const auto& init : after->inits) {
    EXPECT_TRUE(init.restored);
    EXPECT_EQ(init.totalSeen, 57);  // union state: every subtask sees both old counts
  }
}

TEST(CheckpointedFunctionOperatorStateTest, RestoredSubtaskWithoutStateIsStillRestored) {
  // Scale 1 → 4 with two buffered elements: two new subtasks get none, yet isRestored().
  auto before = std::make_shared<Observations>();
  OperatorStateSnapshot snapshot;
  {
    auto driver = bufferingDriver(before, 1, 0, std::nullopt);
    driver->op().processElement(1, kNoTimestamp);
    driver->op().processElement(2, kNoTimestamp);
    snapshot = driver->snapshot();
  }
  auto after = std::make_shared<Observations>();
  auto parts = redistributeOperatorState({snapshot}, 4);
  size_t total = 0;
  for (int s = 0; s < 4; ++s) {
    bufferingDriver(after, 4, s, parts[static_cast<size_t>(s)]);
    EXPECT_TRUE(after->inits.back().restored);
    total += after->inits.back().buffered.size();
  }
  EXPECT_EQ(total, 2u);
}

/// A map that numbers its records per subtask; the counter is operator state.
struct CountingMap : CheckpointedFunction {
  int64_t map(const int64_t&) { return ++count; }
  void snapshotState(FunctionSnapshotContext&) override { state->update({count}); }
  void initializeState(FunctionInitializationContext& context) override {
    state = &context.getOperatorStateStore().getListState(ListStateDescriptor<int64_t>("count"));
    for (int64_t c : state->get()) count += c;
  }
  int64_t count = 0;
  ListState<int64_t>* state = nullptr;
};

/// A filter that drops values it saw before (in any subtask, through union state).
struct DistinctFilter : CheckpointedFunction {
  bool filter(const int64_t& v) { return seen.insert(v).second; }
  void snapshotState(FunctionSnapshotContext&) override {
    state->update(std::vector<int64_t>(seen.begin(), seen.end()));
  }
  void initializeState(FunctionInitializationContext& context) override {
    state =
        &context.getOperatorStateStore().getUnionListState(ListStateDescriptor<int64_t>("seen"));
    for (int64_t v : state->get()) seen.insert(v);
  }
  std::set<int64_t> seen;
  ListState<int64_t>* state = nullptr;
};

TEST(CheckpointedFunctionOperatorStateTest, MapAndFilterRestoreTheirState) {
  using MapOp = StreamMap<int64_t, int64_t, CountingMap>;
  OperatorStateSnapshot mapSnapshot;
  {
    OperatorDriver<MapOp, int64_t> d(std::make_unique<MapOp>(CountingMap{}), 1, 0);
    for (int i = 0; i < 5; ++i) d.op().processElement(0, kNoTimestamp);
    mapSnapshot = d.snapshot();
  }
  {
    OperatorDriver<MapOp, int64_t> d(std::make_unique<MapOp>(CountingMap{}), 1, 0, mapSnapshot);
    d.op().processElement(0, kNoTimestamp);
    EXPECT_EQ(d.values(), (std::vector<int64_t>{6}));
  }

  using FilterOp = StreamFilter<int64_t, DistinctFilter>;
  std::vector<OperatorStateSnapshot> filterSnapshots;
  for (int s = 0; s < 2; ++s) {
    OperatorDriver<FilterOp, int64_t> d(std::make_unique<FilterOp>(DistinctFilter{}), 2, s);
    d.op().processElement(s, kNoTimestamp);
    filterSnapshots.push_back(d.snapshot());
  }
  auto parts = redistributeOperatorState(filterSnapshots, 1);
  OperatorDriver<FilterOp, int64_t> d(std::make_unique<FilterOp>(DistinctFilter{}), 1, 0, parts[0]);
  for (int64_t v : {0, 1, 2, 1}) d.op().processElement(v, kNoTimestamp);
  EXPECT_EQ(d.values(), (std::vector<int64_t>{2}));
}

TEST(CheckpointedFunctionOperatorStateTest, OperatorWithoutOperatorStateSnapshotsEmptyOrCarries) {
  using PlainMap = StreamMap<int64_t, int64_t, int64_t (*)(const int64_t&)>;
  auto plain = [] {
    return std::make_unique<PlainMap>(+[](const int64_t& v) -> int64_t { return v; });
  };
  {
    OperatorDriver<PlainMap, int64_t> d(plain(), 1, 0);
    EXPECT_TRUE(d.snapshot().empty());
  }
  auto carried = sampleSnapshot();
  OperatorDriver<PlainMap, int64_t> d(plain(), 1, 0, carried);
  EXPECT_EQ(d.snapshot(), carried);
}

/// A sink writer that buffers what it gets (Flink's BufferingSink).
struct BufferingWriter : SinkWriter<int64_t>, CheckpointedFunction {
  explicit BufferingWriter(std::shared_ptr<Observations> o) : observations(std::move(o)) {}
  void write(const int64_t& v, const SinkContext&) override { buffered.push_back(v); }
  void snapshotState(FunctionSnapshotContext&) override { state->update(buffered); }
  void initializeState(FunctionInitializationContext& context) override {
    state = &context.getOperatorStateStore().getListState(kBuffered);
    buffered = state->get().toVector();
    observations->inits.push_back({context.isRestored(), buffered, 0});
  }
  std::shared_ptr<Observations> observations;
  std::vector<int64_t> buffered;
  ListState<int64_t>* state = nullptr;
};
struct BufferingSink : Sink<int64_t> {
  explicit BufferingSink(std::shared_ptr<Observations> o) : observations(std::move(o)) {}
  std::unique_ptr<SinkWriter<int64_t>> createWriter(const WriterInitContext&) const override {
    return std::make_unique<BufferingWriter>(observations);
  }
  std::shared_ptr<Observations> observations;
};

TEST(CheckpointedFunctionOperatorStateTest, SinkWriterRescaledFrom2To1) {
  using SinkOp = SinkWriterOperator<int64_t>;
  auto observations = std::make_shared<Observations>();
  auto sink = std::make_shared<BufferingSink>(observations);
  std::vector<OperatorStateSnapshot> snapshots;
  for (int s = 0; s < 2; ++s) {
    OperatorDriver<SinkOp, NoOutput> d(std::make_unique<SinkOp>(sink), 2, s);
    for (int64_t v = 0; v < 3; ++v) d.op().processElement(s * 10 + v, kNoTimestamp);
    snapshots.push_back(d.snapshot());
  }
  auto parts = redistributeOperatorState(snapshots, 1);
  OperatorDriver<SinkOp, NoOutput> d(std::make_unique<SinkOp>(sink), 1, 0, parts[0]);
  ASSERT_EQ(observations->inits.size(), 3u);
  EXPECT_FALSE(observations->inits[0].restored);
  EXPECT_TRUE(observations->inits[2].restored);
  EXPECT_EQ(observations->inits[2].buffered, (std::vector<int64_t>{0, 1, 2, 10, 11, 12}));
}

// ---- broadcast state of the broadcast operators ---------------------------------------------

using Rule = std::pair<int32_t, int64_t>;   // (rule id, threshold)
using Event = std::pair<int32_t, int64_t>;  // (key, value)
const MapStateDescriptor<int32_t, int64_t> kRules("rules");

std::string matching(const std::map<int32_t, int64_t>& rules, int64_t value) {
  std::string s;
  for (const auto& [id, threshold] : rules) {
    if (value >= threshold) s += std::to_string(id) + ",";
  }
  return s;
}

struct NonKeyedRules : BroadcastProcessFunction<Event, Rule, std::string> {
  void processElement(const Event& e, ReadOnlyContext& ctx, Collector<std::string>& out) override {
    out.collect(std::to_string(e.second) + ":" +
                matching(ctx.getBroadcastState(kRules).entries(), e.second));
  }
  void processBroadcastElement(const Rule& r, Context& ctx, Collector<std::string>&) override {
    ctx.getBroadcastState(kRules).put(r.first, r.second);
  }
};

struct KeyedRules : KeyedBroadcastProcessFunction<int32_t, Event, Rule, std::string> {
  void processElement(const Event& e, ReadOnlyContext& ctx, Collector<std::string>& out) override {
    out.collect(std::to_string(ctx.getCurrentKey()) + "/" + std::to_string(e.second) + ":" +
                matching(ctx.getBroadcastState(kRules).entries(), e.second));
  }
  void processBroadcastElement(const Rule& r, Context& ctx, Collector<std::string>&) override {
    ctx.getBroadcastState(kRules).put(r.first, r.second);
  }
};

struct KeyOfEvent {
  int32_t operator()(const Event& e) const { return e.first; }
};

using NonKeyedOp = CoBroadcastWithNonKeyedOperator<Event, Rule, std::string, NonKeyedRules>;
using KeyedOp =
    CoBroadcastWithKeyedOperator<int32_t, Event, Rule, std::string, KeyOfEvent, KeyedRules>;

std::unique_ptr<NonKeyedOp> nonKeyedOp() {
  return std::make_unique<NonKeyedOp>(NonKeyedRules{}, std::vector<std::string>{"rules"});
}
std::unique_ptr<KeyedOp> keyedOp() {
  return std::make_unique<KeyedOp>(KeyOfEvent{}, KeyedRules{}, std::vector<std::string>{"rules"});
}

/// A key that subtask `s` of `p` owns (key group in its range).
int32_t keyOwnedBy(int p, int s) {
  for (int32_t k = 0;; ++k) {
    if (KeyGroupRangeAssignment::assignKeyToParallelOperator(k, 128, p) == s) return k;
  }
}

template <typename Op>
void checkBroadcastRescale(const std::function<std::unique_ptr<Op>()>& make, bool keyed) {
  std::vector<Rule> rules{{1, 100}, {2, 50}, {3, 500}, {1, 10}};
  std::map<int32_t, int64_t> expectedRules;
  for (auto& [id, t] : rules) expectedRules[id] = t;

  std::vector<OperatorStateSnapshot> snapshots;
  for (int s = 0; s < 2; ++s) {
    OperatorDriver<Op, std::string> d(make(), 2, s);
    for (const Rule& r : rules) d.op().processElement2(r, kNoTimestamp);
    snapshots.push_back(d.snapshot(3, 0));
    EXPECT_EQ(snapshots.back().states.at("rules").mode, OperatorStateMode::kBroadcast);
  }
  EXPECT_EQ(snapshots[0], snapshots[1]);

  for (int p : {1, 3, 4}) {
    auto parts = redistributeOperatorState(snapshots, p);
    for (int s = 0; s < p; ++s) {
      OperatorDriver<Op, std::string> d(make(), p, s, parts[static_cast<size_t>(s)]);
      int32_t key = keyOwnedBy(p, s);
      std::string keyPrefix = keyed ? std::to_string(key) + "/" : "";
      std::vector<std::string> expected;
      for (int64_t v : {5, 60, 120, 700}) {
        d.op().processElement1(Event{key, v}, kNoTimestamp);
        expected.push_back(keyPrefix + std::to_string(v) + ":" + matching(expectedRules, v));
      }
      EXPECT_EQ(d.values(), expected) << "p=" << p << " subtask " << s;
      // The restored state is snapshotted again unchanged.
      EXPECT_EQ(d.snapshot(), snapshots[0]);
    }
  }
}

TEST(BroadcastOperatorStateTest, NonKeyedBroadcastStateSurvivesRescaling) {
  checkBroadcastRescale<NonKeyedOp>(nonKeyedOp, false);
}

TEST(BroadcastOperatorStateTest, KeyedBroadcastStateSurvivesRescaling) {
  checkBroadcastRescale<KeyedOp>(keyedOp, true);
}

TEST(BroadcastOperatorStateTest, StoreKeepsDeclaredNamesAndRoundTrips) {
  BroadcastStateStore store({"rules"});
  store.get(kRules).put(1, 2);
  EXPECT_THROW(store.get(MapStateDescriptor<int32_t, int64_t>("typo")), SluiceException);
  EXPECT_THROW(store.get(MapStateDescriptor<int32_t, int32_t>("rules")), SluiceException);
  BroadcastStateStore restored({"rules"});
  restored.restore(store.snapshot());
  EXPECT_EQ(restored.get(kRules).entries(), (std::map<int32_t, int64_t>{{1, 2}}));
}

// ---- whole jobs ----------------------------------------------------------------------------

/// Records, per subtask, how often initializeState ran before open() and what isRestored said.
struct InitRecorder : RichFunction, CheckpointedFunction {
  struct Shared {
    std::mutex mutex;
    std::vector<std::tuple<int, int, bool>> opened;  // (subtask, initializeState calls, restored)
  };
  explicit InitRecorder(std::shared_ptr<Shared> s) : shared(std::move(s)) {}
  void initializeState(FunctionInitializationContext& context) override {
    ++initCalls;
    restored = context.isRestored();
    context.getOperatorStateStore().getListState(kBuffered);
  }
  void snapshotState(FunctionSnapshotContext&) override {}
  void open(RuntimeContext& context) override {
    std::lock_guard lock(shared->mutex);
    shared->opened.emplace_back(context.getIndexOfThisSubtask(), initCalls, restored);
  }
  void flatMap(const int64_t& v, Collector<int64_t>& out) { out.collect(v * 2); }

  std::shared_ptr<Shared> shared;
  int initCalls = 0;
  bool restored = true;
};

class OperatorStateJobTest : public ::testing::TestWithParam<int> {};

TEST_P(OperatorStateJobTest, InitializeStateRunsOncePerSubtaskBeforeOpen) {
  const int p = GetParam();
  auto shared = std::make_shared<InitRecorder::Shared>();
  auto env = testing::makeEnv(p);
  auto sink = std::make_shared<testing::CollectSink<int64_t>>();
  env->fromSequence(1, 1000).flatMap<int64_t>(InitRecorder(shared)).sinkTo(sink);
  env->execute();

  std::vector<int64_t> expected;
  for (int64_t v = 1; v <= 1000; ++v) expected.push_back(v * 2);
  EXPECT_EQ(sorted(sink->values()), expected);
  auto opened = shared->opened;
  std::sort(opened.begin(), opened.end());
  ASSERT_EQ(opened.size(), static_cast<size_t>(p));
  for (int s = 0; s < p; ++s) {
    EXPECT_EQ(opened[static_cast<size_t>(s)], std::make_tuple(s, 1, false));
  }
}

INSTANTIATE_TEST_SUITE_P(Parallelism, OperatorStateJobTest, ::testing::Values(1, 4));

}  // namespace operator_state_test
}  // namespace sluice
