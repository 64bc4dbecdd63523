#pragma once

// The untyped keyed state backend (Flink's AbstractKeyedStateBackend, the part checkpoints and
// rescaling see): states registered by name, snapshotted and restored per key group, with
// copy-on-write asynchronous snapshots. The heap implementation is state/heap/.
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

#include "sluice/api/common/state_ttl.h"
#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/type_serializer.h"
#include "sluice/state/heap/flat_hash_map.h"
#include "sluice/state/key_groups.h"
#include "sluice/state/state_meta_info.h"

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
  /// The serializers of every state in the snapshot, by state name (stored once per subtask in
  /// the checkpoint metadata, from version 4); empty for older checkpoints.
  std::map<std::string, StateMetaInfo> stateMetaInfo;
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
  KeyGroupedState(std::string name, StateMetaInfo metaInfo)
      : name_(std::move(name)), metaInfo_(std::move(metaInfo)) {}
  virtual ~KeyGroupedState() = default;
  const std::string& stateName() const { return name_; }
  /// The serializers of the state's key, namespace and value, as snapshots record them.
  const StateMetaInfo& metaInfo() const { return metaInfo_; }
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
  StateMetaInfo metaInfo_;
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
  std::map<std::string, StateMetaInfo> metaInfo_;  // registered and carried states
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
  /// SluiceException when the max parallelism differs (key groups would not line up), and
  /// StateMigrationException when a registered state's serializers differ from those the
  /// snapshot recorded for it.
  void restore(const KeyedStateSnapshot& snapshot);

  /// Registers a state (tables and timer services register themselves on construction).
  /// Throws SluiceException when the name is taken, StateMigrationException when restored state
  /// of that name was written with other serializers (StateMetaInfo::incompatibilityWith).
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
  // Serializers recorded by the restored snapshots, by state name.
  std::map<std::string, StateMetaInfo> restoredMetaInfo_;
  std::function<int64_t()> ttlTime_;
  std::vector<std::function<void()>> keySelectionListeners_;
};

}  // namespace sluice
