#pragma once

// The Nexmark queries q0, q1, q2, q3, q4, q5, q7, q8 and q11 as DataStream programs over the
// Nexmark source (sluice/connectors/nexmark_source.h), with the semantics of the reference SQL
// of the nexmark/nexmark repository (nexmark-flink/src/main/resources/queries/qN.sql):
//
//   q0  SELECT auction, bidder, price, dateTime, extra FROM bid
//   q1  the same with price = 0.908 * price (DECIMAL(23, 3): printed with 3 decimals, exact)
//   q2  SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
//   q3  SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
//       WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')
//   q4  SELECT category, AVG(final) over (SELECT MAX(B.price) AS final, A.category FROM
//       auction A, bid B WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND
//       A.expires GROUP BY A.id, A.category) GROUP BY category
//   q5  auction, num: the auctions with the most bids (count(*) >= the window's maximum) of
//       every hopping window of 10 s sliding by 2 s
//   q7  B.auction, B.price, B.bidder, B.dateTime, B.extra of every bid whose price equals the
//       maximum price of a 10 s tumbling window with window_end - 10 s <= B.dateTime <=
//       window_end (both ends inclusive, as SQL's BETWEEN: a bid exactly on a window boundary
//       is compared with the maxima of both windows it touches)
//   q8  P.id, P.name, starttime: persons who opened an auction in the 10 s tumbling window in
//       which they were created
//   q11 bidder, bid_count, starttime, endtime per bidder session with a 10 s gap (Flink's
//       session windows: end = last bid + 10 s; bids exactly 10 s apart share a session)
//
// Outputs are CSV lines with the SELECT's columns in order, timestamps as epoch milliseconds.
// q4's result is updating: a line `category,average` every time a category's average changes;
// the last line of a category is its final value (AVG over BIGINT is BIGINT in Flink: the sum
// divided by the count, truncated). q3 joins two append-only inputs, so its result is
// append-only: every line is final. The other queries append final rows.
//
// State is bounded where the reference SQL's is not, without changing any result: q4 drops an
// auction once the watermark passes its expiry and a bid waiting for its auction once the
// watermark passes the bid (the Nexmark source emits no late events: each reader's timestamps
// only grow, and the watermark is the minimum over readers). q3 keeps, as the SQL join, every
// person (a tombstone for those outside OR/ID/CA) and auctions waiting for their seller.

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/api/stream_execution_environment.h"
#include "sluice/connectors/nexmark_generator.h"

namespace sluice::nexmark {

/// The query names this module implements, in benchmark order: q0 q1 q2 q3 q4 q5 q7 q8 q11.
const std::vector<std::string>& queryNames();

/// What addQuery builds.
struct QueryOptions {
  /// Number of events to generate (event numbers [0, events)).
  int64_t events = 0;
  GeneratorConfig config;
  /// Source splits; 0: NexmarkSource's default.
  int numSplits = 0;
  /// Directory for the result's part files (a FileSink without buckets: the files lie directly
  /// in it); empty: results go to a DiscardingSink (the reference's blackhole connector).
  std::string outputDirectory;
};

/// Adds the Nexmark source, the query `query` ("q0" ... "q11", see queryNames()) and its sink
/// to `env`, at the environment's parallelism. Throws SluiceException naming the query when it
/// is not one of queryNames(), and as NexmarkSource for bad options. Not thread-safe (program
/// construction).
void addQuery(StreamExecutionEnvironment& env, const std::string& query,
              const QueryOptions& options);

}  // namespace sluice::nexmark
