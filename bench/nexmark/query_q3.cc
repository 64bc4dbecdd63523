// Nexmark q3 (see queries.h and query_support.h).

#include "nexmark/query_support.h"

namespace sluice::nexmark::detail {
namespace {

// ---- q3: local item suggestion -----------------------------------------------------------------

/// A person of the join; name/city/state only when its state qualifies.
struct Q3Person {
  int64_t id = 0;
  bool qualifies = false;
  std::string name;
  std::string city;
  std::string state;
};

struct Q3Auction {
  int64_t id = 0;
  int64_t seller = 0;
};

struct Q3Row {
  std::string name;
  std::string city;
  std::string state;
  int64_t id = 0;
};

void encodeQ3(const Q3Row& r, std::string& out) { appendCsv(out, r.name, r.city, r.state, r.id); }

struct Q3Persons {
  void operator()(const Event& e, Collector<Q3Person>& out) const {
    if (const Person* p = std::get_if<Person>(&e)) {
      Q3Person row;
      row.id = p->id;
      row.qualifies = p->state == "OR" || p->state == "ID" || p->state == "CA";
      if (row.qualifies) {
        row.name = p->name;
        row.city = p->city;
        row.state = p->state;
      }
      out.collect(row);
    }
  }
};

struct Q3Auctions {
  void operator()(const Event& e, Collector<Q3Auction>& out) const {
    if (const Auction* a = std::get_if<Auction>(&e); a != nullptr && a->category == kQ3Category) {
      out.collect({a->id, a->seller});
    }
  }
};

/// The inner join on person id = seller. Person ids are unique, so a person's row is final when
/// it arrives: auctions seen before it wait in a list; a person whose state does not qualify is
/// kept as a tombstone (id only) so that its later auctions are dropped at once.
class Q3Join final : public KeyedCoProcessFunction<int64_t, Q3Person, Q3Auction, Q3Row> {
 public:
  void open(RuntimeContext&) override {
    person_ = &getState(kPerson);
    pending_ = &getListState(kPending);
  }
  void processElement1(const Q3Person& p, Context&, Collector<Q3Row>& out) override {
    if (p.qualifies) {
      for (int64_t auction : pending_->get()) out.collect({p.name, p.city, p.state, auction});
    }
    pending_->clear();
    person_->update(p);
  }
  void processElement2(const Q3Auction& a, Context&, Collector<Q3Row>& out) override {
    std::optional<Q3Person> p = person_->value();
    if (!p) {
      pending_->add(a.id);
    } else if (p->qualifies) {
      out.collect({p->name, p->city, p->state, a.id});
    }
  }

 private:
  inline static const ValueStateDescriptor<Q3Person> kPerson{"person"};
  inline static const ListStateDescriptor<int64_t> kPending{"pending-auctions"};
  ValueState<Q3Person>* person_ = nullptr;
  ListState<int64_t>* pending_ = nullptr;
};

}  // namespace

void q3(const DataStream<Event>& events, const QueryOptions& options) {
  auto persons = events.flatMap(Q3Persons{}).name("Persons");
  auto auctions = events.flatMap(Q3Auctions{}).name("Auctions in Category 10");
  auto joined = persons.keyBy([](const Q3Person& p) { return p.id; })
                    .connect(auctions.keyBy([](const Q3Auction& a) { return a.seller; }))
                    .process(Q3Join{})
                    .name("Join");
  addSink<Q3Row>(joined, options, &encodeQ3);
}

}  // namespace sluice::nexmark::detail
