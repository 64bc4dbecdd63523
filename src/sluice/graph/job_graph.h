#pragma once

#include <map>
#include <string>
#include <vector>

#include "sluice/graph/stream_graph.h"

namespace sluice {

/// A chain of stream nodes that runs as one task per subtask (Flink's JobVertex).
struct JobVertex {
  int id = 0;
  std::string name;  ///< chain name, "Source: A -> Map -> Filter" as Flink
  int parallelism = 1;
  int maxParallelism = 128;
  std::vector<int> chain;    ///< stream node ids, head first, each after its chained input
  std::vector<int> inputs;   ///< job edge ids
  std::vector<int> outputs;  ///< job edge ids
};

/// A data exchange between two job vertices (Flink's JobEdge), one per stream edge that
/// crosses chains.
struct JobEdge {
  int id = 0;
  int sourceVertex = 0;
  int targetVertex = 0;
  int streamEdge = 0;      ///< index into the stream graph's edges
  bool pointwise = false;  ///< forward/rescale: each producer feeds a subset of consumers
};

/// The chained, parallel form of a resolved StreamGraph (Flink's JobGraph), with a stable
/// operator id for every node. Immutable once built; safe to read from several threads.
class JobGraph {
 public:
  /// Translates `graph` (resolved, see StreamGraph::resolve), chaining operators by Flink's
  /// rules (StreamingJobGraphGenerator#isChainable): the downstream node has exactly one input,
  /// the edge is forward with equal parallelism, the strategies allow it and chaining is
  /// enabled. Throws ConfigurationException on a duplicate uid.
  static JobGraph fromStreamGraph(StreamGraph graph, std::string jobName, bool chainingEnabled);

  const std::string& jobName() const { return jobName_; }
  const StreamGraph& streamGraph() const { return graph_; }
  const std::vector<JobVertex>& vertices() const { return vertices_; }
  const std::vector<JobEdge>& edges() const { return edges_; }
  /// Vertex running stream node `nodeId`.
  int vertexOfNode(int nodeId) const { return vertexOfNode_.at(nodeId); }
  /// 32 hex digits: a hash of the node's uid when it has one, else of its position in the
  /// graph (breadth-first order from the sources and its inputs' ids), as Flink's
  /// StreamGraphHasherV2. Stable across runs of the same program.
  const std::string& operatorId(int nodeId) const { return operatorIds_.at(nodeId); }

 private:
  StreamGraph graph_;
  std::string jobName_;
  std::vector<JobVertex> vertices_;
  std::vector<JobEdge> edges_;
  std::map<int, int> vertexOfNode_;
  std::map<int, std::string> operatorIds_;
};

}  // namespace sluice
