#pragma once

// The heap keyed state backend (Flink's HeapKeyedStateBackend): the current key of one operator
// subtask and its key group, and KeyedStateTable, the values of one state per (key, namespace)
// in flat open-addressing tables per key group (flat_hash_map.h). Task thread only.

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

#include "sluice/state/keyed_state_backend.h"

namespace sluice {

/// The heap keyed state backend of one operator subtask (Flink's HeapKeyedStateBackend, which
/// Flink's HashMapStateBackend creates, and its KeyContext): the key being processed and its key
/// group, and every keyed state and timer of the operator, partitioned by key group. Task thread
/// only.
template <typename K>
class HeapKeyedStateBackend final : public KeyedStateBackendBase {
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
void initKeyedStateBackend(const Op& op, HeapKeyedStateBackend<K>& backend) {
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

  KeyedStateTable(HeapKeyedStateBackend<K>& backend, std::string name)
      : KeyGroupedState(std::move(name), StateMetaInfo::keyed<K, N, V>()), backend_(backend) {
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

  HeapKeyedStateBackend<K>& backend_;
  std::vector<Table> tables_;
  EntryCleanup snapshotCleanup_;
  size_t cursorGroup_ = 0;
  size_t cursorSlot_ = 0;
};

}  // namespace sluice
