#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/runtime/operator_factory.h"
#include "sluice/runtime/type_info.h"

namespace sluice {

/// Whether an operator may share a task with its neighbours (Flink's ChainingStrategy).
enum class ChainingStrategy {
  kAlways,  ///< chains to its predecessor and successors when the rules allow
  kHead,    ///< starts a chain, but successors may chain to it (startNewChain, sources)
  kNever,   ///< never chained (disableChaining)
};

/// One operator of the program as the user wrote it (Flink's StreamNode).
struct StreamNode {
  int id = 0;
  std::string name;               ///< e.g. "Map", "Source: Sequence"
  std::string uid;                ///< user-given stable id, or empty
  int parallelism = -1;           ///< -1: the environment's default
  int maxParallelism = -1;        ///< -1: derived as Flink's computeDefaultMaxParallelism
  bool parallelismFixed = false;  ///< non-parallel operators (fromElements) keep parallelism 1
  ChainingStrategy chaining = ChainingStrategy::kAlways;
  bool isSource = false;
  bool isSink = false;
  std::shared_ptr<const OperatorFactory> factory;
  std::shared_ptr<const TypeInfo> outputType;  ///< null for sinks
  std::vector<int> inEdges;                    ///< indices into StreamGraph::edges()
  std::vector<int> outEdges;
};

/// A connection between two stream nodes (Flink's StreamEdge).
struct StreamEdge {
  int sourceId = 0;
  int targetId = 0;
  int typeNumber = 0;  ///< which input of the target (0, or 1 for the second connected input)
  /// null: forward when both sides have the same parallelism, else rebalance (as Flink).
  std::shared_ptr<const StreamPartitioner> partitioner;
  /// Non-empty: the edge carries the source's side output with this tag id.
  std::string sideOutputTag;
  /// Type of the records on the edge; null means the source node's output type.
  std::shared_ptr<const TypeInfo> type;
};

/// The program's dataflow as built by the DataStream API (Flink's StreamGraph). Nodes are
/// numbered in creation order, which is deterministic for a deterministic program.
/// Not thread-safe.
class StreamGraph {
 public:
  StreamNode& addNode(StreamNode node);
  void addEdge(StreamEdge edge);
  StreamNode& node(int id) { return nodes_.at(static_cast<size_t>(id - 1)); }
  const StreamNode& node(int id) const { return nodes_.at(static_cast<size_t>(id - 1)); }
  const std::vector<StreamNode>& nodes() const { return nodes_; }
  std::vector<StreamNode>& nodes() { return nodes_; }
  const std::vector<StreamEdge>& edges() const { return edges_; }
  std::vector<StreamEdge>& edges() { return edges_; }
  int nextNodeId() const { return static_cast<int>(nodes_.size()) + 1; }

  /// Fills in defaults as Flink does before translation: parallelism from `defaultParallelism`,
  /// max parallelism from `defaultMaxParallelism` (-1: derived), and the partitioner of edges
  /// without one. Throws ConfigurationException on a forward edge between different
  /// parallelisms, or a parallelism above the max parallelism.
  void resolve(int defaultParallelism, int defaultMaxParallelism);

  /// The plan as Flink's StreamExecutionEnvironment#getExecutionPlan JSON: nodes with id,
  /// type, pact, contents, parallelism and predecessors (id, ship_strategy, side).
  /// Call after resolve().
  std::string executionPlanJson() const;

 private:
  std::vector<StreamNode> nodes_;
  std::vector<StreamEdge> edges_;
};

}  // namespace sluice
