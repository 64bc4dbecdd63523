#include "sluice/state/heap/heap_keyed_state_backend.h"

#include <chrono>

namespace sluice {

namespace detail {
void throwNotSerializable(const std::string& stateName) {
  throw SluiceException("keyed state '" + stateName +
                        "' cannot be snapshotted: its key, namespace or value type has no "
                        "TypeSerializer (see type_serializer.h)");
}
}  // namespace detail

void KeyedStateBackendBase::init(KeyGroupRange range, int maxParallelism) {
  range_ = range;
  maxParallelism_ = maxParallelism;
}

void KeyedStateBackendBase::checkKeyGroup(int keyGroup) const {
  if (!range_.contains(keyGroup)) {
    throw SluiceException("key group " + std::to_string(keyGroup) + " is not in this backend's " +
                          range_.toString());
  }
}

void KeyedStateBackendBase::snapshotKeyGroup(int keyGroup, DataOutputView& out) {
  checkKeyGroup(keyGroup);
  snapshotAsync(0).writeKeyGroup(keyGroup, out);
}

AsyncKeyedSnapshot KeyedStateBackendBase::snapshotAsync(int64_t checkpointId) {
  AsyncKeyedSnapshot snap;
  snap.checkpointId_ = checkpointId;
  snap.range_ = range_;
  snap.maxParallelism_ = maxParallelism_;
  snap.states_.reserve(states_.size());
  for (const auto& [name, state] : states_) {
    snap.states_.emplace_back(name, state->snapshotState());
    snap.metaInfo_.emplace(name, state->metaInfo());
  }
  snap.pending_ = pending_;
  for (const auto& [name, groups] : pending_) {
    auto it = restoredMetaInfo_.find(name);
    if (it != restoredMetaInfo_.end()) snap.metaInfo_.emplace(name, it->second);
  }
  return snap;
}

AsyncKeyedSnapshot::~AsyncKeyedSnapshot() = default;

void AsyncKeyedSnapshot::writeKeyGroup(int keyGroup, DataOutputView& out) const {
  if (!range_.contains(keyGroup)) {
    throw SluiceException("key group " + std::to_string(keyGroup) + " is not in this snapshot's " +
                          range_.toString());
  }
  int index = keyGroup - range_.startKeyGroup;
  // Registered states and restored-but-unregistered ones, merged in name order.
  std::vector<std::pair<const std::string*, const std::vector<uint8_t>*>> carried;
  for (const auto& [name, groups] : pending_) {
    auto it = groups.find(index);
    if (it != groups.end()) carried.emplace_back(&name, it->second.get());
  }
  out.writeVarUint(states_.size() + carried.size());
  DataOutputView part;
  auto sIt = states_.begin();
  auto cIt = carried.begin();
  while (sIt != states_.end() || cIt != carried.end()) {
    if (cIt == carried.end() || (sIt != states_.end() && sIt->first < *cIt->first)) {
      part.clear();
      sIt->second->writeKeyGroup(index, part);
      TypeSerializer<std::string>::serialize(sIt->first, out);
      out.writeVarUint(part.size());
      out.writeBytes(part.data(), part.size());
      ++sIt;
    } else {
      TypeSerializer<std::string>::serialize(*cIt->first, out);
      out.writeVarUint(cIt->second->size());
      out.writeBytes(cIt->second->data(), cIt->second->size());
      ++cIt;
    }
  }
}

KeyedStateSnapshot AsyncKeyedSnapshot::materialize() const {
  KeyedStateSnapshot out;
  out.maxParallelism = maxParallelism_;
  out.stateMetaInfo = metaInfo_;
  for (int kg = range_.startKeyGroup; kg <= range_.endKeyGroup; ++kg) {
    DataOutputView view;
    writeKeyGroup(kg, view);
    out.keyGroups.emplace(kg, std::move(view.bytes()));
  }
  return out;
}

void KeyedStateBackendBase::restoreKeyGroup(int keyGroup, DataInputView& in) {
  checkKeyGroup(keyGroup);
  int index = keyGroup - range_.startKeyGroup;
  uint64_t count = in.readVarUint();
  std::string name;
  for (uint64_t s = 0; s < count; ++s) {
    TypeSerializer<std::string>::deserialize(name, in);
    uint64_t size = in.readVarUint();
    if (size > in.remaining()) {
      throw SerializationException("keyed state '" + name + "' of key group " +
                                   std::to_string(keyGroup) + " claims " + std::to_string(size) +
                                   " bytes, only " + std::to_string(in.remaining()) + " remain");
    }
    const uint8_t* bytes = in.current();
    in.skip(size);
    auto it = states_.find(name);
    if (it == states_.end()) {
      pending_[name][index] = std::make_shared<const std::vector<uint8_t>>(bytes, bytes + size);
      continue;
    }
    DataInputView part(bytes, size);
    it->second->restoreKeyGroup(index, part);
    if (!part.atEnd()) {
      throw SerializationException("keyed state '" + name + "' of key group " +
                                   std::to_string(keyGroup) + " has " +
                                   std::to_string(part.remaining()) + " trailing bytes");
    }
  }
}

KeyedStateSnapshot KeyedStateBackendBase::snapshot() { return snapshotAsync(0).materialize(); }

void KeyedStateBackendBase::restore(const KeyedStateSnapshot& snapshot) {
  if (snapshot.maxParallelism != maxParallelism_) {
    throw SluiceException("cannot restore keyed state written with max parallelism " +
                          std::to_string(snapshot.maxParallelism) + " into max parallelism " +
                          std::to_string(maxParallelism_) +
                          ": the key groups do not line up (as Flink, the max parallelism of a "
                          "stateful operator cannot change)");
  }
  for (const auto& [name, meta] : snapshot.stateMetaInfo) {
    auto [it, inserted] = restoredMetaInfo_.emplace(name, meta);
    if (!inserted && it->second.empty()) it->second = meta;
    if (auto registered = states_.find(name); registered != states_.end()) {
      checkStateCompatibility("keyed state '" + name + "'", registered->second->metaInfo(), meta);
    }
  }
  for (const auto& [kg, bytes] : snapshot.keyGroups) {
    if (!range_.contains(kg)) continue;
    DataInputView in(bytes.data(), bytes.size());
    restoreKeyGroup(kg, in);
    if (!in.atEnd()) {
      throw SerializationException("keyed state of key group " + std::to_string(kg) + " has " +
                                   std::to_string(in.remaining()) + " trailing bytes");
    }
  }
}

void KeyedStateBackendBase::registerState(KeyGroupedState& state) {
  const std::string& name = state.stateName();
  if (auto restored = restoredMetaInfo_.find(name); restored != restoredMetaInfo_.end()) {
    checkStateCompatibility("keyed state '" + name + "'", state.metaInfo(), restored->second);
  }
  if (!states_.emplace(name, &state).second) {
    throw SluiceException("keyed state '" + name + "' is registered twice in one operator");
  }
  auto it = pending_.find(name);
  if (it == pending_.end()) return;
  auto groups = std::move(it->second);
  pending_.erase(it);
  for (const auto& [index, bytes] : groups) {
    DataInputView in(bytes->data(), bytes->size());
    state.restoreKeyGroup(index, in);
  }
}

void KeyedStateBackendBase::unregisterState(KeyGroupedState& state) {
  auto it = states_.find(state.stateName());
  if (it != states_.end() && it->second == &state) states_.erase(it);
}

std::vector<std::string> KeyedStateBackendBase::stateNames() const {
  std::vector<std::string> names;
  for (const auto& [name, s] : states_) names.push_back(name);
  return names;
}

int64_t KeyedStateBackendBase::ttlTime() const {
  if (ttlTime_) return ttlTime_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
