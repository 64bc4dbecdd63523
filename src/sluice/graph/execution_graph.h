#pragma once

#include <vector>

#include "sluice/graph/job_graph.h"

namespace sluice {

/// One input channel of a task (Flink's InputChannelDeploymentDescriptor): which producer
/// subtask's result partition, and which of its subpartitions, it reads, and where it belongs
/// at the consumer.
struct InputChannelDescriptor {
  int jobEdge = 0;          ///< the job edge the channel belongs to
  int producerSubtask = 0;  ///< subtask index of the producing vertex
  int subpartition = 0;     ///< subpartition of that producer's partition on `jobEdge`
  int inputIndex = 0;       ///< which input of the head operator (0 or 1) it feeds
  int channelInInput = 0;   ///< the channel's index among that input's channels
};

/// One parallel subtask of a job vertex (Flink's ExecutionVertex): what its task reads.
struct ExecutionVertex {
  int jobVertex = 0;  ///< JobVertex id
  int subtask = 0;    ///< index of the subtask, 0 .. parallelism-1
  int taskIndex = 0;  ///< position among all tasks of the job (vertex order, then subtask)
  /// Channels ordered by job edge (in the vertex's input order), then producer subtask, then
  /// subpartition: the order the task's input gate numbers them in, and the order channel state
  /// of unaligned checkpoints is stored in.
  std::vector<InputChannelDescriptor> inputChannels;
};

/// The parallel, deployable form of a JobGraph (the static part of Flink's ExecutionGraph):
/// every subtask of every vertex, one result partition per job edge and producer subtask with
/// one subpartition per consumer it feeds, and every task's input channels. Plain data that
/// names no runtime object, so the part of it a task needs can be sent to the process that
/// runs the task. Immutable; safe to read from several threads.
///
/// Distribution as Flink's DistributionPattern: ALL_TO_ALL edges (hash, rebalance, broadcast,
/// shuffle) connect every producer to every consumer; POINTWISE edges (forward, rescale) split
/// each side's subtasks as evenly as possible (producer i of p feeds consumers j with
/// floor(j*p/c) == i when p < c, the one consumer floor(i*c/p) otherwise).
class ExecutionGraph {
 public:
  explicit ExecutionGraph(const JobGraph& jobGraph);

  /// Every subtask, in task index order.
  const std::vector<ExecutionVertex>& executionVertices() const { return executionVertices_; }
  /// Subtask `subtask` of job vertex `jobVertex`. Throws std::out_of_range for an unknown one.
  const ExecutionVertex& executionVertex(int jobVertex, int subtask) const;
  /// Consumer subtasks of producer `producerSubtask`'s partition on `jobEdge`, ascending;
  /// subpartition s of that partition feeds consumer consumers(...)[s].
  const std::vector<int>& consumers(int jobEdge, int producerSubtask) const;
  /// The job edge that carries stream edge `streamEdge` (one that crosses chains). Throws
  /// SluiceException when the stream edge is chained.
  const JobEdge& jobEdgeOfStreamEdge(int streamEdge) const;
  /// Total number of tasks (subtasks over all vertices).
  int numTasks() const { return static_cast<int>(executionVertices_.size()); }

 private:
  std::vector<JobEdge> edges_;
  std::vector<int> parallelism_;  // by job vertex
  std::vector<ExecutionVertex> executionVertices_;
  std::vector<int> firstTaskOfVertex_;
  // consumers_[edge][producer subtask]
  std::vector<std::vector<std::vector<int>>> consumers_;
};

}  // namespace sluice
