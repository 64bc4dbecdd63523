#include "sluice/cluster/local_executor.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <thread>

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

class LocalJob final : public JobClient, public CheckpointParticipants {
 public:
  LocalJob(const JobGraph& jobGraph, const ExecutionOptions& options)
      : jobGraph_(jobGraph), options_(options), scheduler_(options.clock) {
    if (options_.jobId.empty()) options_.jobId = randomJobId();
    deploy();
    checkpoints_ = std::make_unique<CheckpointCoordinator>(
        options_.jobId, options_.checkpointConfig, *this, options_.clock);
  }

  ~LocalJob() override {
    cancel();
    joinAll();
    release();
  }

  void start() {
    start_ = std::chrono::steady_clock::now();
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
    checkpoints_->start();
  }

  void cancel() override {
    {
      std::lock_guard lock(mutex_);
      if (!cancelRequested_ && failure_.empty()) cancelRequested_ = true;
    }
    stopAll();
  }

  JobExecutionResult getJobExecutionResult() override {
    joinAll();
    auto runtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start_)
                       .count();
    std::string failure;
    bool cancelled;
    {
      std::lock_guard lock(mutex_);
      failure = failure_;
      cancelled = cancelRequested_;
    }
    collectStats();
    release();
    if (!failure.empty()) {
      throw JobExecutionException("Job '" + jobGraph_.jobName() + "' failed: " + failure);
    }
    if (cancelled) throw JobExecutionException("Job '" + jobGraph_.jobName() + "' was cancelled");
    return JobExecutionResult(jobGraph_.jobName(), runtime, std::move(accumulators_));
  }

  NetworkStats networkStats() const override { return stats_; }
  std::optional<int64_t> triggerCheckpoint() override { return checkpoints_->triggerCheckpoint(); }
  std::vector<CheckpointStats> checkpointStatistics() const override {
    return checkpoints_->statistics();
  }

 private:
  void deploy() {
    const StreamGraph& g = jobGraph_.streamGraph();
    const auto& vertices = jobGraph_.vertices();
    std::vector<std::vector<StreamTask*>> tasksOf(vertices.size());
    int owner = 0;
    for (const auto& v : vertices) {
      for (int i = 0; i < v.parallelism; ++i) {
        TaskInfo info{v.name, i, v.parallelism, v.maxParallelism, 0};
        auto task =
            std::make_unique<StreamTask>(info, scheduler_, owner++, options_.bufferTimeoutMillis);
        task->setFailureListener([this](StreamTask& t) { onTaskFailed(t); });
        task->setAutoWatermarkInterval(options_.autoWatermarkIntervalMillis);
        task->setCheckpointingMode(options_.checkpointingMode);
        StreamTask* t = task.get();
        std::vector<int> chain = v.chain;
        task->setCheckpointHook(
            [this, t, info, chain](const CheckpointBarrier& b, const CheckpointMetrics& m) {
              if (options_.checkpointHookForTesting) options_.checkpointHookForTesting(info, b, m);
              snapshotTask(*t, info, chain, b, m);
            });
        task->setCheckpointAbortHook([this](int64_t id) {
          checkpoints_->decline(id, "a task aborted the checkpoint (barrier alignment)");
        });
        if (v.inputs.empty()) sourceTasks_.push_back(task.get());
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
    for (const auto& [subtask, st] : op.subtasks) {
      if (!st.keyedState.keyGroups.empty()) {
        if (st.keyedState.maxParallelism != info.maxNumberOfParallelSubtasks) {
          throw SluiceException("operator '" + jobGraph_.streamGraph().node(nodeId).name +
                                "' has max parallelism " +
                                std::to_string(info.maxNumberOfParallelSubtasks) +
                                " but its checkpointed keyed state was written with " +
                                std::to_string(st.keyedState.maxParallelism));
        }
        keyed.push_back(st.keyedState);
      }
      if (subtask >= 0 && subtask < op.parallelism) {
        old[static_cast<size_t>(subtask)] = st.operatorState;
      }
    }
    auto parts = redistributeOperatorState(old, info.numberOfParallelSubtasks);
    task.setRestoredState(index, std::move(keyed),
                          std::move(parts[static_cast<size_t>(info.indexOfSubtask)]));
  }

  /// The checkpoint hook of every task (its thread): snapshots the chain's operators and
  /// acknowledges, or declines when a snapshot fails.
  void snapshotTask(StreamTask& task, const TaskInfo& info, const std::vector<int>& chain,
                    const CheckpointBarrier& barrier, const CheckpointMetrics& metrics) {
    std::vector<CheckpointCoordinator::OperatorAck> acks;
    try {
      for (size_t k = 0; k < chain.size(); ++k) {
        StreamOperatorBase* op = task.operatorAt(static_cast<int>(k));
        CheckpointCoordinator::OperatorAck ack;
        ack.operatorId = jobGraph_.operatorId(chain[k]);
        ack.operatorName = jobGraph_.streamGraph().node(chain[k]).name;
        ack.parallelism = info.numberOfParallelSubtasks;
        ack.maxParallelism = info.maxNumberOfParallelSubtasks;
        ack.subtask = info.indexOfSubtask;
        if (KeyedStateBackendBase* backend = op->keyedStateBackend()) {
          ack.state.keyedState = backend->snapshot();
        }
        ack.state.operatorState =
            op->snapshotOperatorState(barrier.checkpointId, barrier.timestamp);
        acks.push_back(std::move(ack));
      }
    } catch (const std::exception& e) {
      checkpoints_->decline(barrier.checkpointId, info.nameWithSubtask(info.taskName) +
                                                      " failed to snapshot: " + e.what());
      return;
    }
    checkpoints_->acknowledge(barrier.checkpointId, std::move(acks),
                              metrics.alignmentDurationMillis());
  }

  // CheckpointParticipants
  std::map<std::string, std::vector<uint8_t>> triggerSources(
      const CheckpointBarrier& barrier) override {
    std::lock_guard lock(releaseMutex_);  // tasks live until release()
    if (released_) throw SluiceException("the job has ended");
    std::map<std::string, std::vector<uint8_t>> states;
    bool all = true;
    for (auto& [head, tasks] : sourceVertices_) {
      auto trigger = [&] {
        for (StreamTask* t : tasks) all = t->triggerCheckpointAsync(barrier) && all;
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
    if (!all) throw SluiceException("some source tasks had already finished");
    return states;
  }
  int numTasks() const override { return static_cast<int>(tasks_.size()); }
  void notifyComplete(int64_t checkpointId) override {
    std::lock_guard lock(releaseMutex_);
    if (released_) return;
    for (auto& t : tasks_) t->notifyCheckpointCompleteAsync(checkpointId);
  }
  void notifyAborted(int64_t checkpointId) override {
    std::lock_guard lock(releaseMutex_);
    if (released_) return;
    for (auto& t : tasks_) t->notifyCheckpointAbortedAsync(checkpointId);
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
    }
    spdlog::error("{}", task.failureMessage());
    stopAll();
  }

  void stopAll() {
    for (auto& t : tasks_) t->cancel();
    for (auto& p : partitions_) p->bufferPool().destroy();
  }

  void joinAll() {
    std::lock_guard lock(joinMutex_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void collectStats() {
    for (const auto& task : tasks_) {
      for (const RuntimeContext* ctx : task->runtimeContexts()) {
        for (const auto& [name, acc] : ctx->accumulators()) {
          auto it = accumulators_.find(name);
          if (it == accumulators_.end()) {
            accumulators_.emplace(name, acc->clone());
          } else {
            it->second->merge(*acc);
          }
        }
      }
    }
    for (const auto& p : partitions_) {
      stats_.totalBuffers += p->bufferPool().numBuffers();
      stats_.maxBuffersInUse += p->bufferPool().maxInUse();
      stats_.blockedRequests += p->bufferPool().numBlockedRequests();
    }
  }

  /// Frees everything in dependency order: timers, tasks (gates, writers), coordinators, and
  /// last the partitions whose pools the buffers return to.
  void release() {
    if (checkpoints_) checkpoints_->stop();  // before the tasks it reaches go away
    std::lock_guard lock(releaseMutex_);     // not while the coordinator reaches tasks
    if (released_) return;
    released_ = true;
    scheduler_.shutdown();
    sourceTasks_.clear();
    tasks_.clear();
    for (auto& [node, c] : coordinators_) c->close();
    coordinators_.clear();
    for (auto& p : partitions_) p->release();
    partitions_.clear();
  }

  JobGraph jobGraph_;
  ExecutionOptions options_;
  TimerScheduler scheduler_;
  std::vector<std::unique_ptr<ResultPartition>> partitions_;
  std::map<int, std::unique_ptr<OperatorCoordinator>> coordinators_;
  std::vector<std::unique_ptr<StreamTask>> tasks_;
  std::vector<StreamTask*> sourceTasks_;  // tasks without inputs
  // Source vertices: head node id and its subtasks.
  std::vector<std::pair<int, std::vector<StreamTask*>>> sourceVertices_;
  std::unique_ptr<CheckpointCoordinator> checkpoints_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::mutex joinMutex_;
  std::mutex releaseMutex_;
  std::string failure_;
  bool cancelRequested_ = false;
  bool released_ = false;
  std::chrono::steady_clock::time_point start_;
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators_;
  NetworkStats stats_;
};

}  // namespace

std::unique_ptr<JobClient> LocalExecutor::submit(const JobGraph& jobGraph,
                                                 const ExecutionOptions& options) {
  auto job = std::make_unique<LocalJob>(jobGraph, options);
  job->start();
  return job;
}

}  // namespace sluice
