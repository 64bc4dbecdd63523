#include "sluice/checkpoint/checkpoint_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "sluice/core/exceptions.h"

namespace sluice {

CheckpointCoordinator::CheckpointCoordinator(std::string jobId, CheckpointConfig config,
                                             CheckpointParticipants& participants,
                                             std::shared_ptr<Clock> clock)
    : jobId_(std::move(jobId)),
      config_(std::move(config)),
      participants_(participants),
      clock_(std::move(clock)),
      storage_(config_),
      store_(config_) {}

CheckpointCoordinator::~CheckpointCoordinator() { stop(); }

void CheckpointCoordinator::start() {
  std::lock_guard lock(mutex_);
  lastEnd_ = clock_->currentTimeMillis();
  thread_ = std::thread([this] { run(); });
}

void CheckpointCoordinator::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (pending_) abortLocked("the job stopped");
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointCoordinator::shutdown(JobTerminalStatus status) {
  stop();
  store_.shutdown(status);
}

void CheckpointCoordinator::suspend(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    suspended_ = true;
    if (pending_) abortLocked(reason);
  }
  changed_.notify_all();
}

void CheckpointCoordinator::beginAttempt(int attemptNumber) {
  std::lock_guard lock(mutex_);
  attemptNumber_ = attemptNumber;
  finished_.clear();  // every task of the new attempt runs again
  waiting_.clear();
}

void CheckpointCoordinator::resume() {
  {
    std::lock_guard lock(mutex_);
    suspended_ = false;
    consecutiveFailures_ = 0;
    lastEnd_ = clock_->currentTimeMillis();
  }
  changed_.notify_all();
}

std::future<std::string> CheckpointCoordinator::triggerSavepoint(
    const std::string& targetDirectory) {
  if (targetDirectory.empty() && storage_.defaultSavepointDirectory().empty()) {
    throw ConfigurationException(
        "no savepoint directory: give a target directory or set state.savepoints.dir");
  }
  auto result = std::make_shared<std::promise<std::string>>();
  std::future<std::string> future = result->get_future();
  std::unique_lock lock(mutex_);
  // A savepoint waits for the pending checkpoint (one at a time), at most one timeout long.
  bool idle =
      changed_.wait_for(lock, std::chrono::milliseconds(config_.getCheckpointTimeout()),
                        [this] { return stopped_ || suspended_ || (!pending_ && !completing_); });
  std::string reason;
  if (stopped_) {
    reason = "the job has ended";
  } else if (suspended_) {
    reason = "the job is restarting";
  } else if (!idle) {
    reason = "a checkpoint was still in progress after the checkpoint timeout";
  } else if (!triggerLocked(lock, targetDirectory, result)) {
    reason = stats_.empty() ? "it could not be triggered" : stats_.back().failure;
  }
  lock.unlock();
  if (!reason.empty()) {
    result->set_exception(std::make_exception_ptr(SluiceException("savepoint failed: " + reason)));
  }
  changed_.notify_all();
  return future;
}

std::shared_ptr<const CompletedCheckpoint> CheckpointCoordinator::latestCompletedCheckpoint()
    const {
  auto latest = store_.latestCheckpoint();
  if (!latest) return nullptr;
  if (latest->checkpoint) return latest->checkpoint;
  return std::make_shared<const CompletedCheckpoint>(FileCheckpointStorage::load(latest->path));
}

std::optional<int64_t> CheckpointCoordinator::triggerCheckpoint() {
  std::optional<int64_t> id;
  {
    std::unique_lock lock(mutex_);
    id = triggerLocked(lock, std::nullopt, nullptr);
  }
  changed_.notify_all();  // the thread watches the new checkpoint's timeout
  return id;
}

std::optional<int64_t> CheckpointCoordinator::triggerLocked(
    std::unique_lock<std::mutex>& lock, std::optional<std::string> savepointDirectory,
    std::shared_ptr<std::promise<std::string>> savepointResult) {
  (void)lock;
  if (stopped_ || suspended_ || pending_ || completing_) return std::nullopt;
  Pending p;
  p.savepointDirectory = std::move(savepointDirectory);
  p.savepointResult = std::move(savepointResult);
  p.checkpoint.savepoint = p.savepointDirectory.has_value();
  p.id = nextId_++;
  p.timestamp = clock_->currentTimeMillis();
  p.acksLeft = participants_.numTasks();
  p.checkpoint.jobId = jobId_;
  p.checkpoint.checkpointId = p.id;
  p.checkpoint.timestamp = p.timestamp;
  if (!p.savepointDirectory && !storage_.checkpointsDirectory().empty()) {
    // Tasks write their keyed state into it before they acknowledge.
    p.location = storage_.checkpointDirectory(jobId_, p.id);
    std::error_code ec;
    std::filesystem::create_directories(p.location, ec);
    if (ec) {
      pending_ = std::move(p);
      abortLocked("could not create the checkpoint directory " + pending_->location + ": " +
                  ec.message());
      return std::nullopt;
    }
  }
  pending_ = std::move(p);
  // Finished tasks acknowledge with their final state (FLIP-147).
  for (const auto& [task, finalState] : finished_) {
    if (!finalState) {
      abortLocked(
          "a task has finished and its final state was not kept (enable periodic "
          "checkpointing to checkpoint after tasks finish)");
      return std::nullopt;
    }
    addAcknowledgementLocked(task, *finalState);
  }
  // Unaligned from the first barrier, or aligned switching to unaligned after the aligned
  // checkpoint timeout (execution.checkpointing.aligned-checkpoint-timeout); savepoints are
  // always aligned, as Flink's.
  bool unaligned = config_.isUnalignedCheckpointsEnabled();
  CheckpointBarrier barrier{pending_->id, pending_->timestamp,
                            unaligned && config_.getAlignedCheckpointTimeout() == 0,
                            pending_->savepointDirectory.has_value(),
                            unaligned ? config_.getAlignedCheckpointTimeout() : 0};
  pending_->barrier = barrier;
  // Sources are triggered under the lock: acknowledgements wait until the pending checkpoint
  // knows the coordinators' states.
  std::map<std::string, std::vector<uint8_t>> states;
  try {
    states = participants_.triggerSources(barrier);
  } catch (const std::exception& e) {
    abortLocked(e.what());
    return std::nullopt;
  }
  for (auto& [operatorId, bytes] : states) {
    pending_->checkpoint.operators[operatorId].operatorId = operatorId;
    pending_->checkpoint.operators[operatorId].coordinatorState = std::move(bytes);
  }
  for (int task : waiting_) participants_.triggerTask(task, barrier);
  return barrier.checkpointId;
}

void CheckpointCoordinator::addAcknowledgementLocked(int taskIndex, std::vector<OperatorAck> acks) {
  if (!pending_->acknowledged.insert(taskIndex).second) return;  // acknowledged already
  for (OperatorAck& ack : acks) {
    OperatorCheckpointState& op = pending_->checkpoint.operators[ack.operatorId];
    op.operatorId = ack.operatorId;
    op.operatorName = ack.operatorName;
    op.parallelism = ack.parallelism;
    op.maxParallelism = ack.maxParallelism;
    op.subtasks[ack.subtask] = std::move(ack.state);
  }
  --pending_->acksLeft;
}

void CheckpointCoordinator::taskFinished(int attemptNumber, int taskIndex,
                                         std::optional<std::vector<OperatorAck>> finalState) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || attemptNumber != attemptNumber_) return;
    waiting_.erase(taskIndex);
    auto& stored = finished_[taskIndex];
    stored = std::move(finalState);
    if (pending_ && pending_->acknowledged.count(taskIndex) == 0) {
      if (stored) {
        addAcknowledgementLocked(taskIndex, *stored);
      } else {
        abortLocked(
            "a task finished before it took the checkpoint (enable periodic "
            "checkpointing to checkpoint after tasks finish)");
      }
    }
  }
  changed_.notify_all();
}

void CheckpointCoordinator::taskWaitingForFinalCheckpoint(int attemptNumber, int taskIndex) {
  std::lock_guard lock(mutex_);
  if (stopped_ || attemptNumber != attemptNumber_) return;
  waiting_.insert(taskIndex);
  if (pending_ && pending_->acknowledged.count(taskIndex) == 0) {
    participants_.triggerTask(taskIndex, pending_->barrier);
  }
}

void CheckpointCoordinator::acknowledge(int64_t checkpointId, int taskIndex,
                                        std::vector<OperatorAck> acks, int64_t alignmentMillis,
                                        int64_t startDelayMillis) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->id != checkpointId) return;  // aborted or subsumed
    if (pending_->acknowledged.count(taskIndex) != 0) return;
    addAcknowledgementLocked(taskIndex, std::move(acks));
    pending_->maxAlignmentMillis = std::max(pending_->maxAlignmentMillis, alignmentMillis);
    pending_->maxStartDelayMillis = std::max(pending_->maxStartDelayMillis, startDelayMillis);
  }
  changed_.notify_all();
}

void CheckpointCoordinator::decline(int64_t checkpointId, const std::string& reason,
                                    bool countsAsFailure) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->id != checkpointId) return;
    abortLocked(reason);
    if (countsAsFailure) countFailureLocked(reason);
  }
  changed_.notify_all();
}

void CheckpointCoordinator::countFailureLocked(const std::string& reason) {
  // As Flink's CheckpointFailureManager: consecutive declined, expired or unstorable
  // checkpoints beyond execution.checkpointing.tolerable-failed-checkpoints fail the job (and
  // let its restart strategy recover it); checkpoints that could not even be triggered do not
  // count.
  if (++consecutiveFailures_ > config_.getTolerableCheckpointFailureNumber()) {
    consecutiveFailures_ = 0;
    participants_.failJob("Exceeded checkpoint tolerable failure threshold (" +
                          std::to_string(config_.getTolerableCheckpointFailureNumber()) +
                          "); last checkpoint failure: " + reason);
  }
}

void CheckpointCoordinator::abortLocked(const std::string& reason) {
  CheckpointStats s;
  s.checkpointId = pending_->id;
  s.triggerTimestamp = pending_->timestamp;
  s.durationMillis = clock_->currentTimeMillis() - pending_->timestamp;
  s.failure = reason;
  stats_.push_back(s);
  spdlog::warn("{} {} of job {} aborted: {}",
               pending_->savepointResult ? "savepoint" : "checkpoint", pending_->id, jobId_,
               reason);
  if (pending_->savepointResult) {
    pending_->savepointResult->set_exception(
        std::make_exception_ptr(SluiceException("savepoint failed: " + reason)));
  }
  participants_.notifyAborted(pending_->id);
  if (!pending_->location.empty()) {
    try {
      FileCheckpointStorage::discard(pending_->location);  // its state files; no _metadata
    } catch (const std::exception& e) {
      spdlog::warn("could not delete aborted checkpoint {}: {}", pending_->location, e.what());
    }
  }
  pending_.reset();
  lastEnd_ = clock_->currentTimeMillis();
  changed_.notify_all();  // savepoints waiting for the pending checkpoint to end
}

void CheckpointCoordinator::completeLocked(std::unique_lock<std::mutex>& lock) {
  Pending p = std::move(*pending_);
  pending_.reset();
  completing_ = true;
  lock.unlock();  // writing the files does not hold up acknowledgements or triggers
  CheckpointStats s;
  s.checkpointId = p.id;
  s.triggerTimestamp = p.timestamp;
  s.maxAlignmentMillis = p.maxAlignmentMillis;
  s.maxStartDelayMillis = p.maxStartDelayMillis;
  for (const auto& [id, op] : p.checkpoint.operators) {
    for (const auto& [index, st] : op.subtasks) {
      for (const auto& [kg, bytes] : st.keyedState.keyGroups) s.stateSizeBytes += bytes.size();
      for (const auto& [kg, range] : st.keyedStateHandle.keyGroups) {
        s.stateSizeBytes += static_cast<int64_t>(range.length);
      }
      for (const auto& [c, bytes] : st.inputChannelState) s.channelStateBytes += bytes.size();
      for (const auto& [c, bytes] : st.resultSubpartitionState) {
        s.channelStateBytes += bytes.size();
      }
      for (const auto& [name, state] : st.operatorState.states)
        s.stateSizeBytes += state.bytes.size();
    }
  }
  try {
    p.checkpoint.directory = p.location;  // state files resolve against it on failover
    auto shared = std::make_shared<const CompletedCheckpoint>(std::move(p.checkpoint));
    std::string path;
    if (p.savepointDirectory) {
      path = storage_.writeSavepoint(*shared, *p.savepointDirectory);  // the user's, not retained
    } else {
      if (!storage_.checkpointsDirectory().empty()) path = storage_.writeCheckpoint(*shared);
      store_.addCheckpoint(RetainedCheckpoint{p.id, p.timestamp, path, shared});
    }
    s.completed = true;
    s.path = path;
  } catch (const std::exception& e) {
    s.failure = e.what();
  }
  if (p.savepointResult) {
    if (s.completed) {
      p.savepointResult->set_value(s.path);
    } else {
      p.savepointResult->set_exception(
          std::make_exception_ptr(SluiceException("savepoint failed: " + s.failure)));
    }
  }
  lock.lock();
  completing_ = false;
  s.durationMillis = clock_->currentTimeMillis() - p.timestamp;
  lastEnd_ = clock_->currentTimeMillis();
  stats_.push_back(s);
  if (s.completed) {
    consecutiveFailures_ = 0;
    spdlog::info(
        "{} {} of job {} completed in {} ms ({} bytes, {} in flight, start delay {} ms, alignment "
        "{} ms){}",
        p.savepointDirectory ? "savepoint" : "checkpoint", p.id, jobId_, s.durationMillis,
        s.stateSizeBytes, s.channelStateBytes, s.maxStartDelayMillis, s.maxAlignmentMillis,
        s.path.empty() ? "" : " at " + s.path);
    participants_.notifyComplete(p.id);
  } else {
    spdlog::warn("checkpoint {} of job {} could not be stored: {}", p.id, jobId_, s.failure);
    participants_.notifyAborted(p.id);
    countFailureLocked("could not be stored: " + s.failure);
  }
  changed_.notify_all();  // savepoints waiting for the pending checkpoint to end
}

void CheckpointCoordinator::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    if (pending_ && pending_->acksLeft <= 0) {
      completeLocked(lock);
      continue;
    }
    int64_t now = clock_->currentTimeMillis();
    if (pending_ && now - pending_->timestamp >= config_.getCheckpointTimeout()) {
      abortLocked("expired before completing (execution.checkpointing.timeout)");
      countFailureLocked("expired before completing (execution.checkpointing.timeout)");
      continue;
    }
    if (!pending_ && (suspended_ || !config_.isCheckpointingEnabled())) {
      changed_.wait(lock);  // only triggerCheckpoint() / resume() start checkpoints
      continue;
    }
    int64_t wait = 50;
    if (!pending_) {
      int64_t due = lastEnd_ + std::max(config_.getCheckpointInterval(),
                                        config_.getMinPauseBetweenCheckpoints());
      if (now >= due) {
        triggerLocked(lock, std::nullopt, nullptr);
        continue;
      }
      wait = std::min<int64_t>(wait, due - now);
    }
    changed_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait, 1)));
  }
}

std::string CheckpointCoordinator::stateLocation(int64_t checkpointId) const {
  std::lock_guard lock(mutex_);
  return pending_ && pending_->id == checkpointId ? pending_->location : std::string();
}

std::vector<CheckpointStats> CheckpointCoordinator::statistics() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string CheckpointCoordinator::latestCompletedPath() const {
  auto latest = store_.latestCheckpoint();
  return latest ? latest->path : "";
}

}  // namespace sluice
