#pragma once

// The keyed state user functions read and write (Flink's org.apache.flink.api.common.state):
// ValueState, ListState, MapState, ReducingState, AggregatingState, and the descriptors that
// name and type them, with optional time-to-live (StateTtlConfig, state_ttl.h). A state
// backend implements the interfaces (state/keyed_state_store.h for the heap backend).

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sluice/api/common/state_ttl.h"

namespace sluice {

/// A single value per key and namespace (Flink's ValueState).
template <typename V>
class ValueState {
 public:
  virtual ~ValueState() = default;
  /// The value, or nullopt when none was set for the current key (and namespace).
  virtual std::optional<V> value() = 0;
  virtual void update(const V& value) = 0;
  virtual void clear() = 0;
};

/// The elements of a ListState, for reading (what Flink's ListState#get returns as an
/// Iterable): a contiguous range, valid until the next call on any state of the operator. The
/// heap backend hands out its own storage, without a copy; a disk-based backend deserializes
/// the list into a buffer of the state (as Flink's RocksDBListState#get does). Iterate it, index
/// it, or copy it with toVector().
template <typename T>
class ListView {
 public:
  ListView() = default;
  explicit ListView(std::span<const T> elements) : elements_(elements) {}
  explicit ListView(const std::vector<T>& elements) : elements_(elements.data(), elements.size()) {}

  auto begin() const { return elements_.begin(); }
  auto end() const { return elements_.end(); }
  size_t size() const { return elements_.size(); }
  bool empty() const { return elements_.empty(); }
  const T& operator[](size_t i) const { return elements_[i]; }
  const T& front() const { return elements_.front(); }
  const T& back() const { return elements_.back(); }
  /// A copy of the elements.
  std::vector<T> toVector() const { return std::vector<T>(begin(), end()); }
  friend bool operator==(const ListView& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::span<const T> elements_;
};

/// The entries of a MapState, for reading one at a time (Flink's MapState#entries / iterator):
/// a forward range of (key, value) references in the backend's order (ascending keys for the
/// heap backend), valid until the next call on any state of the operator. The heap backend
/// iterates its map in place; a backend that keeps entries elsewhere (on disk, or with expired
/// entries to skip) supplies a Cursor that produces them lazily, so no backend has to
/// materialize the whole map.
template <typename UK, typename UV>
class MapView {
 public:
  /// How a backend produces entries lazily: next() advances (first call: to the first entry)
  /// and says whether there is one; key() and value() are valid until the following next().
  class Cursor {
   public:
    virtual ~Cursor() = default;
    virtual bool next() = 0;
    virtual const UK& key() const = 0;
    virtual const UV& value() const = 0;
  };
  /// One entry: references into the map or the cursor, valid until the iterator moves.
  using Entry = std::pair<const UK&, const UV&>;

  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Entry operator*() const {
      if (cursor_ != nullptr) return Entry(cursor_->key(), cursor_->value());
      return Entry(it_->first, it_->second);
    }
    iterator& operator++() {
      if (cursor_ != nullptr) {
        if (!cursor_->next()) cursor_ = nullptr, atEnd_ = true;
      } else {
        ++it_;
      }
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) {
      if (a.mapMode_) return a.it_ == b.it_;
      return a.atEnd_ == b.atEnd_;
    }

   private:
    friend class MapView;
    typename std::map<UK, UV>::const_iterator it_{};
    Cursor* cursor_ = nullptr;
    bool mapMode_ = true;
    bool atEnd_ = true;
  };

  MapView() = default;
  /// A view of `entries` in place (the heap backend).
  explicit MapView(const std::map<UK, UV>& entries) : map_(&entries) {}
  /// A view whose entries `cursor` produces; the view owns it and can be iterated once.
  explicit MapView(std::unique_ptr<Cursor> cursor) : cursor_(std::move(cursor)) {}

  iterator begin() {
    iterator i;
    if (map_ != nullptr) {
      i.it_ = map_->begin();
    } else if (cursor_) {
      i.mapMode_ = false;
      i.atEnd_ = !cursor_->next();
      i.cursor_ = i.atEnd_ ? nullptr : cursor_.get();
    } else {
      i.mapMode_ = false;
    }
    return i;
  }
  iterator end() {
    iterator i;
    if (map_ != nullptr) {
      i.it_ = map_->end();
    } else {
      i.mapMode_ = false;
    }
    return i;
  }
  /// A copy of the entries, ordered by key. Consumes a cursor-backed view.
  std::map<UK, UV> toMap() {
    std::map<UK, UV> out;
    for (auto [k, v] : *this) out.emplace(k, v);
    return out;
  }

 private:
  const std::map<UK, UV>* map_ = nullptr;
  std::unique_ptr<Cursor> cursor_;
};

/// A list per key and namespace (Flink's ListState).
template <typename T>
class ListState {
 public:
  virtual ~ListState() = default;
  /// The elements in insertion order (empty when none), valid until the next call on any state
  /// of the operator (ListView).
  virtual ListView<T> get() = 0;
  virtual void add(const T& value) = 0;
  virtual void addAll(const std::vector<T>& values) = 0;
  /// Replaces the list.
  virtual void update(const std::vector<T>& values) = 0;
  virtual void clear() = 0;
};

/// A map per key and namespace (Flink's MapState).
template <typename UK, typename UV>
class MapState {
 public:
  virtual ~MapState() = default;
  virtual std::optional<UV> get(const UK& key) = 0;
  virtual void put(const UK& key, const UV& value) = 0;
  virtual bool contains(const UK& key) = 0;
  virtual void remove(const UK& key) = 0;
  /// Every entry, read one at a time (ascending keys for the heap backend), valid until the
  /// next call on any state of the operator (MapView).
  virtual MapView<UK, UV> entries() = 0;
  virtual bool isEmpty() = 0;
  virtual void clear() = 0;
};

/// A value folded from everything added (Flink's ReducingState and AggregatingState: IN added,
/// OUT read).
template <typename IN, typename OUT>
class AppendingState {
 public:
  virtual ~AppendingState() = default;
  /// The folded value, or nullopt when nothing was added.
  virtual std::optional<OUT> get() = 0;
  virtual void add(const IN& value) = 0;
  virtual void clear() = 0;
};
template <typename T>
using ReducingState = AppendingState<T, T>;
template <typename IN, typename OUT>
using AggregatingState = AppendingState<IN, OUT>;

/// What every state descriptor has: the state's name (unique per operator) and its optional
/// time-to-live (Flink's StateDescriptor).
struct StateDescriptorBase {
  explicit StateDescriptorBase(std::string stateName) : name(std::move(stateName)) {}
  /// Gives the state a time-to-live (Flink's StateDescriptor.enableTimeToLive).
  void enableTimeToLive(const StateTtlConfig& config) { ttlConfig = config; }
  std::string name;
  std::optional<StateTtlConfig> ttlConfig;
};

/// Names and types a ValueState (Flink's ValueStateDescriptor).
template <typename V>
struct ValueStateDescriptor : StateDescriptorBase {
  explicit ValueStateDescriptor(std::string stateName)
      : StateDescriptorBase(std::move(stateName)) {}
};
/// Names and types a ListState.
template <typename T>
struct ListStateDescriptor : StateDescriptorBase {
  explicit ListStateDescriptor(std::string stateName) : StateDescriptorBase(std::move(stateName)) {}
};
/// Names and types a MapState.
template <typename UK, typename UV>
struct MapStateDescriptor : StateDescriptorBase {
  explicit MapStateDescriptor(std::string stateName) : StateDescriptorBase(std::move(stateName)) {}
};
/// A ReducingState with its reduce function (T, T) -> T.
template <typename T>
struct ReducingStateDescriptor : StateDescriptorBase {
  ReducingStateDescriptor(std::string stateName, std::function<T(const T&, const T&)> reduce)
      : StateDescriptorBase(std::move(stateName)), reduceFunction(std::move(reduce)) {}
  std::function<T(const T&, const T&)> reduceFunction;
};
/// An AggregatingState with its aggregate function (an object with createAccumulator, add,
/// getResult, as Flink's AggregateFunction).
template <typename IN, typename ACC, typename OUT>
struct AggregatingStateDescriptor : StateDescriptorBase {
  std::function<ACC()> createAccumulator;
  std::function<ACC(const IN&, ACC)> add;
  std::function<OUT(const ACC&)> getResult;
  template <typename F>
  AggregatingStateDescriptor(std::string stateName, F fn)
      : StateDescriptorBase(std::move(stateName)),
        createAccumulator([fn]() mutable { return fn.createAccumulator(); }),
        add([fn](const IN& v, ACC acc) mutable { return fn.add(v, std::move(acc)); }),
        getResult([fn](const ACC& acc) mutable { return fn.getResult(acc); }) {}
};

}  // namespace sluice
