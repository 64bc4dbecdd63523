#pragma once

#include <algorithm>
#include <vector>

#include "sluice/core/time.h"

namespace sluice {

/// Combines the watermarks and idleness of the channels of one input into the input's watermark
/// and status (Flink's StatusWatermarkValve): the watermark is the minimum over channels that are
/// active and aligned (caught up with the last output), emitted only when it advances; the input
/// is idle only when every channel is idle, and then jumps to the highest watermark of any
/// channel. Finished channels count as idle. Task thread only.
class WatermarkValve {
 public:
  /// What a call produced: a new watermark and/or a status change, to forward in that order.
  struct Result {
    bool hasWatermark = false;
    Watermark watermark{kMinWatermark};
    bool statusChanged = false;
    bool idle = false;
  };

  explicit WatermarkValve(int numChannels) : channels_(static_cast<size_t>(numChannels)) {}

  /// A watermark arrived on `channel`.
  Result inputWatermark(Timestamp watermark, int channel) {
    Result r;
    Channel& c = channels_[static_cast<size_t>(channel)];
    if (c.idle || watermark <= c.watermark) return r;
    c.watermark = watermark;
    if (!c.aligned && watermark >= last_) c.aligned = true;
    advance(r);
    return r;
  }

  /// `channel` became idle (`idle`) or active again.
  Result inputStatus(bool idle, int channel) {
    Result r;
    Channel& c = channels_[static_cast<size_t>(channel)];
    if (c.idle == idle) return r;
    c.idle = idle;
    if (idle) {
      c.aligned = false;
      if (allIdle()) {
        // Everything is idle: nothing will hold event time back, so it moves to the highest
        // watermark any channel reached, then the input goes idle (as Flink's valve).
        Timestamp max = kMinWatermark;
        for (const auto& ch : channels_) max = std::max(max, ch.watermark);
        if (max > last_) {
          last_ = max;
          r.hasWatermark = true;
          r.watermark = Watermark{max};
        }
        if (!idle_) {
          idle_ = true;
          r.statusChanged = true;
          r.idle = true;
        }
      } else {
        advance(r);
      }
    } else {
      c.aligned = c.watermark >= last_;
      if (idle_) {
        idle_ = false;
        r.statusChanged = true;
        r.idle = false;
      }
    }
    return r;
  }

  /// `channel` ended: it no longer holds the watermark back.
  Result channelFinished(int channel) { return inputStatus(true, channel); }

  bool isIdle() const { return idle_; }

 private:
  struct Channel {
    Timestamp watermark = kMinWatermark;
    bool idle = false;
    bool aligned = true;
  };

  bool allIdle() const {
    for (const auto& c : channels_) {
      if (!c.idle) return false;
    }
    return true;
  }

  void advance(Result& r) {
    Timestamp min = kMaxWatermark;
    bool any = false;
    for (const auto& c : channels_) {
      if (c.idle || !c.aligned) continue;
      any = true;
      if (c.watermark < min) min = c.watermark;
    }
    if (any && min > last_) {
      last_ = min;
      r.hasWatermark = true;
      r.watermark = Watermark{min};
    }
  }

  std::vector<Channel> channels_;
  Timestamp last_ = kMinWatermark;
  bool idle_ = false;
};

}  // namespace sluice
