#include "sluice/network/input_gate.h"

#include <algorithm>

#include "sluice/core/exceptions.h"

namespace sluice {

InputGate::InputGate(std::vector<std::unique_ptr<InputChannel>> channels,
                     std::function<void()> onAvailable)
    : channels_(std::move(channels)),
      onAvailable_(std::move(onAvailable)),
      queued_(channels_.size(), false),
      blocked_(channels_.size(), false) {
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (!channels_[i] || channels_[i]->channelIndex() != static_cast<int>(i)) {
      throw SluiceException("input gate: channel " + std::to_string(i) +
                            " is missing or has another index");
    }
  }
}

InputGate::~InputGate() { disconnect(); }

void InputGate::connect() {
  for (auto& c : channels_) c->requestSubpartition(*this);
}

void InputGate::disconnect() {
  for (auto& c : channels_) c->releaseAllResources();
}

void InputGate::notifyDataAvailable(int channelIndex) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!queued_[static_cast<size_t>(channelIndex)]) {
      queued_[static_cast<size_t>(channelIndex)] = true;
      if (blocked_[static_cast<size_t>(channelIndex)]) {
        parked_.push_back(channelIndex);
      } else {
        wake = withData_.empty();
        withData_.push_back(channelIndex);
      }
    }
  }
  if (wake && onAvailable_) onAvailable_();
}

void InputGate::notifyPriorityEvent(int channelIndex) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    const auto c = static_cast<size_t>(channelIndex);
    if (blocked_[c]) {
      if (!queued_[c]) {
        queued_[c] = true;
        parked_.push_back(channelIndex);
      }
    } else {
      if (queued_[c]) {
        auto it = std::find(withData_.begin(), withData_.end(), channelIndex);
        if (it != withData_.end()) withData_.erase(it);
      }
      queued_[c] = true;
      wake = withData_.empty();
      withData_.push_front(channelIndex);
    }
  }
  if (wake && onAvailable_) onAvailable_();
}

bool InputGate::hasData() const {
  std::lock_guard lock(mutex_);
  return !withData_.empty();
}

std::optional<InputGate::BufferOrEvent> InputGate::pollNext() {
  while (true) {
    int channel;
    {
      std::lock_guard lock(mutex_);
      while (true) {
        if (withData_.empty()) return std::nullopt;
        channel = withData_.front();
        withData_.pop_front();
        if (!blocked_[static_cast<size_t>(channel)]) break;
        parked_.push_back(channel);  // stays announced; served again on resume
      }
      queued_[static_cast<size_t>(channel)] = false;
    }
    bool more = false;
    BufferPtr buffer = channels_[static_cast<size_t>(channel)]->pollNext(more);
    if (more) {
      std::lock_guard lock(mutex_);
      if (!queued_[static_cast<size_t>(channel)]) {
        queued_[static_cast<size_t>(channel)] = true;
        if (blocked_[static_cast<size_t>(channel)]) {
          parked_.push_back(channel);
        } else {
          withData_.push_back(channel);
        }
      }
    }
    if (buffer) return BufferOrEvent{std::move(buffer), channel};
  }
}

void InputGate::blockChannel(int channel) {
  std::lock_guard lock(mutex_);
  if (!blocked_.at(static_cast<size_t>(channel))) {
    blocked_[static_cast<size_t>(channel)] = true;
    ++numBlocked_;
  }
}

void InputGate::resumeAllChannels() {
  bool wake = false;
  std::vector<int> resumed;
  {
    std::lock_guard lock(mutex_);
    if (numBlocked_ == 0) return;
    for (size_t c = 0; c < blocked_.size(); ++c) {
      if (blocked_[c]) resumed.push_back(static_cast<int>(c));
    }
    std::fill(blocked_.begin(), blocked_.end(), false);
    numBlocked_ = 0;
    wake = withData_.empty() && !parked_.empty();
    for (int channel : parked_) withData_.push_back(channel);
    parked_.clear();
  }
  for (int c : resumed) channels_[static_cast<size_t>(c)]->resumeConsumption();
  if (wake && onAvailable_) onAvailable_();
}

bool InputGate::isBlocked(int channel) const {
  std::lock_guard lock(mutex_);
  return blocked_.at(static_cast<size_t>(channel));
}

int InputGate::numBlockedChannels() const {
  std::lock_guard lock(mutex_);
  return numBlocked_;
}

}  // namespace sluice
