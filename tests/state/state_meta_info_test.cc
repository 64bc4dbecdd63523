// Snapshots record each state's serializers, and a restore that would read them with other
// serializers is refused with an error naming the state and both formats, for keyed state,
// operator list state and broadcast state; snapshots written before the serializers were
// recorded still restore.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sluice/core/serializer_description.h"
#include "sluice/state/keyed_state_store.h"
#include "sluice/state/operator_state.h"
#include "sluice/state/state_meta_info.h"

namespace sluice {
namespace {

constexpr int kMaxParallelism = 16;

namespace v1 {
struct Reading {
  int64_t sensor = 0;
  double value = 0;
};
}  // namespace v1
namespace v2 {
struct Reading {  // v1::Reading with one field retyped
  int64_t sensor = 0;
  int64_t value = 0;
};
}  // namespace v2

/// A serializer with a hand-written format and version.
struct Money {
  int64_t cents = 0;
  Money() = default;
  explicit Money(int64_t c) : cents(c) {}
};

}  // namespace
}  // namespace sluice

template <>
struct sluice::TypeSerializer<sluice::Money> {
  static constexpr uint32_t kVersion = 3;
  static void serialize(const Money& m, DataOutputView& out) { out.writeRaw(m.cents); }
  static void deserialize(Money& m, DataInputView& in) { m.cents = in.readRaw<int64_t>(); }
};

namespace sluice {
namespace {

TEST(SerializerDescription, FollowsFieldsTemplateArgumentsAndVersions) {
  const std::string reading = serializerDescription<v1::Reading>();
  EXPECT_NE(reading.find("Reading{"), std::string::npos) << reading;
  EXPECT_NE(reading.find("double@1"), std::string::npos) << reading;
  // Retyping a field changes the description even though both structs are "Reading".
  EXPECT_NE(serializerDescription<v2::Reading>().substr(reading.find('{')),
            reading.substr(reading.find('{')));
  // A container's description includes its element's.
  const std::string list = serializerDescription<std::vector<v1::Reading>>();
  EXPECT_NE(list.find(reading), std::string::npos) << list;
  EXPECT_NE(serializerDescription<std::vector<int32_t>>(),
            serializerDescription<std::vector<int64_t>>());
  // A hand-written serializer is described by its name and its version.
  EXPECT_NE(serializerDescription<Money>().find("Money@3"), std::string::npos)
      << serializerDescription<Money>();
}

TEST(StateMetaInfo, RoundTripsAndSaysWhyTwoDiffer) {
  const StateMetaInfo a = StateMetaInfo::keyed<std::string, VoidNamespace, int64_t>();
  DataOutputView out;
  a.serialize(out);
  DataInputView in(out.data(), out.size());
  EXPECT_EQ(StateMetaInfo::deserialize(in), a);
  EXPECT_TRUE(in.atEnd());

  EXPECT_EQ(a.incompatibilityWith(a), "");
  EXPECT_EQ(a.incompatibilityWith(StateMetaInfo{}), "");  // nothing recorded: no check
  const StateMetaInfo b = StateMetaInfo::keyed<std::string, VoidNamespace, std::string>();
  const std::string why = b.incompatibilityWith(a);
  EXPECT_NE(why.find("value serializer changed"), std::string::npos) << why;
  EXPECT_NE(a.incompatibilityWith(StateMetaInfo::list<int64_t>()).find("another kind of state"),
            std::string::npos);

  DataInputView truncated(out.data(), out.size() - 1);
  EXPECT_THROW(StateMetaInfo::deserialize(truncated), SerializationException);
}

KeyedStateSnapshot countsAsInt64() {
  HeapKeyedStateBackend<std::string> backend;
  backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
  KeyedStateStore<std::string, VoidNamespace> store(backend);
  auto& count = store.getState(ValueStateDescriptor<int64_t>("count"));
  for (const char* key : {"a", "b", "c"}) {
    backend.setCurrentKey(key);
    count.update(7);
  }
  return backend.snapshot();
}

TEST(KeyedStateSerializers, ARestoreWithAnotherValueTypeIsRefusedNamingTheState) {
  const KeyedStateSnapshot snapshot = countsAsInt64();
  ASSERT_TRUE(snapshot.stateMetaInfo.contains("count"));
  EXPECT_EQ(snapshot.stateMetaInfo.at("count"),
            (StateMetaInfo::keyed<std::string, VoidNamespace, int64_t>()));

  // Same types: restores.
  {
    HeapKeyedStateBackend<std::string> backend;
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    backend.restore(snapshot);
    KeyedStateStore<std::string, VoidNamespace> store(backend);
    auto& count = store.getState(ValueStateDescriptor<int64_t>("count"));
    backend.setCurrentKey("b");
    EXPECT_EQ(count.value(), 7);
    // The restored serializers ride along into the next snapshot.
    EXPECT_EQ(backend.snapshot().stateMetaInfo, snapshot.stateMetaInfo);
  }
  // Another value type: refused when the state is registered, before a byte is read.
  {
    HeapKeyedStateBackend<std::string> backend;
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    backend.restore(snapshot);
    KeyedStateStore<std::string, VoidNamespace> store(backend);
    try {
      store.getState(ValueStateDescriptor<std::string>("count"));
      FAIL() << "expected StateMigrationException";
    } catch (const StateMigrationException& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("keyed state 'count'"), std::string::npos) << what;
      EXPECT_NE(what.find(serializerDescription<int64_t>()), std::string::npos) << what;
      EXPECT_FALSE(isRecoverable(e));  // a restart would fail the same way
    }
  }
  // State registered before the restore is checked by the restore.
  {
    HeapKeyedStateBackend<std::string> backend;
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    KeyedStateStore<std::string, VoidNamespace> store(backend);
    store.getState(ValueStateDescriptor<double>("count"));
    EXPECT_THROW(backend.restore(snapshot), StateMigrationException);
  }
  // A snapshot that recorded no serializers (checkpoint metadata before version 4) restores
  // unchecked, as before.
  {
    KeyedStateSnapshot old = snapshot;
    old.stateMetaInfo.clear();
    HeapKeyedStateBackend<std::string> backend;
    backend.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
    backend.restore(old);
    KeyedStateStore<std::string, VoidNamespace> store(backend);
    auto& count = store.getState(ValueStateDescriptor<int64_t>("count"));
    backend.setCurrentKey("a");
    EXPECT_EQ(count.value(), 7);
  }
}

TEST(KeyedStateSerializers, AChangedAggregateFieldIsRefused) {
  HeapKeyedStateBackend<int64_t> writer;
  writer.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
  KeyedStateStore<int64_t, VoidNamespace> store(writer);
  auto& last = store.getState(ValueStateDescriptor<v1::Reading>("last"));
  writer.setCurrentKey(1);
  last.update(v1::Reading{1, 2.5});
  const KeyedStateSnapshot snapshot = writer.snapshot();

  HeapKeyedStateBackend<int64_t> reader;
  reader.init(KeyGroupRange{0, kMaxParallelism - 1}, kMaxParallelism);
  reader.restore(snapshot);
  KeyedStateStore<int64_t, VoidNamespace> restored(reader);
  EXPECT_THROW(restored.getState(ValueStateDescriptor<v2::Reading>("last")),
               StateMigrationException);
}

TEST(OperatorStateSerializers, ListAndBroadcastStateRefuseOtherTypes) {
  OperatorStateStore writer;
  writer.getListState(ListStateDescriptor<Money>("offsets")).update({Money(1), Money(2)});
  writer.getBroadcastState(MapStateDescriptor<std::string, int64_t>("rules")).put("r", 1);
  const OperatorStateSnapshot snapshot =
      OperatorStateSnapshot::deserialize(writer.snapshot().serialize());
  EXPECT_EQ(snapshot.states.at("offsets").meta, StateMetaInfo::list<Money>());

  {
    OperatorStateStore same;
    same.restore(snapshot);
    EXPECT_EQ(same.getListState(ListStateDescriptor<Money>("offsets")).get().size(), 2u);
  }
  {
    OperatorStateStore other;
    other.restore(snapshot);
    try {
      other.getListState(ListStateDescriptor<int64_t>("offsets"));
      FAIL() << "expected StateMigrationException";
    } catch (const StateMigrationException& e) {
      EXPECT_NE(std::string(e.what()).find("operator state 'offsets'"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("Money@3"), std::string::npos) << e.what();
    }
    EXPECT_THROW(other.getBroadcastState(MapStateDescriptor<std::string, double>("rules")),
                 StateMigrationException);
  }
  // Redistribution keeps the serializers with the elements.
  for (int p : {1, 3}) {
    for (const auto& part : redistributeOperatorState({snapshot, snapshot}, p)) {
      EXPECT_EQ(part.states.at("offsets").meta, StateMetaInfo::list<Money>());
      EXPECT_EQ(part.states.at("rules").meta, (StateMetaInfo::broadcast<std::string, int64_t>()));
    }
  }
}

TEST(OperatorStateSerializers, FormatOneStillReads) {
  // Format 1: magic, version 1, one state "s" (mode 0) with one element of 8 bytes, no
  // serializers.
  DataOutputView out;
  out.writeRaw<uint32_t>(0x534F4C53);
  out.writeVarUint(1);
  out.writeVarUint(1);
  out.writeString("s");
  out.writeRaw<uint8_t>(0);
  out.writeVarUint(1);
  out.writeVarUint(8);
  out.writeRaw<int64_t>(42);
  const OperatorStateSnapshot snapshot =
      OperatorStateSnapshot::deserialize(std::vector<uint8_t>(out.data(), out.data() + out.size()));
  EXPECT_TRUE(snapshot.states.at("s").meta.empty());
  OperatorStateStore store;
  store.restore(snapshot);
  EXPECT_EQ(store.getListState(ListStateDescriptor<int64_t>("s")).get(), std::vector<int64_t>{42});
}

}  // namespace
}  // namespace sluice
