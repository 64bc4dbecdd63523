#include "sluice/state/operator_state.h"

#include <algorithm>

namespace sluice {

namespace {

constexpr uint32_t kSnapshotMagic = 0x534F4C53;  // "SLOS" as little-endian bytes
constexpr uint64_t kSnapshotFormatVersion = 2;   // 2: serializers per state; 1 still reads

/// "list state (getListState, SPLIT_DISTRIBUTE)", for messages.
std::string describe(OperatorStateMode mode) {
  switch (mode) {
    case OperatorStateMode::kSplitDistribute:
      return "list state (getListState, SPLIT_DISTRIBUTE)";
    case OperatorStateMode::kUnion:
      return "union list state (getUnionListState, UNION)";
    case OperatorStateMode::kBroadcast:
      return "broadcast state (getBroadcastState, BROADCAST)";
  }
  return "operator state of unknown mode";
}

}  // namespace

const char* toString(OperatorStateMode mode) {
  switch (mode) {
    case OperatorStateMode::kSplitDistribute:
      return "SPLIT_DISTRIBUTE";
    case OperatorStateMode::kUnion:
      return "UNION";
    case OperatorStateMode::kBroadcast:
      return "BROADCAST";
  }
  return "UNKNOWN";
}

// ---- OperatorStateSnapshot -----------------------------------------------------------------

void OperatorStateSnapshot::State::append(std::span<const uint8_t> element) {
  bytes.insert(bytes.end(), element.begin(), element.end());
  ends.push_back(bytes.size());
}

void OperatorStateSnapshot::State::appendRange(const State& other, size_t from, size_t to) {
  if (from >= to) return;
  size_t begin = from == 0 ? 0 : other.ends[from - 1];
  size_t end = other.ends[to - 1];
  size_t shift = bytes.size();
  bytes.insert(bytes.end(), other.bytes.begin() + static_cast<std::ptrdiff_t>(begin),
               other.bytes.begin() + static_cast<std::ptrdiff_t>(end));
  for (size_t i = from; i < to; ++i) ends.push_back(other.ends[i] - begin + shift);
}

void OperatorStateSnapshot::serialize(DataOutputView& out) const {
  out.writeRaw<uint32_t>(kSnapshotMagic);
  out.writeVarUint(kSnapshotFormatVersion);
  out.writeVarUint(states.size());
  for (const auto& [name, state] : states) {
    out.writeString(name);
    out.writeRaw<uint8_t>(static_cast<uint8_t>(state.mode));
    state.meta.serialize(out);
    out.writeVarUint(state.size());
    for (size_t i = 0; i < state.size(); ++i) {
      auto element = state.element(i);
      out.writeVarUint(element.size());
      out.writeBytes(element.data(), element.size());
    }
  }
}

std::vector<uint8_t> OperatorStateSnapshot::serialize() const {
  DataOutputView out;
  serialize(out);
  return std::move(out.bytes());
}

namespace {

OperatorStateSnapshot readSnapshot(DataInputView& in) {
  using State = OperatorStateSnapshot::State;
  size_t start = in.position();
  auto magic = in.readRaw<uint32_t>();
  if (magic != kSnapshotMagic) {
    throw SerializationException("bad magic number at offset " + std::to_string(start) +
                                 ": these bytes are not an operator state snapshot");
  }
  uint64_t version = in.readVarUint();
  if (version < 1 || version > kSnapshotFormatVersion) {
    throw SerializationException("unsupported format version " + std::to_string(version) +
                                 " (this build reads versions 1 to " +
                                 std::to_string(kSnapshotFormatVersion) + ")");
  }
  OperatorStateSnapshot snapshot;
  // A state takes at least 3 bytes: name length, mode, element count.
  size_t count = in.readLength(3);
  const std::string* previous = nullptr;
  for (size_t s = 0; s < count; ++s) {
    size_t at = in.position();
    std::string name;
    in.readString(name);
    if (previous != nullptr && !(*previous < name)) {
      throw SerializationException("state name '" + name + "' at offset " + std::to_string(at) +
                                   " is not after '" + *previous + "' (duplicate or unordered)");
    }
    auto modeByte = in.readRaw<uint8_t>();
    if (modeByte > static_cast<uint8_t>(OperatorStateMode::kBroadcast)) {
      throw SerializationException("unknown distribution mode " + std::to_string(modeByte) +
                                   " of state '" + name + "' at offset " +
                                   std::to_string(in.position() - 1));
    }
    auto [it, inserted] = snapshot.states.emplace(std::move(name), State{});
    State& state = it->second;
    state.mode = static_cast<OperatorStateMode>(modeByte);
    if (version >= 2) state.meta = StateMetaInfo::deserialize(in);
    size_t elements = in.readLength(1);  // each element has at least its length byte
    state.ends.reserve(elements);
    for (size_t i = 0; i < elements; ++i) {
      size_t length = in.readLength(1);
      state.append({in.current(), length});
      in.skip(length);
    }
    previous = &it->first;
  }
  return snapshot;
}

}  // namespace

OperatorStateSnapshot OperatorStateSnapshot::deserialize(DataInputView& in) {
  try {
    return readSnapshot(in);
  } catch (const SerializationException& e) {
    throw SerializationException(std::string("corrupt or truncated operator state snapshot: ") +
                                 e.what());
  }
}

OperatorStateSnapshot OperatorStateSnapshot::deserialize(const uint8_t* data, size_t size) {
  DataInputView in(data, size);
  OperatorStateSnapshot snapshot = deserialize(in);
  if (!in.atEnd()) {
    throw SerializationException(
        "corrupt operator state snapshot: " + std::to_string(in.remaining()) +
        " trailing bytes after offset " + std::to_string(in.position()));
  }
  return snapshot;
}

// ---- redistribution ------------------------------------------------------------------------

std::vector<OperatorStateSnapshot> redistributeOperatorState(
    const std::vector<OperatorStateSnapshot>& old, int newParallelism) {
  if (newParallelism < 1) {
    throw SluiceException("cannot redistribute operator state to parallelism " +
                          std::to_string(newParallelism) + ": it must be at least 1");
  }
  using State = OperatorStateSnapshot::State;
  const auto p = static_cast<size_t>(newParallelism);

  // Every state name with its mode and its parts, in old subtask order.
  struct Named {
    OperatorStateMode mode;
    StateMetaInfo meta;
    std::vector<size_t> subtasks;
    std::vector<const State*> parts;
  };
  std::map<std::string, Named> byName;
  for (size_t s = 0; s < old.size(); ++s) {
    for (const auto& [name, state] : old[s].states) {
      auto [it, inserted] = byName.try_emplace(name, Named{state.mode, state.meta, {}, {}});
      if (it->second.meta.empty()) it->second.meta = state.meta;
      if (!inserted && it->second.mode != state.mode) {
        throw SluiceException("operator state '" + name + "' has mode " +
                              toString(it->second.mode) + " in one subtask and " +
                              toString(state.mode) + " in subtask " + std::to_string(s) +
                              ": the snapshots do not belong to one operator");
      }
      it->second.subtasks.push_back(s);
      it->second.parts.push_back(&state);
    }
  }

  std::vector<OperatorStateSnapshot> out(p);
  const bool sameParallelism = old.size() == p;
  size_t start = 0;  // rotation of the larger SPLIT_DISTRIBUTE parts, as Flink's
  for (const auto& [name, named] : byName) {
    switch (named.mode) {
      case OperatorStateMode::kSplitDistribute: {
        if (sameParallelism) {
          for (size_t i = 0; i < p; ++i) {
            out[i].states[name].mode = named.mode;
            out[i].states[name].meta = named.meta;
          }
          for (size_t k = 0; k < named.parts.size(); ++k) {
            out[named.subtasks[k]].states[name] = *named.parts[k];
          }
          break;
        }
        size_t total = 0;
        for (const State* part : named.parts) total += part->size();
        const size_t base = total / p;
        const size_t rem = total % p;
        size_t partIndex = 0;
        size_t elementIndex = 0;
        for (size_t i = 0; i < p; ++i) {
          State& target = out[(start + i) % p].states[name];
          target.mode = named.mode;
          target.meta = named.meta;
          size_t count = base + (i < rem ? 1 : 0);
          while (count > 0) {
            const State& part = *named.parts[partIndex];
            size_t take = std::min(count, part.size() - elementIndex);
            target.appendRange(part, elementIndex, elementIndex + take);
            elementIndex += take;
            count -= take;
            if (elementIndex == part.size()) {
              ++partIndex;
              elementIndex = 0;
            }
          }
        }
        start = (start + rem) % p;
        break;
      }
      case OperatorStateMode::kUnion: {
        State all;
        all.mode = named.mode;
        all.meta = named.meta;
        for (const State* part : named.parts) all.appendRange(*part, 0, part->size());
        for (size_t i = 0; i < p; ++i) out[i].states[name] = all;
        break;
      }
      case OperatorStateMode::kBroadcast: {
        if (sameParallelism) {
          for (size_t k = 0; k < named.parts.size(); ++k) {
            out[named.subtasks[k]].states[name] = *named.parts[k];
          }
          break;
        }
        for (size_t i = 0; i < p; ++i) out[i].states[name] = *named.parts[i % named.parts.size()];
        break;
      }
    }
  }
  return out;
}

// ---- the store -----------------------------------------------------------------------------

namespace detail {

void throwOperatorStateNotSerializable(const std::string& name) {
  throw SluiceException("operator state '" + name +
                        "' cannot be snapshotted or restored: its element type has no "
                        "TypeSerializer or is not default-constructible (see type_serializer.h)");
}

void rethrowRestoreFailure(const std::string& name, size_t element) {
  std::string prefix = "cannot restore operator state '" + name + "': element " +
                       std::to_string(element) +
                       " does not deserialize as the requested type (was it written with "
                       "another type?): ";
  try {
    throw;
  } catch (const SerializationException& e) {
    throw SerializationException(prefix + e.what());
  } catch (const SluiceException& e) {
    throw SluiceException(prefix + e.what());
  }
}

void throwTrailingElementBytes(const std::string& name, size_t element, size_t trailing) {
  throw SerializationException("cannot restore operator state '" + name + "': element " +
                               std::to_string(element) + " has " + std::to_string(trailing) +
                               " bytes left over after deserializing the requested type (was it "
                               "written with another type?)");
}

void throwDuplicateBroadcastKey(const std::string& name, size_t element) {
  throw SerializationException("cannot restore broadcast state '" + name + "': element " +
                               std::to_string(element) + " repeats a key of an earlier entry");
}

}  // namespace detail

std::set<std::string> OperatorStateStore::getRegisteredStateNames() const {
  std::set<std::string> names;
  for (const auto& [name, r] : states_) {
    if (r.mode != OperatorStateMode::kBroadcast) names.insert(name);
  }
  return names;
}

std::set<std::string> OperatorStateStore::getRegisteredBroadcastStateNames() const {
  std::set<std::string> names;
  for (const auto& [name, r] : states_) {
    if (r.mode == OperatorStateMode::kBroadcast) names.insert(name);
  }
  return names;
}

void OperatorStateStore::restore(const OperatorStateSnapshot& snapshot) {
  restore(OperatorStateSnapshot(snapshot));
}

void OperatorStateStore::restore(OperatorStateSnapshot&& snapshot) {
  if (restored_ || !states_.empty()) {
    throw SluiceException(
        "OperatorStateStore::restore() must be called once, before any state is requested");
  }
  pending_ = std::move(snapshot.states);
  restored_ = true;
}

OperatorStateSnapshot OperatorStateStore::snapshot() const {
  OperatorStateSnapshot snapshot;
  for (const auto& [name, r] : states_) {
    auto& state = snapshot.states[name];
    state.mode = r.mode;
    state.meta = r.entry->metaInfo();
    r.entry->snapshotElements(state);
  }
  for (const auto& [name, state] : pending_) snapshot.states.emplace(name, state);
  return snapshot;
}

detail::OperatorStateEntry* OperatorStateStore::find(const StateDescriptorBase& descriptor,
                                                     OperatorStateMode mode) const {
  if (descriptor.ttlConfig) {
    throw SluiceException("operator state '" + descriptor.name +
                          "': time-to-live is only supported for keyed state (as in Flink); "
                          "remove enableTimeToLive() from its descriptor");
  }
  auto it = states_.find(descriptor.name);
  if (it == states_.end()) return nullptr;
  if (it->second.mode != mode) {
    throw SluiceException("operator state '" + descriptor.name + "' is already registered as " +
                          describe(it->second.mode) + "; it cannot also be used as " +
                          describe(mode) + ": state names are unique per operator");
  }
  return it->second.entry.get();
}

const OperatorStateSnapshot::State* OperatorStateStore::findRestored(const std::string& name,
                                                                     OperatorStateMode mode) const {
  auto it = pending_.find(name);
  if (it == pending_.end()) return nullptr;
  if (it->second.mode != mode) {
    throw SluiceException("operator state '" + name + "' was restored as " +
                          describe(it->second.mode) + "; it cannot be requested as " +
                          describe(mode) + ": a state keeps its kind across checkpoints");
  }
  return &it->second;
}

void OperatorStateStore::add(const std::string& name, OperatorStateMode mode,
                             std::unique_ptr<detail::OperatorStateEntry> entry) {
  states_.emplace(name, Registered{mode, std::move(entry)});
  pending_.erase(name);
}

void OperatorStateStore::throwOtherType(const std::string& name, OperatorStateMode mode) const {
  throw SluiceException("operator state '" + name + "' is already registered as " + describe(mode) +
                        " with other element types; every use of a name must have the same "
                        "types");
}

void BroadcastStateStore::throwUndeclared(const std::string& name) {
  throw SluiceException("broadcast state '" + name +
                        "' does not exist: declare its descriptor in broadcast(...)");
}

}  // namespace sluice
