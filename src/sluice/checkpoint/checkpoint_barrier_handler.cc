#include "sluice/checkpoint/checkpoint_barrier_handler.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <iterator>
#include <optional>
#include <string>

#include "sluice/core/exceptions.h"

namespace sluice {

namespace {

/// Exactly once (Flink's SingleCheckpointBarrierHandler): aligned, unaligned, or aligned with a
/// timeout, as the first barrier of each checkpoint says.
///
/// Aligned (WaitingForFirstBarrier → CollectingBarriers):
/// - The first barrier of a checkpoint newer than everything seen starts an alignment; its
///   channel and every further channel whose barrier arrives are held back, so no record after
///   the barrier reaches the operators before the snapshot.
/// - When every open channel delivered the barrier, the task snapshots (trigger), then every
///   channel is released.
///
/// Unaligned (WaitingForFirstBarrierUnaligned → CollectingBarriersUnaligned, FLIP-76):
/// - The first barrier triggers at once (metrics.unaligned); nothing is held back. Until a
///   channel delivers the barrier, each of its data buffers is handed to persistInflightBuffer.
///   When the last open channel delivered it, inputChannelStateComplete.
/// - Aligned with a timeout (Alternating* states): aligned as above; when the alignment has
///   lasted the timeout (checkAlignmentTimeout, on a timer or on a buffer) or an unaligned
///   barrier of the same checkpoint arrives, the task is triggered unaligned at that moment:
///   channels already aligned are released (what they hold is after their barrier), the others
///   are persisted until their barrier. The forwarded barrier is marked unaligned, so the switch
///   travels downstream.
///
/// Common:
/// - A barrier of a newer checkpoint while one is in progress aborts the older one (Flink:
///   CHECKPOINT_DECLINED_SUBSUMED) and starts the new one; barriers older than the one in
///   progress or not newer than the last completed/aborted checkpoint are ignored.
/// - A cancellation marker of the running or a newer checkpoint aborts the running one and the
///   marked checkpoint (Flink: CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER; Flink reports only
///   the marked id, we also report the running one so the target can tell its downstream and
///   the coordinator about both). An unaligned checkpoint can be aborted after its trigger,
///   while its channel state is incomplete.
/// - A channel's end of partition counts as its barrier (Flink's processEndOfPartition: the
///   number of open channels shrinks).
class SingleCheckpointBarrierHandler final : public CheckpointBarrierHandler {
 public:
  SingleCheckpointBarrierHandler(int numChannels, CheckpointBarrierTarget& target, NanoClock clock)
      : CheckpointBarrierHandler(numChannels, target, std::move(clock)),
        arrived_(static_cast<size_t>(numChannels), false) {}

  CheckpointingMode mode() const override { return CheckpointingMode::kExactlyOnce; }

  void processBarrier(const CheckpointBarrier& barrier, int channel) override {
    checkChannel(channel, "checkpoint barrier");
    int64_t id = barrier.checkpointId;
    if (id <= latestDoneId_) return;                      // already completed or aborted here
    if (pending_ && id < pending_->checkpointId) return;  // older than the one in progress
    if (pending_ && id > pending_->checkpointId) abortPending();  // subsumed by a newer one
    bool first = !pending_;
    if (first) start(barrier);
    if (arrived_[static_cast<size_t>(channel)]) {
      throw SluiceException("corrupt input: a second barrier of checkpoint " + std::to_string(id) +
                            " on input channel " + std::to_string(channel));
    }
    arrived_[static_cast<size_t>(channel)] = true;
    ++numArrived_;
    // The first unaligned barrier, or one joining an alignment: take the checkpoint unaligned
    // now (this channel counts as arrived, so nothing after its barrier is persisted).
    if (!collecting_ && barrier.isUnalignedNow()) triggerUnaligned();
    if (collecting_) {
      if (numArrived_ >= numOpen_) finishUnaligned();
      return;
    }
    if (numArrived_ >= numOpen_) {
      triggerAligned();
      return;
    }
    target_.blockChannel(channel);
    blockedAny_ = true;
    if (first && pending_->isTimeoutable()) {
      target_.scheduleAlignmentTimeout(timeoutNanos());
    }
  }

  void processCancellationMarker(int64_t checkpointId, int channel) override {
    checkChannel(channel, "cancellation marker");
    if (checkpointId <= latestDoneId_) return;
    if (pending_) {
      if (checkpointId < pending_->checkpointId) return;  // older than the one in progress
      bool same = checkpointId == pending_->checkpointId;
      abortPending();
      if (same) return;
    }
    latestDoneId_ = checkpointId;
    notifyAbort(checkpointId);
  }

  void processEndOfPartition(int channel) override {
    checkChannel(channel, "end of partition");
    finishChannel(channel);
    if (!pending_) return;
    if (arrived_[static_cast<size_t>(channel)]) {
      // Its barrier no longer counts among the open channels' barriers.
      arrived_[static_cast<size_t>(channel)] = false;
      --numArrived_;
    }
    if (numArrived_ < numOpen_) return;
    if (collecting_) {
      finishUnaligned();
    } else {
      triggerAligned();
    }
  }

  bool checkAlignmentTimeout() override {
    if (!aligning_ || !pending_->isTimeoutable() || now() - startNanos_ < timeoutNanos()) {
      return false;
    }
    triggerUnaligned();
    return true;
  }

 protected:
  void onBufferInProgress(int channel, const Buffer& buffer) override {
    if (aligning_) {
      bytesDuringAlignment_ += buffer.size;
      ++buffersDuringAlignment_;
      // A timed-out alignment turns unaligned before this buffer, which is then persisted.
      if (pending_->isTimeoutable()) checkAlignmentTimeout();
    }
    if (collecting_ && !arrived_[static_cast<size_t>(channel)]) {
      target_.persistInflightBuffer(pending_->checkpointId, channel, buffer);
    }
  }

 private:
  int64_t timeoutNanos() const { return pending_->alignedCheckpointTimeoutMillis * 1'000'000; }

  void start(const CheckpointBarrier& barrier) {
    pending_ = barrier;
    numArrived_ = 0;
    startNanos_ = now();
    aligning_ = true;
    inProgress_ = true;
    bytesDuringAlignment_ = 0;
    buffersDuringAlignment_ = 0;
  }

  /// Ends the checkpoint in progress (completed or aborted); returns whether channels must be
  /// resumed.
  bool end() {
    latestDoneId_ = pending_->checkpointId;
    pending_.reset();
    std::fill(arrived_.begin(), arrived_.end(), false);
    numArrived_ = 0;
    aligning_ = false;
    collecting_ = false;
    inProgress_ = false;
    bool resume = blockedAny_;
    blockedAny_ = false;
    return resume;
  }

  CheckpointMetrics metricsNow(bool unaligned) const {
    CheckpointMetrics metrics;
    metrics.alignmentDurationNanos = blockedAny_ ? now() - startNanos_ : 0;
    metrics.bytesProcessedDuringAlignment = bytesDuringAlignment_;
    metrics.buffersProcessedDuringAlignment = buffersDuringAlignment_;
    metrics.unaligned = unaligned;
    return metrics;
  }

  void triggerAligned() {
    CheckpointBarrier barrier = *pending_;
    CheckpointMetrics metrics = metricsNow(false);
    bool resume = end();
    // Snapshot (and forward the barrier) before any held-back record is processed.
    target_.triggerCheckpointOnBarrier(barrier, metrics);
    if (resume) target_.resumeChannels();
  }

  /// Triggers the pending checkpoint unaligned and starts collecting its channel state.
  void triggerUnaligned() {
    pending_->unaligned = true;  // forwarded unaligned: downstream switches too
    pending_->alignedCheckpointTimeoutMillis = 0;
    CheckpointBarrier barrier = *pending_;
    CheckpointMetrics metrics = metricsNow(true);
    aligning_ = false;
    collecting_ = true;
    bool resume = blockedAny_;
    blockedAny_ = false;
    target_.triggerCheckpointOnBarrier(barrier, metrics);
    // Channels held back so far delivered their barrier: their data is after it.
    if (resume) target_.resumeChannels();
  }

  void finishUnaligned() {
    int64_t id = pending_->checkpointId;
    end();
    target_.inputChannelStateComplete(id);
  }

  void abortPending() {
    int64_t id = pending_->checkpointId;
    bool resume = end();
    notifyAbort(id);
    if (resume) target_.resumeChannels();
  }

  std::optional<CheckpointBarrier> pending_;
  std::vector<bool> arrived_;
  int numArrived_ = 0;
  bool blockedAny_ = false;
  int64_t startNanos_ = 0;
};

/// At least once: barriers are counted, never aligned (Flink's CheckpointBarrierTracker).
///
/// - Several checkpoints may be in flight at once; each keeps the set of channels whose
///   barrier arrived. When every open channel delivered checkpoint n's barrier, the task
///   snapshots; older checkpoints still in flight can no longer complete here (barriers are
///   in order per channel) and are aborted.
/// - A cancellation marker aborts its checkpoint and every older one in flight.
/// - A channel's end of partition counts as its barrier for every checkpoint in flight.
/// - At most kMaxTracked checkpoints are tracked (Flink's MAX_CHECKPOINTS_TO_TRACK); a newer
///   one beyond that aborts the oldest.
class BarrierTracker final : public CheckpointBarrierHandler {
 public:
  static constexpr size_t kMaxTracked = 50;

  BarrierTracker(int numChannels, CheckpointBarrierTarget& target, NanoClock clock)
      : CheckpointBarrierHandler(numChannels, target, std::move(clock)) {}

  CheckpointingMode mode() const override { return CheckpointingMode::kAtLeastOnce; }

  void processBarrier(const CheckpointBarrier& barrier, int channel) override {
    checkChannel(channel, "checkpoint barrier");
    int64_t id = barrier.checkpointId;
    if (id <= latestDoneId_) return;
    auto it = pending_.begin();
    while (it != pending_.end() && it->barrier.checkpointId < id) ++it;
    if (it == pending_.end() || it->barrier.checkpointId != id) {
      Pending p;
      p.barrier = barrier;
      p.seen.assign(finished_.size(), false);
      p.startNanos = now();
      it = pending_.insert(it, std::move(p));
      if (pending_.size() > kMaxTracked) {
        int64_t oldest = pending_.front().barrier.checkpointId;
        bool insertedOldest = it == pending_.begin();
        pending_.pop_front();
        latestDoneId_ = oldest;
        notifyAbort(oldest);
        if (insertedOldest) return;
        it = findPending(id);
      }
    }
    if (it->seen[static_cast<size_t>(channel)]) {
      throw SluiceException("corrupt input: a second barrier of checkpoint " + std::to_string(id) +
                            " on input channel " + std::to_string(channel));
    }
    it->seen[static_cast<size_t>(channel)] = true;
    ++it->count;
    if (it->count >= numOpen_) trigger(it);
  }

  void processCancellationMarker(int64_t checkpointId, int channel) override {
    checkChannel(channel, "cancellation marker");
    if (checkpointId <= latestDoneId_) return;
    while (!pending_.empty() && pending_.front().barrier.checkpointId <= checkpointId) {
      int64_t id = pending_.front().barrier.checkpointId;
      pending_.pop_front();
      if (id != checkpointId) notifyAbort(id);
    }
    latestDoneId_ = checkpointId;
    notifyAbort(checkpointId);
  }

  void processEndOfPartition(int channel) override {
    checkChannel(channel, "end of partition");
    finishChannel(channel);
    for (auto& p : pending_) {
      if (p.seen[static_cast<size_t>(channel)]) {
        p.seen[static_cast<size_t>(channel)] = false;
        --p.count;
      }
    }
    // The newest checkpoint that is now complete subsumes the older ones.
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      if (it->count >= numOpen_) {
        trigger(std::prev(it.base()));
        return;
      }
    }
  }

 private:
  struct Pending {
    CheckpointBarrier barrier;
    std::vector<bool> seen;
    int count = 0;
    int64_t startNanos = 0;
  };

  std::deque<Pending>::iterator findPending(int64_t id) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->barrier.checkpointId == id) return it;
    }
    return pending_.end();
  }

  void trigger(std::deque<Pending>::iterator it) {
    CheckpointBarrier barrier = it->barrier;
    CheckpointMetrics metrics;
    metrics.alignmentDurationNanos = numChannels() > 1 ? now() - it->startNanos : 0;
    std::vector<int64_t> subsumed;
    for (auto o = pending_.begin(); o != it; ++o) subsumed.push_back(o->barrier.checkpointId);
    pending_.erase(pending_.begin(), std::next(it));
    latestDoneId_ = barrier.checkpointId;
    for (int64_t id : subsumed) notifyAbort(id);
    target_.triggerCheckpointOnBarrier(barrier, metrics);
  }

  std::deque<Pending> pending_;  // ascending by checkpoint id
};

}  // namespace

std::unique_ptr<CheckpointBarrierHandler> CheckpointBarrierHandler::create(
    CheckpointingMode mode, int numChannels, CheckpointBarrierTarget& target, NanoClock clock) {
  if (numChannels < 1) {
    throw SluiceException("a checkpoint barrier handler needs at least one input channel, got " +
                          std::to_string(numChannels));
  }
  if (!clock) {
    clock = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now().time_since_epoch())
                                      .count());
    };
  }
  switch (mode) {
    case CheckpointingMode::kExactlyOnce:
      return std::make_unique<SingleCheckpointBarrierHandler>(numChannels, target,
                                                              std::move(clock));
    case CheckpointingMode::kAtLeastOnce:
      return std::make_unique<BarrierTracker>(numChannels, target, std::move(clock));
  }
  throw SluiceException("unknown checkpointing mode");
}

CheckpointBarrierHandler::CheckpointBarrierHandler(int numChannels, CheckpointBarrierTarget& target,
                                                   NanoClock clock)
    : target_(target),
      clock_(std::move(clock)),
      finished_(static_cast<size_t>(numChannels), false),
      numOpen_(numChannels) {}

void CheckpointBarrierHandler::checkChannel(int channel, const char* what) const {
  if (channel < 0 || channel >= numChannels()) {
    throw SluiceException(std::string(what) + " on input channel " + std::to_string(channel) +
                          ", but the task has " + std::to_string(numChannels()) + " channels");
  }
  if (finished_[static_cast<size_t>(channel)]) {
    throw SluiceException(std::string("corrupt input: ") + what + " on input channel " +
                          std::to_string(channel) + " after its end of partition");
  }
}

void CheckpointBarrierHandler::finishChannel(int channel) {
  finished_[static_cast<size_t>(channel)] = true;
  --numOpen_;
}

void CheckpointBarrierHandler::notifyAbort(int64_t checkpointId) {
  if (checkpointId <= latestAbortedId_) return;
  latestAbortedId_ = checkpointId;
  target_.abortCheckpointOnBarrier(checkpointId);
}

}  // namespace sluice
