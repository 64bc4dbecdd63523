#pragma once

// Sinks (Flink's Sink V2): a SinkWriter per subtask, driven by SinkWriterOperator as the last
// operator of a chain; and two-phase-commit sinks (Flink's SupportsCommitter /
// TwoPhaseCommittingSink): a CommittingSinkWriter pre-commits at each checkpoint barrier and a
// Committer commits when the checkpoint completes, so that output becomes visible exactly once.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/common/sink.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/operator_state.h"

namespace sluice {

namespace detail {

/// The type-erased committer side of a SinkWriterOperator (one per subtask).
class SinkCommitterDriver {
 public:
  virtual ~SinkCommitterDriver() = default;
  /// Registers the committables' list state; on restore commits every restored committable.
  virtual void initializeState(OperatorStateStore& store, bool restored) = 0;
  /// Calls the writer's prepareCommit() and keeps its committables under `checkpointId`.
  virtual void prepareCommit(int64_t checkpointId) = 0;
  /// Writes the committables not yet committed into the list state.
  virtual void snapshotState() = 0;
  /// Commits the committables of checkpoints <= `checkpointId`.
  virtual void commitUpTo(int64_t checkpointId) = 0;
  /// prepareCommit(kEndOfInputCheckpointId), then commits everything.
  virtual void commitAtEndOfInput() = 0;
  /// Committables prepared and not yet committed.
  virtual size_t numPendingCommittables() const = 0;
  virtual void close() = 0;
};

}  // namespace detail

/// The non-template part of TwoPhaseCommittingSink that SinkWriterOperator recognizes.
template <typename T>
class TwoPhaseCommittingSinkBase : public Sink<T> {
 public:
  /// The committer driver of one subtask, committing what `writer` (created by this sink's
  /// createWriter) prepares.
  virtual std::unique_ptr<detail::SinkCommitterDriver> createCommitterDriver(
      const StreamOperatorBase& op, SinkWriter<T>& writer,
      const CommitterInitContext& context) const = 0;
};

/// A sink with two-phase commit (Flink's Sink with SupportsCommitter, 1.19+; before that
/// TwoPhaseCommittingSink): its writers pre-commit at each checkpoint barrier
/// (CommittingSinkWriter::prepareCommit) and its committer commits when that checkpoint
/// completes, so output becomes visible exactly once with respect to the job's state.
///
/// Committables of type CommT are stored in the sink's operator state, tagged with their
/// checkpoint id, so CommT needs a TypeSerializer (type_serializer.h; aggregates of
/// serializable fields have one) and a default constructor; a new binary must read old
/// committables (savepoints outlive binaries). Without checkpointing, committables are
/// committed only at end of input (as Flink's). Immutable once built; shared by subtasks.
template <typename T, typename CommT>
class TwoPhaseCommittingSink : public TwoPhaseCommittingSinkBase<T> {
 public:
  /// The writer of one subtask. Throws what the sink documents.
  virtual std::unique_ptr<CommittingSinkWriter<T, CommT>> createCommittingWriter(
      const WriterInitContext& context) const = 0;
  /// The committer of one subtask (Flink's SupportsCommitter#createCommitter).
  virtual std::unique_ptr<Committer<CommT>> createCommitter(
      const CommitterInitContext& context) const = 0;

  std::unique_ptr<SinkWriter<T>> createWriter(const WriterInitContext& context) const final {
    return createCommittingWriter(context);
  }
  std::unique_ptr<detail::SinkCommitterDriver> createCommitterDriver(
      const StreamOperatorBase& op, SinkWriter<T>& writer,
      const CommitterInitContext& context) const final;
};

/// Keeps the committables of one sink subtask by checkpoint id and commits them (Flink's
/// CommitterOperator with its CheckpointCommittableManager, inside the writer's operator).
/// Counts what happened in the operator's counters numCommittablesTotal, ...Success,
/// ...AlreadyCommitted, ...Retry and ...Failure (Flink's SinkCommitterMetricGroup).
template <typename T, typename CommT>
class TwoPhaseCommitDriver final : public detail::SinkCommitterDriver {
  static_assert(detail::RestorableStateType<CommT>,
                "committables need a TypeSerializer<CommT> and a default constructor");

 public:
  /// Name of the committables' list state (Flink's CommitterOperator state name).
  static constexpr const char* kStateName = "streaming_committer_raw_states";
  /// Commit attempts at end of input while the committer asks for retries.
  static constexpr int kMaxEndOfInputAttempts = 10;

  TwoPhaseCommitDriver(const StreamOperatorBase& op, CommittingSinkWriter<T, CommT>& writer,
                       std::unique_ptr<Committer<CommT>> committer)
      : op_(op),
        writer_(writer),
        committer_(std::move(committer)),
        total_(op.getRuntimeContext().counter("numCommittablesTotal")),
        success_(op.getRuntimeContext().counter("numCommittablesSuccess")),
        alreadyCommitted_(op.getRuntimeContext().counter("numCommittablesAlreadyCommitted")),
        retry_(op.getRuntimeContext().counter("numCommittablesRetry")),
        failure_(op.getRuntimeContext().counter("numCommittablesFailure")) {}

  void initializeState(OperatorStateStore& store, bool restored) override {
    state_ = &store.getListState(ListStateDescriptor<CheckpointCommittable<CommT>>(kStateName));
    if (!restored) return;
    for (const auto& [checkpointId, committable] : state_->get()) {
      pending_[checkpointId].emplace_back(committable);
    }
    // Every restored committable belongs to the restored checkpoint or an earlier one, all of
    // them complete; the failed attempt may or may not have committed them (Flink's
    // CommitterOperator commits restored committables in initializeState too).
    commitUpTo(kEndOfInputCheckpointId);
  }

  void prepareCommit(int64_t checkpointId) override {
    std::vector<CommT> committables =
        callUserFunction(op_, [&] { return writer_.prepareCommit(); });
    if (committables.empty()) return;
    auto& list = pending_[checkpointId];
    for (CommT& c : committables) list.emplace_back(std::move(c));
  }

  void snapshotState() override {
    std::vector<CheckpointCommittable<CommT>> all;
    for (const auto& [checkpointId, requests] : pending_) {
      for (const auto& r : requests) all.emplace_back(checkpointId, r.committable_);
    }
    state_->update(all);
  }

  void commitUpTo(int64_t checkpointId) override {
    auto end = pending_.upper_bound(checkpointId);
    if (pending_.begin() == end) return;
    std::vector<CommitRequest<CommT>> batch;
    std::vector<int64_t> ids;
    for (auto it = pending_.begin(); it != end; ++it) {
      for (const auto& r : it->second) {
        batch.push_back(r);
        batch.back().outcome_ = CommitRequest<CommT>::Outcome::kCommitted;
        ids.push_back(it->first);
      }
    }
    total_.inc(static_cast<int64_t>(batch.size()));
    // On an exception the committables stay pending (and in the last checkpoint).
    callUserFunction(op_, [&] { committer_->commit(batch); });
    pending_.erase(pending_.begin(), end);
    std::string unknownFailure;
    for (size_t i = 0; i < batch.size(); ++i) {
      CommitRequest<CommT>& r = batch[i];
      switch (r.outcome_) {
        case CommitRequest<CommT>::Outcome::kCommitted:
          success_.inc();
          break;
        case CommitRequest<CommT>::Outcome::kAlreadyCommitted:
          alreadyCommitted_.inc();
          break;
        case CommitRequest<CommT>::Outcome::kRetryLater:
          retry_.inc();
          ++r.numberOfRetries_;
          pending_[ids[i]].push_back(std::move(r));
          break;
        case CommitRequest<CommT>::Outcome::kFailedKnownReason:
          failure_.inc();
          break;
        case CommitRequest<CommT>::Outcome::kFailedUnknownReason:
          failure_.inc();
          pending_[ids[i]].push_back(r);
          if (unknownFailure.empty()) unknownFailure = r.failureReason_;
          break;
      }
    }
    if (!unknownFailure.empty()) {
      throw UserFunctionException(op_.nameWithSubtask(),
                                  "the committer failed to commit: " + unknownFailure);
    }
  }

  void commitAtEndOfInput() override {
    prepareCommit(kEndOfInputCheckpointId);
    for (int attempt = 0; attempt < kMaxEndOfInputAttempts && !pending_.empty(); ++attempt) {
      commitUpTo(kEndOfInputCheckpointId);
    }
    if (!pending_.empty()) {
      throw UserFunctionException(
          op_.nameWithSubtask(),
          "the committer still asked to retry " + std::to_string(numPendingCommittables()) +
              " committables after " + std::to_string(kMaxEndOfInputAttempts) +
              " attempts at end of input");
    }
  }

  size_t numPendingCommittables() const override {
    size_t n = 0;
    for (const auto& [id, requests] : pending_) n += requests.size();
    return n;
  }

  void close() override {
    callUserFunction(op_, [&] { committer_->close(); });
  }

 private:
  const StreamOperatorBase& op_;
  CommittingSinkWriter<T, CommT>& writer_;
  std::unique_ptr<Committer<CommT>> committer_;
  ListState<CheckpointCommittable<CommT>>* state_ = nullptr;
  /// Committables not yet committed, by the checkpoint whose barrier prepared them.
  std::map<int64_t, std::vector<CommitRequest<CommT>>> pending_;
  Counter& total_;
  Counter& success_;
  Counter& alreadyCommitted_;
  Counter& retry_;
  Counter& failure_;
};

template <typename T, typename CommT>
std::unique_ptr<detail::SinkCommitterDriver>
TwoPhaseCommittingSink<T, CommT>::createCommitterDriver(const StreamOperatorBase& op,
                                                        SinkWriter<T>& writer,
                                                        const CommitterInitContext& context) const {
  // createWriter() is final and returns createCommittingWriter()'s writer.
  auto& committing = static_cast<CommittingSinkWriter<T, CommT>&>(writer);
  return std::make_unique<TwoPhaseCommitDriver<T, CommT>>(op, committing, createCommitter(context));
}

// ---- the operator ----------------------------------------------------------------------------

/// Drives a SinkWriter as the last operator of a chain (Flink's SinkWriterOperator). The writer
/// is created in initializeState(), as Flink's. At each checkpoint (snapshotOperatorState) it
/// calls the writer's flush(false), then, for a two-phase-commit sink, prepareCommit(), then
/// the writer's snapshotState() if it is a CheckpointedFunction.
///
/// Two-phase commit (TwoPhaseCommittingSink): Sluice keeps the committer in this operator
/// rather than in a downstream CommitterOperator as Flink does: every subtask commits what its
/// own writer prepared, so no committables cross the network and a checkpoint needs no extra
/// barrier hop; the committables are operator state of this operator (list state
/// "streaming_committer_raw_states", elements (checkpointId, committable), redistributed
/// round-robin on rescaling, so any subtask may commit any committable). The protocol:
///  - snapshotOperatorState(n): the committables prepared at barrier n are kept under n; the
///    state holds every committable not yet committed;
///  - notifyCheckpointComplete(n): commits those of checkpoints <= n (a missed notification
///    is caught up by the next one);
///  - notifyCheckpointAborted(n): nothing; they are committed with the next completed one;
///  - restore: initializeState() commits every restored committable (they all belong to
///    complete checkpoints, and may or may not have been committed before the failure);
///  - finish(): flush(true) and prepareCommit(); without checkpointing, commit everything at
///    once. With checkpointing the committables wait for the final checkpoint (FLIP-147): the
///    task waits (requiresFinalCheckpoint) until a checkpoint taken after finish() completes,
///    whose notification commits them, so a failure before that restores a checkpoint from
///    before the end and replays the input into output not yet committed; never twice.
/// Commits run on the task thread (Flink's CommitterOperator commits in its mailbox, too).
template <typename T>
class SinkWriterOperator final : public OneInputStreamOperator<T, NoOutput> {
 public:
  explicit SinkWriterOperator(std::shared_ptr<const Sink<T>> sink) : sink_(std::move(sink)) {}

  void initializeState() override {
    WriterInitContext init;
    init.subtaskIndex = this->getRuntimeContext().getIndexOfThisSubtask();
    init.parallelism = this->getRuntimeContext().getNumberOfParallelSubtasks();
    init.processingTimeService = this->context_.processingTimeService;
    init.checkpointingEnabled = this->context_.checkpointingEnabled;
    writer_ = callUserFunction(*this, [&] { return sink_->createWriter(init); });
    bool restored = this->context_.restoredOperatorState != nullptr;
    if (auto* twoPhase = dynamic_cast<const TwoPhaseCommittingSinkBase<T>*>(sink_.get())) {
      CommitterInitContext committerInit{init.subtaskIndex, init.parallelism};
      committer_ = callUserFunction(
          *this, [&] { return twoPhase->createCommitterDriver(*this, *writer_, committerInit); });
      committer_->initializeState(this->getOperatorStateStore(), restored);
    }
    checkpointed_ = dynamic_cast<CheckpointedFunction*>(writer_.get());
    if (checkpointed_ != nullptr) {
      FunctionInitializationContext context(this->getOperatorStateStore(), restored);
      callUserFunction(*this, [&] { checkpointed_->initializeState(context); });
    }
  }
  OperatorStateSnapshot snapshotOperatorState(int64_t checkpointId, int64_t timestamp) override {
    if (!finished_) {  // after finish() everything is flushed and prepared
      callUserFunction(*this, [&] { writer_->flush(false); });
      if (committer_) committer_->prepareCommit(checkpointId);
    } else if (finalCheckpointId_ < 0) {
      finalCheckpointId_ = checkpointId;
    }
    if (checkpointed_ != nullptr) {
      FunctionSnapshotContext context(checkpointId, timestamp);
      callUserFunction(*this, [&] { checkpointed_->snapshotState(context); });
    }
    if (committer_) committer_->snapshotState();
    return OneInputStreamOperator<T, NoOutput>::snapshotOperatorState(checkpointId, timestamp);
  }
  void notifyCheckpointComplete(int64_t checkpointId) override {
    if (!committer_) return;
    // The committables prepared at end of input belong to the first checkpoint taken after it;
    // then everything is committed, with the retries of the end of input.
    if (finished_ && finalCheckpointId_ >= 0 && checkpointId >= finalCheckpointId_) {
      committer_->commitAtEndOfInput();
    } else {
      committer_->commitUpTo(checkpointId);
    }
  }
  bool requiresFinalCheckpoint() const override { return committer_ != nullptr; }
  void notifyCheckpointAborted(int64_t checkpointId) override {
    // Committables prepared for an aborted checkpoint are committed with the next one that
    // completes (Flink's CommitterOperator keeps them, too).
    (void)checkpointId;
  }
  void collect(const T& value, Timestamp timestamp) final { write(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { write(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    sinkContext_.currentWatermark = watermark.timestamp;
  }
  void finish() override {
    callUserFunction(*this, [&] { writer_->flush(true); });
    finished_ = true;
    if (!committer_) return;
    if (this->context_.checkpointingEnabled) {
      committer_->prepareCommit(kEndOfInputCheckpointId);  // committed with the final checkpoint
    } else {
      committer_->commitAtEndOfInput();
    }
  }
  void close() override {
    if (writer_) callUserFunction(*this, [&] { writer_->close(); });
    if (committer_) committer_->close();
  }

  /// Committables prepared and not yet committed (0 for a sink without committer); for tests.
  size_t numPendingCommittables() const {
    return committer_ ? committer_->numPendingCommittables() : 0;
  }

 private:
  void write(const T& value, Timestamp timestamp) {
    sinkContext_.timestamp = timestamp;
    callUserFunction(*this, [&] { writer_->write(value, sinkContext_); });
  }

  std::shared_ptr<const Sink<T>> sink_;
  std::unique_ptr<SinkWriter<T>> writer_;
  std::unique_ptr<detail::SinkCommitterDriver> committer_;  ///< for a TwoPhaseCommittingSink
  CheckpointedFunction* checkpointed_ = nullptr;  ///< writer_, if it is a CheckpointedFunction
  SinkContext sinkContext_;
  bool finished_ = false;
  int64_t finalCheckpointId_ = -1;  ///< the first checkpoint snapshotted after finish()
};

}  // namespace sluice
