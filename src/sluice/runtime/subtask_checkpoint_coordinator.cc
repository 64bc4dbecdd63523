#include "sluice/runtime/subtask_checkpoint_coordinator.h"

#include <algorithm>

#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/state/keyed_state_backend.h"

namespace sluice {

SnapshotMaterializer::SnapshotMaterializer() : thread_([this] { run(); }) {}

SnapshotMaterializer::~SnapshotMaterializer() { stop(); }

void SnapshotMaterializer::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    jobs_.push_back(std::move(job));
  }
  changed_.notify_one();
}

void SnapshotMaterializer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    jobs_.clear();
  }
  changed_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void SnapshotMaterializer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopped_ || !jobs_.empty(); });
    if (stopped_) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // frees what the job held (old state versions) outside the lock
    lock.lock();
  }
}

SubtaskCheckpointCoordinator::SubtaskCheckpointCoordinator(CheckpointResponder& responder,
                                                           std::shared_ptr<Clock> clock,
                                                           int attemptNumber,
                                                           bool checkpointingEnabled,
                                                           CheckpointHookForTesting hookForTesting)
    : responder_(responder),
      clock_(std::move(clock)),
      attemptNumber_(attemptNumber),
      checkpointingEnabled_(checkpointingEnabled),
      hookForTesting_(std::move(hookForTesting)) {}

SubtaskCheckpointCoordinator::~SubtaskCheckpointCoordinator() { stop(); }

void SubtaskCheckpointCoordinator::attach(StreamTask& task, int taskIndex, const TaskInfo& info,
                                          std::vector<ChainedOperator> chain) {
  auto a = std::make_shared<const Attached>(Attached{&task, taskIndex, info, std::move(chain)});
  task.setCheckpointHook([this, a](const CheckpointBarrier& b, const CheckpointMetrics& m) {
    if (hookForTesting_) hookForTesting_(a->info, b, m);
    snapshotTask(*a, b, m);
  });
  // FLIP-147: a finished task hands its final state to the coordinator (with periodic
  // checkpointing; without, checkpoints after it are refused, saying why).
  task.setFinishedHook([this, a] {
    std::optional<std::vector<OperatorSnapshotAck>> finalState;
    if (checkpointingEnabled_) finalState = finalSnapshot(*a);
    responder_.taskFinished(attemptNumber_, a->taskIndex, std::move(finalState));
  });
  task.setWaitingForFinalCheckpointHook(
      [this, a] { responder_.taskWaitingForFinalCheckpoint(attemptNumber_, a->taskIndex); });
  task.setChannelStateHook([this, a](int64_t id, TaskChannelState state) {
    completeChannelState(*a->task, id, std::move(state));
  });
  task.setCheckpointAbortHook([this, a](int64_t id) {
    dropPendingAck(*a->task, id);
    responder_.decline(id, "a task aborted the checkpoint (barrier alignment)", false);
  });
}

OperatorSnapshotAck SubtaskCheckpointCoordinator::ackFor(const Attached& a, size_t k) {
  OperatorSnapshotAck ack;
  ack.operatorId = a.chain[k].operatorId;
  ack.operatorName = a.chain[k].name;
  ack.parallelism = a.info.numberOfParallelSubtasks;
  ack.maxParallelism = a.info.maxNumberOfParallelSubtasks;
  ack.subtask = a.info.indexOfSubtask;
  return ack;
}

void SubtaskCheckpointCoordinator::snapshotTask(const Attached& a, const CheckpointBarrier& barrier,
                                                const CheckpointMetrics& metrics) {
  StreamTask& task = *a.task;
  std::vector<OperatorSnapshotAck> acks;
  auto frozen = std::make_shared<std::vector<std::pair<size_t, AsyncKeyedSnapshot>>>();
  std::string name = a.info.nameWithSubtask(a.info.taskName);
  try {
    for (size_t k = 0; k < a.chain.size(); ++k) {
      StreamOperatorBase* op = task.operatorAt(static_cast<int>(k));
      OperatorSnapshotAck ack = ackFor(a, k);
      if (KeyedStateBackendBase* backend = op->keyedStateBackend()) {
        frozen->emplace_back(k, backend->snapshotAsync(barrier.checkpointId));
      }
      ack.state.operatorState = op->snapshotOperatorState(barrier.checkpointId, barrier.timestamp);
      acks.push_back(std::move(ack));
    }
  } catch (const std::exception& e) {
    responder_.decline(barrier.checkpointId, name + " failed to snapshot: " + e.what(), true);
    return;
  }
  {
    std::lock_guard lock(pendingAcksMutex_);
    PendingAck& pending = pendingAcks_[{&task, barrier.checkpointId}];
    pending.taskIndex = a.taskIndex;
    pending.acks = std::move(acks);
    pending.alignmentMillis = metrics.alignmentDurationMillis();
    // The first barrier reached this task `alignment` before the hook ran.
    pending.startDelayMillis = std::max<int64_t>(
        0, clock_->currentTimeMillis() - barrier.timestamp - pending.alignmentMillis);
    pending.materialized = frozen->empty();
  }
  if (frozen->empty()) return;
  int64_t id = barrier.checkpointId;
  StreamTask* t = &task;
  std::vector<std::string> prefixes;  // state file names: <operator id>-<subtask>
  for (const auto& [k, snapshot] : *frozen) {
    prefixes.push_back(a.chain[k].operatorId + "-" + std::to_string(a.info.indexOfSubtask));
  }
  materializer_.submit([this, t, id, frozen, name, prefixes] {
    std::vector<std::pair<size_t, KeyedStateSnapshot>> keyed;
    std::vector<KeyGroupsStateHandle> handles;
    try {
      for (const auto& [k, snapshot] : *frozen) keyed.emplace_back(k, snapshot.materialize());
      // Keyed state goes to a file of its own in the checkpoint directory; the
      // acknowledgement carries only its handle (savepoints keep it inline).
      const std::string location = responder_.stateLocation(id);
      if (!location.empty()) {
        for (size_t i = 0; i < keyed.size(); ++i) {
          handles.push_back(FileCheckpointStorage::writeKeyGroupsFile(location, prefixes[i],
                                                                      keyed[i].second.keyGroups));
          keyed[i].second.keyGroups.clear();
        }
      }
    } catch (const std::exception& e) {
      dropPendingAck(*t, id);
      responder_.decline(id, name + " failed to write its keyed state: " + e.what(), true);
      return;
    }
    frozen->clear();  // the old state versions are freed here, not on the task thread
    PendingAck ready;
    {
      std::lock_guard lock(pendingAcksMutex_);
      auto it = pendingAcks_.find({t, id});
      if (it == pendingAcks_.end()) return;  // aborted meanwhile
      for (size_t i = 0; i < keyed.size(); ++i) {
        auto& state = it->second.acks[keyed[i].first].state;
        state.keyedState = std::move(keyed[i].second);
        if (i < handles.size()) state.keyedStateHandle = std::move(handles[i]);
      }
      it->second.materialized = true;
      if (!it->second.channelState) return;  // completeChannelState acknowledges
      ready = std::move(it->second);
      pendingAcks_.erase(it);
    }
    acknowledge(id, std::move(ready));
  });
}

void SubtaskCheckpointCoordinator::completeChannelState(StreamTask& task, int64_t checkpointId,
                                                        TaskChannelState state) {
  // Once per checkpoint after the snapshot: empty at once for aligned checkpoints, the
  // in-flight buffers once the last barrier arrived for unaligned ones. Stored with the
  // chain's head operator (input channels), as Flink's OperatorSubtaskState.
  PendingAck ready;
  {
    std::lock_guard lock(pendingAcksMutex_);
    auto it = pendingAcks_.find({&task, checkpointId});
    if (it == pendingAcks_.end()) return;  // the snapshot was declined
    it->second.channelState = std::move(state);
    if (!it->second.materialized) return;  // the materializer acknowledges
    ready = std::move(it->second);
    pendingAcks_.erase(it);
  }
  acknowledge(checkpointId, std::move(ready));
}

void SubtaskCheckpointCoordinator::acknowledge(int64_t checkpointId, PendingAck ready) {
  if (!ready.acks.empty() && ready.channelState) {
    auto& head = ready.acks.front().state;
    head.inputChannelState = std::move(ready.channelState->inputChannels);
    head.resultSubpartitionState = std::move(ready.channelState->resultSubpartitions);
  }
  responder_.acknowledge(checkpointId, ready.taskIndex, std::move(ready.acks),
                         ready.alignmentMillis, ready.startDelayMillis);
}

std::vector<OperatorSnapshotAck> SubtaskCheckpointCoordinator::finalSnapshot(const Attached& a) {
  // Task thread, synchronous (keyed state serialized at once). A snapshot that fails here
  // fails the task, since later checkpoints could not include it.
  std::vector<OperatorSnapshotAck> acks;
  for (size_t k = 0; k < a.chain.size(); ++k) {
    StreamOperatorBase* op = a.task->operatorAt(static_cast<int>(k));
    OperatorSnapshotAck ack = ackFor(a, k);
    if (KeyedStateBackendBase* backend = op->keyedStateBackend()) {
      ack.state.keyedState = backend->snapshot();
    }
    ack.state.operatorState = op->snapshotOperatorState(0, clock_->currentTimeMillis());
    acks.push_back(std::move(ack));
  }
  return acks;
}

void SubtaskCheckpointCoordinator::dropPendingAck(StreamTask& task, int64_t checkpointId) {
  std::lock_guard lock(pendingAcksMutex_);
  pendingAcks_.erase({&task, checkpointId});
}

}  // namespace sluice
