#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sluice/runtime/operator_event.h"

namespace sluice {

/// A job-wide component beside the parallel subtasks of one operator (Flink's
/// OperatorCoordinator); sources use it to run their split enumerator. It talks to the subtasks
/// only through serialized OperatorEvents: SubtaskGateway one way, handleEventFromOperator the
/// other, so it can live in another process than they do.
///
/// Calls: resetToCheckpoint (on restore), executionAttemptReady (per subtask), start, then
/// handleEventFromOperator and checkpointCoordinator from any thread (an implementation
/// serializes them itself), close.
class OperatorCoordinator {
 public:
  virtual ~OperatorCoordinator() = default;
  virtual void start() {}
  virtual void close() {}
  /// Subtask `subtask` (execution attempt `attemptNumber`) of the operator is deployed and
  /// `gateway` reaches it (Flink's OperatorCoordinator#executionAttemptReady). Called for every
  /// subtask before start().
  virtual void executionAttemptReady(int subtask, int attemptNumber,
                                     std::shared_ptr<SubtaskGateway> gateway) {
    (void)subtask;
    (void)attemptNumber;
    (void)gateway;
  }
  /// An event subtask `subtask` sent with OperatorEventGateway::sendEventToCoordinator. Throws
  /// SerializationException for an event it does not understand; an exception fails the job.
  virtual void handleEventFromOperator(int subtask, const OperatorEvent& event) {
    (void)subtask;
    (void)event;
  }
  /// Takes the coordinator's state for checkpoint `checkpointId` and, atomically with it,
  /// calls `triggerSubtasks` (which injects the barrier at the operator's subtasks), so every
  /// event the coordinator sent before its snapshot reaches the subtasks before the barrier
  /// and every later one after (Flink's OperatorCoordinator.checkpointCoordinator followed by
  /// the subtask trigger). Returns the serialized state (empty when stateless).
  virtual std::vector<uint8_t> checkpointCoordinator(int64_t checkpointId,
                                                     const std::function<void()>& triggerSubtasks) {
    (void)checkpointId;
    triggerSubtasks();
    return {};
  }
  /// Restores the state checkpointCoordinator returned; called before start().
  virtual void resetToCheckpoint(const std::vector<uint8_t>& state) { (void)state; }
};

}  // namespace sluice
