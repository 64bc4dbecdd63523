// Source readers' checkpoint positions: a reader snapshotted mid-split and a new reader given
// the snapshot's splits together emit every record exactly once, also when the snapshot's
// splits are redistributed over another number of readers (operator state even split).

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "sluice/api/sources.h"
#include "sluice/state/operator_state.h"

namespace sluice {
namespace source_checkpoint_test {

struct VectorOutput final : Output<int64_t> {
  void collect(const int64_t& value, Timestamp) override { values.push_back(value); }
  void emitWatermark(Watermark) override {}
  void emitWatermarkStatus(bool) override {}
  std::vector<int64_t> values;
};

/// A reader context with no enumerator: splits come only from the test.
struct NoEnumerator final : SourceReaderContext {
  int getIndexOfSubtask() const override { return 0; }
  int currentParallelism() const override { return 1; }
  void sendSplitRequest() override { ++requests; }
  int requests = 0;
};

/// Polls until the reader has nothing more to emit now.
void drain(SourceReader<int64_t, NumberSequenceSplit>& reader, ReaderOutput<int64_t>& out) {
  while (reader.pollNext(out) == InputStatus::kMoreAvailable) {
  }
}

TEST(SourceReaderSnapshot, RestoredReadersEmitExactlyTheRest) {
  NumberSequenceSource source(0, 49'999);
  for (int polls : {0, 1, 3, 7, 13}) {
    for (int newReaders : {1, 2, 3}) {
      NoEnumerator context;
      VectorOutput before;
      ReaderOutput<int64_t> out(&before);
      auto reader = source.createReader(context);
      reader->addSplits(
          {NumberSequenceSplit{"0", 0, 19'999}, NumberSequenceSplit{"1", 20'000, 49'999}});
      for (int i = 0; i < polls; ++i) reader->pollNext(out);
      std::vector<NumberSequenceSplit> splits = reader->snapshotState(1);

      // Through operator state, as the source operator stores them, split over new readers.
      OperatorStateStore store;
      store.getListState(ListStateDescriptor<NumberSequenceSplit>("SourceReaderState"))
          .update(splits);
      auto parts = redistributeOperatorState({store.snapshot()}, newReaders);
      std::vector<int64_t> all = before.values;
      for (const auto& part : parts) {
        OperatorStateStore restored;
        restored.restore(part);
        NoEnumerator c;
        VectorOutput after;
        ReaderOutput<int64_t> o(&after);
        auto r = source.createReader(c);
        r->addSplits(
            restored.getListState(ListStateDescriptor<NumberSequenceSplit>("SourceReaderState"))
                .get()
                .toVector());
        drain(*r, o);
        all.insert(all.end(), after.values.begin(), after.values.end());
      }
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), 50'000u) << polls << " polls, " << newReaders << " readers";
      for (int64_t i = 0; i < 50'000; ++i) ASSERT_EQ(all[static_cast<size_t>(i)], i);
    }
  }
}

TEST(SourceReaderSnapshot, ReadersWithoutSnapshotSupportSayTheyCannotCheckpoint) {
  struct Plain final : SourceReader<int64_t, NumberSequenceSplit> {
    InputStatus pollNext(ReaderOutput<int64_t>&) override { return InputStatus::kEndOfInput; }
    void addSplits(std::vector<NumberSequenceSplit>) override {}
    void notifyNoMoreSplits() override {}
  } plain;
  EXPECT_THROW(plain.snapshotState(1), SluiceException);
}

}  // namespace source_checkpoint_test
}  // namespace sluice
