#include "sluice/state/state_meta_info.h"

namespace sluice {

std::string StateMetaInfo::incompatibilityWith(const StateMetaInfo& restored) const {
  if (restored.empty() || restored == *this) return "";
  if (restored.serializers.size() != serializers.size()) {
    return "it was written as another kind of state (" +
           std::to_string(restored.serializers.size()) + " serializers, now " +
           std::to_string(serializers.size()) + ")";
  }
  for (size_t i = 0; i < serializers.size(); ++i) {
    const auto& [role, now] = serializers[i];
    const auto& [oldRole, then] = restored.serializers[i];
    if (role != oldRole) {
      return "it was written as another kind of state (serializer " + std::to_string(i + 1) +
             " was the " + oldRole + ", now the " + role + ")";
    }
    if (now != then) {
      return "its " + role + " serializer changed: written as '" + then + "', now '" + now +
             "'; Sluice cannot migrate state between serializers: restore with the old type, "
             "or give the state a new name";
    }
  }
  return "";
}

void StateMetaInfo::serialize(DataOutputView& out) const {
  out.writeVarUint(serializers.size());
  for (const auto& [role, description] : serializers) {
    out.writeString(role);
    out.writeString(description);
  }
}

StateMetaInfo StateMetaInfo::deserialize(DataInputView& in) {
  StateMetaInfo meta;
  const size_t n = in.readLength(2);
  meta.serializers.resize(n);
  for (auto& [role, description] : meta.serializers) {
    in.readString(role);
    in.readString(description);
  }
  return meta;
}

void checkStateCompatibility(const std::string& what, const StateMetaInfo& current,
                             const StateMetaInfo& restored) {
  std::string why = current.incompatibilityWith(restored);
  if (!why.empty()) throw StateMigrationException("cannot restore " + what + ": " + why);
}

}  // namespace sluice
