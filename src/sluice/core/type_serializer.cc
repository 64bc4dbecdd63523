#include "sluice/core/type_serializer.h"

#include <fmt/format.h>

namespace sluice::detail {

void throwInvalidFlagByte(const char* what, uint8_t value, size_t offset) {
  throw SerializationException(fmt::format(
      "corrupt {} byte 0x{:02x} at offset {}: expected 0x00 or 0x01", what, value, offset));
}

void throwDuplicateMapKey(size_t entryIndex, size_t offset) {
  throw SerializationException(
      fmt::format("corrupt map: entry {} at offset {} repeats an earlier key", entryIndex, offset));
}

void throwTrailingBytes(size_t trailing, size_t consumed) {
  throw SerializationException(fmt::format(
      "trailing {} byte{} after the value (the value ended at offset {}); the bytes do not hold "
      "exactly one value of the requested type",
      trailing, trailing == 1 ? "" : "s", consumed));
}

void throwTooManyZeroByteElements(size_t count, size_t offset) {
  throw SerializationException(
      fmt::format("corrupt element count {} at offset {}: more than {} elements that take no bytes",
                  count, offset, kMaxZeroByteElements));
}

}  // namespace sluice::detail
