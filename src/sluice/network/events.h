#pragma once

#include <cstdint>

#include "sluice/network/buffer.h"

namespace sluice {

/// Runtime events that travel in a channel in order with the data, each in a buffer of its
/// own (Flink's AbstractEvent subclasses). Watermarks are not events: they are stream
/// elements inside data buffers (see stream_element.h).
enum class EventType : uint8_t {
  kEndOfPartition = 1,  ///< the producer subtask has finished; last thing in a channel
  kCheckpointBarrier = 2,
  kCancelCheckpointMarker = 3,
};

/// Flink's CheckpointBarrier: id, trigger time (ms since epoch) and options.
struct CheckpointBarrier {
  int64_t checkpointId = 0;
  int64_t timestamp = 0;
  bool unaligned = false;
  bool savepoint = false;
};

/// One decoded event.
struct RuntimeEvent {
  EventType type = EventType::kEndOfPartition;
  CheckpointBarrier barrier;  ///< for kCheckpointBarrier and kCancelCheckpointMarker (id only)
};

/// Encodes an event into an unpooled event buffer.
BufferPtr serializeEvent(const RuntimeEvent& event);
/// Decodes an event buffer. Throws SerializationException on an unknown or truncated event.
RuntimeEvent deserializeEvent(const Buffer& buffer);

}  // namespace sluice
