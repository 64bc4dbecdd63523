#include "sluice/cluster/local_executor.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "sluice/cluster/restart_strategy.h"
#include "sluice/network/result_partition.h"
#include "sluice/runtime/stream_task.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {

namespace {

/// Consumers of producer `i` on a pointwise edge from `p` producers to `c` consumers, ascending
/// (as Flink's POINTWISE distribution: each side's subtasks split as evenly as possible).
std::vector<int> pointwiseConsumers(int p, int c, int i) {
  std::vector<int> out;
  if (p >= c) {
    out.push_back(static_cast<int>(static_cast<int64_t>(i) * c / p));
  } else {
    for (int j = 0; j < c; ++j) {
      if (static_cast<int64_t>(j) * p / c == i) out.push_back(j);
    }
  }
  return out;
}

std::vector<int> allConsumers(int c) {
  std::vector<int> out(static_cast<size_t>(c));
  for (int j = 0; j < c; ++j) out[static_cast<size_t>(j)] = j;
  return out;
}

std::string randomJobId() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

/// The asynchronous part of checkpoints (Flink's asynchronous snapshot threads): serializes
/// the keyed state frozen on the task threads, one job after the other on a thread of its own,
/// so that tasks go on processing meanwhile. Jobs still queued at stop() are dropped (their
/// checkpoint can no longer complete).
class SnapshotMaterializer {
 public:
  SnapshotMaterializer() : thread_([this] { run(); }) {}
  ~SnapshotMaterializer() { stop(); }
  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      jobs_.push_back(std::move(job));
    }
    changed_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      jobs_.clear();
    }
    changed_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
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
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;
};

/// One deployment of every task of the job (an execution attempt of each vertex). A failure
/// anywhere cancels every task; the LocalJob then releases this attempt and deploys a new one
/// restored from the latest completed checkpoint (Flink's full-restart failover strategy).
/// Checkpoint acknowledgements go to the job's coordinator, which outlives attempts.
class ExecutionAttempt {
  // A task's snapshot waiting for its keyed state to be materialized and for its channel state
  // before it is acknowledged.
  struct PendingAck {
    int taskIndex = 0;
    std::vector<CheckpointCoordinator::OperatorAck> acks;
    int64_t alignmentMillis = 0;
    int64_t startDelayMillis = 0;
    bool materialized = false;
    std::optional<TaskChannelState> channelState;
  };

 public:
  /// Deploys every task, restoring from `restore` when not null. Throws SluiceException when
  /// the graph cannot be deployed or the checkpoint does not fit it.
  ExecutionAttempt(const JobGraph& jobGraph, const ExecutionOptions& options,
                   std::shared_ptr<const CompletedCheckpoint> restore,
                   CheckpointCoordinator& checkpoints, int attemptNumber)
      : jobGraph_(jobGraph),
        options_(options),
        scheduler_(options.clock),
        checkpoints_(checkpoints),
        attemptNumber_(attemptNumber) {
    options_.restoreCheckpoint = std::move(restore);
    deploy();
  }

  ~ExecutionAttempt() {
    cancel();
    joinAll();
    release();
  }

  /// Starts the source coordinators and the task threads. Throws JobExecutionException when a
  /// coordinator cannot start.
  void start() {
    for (auto& [node, coordinator] : coordinators_) {
      try {
        coordinator->start();
      } catch (const std::exception& e) {
        throw JobExecutionException("Job '" + jobGraph_.jobName() + "' failed: operator '" +
                                    jobGraph_.streamGraph().node(node).name +
                                    "' could not start: " + e.what());
      }
    }
    for (auto& task : tasks_) {
      threads_.emplace_back([t = task.get()] { t->run(); });
    }
  }

  void cancel() {
    {
      std::lock_guard lock(mutex_);
      if (!cancelRequested_ && failure_.empty()) cancelRequested_ = true;
    }
    stopAll();
  }

  /// Fails the attempt with `reason` (unless it already failed or was cancelled); `recoverable`
  /// false suppresses restarts.
  void fail(const std::string& reason, bool recoverable = true) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_.empty() || cancelRequested_) return;
      failure_ = reason;
      failureRecoverable_ = recoverable;
    }
    spdlog::error("{}", reason);
    stopAll();
  }

  /// Waits until every task thread ended.
  void joinAll() {
    std::lock_guard lock(joinMutex_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  /// The first task failure, or "" (also when the attempt was cancelled first).
  std::string failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }
  /// Whether a restart may cure failure() (false for bad input records, bad configuration and
  /// SuppressRestartsException: see isRecoverable).
  bool failureRecoverable() const {
    std::lock_guard lock(mutex_);
    return failureRecoverable_;
  }
  bool cancelled() const {
    std::lock_guard lock(mutex_);
    return cancelRequested_;
  }

  /// Accumulators and network statistics of the ended attempt.
  void collectStats(std::map<std::string, std::unique_ptr<Accumulator>>& accumulators,
                    NetworkStats& stats) const {
    for (const auto& task : tasks_) {
      for (const RuntimeContext* ctx : task->runtimeContexts()) {
        for (const auto& [name, acc] : ctx->accumulators()) {
          auto it = accumulators.find(name);
          if (it == accumulators.end()) {
            accumulators.emplace(name, acc->clone());
          } else {
            it->second->merge(*acc);
          }
        }
      }
    }
    for (const auto& p : partitions_) {
      stats.totalBuffers += p->bufferPool().numBuffers();
      stats.maxBuffersInUse += p->bufferPool().maxInUse();
      stats.blockedRequests += p->bufferPool().numBlockedRequests();
    }
  }

  // What the job's CheckpointParticipants forward to the running attempt.
  std::map<std::string, std::vector<uint8_t>> triggerSources(const CheckpointBarrier& barrier) {
    std::lock_guard lock(releaseMutex_);  // tasks live until release()
    if (released_) throw SluiceException("the job has ended");
    std::map<std::string, std::vector<uint8_t>> states;
    for (auto& [head, tasks] : sourceVertices_) {
      // A source task that has finished (or finishes before the mail runs) is not triggered:
      // its final state stands in (CheckpointCoordinator::taskFinished, FLIP-147).
      auto trigger = [&] {
        for (StreamTask* t : tasks) t->triggerCheckpointAsync(barrier);
      };
      auto c = coordinators_.find(head);
      if (c == coordinators_.end()) {
        trigger();
        continue;
      }
      try {
        states[jobGraph_.operatorId(head)] =
            c->second->checkpointCoordinator(barrier.checkpointId, trigger);
      } catch (const std::exception& e) {
        throw SluiceException("source " + jobGraph_.streamGraph().node(head).name +
                              " cannot checkpoint: " + e.what());
      }
    }
    return states;
  }
  void triggerTask(int taskIndex, const CheckpointBarrier& barrier) {
    std::lock_guard lock(releaseMutex_);
    if (released_ || taskIndex < 0 || static_cast<size_t>(taskIndex) >= tasks_.size()) return;
    tasks_[static_cast<size_t>(taskIndex)]->triggerCheckpointAsync(barrier);
  }
  int numTasks() const { return static_cast<int>(tasks_.size()); }
  void notifyComplete(int64_t checkpointId) {
    std::lock_guard lock(releaseMutex_);
    if (released_) return;
    for (auto& t : tasks_) t->notifyCheckpointCompleteAsync(checkpointId);
  }
  void notifyAborted(int64_t checkpointId) {
    std::lock_guard lock(releaseMutex_);
    if (released_) return;
    for (auto& t : tasks_) t->notifyCheckpointAbortedAsync(checkpointId);
  }

  /// Frees everything in dependency order: timers, tasks (gates, writers), coordinators, and
  /// last the partitions whose pools the buffers return to. Call after joinAll().
  void release() {
    materializer_.stop();                 // before the tasks its jobs name go away
    std::lock_guard lock(releaseMutex_);  // not while the coordinator reaches tasks
    if (released_) return;
    released_ = true;
    scheduler_.shutdown();
    tasks_.clear();
    for (auto& [node, c] : coordinators_) c->close();
    coordinators_.clear();
    for (auto& p : partitions_) p->release();
    partitions_.clear();
  }

 private:
  void deploy() {
    const StreamGraph& g = jobGraph_.streamGraph();
    const auto& vertices = jobGraph_.vertices();
    std::vector<std::vector<StreamTask*>> tasksOf(vertices.size());
    int owner = 0;
    for (const auto& v : vertices) {
      for (int i = 0; i < v.parallelism; ++i) {
        TaskInfo info{v.name, i, v.parallelism, v.maxParallelism, attemptNumber_};
        auto task =
            std::make_unique<StreamTask>(info, scheduler_, owner++, options_.bufferTimeoutMillis);
        task->setFailureListener([this](StreamTask& t) { onTaskFailed(t); });
        task->setAutoWatermarkInterval(options_.autoWatermarkIntervalMillis);
        task->setCheckpointingMode(options_.checkpointingMode);
        task->setCheckpointingEnabled(options_.checkpointConfig.isCheckpointingEnabled());
        StreamTask* t = task.get();
        std::vector<int> chain = v.chain;
        const int taskIndex = static_cast<int>(tasks_.size());
        task->setCheckpointHook([this, t, taskIndex, info, chain](const CheckpointBarrier& b,
                                                                  const CheckpointMetrics& m) {
          if (options_.checkpointHookForTesting) options_.checkpointHookForTesting(info, b, m);
          snapshotTask(*t, taskIndex, info, chain, b, m);
        });
        // FLIP-147: a finished task hands its final state to the coordinator (with periodic
        // checkpointing; without, checkpoints after it are refused, saying why).
        task->setFinishedHook([this, t, taskIndex, info, chain] {
          std::optional<std::vector<CheckpointCoordinator::OperatorAck>> finalState;
          if (options_.checkpointConfig.isCheckpointingEnabled()) {
            finalState = finalSnapshot(*t, info, chain);
          }
          checkpoints_.taskFinished(attemptNumber_, taskIndex, std::move(finalState));
        });
        task->setWaitingForFinalCheckpointHook([this, taskIndex] {
          checkpoints_.taskWaitingForFinalCheckpoint(attemptNumber_, taskIndex);
        });
        task->setChannelStateHook([this, t](int64_t id, TaskChannelState state) {
          completeChannelState(*t, id, std::move(state));
        });
        task->setCheckpointAbortHook([this, t](int64_t id) {
          dropPendingAck(*t, id);
          checkpoints_.decline(id, "a task aborted the checkpoint (barrier alignment)", false);
        });
        for (int nodeId : v.chain) {
          task->addOperator(g.node(nodeId).factory->createOperator(), g.node(nodeId).name);
        }
        if (options_.restoreCheckpoint) {
          for (size_t k = 0; k < v.chain.size(); ++k) {
            restoreOperator(*task, static_cast<int>(k), v.chain[k], info);
          }
        }
        tasksOf[static_cast<size_t>(v.id)].push_back(task.get());
        tasks_.push_back(std::move(task));
      }
      for (int nodeId : v.chain) {
        if (auto c = g.node(nodeId).factory->createCoordinator(v.parallelism)) {
          if (options_.restoreCheckpoint) {
            auto it = options_.restoreCheckpoint->operators.find(jobGraph_.operatorId(nodeId));
            if (it != options_.restoreCheckpoint->operators.end() &&
                !it->second.coordinatorState.empty()) {
              c->resetToCheckpoint(it->second.coordinatorState);
            }
          }
          coordinators_.emplace(nodeId, std::move(c));
        }
      }
      if (v.inputs.empty())
        sourceVertices_.emplace_back(v.chain.front(), tasksOf[static_cast<size_t>(v.id)]);
    }

    if (options_.restoreCheckpoint && !options_.allowNonRestoredState) {
      std::set<std::string> ours;
      for (const auto& v : vertices) {
        for (int nodeId : v.chain) ours.insert(jobGraph_.operatorId(nodeId));
      }
      for (const auto& [id, op] : options_.restoreCheckpoint->operators) {
        if (ours.count(id) == 0) {
          throw SluiceException("the checkpoint holds state of operator '" + op.operatorName +
                                "' (id " + id +
                                ") that this job does not have; give it the same uid, or allow "
                                "non-restored state (--allow-non-restored-state)");
        }
      }
    }

    // Partitions: one per job edge and producer subtask, one subpartition per consumer.
    std::vector<std::vector<std::vector<int>>> consumersOf(jobGraph_.edges().size());
    std::vector<std::vector<ResultPartition*>> partitionsOf(jobGraph_.edges().size());
    for (const auto& e : jobGraph_.edges()) {
      int p = vertices[static_cast<size_t>(e.sourceVertex)].parallelism;
      int c = vertices[static_cast<size_t>(e.targetVertex)].parallelism;
      for (int i = 0; i < p; ++i) {
        auto consumers = e.pointwise ? pointwiseConsumers(p, c, i) : allConsumers(c);
        int n = static_cast<int>(consumers.size());
        partitions_.push_back(std::make_unique<ResultPartition>(
            n, n * options_.buffersPerChannel + options_.floatingBuffers, options_.segmentSize));
        partitionsOf[static_cast<size_t>(e.id)].push_back(partitions_.back().get());
        consumersOf[static_cast<size_t>(e.id)].push_back(std::move(consumers));
      }
    }

    // Outputs, tail to head, so chained successors exist when their predecessors are wired.
    for (const auto& v : vertices) {
      for (int i = 0; i < v.parallelism; ++i) {
        StreamTask* task = tasksOf[static_cast<size_t>(v.id)][static_cast<size_t>(i)];
        std::map<int, int> indexInChain;
        for (size_t k = 0; k < v.chain.size(); ++k) indexInChain[v.chain[k]] = static_cast<int>(k);
        for (int k = static_cast<int>(v.chain.size()) - 1; k >= 0; --k) {
          const StreamNode& node = g.node(v.chain[static_cast<size_t>(k)]);
          // Outputs grouped by side output tag ("" is the main output), with the edge type.
          std::map<std::string,
                   std::pair<std::shared_ptr<const TypeInfo>, std::vector<OutputBase*>>>
              outputsByTag;
          outputsByTag[""].first = node.outputType;
          for (int ei : node.outEdges) {
            const StreamEdge& se = g.edges()[static_cast<size_t>(ei)];
            auto& [edgeType, outs] = outputsByTag[se.sideOutputTag];
            edgeType = se.type;
            auto chained = indexInChain.find(se.targetId);
            if (chained != indexInChain.end()) {
              outs.push_back(task->operatorAt(chained->second)->input(se.typeNumber));
              continue;
            }
            const JobEdge& je = jobEdgeOf(ei);
            ResultPartition& partition =
                *partitionsOf[static_cast<size_t>(je.id)][static_cast<size_t>(i)];
            RecordWriter& writer = task->addRecordWriter(partition);
            EdgeContext edge;
            edge.numChannels = partition.numSubpartitions();
            edge.producerIndex = i;
            edge.consumerMaxParallelism =
                vertices[static_cast<size_t>(je.targetVertex)].maxParallelism;
            edge.seed = options_.seed;
            outs.push_back(task->adoptOutput(se.partitioner->createOutput(writer, edge)));
          }
          std::map<std::string, OutputBase*> combined;
          for (auto& [tag, typedOuts] : outputsByTag) {
            auto& [edgeType, outs] = typedOuts;
            if (outs.size() == 1) {
              combined[tag] = outs[0];
            } else if (outs.size() > 1) {
              combined[tag] = task->adoptOutput(edgeType->createBroadcastingOutput(outs));
            } else if (tag.empty() && edgeType) {
              combined[tag] = task->adoptOutput(edgeType->createDiscardingOutput());
            }
          }
          OutputBase* output = combined.count("") ? combined[""] : nullptr;
          combined.erase("");
          auto c = coordinators_.find(node.id);
          task->setupOperator(k, output, c == coordinators_.end() ? nullptr : c->second.get(),
                              std::move(combined));
        }
      }
    }

    // Inputs: channels ordered by job edge, then producer subtask.
    for (const auto& v : vertices) {
      for (int j = 0; j < v.parallelism; ++j) {
        if (v.inputs.empty()) continue;
        StreamTask* task = tasksOf[static_cast<size_t>(v.id)][static_cast<size_t>(j)];
        StreamOperatorBase* head = task->operatorAt(0);
        std::vector<ResultSubpartition*> channels;
        std::vector<ChannelBinding> bindings;
        std::vector<int> perInput(static_cast<size_t>(head->numInputs()), 0);
        std::vector<std::shared_ptr<const TypeInfo>> inputTypes(perInput.size());
        for (int jeId : v.inputs) {
          const JobEdge& je = jobGraph_.edges()[static_cast<size_t>(jeId)];
          const StreamEdge& se = g.edges()[static_cast<size_t>(je.streamEdge)];
          inputTypes[static_cast<size_t>(se.typeNumber)] = se.type;
          int p = vertices[static_cast<size_t>(je.sourceVertex)].parallelism;
          for (int i = 0; i < p; ++i) {
            const auto& consumers = consumersOf[static_cast<size_t>(jeId)][static_cast<size_t>(i)];
            for (size_t s = 0; s < consumers.size(); ++s) {
              if (consumers[s] != j) continue;
              channels.push_back(
                  &partitionsOf[static_cast<size_t>(jeId)][static_cast<size_t>(i)]->subpartition(
                      static_cast<int>(s)));
              bindings.push_back({se.typeNumber, perInput[static_cast<size_t>(se.typeNumber)]++});
            }
          }
        }
        std::vector<std::unique_ptr<InputHandler>> handlers;
        for (size_t k = 0; k < perInput.size(); ++k) {
          if (!inputTypes[k]) {
            throw SluiceException("operator '" + v.name + "' has no input " + std::to_string(k));
          }
          handlers.push_back(
              inputTypes[k]->createInputHandler(head->input(static_cast<int>(k)), perInput[k]));
        }
        task->setInputs(std::move(channels), std::move(bindings), std::move(handlers));
      }
    }
    if (options_.restoreCheckpoint) restoreChannelState(tasksOf);
  }

  /// Hands each task the in-flight buffers an unaligned checkpoint stored with its head
  /// operator. Channel state is restored only where the vertex and every vertex it exchanges
  /// data with run at the parallelism the checkpoint was taken with (Flink rescales it with
  /// special rules Sluice does not have yet).
  void restoreChannelState(const std::vector<std::vector<StreamTask*>>& tasksOf) {
    const auto& vertices = jobGraph_.vertices();
    auto restored = [&](const JobVertex& v) -> const OperatorCheckpointState* {
      auto it = options_.restoreCheckpoint->operators.find(jobGraph_.operatorId(v.chain.front()));
      return it == options_.restoreCheckpoint->operators.end() ? nullptr : &it->second;
    };
    for (const auto& v : vertices) {
      const OperatorCheckpointState* op = restored(v);
      if (op == nullptr) continue;
      bool any = false;
      for (const auto& [subtask, st] : op->subtasks) {
        any = any || !st.inputChannelState.empty() || !st.resultSubpartitionState.empty();
      }
      if (!any) continue;
      std::vector<int> neighbours;
      for (int e : v.inputs)
        neighbours.push_back(jobGraph_.edges()[static_cast<size_t>(e)].sourceVertex);
      for (int e : v.outputs)
        neighbours.push_back(jobGraph_.edges()[static_cast<size_t>(e)].targetVertex);
      bool same = op->parallelism == v.parallelism;
      for (int n : neighbours) {
        const OperatorCheckpointState* other = restored(vertices[static_cast<size_t>(n)]);
        same = same && other != nullptr &&
               other->parallelism == vertices[static_cast<size_t>(n)].parallelism;
      }
      if (!same) {
        throw SluiceException(
            "the checkpoint holds in-flight data (an unaligned checkpoint) of '" + v.name +
            "', which can only be restored at the parallelism it was taken with, also for the "
            "operators it exchanges data with; restore from an aligned checkpoint or a savepoint "
            "to rescale");
      }
      for (const auto& [subtask, st] : op->subtasks) {
        if (st.inputChannelState.empty() && st.resultSubpartitionState.empty()) continue;
        TaskChannelState state;
        state.inputChannels = st.inputChannelState;
        state.resultSubpartitions = st.resultSubpartitionState;
        tasksOf[static_cast<size_t>(v.id)][static_cast<size_t>(subtask)]->setRestoredChannelState(
            std::move(state));
      }
    }
  }

  /// Gives operator `index` of `task` (stream node `nodeId`) its part of the restored state:
  /// keyed state of every old subtask (its backend keeps its own key groups, so any new
  /// parallelism works) and the operator state redistributed as Flink's repartitioner does.
  void restoreOperator(StreamTask& task, int index, int nodeId, const TaskInfo& info) {
    auto it = options_.restoreCheckpoint->operators.find(jobGraph_.operatorId(nodeId));
    if (it == options_.restoreCheckpoint->operators.end()) return;
    const OperatorCheckpointState& op = it->second;
    std::vector<KeyedStateSnapshot> keyed;
    std::vector<OperatorStateSnapshot> old(static_cast<size_t>(op.parallelism));
    // Only the key groups this subtask owns are taken, and read, from each old subtask's state.
    const KeyGroupRange mine = KeyGroupRangeAssignment::computeKeyGroupRangeForOperatorIndex(
        info.maxNumberOfParallelSubtasks, info.numberOfParallelSubtasks, info.indexOfSubtask);
    for (const auto& [subtask, st] : op.subtasks) {
      if (!st.keyedState.keyGroups.empty() || !st.keyedStateHandle.empty()) {
        if (st.keyedState.maxParallelism != info.maxNumberOfParallelSubtasks) {
          throw SluiceException("operator '" + jobGraph_.streamGraph().node(nodeId).name +
                                "' has max parallelism " +
                                std::to_string(info.maxNumberOfParallelSubtasks) +
                                " but its checkpointed keyed state was written with " +
                                std::to_string(st.keyedState.maxParallelism));
        }
        KeyedStateSnapshot part;
        part.maxParallelism = st.keyedState.maxParallelism;
        for (const auto& [kg, bytes] : st.keyedState.keyGroups) {
          if (mine.contains(kg)) part.keyGroups.emplace(kg, bytes);
        }
        for (const auto& [kg, range] : st.keyedStateHandle.keyGroups) {
          if (!mine.contains(kg)) continue;
          part.keyGroups.emplace(
              kg, FileCheckpointStorage::readStateFileRange(options_.restoreCheckpoint->directory,
                                                            st.keyedStateHandle.file, range));
          if (options_.stateReadHookForTesting) {
            options_.stateReadHookForTesting(op.operatorId, info.indexOfSubtask, kg, range.length);
          }
        }
        if (!part.keyGroups.empty()) keyed.push_back(std::move(part));
      }
      if (subtask >= 0 && subtask < op.parallelism) {
        old[static_cast<size_t>(subtask)] = st.operatorState;
      }
    }
    auto parts = redistributeOperatorState(old, info.numberOfParallelSubtasks);
    task.setRestoredState(index, std::move(keyed),
                          std::move(parts[static_cast<size_t>(info.indexOfSubtask)]));
  }

  /// The checkpoint hook of every task (its thread): takes the synchronous part of the
  /// snapshot (operator state, and a copy-on-write view of the keyed state), then lets the
  /// materializer serialize the keyed state while the task goes on. The acknowledgement goes out
  /// once both that and the task's channel state are in (completeChannelState). Declines when
  /// a snapshot fails.
  void snapshotTask(StreamTask& task, int taskIndex, const TaskInfo& info,
                    const std::vector<int>& chain, const CheckpointBarrier& barrier,
                    const CheckpointMetrics& metrics) {
    std::vector<CheckpointCoordinator::OperatorAck> acks;
    auto frozen = std::make_shared<std::vector<std::pair<size_t, AsyncKeyedSnapshot>>>();
    std::string name = info.nameWithSubtask(info.taskName);
    try {
      for (size_t k = 0; k < chain.size(); ++k) {
        StreamOperatorBase* op = task.operatorAt(static_cast<int>(k));
        CheckpointCoordinator::OperatorAck ack = ackFor(info, chain[k]);
        if (KeyedStateBackendBase* backend = op->keyedStateBackend()) {
          frozen->emplace_back(k, backend->snapshotAsync(barrier.checkpointId));
        }
        ack.state.operatorState =
            op->snapshotOperatorState(barrier.checkpointId, barrier.timestamp);
        acks.push_back(std::move(ack));
      }
    } catch (const std::exception& e) {
      checkpoints_.decline(barrier.checkpointId, name + " failed to snapshot: " + e.what(), true);
      return;
    }
    {
      std::lock_guard lock(pendingAcksMutex_);
      PendingAck& pending = pendingAcks_[{&task, barrier.checkpointId}];
      pending.taskIndex = taskIndex;
      pending.acks = std::move(acks);
      pending.alignmentMillis = metrics.alignmentDurationMillis();
      // The first barrier reached this task `alignment` before the hook ran.
      pending.startDelayMillis = std::max<int64_t>(
          0, options_.clock->currentTimeMillis() - barrier.timestamp - pending.alignmentMillis);
      pending.materialized = frozen->empty();
    }
    if (frozen->empty()) return;
    int64_t id = barrier.checkpointId;
    StreamTask* t = &task;
    std::vector<std::string> prefixes;  // state file names: <operator id>-<subtask>
    for (const auto& [k, snapshot] : *frozen) {
      prefixes.push_back(jobGraph_.operatorId(chain[k]) + "-" +
                         std::to_string(info.indexOfSubtask));
    }
    materializer_.submit([this, t, id, frozen, name, prefixes] {
      std::vector<std::pair<size_t, KeyedStateSnapshot>> keyed;
      std::vector<KeyGroupsStateHandle> handles;
      try {
        for (const auto& [k, snapshot] : *frozen) keyed.emplace_back(k, snapshot.materialize());
        // Keyed state goes to a file of its own in the checkpoint directory; the
        // acknowledgement carries only its handle (savepoints keep it inline).
        const std::string location = checkpoints_.stateLocation(id);
        if (!location.empty()) {
          for (size_t i = 0; i < keyed.size(); ++i) {
            handles.push_back(FileCheckpointStorage::writeKeyGroupsFile(location, prefixes[i],
                                                                        keyed[i].second.keyGroups));
            keyed[i].second.keyGroups.clear();
          }
        }
      } catch (const std::exception& e) {
        dropPendingAck(*t, id);
        checkpoints_.decline(id, name + " failed to write its keyed state: " + e.what(), true);
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

  /// The channel state hook of every task (its thread), called once per checkpoint after the
  /// snapshot: empty at once for aligned checkpoints, the in-flight buffers once the last
  /// barrier arrived for unaligned ones. Acknowledges the task's snapshot with it, stored with
  /// the chain's head operator (input channels) as Flink's OperatorSubtaskState.
  void completeChannelState(StreamTask& task, int64_t checkpointId, TaskChannelState state) {
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

  void acknowledge(int64_t checkpointId, PendingAck ready) {
    if (!ready.acks.empty() && ready.channelState) {
      auto& head = ready.acks.front().state;
      head.inputChannelState = std::move(ready.channelState->inputChannels);
      head.resultSubpartitionState = std::move(ready.channelState->resultSubpartitions);
    }
    checkpoints_.acknowledge(checkpointId, ready.taskIndex, std::move(ready.acks),
                             ready.alignmentMillis, ready.startDelayMillis);
  }

  /// An acknowledgement of stream node `nodeId` of subtask `info`, without state yet.
  CheckpointCoordinator::OperatorAck ackFor(const TaskInfo& info, int nodeId) const {
    CheckpointCoordinator::OperatorAck ack;
    ack.operatorId = jobGraph_.operatorId(nodeId);
    ack.operatorName = jobGraph_.streamGraph().node(nodeId).name;
    ack.parallelism = info.numberOfParallelSubtasks;
    ack.maxParallelism = info.maxNumberOfParallelSubtasks;
    ack.subtask = info.indexOfSubtask;
    return ack;
  }

  /// The state of a finished task's operators (task thread, synchronous: keyed state
  /// serialized at once), its acknowledgement of every checkpoint after it ended. A snapshot
  /// that fails here fails the task, since later checkpoints could not include it.
  std::vector<CheckpointCoordinator::OperatorAck> finalSnapshot(StreamTask& task,
                                                                const TaskInfo& info,
                                                                const std::vector<int>& chain) {
    std::vector<CheckpointCoordinator::OperatorAck> acks;
    for (size_t k = 0; k < chain.size(); ++k) {
      StreamOperatorBase* op = task.operatorAt(static_cast<int>(k));
      CheckpointCoordinator::OperatorAck ack = ackFor(info, chain[k]);
      if (KeyedStateBackendBase* backend = op->keyedStateBackend()) {
        ack.state.keyedState = backend->snapshot();
      }
      ack.state.operatorState = op->snapshotOperatorState(0, options_.clock->currentTimeMillis());
      acks.push_back(std::move(ack));
    }
    return acks;
  }

  void dropPendingAck(StreamTask& task, int64_t checkpointId) {
    std::lock_guard lock(pendingAcksMutex_);
    pendingAcks_.erase({&task, checkpointId});
  }

  const JobEdge& jobEdgeOf(int streamEdge) const {
    for (const auto& e : jobGraph_.edges()) {
      if (e.streamEdge == streamEdge) return e;
    }
    throw SluiceException("internal error: stream edge without job edge");
  }

  void onTaskFailed(StreamTask& task) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_.empty() || cancelRequested_) return;
      failure_ = task.failureMessage();
      failureRecoverable_ = task.failureRecoverable();
    }
    spdlog::error("{}", task.failureMessage());
    stopAll();
  }

  void stopAll() {
    for (auto& t : tasks_) t->cancel();
    for (auto& p : partitions_) p->bufferPool().destroy();
  }

  JobGraph jobGraph_;
  ExecutionOptions options_;
  TimerScheduler scheduler_;
  CheckpointCoordinator& checkpoints_;
  int attemptNumber_;
  std::vector<std::unique_ptr<ResultPartition>> partitions_;
  std::map<int, std::unique_ptr<OperatorCoordinator>> coordinators_;
  std::vector<std::unique_ptr<StreamTask>> tasks_;
  // Source vertices: head node id and its subtasks.
  std::vector<std::pair<int, std::vector<StreamTask*>>> sourceVertices_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::mutex joinMutex_;
  std::mutex releaseMutex_;
  std::string failure_;
  bool failureRecoverable_ = true;
  bool cancelRequested_ = false;
  bool released_ = false;
  std::mutex pendingAcksMutex_;
  std::map<std::pair<StreamTask*, int64_t>, PendingAck> pendingAcks_;
  SnapshotMaterializer materializer_;
};

/// The job: its checkpoint coordinator, the running execution attempt, and the failover loop
/// (a thread of its own) that restarts the attempt from the latest completed checkpoint as the
/// restart strategy allows.
class LocalJob final : public JobClient, public CheckpointParticipants {
 public:
  LocalJob(const JobGraph& jobGraph, const ExecutionOptions& options)
      : jobGraph_(jobGraph), options_(options) {
    if (options_.jobId.empty()) options_.jobId = randomJobId();
    restartStrategy_ =
        options_.restartStrategy ? options_.restartStrategy() : RestartStrategy::noRestart();
    checkpoints_ = std::make_unique<CheckpointCoordinator>(
        options_.jobId, options_.checkpointConfig, *this, options_.clock);
    attempt_ = std::make_unique<ExecutionAttempt>(jobGraph_, options_, options_.restoreCheckpoint,
                                                  *checkpoints_, 0);
  }

  ~LocalJob() override {
    cancel();
    if (supervisor_.joinable()) supervisor_.join();
    checkpoints_->stop();
    std::lock_guard lock(attemptMutex_);
    attempt_.reset();
  }

  void start() {
    start_ = std::chrono::steady_clock::now();
    attempt_->start();
    setStatus(JobStatus::kRunning);
    checkpoints_->start();
    supervisor_ = std::thread([this] { supervise(); });
  }

  void cancel() override {
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
    if (attempt_) attempt_->cancel();
  }

  JobStatus getJobStatus() const override {
    std::lock_guard lock(mutex_);
    return status_;
  }

  JobExecutionResult getJobExecutionResult() override {
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

  NetworkStats networkStats() const override {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  std::optional<int64_t> triggerCheckpoint() override { return checkpoints_->triggerCheckpoint(); }
  std::vector<CheckpointStats> checkpointStatistics() const override {
    return checkpoints_->statistics();
  }
  std::future<std::string> triggerSavepoint(const std::string& directory) override {
    return checkpoints_->triggerSavepoint(directory);
  }
  std::future<std::string> stopWithSavepoint(const std::string& directory, bool drain) override {
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
  int numberOfRestarts() const override {
    std::lock_guard lock(mutex_);
    return restarts_;
  }

  // CheckpointParticipants: the running attempt.
  std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) override {
    std::lock_guard lock(attemptMutex_);
    if (!attempt_) throw SluiceException("the job is restarting");
    return attempt_->triggerSources(barrier);
  }
  void triggerTask(int taskIndex, const CheckpointBarrier& barrier) override {
    std::lock_guard lock(attemptMutex_);
    if (attempt_) attempt_->triggerTask(taskIndex, barrier);
  }
  int numTasks() const override {
    std::lock_guard lock(attemptMutex_);
    return attempt_ ? attempt_->numTasks() : 0;
  }
  void notifyComplete(int64_t checkpointId) override {
    std::lock_guard lock(attemptMutex_);
    if (attempt_) attempt_->notifyComplete(checkpointId);
  }
  void notifyAborted(int64_t checkpointId) override {
    std::lock_guard lock(attemptMutex_);
    if (attempt_) attempt_->notifyAborted(checkpointId);
  }
  void failJob(const std::string& reason) override {
    std::lock_guard lock(attemptMutex_);
    if (attempt_) attempt_->fail(reason);
  }

 private:
  static bool isTerminal(JobStatus s) {
    return s == JobStatus::kFinished || s == JobStatus::kFailed || s == JobStatus::kCanceled;
  }
  void setStatus(JobStatus s) {
    std::lock_guard lock(mutex_);
    status_ = s;
  }

  /// The failover loop: waits for the attempt to end; on a failure asks the restart strategy,
  /// waits its backoff and deploys a new attempt from the latest completed checkpoint (or the
  /// checkpoint the job started from).
  void supervise() {
    JobStatus final = JobStatus::kFinished;
    std::string failure;
    for (;;) {
      attempt_->joinAll();  // only this thread replaces attempt_
      failure = attempt_->failure();
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
      if (!attempt_->failureRecoverable()) {
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
      std::unique_ptr<ExecutionAttempt> next;
      try {
        next = std::make_unique<ExecutionAttempt>(jobGraph_, options_, restore, *checkpoints_,
                                                  restarts_);
        checkpoints_->beginAttempt(restarts_);
        next->start();
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
          attempt_->cancel();  // cancel() ran while no attempt was there
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
        attempt_->joinAll();
        attempt_->collectStats(accumulators, stats);
        attempt_->release();
      }
    }
    end_ = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    accumulators_ = std::move(accumulators);
    stats_ = stats;
    failure_ = failure;
    status_ = final;
  }

  bool stoppedWithSavepoint() const {
    std::lock_guard lock(mutex_);
    return stoppedWithSavepoint_;
  }

  JobGraph jobGraph_;
  ExecutionOptions options_;
  std::unique_ptr<RestartStrategy> restartStrategy_;
  std::unique_ptr<CheckpointCoordinator> checkpoints_;
  mutable std::mutex attemptMutex_;  // attempt_ against the coordinator's calls and cancel()
  std::unique_ptr<ExecutionAttempt> attempt_;
  std::thread supervisor_;
  std::mutex joinMutex_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  JobStatus status_ = JobStatus::kCreated;
  bool cancelRequested_ = false;
  bool stoppedWithSavepoint_ = false;
  int restarts_ = 0;
  std::string failure_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators_;
  NetworkStats stats_;
};

}  // namespace

const char* toString(JobStatus status) {
  switch (status) {
    case JobStatus::kCreated:
      return "CREATED";
    case JobStatus::kRunning:
      return "RUNNING";
    case JobStatus::kRestarting:
      return "RESTARTING";
    case JobStatus::kCancelling:
      return "CANCELLING";
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kFailed:
      return "FAILED";
    case JobStatus::kCanceled:
      return "CANCELED";
  }
  return "?";
}

std::unique_ptr<JobClient> LocalExecutor::submit(const JobGraph& jobGraph,
                                                 const ExecutionOptions& options) {
  auto job = std::make_unique<LocalJob>(jobGraph, options);
  job->start();
  return job;
}

}  // namespace sluice
