#include "sluice/cluster/checkpoint_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

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

std::optional<int64_t> CheckpointCoordinator::triggerCheckpoint() {
  std::optional<int64_t> id;
  {
    std::unique_lock lock(mutex_);
    id = triggerLocked(lock);
  }
  changed_.notify_all();  // the thread watches the new checkpoint's timeout
  return id;
}

std::optional<int64_t> CheckpointCoordinator::triggerLocked(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  if (stopped_ || pending_ || completing_) return std::nullopt;
  Pending p;
  p.id = nextId_++;
  p.timestamp = clock_->currentTimeMillis();
  p.acksLeft = participants_.numTasks();
  p.checkpoint.jobId = jobId_;
  p.checkpoint.checkpointId = p.id;
  p.checkpoint.timestamp = p.timestamp;
  pending_ = std::move(p);
  CheckpointBarrier barrier{pending_->id, pending_->timestamp,
                            config_.isUnalignedCheckpointsEnabled(), false};
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
  return barrier.checkpointId;
}

void CheckpointCoordinator::acknowledge(int64_t checkpointId, std::vector<OperatorAck> acks,
                                        int64_t alignmentMillis) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->id != checkpointId) return;  // aborted or subsumed
    for (OperatorAck& ack : acks) {
      OperatorCheckpointState& op = pending_->checkpoint.operators[ack.operatorId];
      op.operatorId = ack.operatorId;
      op.operatorName = ack.operatorName;
      op.parallelism = ack.parallelism;
      op.maxParallelism = ack.maxParallelism;
      op.subtasks[ack.subtask] = std::move(ack.state);
    }
    pending_->maxAlignmentMillis = std::max(pending_->maxAlignmentMillis, alignmentMillis);
    --pending_->acksLeft;
  }
  changed_.notify_all();
}

void CheckpointCoordinator::decline(int64_t checkpointId, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->id != checkpointId) return;
    abortLocked(reason);
  }
  changed_.notify_all();
}

void CheckpointCoordinator::abortLocked(const std::string& reason) {
  CheckpointStats s;
  s.checkpointId = pending_->id;
  s.triggerTimestamp = pending_->timestamp;
  s.durationMillis = clock_->currentTimeMillis() - pending_->timestamp;
  s.failure = reason;
  stats_.push_back(s);
  spdlog::warn("checkpoint {} of job {} aborted: {}", pending_->id, jobId_, reason);
  participants_.notifyAborted(pending_->id);
  pending_.reset();
  lastEnd_ = clock_->currentTimeMillis();
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
  for (const auto& [id, op] : p.checkpoint.operators) {
    for (const auto& [index, st] : op.subtasks) {
      for (const auto& [kg, bytes] : st.keyedState.keyGroups) s.stateSizeBytes += bytes.size();
      for (const auto& [name, state] : st.operatorState.states)
        s.stateSizeBytes += state.bytes.size();
    }
  }
  try {
    auto shared = std::make_shared<const CompletedCheckpoint>(std::move(p.checkpoint));
    std::string path;
    if (!storage_.checkpointsDirectory().empty()) path = storage_.writeCheckpoint(*shared);
    store_.addCheckpoint(RetainedCheckpoint{p.id, p.timestamp, path, shared});
    s.completed = true;
    s.path = path;
  } catch (const std::exception& e) {
    s.failure = e.what();
  }
  lock.lock();
  completing_ = false;
  s.durationMillis = clock_->currentTimeMillis() - p.timestamp;
  lastEnd_ = clock_->currentTimeMillis();
  stats_.push_back(s);
  if (s.completed) {
    spdlog::info("checkpoint {} of job {} completed in {} ms ({} bytes, alignment {} ms){}", p.id,
                 jobId_, s.durationMillis, s.stateSizeBytes, s.maxAlignmentMillis,
                 s.path.empty() ? "" : " at " + s.path);
    participants_.notifyComplete(p.id);
  } else {
    spdlog::warn("checkpoint {} of job {} could not be stored: {}", p.id, jobId_, s.failure);
    participants_.notifyAborted(p.id);
  }
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
      continue;
    }
    if (!pending_ && !config_.isCheckpointingEnabled()) {
      changed_.wait(lock);  // only triggerCheckpoint() starts checkpoints
      continue;
    }
    int64_t wait = 50;
    if (!pending_) {
      int64_t due = lastEnd_ + std::max(config_.getCheckpointInterval(),
                                        config_.getMinPauseBetweenCheckpoints());
      if (now >= due) {
        triggerLocked(lock);
        continue;
      }
      wait = std::min<int64_t>(wait, due - now);
    }
    changed_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait, 1)));
  }
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
