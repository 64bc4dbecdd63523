#include "sluice/network/input_channel.h"

namespace sluice {

void LocalInputChannel::requestSubpartition(BufferAvailabilityListener& listener) {
  if (view_)
    throw SluiceException("input channel " + std::to_string(channelIndex()) +
                          " already requested its subpartition");
  view_ = partitions_->createSubpartitionView(partition_, subpartition_, listener, channelIndex());
}

BufferPtr LocalInputChannel::pollNext(bool& moreAvailable) {
  if (!view_) {
    moreAvailable = false;
    return nullptr;
  }
  return view_->pollNext(moreAvailable);
}

void LocalInputChannel::releaseAllResources() {
  if (view_) view_->releaseAllResources();
}

}  // namespace sluice
