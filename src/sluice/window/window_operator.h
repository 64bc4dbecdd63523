#pragma once

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/runtime/internal_timer_service.h"
#include "sluice/runtime/stream_operator.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/window/evictors.h"
#include "sluice/window/window_assigners.h"
#include "sluice/window/window_functions.h"

namespace sluice {

/// Settings of a window operator that do not depend on its function.
template <typename T, typename W>
struct WindowSpec {
  std::shared_ptr<const WindowAssigner<T, W>> assigner;
  std::shared_ptr<const Trigger<T, W>> trigger;  ///< null: the assigner's default
  std::shared_ptr<Evictor<T, W>> evictor;        ///< null: none
  int64_t allowedLatenessMillis = 0;
  std::string lateDataTag;  ///< non-empty: side output of late elements
};

/// What a window's emitter sees when a window fires (implements the ProcessWindowFunction
/// context).
template <typename K, typename W>
class WindowFireContext : public ProcessWindowContext<K, W> {
 public:
  virtual const K& key() const = 0;
};

/// Keeps a window's contents and emits results when it fires (Flink's WindowOperator, and
/// EvictingWindowOperator when Contents keeps timestamped elements for an evictor).
///
/// `Contents` is the state per window: `using Acc`, `Acc create()`, `add(Acc&, const T&,
/// Timestamp)`, `merge(Acc& into, Acc&& from)`, optionally `bool isEmpty(const Acc&)` (contents
/// that a firing left empty are dropped). `Emitter` turns contents into output:
/// `emit(WindowFireContext&, Acc&, Collector<OUT>&)`, `open(RuntimeContext&)`, `close()`,
/// `clear(ProcessWindowContext&)`. Contents, trigger state, timers and the per-window state of
/// process functions live in keyed state tables, partitioned by key group.
template <typename K, typename T, typename OUT, typename W, typename KeySelector, typename Contents,
          typename Emitter>
class WindowOperator final : public OneInputStreamOperator<T, OUT>,
                             private OnMergeContext,
                             private WindowFireContext<K, W> {
 public:
  using Acc = typename Contents::Acc;

  WindowOperator(WindowSpec<T, W> spec, KeySelector keySelector, Contents contents, Emitter emitter)
      : spec_(std::move(spec)),
        keySelector_(std::move(keySelector)),
        contentsPolicy_(std::move(contents)),
        emitter_(std::move(emitter)) {
    trigger_ = spec_.trigger ? spec_.trigger->clone() : spec_.assigner->getDefaultTrigger();
    eventTime_ = spec_.assigner->isEventTime();
    merging_ = spec_.assigner->isMerging();
    if (merging_ && !trigger_->canMerge()) {
      throw ConfigurationException("the trigger cannot be used with merging (session) windows");
    }
  }

  void initializeState() override { initKeyedStateBackend(*this, keyContext_); }
  KeyedStateBackendBase* keyedStateBackend() override { return &keyContext_; }
  void open() override {
    timers_ = std::make_unique<InternalTimerService<K, W>>(
        keyContext_, *this->context_.processingTimeService,
        [this](const auto& timer) { onTimer(timer.timestamp, timer.ns, true); },
        [this](const auto& timer) { onTimer(timer.timestamp, timer.ns, false); }, "window-timers");
    collector_.setOutput(this->output_);
    if (!spec_.lateDataTag.empty()) {
      auto it = this->context_.sideOutputs.find(spec_.lateDataTag);
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

  /// Late elements dropped because no late-data side output is configured (Flink's
  /// numLateRecordsDropped metric).
  int64_t numLateRecordsDropped() const { return lateDropped_; }

 private:
  using Mapping = std::vector<std::pair<W, W>>;  // actual window -> state window (sessions)

  void process(const T& value, Timestamp timestamp) {
    windows_.clear();
    callUserFunction(*this, [&] {
      // Event-time assigners do not need the clock: do not read it per record.
      spec_.assigner->assignWindows(value, timestamp,
                                    eventTime_ ? 0 : timers_->currentProcessingTime(), windows_);
    });
    keyContext_.setCurrentKey(
        callUserFunction(*this, [&]() -> decltype(auto) { return keySelector_(value); }));
    bool skipped = true;
    if (merging_) {
      for (const W& window : windows_) {
        Mapping& mapping = mappings_.getOrCreate(VoidNamespace{}, [] { return Mapping{}; });
        W actual = addToMergingSet(mapping, window);
        Mapping& m = *mappings_.get(VoidNamespace{});
        if (isWindowLate(actual)) {
          std::erase_if(m, [&](const auto& e) { return e.first == actual; });
          if (m.empty()) mappings_.remove(VoidNamespace{});
          continue;
        }
        skipped = false;
        W stateWindow = stateWindowOf(m, actual);
        addAndTrigger(value, timestamp, actual, stateWindow);
      }
    } else {
      for (const W& window : windows_) {
        if (isWindowLate(window)) continue;
        skipped = false;
        addAndTrigger(value, timestamp, window, window);
      }
    }
    if (skipped && isElementLate(timestamp)) {
      if (lateOutput_ != nullptr) {
        lateOutput_->collect(value, timestamp);
      } else {
        ++lateDropped_;
      }
    }
  }

  void addAndTrigger(const T& value, Timestamp timestamp, const W& window, const W& stateWindow) {
    Acc& acc = contents_.getOrCreate(stateWindow, [this] { return contentsPolicy_.create(); });
    callUserFunction(*this, [&] { contentsPolicy_.add(acc, value, timestamp); });
    currentWindow_ = window;
    TriggerResult r = callUserFunction(
        *this, [&] { return trigger_->onElement(value, timestamp, window, *this); });
    if (isFire(r)) fire(window, stateWindow);
    if (isPurge(r)) contents_.remove(stateWindow);
    registerCleanupTimer(window);
  }

  void onTimer(Timestamp time, const W& window, bool eventTime) {
    W stateWindow = window;
    if (merging_) {
      Mapping* m = mappings_.get(VoidNamespace{});
      if (m == nullptr) return;
      auto it =
          std::find_if(m->begin(), m->end(), [&](const auto& e) { return e.first == window; });
      if (it == m->end()) return;  // merged away
      stateWindow = it->second;
    }
    currentWindow_ = window;
    TriggerResult r = callUserFunction(*this, [&] {
      return eventTime ? trigger_->onEventTime(time, window, *this)
                       : trigger_->onProcessingTime(time, window, *this);
    });
    if (isFire(r)) fire(window, stateWindow);
    if (isPurge(r)) contents_.remove(stateWindow);
    if (eventTime == eventTime_ && isCleanupTime(window, time)) clearAllState(window, stateWindow);
  }

  void fire(const W& window, const W& stateWindow) {
    Acc* contents = contents_.get(stateWindow);
    if (contents == nullptr) return;
    emit(window, *contents);
    // An evictor that removed every element leaves the window without contents, and the next
    // firing emits nothing (as Flink's EvictingWindowOperator, whose empty list state is null).
    if constexpr (requires(const Contents& c, const Acc& a) { c.isEmpty(a); }) {
      contents = contents_.get(stateWindow);
      if (contents != nullptr && contentsPolicy_.isEmpty(*contents)) contents_.remove(stateWindow);
    }
  }

  void emit(const W& window, Acc& contents) {
    fireWindow_ = &window;
    windowState_.setNamespace(window);
    collector_.setTimestamp(window.maxTimestamp());
    callUserFunction(*this, [&] { emitter_.emit(fireContext(), contents, collector_); });
  }

  void clearAllState(const W& window, const W& stateWindow) {
    contents_.remove(stateWindow);
    currentWindow_ = window;
    callUserFunction(*this, [&] { trigger_->clear(window, *this); });
    fireWindow_ = &window;
    windowState_.setNamespace(window);
    callUserFunction(*this, [&] { emitter_.clear(fireContext()); });
    windowState_.clearNamespace();
    triggerState_.remove(window);
    if (merging_) {
      if (Mapping* m = mappings_.get(VoidNamespace{})) {
        std::erase_if(*m, [&](const auto& e) { return e.first == window; });
        if (m->empty()) mappings_.remove(VoidNamespace{});
      }
    }
  }

  // ---- merging windows (Flink's MergingWindowSet) ------------------------------------------
  static W stateWindowOf(const Mapping& m, const W& window) {
    for (const auto& [actual, state] : m) {
      if (actual == window) return state;
    }
    return window;
  }

  /// Adds `newWindow` to the key's windows, merging as the assigner says; returns the window
  /// the new one ended up in.
  W addToMergingSet(Mapping& mappingRef, const W& newWindow) {
    std::vector<W> all;
    for (const auto& e : mappingRef) all.push_back(e.first);
    all.push_back(newWindow);
    std::vector<std::pair<std::vector<W>, W>> merges;
    spec_.assigner->mergeWindows(all, [&](const std::vector<W>& group, const W& result) {
      merges.emplace_back(group, result);
    });

    W resultWindow = newWindow;
    bool mergedNew = false;
    for (auto& [group, result] : merges) {
      Mapping& mapping = *mappings_.get(VoidNamespace{});
      bool containsNew = std::find(group.begin(), group.end(), newWindow) != group.end();
      if (containsNew) {
        mergedNew = true;
        resultWindow = result;
      }
      // The state window of the first merged window already in the set survives.
      std::optional<W> stateResult;
      std::vector<W> mergedWindows;
      std::vector<W> mergedStateWindows;
      for (const W& w : group) {
        auto it = std::find_if(mapping.begin(), mapping.end(),
                               [&](const auto& e) { return e.first == w; });
        if (it == mapping.end()) continue;  // the new window
        if (!stateResult) {
          stateResult = it->second;
        } else {
          mergedStateWindows.push_back(it->second);
        }
        if (!(w == result)) mergedWindows.push_back(w);
        mapping.erase(it);
      }
      if (!stateResult) stateResult = result;
      mapping.emplace_back(result, *stateResult);
      // A new window inside (or equal to) an existing one changes nothing: no merge, so the
      // trigger sees no onMerge (as Flink's MergingWindowSet).
      if (!mergedWindows.empty()) {
        mergeWindows(result, mergedWindows, *stateResult, mergedStateWindows);
      }
    }
    if (!mergedNew) mappings_.get(VoidNamespace{})->emplace_back(newWindow, newWindow);
    return resultWindow;
  }

  void mergeWindows(const W& result, const std::vector<W>& mergedWindows, const W& stateResult,
                    const std::vector<W>& mergedStateWindows) {
    if (eventTime_ && cleanupTime(result) <= timers_->currentWatermark()) {
      throw SluiceException(
          "The end timestamp of an event-time window cannot become earlier than the current "
          "watermark by merging. Current watermark: " +
          std::to_string(timers_->currentWatermark()) + " window: " + result.toString());
    }
    currentWindow_ = result;
    mergedWindows_ = &mergedWindows;
    callUserFunction(*this, [&] { trigger_->onMerge(result, *this); });
    mergedWindows_ = nullptr;
    for (const W& m : mergedWindows) {
      currentWindow_ = m;
      callUserFunction(*this, [&] { trigger_->clear(m, *this); });
      triggerState_.remove(m);
      deleteCleanupTimer(m);
    }
    for (const W& s : mergedStateWindows) {
      if (auto from = contents_.remove(s)) {
        // Re-fetched after each removal: removing may move entries of the key's table.
        Acc& into = contents_.getOrCreate(stateResult, [this] { return contentsPolicy_.create(); });
        callUserFunction(*this, [&] { contentsPolicy_.merge(into, std::move(*from)); });
      }
    }
  }

  // ---- lateness and cleanup -----------------------------------------------------------------
  Timestamp cleanupTime(const W& window) const {
    if (!eventTime_) return window.maxTimestamp();
    Timestamp end = window.maxTimestamp();
    if (end > std::numeric_limits<Timestamp>::max() - spec_.allowedLatenessMillis) {
      return std::numeric_limits<Timestamp>::max();
    }
    return end + spec_.allowedLatenessMillis;
  }
  bool isCleanupTime(const W& window, Timestamp time) const {
    Timestamp c = cleanupTime(window);
    return time == c && c != std::numeric_limits<Timestamp>::max();
  }
  bool isWindowLate(const W& window) const {
    return eventTime_ && cleanupTime(window) <= timers_->currentWatermark();
  }
  bool isElementLate(Timestamp timestamp) const {
    return eventTime_ && timestamp != kNoTimestamp &&
           timestamp + spec_.allowedLatenessMillis <= timers_->currentWatermark();
  }
  void registerCleanupTimer(const W& window) {
    Timestamp c = cleanupTime(window);
    if (c == std::numeric_limits<Timestamp>::max()) return;
    if (eventTime_) {
      timers_->registerEventTimeTimer(window, c);
    } else {
      timers_->registerProcessingTimeTimer(window, c);
    }
  }
  void deleteCleanupTimer(const W& window) {
    Timestamp c = cleanupTime(window);
    if (c == std::numeric_limits<Timestamp>::max()) return;
    if (eventTime_) {
      timers_->deleteEventTimeTimer(window, c);
    } else {
      timers_->deleteProcessingTimeTimer(window, c);
    }
  }

  // ---- TriggerContext / OnMergeContext (for currentWindow_) ---------------------------------
  using TriggerState = std::vector<std::pair<std::string, int64_t>>;
  const TriggerState& triggerStateOf(const W& window) {
    static const TriggerState kEmpty;
    TriggerState* s = triggerState_.get(window);
    return s ? *s : kEmpty;
  }
  Timestamp getCurrentProcessingTime() const override { return timers_->currentProcessingTime(); }
  Timestamp getCurrentWatermark() const override { return timers_->currentWatermark(); }
  void registerProcessingTimeTimer(Timestamp time) override {
    timers_->registerProcessingTimeTimer(currentWindow_, time);
  }
  void registerEventTimeTimer(Timestamp time) override {
    timers_->registerEventTimeTimer(currentWindow_, time);
  }
  void deleteProcessingTimeTimer(Timestamp time) override {
    timers_->deleteProcessingTimeTimer(currentWindow_, time);
  }
  void deleteEventTimeTimer(Timestamp time) override {
    timers_->deleteEventTimeTimer(currentWindow_, time);
  }
  std::optional<int64_t> getState(const std::string& name) override {
    for (const auto& [n, v] : triggerStateOf(currentWindow_)) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  void setState(const std::string& name, int64_t value) override {
    TriggerState& s = triggerState_.getOrCreate(currentWindow_, [] { return TriggerState{}; });
    for (auto& [n, v] : s) {
      if (n == name) {
        v = value;
        return;
      }
    }
    s.emplace_back(name, value);
  }
  void clearState(const std::string& name) override {
    if (TriggerState* s = triggerState_.get(currentWindow_)) {
      std::erase_if(*s, [&](const auto& e) { return e.first == name; });
      if (s->empty()) triggerState_.remove(currentWindow_);
    }
  }
  void mergeState(const std::string& name,
                  const std::function<int64_t(int64_t, int64_t)>& combine) override {
    std::optional<int64_t> merged = getState(name);
    W target = currentWindow_;
    for (const W& m : *mergedWindows_) {
      currentWindow_ = m;
      if (auto v = getState(name)) merged = merged ? combine(*merged, *v) : *v;
    }
    currentWindow_ = target;
    if (merged) setState(name, *merged);
  }

  // ---- WindowFireContext (for fireWindow_) --------------------------------------------------
  WindowFireContext<K, W>& fireContext() { return *this; }
  const W& window() const override { return *fireWindow_; }
  const K& key() const override { return keyContext_.currentKey(); }
  Timestamp currentProcessingTime() const override { return timers_->currentProcessingTime(); }
  Timestamp currentWatermark() const override { return timers_->currentWatermark(); }
  KeyedStateStore<K, W>& windowState() override {
    // A window merged into another is never cleared: its state would leak (Flink refuses too).
    if (merging_) {
      throw SluiceException(
          "Per-window state is not supported with merging (session) windows: keep state in "
          "globalState(), or aggregate the window's elements instead");
    }
    return windowState_;
  }
  KeyedStateStore<K, VoidNamespace>& globalState() override { return globalState_; }
  OutputBase* sideOutput(const std::string& tagId) override {
    auto it = this->context_.sideOutputs.find(tagId);
    return it == this->context_.sideOutputs.end() ? nullptr : it->second;
  }

  WindowSpec<T, W> spec_;
  KeySelector keySelector_;
  Contents contentsPolicy_;
  Emitter emitter_;
  std::unique_ptr<Trigger<T, W>> trigger_;
  bool eventTime_ = true;
  bool merging_ = false;

  HeapKeyedStateBackend<K> keyContext_;
  KeyedStateTable<K, W, Acc> contents_{keyContext_, "window-contents"};
  KeyedStateTable<K, W, TriggerState> triggerState_{keyContext_, "trigger-state"};
  KeyedStateTable<K, VoidNamespace, Mapping> mappings_{keyContext_, "merging-window-set"};
  KeyedStateStore<K, W> windowState_{keyContext_, "window-state/"};
  KeyedStateStore<K, VoidNamespace> globalState_{keyContext_, "global-state/"};
  std::unique_ptr<InternalTimerService<K, W>> timers_;

  std::vector<W> windows_;
  W currentWindow_{};
  const W* fireWindow_ = nullptr;
  const std::vector<W>* mergedWindows_ = nullptr;
  Collector<OUT> collector_;
  Output<T>* lateOutput_ = nullptr;
  int64_t lateDropped_ = 0;
};

}  // namespace sluice
