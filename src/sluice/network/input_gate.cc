#include "sluice/network/input_gate.h"

namespace sluice {

InputGate::InputGate(std::vector<ResultSubpartition*> channels, std::function<void()> onAvailable)
    : channels_(std::move(channels)),
      onAvailable_(std::move(onAvailable)),
      queued_(channels_.size(), false) {}

InputGate::~InputGate() { disconnect(); }

void InputGate::connect() {
  for (size_t i = 0; i < channels_.size(); ++i) {
    channels_[i]->setListener(this, static_cast<int>(i));
  }
}

void InputGate::disconnect() {
  for (auto* c : channels_) c->setListener(nullptr, -1);
}

void InputGate::notifyDataAvailable(int channelIndex) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!queued_[static_cast<size_t>(channelIndex)]) {
      queued_[static_cast<size_t>(channelIndex)] = true;
      wake = withData_.empty();
      withData_.push_back(channelIndex);
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
      if (withData_.empty()) return std::nullopt;
      channel = withData_.front();
      withData_.pop_front();
      queued_[static_cast<size_t>(channel)] = false;
    }
    bool more = false;
    BufferPtr buffer = channels_[static_cast<size_t>(channel)]->poll(more);
    if (more) {
      std::lock_guard lock(mutex_);
      if (!queued_[static_cast<size_t>(channel)]) {
        queued_[static_cast<size_t>(channel)] = true;
        withData_.push_back(channel);
      }
    }
    if (buffer) return BufferOrEvent{std::move(buffer), channel};
  }
}

}  // namespace sluice
