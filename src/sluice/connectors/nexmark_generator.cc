#include "sluice/connectors/nexmark_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <string_view>
#include <type_traits>

namespace sluice::nexmark {

namespace {

/// SplitMix64: small, fast, and good enough for synthetic data; seeded per event.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, bound), bound > 0 (multiply-high; bias below 2^-64 * bound).
  int64_t nextLong(int64_t bound) {
    return static_cast<int64_t>(
        (static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(bound)) >> 64);
  }
  int32_t nextInt(int32_t bound) { return static_cast<int32_t>(nextLong(bound)); }

  /// Uniform in [0, 1).
  double nextDouble() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 33)) * 0xFF51AFD7ED558CCDULL;
  x = (x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53ULL;
  return x ^ (x >> 33);
}

Rng eventRng(uint64_t seed, int64_t eventNumber) {
  return Rng(mix(seed * 0x9E3779B97F4A7C15ULL + mix(static_cast<uint64_t>(eventNumber))));
}

constexpr int kMinStringLength = 3;

constexpr std::array<std::string_view, 6> kUsStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<std::string_view, 10> kUsCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<std::string_view, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<std::string_view, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<std::string_view, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};
constexpr int32_t kHotChannelsRatio = 2;

template <std::size_t N>
std::string_view pick(Rng& rng, const std::array<std::string_view, N>& values) {
  return values[static_cast<std::size_t>(rng.nextInt(static_cast<int32_t>(N)))];
}

/// Takes uniform picks in [0, bound) from one 64-bit draw: the draw is a fraction in [0, 1),
/// each pick multiplies it by the bound and keeps the integer part (multiply-high), so a draw
/// yields about 64 / log2(bound) picks. `kPicks` bounds how many are taken per draw.
template <int kPicks>
class PickStream {
 public:
  explicit PickStream(Rng& rng) : rng_(rng) {}
  uint32_t next(uint32_t bound) {
    if (left_ == 0) {
      bits_ = rng_.next();
      left_ = kPicks;
    }
    --left_;
    const unsigned __int128 m = static_cast<unsigned __int128>(bits_) * bound;
    bits_ = static_cast<uint64_t>(m);
    return static_cast<uint32_t>(m >> 64);
  }

 private:
  Rng& rng_;
  uint64_t bits_ = 0;
  int left_ = 0;
};

/// Appends a random string of 3..maxLength-1 characters, each a space (written as `space`)
/// with probability 1/13 else a lowercase letter, trimmed of leading and trailing spaces.
void appendString(std::string& out, Rng& rng, int maxLength, char space = ' ') {
  char buffer[128];
  const int len = kMinStringLength + rng.nextInt(maxLength - kMinStringLength);
  PickStream<6> picks(rng);  // 6 x (log2 13 + log2 26) = 50 bits of 64
  for (int i = 0; i < len; ++i) {
    const bool blank = picks.next(13) == 0;
    const char letter = static_cast<char>('a' + picks.next(26));
    buffer[i] = blank ? ' ' : letter;
  }
  int begin = 0;
  int end = len;
  while (begin < end && buffer[begin] == ' ') ++begin;
  while (end > begin && buffer[end - 1] == ' ') --end;
  for (int i = begin; i < end; ++i) out.push_back(buffer[i] == ' ' ? space : buffer[i]);
}

std::string nextString(Rng& rng, int maxLength) {
  std::string s;
  s.reserve(static_cast<std::size_t>(maxLength));
  appendString(s, rng, maxLength);
  return s;
}

/// Padding such that currentSize + its length averages desiredAverageSize.
std::string nextExtra(Rng& rng, int64_t currentSize, int64_t desiredAverageSize) {
  if (currentSize > desiredAverageSize) return {};
  const int64_t missing = desiredAverageSize - currentSize;
  const auto delta = static_cast<int64_t>(std::llround(static_cast<double>(missing) * 0.2));
  const int64_t size = missing - delta + (delta == 0 ? 0 : rng.nextLong(2 * delta));
  std::string extra(static_cast<std::size_t>(size), 'a');
  PickStream<11> picks(rng);  // 11 x log2 26 = 52 bits of 64
  for (char& c : extra) c = static_cast<char>('a' + picks.next(26));
  return extra;
}

/// round(10^(6u) * 100), with 10^x computed as e^(x ln 10).
int64_t nextPrice(Rng& rng) {
  return std::llround(std::exp(rng.nextDouble() * 6.0 * std::numbers::ln10) * 100.0);
}

void appendInt(std::string& out, int64_t value) {
  char buffer[24];
  char* p = buffer + sizeof(buffer);
  const bool negative = value < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(buffer + sizeof(buffer) - p));
}

/// "https://www.nexmark.com/<s>/<s>/<s>/item.htm?query=1", spaces in <s> written as '_'.
void appendBaseUrl(std::string& out, Rng& rng) {
  out.append("https://www.nexmark.com/");
  for (int i = 0; i < 3; ++i) {
    appendString(out, rng, 5, '_');
    out.push_back('/');
  }
  out.append("item.htm?query=1");
}

const std::array<std::string, 4>& hotUrls() {
  static const std::array<std::string, 4> urls = [] {
    std::array<std::string, 4> result;
    for (std::size_t i = 0; i < result.size(); ++i) {
      Rng rng(mix(0x486F7455726CULL + i));  // fixed: the same hot urls in every process
      appendBaseUrl(result[i], rng);
    }
    return result;
  }();
  return urls;
}

uint32_t reverseBits(uint32_t x) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i) {
    r = (r << 1) | (x & 1U);
    x >>= 1;
  }
  return r;
}

void channelAndUrl(int32_t channelNumber, std::string& channel, std::string& url) {
  channel.reserve(16);
  channel.append("channel-");
  appendInt(channel, channelNumber);
  Rng rng(mix(0x4368616E6E656CULL ^ static_cast<uint64_t>(channelNumber)));
  url.reserve(80);
  appendBaseUrl(url, rng);
  if (rng.nextInt(10) > 0) {
    url.append("&channel_id=");
    const auto reversed = static_cast<int32_t>(reverseBits(static_cast<uint32_t>(channelNumber)));
    appendInt(url, reversed < 0 ? -static_cast<int64_t>(reversed) : reversed);
  }
}

int64_t nextBase0PersonId(const GeneratorConfig& config, int64_t eventNumber, Rng& rng) {
  const int64_t numPeople = lastBase0PersonId(config, eventNumber) + 1;
  const int64_t activePeople = std::min<int64_t>(numPeople, config.numActivePeople);
  return numPeople - activePeople + rng.nextLong(activePeople + kIdLead);
}

int64_t nextBase0AuctionId(const GeneratorConfig& config, int64_t eventNumber, Rng& rng) {
  const int64_t maxAuction = lastBase0AuctionId(config, eventNumber);
  const int64_t minAuction = std::max<int64_t>(maxAuction - config.numInFlightAuctions, 0);
  return minAuction + rng.nextLong(maxAuction - minAuction + 1 + kIdLead);
}

Person nextPerson(const GeneratorConfig& config, int64_t n, Rng& rng, int64_t timestamp) {
  Person p;
  p.id = lastBase0PersonId(config, n) + config.personIdBase;
  p.name.reserve(24);
  p.name.append(pick(rng, kFirstNames));
  p.name.push_back(' ');
  p.name.append(pick(rng, kLastNames));
  p.emailAddress.reserve(16);
  appendString(p.emailAddress, rng, 7);
  p.emailAddress.push_back('@');
  appendString(p.emailAddress, rng, 5);
  p.emailAddress.append(".com");
  p.creditCard.assign(19, ' ');
  for (int group = 0; group < 4; ++group) {
    int value = rng.nextInt(10000);
    for (int digit = 3; digit >= 0; --digit) {
      p.creditCard[static_cast<std::size_t>(group * 5 + digit)] =
          static_cast<char>('0' + value % 10);
      value /= 10;
    }
  }
  p.city = pick(rng, kUsCities);
  p.state = pick(rng, kUsStates);
  p.dateTime = timestamp;
  const auto currentSize =
      static_cast<int64_t>(8 + p.name.size() + p.emailAddress.size() + p.creditCard.size() +
                           p.city.size() + p.state.size());
  p.extra = nextExtra(rng, currentSize, config.avgPersonByteSize);
  return p;
}

int64_t nextAuctionLengthMs(const GeneratorConfig& config, int64_t n, Rng& rng, int64_t timestamp) {
  int64_t horizonMs = config.auctionExpiryHorizonMs;
  if (horizonMs <= 0) {
    const int64_t numEventsForAuctions = static_cast<int64_t>(config.numInFlightAuctions) *
                                         config.totalProportion() / config.auctionProportion;
    horizonMs = config.timestampForEvent(n + numEventsForAuctions) - timestamp;
  }
  return 1 + rng.nextLong(std::max<int64_t>(horizonMs * 2, 1));
}

Auction nextAuction(const GeneratorConfig& config, int64_t n, Rng& rng, int64_t timestamp) {
  Auction a;
  a.id = lastBase0AuctionId(config, n) + config.auctionIdBase;
  if (rng.nextInt(config.hotSellersRatio) > 0) {
    a.seller = lastBase0PersonId(config, n) / kHotBatchSize * kHotBatchSize;
  } else {
    a.seller = nextBase0PersonId(config, n, rng);
  }
  a.seller += config.personIdBase;
  a.category = config.firstCategoryId + rng.nextInt(config.numCategories);
  a.initialBid = nextPrice(rng);
  a.dateTime = timestamp;
  a.expires = timestamp + nextAuctionLengthMs(config, n, rng, timestamp);
  a.itemName = nextString(rng, 20);
  a.description = nextString(rng, 100);
  a.reserve = a.initialBid + nextPrice(rng);
  const auto currentSize =
      static_cast<int64_t>(8 + a.itemName.size() + a.description.size() + 8 + 8 + 8 + 8 + 8);
  a.extra = nextExtra(rng, currentSize, config.avgAuctionByteSize);
  return a;
}

Bid nextBid(const GeneratorConfig& config, int64_t n, Rng& rng, int64_t timestamp) {
  Bid b;
  if (rng.nextInt(config.hotAuctionRatio) > 0) {
    b.auction = lastBase0AuctionId(config, n) / kHotBatchSize * kHotBatchSize;
  } else {
    b.auction = nextBase0AuctionId(config, n, rng);
  }
  b.auction += config.auctionIdBase;
  if (rng.nextInt(config.hotBiddersRatio) > 0) {
    b.bidder = lastBase0PersonId(config, n) / kHotBatchSize * kHotBatchSize + 1;
  } else {
    b.bidder = nextBase0PersonId(config, n, rng);
  }
  b.bidder += config.personIdBase;  // once (the Flink repository adds it twice)
  b.price = nextPrice(rng);
  if (rng.nextInt(kHotChannelsRatio) > 0) {
    const auto i = static_cast<std::size_t>(rng.nextInt(static_cast<int32_t>(kHotChannels.size())));
    b.channel = kHotChannels[i];
    b.url = hotUrls()[i];
  } else {
    channelAndUrl(rng.nextInt(kNumChannels), b.channel, b.url);
  }
  b.dateTime = timestamp;
  b.extra = nextExtra(rng, 8 + 8 + 8 + 8, config.avgBidByteSize);
  return b;
}

}  // namespace

int64_t GeneratorConfig::timestampForEvent(int64_t eventNumber) const {
  return baseTime +
         static_cast<int64_t>(static_cast<double>(eventNumber) * interEventDelayUs()) / 1000;
}

int64_t lastBase0PersonId(const GeneratorConfig& config, int64_t eventNumber) {
  const int64_t epoch = eventNumber / config.totalProportion();
  int64_t offset = eventNumber % config.totalProportion();
  if (offset >= config.personProportion) offset = config.personProportion - 1;
  return epoch * config.personProportion + offset;
}

int64_t lastBase0AuctionId(const GeneratorConfig& config, int64_t eventNumber) {
  int64_t epoch = eventNumber / config.totalProportion();
  int64_t offset = eventNumber % config.totalProportion();
  if (offset < config.personProportion) {
    --epoch;
    offset = config.auctionProportion - 1;
  } else if (offset >= config.personProportion + config.auctionProportion) {
    offset = config.auctionProportion - 1;
  } else {
    offset -= config.personProportion;
  }
  return epoch * config.auctionProportion + offset;
}

Event generate(int64_t eventNumber, const GeneratorConfig& config) {
  Rng rng = eventRng(config.seed, eventNumber);
  const int64_t timestamp = config.timestampForEvent(eventNumber);
  const int64_t rem = eventNumber % config.totalProportion();
  if (rem < config.personProportion) return nextPerson(config, eventNumber, rng, timestamp);
  if (rem < config.personProportion + config.auctionProportion) {
    return nextAuction(config, eventNumber, rng, timestamp);
  }
  return nextBid(config, eventNumber, rng, timestamp);
}

int64_t eventTime(const Event& event) {
  return std::visit([](const auto& e) { return e.dateTime; }, event);
}

std::string toCsv(const Event& event) {
  std::string out;
  out.reserve(160);
  auto field = [&out](const auto& value) {
    out.push_back(',');
    if constexpr (std::is_integral_v<std::decay_t<decltype(value)>>) {
      appendInt(out, value);
    } else {
      out.append(value);
    }
  };
  if (const auto* p = std::get_if<Person>(&event)) {
    out.append("person");
    field(p->id);
    field(p->name);
    field(p->emailAddress);
    field(p->creditCard);
    field(p->city);
    field(p->state);
    field(p->dateTime);
  } else if (const auto* a = std::get_if<Auction>(&event)) {
    out.append("auction");
    field(a->id);
    field(a->itemName);
    field(a->description);
    field(a->initialBid);
    field(a->reserve);
    field(a->dateTime);
    field(a->expires);
    field(a->seller);
    field(a->category);
  } else {
    const auto& b = std::get<Bid>(event);
    out.append("bid");
    field(b.auction);
    field(b.bidder);
    field(b.price);
    field(b.channel);
    field(b.url);
    field(b.dateTime);
  }
  return out;
}

}  // namespace sluice::nexmark
