#pragma once

// Operator state: the non-keyed state of one operator subtask (Flink's OperatorStateStore and
// DefaultOperatorStateBackend), its snapshots, and their redistribution when a job is restored
// at another parallelism (Flink's RoundRobinOperatorStateRepartitioner).
//
// - OperatorStateStore: list states (even-split or union redistribution) and broadcast states
//   of one subtask, by name; snapshot() and a lazy restore().
// - ReadOnlyBroadcastState / BroadcastState / BroadcastStateStore: the broadcast state pattern
//   (co_process_function.h), backed by an OperatorStateStore.
// - OperatorStateSnapshot: per state name its distribution mode and its elements, each
//   serialized on its own with TypeSerializer<T>, so that snapshots can be redistributed
//   without knowing the types; serialize()/deserialize() to and from bytes.
// - redistributeOperatorState(): old subtasks' snapshots → new subtasks' snapshots.
// - CheckpointedFunction: the user-function hook (initializeState / snapshotState), wired into
//   the map, flatMap and filter operators (operators.h) and sinks (sink.h).
//
// Thread-safety: everything here is used on the task thread only (snapshots are plain values:
// once taken they may be handed to another thread).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/common/state.h"
#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/type_serializer.h"
#include "sluice/state/state_meta_info.h"

namespace sluice {

// ---- snapshots -----------------------------------------------------------------------------

/// How a state's elements are redistributed when the parallelism changes (Flink's
/// OperatorStateHandle.Mode; the serialized byte is the enum value).
enum class OperatorStateMode : uint8_t {
  /// SPLIT_DISTRIBUTE (getListState): the elements of all old subtasks are concatenated and
  /// split into contiguous, near-equal parts, one per new subtask.
  kSplitDistribute = 0,
  /// UNION (getUnionListState): every new subtask gets the elements of all old subtasks.
  kUnion = 1,
  /// BROADCAST (getBroadcastState): every subtask holds the same map; every new subtask gets
  /// one old subtask's copy.
  kBroadcast = 2,
};

/// "SPLIT_DISTRIBUTE", "UNION" or "BROADCAST" (Flink's names, for messages).
const char* toString(OperatorStateMode mode);

/// The operator state of one subtask at one checkpoint: per state name (ascending), its
/// distribution mode and its elements. An element is a list element (TypeSerializer<T>) or,
/// for broadcast state, one map entry (key then value, TypeSerializer<UK> and <UV>); each is
/// serialized on its own, so that redistributeOperatorState() moves elements without knowing
/// their types (as Flink's partition offsets). A plain value: copyable, comparable.
struct OperatorStateSnapshot {
  /// One state's elements: their bytes concatenated, with the end offset of each.
  struct State {
    OperatorStateMode mode = OperatorStateMode::kSplitDistribute;
    /// The serializers the elements were written with (empty when read from format 1).
    StateMetaInfo meta;
    std::vector<uint8_t> bytes;
    /// ends[i] is the end of element i in `bytes`; element i starts at ends[i - 1] (or 0).
    std::vector<size_t> ends;

    size_t size() const { return ends.size(); }
    bool empty() const { return ends.empty(); }
    /// The bytes of element `i` (< size()).
    std::span<const uint8_t> element(size_t i) const {
      size_t begin = i == 0 ? 0 : ends[i - 1];
      return {bytes.data() + begin, ends[i] - begin};
    }
    /// Appends one element.
    void append(std::span<const uint8_t> element);
    /// Appends elements [from, to) of `other`.
    void appendRange(const State& other, size_t from, size_t to);
    friend bool operator==(const State&, const State&) = default;
  };

  /// States by name.
  std::map<std::string, State> states;

  bool empty() const { return states.empty(); }

  /// Writes the snapshot in its versioned binary format:
  ///   u32 magic 0x534F4C53 ("SLOS" as little-endian bytes), varint format version (2),
  ///   varint state count, then per state in ascending name order: name (varint length +
  ///   bytes), u8 mode, (format 2) StateMetaInfo::serialize() bytes, varint element count, per
  ///   element varint length + bytes. Format 1 (no serializers) still reads.
  void serialize(DataOutputView& out) const;
  /// The bytes of serialize(DataOutputView&).
  std::vector<uint8_t> serialize() const;
  /// Reads one snapshot written by serialize(DataOutputView&) from `in`, leaving `in` after
  /// it. Throws SerializationException on truncated or corrupt input (bad magic, unknown
  /// format version or mode byte, names not strictly ascending, lengths beyond the input);
  /// never reads out of bounds.
  static OperatorStateSnapshot deserialize(DataInputView& in);
  /// Reads a snapshot from exactly `size` bytes; as above, and trailing bytes are an error too.
  static OperatorStateSnapshot deserialize(const uint8_t* data, size_t size);
  static OperatorStateSnapshot deserialize(const std::vector<uint8_t>& bytes) {
    return deserialize(bytes.data(), bytes.size());
  }

  friend bool operator==(const OperatorStateSnapshot&, const OperatorStateSnapshot&) = default;
};

/// The snapshots of one operator's new subtasks when a job whose subtasks took `old` (indexed
/// by old subtask) is restored at `newParallelism`, as Flink's
/// RoundRobinOperatorStateRepartitioner:
///
/// - Same parallelism (old.size() == newParallelism): every subtask keeps its own
///   SPLIT_DISTRIBUTE and BROADCAST states; UNION states are replaced by the union.
/// - SPLIT_DISTRIBUTE, per state name in ascending name order: with E the concatenation of the
///   state's elements over the old subtasks in subtask order, N = |E|, p = newParallelism,
///   base = N / p, rem = N % p and `start` (0 for the first name, then
///   (start + rem) % p after each name, so that the larger parts rotate over the subtasks as
///   in Flink): for i in [0, p), new subtask (start + i) % p gets the contiguous range
///   E[i * base + min(i, rem), ... + base + (i < rem ? 1 : 0)). Nothing is lost or duplicated,
///   part sizes differ by at most one. (Flink iterates names in hash order, so which subtask
///   gets a larger part may differ from Flink; the sizes and contiguity are the same.)
/// - UNION: every new subtask gets E (all elements of all old subtasks, in subtask order).
/// - BROADCAST: new subtask i gets the copy of the i % m-th of the m old subtasks that hold
///   the state (they are identical when the function updates it deterministically).
///
/// Every new subtask's snapshot names every SPLIT_DISTRIBUTE and UNION state, possibly with no
/// elements. Throws SluiceException when newParallelism < 1 or a state name has different
/// modes in different old subtasks. `old` may be empty (nothing to restore).
std::vector<OperatorStateSnapshot> redistributeOperatorState(
    const std::vector<OperatorStateSnapshot>& old, int newParallelism);

// ---- broadcast state -----------------------------------------------------------------------

/// Broadcast state as the non-broadcast side sees it (Flink's ReadOnlyBroadcastState): a map,
/// ordered by key, that only processBroadcastElement may change.
template <typename UK, typename UV>
class ReadOnlyBroadcastState {
 public:
  std::optional<UV> get(const UK& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? std::nullopt : std::optional<UV>(it->second);
  }
  bool contains(const UK& key) const { return map_.count(key) > 0; }
  /// All entries, ordered by key.
  const std::map<UK, UV>& entries() const { return map_; }
  bool isEmpty() const { return map_.empty(); }
  size_t size() const { return map_.size(); }

 protected:
  std::map<UK, UV> map_;
};

/// Broadcast state as processBroadcastElement sees it (Flink's BroadcastState): writable. Every
/// subtask holds its own copy; they stay identical as long as processBroadcastElement updates
/// it deterministically from the broadcast elements alone (every subtask sees all of them).
/// Snapshotted as one element per entry (mode BROADCAST).
template <typename UK, typename UV>
class BroadcastState final : public ReadOnlyBroadcastState<UK, UV> {
 public:
  void put(const UK& key, const UV& value) { this->map_[key] = value; }
  void putAll(const std::map<UK, UV>& entries) {
    for (const auto& [k, v] : entries) this->map_[k] = v;
  }
  void remove(const UK& key) { this->map_.erase(key); }
  void clear() { this->map_.clear(); }
};

// ---- the store -----------------------------------------------------------------------------

namespace detail {

/// A registered operator state, type-erased for snapshots.
class OperatorStateEntry {
 public:
  virtual ~OperatorStateEntry() = default;
  /// Appends every element to `out` (whose mode is set by the caller). Throws
  /// SluiceException when the element type has no TypeSerializer.
  virtual void snapshotElements(OperatorStateSnapshot::State& out) const = 0;
  /// The serializers of the state's elements.
  virtual StateMetaInfo metaInfo() const = 0;
};

/// Types that snapshots can hold: a TypeSerializer; restore also needs a default-constructed
/// value to deserialize into.
template <typename T>
concept RestorableStateType = Serializable<T> && std::default_initializable<T>;

[[noreturn]] void throwOperatorStateNotSerializable(const std::string& name);
/// Rethrows the current exception (a failed element deserialization) with the state's name.
[[noreturn]] void rethrowRestoreFailure(const std::string& name, size_t element);
[[noreturn]] void throwTrailingElementBytes(const std::string& name, size_t element,
                                            size_t trailing);
[[noreturn]] void throwDuplicateBroadcastKey(const std::string& name, size_t element);

/// Deserializes one element `bytes` of state `name` into `value`; the element must be consumed
/// exactly.
template <typename... Ts>
void deserializeElement(const std::string& name, size_t index, std::span<const uint8_t> bytes,
                        Ts&... values) {
  DataInputView in(bytes.data(), bytes.size());
  try {
    (TypeSerializer<Ts>::deserialize(values, in), ...);
  } catch (const SluiceException&) {
    rethrowRestoreFailure(name, index);
  }
  if (!in.atEnd()) throwTrailingElementBytes(name, index, in.remaining());
}

/// Operator list state (Flink's PartitionableListState): a list per subtask, in memory.
template <typename T>
class PartitionableListState final : public ListState<T>, public OperatorStateEntry {
 public:
  explicit PartitionableListState(std::string name) : name_(std::move(name)) {}

  ListView<T> get() override { return ListView<T>(list_); }
  void add(const T& value) override { list_.push_back(value); }
  void addAll(const std::vector<T>& values) override {
    list_.insert(list_.end(), values.begin(), values.end());
  }
  void update(const std::vector<T>& values) override { list_ = values; }
  void clear() override { list_.clear(); }

  void snapshotElements(OperatorStateSnapshot::State& out) const override {
    if constexpr (Serializable<T>) {
      DataOutputView view;
      view.bytes() = std::move(out.bytes);
      for (const T& value : list_) {
        TypeSerializer<T>::serialize(value, view);
        out.ends.push_back(view.size());
      }
      out.bytes = std::move(view.bytes());
    } else {
      (void)out;
      throwOperatorStateNotSerializable(name_);
    }
  }
  StateMetaInfo metaInfo() const override { return StateMetaInfo::list<T>(); }
  /// Replaces the list by restored `elements`. Throws StateMigrationException when they were
  /// written with another element serializer.
  void restore(const OperatorStateSnapshot::State& elements) {
    checkStateCompatibility("operator state '" + name_ + "'", metaInfo(), elements.meta);
    if constexpr (RestorableStateType<T>) {
      std::vector<T> restored;
      restored.reserve(elements.size());
      for (size_t i = 0; i < elements.size(); ++i) {
        T value{};
        deserializeElement(name_, i, elements.element(i), value);
        restored.push_back(std::move(value));
      }
      list_ = std::move(restored);
    } else {
      (void)elements;
      throwOperatorStateNotSerializable(name_);
    }
  }

 private:
  std::string name_;
  std::vector<T> list_;
};

/// A broadcast state registered in an OperatorStateStore.
template <typename UK, typename UV>
class BroadcastStateEntry final : public OperatorStateEntry {
 public:
  explicit BroadcastStateEntry(std::string name) : name_(std::move(name)) {}

  void snapshotElements(OperatorStateSnapshot::State& out) const override {
    if constexpr (Serializable<UK> && Serializable<UV>) {
      DataOutputView view;
      view.bytes() = std::move(out.bytes);
      for (const auto& [key, value] : state.entries()) {
        TypeSerializer<UK>::serialize(key, view);
        TypeSerializer<UV>::serialize(value, view);
        out.ends.push_back(view.size());
      }
      out.bytes = std::move(view.bytes());
    } else {
      (void)out;
      throwOperatorStateNotSerializable(name_);
    }
  }
  StateMetaInfo metaInfo() const override { return StateMetaInfo::broadcast<UK, UV>(); }
  void restore(const OperatorStateSnapshot::State& elements) {
    checkStateCompatibility("broadcast state '" + name_ + "'", metaInfo(), elements.meta);
    if constexpr (RestorableStateType<UK> && RestorableStateType<UV>) {
      std::map<UK, UV> restored;
      for (size_t i = 0; i < elements.size(); ++i) {
        UK key{};
        UV value{};
        deserializeElement(name_, i, elements.element(i), key, value);
        if (!restored.emplace(std::move(key), std::move(value)).second) {
          throwDuplicateBroadcastKey(name_, i);
        }
      }
      state.clear();
      state.putAll(restored);
    } else {
      (void)elements;
      throwOperatorStateNotSerializable(name_);
    }
  }

  BroadcastState<UK, UV> state;

 private:
  std::string name_;
};

}  // namespace detail

/// The operator state of one operator subtask (Flink's OperatorStateStore, implemented as its
/// DefaultOperatorStateBackend: everything on the heap). States are named; a name is unique
/// per operator across kinds. Snapshots and restores go through OperatorStateSnapshot.
///
/// Restore is lazy: restore() keeps the restored elements as bytes; the first request of a
/// state deserializes them with the requested type. Restored states that are never requested
/// are carried into later snapshots unchanged (as Flink keeps them registered).
///
/// Task thread only. References returned by the getters stay valid as long as the store.
class OperatorStateStore {
 public:
  OperatorStateStore() = default;
  OperatorStateStore(const OperatorStateStore&) = delete;
  OperatorStateStore& operator=(const OperatorStateStore&) = delete;
  OperatorStateStore(OperatorStateStore&&) = default;
  OperatorStateStore& operator=(OperatorStateStore&&) = default;

  /// A list state with even-split redistribution (Flink's getListState: on rescaling, each new
  /// subtask gets a contiguous part of all elements; see redistributeOperatorState). Created
  /// empty, or holding the restored elements on first use after restore(). Throws
  /// SluiceException when the name is already used by another kind of state, by a union list
  /// state, or with another element type; when the descriptor enables time-to-live (keyed
  /// state only, as in Flink); SerializationException when restored elements do not
  /// deserialize as T.
  template <typename T>
  ListState<T>& getListState(const ListStateDescriptor<T>& descriptor) {
    return listState(descriptor, OperatorStateMode::kSplitDistribute);
  }

  /// A list state with union redistribution (Flink's getUnionListState: on restore, every
  /// subtask gets the elements of all subtasks). Errors as getListState.
  template <typename T>
  ListState<T>& getUnionListState(const ListStateDescriptor<T>& descriptor) {
    return listState(descriptor, OperatorStateMode::kUnion);
  }

  /// A broadcast state (Flink's getBroadcastState): a map per subtask, identical on every
  /// subtask when updated deterministically; on rescaling, every new subtask gets one copy.
  /// Errors as getListState (for key and value types).
  template <typename UK, typename UV>
  BroadcastState<UK, UV>& getBroadcastState(const MapStateDescriptor<UK, UV>& descriptor) {
    using Entry = detail::BroadcastStateEntry<UK, UV>;
    if (detail::OperatorStateEntry* found = find(descriptor, OperatorStateMode::kBroadcast)) {
      auto* entry = dynamic_cast<Entry*>(found);
      if (entry == nullptr) throwOtherType(descriptor.name, OperatorStateMode::kBroadcast);
      return entry->state;
    }
    auto entry = std::make_unique<Entry>(descriptor.name);
    if (const auto* restored = findRestored(descriptor.name, OperatorStateMode::kBroadcast)) {
      entry->restore(*restored);
    }
    auto& state = entry->state;
    add(descriptor.name, OperatorStateMode::kBroadcast, std::move(entry));
    return state;
  }

  /// Names of the registered list states, split and union (Flink's getRegisteredStateNames).
  std::set<std::string> getRegisteredStateNames() const;
  /// Names of the registered broadcast states (Flink's getRegisteredBroadcastStateNames).
  std::set<std::string> getRegisteredBroadcastStateNames() const;

  /// Hands the store the state to restore (this subtask's part, already redistributed). Call
  /// once, before any state is requested; throws SluiceException otherwise.
  void restore(const OperatorStateSnapshot& snapshot);
  void restore(OperatorStateSnapshot&& snapshot);
  /// Whether restore() was called.
  bool isRestored() const { return restored_; }

  /// The current contents of every registered state, plus restored states never requested.
  /// Throws SluiceException when a registered state's types have no TypeSerializer.
  OperatorStateSnapshot snapshot() const;

 private:
  struct Registered {
    OperatorStateMode mode;
    std::unique_ptr<detail::OperatorStateEntry> entry;
  };

  template <typename T>
  ListState<T>& listState(const ListStateDescriptor<T>& descriptor, OperatorStateMode mode) {
    using Entry = detail::PartitionableListState<T>;
    if (detail::OperatorStateEntry* found = find(descriptor, mode)) {
      auto* entry = dynamic_cast<Entry*>(found);
      if (entry == nullptr) throwOtherType(descriptor.name, mode);
      return *entry;
    }
    auto entry = std::make_unique<Entry>(descriptor.name);
    if (const auto* restored = findRestored(descriptor.name, mode)) entry->restore(*restored);
    auto& state = *entry;
    add(descriptor.name, mode, std::move(entry));
    return state;
  }

  /// The registered state `descriptor.name`, or null when there is none; throws when it has
  /// another mode or the descriptor enables TTL.
  detail::OperatorStateEntry* find(const StateDescriptorBase& descriptor,
                                   OperatorStateMode mode) const;
  /// The restored, not yet requested elements of `name`, or null; throws on a mode mismatch.
  const OperatorStateSnapshot::State* findRestored(const std::string& name,
                                                   OperatorStateMode mode) const;
  /// Registers `entry` under `name`, dropping its restored bytes.
  void add(const std::string& name, OperatorStateMode mode,
           std::unique_ptr<detail::OperatorStateEntry> entry);
  [[noreturn]] void throwOtherType(const std::string& name, OperatorStateMode mode) const;

  std::map<std::string, Registered> states_;
  std::map<std::string, OperatorStateSnapshot::State> pending_;
  bool restored_ = false;
};

/// The broadcast states of one operator subtask, by descriptor name; only the descriptors
/// given to broadcast(...) may be used (Flink's CoBroadcastWith*Operator checks the same).
/// Backed by an OperatorStateStore, so snapshot() and restore() behave as its. Task thread
/// only.
class BroadcastStateStore {
 public:
  explicit BroadcastStateStore(std::vector<std::string> declared = {})
      : declared_(declared.begin(), declared.end()) {}

  /// The state of descriptor `d`, created empty (or restored) on first use. Throws
  /// SluiceException for a descriptor not declared in broadcast(...), or one whose types
  /// differ from the first use.
  template <typename UK, typename UV>
  BroadcastState<UK, UV>& get(const MapStateDescriptor<UK, UV>& d) {
    if (declared_.count(d.name) == 0) throwUndeclared(d.name);
    return store_.getBroadcastState(d);
  }

  /// Every broadcast state (mode BROADCAST), plus restored states never requested.
  OperatorStateSnapshot snapshot() const { return store_.snapshot(); }
  /// Restores states, lazily (see OperatorStateStore::restore); call before the first get().
  void restore(const OperatorStateSnapshot& snapshot) { store_.restore(snapshot); }

 private:
  [[noreturn]] static void throwUndeclared(const std::string& name);

  std::set<std::string> declared_;
  OperatorStateStore store_;
};

// ---- CheckpointedFunction ------------------------------------------------------------------

/// What snapshotState learns about the checkpoint being taken (Flink's
/// FunctionSnapshotContext / ManagedSnapshotContext).
class FunctionSnapshotContext {
 public:
  FunctionSnapshotContext(int64_t checkpointId, int64_t checkpointTimestamp)
      : checkpointId_(checkpointId), checkpointTimestamp_(checkpointTimestamp) {}
  /// The id of the checkpoint (increasing per job).
  int64_t getCheckpointId() const { return checkpointId_; }
  /// When the checkpoint was triggered, ms since the epoch (the job manager's clock).
  int64_t getCheckpointTimestamp() const { return checkpointTimestamp_; }

 private:
  int64_t checkpointId_;
  int64_t checkpointTimestamp_;
};

/// What initializeState gets (Flink's FunctionInitializationContext): the operator state store
/// and whether this is a restore.
class FunctionInitializationContext {
 public:
  FunctionInitializationContext(OperatorStateStore& store, bool restored)
      : store_(&store), restored_(restored) {}
  /// True when the operator is restored from a checkpoint or savepoint (even if this subtask
  /// got no state, e.g. after scaling up); false on a fresh start.
  bool isRestored() const { return restored_; }
  /// The operator state store of this subtask.
  OperatorStateStore& getOperatorStateStore() const { return *store_; }

 private:
  OperatorStateStore* store_;
  bool restored_;
};

/// A user function with operator state (Flink's CheckpointedFunction). Derive the function of
/// map, flatMap, filter (or a SinkWriter) from it as well:
///
/// - initializeState(ctx) is called once per subtask, before open(), on a fresh start and on
///   restore: get the states from ctx.getOperatorStateStore() there, and read them when
///   ctx.isRestored().
/// - snapshotState(ctx) is called when a checkpoint is taken, on the task thread between
///   records: write what the function holds into its states; the store is snapshotted right
///   after it returns.
///
/// Exceptions thrown by either fail the job (wrapped in UserFunctionException naming the
/// operator). Called on the task thread only, never concurrently with the function's other
/// methods.
class CheckpointedFunction {
 public:
  virtual ~CheckpointedFunction() = default;
  virtual void snapshotState(FunctionSnapshotContext& context) = 0;
  virtual void initializeState(FunctionInitializationContext& context) = 0;
};

}  // namespace sluice
