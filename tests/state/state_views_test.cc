// ListState and MapState are read through views: the heap backend hands out its storage
// without a copy, a TTL map is read in place (expired entries skipped, none copied), and a
// MapView over a cursor pulls entries one at a time, so a disk-based backend never has to
// materialize a whole map.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "sluice/state/keyed_state_store.h"

namespace sluice {
namespace {

constexpr int kMaxParallelism = 8;

struct Backend {
  HeapKeyedStateBackend<int64_t> backend;
  int64_t now = 0;
  Backend() {
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    backend.setTtlTimeProvider([this] { return now; });
  }
};

TEST(ListView, ReadsTheListInPlace) {
  Backend b;
  KeyedStateStore<int64_t, VoidNamespace> store(b.backend);
  auto& list = store.getListState(ListStateDescriptor<std::string>("names"));
  b.backend.setCurrentKey(1);
  EXPECT_TRUE(list.get().empty());
  list.add("a");
  list.addAll({"b", "c"});
  ListView<std::string> view = list.get();
  ASSERT_EQ(view.size(), 3u);
  EXPECT_EQ(view[1], "b");
  EXPECT_EQ(view.back(), "c");
  EXPECT_EQ(view.toVector(), (std::vector<std::string>{"a", "b", "c"}));
  // Two reads see the same storage: nothing was copied.
  EXPECT_EQ(&*list.get().begin(), &*view.begin());
  std::string joined;
  for (const std::string& s : list.get()) joined += s;
  EXPECT_EQ(joined, "abc");
  b.backend.setCurrentKey(2);
  EXPECT_TRUE(list.get().empty());
}

TEST(MapView, IteratesEntriesInKeyOrderInPlace) {
  Backend b;
  KeyedStateStore<int64_t, VoidNamespace> store(b.backend);
  auto& map = store.getMapState(MapStateDescriptor<int64_t, std::string>("m"));
  b.backend.setCurrentKey(1);
  EXPECT_TRUE(map.isEmpty());
  {
    MapView<int64_t, std::string> empty = map.entries();
    EXPECT_TRUE(empty.begin() == empty.end());
  }
  map.put(3, "three");
  map.put(1, "one");
  map.put(2, "two");
  std::vector<int64_t> keys;
  const std::string* first = nullptr;
  for (const auto& [k, v] : map.entries()) {
    keys.push_back(k);
    if (first == nullptr) first = &v;
  }
  EXPECT_EQ(keys, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*first, "one");
  // Another read yields references to the same values: the map is read in place.
  EXPECT_EQ(&(*map.entries().begin()).second, first);
  EXPECT_EQ(map.entries().toMap(),
            (std::map<int64_t, std::string>{{1, "one"}, {2, "two"}, {3, "three"}}));
}

TEST(MapView, ATtlMapSkipsExpiredEntriesWithoutCopyingTheLiveOnes) {
  Backend b;
  KeyedStateStore<int64_t, VoidNamespace> store(b.backend);
  MapStateDescriptor<int64_t, std::string> d("ttl");
  d.enableTimeToLive(StateTtlConfig::newBuilder(std::chrono::milliseconds(10)).build());
  auto& map = store.getMapState(d);
  b.backend.setCurrentKey(1);
  b.now = 0;
  map.put(1, "old");
  b.now = 5;
  map.put(2, "new");
  b.now = 12;  // entry 1 expired at 10, entry 2 lives until 15
  std::map<int64_t, std::string> seen;
  for (const auto& [k, v] : map.entries()) seen.emplace(k, v);
  EXPECT_EQ(seen, (std::map<int64_t, std::string>{{2, "new"}}));
  EXPECT_FALSE(map.isEmpty());
  EXPECT_FALSE(map.contains(1));
  b.now = 20;
  EXPECT_TRUE(map.isEmpty());
}

TEST(MapView, ReturnExpiredIfNotCleanedUpReturnsAnExpiredEntryOnce) {
  Backend b;
  KeyedStateStore<int64_t, VoidNamespace> store(b.backend);
  MapStateDescriptor<int64_t, int64_t> d("ttl");
  d.enableTimeToLive(StateTtlConfig::newBuilder(std::chrono::milliseconds(10))
                         .returnExpiredIfNotCleanedUp()
                         .disableCleanupInBackground()  // else cleaned before the read
                         .build());
  auto& map = store.getMapState(d);
  b.backend.setCurrentKey(1);
  map.put(1, 100);
  b.now = 11;
  EXPECT_EQ(map.entries().toMap(), (std::map<int64_t, int64_t>{{1, 100}}));
  EXPECT_TRUE(map.entries().toMap().empty());  // cleaned up by the read before
}

/// Entries 0..n-1 produced one at a time, counting how far it was pulled.
class CountingCursor final : public MapView<int, int>::Cursor {
 public:
  CountingCursor(int n, int* pulled) : n_(n), pulled_(pulled) {}
  bool next() override {
    ++*pulled_;
    ++i_;
    value_ = i_ * 10;
    return i_ < n_;
  }
  const int& key() const override { return i_; }
  const int& value() const override { return value_; }

 private:
  int n_;
  int* pulled_;
  int i_ = -1;
  int value_ = 0;
};

TEST(MapView, ACursorIsPulledOnlyAsFarAsTheReaderGoes) {
  int pulled = 0;
  MapView<int, int> view(std::make_unique<CountingCursor>(1000, &pulled));
  std::vector<std::pair<int, int>> read;
  for (const auto& [k, v] : view) {
    read.emplace_back(k, v);
    if (k == 2) break;
  }
  EXPECT_EQ(read, (std::vector<std::pair<int, int>>{{0, 0}, {1, 10}, {2, 20}}));
  EXPECT_EQ(pulled, 3);  // not 1000: nothing was materialized
  int all = 0;
  MapView<int, int> whole(std::make_unique<CountingCursor>(5, &all));
  EXPECT_EQ(whole.toMap().size(), 5u);
  MapView<int, int> none(std::make_unique<CountingCursor>(0, &all));
  EXPECT_TRUE(none.begin() == none.end());
}

}  // namespace
}  // namespace sluice
