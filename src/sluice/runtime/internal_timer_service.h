#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "sluice/core/time.h"
#include "sluice/runtime/timer_service.h"
#include "sluice/state/keyed_state_store.h"

namespace sluice {

/// Event-time and processing-time timers per (key, namespace, timestamp), deduplicated, fired
/// in timestamp order with their key made current (Flink's InternalTimerServiceImpl). Event-time
/// timers fire when advanceWatermark() passes them; processing-time timers through the task's
/// ProcessingTimeService, on the task thread.
///
/// Timers are stored per key group (a flat set per key group, as Flink's
/// KeyGroupPartitionedPriorityQueue), registered with the backend under `name` so snapshots
/// carry them; one binary heap over all key groups gives the firing order. Snapshot format of a
/// key group: for event time then processing time, a varint count and (timestamp, key,
/// namespace) per timer. Restored processing-time timers are scheduled again. Snapshots are
/// copy-on-write views of the sets (snapshotState), written on any thread. Task thread only.
template <typename K, typename N>
class InternalTimerService final : public KeyGroupedState {
 public:
  struct Timer {
    Timestamp timestamp;
    K key;
    [[no_unique_address]] N ns;  // VoidNamespace takes no space
    friend bool operator==(const Timer& a, const Timer& b) {
      return a.timestamp == b.timestamp && a.key == b.key && a.ns == b.ns;
    }
  };
  using Callback = std::function<void(const Timer&)>;

  InternalTimerService(HeapKeyedStateBackend<K>& keyContext, ProcessingTimeService& time,
                       Callback onEventTime, Callback onProcessingTime,
                       std::string name = "user-timers")
      : KeyGroupedState("_timers/" + name, StateMetaInfo::keyed<K, N, Timestamp>()),
        keyContext_(keyContext),
        time_(time),
        onEventTime_(std::move(onEventTime)),
        onProcessingTime_(std::move(onProcessingTime)) {
    keyContext_.registerState(*this);
  }
  ~InternalTimerService() override { keyContext_.unregisterState(*this); }
  InternalTimerService(const InternalTimerService&) = delete;
  InternalTimerService& operator=(const InternalTimerService&) = delete;

  Timestamp currentWatermark() const { return watermark_; }
  Timestamp currentProcessingTime() const { return time_.currentProcessingTime(); }

  /// A timer for the current key; a second registration of the same timer is ignored.
  void registerEventTimeTimer(const N& ns, Timestamp time) {
    eventTimers_.add(Timer{time, keyContext_.currentKey(), ns}, group(), numGroups());
  }
  void deleteEventTimeTimer(const N& ns, Timestamp time) {
    eventTimers_.remove(Timer{time, keyContext_.currentKey(), ns}, group());
  }
  void registerProcessingTimeTimer(const N& ns, Timestamp time) {
    processingTimers_.add(Timer{time, keyContext_.currentKey(), ns}, group(), numGroups());
    scheduleProcessingTime(time);
  }
  void deleteProcessingTimeTimer(const N& ns, Timestamp time) {
    processingTimers_.remove(Timer{time, keyContext_.currentKey(), ns}, group());
  }

  /// Fires every event-time timer at or before `watermark`, in timestamp order.
  void advanceWatermark(Timestamp watermark) {
    watermark_ = watermark;
    fireUpTo(eventTimers_, watermark, onEventTime_);
  }

  size_t numEventTimeTimers() const { return eventTimers_.size; }
  size_t numProcessingTimeTimers() const { return processingTimers_.size; }

  /// A copy-on-write view of every key group's timers (the sets are frozen, nothing copied);
  /// see KeyGroupedState.
  std::unique_ptr<KeyGroupedStateSnapshot> snapshotState() override {
    if constexpr (Serializable<K> && Serializable<N> && TimerSet::kCanFreeze) {
      auto snap = std::make_unique<Snapshot>();
      for (int q = 0; q < 2; ++q) {
        Queue& queue = q == 0 ? eventTimers_ : processingTimers_;
        snap->sets[q].reserve(queue.sets.size());
        for (TimerSet& set : queue.sets) snap->sets[q].push_back(set.freeze());
      }
      return snap;
    } else {
      detail::throwNotSerializable(stateName());
    }
  }
  void restoreKeyGroup(int index, DataInputView& in) override {
    if constexpr (Serializable<K> && Serializable<N>) {
      for (Queue* q : {&eventTimers_, &processingTimers_}) {
        uint64_t count = in.readVarUint();
        for (uint64_t i = 0; i < count; ++i) {
          Timer t{in.readRaw<int64_t>(), K{}, N{}};
          TypeSerializer<K>::deserialize(t.key, in);
          TypeSerializer<N>::deserialize(t.ns, in);
          Timestamp ts = t.timestamp;
          q->add(std::move(t), index, numGroups());
          if (q == &processingTimers_) scheduleProcessingTime(ts);
        }
      }
    } else {
      (void)index;
      (void)in;
      detail::throwNotSerializable(stateName());
    }
  }

 private:
  struct TimerHash {
    size_t operator()(const Timer& t) const {
      return (StateKeyHash<K>{}(t.key) * 31 + NamespaceHash<N>{}(t.ns)) * 31 +
             std::hash<int64_t>{}(t.timestamp);
    }
  };
  struct Unit {};
  using TimerSet = FlatHashMap<Timer, Unit, TimerHash>;
  // The frozen timer sets of one snapshotState(): event time, then processing time.
  struct Snapshot final : KeyGroupedStateSnapshot {
    std::vector<typename TimerSet::Frozen> sets[2];
    void writeKeyGroup(int index, DataOutputView& out) const override {
      if constexpr (Serializable<K> && Serializable<N>) {
        for (const auto& queue : sets) {
          if (static_cast<size_t>(index) >= queue.size()) {
            out.writeVarUint(0);
            continue;
          }
          const auto& set = queue[static_cast<size_t>(index)];
          out.writeVarUint(set.size());
          set.forEach([&](const Timer& t, const Unit&) {
            out.writeRaw<int64_t>(t.timestamp);
            TypeSerializer<K>::serialize(t.key, out);
            TypeSerializer<N>::serialize(t.ns, out);
          });
        }
      } else {
        (void)index;
        (void)out;
      }
    }
  };
  // Live timers in `sets` (one flat set per key group: deduplication, deletion, snapshots).
  // Firing order: timers registered in non-decreasing timestamp order (the common event-time
  // pattern "element timestamp + constant") are appended to the sorted run `run` in O(1) and
  // fire from its front in O(1); any other goes into the binary min-heap `heap`; the next timer
  // is the smaller of the two fronts. Deletion leaves the entry behind: an entry fires only if
  // its timer is still in its set (it leaves the set on firing, so a re-registered duplicate
  // entry is skipped); run and heap are rebuilt from the sets when stale entries outnumber live
  // ones.
  struct Entry {
    Timer timer;
    int group;
  };
  struct Queue {
    std::vector<TimerSet> sets;
    std::deque<Entry> run;
    std::vector<Entry> heap;
    size_t size = 0;
    struct Later {
      bool operator()(const Entry& a, const Entry& b) const {
        return a.timer.timestamp > b.timer.timestamp;
      }
    };
    static constexpr Later later{};
    void add(Timer timer, int group, int groups) {
      if (sets.empty()) sets.resize(static_cast<size_t>(groups));
      if (!sets[static_cast<size_t>(group)].tryEmplace(timer, [] { return Unit{}; }).second) {
        return;
      }
      ++size;
      if (run.empty() || run.back().timer.timestamp <= timer.timestamp) {
        run.push_back(Entry{std::move(timer), group});
      } else {
        heap.push_back(Entry{std::move(timer), group});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    void remove(const Timer& timer, int group) {
      if (sets.empty() || !sets[static_cast<size_t>(group)].erase(timer)) return;
      --size;
      size_t entries = run.size() + heap.size();
      if (entries <= 64 || entries <= 2 * size) return;
      run.clear();
      heap.clear();
      for (size_t g = 0; g < sets.size(); ++g) {
        sets[g].forEach([&](const Timer& t, const Unit&) {
          heap.push_back(Entry{t, static_cast<int>(g)});
        });
      }
      std::make_heap(heap.begin(), heap.end(), later);
    }
    bool empty() const { return run.empty() && heap.empty(); }
    /// The entry that comes next (live or stale); the queue must not be empty.
    const Entry& front() const {
      if (heap.empty()) return run.front();
      if (run.empty()) return heap.front();
      return heap.front().timer.timestamp < run.front().timer.timestamp ? heap.front()
                                                                        : run.front();
    }
    Entry pop() {
      if (heap.empty() ||
          (!run.empty() && run.front().timer.timestamp <= heap.front().timer.timestamp)) {
        Entry e = std::move(run.front());
        run.pop_front();
        return e;
      }
      std::pop_heap(heap.begin(), heap.end(), later);
      Entry e = std::move(heap.back());
      heap.pop_back();
      return e;
    }
    bool isLive(const Entry& e) { return sets[static_cast<size_t>(e.group)].contains(e.timer); }
    /// Drops stale entries at the front; true when a live timer is next.
    bool live() {
      while (!empty() && !isLive(front())) pop();
      return !empty();
    }
  };

  int group() const { return keyContext_.currentKeyGroupIndex(); }
  int numGroups() const { return keyContext_.numberOfKeyGroups(); }
  void scheduleProcessingTime(Timestamp time) {
    if (time < nextScheduled_) {
      nextScheduled_ = time;
      time_.registerTimer(time, [this](int64_t now) { onProcessingTimeReached(now); });
    }
  }
  void fireUpTo(Queue& q, Timestamp time, const Callback& callback) {
    while (!q.empty() && q.front().timer.timestamp <= time) {
      Entry e = q.pop();
      // One set operation tells a live timer (fire it) from a stale heap entry (skip it).
      if (!q.sets[static_cast<size_t>(e.group)].erase(e.timer)) continue;
      --q.size;
      keyContext_.setCurrentKey(e.timer.key);
      callback(e.timer);
    }
  }
  void onProcessingTimeReached(int64_t now) {
    nextScheduled_ = std::numeric_limits<Timestamp>::max();
    fireUpTo(processingTimers_, now, onProcessingTime_);
    if (processingTimers_.live()) scheduleProcessingTime(processingTimers_.front().timer.timestamp);
  }

  HeapKeyedStateBackend<K>& keyContext_;
  ProcessingTimeService& time_;
  Callback onEventTime_;
  Callback onProcessingTime_;
  Queue eventTimers_;
  Queue processingTimers_;
  Timestamp watermark_ = kMinWatermark;
  Timestamp nextScheduled_ = std::numeric_limits<Timestamp>::max();
};

}  // namespace sluice
