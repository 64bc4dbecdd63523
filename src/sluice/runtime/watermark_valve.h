#pragma once

#include <optional>
#include <vector>

#include "sluice/core/time.h"

namespace sluice {

/// Combines the watermarks of the channels of one input into the input's watermark: the
/// minimum over channels that are still active, emitted only when it advances (Flink's
/// StatusWatermarkValve). A finished channel no longer holds the watermark back.
/// Task thread only.
class WatermarkValve {
 public:
  explicit WatermarkValve(int numChannels)
      : watermarks_(static_cast<size_t>(numChannels), kMinWatermark),
        finished_(static_cast<size_t>(numChannels), false) {}

  /// A watermark arrived on `channel`; returns the new input watermark if it advanced.
  std::optional<Watermark> inputWatermark(Timestamp watermark, int channel) {
    auto& w = watermarks_[static_cast<size_t>(channel)];
    if (watermark <= w) return std::nullopt;
    w = watermark;
    return recompute();
  }
  /// `channel` ended; returns the new input watermark if that let it advance.
  std::optional<Watermark> channelFinished(int channel) {
    finished_[static_cast<size_t>(channel)] = true;
    return recompute();
  }

 private:
  std::optional<Watermark> recompute() {
    Timestamp min = kMaxWatermark;
    bool any = false;
    for (size_t i = 0; i < watermarks_.size(); ++i) {
      if (finished_[i]) continue;
      any = true;
      if (watermarks_[i] < min) min = watermarks_[i];
    }
    if (!any) return std::nullopt;  // end of input carries its own final watermark
    if (min > last_) {
      last_ = min;
      return Watermark{min};
    }
    return std::nullopt;
  }

  std::vector<Timestamp> watermarks_;
  std::vector<bool> finished_;
  Timestamp last_ = kMinWatermark;
};

}  // namespace sluice
