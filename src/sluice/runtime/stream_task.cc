#include "sluice/runtime/stream_task.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "sluice/network/events.h"

namespace sluice {

StreamTask::StreamTask(TaskInfo info, TimerScheduler& scheduler, int ownerId,
                       int64_t bufferTimeoutMillis)
    : info_(std::move(info)),
      timeService_(scheduler, mailbox_, ownerId),
      bufferTimeoutMillis_(bufferTimeoutMillis) {}

StreamTask::~StreamTask() {
  timeService_.cancelAll();
  if (gate_) gate_->disconnect();
}

StreamOperatorBase* StreamTask::addOperator(std::unique_ptr<StreamOperatorBase> op,
                                            const std::string& name) {
  contexts_.push_back(std::make_unique<RuntimeContext>(info_, name));
  operators_.push_back(std::move(op));
  return operators_.back().get();
}

void StreamTask::setupOperator(int index, OutputBase* output,
                               OperatorEventGateway* operatorEventGateway,
                               std::map<std::string, OutputBase*> sideOutputs) {
  StreamOperatorContext context;
  context.sideOutputs = std::move(sideOutputs);
  context.autoWatermarkIntervalMillis = autoWatermarkIntervalMillis_;
  context.checkpointingEnabled = checkpointingEnabled_;
  context.runtimeContext = contexts_[static_cast<size_t>(index)].get();
  context.processingTimeService = &timeService_;
  context.mailbox = &mailbox_;
  context.operatorEventGateway = operatorEventGateway;
  if (auto it = restoredKeyed_.find(index); it != restoredKeyed_.end()) {
    context.restoredKeyedState = &it->second;
  }
  if (auto it = restoredOperator_.find(index); it != restoredOperator_.end()) {
    context.restoredOperatorState = &it->second;
  }
  operators_[static_cast<size_t>(index)]->setup(context, output);
}

void StreamTask::dispatchOperatorEvent(int index, OperatorEvent event) {
  StreamOperatorBase* op = operators_.at(static_cast<size_t>(index)).get();
  mailbox_.put([op, e = std::move(event)] { op->handleOperatorEvent(e); });
}

RecordWriter& StreamTask::addRecordWriter(ResultPartition& partition) {
  writers_.push_back(std::make_unique<RecordWriter>(partition, bufferTimeoutMillis_ == 0));
  return *writers_.back();
}

OutputBase* StreamTask::adoptOutput(std::unique_ptr<OutputBase> output) {
  outputs_.push_back(std::move(output));
  return outputs_.back().get();
}

void StreamTask::setInputs(std::vector<std::unique_ptr<InputChannel>> channels,
                           std::vector<ChannelBinding> bindings,
                           std::vector<std::unique_ptr<InputHandler>> handlers) {
  channels_ = std::vector<Channel>(channels.size());
  openChannelsPerInput_.assign(handlers.size(), 0);
  for (size_t i = 0; i < channels.size(); ++i) {
    channels_[i].binding = bindings[i];
    ++openChannelsPerInput_[static_cast<size_t>(bindings[i].inputIndex)];
  }
  openChannels_ = static_cast<int>(channels.size());
  handlers_ = std::move(handlers);
  gate_ = std::make_unique<InputGate>(std::move(channels), [this] { mailbox_.signalInput(); });
}

std::vector<const RuntimeContext*> StreamTask::runtimeContexts() const {
  std::vector<const RuntimeContext*> out;
  for (auto& c : contexts_) out.push_back(c.get());
  return out;
}

void StreamTask::run() {
  state_ = TaskState::kRunning;
  try {
    invoke();
    state_ = TaskState::kFinished;
  } catch (const CancelTaskException&) {
    closeOperators();
    state_ = TaskState::kCanceled;
  } catch (const std::exception& e) {
    closeOperators();
    // User errors already name their operator; anything else is named after the chain.
    if (dynamic_cast<const UserFunctionException*>(&e) != nullptr) {
      failure_ = e.what();
    } else {
      failure_ = "task '" + info_.nameWithSubtask(info_.taskName) + "' failed: " + e.what();
    }
    failureRecoverable_ = isRecoverable(e);
    state_ = TaskState::kFailed;
    if (cancelled_.load()) {
      state_ = TaskState::kCanceled;  // errors while being cancelled are consequences
    } else if (failureListener_) {
      failureListener_(*this);
    }
  }
  timeService_.cancelAll();
  if (gate_) gate_->disconnect();
}

void StreamTask::invoke() {
  // Restored output channel state goes out before anything the operators emit.
  restoreOutputChannelState();
  for (auto it = operators_.rbegin(); it != operators_.rend(); ++it) (*it)->initializeState();
  for (auto it = operators_.rbegin(); it != operators_.rend(); ++it) (*it)->open();
  if (bufferTimeoutMillis_ > 0 && !writers_.empty()) {
    timeService_.scheduleAtFixedRate(bufferTimeoutMillis_, [this](int64_t) {
      for (auto& w : writers_) w->flushAll();
    });
  }
  if (gate_) {
    barrierHandler_ =
        CheckpointBarrierHandler::create(checkpointingMode_, gate_->numChannels(), *this);
    gate_->connect();
    restoreInputChannelState();
    runInputLoop();
  } else {
    runSourceLoop();
  }
  // Every input ended: operators flush what they hold, head first so that each one's results
  // reach the next before it finishes (Flink's endInput/finish order).
  for (size_t i = 0; i < operators_.size(); ++i) {
    if (i > 0) operators_[i]->endInput(0);
    operators_[i]->finish();
  }
  if (checkpointingEnabled_ &&
      std::any_of(operators_.begin(), operators_.end(),
                  [](const auto& op) { return op->requiresFinalCheckpoint(); })) {
    waitForFinalCheckpoint();
  }
  timeService_.cancelAll();
  if (finishedHook_) finishedHook_();
  for (auto& w : writers_) w->broadcastEvent(RuntimeEvent{EventType::kEndOfPartition, {}});
  // On the normal path an error while closing (e.g. a sink's last commit) fails the task.
  operatorsClosed_ = true;
  std::exception_ptr firstError;
  for (auto& op : operators_) {
    try {
      op->close();
    } catch (...) {
      if (!firstError) firstError = std::current_exception();
    }
  }
  if (firstError) std::rethrow_exception(firstError);
}

void StreamTask::restoreOutputChannelState() {
  const std::string task = info_.nameWithSubtask(info_.taskName);
  const char* const rule =
      ": the channel state of an unaligned checkpoint can only be restored with the parallelism "
      "and job graph it was taken with";
  for (const auto& [index, bytes] : restoredChannelState_.inputChannels) {
    if (index < 0 || static_cast<size_t>(index) >= channels_.size()) {
      throw SluiceException("task '" + task + "' is restored with channel state of input channel " +
                            std::to_string(index) + " but has " + std::to_string(channels_.size()) +
                            " input channels" + rule);
    }
  }
  for (const auto& [info, bytes] : restoredChannelState_.resultSubpartitions) {
    if (info.partitionIndex < 0 || static_cast<size_t>(info.partitionIndex) >= writers_.size() ||
        info.subpartitionIndex < 0 ||
        info.subpartitionIndex >=
            writers_[static_cast<size_t>(info.partitionIndex)]->numChannels()) {
      throw SluiceException("task '" + task + "' is restored with channel state of output (" +
                            std::to_string(info.partitionIndex) + ", subpartition " +
                            std::to_string(info.subpartitionIndex) + ") that it does not have" +
                            rule);
    }
  }
  for (const auto& [info, bytes] : restoredChannelState_.resultSubpartitions) {
    writers_[static_cast<size_t>(info.partitionIndex)]->emitRestoredData(
        info.subpartitionIndex, bytes.data(), bytes.size());
  }
  restoredChannelState_.resultSubpartitions.clear();
}

void StreamTask::restoreInputChannelState() {
  // Chunks of at most this many bytes, so no huge buffer is allocated; elements span chunks.
  constexpr size_t kChunkBytes = 32 * 1024;
  for (const auto& [index, bytes] : restoredChannelState_.inputChannels) {
    Channel& channel = channels_[static_cast<size_t>(index)];
    for (size_t offset = 0; offset < bytes.size(); offset += kChunkBytes) {
      checkCancelled();
      size_t n = std::min(kChunkBytes, bytes.size() - offset);
      BufferPtr buffer = allocateUnpooledBuffer(static_cast<uint32_t>(n), BufferType::kData);
      std::memcpy(buffer->data, bytes.data() + offset, n);
      buffer->size = static_cast<uint32_t>(n);
      channel.deserializer.setNextBuffer(std::move(buffer));
      handlers_[static_cast<size_t>(channel.binding.inputIndex)]->processBuffer(
          channel.deserializer, channel.binding.channelInInput);
    }
  }
  restoredChannelState_.inputChannels.clear();
}

void StreamTask::runSourceLoop() {
  auto* source = dynamic_cast<SourceOperatorBase*>(operators_.front().get());
  if (source == nullptr) throw SluiceException("task without inputs has no source at its head");
  while (true) {
    if (mailbox_.hasMail()) mailbox_.runAll();
    checkCancelled();
    InputStatus status = source->emitNext();
    if (status == InputStatus::kEndOfInput) return;
    if (status == InputStatus::kNothingAvailable && !mailbox_.hasMail()) {
      mailbox_.waitForMailOrInput();
    }
  }
}

void StreamTask::runInputLoop() {
  while (openChannels_ > 0) {
    if (mailbox_.hasMail()) mailbox_.runAll();
    checkCancelled();
    auto next = gate_->pollNext();
    if (!next) {
      mailbox_.waitForMailOrInput();
      continue;
    }
    Channel& channel = channels_[static_cast<size_t>(next->channel)];
    if (next->buffer->type == BufferType::kEvent) {
      RuntimeEvent event = deserializeEvent(*next->buffer);
      switch (event.type) {
        case EventType::kEndOfPartition:
          endOfChannel(channel);
          barrierHandler_->processEndOfPartition(next->channel);
          break;
        case EventType::kCheckpointBarrier:
          // An unaligned barrier overtakes data, so it may cut an element; an aligned one never.
          if (channel.deserializer.hasPartialElement() && !event.barrier.unaligned) {
            throw SerializationException("corrupt stream: checkpoint barrier inside an element");
          }
          barrierHandler_->processBarrier(event.barrier, next->channel);
          break;
        case EventType::kCancelCheckpointMarker:
          barrierHandler_->processCancellationMarker(event.barrier.checkpointId, next->channel);
          break;
      }
      continue;
    }
    // Per buffer, not per record: one branch unless a checkpoint is in progress here.
    barrierHandler_->onBuffer(next->channel, *next->buffer);
    channel.deserializer.setNextBuffer(std::move(next->buffer));
    handlers_[static_cast<size_t>(channel.binding.inputIndex)]->processBuffer(
        channel.deserializer, channel.binding.channelInInput);
  }
}

void StreamTask::waitForFinalCheckpoint() {
  // Flushed output must not wait for the buffer timeout while the task waits.
  for (auto& w : writers_) w->flushAll();
  waitingForFinalCheckpoint_.store(true);
  if (waitingHook_) waitingHook_();
  while (!finalCheckpointCompleted_) {
    checkCancelled();
    if (mailbox_.hasMail()) {
      mailbox_.runAll();
    } else {
      mailbox_.waitForMailOrInput();
    }
  }
}

void StreamTask::endOfChannel(Channel& channel) {
  if (channel.deserializer.hasPartialElement()) {
    throw SerializationException("corrupt stream: channel ended inside an element");
  }
  channel.finished = true;
  --openChannels_;
  int input = channel.binding.inputIndex;
  handlers_[static_cast<size_t>(input)]->channelFinished(channel.binding.channelInInput);
  if (--openChannelsPerInput_[static_cast<size_t>(input)] == 0) operators_.front()->endInput(input);
}

void StreamTask::closeOperators() noexcept {
  if (operatorsClosed_) return;
  operatorsClosed_ = true;
  for (auto& op : operators_) {
    try {
      op->close();
    } catch (const std::exception& e) {
      spdlog::warn("closing an operator of {} failed: {}", info_.nameWithSubtask(info_.taskName),
                   e.what());
    }
  }
}

void StreamTask::performCheckpoint(const CheckpointBarrier& barrier,
                                   const CheckpointMetrics& metrics) {
  latestCheckpointId_ = std::max(latestCheckpointId_, barrier.checkpointId);
  // Snapshot first, then the barrier, then (after returning) the next record: the snapshot
  // covers exactly the records before the barrier on every output. Flink broadcasts before
  // taking the synchronous snapshot; both orders are consistent because nothing runs on the
  // task thread in between.
  if (checkpointHook_) checkpointHook_(barrier, metrics);
  RuntimeEvent event{EventType::kCheckpointBarrier, barrier};
  if (!metrics.unaligned) {
    for (auto& w : writers_) w->broadcastEvent(event);
    if (channelStateHook_) channelStateHook_(barrier.checkpointId, TaskChannelState{});
    return;
  }
  // Unaligned: what the deserializers hold (partial elements) starts the input channel state;
  // the barrier overtakes the queued output buffers, which are the output channel state.
  TaskChannelState state;
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (channels_[i].finished) continue;
    std::vector<uint8_t> bytes;
    channels_[i].deserializer.copyUnconsumed(bytes);
    if (!bytes.empty()) state.inputChannels[static_cast<int>(i)] = std::move(bytes);
  }
  std::vector<std::vector<uint8_t>> overtaken;
  for (size_t p = 0; p < writers_.size(); ++p) {
    writers_[p]->broadcastPriorityEvent(event, overtaken);
    for (size_t sub = 0; sub < overtaken.size(); ++sub) {
      if (overtaken[sub].empty()) continue;
      state
          .resultSubpartitions[ResultSubpartitionInfo{static_cast<int>(p), static_cast<int>(sub)}] =
          std::move(overtaken[sub]);
    }
  }
  if (!gate_) {
    completeChannelState(barrier.checkpointId, std::move(state));  // a source: output state only
    return;
  }
  // The barrier handler reports the buffers still to persist, then completion or abort.
  collectingCheckpointId_ = barrier.checkpointId;
  collecting_ = std::move(state);
}

void StreamTask::persistInflightBuffer(int64_t checkpointId, int channel, const Buffer& buffer) {
  if (checkpointId != collectingCheckpointId_) return;
  auto& bytes = collecting_.inputChannels[channel];
  bytes.insert(bytes.end(), buffer.data, buffer.data + buffer.size);
}

void StreamTask::inputChannelStateComplete(int64_t checkpointId) {
  if (checkpointId != collectingCheckpointId_) return;
  TaskChannelState state = std::move(collecting_);
  collecting_ = TaskChannelState{};
  collectingCheckpointId_ = -1;
  completeChannelState(checkpointId, std::move(state));
}

void StreamTask::completeChannelState(int64_t checkpointId, TaskChannelState state) {
  if (channelStateHook_) channelStateHook_(checkpointId, std::move(state));
}

void StreamTask::scheduleAlignmentTimeout(int64_t delayNanos) {
  // Rounded up, plus 1 ms: the handler measures on its own clock and must see the timeout over.
  int64_t delayMillis = (delayNanos + 999'999) / 1'000'000 + 1;
  timeService_.registerTimer(timeService_.currentProcessingTime() + delayMillis, [this](int64_t) {
    if (barrierHandler_) barrierHandler_->checkAlignmentTimeout();
  });
}

void StreamTask::abortCheckpointOnBarrier(int64_t checkpointId) {
  if (checkpointId == collectingCheckpointId_) {
    collectingCheckpointId_ = -1;
    collecting_ = TaskChannelState{};
  }
  if (checkpointAbortHook_) checkpointAbortHook_(checkpointId);
  RuntimeEvent event{EventType::kCancelCheckpointMarker, CheckpointBarrier{checkpointId, 0}};
  for (auto& w : writers_) w->broadcastEvent(event);
}

bool StreamTask::triggerCheckpointAsync(const CheckpointBarrier& barrier) {
  if (gate_ && !waitingForFinalCheckpoint_.load()) return false;
  TaskState s = state_.load();
  if (s != TaskState::kCreated && s != TaskState::kRunning) return false;
  mailbox_.put([this, barrier] {
    // Not twice: a task that finished took the pending checkpoint through its barrier handler
    // already when its last channel ended.
    if (barrier.checkpointId <= latestCheckpointId_) return;
    CheckpointMetrics metrics;
    // A finished task has no input left in flight: its snapshot is aligned.
    const bool finished = waitingForFinalCheckpoint_.load();
    metrics.unaligned = barrier.isUnalignedNow() && !finished;
    if (finished && finalCheckpointId_ < 0) finalCheckpointId_ = barrier.checkpointId;
    performCheckpoint(barrier, metrics);
  });
  return true;
}

void StreamTask::notifyCheckpointCompleteAsync(int64_t checkpointId) {
  mailbox_.put([this, checkpointId] {
    for (auto it = operators_.rbegin(); it != operators_.rend(); ++it) {
      (*it)->notifyCheckpointComplete(checkpointId);
    }
    if (finalCheckpointId_ >= 0 && checkpointId >= finalCheckpointId_) {
      finalCheckpointCompleted_ = true;
    }
  });
}

void StreamTask::notifyCheckpointAbortedAsync(int64_t checkpointId) {
  mailbox_.put([this, checkpointId] {
    for (auto it = operators_.rbegin(); it != operators_.rend(); ++it) {
      (*it)->notifyCheckpointAborted(checkpointId);
    }
  });
}

void StreamTask::cancel() {
  cancelled_.store(true);
  mailbox_.close();
}

}  // namespace sluice
