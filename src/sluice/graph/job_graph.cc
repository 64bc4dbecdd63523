#include "sluice/graph/job_graph.h"

#include <xxhash.h>

#include <cstdio>
#include <deque>
#include <set>

namespace sluice {

namespace {

bool isChainable(const StreamGraph& g, const StreamEdge& e, bool chainingEnabled) {
  const StreamNode& up = g.node(e.sourceId);
  const StreamNode& down = g.node(e.targetId);
  return chainingEnabled && down.inEdges.size() == 1 &&
         down.chaining == ChainingStrategy::kAlways && up.chaining != ChainingStrategy::kNever &&
         e.partitioner->kind() == PartitionerKind::kForward && up.parallelism == down.parallelism;
}

std::string hashHex(const std::string& bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  char out[33];
  std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return out;
}

}  // namespace

JobGraph JobGraph::fromStreamGraph(StreamGraph graph, std::string jobName, bool chainingEnabled) {
  JobGraph jg;
  jg.graph_ = std::move(graph);
  jg.jobName_ = std::move(jobName);
  const StreamGraph& g = jg.graph_;

  // Chains: every node that cannot chain to its input starts a vertex; the rest join the vertex
  // of their single input. Nodes are created after their inputs, so id order is topological.
  for (const auto& n : g.nodes()) {
    bool chained = n.inEdges.size() == 1 &&
                   isChainable(g, g.edges()[static_cast<size_t>(n.inEdges[0])], chainingEnabled);
    if (chained) {
      int v = jg.vertexOfNode_.at(g.edges()[static_cast<size_t>(n.inEdges[0])].sourceId);
      jg.vertices_[static_cast<size_t>(v)].chain.push_back(n.id);
      jg.vertexOfNode_[n.id] = v;
    } else {
      JobVertex v;
      v.id = static_cast<int>(jg.vertices_.size());
      v.parallelism = n.parallelism;
      v.maxParallelism = n.maxParallelism;
      v.chain.push_back(n.id);
      jg.vertexOfNode_[n.id] = v.id;
      jg.vertices_.push_back(std::move(v));
    }
  }
  for (auto& v : jg.vertices_) {
    for (size_t i = 0; i < v.chain.size(); ++i) {
      v.name += (i ? " -> " : "") + g.node(v.chain[i]).name;
    }
  }
  for (size_t i = 0; i < g.edges().size(); ++i) {
    const StreamEdge& e = g.edges()[i];
    int sv = jg.vertexOfNode_.at(e.sourceId);
    int tv = jg.vertexOfNode_.at(e.targetId);
    if (sv == tv) continue;  // chained
    JobEdge je;
    je.id = static_cast<int>(jg.edges_.size());
    je.sourceVertex = sv;
    je.targetVertex = tv;
    je.streamEdge = static_cast<int>(i);
    je.pointwise = e.partitioner->isPointwise();
    jg.vertices_[static_cast<size_t>(sv)].outputs.push_back(je.id);
    jg.vertices_[static_cast<size_t>(tv)].inputs.push_back(je.id);
    jg.edges_.push_back(je);
  }

  // Operator ids: breadth-first from the sources in id order.
  std::set<std::string> uids;
  std::deque<int> queue;
  std::set<int> seen;
  for (const auto& n : g.nodes()) {
    if (n.inEdges.empty()) {
      queue.push_back(n.id);
      seen.insert(n.id);
    }
  }
  int position = 0;
  while (!queue.empty()) {
    int id = queue.front();
    const StreamNode& n = g.node(id);
    bool inputsDone = true;
    for (int ei : n.inEdges) {
      inputsDone &= jg.operatorIds_.count(g.edges()[static_cast<size_t>(ei)].sourceId) > 0;
    }
    queue.pop_front();
    if (!inputsDone) {  // revisit once every input has its id
      queue.push_back(id);
      continue;
    }
    std::string material;
    if (!n.uid.empty()) {
      if (!uids.insert(n.uid).second) {
        throw ConfigurationException("duplicate operator uid '" + n.uid +
                                     "': every uid in a job must be unique");
      }
      material = "uid:" + n.uid;
    } else {
      material = "pos:" + std::to_string(position);
      for (int ei : n.inEdges) {
        material += "|" + jg.operatorIds_.at(g.edges()[static_cast<size_t>(ei)].sourceId);
      }
    }
    jg.operatorIds_[id] = hashHex(material);
    ++position;
    for (int ei : n.outEdges) {
      int t = g.edges()[static_cast<size_t>(ei)].targetId;
      if (seen.insert(t).second) queue.push_back(t);
    }
  }
  return jg;
}

}  // namespace sluice
