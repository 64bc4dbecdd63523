#pragma once

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/window/window_assigners.h"
#include "sluice/window/window_operator.h"

namespace sluice {

/// Tumbling and sliding event-time windows with incremental aggregation, computed on slices
/// (panes; for tumbling windows a pane is the window): every
/// element is added to exactly one pane of gcd(size, slide) ms, and a firing window merges the
/// size/pane accumulators it covers. An element thus costs what it costs in a tumbling window,
/// instead of size/slide additions as in Flink's WindowOperator (the idea of Scotty's stream
/// slicing, Traub et al., 2019). Results equal WindowOperator's with the default
/// EventTimeTrigger, no evictor and no allowed lateness, the only configuration the API routes
/// here.
///
/// Per key, panes live in a key-grouped state table; one event-time timer per key points at the
/// next window to fire, and firing it drops the panes no later window needs and arms the next.
template <typename K, typename T, typename OUT, typename KeySelector, typename Contents,
          typename Emitter>
class SlicedWindowOperator final : public OneInputStreamOperator<T, OUT>,
                                   private WindowFireContext<K, TimeWindow> {
 public:
  using Acc = typename Contents::Acc;

  SlicedWindowOperator(int64_t size, int64_t slide, int64_t offset, std::string lateDataTag,
                       KeySelector keySelector, Contents contents, Emitter emitter)
      : size_(size),
        slide_(slide),
        offset_(offset),
        pane_(std::gcd(size, slide)),
        lateDataTag_(std::move(lateDataTag)),
        keySelector_(std::move(keySelector)),
        contentsPolicy_(std::move(contents)),
        emitter_(std::move(emitter)) {}

  void initializeState() override { initKeyedStateBackend(*this, keyContext_); }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void open() override {
    timers_ = std::make_unique<InternalTimerService<K, VoidNamespace>>(
        keyContext_, *this->context_.processingTimeService,
        [this](const auto& timer) { fire(timer.timestamp); }, [](const auto&) {}, "window-timers");
    collector_.setOutput(this->output_);
    if (!lateDataTag_.empty()) {
      auto it = this->context_.sideOutputs.find(lateDataTag_);
      if (it != this->context_.sideOutputs.end()) lateOutput_ = static_cast<Output<T>*>(it->second);
    }
    callUserFunction(*this, [&] { emitter_.open(this->getRuntimeContext()); });
  }
  void close() override { emitter_.close(); }

  void collect(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processElement(const T& value, Timestamp timestamp) final { process(value, timestamp); }
  void processWatermark(Watermark watermark) override {
    timers_->advanceWatermark(watermark.timestamp);
    this->output_->emitWatermark(watermark);
  }

 private:
  void process(const T& value, Timestamp timestamp) {
    detail::checkTimestamp(timestamp);
    Timestamp watermark = timers_->currentWatermark();
    // The last window containing the element ends at lastStart + size; if that one already
    // fired, every window of the element did: the element is late.
    Timestamp lastStart = TimeWindow::getWindowStartWithOffset(timestamp, offset_, slide_);
    // With size < slide an element may fall between windows: it belongs to none and is dropped,
    // unless it is late (as Flink's WindowOperator: skipped and late → late side output).
    bool inNoWindow = timestamp >= lastStart + size_;
    if (inNoWindow || lastStart + size_ - 1 <= watermark) {
      if (lateOutput_ != nullptr && timestamp <= watermark) lateOutput_->collect(value, timestamp);
      return;
    }
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector_(value); }));
    Timestamp paneStart = TimeWindow::getWindowStartWithOffset(timestamp, offset_, pane_);
    bool fresh = false;
    Acc& acc = panes_.getOrCreate(paneStart, [&] {
      fresh = true;
      return contentsPolicy_.create();
    });
    callUserFunction(*this, [&] { contentsPolicy_.add(acc, value, timestamp); });
    if (fresh) {
      // The earliest window of the pane that has not fired yet.
      Timestamp start = firstWindowStartCovering(paneStart);
      while (start + size_ - 1 <= watermark) start += slide_;
      timers_->registerEventTimeTimer(VoidNamespace{}, start + size_ - 1);
    }
  }

  /// Start of the earliest window (on the slide grid) that contains [paneStart, paneStart+pane).
  Timestamp firstWindowStartCovering(Timestamp paneStart) const {
    Timestamp lastStart = TimeWindow::getWindowStartWithOffset(paneStart, offset_, slide_);
    int64_t back = (size_ - 1) / slide_;
    Timestamp start = lastStart - back * slide_;
    while (start + size_ <= paneStart) start += slide_;
    return start;
  }

  void fire(Timestamp time) {
    TimeWindow window{time + 1 - size_, time + 1};
    // Merge the window's panes, oldest first.
    std::optional<Acc> merged;
    collectPanes(window);
    for (auto& [start, acc] : scratch_) {
      if (!merged) {
        merged.emplace(contentsPolicy_.create());
      }
      Acc copy = *acc;
      callUserFunction(*this, [&] { contentsPolicy_.merge(*merged, std::move(copy)); });
    }
    if (merged) {
      fireWindow_ = window;
      windowState_.setNamespace(window);
      collector_.setTimestamp(window.maxTimestamp());
      callUserFunction(*this, [&] { emitter_.emit(fireContext(), *merged, collector_); });
      callUserFunction(*this, [&] { emitter_.clear(fireContext()); });
      windowState_.clearNamespace();
    }
    // Panes before the next window's start are no longer needed.
    Timestamp nextStart = window.start + slide_;
    Timestamp earliestLeft = std::numeric_limits<Timestamp>::max();
    for (Timestamp p : allPaneStarts()) {
      if (p < nextStart) {
        panes_.remove(p);
      } else {
        earliestLeft = std::min(earliestLeft, p);
      }
    }
    if (earliestLeft != std::numeric_limits<Timestamp>::max()) {
      Timestamp start = std::max(nextStart, firstWindowStartCovering(earliestLeft));
      timers_->registerEventTimeTimer(VoidNamespace{}, start + size_ - 1);
    }
  }

  void collectPanes(const TimeWindow& window) {
    scratch_.clear();
    for (Timestamp p = window.start; p < window.end; p += pane_) {
      if (Acc* acc = panes_.get(p)) scratch_.emplace_back(p, acc);
    }
  }
  std::vector<Timestamp> allPaneStarts() {
    // Panes of the current key: at most size/pane + (watermark lag)/pane; probe the range around
    // the windows still open.
    std::vector<Timestamp> out;
    panes_.forEachNamespace([&](Timestamp p) { out.push_back(p); });
    return out;
  }

  // WindowFireContext
  WindowFireContext<K, TimeWindow>& fireContext() { return *this; }
  const TimeWindow& window() const override { return fireWindow_; }
  const K& key() const override { return keyContext_.currentKey(); }
  Timestamp currentProcessingTime() const override { return timers_->currentProcessingTime(); }
  Timestamp currentWatermark() const override { return timers_->currentWatermark(); }
  KeyedStateStore<K, TimeWindow>& windowState() override { return windowState_; }
  KeyedStateStore<K, VoidNamespace>& globalState() override { return globalState_; }
  OutputBase* sideOutput(const std::string& tagId) override {
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : it->second;
  }

  int64_t size_;
  int64_t slide_;
  int64_t offset_;
  int64_t pane_;
  std::string lateDataTag_;
  KeySelector keySelector_;
  Contents contentsPolicy_;
  Emitter emitter_;

  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateTable<K, Timestamp, Acc> panes_{keyContext_, "window-panes"};
  KeyedStateStore<K, TimeWindow> windowState_{keyContext_, "window-state/"};
  KeyedStateStore<K, VoidNamespace> globalState_{keyContext_, "global-state/"};
  std::unique_ptr<InternalTimerService<K, VoidNamespace>> timers_;
  std::vector<std::pair<Timestamp, Acc*>> scratch_;
  TimeWindow fireWindow_{};
  Collector<OUT> collector_;
  Output<T>* lateOutput_ = nullptr;
};

}  // namespace sluice
