#include "sluice/api/common/runtime_context.h"

#include <mutex>

namespace sluice {

namespace {

struct AccumulatorTypes {
  std::mutex mutex;
  std::map<std::string, AccumulatorReader> readers{
      {"IntCounter", &IntCounter::read},
      {"LongCounter", &LongCounter::read},
      {"DoubleCounter", &DoubleCounter::read},
  };
};

AccumulatorTypes& accumulatorTypes() {
  static AccumulatorTypes types;
  return types;
}

}  // namespace

void registerAccumulatorType(const std::string& typeName, AccumulatorReader reader) {
  AccumulatorTypes& types = accumulatorTypes();
  std::lock_guard lock(types.mutex);
  types.readers[typeName] = std::move(reader);
}

SerializedAccumulator serializeAccumulator(const Accumulator& accumulator) {
  DataOutputView out;
  accumulator.serialize(out);
  return {accumulator.typeName(), std::move(out.bytes())};
}

std::unique_ptr<Accumulator> deserializeAccumulator(const SerializedAccumulator& serialized) {
  AccumulatorReader reader;
  {
    AccumulatorTypes& types = accumulatorTypes();
    std::lock_guard lock(types.mutex);
    auto it = types.readers.find(serialized.typeName);
    if (it != types.readers.end()) reader = it->second;
  }
  if (!reader) {
    throw SerializationException("no reader for accumulator type '" + serialized.typeName +
                                 "' (register it with registerAccumulatorType)");
  }
  DataInputView in(serialized.bytes.data(), serialized.bytes.size());
  std::unique_ptr<Accumulator> acc = reader(in);
  if (!acc || !in.atEnd()) {
    throw SerializationException("accumulator of type '" + serialized.typeName +
                                 "': " + std::to_string(serialized.bytes.size()) +
                                 " bytes, not all read or no value");
  }
  return acc;
}

void RuntimeContext::addAccumulator(const std::string& name,
                                    std::unique_ptr<Accumulator> accumulator) {
  if (accumulators_.count(name) != 0) {
    throw SluiceException("accumulator '" + name + "' was already added in " +
                          taskInfo_.nameWithSubtask(operatorName_));
  }
  accumulators_.emplace(name, std::move(accumulator));
}

Accumulator* RuntimeContext::getAccumulator(const std::string& name) {
  auto it = accumulators_.find(name);
  return it == accumulators_.end() ? nullptr : it->second.get();
}

LongCounter& RuntimeContext::getLongCounter(const std::string& name) {
  auto it = accumulators_.find(name);
  if (it == accumulators_.end()) {
    it = accumulators_.emplace(name, std::make_unique<LongCounter>()).first;
  }
  auto* counter = dynamic_cast<LongCounter*>(it->second.get());
  if (counter == nullptr) throw SluiceException("accumulator '" + name + "' is not a LongCounter");
  return *counter;
}

}  // namespace sluice
