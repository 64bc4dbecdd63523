#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "sluice/network/input_channel.h"

namespace sluice {

/// The input side of a consuming subtask: one InputChannel per connected producer
/// subpartition, over all incoming job edges (Flink's SingleInputGate/UnionInputGate). The gate
/// owns its channels and knows them only through the InputChannel interface (local or remote).
/// Channels with data are served round-robin, one buffer at a time, so no channel starves
/// another.
///
/// A channel can be held back (blockChannel, for checkpoint barrier alignment): pollNext() then
/// skips it, but its buffers stay queued in its subpartition, in order, and it stays announced,
/// so nothing is lost or reordered; resumeAllChannels() serves it again (Flink's
/// CheckpointableInput#blockConsumption / resumeConsumption).
///
/// A channel that announces a priority event (an unaligned checkpoint barrier at the head of its
/// queue) is served before the others.
///
/// Thread-safe where it must be: producers' threads notify, the owning task thread polls,
/// blocks and resumes.
class InputGate final : public BufferAvailabilityListener {
 public:
  /// A buffer taken from channel `channel`.
  struct BufferOrEvent {
    BufferPtr buffer;
    int channel;
  };

  /// `channels[i]` must have channelIndex() == i (SluiceException otherwise). `onAvailable`
  /// runs (on a producer's or the network's thread) whenever the gate goes from no data to
  /// data; the task uses it to wake its mailbox.
  InputGate(std::vector<std::unique_ptr<InputChannel>> channels, std::function<void()> onAvailable);
  ~InputGate() override;

  /// Requests every channel's subpartition; data already queued is announced at once. Throws
  /// PartitionNotFoundException when a producer's partition is not there.
  void connect();
  /// The next buffer of some channel with data, or nothing when no channel has data now.
  std::optional<BufferOrEvent> pollNext();
  /// True when some channel that is not held back has announced data that was not yet polled.
  bool hasData() const;
  /// Holds back `channel` (0 <= channel < numChannels()): pollNext() skips it from now on, its
  /// data waits. Task thread only. Throws std::out_of_range for another index.
  void blockChannel(int channel);
  /// Serves every held-back channel again, in the order they were found with data, and tells
  /// each of them InputChannel::resumeConsumption(); runs `onAvailable` when that makes data
  /// available. Task thread only.
  void resumeAllChannels();
  /// Whether `channel` is held back; std::out_of_range for an index that is not a channel.
  bool isBlocked(int channel) const;
  /// Channels currently held back.
  int numBlockedChannels() const;
  void notifyDataAvailable(int channelIndex) override;
  /// Serves `channelIndex` next (ahead of the round-robin order) unless it is held back, so an
  /// unaligned barrier at the head of its queue reaches the task at once (Flink's
  /// SingleInputGate#notifyPriorityEvent). Producer threads.
  void notifyPriorityEvent(int channelIndex) override;
  /// Releases every channel: no notification starts after this returns (at end of input or
  /// cancellation). Idempotent.
  void disconnect();
  int numChannels() const { return static_cast<int>(channels_.size()); }

 private:
  std::vector<std::unique_ptr<InputChannel>> channels_;
  std::function<void()> onAvailable_;
  mutable std::mutex mutex_;
  std::deque<int> withData_;   // announced channels that may be polled, round-robin
  std::vector<bool> queued_;   // announced and not yet polled (in withData_ or parked_)
  std::vector<bool> blocked_;  // held back
  std::vector<int> parked_;    // held-back channels with announced data, in the order found
  int numBlocked_ = 0;
};

}  // namespace sluice
