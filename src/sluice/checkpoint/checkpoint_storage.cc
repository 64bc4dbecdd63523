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

std::string errnoMessage(int error) {
  return std::error_code(error, std::generic_category()).message();
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
  if (!isPlainStateFileName(handle.file)) {
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
  if (!isPlainStateFileName(file)) {
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
