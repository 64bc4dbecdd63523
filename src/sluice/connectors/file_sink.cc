#include "sluice/connectors/file_sink.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "sluice/core/clock.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::string errnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

void appendPadded(int64_t value, int width, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), value < 0 ? -value : value);
  int digits = static_cast<int>(r.ptr - buf);
  if (value < 0) out += '-';
  for (int i = digits; i < width; ++i) out += '0';
  out.append(buf, r.ptr);
}

}  // namespace

// ---- BucketAssignerContext / DateTimeBucketFormatter ------------------------------------

int64_t BucketAssignerContext::currentProcessingTime() const {
  return writer_.currentProcessingTime();
}

DateTimeBucketFormatter::DateTimeBucketFormatter(std::string pattern)
    : pattern_(std::move(pattern)) {
  const std::string& p = pattern_;
  auto addLiteral = [this](std::string_view text) {
    if (tokens_.empty() || tokens_.back().letter != 0) tokens_.push_back(Token{0, 0, ""});
    tokens_.back().literal += text;
  };
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '\'') {
      if (i + 1 < p.size() && p[i + 1] == '\'') {
        addLiteral("'");
        i += 2;
        continue;
      }
      size_t close = i + 1;
      std::string text;
      while (true) {
        if (close >= p.size()) {
          throw ConfigurationException("Unterminated quote in date-time bucket format '" + p + "'");
        }
        if (p[close] == '\'') {
          if (close + 1 < p.size() && p[close + 1] == '\'') {
            text += '\'';
            close += 2;
            continue;
          }
          break;
        }
        text += p[close++];
      }
      addLiteral(text);
      i = close + 1;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < p.size() && p[j] == c) ++j;
      int width = static_cast<int>(j - i);
      bool ok = false;
      switch (c) {
        case 'y':
        case 'd':
        case 'H':
        case 'm':
        case 's':
          ok = true;
          break;
        case 'M':
          ok = width <= 2;
          break;
        case 'S':
          ok = width <= 3;
          usesMillis_ = true;
          break;
        default:
          break;
      }
      if (!ok) {
        throw ConfigurationException("Unsupported pattern '" + p.substr(i, j - i) +
                                     "' in date-time bucket format '" + p +
                                     "': use y, M, MM, d, H, m, s, S and quoted text");
      }
      tokens_.push_back(Token{c, width, ""});
      i = j;
      continue;
    }
    addLiteral(std::string_view(&p[i], 1));
    ++i;
  }
}

void DateTimeBucketFormatter::format(int64_t millis, std::string& out) {
  int64_t key = usesMillis_ ? millis : (millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  if (key != cachedKey_) {
    cached_.clear();
    render(millis, cached_);
    cachedKey_ = key;
  }
  out += cached_;
}

void DateTimeBucketFormatter::render(int64_t millis, std::string& out) const {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds(millis)};
  sys_days day = floor<days>(tp);
  year_month_day ymd(day);
  hh_mm_ss<milliseconds> tod(tp - day);
  for (const Token& t : tokens_) {
    switch (t.letter) {
      case 0:
        out += t.literal;
        break;
      case 'y': {
        int64_t y = static_cast<int>(ymd.year());
        if (t.width == 2) {
          appendPadded(((y % 100) + 100) % 100, 2, out);
        } else {
          appendPadded(y, t.width, out);
        }
        break;
      }
      case 'M':
        appendPadded(static_cast<unsigned>(ymd.month()), t.width, out);
        break;
      case 'd':
        appendPadded(static_cast<unsigned>(ymd.day()), t.width, out);
        break;
      case 'H':
        appendPadded(tod.hours().count(), t.width, out);
        break;
      case 'm':
        appendPadded(tod.minutes().count(), t.width, out);
        break;
      case 's':
        appendPadded(tod.seconds().count(), t.width, out);
        break;
      case 'S': {
        // Fraction of a second, truncated to `width` digits (as Java's S).
        int64_t ms = tod.subseconds().count();
        int64_t v = t.width == 1 ? ms / 100 : t.width == 2 ? ms / 10 : ms;
        appendPadded(v, t.width, out);
        break;
      }
      default:
        break;
    }
  }
}

// ---- RowFileWriter ------------------------------------------------------------------------

struct RowFileWriter::Bucket {
  std::string id;
  std::string dir;  ///< base path joined with id
  bool dirCreated = false;
  int fd = -1;
  std::string inProgressPath;
  std::string finalPath;
  int64_t size = 0;          ///< bytes of the open part, buffered ones included
  int64_t creationTime = 0;  ///< ms
  int64_t lastUpdateTime = 0;
  bool writtenSinceCheck = false;
  std::string buffer;
};

RowFileWriter::RowFileWriter(std::string basePath, DefaultRollingPolicy policy,
                             OutputFileConfig fileConfig, int subtaskIndex,
                             ProcessingTimeService* timeService, int64_t bucketCheckIntervalMillis,
                             PartCommitMode commitMode, bool rollOnCheckpoint)
    : basePath_(std::move(basePath)),
      policy_(policy),
      fileConfig_(std::move(fileConfig)),
      subtaskIndex_(subtaskIndex),
      timeService_(timeService),
      commitMode_(commitMode),
      rollOnCheckpoint_(rollOnCheckpoint) {
  if (rollOnCheckpoint_) {
    // OnCheckpointRollingPolicy: never by size or time.
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    policy_ = DefaultRollingPolicy{kNever, kNever, kNever};
  }
  std::random_device rd;
  std::seed_seq seed{rd(), rd(), rd(), rd()};
  rng_.seed(seed);
  uuid_ = randomUuid();

  std::error_code ec;
  fs::create_directories(basePath_, ec);
  if (ec) {
    throw IOException("Cannot create the FileSink base path " + basePath_ + ": " + ec.message());
  }
  if (!fs::is_directory(basePath_, ec)) {
    throw IOException("The FileSink base path " + basePath_ + " is not a directory");
  }
  if (::access(basePath_.c_str(), W_OK | X_OK) != 0) {
    throw IOException("The FileSink base path " + basePath_ +
                      " is not writable: " + errnoText(errno));
  }

  if (timeService_ != nullptr && !rollOnCheckpoint_) {
    checkIntervalMillis_ = bucketCheckIntervalMillis;
    if (checkIntervalMillis_ <= 0) {
      int64_t smaller = std::min(policy_.rolloverIntervalMillis, policy_.inactivityIntervalMillis);
      checkIntervalMillis_ = std::clamp<int64_t>(smaller / 2, 1000, 60000);
    }
    timeService_->scheduleAtFixedRate(checkIntervalMillis_, [this](int64_t now) {
      if (!closed_) onProcessingTime(now);
    });
  }
}

RowFileWriter::~RowFileWriter() { abandonParts(); }

std::string RowFileWriter::randomUuid() {
  // Version 4 (random) UUID.
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

int64_t RowFileWriter::currentProcessingTime() const {
  return timeService_ != nullptr ? timeService_->currentProcessingTime()
                                 : SystemClock::instance()->currentTimeMillis();
}

int RowFileWriter::numOpenParts() const {
  int n = 0;
  for (const auto& [id, b] : buckets_) n += b->fd >= 0 ? 1 : 0;
  return n;
}

RowFileWriter::Bucket& RowFileWriter::bucketFor(std::string_view bucketId) {
  if (lastBucket_ != nullptr && lastBucket_->id == bucketId) return *lastBucket_;
  auto it = buckets_.find(std::string(bucketId));
  if (it == buckets_.end()) {
    auto bucket = std::make_unique<Bucket>();
    bucket->id = std::string(bucketId);
    bucket->dir = bucketId.empty() ? basePath_ : (fs::path(basePath_) / bucket->id).string();
    it = buckets_.emplace(bucket->id, std::move(bucket)).first;
  }
  lastBucket_ = it->second.get();
  return *lastBucket_;
}

void RowFileWriter::openPart(Bucket& bucket) {
  if (!bucket.dirCreated) {
    std::error_code ec;
    fs::create_directories(bucket.dir, ec);
    if (ec) {
      throw IOException("Cannot create the FileSink bucket directory " + bucket.dir + ": " +
                        ec.message());
    }
    bucket.dirCreated = true;
  }
  std::string name = fileConfig_.partPrefix + "-" + uuid_ + "-" + std::to_string(subtaskIndex_) +
                     "-" + std::to_string(nextPartCounter_++) + fileConfig_.partSuffix;
  fs::path dir(bucket.dir);
  bucket.finalPath = (dir / name).string();
  bucket.inProgressPath = (dir / ("." + name + ".inprogress." + randomUuid())).string();
  int fd;
  do {
    fd = ::open(bucket.inProgressPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    throw IOException("Cannot create the part file " + bucket.inProgressPath + ": " +
                      errnoText(errno));
  }
  bucket.fd = fd;
  bucket.size = 0;
  bucket.creationTime = currentProcessingTime();
  bucket.lastUpdateTime = bucket.creationTime;
  bucket.writtenSinceCheck = false;
  if (bucket.buffer.capacity() < kBufferSize) bucket.buffer.reserve(kBufferSize);
}

void RowFileWriter::writeBuffer(Bucket& bucket) {
  const char* p = bucket.buffer.data();
  size_t left = bucket.buffer.size();
  while (left > 0) {
    ssize_t w = ::write(bucket.fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IOException("Cannot write the part file " + bucket.inProgressPath + ": " +
                        errnoText(errno));
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  bucket.buffer.clear();
}

void RowFileWriter::closePart(Bucket& bucket) {
  writeBuffer(bucket);
  int fd = bucket.fd;
  bucket.fd = -1;
  if (commitMode_ == PartCommitMode::kOnCheckpoint && ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw IOException("Cannot sync the part file " + bucket.inProgressPath + ": " + errnoText(err));
  }
  if (::close(fd) != 0) {
    throw IOException("Cannot close the part file " + bucket.inProgressPath + ": " +
                      errnoText(errno));
  }
  if (commitMode_ == PartCommitMode::kOnCheckpoint) {
    pending_.push_back(FileSinkCommittable{bucket.id, bucket.inProgressPath, bucket.finalPath});
    return;
  }
  if (::rename(bucket.inProgressPath.c_str(), bucket.finalPath.c_str()) != 0) {
    throw IOException("Cannot commit the part file " + bucket.inProgressPath + " as " +
                      bucket.finalPath + ": " + errnoText(errno));
  }
  ++committedParts_;
}

void RowFileWriter::write(std::string_view bucketId, std::string_view bytes) {
  if (closed_) throw SluiceException("FileSink writer for " + basePath_ + " is closed");
  Bucket& bucket = bucketFor(bucketId);
  if (bucket.fd < 0) openPart(bucket);
  bucket.buffer.append(bytes);
  bucket.size += static_cast<int64_t>(bytes.size());
  bucket.writtenSinceCheck = true;
  if (bucket.buffer.size() >= kBufferSize) writeBuffer(bucket);
  if (bucket.size >= policy_.partSizeBytes) closePart(bucket);
}

void RowFileWriter::onProcessingTime(int64_t now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket& b = *it->second;
    if (b.fd >= 0) {
      // The last write is known to the precision of the check interval.
      if (b.writtenSinceCheck) {
        b.lastUpdateTime = now;
        b.writtenSinceCheck = false;
      }
      if (now - b.creationTime >= policy_.rolloverIntervalMillis ||
          now - b.lastUpdateTime >= policy_.inactivityIntervalMillis) {
        closePart(b);
      }
    }
    if (b.fd < 0) {
      // Forget idle buckets (hourly buckets would otherwise accumulate).
      if (lastBucket_ == &b) lastBucket_ = nullptr;
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

void RowFileWriter::flush(bool endOfInput) {
  for (auto& [id, b] : buckets_) {
    if (b->fd < 0) continue;
    if (endOfInput) {
      closePart(*b);
    } else {
      writeBuffer(*b);
    }
  }
}

std::vector<FileSinkCommittable> RowFileWriter::prepareCommit() {
  for (auto& [id, b] : buckets_) {
    // Flink's shouldRollOnCheckpoint: OnCheckpointRollingPolicy always, DefaultRollingPolicy
    // when the part exceeds the part size.
    if (b->fd >= 0 && (rollOnCheckpoint_ || b->size > policy_.partSizeBytes)) closePart(*b);
  }
  return std::exchange(pending_, {});
}

std::vector<FileWriterBucketState> RowFileWriter::snapshotState() {
  std::vector<FileWriterBucketState> states;
  if (commitMode_ != PartCommitMode::kOnCheckpoint) return states;
  for (auto& [id, b] : buckets_) {
    if (b->fd < 0) continue;
    writeBuffer(*b);
    if (::fsync(b->fd) != 0) {
      throw IOException("Cannot sync the part file " + b->inProgressPath + ": " + errnoText(errno));
    }
    if (b->writtenSinceCheck) {
      // As the bucket check would record it: a restored part's inactivity counts from here.
      b->lastUpdateTime = currentProcessingTime();
      b->writtenSinceCheck = false;
    }
    states.push_back(FileWriterBucketState{b->id, b->inProgressPath, b->finalPath, b->size,
                                           b->creationTime, b->lastUpdateTime});
  }
  return states;
}

void RowFileWriter::restoreState(const std::vector<FileWriterBucketState>& states) {
  for (const FileWriterBucketState& state : states) {
    int fd;
    do {
      fd = ::open(state.inProgressPath.c_str(), O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      int err = errno;
      throw IOException("Cannot resume the in-progress part file " + state.inProgressPath +
                        " of the restored checkpoint: " + errnoText(err) +
                        (err == ENOENT
                             ? " (a later checkpoint may have published it as " + state.finalPath +
                                   ": restore from the latest checkpoint; or it was removed)"
                             : ""));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size < state.validLength) {
      int err = errno;
      ::close(fd);
      throw IOException("Cannot resume the in-progress part file " + state.inProgressPath +
                        ": it holds " + std::to_string(st.st_size) + " bytes, the checkpoint " +
                        std::to_string(state.validLength) +
                        (st.st_size == 0 && err != 0 ? " (" + errnoText(err) + ")" : ""));
    }
    if (::ftruncate(fd, state.validLength) != 0 || ::lseek(fd, 0, SEEK_END) < 0) {
      int err = errno;
      ::close(fd);
      throw IOException("Cannot truncate the in-progress part file " + state.inProgressPath +
                        " to " + std::to_string(state.validLength) + " bytes: " + errnoText(err));
    }
    Bucket& bucket = bucketFor(state.bucketId);
    if (bucket.fd >= 0) {
      // Rescaling gave this subtask two open parts of one bucket: keep the first open and roll
      // this one (Flink's FileWriterBucket#merge).
      Bucket other;
      other.id = state.bucketId;
      other.fd = fd;
      other.inProgressPath = state.inProgressPath;
      other.finalPath = state.finalPath;
      closePart(other);
      continue;
    }
    bucket.dirCreated = true;
    bucket.fd = fd;
    bucket.inProgressPath = state.inProgressPath;
    bucket.finalPath = state.finalPath;
    bucket.size = state.validLength;
    bucket.creationTime = state.creationTime;
    bucket.lastUpdateTime = state.lastUpdateTime;
    bucket.writtenSinceCheck = false;
    if (bucket.buffer.capacity() < kBufferSize) bucket.buffer.reserve(kBufferSize);
  }
}

void RowFileWriter::close() {
  if (closed_) return;
  closed_ = true;
  if (commitMode_ == PartCommitMode::kOnCheckpoint) {
    // Never publish here: after a failure the open parts hold records of no checkpoint; after
    // end of input there are none (flush(true) closed them for commit).
    abandonParts();
    return;
  }
  try {
    for (auto& [id, b] : buckets_) {
      if (b->fd >= 0) closePart(*b);
    }
  } catch (...) {
    abandonParts();
    throw;
  }
}

void RowFileWriter::abandonParts() noexcept {
  for (auto& [id, b] : buckets_) {
    if (b->fd >= 0) {
      ::close(b->fd);
      b->fd = -1;
    }
  }
}

// ---- FileCommitter ------------------------------------------------------------------------

FileCommitter::Result FileCommitter::commitPart(const FileSinkCommittable& committable) {
  if (::rename(committable.pendingPath.c_str(), committable.finalPath.c_str()) == 0) {
    return Result::kCommitted;
  }
  int err = errno;
  if (err == ENOENT) {
    std::error_code ec;
    if (fs::exists(committable.finalPath, ec)) return Result::kAlreadyCommitted;
    if (!fs::exists(committable.pendingPath, ec)) return Result::kMissing;
  }
  throw IOException("Cannot commit the part file " + committable.pendingPath + " as " +
                    committable.finalPath + ": " + errnoText(err));
}

void prepareOutputDirectory(const std::string& basePath, WriteMode mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(basePath, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) {
    throw IOException("output directory " + basePath + " exists and is not a directory");
  }
  fs::directory_iterator it(basePath, ec);
  if (ec)
    throw IOException("FileSink cannot read its output directory " + basePath + ": " +
                      ec.message());
  if (it == fs::directory_iterator()) return;
  if (mode == WriteMode::kNoOverwrite) {
    throw IOException(
        "output directory " + basePath +
        " is not empty: a job that does not restore from a checkpoint or savepoint would add "
        "its part files to those of an earlier run. Remove it, choose another directory, "
        "restore the earlier run (-s), or overwrite it (FileSink: "
        "withWriteMode(WriteMode::kOverwrite))");
  }
  spdlog::warn("FileSink: deleting the contents of {} (WriteMode::kOverwrite)", basePath);
  std::vector<fs::path> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) entries.push_back(it->path());
  if (ec) throw IOException("FileSink cannot read " + basePath + ": " + ec.message());
  for (const fs::path& entry : entries) {
    fs::remove_all(entry, ec);
    if (ec) throw IOException("FileSink cannot clear " + entry.string() + ": " + ec.message());
  }
}

void FileCommitter::commit(std::vector<CommitRequest<FileSinkCommittable>>& requests) {
  for (auto& request : requests) {
    switch (commitPart(request.getCommittable())) {
      case Result::kCommitted:
        break;
      case Result::kAlreadyCommitted:
        request.signalAlreadyCommitted();
        break;
      case Result::kMissing: {
        std::string reason = "neither the pending part file " +
                             request.getCommittable().pendingPath + " nor its final file " +
                             request.getCommittable().finalPath + " exists";
        spdlog::warn("FileSink: cannot commit a part of a restored checkpoint: {}", reason);
        request.signalFailedWithKnownReason(std::move(reason));
        break;
      }
    }
  }
}

}  // namespace sluice
