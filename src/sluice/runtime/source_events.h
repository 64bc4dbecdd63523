#pragma once

// The operator events between a source's readers and its SourceCoordinator (Flink's
// ReaderRegistrationEvent, RequestSplitEvent, AddSplitEvent and NoMoreSplitsEvent). Format: one
// kind byte, then for AddSplits the splits as TypeSerializer<std::vector<SplitT>> writes them.
// Both ends run the same job binary, so the format needs no version of its own.

#include <string>
#include <vector>

#include "sluice/core/exceptions.h"
#include "sluice/core/type_serializer.h"
#include "sluice/runtime/operator_event.h"

namespace sluice {

enum class SourceEventKind : uint8_t {
  kReaderRegistration = 1,  ///< reader → coordinator: the reader is ready for splits
  kRequestSplit = 2,        ///< reader → coordinator: SourceReaderContext::sendSplitRequest
  kAddSplits = 3,           ///< coordinator → reader: splits to read
  kNoMoreSplits = 4,        ///< coordinator → reader: no split will follow
};

/// An event of `kind` with no payload (every kind but kAddSplits).
inline OperatorEvent sourceEvent(SourceEventKind kind) {
  return OperatorEvent{{static_cast<uint8_t>(kind)}};
}

/// The kind of source event `event`. Throws SerializationException when it is empty or of an
/// unknown kind (an event meant for another operator, or corrupt).
inline SourceEventKind sourceEventKind(const OperatorEvent& event) {
  if (event.bytes.empty() || event.bytes[0] < 1 || event.bytes[0] > 4) {
    throw SerializationException(
        "not a source event: " +
        (event.bytes.empty() ? std::string("empty") : "kind " + std::to_string(event.bytes[0])));
  }
  return static_cast<SourceEventKind>(event.bytes[0]);
}

/// An AddSplits event carrying `splits`.
template <Serializable SplitT>
OperatorEvent addSplitsEvent(const std::vector<SplitT>& splits) {
  DataOutputView out;
  out.writeRaw<uint8_t>(static_cast<uint8_t>(SourceEventKind::kAddSplits));
  TypeSerializer<std::vector<SplitT>>::serialize(splits, out);
  return OperatorEvent{std::vector<uint8_t>(out.data(), out.data() + out.size())};
}

/// The splits of an AddSplits event. Throws SerializationException when `event` is another kind
/// or its payload does not decode.
template <Serializable SplitT>
std::vector<SplitT> splitsOfEvent(const OperatorEvent& event) {
  if (sourceEventKind(event) != SourceEventKind::kAddSplits) {
    throw SerializationException("not an AddSplits event");
  }
  return deserializeFromBytes<std::vector<SplitT>>(event.bytes.data() + 1, event.bytes.size() - 1);
}

}  // namespace sluice
