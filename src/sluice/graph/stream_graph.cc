#include "sluice/graph/stream_graph.h"

#include <nlohmann/json.hpp>

#include "sluice/state/key_groups.h"

namespace sluice {

StreamNode& StreamGraph::addNode(StreamNode node) {
  node.id = nextNodeId();
  nodes_.push_back(std::move(node));
  return nodes_.back();
}

void StreamGraph::addEdge(StreamEdge edge) {
  if (!edge.type) edge.type = node(edge.sourceId).outputType;
  int index = static_cast<int>(edges_.size());
  node(edge.sourceId).outEdges.push_back(index);
  node(edge.targetId).inEdges.push_back(index);
  edges_.push_back(std::move(edge));
}

void StreamGraph::resolve(int defaultParallelism, int defaultMaxParallelism) {
  for (auto& n : nodes_) {
    if (n.parallelism <= 0) n.parallelism = n.parallelismFixed ? 1 : defaultParallelism;
    if (n.maxParallelism <= 0) {
      n.maxParallelism = defaultMaxParallelism > 0
                             ? defaultMaxParallelism
                             : KeyGroupRangeAssignment::computeDefaultMaxParallelism(n.parallelism);
    }
    if (n.parallelism > n.maxParallelism) {
      throw ConfigurationException("operator '" + n.name + "' has parallelism " +
                                   std::to_string(n.parallelism) + " above its max parallelism " +
                                   std::to_string(n.maxParallelism) +
                                   "; raise pipeline.max-parallelism or lower the parallelism");
    }
  }
  for (auto& e : edges_) {
    const StreamNode& up = node(e.sourceId);
    const StreamNode& down = node(e.targetId);
    if (!e.partitioner) {
      e.partitioner =
          e.type->partitioner(up.parallelism == down.parallelism ? PartitionerKind::kForward
                                                                 : PartitionerKind::kRebalance);
    } else if (e.partitioner->kind() == PartitionerKind::kForward &&
               up.parallelism != down.parallelism) {
      throw ConfigurationException(
          "Forward partitioning does not allow change of parallelism: upstream '" + up.name +
          "' has parallelism " + std::to_string(up.parallelism) + ", downstream '" + down.name +
          "' has " + std::to_string(down.parallelism) +
          ". Use another partitioning, such as rebalance, rescale, shuffle or broadcast.");
    }
  }
}

std::string StreamGraph::executionPlanJson() const {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : nodes_) {
    nlohmann::json j;
    j["id"] = n.id;
    j["type"] = n.name;
    j["pact"] = n.isSource ? "Data Source" : (n.isSink ? "Data Sink" : "Operator");
    j["contents"] = n.name;
    j["parallelism"] = n.parallelism;
    if (!n.inEdges.empty()) {
      nlohmann::json preds = nlohmann::json::array();
      for (int ei : n.inEdges) {
        const StreamEdge& e = edges_[static_cast<size_t>(ei)];
        preds.push_back({{"id", e.sourceId},
                         {"ship_strategy",
                          e.partitioner ? partitionerName(e.partitioner->kind()) : "UNRESOLVED"},
                         {"side", "second"}});
      }
      j["predecessors"] = preds;
    }
    nodes.push_back(j);
  }
  return nlohmann::json{{"nodes", nodes}}.dump(2);
}

}  // namespace sluice
