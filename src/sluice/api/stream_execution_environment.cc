#include "sluice/api/stream_execution_environment.h"

#include "sluice/api/sources.h"
#include "sluice/checkpoint/checkpoint_storage.h"
#include "sluice/cluster/pipeline_executor.h"
#include "sluice/core/config_options.h"
#include "sluice/core/global_configuration.h"
#include "sluice/core/strings.h"
#include "sluice/state/key_groups.h"

namespace sluice {

std::unique_ptr<StreamExecutionEnvironment> StreamExecutionEnvironment::getExecutionEnvironment() {
  return getExecutionEnvironment(loadConfiguration());
}

std::unique_ptr<StreamExecutionEnvironment> StreamExecutionEnvironment::getExecutionEnvironment(
    const Configuration& configuration) {
  return std::make_unique<StreamExecutionEnvironment>(configuration);
}

StreamExecutionEnvironment::StreamExecutionEnvironment(const Configuration& configuration)
    : configuration_(configuration) {
  setParallelism(configuration_.get(kDefaultParallelism));
  setMaxParallelism(configuration_.get(kMaxParallelism));
  setBufferTimeout(effectiveBufferTimeoutMillis(configuration_));
  int64_t segment = configuration_.get(kMemorySegmentSize).bytes;
  if (segment < 64 || segment > (1 << 30)) {
    throw ConfigurationException(
        "taskmanager.memory.segment-size must be between 64 bytes and 1 gb");
  }
  options_.segmentSize = static_cast<uint32_t>(segment);
  setAutoWatermarkInterval(configuration_.get(kAutoWatermarkInterval).millis);
  options_.buffersPerChannel = configuration_.get(kNetworkBuffersPerChannel);
  options_.floatingBuffers = configuration_.get(kNetworkFloatingBuffersPerGate);
  if (options_.buffersPerChannel < 1 || options_.floatingBuffers < 0) {
    throw ConfigurationException(
        "taskmanager.network.memory.buffers-per-channel must be >= 1 and "
        "floating-buffers-per-gate >= 0");
  }
  options_.checkpointConfig = CheckpointConfig::fromConfiguration(configuration_);
  options_.checkpointingMode = options_.checkpointConfig.getCheckpointingMode();
  std::string restore = configuration_.get(kSavepointPath);
  if (!restore.empty()) {
    options_.restoreCheckpoint = std::make_shared<const CompletedCheckpoint>(
        FileCheckpointStorage::load(FileCheckpointStorage::resolveRestorePath(restore)));
  }
  options_.allowNonRestoredState = configuration_.get(kSavepointIgnoreUnclaimedState);
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setParallelism(int parallelism) {
  if (parallelism < 1) {
    throw ConfigurationException("parallelism must be at least 1, got " +
                                 std::to_string(parallelism));
  }
  parallelism_ = parallelism;
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setMaxParallelism(int maxParallelism) {
  if (maxParallelism != -1 &&
      (maxParallelism < 1 || maxParallelism > KeyGroupRangeAssignment::kUpperBoundMaxParallelism)) {
    throw ConfigurationException("max parallelism must be -1 or in [1, 32768], got " +
                                 std::to_string(maxParallelism));
  }
  maxParallelism_ = maxParallelism;
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setBufferTimeout(int64_t millis) {
  if (millis < -1) {
    throw ConfigurationException("buffer timeout must be >= -1 ms, got " + std::to_string(millis));
  }
  options_.bufferTimeoutMillis = millis;
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::disableOperatorChaining() {
  chainingEnabled_ = false;
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setClock(std::shared_ptr<Clock> clock) {
  options_.clock = std::move(clock);
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setAutoWatermarkInterval(int64_t millis) {
  if (millis < 0) {
    throw ConfigurationException("auto watermark interval must be >= 0 ms, got " +
                                 std::to_string(millis));
  }
  options_.autoWatermarkIntervalMillis = millis;
  return *this;
}

StreamExecutionEnvironment& StreamExecutionEnvironment::setSeed(uint64_t seed) {
  options_.seed = seed;
  return *this;
}

SingleOutputStreamOperator<int64_t> StreamExecutionEnvironment::fromSequence(int64_t from,
                                                                             int64_t to) {
  if (from > to) {
    throw SluiceException("fromSequence: start " + std::to_string(from) + " is after end " +
                          std::to_string(to));
  }
  return fromSource<int64_t, NumberSequenceSplit>(std::make_shared<NumberSequenceSource>(from, to),
                                                  "Sequence Source");
}

int StreamExecutionEnvironment::addNode(StreamNode node, const std::vector<Upstream>& inputs1,
                                        const std::vector<Upstream>& inputs2) {
  int id = graph_.addNode(std::move(node)).id;
  for (const auto& u : inputs1) {
    graph_.addEdge(StreamEdge{u.nodeId, id, 0, u.partitioner, u.sideOutputTag, u.type});
  }
  for (const auto& u : inputs2) {
    graph_.addEdge(StreamEdge{u.nodeId, id, 1, u.partitioner, u.sideOutputTag, u.type});
  }
  return id;
}

JobGraph StreamExecutionEnvironment::buildJobGraph(const std::string& jobName) {
  if (graph_.nodes().empty()) {
    throw SluiceException("No operators defined in streaming topology. Cannot execute.");
  }
  StreamGraph resolved = graph_;
  resolved.resolve(parallelism_, maxParallelism_);
  std::string name = jobName;
  if (name.empty()) name = configuration_.get(kPipelineName);
  if (name.empty()) name = "Sluice Streaming Job";
  return JobGraph::fromStreamGraph(std::move(resolved), name, chainingEnabled_);
}

std::string StreamExecutionEnvironment::getExecutionPlan() {
  StreamGraph resolved = graph_;
  resolved.resolve(parallelism_, maxParallelism_);
  return resolved.executionPlanJson();
}

JobExecutionResult StreamExecutionEnvironment::execute(const std::string& jobName) {
  return executeAsync(jobName)->getJobExecutionResult();
}

namespace {

// execution.runtime-mode: BATCH needs blocking exchanges and sorted keyed input, which Sluice
// does not have yet; running such a job in STREAMING mode silently would surprise whoever asked
// for BATCH, so it is refused. AUTOMATIC runs STREAMING (Flink would pick BATCH for bounded
// sources; the final results are the same).
// Throws ConfigurationException for BATCH (and, through get(), for a malformed value).
void checkRuntimeMode(const Configuration& config) {
  if (equalsIgnoreCaseAscii(config.get(kRuntimeMode), "BATCH")) {
    throw ConfigurationException(
        "execution.runtime-mode: BATCH is not supported yet: Sluice runs every job in STREAMING "
        "mode, bounded inputs included (with the same final results). Remove the setting or set "
        "it to STREAMING.");
  }
}

}  // namespace

std::unique_ptr<JobClient> StreamExecutionEnvironment::executeAsync(const std::string& jobName) {
  checkRuntimeMode(configuration_);
  std::unique_ptr<PipelineExecutor> executor =
      pipelineExecutorFor(configuration_.get(kExecutionTarget));
  options_.checkpointingMode = options_.checkpointConfig.getCheckpointingMode();
  ExecutionOptions options = options_;
  if (!options.restartStrategy) {
    // Validated now, so a malformed restart-strategy.* value fails the submission.
    bool checkpointing = options.checkpointConfig.isCheckpointingEnabled();
    RestartStrategy::fromConfiguration(configuration_, checkpointing);
    options.restartStrategy = [config = configuration_, checkpointing] {
      return RestartStrategy::fromConfiguration(config, checkpointing);
    };
  }
  return executor->execute(buildJobGraph(jobName), options, configuration_);
}

}  // namespace sluice
