#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sluice/core/data_view.h"
#include "sluice/core/exceptions.h"

namespace sluice {

/// Identity of one parallel instance of an operator (Flink's TaskInfo).
struct TaskInfo {
  std::string taskName;    ///< the chain's name, e.g. "Source: Sequence -> Map"
  int indexOfSubtask = 0;  ///< 0-based
  int numberOfParallelSubtasks = 1;
  int maxNumberOfParallelSubtasks = 128;
  int attemptNumber = 0;
  /// "Map (2/4)", as Flink names subtasks in logs and errors.
  std::string nameWithSubtask(const std::string& name) const {
    return name + " (" + std::to_string(indexOfSubtask + 1) + "/" +
           std::to_string(numberOfParallelSubtasks) + ")";
  }
};

/// A value that subtasks add to locally and that the job merges over all subtasks when it ends
/// (Flink's Accumulator). Used on one task thread; merging happens after the tasks ended, on the
/// JobMaster, from serialized copies (SerializedAccumulator): an accumulator type is known by
/// its typeName(), under which registerAccumulatorType() tells how to read it back (the job's
/// own code registers its types, as Flink's user class loader finds them).
class Accumulator {
 public:
  virtual ~Accumulator() = default;
  /// Adds `other`'s local value into this one. Throws SluiceException on a type mismatch.
  virtual void merge(const Accumulator& other) = 0;
  virtual std::unique_ptr<Accumulator> clone() const = 0;
  /// The value rendered as text (for logs and the CLI).
  virtual std::string toString() const = 0;
  /// The stable name of the type ("LongCounter"), registered with registerAccumulatorType().
  virtual std::string typeName() const = 0;
  /// Writes the local value; the type's registered reader reads exactly these bytes back.
  virtual void serialize(DataOutputView& out) const = 0;
};

/// An accumulator as it travels from a task to the JobMaster: its type name and value bytes.
struct SerializedAccumulator {
  std::string typeName;
  std::vector<uint8_t> bytes;
};

/// Reads an accumulator's value bytes (what Accumulator::serialize wrote). Throws
/// SerializationException on malformed bytes.
using AccumulatorReader = std::function<std::unique_ptr<Accumulator>(DataInputView& in)>;

/// Registers how accumulators of type `typeName` are read back, replacing an earlier reader of
/// that name. IntCounter, LongCounter and DoubleCounter are registered already. Thread-safe.
void registerAccumulatorType(const std::string& typeName, AccumulatorReader reader);

/// `accumulator` serialized (type name and value bytes).
SerializedAccumulator serializeAccumulator(const Accumulator& accumulator);

/// The accumulator `serialized` holds. Throws SerializationException naming the type when no
/// reader is registered for it, or when its bytes are malformed or not all read.
std::unique_ptr<Accumulator> deserializeAccumulator(const SerializedAccumulator& serialized);

/// An accumulator that sums values of type V (Flink's IntCounter, LongCounter, DoubleCounter:
/// V is int32_t, int64_t or double).
template <typename V>
class SimpleAccumulator final : public Accumulator {
  static_assert(std::is_same_v<V, int32_t> || std::is_same_v<V, int64_t> ||
                    std::is_same_v<V, double>,
                "SimpleAccumulator sums int32_t, int64_t or double");

 public:
  void add(V v) { value_ += v; }
  V getLocalValue() const { return value_; }
  void merge(const Accumulator& other) override {
    auto* o = dynamic_cast<const SimpleAccumulator<V>*>(&other);
    if (o == nullptr) throw SluiceException("cannot merge accumulators of different types");
    value_ += o->value_;
  }
  std::unique_ptr<Accumulator> clone() const override {
    return std::make_unique<SimpleAccumulator<V>>(*this);
  }
  std::string toString() const override { return std::to_string(value_); }
  std::string typeName() const override {
    if constexpr (std::is_same_v<V, int32_t>) {
      return "IntCounter";
    } else if constexpr (std::is_same_v<V, int64_t>) {
      return "LongCounter";
    } else {
      return "DoubleCounter";
    }
  }
  void serialize(DataOutputView& out) const override { out.writeRaw<V>(value_); }
  /// Reads what serialize() wrote.
  static std::unique_ptr<Accumulator> read(DataInputView& in) {
    auto acc = std::make_unique<SimpleAccumulator<V>>();
    acc->value_ = in.readRaw<V>();
    return acc;
  }

 private:
  V value_{};
};

using IntCounter = SimpleAccumulator<int32_t>;
using LongCounter = SimpleAccumulator<int64_t>;
using DoubleCounter = SimpleAccumulator<double>;

/// A metric counter (Flink's Counter). Used on the task thread only.
class Counter {
 public:
  void inc(int64_t n = 1) { count_ += n; }
  int64_t getCount() const { return count_; }

 private:
  int64_t count_ = 0;
};

/// What a rich function sees of the running job (Flink's RuntimeContext): which subtask it
/// is, accumulators and counters. One per operator instance, used on its task thread.
class RuntimeContext {
 public:
  RuntimeContext(TaskInfo taskInfo, std::string operatorName)
      : taskInfo_(std::move(taskInfo)), operatorName_(std::move(operatorName)) {}

  const TaskInfo& getTaskInfo() const { return taskInfo_; }
  int getIndexOfThisSubtask() const { return taskInfo_.indexOfSubtask; }
  int getNumberOfParallelSubtasks() const { return taskInfo_.numberOfParallelSubtasks; }
  /// 0 for the job's first execution, n after its n-th restart (Flink's getAttemptNumber).
  int getAttemptNumber() const { return taskInfo_.attemptNumber; }
  int getMaxNumberOfParallelSubtasks() const { return taskInfo_.maxNumberOfParallelSubtasks; }
  const std::string& getTaskName() const { return taskInfo_.taskName; }
  const std::string& getOperatorName() const { return operatorName_; }

  /// Registers an accumulator under `name`; the job's result holds the merge over subtasks.
  /// Throws SluiceException if this subtask already registered `name`.
  void addAccumulator(const std::string& name, std::unique_ptr<Accumulator> accumulator);
  /// The accumulator registered under `name` here, or null.
  Accumulator* getAccumulator(const std::string& name);
  /// Returns the LongCounter `name`, registering it on first use.
  LongCounter& getLongCounter(const std::string& name);
  /// A counter metric, created on first use.
  Counter& counter(const std::string& name) { return counters_[name]; }

  const std::map<std::string, std::unique_ptr<Accumulator>>& accumulators() const {
    return accumulators_;
  }
  const std::map<std::string, Counter>& counters() const { return counters_; }

 private:
  TaskInfo taskInfo_;
  std::string operatorName_;
  std::map<std::string, std::unique_ptr<Accumulator>> accumulators_;
  std::map<std::string, Counter> counters_;
};

/// Base of user functions that need set-up and tear-down (Flink's RichFunction). open() is
/// called once per parallel instance before the first record, close() after the last.
class RichFunction {
 public:
  virtual ~RichFunction() = default;
  virtual void open(RuntimeContext& context) { (void)context; }
  virtual void close() {}
};

}  // namespace sluice
