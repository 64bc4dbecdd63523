#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "sluice/api/common/watermark_strategy.h"
#include "sluice/cluster/local_executor.h"
#include "sluice/core/clock.h"
#include "sluice/core/configuration.h"
#include "sluice/graph/stream_graph.h"
#include "sluice/runtime/source_operator.h"

namespace sluice {

template <typename T>
class DataStream;
template <typename T>
class SingleOutputStreamOperator;

/// The context in which a streaming program is built and executed (Flink's
/// StreamExecutionEnvironment). Build the dataflow with its sources and the DataStream
/// methods, then execute(); the job runs on the embedded local cluster.
///
/// Not thread-safe: build and execute a program from one thread. DataStreams refer back to
/// their environment, so it must outlive them (it is handed out as a unique_ptr and is not
/// movable).
class StreamExecutionEnvironment {
 public:
  /// An environment configured from conf/config.yaml (see loadConfiguration()).
  static std::unique_ptr<StreamExecutionEnvironment> getExecutionEnvironment();
  /// An environment configured by `configuration` (e.g. from CommandLine::parse, which applies
  /// -D and -p). Throws ConfigurationException on a malformed known option.
  static std::unique_ptr<StreamExecutionEnvironment> getExecutionEnvironment(
      const Configuration& configuration);

  explicit StreamExecutionEnvironment(const Configuration& configuration);
  StreamExecutionEnvironment(const StreamExecutionEnvironment&) = delete;
  StreamExecutionEnvironment& operator=(const StreamExecutionEnvironment&) = delete;

  /// Default parallelism of operators that set none (parallelism.default). Throws
  /// ConfigurationException unless >= 1.
  StreamExecutionEnvironment& setParallelism(int parallelism);
  int getParallelism() const { return parallelism_; }
  /// Number of key groups, the upper bound of rescaling (pipeline.max-parallelism); -1 derives
  /// it as Flink (128 for parallelism up to 85). Throws unless -1 or in [1, 32768].
  StreamExecutionEnvironment& setMaxParallelism(int maxParallelism);
  int getMaxParallelism() const { return maxParallelism_; }
  /// Longest time a buffer waits before it is sent, milliseconds (execution.buffer-timeout):
  /// 0 sends every record at once, -1 only full buffers. Throws unless >= -1.
  StreamExecutionEnvironment& setBufferTimeout(int64_t millis);
  int64_t getBufferTimeout() const { return options_.bufferTimeoutMillis; }
  /// Turns operator chaining off for the whole job (Flink's disableOperatorChaining).
  StreamExecutionEnvironment& disableOperatorChaining();
  bool isChainingEnabled() const { return chainingEnabled_; }
  /// Processing time source for timers and buffer timeouts (tests inject a ManualClock).
  StreamExecutionEnvironment& setClock(std::shared_ptr<Clock> clock);
  /// How often watermark generators emit, ms (pipeline.auto-watermark-interval); 0 disables
  /// periodic watermarks. Throws unless >= 0.
  StreamExecutionEnvironment& setAutoWatermarkInterval(int64_t millis);
  int64_t getAutoWatermarkInterval() const { return options_.autoWatermarkIntervalMillis; }
  /// The job's checkpointing settings (Flink's getCheckpointConfig()), from
  /// execution.checkpointing.* unless changed here before execute().
  CheckpointConfig& getCheckpointConfig() { return options_.checkpointConfig; }
  /// Checkpoints every `intervalMillis` (Flink's enableCheckpointing).
  StreamExecutionEnvironment& enableCheckpointing(int64_t intervalMillis) {
    options_.checkpointConfig.setCheckpointInterval(intervalMillis);
    return *this;
  }
  /// Seed of random partitioning (shuffle), so that replays choose the same channels.
  StreamExecutionEnvironment& setSeed(uint64_t seed);
  const Configuration& getConfiguration() const { return configuration_; }

  /// A non-parallel source of the given elements, in order (Flink's fromElements).
  template <typename T>
  SingleOutputStreamOperator<T> fromElements(std::initializer_list<T> elements);
  /// A non-parallel source of the elements of `collection`, in order (Flink's fromCollection).
  template <typename T>
  SingleOutputStreamOperator<T> fromCollection(std::vector<T> collection);
  /// The numbers from `from` to `to`, both inclusive, read in parallel (Flink's fromSequence).
  /// Throws SluiceException when from > to.
  SingleOutputStreamOperator<int64_t> fromSequence(int64_t from, int64_t to);
  /// A stream from a split-based source (Flink's fromSource, FLIP-27), without timestamps or
  /// watermarks (event time advances only at the end of a bounded source).
  template <typename T, typename SplitT>
  SingleOutputStreamOperator<T> fromSource(std::shared_ptr<const Source<T, SplitT>> source,
                                           const std::string& name);
  /// A stream from a split-based source whose timestamps and watermarks come from `strategy`,
  /// applied per split inside the source (Flink's fromSource(source, strategy, name)).
  template <typename T, typename SplitT>
  SingleOutputStreamOperator<T> fromSource(std::shared_ptr<const Source<T, SplitT>> source,
                                           const WatermarkStrategy<T>& strategy,
                                           const std::string& name);

  /// fromSource for any concrete source class (its OutputType and SplitType are deduced).
  template <typename S>
  requires requires {
    typename S::OutputType;
    typename S::SplitType;
  }
  SingleOutputStreamOperator<typename S::OutputType> fromSource(
      std::shared_ptr<S> source, const WatermarkStrategy<typename S::OutputType>& strategy,
      const std::string& name) {
    using T = typename S::OutputType;
    using SplitT = typename S::SplitType;
    return fromSource<T, SplitT>(std::shared_ptr<const Source<T, SplitT>>(std::move(source)),
                                 strategy, name);
  }
  template <typename S>
  requires requires {
    typename S::OutputType;
    typename S::SplitType;
  }
  SingleOutputStreamOperator<typename S::OutputType> fromSource(std::shared_ptr<S> source,
                                                                const std::string& name) {
    using T = typename S::OutputType;
    using SplitT = typename S::SplitType;
    return fromSource<T, SplitT>(std::shared_ptr<const Source<T, SplitT>>(std::move(source)), name);
  }

  /// The plan as JSON, as Flink's getExecutionPlan().
  std::string getExecutionPlan();
  /// Runs the job and waits for it, through the pipeline executor execution.target names
  /// (`local`: a MiniCluster in this process; cluster/pipeline_executor.h). Throws
  /// JobExecutionException naming the failing operator and subtask when it fails,
  /// ConfigurationException when the graph is invalid or execution.target unknown.
  JobExecutionResult execute(const std::string& jobName = "");
  /// Starts the job as execute() does and returns once it runs.
  std::unique_ptr<JobClient> executeAsync(const std::string& jobName = "");

  // ---- for the typed API ----------------------------------------------------------------
  /// One input of a new node: an upstream node and the partitioner of the edge (null: forward
  /// or rebalance, decided when parallelism is known).
  struct Upstream {
    int nodeId;
    std::shared_ptr<const StreamPartitioner> partitioner;
    std::string sideOutputTag = {};             ///< empty: the main output
    std::shared_ptr<const TypeInfo> type = {};  ///< record type of a side output
  };
  /// Adds `node` with edges from `inputs1` (input 0) and `inputs2` (input 1); returns its id.
  int addNode(StreamNode node, const std::vector<Upstream>& inputs1,
              const std::vector<Upstream>& inputs2 = {});
  StreamGraph& streamGraph() { return graph_; }
  /// `upstreams` with the key-group partitioner of `keySelector` (keyBy).
  template <typename T, typename KeySelector>
  std::vector<Upstream> keyedUpstreams(const std::vector<Upstream>& upstreams,
                                       const KeySelector& keySelector);

 private:
  /// A resolved copy of the graph and its job graph.
  JobGraph buildJobGraph(const std::string& jobName);

  Configuration configuration_;
  StreamGraph graph_;
  int parallelism_ = 1;
  int maxParallelism_ = -1;
  bool chainingEnabled_ = true;
  ExecutionOptions options_;
};

}  // namespace sluice

#include "sluice/api/data_stream.h"
