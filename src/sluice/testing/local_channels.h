#pragma once

// Input channels for tests that wire producers to a gate or a task by hand.

#include <memory>
#include <vector>

#include "sluice/network/input_channel.h"

namespace sluice::testing {

/// One LocalInputChannel per partition in `partitions`, reading its subpartition 0, in order;
/// registers partition i in `manager` as (edge 0, subtask i). `manager` and the partitions must
/// outlive the channels.
inline std::vector<std::unique_ptr<InputChannel>> localChannels(
    ResultPartitionManager& manager, const std::vector<ResultPartition*>& partitions) {
  std::vector<std::unique_ptr<InputChannel>> channels;
  for (size_t i = 0; i < partitions.size(); ++i) {
    ResultPartitionId id{0, static_cast<int>(i)};
    manager.registerPartition(id, *partitions[i]);
    channels.push_back(std::make_unique<LocalInputChannel>(static_cast<int>(i), manager, id, 0));
  }
  return channels;
}

}  // namespace sluice::testing
