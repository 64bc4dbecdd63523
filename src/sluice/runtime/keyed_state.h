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
  void put(const N& ns, V value) { getOrCreate(ns, [] { return V{}; }) = std::move(value); }
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

/// A single value per key and namespace (Flink's ValueState), bound to a table and a namespace.
template <typename V>
class ValueState {
 public:
  virtual ~ValueState() = default;
  /// The value, or nullopt when none was set for the current key (and namespace).
  virtual std::optional<V> value() = 0;
  virtual void update(const V& value) = 0;
  virtual void clear() = 0;
};

/// Names and types a ValueState (Flink's ValueStateDescriptor).
template <typename V>
struct ValueStateDescriptor {
  explicit ValueStateDescriptor(std::string stateName) : name(std::move(stateName)) {}
  std::string name;
};

/// Creates keyed state by descriptor for one namespace (Flink's KeyedStateStore): the
/// per-window and global state of a ProcessWindowFunction's context. Task thread only.
template <typename K, typename N>
class KeyedStateStore {
 public:
  explicit KeyedStateStore(KeyContext<K>& context) : context_(context) {}

  /// The state named by `descriptor`, in the store's current namespace. Throws
  /// SluiceException when the name was used before with another value type.
  template <typename V>
  ValueState<V>& getState(const ValueStateDescriptor<V>& descriptor) {
    auto it = states_.find(descriptor.name);
    if (it == states_.end()) {
      it = states_.emplace(descriptor.name, std::make_unique<Bound<V>>(context_, this)).first;
    }
    auto* typed = dynamic_cast<Bound<V>*>(it->second.get());
    if (typed == nullptr) {
      throw SluiceException("state '" + descriptor.name + "' was created with another type");
    }
    return *typed;
  }
  void setNamespace(const N& ns) { namespace_ = ns; }
  /// Removes every state of the current key in the current namespace.
  void clearNamespace() {
    for (auto& [name, s] : states_) s->clearCurrent();
  }

 private:
  struct Erased {
    virtual ~Erased() = default;
    virtual void clearCurrent() = 0;
  };
  template <typename V>
  struct Bound final : Erased, ValueState<V> {
    Bound(KeyContext<K>& context, KeyedStateStore* store) : table(context), store(store) {}
    std::optional<V> value() override {
      V* v = table.get(store->namespace_);
      return v ? std::optional<V>(*v) : std::nullopt;
    }
    void update(const V& value) override { table.put(store->namespace_, value); }
    void clear() override { table.remove(store->namespace_); }
    void clearCurrent() override { clear(); }
    KeyedStateTable<K, N, V> table;
    KeyedStateStore* store;
  };

  KeyContext<K>& context_;
  N namespace_{};
  std::map<std::string, std::unique_ptr<Erased>> states_;
};

}  // namespace sluice
