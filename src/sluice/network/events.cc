#include "sluice/network/events.h"

#include <string>

#include "sluice/core/data_view.h"

namespace sluice {

BufferPtr serializeEvent(const RuntimeEvent& event) {
  DataOutputView out;
  out.writeRaw<uint8_t>(static_cast<uint8_t>(event.type));
  if (event.type != EventType::kEndOfPartition) {
    out.writeRaw<int64_t>(event.barrier.checkpointId);
    out.writeRaw<int64_t>(event.barrier.timestamp);
    out.writeRaw<uint8_t>((event.barrier.unaligned ? 1 : 0) | (event.barrier.savepoint ? 2 : 0));
    out.writeRaw<int64_t>(event.barrier.alignedCheckpointTimeoutMillis);
  }
  BufferPtr buffer = allocateUnpooledBuffer(static_cast<uint32_t>(out.size()), BufferType::kEvent);
  std::memcpy(buffer->data, out.data(), out.size());
  buffer->size = static_cast<uint32_t>(out.size());
  return buffer;
}

RuntimeEvent deserializeEvent(const Buffer& buffer) {
  DataInputView in(buffer.data, buffer.size);
  RuntimeEvent event;
  uint8_t type = in.readRaw<uint8_t>();
  switch (type) {
    case static_cast<uint8_t>(EventType::kEndOfPartition):
      event.type = EventType::kEndOfPartition;
      return event;
    case static_cast<uint8_t>(EventType::kCheckpointBarrier):
    case static_cast<uint8_t>(EventType::kCancelCheckpointMarker): {
      event.type = static_cast<EventType>(type);
      event.barrier.checkpointId = in.readRaw<int64_t>();
      event.barrier.timestamp = in.readRaw<int64_t>();
      uint8_t flags = in.readRaw<uint8_t>();
      event.barrier.unaligned = flags & 1;
      event.barrier.savepoint = flags & 2;
      event.barrier.alignedCheckpointTimeoutMillis = in.readRaw<int64_t>();
      return event;
    }
    default:
      throw SerializationException("unknown runtime event type " + std::to_string(type));
  }
}

}  // namespace sluice
