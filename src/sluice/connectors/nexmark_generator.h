#pragma once

// The Nexmark event model and a deterministic, stateless event generator: the event with a
// given event number is a pure function of that number and the configuration. This is the
// model only; the split-based source that drives it comes separately.
//
// Modelled on the generator of the nexmark/nexmark repository (nexmark-flink,
// com.github.nexmark.flink.generator: GeneratorConfig, NexmarkGenerator, model/*Generator),
// itself derived from Apache Beam's Nexmark. Same model and formulas:
//
// - of every `totalProportion()` (default 50) consecutive event numbers the first
//   `personProportion` (1) are persons, the next `auctionProportion` (3) auctions, the rest
//   (46) bids;
// - person id = lastBase0PersonId(n) + personIdBase, auction id = lastBase0AuctionId(n) +
//   auctionIdBase; a random person is one of the `numActivePeople` latest plus a lead of 10
//   not yet generated, a random auction one of the `numInFlightAuctions` latest plus a lead of
//   10 (so a referenced id may exceed the latest generated one by up to 10, as in the
//   reference);
// - a seller is hot with probability 1 - 1/hotSellersRatio (the first person of the current
//   batch of 100 people), a bid's auction hot with probability 1 - 1/hotAuctionRatio (the first
//   auction of the current batch of 100 auctions), a bidder hot with probability
//   1 - 1/hotBiddersRatio (the second person of the current batch of 100 people);
// - price = round(10^(u*6) * 100) for uniform u in [0,1); reserve = initialBid + price;
//   category = firstCategoryId + uniform[0, numCategories);
// - expires = dateTime + 1 + uniform[0, 2*horizon), horizon the event time needed to generate
//   numInFlightAuctions more auctions (unless auctionExpiryHorizonMs overrides it);
// - bid channel/url: with probability 1/2 one of the hot channels Google, Facebook, Baidu,
//   Apple with its hot url, else "channel-<k>" for k uniform in [0, 10000) with a url made
//   from k, which carries "&channel_id=<|bitreverse32(k)|>" for 9 in 10 channels;
// - `extra` is lowercase letters so that the event's estimated size (8 bytes per number plus
//   the string lengths) averages avg{Person,Auction,Bid}ByteSize: uniform in +-20% of the
//   missing bytes.
//
// Deviations from the nexmark/nexmark (Flink) repository, all deliberate:
//
// 1. Randomness: every event's values come from a SplitMix64 PRNG seeded by (seed, event
//    number), as Beam and RisingWave seed by event id, instead of one unseeded
//    java.util.Random per generator. A run is reproducible and independent of parallelism;
//    the values are not bit-identical to any Java run (the distributions are the same).
// 2. Bidder ids get personIdBase added once (as Beam); the Flink repository adds it twice.
// 3. Hot urls and per-channel urls are derived from fixed seeds (hot) and from the channel
//    number, not from unseeded Randoms at class load with a shared cache; the same channel
//    always gets the same url in every process. |bitreverse32(1)| is 2147483648 (Java's
//    Math.abs(Integer.MIN_VALUE) would print a negative number).
// 4. Event id == event number (the reference's firstEventId offset is 0, no out-of-order
//    groups: outOfOrderGroupSize = 1), and the timeline is global: interEventDelayUs =
//    1e6 / firstEventRate over all splits (the reference multiplies by numEventGenerators,
//    each generator numbering its own events). timestamp(n) = baseTime +
//    trunc(n * interEventDelayUs) / 1000, i.e. exactly baseTime + n * 0.1 ms by default.
// 5. The auction length uses the event's own number instead of a per-generator event count,
//    so it does not depend on how the id range is split.
// 6. The reference's `extra` can contain characters below 'a' (Java's % of a negative int);
//    here it is always 'a'..'z'. Rate shapes (sine/square) and delayed events are not modelled.
// 7. Default baseTime is fixed at 2024-01-01T00:00:00Z = 1704067200000 ms (the reference uses
//    the wall clock at start-up).

#include <cstdint>
#include <string>
#include <variant>

namespace sluice::nexmark {

struct Person {
  int64_t id = 0;
  std::string name;
  std::string emailAddress;
  std::string creditCard;
  std::string city;
  std::string state;
  int64_t dateTime = 0;  // epoch ms
  std::string extra;
  bool operator==(const Person&) const = default;
};

struct Auction {
  int64_t id = 0;
  std::string itemName;
  std::string description;
  int64_t initialBid = 0;
  int64_t reserve = 0;
  int64_t dateTime = 0;  // epoch ms
  int64_t expires = 0;   // epoch ms
  int64_t seller = 0;
  int64_t category = 0;
  std::string extra;
  bool operator==(const Auction&) const = default;
};

struct Bid {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  std::string channel;
  std::string url;
  int64_t dateTime = 0;  // epoch ms
  std::string extra;
  bool operator==(const Bid&) const = default;
};

using Event = std::variant<Person, Auction, Bid>;

/// Size of the batches of people/auctions whose first (second) member is the hot one.
inline constexpr int64_t kHotBatchSize = 100;
/// Ids a random person/auction reference may run ahead of the latest generated one.
inline constexpr int64_t kIdLead = 10;
/// Number of distinct non-hot bid channels.
inline constexpr int32_t kNumChannels = 10000;

struct GeneratorConfig {
  int32_t personProportion = 1;
  int32_t auctionProportion = 3;
  int32_t bidProportion = 46;
  /// Events per second of event time (over all splits together).
  double firstEventRate = 10000.0;
  /// Event time of event number 0, epoch ms (2024-01-01T00:00:00Z).
  int64_t baseTime = 1704067200000;
  int32_t avgPersonByteSize = 200;
  int32_t avgAuctionByteSize = 500;
  int32_t avgBidByteSize = 100;
  /// P(hot) = 1 - 1/ratio for bid auctions, auction sellers and bidders.
  int32_t hotAuctionRatio = 2;
  int32_t hotSellersRatio = 4;
  int32_t hotBiddersRatio = 4;
  int32_t numInFlightAuctions = 100;
  int32_t numActivePeople = 1000;
  int32_t numCategories = 5;
  /// Average auction length in ms; 0 derives it as the reference does (the event time until
  /// numInFlightAuctions more auctions exist).
  int64_t auctionExpiryHorizonMs = 0;
  int64_t personIdBase = 1000;
  int64_t auctionIdBase = 1000;
  int64_t firstCategoryId = 10;
  /// Mixed into every event's PRNG seed; 0 by default.
  uint64_t seed = 0;

  int32_t totalProportion() const { return personProportion + auctionProportion + bidProportion; }
  double interEventDelayUs() const { return 1e6 / firstEventRate; }
  int64_t timestampForEvent(int64_t eventNumber) const;
};

/// Latest person id (without personIdBase) that exists at event `eventNumber`; the id of the
/// person generated there if it is a person event.
int64_t lastBase0PersonId(const GeneratorConfig& config, int64_t eventNumber);
/// Latest auction id (without auctionIdBase) that exists at event `eventNumber`; the id of the
/// auction generated there if it is an auction event; -1 before the first auction.
int64_t lastBase0AuctionId(const GeneratorConfig& config, int64_t eventNumber);

/// The event with this event number (>= 0).
Event generate(int64_t eventNumber, const GeneratorConfig& config);

/// Event time of the event, epoch ms.
int64_t eventTime(const Event& event);

/// One CSV line without line end and without `extra`: `person,id,name,emailAddress,creditCard,
/// city,state,dateTime`, `auction,id,itemName,description,initialBid,reserve,dateTime,expires,
/// seller,category` or `bid,auction,bidder,price,channel,url,dateTime`. Generated values never
/// contain ',', '"' or line ends, so no quoting is needed.
std::string toCsv(const Event& event);

}  // namespace sluice::nexmark
