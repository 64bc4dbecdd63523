#pragma once

// Keyed state (Flink's keyed state and HashMapStateBackend).
//
// - State interfaces (ValueState, ListState, MapState, ReducingState, AggregatingState) and
//   their descriptors, with optional time-to-live (StateTtlConfig, state_ttl.h).
// - HashMapStateBackend<K>: the current key and its key group, and the registry of every keyed
//   state and timer service of one operator subtask, which it snapshots and restores per key
//   group (KeyedStateBackendBase: the untyped view checkpoints use).
// - KeyedStateTable<K, N, V>: the values of one state per (key, namespace), per key group, in
//   flat open-addressing tables (flat_hash_map.h).
// - KeyedStateStore<K, N>: creates states from descriptors (the runtime context's getState...).
//
// Everything here is used on the task thread only, except AsyncKeyedSnapshot and the views it
// holds (KeyGroupedStateSnapshot, FlatHashMap::Frozen), which are serialized on another thread.

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

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/key_groups.h"
#include "sluice/core/type_serializer.h"
#include "sluice/runtime/flat_hash_map.h"
#include "sluice/runtime/state_ttl.h"

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

/// The keyed state of a set of key groups, serialized: key group → bytes (the format of
/// KeyedStateBackendBase::snapshotKeyGroup). What a checkpoint stores for one operator subtask;
/// restoring a subtask from the snapshots of every old subtask is how keyed state rescales.
struct KeyedStateSnapshot {
  int maxParallelism = 0;
  std::map<int, std::vector<uint8_t>> keyGroups;
};

/// A consistent view of one registered state (or timer service) at the time of
/// KeyGroupedState::snapshotState(), serializable per key group later, on any thread, while the
/// state goes on being read and written on the task thread (its tables are copy-on-write, see
/// FlatHashMap::Frozen). Owns everything it reads: it may outlive the state and its backend.
class KeyGroupedStateSnapshot {
 public:
  virtual ~KeyGroupedStateSnapshot() = default;
  /// Writes the entries of key group `index` (0-based within the backend's range) as they were
  /// when the view was taken, in the state's snapshot format. Any thread; const, so several
  /// threads may write key groups of one view at once.
  virtual void writeKeyGroup(int index, DataOutputView& out) const = 0;
};

/// One registered state (or timer service) as snapshots see it: its name and its entries of one
/// key group, serialized. Implemented by KeyedStateTable and InternalTimerService.
class KeyGroupedState {
 public:
  explicit KeyGroupedState(std::string name) : name_(std::move(name)) {}
  virtual ~KeyGroupedState() = default;
  const std::string& stateName() const { return name_; }
  /// Takes a consistent view of every key group of the state (task thread; cheap: no entry is
  /// copied or serialized). Throws SluiceException when the state's key, namespace or value
  /// type has no TypeSerializer or cannot be copied.
  virtual std::unique_ptr<KeyGroupedStateSnapshot> snapshotState() = 0;
  /// Writes the entries of key group `index` (0-based within the backend's range) now.
  void snapshotKeyGroup(int index, DataOutputView& out) {
    snapshotState()->writeKeyGroup(index, out);
  }
  /// Adds the entries written by snapshotKeyGroup to key group `index`. Throws
  /// SerializationException on corrupt input.
  virtual void restoreKeyGroup(int index, DataInputView& in) = 0;

 private:
  std::string name_;
};

/// Restored bytes of states not registered (yet): name → key-group index → bytes, shared
/// (immutable) so that asynchronous snapshots carry them without a copy.
using PendingKeyedState =
    std::map<std::string, std::map<int, std::shared_ptr<const std::vector<uint8_t>>>>;

/// The keyed state of one backend frozen at KeyedStateBackendBase::snapshotAsync(), to be
/// serialized later on another thread (Flink's heap SnapshotStrategy: a synchronous part that
/// takes copy-on-write views of the state tables, and an asynchronous part that writes them).
///
/// Contract:
/// - Created on the task thread by snapshotAsync(); move-only.
/// - materialize() / writeKeyGroup() run on any thread, concurrently with the task thread
///   reading and writing the backend's state, and produce exactly the bytes snapshot() would
///   have produced at the time of snapshotAsync(). They are const and touch no backend
///   member, so several threads may call them at once and they may be called again.
/// - Self-contained: it shares (reference-counted) the chunks of the state tables and the
///   restored-but-unregistered bytes, and holds copies of what else it needs (state names, TTL
///   configuration and the TTL time of the snapshot). The backend, its states and the operator
///   may be destroyed before it; the last of them to go frees the shared chunks.
/// - Destroying it (after materialize(), or unmaterialized when the checkpoint is aborted)
///   releases the retained old chunk versions, on the destroying thread. Any number may exist
///   at once (concurrent checkpoints); each costs memory only for the chunks written since it
///   was taken.
/// - The task thread never waits for it: no lock is shared; a write into a chunk a snapshot
///   still shares copies that chunk (at most FlatHashMap::kChunkBytes of slots plus what the
///   values own) instead.
class AsyncKeyedSnapshot {
 public:
  AsyncKeyedSnapshot() = default;
  AsyncKeyedSnapshot(AsyncKeyedSnapshot&&) noexcept = default;
  AsyncKeyedSnapshot& operator=(AsyncKeyedSnapshot&&) noexcept = default;
  AsyncKeyedSnapshot(const AsyncKeyedSnapshot&) = delete;
  AsyncKeyedSnapshot& operator=(const AsyncKeyedSnapshot&) = delete;
  ~AsyncKeyedSnapshot();

  int64_t checkpointId() const { return checkpointId_; }
  const KeyGroupRange& keyGroupRange() const { return range_; }
  int maxParallelism() const { return maxParallelism_; }

  /// Serializes every key group of the backend's range (empty ones included). Any thread.
  /// Throws what the state serializers throw.
  KeyedStateSnapshot materialize() const;
  /// Writes one key group (absolute index, in keyGroupRange()) in the format of
  /// KeyedStateBackendBase::snapshotKeyGroup. Any thread. Throws SluiceException for a key
  /// group outside the range.
  void writeKeyGroup(int keyGroup, DataOutputView& out) const;

 private:
  friend class KeyedStateBackendBase;
  int64_t checkpointId_ = 0;
  KeyGroupRange range_{0, -1};
  int maxParallelism_ = 0;
  // Registered states in name order.
  std::vector<std::pair<std::string, std::unique_ptr<KeyGroupedStateSnapshot>>> states_;
  PendingKeyedState pending_;
};

/// The untyped part of a keyed state backend (Flink's AbstractKeyedStateBackend): the key-group
/// range, the registry of states, snapshot and restore per key group, the TTL time provider.
///
/// Snapshot format of one key group (version 1): varint number of states, then per state (in
/// name order) its name (string), a varint byte length and that many bytes of the state's own
/// format. Snapshots are copy-on-write: snapshotAsync() on the task thread, materialize() of
/// the AsyncKeyedSnapshot on any thread. State restored before its state is registered (states are
/// created lazily in open()) is kept as bytes and handed over on registration; state that is never
/// registered again is carried into later snapshots unchanged (as Flink keeps restored state it has
/// no descriptor for). Task thread only.
class KeyedStateBackendBase {
 public:
  KeyedStateBackendBase() = default;
  KeyedStateBackendBase(const KeyedStateBackendBase&) = delete;
  KeyedStateBackendBase& operator=(const KeyedStateBackendBase&) = delete;
  virtual ~KeyedStateBackendBase() = default;

  /// The key groups this subtask owns, out of `maxParallelism`. Call before restoring.
  void init(KeyGroupRange range, int maxParallelism);
  const KeyGroupRange& keyGroupRange() const { return range_; }
  int maxParallelism() const { return maxParallelism_; }
  int numberOfKeyGroups() const { return range_.numberOfKeyGroups(); }

  /// Writes every state of key group `keyGroup` (absolute index, in this backend's range).
  /// Throws SluiceException for a key group outside the range, or a state whose key, namespace
  /// or value type has no TypeSerializer.
  void snapshotKeyGroup(int keyGroup, DataOutputView& out);
  /// Adds the state of key group `keyGroup` (absolute, in this backend's range) from bytes
  /// written by snapshotKeyGroup. Throws SluiceException / SerializationException when the
  /// key group is not ours or the bytes are corrupt.
  void restoreKeyGroup(int keyGroup, DataInputView& in);
  /// Snapshot of every key group of this backend (empty key groups included), written now:
  /// snapshotAsync(0).materialize().
  KeyedStateSnapshot snapshot();
  /// The synchronous part of an asynchronous snapshot (Flink's HeapSnapshotStrategy /
  /// CopyOnWriteStateTable.stateSnapshot): takes copy-on-write views of every registered state
  /// and timer service and shares the restored-but-unregistered bytes; nothing is copied or
  /// serialized. Cost: O(states × key groups + table chunks) (one atomic increment per chunk of
  /// FlatHashMap::kChunkBytes), e.g. well under a millisecond per GB of state. Task thread only.
  /// Serialize the result with AsyncKeyedSnapshot::materialize() on any thread (see its
  /// contract). `checkpointId` is only carried along. Throws SluiceException when a state
  /// cannot be snapshotted (its types have no TypeSerializer or cannot be copied).
  AsyncKeyedSnapshot snapshotAsync(int64_t checkpointId);
  /// Restores the key groups of `snapshot` that fall in this backend's range and ignores the
  /// others, so a rescaled subtask restores from all old subtasks' snapshots. Throws
  /// SluiceException when the max parallelism differs (key groups would not line up).
  void restore(const KeyedStateSnapshot& snapshot);

  /// Registers a state (tables and timer services register themselves on construction).
  /// Throws SluiceException when the name is taken.
  void registerState(KeyGroupedState& state);
  void unregisterState(KeyGroupedState& state);
  /// Names of the registered states, sorted.
  std::vector<std::string> stateNames() const;

  /// Time for TTL, ms: the task's processing time once the operator set it (as Flink's
  /// TtlTimeProvider), else the wall clock.
  int64_t ttlTime() const;
  void setTtlTimeProvider(std::function<int64_t()> now) { ttlTime_ = std::move(now); }

  /// Calls `listener` whenever a key is made current (Flink's KeySelectionListener; TTL cleanup
  /// on every record uses it).
  void addKeySelectionListener(std::function<void()> listener) {
    keySelectionListeners_.push_back(std::move(listener));
  }

 protected:
  void checkKeyGroup(int keyGroup) const;
  void keySelected() {
    for (auto& l : keySelectionListeners_) l();
  }

  KeyGroupRange range_{0, -1};
  int maxParallelism_ = 128;

 private:
  std::map<std::string, KeyGroupedState*> states_;
  // Restored bytes of states not registered yet.
  PendingKeyedState pending_;
  std::function<int64_t()> ttlTime_;
  std::vector<std::function<void()>> keySelectionListeners_;
};

/// The heap keyed state backend of one operator subtask (Flink's HashMapStateBackend /
/// HeapKeyedStateBackend, and its KeyContext): the key being processed and its key group, and
/// every keyed state and timer of the operator, partitioned by key group. Task thread only.
template <typename K>
class HashMapStateBackend final : public KeyedStateBackendBase {
 public:
  using KeyType = K;
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
    keySelected();
  }
  /// Throws SluiceException when no key is current (keyed state used outside a keyed context).
  const K& currentKey() const {
    if (!hasKey_) throw SluiceException("no current key: keyed state used outside a keyed context");
    return key_;
  }
  int currentKeyGroupIndex() const { return keyGroupIndex_; }

 private:
  K key_{};
  int keyGroupIndex_ = 0;
  bool hasKey_ = false;
};

/// Gives `backend` the key groups of the subtask `op` runs as and the task's processing time as
/// its TTL time, and restores the operator's restored keyed state (StreamOperatorContext::
/// restoredKeyedState) into it. Call from the operator's initializeState().
template <typename Op, typename K>
void initKeyedStateBackend(const Op& op, HashMapStateBackend<K>& backend) {
  const auto& info = op.getRuntimeContext().getTaskInfo();
  backend.init(
      KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
          info.maxNumberOfParallelSubtasks, info.numberOfParallelSubtasks, info.indexOfSubtask),
      info.maxNumberOfParallelSubtasks);
  if (auto* time = op.context().processingTimeService) {
    backend.setTtlTimeProvider([time] { return time->currentProcessingTime(); });
  }
  if (const auto* restored = op.context().restoredKeyedState) {
    for (const KeyedStateSnapshot& snapshot : *restored) backend.restore(snapshot);
  }
}

namespace detail {
[[noreturn]] void throwNotSerializable(const std::string& stateName);
}  // namespace detail

/// Values of one state per (current key, namespace), stored per key group so that they can be
/// snapshotted and redistributed by key group (Flink's StateTable of the heap backend).
///
/// Layout: one FlatHashMap per key group from key to its entry, no heap node per key. State
/// without a namespace (VoidNamespace: process functions) stores the value inline in the slot;
/// otherwise a key's namespaces (e.g. its open windows) sit in a small vector, found by a scan
/// while there are few and through a hash index once there are more than kIndexThreshold.
///
/// Registers itself with the backend under `name` (unique per operator) for snapshots. Snapshot
/// format of a key group: varint key count, then per key the key and, without namespace, the
/// value; with namespaces, a varint count and (namespace, value) pairs. Task thread only.
template <typename K, typename N, typename V>
class KeyedStateTable final : public KeyGroupedState {
 public:
  static constexpr size_t kIndexThreshold = 8;
  static constexpr bool kSingleNamespace = std::is_same_v<N, VoidNamespace>;
  /// TTL cleanup of one stored value at a time `now` (ms), run on values before they are
  /// written into a snapshot and when incremental cleanup visits them. Both functions must
  /// capture nothing of the state (snapshots call them on another thread, maybe after the state
  /// is gone): copy the TTL configuration in.
  struct EntryCleanup {
    /// True when something of the value has expired (the value, a list element, a map entry).
    std::function<bool(const V&, int64_t)> expired;
    /// Drops what expired; false when nothing is left (the entry is removed).
    std::function<bool(V&, int64_t)> clean;
    explicit operator bool() const { return static_cast<bool>(clean); }
  };

  KeyedStateTable(HashMapStateBackend<K>& backend, std::string name)
      : KeyGroupedState(std::move(name)), backend_(backend) {
    backend_.registerState(*this);
  }
  ~KeyedStateTable() override { backend_.unregisterState(*this); }
  KeyedStateTable(const KeyedStateTable&) = delete;
  KeyedStateTable& operator=(const KeyedStateTable&) = delete;

  /// The value of (current key, ns) for reading and writing, or null. Under a running
  /// snapshot this may copy the key's table chunk: use peek() to only read.
  V* get(const N& ns) {
    Slot* slot = groupTable().find(backend_.currentKey());
    if (slot == nullptr) return nullptr;
    if constexpr (kSingleNamespace) {
      (void)ns;
      return slot;
    } else {
      size_t i = slot->find(ns);
      return i == kNone ? nullptr : &slot->items[i].second;
    }
  }
  /// The value of (current key, ns) for reading only, or null. Valid until the next write.
  const V* peek(const N& ns) {
    const Slot* slot = std::as_const(groupTable()).find(backend_.currentKey());
    if (slot == nullptr) return nullptr;
    if constexpr (kSingleNamespace) {
      (void)ns;
      return slot;
    } else {
      size_t i = slot->find(ns);
      return i == kNone ? nullptr : &slot->items[i].second;
    }
  }
  /// The value of (current key, ns), created by `init()` when absent.
  template <typename Init>
  V& getOrCreate(const N& ns, Init&& init) {
    if constexpr (kSingleNamespace) {
      (void)ns;
      return *groupTable().tryEmplace(backend_.currentKey(), std::forward<Init>(init)).first;
    } else {
      Entries& entries = groupTable()[backend_.currentKey()];
      size_t i = entries.find(ns);
      if (i != kNone) return entries.items[i].second;
      return entries.add(ns, init());
    }
  }
  void put(const N& ns, V value) {
    auto [v, inserted] = groupTable().tryEmplace(backend_.currentKey(), [&]() -> Slot {
      if constexpr (kSingleNamespace) {
        return std::move(value);
      } else {
        return Entries{};
      }
    });
    if constexpr (kSingleNamespace) {
      (void)ns;
      if (!inserted) *v = std::move(value);
    } else {
      size_t i = v->find(ns);
      if (i != kNone) {
        v->items[i].second = std::move(value);
      } else {
        v->add(ns, std::move(value));
      }
    }
  }
  /// Removes (current key, ns); returns the value it had.
  std::optional<V> remove(const N& ns) {
    auto& table = groupTable();
    const K& key = backend_.currentKey();
    Slot* slot = table.find(key);
    if (slot == nullptr) return std::nullopt;
    if constexpr (kSingleNamespace) {
      (void)ns;
      std::optional<V> out(std::move(*slot));
      table.erase(key);
      return out;
    } else {
      size_t i = slot->find(ns);
      if (i == kNone) return std::nullopt;
      std::optional<V> out(slot->removeAt(i));
      if (slot->items.empty()) table.erase(key);
      return out;
    }
  }
  /// Calls `fn(namespace)` for every namespace of the current key.
  template <typename Fn>
  void forEachNamespace(Fn&& fn) {
    const Slot* slot = std::as_const(groupTable()).find(backend_.currentKey());
    if (slot == nullptr) return;
    if constexpr (kSingleNamespace) {
      fn(VoidNamespace{});
    } else {
      for (const auto& [n, v] : slot->items) fn(n);
    }
  }
  /// The keys with a value in namespace `ns`, over all key groups (Flink's getKeys).
  std::vector<K> keys(const N& ns) {
    std::vector<K> out;
    for (auto& t : tables_) {
      t.forEach([&](const K& key, const Slot& slot) {
        if constexpr (kSingleNamespace) {
          (void)ns;
          (void)slot;
          out.push_back(key);
        } else {
          if (slot.find(ns) != kNone) out.push_back(key);
        }
      });
    }
    return out;
  }
  /// Entries over all keys and namespaces.
  size_t size() const {
    size_t n = 0;
    for (const auto& t : tables_) {
      if constexpr (kSingleNamespace) {
        n += t.size();
      } else {
        t.forEach([&](const K&, const Entries& e) { n += e.items.size(); });
      }
    }
    return n;
  }
  /// Bytes of the flat tables (slots and control bytes; not what values point to).
  size_t allocatedBytes() const {
    size_t n = tables_.capacity() * sizeof(Table);
    for (const auto& t : tables_) n += t.allocatedBytes();
    return n;
  }

  /// Sets the cleanup run on entries before snapshots (TTL cleanup on full snapshot): expired
  /// values are left out of snapshots (the table itself keeps them until read or cleaned up
  /// incrementally).
  void setSnapshotCleanup(EntryCleanup cleanup) { snapshotCleanup_ = std::move(cleanup); }
  /// Visits up to `entries` keys after the last one visited, wrapping around all key groups,
  /// and removes what `cleanup` finds expired at time `now()` (ms, asked at most once)
  /// (Flink's incremental TTL cleanup of the heap backend). Values with nothing expired are
  /// only read (no copy-on-write).
  template <typename Now>
  void cleanupIncrementally(size_t entries, const EntryCleanup& cleanup, Now&& now) {
    if (tables_.empty()) return;
    // Stops after `entries` occupied slots, or once every slot of every key group was seen.
    size_t visited = 0;
    size_t slotsLeft = tables_.size();
    for (const auto& t : tables_) slotsLeft += t.capacity();
    std::optional<int64_t> time;
    while (visited < entries && slotsLeft-- > 0) {
      Table& t = tables_[cursorGroup_];
      if (cursorSlot_ >= t.capacity()) {
        cursorSlot_ = 0;
        cursorGroup_ = (cursorGroup_ + 1) % tables_.size();
        continue;
      }
      size_t i = cursorSlot_++;
      if (!t.occupied(i)) continue;
      ++visited;
      if (!time) time = now();
      if (!anyExpired(std::as_const(t).slotAt(i).value, cleanup, *time)) continue;
      if (!cleanEntry(t.slotAt(i).value, cleanup, *time)) {
        t.eraseAt(i);
        cursorSlot_ = i;  // erasure may have moved a later entry into slot i
      }
    }
  }

  std::unique_ptr<KeyGroupedStateSnapshot> snapshotState() override {
    if constexpr (Serializable<K> && Serializable<N> && Serializable<V> && Table::kCanFreeze) {
      auto snap = std::make_unique<Snapshot>();
      snap->tables.reserve(tables_.size());
      for (Table& t : tables_) snap->tables.push_back(t.freeze());
      if (snapshotCleanup_) {
        snap->cleanup = snapshotCleanup_;
        snap->now = backend_.ttlTime();
      }
      return snap;
    } else if constexpr (!Table::kCanFreeze) {
      throw SluiceException("keyed state '" + stateName() +
                            "' cannot be snapshotted: its value type cannot be copied (snapshots "
                            "copy values written while they are serialized)");
    } else {
      detail::throwNotSerializable(stateName());
    }
  }
  void restoreKeyGroup(int index, DataInputView& in) override {
    if constexpr (Serializable<K> && Serializable<N> && Serializable<V>) {
      Table& t = table(index);
      uint64_t keys = in.readVarUint();
      K key{};
      for (uint64_t k = 0; k < keys; ++k) {
        TypeSerializer<K>::deserialize(key, in);
        if constexpr (kSingleNamespace) {
          V value{};
          TypeSerializer<V>::deserialize(value, in);
          auto [v, inserted] = t.tryEmplace(key, [] { return V{}; });
          *v = std::move(value);
          (void)inserted;
        } else {
          Entries& entries = t[key];
          uint64_t count = in.readVarUint();
          for (uint64_t j = 0; j < count; ++j) {
            N ns{};
            V value{};
            TypeSerializer<N>::deserialize(ns, in);
            TypeSerializer<V>::deserialize(value, in);
            size_t i = entries.find(ns);
            if (i != kNone) {
              entries.items[i].second = std::move(value);
            } else {
              entries.add(ns, std::move(value));
            }
          }
          if (entries.items.empty()) t.erase(key);
        }
      }
    } else {
      (void)index;
      (void)in;
      detail::throwNotSerializable(stateName());
    }
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  struct Entries {
    std::vector<std::pair<N, V>> items;
    std::unique_ptr<std::unordered_map<N, size_t, NamespaceHash<N>>> index;

    Entries() = default;
    Entries(Entries&&) noexcept = default;
    Entries& operator=(Entries&&) noexcept = default;
    // Copied by copy-on-write snapshots (a chunk written while a snapshot shares it).
    Entries(const Entries& o) requires std::is_copy_constructible_v<std::pair<N, V>>
        : items(o.items) {
      if (o.index) {
        index = std::make_unique<std::unordered_map<N, size_t, NamespaceHash<N>>>(*o.index);
      }
    }

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
  using Slot = std::conditional_t<kSingleNamespace, V, Entries>;
  using Table = FlatHashMap<K, Slot, StateKeyHash<K>>;

  static bool anyExpired(const Slot& slot, const EntryCleanup& cleanup, int64_t now) {
    if constexpr (kSingleNamespace) {
      return cleanup.expired(slot, now);
    } else {
      for (const auto& item : slot.items) {
        if (cleanup.expired(item.second, now)) return true;
      }
      return false;
    }
  }
  // False when the whole entry is to be removed.
  static bool cleanEntry(Slot& slot, const EntryCleanup& cleanup, int64_t now) {
    if constexpr (kSingleNamespace) {
      return cleanup.clean(slot, now);
    } else {
      for (size_t i = 0; i < slot.items.size();) {
        if (cleanup.clean(slot.items[i].second, now)) {
          ++i;
        } else {
          slot.removeAt(i);
        }
      }
      return !slot.items.empty();
    }
  }

  // The frozen tables of one snapshotState(), with the snapshot's TTL filter and time.
  struct Snapshot final : KeyGroupedStateSnapshot {
    std::vector<typename Table::Frozen> tables;
    EntryCleanup cleanup;
    int64_t now = 0;

    void writeKeyGroup(int index, DataOutputView& out) const override {
      if constexpr (Serializable<K> && Serializable<N> && Serializable<V>) {
        if (static_cast<size_t>(index) >= tables.size()) {
          out.writeVarUint(0);  // the state never had a value
          return;
        }
        const typename Table::Frozen& t = tables[static_cast<size_t>(index)];
        if (!cleanup) {
          out.writeVarUint(t.size());
          t.forEach([&](const K& key, const Slot& slot) { writeEntry(key, slot, out); });
          return;
        }
        // Expired values are left out: the entry count is known only at the end.
        DataOutputView body;
        uint64_t count = 0;
        t.forEach([&](const K& key, const Slot& slot) {
          if (!anyExpired(slot, cleanup, now)) {
            writeEntry(key, slot, body);
            ++count;
            return;
          }
          Slot copy(slot);  // the cleanup changes values: never the shared one
          if (cleanEntry(copy, cleanup, now)) {
            writeEntry(key, copy, body);
            ++count;
          }
        });
        out.writeVarUint(count);
        out.writeBytes(body.data(), body.size());
      } else {
        (void)index;
        (void)out;
      }
    }
    static void writeEntry(const K& key, const Slot& slot, DataOutputView& out) {
      if constexpr (Serializable<K> && Serializable<N> && Serializable<V>) {
        TypeSerializer<K>::serialize(key, out);
        if constexpr (kSingleNamespace) {
          TypeSerializer<V>::serialize(slot, out);
        } else {
          out.writeVarUint(slot.items.size());
          for (const auto& [n, v] : slot.items) {
            TypeSerializer<N>::serialize(n, out);
            TypeSerializer<V>::serialize(v, out);
          }
        }
      } else {
        (void)key;
        (void)slot;
        (void)out;
      }
    }
  };

  Table& table(int index) {
    if (tables_.empty()) tables_.resize(static_cast<size_t>(backend_.numberOfKeyGroups()));
    return tables_.at(static_cast<size_t>(index));
  }
  Table& groupTable() {
    if (tables_.empty()) tables_.resize(static_cast<size_t>(backend_.numberOfKeyGroups()));
    return tables_[static_cast<size_t>(backend_.currentKeyGroupIndex())];
  }

  HashMapStateBackend<K>& backend_;
  std::vector<Table> tables_;
  EntryCleanup snapshotCleanup_;
  size_t cursorGroup_ = 0;
  size_t cursorSlot_ = 0;
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
  /// The elements in insertion order (empty when none). The reference is valid until the next
  /// call on any state of the operator.
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
  /// All entries, ordered by key. The reference is valid until the next call on any state of
  /// the operator.
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

/// What every state descriptor has: the state's name (unique per operator) and its optional
/// time-to-live (Flink's StateDescriptor).
struct StateDescriptorBase {
  explicit StateDescriptorBase(std::string stateName) : name(std::move(stateName)) {}
  /// Gives the state a time-to-live (Flink's StateDescriptor.enableTimeToLive).
  void enableTimeToLive(const StateTtlConfig& config) { ttlConfig = config; }
  std::string name;
  std::optional<StateTtlConfig> ttlConfig;
};

/// Names and types a ValueState (Flink's ValueStateDescriptor).
template <typename V>
struct ValueStateDescriptor : StateDescriptorBase {
  explicit ValueStateDescriptor(std::string stateName)
      : StateDescriptorBase(std::move(stateName)) {}
};
/// Names and types a ListState.
template <typename T>
struct ListStateDescriptor : StateDescriptorBase {
  explicit ListStateDescriptor(std::string stateName) : StateDescriptorBase(std::move(stateName)) {}
};
/// Names and types a MapState.
template <typename UK, typename UV>
struct MapStateDescriptor : StateDescriptorBase {
  explicit MapStateDescriptor(std::string stateName) : StateDescriptorBase(std::move(stateName)) {}
};
/// A ReducingState with its reduce function (T, T) -> T.
template <typename T>
struct ReducingStateDescriptor : StateDescriptorBase {
  ReducingStateDescriptor(std::string stateName, std::function<T(const T&, const T&)> reduce)
      : StateDescriptorBase(std::move(stateName)), reduceFunction(std::move(reduce)) {}
  std::function<T(const T&, const T&)> reduceFunction;
};
/// An AggregatingState with its aggregate function (an object with createAccumulator, add,
/// getResult, as Flink's AggregateFunction).
template <typename IN, typename ACC, typename OUT>
struct AggregatingStateDescriptor : StateDescriptorBase {
  std::function<ACC()> createAccumulator;
  std::function<ACC(const IN&, ACC)> add;
  std::function<OUT(const ACC&)> getResult;
  template <typename F>
  AggregatingStateDescriptor(std::string stateName, F fn)
      : StateDescriptorBase(std::move(stateName)),
        createAccumulator([fn]() mutable { return fn.createAccumulator(); }),
        add([fn](const IN& v, ACC acc) mutable { return fn.add(v, std::move(acc)); }),
        getResult([fn](const ACC& acc) mutable { return fn.getResult(acc); }) {}
};

/// Creates keyed state by descriptor for one namespace (Flink's KeyedStateStore): the state of
/// keyed process functions, and the per-window and global state of a ProcessWindowFunction.
/// Every state lives in a KeyedStateTable per key group, scoped to the current key, registered
/// with the backend as `prefix + descriptor name`. States with a StateTtlConfig store each
/// value (list element, map entry) with its last-access time and follow the config's update
/// type, visibility and cleanup (state_ttl.h). Task thread only.
template <typename K, typename N>
class KeyedStateStore {
 public:
  explicit KeyedStateStore(HashMapStateBackend<K>& backend, std::string prefix = "")
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
    const std::vector<T>& get() override {
      const N& ns = this->store.namespace_;
      if constexpr (kTtl) {
        this->cleanup();
        scratch.clear();
        std::vector<Element>* list = this->table.get(ns);
        if (list == nullptr) return scratch;
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
        return scratch;
      } else {
        static const std::vector<T> kEmpty;
        const std::vector<T>* v = this->table.peek(ns);
        return v ? *v : kEmpty;
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
    const std::map<UK, UV>& entries() override {
      if constexpr (kTtl) {
        this->cleanup();
        Map* m = this->table.get(this->store.namespace_);
        scratch.clear();
        if (m == nullptr) return scratch;
        int64_t t = this->now();
        for (auto it = m->begin(); it != m->end();) {
          bool expired = this->ttl.isExpired(it->second, t);
          if (!expired && this->ttl.updateOnRead()) it->second.lastAccessTimestamp = t;
          if (!expired || this->ttl.returnExpired()) scratch.emplace(it->first, it->second.value);
          it = expired ? m->erase(it) : std::next(it);
        }
        if (m->empty()) this->table.remove(this->store.namespace_);
        return scratch;
      } else {
        static const Map kEmpty;
        const Map* m = this->table.peek(this->store.namespace_);
        return m ? *m : kEmpty;
      }
    }
    bool isEmpty() override {
      if constexpr (kTtl) {
        return entries().empty();
      } else {
        return this->table.peek(this->store.namespace_) == nullptr;
      }
    }
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

  HashMapStateBackend<K>& backend_;
  std::string prefix_;
  N namespace_{};
  std::map<std::string, std::unique_ptr<Erased>> states_;
};

}  // namespace sluice
