#include "sluice/checkpoint/checkpoint_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"
#include "sluice/core/strings.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'S', 'L', 'C', 'K', 'M', 'E', 'T', 'A'};
constexpr size_t kVersionOffset = 8;
constexpr size_t kLengthOffset = 12;
constexpr size_t kCrcOffset = 20;
constexpr uint8_t kInlineBlob = 0;
constexpr uint8_t kFileRangeBlob = 1;  // version 3: string file, varint offset, varint length

static_assert(FileCheckpointStorage::kMetadataHeaderSize == kCrcOffset + sizeof(uint32_t));

std::string errnoMessage(int error) {
  return std::error_code(error, std::generic_category()).message();
}

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

// A name for a file directly inside a checkpoint directory: no path separator, not "." or
// "..", no NUL. State file references are checked against it, so a metadata file can never
// make a restore read outside its directory.
bool isPlainFileName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
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
      checkConsistent(handle.empty() || isPlainFileName(handle.file),
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
          if (!isPlainFileName(file) || (!handle.empty() && handle.file != file) ||
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

// --- files -------------------------------------------------------------------------------------

bool isValidJobIdForPath(const std::string& jobId) {
  return !jobId.empty() && jobId != "." && jobId != ".." && jobId.find('/') == std::string::npos &&
         jobId.find('\0') == std::string::npos;
}

void fsyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    throw IOException(
        fmt::format("Could not open '{}' to sync it: {}", path.string(), errnoMessage(errno)));
  }
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot sync directories (EINVAL); nothing more can be done there.
  if (result != 0 && !(directory && (error == EINVAL || error == ENOTSUP))) {
    throw IOException(fmt::format("Could not sync '{}': {}", path.string(), errnoMessage(error)));
  }
}

void writeFileSynced(const fs::path& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw IOException(fmt::format("Could not create '{}': {}", path.string(), errnoMessage(errno)));
  }
  auto fail = [&](std::string_view action, int error) {
    ::close(fd);
    ::unlink(path.c_str());
    throw IOException(
        fmt::format("Could not {} '{}': {}", action, path.string(), errnoMessage(error)));
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    written += static_cast<size_t>(n);
  }
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  if (result != 0) fail("sync", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    throw IOException(fmt::format("Could not close '{}': {}", path.string(), errnoMessage(error)));
  }
}

void createDirectories(const fs::path& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) {
    throw IOException(
        fmt::format("Could not create directory '{}': {}", directory.string(), ec.message()));
  }
}

std::vector<uint8_t> readWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IOException(fmt::format("Could not open checkpoint metadata '{}': {}", path.string(),
                                  errnoMessage(errno)));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw IOException(fmt::format("Could not read '{}'", path.string()));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw IOException(fmt::format("Could not read checkpoint metadata '{}'", path.string()));
  }
  return bytes;
}

// chk-<n> → n, for non-negative decimal n; otherwise nullopt.
std::optional<int64_t> checkpointIdOf(const std::string& name) {
  constexpr std::string_view prefix = FileCheckpointStorage::kCheckpointDirPrefix;
  if (!name.starts_with(prefix) || name.size() == prefix.size()) return std::nullopt;
  const char* begin = name.data() + prefix.size();
  const char* end = name.data() + name.size();
  if (!std::all_of(begin, end, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int64_t id = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, id);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return id;
}

std::string randomHex(size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  out.reserve(digits);
  uint32_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 8 == 0) bits = device();
    out += kHex[bits & 0xF];
    bits >>= 4;
  }
  return out;
}

// The first 6 characters of the job id usable in a file name (Flink uses the first 6 hex
// digits of the JobID).
std::string shortJobId(const std::string& jobId) {
  std::string out;
  for (char c : jobId) {
    if (out.size() == 6) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-') {
      out += c;
    }
  }
  return out.empty() ? std::string("job") : out;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// FileCheckpointStorage

FileCheckpointStorage::FileCheckpointStorage(std::string checkpointsDirectory,
                                             std::string defaultSavepointDirectory)
    : checkpointsDir_(toLocalPath(checkpointsDirectory)),
      savepointDir_(toLocalPath(defaultSavepointDirectory)) {}

FileCheckpointStorage::FileCheckpointStorage(const CheckpointConfig& config)
    : FileCheckpointStorage(config.getCheckpointStorage(), config.getDefaultSavepointDirectory()) {}

std::string FileCheckpointStorage::toLocalPath(std::string_view uri) {
  if (uri.size() >= 5 && equalsIgnoreCaseAscii(uri.substr(0, 5), "file:")) {
    std::string_view rest = uri.substr(5);
    if (rest.starts_with("//")) {
      rest.remove_prefix(2);
      const size_t slash = rest.find('/');
      const std::string_view host = rest.substr(0, slash);
      if (slash == std::string_view::npos || (!host.empty() && host != "localhost")) {
        throw ConfigurationException(
            fmt::format("Unsupported path '{}': a file URI must name a local absolute path, as "
                        "file:///path",
                        uri));
      }
      rest.remove_prefix(slash);
    }
    if (!rest.starts_with('/')) {
      throw ConfigurationException(
          fmt::format("Unsupported path '{}': a file URI must name an absolute path", uri));
    }
    return std::string(rest);
  }
  // Any other "scheme://" is a file system Sluice cannot write to.
  if (const size_t colon = uri.find("://"); colon != std::string_view::npos && colon > 0) {
    const std::string_view scheme = uri.substr(0, colon);
    const bool isScheme = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '.' || c == '-';
    });
    if (isScheme) {
      throw ConfigurationException(
          fmt::format("Unsupported path '{}': only local paths and file:// URIs are supported, "
                      "not '{}://'",
                      uri, scheme));
    }
  }
  return std::string(uri);
}

std::string FileCheckpointStorage::jobCheckpointsDirectory(const std::string& jobId) const {
  if (checkpointsDir_.empty()) {
    throw ConfigurationException(
        "No checkpoint directory configured: set 'execution.checkpointing.dir' (or "
        "'state.checkpoints.dir')");
  }
  if (!isValidJobIdForPath(jobId)) {
    throw SluiceException(fmt::format(
        "Job id '{}' cannot name a checkpoint directory: it must be non-empty, not '.' or "
        "'..', and contain no '/'",
        jobId));
  }
  return (fs::path(checkpointsDir_) / jobId).string();
}

std::string FileCheckpointStorage::checkpointDirectory(const std::string& jobId,
                                                       int64_t checkpointId) const {
  return (fs::path(jobCheckpointsDirectory(jobId)) /
          fmt::format("{}{}", kCheckpointDirPrefix, checkpointId))
      .string();
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

void FileCheckpointStorage::writeMetadataFile(const std::string& directory,
                                              const std::vector<uint8_t>& metadata) {
  const fs::path dir(directory);
  const fs::path target = dir / kMetadataFileName;
  const fs::path temporary = dir / (std::string(kMetadataFileName) + ".inprogress");
  writeFileSynced(temporary, metadata);
  std::error_code ec;
  if (fs::exists(target, ec)) {
    ::unlink(temporary.c_str());
    throw IOException(
        fmt::format("'{}' already exists; refusing to overwrite it", target.string()));
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw IOException(fmt::format("Could not rename '{}' to '{}': {}", temporary.string(),
                                  target.string(), errnoMessage(error)));
  }
  fsyncPath(dir, true);
}

std::string FileCheckpointStorage::writeCheckpoint(const CompletedCheckpoint& checkpoint) const {
  if (checkpoint.savepoint) {
    throw SluiceException(
        fmt::format("Checkpoint {} of job '{}' is a savepoint; write it with writeSavepoint()",
                    checkpoint.checkpointId, checkpoint.jobId));
  }
  if (checkpoint.checkpointId < 0) {
    throw SluiceException(fmt::format("Cannot write checkpoint {} of job '{}': negative id",
                                      checkpoint.checkpointId, checkpoint.jobId));
  }
  const fs::path jobDir = jobCheckpointsDirectory(checkpoint.jobId);
  const fs::path dir = checkpointDirectory(checkpoint.jobId, checkpoint.checkpointId);
  // Serialize first: an inconsistent checkpoint fails before anything is created.
  const std::vector<uint8_t> metadata = serializeMetadata(checkpoint);
  createDirectories(dir);
  std::error_code ec;
  if (fs::exists(dir / kMetadataFileName, ec)) {
    throw IOException(
        fmt::format("Checkpoint {} of job '{}' already exists at '{}'; refusing to overwrite it",
                    checkpoint.checkpointId, checkpoint.jobId, dir.string()));
  }
  writeMetadataFile(dir.string(), metadata);
  // Make the new directory entries durable up to the root.
  fsyncPath(jobDir, true);
  fsyncPath(checkpointsDir_, true);
  return dir.string();
}

std::string FileCheckpointStorage::writeSavepoint(const CompletedCheckpoint& checkpoint,
                                                  const std::string& targetDir) const {
  const std::string target = targetDir.empty() ? savepointDir_ : toLocalPath(targetDir);
  if (target.empty()) {
    throw ConfigurationException(
        "No savepoint directory: pass a target directory or set "
        "'execution.checkpointing.savepoint-dir' (or 'state.savepoints.dir')");
  }
  CompletedCheckpoint savepoint = checkpoint;
  savepoint.savepoint = true;
  const std::vector<uint8_t> metadata = serializeMetadata(savepoint);
  createDirectories(target);
  const std::string prefix =
      fmt::format("{}{}-", kSavepointDirPrefix, shortJobId(checkpoint.jobId));
  // As Flink: a random name, retried on the (unlikely) collision.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const fs::path dir = fs::path(target) / (prefix + randomHex(12));
    std::error_code ec;
    const bool created = fs::create_directory(dir, ec);
    if (ec) {
      throw IOException(
          fmt::format("Could not create savepoint directory '{}': {}", dir.string(), ec.message()));
    }
    if (!created) continue;
    writeMetadataFile(dir.string(), metadata);
    fsyncPath(target, true);
    return dir.string();
  }
  throw IOException(fmt::format("Could not create a fresh savepoint directory under '{}'", target));
}

CompletedCheckpoint FileCheckpointStorage::load(const std::string& path) {
  const fs::path p = toLocalPath(path);
  std::error_code ec;
  const fs::file_status status = fs::status(p, ec);
  if (!fs::exists(status)) {
    throw IOException(
        fmt::format("Cannot restore from '{}': no such file or directory", p.string()));
  }
  fs::path metadataFile = p;
  if (fs::is_directory(status)) {
    metadataFile = p / kMetadataFileName;
    if (!fs::exists(metadataFile, ec)) {
      throw IOException(fmt::format(
          "'{}' is not a complete checkpoint or savepoint: it has no {} file (the checkpoint "
          "was never completed, or is still being written)",
          p.string(), kMetadataFileName));
    }
  }
  const std::vector<uint8_t> bytes = readWholeFile(metadataFile);
  CompletedCheckpoint checkpoint =
      deserializeMetadata(bytes.data(), bytes.size(), metadataFile.string());
  checkpoint.directory = metadataFile.parent_path().string();
  return checkpoint;
}

KeyGroupsStateHandle FileCheckpointStorage::writeKeyGroupsFile(
    const std::string& directory, const std::string& namePrefix,
    const std::map<int, std::vector<uint8_t>>& keyGroups) {
  KeyGroupsStateHandle handle;
  handle.file = namePrefix + "-" + randomHex(16);
  if (!isPlainFileName(handle.file)) {
    throw SluiceException("state file name '" + handle.file + "' is not a plain file name");
  }
  const fs::path path = fs::path(directory) / handle.file;
  // O_EXCL: never overwrite; no O_CREAT of the directory: an aborted (deleted) checkpoint
  // directory makes the write fail instead of leaving a stray directory behind.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw IOException(
        fmt::format("Could not create state file '{}': {}", path.string(), errnoMessage(errno)));
  }
  uint64_t offset = 0;
  try {
    for (const auto& [keyGroup, bytes] : keyGroups) {
      size_t written = 0;
      while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          throw IOException(fmt::format("Could not write state file '{}': {}", path.string(),
                                        errnoMessage(errno)));
        }
        written += static_cast<size_t>(n);
      }
      handle.keyGroups.emplace(keyGroup, StateFileRange{offset, bytes.size()});
      offset += bytes.size();
    }
    // Durable before the acknowledgement: _metadata, written later, refers to it.
    if (::fsync(fd) != 0) {
      throw IOException(
          fmt::format("Could not sync state file '{}': {}", path.string(), errnoMessage(errno)));
    }
  } catch (...) {
    ::close(fd);
    std::error_code ignored;
    fs::remove(path, ignored);
    throw;
  }
  ::close(fd);
  return handle;
}

std::vector<uint8_t> FileCheckpointStorage::readStateFileRange(const std::string& directory,
                                                               const std::string& file,
                                                               StateFileRange range) {
  if (!isPlainFileName(file)) {
    throw SerializationException("state file reference '" + file + "' is not a plain file name");
  }
  const fs::path path = fs::path(directory) / file;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw IOException(fmt::format("Could not open state file '{}' of the checkpoint: {}",
                                  path.string(), errnoMessage(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || range.offset > static_cast<uint64_t>(st.st_size) ||
      range.length > static_cast<uint64_t>(st.st_size) - range.offset) {
    ::close(fd);
    throw SerializationException(fmt::format(
        "state file '{}' is shorter than the checkpoint says (bytes {} to {} of {}): truncated "
        "or replaced",
        path.string(), range.offset, range.offset + range.length, st.st_size));
  }
  std::vector<uint8_t> bytes(range.length);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done,
                              static_cast<off_t>(range.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      throw IOException(fmt::format("Could not read state file '{}': {}", path.string(),
                                    n == 0 ? std::string("unexpected end") : errnoMessage(error)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

std::string FileCheckpointStorage::resolveRestorePath(const std::string& spec) {
  constexpr std::string_view kLatest = "latest:";
  const std::string_view trimmed = trimAscii(spec);
  std::error_code ec;
  if (!trimmed.starts_with(kLatest)) {
    const fs::path p = toLocalPath(trimmed);
    const fs::file_status status = fs::status(p, ec);
    if (!fs::exists(status)) {
      throw IOException(
          fmt::format("Cannot restore from '{}': no such file or directory", p.string()));
    }
    if (fs::is_directory(status) && !fs::exists(p / kMetadataFileName, ec)) {
      throw IOException(
          fmt::format("'{}' is not a complete checkpoint or savepoint: it has no {} file",
                      p.string(), kMetadataFileName));
    }
    return p.string();
  }

  const fs::path root = toLocalPath(trimAscii(trimmed.substr(kLatest.size())));
  if (root.empty() || !fs::is_directory(root, ec)) {
    throw IOException(fmt::format(
        "Cannot restore from '{}': '{}' is not a directory of checkpoints", spec, root.string()));
  }
  struct Candidate {
    int64_t id;
    fs::path path;
  };
  std::vector<Candidate> candidates;
  auto collect = [&](const fs::path& dir, bool descend) {
    std::error_code iterError;
    for (fs::directory_iterator it(dir, iterError), end; !iterError && it != end;
         it.increment(iterError)) {
      std::error_code typeError;
      if (!it->is_directory(typeError)) continue;
      const std::string name = it->path().filename().string();
      if (std::optional<int64_t> id = checkpointIdOf(name)) {
        candidates.push_back({*id, it->path()});
      } else if (descend) {
        // A <jobId> directory (the checkpoints root was given): look one level down.
        std::error_code subError;
        for (fs::directory_iterator sub(it->path(), subError), subEnd; !subError && sub != subEnd;
             sub.increment(subError)) {
          std::error_code subTypeError;
          if (!sub->is_directory(subTypeError)) continue;
          if (std::optional<int64_t> subId = checkpointIdOf(sub->path().filename().string())) {
            candidates.push_back({*subId, sub->path()});
          }
        }
      }
    }
  };
  collect(root, true);
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.id != b.id ? a.id > b.id : a.path > b.path;
  });
  const Candidate* best = nullptr;
  int64_t bestTimestamp = 0;
  size_t skipped = 0;
  for (const Candidate& candidate : candidates) {
    if (best != nullptr && candidate.id < best->id) break;
    try {
      const CompletedCheckpoint checkpoint = load(candidate.path.string());
      if (best == nullptr || checkpoint.timestamp > bestTimestamp) {
        best = &candidate;
        bestTimestamp = checkpoint.timestamp;
      }
    } catch (const SluiceException& e) {
      ++skipped;
      spdlog::info("Skipping incomplete or invalid checkpoint '{}': {}", candidate.path.string(),
                   e.what());
    }
  }
  if (best == nullptr) {
    throw IOException(
        fmt::format("Cannot restore from '{}': no complete checkpoint (chk-<n>/{}) in '{}' or its "
                    "sub-directories ({} incomplete or invalid found)",
                    spec, kMetadataFileName, root.string(), skipped));
  }
  return best->path.string();
}

void FileCheckpointStorage::discard(const std::string& path) {
  fs::path p = fs::path(toLocalPath(path)).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // trailing '/'
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(p, ec);
  if (!fs::exists(status)) return;
  fs::path dir = p;
  if (!fs::is_directory(status)) {
    if (p.filename() != kMetadataFileName) {
      throw SluiceException(
          fmt::format("Refusing to discard '{}': not a checkpoint directory or its {} file",
                      p.string(), kMetadataFileName));
    }
    dir = p.parent_path();
  }
  const std::string name = dir.filename().string();
  if (!checkpointIdOf(name) &&
      !(name.starts_with(kSavepointDirPrefix) && name.size() > kSavepointDirPrefix.size())) {
    throw SluiceException(fmt::format(
        "Refusing to delete '{}': not a checkpoint (chk-<n>) or savepoint (savepoint-*) "
        "directory",
        dir.string()));
  }
  // _metadata first: an interrupted delete leaves an incomplete checkpoint, never one that looks
  // complete but misses files.
  fs::remove(dir / kMetadataFileName, ec);
  if (ec) {
    throw IOException(
        fmt::format("Could not delete '{}': {}", (dir / kMetadataFileName).string(), ec.message()));
  }
  fs::remove_all(dir, ec);
  if (ec) {
    throw IOException(fmt::format("Could not delete '{}': {}", dir.string(), ec.message()));
  }
}

// -----------------------------------------------------------------------------------------------
// CompletedCheckpointStore

CompletedCheckpointStore::CompletedCheckpointStore(int maxRetained,
                                                   ExternalizedCheckpointRetention retention)
    : maxRetained_(maxRetained), retention_(retention) {
  if (maxRetained < 1) {
    throw ConfigurationException(
        fmt::format("Number of retained checkpoints must be at least 1, got {}", maxRetained));
  }
}

CompletedCheckpointStore::CompletedCheckpointStore(const CheckpointConfig& config)
    : CompletedCheckpointStore(config.getMaxRetainedCheckpoints(),
                               config.getExternalizedCheckpointRetention()) {}

std::vector<RetainedCheckpoint> CompletedCheckpointStore::addCheckpoint(
    RetainedCheckpoint checkpoint) {
  if (checkpoint.checkpoint != nullptr && checkpoint.checkpoint->savepoint) {
    throw SluiceException(fmt::format(
        "Savepoint {} cannot be added to the completed checkpoint store; savepoints are never "
        "retained or subsumed",
        checkpoint.checkpointId));
  }
  std::vector<RetainedCheckpoint> subsumed;
  {
    std::lock_guard lock(mutex_);
    if (!checkpoints_.empty() && checkpoint.checkpointId <= checkpoints_.back().checkpointId) {
      throw SluiceException(
          fmt::format("Completed checkpoint {} is not newer than the latest retained checkpoint {}",
                      checkpoint.checkpointId, checkpoints_.back().checkpointId));
    }
    checkpoints_.push_back(std::move(checkpoint));
    const size_t excess = checkpoints_.size() > static_cast<size_t>(maxRetained_)
                              ? checkpoints_.size() - static_cast<size_t>(maxRetained_)
                              : 0;
    std::move(checkpoints_.begin(), checkpoints_.begin() + static_cast<ptrdiff_t>(excess),
              std::back_inserter(subsumed));
    checkpoints_.erase(checkpoints_.begin(), checkpoints_.begin() + static_cast<ptrdiff_t>(excess));
  }
  for (const RetainedCheckpoint& old : subsumed) discardQuietly(old);
  return subsumed;
}

std::optional<RetainedCheckpoint> CompletedCheckpointStore::latestCheckpoint() const {
  std::lock_guard lock(mutex_);
  if (checkpoints_.empty()) return std::nullopt;
  return checkpoints_.back();
}

std::vector<RetainedCheckpoint> CompletedCheckpointStore::allCheckpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

size_t CompletedCheckpointStore::numberOfRetainedCheckpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_.size();
}

bool CompletedCheckpointStore::shutdown(JobTerminalStatus status) {
  std::vector<RetainedCheckpoint> retained;
  {
    std::lock_guard lock(mutex_);
    retained.swap(checkpoints_);
  }
  const bool discard = discardRetainedCheckpointsOn(retention_, status);
  if (discard) {
    for (const RetainedCheckpoint& checkpoint : retained) discardQuietly(checkpoint);
  } else if (!retained.empty()) {
    spdlog::info("Job {}: keeping {} retained checkpoint(s) ({}), the latest at '{}'",
                 toString(status), retained.size(), toString(retention_), retained.back().path);
  }
  return discard;
}

void CompletedCheckpointStore::discardQuietly(const RetainedCheckpoint& checkpoint) {
  if (checkpoint.path.empty()) return;
  try {
    FileCheckpointStorage::discard(checkpoint.path);
  } catch (const SluiceException& e) {
    spdlog::warn("Could not discard checkpoint {} at '{}': {}", checkpoint.checkpointId,
                 checkpoint.path, e.what());
  }
}

}  // namespace sluice
