#include "sluice/connectors/nexmark_source.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "sluice/core/exceptions.h"

namespace sluice::nexmark {

NexmarkSource::NexmarkSource(int64_t numEvents, GeneratorConfig config, int numSplits)
    : numEvents_(numEvents),
      config_(std::make_shared<const GeneratorConfig>(std::move(config))),
      numSplits_(numSplits) {
  if (numEvents < 0) throw SluiceException("Nexmark: the number of events must not be negative");
  if (numSplits < 0) throw SluiceException("Nexmark: the number of splits must not be negative");
}

std::vector<NexmarkSplit> NexmarkSource::splits(int parallelism) const {
  int64_t n = numSplits_ > 0 ? numSplits_
                             : std::max<int64_t>({parallelism, 1,
                                                  (numEvents_ + kDefaultNexmarkSplitEvents - 1) /
                                                      kDefaultNexmarkSplitEvents});
  std::vector<NexmarkSplit> out;
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t size = numEvents_ / n + (i < numEvents_ % n ? 1 : 0);
    if (size == 0) continue;
    out.push_back({std::to_string(i), start, start + size - 1});
    start += size;
  }
  return out;
}

std::unique_ptr<SplitEnumerator<NexmarkSplit>> NexmarkSource::createEnumerator(
    SplitEnumeratorContext<NexmarkSplit>& context) const {
  return std::make_unique<StaticSplitEnumerator<NexmarkSplit>>(
      context, splits(context.currentParallelism()));
}

std::unique_ptr<SourceReader<Event, NexmarkSplit>> NexmarkSource::createReader(
    SourceReaderContext& context) const {
  auto emit = [config = config_](int64_t n, ReaderOutput<Event>& out) {
    Event event = generate(n, *config);
    Timestamp t = eventTime(event);
    out.collect(event, t);
  };
  return std::make_unique<RangeSplitReader<Event, NexmarkSplit, decltype(emit)>>(context, emit);
}

WatermarkStrategy<Event> nexmarkWatermarkStrategy() {
  return WatermarkStrategy<Event>::forBoundedOutOfOrderness(
             std::chrono::milliseconds(kNexmarkMaxOutOfOrdernessMs))
      .withTimestampAssigner([](const Event& e) { return eventTime(e); });
}

SingleOutputStreamOperator<Event> fromNexmark(StreamExecutionEnvironment& env, int64_t numEvents,
                                              const GeneratorConfig& config, int numSplits) {
  return env.fromSource<Event, NexmarkSplit>(
      std::make_shared<const NexmarkSource>(numEvents, config, numSplits),
      nexmarkWatermarkStrategy(), "Nexmark Source");
}

}  // namespace sluice::nexmark
