#include "sluice/cluster/job_master.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>

namespace sluice {

namespace {

std::string randomJobId() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

bool isTerminal(JobStatus s) {
  return s == JobStatus::kFinished || s == JobStatus::kFailed || s == JobStatus::kCanceled;
}

}  // namespace

JobMaster::JobMaster(const JobGraph& jobGraph, const ExecutionOptions& options,
                     TaskDeployer deployer)
    : jobGraph_(jobGraph),
      executionGraph_(jobGraph_),
      options_(options),
      deployer_(std::move(deployer)) {
  if (options_.jobId.empty()) options_.jobId = randomJobId();
  restartStrategy_ =
      options_.restartStrategy ? options_.restartStrategy() : RestartStrategy::noRestart();
  checkpoints_ = std::make_unique<CheckpointCoordinator>(options_.jobId, options_.checkpointConfig,
                                                         *this, options_.clock);
  // Flink's InitializeOnMaster: once per submission, before the first deployment; throws to
  // refuse the submission (FileSink's non-empty output directory).
  for (const JobVertex& v : jobGraph_.vertices()) {
    for (int nodeId : v.chain) {
      jobGraph_.streamGraph().node(nodeId).factory->initializeOnMaster(
          {options_.restoreCheckpoint != nullptr, v.parallelism});
    }
  }
  attempt_ =
      deployer_(jobGraph_, executionGraph_, options_, 0, options_.restoreCheckpoint, *checkpoints_);
}

JobMaster::~JobMaster() {
  cancel();
  if (supervisor_.joinable()) supervisor_.join();
  checkpoints_->stop();
  std::lock_guard lock(attemptMutex_);
  attempt_.reset();
}

void JobMaster::start() {
  start_ = std::chrono::steady_clock::now();
  attempt_->startTasks();
  setStatus(JobStatus::kRunning);
  checkpoints_->start();
  supervisor_ = std::thread([this] { supervise(); });
}

void JobMaster::cancel() {
  {
    std::lock_guard lock(mutex_);
    if (isTerminal(status_) || cancelRequested_) return;
    cancelRequested_ = true;
    if (status_ == JobStatus::kRunning || status_ == JobStatus::kRestarting) {
      status_ = JobStatus::kCancelling;
    }
  }
  changed_.notify_all();  // a failover waiting out its backoff
  std::lock_guard lock(attemptMutex_);
  if (attempt_) attempt_->cancelTasks();
}

JobStatus JobMaster::getJobStatus() const {
  std::lock_guard lock(mutex_);
  return status_;
}

JobExecutionResult JobMaster::getJobExecutionResult() {
  {
    std::lock_guard lock(joinMutex_);
    if (supervisor_.joinable()) supervisor_.join();
  }
  auto runtime = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - start_).count();
  std::lock_guard lock(mutex_);
  if (status_ == JobStatus::kFailed) {
    throw JobExecutionException("Job '" + jobGraph_.jobName() + "' failed: " + failure_);
  }
  if (status_ == JobStatus::kCanceled) {
    throw JobExecutionException("Job '" + jobGraph_.jobName() + "' was cancelled");
  }
  return JobExecutionResult(jobGraph_.jobName(), runtime, std::move(accumulators_));
}

NetworkStats JobMaster::networkStats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::optional<int64_t> JobMaster::triggerCheckpoint() { return checkpoints_->triggerCheckpoint(); }

std::vector<CheckpointStats> JobMaster::checkpointStatistics() const {
  return checkpoints_->statistics();
}

std::future<std::string> JobMaster::triggerSavepoint(const std::string& directory) {
  return checkpoints_->triggerSavepoint(directory);
}

std::future<std::string> JobMaster::stopWithSavepoint(const std::string& directory, bool drain) {
  if (drain) {
    throw SluiceException(
        "stop-with-savepoint with drain (--drain) is not supported yet; stop without drain");
  }
  // Not Flink's synchronous savepoint: records after the savepoint's barrier may still be
  // processed before the tasks stop, but no later checkpoint completes, so committed output
  // (two-phase-commit sinks) and the savepoint agree.
  return std::async(std::launch::async, [this, directory] {
    std::string path = checkpoints_->triggerSavepoint(directory).get();
    {
      std::lock_guard lock(mutex_);
      stoppedWithSavepoint_ = true;
    }
    cancel();
    return path;
  });
}

int JobMaster::numberOfRestarts() const {
  std::lock_guard lock(mutex_);
  return restarts_;
}

std::map<std::string, std::vector<uint8_t>> JobMaster::triggerSources(
    const CheckpointBarrier& barrier) {
  std::lock_guard lock(attemptMutex_);
  if (!attempt_) throw SluiceException("the job is restarting");
  return attempt_->triggerSources(barrier);
}

void JobMaster::triggerTask(int taskIndex, const CheckpointBarrier& barrier) {
  std::lock_guard lock(attemptMutex_);
  if (attempt_) attempt_->triggerTask(taskIndex, barrier);
}

int JobMaster::numTasks() const { return executionGraph_.numTasks(); }

void JobMaster::notifyComplete(int64_t checkpointId) {
  std::lock_guard lock(attemptMutex_);
  if (attempt_) attempt_->notifyCheckpointComplete(checkpointId);
}

void JobMaster::notifyAborted(int64_t checkpointId) {
  std::lock_guard lock(attemptMutex_);
  if (attempt_) attempt_->notifyCheckpointAborted(checkpointId);
}

void JobMaster::failJob(const std::string& reason) {
  std::lock_guard lock(attemptMutex_);
  if (attempt_) attempt_->failTasks(reason, true);
}

void JobMaster::setStatus(JobStatus s) {
  std::lock_guard lock(mutex_);
  status_ = s;
}

bool JobMaster::stoppedWithSavepoint() const {
  std::lock_guard lock(mutex_);
  return stoppedWithSavepoint_;
}

void JobMaster::supervise() {
  // The failover loop: waits for the attempt to end; on a failure asks the restart strategy,
  // waits its backoff and deploys a new attempt from the latest completed checkpoint (or the
  // checkpoint the job started from).
  JobStatus final = JobStatus::kFinished;
  std::string failure;
  for (;;) {
    TaskExecutionOutcome outcome = attempt_->awaitTermination();  // only this thread replaces it
    failure = outcome.failure;
    bool cancelled;
    {
      std::lock_guard lock(mutex_);
      cancelled = cancelRequested_;
    }
    if (failure.empty() || cancelled) {
      final = cancelled ? JobStatus::kCanceled : JobStatus::kFinished;
      break;
    }
    checkpoints_->suspend("a task failed; the job restarts");
    if (!outcome.recoverable) {
      // Flink's SuppressRestartsException: the same input or configuration fails every
      // attempt, so restarting would only repeat it (forever under exponential-delay).
      failure += " (not restarted: this failure repeats on every attempt)";
      final = JobStatus::kFailed;
      break;
    }
    restartStrategy_->notifyFailure(options_.clock->currentTimeMillis());
    if (!restartStrategy_->canRestart()) {
      if (restartStrategy_->describe() != "none") {
        failure += " (recovery suppressed by restart strategy " + restartStrategy_->describe() +
                   " after " + std::to_string(restarts_) + " restarts)";
      }
      final = JobStatus::kFailed;
      break;
    }
    int64_t backoff = restartStrategy_->getBackoffTimeMillis();
    auto restore = checkpoints_->latestCompletedCheckpoint();
    if (!restore) restore = options_.restoreCheckpoint;
    spdlog::warn("job {} restarts in {} ms from {} (restart {}, {}) after: {}", options_.jobId,
                 backoff,
                 restore ? "checkpoint " + std::to_string(restore->checkpointId)
                         : std::string("the beginning"),
                 restarts_ + 1, restartStrategy_->describe(), failure);
    {
      std::unique_lock lock(mutex_);
      if (!cancelRequested_) status_ = JobStatus::kRestarting;
      changed_.wait_for(lock, std::chrono::milliseconds(backoff),
                        [this] { return cancelRequested_; });
      if (cancelRequested_) {
        final = JobStatus::kCanceled;
        break;
      }
      ++restarts_;
    }
    {
      std::lock_guard lock(attemptMutex_);
      attempt_.reset();  // releases the failed attempt's tasks and partitions
    }
    std::unique_ptr<TaskExecutorGateway> next;
    try {
      next = deployer_(jobGraph_, executionGraph_, options_, restarts_, restore, *checkpoints_);
      checkpoints_->beginAttempt(restarts_);
      next->startTasks();
    } catch (const std::exception& e) {
      failure = std::string("could not restart: ") + e.what();
      final = JobStatus::kFailed;
      next.reset();
      break;
    }
    {
      std::lock_guard lock(attemptMutex_);
      attempt_ = std::move(next);
    }
    {
      std::lock_guard lock(mutex_);
      if (cancelRequested_) {
        attempt_->cancelTasks();  // cancel() ran while no attempt was there
      } else {
        status_ = JobStatus::kRunning;
      }
    }
    checkpoints_->resume();
  }
  if (final == JobStatus::kCanceled && stoppedWithSavepoint()) final = JobStatus::kFinished;
  checkpoints_->shutdown(final == JobStatus::kFinished ? JobTerminalStatus::kFinished
                         : final == JobStatus::kFailed ? JobTerminalStatus::kFailed
                                                       : JobTerminalStatus::kCanceled);
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators;
  NetworkStats stats;
  {
    std::lock_guard lock(attemptMutex_);
    if (attempt_) {
      attempt_->awaitTermination();
      // Merged from serialized copies, as they arrive from TaskManagers in a cluster.
      for (auto& [name, serialized] : attempt_->accumulatorSnapshots()) {
        try {
          std::unique_ptr<Accumulator> acc = deserializeAccumulator(serialized);
          auto it = accumulators.find(name);
          if (it == accumulators.end()) {
            accumulators.emplace(name, std::move(acc));
          } else {
            it->second->merge(*acc);
          }
        } catch (const std::exception& e) {
          spdlog::error("job {}: accumulator '{}' is left out of the result: {}", options_.jobId,
                        name, e.what());
        }
      }
      stats = attempt_->networkStats();
      attempt_->releaseTasks();
    }
  }
  end_ = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  accumulators_ = std::move(accumulators);
  stats_ = stats;
  failure_ = failure;
  status_ = final;
}

}  // namespace sluice
