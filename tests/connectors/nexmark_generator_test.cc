// The Nexmark event model: proportions, id ranges, hot keys, timestamps, determinism, sizes.

#include "sluice/connectors/nexmark_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace sluice::nexmark {
namespace {

constexpr int64_t kEvents = 50000;

std::string fullText(const Event& event) {
  return toCsv(event) + "|" + std::visit([](const auto& e) { return e.extra; }, event);
}

int countFields(const std::string& line) {
  return static_cast<int>(std::count(line.begin(), line.end(), ',')) + 1;
}

TEST(NexmarkGeneratorTest, ProportionsAreExactlyOneThreeFortySix) {
  GeneratorConfig config;
  int64_t persons = 0, auctions = 0, bids = 0;
  for (int64_t n = 0; n < kEvents; ++n) {
    Event e = generate(n, config);
    persons += std::holds_alternative<Person>(e);
    auctions += std::holds_alternative<Auction>(e);
    bids += std::holds_alternative<Bid>(e);
    if (n % 50 == 0) {
      EXPECT_TRUE(std::holds_alternative<Person>(e)) << n;
    }
  }
  EXPECT_EQ(persons, 1000);
  EXPECT_EQ(auctions, 3000);
  EXPECT_EQ(bids, 46000);
}

TEST(NexmarkGeneratorTest, IdsAreWithinReferenceRanges) {
  GeneratorConfig config;
  int64_t lastPerson = -1, lastAuction = -1, bidsAhead = 0, bids = 0;
  for (int64_t n = 0; n < kEvents; ++n) {
    Event e = generate(n, config);
    if (const auto* p = std::get_if<Person>(&e)) {
      EXPECT_EQ(p->id, lastPerson < 0 ? config.personIdBase : lastPerson + 1) << n;
      lastPerson = p->id;
    } else if (const auto* a = std::get_if<Auction>(&e)) {
      EXPECT_EQ(a->id, lastAuction < 0 ? config.auctionIdBase : lastAuction + 1) << n;
      lastAuction = a->id;
      EXPECT_GE(a->seller, config.personIdBase);
      EXPECT_LE(a->seller, lastPerson + kIdLead);
      EXPECT_GE(a->category, config.firstCategoryId);
      EXPECT_LT(a->category, config.firstCategoryId + config.numCategories);
      EXPECT_GT(a->expires, a->dateTime);
      EXPECT_GE(a->initialBid, 100);
      EXPECT_GT(a->reserve, a->initialBid);
    } else {
      const auto& b = std::get<Bid>(e);
      ++bids;
      ASSERT_GE(lastAuction, config.auctionIdBase);
      // A random auction is one of the numInFlightAuctions latest or a lead of 10 ahead.
      EXPECT_GE(b.auction,
                std::max(lastAuction - config.numInFlightAuctions, config.auctionIdBase));
      EXPECT_LE(b.auction, lastAuction + kIdLead) << n;
      const int64_t active =
          std::min<int64_t>(lastPerson - config.personIdBase + 1, config.numActivePeople);
      EXPECT_GE(b.bidder, lastPerson - active + 1) << n;
      EXPECT_LE(b.bidder, lastPerson + kIdLead) << n;
      EXPECT_GE(b.price, 100);
      EXPECT_LE(b.price, 100000000);
      if (b.auction > lastAuction) ++bidsAhead;
    }
  }
  // Leads are rare: only non-hot bids can point ahead, 10 of ~111 candidates.
  EXPECT_LT(static_cast<double>(bidsAhead) / static_cast<double>(bids), 0.06);
}

struct HotCounts {
  double hotAuctions = 0, hotBidders = 0, hotSellers = 0, hotChannels = 0;
};

HotCounts countHot(const GeneratorConfig& config) {
  int64_t bids = 0, auctions = 0, hotAuctions = 0, hotBidders = 0, hotSellers = 0, hotChannels = 0;
  for (int64_t n = 0; n < kEvents; ++n) {
    Event e = generate(n, config);
    if (const auto* a = std::get_if<Auction>(&e)) {
      ++auctions;
      hotSellers += a->seller == lastBase0PersonId(config, n) / kHotBatchSize * kHotBatchSize +
                                     config.personIdBase;
    } else if (const auto* b = std::get_if<Bid>(&e)) {
      ++bids;
      hotAuctions += b->auction == lastBase0AuctionId(config, n) / kHotBatchSize * kHotBatchSize +
                                       config.auctionIdBase;
      hotBidders += b->bidder == lastBase0PersonId(config, n) / kHotBatchSize * kHotBatchSize + 1 +
                                     config.personIdBase;
      hotChannels += b->channel.rfind("channel-", 0) != 0;
    }
  }
  auto frac = [](int64_t k, int64_t total) {
    return static_cast<double>(k) / static_cast<double>(total);
  };
  return {frac(hotAuctions, bids), frac(hotBidders, bids), frac(hotSellers, auctions),
          frac(hotChannels, bids)};
}

TEST(NexmarkGeneratorTest, HotKeyRatiosMatchConfiguration) {
  GeneratorConfig config;  // P(hot auction) = 1/2, P(hot bidder) = P(hot seller) = 3/4
  HotCounts hot = countHot(config);
  // A non-hot pick can hit the hot key by chance too (1 in ~111 auctions / ~1010 people).
  EXPECT_NEAR(hot.hotAuctions, 0.5 + 0.5 / 111, 0.015);
  EXPECT_NEAR(hot.hotBidders, 0.75, 0.015);
  EXPECT_NEAR(hot.hotSellers, 0.75, 0.04);  // 3,000 auctions only
  EXPECT_NEAR(hot.hotChannels, 0.5, 0.015);

  config.hotAuctionRatio = 10;
  config.hotBiddersRatio = 2;
  hot = countHot(config);
  EXPECT_NEAR(hot.hotAuctions, 0.9, 0.015);
  EXPECT_NEAR(hot.hotBidders, 0.5, 0.015);
}

TEST(NexmarkGeneratorTest, TimestampsAreBaseTimePlusEventNumberTimesDelay) {
  GeneratorConfig config;
  for (int64_t n = 0; n < kEvents; ++n) {
    ASSERT_EQ(eventTime(generate(n, config)), config.baseTime + n / 10) << n;  // 100 us apart
  }
  EXPECT_EQ(config.baseTime, 1704067200000);
  config.firstEventRate = 1000;  // 1 ms apart
  config.baseTime = 5;
  for (int64_t n : {0L, 1L, 49L, 12345L, 10000000000L}) {
    EXPECT_EQ(eventTime(generate(n, config)), 5 + n);
  }
}

TEST(NexmarkGeneratorTest, SameEventNumberGivesSameEvent) {
  GeneratorConfig config;
  for (int64_t n : {0L, 1L, 2L, 7L, 49L, 50L, 123456789L}) {
    EXPECT_EQ(generate(n, config), generate(n, config)) << n;
  }
  GeneratorConfig other = config;
  other.seed = 42;
  int differ = 0;
  for (int64_t n = 0; n < 100; ++n) differ += !(generate(n, config) == generate(n, other));
  EXPECT_GT(differ, 90);
}

TEST(NexmarkGeneratorTest, SplitGenerationGivesSameEventSet) {
  GeneratorConfig config;
  constexpr int64_t kN = 20000;
  std::vector<std::string> sequential;
  for (int64_t n = 0; n < kN; ++n) sequential.push_back(fullText(generate(n, config)));
  // Two "splits" over disjoint halves of the id range, interleaved as parallel readers would be.
  std::vector<std::string> interleaved;
  for (int64_t i = 0; i < kN / 2; ++i) {
    interleaved.push_back(fullText(generate(kN / 2 + i, config)));
    interleaved.push_back(fullText(generate(i, config)));
  }
  std::sort(sequential.begin(), sequential.end());
  std::sort(interleaved.begin(), interleaved.end());
  EXPECT_EQ(sequential, interleaved);
}

TEST(NexmarkGeneratorTest, AverageSizesAreNearTargets) {
  GeneratorConfig config;
  double person = 0, auction = 0, bid = 0;
  int64_t persons = 0, auctions = 0, bids = 0;
  for (int64_t n = 0; n < kEvents; ++n) {
    Event e = generate(n, config);
    if (const auto* p = std::get_if<Person>(&e)) {
      person +=
          static_cast<double>(8 + p->name.size() + p->emailAddress.size() + p->creditCard.size() +
                              p->city.size() + p->state.size() + p->extra.size());
      ++persons;
    } else if (const auto* a = std::get_if<Auction>(&e)) {
      auction +=
          static_cast<double>(48 + a->itemName.size() + a->description.size() + a->extra.size());
      ++auctions;
    } else {
      bid += static_cast<double>(32 + std::get<Bid>(e).extra.size());
      ++bids;
    }
  }
  EXPECT_NEAR(person / static_cast<double>(persons), 200, 4);
  EXPECT_NEAR(auction / static_cast<double>(auctions), 500, 10);
  EXPECT_NEAR(bid / static_cast<double>(bids), 100, 2);
}

TEST(NexmarkGeneratorTest, CsvHasTheDumpColumns) {
  GeneratorConfig config;
  for (int64_t n = 0; n < 500; ++n) {
    Event e = generate(n, config);
    std::string line = toCsv(e);
    std::string time = "," + std::to_string(eventTime(e));
    if (std::holds_alternative<Person>(e)) {
      EXPECT_EQ(line.rfind("person,", 0), 0U);
      EXPECT_EQ(countFields(line), 8) << line;
      EXPECT_TRUE(line.ends_with(time)) << line;
    } else if (const auto* a = std::get_if<Auction>(&e)) {
      EXPECT_EQ(line.rfind("auction,", 0), 0U);
      EXPECT_EQ(countFields(line), 10) << line;
      EXPECT_NE(line.find(time + "," + std::to_string(a->expires) + ","), std::string::npos);
    } else {
      EXPECT_EQ(line.rfind("bid,", 0), 0U);
      EXPECT_EQ(countFields(line), 7) << line;
      EXPECT_TRUE(line.ends_with(time)) << line;
    }
  }
  Person p;
  p.id = 1000;
  p.name = "Peter Smith";
  p.emailAddress = "abc@de.com";
  p.creditCard = "0001 0002 0003 0004";
  p.city = "Bend";
  p.state = "OR";
  p.dateTime = 1704067200000;
  p.extra = "zzz";
  EXPECT_EQ(toCsv(Event{p}),
            "person,1000,Peter Smith,abc@de.com,0001 0002 0003 0004,Bend,OR,1704067200000");
}

TEST(NexmarkGeneratorTest, ChannelUrlIsAFunctionOfTheChannel) {
  GeneratorConfig config;
  std::map<std::string, std::string> urls;
  int withChannelId = 0, channels = 0;
  for (int64_t n = 0; n < kEvents; ++n) {
    Event e = generate(n, config);
    const auto* b = std::get_if<Bid>(&e);
    if (b == nullptr) continue;
    EXPECT_EQ(b->url.rfind("https://www.nexmark.com/", 0), 0U) << b->url;
    auto [it, inserted] = urls.emplace(b->channel, b->url);
    EXPECT_EQ(it->second, b->url) << b->channel;
    if (inserted && b->channel.rfind("channel-", 0) == 0) {
      ++channels;
      withChannelId += b->url.find("&channel_id=") != std::string::npos;
    }
  }
  EXPECT_LE(urls.size(), static_cast<std::size_t>(kNumChannels + 4));
  EXPECT_NEAR(static_cast<double>(withChannelId) / channels, 0.9, 0.03);
}

}  // namespace
}  // namespace sluice::nexmark
