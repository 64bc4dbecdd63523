#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/connectors/csv_format.h"
#include "sluice/connectors/file_source.h"
#include "sluice/runtime/source_operator.h"

namespace sluice {

/// A record a source could not read, as it goes to a bad-record side output (Flink has no
/// counterpart: its CsvReaderFormat either fails or, with ignoreParseErrors, drops the row).
/// A plain aggregate, so TypeSerializer handles it through Boost.PFR. Value type.
struct BadRecord {
  std::string file;    ///< the file the record is in
  int64_t line = 0;    ///< 1-based line on which the record starts
  std::string reason;  ///< what is wrong, e.g. "field 4 (Quantity): 'abc' is not an integer"
  std::string raw;     ///< the record's text as in the file, without its line end
  bool operator==(const BadRecord&) const = default;
};

/// The settings of a CsvSource, independent of its row type. Value type.
struct CsvSourceOptions {
  std::vector<std::string> paths;        ///< files or directories, as FileSource takes them
  bool header = false;                   ///< the first record of every file is a header
  char delimiter = ',';                  ///< the field separator
  std::vector<std::string> columnNames;  ///< names for messages; else the header's
  std::optional<OutputTag<BadRecord>> badRecords;  ///< where malformed records go, if anywhere
};

namespace detail {

/// The row-type independent half of CsvSource's reader: requests splits, opens files (gunzipping
/// .gz), splits records, skips headers and formats bad records. Task thread only.
class CsvSplitReader {
 public:
  /// Most records emitted by one pollNext.
  static constexpr int kMaxRecordsPerPoll = 1024;
  /// pollNext stops after this many bytes of records, even before kMaxRecordsPerPoll.
  static constexpr size_t kMaxBytesPerPoll = 256 << 10;

  /// What next() found.
  enum class Step { kRecord, kNothingAvailable, kEndOfInput };

  CsvSplitReader(std::shared_ptr<const CsvSourceOptions> options, SourceReaderContext& context);
  ~CsvSplitReader();

  /// Requests the first split.
  void start();
  /// Moves to the next data record (opening the next assigned split when one ends, skipping
  /// headers); kNothingAvailable after requesting a split, kEndOfInput when all are read.
  /// Throws IOException naming the file on read errors and corrupt gzip data.
  Step next();
  /// The current record (after next() returned kRecord); may be malformed (!ok()).
  const CsvRecordReader& record() const { return *records_; }
  /// The path of the file the current record is in.
  const std::string& currentPath() const { return current_->path; }
  /// Column names for messages: the configured ones, else the current file's header.
  std::span<const std::string> columnNames() const;
  /// The current record as a BadRecord with `reason`. Throws MalformedRecordException (file,
  /// line, reason, the record's start) when no bad-record side output is configured or
  /// `sideOutputConsumed` is false: malformed input never vanishes, and a restart would not help.
  BadRecord badRecord(const std::string& reason, bool sideOutputConsumed) const;
  const CsvSourceOptions& options() const { return *options_; }

  void addSplits(std::vector<FileSourceSplit> splits);
  void notifyNoMoreSplits() { noMoreSplits_ = true; }
  /// The splits not finished yet, for a checkpoint (SourceReader::snapshotState): the current
  /// split with `offset` = content offset (decompressed bytes for .gz) of the first record not
  /// yet returned by next(), then the assigned splits not opened yet, unchanged. A reader given
  /// these splits returns exactly the records this one has not, with the same line numbers and
  /// offsets (openSplit re-reads the header and counts the lines before the offset). Call
  /// between next() calls. Never throws.
  std::vector<FileSourceSplit> snapshotState() const;
  void close();

 private:
  void openSplit(FileSourceSplit split);
  bool readRecord();

  std::shared_ptr<const CsvSourceOptions> options_;
  SourceReaderContext& context_;
  std::unique_ptr<FileInput> input_;
  std::unique_ptr<CsvRecordReader> records_;
  std::optional<FileSourceSplit> current_;
  std::vector<std::string> headerNames_;
  bool skipHeader_ = false;
  std::deque<FileSourceSplit> pending_;
  bool requested_ = false;
  bool noMoreSplits_ = false;
};

/// Checks options (non-empty paths, delimiter not '"', CR or LF: SluiceException) and the input
/// files (IOException, as FileSource::forTextLines).
void validateCsvSourceOptions(const CsvSourceOptions& options);

/// CsvSource's reader: the split handling of CsvSplitReader plus the typed row conversion.
template <typename T>
class CsvSourceReader final : public SourceReader<T, FileSourceSplit> {
 public:
  CsvSourceReader(std::shared_ptr<const CsvSourceOptions> options, SourceReaderContext& context)
      : reader_(std::move(options), context) {}

  void start() override { reader_.start(); }
  InputStatus pollNext(ReaderOutput<T>& output) override {
    size_t bytes = 0;
    for (int n = 0;
         n < CsvSplitReader::kMaxRecordsPerPoll && bytes < CsvSplitReader::kMaxBytesPerPoll; ++n) {
      switch (reader_.next()) {
        case CsvSplitReader::Step::kRecord:
          break;
        case CsvSplitReader::Step::kNothingAvailable:
          return InputStatus::kNothingAvailable;
        case CsvSplitReader::Step::kEndOfInput:
          return InputStatus::kEndOfInput;
      }
      const CsvRecordReader& record = reader_.record();
      bytes += record.raw().size() + 1;
      if (!record.ok()) {
        emitBad(output, record.error());
      } else if (parseCsvRow(record.fields(), value_, error_, reader_.columnNames())) {
        if constexpr (kHasMetadata) {
          boost::pfr::for_each_field(value_, [&](auto& field) {
            if constexpr (kIsFileMetadata<std::remove_cvref_t<decltype(field)>>) {
              if (field.path != reader_.currentPath()) field.path = reader_.currentPath();
              field.line = record.line();
            }
          });
        }
        output.collect(value_);
      } else {
        emitBad(output, error_);
      }
    }
    return InputStatus::kMoreAvailable;
  }
  void addSplits(std::vector<FileSourceSplit> splits) override {
    reader_.addSplits(std::move(splits));
  }
  void notifyNoMoreSplits() override { reader_.notifyNoMoreSplits(); }
  /// CsvSplitReader::snapshotState: every record a poll read has been emitted (or sent to the
  /// bad-record side output, or has failed the job), so the position after the last one read
  /// is exact.
  std::vector<FileSourceSplit> snapshotState(int64_t) override { return reader_.snapshotState(); }
  void close() override { reader_.close(); }

 private:
  void emitBad(ReaderOutput<T>& output, const std::string& reason) {
    const auto& tag = reader_.options().badRecords;
    bool consumed = tag.has_value() && output.hasSideOutput(tag->id);
    BadRecord bad = reader_.badRecord(reason, consumed);  // throws unless consumed
    output.collect(*tag, bad);
  }

  static constexpr bool kHasMetadata =
      metadataFields<T>(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{}) > 0;

  CsvSplitReader reader_;
  T value_{};
  std::string error_;
};

}  // namespace detail

/// A bounded source of the rows of CSV files, each converted into an aggregate struct `T`
/// (Flink's `FileSource.forRecordStreamFormat(CsvReaderFormat.forPojo(T.class), paths)`).
///
/// Files, directories, hidden-file filtering, reading order, one split per file and .gz
/// decompression are as FileSource's, and so are the errors when the source is built (missing
/// path, empty directory, unreadable file, .gz without gzip magic: IOException) and while
/// reading (corrupt or truncated gzip data: IOException naming the file). Records are split as
/// CsvRecordReader does (RFC 4180) and mapped onto `T`'s fields in declaration order by
/// parseCsvRow, so `T` is an aggregate whose field types have a CsvFieldParser.
///
/// A malformed record (broken quoting, a wrong number of fields, a field that does not parse)
/// is never dropped: without withBadRecords the job fails at once, whatever the restart strategy,
/// with a MalformedRecordException that names the file, the line, the byte offset and the reason;
/// with withBadRecords(tag) it goes to side output `tag` as a BadRecord and reading goes on. Unlike
/// Flink's ignoreParseErrors, there is no silent skip: when the job does not consume
/// getSideOutput(tag), a bad record fails the job as if no tag were set. An empty line is a record
/// of one empty field, so a bad record unless `T` has a single field. A field of type FileMetadata
/// takes no column: it receives the file and line the record starts on.
///
/// Checkpoints (Flink's FileSource with a StreamFormat's checkpointed position): a reader's
/// snapshotState returns its unfinished splits, the current one with `offset` = the content
/// offset of the first record not yet emitted (for .gz files an offset into the decompressed
/// content, as FileSource's), so a restored job emits every record exactly once from the
/// source; the enumerator's unassigned splits are checkpointed too, and splits are redistributed
/// when the parallelism changes. A restored reader re-reads a resumed file's header (column
/// names) and counts the lines before the offset, so the lines of bad records and the lines and
/// byte offsets in error messages equal those of an uninterrupted run; resuming costs one read of
/// the file up to the offset (decompressing a .gz anyway). A file that is shorter than the offset
/// on restore fails the reader with an IOException naming the file and the offset; the files must
/// not change between checkpoint and restore.
///
/// Readers emit at most 1024 records or 256 KiB per pollNext. Thread-safety: immutable after
/// build(); shared read-only by all subtasks.
template <typename T>
class CsvSource final : public Source<T, FileSourceSplit> {
  static_assert(CsvRow<T>, "CsvSource<T> needs an aggregate struct T");

 public:
  /// Configures a CsvSource (Flink's CsvReaderFormat options plus FileSource's builder).
  /// Not thread-safe (program construction).
  class Builder {
   public:
    explicit Builder(std::vector<std::string> paths) { options_.paths = std::move(paths); }
    /// When `skipFirstLine`, the first record of every file is a header: not emitted, and its
    /// fields name the columns in error messages (Jackson's CsvSchema.withHeader()).
    Builder& withHeader(bool skipFirstLine = true) {
      options_.header = skipFirstLine;
      return *this;
    }
    /// The field separator (default ','; e.g. ';' or '\t'). Not '"', CR or LF (build throws).
    Builder& withDelimiter(char delimiter) {
      options_.delimiter = delimiter;
      return *this;
    }
    /// Names of the columns for error messages, in order; they take precedence over a header.
    Builder& withColumnNames(std::vector<std::string> names) {
      options_.columnNames = std::move(names);
      return *this;
    }
    /// Sends malformed records to side output `tag` as BadRecords instead of failing the job.
    /// The job must consume `getSideOutput(tag)` of the source's stream; otherwise a bad record
    /// still fails it.
    Builder& withBadRecords(OutputTag<BadRecord> tag) {
      options_.badRecords = std::move(tag);
      return *this;
    }
    /// The source. Throws SluiceException for no paths or an invalid delimiter, IOException as
    /// FileSource::forTextLines for missing, empty or unreadable input.
    std::shared_ptr<const CsvSource<T>> build() const {
      detail::validateCsvSourceOptions(options_);
      return std::shared_ptr<const CsvSource<T>>(
          new CsvSource<T>(std::make_shared<const CsvSourceOptions>(options_)));
    }

   private:
    CsvSourceOptions options_;
  };

  /// Starts building a source over `paths` (files or directories).
  static Builder forPaths(std::vector<std::string> paths) { return Builder(std::move(paths)); }

  /// Always Boundedness::kBounded: the files are enumerated once.
  Boundedness getBoundedness() const override { return Boundedness::kBounded; }
  /// One split per file, as FileSource. Throws IOException when a path vanished.
  std::unique_ptr<SplitEnumerator<FileSourceSplit>> createEnumerator(
      SplitEnumeratorContext<FileSourceSplit>& context) const override {
    return createFileSplitEnumerator(context, options_->paths);
  }
  /// A reader whose pollNext throws IOException on read errors and corrupt gzip data, and
  /// MalformedRecordException for malformed records not routed to a consumed side output.
  std::unique_ptr<SourceReader<T, FileSourceSplit>> createReader(
      SourceReaderContext& context) const override {
    return std::make_unique<detail::CsvSourceReader<T>>(options_, context);
  }

  const CsvSourceOptions& options() const { return *options_; }

 private:
  explicit CsvSource(std::shared_ptr<const CsvSourceOptions> options)
      : options_(std::move(options)) {}
  std::shared_ptr<const CsvSourceOptions> options_;
};

}  // namespace sluice
