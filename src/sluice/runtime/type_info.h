#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "sluice/api/common/output.h"
#include "sluice/core/data_view.h"
#include "sluice/core/type_serializer.h"
#include "sluice/network/record_deserializer.h"
#include "sluice/network/record_writer.h"
#include "sluice/runtime/watermark_valve.h"
#include "sluice/state/key_groups.h"

namespace sluice {

/// Tag byte that starts every serialized stream element (Flink's StreamElementSerializer tags).
enum class StreamElementTag : uint8_t {
  kRecord = 0,               ///< [tag][value]
  kRecordWithTimestamp = 1,  ///< [tag][int64 timestamp][value]
  kWatermark = 2,            ///< [tag][int64 timestamp]
  kWatermarkStatus = 3,      ///< [tag][u8 1 = idle, 0 = active]
};

/// How records are distributed over an edge's channels (Flink's StreamPartitioner kinds).
enum class PartitionerKind {
  kForward,
  kRebalance,
  kRescale,
  kShuffle,
  kBroadcast,
  kGlobal,
  kHash,
  kCustom
};

/// Name of a partitioner kind in execution plans, as Flink prints ship strategies.
const char* partitionerName(PartitionerKind kind);

/// What a network output needs to know about its edge.
struct EdgeContext {
  int numChannels = 1;    ///< channels of this producer's partition
  int producerIndex = 0;  ///< producing subtask
  int consumerMaxParallelism = 128;
  uint64_t seed = 0;  ///< for the shuffle partitioner
};

/// Consumes the elements of one input of a task: deserializes them into a reused value and
/// pushes them into the head operator's typed input; combines watermarks over the input's
/// channels. Created by TypeInfo, so the per-record loop is typed. Task thread only.
class InputHandler {
 public:
  virtual ~InputHandler() = default;
  /// Processes every whole element the deserializer holds; `channel` indexes this input's
  /// channels. Throws SerializationException on corrupt data.
  virtual void processBuffer(RecordDeserializer& deserializer, int channel) = 0;
  /// `channel` delivered its end of partition.
  virtual void channelFinished(int channel) = 0;
};

/// A partitioner bound to a record type: builds the output that serializes records of that
/// type into a RecordWriter and chooses their channels.
class StreamPartitioner {
 public:
  virtual ~StreamPartitioner() = default;
  virtual PartitionerKind kind() const = 0;
  /// Pointwise partitioners connect each producer to a subset of consumers (forward, rescale).
  bool isPointwise() const {
    return kind() == PartitionerKind::kForward || kind() == PartitionerKind::kRescale;
  }
  virtual std::unique_ptr<OutputBase> createOutput(RecordWriter& writer,
                                                   const EdgeContext& edge) const = 0;
};

/// Everything the type-erased runtime must do with records of one type (Flink's
/// TypeInformation): built by the typed API, used by the graph and the runtime.
class TypeInfo {
 public:
  virtual ~TypeInfo() = default;
  /// A readable type name (for plans and errors).
  virtual std::string name() const = 0;
  /// An Output<T> fanning out to `outputs` (all Output<T>).
  virtual std::unique_ptr<OutputBase> createBroadcastingOutput(
      std::vector<OutputBase*> outputs) const = 0;
  virtual std::unique_ptr<OutputBase> createDiscardingOutput() const = 0;
  /// An input handler feeding `target` (an Output<T>) from `numChannels` channels.
  virtual std::unique_ptr<InputHandler> createInputHandler(OutputBase* target,
                                                           int numChannels) const = 0;
  /// A partitioner of a kind that needs no key (all but kHash and kCustom).
  virtual std::shared_ptr<const StreamPartitioner> partitioner(PartitionerKind kind) const = 0;
};

// ---------------------------------------------------------------------------------------------
// Channel selectors: small value types so that RecordWriterOutput inlines the choice.

/// Always channel 0 (forward edges have one channel per producer; global sends all to the
/// first consumer).
struct FirstChannelSelector {
  explicit FirstChannelSelector(const EdgeContext&) {}
  template <typename T>
  int select(const T&) {
    return 0;
  }
};

/// Round-robin (Flink's RebalancePartitioner / RescalePartitioner). Starts at the producer's
/// index so that producers do not all begin with channel 0; deterministic, unlike Flink's
/// random start.
struct RoundRobinSelector {
  explicit RoundRobinSelector(const EdgeContext& edge)
      : n_(edge.numChannels), next_(edge.producerIndex % edge.numChannels) {}
  template <typename T>
  int select(const T&) {
    int c = next_;
    if (++next_ == n_) next_ = 0;
    return c;
  }
  int n_;
  int next_;
};

/// Uniformly random channel (Flink's ShufflePartitioner), from a seeded generator so that a
/// replay chooses the same channels.
struct ShuffleSelector {
  explicit ShuffleSelector(const EdgeContext& edge)
      : n_(static_cast<uint64_t>(edge.numChannels)),
        state_(edge.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(edge.producerIndex) + 1) {}
  template <typename T>
  int select(const T&) {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<int>(z % n_);
  }
  uint64_t n_;
  uint64_t state_;
};

/// Marker: every record to every channel (Flink's BroadcastPartitioner).
struct BroadcastSelector {
  explicit BroadcastSelector(const EdgeContext&) {}
};

/// By key group (Flink's KeyGroupStreamPartitioner):
/// channel = keyGroup(key) * numChannels / maxParallelism.
template <typename KeySelector>
struct KeyGroupSelector {
  KeyGroupSelector(const EdgeContext& edge, KeySelector keySelector)
      : keySelector_(std::move(keySelector)),
        maxParallelism_(edge.consumerMaxParallelism),
        numChannels_(edge.numChannels) {}
  template <typename T>
  int select(const T& value) {
    return KeyGroupRangeAssignment::assignKeyToParallelOperator(keySelector_(value),
                                                                maxParallelism_, numChannels_);
  }
  KeySelector keySelector_;
  int maxParallelism_;
  int numChannels_;
};

/// By a user Partitioner (Flink's CustomPartitionerWrapper): partition(key, numChannels).
template <typename KeySelector, typename Partitioner>
struct CustomSelector {
  CustomSelector(const EdgeContext& edge, KeySelector keySelector, Partitioner partitioner)
      : keySelector_(std::move(keySelector)),
        partitioner_(std::move(partitioner)),
        numChannels_(edge.numChannels) {}
  template <typename T>
  int select(const T& value) {
    int c = partitioner_(keySelector_(value), numChannels_);
    if (c < 0 || c >= numChannels_) {
      throw SluiceException("custom partitioner returned channel " + std::to_string(c) +
                            " outside [0, " + std::to_string(numChannels_) + ")");
    }
    return c;
  }
  KeySelector keySelector_;
  Partitioner partitioner_;
  int numChannels_;
};

/// Serializes records of type T into a RecordWriter, choosing channels with Selector (Flink's
/// RecordWriterOutput). Watermarks are broadcast to every channel.
template <typename T, typename Selector>
class RecordWriterOutput final : public Output<T> {
 public:
  RecordWriterOutput(RecordWriter& writer, Selector selector)
      : writer_(writer), selector_(std::move(selector)) {}

  void collect(const T& value, Timestamp timestamp) override {
    buffer_.clear();
    buffer_.writeRaw<uint32_t>(0);
    if (timestamp == kNoTimestamp) {
      buffer_.writeRaw<uint8_t>(static_cast<uint8_t>(StreamElementTag::kRecord));
    } else {
      buffer_.writeRaw<uint8_t>(static_cast<uint8_t>(StreamElementTag::kRecordWithTimestamp));
      buffer_.writeRaw<int64_t>(timestamp);
    }
    TypeSerializer<T>::serialize(value, buffer_);
    uint32_t length = static_cast<uint32_t>(buffer_.size() - 4);
    std::memcpy(buffer_.bytes().data(), &length, 4);
    if constexpr (std::is_same_v<Selector, BroadcastSelector>) {
      writer_.broadcastEmit(buffer_.data(), buffer_.size());
    } else {
      writer_.emit(buffer_.data(), buffer_.size(), selector_.select(value));
    }
  }

  void emitWatermark(Watermark watermark) override {
    buffer_.clear();
    buffer_.writeRaw<uint32_t>(9);
    buffer_.writeRaw<uint8_t>(static_cast<uint8_t>(StreamElementTag::kWatermark));
    buffer_.writeRaw<int64_t>(watermark.timestamp);
    writer_.broadcastEmit(buffer_.data(), buffer_.size());
  }

  void emitWatermarkStatus(bool idle) override {
    buffer_.clear();
    buffer_.writeRaw<uint32_t>(2);
    buffer_.writeRaw<uint8_t>(static_cast<uint8_t>(StreamElementTag::kWatermarkStatus));
    buffer_.writeRaw<uint8_t>(idle ? 1 : 0);
    writer_.broadcastEmit(buffer_.data(), buffer_.size());
  }

 private:
  RecordWriter& writer_;
  Selector selector_;
  DataOutputView buffer_;
};

/// Deserializes elements of type T and pushes them into `target` (see InputHandler).
template <typename T>
class TypedInputHandler final : public InputHandler {
 public:
  TypedInputHandler(Output<T>* target, int numChannels) : target_(target), valve_(numChannels) {}

  void processBuffer(RecordDeserializer& deserializer, int channel) override {
    DataInputView element;
    while (deserializer.next(element)) {
      auto tag = static_cast<StreamElementTag>(element.readRaw<uint8_t>());
      switch (tag) {
        case StreamElementTag::kRecord:
          TypeSerializer<T>::deserialize(reuse_, element);
          checkConsumed(element);
          target_->collect(reuse_, kNoTimestamp);
          break;
        case StreamElementTag::kRecordWithTimestamp: {
          Timestamp ts = element.readRaw<int64_t>();
          TypeSerializer<T>::deserialize(reuse_, element);
          checkConsumed(element);
          target_->collect(reuse_, ts);
          break;
        }
        case StreamElementTag::kWatermark:
          forward(valve_.inputWatermark(element.readRaw<int64_t>(), channel));
          break;
        case StreamElementTag::kWatermarkStatus:
          forward(valve_.inputStatus(element.readRaw<uint8_t>() != 0, channel));
          break;
        default:
          throw SerializationException("corrupt stream: unknown element tag " +
                                       std::to_string(static_cast<int>(tag)));
      }
    }
  }
  void channelFinished(int channel) override { forward(valve_.channelFinished(channel)); }

 private:
  void forward(const WatermarkValve::Result& r) {
    if (r.hasWatermark) target_->emitWatermark(r.watermark);
    if (r.statusChanged) target_->emitWatermarkStatus(r.idle);
  }
  static void checkConsumed(const DataInputView& element) {
    if (!element.atEnd()) {
      throw SerializationException("corrupt stream: " + std::to_string(element.remaining()) +
                                   " bytes left after a record of type " + typeid(T).name());
    }
  }
  Output<T>* target_;
  T reuse_{};
  WatermarkValve valve_;
};

/// A partitioner for records of type T choosing channels with Selector.
template <typename T, typename Selector, PartitionerKind kKind>
class SimplePartitioner final : public StreamPartitioner {
 public:
  PartitionerKind kind() const override { return kKind; }
  std::unique_ptr<OutputBase> createOutput(RecordWriter& writer,
                                           const EdgeContext& edge) const override {
    return std::make_unique<RecordWriterOutput<T, Selector>>(writer, Selector(edge));
  }
};

/// keyBy(): Flink's KeyGroupStreamPartitioner for records of type T.
template <typename T, typename KeySelector>
class KeyGroupStreamPartitioner final : public StreamPartitioner {
 public:
  explicit KeyGroupStreamPartitioner(KeySelector keySelector)
      : keySelector_(std::move(keySelector)) {}
  PartitionerKind kind() const override { return PartitionerKind::kHash; }
  std::unique_ptr<OutputBase> createOutput(RecordWriter& writer,
                                           const EdgeContext& edge) const override {
    using S = KeyGroupSelector<KeySelector>;
    return std::make_unique<RecordWriterOutput<T, S>>(writer, S(edge, keySelector_));
  }

 private:
  KeySelector keySelector_;
};

/// partitionCustom(): a user function (key, numPartitions) -> partition.
template <typename T, typename KeySelector, typename Partitioner>
class CustomPartitioner final : public StreamPartitioner {
 public:
  CustomPartitioner(KeySelector keySelector, Partitioner partitioner)
      : keySelector_(std::move(keySelector)), partitioner_(std::move(partitioner)) {}
  PartitionerKind kind() const override { return PartitionerKind::kCustom; }
  std::unique_ptr<OutputBase> createOutput(RecordWriter& writer,
                                           const EdgeContext& edge) const override {
    using S = CustomSelector<KeySelector, Partitioner>;
    return std::make_unique<RecordWriterOutput<T, S>>(writer, S(edge, keySelector_, partitioner_));
  }

 private:
  KeySelector keySelector_;
  Partitioner partitioner_;
};

/// TypeInfo for records of type T (which must have a TypeSerializer and be
/// default-constructible, because inputs deserialize into a reused value).
template <typename T>
class TypeInfoImpl final : public TypeInfo {
 public:
  std::string name() const override { return typeid(T).name(); }
  std::unique_ptr<OutputBase> createBroadcastingOutput(
      std::vector<OutputBase*> outputs) const override {
    std::vector<Output<T>*> typed;
    for (auto* o : outputs) typed.push_back(static_cast<Output<T>*>(o));
    return std::make_unique<BroadcastingOutput<T>>(std::move(typed));
  }
  std::unique_ptr<OutputBase> createDiscardingOutput() const override {
    return std::make_unique<DiscardingOutput<T>>();
  }
  std::unique_ptr<InputHandler> createInputHandler(OutputBase* target,
                                                   int numChannels) const override {
    return std::make_unique<TypedInputHandler<T>>(static_cast<Output<T>*>(target), numChannels);
  }
  std::shared_ptr<const StreamPartitioner> partitioner(PartitionerKind kind) const override {
    switch (kind) {
      case PartitionerKind::kForward:
        return std::make_shared<
            SimplePartitioner<T, FirstChannelSelector, PartitionerKind::kForward>>();
      case PartitionerKind::kGlobal:
        return std::make_shared<
            SimplePartitioner<T, FirstChannelSelector, PartitionerKind::kGlobal>>();
      case PartitionerKind::kRebalance:
        return std::make_shared<
            SimplePartitioner<T, RoundRobinSelector, PartitionerKind::kRebalance>>();
      case PartitionerKind::kRescale:
        return std::make_shared<
            SimplePartitioner<T, RoundRobinSelector, PartitionerKind::kRescale>>();
      case PartitionerKind::kShuffle:
        return std::make_shared<SimplePartitioner<T, ShuffleSelector, PartitionerKind::kShuffle>>();
      case PartitionerKind::kBroadcast:
        return std::make_shared<
            SimplePartitioner<T, BroadcastSelector, PartitionerKind::kBroadcast>>();
      default:
        throw SluiceException(std::string("partitioner ") + partitionerName(kind) +
                              " needs a key selector");
    }
  }
};

/// The shared TypeInfo of T.
template <typename T>
std::shared_ptr<const TypeInfo> typeInfoOf() {
  static const std::shared_ptr<const TypeInfo> info = std::make_shared<TypeInfoImpl<T>>();
  return info;
}

}  // namespace sluice
