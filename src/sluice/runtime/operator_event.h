#pragma once

#include <cstdint>
#include <vector>

namespace sluice {

/// A message between the parallel subtasks of one operator and the operator's job-wide
/// OperatorCoordinator (Flink's OperatorEvent), already serialized, because it may cross
/// processes: a subtask runs in a TaskExecutor, the coordinator beside the JobMaster. What the
/// bytes mean is the business of the operator and its coordinator (source_events.h for
/// sources). Delivery keeps the order of sending per (subtask, coordinator) pair.
struct OperatorEvent {
  std::vector<uint8_t> bytes;
};

/// How one operator subtask sends events to its coordinator (Flink's OperatorEventGateway).
/// Handed to the operator at setup (StreamOperatorContext::operatorEventGateway); called on the
/// task thread. In one process the coordinator handles the event before the call returns; across
/// processes it travels by RPC and is handled later, in order.
class OperatorEventGateway {
 public:
  virtual ~OperatorEventGateway() = default;
  virtual void sendEventToCoordinator(OperatorEvent event) = 0;
};

/// How a coordinator sends events to one subtask of its operator (Flink's
/// OperatorCoordinator.SubtaskGateway). Thread-safe; returns at once. The event reaches the
/// operator's handleOperatorEvent on the subtask's task thread, between records, in the order
/// sent, and before any checkpoint barrier the coordinator triggers after sending it. Events to
/// a subtask that has ended are dropped.
class SubtaskGateway {
 public:
  virtual ~SubtaskGateway() = default;
  virtual void sendEvent(OperatorEvent event) = 0;
};

}  // namespace sluice
