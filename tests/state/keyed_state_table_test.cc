// KeyedStateTable against a std::map oracle, across the switch to its hash index.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sluice/state/keyed_state_store.h"

namespace sluice {
namespace keyed_state_table_test {

TEST(KeyedStateTable, MatchesAMapOracleWithFewAndManyNamespaces) {
  HeapKeyedStateBackend<std::string> context;
  context.init(KeyGroupRange{0, 127}, 128);
  KeyedStateTable<std::string, int64_t, int64_t> table(context, "t");
  std::map<std::pair<std::string, int64_t>, int64_t> oracle;
  std::mt19937 rng(5);
  for (int step = 0; step < 20000; ++step) {
    std::string key = "k" + std::to_string(rng() % 5);
    // Key k0 gets up to 200 namespaces (hash index), the others at most 4 (scan).
    int64_t ns = static_cast<int64_t>(rng() % (key == "k0" ? 200 : 4));
    context.setCurrentKey(key);
    switch (rng() % 3) {
      case 0:
        table.put(ns, step);
        oracle[{key, ns}] = step;
        break;
      case 1: {
        auto removed = table.remove(ns);
        auto it = oracle.find({key, ns});
        ASSERT_EQ(removed.has_value(), it != oracle.end());
        if (removed) {
          EXPECT_EQ(*removed, it->second);
          oracle.erase(it);
        }
        break;
      }
      default: {
        int64_t* v = table.get(ns);
        auto it = oracle.find({key, ns});
        ASSERT_EQ(v != nullptr, it != oracle.end());
        if (v) {
          EXPECT_EQ(*v, it->second);
        }
      }
    }
  }
  EXPECT_EQ(table.size(), oracle.size());
}

TEST(HeapKeyedStateBackend, KeyOutsideTheSubtasksKeyGroupsIsAnError) {
  HeapKeyedStateBackend<int64_t> context;
  context.init(KeyGroupRange{0, 0}, 128);
  int64_t outside = 0;
  while (KeyGroupRangeAssignment::assignToKeyGroup(outside, 128) == 0) ++outside;
  EXPECT_THROW(context.setCurrentKey(outside), SluiceException);
  EXPECT_THROW(context.currentKey(), SluiceException);
}

}  // namespace keyed_state_table_test
}  // namespace sluice
