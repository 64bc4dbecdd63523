#pragma once

// A source whose records a test makes up in a function.

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "sluice/api/common/source.h"

namespace sluice::testing {

/// One split per subtask, named by the subtask index.
struct SubtaskSplit {
  int subtask = 0;
};

/// A source whose readers call `poll(output, subtaskIndex)`; for tests that need control over
/// what and when a source emits.
template <typename T>
class FunctionSource final : public Source<T, SubtaskSplit> {
 public:
  using Poll = std::function<InputStatus(ReaderOutput<T>&, int subtask)>;
  explicit FunctionSource(Poll poll, Boundedness boundedness = Boundedness::kBounded)
      : poll_(std::move(poll)), boundedness_(boundedness) {}
  Boundedness getBoundedness() const override { return boundedness_; }
  std::unique_ptr<SplitEnumerator<SubtaskSplit>> createEnumerator(
      SplitEnumeratorContext<SubtaskSplit>& context) const override {
    return std::make_unique<Enumerator>(context);
  }
  std::unique_ptr<SourceReader<T, SubtaskSplit>> createReader(
      SourceReaderContext& context) const override {
    return std::make_unique<Reader>(poll_, context.getIndexOfSubtask());
  }

 private:
  struct Enumerator final : SplitEnumerator<SubtaskSplit> {
    explicit Enumerator(SplitEnumeratorContext<SubtaskSplit>& c) : context(c) {}
    void handleSplitRequest(int) override {}
    void addReader(int) override {}
    // Checkpointable, with nothing to remember: every reader makes up its own records.
    std::vector<SubtaskSplit> snapshotState(int64_t) override { return {}; }
    void restoreState(std::vector<SubtaskSplit>) override {}
    SplitEnumeratorContext<SubtaskSplit>& context;
  };
  struct Reader final : SourceReader<T, SubtaskSplit> {
    Reader(Poll p, int s) : poll(std::move(p)), subtask(s) {}
    InputStatus pollNext(ReaderOutput<T>& out) override { return poll(out, subtask); }
    void addSplits(std::vector<SubtaskSplit>) override {}
    void notifyNoMoreSplits() override {}
    std::vector<SubtaskSplit> snapshotState(int64_t) override { return {}; }
    Poll poll;
    int subtask;
  };
  Poll poll_;
  Boundedness boundedness_;
};

}  // namespace sluice::testing
