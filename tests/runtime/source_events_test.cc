// Source coordination as serialized operator events: the coordinator answers registration and
// split requests only through SubtaskGateways with bytes that decode to the splits, and bad
// events are refused with a clear error.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sluice/api/sources.h"
#include "sluice/runtime/source_events.h"

namespace sluice {
namespace {

/// What one subtask's gateway received.
struct RecordingGateway final : SubtaskGateway {
  std::vector<OperatorEvent> events;
  void sendEvent(OperatorEvent event) override { events.push_back(std::move(event)); }
};

TEST(SourceEvents, AddSplitsRoundTripsAndEveryKindIsRecognised) {
  std::vector<NumberSequenceSplit> splits{{"a", 1, 10}, {"b", 11, 20}};
  OperatorEvent event = addSplitsEvent(splits);
  EXPECT_EQ(sourceEventKind(event), SourceEventKind::kAddSplits);
  auto back = splitsOfEvent<NumberSequenceSplit>(event);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].splitId, "b");
  EXPECT_EQ(back[1].from, 11);
  EXPECT_EQ(back[1].to, 20);
  for (auto kind : {SourceEventKind::kReaderRegistration, SourceEventKind::kRequestSplit,
                    SourceEventKind::kNoMoreSplits}) {
    EXPECT_EQ(sourceEventKind(sourceEvent(kind)), kind);
  }
}

TEST(SourceEvents, MalformedEventsAreRefused) {
  EXPECT_THROW(sourceEventKind(OperatorEvent{}), SerializationException);
  EXPECT_THROW(sourceEventKind(OperatorEvent{{0}}), SerializationException);
  EXPECT_THROW(sourceEventKind(OperatorEvent{{5}}), SerializationException);
  EXPECT_THROW(splitsOfEvent<NumberSequenceSplit>(sourceEvent(SourceEventKind::kNoMoreSplits)),
               SerializationException);
  OperatorEvent truncated = addSplitsEvent(std::vector<NumberSequenceSplit>{{"abc", 1, 2}});
  truncated.bytes.resize(truncated.bytes.size() - 3);
  EXPECT_THROW(splitsOfEvent<NumberSequenceSplit>(truncated), SerializationException);
  OperatorEvent trailing = addSplitsEvent(std::vector<NumberSequenceSplit>{});
  trailing.bytes.push_back(7);
  EXPECT_THROW(splitsOfEvent<NumberSequenceSplit>(trailing), SerializationException);
}

TEST(SourceCoordinator, AnswersRequestsThroughTheRequestingSubtasksGatewayOnly) {
  using Split = NumberSequenceSplit;
  SourceCoordinator<Split> coordinator(2, [](SplitEnumeratorContext<Split>& context) {
    return std::make_unique<StaticSplitEnumerator<Split>>(
        context, std::vector<Split>{{"0", 0, 4}, {"1", 5, 9}});
  });
  auto g0 = std::make_shared<RecordingGateway>();
  auto g1 = std::make_shared<RecordingGateway>();
  coordinator.executionAttemptReady(0, 0, g0);
  coordinator.executionAttemptReady(1, 0, g1);
  coordinator.start();
  coordinator.handleEventFromOperator(1, sourceEvent(SourceEventKind::kReaderRegistration));
  coordinator.handleEventFromOperator(1, sourceEvent(SourceEventKind::kRequestSplit));
  ASSERT_EQ(g1->events.size(), 1u);
  EXPECT_TRUE(g0->events.empty());
  auto first = splitsOfEvent<Split>(g1->events[0]);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].splitId, "0");

  coordinator.handleEventFromOperator(0, sourceEvent(SourceEventKind::kRequestSplit));
  coordinator.handleEventFromOperator(0, sourceEvent(SourceEventKind::kRequestSplit));
  ASSERT_EQ(g0->events.size(), 2u);
  EXPECT_EQ(splitsOfEvent<Split>(g0->events[0])[0].splitId, "1");
  EXPECT_EQ(sourceEventKind(g0->events[1]), SourceEventKind::kNoMoreSplits);

  // The coordinator's state is the unassigned splits, taken atomically with the trigger.
  bool triggered = false;
  auto state = coordinator.checkpointCoordinator(1, [&] { triggered = true; });
  EXPECT_TRUE(triggered);
  EXPECT_TRUE(deserializeFromBytes<std::vector<Split>>(state).empty());

  // A reader's event sent back to the coordinator is a protocol error.
  EXPECT_THROW(coordinator.handleEventFromOperator(0, addSplitsEvent(std::vector<Split>{})),
               SerializationException);
  coordinator.close();
}

TEST(SourceCoordinator, AnAssignmentToAnUndeployedSubtaskNamesIt) {
  using Split = NumberSequenceSplit;
  SourceCoordinator<Split> coordinator(2, [](SplitEnumeratorContext<Split>& context) {
    return std::make_unique<StaticSplitEnumerator<Split>>(context, std::vector<Split>{{"0", 0, 1}});
  });
  coordinator.executionAttemptReady(0, 0, std::make_shared<RecordingGateway>());
  coordinator.start();
  try {
    coordinator.handleEventFromOperator(1, sourceEvent(SourceEventKind::kRequestSplit));
    FAIL() << "expected SluiceException";
  } catch (const SluiceException& e) {
    EXPECT_NE(std::string(e.what()).find("no reader subtask 1"), std::string::npos) << e.what();
  }
  coordinator.close();
}

}  // namespace
}  // namespace sluice
