#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/core/exceptions.h"
#include "sluice/core/key_groups.h"

namespace sluice {

/// Hash of a state key for in-memory tables: std::hash where it exists, else the key's
/// Java-compatible hashCode, mixed.
template <typename K>
struct StateKeyHash {
  size_t operator()(const K& key) const {
    if constexpr (requires { std::hash<K>{}(key); }) {
      return std::hash<K>{}(key);
    } else {
      return static_cast<size_t>(static_cast<uint32_t>(murmurHash(KeyHash<K>::hashCode(key))));
    }
  }
};

/// The namespace of state that belongs to the key alone (Flink's VoidNamespace).
struct VoidNamespace {
  friend bool operator==(const VoidNamespace&, const VoidNamespace&) { return true; }
  friend bool operator<(const VoidNamespace&, const VoidNamespace&) { return false; }
  size_t hash() const { return 0; }
};

/// Hash of a namespace (windows, VoidNamespace): its hash() member, else std::hash.
template <typename N>
struct NamespaceHash {
  size_t operator()(const N& ns) const {
    if constexpr (requires { ns.hash(); }) {
      return ns.hash();
    } else {
      return std::hash<N>{}(ns);
    }
  }
};

/// The key a keyed operator is processing, and its key group (Flink's KeyContext plus the key
/// group bookkeeping of AbstractKeyedStateBackend). Shared by an operator's state tables and
/// timer service. Task thread only.
template <typename K>
class KeyContext {
 public:
  /// The key groups this subtask owns, out of `maxParallelism`.
  void init(KeyGroupRange range, int maxParallelism) {
    range_ = range;
    maxParallelism_ = maxParallelism;
  }
  /// Makes `key` current. Throws SluiceException when the key's group is not this subtask's
  /// (a partitioning bug, or state used outside a keyed stream).
  void setCurrentKey(const K& key) {
    int kg = KeyGroupRangeAssignment::assignToKeyGroup(key, maxParallelism_);
    if (!range_.contains(kg)) {
      throw SluiceException("key group " + std::to_string(kg) + " of the current key is not in " +
                            range_.toString() +
                            ": keyed state used on a stream not keyed this way");
    }
    key_ = key;
    keyGroupIndex_ = kg - range_.startKeyGroup;
    hasKey_ = true;
  }
  const K& currentKey() const {
    if (!hasKey_) throw SluiceException("no current key: keyed state used outside a keyed context");
    return key_;
  }
  int currentKeyGroupIndex() const { return keyGroupIndex_; }
  int numberOfKeyGroups() const { return range_.numberOfKeyGroups(); }
  const KeyGroupRange& keyGroupRange() const { return range_; }

 private:
  KeyGroupRange range_{0, -1};
  int maxParallelism_ = 128;
  K key_{};
  int keyGroupIndex_ = 0;
  bool hasKey_ = false;
};

/// Gives `context` the key groups of the subtask described by `runtimeContext`.
template <typename K, typename RuntimeContextT>
void initKeyContext(const RuntimeContextT& runtimeContext, KeyContext<K>& context) {
  const auto& info = runtimeContext.getTaskInfo();
  context.init(
      KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
          info.maxNumberOfParallelSubtasks, info.numberOfParallelSubtasks, info.indexOfSubtask),
      info.maxNumberOfParallelSubtasks);
}

/// Values per (current key, namespace), stored per key group so that they can be snapshotted
/// and redistributed by key group (Flink's StateTable of the heap backend). A key's namespaces
/// (e.g. its open windows) sit in a small vector, found by a scan while there are few and
/// through a hash index once there are more than kIndexThreshold, so lookups hash the key once,
/// never copy it, and stay O(1) for keys with many open windows. Task thread only.
template <typename K, typename N, typename V>
class KeyedStateTable {
 public:
  static constexpr size_t kIndexThreshold = 8;

  explicit KeyedStateTable(KeyContext<K>& context) : context_(context) {}

  /// The value of (current key, ns), or null.
  V* get(const N& ns) {
    auto& table = groupTable();
    auto it = table.find(context_.currentKey());
    if (it == table.end()) return nullptr;
    size_t i = it->second.find(ns);
    return i == kNone ? nullptr : &it->second.items[i].second;
  }
  /// The value of (current key, ns), created by `init()` when absent.
  template <typename Init>
  V& getOrCreate(const N& ns, Init&& init) {
    Entries& entries = groupTable()[context_.currentKey()];
    size_t i = entries.find(ns);
    if (i != kNone) return entries.items[i].second;
    return entries.add(ns, init());
  }
  void put(const N& ns, V value) {
    getOrCreate(ns, [] { return V{}; }) = std::move(value);
  }
  /// Removes (current key, ns); returns the value it had.
  std::optional<V> remove(const N& ns) {
    auto& table = groupTable();
    auto it = table.find(context_.currentKey());
    if (it == table.end()) return std::nullopt;
    Entries& entries = it->second;
    size_t i = entries.find(ns);
    if (i == kNone) return std::nullopt;
    std::optional<V> out(entries.removeAt(i));
    if (entries.items.empty()) table.erase(it);
    return out;
  }
  /// Calls `fn(namespace)` for every namespace of the current key.
  template <typename Fn>
  void forEachNamespace(Fn&& fn) {
    auto& table = groupTable();
    auto it = table.find(context_.currentKey());
    if (it == table.end()) return;
    for (const auto& [n, v] : it->second.items) fn(n);
  }
  /// Entries over all keys and namespaces.
  size_t size() const {
    size_t n = 0;
    for (const auto& t : tables_) {
      for (const auto& [k, e] : t) n += e.items.size();
    }
    return n;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  struct Entries {
    std::vector<std::pair<N, V>> items;
    std::unique_ptr<std::unordered_map<N, size_t, NamespaceHash<N>>> index;

    size_t find(const N& ns) const {
      if (index) {
        auto it = index->find(ns);
        return it == index->end() ? kNone : it->second;
      }
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].first == ns) return i;
      }
      return kNone;
    }
    V& add(const N& ns, V value) {
      items.emplace_back(ns, std::move(value));
      if (index) {
        index->emplace(ns, items.size() - 1);
      } else if (items.size() > kIndexThreshold) {
        index = std::make_unique<std::unordered_map<N, size_t, NamespaceHash<N>>>();
        for (size_t i = 0; i < items.size(); ++i) index->emplace(items[i].first, i);
      }
      return items.back().second;
    }
    V removeAt(size_t i) {
      V out = std::move(items[i].second);
      if (index) index->erase(items[i].first);
      if (i + 1 != items.size()) {
        items[i] = std::move(items.back());
        if (index) (*index)[items[i].first] = i;
      }
      items.pop_back();
      return out;
    }
  };
  using Table = std::unordered_map<K, Entries, StateKeyHash<K>>;

  Table& groupTable() {
    if (tables_.empty()) tables_.resize(static_cast<size_t>(context_.numberOfKeyGroups()));
    return tables_[static_cast<size_t>(context_.currentKeyGroupIndex())];
  }
  KeyContext<K>& context_;
  std::vector<Table> tables_;
};

/// A single value per key and namespace (Flink's ValueState).
template <typename V>
class ValueState {
 public:
  virtual ~ValueState() = default;
  /// The value, or nullopt when none was set for the current key (and namespace).
  virtual std::optional<V> value() = 0;
  virtual void update(const V& value) = 0;
  virtual void clear() = 0;
};

/// A list per key and namespace (Flink's ListState).
template <typename T>
class ListState {
 public:
  virtual ~ListState() = default;
  /// The elements in insertion order (empty when none).
  virtual const std::vector<T>& get() = 0;
  virtual void add(const T& value) = 0;
  virtual void addAll(const std::vector<T>& values) = 0;
  /// Replaces the list.
  virtual void update(const std::vector<T>& values) = 0;
  virtual void clear() = 0;
};

/// A map per key and namespace (Flink's MapState).
template <typename UK, typename UV>
class MapState {
 public:
  virtual ~MapState() = default;
  virtual std::optional<UV> get(const UK& key) = 0;
  virtual void put(const UK& key, const UV& value) = 0;
  virtual bool contains(const UK& key) = 0;
  virtual void remove(const UK& key) = 0;
  /// All entries, ordered by key.
  virtual const std::map<UK, UV>& entries() = 0;
  virtual bool isEmpty() = 0;
  virtual void clear() = 0;
};

/// A value folded from everything added (Flink's ReducingState and AggregatingState: IN added,
/// OUT read).
template <typename IN, typename OUT>
class AppendingState {
 public:
  virtual ~AppendingState() = default;
  /// The folded value, or nullopt when nothing was added.
  virtual std::optional<OUT> get() = 0;
  virtual void add(const IN& value) = 0;
  virtual void clear() = 0;
};
template <typename T>
using ReducingState = AppendingState<T, T>;
template <typename IN, typename OUT>
using AggregatingState = AppendingState<IN, OUT>;

/// Names and types a ValueState (Flink's ValueStateDescriptor).
template <typename V>
struct ValueStateDescriptor {
  explicit ValueStateDescriptor(std::string stateName) : name(std::move(stateName)) {}
  std::string name;
};
/// Names and types a ListState.
template <typename T>
struct ListStateDescriptor {
  explicit ListStateDescriptor(std::string stateName) : name(std::move(stateName)) {}
  std::string name;
};
/// Names and types a MapState.
template <typename UK, typename UV>
struct MapStateDescriptor {
  explicit MapStateDescriptor(std::string stateName) : name(std::move(stateName)) {}
  std::string name;
};
/// A ReducingState with its reduce function (T, T) -> T.
template <typename T>
struct ReducingStateDescriptor {
  ReducingStateDescriptor(std::string stateName, std::function<T(const T&, const T&)> reduce)
      : name(std::move(stateName)), reduceFunction(std::move(reduce)) {}
  std::string name;
  std::function<T(const T&, const T&)> reduceFunction;
};
/// An AggregatingState with its aggregate function (an object with createAccumulator, add,
/// getResult, as Flink's AggregateFunction).
template <typename IN, typename ACC, typename OUT>
struct AggregatingStateDescriptor {
  std::string name;
  std::function<ACC()> createAccumulator;
  std::function<ACC(const IN&, ACC)> add;
  std::function<OUT(const ACC&)> getResult;
  template <typename F>
  AggregatingStateDescriptor(std::string stateName, F fn)
      : name(std::move(stateName)),
        createAccumulator([fn]() mutable { return fn.createAccumulator(); }),
        add([fn](const IN& v, ACC acc) mutable { return fn.add(v, std::move(acc)); }),
        getResult([fn](const ACC& acc) mutable { return fn.getResult(acc); }) {}
};

/// Creates keyed state by descriptor for one namespace (Flink's KeyedStateStore): the state of
/// keyed process functions, and the per-window and global state of a ProcessWindowFunction.
/// Every state lives in a KeyedStateTable per key group, scoped to the current key. Task thread
/// only.
template <typename K, typename N>
class KeyedStateStore {
 public:
  explicit KeyedStateStore(KeyContext<K>& context) : context_(context) {}

  /// The state named by `descriptor`, in the store's current namespace. Throws
  /// SluiceException when the name was used before with another kind or type of state.
  template <typename V>
  ValueState<V>& getState(const ValueStateDescriptor<V>& d) {
    return getOrCreate<ValueImpl<V>>(d.name, [&] { return std::make_unique<ValueImpl<V>>(*this); });
  }
  template <typename T>
  ListState<T>& getListState(const ListStateDescriptor<T>& d) {
    return getOrCreate<ListImpl<T>>(d.name, [&] { return std::make_unique<ListImpl<T>>(*this); });
  }
  template <typename UK, typename UV>
  MapState<UK, UV>& getMapState(const MapStateDescriptor<UK, UV>& d) {
    return getOrCreate<MapImpl<UK, UV>>(d.name,
                                        [&] { return std::make_unique<MapImpl<UK, UV>>(*this); });
  }
  template <typename T>
  ReducingState<T>& getReducingState(const ReducingStateDescriptor<T>& d) {
    return getOrCreate<FoldImpl<T, T, T, false>>(d.name, [&] {
      auto reduce = d.reduceFunction;
      return std::make_unique<FoldImpl<T, T, T, false>>(
          *this, [reduce](const T& v, std::optional<T> acc) { return acc ? reduce(*acc, v) : v; },
          [](const T& acc) { return acc; });
    });
  }
  template <typename IN, typename ACC, typename OUT>
  AggregatingState<IN, OUT>& getAggregatingState(
      const AggregatingStateDescriptor<IN, ACC, OUT>& d) {
    return getOrCreate<FoldImpl<IN, ACC, OUT, true>>(d.name, [&] {
      auto create = d.createAccumulator;
      auto add = d.add;
      return std::make_unique<FoldImpl<IN, ACC, OUT, true>>(
          *this,
          [create, add](const IN& v, std::optional<ACC> acc) {
            return add(v, acc ? std::move(*acc) : create());
          },
          d.getResult);
    });
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
  };

  template <typename S, typename Make>
  S& getOrCreate(const std::string& name, Make&& make) {
    auto it = states_.find(name);
    if (it == states_.end()) it = states_.emplace(name, make()).first;
    auto* typed = dynamic_cast<S*>(it->second.get());
    if (typed == nullptr) {
      throw SluiceException("state '" + name + "' was created before as another kind or type");
    }
    return *typed;
  }

  template <typename V>
  struct ValueImpl final : Erased, ValueState<V> {
    explicit ValueImpl(KeyedStateStore& s) : table(s.context_), store(s) {}
    std::optional<V> value() override {
      V* v = table.get(store.namespace_);
      return v ? std::optional<V>(*v) : std::nullopt;
    }
    void update(const V& value) override { table.put(store.namespace_, value); }
    void clear() override { table.remove(store.namespace_); }
    void clearCurrent() override { clear(); }
    KeyedStateTable<K, N, V> table;
    KeyedStateStore& store;
  };

  template <typename T>
  struct ListImpl final : Erased, ListState<T> {
    explicit ListImpl(KeyedStateStore& s) : table(s.context_), store(s) {}
    const std::vector<T>& get() override {
      static const std::vector<T> kEmpty;
      std::vector<T>* v = table.get(store.namespace_);
      return v ? *v : kEmpty;
    }
    void add(const T& value) override {
      table.getOrCreate(store.namespace_, [] { return std::vector<T>{}; }).push_back(value);
    }
    void addAll(const std::vector<T>& values) override {
      if (values.empty()) return;
      auto& list = table.getOrCreate(store.namespace_, [] { return std::vector<T>{}; });
      list.insert(list.end(), values.begin(), values.end());
    }
    void update(const std::vector<T>& values) override {
      if (values.empty()) {
        clear();
      } else {
        table.put(store.namespace_, values);
      }
    }
    void clear() override { table.remove(store.namespace_); }
    void clearCurrent() override { clear(); }
    KeyedStateTable<K, N, std::vector<T>> table;
    KeyedStateStore& store;
  };

  template <typename UK, typename UV>
  struct MapImpl final : Erased, MapState<UK, UV> {
    explicit MapImpl(KeyedStateStore& s) : table(s.context_), store(s) {}
    std::optional<UV> get(const UK& key) override {
      auto* m = table.get(store.namespace_);
      if (m == nullptr) return std::nullopt;
      auto it = m->find(key);
      return it == m->end() ? std::nullopt : std::optional<UV>(it->second);
    }
    void put(const UK& key, const UV& value) override {
      table.getOrCreate(store.namespace_, [] { return std::map<UK, UV>{}; })[key] = value;
    }
    bool contains(const UK& key) override {
      auto* m = table.get(store.namespace_);
      return m != nullptr && m->count(key) > 0;
    }
    void remove(const UK& key) override {
      auto* m = table.get(store.namespace_);
      if (m == nullptr) return;
      m->erase(key);
      if (m->empty()) table.remove(store.namespace_);
    }
    const std::map<UK, UV>& entries() override {
      static const std::map<UK, UV> kEmpty;
      auto* m = table.get(store.namespace_);
      return m ? *m : kEmpty;
    }
    bool isEmpty() override { return table.get(store.namespace_) == nullptr; }
    void clear() override { table.remove(store.namespace_); }
    void clearCurrent() override { clear(); }
    KeyedStateTable<K, N, std::map<UK, UV>> table;
    KeyedStateStore& store;
  };

  // kAggregating tells a ReducingState from an AggregatingState of the same types, so that a
  // name reused across the two kinds is an error rather than a silent share.
  template <typename IN, typename ACC, typename OUT, bool kAggregating>
  struct FoldImpl final : Erased, AppendingState<IN, OUT> {
    using Add = std::function<ACC(const IN&, std::optional<ACC>)>;
    using Result = std::function<OUT(const ACC&)>;
    FoldImpl(KeyedStateStore& s, Add a, Result r)
        : table(s.context_), store(s), addFn(std::move(a)), resultFn(std::move(r)) {}
    std::optional<OUT> get() override {
      ACC* acc = table.get(store.namespace_);
      return acc ? std::optional<OUT>(resultFn(*acc)) : std::nullopt;
    }
    void add(const IN& value) override {
      ACC* acc = table.get(store.namespace_);
      if (acc) {
        *acc = addFn(value, std::move(*acc));
      } else {
        table.put(store.namespace_, addFn(value, std::nullopt));
      }
    }
    void clear() override { table.remove(store.namespace_); }
    void clearCurrent() override { clear(); }
    KeyedStateTable<K, N, ACC> table;
    KeyedStateStore& store;
    Add addFn;
    Result resultFn;
  };

  KeyContext<K>& context_;
  N namespace_{};
  std::map<std::string, std::unique_ptr<Erased>> states_;
};

}  // namespace sluice
