#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sluice/core/exceptions.h"

namespace sluice {

/// Growable byte sink that serializers write into (Flink's DataOutputSerializer).
///
/// Fixed-width values are written in the host's byte order, which Sluice requires to be
/// little-endian; lengths and counts are unsigned LEB128 varints. The buffer is reused
/// across records: `clear()` keeps the capacity, so steady-state writing never allocates.
/// Not thread-safe.
class DataOutputView {
 public:
  DataOutputView() { buf_.reserve(256); }

  void clear() { buf_.clear(); }
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  std::vector<uint8_t>& bytes() { return buf_; }

  void writeBytes(const void* p, size_t n) {
    size_t old = buf_.size();
    buf_.resize(old + n);
    if (n) std::memcpy(buf_.data() + old, p, n);
  }

  /// Writes a trivially copyable value (arithmetic, enum) as its raw little-endian bytes.
  template <typename T>
  void writeRaw(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    size_t old = buf_.size();
    buf_.resize(old + sizeof(T));
    std::memcpy(buf_.data() + old, &v, sizeof(T));
  }

  void writeVarUint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }

  void writeString(std::string_view s) {
    writeVarUint(s.size());
    writeBytes(s.data(), s.size());
  }

 private:
  std::vector<uint8_t> buf_;
};

/// Bounds-checked reader over a contiguous byte range (Flink's DataInputDeserializer).
///
/// Every read checks the remaining length first and throws SerializationException on
/// truncated input, naming the offset; it never reads past `end`. Does not own the bytes.
/// Not thread-safe.
class DataInputView {
 public:
  DataInputView() = default;
  DataInputView(const uint8_t* p, size_t n) : begin_(p), pos_(p), end_(p + n) {}

  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  size_t position() const { return static_cast<size_t>(pos_ - begin_); }
  bool atEnd() const { return pos_ == end_; }
  const uint8_t* current() const { return pos_; }

  void readBytes(void* dst, size_t n) {
    require(n);
    if (n) std::memcpy(dst, pos_, n);
    pos_ += n;
  }

  template <typename T>
  T readRaw() {
    static_assert(std::is_trivially_copyable_v<T>);
    require(sizeof(T));
    T v;
    std::memcpy(&v, pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  uint64_t readVarUint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      require(1);
      uint8_t b = *pos_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw SerializationException("corrupt varint at offset " + std::to_string(position()));
  }

  /// Reads a varint length and checks that at least `length * minElementBytes` bytes remain,
  /// so corrupt counts fail cleanly instead of allocating absurd amounts of memory.
  size_t readLength(size_t minElementBytes = 1) {
    size_t at = position();
    uint64_t n = readVarUint();
    if (minElementBytes > 0 && n > remaining() / minElementBytes) {
      throw SerializationException("corrupt length " + std::to_string(n) + " at offset " +
                                   std::to_string(at) + ": only " + std::to_string(remaining()) +
                                   " bytes remain");
    }
    return static_cast<size_t>(n);
  }

  void readString(std::string& s) {
    size_t n = readLength(1);
    s.assign(reinterpret_cast<const char*>(pos_), n);
    pos_ += n;
  }

  void skip(size_t n) {
    require(n);
    pos_ += n;
  }

 private:
  void require(size_t n) const {
    if (static_cast<size_t>(end_ - pos_) < n) {
      throw SerializationException("truncated input: needed " + std::to_string(n) +
                                   " bytes at offset " + std::to_string(position()) + " but only " +
                                   std::to_string(remaining()) + " remain");
    }
  }

  const uint8_t* begin_ = nullptr;
  const uint8_t* pos_ = nullptr;
  const uint8_t* end_ = nullptr;
};

}  // namespace sluice
