#include "sluice/runtime/type_info.h"

namespace sluice {

const char* partitionerName(PartitionerKind kind) {
  switch (kind) {
    case PartitionerKind::kForward:
      return "FORWARD";
    case PartitionerKind::kRebalance:
      return "REBALANCE";
    case PartitionerKind::kRescale:
      return "RESCALE";
    case PartitionerKind::kShuffle:
      return "SHUFFLE";
    case PartitionerKind::kBroadcast:
      return "BROADCAST";
    case PartitionerKind::kGlobal:
      return "GLOBAL";
    case PartitionerKind::kHash:
      return "HASH";
    case PartitionerKind::kCustom:
      return "CUSTOM";
  }
  return "UNKNOWN";
}

}  // namespace sluice
