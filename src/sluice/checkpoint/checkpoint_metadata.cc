#include "sluice/checkpoint/checkpoint_storage.h"

// The `_metadata` file format (FileCheckpointStorage::serializeMetadata / deserializeMetadata):
// header, CRC and the versioned payload. Documented byte by byte in checkpoint_storage.h.

#include <zlib.h>

#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"

namespace sluice {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'C', 'K', 'M', 'E', 'T', 'A'};
constexpr size_t kVersionOffset = 8;
constexpr size_t kLengthOffset = 12;
constexpr size_t kCrcOffset = 20;
constexpr uint8_t kInlineBlob = 0;
constexpr uint8_t kFileRangeBlob = 1;  // version 3: string file, varint offset, varint length

static_assert(FileCheckpointStorage::kMetadataHeaderSize == kCrcOffset + sizeof(uint32_t));

// --- CRC ---------------------------------------------------------------------------------------

uLong crcUpdate(uLong crc, const uint8_t* data, size_t size) {
  // zlib's crc32 takes a 32-bit length; feed large inputs in chunks.
  constexpr size_t kChunk = size_t{1} << 30;
  while (size > 0) {
    const size_t n = std::min(size, kChunk);
    crc = ::crc32(crc, data, static_cast<uInt>(n));
    data += n;
    size -= n;
  }
  return crc;
}

// The checksum stored at kCrcOffset: over the header before it and the payload.
uint32_t metadataCrc(const uint8_t* file, size_t payloadSize) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  crc = crcUpdate(crc, file, kCrcOffset);
  crc = crcUpdate(crc, file + FileCheckpointStorage::kMetadataHeaderSize, payloadSize);
  return static_cast<uint32_t>(crc);
}

// --- serialization -----------------------------------------------------------------------------

void writeBlob(DataOutputView& out, const uint8_t* data, size_t size) {
  out.writeRaw<uint8_t>(kInlineBlob);
  out.writeVarUint(size);
  out.writeBytes(data, size);
}

void writeBlob(DataOutputView& out, const std::vector<uint8_t>& bytes) {
  writeBlob(out, bytes.data(), bytes.size());
}

// The bytes of an inline blob whose kind byte (at payload offset `at`) was read already.
std::vector<uint8_t> readInlineBlob(DataInputView& in, uint8_t kind, size_t at) {
  if (kind != kInlineBlob) {
    throw SerializationException(fmt::format(
        "unknown state blob kind {} at payload offset {} (written by a newer Sluice?)", kind, at));
  }
  const size_t size = in.readLength(1);
  std::vector<uint8_t> bytes(size);
  in.readBytes(bytes.data(), size);
  return bytes;
}

std::vector<uint8_t> readBlob(DataInputView& in) {
  const size_t at = in.position();
  const auto kind = in.readRaw<uint8_t>();
  return readInlineBlob(in, kind, at);
}

// A varint that must fit a non-negative int.
int readIndex(DataInputView& in, std::string_view what) {
  const size_t at = in.position();
  const uint64_t value = in.readVarUint();
  if (value > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    throw SerializationException(
        fmt::format("{} {} at payload offset {} is out of range", what, value, at));
  }
  return static_cast<int>(value);
}

void checkConsistent(bool ok, std::string_view message) {
  if (!ok) throw SluiceException(std::string(message));
}

void serializePayload(const CompletedCheckpoint& checkpoint, DataOutputView& out) {
  out.writeString(checkpoint.jobId);
  out.writeRaw<int64_t>(checkpoint.checkpointId);
  out.writeRaw<int64_t>(checkpoint.timestamp);
  out.writeRaw<uint8_t>(checkpoint.savepoint ? 1 : 0);
  out.writeVarUint(checkpoint.operators.size());
  DataOutputView operatorStateBytes;
  for (const auto& [operatorId, op] : checkpoint.operators) {
    const std::string where =
        fmt::format("checkpoint {} of job '{}', operator '{}' ({})", checkpoint.checkpointId,
                    checkpoint.jobId, op.operatorName, operatorId);
    checkConsistent(op.operatorId.empty() || op.operatorId == operatorId,
                    fmt::format("Cannot write {}: its operatorId '{}' differs from its map key",
                                where, op.operatorId));
    checkConsistent(op.parallelism >= 1,
                    fmt::format("Cannot write {}: parallelism {} < 1", where, op.parallelism));
    out.writeString(operatorId);
    out.writeString(op.operatorName);
    out.writeRaw<int32_t>(op.parallelism);
    out.writeRaw<int32_t>(op.maxParallelism);
    writeBlob(out, op.coordinatorState);
    out.writeVarUint(op.subtasks.size());
    for (const auto& [index, subtask] : op.subtasks) {
      checkConsistent(index >= 0 && index < op.parallelism,
                      fmt::format("Cannot write {}: subtask index {} is outside [0, {})", where,
                                  index, op.parallelism));
      out.writeVarUint(static_cast<uint64_t>(index));
      const KeyedStateSnapshot& keyed = subtask.keyedState;
      checkConsistent(keyed.maxParallelism >= 0,
                      fmt::format("Cannot write {}: subtask {} has keyed-state max parallelism {}",
                                  where, index, keyed.maxParallelism));
      out.writeRaw<int32_t>(keyed.maxParallelism);
      const KeyGroupsStateHandle& handle = subtask.keyedStateHandle;
      checkConsistent(handle.empty() || keyed.keyGroups.empty(),
                      fmt::format("Cannot write {}: subtask {} has keyed state both inline and in "
                                  "file '{}'",
                                  where, index, handle.file));
      checkConsistent(handle.empty() || isPlainStateFileName(handle.file),
                      fmt::format("Cannot write {}: subtask {} has state file '{}', not a plain "
                                  "file name",
                                  where, index, handle.file));
      out.writeVarUint(handle.empty() ? keyed.keyGroups.size() : handle.keyGroups.size());
      auto checkKeyGroup = [&](int keyGroup) {
        checkConsistent(keyGroup >= 0 && keyGroup < keyed.maxParallelism,
                        fmt::format("Cannot write {}: subtask {} has key group {} outside [0, {})",
                                    where, index, keyGroup, keyed.maxParallelism));
        out.writeVarUint(static_cast<uint64_t>(keyGroup));
      };
      for (const auto& [keyGroup, bytes] : keyed.keyGroups) {
        checkKeyGroup(keyGroup);
        writeBlob(out, bytes);
      }
      for (const auto& [keyGroup, range] : handle.keyGroups) {
        checkKeyGroup(keyGroup);
        out.writeRaw<uint8_t>(kFileRangeBlob);
        out.writeString(handle.file);
        out.writeVarUint(range.offset);
        out.writeVarUint(range.length);
      }
      if (subtask.operatorState.empty()) {
        writeBlob(out, nullptr, 0);
      } else {
        operatorStateBytes.clear();
        subtask.operatorState.serialize(operatorStateBytes);
        writeBlob(out, operatorStateBytes.data(), operatorStateBytes.size());
      }
      out.writeVarUint(subtask.inputChannelState.size());
      for (const auto& [channel, bytes] : subtask.inputChannelState) {
        checkConsistent(channel >= 0,
                        fmt::format("Cannot write {}: subtask {} has negative channel index {}",
                                    where, index, channel));
        out.writeVarUint(static_cast<uint64_t>(channel));
        writeBlob(out, bytes);
      }
      // Version 2: output (result subpartition) channel state.
      out.writeVarUint(subtask.resultSubpartitionState.size());
      for (const auto& [info, bytes] : subtask.resultSubpartitionState) {
        checkConsistent(info.partitionIndex >= 0 && info.subpartitionIndex >= 0,
                        fmt::format("Cannot write {}: subtask {} has negative result subpartition "
                                    "({}, {})",
                                    where, index, info.partitionIndex, info.subpartitionIndex));
        out.writeVarUint(static_cast<uint64_t>(info.partitionIndex));
        out.writeVarUint(static_cast<uint64_t>(info.subpartitionIndex));
        writeBlob(out, bytes);
      }
      // Version 4: the serializers of each keyed state.
      out.writeVarUint(keyed.stateMetaInfo.size());
      for (const auto& [name, meta] : keyed.stateMetaInfo) {
        out.writeString(name);
        meta.serialize(out);
      }
    }
  }
}

CompletedCheckpoint deserializePayload(DataInputView& in, uint32_t version) {
  CompletedCheckpoint checkpoint;
  in.readString(checkpoint.jobId);
  checkpoint.checkpointId = in.readRaw<int64_t>();
  checkpoint.timestamp = in.readRaw<int64_t>();
  const auto savepoint = in.readRaw<uint8_t>();
  if (savepoint > 1) {
    throw SerializationException(fmt::format("invalid savepoint flag {}", savepoint));
  }
  checkpoint.savepoint = savepoint == 1;
  // Smallest encodings: an operator takes at least 1+1+4+4+1 bytes, a subtask 1+4+1+1+1, a key
  // group or channel 1+1+1; readLength() rejects counts the remaining bytes cannot hold.
  const size_t operatorCount = in.readLength(11);
  const std::string* previousId = nullptr;
  for (size_t i = 0; i < operatorCount; ++i) {
    OperatorCheckpointState op;
    in.readString(op.operatorId);
    if (previousId != nullptr && !(*previousId < op.operatorId)) {
      throw SerializationException(
          fmt::format("operator ids not in ascending order at '{}'", op.operatorId));
    }
    in.readString(op.operatorName);
    op.parallelism = in.readRaw<int32_t>();
    op.maxParallelism = in.readRaw<int32_t>();
    op.coordinatorState = readBlob(in);
    if (op.parallelism < 1) {
      throw SerializationException(
          fmt::format("operator '{}' has parallelism {}", op.operatorId, op.parallelism));
    }
    const size_t subtaskCount = in.readLength(8);
    int previousIndex = -1;
    for (size_t s = 0; s < subtaskCount; ++s) {
      const int index = readIndex(in, "subtask index");
      if (index <= previousIndex || index >= op.parallelism) {
        throw SerializationException(
            fmt::format("operator '{}' has subtask index {} out of order or outside [0, {})",
                        op.operatorId, index, op.parallelism));
      }
      previousIndex = index;
      SubtaskCheckpointState subtask;
      subtask.keyedState.maxParallelism = in.readRaw<int32_t>();
      if (subtask.keyedState.maxParallelism < 0) {
        throw SerializationException(
            fmt::format("operator '{}' subtask {} has keyed-state max parallelism {}",
                        op.operatorId, index, subtask.keyedState.maxParallelism));
      }
      const size_t keyGroupCount = in.readLength(3);
      int previousKeyGroup = -1;
      for (size_t k = 0; k < keyGroupCount; ++k) {
        const int keyGroup = readIndex(in, "key group");
        if (keyGroup <= previousKeyGroup || keyGroup >= subtask.keyedState.maxParallelism) {
          throw SerializationException(fmt::format(
              "operator '{}' subtask {} has key group {} out of order or outside [0, {})",
              op.operatorId, index, keyGroup, subtask.keyedState.maxParallelism));
        }
        previousKeyGroup = keyGroup;
        const size_t at = in.position();
        const auto kind = in.readRaw<uint8_t>();
        if (version >= 3 && kind == kFileRangeBlob) {
          std::string file;
          in.readString(file);
          StateFileRange range;
          range.offset = in.readVarUint();
          range.length = in.readVarUint();
          KeyGroupsStateHandle& handle = subtask.keyedStateHandle;
          if (!isPlainStateFileName(file) || (!handle.empty() && handle.file != file) ||
              !subtask.keyedState.keyGroups.empty() ||
              range.offset > std::numeric_limits<uint64_t>::max() - range.length) {
            throw SerializationException(fmt::format(
                "operator '{}' subtask {} has an invalid state file reference '{}' at payload "
                "offset {} (a plain file name, one per subtask, not mixed with inline state)",
                op.operatorId, index, file, at));
          }
          handle.file = std::move(file);
          handle.keyGroups.emplace(keyGroup, range);
        } else {
          if (!subtask.keyedStateHandle.empty()) {
            throw SerializationException(fmt::format(
                "operator '{}' subtask {} mixes inline keyed state with state file '{}'",
                op.operatorId, index, subtask.keyedStateHandle.file));
          }
          subtask.keyedState.keyGroups.emplace(keyGroup, readInlineBlob(in, kind, at));
        }
      }
      const std::vector<uint8_t> operatorState = readBlob(in);
      if (!operatorState.empty()) {
        subtask.operatorState = OperatorStateSnapshot::deserialize(operatorState);
      }
      const size_t channelCount = in.readLength(3);
      int previousChannel = -1;
      for (size_t c = 0; c < channelCount; ++c) {
        const int channel = readIndex(in, "channel index");
        if (channel <= previousChannel) {
          throw SerializationException(
              fmt::format("operator '{}' subtask {} has channel index {} out of order",
                          op.operatorId, index, channel));
        }
        previousChannel = channel;
        subtask.inputChannelState.emplace(channel, readBlob(in));
      }
      if (version >= 2) {
        const size_t subpartitionCount = in.readLength(4);
        const ResultSubpartitionInfo* previous = nullptr;
        for (size_t r = 0; r < subpartitionCount; ++r) {
          ResultSubpartitionInfo info;
          info.partitionIndex = readIndex(in, "result partition index");
          info.subpartitionIndex = readIndex(in, "result subpartition index");
          if (previous != nullptr && !(*previous < info)) {
            throw SerializationException(fmt::format(
                "operator '{}' subtask {} has result subpartition ({}, {}) out of order",
                op.operatorId, index, info.partitionIndex, info.subpartitionIndex));
          }
          previous = &subtask.resultSubpartitionState.emplace(info, readBlob(in)).first->first;
        }
      }
      if (version >= 4) {
        const size_t stateCount = in.readLength(2);
        std::string name;
        for (size_t k = 0; k < stateCount; ++k) {
          in.readString(name);
          StateMetaInfo meta = StateMetaInfo::deserialize(in);
          if (!subtask.keyedState.stateMetaInfo.emplace(name, std::move(meta)).second) {
            throw SerializationException(
                fmt::format("operator '{}' subtask {} records the serializers of keyed state '{}' "
                            "twice",
                            op.operatorId, index, name));
          }
        }
      }
      op.subtasks.emplace(index, std::move(subtask));
    }
    const auto it = checkpoint.operators.emplace(op.operatorId, std::move(op)).first;
    previousId = &it->first;
  }
  if (!in.atEnd()) {
    throw SerializationException(
        fmt::format("{} unexpected bytes after the last operator", in.remaining()));
  }
  return checkpoint;
}
}  // namespace

bool isPlainStateFileName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::vector<uint8_t> FileCheckpointStorage::serializeMetadata(
    const CompletedCheckpoint& checkpoint) {
  DataOutputView out;
  out.writeBytes(kMagic, sizeof(kMagic));
  out.writeRaw<uint32_t>(kMetadataVersion);
  out.writeRaw<uint64_t>(0);  // payload length, patched below
  out.writeRaw<uint32_t>(0);  // CRC, patched below
  serializePayload(checkpoint, out);
  std::vector<uint8_t>& bytes = out.bytes();
  const uint64_t payloadSize = bytes.size() - kMetadataHeaderSize;
  std::memcpy(bytes.data() + kLengthOffset, &payloadSize, sizeof(payloadSize));
  const uint32_t crc = metadataCrc(bytes.data(), payloadSize);
  std::memcpy(bytes.data() + kCrcOffset, &crc, sizeof(crc));
  return std::move(bytes);
}

CompletedCheckpoint FileCheckpointStorage::deserializeMetadata(const uint8_t* data, size_t size,
                                                               std::string_view source) {
  if (size < sizeof(kMagic) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    if (size < sizeof(kMagic) && (size == 0 || std::memcmp(data, kMagic, size) == 0)) {
      throw SerializationException(
          fmt::format("Checkpoint metadata '{}' is truncated: {} bytes, the header alone takes {}",
                      source, size, kMetadataHeaderSize));
    }
    throw SerializationException(fmt::format(
        "'{}' is not a Sluice checkpoint metadata file (bad magic number); it may be corrupted",
        source));
  }
  if (size < kMetadataHeaderSize) {
    throw SerializationException(
        fmt::format("Checkpoint metadata '{}' is truncated: {} bytes, the header alone takes {}",
                    source, size, kMetadataHeaderSize));
  }
  uint32_t version;
  uint64_t payloadSize;
  uint32_t storedCrc;
  std::memcpy(&version, data + kVersionOffset, sizeof(version));
  std::memcpy(&payloadSize, data + kLengthOffset, sizeof(payloadSize));
  std::memcpy(&storedCrc, data + kCrcOffset, sizeof(storedCrc));
  const uint64_t actualPayload = size - kMetadataHeaderSize;
  if (payloadSize > actualPayload) {
    throw SerializationException(fmt::format(
        "Checkpoint metadata '{}' is truncated (or its header is corrupted): the header "
        "declares {} payload bytes but only {} follow",
        source, payloadSize, actualPayload));
  }
  if (payloadSize < actualPayload) {
    throw SerializationException(fmt::format(
        "Checkpoint metadata '{}' is corrupted: the header declares {} payload bytes but {} "
        "follow",
        source, payloadSize, actualPayload));
  }
  const uint32_t computedCrc = metadataCrc(data, payloadSize);
  if (computedCrc != storedCrc) {
    throw SerializationException(fmt::format(
        "Checkpoint metadata '{}' is corrupted: checksum mismatch (stored {:#010x}, computed "
        "{:#010x})",
        source, storedCrc, computedCrc));
  }
  // Checked after the CRC, so that a damaged version field reads as "corrupted", while a file
  // of a newer format (valid CRC) reads as such.
  if (version < 1 || version > kMetadataVersion) {
    throw SerializationException(fmt::format(
        "Checkpoint metadata '{}' has unsupported format version {}; this build reads versions "
        "1 to {} (was it written by a newer Sluice?)",
        source, version, kMetadataVersion));
  }
  DataInputView in(data + kMetadataHeaderSize, payloadSize);
  try {
    return deserializePayload(in, version);
  } catch (const SerializationException& e) {
    throw SerializationException(
        fmt::format("Checkpoint metadata '{}' is corrupted: {}", source, e.what()));
  }
}

}  // namespace sluice
