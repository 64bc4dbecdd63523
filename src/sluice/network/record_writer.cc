#include "sluice/network/record_writer.h"

#include <algorithm>

namespace sluice {

RecordWriter::RecordWriter(ResultPartition& partition, bool flushAlways)
    : partition_(partition),
      flushAlways_(flushAlways),
      current_(static_cast<size_t>(partition.numSubpartitions())) {}

RecordWriter::~RecordWriter() = default;

void RecordWriter::append(const uint8_t* bytes, size_t n, int channel) {
  BufferPtr& cur = current_[static_cast<size_t>(channel)];
  while (n > 0) {
    if (!cur) cur = partition_.bufferPool().requestBlocking();
    size_t take = std::min<size_t>(n, cur->remaining());
    std::memcpy(cur->data + cur->size, bytes, take);
    cur->size += static_cast<uint32_t>(take);
    bytes += take;
    n -= take;
    if (cur->remaining() == 0) partition_.subpartition(channel).add(std::move(cur));
  }
}

void RecordWriter::emitSlow(const uint8_t* bytes, size_t n, int channel) {
  bytesOut_ += static_cast<int64_t>(n);
  append(bytes, n, channel);
  if (flushAlways_) flush(channel);
}

void RecordWriter::broadcastEmit(const uint8_t* bytes, size_t n) {
  for (int c = 0; c < numChannels(); ++c) emit(bytes, n, c);
}

void RecordWriter::flush(int channel) {
  BufferPtr& cur = current_[static_cast<size_t>(channel)];
  if (cur && cur->size > 0) partition_.subpartition(channel).add(std::move(cur));
}

void RecordWriter::flushAll() {
  for (int c = 0; c < numChannels(); ++c) flush(c);
}

void RecordWriter::broadcastEvent(const RuntimeEvent& event) {
  flushAll();
  for (int c = 0; c < numChannels(); ++c) partition_.subpartition(c).add(serializeEvent(event));
  if (event.type == EventType::kEndOfPartition) releaseBuffers();
}

void RecordWriter::broadcastPriorityEvent(const RuntimeEvent& event,
                                          std::vector<std::vector<uint8_t>>& overtaken) {
  flushAll();
  overtaken.assign(static_cast<size_t>(numChannels()), {});
  for (int c = 0; c < numChannels(); ++c) {
    partition_.subpartition(c).addPriorityEvent(serializeEvent(event),
                                                &overtaken[static_cast<size_t>(c)]);
  }
}

void RecordWriter::emitRestoredData(int channel, const uint8_t* bytes, size_t n) {
  append(bytes, n, channel);
  flush(channel);
}

void RecordWriter::releaseBuffers() {
  for (auto& b : current_) b.reset();
}

}  // namespace sluice
