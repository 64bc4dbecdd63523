#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "sluice/core/exceptions.h"
#include "sluice/core/value_format.h"
#include "sluice/runtime/sink_writer_operator.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {

/// When a FileSink closes its in-progress part file and starts a new one (Flink's
/// DefaultRollingPolicy, with the same defaults). A part rolls when, after a record, it holds
/// at least `partSizeBytes`; or when it has been open `rolloverIntervalMillis`; or when nothing
/// was written to it for `inactivityIntervalMillis`. The time conditions are checked by a
/// processing-time timer every bucket-check interval, so a part may roll up to one interval
/// later than the condition became true. Every value must be > 0 (checked by build(), which
/// throws ConfigurationException). Value type; not synchronized.
struct DefaultRollingPolicy {
  int64_t partSizeBytes = 128 * 1024 * 1024;     ///< bytes
  int64_t rolloverIntervalMillis = 60 * 1000;    ///< ms since the part was opened
  int64_t inactivityIntervalMillis = 60 * 1000;  ///< ms since the last write to the part
};

/// Names of part files (Flink's OutputFileConfig): a finished part is
/// `<partPrefix>-<uuid>-<subtaskIndex>-<partCounter><partSuffix>`, e.g. "part-1f0c…-3-0".
/// Value type; not synchronized.
struct OutputFileConfig {
  std::string partPrefix = "part";
  std::string partSuffix;
};

/// Rolls the in-progress part file at every checkpoint and at no other time (Flink's
/// OnCheckpointRollingPolicy): with checkpointing, every record becomes visible when the first
/// checkpoint after it completes. Without checkpointing a part rolls only at end of input.
/// Stateless value type.
struct OnCheckpointRollingPolicy {};

/// A part file closed for commit (Flink's FileSinkCommittable with its pending file): the
/// committer makes it visible by renaming `pendingPath` to `finalPath`. Paths are as the
/// writer built them from the sink's base path. Serialized into checkpoints with the aggregate
/// TypeSerializer (the fields in order); do not reorder fields. Value type.
struct FileSinkCommittable {
  std::string bucketId;
  std::string pendingPath;  ///< the closed, hidden in-progress file
  std::string finalPath;    ///< its visible name
  friend bool operator==(const FileSinkCommittable&, const FileSinkCommittable&) = default;
};

/// An in-progress part file in a checkpoint (Flink's FileWriterBucketState with its
/// InProgressFileRecoverable): on restore the file is truncated to `validLength` and written
/// on. Serialized with the aggregate TypeSerializer; do not reorder fields. Value type.
struct FileWriterBucketState {
  std::string bucketId;
  std::string inProgressPath;
  std::string finalPath;
  int64_t validLength = 0;     ///< bytes of the part at the checkpoint
  int64_t creationTime = 0;    ///< ms, processing time the part was opened
  int64_t lastUpdateTime = 0;  ///< ms, last write seen by the bucket check
  friend bool operator==(const FileWriterBucketState&, const FileWriterBucketState&) = default;
};

/// When a closed part file becomes visible.
enum class PartCommitMode {
  /// At once, when it rolls (at-least-once; the FileSink without checkpointing).
  kOnRoll,
  /// Through a committable, when the checkpoint after it completes (exactly-once; the FileSink
  /// with checkpointing).
  kOnCheckpoint,
};

class RowFileWriter;

/// What a BucketAssigner may look at besides the record (Flink's BucketAssigner.Context).
/// Valid only during the getBucketId call it is passed to; use on the task thread.
class BucketAssignerContext {
 public:
  BucketAssignerContext(const RowFileWriter& writer, const SinkContext& sinkContext)
      : writer_(writer), sinkContext_(sinkContext) {}
  /// The task's processing time, ms since the epoch (its injectable clock; the wall clock when
  /// the sink runs without a ProcessingTimeService).
  int64_t currentProcessingTime() const;
  /// The sink's current watermark (kMinWatermark before the first one).
  Timestamp currentWatermark() const { return sinkContext_.currentWatermark; }
  /// The record's event time, or kNoTimestamp.
  Timestamp timestamp() const { return sinkContext_.timestamp; }

 private:
  const RowFileWriter& writer_;
  const SinkContext& sinkContext_;
};

/// Chooses the bucket (a subdirectory of the sink's base path, "" for the base path itself) of
/// each record (Flink's BucketAssigner). Each sink subtask works on its own copy of the
/// assigner (FileSink copies the one given to withBucketAssigner), so implementations may keep
/// caches in members without locks; they must be copyable. getBucketId runs on the task
/// thread; a thrown exception fails the job.
template <typename T>
class BucketAssigner {
 public:
  virtual ~BucketAssigner() = default;
  /// Appends the bucket id of `element` to `bucketId` (which the caller has cleared). The id
  /// is a relative path; '/' separates nested directories.
  virtual void getBucketId(const T& element, const BucketAssignerContext& context,
                           std::string& bucketId) = 0;
};

/// Writes every record directly into the base path (Flink's BasePathBucketAssigner).
/// Stateless; thread-safe.
template <typename T>
class BasePathBucketAssigner final : public BucketAssigner<T> {
 public:
  void getBucketId(const T&, const BucketAssignerContext&, std::string&) override {}
};

/// Formats processing time in UTC with a Java DateTimeFormatter-style pattern. Supported
/// letters: y (year; "yy" gives two digits), M (month, 1-2 letters), d (day), H (hour 0-23),
/// m (minute), s (second), S (millisecond, up to 3 letters); text in single quotes and any
/// non-letter character are copied as they are ("''" is a quote). Formats are cached per
/// second. Mirrors the java.time.format.DateTimeFormatter inside Flink's
/// DateTimeBucketAssigner. Not thread-safe (the cache): one instance per subtask.
class DateTimeBucketFormatter {
 public:
  /// Throws ConfigurationException on an unsupported letter or an unterminated quote.
  explicit DateTimeBucketFormatter(std::string pattern);
  /// Appends the formatting of `millis` (ms since the epoch, UTC) to `out`.
  void format(int64_t millis, std::string& out);
  /// The pattern as given.
  const std::string& pattern() const { return pattern_; }

 private:
  struct Token {
    char letter;  ///< 0 for a literal
    int width;
    std::string literal;
  };
  void render(int64_t millis, std::string& out) const;

  std::string pattern_;
  std::vector<Token> tokens_;
  bool usesMillis_ = false;
  int64_t cachedKey_ = INT64_MIN;
  std::string cached_;
};

/// Buckets records by the processing time at which they are written, formatted in UTC with
/// `formatString` (Flink's DateTimeBucketAssigner; Flink's default time zone is the system's,
/// Sluice's is always UTC so that output does not depend on the host). The default,
/// "yyyy-MM-dd--HH", makes hourly buckets. Copyable; not thread-safe (one copy per subtask).
template <typename T>
class DateTimeBucketAssigner final : public BucketAssigner<T> {
 public:
  /// Throws ConfigurationException when `formatString` is not supported (see
  /// DateTimeBucketFormatter).
  explicit DateTimeBucketAssigner(std::string formatString = "yyyy-MM-dd--HH")
      : formatter_(std::move(formatString)) {}
  void getBucketId(const T&, const BucketAssignerContext& context, std::string& bucketId) override {
    formatter_.format(context.currentProcessingTime(), bucketId);
  }

 private:
  DateTimeBucketFormatter formatter_;
};

/// The type-independent part of a FileSink subtask (Flink's FileWriter with its
/// FileWriterBuckets): buckets, in-progress part files, rolling and pre-committing. It receives
/// each record already encoded.
///
/// Part files: a record goes to the bucket's in-progress file
/// `<bucketDir>/.<prefix>-<uuid>-<subtask>-<counter><suffix>.inprogress.<uuid2>` (hidden, so
/// FileSource and most tools skip it). Rolling closes it; committing renames it to the
/// finished name `<prefix>-<uuid>-<subtask>-<counter><suffix>`. `uuid` is random per writer, so
/// runs and attempts into the same directory never collide; `counter` counts the parts of this
/// writer from 0.
///
/// Commit semantics, by PartCommitMode:
/// - kOnRoll (no checkpointing): a part is committed when it rolls, at end of input
///   (flush(true)), and on close(), also after a failure; so a failed job leaves the records
///   written so far in finished parts (at-least-once with respect to a rerun). prepareCommit()
///   and snapshotState() return nothing.
/// - kOnCheckpoint (exactly-once, Flink's FileSink): a rolled part is closed (fsync'ed) and
///   becomes pending: prepareCommit() hands it out as a FileSinkCommittable, and FileCommitter
///   renames it when the checkpoint completes. At each checkpoint, parts still open are
///   fsync'ed and recorded by snapshotState() with their length; restoreState() truncates them
///   to it and writes on, so what a failed attempt wrote after the checkpoint disappears. A
///   part rolls at a checkpoint only with OnCheckpointRollingPolicy, or when it exceeds the
///   part size (Flink's DefaultRollingPolicy#shouldRollOnCheckpoint). flush(true) closes every
///   part as pending; close() never commits (files of a failed attempt stay hidden).
///
/// Not thread-safe: every method runs on the task thread (the rolling timer is a mail).
class RowFileWriter {
 public:
  static constexpr size_t kBufferSize = 256 * 1024;  ///< bytes buffered per open part

  /// Creates the writer of subtask `subtaskIndex` under `basePath` (created if missing).
  /// `timeService` (may be null: then no time-based rolling, and bucket assigners see the
  /// wall clock) gets a repeating timer every `bucketCheckIntervalMillis` (0: half the
  /// smaller rolling interval, clamped to [1 s, 60 s]). Throws IOException naming the path
  /// when the base path cannot be created or is not a writable directory.
  /// `commitMode` chooses the commit semantics (see the class); `rollOnCheckpoint` makes the
  /// policy OnCheckpointRollingPolicy (then `policy` is ignored and there is no timer).
  RowFileWriter(std::string basePath, DefaultRollingPolicy policy, OutputFileConfig fileConfig,
                int subtaskIndex, ProcessingTimeService* timeService,
                int64_t bucketCheckIntervalMillis = 0,
                PartCommitMode commitMode = PartCommitMode::kOnRoll, bool rollOnCheckpoint = false);
  /// Closes open files without committing them (their in-progress files remain).
  ~RowFileWriter();
  RowFileWriter(const RowFileWriter&) = delete;
  RowFileWriter& operator=(const RowFileWriter&) = delete;

  /// Appends one encoded record to the bucket `bucketId` ("" = the base path), opening a part
  /// if none is open and rolling it when it reaches the part size. Throws IOException naming
  /// the file on a write, create or rename error, SluiceException after close().
  void write(std::string_view bucketId, std::string_view bytes);
  /// Rolls every part that is due by time at processing time `now` (ms); the timer calls it.
  /// Throws IOException as write().
  void onProcessingTime(int64_t now);
  /// Writes buffered bytes to the in-progress files; with `endOfInput`, also rolls every open
  /// part (kOnRoll: commits it; kOnCheckpoint: makes it pending). Throws IOException as write().
  void flush(bool endOfInput);
  /// kOnCheckpoint: rolls the parts due at a checkpoint and returns every part that became
  /// pending since the last call, in the order they rolled. kOnRoll: rolls (and commits) the
  /// parts due at a checkpoint and returns nothing. Throws IOException as write().
  std::vector<FileSinkCommittable> prepareCommit();
  /// kOnCheckpoint: writes and fsyncs every open part and returns its state (one per open
  /// bucket). kOnRoll: nothing. Throws IOException as write().
  std::vector<FileWriterBucketState> snapshotState();
  /// Resumes the in-progress parts of a checkpoint (any subtask's, any parallelism): truncates
  /// each to its valid length and writes on. A second part of a bucket that already has one
  /// open is rolled at once (Flink's FileWriterBucket#merge). Call before the first write.
  /// Throws IOException naming the file when it is missing (e.g. the job restores from a
  /// checkpoint older than one whose commit already published the part; restore from the
  /// latest checkpoint instead) or shorter than the checkpoint recorded, or on a file error.
  void restoreState(const std::vector<FileWriterBucketState>& states);
  /// kOnRoll: commits every open part. kOnCheckpoint: closes open parts without committing
  /// them. Stops the timer's effect; idempotent. Throws IOException as write().
  void close();

  /// Processing time now, ms since the epoch (the task's clock, or the wall clock).
  int64_t currentProcessingTime() const;
  /// The random id in this writer's part names.
  const std::string& uuid() const { return uuid_; }
  /// Parts committed (renamed) by this writer so far (kOnRoll; kOnCheckpoint commits through
  /// FileCommitter).
  int64_t numCommittedParts() const { return committedParts_; }
  /// Parts closed and waiting for prepareCommit() (kOnCheckpoint).
  size_t numPendingParts() const { return pending_.size(); }
  PartCommitMode commitMode() const { return commitMode_; }
  /// Buckets that currently have an open in-progress part.
  int numOpenParts() const;
  /// The effective bucket-check period, ms (0 when there is no time service).
  int64_t bucketCheckIntervalMillis() const { return checkIntervalMillis_; }

 private:
  struct Bucket;
  Bucket& bucketFor(std::string_view bucketId);
  void openPart(Bucket& bucket);
  void writeBuffer(Bucket& bucket);
  /// Rolls the open part of `bucket`: commits it (kOnRoll) or makes it pending.
  void closePart(Bucket& bucket);
  void abandonParts() noexcept;
  std::string randomUuid();

  std::string basePath_;
  DefaultRollingPolicy policy_;
  OutputFileConfig fileConfig_;
  int subtaskIndex_;
  ProcessingTimeService* timeService_;
  int64_t checkIntervalMillis_ = 0;
  std::mt19937_64 rng_;
  std::string uuid_;
  int64_t nextPartCounter_ = 0;
  int64_t committedParts_ = 0;
  PartCommitMode commitMode_;
  bool rollOnCheckpoint_;
  std::vector<FileSinkCommittable> pending_;
  std::unordered_map<std::string, std::unique_ptr<Bucket>> buckets_;
  Bucket* lastBucket_ = nullptr;  ///< cache of the last bucket written to
  bool closed_ = false;
};

/// Commits FileSink parts (Flink's FileCommitter): renames each committable's pending file to
/// its final name. Idempotent: when the pending file is gone and the final file exists, the part
/// was committed before (signalAlreadyCommitted); when both are gone (a restore from an old
/// checkpoint whose parts were since removed) it logs a warning and drops the committable
/// (signalFailedWithKnownReason), as Flink's commitAfterRecovery tolerates it. Stateless; runs
/// on the sink's task thread.
class FileCommitter final : public Committer<FileSinkCommittable> {
 public:
  enum class Result { kCommitted, kAlreadyCommitted, kMissing };
  /// Throws IOException naming both paths when the rename fails otherwise.
  void commit(std::vector<CommitRequest<FileSinkCommittable>>& requests) override;
  /// Commits one part; throws IOException as commit().
  static Result commitPart(const FileSinkCommittable& committable);
};

/// What a FileSink does when a job that does not restore from a checkpoint or savepoint starts
/// on an output directory that already holds files (Flink's FileSystem.WriteMode, which its
/// FileOutputFormat checks in initializeGlobal). Part files have random names, so a second run
/// would add a second copy of everything next to the first.
enum class WriteMode {
  kNoOverwrite,  ///< refuse the submission (the default)
  kOverwrite,    ///< delete what is in the directory first
};

/// FileSink's submission check (Sink::initializeOnMaster), public for programs whose sinks
/// write into subdirectories of one output directory: nothing when `path` does not exist or is
/// an empty directory; otherwise throws IOException naming it (kNoOverwrite), or deletes its
/// contents (kOverwrite). Throws IOException when it is not a directory or cannot be read or
/// cleared. Call it only when the job does not restore from a checkpoint or savepoint.
void prepareOutputDirectory(const std::string& path, WriteMode mode);

/// A sink of rows to files (Flink's FileSink in row format,
/// `FileSink.forRowFormat(path, new SimpleStringEncoder<>())`): each record is encoded (by
/// default its text, sluice::appendValue, plus "\n"), assigned a bucket (by default hourly
/// DateTimeBucketAssigner buckets, as Flink's), and appended to the bucket's in-progress part
/// file, which rolls by DefaultRollingPolicy or OnCheckpointRollingPolicy. See RowFileWriter
/// for file names.
///
/// Exactly-once with checkpointing (StreamOperatorContext::checkpointingEnabled): a
/// TwoPhaseCommittingSink (sink.h). Parts are written hidden and in progress; at each
/// checkpoint barrier the parts that rolled since the last one (and every part, with
/// OnCheckpointRollingPolicy) are closed and become FileSinkCommittables, and FileCommitter
/// renames them to their visible names when that checkpoint completes. Parts still open are
/// checkpointed with their length and resumed (truncated) on restore, so after any failure the
/// visible files hold every record of the completed checkpoints exactly once; a restore at
/// another parallelism redistributes parts and committables round-robin. A bounded job commits
/// the rest at end of input. Records reach visible files one checkpoint after their part rolls:
/// use OnCheckpointRollingPolicy for the lowest latency.
///
/// At-least-once without checkpointing: a part becomes visible when it rolls and at end of
/// input, and open parts are published on close(), also after a failure (the behaviour before
/// two-phase commit).
///
/// Build with forRowFormat(basePath)...build(). Immutable once built; shared read-only by all
/// subtasks, each of which gets its own writer, encoder and bucket-assigner copy.
template <typename T>
class FileSink final : public TwoPhaseCommittingSink<T, FileSinkCommittable> {
 public:
  /// Appends the bytes of one record, its delimiter included, to the string (Flink's Encoder).
  /// Called on the task thread, once per record; it may throw to fail the job.
  using Encoder = std::function<void(const T&, std::string&)>;
  /// Makes one bucket assigner per subtask.
  using BucketAssignerFactory = std::function<std::unique_ptr<BucketAssigner<T>>()>;

  /// Configures a FileSink (Flink's FileSink.RowFormatBuilder). Not thread-safe.
  class RowFormatBuilder {
   public:
    explicit RowFormatBuilder(std::string basePath) : basePath_(std::move(basePath)) {}
    /// Replaces the rolling policy (default: DefaultRollingPolicy{}).
    RowFormatBuilder& withRollingPolicy(DefaultRollingPolicy policy) {
      policy_ = policy;
      rollOnCheckpoint_ = false;
      return *this;
    }
    /// Rolls parts at checkpoints only (Flink's OnCheckpointRollingPolicy).
    RowFormatBuilder& withRollingPolicy(OnCheckpointRollingPolicy) {
      rollOnCheckpoint_ = true;
      return *this;
    }
    /// Replaces the part file prefix and suffix (default: "part", "").
    RowFormatBuilder& withOutputFileConfig(OutputFileConfig config) {
      fileConfig_ = std::move(config);
      return *this;
    }
    /// Uses a copy of `assigner` (a copyable BucketAssigner<T>) in every subtask (default:
    /// DateTimeBucketAssigner<T>()).
    template <typename Assigner>
    RowFormatBuilder& withBucketAssigner(Assigner assigner) {
      static_assert(std::is_base_of_v<BucketAssigner<T>, Assigner>,
                    "withBucketAssigner needs a BucketAssigner<T>");
      assignerFactory_ = [assigner]() -> std::unique_ptr<BucketAssigner<T>> {
        return std::make_unique<Assigner>(assigner);
      };
      return *this;
    }
    /// Replaces the encoder (default: appendValue(record) + "\n", Flink's SimpleStringEncoder).
    RowFormatBuilder& withEncoder(Encoder encoder) {
      encoder_ = std::move(encoder);
      return *this;
    }
    /// What a job that does not restore does with a non-empty base path (default:
    /// WriteMode::kNoOverwrite, refuse).
    RowFormatBuilder& withWriteMode(WriteMode mode) {
      writeMode_ = mode;
      return *this;
    }
    /// How often the time-based rolling conditions are checked, ms (Flink's
    /// withBucketCheckInterval). 0 (default) derives it: half the smaller rolling interval,
    /// clamped to [1 s, 60 s].
    RowFormatBuilder& withBucketCheckInterval(int64_t millis) {
      checkIntervalMillis_ = millis;
      return *this;
    }
    /// The sink. Throws ConfigurationException when the base path is empty or a rolling
    /// value or the check interval is out of range.
    std::shared_ptr<const FileSink<T>> build() const {
      if (basePath_.empty()) throw ConfigurationException("FileSink needs a base path");
      if (policy_.partSizeBytes <= 0 || policy_.rolloverIntervalMillis <= 0 ||
          policy_.inactivityIntervalMillis <= 0) {
        throw ConfigurationException(
            "FileSink rolling policy values must be positive (partSizeBytes, "
            "rolloverIntervalMillis, inactivityIntervalMillis)");
      }
      if (checkIntervalMillis_ < 0) {
        throw ConfigurationException("FileSink bucket check interval must be >= 0");
      }
      auto sink = std::shared_ptr<FileSink<T>>(new FileSink<T>());
      sink->basePath_ = basePath_;
      sink->policy_ = policy_;
      sink->fileConfig_ = fileConfig_;
      sink->encoder_ = encoder_;
      sink->checkIntervalMillis_ = checkIntervalMillis_;
      sink->rollOnCheckpoint_ = rollOnCheckpoint_;
      sink->writeMode_ = writeMode_;
      sink->assignerFactory_ =
          assignerFactory_ ? assignerFactory_ : []() -> std::unique_ptr<BucketAssigner<T>> {
        return std::make_unique<DateTimeBucketAssigner<T>>();
      };
      return sink;
    }

   private:
    std::string basePath_;
    DefaultRollingPolicy policy_;
    OutputFileConfig fileConfig_;
    BucketAssignerFactory assignerFactory_;
    Encoder encoder_;
    int64_t checkIntervalMillis_ = 0;
    bool rollOnCheckpoint_ = false;
    WriteMode writeMode_ = WriteMode::kNoOverwrite;
  };

  /// Starts building a row-format sink that writes under `basePath` (Flink's forRowFormat).
  static RowFormatBuilder forRowFormat(std::string basePath) {
    return RowFormatBuilder(std::move(basePath));
  }
  /// forRowFormat(basePath).withEncoder(encoder).
  static RowFormatBuilder forRowFormat(std::string basePath, Encoder encoder) {
    RowFormatBuilder builder(std::move(basePath));
    builder.withEncoder(std::move(encoder));
    return builder;
  }

  /// A writer for one subtask, exactly-once when `context.checkpointingEnabled`. Throws
  /// IOException naming the path when the base path cannot be created or written.
  std::unique_ptr<CommittingSinkWriter<T, FileSinkCommittable>> createCommittingWriter(
      const WriterInitContext& context) const override {
    return std::make_unique<Writer>(*this, context);
  }
  /// A FileCommitter.
  std::unique_ptr<Committer<FileSinkCommittable>> createCommitter(
      const CommitterInitContext&) const override {
    return std::make_unique<FileCommitter>();
  }

  /// Refuses (or, with WriteMode::kOverwrite, clears) a non-empty base path unless the job
  /// restores; see WriteMode. Throws IOException naming the directory.
  void initializeOnMaster(const JobInitializationContext& context) const override {
    if (!context.restoring) prepareOutputDirectory(basePath_, writeMode_);
  }

  /// The directory the buckets are created in.
  const std::string& basePath() const { return basePath_; }
  /// The rolling policy every writer applies.
  const DefaultRollingPolicy& rollingPolicy() const { return policy_; }
  /// The part file prefix and suffix.
  const OutputFileConfig& outputFileConfig() const { return fileConfig_; }
  /// Whether parts roll at checkpoints only (OnCheckpointRollingPolicy).
  bool rollsOnCheckpoint() const { return rollOnCheckpoint_; }
  /// Name of the writer's list state of in-progress parts (FileWriterBucketState).
  static constexpr const char* kBucketStateName = "file-sink-bucket-states";

 private:
  FileSink() = default;

  class Writer final : public CommittingSinkWriter<T, FileSinkCommittable>,
                       public CheckpointedFunction {
   public:
    Writer(const FileSink& sink, const WriterInitContext& context)
        : assigner_(sink.assignerFactory_()),
          encoder_(sink.encoder_),
          file_(sink.basePath_, sink.policy_, sink.fileConfig_, context.subtaskIndex,
                context.processingTimeService, sink.checkIntervalMillis_,
                context.checkpointingEnabled ? PartCommitMode::kOnCheckpoint
                                             : PartCommitMode::kOnRoll,
                sink.rollOnCheckpoint_) {}

    void write(const T& value, const SinkContext& context) override {
      record_.clear();
      if (encoder_) {
        encoder_(value, record_);
      } else {
        appendValue(value, record_);
        record_ += '\n';
      }
      bucketId_.clear();
      assigner_->getBucketId(value, BucketAssignerContext(file_, context), bucketId_);
      file_.write(bucketId_, record_);
    }
    void flush(bool endOfInput) override { file_.flush(endOfInput); }
    std::vector<FileSinkCommittable> prepareCommit() override { return file_.prepareCommit(); }
    void close() override { file_.close(); }

    void initializeState(FunctionInitializationContext& context) override {
      state_ = &context.getOperatorStateStore().getListState(
          ListStateDescriptor<FileWriterBucketState>(kBucketStateName));
      if (context.isRestored()) file_.restoreState(state_->get().toVector());
    }
    void snapshotState(FunctionSnapshotContext&) override { state_->update(file_.snapshotState()); }

   private:
    // The assigner comes first: file_ registers a timer on itself as its last construction step.
    std::unique_ptr<BucketAssigner<T>> assigner_;
    Encoder encoder_;
    RowFileWriter file_;
    std::string record_;
    std::string bucketId_;
    ListState<FileWriterBucketState>* state_ = nullptr;
  };

  std::string basePath_;
  DefaultRollingPolicy policy_;
  OutputFileConfig fileConfig_;
  Encoder encoder_;
  BucketAssignerFactory assignerFactory_;
  int64_t checkIntervalMillis_ = 0;
  bool rollOnCheckpoint_ = false;
  WriteMode writeMode_ = WriteMode::kNoOverwrite;
};

}  // namespace sluice
