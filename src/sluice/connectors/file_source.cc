#include "sluice/connectors/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <system_error>

#include "sluice/api/sources.h"
#include "sluice/core/exceptions.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadBufferSize = 1 << 20;  // decompressed bytes scanned for lines
constexpr size_t kCompressedBufferSize = 256 << 10;
constexpr int kMaxLinesPerPoll = 1024;
constexpr size_t kMaxBytesPerPoll = 256 << 10;

bool isHiddenName(const fs::path& path) {
  std::string name = path.filename().string();
  return !name.empty() && (name[0] == '.' || name[0] == '_');
}

bool isGzipPath(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

std::string errnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

int openForReading(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw IOException("Cannot read input file " + path + ": " + errnoText(errno));
  return fd;
}

/// Reads up to `n` bytes, retrying on EINTR; 0 at the end of the file.
size_t readFully(int fd, char* buffer, size_t n, const std::string& path) {
  size_t total = 0;
  while (total < n) {
    ssize_t r = ::read(fd, buffer + total, n - total);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IOException("Error reading input file " + path + ": " + errnoText(errno));
    }
    if (r == 0) break;
    total += static_cast<size_t>(r);
  }
  return total;
}

/// Opens `path` once to prove it readable and, for .gz files, that it starts with the gzip
/// magic bytes.
void checkReadable(const std::string& path) {
  int fd = openForReading(path);
  if (isGzipPath(path)) {
    unsigned char magic[2] = {0, 0};
    size_t n;
    try {
      n = readFully(fd, reinterpret_cast<char*>(magic), 2, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (n < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
      ::close(fd);
      throw IOException(
          "Not a gzip file: " + path +
          (n < 2 ? " (shorter than a gzip header)" : " (bad magic bytes at byte offset 0)") +
          "; rename it if it is not compressed");
    }
  }
  ::close(fd);
}

void listPath(const std::string& input, std::vector<std::string>& out) {
  std::error_code ec;
  fs::file_status st = fs::status(input, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw IOException("Cannot access input path " + input + ": " + ec.message());
    }
    throw IOException("Input path does not exist: " + input);
  }
  if (fs::is_regular_file(st)) {
    out.push_back(input);
    return;
  }
  if (!fs::is_directory(st)) {
    throw IOException("Input path is neither a regular file nor a directory: " + input);
  }
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(input, fs::directory_options::none, ec);
  if (ec) throw IOException("Cannot list input directory " + input + ": " + ec.message());
  for (fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw IOException("Cannot list input directory " + input + ": " + ec.message());
    const fs::directory_entry& entry = *it;
    if (isHiddenName(entry.path())) {
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    fs::file_status s = entry.status(ec);
    if (ec || !fs::exists(s)) {
      throw IOException("Cannot read input file " + entry.path().string() +
                        ": broken symbolic link or vanished file");
    }
    if (fs::is_directory(s)) continue;
    if (!fs::is_regular_file(s)) {
      throw IOException("Input path is neither a regular file nor a directory: " +
                        entry.path().string());
    }
    files.push_back(entry.path().string());
  }
  if (ec) throw IOException("Cannot list input directory " + input + ": " + ec.message());
  if (files.empty()) throw IOException("No input files found under " + input);
  std::sort(files.begin(), files.end());
  out.insert(out.end(), files.begin(), files.end());
}

class PlainFileInput final : public FileInput {
 public:
  explicit PlainFileInput(std::string path) : path_(std::move(path)), fd_(openForReading(path_)) {
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~PlainFileInput() override { ::close(fd_); }
  size_t read(char* buffer, size_t n) override { return readFully(fd_, buffer, n, path_); }
  void skip(int64_t n, char*, size_t) override {
    if (::lseek(fd_, n, SEEK_SET) < 0) {
      throw IOException("Cannot seek in input file " + path_ + ": " + errnoText(errno));
    }
  }

 private:
  std::string path_;
  int fd_;
};

/// Gunzips a file of one or more concatenated gzip members with zlib's inflate. Strict: a
/// truncated member, corrupt data or bytes after the last member that are not another member
/// raise IOException, never a silent end.
class GzipFileInput final : public FileInput {
 public:
  explicit GzipFileInput(std::string path)
      : path_(std::move(path)), fd_(openForReading(path_)), in_(new char[kCompressedBufferSize]) {
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::memset(&stream_, 0, sizeof(stream_));
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
      ::close(fd_);
      throw IOException("Cannot initialize zlib to read " + path_);
    }
  }
  ~GzipFileInput() override {
    inflateEnd(&stream_);
    ::close(fd_);
  }

  size_t read(char* buffer, size_t n) override {
    if (!pendingError_.empty()) throw IOException(pendingError_);
    stream_.next_out = reinterpret_cast<Bytef*>(buffer);
    stream_.avail_out = static_cast<uInt>(n);
    while (stream_.avail_out > 0) {
      if (stream_.avail_in == 0 && !fileEnded_) refill();
      if (memberEnded_) {
        if (stream_.avail_in == 0) break;  // the file ended right after a member: done
        inflateReset(&stream_);
        memberEnded_ = false;
        memberStart_ = consumed();
      }
      if (stream_.avail_in == 0) {
        fail("Unexpected end of gzip file " + path_ + ": the file ends at byte " +
             std::to_string(fileBytes_) + " inside the gzip member that starts at byte " +
             std::to_string(memberStart_) + " (truncated file?)");
        break;
      }
      int ret = inflate(&stream_, Z_NO_FLUSH);
      if (ret == Z_STREAM_END) {
        memberEnded_ = true;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        const char* why = stream_.msg != nullptr ? stream_.msg : zError(ret);
        fail("Corrupt gzip data in " + path_ + " at compressed byte offset " +
             std::to_string(consumed()) + ": " + why);
        break;
      }
    }
    size_t produced = n - stream_.avail_out;
    // Hand out what was decompressed before the error; the next call throws.
    if (produced == 0 && !pendingError_.empty()) throw IOException(pendingError_);
    return produced;
  }

 private:
  void refill() {
    size_t r = readFully(fd_, in_.get(), kCompressedBufferSize, path_);
    if (r == 0) fileEnded_ = true;
    fileBytes_ += static_cast<int64_t>(r);
    stream_.next_in = reinterpret_cast<Bytef*>(in_.get());
    stream_.avail_in = static_cast<uInt>(r);
  }
  int64_t consumed() const { return fileBytes_ - static_cast<int64_t>(stream_.avail_in); }
  void fail(std::string message) { pendingError_ = std::move(message); }

  std::string path_;
  int fd_;
  std::unique_ptr<char[]> in_;
  z_stream stream_;
  int64_t fileBytes_ = 0;
  int64_t memberStart_ = 0;
  bool fileEnded_ = false;
  bool memberEnded_ = false;
  std::string pendingError_;
};

/// Reads the lines of one split after another: asks for a split, emits its lines in batches,
/// asks for the next when it is done (Flink's FileSourceReader with TextLineInputFormat).
class TextLineReader final : public SourceReader<std::string, FileSourceSplit> {
 public:
  explicit TextLineReader(SourceReaderContext& context)
      : context_(context), buffer_(new char[kReadBufferSize]) {}

  void start() override { requestSplit(); }

  InputStatus pollNext(ReaderOutput<std::string>& output) override {
    while (true) {
      if (input_) {
        if (!emitBatch(output)) return InputStatus::kMoreAvailable;
        input_.reset();
        current_.reset();
        continue;
      }
      if (!pending_.empty()) {
        openSplit(std::move(pending_.front()));
        pending_.pop_front();
        continue;
      }
      if (noMoreSplits_) return InputStatus::kEndOfInput;
      if (!requested_) requestSplit();
      return InputStatus::kNothingAvailable;
    }
  }

  void addSplits(std::vector<FileSourceSplit> splits) override {
    for (auto& s : splits) pending_.push_back(std::move(s));
    requested_ = false;
  }
  void notifyNoMoreSplits() override { noMoreSplits_ = true; }
  /// The current split from the first byte of content not yet emitted as a line (the start of
  /// a line read only partly, when a poll stopped inside it), then the pending ones.
  std::vector<FileSourceSplit> snapshotState(int64_t) override {
    std::vector<FileSourceSplit> out;
    if (current_) {
      FileSourceSplit rest = *current_;
      rest.offset =
          bufferStart_ + (pos_ - buffer_.get()) - (carry_ ? static_cast<int64_t>(line_.size()) : 0);
      out.push_back(std::move(rest));
    }
    for (const auto& s : pending_) out.push_back(s);
    return out;
  }
  void close() override {
    input_.reset();
    current_.reset();
  }

 private:
  void requestSplit() {
    requested_ = true;
    context_.sendSplitRequest();
  }

  void openSplit(FileSourceSplit split) {
    current_ = std::move(split);
    const std::string& path = current_->path;
    input_ = openFileInput(path);
    linesRead_ = 0;
    bufferStart_ = 0;
    pos_ = end_ = buffer_.get();
    carry_ = false;
    if (current_->offset > 0) {
      try {
        input_->skip(current_->offset, buffer_.get(), kReadBufferSize);
      } catch (const IOException& e) {
        throw IOException("Cannot skip to byte offset " + std::to_string(current_->offset) +
                          " of " + path + ": " + e.what());
      }
      bufferStart_ = current_->offset;
    }
  }

  /// Refills the buffer; false at the end of the split's content.
  bool refill() {
    bufferStart_ += end_ - buffer_.get();
    size_t n;
    try {
      n = input_->read(buffer_.get(), kReadBufferSize);
    } catch (const IOException& e) {
      throw IOException(std::string(e.what()) + " (after " + std::to_string(bufferStart_) +
                        " bytes of content, while reading line " + std::to_string(linesRead_ + 1) +
                        ")");
    }
    pos_ = buffer_.get();
    end_ = pos_ + n;
    return n > 0;
  }

  void emit(ReaderOutput<std::string>& output) {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    ++linesRead_;
    output.collect(line_);
  }

  /// Emits up to a batch of lines; true when the split is exhausted.
  bool emitBatch(ReaderOutput<std::string>& output) {
    int lines = 0;
    size_t bytes = 0;
    while (lines < kMaxLinesPerPoll && bytes < kMaxBytesPerPoll) {
      if (pos_ == end_ && !refill()) {
        if (carry_) {  // a last line without a newline
          carry_ = false;
          emit(output);
        }
        return true;
      }
      size_t avail = static_cast<size_t>(end_ - pos_);
      const char* nl = static_cast<const char*>(std::memchr(pos_, '\n', avail));
      if (nl == nullptr) {
        if (carry_) {
          line_.append(pos_, avail);
        } else {
          line_.assign(pos_, avail);
          carry_ = true;
        }
        pos_ = end_;
        bytes += avail;
        continue;
      }
      size_t len = static_cast<size_t>(nl - pos_);
      if (carry_) {
        line_.append(pos_, len);
        carry_ = false;
      } else {
        line_.assign(pos_, len);
      }
      pos_ = nl + 1;
      bytes += len + 1;
      ++lines;
      emit(output);
    }
    return false;
  }

  SourceReaderContext& context_;
  std::unique_ptr<char[]> buffer_;
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  int64_t bufferStart_ = 0;  ///< content offset of buffer_[0]
  int64_t linesRead_ = 0;
  bool carry_ = false;  ///< line_ holds the start of a line that continues in the next buffer
  std::string line_;
  std::unique_ptr<FileInput> input_;
  std::optional<FileSourceSplit> current_;
  std::deque<FileSourceSplit> pending_;
  bool requested_ = false;
  bool noMoreSplits_ = false;
};

}  // namespace

void FileInput::skip(int64_t n, char* scratch, size_t scratchSize) {
  while (n > 0) {
    size_t r = read(scratch, static_cast<size_t>(std::min<int64_t>(n, scratchSize)));
    if (r == 0) throw IOException("offset beyond the end of the file");
    n -= static_cast<int64_t>(r);
  }
}

std::unique_ptr<FileInput> openFileInput(const std::string& path) {
  if (isGzipPath(path)) return std::make_unique<GzipFileInput>(path);
  return std::make_unique<PlainFileInput>(path);
}

void checkInputFiles(const std::vector<std::string>& paths) {
  for (const auto& file : FileSource::listFiles(paths)) checkReadable(file);
}

std::unique_ptr<SplitEnumerator<FileSourceSplit>> createFileSplitEnumerator(
    SplitEnumeratorContext<FileSourceSplit>& context, const std::vector<std::string>& paths) {
  std::vector<std::string> files = FileSource::listFiles(paths);
  std::vector<FileSourceSplit> splits;
  splits.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    splits.push_back(FileSourceSplit{std::to_string(i), std::move(files[i]), 0});
  }
  return std::make_unique<StaticSplitEnumerator<FileSourceSplit>>(context, std::move(splits));
}

std::vector<std::string> FileSource::listFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) listPath(p, files);
  return files;
}

std::shared_ptr<const FileSource> FileSource::forTextLines(std::vector<std::string> paths) {
  if (paths.empty()) throw SluiceException("FileSource needs at least one input path");
  checkInputFiles(paths);
  return std::shared_ptr<const FileSource>(new FileSource(std::move(paths)));
}

std::unique_ptr<SplitEnumerator<FileSourceSplit>> FileSource::createEnumerator(
    SplitEnumeratorContext<FileSourceSplit>& context) const {
  return createFileSplitEnumerator(context, paths_);
}

std::unique_ptr<SourceReader<std::string, FileSourceSplit>> FileSource::createReader(
    SourceReaderContext& context) const {
  return std::make_unique<TextLineReader>(context);
}

}  // namespace sluice
