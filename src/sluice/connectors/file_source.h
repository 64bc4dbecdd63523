#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/runtime/source_operator.h"

namespace sluice {

/// One file to read, from byte `offset` of its (decompressed) contents (Flink's
/// FileSourceSplit). `offset` is 0 for a fresh split; a split restored from a checkpoint will
/// carry the offset of the first line not yet emitted. A plain aggregate, so TypeSerializer
/// handles it through Boost.PFR. Value type; not synchronized.
struct FileSourceSplit {
  std::string splitId;  ///< unique within the source: the file's index in enumeration order
  std::string path;     ///< the file to read
  int64_t offset = 0;   ///< bytes of (decompressed) content to skip before the first line
};

/// A bounded source of the text lines of files (Flink's
/// `FileSource.forRecordStreamFormat(new TextLineInputFormat(), paths)`).
///
/// Each input path is a file or a directory; directories are enumerated recursively, their
/// files sorted by path, skipping hidden entries whose names start with '.' or '_' (Flink's
/// DefaultFileFilter; a path given explicitly is always read). Every file is one split, handed
/// out on request to whichever reader asks first (Flink's NonSplittingRecursiveEnumerator with
/// a static assigner). Lines end at LF; a CR before the LF (CRLF files) or at the very end of
/// the file is dropped, as Flink's TextLineInputFormat does; a final line without a newline is
/// still a line. Files ending in ".gz" are gunzipped on the fly, including files of several
/// concatenated gzip members.
///
/// Errors are sluice::IOException naming the path. Missing paths, empty directories,
/// unreadable files and .gz files without the gzip magic bytes are detected when the source is
/// built (forTextLines); corrupt or truncated compressed data fails the job while reading,
/// with the file, the compressed byte offset and the line number in the message.
///
/// Thread-safety: immutable after construction; shared read-only by all subtasks.
class FileSource final : public Source<std::string, FileSourceSplit> {
 public:
  /// A source of the lines of `paths` (files or directories). Throws IOException ("Input path
  /// does not exist: <path>", "No input files found under <dir>", "Cannot read input file
  /// <path>: <reason>", "Not a gzip file: <path>") and SluiceException when `paths` is empty.
  static std::shared_ptr<const FileSource> forTextLines(std::vector<std::string> paths);

  /// The files `paths` stand for, in reading order: each path in the order given, a
  /// directory's non-hidden files recursively and sorted by path. Throws IOException as
  /// forTextLines does when a path is missing or a directory holds no file (it does not open
  /// the files). Thread-safe.
  static std::vector<std::string> listFiles(const std::vector<std::string>& paths);

  /// Always Boundedness::kBounded: the files are enumerated once.
  Boundedness getBoundedness() const override { return Boundedness::kBounded; }
  /// Enumerates the paths again (once per job) and hands out one split per file. Throws
  /// IOException when a path vanished since the source was built.
  std::unique_ptr<SplitEnumerator<FileSourceSplit>> createEnumerator(
      SplitEnumeratorContext<FileSourceSplit>& context) const override;
  /// A reader that requests a split, emits its lines in batches (at most 1024 lines or 256 KiB
  /// per pollNext), then requests the next. Its pollNext throws IOException on a read error or
  /// corrupt gzip data.
  std::unique_ptr<SourceReader<std::string, FileSourceSplit>> createReader(
      SourceReaderContext& context) const override;

  /// The paths as given.
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  explicit FileSource(std::vector<std::string> paths) : paths_(std::move(paths)) {}
  std::vector<std::string> paths_;
};

/// A stream of the (decompressed) bytes of one input file: the byte reader behind FileSource,
/// shared with the other file formats (CsvSource). Not thread-safe: one reader thread.
class FileInput {
 public:
  virtual ~FileInput() = default;
  /// Reads up to `n` bytes into `buffer`; 0 only at the end of the content. Throws IOException
  /// naming the file on a read error or corrupt/truncated gzip data (bytes decompressed before
  /// the error are returned first; the next call throws).
  virtual size_t read(char* buffer, size_t n) = 0;
  /// Skips `n` bytes of content, using `scratch` when it must decompress; throws IOException
  /// when the content is shorter.
  virtual void skip(int64_t n, char* scratch, size_t scratchSize);
};

/// Opens `path` for reading its content: gunzipped on the fly when the name ends in ".gz"
/// (several concatenated members allowed), else as is. Throws IOException ("Cannot read input
/// file <path>: <reason>") when it cannot be opened.
std::unique_ptr<FileInput> openFileInput(const std::string& path);

/// Lists the files under `paths` (FileSource::listFiles) and opens each once to prove it
/// readable and, for .gz files, that it starts with the gzip magic bytes. Throws IOException as
/// FileSource::forTextLines does. Thread-safe.
void checkInputFiles(const std::vector<std::string>& paths);

/// The enumerator of the file sources: lists `paths` again (FileSource::listFiles) and hands
/// out one split per file, in listing order, to whichever reader asks first (Flink's
/// NonSplittingRecursiveEnumerator with a static assigner). Throws IOException when a path
/// vanished.
std::unique_ptr<SplitEnumerator<FileSourceSplit>> createFileSplitEnumerator(
    SplitEnumeratorContext<FileSourceSplit>& context, const std::vector<std::string>& paths);

/// `env.fromSource(FileSource::forTextLines(paths), "File Source")`: a stream of the lines of
/// the files under `paths` (Flink's readTextFile / FileSource). Throws as
/// FileSource::forTextLines. Not thread-safe (program construction).
inline SingleOutputStreamOperator<std::string> fromTextFiles(StreamExecutionEnvironment& env,
                                                             std::vector<std::string> paths) {
  return env.fromSource<std::string, FileSourceSplit>(FileSource::forTextLines(std::move(paths)),
                                                      "File Source");
}

}  // namespace sluice
