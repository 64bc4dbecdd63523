#pragma once

// What a checkpoint holds for one operator subtask and for one job (Flink's
// OperatorSubtaskState, OperatorState and CompletedCheckpoint): the data model the checkpoint
// coordinator assembles from task acknowledgements, checkpoint storage writes and reads, and
// restore hands back to operators (through StreamOperatorContext::restoredKeyedState and
// ::restoredOperatorState).

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sluice/state/keyed_state_backend.h"
#include "sluice/state/operator_state.h"

namespace sluice {

/// One output channel of a task (Flink's ResultSubpartitionInfo): `partitionIndex` numbers the
/// task's record writers (result partitions) in the order StreamTask::addRecordWriter created
/// them, `subpartitionIndex` the consumer subtask within that partition.
struct ResultSubpartitionInfo {
  int partitionIndex = 0;
  int subpartitionIndex = 0;
  friend auto operator<=>(const ResultSubpartitionInfo&, const ResultSubpartitionInfo&) = default;
};

/// The channel state of one task in one unaligned checkpoint (Flink's ChannelStateWriteResult):
/// the data that was in flight when the task took its snapshot, so that a restore replays it.
///
/// Bytes are the raw payload of network data buffers, concatenated in channel order: the
/// length-prefixed serialized stream elements RecordWriter writes (u32 little-endian length, then
/// the element). A channel's bytes need not start or end at an element boundary: the input state
/// of a channel starts at one (it begins with the element the task's deserializer had partly
/// read) but may end inside an element, whose rest is the head of the producer's output state
/// for the same channel; the output state of a subpartition ends at one but may start inside an
/// element whose head the consumer already read. Concatenating a consumer's input state, its
/// producer's output state and the new data of that channel gives whole elements again, which
/// is why restore feeds them through the same per-channel deserializer, in that order. Events
/// (barriers, markers) are never part of channel state.
struct TaskChannelState {
  /// Input channel index of the task's input gate (as StreamTask::setInputs numbers them) →
  /// bytes received on it after the snapshot and before that channel's barrier, preceded by the
  /// partial element the channel's deserializer held at the snapshot.
  std::map<int, std::vector<uint8_t>> inputChannels;
  /// Result subpartition → bytes of the data buffers the barrier overtook there (queued and not
  /// yet consumed when the snapshot was taken).
  std::map<ResultSubpartitionInfo, std::vector<uint8_t>> resultSubpartitions;

  /// Whether no channel holds bytes (channels present with no bytes count as empty).
  bool empty() const { return sizeBytes() == 0; }
  /// Total bytes over every channel.
  size_t sizeBytes() const {
    size_t n = 0;
    for (const auto& [c, bytes] : inputChannels) n += bytes.size();
    for (const auto& [c, bytes] : resultSubpartitions) n += bytes.size();
    return n;
  }
  friend bool operator==(const TaskChannelState&, const TaskChannelState&) = default;
};

/// A byte range of a state file: where one key group's state is (the offsets of Flink's
/// KeyGroupsStateHandle), bytes.
struct StateFileRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  friend bool operator==(const StateFileRange&, const StateFileRange&) = default;
};

/// Keyed state a task wrote to a file of its own in the checkpoint directory (Flink's
/// KeyGroupsStateHandle): the file's name, relative to the checkpoint directory (a plain name,
/// never a path), and the byte range of each key group in it, so that a restoring subtask reads
/// only the key groups it owns. Empty when the state is inline.
struct KeyGroupsStateHandle {
  std::string file;
  std::map<int, StateFileRange> keyGroups;
  bool empty() const { return file.empty(); }
  friend bool operator==(const KeyGroupsStateHandle&, const KeyGroupsStateHandle&) = default;
};

/// The state of one operator subtask in one checkpoint.
struct SubtaskCheckpointState {
  /// Keyed state by key group, when it is inline (empty for non-keyed operators, and for keyed
  /// state in a file: keyedStateHandle); maxParallelism is set either way.
  KeyedStateSnapshot keyedState;
  /// Keyed state in a file of the checkpoint directory (checkpoints with a checkpoint
  /// directory; savepoints and in-memory checkpoints keep keyed state inline). Never both.
  KeyGroupsStateHandle keyedStateHandle;
  /// Operator (non-keyed) state, including broadcast state and source split positions.
  OperatorStateSnapshot operatorState;
  /// In-flight buffers per input channel, for unaligned checkpoints (channel index → bytes of
  /// the serialized records in arrival order, TaskChannelState::inputChannels); empty for
  /// aligned checkpoints. A task's channel state belongs to the head operator of its chain.
  std::map<int, std::vector<uint8_t>> inputChannelState;
  /// Overtaken output buffers per result subpartition, for unaligned checkpoints
  /// (TaskChannelState::resultSubpartitions); empty for aligned checkpoints. `_metadata`
  /// format version 2 and later.
  std::map<ResultSubpartitionInfo, std::vector<uint8_t>> resultSubpartitionState;
};

/// The state of one operator (all its subtasks), matched to the operator on restore by its id
/// (the hash of its uid, or of its position in the graph: StreamNode::operatorId).
struct OperatorCheckpointState {
  std::string operatorId;
  /// The operator's name, for error messages only.
  std::string operatorName;
  int parallelism = 1;
  int maxParallelism = 128;
  /// The operator coordinator's state (a source's unassigned splits), empty when stateless.
  std::vector<uint8_t> coordinatorState;
  /// Subtask index → its state; subtasks with no state may be absent.
  std::map<int, SubtaskCheckpointState> subtasks;
};

/// A complete checkpoint or savepoint of a job.
struct CompletedCheckpoint {
  std::string jobId;
  int64_t checkpointId = 0;
  /// When the checkpoint was triggered, ms since the epoch.
  int64_t timestamp = 0;
  bool savepoint = false;
  /// Operator id → state.
  std::map<std::string, OperatorCheckpointState> operators;
  /// The directory the checkpoint was loaded from or written to, against which state files
  /// (KeyGroupsStateHandle::file) resolve; empty for a checkpoint only in memory. Not part of
  /// the metadata: a checkpoint directory can be moved.
  std::string directory;
};

}  // namespace sluice
