#pragma once

// The sink interfaces user code implements (Flink's Sink V2): a SinkWriter per subtask, and for
// two-phase commit a CommittingSinkWriter that pre-commits at each checkpoint barrier and a
// Committer that commits when the checkpoint completes. TwoPhaseCommittingSink and the operator
// that drives writers and committers are in runtime/sink_writer_operator.h.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/time.h"

namespace sluice {

class ProcessingTimeService;

/// Per-record context of a sink write (Flink's SinkWriter.Context).
struct SinkContext {
  Timestamp timestamp = kNoTimestamp;  ///< the record's event time, if any
  Timestamp currentWatermark = kMinWatermark;
};

/// What a sink writer learns when it is created (Flink's WriterInitContext).
struct WriterInitContext {
  int subtaskIndex = 0;
  int parallelism = 1;
  ProcessingTimeService* processingTimeService = nullptr;
  /// Whether the job checkpoints periodically (StreamOperatorContext::checkpointingEnabled). A
  /// committing writer may keep a simpler at-least-once behaviour when it is false (FileSink
  /// then makes a part visible when it rolls, as without a committer).
  bool checkpointingEnabled = false;
};

/// Writes records to an external system (Flink's Sink V2 SinkWriter). Runs on the task thread.
/// A writer that also derives from CheckpointedFunction gets operator state: its
/// initializeState() runs right after the writer is created, its snapshotState() at each
/// checkpoint (as Flink's BufferingSink example with a SinkFunction).
template <typename T>
class SinkWriter {
 public:
  virtual ~SinkWriter() = default;
  virtual void write(const T& value, const SinkContext& context) = 0;
  /// Flushes buffered data: with `endOfInput` false at each checkpoint barrier, before the
  /// writer's snapshot (Flink's SinkWriterOperator#prepareSnapshotPreBarrier), so an
  /// at-least-once sink loses nothing it acknowledged; with `endOfInput` true once, when a
  /// bounded input ended.
  virtual void flush(bool endOfInput) { (void)endOfInput; }
  virtual void close() {}
};

/// What an operator learns once per job submission, on the JobMaster before any task is
/// deployed (Flink's InitializeOnMaster#initializeGlobal context).
struct JobInitializationContext {
  /// Whether the job starts from a checkpoint or savepoint (-s, execution.savepoint.path): it
  /// continues the output of the run that took it.
  bool restoring = false;
  /// The operator's parallelism.
  int parallelism = 1;
};

/// A factory of one writer per subtask (Flink's Sink). Shared read-only by subtasks.
template <typename T>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const = 0;
  /// Runs once per job submission on the JobMaster, before any writer exists and not again on
  /// restarts after failures (Flink's InitializeOnMaster#initializeGlobal, which its
  /// FileOutputFormat uses for the same check FileSink makes here). Throws (SluiceException or
  /// a subclass) to refuse the submission; the default does nothing.
  virtual void initializeOnMaster(const JobInitializationContext& context) const { (void)context; }
};

// ---- two-phase commit ------------------------------------------------------------------------

/// The writer of a two-phase-commit sink (Flink's CommittingSinkWriter; PrecommittingSinkWriter
/// before Flink 1.19). Besides writing, it hands out committables: descriptions of prepared
/// but not yet visible output (a closed hidden file, an open transaction) that the sink's
/// Committer makes visible later. Task thread only.
template <typename T, typename CommT>
class CommittingSinkWriter : public SinkWriter<T> {
 public:
  /// Pre-commits what was written since the last call and returns its committables (possibly
  /// none). Called at each checkpoint barrier after flush(false) and before the writer's own
  /// snapshotState (the committables then belong to that checkpoint), and once more at end of
  /// input after flush(true), when it must cover everything written. An exception fails the
  /// job.
  virtual std::vector<CommT> prepareCommit() = 0;
};

/// One committable handed to Committer::commit, with the outcome the committer signals
/// (Flink's Committer.CommitRequest). A request the committer leaves unsignalled counts as
/// committed. Value type; task thread only.
template <typename CommT>
class CommitRequest {
 public:
  enum class Outcome {
    kCommitted,           ///< default: commit() returned without signalling
    kAlreadyCommitted,    ///< signalAlreadyCommitted(): a re-commit after a restore
    kRetryLater,          ///< retryLater() / updateAndRetryLater(): kept, retried later
    kFailedKnownReason,   ///< dropped, the job goes on
    kFailedUnknownReason  ///< the job fails
  };

  explicit CommitRequest(CommT committable, int numberOfRetries = 0)
      : committable_(std::move(committable)), numberOfRetries_(numberOfRetries) {}

  const CommT& getCommittable() const { return committable_; }
  /// How often this committable was handed back for a retry so far.
  int getNumberOfRetries() const { return numberOfRetries_; }
  /// The committable was committed before (idempotent re-commit after a restore).
  void signalAlreadyCommitted() { outcome_ = Outcome::kAlreadyCommitted; }
  /// Commit again with the next commit call (the next completed checkpoint, or the next attempt
  /// at end of input).
  void retryLater() { outcome_ = Outcome::kRetryLater; }
  /// retryLater() with a replaced committable.
  void updateAndRetryLater(CommT committable) {
    committable_ = std::move(committable);
    outcome_ = Outcome::kRetryLater;
  }
  /// The commit failed for a reason the sink understands and that a retry cannot fix: the
  /// committable is dropped, the job continues (as Flink, which only logs it).
  void signalFailedWithKnownReason(std::string reason) {
    outcome_ = Outcome::kFailedKnownReason;
    failureReason_ = std::move(reason);
  }
  /// The commit failed for an unknown reason: the job fails after commit() returns; the
  /// committable stays in the last checkpoint, so a restore commits it again.
  void signalFailedWithUnknownReason(std::string reason) {
    outcome_ = Outcome::kFailedUnknownReason;
    failureReason_ = std::move(reason);
  }

  Outcome outcome() const { return outcome_; }
  const std::string& failureReason() const { return failureReason_; }

 private:
  template <typename, typename>
  friend class TwoPhaseCommitDriver;
  CommT committable_;
  int numberOfRetries_ = 0;
  Outcome outcome_ = Outcome::kCommitted;
  std::string failureReason_;
};

/// What a committer learns when it is created (Flink's CommitterInitContext).
struct CommitterInitContext {
  int subtaskIndex = 0;
  int parallelism = 1;
};

/// Makes committables visible (Flink's Committer). Runs on the task thread of the sink
/// subtask (Sluice keeps the committer in the writer's operator: see SinkWriterOperator).
///
/// commit() must be idempotent: after a failure, committables of the restored checkpoint are
/// committed again, also those committed before the failure; the committer then either does
/// nothing or calls signalAlreadyCommitted(). It may receive committables written by any
/// subtask of any earlier attempt and parallelism. An exception thrown by commit() fails the
/// job (the committables stay in the checkpoint and are committed again after the restore).
template <typename CommT>
class Committer {
 public:
  virtual ~Committer() = default;
  virtual void commit(std::vector<CommitRequest<CommT>>& requests) = 0;
  virtual void close() {}
};

/// A committable of checkpoint `checkpointId`, as stored in operator state.
template <typename CommT>
using CheckpointCommittable = std::pair<int64_t, CommT>;

/// The checkpoint id of committables prepared at end of input (Flink's EOI, Long.MAX_VALUE).
inline constexpr int64_t kEndOfInputCheckpointId = std::numeric_limits<int64_t>::max();

}  // namespace sluice
