#include "sluice/api/sources.h"

namespace sluice {

std::unique_ptr<SplitEnumerator<NumberSequenceSplit>> NumberSequenceSource::createEnumerator(
    SplitEnumeratorContext<NumberSequenceSplit>& context) const {
  // One split per reader, sizes differing by at most one (Flink splits the range the same way).
  int n = context.currentParallelism();
  std::vector<NumberSequenceSplit> splits;
  __int128 total = static_cast<__int128>(to_) - from_ + 1;
  __int128 start = from_;
  for (int i = 0; i < n; ++i) {
    __int128 size = total / n + (i < total % n ? 1 : 0);
    if (size == 0) continue;
    splits.push_back(
        {std::to_string(i), static_cast<int64_t>(start), static_cast<int64_t>(start + size - 1)});
    start += size;
  }
  return std::make_unique<StaticSplitEnumerator<NumberSequenceSplit>>(context, std::move(splits));
}

std::unique_ptr<SourceReader<int64_t, NumberSequenceSplit>> NumberSequenceSource::createReader(
    SourceReaderContext& context) const {
  auto emit = [](int64_t i, ReaderOutput<int64_t>& out) { out.collect(i); };
  return std::make_unique<RangeSplitReader<int64_t, NumberSequenceSplit, decltype(emit)>>(context,
                                                                                          emit);
}

}  // namespace sluice
