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

/// Flink's CheckpointBarrier: id, trigger time (ms since epoch) and options (Flink's
/// CheckpointOptions, the alignment part):
///
/// - `unaligned`: the checkpoint is taken unaligned (FLIP-76): a task snapshots at the first
///   barrier, forwards it ahead of its queued output buffers and stores the overtaken data as
///   channel state (see checkpoint_barrier_handler.h). Flink's AlignmentType.UNALIGNED.
/// - `alignedCheckpointTimeoutMillis` > 0 with `unaligned` false: aligned with a timeout (Flink's
///   CheckpointOptions.alignedWithTimeout, `execution.checkpointing.aligned-checkpoint-timeout`):
///   a task aligns, and switches to unaligned when its alignment has lasted that long (ms) or an
///   unaligned barrier of the same checkpoint arrives; it then forwards the barrier unaligned.
/// - `savepoint`: savepoints are always aligned (as Flink forces them), whatever the flags say.
///
/// Only meaningful in exactly-once mode; at-least-once ignores the alignment options.
struct CheckpointBarrier {
  int64_t checkpointId = 0;
  int64_t timestamp = 0;
  bool unaligned = false;
  bool savepoint = false;
  int64_t alignedCheckpointTimeoutMillis = 0;

  /// Whether a task takes this checkpoint unaligned from its first barrier.
  bool isUnalignedNow() const { return unaligned && !savepoint; }
  /// Whether an aligned checkpoint may switch to unaligned after a timeout.
  bool isTimeoutable() const {
    return !unaligned && !savepoint && alignedCheckpointTimeoutMillis > 0;
  }
};

/// One decoded event.
struct RuntimeEvent {
  EventType type = EventType::kEndOfPartition;
  CheckpointBarrier barrier;  ///< for kCheckpointBarrier and kCancelCheckpointMarker (id only)
};

/// Encodes an event into an unpooled event buffer. Barriers and cancellation markers take 26
/// bytes (type, id, timestamp, flags, aligned-checkpoint timeout), an end of partition 1.
BufferPtr serializeEvent(const RuntimeEvent& event);
/// Decodes an event buffer. Throws SerializationException on an unknown or truncated event.
RuntimeEvent deserializeEvent(const Buffer& buffer);

}  // namespace sluice
