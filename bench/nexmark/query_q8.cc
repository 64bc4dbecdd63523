// Nexmark q8 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

// ---- q8: monitor new users ------------------------------------------------------------------

struct Q8Person {
  int64_t id = 0;
  std::string name;
  int64_t dateTime = 0;
};

struct Q8Auction {
  int64_t seller = 0;
  int64_t dateTime = 0;
};

struct Q8Row {
  int64_t id = 0;
  std::string name;
  int64_t starttime = 0;
};

void encodeQ8(const Q8Row& r, std::string& out) { appendCsv(out, r.id, r.name, r.starttime); }

struct Q8Persons {
  void operator()(const Event& e, Collector<Q8Person>& out) const {
    if (const Person* p = std::get_if<Person>(&e)) out.collect({p->id, p->name, p->dateTime});
  }
};

struct Q8Auctions {
  void operator()(const Event& e, Collector<Q8Auction>& out) const {
    if (const Auction* a = std::get_if<Auction>(&e)) out.collect({a->seller, a->dateTime});
  }
};

/// GROUP BY id, name, window of the persons joined with GROUP BY seller, window of the
/// auctions: each distinct (id, name) of a window that also has an auction of that seller.
struct Q8Join {
  void operator()(const std::vector<Q8Person>& persons, const std::vector<Q8Auction>& auctions,
                  Collector<Q8Row>& out) const {
    if (persons.empty() || auctions.empty()) return;
    for (size_t i = 0; i < persons.size(); ++i) {
      const Q8Person& p = persons[i];
      bool seen = false;
      for (size_t j = 0; j < i && !seen; ++j) seen = persons[j].name == p.name;
      if (!seen) out.collect({p.id, p.name, tumbleStart(p.dateTime, kTumbleMs)});
    }
  }
};

}  // namespace

void q8(const DataStream<Event>& events, const QueryOptions& options) {
  using Tagged = TaggedUnion<Q8Person, Q8Auction>;
  auto persons = events.flatMap(Q8Persons{}).name("Persons");
  auto auctions = events.flatMap(Q8Auctions{}).name("Auctions");
  auto joined = persons.coGroup(auctions)
                    .where([](const Q8Person& p) { return p.id; })
                    .equalTo([](const Q8Auction& a) { return a.seller; })
                    .window(TumblingEventTimeWindows::of<Tagged>(milliseconds(kTumbleMs)))
                    .apply(Q8Join{});
  addSink<Q8Row>(joined, options, &encodeQ8);
}

}  // namespace sluice::nexmark::detail
