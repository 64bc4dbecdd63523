// FileSource reader positions: a reader snapshotted after any number of polls (also inside a
// line longer than a poll, in plain and gzip files) plus a reader restored from the snapshot
// emit every line of the files exactly once, in order.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "connector_test_util.h"
#include "sluice/connectors/file_source.h"

namespace sluice {
namespace file_source_checkpoint_test {

struct LineOutput final : Output<std::string> {
  void collect(const std::string& value, Timestamp) override { lines.push_back(value); }
  void emitWatermark(Watermark) override {}
  void emitWatermarkStatus(bool) override {}
  std::vector<std::string> lines;
};

struct NoEnumerator final : SourceReaderContext {
  int getIndexOfSubtask() const override { return 0; }
  int currentParallelism() const override { return 1; }
  void sendSplitRequest() override {}
};

TEST(FileSourceReaderSnapshot, RestoredReaderEmitsExactlyTheRemainingLines) {
  testing::TempDir dir;
  std::mt19937 rng(4);
  std::string content;
  for (int i = 0; i < 3000; ++i) {
    // Mostly short lines, some far longer than a poll's 256 KiB byte budget, some CRLF.
    size_t len = (i % 700 == 5) ? 600'000 : rng() % 80;
    std::string line(len, static_cast<char>('a' + i % 26));
    content += std::to_string(i) + ":" + line + (i % 3 == 0 ? "\r\n" : "\n");
  }
  content += "last line without newline";
  testing::writeFile(dir / "plain.txt", content);
  testing::writeFile(dir / "packed.txt.gz", testing::gzipBytes(content));
  auto source = FileSource::forTextLines({dir.str()});
  std::vector<std::string> expected = testing::splitLines(content);
  for (auto& l : expected) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
  }

  for (const std::string file : {"packed.txt.gz", "plain.txt"}) {
    for (int polls : {0, 1, 2, 3, 5, 8, 13}) {
      NoEnumerator context;
      LineOutput before;
      ReaderOutput<std::string> out(&before);
      auto reader = source->createReader(context);
      reader->addSplits({FileSourceSplit{"0", (dir / file).string(), 0}});
      for (int i = 0; i < polls; ++i) reader->pollNext(out);
      auto splits = reader->snapshotState(1);
      reader->close();

      LineOutput after;
      ReaderOutput<std::string> out2(&after);
      auto restored = source->createReader(context);
      restored->addSplits(splits);
      restored->notifyNoMoreSplits();
      while (restored->pollNext(out2) != InputStatus::kEndOfInput) {
      }
      std::vector<std::string> all = before.lines;
      all.insert(all.end(), after.lines.begin(), after.lines.end());
      ASSERT_EQ(all.size(), expected.size()) << file << " after " << polls << " polls";
      EXPECT_TRUE(all == expected) << file << " after " << polls << " polls";
    }
  }
}

}  // namespace file_source_checkpoint_test
}  // namespace sluice
