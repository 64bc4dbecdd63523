#pragma once

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_set>
#include <vector>

#include "sluice/core/time.h"
#include "sluice/runtime/keyed_state.h"
#include "sluice/runtime/timer_service.h"

namespace sluice {

/// Event-time and processing-time timers per (key, namespace, timestamp), deduplicated, fired
/// in timestamp order with their key made current (Flink's InternalTimerServiceImpl). Event-time
/// timers fire when advanceWatermark() passes them; processing-time timers through the task's
/// ProcessingTimeService, on the task thread. Task thread only.
template <typename K, typename N>
class InternalTimerService {
 public:
  struct Timer {
    Timestamp timestamp;
    K key;
    N ns;
    friend bool operator==(const Timer& a, const Timer& b) {
      return a.timestamp == b.timestamp && a.key == b.key && a.ns == b.ns;
    }
  };
  using Callback = std::function<void(const Timer&)>;

  InternalTimerService(KeyContext<K>& keyContext, ProcessingTimeService& time, Callback onEventTime,
                       Callback onProcessingTime)
      : keyContext_(keyContext),
        time_(time),
        onEventTime_(std::move(onEventTime)),
        onProcessingTime_(std::move(onProcessingTime)) {}

  Timestamp currentWatermark() const { return watermark_; }
  Timestamp currentProcessingTime() const { return time_.currentProcessingTime(); }

  /// A timer for the current key; a second registration of the same timer is ignored.
  void registerEventTimeTimer(const N& ns, Timestamp time) {
    add(eventTimers_, Timer{time, keyContext_.currentKey(), ns});
  }
  void deleteEventTimeTimer(const N& ns, Timestamp time) {
    remove(eventTimers_, Timer{time, keyContext_.currentKey(), ns});
  }
  void registerProcessingTimeTimer(const N& ns, Timestamp time) {
    add(processingTimers_, Timer{time, keyContext_.currentKey(), ns});
    if (time < nextScheduled_) {
      nextScheduled_ = time;
      time_.registerTimer(time, [this](int64_t now) { onProcessingTimeReached(now); });
    }
  }
  void deleteProcessingTimeTimer(const N& ns, Timestamp time) {
    remove(processingTimers_, Timer{time, keyContext_.currentKey(), ns});
  }

  /// Fires every event-time timer at or before `watermark`, in timestamp order.
  void advanceWatermark(Timestamp watermark) {
    watermark_ = watermark;
    fireUpTo(eventTimers_, watermark, onEventTime_);
  }

  size_t numEventTimeTimers() const { return eventTimers_.set.size(); }
  size_t numProcessingTimeTimers() const { return processingTimers_.set.size(); }

 private:
  struct TimerHash {
    size_t operator()(const Timer& t) const {
      return (StateKeyHash<K>{}(t.key) * 31 + NamespaceHash<N>{}(t.ns)) * 31 +
             std::hash<int64_t>{}(t.timestamp);
    }
  };
  // Live timers in `set` (deduplication, deletion); firing order from a binary min-heap by
  // timestamp in `heap`, contiguous and cheap to push for the mostly increasing timestamps of
  // event time. Deletion leaves the heap entry behind: an entry fires only while its timer is
  // still in `set` (and leaves it on firing, so a re-registered duplicate entry is skipped);
  // the heap is rebuilt from `set` when stale entries outnumber live ones.
  struct Queue {
    std::unordered_set<Timer, TimerHash> set;
    std::vector<Timer> heap;
    static bool later(const Timer& a, const Timer& b) { return a.timestamp > b.timestamp; }
    void push(Timer timer) {
      heap.push_back(std::move(timer));
      std::push_heap(heap.begin(), heap.end(), later);
    }
    Timer pop() {
      std::pop_heap(heap.begin(), heap.end(), later);
      Timer t = std::move(heap.back());
      heap.pop_back();
      return t;
    }
    /// Drops stale entries at the top; true when a live timer is at the top.
    bool live() {
      while (!heap.empty() && set.count(heap.front()) == 0) pop();
      return !heap.empty();
    }
    void compactIfStale() {
      if (heap.size() <= 64 || heap.size() <= 2 * set.size()) return;
      heap.assign(set.begin(), set.end());
      std::make_heap(heap.begin(), heap.end(), later);
    }
  };

  static void add(Queue& q, Timer timer) {
    if (!q.set.insert(timer).second) return;
    q.push(std::move(timer));
  }
  static void remove(Queue& q, const Timer& timer) {
    if (q.set.erase(timer) != 0) q.compactIfStale();
  }
  void fireUpTo(Queue& q, Timestamp time, const Callback& callback) {
    while (q.live() && q.heap.front().timestamp <= time) {
      Timer timer = q.pop();
      q.set.erase(timer);
      keyContext_.setCurrentKey(timer.key);
      callback(timer);
    }
  }
  void onProcessingTimeReached(int64_t now) {
    nextScheduled_ = std::numeric_limits<Timestamp>::max();
    fireUpTo(processingTimers_, now, onProcessingTime_);
    if (processingTimers_.live()) {
      Timestamp next = processingTimers_.heap.front().timestamp;
      if (next < nextScheduled_) {
        nextScheduled_ = next;
        time_.registerTimer(next, [this](int64_t t) { onProcessingTimeReached(t); });
      }
    }
  }

  KeyContext<K>& keyContext_;
  ProcessingTimeService& time_;
  Callback onEventTime_;
  Callback onProcessingTime_;
  Queue eventTimers_;
  Queue processingTimers_;
  Timestamp watermark_ = kMinWatermark;
  Timestamp nextScheduled_ = std::numeric_limits<Timestamp>::max();
};

}  // namespace sluice
