#include "nexmark/queries.h"

#include <functional>

#include "nexmark/query_support.h"

namespace sluice::nexmark {

namespace detail {

void q0(const DataStream<Event>& events, const QueryOptions& options) {
  addSink<BidRow>(events.flatMap(BidRows<1>{}).name("Bids"), options, &encodeQ0);
}

void q1(const DataStream<Event>& events, const QueryOptions& options) {
  addSink<BidRow>(events.flatMap(BidRows<kQ1RateMilli>{}).name("Bids in Euro"), options, &encodeQ1);
}

void q2(const DataStream<Event>& events, const QueryOptions& options) {
  auto selected =
      events
          .flatMap([](const Event& e, Collector<AuctionPrice>& out) {
            if (const Bid* b = std::get_if<Bid>(&e); b && b->auction % kQ2Modulus == 0) {
              out.collect({b->auction, b->price});
            }
          })
          .name("Selection");
  addSink<AuctionPrice>(selected, options, &encodeQ2);
}

}  // namespace detail

namespace {

using Builder = std::function<void(const DataStream<Event>&, const QueryOptions&)>;

const std::vector<std::pair<std::string, Builder>>& builders() {
  static const std::vector<std::pair<std::string, Builder>> kBuilders = {
      {"q0", detail::q0}, {"q1", detail::q1}, {"q2", detail::q2},
      {"q3", detail::q3}, {"q4", detail::q4}, {"q5", detail::q5},
      {"q7", detail::q7}, {"q8", detail::q8}, {"q11", detail::q11},
  };
  return kBuilders;
}

}  // namespace

const std::vector<std::string>& queryNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& [name, builder] : builders()) names.push_back(name);
    return names;
  }();
  return kNames;
}

void addQuery(StreamExecutionEnvironment& env, const std::string& query,
              const QueryOptions& options) {
  for (const auto& [name, builder] : builders()) {
    if (name == query) {
      builder(fromNexmark(env, options.events, options.config, options.numSplits), options);
      return;
    }
  }
  std::string known;
  for (const std::string& name : queryNames()) known += " " + name;
  throw SluiceException("Nexmark: unknown query '" + query + "' (known:" + known + ")");
}

}  // namespace sluice::nexmark
