#include "sluice/core/type_serializer.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sluice {
namespace {

// ---- types used by the tests ------------------------------------------------------------

enum class Color : uint8_t { kRed = 1, kGreen = 2, kBlue = 200 };
enum Plain { kPlainA = -5, kPlainB = 70000 };

struct Point {
  int32_t x = 0;
  int32_t y = 0;
  bool operator==(const Point&) const = default;
};

struct Bid {
  int64_t auction = 0;
  std::string bidder;
  double price = 0;
  std::vector<std::string> tags;
  std::optional<Point> location;
  Color color = Color::kRed;
  bool operator==(const Bid&) const = default;
};

struct Nested {
  Bid bid;
  std::vector<Bid> history;
  std::map<std::string, Point> named;
  std::array<uint16_t, 3> triple{};
  std::pair<std::string, std::tuple<int8_t, bool, float>> extra;
  bool operator==(const Nested&) const = default;
};

struct Empty {
  bool operator==(const Empty&) const = default;
};

// A non-aggregate with a hand-written serializer (the documented specialization point).
class Money {
 public:
  Money() = default;
  explicit Money(int64_t cents) : cents_(cents) {}
  int64_t cents() const { return cents_; }
  void setCents(int64_t c) { cents_ = c; }
  bool operator==(const Money&) const = default;

 private:
  int64_t cents_ = 0;
};

// An aggregate class template with a user partial specialization (needs the opt-out).
template <typename T>
struct Tagged {
  T value;
  bool operator==(const Tagged&) const = default;
};

struct NoSerializerField {
  int x;
  std::unique_ptr<int> p;
};

class Opaque {
 public:
  int get() const { return v_; }

 private:
  int v_ = 0;
};

}  // namespace

template <>
struct TypeSerializer<Money> {
  static constexpr uint32_t kVersion = 3;
  static constexpr size_t kMinSerializedSize = 8;
  static void serialize(const Money& m, DataOutputView& out) { out.writeRaw(m.cents()); }
  static void deserialize(Money& m, DataInputView& in) { m.setCents(in.readRaw<int64_t>()); }
};

template <typename T>
struct DisableReflectionSerializer<Tagged<T>> : std::true_type {};

template <typename T>
struct TypeSerializer<Tagged<T>> {
  static constexpr uint32_t kVersion = 1;
  static void serialize(const Tagged<T>& t, DataOutputView& out) {
    out.writeRaw<uint8_t>(0xAB);
    TypeSerializer<T>::serialize(t.value, out);
  }
  static void deserialize(Tagged<T>& t, DataInputView& in) {
    if (in.readRaw<uint8_t>() != 0xAB) throw SerializationException("bad tag");
    TypeSerializer<T>::deserialize(t.value, in);
  }
};

namespace {

// ---- compile-time checks -----------------------------------------------------------------

static_assert(Serializable<int32_t>);
static_assert(Serializable<bool>);
static_assert(Serializable<char>);
static_assert(Serializable<double>);
static_assert(Serializable<Color>);
static_assert(Serializable<std::string>);
static_assert(Serializable<std::vector<bool>>);
static_assert(
    Serializable<std::vector<std::optional<std::map<std::string, std::pair<int, double>>>>>);
static_assert(Serializable<std::unordered_map<int64_t, std::vector<std::string>>>);
static_assert(Serializable<std::array<Point, 4>>);
static_assert(Serializable<std::tuple<>>);
static_assert(Serializable<Bid>);
static_assert(Serializable<Nested>);
static_assert(Serializable<Empty>);
static_assert(Serializable<Money>);
static_assert(Serializable<std::vector<Money>>);
static_assert(Serializable<Tagged<std::string>>);
static_assert(!Serializable<long double>);
static_assert(!Serializable<NoSerializerField>);
static_assert(!Serializable<Opaque>);
static_assert(!Serializable<std::vector<Opaque>>);
static_assert(!Serializable<std::optional<NoSerializerField>>);
static_assert(!Serializable<int*>);
static_assert(TypeSerializer<Money>::kVersion == 3);
static_assert(TypeSerializer<Bid>::kVersion == 1);
static_assert(detail::minSerializedSize<Point>() == 8);
static_assert(detail::minSerializedSize<std::tuple<int16_t, bool>>() == 3);
static_assert(detail::minSerializedSize<Bid>() == 8 + 1 + 8 + 1 + 1 + 1);
static_assert(detail::minSerializedSize<Tagged<int>>() == 0);  // not declared

// ---- helpers -----------------------------------------------------------------------------

template <typename T>
T roundTrip(const T& value) {
  auto bytes = serializeToBytes(value);
  return deserializeFromBytes<T>(bytes);
}

template <typename T>
void expectRoundTrip(const T& value) {
  EXPECT_EQ(roundTrip(value), value);
}

std::vector<uint8_t> bytesOf(std::initializer_list<int> list) {
  std::vector<uint8_t> out;
  for (int b : list) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// Every proper prefix of a serialized value must throw SerializationException. Each prefix
// is copied into an allocation of exactly its size, so ASan flags any read past its end.
template <typename T>
void expectEveryPrefixThrows(const T& value) {
  const auto bytes = serializeToBytes(value);
  ASSERT_FALSE(bytes.empty());
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto prefix = std::make_unique<uint8_t[]>(len == 0 ? 1 : len);
    std::memcpy(prefix.get(), bytes.data(), len);
    EXPECT_THROW(deserializeFromBytes<T>(prefix.get(), len), SerializationException)
        << "prefix length " << len << " of " << bytes.size();
  }
}

using NestedContainer = std::vector<std::optional<std::map<std::string, std::pair<int, double>>>>;

NestedContainer sampleNestedContainer() {
  NestedContainer v;
  v.push_back(std::nullopt);
  v.push_back(std::map<std::string, std::pair<int, double>>{});
  v.push_back(std::map<std::string, std::pair<int, double>>{
      {"alpha", {1, 1.5}}, {"", {-7, -0.0}}, {"gamma\u00e9", {2147483647, 1e300}}});
  v.push_back(std::nullopt);
  return v;
}

Bid sampleBid() {
  return Bid{42, "alice", 3.25, {"x", "", "longer tag with spaces"}, Point{-1, 7}, Color::kBlue};
}

Nested sampleNested() {
  Nested n;
  n.bid = sampleBid();
  n.history = {Bid{}, sampleBid(), Bid{7, "bob", -1, {}, std::nullopt, Color::kGreen}};
  n.named = {{"origin", Point{0, 0}}, {"far", Point{1 << 30, -(1 << 30)}}};
  n.triple = {1, 65535, 0};
  n.extra = {"extra", {int8_t{-128}, true, 2.5f}};
  return n;
}

// ---- round trips ---------------------------------------------------------------------------

TEST(TypeSerializerTest, ArithmeticRoundTripAndWidth) {
  expectRoundTrip<int8_t>(-128);
  expectRoundTrip<uint8_t>(255);
  expectRoundTrip<int16_t>(-32768);
  expectRoundTrip<uint16_t>(65535);
  expectRoundTrip<int32_t>(std::numeric_limits<int32_t>::min());
  expectRoundTrip<uint32_t>(std::numeric_limits<uint32_t>::max());
  expectRoundTrip<int64_t>(std::numeric_limits<int64_t>::min());
  expectRoundTrip<uint64_t>(std::numeric_limits<uint64_t>::max());
  expectRoundTrip<char>('z');
  expectRoundTrip<char16_t>(u'\u20ac');
  expectRoundTrip<char32_t>(U'\U0001F600');
  expectRoundTrip<float>(-1.5f);
  expectRoundTrip<double>(std::numeric_limits<double>::denorm_min());
  expectRoundTrip<double>(std::numeric_limits<double>::infinity());
  EXPECT_EQ(serializeToBytes<int64_t>(1).size(), 8u);
  EXPECT_EQ(serializeToBytes<uint16_t>(1).size(), 2u);
  EXPECT_EQ(serializeToBytes<float>(1).size(), 4u);
}

TEST(TypeSerializerTest, FloatingPointBitsArePreserved) {
  const double negZero = roundTrip(-0.0);
  EXPECT_TRUE(std::signbit(negZero));
  const uint64_t payloadNan = 0x7ff0000000000123ULL;
  const double nan = std::bit_cast<double>(payloadNan);
  EXPECT_EQ(std::bit_cast<uint64_t>(roundTrip(nan)), payloadNan);
}

TEST(TypeSerializerTest, ExactEncodings) {
  EXPECT_EQ(serializeToBytes<int32_t>(0x01020304), bytesOf({4, 3, 2, 1}));
  EXPECT_EQ(serializeToBytes<int16_t>(-2), bytesOf({0xFE, 0xFF}));
  EXPECT_EQ(serializeToBytes(1.0), bytesOf({0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  EXPECT_EQ(serializeToBytes(true), bytesOf({1}));
  EXPECT_EQ(serializeToBytes(false), bytesOf({0}));
  EXPECT_EQ(serializeToBytes(Color::kBlue), bytesOf({200}));
  EXPECT_EQ(serializeToBytes(kPlainB), bytesOf({0x70, 0x11, 0x01, 0x00}));
  EXPECT_EQ(serializeToBytes(std::string("ab")), bytesOf({2, 'a', 'b'}));
  EXPECT_EQ(serializeToBytes(std::optional<int16_t>(5)), bytesOf({1, 5, 0}));
  EXPECT_EQ(serializeToBytes(std::optional<int16_t>()), bytesOf({0}));
  EXPECT_EQ(serializeToBytes(std::vector<bool>{true, false, true}), bytesOf({3, 1, 0, 1}));
  EXPECT_EQ(serializeToBytes(std::vector<uint8_t>{7, 8}), bytesOf({2, 7, 8}));
  EXPECT_EQ(serializeToBytes(std::map<uint8_t, bool>{{2, true}, {1, false}}),
            bytesOf({2, 1, 0, 2, 1}));
  EXPECT_EQ(serializeToBytes(std::pair<uint8_t, std::string>{9, "c"}), bytesOf({9, 1, 'c'}));
  EXPECT_EQ(serializeToBytes(std::tuple<uint8_t, bool, int8_t>{1, true, -1}),
            bytesOf({1, 1, 0xFF}));
  EXPECT_EQ(serializeToBytes(std::array<uint8_t, 3>{4, 5, 6}), bytesOf({4, 5, 6}));
  EXPECT_EQ(serializeToBytes(Point{1, -1}), bytesOf({1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_TRUE(serializeToBytes(Empty{}).empty());
  EXPECT_EQ(serializeToBytes(Tagged<uint8_t>{5}), bytesOf({0xAB, 5}));
  // Varint length: 300 = 0b10'0101100 -> 0xAC 0x02.
  auto longString = serializeToBytes(std::string(300, 'q'));
  ASSERT_EQ(longString.size(), 302u);
  EXPECT_EQ(longString[0], 0xAC);
  EXPECT_EQ(longString[1], 0x02);
}

TEST(TypeSerializerTest, StringsAndContainersRoundTrip) {
  expectRoundTrip(std::string());
  expectRoundTrip(std::string("with\0nul", 8));
  expectRoundTrip(std::string(100000, 'x'));
  expectRoundTrip(std::string("Gr\u00fc\u00dfe \U0001F600"));
  expectRoundTrip(std::optional<std::string>());
  expectRoundTrip(std::optional<std::string>(""));
  expectRoundTrip(std::vector<int>{});
  expectRoundTrip(std::vector<int>{1, -2, 3});
  expectRoundTrip(std::vector<bool>{});
  expectRoundTrip(std::vector<bool>{true, false, false, true, true, false, true, true, false});
  expectRoundTrip(std::vector<std::string>{"", "a", std::string(1000, 'b')});
  expectRoundTrip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  expectRoundTrip(std::unordered_map<int, std::string>{{1, "one"}, {2, "two"}, {-3, ""}});
  expectRoundTrip(std::pair<std::string, std::vector<double>>{"k", {1.0, 2.0}});
  expectRoundTrip(std::tuple<>{});
  expectRoundTrip(std::tuple<int, std::string, bool, std::optional<int>>{1, "s", true, 4});
  expectRoundTrip(std::array<std::string, 2>{"p", "q"});
  expectRoundTrip(std::vector<Empty>(5));
  expectRoundTrip(std::vector<std::vector<std::vector<int>>>{{{1}, {}}, {}, {{2, 3}}});
  expectRoundTrip(Color::kGreen);
  expectRoundTrip(kPlainA);
}

TEST(TypeSerializerTest, NestedAndAggregateRoundTrip) {
  expectRoundTrip(sampleNestedContainer());
  expectRoundTrip(sampleBid());
  expectRoundTrip(Bid{});
  expectRoundTrip(sampleNested());
  expectRoundTrip(std::vector<Money>{Money(1), Money(-5)});
  expectRoundTrip(Tagged<std::vector<std::string>>{{"a", "b"}});
  expectRoundTrip(std::map<int, Tagged<int>>{{1, {2}}, {3, {4}}});
}

TEST(TypeSerializerTest, SequentialValuesInOneStream) {
  DataOutputView out;
  TypeSerializer<std::string>::serialize("first", out);
  TypeSerializer<Bid>::serialize(sampleBid(), out);
  TypeSerializer<int64_t>::serialize(-9, out);
  DataInputView in(out.data(), out.size());
  std::string s;
  Bid b;
  int64_t i = 0;
  TypeSerializer<std::string>::deserialize(s, in);
  TypeSerializer<Bid>::deserialize(b, in);
  TypeSerializer<int64_t>::deserialize(i, in);
  EXPECT_EQ(s, "first");
  EXPECT_EQ(b, sampleBid());
  EXPECT_EQ(i, -9);
  EXPECT_TRUE(in.atEnd());
}

// ---- reuse ---------------------------------------------------------------------------------

TEST(TypeSerializerTest, DeserializeReusesStringCapacity) {
  std::string reuse;
  reuse.reserve(200);
  const char* buffer = reuse.data();
  const size_t capacity = reuse.capacity();
  for (const char* text : {"hello", "", "a somewhat longer string value", "x"}) {
    auto bytes = serializeToBytes(std::string(text));
    DataInputView in(bytes.data(), bytes.size());
    TypeSerializer<std::string>::deserialize(reuse, in);
    EXPECT_EQ(reuse, text);
    EXPECT_EQ(reuse.data(), buffer);
    EXPECT_EQ(reuse.capacity(), capacity);
  }
}

TEST(TypeSerializerTest, DeserializeReusesNestedCapacity) {
  std::vector<std::string> reuse(3, std::string(100, 'z'));
  std::vector<const char*> buffers;
  for (auto& s : reuse) buffers.push_back(s.data());
  const std::string* outer = reuse.data();

  auto bytes = serializeToBytes(std::vector<std::string>{"a", "bb"});
  DataInputView in(bytes.data(), bytes.size());
  TypeSerializer<std::vector<std::string>>::deserialize(reuse, in);
  ASSERT_EQ(reuse, (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(reuse.data(), outer);
  EXPECT_EQ(reuse[0].data(), buffers[0]);
  EXPECT_EQ(reuse[1].data(), buffers[1]);

  // Optional holding a value: deserialized in place.
  std::optional<std::string> opt(std::string(64, 'o'));
  const char* optBuffer = opt->data();
  auto optBytes = serializeToBytes(std::optional<std::string>("q"));
  DataInputView optIn(optBytes.data(), optBytes.size());
  TypeSerializer<std::optional<std::string>>::deserialize(opt, optIn);
  EXPECT_EQ(opt, std::optional<std::string>("q"));
  EXPECT_EQ(opt->data(), optBuffer);

  // Aggregate: fields are overwritten, the tag vector keeps its buffer.
  Bid bid = sampleBid();
  bid.tags.reserve(16);
  const std::string* tagsBuffer = bid.tags.data();
  auto bidBytes = serializeToBytes(Bid{1, "b", 2, {"t"}, std::nullopt, Color::kGreen});
  DataInputView bidIn(bidBytes.data(), bidBytes.size());
  TypeSerializer<Bid>::deserialize(bid, bidIn);
  EXPECT_EQ(bid, (Bid{1, "b", 2, {"t"}, std::nullopt, Color::kGreen}));
  EXPECT_EQ(bid.tags.data(), tagsBuffer);

  // Maps are replaced, not merged.
  std::map<std::string, int> m{{"stale", 1}, {"a", 9}};
  auto mapBytes = serializeToBytes(std::map<std::string, int>{{"a", 2}});
  DataInputView mapIn(mapBytes.data(), mapBytes.size());
  TypeSerializer<std::map<std::string, int>>::deserialize(m, mapIn);
  EXPECT_EQ(m, (std::map<std::string, int>{{"a", 2}}));
}

// ---- corrupt and truncated input ---------------------------------------------------------

TEST(TypeSerializerTest, EveryTruncationThrows) {
  expectEveryPrefixThrows<int64_t>(-1);
  expectEveryPrefixThrows(true);
  expectEveryPrefixThrows(std::string(200, 's'));
  expectEveryPrefixThrows(std::optional<double>(2.0));
  expectEveryPrefixThrows(std::vector<bool>{true, false, true});
  expectEveryPrefixThrows(std::vector<Empty>(3));
  expectEveryPrefixThrows(std::unordered_map<int, std::string>{{1, "a"}, {2, "bc"}});
  expectEveryPrefixThrows(std::tuple<int, std::string, std::array<int16_t, 2>>{1, "x", {2, 3}});
  expectEveryPrefixThrows(sampleNestedContainer());
  expectEveryPrefixThrows(sampleBid());
  expectEveryPrefixThrows(sampleNested());
  expectEveryPrefixThrows(std::vector<Tagged<std::string>>{{"a"}, {"b"}});
}

TEST(TypeSerializerTest, CorruptLengthsThrow) {
  // String claiming 2^63 bytes.
  auto hugeString = bytesOf({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  EXPECT_THROW(deserializeFromBytes<std::string>(hugeString), SerializationException);
  // Varint longer than 64 bits.
  auto longVarint = bytesOf({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  EXPECT_THROW(deserializeFromBytes<std::string>(longVarint), SerializationException);
  // Vector of int64 claiming 2 elements with only 8 bytes left.
  auto shortVector = bytesOf({2, 1, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_THROW(deserializeFromBytes<std::vector<int64_t>>(shortVector), SerializationException);
  // Nested vectors: the outer count is validated against the remaining bytes.
  auto hugeNested = bytesOf({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  EXPECT_THROW(deserializeFromBytes<std::vector<std::vector<Empty>>>(hugeNested),
               SerializationException);
  // Elements that take no bytes cannot be validated against the input; the count is capped.
  auto hugeEmpty = bytesOf({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  EXPECT_THROW(deserializeFromBytes<std::vector<Empty>>(hugeEmpty), SerializationException);
  std::vector<Empty> manyEmpty(1000);
  EXPECT_EQ(roundTrip(manyEmpty).size(), 1000u);
  // Map count larger than the input.
  auto hugeMap = bytesOf({0xFF, 0xFF, 0x03, 1, 1});
  EXPECT_THROW((deserializeFromBytes<std::map<uint8_t, uint8_t>>(hugeMap)), SerializationException);
}

TEST(TypeSerializerTest, InvalidFlagsThrow) {
  EXPECT_THROW(deserializeFromBytes<bool>(bytesOf({2})), SerializationException);
  EXPECT_THROW(deserializeFromBytes<bool>(bytesOf({0xFF})), SerializationException);
  EXPECT_THROW(deserializeFromBytes<std::vector<bool>>(bytesOf({2, 1, 7})), SerializationException);
  EXPECT_THROW(deserializeFromBytes<std::optional<int8_t>>(bytesOf({2, 1})),
               SerializationException);
  try {
    deserializeFromBytes<std::optional<int8_t>>(bytesOf({9, 1}));
    FAIL() << "expected SerializationException";
  } catch (const SerializationException& e) {
    EXPECT_NE(std::string(e.what()).find("0x09"), std::string::npos) << e.what();
  }
}

TEST(TypeSerializerTest, DuplicateMapKeyThrows) {
  // Two entries with key 1.
  auto dup = bytesOf({2, 1, 10, 1, 20});
  EXPECT_THROW((deserializeFromBytes<std::map<uint8_t, uint8_t>>(dup)), SerializationException);
  EXPECT_THROW((deserializeFromBytes<std::unordered_map<uint8_t, uint8_t>>(dup)),
               SerializationException);
}

TEST(TypeSerializerTest, TrailingBytesThrow) {
  auto bytes = serializeToBytes<int32_t>(5);
  bytes.push_back(0);
  try {
    deserializeFromBytes<int32_t>(bytes);
    FAIL() << "expected SerializationException";
  } catch (const SerializationException& e) {
    EXPECT_NE(std::string(e.what()).find("trailing 1 byte"), std::string::npos) << e.what();
  }
  auto bid = serializeToBytes(sampleBid());
  bid.push_back(1);
  bid.push_back(2);
  try {
    deserializeFromBytes<Bid>(bid);
    FAIL() << "expected SerializationException";
  } catch (const SerializationException& e) {
    EXPECT_NE(std::string(e.what()).find("trailing 2 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(deserializeFromBytes<Empty>(bytesOf({0})), SerializationException);
  EXPECT_EQ(deserializeFromBytes<Empty>(nullptr, 0), Empty{});
}

// Random corruption of a nested value: decoding either succeeds or throws
// SerializationException; never another exception, a crash or (under ASan) a bad read.
TEST(TypeSerializerTest, RandomCorruptionNeverEscapesSerializationException) {
  const auto original = serializeToBytes(sampleNested());
  const auto containerBytes = serializeToBytes(sampleNestedContainer());
  std::mt19937 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    const auto& source = (round % 2 == 0) ? original : containerBytes;
    std::vector<uint8_t> bytes = source;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    auto exact = std::make_unique<uint8_t[]>(bytes.size() + 1);
    std::memcpy(exact.get(), bytes.data(), bytes.size());
    try {
      if (round % 2 == 0) {
        (void)deserializeFromBytes<Nested>(exact.get(), bytes.size());
      } else {
        (void)deserializeFromBytes<NestedContainer>(exact.get(), bytes.size());
      }
    } catch (const SerializationException&) {
      // expected for most mutations
    }
  }
}

}  // namespace
}  // namespace sluice
