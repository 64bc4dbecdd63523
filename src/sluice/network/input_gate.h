#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "sluice/network/result_partition.h"

namespace sluice {

/// The input side of a consuming subtask: one channel per connected producer subpartition,
/// over all incoming job edges (Flink's SingleInputGate/UnionInputGate with local input
/// channels). Channels with data are served round-robin, one buffer at a time, so no channel
/// starves another.
///
/// Thread-safe where it must be: producers' threads notify, the owning task thread polls.
class InputGate final : public BufferAvailabilityListener {
 public:
  /// A buffer taken from channel `channel`.
  struct BufferOrEvent {
    BufferPtr buffer;
    int channel;
  };

  /// `onAvailable` runs (on a producer's thread) whenever the gate goes from no data to
  /// data; the task uses it to wake its mailbox.
  InputGate(std::vector<ResultSubpartition*> channels, std::function<void()> onAvailable);
  ~InputGate() override;

  /// Registers with every subpartition; data already queued is announced at once.
  void connect();
  /// The next buffer of some channel with data, or nothing when no channel has data now.
  std::optional<BufferOrEvent> pollNext();
  /// True when some channel has announced data that was not yet polled.
  bool hasData() const;
  void notifyDataAvailable(int channelIndex) override;
  /// Detaches from the producers (at end of input or cancellation).
  void disconnect();
  int numChannels() const { return static_cast<int>(channels_.size()); }

 private:
  std::vector<ResultSubpartition*> channels_;
  std::function<void()> onAvailable_;
  mutable std::mutex mutex_;
  std::deque<int> withData_;
  std::vector<bool> queued_;
};

}  // namespace sluice
