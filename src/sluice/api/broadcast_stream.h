#pragma once

// Two-input process functions on connected keyed streams and the broadcast state pattern
// (Flink's KeyedStream#connect(KeyedStream).process, BroadcastStream, BroadcastConnectedStream).

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/api/data_stream.h"
#include "sluice/runtime/co_process_function.h"

namespace sluice {

namespace detail {

/// Adds a two-input operator created by `create` after `first` and `second`.
template <typename OUT, typename T1, typename T2, typename Create>
SingleOutputStreamOperator<OUT> addTwoInput(const DataStream<T1>& first,
                                            const DataStream<T2>& second, const std::string& name,
                                            Create create) {
  auto factory = std::make_shared<FunctionOperatorFactory>(
      [create]() -> std::unique_ptr<StreamOperatorBase> { return create(); });
  StreamExecutionEnvironment* env = &first.getExecutionEnvironment();
  int id = env->addNode(makeNode(name, factory, typeInfoOf<OUT>()), first.upstreams(),
                        second.upstreams());
  return SingleOutputStreamOperator<OUT>(env, id);
}

}  // namespace detail

/// Two keyed streams with the same key type, connected (Flink's ConnectedStreams of two
/// KeyedStreams): both key selectors are kept, so process() can run a KeyedCoProcessFunction
/// with keyed state and timers shared by both inputs of a key.
template <typename T1, typename KS1, typename T2, typename KS2>
class KeyedConnectedStreams {
 public:
  using KeyType = typename KeyedStream<T1, KS1>::KeyType;
  static_assert(std::is_same_v<KeyType, typename KeyedStream<T2, KS2>::KeyType>,
                "connected keyed streams need the same key type");

  KeyedConnectedStreams(KeyedStream<T1, KS1> first, KeyedStream<T2, KS2> second)
      : first_(std::move(first)), second_(std::move(second)) {}

  /// Applies a KeyedCoProcessFunction<K, T1, T2, OUT>.
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    static_assert(std::is_same_v<typename F::KeyType, KeyType>,
                  "the KeyedCoProcessFunction's key type must be the streams' key type");
    auto ks1 = first_.getKeySelector();
    auto ks2 = second_.getKeySelector();
    return detail::addTwoInput<OUT>(first_, second_, "KeyedCo-Process", [ks1, ks2, fn] {
      return std::make_unique<KeyedCoProcessOperator<KeyType, T1, T2, OUT, KS1, KS2, F>>(ks1, ks2,
                                                                                         fn);
    });
  }

  const KeyedStream<T1, KS1>& getFirstInput() const { return first_; }
  const KeyedStream<T2, KS2>& getSecondInput() const { return second_; }

 private:
  KeyedStream<T1, KS1> first_;
  KeyedStream<T2, KS2> second_;
};

/// A stream sent to every subtask of the operator it is connected to, with the descriptors of
/// the broadcast state that operator keeps (Flink's BroadcastStream). Made by
/// DataStream::broadcast(descriptors...).
template <typename T>
class BroadcastStream {
 public:
  BroadcastStream(DataStream<T> stream, std::vector<std::string> descriptorNames)
      : stream_(std::move(stream)), descriptorNames_(std::move(descriptorNames)) {}
  /// The stream, with the broadcast partitioner.
  const DataStream<T>& stream() const { return stream_; }
  const std::vector<std::string>& descriptorNames() const { return descriptorNames_; }

 private:
  DataStream<T> stream_;
  std::vector<std::string> descriptorNames_;
};

/// A non-keyed stream connected with a broadcast stream (Flink's BroadcastConnectedStream).
template <typename IN1, typename IN2>
class BroadcastConnectedStream {
 public:
  BroadcastConnectedStream(DataStream<IN1> first, BroadcastStream<IN2> broadcast)
      : first_(std::move(first)), broadcast_(std::move(broadcast)) {}

  /// Applies a BroadcastProcessFunction<IN1, IN2, OUT>.
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    static_assert(std::is_base_of_v<BroadcastProcessFunction<IN1, IN2, OUT>, F>,
                  "a non-keyed stream connected with a broadcast stream needs a "
                  "BroadcastProcessFunction<IN1, IN2, OUT>");
    auto names = broadcast_.descriptorNames();
    return detail::addTwoInput<OUT>(
        first_, broadcast_.stream(), "Co-Process-Broadcast", [fn, names] {
          return std::make_unique<CoBroadcastWithNonKeyedOperator<IN1, IN2, OUT, F>>(fn, names);
        });
  }

 private:
  DataStream<IN1> first_;
  BroadcastStream<IN2> broadcast_;
};

/// A keyed stream connected with a broadcast stream (Flink's BroadcastConnectedStream on a
/// KeyedStream).
template <typename IN1, typename KS, typename IN2>
class KeyedBroadcastConnectedStream {
 public:
  using KeyType = typename KeyedStream<IN1, KS>::KeyType;

  KeyedBroadcastConnectedStream(KeyedStream<IN1, KS> first, BroadcastStream<IN2> broadcast)
      : first_(std::move(first)), broadcast_(std::move(broadcast)) {}

  /// Applies a KeyedBroadcastProcessFunction<K, IN1, IN2, OUT>.
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    static_assert(std::is_base_of_v<KeyedBroadcastProcessFunction<KeyType, IN1, IN2, OUT>, F>,
                  "a keyed stream connected with a broadcast stream needs a "
                  "KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> of the stream's key type");
    auto names = broadcast_.descriptorNames();
    auto ks = first_.getKeySelector();
    return detail::addTwoInput<OUT>(
        first_, broadcast_.stream(), "Co-Process-Broadcast-Keyed", [ks, fn, names] {
          return std::make_unique<CoBroadcastWithKeyedOperator<KeyType, IN1, IN2, OUT, KS, F>>(
              ks, fn, names);
        });
  }

 private:
  KeyedStream<IN1, KS> first_;
  BroadcastStream<IN2> broadcast_;
};

// ---- definitions of the DataStream / KeyedStream methods declared in data_stream.h ----------

template <typename T>
template <typename UK, typename UV, typename... More>
BroadcastStream<T> DataStream<T>::broadcast(const MapStateDescriptor<UK, UV>& descriptor,
                                            const More&... more) const {
  std::vector<std::string> names{descriptor.name, more.name...};
  return BroadcastStream<T>(broadcast(), std::move(names));
}

template <typename T>
template <typename U>
BroadcastConnectedStream<T, U> DataStream<T>::connect(const BroadcastStream<U>& other) const {
  return BroadcastConnectedStream<T, U>(*this, other);
}

template <typename T, typename KeySelector>
template <typename U, typename KS2>
KeyedConnectedStreams<T, KeySelector, U, KS2> KeyedStream<T, KeySelector>::connect(
    const KeyedStream<U, KS2>& other) const {
  return KeyedConnectedStreams<T, KeySelector, U, KS2>(*this, other);
}

template <typename T, typename KeySelector>
template <typename U>
KeyedBroadcastConnectedStream<T, KeySelector, U> KeyedStream<T, KeySelector>::connect(
    const BroadcastStream<U>& other) const {
  return KeyedBroadcastConnectedStream<T, KeySelector, U>(*this, other);
}

}  // namespace sluice
