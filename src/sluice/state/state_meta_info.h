#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/serializer_description.h"

namespace sluice {

/// A restored state's serializers do not match the ones the job now declares for it (Flink's
/// StateMigrationException). Deterministic, so restarting cannot help: it suppresses restarts.
class StateMigrationException : public SuppressRestartsException {
 public:
  using SuppressRestartsException::SuppressRestartsException;
};

/// What a snapshot records about one state's serializers (Flink's StateMetaInfoSnapshot with
/// its serializer snapshots): per role, the serializerDescription() of the type. Roles in a
/// fixed order per kind of state: keyed state "key", "namespace", "value" (the stored value:
/// for ListState<T> a list of T); operator list state "element"; broadcast state "key",
/// "value". A plain value.
struct StateMetaInfo {
  std::vector<std::pair<std::string, std::string>> serializers;  ///< (role, description)

  template <typename K, typename N, typename V>
  static StateMetaInfo keyed() {
    return {{{"key", serializerDescription<K>()},
             {"namespace", serializerDescription<N>()},
             {"value", serializerDescription<V>()}}};
  }
  template <typename T>
  static StateMetaInfo list() {
    return {{{"element", serializerDescription<T>()}}};
  }
  template <typename UK, typename UV>
  static StateMetaInfo broadcast() {
    return {{{"key", serializerDescription<UK>()}, {"value", serializerDescription<UV>()}}};
  }

  /// Nothing recorded: state written before snapshots recorded serializers (checkpoint
  /// metadata before version 4, operator state format 1). Restores without a check.
  bool empty() const { return serializers.empty(); }
  /// Why state written with serializers `restored` cannot be read with these; "" when it can
  /// (the same descriptions, or `restored` empty). Sluice has no state migration: any
  /// difference is incompatible.
  std::string incompatibilityWith(const StateMetaInfo& restored) const;
  /// varint count, then per serializer role and description (varint length + UTF-8 bytes).
  void serialize(DataOutputView& out) const;
  /// Reads what serialize() wrote. Throws SerializationException on truncated input.
  static StateMetaInfo deserialize(DataInputView& in);

  friend bool operator==(const StateMetaInfo&, const StateMetaInfo&) = default;
};

/// Throws StateMigrationException when `current` cannot read state written with `restored`,
/// naming `what` (e.g. "keyed state 'count'") and both serializers.
void checkStateCompatibility(const std::string& what, const StateMetaInfo& current,
                             const StateMetaInfo& restored);

}  // namespace sluice
