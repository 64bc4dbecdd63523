#include "sluice/state/key_groups.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sluice {
namespace {

// Java String.hashCode over explicit UTF-16 code units: the oracle for decoded strings.
int32_t hashOfUnits(std::initializer_list<uint32_t> units) {
  uint32_t h = 0;
  for (uint32_t u : units) h = 31U * h + u;
  return static_cast<int32_t>(h);
}

template <typename K>
int32_t javaHash(const K& key) {
  return KeyHash<K>::hashCode(key);
}

// ---- murmurHash ----------------------------------------------------------------------------

// Expected values from an independent re-derivation of Flink's MathUtils.murmurHash:
//   python3 -c '
//   M=0xffffffff
//   def rotl(x,r): return ((x<<r)|(x>>(32-r)))&M
//   def mm(c):
//     c&=M; c=(c*0xcc9e2d51)&M; c=rotl(c,15); c=(c*0x1b873593)&M; c=rotl(c,13)
//     c=(c*5+0xe6546b64)&M; c^=4
//     c^=c>>16; c=(c*0x85ebca6b)&M; c^=c>>13; c=(c*0xc2b2ae35)&M; c^=c>>16
//     s=c-(1<<32) if c>=1<<31 else c
//     return s if s>=0 else (-s if s!=-(1<<31) else 0)
//   for x in [0,1,-1,42,2147483647,-2147483648,99162322]: print(x, mm(x), mm(x)%128)'
TEST(KeyHashTest, MurmurHashMatchesIndependentDerivation) {
  EXPECT_EQ(murmurHash(0), 593689054);
  EXPECT_EQ(murmurHash(1), 68075478);
  EXPECT_EQ(murmurHash(-1), 1982413648);
  EXPECT_EQ(murmurHash(42), 1134849565);
  EXPECT_EQ(murmurHash(std::numeric_limits<int32_t>::max()), 1653689534);
  EXPECT_EQ(murmurHash(std::numeric_limits<int32_t>::min()), 1718298732);
  EXPECT_EQ(murmurHash(99162322), 1715862179);
  static_assert(murmurHash(0) == 593689054, "murmurHash is constexpr");
  for (int32_t i = -100000; i < 100000; i += 7) EXPECT_GE(murmurHash(i * 7919), 0);
}

// ---- KeyHash: Java hashCode oracles ------------------------------------------------------

TEST(KeyHashTest, StringsMatchJavaStringHashCode) {
  EXPECT_EQ(javaHash(std::string("hello")), 99162322);  // "hello".hashCode()
  EXPECT_EQ(javaHash(std::string("")), 0);
  EXPECT_EQ(javaHash(std::string_view("hello")), 99162322);
  EXPECT_EQ(javaHash(std::string("\xC3\xA9")), 233);  // "é" = U+00E9
  // U+1F600 is the surrogate pair D83D DE00: 0xD83D * 31 + 0xDE00 = 55357 * 31 + 56832.
  EXPECT_EQ(javaHash(std::string("\xF0\x9F\x98\x80")), 55357 * 31 + 56832);
  EXPECT_EQ(javaHash(std::string("\xF0\x9F\x98\x80")), 1772899);
  EXPECT_EQ(javaHash(std::string("a\xF0\x9F\x98\x80"
                                 "b")),
            hashOfUnits({'a', 0xD83D, 0xDE00, 'b'}));
  // Values from python3: h=0; for u in s.encode('utf-16-le') pairs: h=(31*h+u) mod 2^32.
  EXPECT_EQ(javaHash(std::string("a\xF0\x9F\x98\x80"
                                 "b")),
            57849694);
  EXPECT_EQ(javaHash(std::string("Gr\xC3\xBC\xC3\x9F"
                                 "e, \xE4\xB8\x96\xE7\x95\x8C")),
            -166104223);
  // Three-byte sequence (U+20AC euro sign).
  EXPECT_EQ(javaHash(std::string("\xE2\x82\xAC")), 0x20AC);
  // Overflowing ASCII: wraps modulo 2^32 like Java int arithmetic.
  EXPECT_EQ(javaHash(std::string("polygenelubricants")), std::numeric_limits<int32_t>::min());
}

// Malformed UTF-8 maps to U+FFFD as JDK 9+'s `new String(bytes, UTF_8)` decides; expected
// code units derived by hand from that decoder's rules.
TEST(KeyHashTest, MalformedUtf8MatchesJavaDecoder) {
  constexpr uint32_t r = 0xFFFD;
  EXPECT_EQ(javaHash(std::string("\xFF")), hashOfUnits({r}));
  EXPECT_EQ(javaHash(std::string("\x80"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xC0\xAF")), hashOfUnits({r, r}));  // C0/C1 never valid
  EXPECT_EQ(javaHash(std::string("\xC3")), hashOfUnits({r}));
  EXPECT_EQ(javaHash(std::string("\xC3"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("a\xE2\x82")), hashOfUnits({'a', r}));  // truncated at end
  EXPECT_EQ(javaHash(std::string("\xE2"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xE1\x80"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xE0\x80\x80")), hashOfUnits({r, r, r}));  // overlong
  EXPECT_EQ(javaHash(std::string("\xED\xA0\x80")), hashOfUnits({r}));        // encoded surrogate
  EXPECT_EQ(javaHash(std::string("\xF0\x9F\x98")), hashOfUnits({r}));        // truncated at end
  EXPECT_EQ(javaHash(std::string("\xF0\x9F\x98"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xF0\x9F"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xF1\x80\x80"
                                 "A")),
            hashOfUnits({r, 'A'}));
  EXPECT_EQ(javaHash(std::string("\xF0\x80\x80\x80")), hashOfUnits({r, r, r, r}));
  EXPECT_EQ(javaHash(std::string("\xF4\x90\x80\x80")), hashOfUnits({r, r, r, r}));  // > U+10FFFF
  EXPECT_EQ(javaHash(std::string("\xF5\x80")), hashOfUnits({r, r}));
  EXPECT_EQ(javaHash(std::string("\xF8\x88\x80\x80\x80")), hashOfUnits({r, r, r, r, r}));
}

TEST(KeyHashTest, PrimitivesMatchJavaBoxedHashCode) {
  EXPECT_EQ(javaHash(int32_t{-7}), -7);      // Integer.hashCode
  EXPECT_EQ(javaHash(int8_t{-1}), -1);       // Byte.hashCode
  EXPECT_EQ(javaHash(int16_t{-300}), -300);  // Short.hashCode
  EXPECT_EQ(javaHash(uint8_t{200}), 200);
  EXPECT_EQ(javaHash(uint16_t{65535}), 65535);
  EXPECT_EQ(javaHash(uint32_t{0xFFFFFFFF}), -1);
  EXPECT_EQ(javaHash(int64_t{-1}), 0);       // Long.hashCode(-1L)
  EXPECT_EQ(javaHash(int64_t{1} << 32), 1);  // Long.hashCode(1L << 32)
  EXPECT_EQ(javaHash(int64_t{0x100000001}), 0);
  EXPECT_EQ(javaHash(int64_t{123456789012345}),
            static_cast<int32_t>(123456789012345 ^ (123456789012345 >> 32)));
  EXPECT_EQ(javaHash(std::numeric_limits<uint64_t>::max()), 0);
  EXPECT_EQ(javaHash(true), 1231);  // Boolean.hashCode
  EXPECT_EQ(javaHash(false), 1237);
  EXPECT_EQ(javaHash('A'), 65);  // Character.hashCode
  EXPECT_EQ(javaHash(u'\u00e9'), 233);
  EXPECT_EQ(javaHash(1.0f), 0x3f800000);  // Float.hashCode
  EXPECT_EQ(javaHash(-0.0f), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(javaHash(std::numeric_limits<float>::quiet_NaN()), 0x7fc00000);
  EXPECT_EQ(javaHash(std::bit_cast<float>(0x7f800001U)), 0x7fc00000);  // canonical NaN
  EXPECT_EQ(javaHash(1.0), 0x3ff00000);                                // Double.hashCode
  EXPECT_EQ(javaHash(0.0), 0);
  EXPECT_EQ(javaHash(-0.0), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(javaHash(std::bit_cast<double>(0x7ff0000000000001ULL)), 0x7ff80000);
}

enum class Side : int16_t { kBuy = 3, kSell = -4 };

TEST(KeyHashTest, CompositesMatchFlinkTuples) {
  // Tuple2.hashCode = 31 * f0.hashCode() + f1.hashCode().
  EXPECT_EQ(javaHash(std::pair<std::string, int32_t>{"a", 1}), 31 * 97 + 1);
  EXPECT_EQ(javaHash(std::make_tuple(int32_t{1}, int32_t{2}, int32_t{3})), (1 * 31 + 2) * 31 + 3);
  EXPECT_EQ(javaHash(std::make_tuple(std::string("hello"))), 99162322);  // Tuple1
  EXPECT_EQ(javaHash(std::tuple<>{}), 0);
  EXPECT_EQ(javaHash(std::make_tuple(std::string("hello"), int64_t{-1})),
            static_cast<int32_t>(99162322U * 31U));
  EXPECT_EQ(javaHash(std::optional<int32_t>()), 0);
  EXPECT_EQ(javaHash(std::optional<int32_t>(9)), 9);
  EXPECT_EQ(javaHash(std::pair<std::optional<int32_t>, int32_t>{std::nullopt, 5}), 5);
  EXPECT_EQ(javaHash(Side::kSell), -4);
  // Wrapping arithmetic, as Java int.
  EXPECT_EQ(javaHash(std::pair<int32_t, int32_t>{std::numeric_limits<int32_t>::max(), 1}),
            static_cast<int32_t>(31U * 0x7fffffffU + 1U));
}

// ---- key group assignment ----------------------------------------------------------------

TEST(KeyGroupTest, AssignToKeyGroupMatchesFlink) {
  // murmurHash("hello".hashCode()) % 128 == 1715862179 % 128 == 35 (python3 above).
  EXPECT_EQ(KeyGroupRangeAssignment::assignToKeyGroup(std::string("hello"), 128), 35);
  EXPECT_EQ(KeyGroupRangeAssignment::assignToKeyGroup(int32_t{0}, 128), 593689054 % 128);
  EXPECT_EQ(KeyGroupRangeAssignment::assignToKeyGroup(int32_t{42}, 1000), 1134849565 % 1000);
  EXPECT_EQ(KeyGroupRangeAssignment::computeKeyGroupForKeyHash(1, 7), 68075478 % 7);
  EXPECT_EQ(KeyGroupRangeAssignment::assignToKeyGroup(std::string("anything"), 1), 0);
  // keyGroup 35 of 128 at parallelism 4 -> 35 * 4 / 128 = 1.
  EXPECT_EQ(KeyGroupRangeAssignment::assignKeyToParallelOperator(std::string("hello"), 128, 4), 1);
  EXPECT_EQ(KeyGroupRangeAssignment::computeOperatorIndexForKeyGroup(128, 3, 127), 2);
  EXPECT_EQ(KeyGroupRangeAssignment::computeOperatorIndexForKeyGroup(32768, 32768, 32767), 32767);
}

// Brute force: for every parallelism, the ranges partition [0, maxParallelism) in order and
// agree with computeOperatorIndexForKeyGroup for every key group.
TEST(KeyGroupTest, RangesPartitionKeyGroupsAndAgreeWithOperatorIndex) {
  for (int32_t maxParallelism : {1, 7, 128, 1000}) {
    for (int32_t parallelism = 1; parallelism <= maxParallelism; ++parallelism) {
      int32_t next = 0;
      for (int32_t op = 0; op < parallelism; ++op) {
        const KeyGroupRange range = KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
            maxParallelism, parallelism, op);
        ASSERT_EQ(range.startKeyGroup, next)
            << "maxP=" << maxParallelism << " p=" << parallelism << " op=" << op;
        ASSERT_FALSE(range.empty());
        for (int32_t kg : range) {
          ASSERT_EQ(KeyGroupRangeAssignment::computeOperatorIndexForKeyGroup(maxParallelism,
                                                                             parallelism, kg),
                    op)
              << "maxP=" << maxParallelism << " p=" << parallelism << " kg=" << kg;
        }
        next = range.endKeyGroup + 1;
      }
      ASSERT_EQ(next, maxParallelism) << "maxP=" << maxParallelism << " p=" << parallelism;
    }
  }
}

TEST(KeyGroupTest, KnownRanges) {
  // 128 key groups over 3 operators: [0,42], [43,85], [86,127].
  EXPECT_EQ(KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, 3, 0),
            (KeyGroupRange{0, 42}));
  EXPECT_EQ(KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, 3, 1),
            (KeyGroupRange{43, 85}));
  EXPECT_EQ(KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(128, 3, 2),
            (KeyGroupRange{86, 127}));
  EXPECT_EQ(KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(32768, 1, 0),
            (KeyGroupRange{0, 32767}));
}

TEST(KeyGroupTest, ParallelismPreconditions) {
  using A = KeyGroupRangeAssignment;
  EXPECT_NO_THROW(A::checkParallelismPreconditions(1));
  EXPECT_NO_THROW(A::checkParallelismPreconditions(32768));
  EXPECT_THROW(A::checkParallelismPreconditions(0), ConfigurationException);
  EXPECT_THROW(A::checkParallelismPreconditions(-3), ConfigurationException);
  EXPECT_THROW(A::checkParallelismPreconditions(32769), ConfigurationException);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(128, 129, 0), ConfigurationException);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(0, 1, 0), ConfigurationException);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(40000, 1, 0), ConfigurationException);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(128, 0, 0), ConfigurationException);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(128, 4, 4), std::out_of_range);
  EXPECT_THROW(A::computeKeyGroupRangeForOperatorIndex(128, 4, -1), std::out_of_range);
}

TEST(KeyGroupTest, DefaultMaxParallelism) {
  using A = KeyGroupRangeAssignment;
  EXPECT_EQ(A::computeDefaultMaxParallelism(1), 128);
  EXPECT_EQ(A::computeDefaultMaxParallelism(85), 128);   // 85 + 42 = 127 -> 128
  EXPECT_EQ(A::computeDefaultMaxParallelism(86), 256);   // 86 + 43 = 129 -> 256
  EXPECT_EQ(A::computeDefaultMaxParallelism(100), 256);  // 150 -> 256
  EXPECT_EQ(A::computeDefaultMaxParallelism(1000), 2048);
  EXPECT_EQ(A::computeDefaultMaxParallelism(20000), 32768);
  EXPECT_EQ(A::computeDefaultMaxParallelism(32768), 32768);
  EXPECT_THROW(A::computeDefaultMaxParallelism(0), ConfigurationException);
  EXPECT_THROW(A::computeDefaultMaxParallelism(32769), ConfigurationException);
  EXPECT_EQ(A::kDefaultLowerBoundMaxParallelism, 128);
  EXPECT_EQ(A::kUpperBoundMaxParallelism, 32768);
}

TEST(KeyGroupTest, KeyGroupRangeOperations) {
  const KeyGroupRange r = KeyGroupRange::of(3, 6);
  EXPECT_EQ(r.numberOfKeyGroups(), 4);
  EXPECT_TRUE(r.contains(3));
  EXPECT_TRUE(r.contains(6));
  EXPECT_FALSE(r.contains(2));
  EXPECT_FALSE(r.contains(7));
  EXPECT_EQ(r.keyGroupId(0), 3);
  EXPECT_EQ(r.keyGroupId(3), 6);
  EXPECT_THROW(r.keyGroupId(4), std::out_of_range);
  EXPECT_THROW(r.keyGroupId(-1), std::out_of_range);
  std::vector<int32_t> seen;
  for (int32_t kg : r) seen.push_back(kg);
  EXPECT_EQ(seen, (std::vector<int32_t>{3, 4, 5, 6}));
  EXPECT_EQ(r.toString(), "KeyGroupRange{startKeyGroup=3, endKeyGroup=6}");

  const KeyGroupRange none = KeyGroupRange::of(5, 4);
  EXPECT_EQ(none, KeyGroupRange::emptyRange());
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.numberOfKeyGroups(), 0);
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_THROW(KeyGroupRange::of(-1, 3), std::invalid_argument);

  EXPECT_EQ(r.intersection(KeyGroupRange::of(5, 10)), KeyGroupRange::of(5, 6));
  EXPECT_TRUE(r.intersection(KeyGroupRange::of(7, 10)).empty());
}

}  // namespace
}  // namespace sluice
