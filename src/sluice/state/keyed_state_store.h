#pragma once

// KeyedStateStore<K, N>: creates keyed state by descriptor on the heap backend (the runtime
// context's getState, getListState, ...). Task thread only.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/api/common/state.h"
#include "sluice/state/heap/heap_keyed_state_backend.h"

namespace sluice {

/// Creates keyed state by descriptor for one namespace (Flink's KeyedStateStore): the state of
/// keyed process functions, and the per-window and global state of a ProcessWindowFunction.
/// Every state lives in a KeyedStateTable per key group, scoped to the current key, registered
/// with the backend as `prefix + descriptor name`. States with a StateTtlConfig store each
/// value (list element, map entry) with its last-access time and follow the config's update
/// type, visibility and cleanup (state_ttl.h). Task thread only.
template <typename K, typename N>
class KeyedStateStore {
 public:
  explicit KeyedStateStore(HeapKeyedStateBackend<K>& backend, std::string prefix = "")
      : backend_(backend), prefix_(std::move(prefix)) {}

  /// The state named by `descriptor`, in the store's current namespace. Throws
  /// SluiceException when the name was used before with another kind or type of state, or
  /// another TTL configuration.
  template <typename V>
  ValueState<V>& getState(const ValueStateDescriptor<V>& d) {
    if (d.ttlConfig) return getOrCreate<ValueImpl<V, true>>(d);
    return getOrCreate<ValueImpl<V, false>>(d);
  }
  template <typename T>
  ListState<T>& getListState(const ListStateDescriptor<T>& d) {
    if (d.ttlConfig) return getOrCreate<ListImpl<T, true>>(d);
    return getOrCreate<ListImpl<T, false>>(d);
  }
  template <typename UK, typename UV>
  MapState<UK, UV>& getMapState(const MapStateDescriptor<UK, UV>& d) {
    if (d.ttlConfig) return getOrCreate<MapImpl<UK, UV, true>>(d);
    return getOrCreate<MapImpl<UK, UV, false>>(d);
  }
  template <typename T>
  ReducingState<T>& getReducingState(const ReducingStateDescriptor<T>& d) {
    auto reduce = d.reduceFunction;
    typename FoldImpl<T, T, T, false, false>::Add add = [reduce](const T& v, std::optional<T> acc) {
      return acc ? reduce(*acc, v) : v;
    };
    auto result = [](const T& acc) { return acc; };
    if (d.ttlConfig) return getOrCreate<FoldImpl<T, T, T, false, true>>(d, add, result);
    return getOrCreate<FoldImpl<T, T, T, false, false>>(d, add, result);
  }
  template <typename IN, typename ACC, typename OUT>
  AggregatingState<IN, OUT>& getAggregatingState(
      const AggregatingStateDescriptor<IN, ACC, OUT>& d) {
    auto create = d.createAccumulator;
    auto addFn = d.add;
    typename FoldImpl<IN, ACC, OUT, true, false>::Add add =
        [create, addFn](const IN& v, std::optional<ACC> acc) {
          return addFn(v, acc ? std::move(*acc) : create());
        };
    if (d.ttlConfig) return getOrCreate<FoldImpl<IN, ACC, OUT, true, true>>(d, add, d.getResult);
    return getOrCreate<FoldImpl<IN, ACC, OUT, true, false>>(d, add, d.getResult);
  }

  /// Calls `fn(key, state)` for every key that has a value in state `d` in the current
  /// namespace, with that key current (Flink's applyToAllKeys, used by
  /// KeyedBroadcastProcessFunction's applyToKeyedState). `fn` may read, change or clear the
  /// state. The current key afterwards is the last key visited.
  template <typename D, typename Fn>
  void applyToAllKeys(const D& d, Fn&& fn) {
    auto& state = getStateOf(d);
    std::vector<K> keys = keysOf(d.name);
    for (const K& key : keys) {
      backend_.setCurrentKey(key);
      fn(static_cast<const K&>(key), state);
    }
  }
  /// The keys with a value in the state named `stateName` in the current namespace (Flink's
  /// getKeys). Throws SluiceException when no such state was created.
  std::vector<K> keysOf(const std::string& stateName) {
    auto it = states_.find(stateName);
    if (it == states_.end()) {
      throw SluiceException("state '" + stateName + "' was not created in this operator");
    }
    return it->second->keys(namespace_);
  }

  void setNamespace(const N& ns) { namespace_ = ns; }
  const N& currentNamespace() const { return namespace_; }
  /// Removes every state of the current key in the current namespace.
  void clearNamespace() {
    for (auto& [name, s] : states_) s->clearCurrent();
  }

 private:
  struct Erased {
    virtual ~Erased() = default;
    virtual void clearCurrent() = 0;
    virtual std::vector<K> keys(const N& ns) = 0;
  };

  template <typename V>
  ValueState<V>& getStateOf(const ValueStateDescriptor<V>& d) {
    return getState(d);
  }
  template <typename T>
  ListState<T>& getStateOf(const ListStateDescriptor<T>& d) {
    return getListState(d);
  }
  template <typename UK, typename UV>
  MapState<UK, UV>& getStateOf(const MapStateDescriptor<UK, UV>& d) {
    return getMapState(d);
  }
  template <typename T>
  ReducingState<T>& getStateOf(const ReducingStateDescriptor<T>& d) {
    return getReducingState(d);
  }
  template <typename I, typename A, typename O>
  AggregatingState<I, O>& getStateOf(const AggregatingStateDescriptor<I, A, O>& d) {
    return getAggregatingState(d);
  }

  template <typename S, typename... Args>
  S& getOrCreate(const StateDescriptorBase& d, Args&&... args) {
    auto it = states_.find(d.name);
    if (it == states_.end()) {
      it = states_
               .emplace(d.name, std::make_unique<S>(*this, d.name, d.ttlConfig,
                                                    std::forward<Args>(args)...))
               .first;
    }
    auto* typed = dynamic_cast<S*>(it->second.get());
    if (typed == nullptr) {
      throw SluiceException("state '" + d.name +
                            "' was created before as another kind or type of state, or with "
                            "another time-to-live setting");
    }
    return *typed;
  }

  // Base of every state implementation: its table of stored values, and TTL bookkeeping.
  // Stored = V, or TtlValue<V> with TTL (the element type for lists and maps).
  template <typename Stored, bool kTtl>
  struct StateBase : Erased {
    StateBase(KeyedStateStore& s, const std::string& name, const std::optional<StateTtlConfig>& c)
        : store(s), table(s.backend_, s.prefix_ + name), ttl(c.value_or(StateTtlConfig{})) {}
    std::vector<K> keys(const N& ns) override { return table.keys(ns); }
    void clearCurrent() override { table.remove(store.namespace_); }
    int64_t now() const { return store.backend_.ttlTime(); }
    // Wires the TTL cleanups of one stored entry at a time (ms): `expired` tells whether
    // anything of it expired, `clean` drops that (false: nothing left). Both get a copy of the
    // TTL configuration, never `this`: snapshots run them on another thread.
    void setupTtl(std::function<bool(const Stored&, int64_t)> expired,
                  std::function<bool(Stored&, int64_t)> clean) {
      if constexpr (kTtl) {
        typename KeyedStateTable<K, N, Stored>::EntryCleanup c{std::move(expired),
                                                               std::move(clean)};
        if (ttl.cleanupFullSnapshot) table.setSnapshotCleanup(c);
        if (ttl.incrementalCleanupSize > 0) {
          incremental = std::move(c);
          if (ttl.runCleanupForEveryRecord) {
            store.backend_.addKeySelectionListener([this] { cleanup(); });
          }
        }
      } else {
        (void)expired;
        (void)clean;
      }
    }
    // Incremental TTL cleanup on a state access (before it, so the access sees a stable table).
    void cleanup() {
      if constexpr (kTtl) {
        if (incremental) {
          table.cleanupIncrementally(ttl.incrementalCleanupSize, incremental,
                                     [this] { return now(); });
        }
      }
    }
    KeyedStateStore& store;
    KeyedStateTable<K, N, Stored> table;
    StateTtlConfig ttl;
    typename KeyedStateTable<K, N, Stored>::EntryCleanup incremental;
  };

  template <typename V, bool kTtl>
  struct ValueImpl final : StateBase<std::conditional_t<kTtl, TtlValue<V>, V>, kTtl>,
                           ValueState<V> {
    using Base = StateBase<std::conditional_t<kTtl, TtlValue<V>, V>, kTtl>;
    ValueImpl(KeyedStateStore& s, const std::string& name, const std::optional<StateTtlConfig>& c)
        : Base(s, name, c) {
      if constexpr (kTtl) {
        StateTtlConfig ttl = this->ttl;
        this->setupTtl([ttl](const TtlValue<V>& v, int64_t t) { return ttl.isExpired(v, t); },
                       [ttl](TtlValue<V>& v, int64_t t) { return !ttl.isExpired(v, t); });
      }
    }
    std::optional<V> value() override {
      const N& ns = this->store.namespace_;
      if constexpr (kTtl) {
        this->cleanup();
        const TtlValue<V>* v = this->table.peek(ns);
        if (v == nullptr) return std::nullopt;
        int64_t t = this->now();
        if (this->ttl.isExpired(*v, t)) {
          std::optional<V> out;
          if (this->ttl.returnExpired()) out = v->value;
          this->table.remove(ns);
          return out;
        }
        if (!this->ttl.updateOnRead()) return v->value;
        TtlValue<V>* w = this->table.get(ns);  // v may be stale once written
        w->lastAccessTimestamp = t;
        return w->value;
      } else {
        const V* v = this->table.peek(ns);
        return v ? std::optional<V>(*v) : std::nullopt;
      }
    }
    void update(const V& value) override {
      if constexpr (kTtl) {
        this->cleanup();
        this->table.put(this->store.namespace_, TtlValue<V>{value, this->now()});
      } else {
        this->table.put(this->store.namespace_, value);
      }
    }
    void clear() override { this->table.remove(this->store.namespace_); }
  };

  template <typename T, bool kTtl>
  struct ListImpl final : StateBase<std::vector<std::conditional_t<kTtl, TtlValue<T>, T>>, kTtl>,
                          ListState<T> {
    using Element = std::conditional_t<kTtl, TtlValue<T>, T>;
    using Base = StateBase<std::vector<Element>, kTtl>;
    ListImpl(KeyedStateStore& s, const std::string& name, const std::optional<StateTtlConfig>& c)
        : Base(s, name, c) {
      if constexpr (kTtl) {
        StateTtlConfig ttl = this->ttl;
        this->setupTtl(
            [ttl](const std::vector<Element>& list, int64_t t) {
              return std::any_of(list.begin(), list.end(),
                                 [&](const Element& e) { return ttl.isExpired(e, t); });
            },
            [ttl](std::vector<Element>& list, int64_t t) {
              std::erase_if(list, [&](const Element& e) { return ttl.isExpired(e, t); });
              return !list.empty();
            });
      }
    }
    ListView<T> get() override {
      const N& ns = this->store.namespace_;
      if constexpr (kTtl) {
        this->cleanup();
        scratch.clear();
        std::vector<Element>* list = this->table.get(ns);
        if (list == nullptr) return {};
        int64_t t = this->now();
        // Per element, as Flink's TtlListState: expired elements are dropped from the state
        // and returned only with ReturnExpiredIfNotCleanedUp.
        for (Element& e : *list) {
          bool expired = this->ttl.isExpired(e, t);
          if (!expired && this->ttl.updateOnRead()) e.lastAccessTimestamp = t;
          if (!expired || this->ttl.returnExpired()) scratch.push_back(e.value);
        }
        std::erase_if(*list, [&](const Element& e) { return this->ttl.isExpired(e, t); });
        if (list->empty()) this->table.remove(ns);
        return ListView<T>(scratch);
      } else {
        const std::vector<T>* v = this->table.peek(ns);
        return v ? ListView<T>(*v) : ListView<T>();
      }
    }
    void add(const T& value) override {
      this->cleanup();
      this->table.getOrCreate(this->store.namespace_, [] { return std::vector<Element>{}; })
          .push_back(wrap(value));
    }
    void addAll(const std::vector<T>& values) override {
      if (values.empty()) return;
      this->cleanup();
      auto& list =
          this->table.getOrCreate(this->store.namespace_, [] { return std::vector<Element>{}; });
      for (const T& v : values) list.push_back(wrap(v));
    }
    void update(const std::vector<T>& values) override {
      if (values.empty()) {
        clear();
        return;
      }
      this->cleanup();
      std::vector<Element> list;
      list.reserve(values.size());
      for (const T& v : values) list.push_back(wrap(v));
      this->table.put(this->store.namespace_, std::move(list));
    }
    void clear() override { this->table.remove(this->store.namespace_); }
    Element wrap(const T& v) {
      if constexpr (kTtl) {
        return TtlValue<T>{v, this->now()};
      } else {
        return v;
      }
    }
    std::vector<T> scratch;
  };

  template <typename UK, typename UV, bool kTtl>
  struct MapImpl final : StateBase<std::map<UK, std::conditional_t<kTtl, TtlValue<UV>, UV>>, kTtl>,
                         MapState<UK, UV> {
    using Element = std::conditional_t<kTtl, TtlValue<UV>, UV>;
    using Map = std::map<UK, Element>;
    using Base = StateBase<Map, kTtl>;
    MapImpl(KeyedStateStore& s, const std::string& name, const std::optional<StateTtlConfig>& c)
        : Base(s, name, c) {
      if constexpr (kTtl) {
        StateTtlConfig ttl = this->ttl;
        this->setupTtl(
            [ttl](const Map& m, int64_t t) {
              return std::any_of(m.begin(), m.end(),
                                 [&](const auto& e) { return ttl.isExpired(e.second, t); });
            },
            [ttl](Map& m, int64_t t) {
              std::erase_if(m, [&](const auto& e) { return ttl.isExpired(e.second, t); });
              return !m.empty();
            });
      }
    }
    std::optional<UV> get(const UK& key) override {
      this->cleanup();
      const Map* m = this->table.peek(this->store.namespace_);
      if (m == nullptr) return std::nullopt;
      auto it = m->find(key);
      if (it == m->end()) return std::nullopt;
      if constexpr (kTtl) {
        int64_t t = this->now();
        bool expired = this->ttl.isExpired(it->second, t);
        if (!expired && !this->ttl.updateOnRead()) return it->second.value;
        std::optional<UV> out;
        if (!expired || this->ttl.returnExpired()) out = it->second.value;
        // Written: m may be stale once the table copied its chunk.
        Map* w = this->table.get(this->store.namespace_);
        auto wit = w->find(key);
        if (expired) {
          eraseEntry(*w, wit);
        } else {
          wit->second.lastAccessTimestamp = t;
        }
        return out;
      } else {
        return it->second;
      }
    }
    void put(const UK& key, const UV& value) override {
      this->cleanup();
      auto& m = this->table.getOrCreate(this->store.namespace_, [] { return Map{}; });
      if constexpr (kTtl) {
        m[key] = TtlValue<UV>{value, this->now()};
      } else {
        m[key] = value;
      }
    }
    bool contains(const UK& key) override {
      if constexpr (kTtl) {
        return get(key).has_value();
      } else {
        const Map* m = this->table.peek(this->store.namespace_);
        return m != nullptr && m->count(key) > 0;
      }
    }
    void remove(const UK& key) override {
      const Map* present = this->table.peek(this->store.namespace_);
      if (present == nullptr || present->count(key) == 0) return;  // nothing to write
      Map* m = this->table.get(this->store.namespace_);
      auto it = m->find(key);
      if (it != m->end()) eraseEntry(*m, it);
    }
    MapView<UK, UV> entries() override {
      if constexpr (kTtl) {
        this->cleanup();
        Map* m = this->table.get(this->store.namespace_);
        if (m == nullptr) return {};
        int64_t t = this->now();
        // Expired entries leave the state now (as Flink's TtlMapState); with
        // ReturnExpiredIfNotCleanedUp they are still returned this once, from a copy.
        const bool keepExpired = this->ttl.returnExpired();
        if (keepExpired) scratch.clear();
        for (auto it = m->begin(); it != m->end();) {
          bool expired = this->ttl.isExpired(it->second, t);
          if (!expired && this->ttl.updateOnRead()) it->second.lastAccessTimestamp = t;
          if (keepExpired) scratch.emplace(it->first, it->second.value);
          it = expired ? m->erase(it) : std::next(it);
        }
        if (m->empty()) this->table.remove(this->store.namespace_);
        if (keepExpired) return MapView<UK, UV>(scratch);
        const Map* live = this->table.peek(this->store.namespace_);
        if (live == nullptr) return {};
        return MapView<UK, UV>(std::make_unique<TtlCursor>(*live));
      } else {
        const Map* m = this->table.peek(this->store.namespace_);
        return m ? MapView<UK, UV>(*m) : MapView<UK, UV>();
      }
    }
    bool isEmpty() override {
      if constexpr (kTtl) {
        MapView<UK, UV> view = entries();
        return view.begin() == view.end();
      } else {
        return this->table.peek(this->store.namespace_) == nullptr;
      }
    }
    /// The live entries of a TTL map, read in place: the values without their timestamps.
    struct TtlCursor final : MapView<UK, UV>::Cursor {
      explicit TtlCursor(const Map& m) : it(m.begin()), end(m.end()) {}
      bool next() override {
        if (started) ++it;
        started = true;
        return it != end;
      }
      const UK& key() const override { return it->first; }
      const UV& value() const override { return it->second.value; }
      typename Map::const_iterator it;
      typename Map::const_iterator end;
      bool started = false;
    };
    void clear() override { this->table.remove(this->store.namespace_); }
    void eraseEntry(Map& m, typename Map::iterator it) {
      m.erase(it);
      if (m.empty()) this->table.remove(this->store.namespace_);
    }
    std::map<UK, UV> scratch;
  };

  // kAggregating tells a ReducingState from an AggregatingState of the same types, so that a
  // name reused across the two kinds is an error rather than a silent share.
  template <typename IN, typename ACC, typename OUT, bool kAggregating, bool kTtl>
  struct FoldImpl final : StateBase<std::conditional_t<kTtl, TtlValue<ACC>, ACC>, kTtl>,
                          AppendingState<IN, OUT> {
    using Stored = std::conditional_t<kTtl, TtlValue<ACC>, ACC>;
    using Base = StateBase<Stored, kTtl>;
    using Add = std::function<ACC(const IN&, std::optional<ACC>)>;
    using Result = std::function<OUT(const ACC&)>;
    FoldImpl(KeyedStateStore& s, const std::string& name, const std::optional<StateTtlConfig>& c,
             Add a, Result r)
        : Base(s, name, c), addFn(std::move(a)), resultFn(std::move(r)) {
      if constexpr (kTtl) {
        StateTtlConfig ttl = this->ttl;
        this->setupTtl([ttl](const Stored& v, int64_t t) { return ttl.isExpired(v, t); },
                       [ttl](Stored& v, int64_t t) { return !ttl.isExpired(v, t); });
      }
    }
    std::optional<OUT> get() override {
      const N& ns = this->store.namespace_;
      if constexpr (kTtl) {
        this->cleanup();
        const Stored* v = this->table.peek(ns);
        if (v == nullptr) return std::nullopt;
        int64_t t = this->now();
        if (this->ttl.isExpired(*v, t)) {
          std::optional<OUT> out;
          if (this->ttl.returnExpired()) out = resultFn(v->value);
          this->table.remove(ns);
          return out;
        }
        if (this->ttl.updateOnRead()) this->table.get(ns)->lastAccessTimestamp = t;
        return resultFn(this->table.peek(ns)->value);  // v may be stale once written
      } else {
        const ACC* acc = this->table.peek(ns);
        return acc ? std::optional<OUT>(resultFn(*acc)) : std::nullopt;
      }
    }
    void add(const IN& value) override {
      const N& ns = this->store.namespace_;
      if constexpr (kTtl) {
        this->cleanup();
        int64_t t = this->now();
        Stored* v = this->table.get(ns);
        // An expired accumulator is gone: the fold starts afresh (as Flink's TtlReducingState).
        if (v != nullptr && !this->ttl.isExpired(*v, t)) {
          v->value = addFn(value, std::move(v->value));
          v->lastAccessTimestamp = t;
        } else {
          this->table.put(ns, Stored{addFn(value, std::nullopt), t});
        }
      } else {
        ACC* acc = this->table.get(ns);
        if (acc) {
          *acc = addFn(value, std::move(*acc));
        } else {
          this->table.put(ns, addFn(value, std::nullopt));
        }
      }
    }
    void clear() override { this->table.remove(this->store.namespace_); }
    Add addFn;
    Result resultFn;
  };

  HeapKeyedStateBackend<K>& backend_;
  std::string prefix_;
  N namespace_{};
  std::map<std::string, std::unique_ptr<Erased>> states_;
};

}  // namespace sluice
