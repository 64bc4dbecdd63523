#pragma once

#include <boost/pfr.hpp>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "sluice/api/common/functions.h"
#include "sluice/api/sinks.h"
#include "sluice/api/sources.h"
#include "sluice/api/stream_execution_environment.h"
#include "sluice/runtime/co_process_function.h"
#include "sluice/runtime/operators.h"
#include "sluice/runtime/process_function.h"
#include "sluice/runtime/sink_writer_operator.h"
#include "sluice/runtime/timestamps_and_watermarks.h"
#include "sluice/runtime/type_info.h"

namespace sluice {

template <typename T>
class SingleOutputStreamOperator;
template <typename T>
class DataStreamSink;
template <typename T, typename KeySelector>
class KeyedStream;
template <typename T1, typename T2>
class ConnectedStreams;
template <typename T, typename KeySelector, typename W>
class WindowedStream;
template <typename T>
struct NullByteKeySelector;
template <typename T, typename W>
class WindowAssigner;
template <typename W>
struct AnyTypeAssigner;
struct GlobalWindow;
template <typename T1, typename T2>
class JoinedStreams;
template <typename T1, typename T2>
class CoGroupedStreams;
template <typename T1, typename KS1, typename T2, typename KS2>
class IntervalJoin;
template <typename T>
class BroadcastStream;
template <typename IN1, typename IN2>
class BroadcastConnectedStream;
template <typename IN1, typename KS, typename IN2>
class KeyedBroadcastConnectedStream;
template <typename T1, typename KS1, typename T2, typename KS2>
class KeyedConnectedStreams;

namespace detail {

/// Output type of a flatMap function: from its Collector<OUT>& parameter (lambdas with a
/// concrete parameter type, or classes deriving RichFlatMapFunction).
template <typename T>
struct CollectorArg;
template <typename C, typename R, typename A, typename OUT>
struct CollectorArg<R (C::*)(A, Collector<OUT>&) const> {
  using type = OUT;
};
template <typename C, typename R, typename A, typename OUT>
struct CollectorArg<R (C::*)(A, Collector<OUT>&)> {
  using type = OUT;
};
template <typename F>
auto flatMapOutput() {
  if constexpr (requires { typename F::OutputType; }) {
    return std::type_identity<typename F::OutputType>{};
  } else if constexpr (requires { &F::flatMap; }) {
    return std::type_identity<typename CollectorArg<decltype(&F::flatMap)>::type>{};
  } else {
    return std::type_identity<typename CollectorArg<decltype(&F::operator())>::type>{};
  }
}
template <typename F>
using FlatMapOutput = typename decltype(flatMapOutput<F>())::type;

template <typename F, typename IN>
using MapOutput = std::decay_t<decltype(invokeMap(std::declval<F&>(), std::declval<const IN&>()))>;

/// Field I of a tuple-like value (std::get) or of an aggregate struct (Boost.PFR).
template <size_t I, typename T>
decltype(auto) field(T& value) {
  if constexpr (requires { std::tuple_size<T>::value; }) {
    return std::get<I>(value);
  } else {
    return boost::pfr::get<I>(value);
  }
}

StreamNode makeNode(std::string name, std::shared_ptr<const OperatorFactory> factory,
                    std::shared_ptr<const TypeInfo> outputType);

}  // namespace detail

/// A stream of records of type T (Flink's DataStream). A cheap handle: copying it does not
/// copy data. Transformations add operators to the environment's graph and return the new
/// stream. Not thread-safe (program construction is single-threaded).
template <typename T>
class DataStream {
 public:
  using Upstream = StreamExecutionEnvironment::Upstream;

  DataStream(StreamExecutionEnvironment* env, std::vector<Upstream> upstreams)
      : env_(env), upstreams_(std::move(upstreams)) {}

  StreamExecutionEnvironment& getExecutionEnvironment() const { return *env_; }

  /// Applies `fn` (callable, or object with `OUT map(const T&)`) to every record.
  template <typename F>
  SingleOutputStreamOperator<detail::MapOutput<F, T>> map(F fn) const {
    using OUT = detail::MapOutput<F, T>;
    return transform<OUT>("Map", [fn] { return std::make_unique<StreamMap<T, OUT, F>>(fn); });
  }
  /// Emits zero or more records per record: `fn(const T&, Collector<OUT>&)`. OUT comes from the
  /// function's Collector parameter, or explicitly as flatMap<OUT>(fn) for generic lambdas.
  template <typename OUT = void, typename F>
  auto flatMap(F fn) const {
    using O = std::conditional_t<std::is_void_v<OUT>, detail::FlatMapOutput<F>, OUT>;
    return transform<O>("Flat Map", [fn] { return std::make_unique<StreamFlatMap<T, O, F>>(fn); });
  }
  /// Keeps the records for which `fn` returns true.
  template <typename F>
  SingleOutputStreamOperator<T> filter(F fn) const {
    return transform<T>("Filter", [fn] { return std::make_unique<StreamFilter<T, F>>(fn); });
  }

  /// Applies a ProcessFunction (timestamps, clocks, side outputs; timers need keyBy()).
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    return transform<OUT>("Process",
                          [fn] { return std::make_unique<ProcessOperator<T, OUT, F>>(fn); });
  }

  /// Gives records timestamps and generates watermarks with `strategy` (Flink's
  /// assignTimestampsAndWatermarks); upstream watermarks are dropped.
  SingleOutputStreamOperator<T> assignTimestampsAndWatermarks(
      const WatermarkStrategy<T>& strategy) const {
    return transform<T>("Timestamps/Watermarks", [strategy] {
      return std::make_unique<TimestampsAndWatermarksOperator<T>>(strategy);
    });
  }

  /// Partitions by the key `keySelector(record)`, into key groups as Flink's
  /// KeyGroupStreamPartitioner. The key type needs a KeyHash (see key_groups.h).
  template <typename KeySelector>
  KeyedStream<T, KeySelector> keyBy(KeySelector keySelector) const;

  /// Windows over the whole stream, evaluated by one subtask (Flink's windowAll). Include
  /// "sluice/api/windowed_stream.h".
  template <typename W>
  WindowedStream<T, NullByteKeySelector<T>, W> windowAll(
      std::shared_ptr<const WindowAssigner<T, W>> assigner) const;
  /// windowAll with an untyped assigner, e.g. TumblingEventTimeWindows::of(1h).
  template <typename W>
  WindowedStream<T, NullByteKeySelector<T>, W> windowAll(const AnyTypeAssigner<W>& assigner) const;

  /// Merges streams of the same type (Flink's union; `union` is a C++ keyword).
  template <typename... Streams>
  DataStream<T> union_(const Streams&... others) const {
    std::vector<Upstream> all = upstreams_;
    (all.insert(all.end(), others.upstreams().begin(), others.upstreams().end()), ...);
    return DataStream<T>(env_, std::move(all));
  }
  /// Pairs with another stream for two-input operators (Flink's connect).
  template <typename U>
  ConnectedStreams<T, U> connect(const DataStream<U>& other) const {
    return ConnectedStreams<T, U>(*this, other);
  }
  /// Connects with a broadcast stream, for a BroadcastProcessFunction (Flink's
  /// connect(BroadcastStream)). Include "sluice/api/broadcast_stream.h".
  template <typename U>
  BroadcastConnectedStream<T, U> connect(const BroadcastStream<U>& other) const;
  /// Joins with `other` by key and window (Flink's join): where(), equalTo(), window(),
  /// apply(). Include "sluice/api/joined_streams.h".
  template <typename U>
  JoinedStreams<T, U> join(const DataStream<U>& other) const;
  /// Co-groups with `other` by key and window (Flink's coGroup). Include
  /// "sluice/api/joined_streams.h".
  template <typename U>
  CoGroupedStreams<T, U> coGroup(const DataStream<U>& other) const;

  /// Records stay in the same subtask; needs equal parallelism (Flink's forward()).
  DataStream<T> forward() const { return partitioned(PartitionerKind::kForward); }
  /// Round-robin over all downstream subtasks.
  DataStream<T> rebalance() const { return partitioned(PartitionerKind::kRebalance); }
  /// Round-robin over a subset of downstream subtasks (pointwise).
  DataStream<T> rescale() const { return partitioned(PartitionerKind::kRescale); }
  /// Uniformly random downstream subtask (seeded, see setSeed).
  DataStream<T> shuffle() const { return partitioned(PartitionerKind::kShuffle); }
  /// Every record to every downstream subtask.
  DataStream<T> broadcast() const { return partitioned(PartitionerKind::kBroadcast); }
  /// Every record to every downstream subtask, whose operator keeps the broadcast state of
  /// these descriptors (Flink's broadcast(MapStateDescriptor...)). Include
  /// "sluice/api/broadcast_stream.h".
  template <typename UK, typename UV, typename... More>
  BroadcastStream<T> broadcast(const MapStateDescriptor<UK, UV>& descriptor,
                               const More&... more) const;
  /// Every record to the first downstream subtask.
  DataStream<T> global() const { return partitioned(PartitionerKind::kGlobal); }
  /// Subtask `partitioner(key, numPartitions)` for key `keySelector(record)`. A result outside
  /// [0, numPartitions) fails the job.
  template <typename Partitioner, typename KeySelector>
  DataStream<T> partitionCustom(Partitioner partitioner, KeySelector keySelector) const {
    return withPartitioner(std::make_shared<CustomPartitioner<T, KeySelector, Partitioner>>(
        std::move(keySelector), std::move(partitioner)));
  }

  /// Prints every record to stdout (Flink's print()).
  DataStreamSink<T> print(const std::string& sinkIdentifier = "") const {
    return sinkTo(std::make_shared<PrintSink<T>>(sinkIdentifier), "Print to Std. Out");
  }
  /// Prints every record to stderr.
  DataStreamSink<T> printToErr(const std::string& sinkIdentifier = "") const {
    return sinkTo(std::make_shared<PrintSink<T>>(sinkIdentifier, true), "Print to Std. Err");
  }
  /// Writes to `sink` (Flink's sinkTo).
  DataStreamSink<T> sinkTo(std::shared_ptr<const Sink<T>> sink,
                           const std::string& name = "Writer") const;

  /// Adds a one-input operator created by `create` (one instance per subtask).
  template <typename OUT, typename Create>
  SingleOutputStreamOperator<OUT> transform(const std::string& name, Create create) const {
    auto factory = std::make_shared<FunctionOperatorFactory>(
        [create]() -> std::unique_ptr<StreamOperatorBase> { return create(); });
    int id = env_->addNode(detail::makeNode(name, factory, typeInfoOf<OUT>()), upstreams_);
    return SingleOutputStreamOperator<OUT>(env_, id);
  }

  const std::vector<Upstream>& upstreams() const { return upstreams_; }

 protected:
  DataStream<T> partitioned(PartitionerKind kind) const {
    return withPartitioner(typeInfoOf<T>()->partitioner(kind));
  }
  DataStream<T> withPartitioner(std::shared_ptr<const StreamPartitioner> partitioner) const {
    std::vector<Upstream> ups = upstreams_;
    for (auto& u : ups) u.partitioner = partitioner;
    return DataStream<T>(env_, std::move(ups));
  }

  StreamExecutionEnvironment* env_;
  std::vector<Upstream> upstreams_;
};

/// The stream produced by one operator, whose properties can still be set (Flink's
/// SingleOutputStreamOperator).
template <typename T>
class SingleOutputStreamOperator : public DataStream<T> {
 public:
  SingleOutputStreamOperator(StreamExecutionEnvironment* env, int nodeId)
      : DataStream<T>(env, {{nodeId, nullptr}}), nodeId_(nodeId) {}

  /// Parallelism of this operator (>= 1). Throws ConfigurationException otherwise, or for a
  /// non-parallel operator set above 1.
  SingleOutputStreamOperator& setParallelism(int parallelism) {
    if (parallelism < 1) throw ConfigurationException("parallelism must be at least 1");
    if (node().parallelismFixed && parallelism != 1) {
      throw ConfigurationException("The parallelism of non parallel operator '" + node().name +
                                   "' must be 1.");
    }
    node().parallelism = parallelism;
    return *this;
  }
  SingleOutputStreamOperator& setMaxParallelism(int maxParallelism) {
    node().maxParallelism = maxParallelism;
    return *this;
  }
  /// Display name in plans, logs and errors.
  SingleOutputStreamOperator& name(const std::string& name) {
    node().name = node().isSource ? "Source: " + name : name;
    return *this;
  }
  /// Stable id that survives program changes (savepoints map state by it).
  SingleOutputStreamOperator& uid(const std::string& uid) {
    node().uid = uid;
    return *this;
  }
  SingleOutputStreamOperator& disableChaining() {
    node().chaining = ChainingStrategy::kNever;
    return *this;
  }
  SingleOutputStreamOperator& startNewChain() {
    node().chaining = ChainingStrategy::kHead;
    return *this;
  }
  int getId() const { return nodeId_; }

  /// The records this operator emitted to side output `tag` (Flink's getSideOutput).
  template <typename X>
  DataStream<X> getSideOutput(const OutputTag<X>& tag) const {
    return DataStream<X>(this->env_, {{nodeId_, nullptr, tag.id, typeInfoOf<X>()}});
  }

 private:
  StreamNode& node() { return this->env_->streamGraph().node(nodeId_); }
  int nodeId_;
};

/// The end of a stream in a sink (Flink's DataStreamSink).
template <typename T>
class DataStreamSink {
 public:
  DataStreamSink(StreamExecutionEnvironment* env, int nodeId) : env_(env), nodeId_(nodeId) {}
  DataStreamSink& setParallelism(int parallelism) {
    if (parallelism < 1) throw ConfigurationException("parallelism must be at least 1");
    node().parallelism = parallelism;
    return *this;
  }
  DataStreamSink& name(const std::string& name) {
    node().name = "Sink: " + name;
    return *this;
  }
  DataStreamSink& uid(const std::string& uid) {
    node().uid = uid;
    return *this;
  }
  DataStreamSink& disableChaining() {
    node().chaining = ChainingStrategy::kNever;
    return *this;
  }
  int getId() const { return nodeId_; }

 private:
  StreamNode& node() { return env_->streamGraph().node(nodeId_); }
  StreamExecutionEnvironment* env_;
  int nodeId_;
};

/// A stream partitioned by key (Flink's KeyedStream): reduce and the aggregations keep one
/// value per key, in key-grouped state.
template <typename T, typename KeySelector>
class KeyedStream : public DataStream<T> {
 public:
  using KeyType = std::decay_t<std::invoke_result_t<KeySelector&, const T&>>;

  KeyedStream(const DataStream<T>& input, KeySelector keySelector)
      : DataStream<T>(&input.getExecutionEnvironment(),
                      input.getExecutionEnvironment().template keyedUpstreams<T>(input.upstreams(),
                                                                                 keySelector)),
        keySelector_(std::move(keySelector)) {}

  /// A keyed stream over `input` as it is partitioned now, without a keyBy exchange (Flink's
  /// DataStreamUtils.reinterpretAsKeyedStream): keyed operators after it chain to `input`.
  /// `input` must already be partitioned exactly as keyBy(keySelector) would (e.g. a source
  /// whose subtasks read pre-partitioned data, or parallelism 1); a record whose key belongs to
  /// another subtask fails the job with "keyed state used on a stream not keyed this way".
  static KeyedStream reinterpret(const DataStream<T>& input, KeySelector keySelector) {
    return KeyedStream(input, std::move(keySelector), 0);
  }

  /// Emits, for every record, the reduction of all records of its key so far (Flink's
  /// KeyedStream#reduce): the first record as is, then fn(previous, record).
  template <typename F>
  SingleOutputStreamOperator<T> reduce(F fn, const std::string& name = "Keyed Reduce") const {
    auto ks = keySelector_;
    return this->template transform<T>(name, [ks, fn] {
      return std::make_unique<StreamGroupedReduce<T, KeyType, KeySelector, F>>(ks, fn);
    });
  }
  /// Rolling sum of field I (tuple element or struct field); other fields keep the values of
  /// the key's first record (Flink's sum(position)).
  template <size_t I>
  SingleOutputStreamOperator<T> sum() const {
    return reduce(
        [](const T& a, const T& b) {
          T r = a;
          detail::field<I>(r) += detail::field<I>(b);
          return r;
        },
        "Keyed Aggregation");
  }
  /// Rolling sum of the records themselves, for arithmetic T.
  SingleOutputStreamOperator<T> sum() const requires std::is_arithmetic_v<T> {
    return reduce([](const T& a, const T& b) { return a + b; }, "Keyed Aggregation");
  }
  /// Rolling minimum of field I; other fields from the key's first record (Flink's min).
  template <size_t I>
  SingleOutputStreamOperator<T> min() const {
    return reduce(
        [](const T& a, const T& b) {
          T r = a;
          auto& rf = detail::field<I>(r);
          const auto& bf = detail::field<I>(b);
          if (bf < rf) rf = bf;
          return r;
        },
        "Keyed Aggregation");
  }
  /// Rolling maximum of field I; other fields from the key's first record (Flink's max).
  template <size_t I>
  SingleOutputStreamOperator<T> max() const {
    return reduce(
        [](const T& a, const T& b) {
          T r = a;
          auto& rf = detail::field<I>(r);
          const auto& bf = detail::field<I>(b);
          if (rf < bf) rf = bf;
          return r;
        },
        "Keyed Aggregation");
  }
  /// The record with the smallest field I so far; the earlier one on ties (Flink's minBy).
  template <size_t I>
  SingleOutputStreamOperator<T> minBy() const {
    return reduce(
        [](const T& a, const T& b) { return detail::field<I>(b) < detail::field<I>(a) ? b : a; },
        "Keyed Aggregation");
  }
  /// The record with the largest field I so far; the earlier one on ties (Flink's maxBy).
  template <size_t I>
  SingleOutputStreamOperator<T> maxBy() const {
    return reduce(
        [](const T& a, const T& b) { return detail::field<I>(a) < detail::field<I>(b) ? b : a; },
        "Keyed Aggregation");
  }

  const KeySelector& getKeySelector() const { return keySelector_; }

  /// Applies a KeyedProcessFunction<K, T, OUT>: keyed state and timers per key (Flink's
  /// KeyedStream#process).
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    static_assert(std::is_same_v<typename F::KeyType, KeyType>,
                  "the KeyedProcessFunction's key type must be the stream's key type");
    auto ks = keySelector_;
    return this->template transform<OUT>("KeyedProcess", [ks, fn] {
      return std::make_unique<KeyedProcessOperator<KeyType, T, OUT, KeySelector, F>>(ks, fn);
    });
  }

  /// Cuts each key's records into windows (Flink's window). Include
  /// "sluice/api/windowed_stream.h".
  template <typename W>
  WindowedStream<T, KeySelector, W> window(
      std::shared_ptr<const WindowAssigner<T, W>> assigner) const;
  /// window with an untyped assigner, e.g. TumblingEventTimeWindows::of(1h) (as Flink).
  template <typename W>
  WindowedStream<T, KeySelector, W> window(const AnyTypeAssigner<W>& assigner) const {
    return window(assigner.template forType<T>());
  }
  /// Tumbling windows of `size` elements per key (GlobalWindows, purging CountTrigger).
  WindowedStream<T, KeySelector, GlobalWindow> countWindow(int64_t size) const;
  /// Sliding windows of the last `size` elements, every `slide` elements (CountEvictor,
  /// CountTrigger).
  WindowedStream<T, KeySelector, GlobalWindow> countWindow(int64_t size, int64_t slide) const;
  /// Joins with `other` (keyed by the same key type) on time intervals in event time (Flink's
  /// intervalJoin): between(), process(). Include "sluice/api/interval_join.h".
  template <typename U, typename KS2>
  IntervalJoin<T, KeySelector, U, KS2> intervalJoin(const KeyedStream<U, KS2>& other) const;

  using DataStream<T>::connect;
  /// Connects with `other` (keyed by the same key type), keeping both key selectors, for a
  /// KeyedCoProcessFunction. Include "sluice/api/broadcast_stream.h".
  template <typename U, typename KS2>
  KeyedConnectedStreams<T, KeySelector, U, KS2> connect(const KeyedStream<U, KS2>& other) const;
  /// Connects with a broadcast stream, for a KeyedBroadcastProcessFunction. Include
  /// "sluice/api/broadcast_stream.h".
  template <typename U>
  KeyedBroadcastConnectedStream<T, KeySelector, U> connect(const BroadcastStream<U>& other) const;

 private:
  KeyedStream(const DataStream<T>& input, KeySelector keySelector, int /*reinterpret*/)
      : DataStream<T>(&input.getExecutionEnvironment(), input.upstreams()),
        keySelector_(std::move(keySelector)) {}
  KeySelector keySelector_;
};

/// Two streams of possibly different types, processed together by co-functions (Flink's
/// ConnectedStreams).
template <typename T1, typename T2>
class ConnectedStreams {
 public:
  ConnectedStreams(DataStream<T1> first, DataStream<T2> second)
      : first_(std::move(first)), second_(std::move(second)) {}

  /// `f1` maps the first input, `f2` the second, to the same output type.
  template <typename F1, typename F2>
  SingleOutputStreamOperator<detail::MapOutput<F1, T1>> map(F1 f1, F2 f2) const {
    using OUT = detail::MapOutput<F1, T1>;
    static_assert(std::is_same_v<OUT, detail::MapOutput<F2, T2>>,
                  "both co-map functions must return the same type");
    return transformTwo<OUT>(
        "Co-Map", [f1, f2] { return std::make_unique<CoStreamMap<T1, T2, OUT, F1, F2>>(f1, f2); });
  }
  /// `f1(const T1&, Collector<OUT>&)` and `f2(const T2&, Collector<OUT>&)`.
  template <typename OUT = void, typename F1, typename F2>
  auto flatMap(F1 f1, F2 f2) const {
    using O = std::conditional_t<std::is_void_v<OUT>, detail::FlatMapOutput<F1>, OUT>;
    return transformTwo<O>("Co-Flat Map", [f1, f2] {
      return std::make_unique<CoStreamFlatMap<T1, T2, O, F1, F2>>(f1, f2);
    });
  }
  /// Applies a CoProcessFunction<T1, T2, OUT> (timestamps, clocks, side outputs; timers need
  /// keyed streams: connect two KeyedStreams for a KeyedCoProcessFunction).
  template <typename F>
  SingleOutputStreamOperator<typename F::OutputType> process(F fn) const {
    using OUT = typename F::OutputType;
    static_assert(std::is_base_of_v<CoProcessFunction<T1, T2, OUT>, F>,
                  "ConnectedStreams::process needs a CoProcessFunction<T1, T2, OUT>");
    return transformTwo<OUT>(
        "Co-Process", [fn] { return std::make_unique<CoProcessOperator<T1, T2, OUT, F>>(fn); });
  }

 private:
  template <typename OUT, typename Create>
  SingleOutputStreamOperator<OUT> transformTwo(const std::string& name, Create create) const {
    auto factory = std::make_shared<FunctionOperatorFactory>(
        [create]() -> std::unique_ptr<StreamOperatorBase> { return create(); });
    StreamExecutionEnvironment* env = &first_.getExecutionEnvironment();
    int id = env->addNode(detail::makeNode(name, factory, typeInfoOf<OUT>()), first_.upstreams(),
                          second_.upstreams());
    return SingleOutputStreamOperator<OUT>(env, id);
  }
  DataStream<T1> first_;
  DataStream<T2> second_;
};

/// Flink's DataStreamUtils.
struct DataStreamUtils {
  /// See KeyedStream::reinterpret.
  template <typename T, typename KeySelector>
  static KeyedStream<T, KeySelector> reinterpretAsKeyedStream(const DataStream<T>& stream,
                                                              KeySelector keySelector) {
    return KeyedStream<T, KeySelector>::reinterpret(stream, std::move(keySelector));
  }
};

// ---- definitions that need the classes above ------------------------------------------------

template <typename T>
template <typename KeySelector>
KeyedStream<T, KeySelector> DataStream<T>::keyBy(KeySelector keySelector) const {
  return KeyedStream<T, KeySelector>(*this, std::move(keySelector));
}

template <typename T>
DataStreamSink<T> DataStream<T>::sinkTo(std::shared_ptr<const Sink<T>> sink,
                                        const std::string& name) const {
  auto factory = std::make_shared<FunctionOperatorFactory>(
      [sink]() -> std::unique_ptr<StreamOperatorBase> {
        return std::make_unique<SinkWriterOperator<T>>(sink);
      },
      nullptr,
      [sink](const JobInitializationContext& context) { sink->initializeOnMaster(context); });
  StreamNode node = detail::makeNode("Sink: " + name, factory, nullptr);
  node.isSink = true;
  return DataStreamSink<T>(env_, env_->addNode(std::move(node), upstreams_));
}

template <typename T, typename KeySelector>
std::vector<StreamExecutionEnvironment::Upstream> StreamExecutionEnvironment::keyedUpstreams(
    const std::vector<Upstream>& upstreams, const KeySelector& keySelector) {
  auto partitioner = std::make_shared<KeyGroupStreamPartitioner<T, KeySelector>>(keySelector);
  std::vector<Upstream> out = upstreams;
  for (auto& u : out) u.partitioner = partitioner;
  return out;
}

template <typename T, typename SplitT>
SingleOutputStreamOperator<T> StreamExecutionEnvironment::fromSource(
    std::shared_ptr<const Source<T, SplitT>> source, const std::string& name) {
  return fromSource<T, SplitT>(std::move(source), WatermarkStrategy<T>(), name);
}

template <typename T, typename SplitT>
SingleOutputStreamOperator<T> StreamExecutionEnvironment::fromSource(
    std::shared_ptr<const Source<T, SplitT>> source, const WatermarkStrategy<T>& strategy,
    const std::string& name) {
  auto factory = std::make_shared<FunctionOperatorFactory>(
      [source, strategy]() -> std::unique_ptr<StreamOperatorBase> {
        return std::make_unique<SourceOperator<T, SplitT>>(source, strategy);
      },
      [source](int parallelism) -> std::unique_ptr<OperatorCoordinator> {
        return std::make_unique<SourceCoordinator<SplitT>>(
            parallelism, [source](SplitEnumeratorContext<SplitT>& context) {
              return source->createEnumerator(context);
            });
      });
  StreamNode node = detail::makeNode("Source: " + name, factory, typeInfoOf<T>());
  node.isSource = true;
  node.chaining = ChainingStrategy::kHead;
  int id = addNode(std::move(node), {});
  return SingleOutputStreamOperator<T>(this, id);
}

template <typename T>
SingleOutputStreamOperator<T> StreamExecutionEnvironment::fromCollection(
    std::vector<T> collection) {
  auto source = std::make_shared<CollectionSource<T>>(std::move(collection));
  SingleOutputStreamOperator<T> stream =
      fromSource<T, CollectionSplit>(source, "Collection Source");
  streamGraph().node(stream.getId()).parallelismFixed = true;
  return stream;
}

template <typename T>
SingleOutputStreamOperator<T> StreamExecutionEnvironment::fromElements(
    std::initializer_list<T> elements) {
  return fromCollection(std::vector<T>(elements));
}

}  // namespace sluice
