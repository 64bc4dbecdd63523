#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/runtime/source_operator.h"

namespace sluice {

/// Hands out a fixed list of splits on request, one per request, then signals the end (Flink's
/// IteratorSourceEnumerator).
template <typename SplitT>
class StaticSplitEnumerator final : public SplitEnumerator<SplitT> {
 public:
  StaticSplitEnumerator(SplitEnumeratorContext<SplitT>& context, std::vector<SplitT> splits)
      : context_(context), remaining_(splits.begin(), splits.end()) {}
  void handleSplitRequest(int subtask) override {
    if (remaining_.empty()) {
      context_.signalNoMoreSplits(subtask);
      return;
    }
    context_.assignSplit(std::move(remaining_.front()), subtask);
    remaining_.pop_front();
  }
  std::vector<SplitT> snapshotState(int64_t) override {
    std::vector<SplitT> out;
    for (const SplitT& s : remaining_) out.push_back(s);
    return out;
  }
  void restoreState(std::vector<SplitT> remaining) override {
    remaining_.assign(remaining.begin(), remaining.end());
  }

 private:
  SplitEnumeratorContext<SplitT>& context_;
  std::deque<SplitT> remaining_;
};

/// A reader over splits that are ranges [from, to] of positions: asks for a split, emits its
/// positions in batches of kBatch, asks for the next (Flink's IteratorSourceReader).
/// `Emit(position, output)` emits the record at a position.
template <typename T, typename SplitT, typename Emit>
class RangeSplitReader final : public SourceReader<T, SplitT> {
 public:
  static constexpr int64_t kBatch = 4096;
  RangeSplitReader(SourceReaderContext& context, Emit emit)
      : context_(context), emit_(std::move(emit)) {}

  void start() override { requestSplit(); }
  InputStatus pollNext(ReaderOutput<T>& output) override {
    while (true) {
      if (current_ && next_ <= current_->to) {
        int64_t end = std::min(current_->to, next_ + kBatch - 1);
        for (int64_t i = next_; i <= end; ++i) emit_(i, output);
        next_ = end + 1;
        return InputStatus::kMoreAvailable;
      }
      current_.reset();
      if (!pending_.empty()) {
        current_ = std::move(pending_.front());
        pending_.pop_front();
        next_ = current_->from;
        continue;
      }
      if (noMoreSplits_) return InputStatus::kEndOfInput;
      if (!requested_) requestSplit();
      return InputStatus::kNothingAvailable;
    }
  }
  void addSplits(std::vector<SplitT> splits) override {
    for (auto& s : splits) pending_.push_back(std::move(s));
    requested_ = false;
  }
  void notifyNoMoreSplits() override { noMoreSplits_ = true; }
  /// The rest of the current split (from the next position) and the pending ones.
  std::vector<SplitT> snapshotState(int64_t) override {
    std::vector<SplitT> out;
    if (current_ && next_ <= current_->to) {
      SplitT rest = *current_;
      rest.from = next_;
      out.push_back(std::move(rest));
    }
    for (const SplitT& s : pending_) out.push_back(s);
    return out;
  }

 private:
  void requestSplit() {
    requested_ = true;
    context_.sendSplitRequest();
  }
  SourceReaderContext& context_;
  Emit emit_;
  std::deque<SplitT> pending_;
  std::optional<SplitT> current_;
  int64_t next_ = 0;
  bool requested_ = false;
  bool noMoreSplits_ = false;
};

/// A split of a number sequence: the numbers from `from` to `to`, inclusive.
struct NumberSequenceSplit {
  std::string splitId;
  int64_t from = 0;
  int64_t to = -1;
};

/// The numbers from `from` to `to` inclusive, split into one range per reader subtask
/// (Flink's NumberSequenceSource).
class NumberSequenceSource final : public Source<int64_t, NumberSequenceSplit> {
 public:
  NumberSequenceSource(int64_t from, int64_t to) : from_(from), to_(to) {}
  Boundedness getBoundedness() const override { return Boundedness::kBounded; }
  std::unique_ptr<SplitEnumerator<NumberSequenceSplit>> createEnumerator(
      SplitEnumeratorContext<NumberSequenceSplit>& context) const override;
  std::unique_ptr<SourceReader<int64_t, NumberSequenceSplit>> createReader(
      SourceReaderContext& context) const override;

 private:
  int64_t from_;
  int64_t to_;
};

/// A split of a collection: positions `from` to `to`, inclusive.
struct CollectionSplit {
  int64_t from = 0;
  int64_t to = -1;
};

/// The elements of a collection, in order, from one reader (fromElements/fromCollection).
template <typename T>
class CollectionSource final : public Source<T, CollectionSplit> {
 public:
  explicit CollectionSource(std::vector<T> elements)
      : elements_(std::make_shared<const std::vector<T>>(std::move(elements))) {}
  Boundedness getBoundedness() const override { return Boundedness::kBounded; }
  std::unique_ptr<SplitEnumerator<CollectionSplit>> createEnumerator(
      SplitEnumeratorContext<CollectionSplit>& context) const override {
    std::vector<CollectionSplit> splits;
    if (!elements_->empty()) splits.push_back({0, static_cast<int64_t>(elements_->size()) - 1});
    return std::make_unique<StaticSplitEnumerator<CollectionSplit>>(context, std::move(splits));
  }
  std::unique_ptr<SourceReader<T, CollectionSplit>> createReader(
      SourceReaderContext& context) const override {
    auto emit = [elements = elements_](int64_t i, ReaderOutput<T>& out) {
      out.collect((*elements)[static_cast<size_t>(i)]);
    };
    return std::make_unique<RangeSplitReader<T, CollectionSplit, decltype(emit)>>(context, emit);
  }

 private:
  std::shared_ptr<const std::vector<T>> elements_;
};

}  // namespace sluice
