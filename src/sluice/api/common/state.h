#pragma once

// The keyed state user functions read and write (Flink's org.apache.flink.api.common.state):
// ValueState, ListState, MapState, ReducingState, AggregatingState, and the descriptors that
// name and type them, with optional time-to-live (StateTtlConfig, state_ttl.h). A state
// backend implements the interfaces (state/keyed_state_store.h for the heap backend).

#include <functional>
#include <map>
#include <optional>
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

/// A list per key and namespace (Flink's ListState).
template <typename T>
class ListState {
 public:
  virtual ~ListState() = default;
  /// The elements in insertion order (empty when none). The reference is valid until the next
  /// call on any state of the operator.
  virtual const std::vector<T>& get() = 0;
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
  /// All entries, ordered by key. The reference is valid until the next call on any state of
  /// the operator.
  virtual const std::map<UK, UV>& entries() = 0;
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
