#include "sluice/cluster/task_executor.h"

#include <spdlog/spdlog.h>

#include <set>

#include "sluice/checkpoint/state_assignment.h"
#include "sluice/network/input_channel.h"
#include "sluice/runtime/operator_coordinator.h"
#include "sluice/runtime/stream_task.h"
#include "sluice/runtime/subtask_checkpoint_coordinator.h"

namespace sluice {

namespace {

/// Operator → coordinator in one process: the coordinator handles the event on the sending
/// task's thread before the call returns.
class LocalOperatorEventGateway final : public OperatorEventGateway {
 public:
  LocalOperatorEventGateway(OperatorCoordinator& coordinator, int subtask)
      : coordinator_(coordinator), subtask_(subtask) {}
  void sendEventToCoordinator(OperatorEvent event) override {
    coordinator_.handleEventFromOperator(subtask_, event);
  }

 private:
  OperatorCoordinator& coordinator_;
  int subtask_;
};

/// Coordinator → one subtask in one process: a mail to the task
/// (StreamTask::dispatchOperatorEvent).
class LocalSubtaskGateway final : public SubtaskGateway {
 public:
  LocalSubtaskGateway(StreamTask& task, int operatorIndex)
      : task_(task), operatorIndex_(operatorIndex) {}
  void sendEvent(OperatorEvent event) override {
    task_.dispatchOperatorEvent(operatorIndex_, std::move(event));
  }

 private:
  StreamTask& task_;
  int operatorIndex_;
};

}  // namespace

TaskExecutor::TaskExecutor(const JobGraph& jobGraph, const ExecutionGraph& executionGraph,
                           const ExecutionOptions& options,
                           std::shared_ptr<const CompletedCheckpoint> restore,
                           CheckpointResponder& checkpoints, int attemptNumber)
    : jobGraph_(jobGraph),
      executionGraph_(executionGraph),
      options_(options),
      scheduler_(options.clock),
      attemptNumber_(attemptNumber),
      subtaskCheckpoints_(std::make_unique<SubtaskCheckpointCoordinator>(
          checkpoints, options.clock, attemptNumber,
          options.checkpointConfig.isCheckpointingEnabled(), options.checkpointHookForTesting)) {
  options_.restoreCheckpoint = nullptr;  // `restore` is what this attempt starts from
  deploy(restore);
}

TaskExecutor::~TaskExecutor() {
  cancelTasks();
  awaitTermination();
  releaseTasks();
}

void TaskExecutor::startTasks() {
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

void TaskExecutor::cancelTasks() {
  {
    std::lock_guard lock(mutex_);
    if (!cancelRequested_ && failure_.empty()) cancelRequested_ = true;
  }
  stopAll();
}

void TaskExecutor::failTasks(const std::string& reason, bool recoverable) {
  {
    std::lock_guard lock(mutex_);
    if (!failure_.empty() || cancelRequested_) return;
    failure_ = reason;
    failureRecoverable_ = recoverable;
  }
  spdlog::error("{}", reason);
  stopAll();
}

TaskExecutionOutcome TaskExecutor::awaitTermination() {
  {
    std::lock_guard lock(joinMutex_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::lock_guard lock(mutex_);
  return {failure_, failureRecoverable_, cancelRequested_};
}

std::vector<std::pair<std::string, SerializedAccumulator>> TaskExecutor::accumulatorSnapshots()
    const {
  std::vector<std::pair<std::string, SerializedAccumulator>> out;
  for (const auto& task : tasks_) {
    for (const RuntimeContext* ctx : task->runtimeContexts()) {
      for (const auto& [name, acc] : ctx->accumulators()) {
        out.emplace_back(name, serializeAccumulator(*acc));
      }
    }
  }
  return out;
}

NetworkStats TaskExecutor::networkStats() const {
  NetworkStats stats;
  for (const auto& perEdge : partitions_) {
    for (const auto& p : perEdge) {
      stats.totalBuffers += p->bufferPool().numBuffers();
      stats.maxBuffersInUse += p->bufferPool().maxInUse();
      stats.blockedRequests += p->bufferPool().numBlockedRequests();
    }
  }
  return stats;
}

std::map<std::string, std::vector<uint8_t>> TaskExecutor::triggerSources(
    const CheckpointBarrier& barrier) {
  std::lock_guard lock(releaseMutex_);  // tasks live until releaseTasks()
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

void TaskExecutor::triggerTask(int taskIndex, const CheckpointBarrier& barrier) {
  std::lock_guard lock(releaseMutex_);
  if (released_ || taskIndex < 0 || static_cast<size_t>(taskIndex) >= tasks_.size()) return;
  tasks_[static_cast<size_t>(taskIndex)]->triggerCheckpointAsync(barrier);
}

void TaskExecutor::notifyCheckpointComplete(int64_t checkpointId) {
  std::lock_guard lock(releaseMutex_);
  if (released_) return;
  for (auto& t : tasks_) t->notifyCheckpointCompleteAsync(checkpointId);
}

void TaskExecutor::notifyCheckpointAborted(int64_t checkpointId) {
  std::lock_guard lock(releaseMutex_);
  if (released_) return;
  for (auto& t : tasks_) t->notifyCheckpointAbortedAsync(checkpointId);
}

void TaskExecutor::releaseTasks() {
  // Dependency order: snapshots in flight (they name tasks), timers, coordinators (their
  // gateways reach tasks), tasks (gates, writers), and last the partitions whose pools the
  // buffers return to.
  subtaskCheckpoints_->stop();
  std::lock_guard lock(releaseMutex_);  // not while the coordinator reaches tasks
  if (released_) return;
  released_ = true;
  scheduler_.shutdown();
  for (auto& [node, c] : coordinators_) c->close();
  coordinators_.clear();
  tasks_.clear();
  operatorEventGateways_.clear();
  partitionManager_.clear();
  for (auto& perEdge : partitions_) {
    for (auto& p : perEdge) p->release();
  }
  partitions_.clear();
}

void TaskExecutor::deploy(const std::shared_ptr<const CompletedCheckpoint>& restore) {
  const StreamGraph& g = jobGraph_.streamGraph();
  const auto& vertices = jobGraph_.vertices();
  for (const ExecutionVertex& ev : executionGraph_.executionVertices()) {
    const JobVertex& v = vertices[static_cast<size_t>(ev.jobVertex)];
    TaskInfo info{v.name, ev.subtask, v.parallelism, v.maxParallelism, attemptNumber_};
    auto task =
        std::make_unique<StreamTask>(info, scheduler_, ev.taskIndex, options_.bufferTimeoutMillis);
    task->setFailureListener([this](StreamTask& t) { onTaskFailed(t); });
    task->setAutoWatermarkInterval(options_.autoWatermarkIntervalMillis);
    task->setCheckpointingMode(options_.checkpointingMode);
    task->setCheckpointingEnabled(options_.checkpointConfig.isCheckpointingEnabled());
    std::vector<SubtaskCheckpointCoordinator::ChainedOperator> chain;
    for (int nodeId : v.chain) chain.push_back({jobGraph_.operatorId(nodeId), g.node(nodeId).name});
    subtaskCheckpoints_->attach(*task, ev.taskIndex, info, std::move(chain));
    for (int nodeId : v.chain) {
      task->addOperator(g.node(nodeId).factory->createOperator(), g.node(nodeId).name);
    }
    if (restore) {
      for (size_t k = 0; k < v.chain.size(); ++k) {
        auto state =
            assignOperatorState(*restore, jobGraph_.operatorId(v.chain[k]), g.node(v.chain[k]).name,
                                info, options_.stateReadHookForTesting);
        if (state) {
          task->setRestoredState(static_cast<int>(k), std::move(state->keyed),
                                 std::move(state->operatorState));
        }
      }
    }
    tasks_.push_back(std::move(task));
  }
  for (const auto& v : vertices) {
    std::vector<StreamTask*> subtasks;
    for (int i = 0; i < v.parallelism; ++i) {
      subtasks.push_back(
          tasks_[static_cast<size_t>(executionGraph_.executionVertex(v.id, i).taskIndex)].get());
    }
    for (int nodeId : v.chain) {
      if (auto c = g.node(nodeId).factory->createCoordinator(v.parallelism)) {
        if (restore) {
          auto it = restore->operators.find(jobGraph_.operatorId(nodeId));
          if (it != restore->operators.end() && !it->second.coordinatorState.empty()) {
            c->resetToCheckpoint(it->second.coordinatorState);
          }
        }
        coordinators_.emplace(nodeId, std::move(c));
      }
    }
    if (v.inputs.empty()) sourceVertices_.emplace_back(v.chain.front(), std::move(subtasks));
  }

  if (restore) {
    std::set<std::string> ours;
    for (const auto& v : vertices) {
      for (int nodeId : v.chain) ours.insert(jobGraph_.operatorId(nodeId));
    }
    checkAllStateAssigned(*restore, ours, options_.allowNonRestoredState);
  }

  // Partitions: one per job edge and producer subtask, one subpartition per consumer.
  partitions_.resize(jobGraph_.edges().size());
  for (const auto& e : jobGraph_.edges()) {
    int p = vertices[static_cast<size_t>(e.sourceVertex)].parallelism;
    for (int i = 0; i < p; ++i) {
      int n = static_cast<int>(executionGraph_.consumers(e.id, i).size());
      partitions_[static_cast<size_t>(e.id)].push_back(std::make_unique<ResultPartition>(
          n, n * options_.buffersPerChannel + options_.floatingBuffers, options_.segmentSize));
      partitionManager_.registerPartition(ResultPartitionId{e.id, i},
                                          *partitions_[static_cast<size_t>(e.id)].back());
    }
  }
  for (const ExecutionVertex& ev : executionGraph_.executionVertices()) {
    const JobVertex& v = vertices[static_cast<size_t>(ev.jobVertex)];
    StreamTask& task = *tasks_[static_cast<size_t>(ev.taskIndex)];
    wireOutputs(v, ev.subtask, task);
    if (!v.inputs.empty()) wireInputs(v, ev, task);
  }
  if (restore) restoreChannelState(*restore);
}

void TaskExecutor::wireOutputs(const JobVertex& v, int subtask, StreamTask& task) {
  // Tail to head, so chained successors exist when their predecessors are wired.
  const StreamGraph& g = jobGraph_.streamGraph();
  const auto& vertices = jobGraph_.vertices();
  std::map<int, int> indexInChain;
  for (size_t k = 0; k < v.chain.size(); ++k) indexInChain[v.chain[k]] = static_cast<int>(k);
  for (int k = static_cast<int>(v.chain.size()) - 1; k >= 0; --k) {
    const StreamNode& node = g.node(v.chain[static_cast<size_t>(k)]);
    // Outputs grouped by side output tag ("" is the main output), with the edge type.
    std::map<std::string, std::pair<std::shared_ptr<const TypeInfo>, std::vector<OutputBase*>>>
        outputsByTag;
    outputsByTag[""].first = node.outputType;
    for (int ei : node.outEdges) {
      const StreamEdge& se = g.edges()[static_cast<size_t>(ei)];
      auto& [edgeType, outs] = outputsByTag[se.sideOutputTag];
      edgeType = se.type;
      auto chained = indexInChain.find(se.targetId);
      if (chained != indexInChain.end()) {
        outs.push_back(task.operatorAt(chained->second)->input(se.typeNumber));
        continue;
      }
      const JobEdge& je = executionGraph_.jobEdgeOfStreamEdge(ei);
      ResultPartition& partition =
          *partitions_[static_cast<size_t>(je.id)][static_cast<size_t>(subtask)];
      RecordWriter& writer = task.addRecordWriter(partition);
      EdgeContext edge;
      edge.numChannels = partition.numSubpartitions();
      edge.producerIndex = subtask;
      edge.consumerMaxParallelism = vertices[static_cast<size_t>(je.targetVertex)].maxParallelism;
      edge.seed = options_.seed;
      outs.push_back(task.adoptOutput(se.partitioner->createOutput(writer, edge)));
    }
    std::map<std::string, OutputBase*> combined;
    for (auto& [tag, typedOuts] : outputsByTag) {
      auto& [edgeType, outs] = typedOuts;
      if (outs.size() == 1) {
        combined[tag] = outs[0];
      } else if (outs.size() > 1) {
        combined[tag] = task.adoptOutput(edgeType->createBroadcastingOutput(outs));
      } else if (tag.empty() && edgeType) {
        combined[tag] = task.adoptOutput(edgeType->createDiscardingOutput());
      }
    }
    OutputBase* output = combined.count("") ? combined[""] : nullptr;
    combined.erase("");
    OperatorEventGateway* toCoordinator = nullptr;
    if (auto c = coordinators_.find(node.id); c != coordinators_.end()) {
      operatorEventGateways_.push_back(
          std::make_unique<LocalOperatorEventGateway>(*c->second, subtask));
      toCoordinator = operatorEventGateways_.back().get();
      c->second->executionAttemptReady(subtask, attemptNumber_,
                                       std::make_shared<LocalSubtaskGateway>(task, k));
    }
    task.setupOperator(k, output, toCoordinator, std::move(combined));
  }
}

void TaskExecutor::wireInputs(const JobVertex& v, const ExecutionVertex& ev, StreamTask& task) {
  const StreamGraph& g = jobGraph_.streamGraph();
  StreamOperatorBase* head = task.operatorAt(0);
  std::vector<std::unique_ptr<InputChannel>> channels;
  std::vector<ChannelBinding> bindings;
  std::vector<int> perInput(static_cast<size_t>(head->numInputs()), 0);
  std::vector<std::shared_ptr<const TypeInfo>> inputTypes(perInput.size());
  for (int jeId : v.inputs) {
    const JobEdge& je = jobGraph_.edges()[static_cast<size_t>(jeId)];
    const StreamEdge& se = g.edges()[static_cast<size_t>(je.streamEdge)];
    if (static_cast<size_t>(se.typeNumber) < inputTypes.size()) {
      inputTypes[static_cast<size_t>(se.typeNumber)] = se.type;
    }
  }
  for (const InputChannelDescriptor& ch : ev.inputChannels) {
    if (static_cast<size_t>(ch.inputIndex) >= perInput.size()) {
      throw SluiceException("operator '" + v.name + "' has no input " +
                            std::to_string(ch.inputIndex));
    }
    channels.push_back(std::make_unique<LocalInputChannel>(
        static_cast<int>(channels.size()), partitionManager_,
        ResultPartitionId{ch.jobEdge, ch.producerSubtask}, ch.subpartition));
    bindings.push_back({ch.inputIndex, ch.channelInInput});
    ++perInput[static_cast<size_t>(ch.inputIndex)];
  }
  std::vector<std::unique_ptr<InputHandler>> handlers;
  for (size_t k = 0; k < perInput.size(); ++k) {
    if (!inputTypes[k]) {
      throw SluiceException("operator '" + v.name + "' has no input " + std::to_string(k));
    }
    handlers.push_back(
        inputTypes[k]->createInputHandler(head->input(static_cast<int>(k)), perInput[k]));
  }
  task.setInputs(std::move(channels), std::move(bindings), std::move(handlers));
}

void TaskExecutor::restoreChannelState(const CompletedCheckpoint& restore) {
  const auto& vertices = jobGraph_.vertices();
  auto describe = [&](const JobVertex& v) {
    return ChannelStateVertex{jobGraph_.operatorId(v.chain.front()), v.name, v.parallelism};
  };
  for (const auto& v : vertices) {
    std::vector<ChannelStateVertex> neighbours;
    for (int e : v.inputs) {
      neighbours.push_back(describe(
          vertices[static_cast<size_t>(jobGraph_.edges()[static_cast<size_t>(e)].sourceVertex)]));
    }
    for (int e : v.outputs) {
      neighbours.push_back(describe(
          vertices[static_cast<size_t>(jobGraph_.edges()[static_cast<size_t>(e)].targetVertex)]));
    }
    for (auto& [subtask, state] : assignChannelState(restore, describe(v), neighbours)) {
      if (subtask < 0 || subtask >= v.parallelism) continue;
      tasks_[static_cast<size_t>(executionGraph_.executionVertex(v.id, subtask).taskIndex)]
          ->setRestoredChannelState(std::move(state));
    }
  }
}

void TaskExecutor::onTaskFailed(StreamTask& task) {
  {
    std::lock_guard lock(mutex_);
    if (!failure_.empty() || cancelRequested_) return;
    failure_ = task.failureMessage();
    failureRecoverable_ = task.failureRecoverable();
  }
  spdlog::error("{}", task.failureMessage());
  stopAll();
}

void TaskExecutor::stopAll() {
  for (auto& t : tasks_) t->cancel();
  for (auto& perEdge : partitions_) {
    for (auto& p : perEdge) p->bufferPool().destroy();
  }
}

}  // namespace sluice
