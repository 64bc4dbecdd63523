#include "sluice/graph/execution_graph.h"

#include <cstdint>
#include <stdexcept>

#include "sluice/core/exceptions.h"

namespace sluice {

namespace {

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

}  // namespace

ExecutionGraph::ExecutionGraph(const JobGraph& jobGraph) : edges_(jobGraph.edges()) {
  const auto& vertices = jobGraph.vertices();
  for (const auto& v : vertices) {
    parallelism_.push_back(v.parallelism);
    firstTaskOfVertex_.push_back(static_cast<int>(executionVertices_.size()));
    for (int i = 0; i < v.parallelism; ++i) {
      ExecutionVertex ev;
      ev.jobVertex = v.id;
      ev.subtask = i;
      ev.taskIndex = static_cast<int>(executionVertices_.size());
      executionVertices_.push_back(std::move(ev));
    }
  }
  consumers_.resize(jobGraph.edges().size());
  for (const auto& e : jobGraph.edges()) {
    int p = vertices[static_cast<size_t>(e.sourceVertex)].parallelism;
    int c = vertices[static_cast<size_t>(e.targetVertex)].parallelism;
    for (int i = 0; i < p; ++i) {
      consumers_[static_cast<size_t>(e.id)].push_back(e.pointwise ? pointwiseConsumers(p, c, i)
                                                                  : allConsumers(c));
    }
  }
  const StreamGraph& g = jobGraph.streamGraph();
  for (const auto& v : vertices) {
    for (int j = 0; j < v.parallelism; ++j) {
      ExecutionVertex& ev = executionVertices_[static_cast<size_t>(
          firstTaskOfVertex_[static_cast<size_t>(v.id)] + j)];
      std::vector<int> perInput;
      for (int jeId : v.inputs) {
        const JobEdge& je = jobGraph.edges()[static_cast<size_t>(jeId)];
        const int input = g.edges()[static_cast<size_t>(je.streamEdge)].typeNumber;
        if (perInput.size() <= static_cast<size_t>(input)) {
          perInput.resize(static_cast<size_t>(input) + 1, 0);
        }
        const auto& producers = consumers_[static_cast<size_t>(jeId)];
        for (size_t i = 0; i < producers.size(); ++i) {
          for (size_t s = 0; s < producers[i].size(); ++s) {
            if (producers[i][s] != j) continue;
            ev.inputChannels.push_back({jeId, static_cast<int>(i), static_cast<int>(s), input,
                                        perInput[static_cast<size_t>(input)]++});
          }
        }
      }
    }
  }
}

const ExecutionVertex& ExecutionGraph::executionVertex(int jobVertex, int subtask) const {
  if (jobVertex < 0 || static_cast<size_t>(jobVertex) >= firstTaskOfVertex_.size() || subtask < 0 ||
      subtask >= parallelism_[static_cast<size_t>(jobVertex)]) {
    throw std::out_of_range("no subtask " + std::to_string(subtask) + " of job vertex " +
                            std::to_string(jobVertex));
  }
  return executionVertices_[static_cast<size_t>(firstTaskOfVertex_[static_cast<size_t>(jobVertex)] +
                                                subtask)];
}

const std::vector<int>& ExecutionGraph::consumers(int jobEdge, int producerSubtask) const {
  return consumers_.at(static_cast<size_t>(jobEdge)).at(static_cast<size_t>(producerSubtask));
}

const JobEdge& ExecutionGraph::jobEdgeOfStreamEdge(int streamEdge) const {
  for (const auto& e : edges_) {
    if (e.streamEdge == streamEdge) return e;
  }
  throw SluiceException("internal error: stream edge " + std::to_string(streamEdge) +
                        " is chained, it has no job edge");
}

}  // namespace sluice
