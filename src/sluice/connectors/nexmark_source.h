#pragma once

// The Nexmark split-based source: the events with numbers [0, numEvents),
// split into disjoint contiguous ranges that readers generate in order with the stateless
// sluice::nexmark::generate. Modelled on NumberSequenceSource (sources.h): a StaticSplitEnumerator
// hands out the ranges, RangeSplitReader emits them and snapshots the unfinished ranges advanced
// past the emitted events, so a restored job emits every event exactly once.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/api/common/watermark_strategy.h"
#include "sluice/api/data_stream.h"
#include "sluice/api/sources.h"
#include "sluice/api/stream_execution_environment.h"
#include "sluice/connectors/nexmark_generator.h"
#include "sluice/core/variant_serializer.h"
#include "sluice/runtime/source_operator.h"

namespace sluice::nexmark {

/// A split of the Nexmark event numbers: `from` to `to`, inclusive.
struct NexmarkSplit {
  std::string splitId;
  int64_t from = 0;
  int64_t to = -1;
};

/// Events per split when the split count is not configured: 1 s of event time at the default
/// rate, so that readers taking the next range on request stay close on the event-time
/// timeline (contiguous halves would put reader 1's events a whole run ahead of reader 0's,
/// holding every window of the second half in state until the first half is done).
inline constexpr int64_t kDefaultNexmarkSplitEvents = 10'000;

/// The Nexmark events with numbers [0, numEvents), each generate(n, config), split into
/// `numSplits` disjoint contiguous ranges whose sizes differ by at most one (0: ranges of about
/// kDefaultNexmarkSplitEvents, at least one per reader subtask). Readers ask for the next range
/// when done, in event-number order, and emit each in order, every event with timestamp
/// eventTime(event). Bounded. Thread-safe (immutable after construction).
class NexmarkSource final : public Source<Event, NexmarkSplit> {
 public:
  /// Throws SluiceException when numEvents < 0 or numSplits < 0.
  NexmarkSource(int64_t numEvents, GeneratorConfig config, int numSplits = 0);
  Boundedness getBoundedness() const override { return Boundedness::kBounded; }
  std::unique_ptr<SplitEnumerator<NexmarkSplit>> createEnumerator(
      SplitEnumeratorContext<NexmarkSplit>& context) const override;
  std::unique_ptr<SourceReader<Event, NexmarkSplit>> createReader(
      SourceReaderContext& context) const override;

  /// The splits for `parallelism` readers (numSplits when configured, else
  /// max(parallelism, ceil(numEvents / kDefaultNexmarkSplitEvents))): [0, numEvents) in
  /// contiguous ranges in order, sizes differing by at most one, empty ranges left out.
  std::vector<NexmarkSplit> splits(int parallelism) const;
  int64_t numEvents() const { return numEvents_; }
  const GeneratorConfig& config() const { return *config_; }

 private:
  int64_t numEvents_;
  std::shared_ptr<const GeneratorConfig> config_;
  int numSplits_;
};

/// Maximum out-of-orderness of the Nexmark watermarks (the reference DDL's
/// `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`).
inline constexpr int64_t kNexmarkMaxOutOfOrdernessMs = 4000;

/// The watermark strategy of the Nexmark streams: timestamps = eventTime(event), bounded
/// out-of-orderness of 4 s.
WatermarkStrategy<Event> nexmarkWatermarkStrategy();

/// `env.fromSource(NexmarkSource(numEvents, config, numSplits), nexmarkWatermarkStrategy(),
/// "Nexmark Source")`. Throws as NexmarkSource. Not thread-safe (program construction).
SingleOutputStreamOperator<Event> fromNexmark(StreamExecutionEnvironment& env, int64_t numEvents,
                                              const GeneratorConfig& config = GeneratorConfig(),
                                              int numSplits = 0);

}  // namespace sluice::nexmark
