#include "sluice/api/data_stream.h"

namespace sluice::detail {

StreamNode makeNode(std::string name, std::shared_ptr<const OperatorFactory> factory,
                    std::shared_ptr<const TypeInfo> outputType) {
  StreamNode node;
  node.name = std::move(name);
  node.factory = std::move(factory);
  node.outputType = std::move(outputType);
  return node;
}

}  // namespace sluice::detail
