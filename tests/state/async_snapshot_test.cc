// Asynchronous (copy-on-write) snapshots of the heap keyed state backend: a snapshot taken with
// snapshotAsync() and materialized later — on another thread, while the task thread keeps
// writing — yields exactly the bytes a synchronous snapshot() gave at the time of the call, and
// restores to the state an independent oracle (std::map copies kept by the test) had then.
// Covers the flat table alone (tiny chunks, many readers), every state kind, TTL expiry, a
// namespaced state, both timer domains, restored-but-unregistered state, concurrent and
// abandoned snapshots, and a snapshot outliving its backend. Randomized over many seeds.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/mailbox.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/state/heap/flat_hash_map.h"
#include "sluice/state/keyed_state_store.h"

namespace sluice {
namespace async_snapshot_test {

// ---- the flat table alone ---------------------------------------------------------------------

/// A value whose slot is ~2 KiB, so a chunk holds 16 slots: probes and backward shifts cross
/// chunk boundaries all the time. The string owns heap memory (a shallow copy would share it).
struct Big {
  std::string text;
  std::array<char, 2000> pad{};
};

std::string randomText(std::mt19937_64& rng) {
  size_t n = rng() % 4 == 0 ? 40 + rng() % 80 : rng() % 12;  // heap-allocated or inline (SSO)
  std::string s(n, 'a');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

using BigMap = FlatHashMap<int64_t, Big>;

std::map<int64_t, std::string> contentsOf(const BigMap::Frozen& f) {
  std::map<int64_t, std::string> out;
  f.forEach([&](const int64_t& k, const Big& v) { out.emplace(k, v.text); });
  return out;
}

void mutate(BigMap& map, std::map<int64_t, std::string>& oracle, std::mt19937_64& rng,
            int64_t keySpace) {
  int64_t key = static_cast<int64_t>(rng() % static_cast<uint64_t>(keySpace));
  switch (rng() % 6) {
    case 0:
    case 1: {
      std::string s = randomText(rng);
      map[key].text = s;
      oracle[key] = s;
      break;
    }
    case 2:  // update in place through find()
      if (Big* v = map.find(key)) {
        v->text += "x";
        oracle[key] += "x";
      }
      break;
    case 3:
      ASSERT_EQ(map.erase(key), oracle.erase(key) == 1);
      break;
    case 4: {  // read only: must not disturb frozen views
      const Big* v = std::as_const(map).find(key);
      auto it = oracle.find(key);
      ASSERT_EQ(v != nullptr, it != oracle.end());
      if (v) {
        ASSERT_EQ(v->text, it->second);
      }
      break;
    }
    default:
      if (rng() % 500 == 0) {
        map.clear();
        oracle.clear();
      }
  }
}

class FlatHashMapFreeze : public ::testing::TestWithParam<int> {};

TEST_P(FlatHashMapFreeze, FrozenViewsKeepTheirContentsWhileTheTableIsWrittenConcurrently) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()) * 7919 + 1);
  BigMap map;
  std::map<int64_t, std::string> oracle;
  for (int i = 0; i < 3000; ++i) mutate(map, oracle, rng, 500);

  // Several views at once, each checked on a thread of its own while the table changes: growth
  // (the key space widens), erasure, updates in place, a clear now and then.
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int round = 0; round < 4; ++round) {
    auto view = std::make_shared<BigMap::Frozen>(map.freeze());
    EXPECT_EQ(view->size(), oracle.size());
    auto expected = std::make_shared<const std::map<int64_t, std::string>>(oracle);
    for (int i = 0; i < 1500; ++i) mutate(map, oracle, rng, 500 + 600 * (round + 1));
    readers.emplace_back([view, expected, &failures] {
      for (int pass = 0; pass < 3; ++pass) {
        if (contentsOf(*view) != *expected || view->size() != expected->size()) ++failures;
      }
    });
    for (int i = 0; i < 1500; ++i) mutate(map, oracle, rng, 500 + 600 * (round + 1));
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);

  std::map<int64_t, std::string> live;
  map.forEach([&](const int64_t& k, const Big& v) { live.emplace(k, v.text); });
  EXPECT_EQ(live, oracle);
  EXPECT_EQ(map.size(), oracle.size());
}

TEST_P(FlatHashMapFreeze, AViewOutlivesItsTableAndAReleasedViewStopsTheCopying) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()) + 99);
  std::map<int64_t, std::string> oracle;
  BigMap::Frozen view;
  std::map<int64_t, std::string> expected;
  {
    BigMap map;
    for (int i = 0; i < 2000; ++i) mutate(map, oracle, rng, 400);
    view = map.freeze();
    expected = oracle;
    {
      BigMap::Frozen released = map.freeze();  // dropped at once: nothing retained
    }
    for (int i = 0; i < 2000; ++i) mutate(map, oracle, rng, 800);
  }  // the table is gone; the view's chunks are its own now
  EXPECT_EQ(contentsOf(view), expected);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FlatHashMapFreeze, ::testing::Range(0, 12));

// ---- the whole backend -----------------------------------------------------------------------

struct SumCount {
  std::pair<int64_t, int64_t> createAccumulator() { return {0, 0}; }
  std::pair<int64_t, int64_t> add(const int64_t& v, std::pair<int64_t, int64_t> acc) {
    return {acc.first + v, acc.second + 1};
  }
  int64_t getResult(const std::pair<int64_t, int64_t>& acc) { return acc.first * 100 + acc.second; }
};

constexpr int64_t kTtlMillis = 100;
constexpr int kNamespaces = 12;  // more than KeyedStateTable::kIndexThreshold: hash-indexed
constexpr int kMaxParallelism = 8;

StateTtlConfig ttlConfig() {
  return StateTtlConfig::newBuilder(std::chrono::milliseconds(kTtlMillis))
      .cleanupFullSnapshot()
      .cleanupIncrementally(3, false)
      .build();
}

/// What the test believes the state is: plain ordered maps, updated by the same operations.
struct Oracle {
  std::map<int64_t, std::string> value;
  std::map<int64_t, std::vector<int64_t>> list;
  std::map<int64_t, std::map<int64_t, std::string>> map;
  std::map<int64_t, int64_t> reducing;
  std::map<int64_t, std::pair<int64_t, int64_t>> aggregating;
  std::map<int64_t, std::pair<int64_t, int64_t>> ttlValue;  // value, last access
  std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> ttlList;
  std::map<std::pair<int64_t, int64_t>, std::string> windowValue;  // (key, namespace)
  std::set<std::pair<int64_t, int64_t>> eventTimers;               // (key, timestamp)
  std::set<std::pair<int64_t, int64_t>> processingTimers;
};

bool expired(int64_t lastAccess, int64_t now) { return lastAccess + kTtlMillis <= now; }

/// One operator's keyed state: a backend over all key groups of a small max parallelism (few
/// large tables, so they span several chunks), every kind of state, and a timer service.
struct Operator {
  explicit Operator(int64_t& now) : now_(now) {
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    backend.setTtlTimeProvider([this] { return now_; });
  }
  void registerStates() {
    value = &store.getState(ValueStateDescriptor<std::string>("value"));
    list = &store.getListState(ListStateDescriptor<int64_t>("list"));
    map = &store.getMapState(MapStateDescriptor<int64_t, std::string>("map"));
    reducing = &store.getReducingState(ReducingStateDescriptor<int64_t>(
        "reducing", [](const int64_t& a, const int64_t& b) { return a + b; }));
    aggregating = &store.getAggregatingState(
        AggregatingStateDescriptor<int64_t, std::pair<int64_t, int64_t>, int64_t>("aggregating",
                                                                                  SumCount{}));
    ValueStateDescriptor<int64_t> tv("ttl-value");
    tv.enableTimeToLive(ttlConfig());
    ttlValue = &store.getState(tv);
    ListStateDescriptor<int64_t> tl("ttl-list");
    tl.enableTimeToLive(ttlConfig());
    ttlList = &store.getListState(tl);
    windowValue = &windows.getState(ValueStateDescriptor<std::string>("window-value"));
    timers = std::make_unique<InternalTimerService<int64_t, VoidNamespace>>(
        backend, timeService, [this](const auto& t) { firedEvent.emplace(t.key, t.timestamp); },
        [this](const auto& t) { firedProcessing.emplace(t.key, t.timestamp); });
  }

  int64_t& now_;
  HeapKeyedStateBackend<int64_t> backend;
  KeyedStateStore<int64_t, VoidNamespace> store{backend};
  KeyedStateStore<int64_t, int64_t> windows{backend, "win/"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(0);
  TimerScheduler scheduler{clock};
  Mailbox mailbox;
  ProcessingTimeService timeService{scheduler, mailbox, 1};
  ValueState<std::string>* value = nullptr;
  ListState<int64_t>* list = nullptr;
  MapState<int64_t, std::string>* map = nullptr;
  ReducingState<int64_t>* reducing = nullptr;
  AggregatingState<int64_t, int64_t>* aggregating = nullptr;
  ValueState<int64_t>* ttlValue = nullptr;
  ListState<int64_t>* ttlList = nullptr;
  ValueState<std::string>* windowValue = nullptr;
  std::unique_ptr<InternalTimerService<int64_t, VoidNamespace>> timers;
  std::set<std::pair<int64_t, int64_t>> firedEvent;
  std::set<std::pair<int64_t, int64_t>> firedProcessing;
};

/// One random operation on `op` and the oracle. Reads check the live state too.
void step(Operator& op, Oracle& o, std::mt19937_64& rng, int64_t keySpace, int64_t& now) {
  int64_t k = static_cast<int64_t>(rng() % static_cast<uint64_t>(keySpace));
  int64_t x = static_cast<int64_t>(rng() % 1000);
  op.backend.setCurrentKey(k);
  switch (rng() % 25) {
    case 0:
    case 1: {
      std::string s = randomText(rng);
      op.value->update(s);
      o.value[k] = s;
      break;
    }
    case 2:
      op.value->clear();
      o.value.erase(k);
      break;
    case 3: {
      auto it = o.value.find(k);
      ASSERT_EQ(op.value->value(),
                it == o.value.end() ? std::nullopt : std::optional<std::string>(it->second));
      break;
    }
    case 4:
      op.list->add(x);
      o.list[k].push_back(x);
      break;
    case 5:
      if (x % 3 == 0) {
        op.list->update({});
        o.list.erase(k);
      } else {
        op.list->update({x, x + 1});
        o.list[k] = {x, x + 1};
      }
      break;
    case 6: {
      auto it = o.list.find(k);
      ASSERT_EQ(op.list->get(), it == o.list.end() ? std::vector<int64_t>{} : it->second);
      break;
    }
    case 7: {
      std::string s = randomText(rng);
      op.map->put(x % 16, s);
      o.map[k][x % 16] = s;
      break;
    }
    case 8: {
      op.map->remove(x % 16);
      auto it = o.map.find(k);
      if (it != o.map.end()) {
        it->second.erase(x % 16);
        if (it->second.empty()) o.map.erase(it);
      }
      break;
    }
    case 9:
      op.reducing->add(x);
      o.reducing[k] += x;
      break;
    case 10: {
      op.aggregating->add(x);
      auto& acc = o.aggregating[k];
      acc = {acc.first + x, acc.second + 1};
      break;
    }
    case 11:
      op.ttlValue->update(x);
      o.ttlValue[k] = {x, now};
      break;
    case 12: {  // a read drops an expired value (neverReturnExpired)
      auto it = o.ttlValue.find(k);
      std::optional<int64_t> expected;
      if (it != o.ttlValue.end()) {
        if (expired(it->second.second, now)) {
          o.ttlValue.erase(it);
        } else {
          expected = it->second.first;
        }
      }
      ASSERT_EQ(op.ttlValue->value(), expected);
      break;
    }
    case 13:
      op.ttlList->add(x);
      o.ttlList[k].emplace_back(x, now);
      break;
    case 14:
      now += static_cast<int64_t>(rng() % 30);  // TTL expiry
      break;
    case 15:
    case 16: {
      int64_t ns = x % kNamespaces;
      op.windows.setNamespace(ns);
      if (rng() % 3 == 0) {
        op.windowValue->clear();
        o.windowValue.erase({k, ns});
      } else {
        std::string s = randomText(rng);
        op.windowValue->update(s);
        o.windowValue[{k, ns}] = s;
      }
      break;
    }
    case 17:
      op.timers->registerEventTimeTimer(VoidNamespace{}, 1000 + x);
      o.eventTimers.emplace(k, 1000 + x);
      break;
    case 18:
      op.timers->deleteEventTimeTimer(VoidNamespace{}, 1000 + x);
      o.eventTimers.erase({k, 1000 + x});
      break;
    case 19:
      op.timers->registerProcessingTimeTimer(VoidNamespace{}, 1'000'000 + x);
      o.processingTimers.emplace(k, 1'000'000 + x);
      break;
    case 20:
      op.timers->deleteProcessingTimeTimer(VoidNamespace{}, 1'000'000 + x);
      o.processingTimers.erase({k, 1'000'000 + x});
      break;
    case 21:  // clear every state of the key
      op.value->clear();
      op.list->clear();
      op.map->clear();
      op.reducing->clear();
      op.aggregating->clear();
      op.ttlValue->clear();
      op.ttlList->clear();
      o.value.erase(k);
      o.list.erase(k);
      o.map.erase(k);
      o.reducing.erase(k);
      o.aggregating.erase(k);
      o.ttlValue.erase(k);
      o.ttlList.erase(k);
      break;
    case 22: {  // a read drops expired elements
      std::vector<int64_t> expected;
      auto it = o.ttlList.find(k);
      if (it != o.ttlList.end()) {
        std::erase_if(it->second, [&](const auto& e) { return expired(e.second, now); });
        for (const auto& e : it->second) expected.push_back(e.first);
        if (it->second.empty()) o.ttlList.erase(it);
      }
      ASSERT_EQ(op.ttlList->get(), expected);
      break;
    }
    case 23: {
      auto it = o.map.find(k);
      std::map<int64_t, std::string> expected;
      if (it != o.map.end()) expected = it->second;
      ASSERT_EQ(op.map->entries().toMap(), expected);
      break;
    }
    default: {
      std::string s = randomText(rng);
      op.value->update(s);
      o.value[k] = s;
    }
  }
}

/// The restored state of `op` (read through the state API at TTL time `now`) equals `o`, the
/// oracle at snapshot time `now`.
void expectStateEquals(Operator& op, const Oracle& o, int64_t now) {
  auto sortedKeys = [&](const std::string& name) {
    auto keys = op.store.keysOf(name);
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  auto keysOf = [](const auto& m) {
    std::vector<int64_t> keys;
    for (const auto& [k, v] : m) keys.push_back(k);
    return keys;
  };
  EXPECT_EQ(sortedKeys("value"), keysOf(o.value));
  for (const auto& [k, v] : o.value) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.value->value(), v) << "key " << k;
  }
  EXPECT_EQ(sortedKeys("list"), keysOf(o.list));
  for (const auto& [k, v] : o.list) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.list->get(), v) << "key " << k;
  }
  EXPECT_EQ(sortedKeys("map"), keysOf(o.map));
  for (const auto& [k, v] : o.map) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.map->entries().toMap(), v) << "key " << k;
  }
  EXPECT_EQ(sortedKeys("reducing"), keysOf(o.reducing));
  for (const auto& [k, v] : o.reducing) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.reducing->get(), v) << "key " << k;
  }
  EXPECT_EQ(sortedKeys("aggregating"), keysOf(o.aggregating));
  for (const auto& [k, v] : o.aggregating) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.aggregating->get(), v.first * 100 + v.second) << "key " << k;
  }
  // TTL state with cleanupFullSnapshot: what had expired at snapshot time is not in it.
  std::map<int64_t, int64_t> liveTtl;
  for (const auto& [k, v] : o.ttlValue) {
    if (!expired(v.second, now)) liveTtl.emplace(k, v.first);
  }
  EXPECT_EQ(sortedKeys("ttl-value"), keysOf(liveTtl));
  for (const auto& [k, v] : liveTtl) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.ttlValue->value(), v) << "key " << k;
  }
  std::map<int64_t, std::vector<int64_t>> liveTtlList;
  for (const auto& [k, elements] : o.ttlList) {
    for (const auto& [x, t] : elements) {
      if (!expired(t, now)) liveTtlList[k].push_back(x);
    }
  }
  EXPECT_EQ(sortedKeys("ttl-list"), keysOf(liveTtlList));
  for (const auto& [k, v] : liveTtlList) {
    op.backend.setCurrentKey(k);
    EXPECT_EQ(op.ttlList->get(), v) << "key " << k;
  }
  for (int64_t ns = 0; ns < kNamespaces; ++ns) {
    op.windows.setNamespace(ns);
    auto keys = op.windows.keysOf("window-value");
    std::sort(keys.begin(), keys.end());
    std::vector<int64_t> expected;
    for (const auto& [kn, v] : o.windowValue) {
      if (kn.second == ns) expected.push_back(kn.first);
    }
    EXPECT_EQ(keys, expected) << "namespace " << ns;
  }
  for (const auto& [kn, v] : o.windowValue) {
    op.backend.setCurrentKey(kn.first);
    op.windows.setNamespace(kn.second);
    EXPECT_EQ(op.windowValue->value(), v);
  }
  // Timers: event time fires every one; processing time once the clock passes them.
  EXPECT_EQ(op.timers->numEventTimeTimers(), o.eventTimers.size());
  EXPECT_EQ(op.timers->numProcessingTimeTimers(), o.processingTimers.size());
  op.timers->advanceWatermark(kMaxWatermark);
  EXPECT_EQ(op.firedEvent, o.eventTimers);
  if (!o.processingTimers.empty()) {
    op.clock->setTime(2'000'000);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (op.firedProcessing.size() < o.processingTimers.size() &&
           std::chrono::steady_clock::now() < deadline) {
      if (op.mailbox.runAll() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(op.firedProcessing, o.processingTimers);
  }
}

void expectSameBytes(const KeyedStateSnapshot& actual, const KeyedStateSnapshot& expected) {
  EXPECT_EQ(actual.maxParallelism, expected.maxParallelism);
  ASSERT_EQ(actual.keyGroups.size(), expected.keyGroups.size());
  for (const auto& [kg, bytes] : expected.keyGroups) {
    auto it = actual.keyGroups.find(kg);
    ASSERT_NE(it, actual.keyGroups.end());
    EXPECT_TRUE(it->second == bytes)
        << "key group " << kg << ": " << it->second.size() << " bytes, expected " << bytes.size();
  }
}

/// Restored bytes of a state this operator never registers ("ghost"): carried into snapshots.
KeyedStateSnapshot ghostState() {
  int64_t now = 0;
  HeapKeyedStateBackend<int64_t> other;
  other.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
  other.setTtlTimeProvider([&] { return now; });
  KeyedStateStore<int64_t, VoidNamespace> store(other);
  auto& ghost = store.getState(ValueStateDescriptor<int64_t>("ghost"));
  for (int64_t k = 0; k < 50; ++k) {
    other.setCurrentKey(k);
    ghost.update(k * 3);
  }
  return other.snapshot();
}

void expectGhostCarried(const KeyedStateSnapshot& snapshot) {
  int64_t now = 0;
  HeapKeyedStateBackend<int64_t> other;
  other.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
  other.setTtlTimeProvider([&] { return now; });
  other.restore(snapshot);
  KeyedStateStore<int64_t, VoidNamespace> store(other);
  auto& ghost = store.getState(ValueStateDescriptor<int64_t>("ghost"));
  for (int64_t k = 0; k < 50; ++k) {
    other.setCurrentKey(k);
    EXPECT_EQ(ghost.value(), k * 3);
  }
}

/// Restores `snapshot` into a fresh operator at TTL time `now` and compares it with `o`.
void expectRestoresTo(const KeyedStateSnapshot& snapshot, const Oracle& o, int64_t now) {
  int64_t restoredNow = now;
  Operator restored(restoredNow);
  restored.backend.restore(snapshot);
  restored.registerStates();
  expectStateEquals(restored, o, now);
}

class AsyncKeyedSnapshotTest : public ::testing::TestWithParam<int> {};

TEST_P(AsyncKeyedSnapshotTest, MaterializedConcurrentlyWithWritesEqualsTheStateAtTheCall) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()) * 104729 + 17);
  int64_t now = 10'000;
  Operator op(now);
  op.backend.restore(ghostState());
  op.registerStates();
  Oracle o;
  for (int i = 0; i < 12000; ++i) {
    step(op, o, rng, 1500, now);
    if (HasFatalFailure()) return;
  }

  // The synchronous part, and what a synchronous snapshot gives at the same moment.
  KeyedStateSnapshot expected = op.backend.snapshot();
  AsyncKeyedSnapshot first = op.backend.snapshotAsync(1);
  EXPECT_EQ(first.checkpointId(), 1);
  Oracle atFirst = o;
  int64_t firstNow = now;

  // Heavy writes before the materialization starts: the key space quadruples (tables grow and
  // rehash), values are overwritten, deleted, cleared, expire; timers come and go.
  for (int i = 0; i < 15000; ++i) {
    step(op, o, rng, 6000, now);
    if (HasFatalFailure()) return;
  }

  // Materialize on another thread while the task thread goes on writing; meanwhile a second
  // snapshot is taken and materialized on a third thread, and a third one is abandoned (its
  // checkpoint aborted) and destroyed on a fourth.
  KeyedStateSnapshot firstResult;
  std::thread materializer(
      [&firstResult, snap = std::move(first)] { firstResult = snap.materialize(); });
  for (int i = 0; i < 5000; ++i) {
    step(op, o, rng, 6000, now);
    if (HasFatalFailure()) break;
  }
  KeyedStateSnapshot expectedSecond = op.backend.snapshot();
  AsyncKeyedSnapshot second = op.backend.snapshotAsync(2);
  Oracle atSecond = o;
  int64_t secondNow = now;
  AsyncKeyedSnapshot abandoned = op.backend.snapshotAsync(3);
  KeyedStateSnapshot secondResult;
  std::thread materializer2(
      [&secondResult, snap = std::move(second)] { secondResult = snap.materialize(); });
  std::thread dropper(
      [snap = std::move(abandoned)]() mutable { AsyncKeyedSnapshot gone(std::move(snap)); });
  for (int i = 0; i < 10000; ++i) {
    step(op, o, rng, 7000, now);
    if (HasFatalFailure()) break;
  }
  materializer.join();
  materializer2.join();
  dropper.join();
  if (HasFatalFailure()) return;

  expectSameBytes(firstResult, expected);
  expectSameBytes(secondResult, expectedSecond);
  expectRestoresTo(firstResult, atFirst, firstNow);
  expectRestoresTo(secondResult, atSecond, secondNow);
  expectGhostCarried(firstResult);
  // The live state is intact too.
  KeyedStateSnapshot live = op.backend.snapshot();
  expectRestoresTo(live, o, now);
}

TEST_P(AsyncKeyedSnapshotTest, ASnapshotOutlivesItsBackendAndStates) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()) + 5);
  int64_t now = 5'000;
  Oracle o;
  std::optional<AsyncKeyedSnapshot> snap;
  KeyedStateSnapshot expected;
  {
    Operator op(now);
    op.registerStates();
    for (int i = 0; i < 6000; ++i) {
      step(op, o, rng, 1000, now);
      if (HasFatalFailure()) return;
    }
    expected = op.backend.snapshot();
    snap.emplace(op.backend.snapshotAsync(7));
    Oracle ignored = o;
    for (int i = 0; i < 3000; ++i) {
      step(op, ignored, rng, 3000, now);
      if (HasFatalFailure()) return;
    }
  }  // operator, states, timers and backend destroyed: the snapshot owns what it needs
  KeyedStateSnapshot result;
  std::thread([&] { result = snap->materialize(); }).join();
  snap.reset();
  expectSameBytes(result, expected);
}

INSTANTIATE_TEST_SUITE_P(Seeds, AsyncKeyedSnapshotTest, ::testing::Range(0, 10));

TEST(AsyncKeyedSnapshot, SnapshotEqualsAsyncMaterializedAtOnceAndKeyGroupsSeparately) {
  int64_t now = 0;
  Operator op(now);
  op.registerStates();
  Oracle o;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 4000; ++i) step(op, o, rng, 800, now);
  AsyncKeyedSnapshot snap = op.backend.snapshotAsync(11);
  KeyedStateSnapshot whole = snap.materialize();
  expectSameBytes(whole, op.backend.snapshot());
  for (int kg = 0; kg < kMaxParallelism; ++kg) {
    DataOutputView one;
    snap.writeKeyGroup(kg, one);
    EXPECT_EQ(std::vector<uint8_t>(one.data(), one.data() + one.size()), whole.keyGroups.at(kg));
    DataOutputView direct;
    op.backend.snapshotKeyGroup(kg, direct);
    EXPECT_EQ(std::vector<uint8_t>(direct.data(), direct.data() + direct.size()),
              whole.keyGroups.at(kg));
  }
  DataOutputView out;
  EXPECT_THROW(snap.writeKeyGroup(kMaxParallelism, out), SluiceException);
  expectSameBytes(snap.materialize(), whole);  // may be materialized again
}

}  // namespace async_snapshot_test
}  // namespace sluice
