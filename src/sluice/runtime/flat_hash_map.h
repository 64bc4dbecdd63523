#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <utility>

namespace sluice {

/// An open-addressing hash map that stores its entries inline in one array (no heap node per
/// entry): the compact table of the heap state backend and the timer sets.
///
/// Layout: a control byte per slot (empty, deleted, or 0x80 | 7 bits of the hash) and a slot
/// array of (key, value) pairs, linear probing from the slot the hash's high bits pick
/// (Fibonacci hashing, so keys with a poor std::hash — identity for integers — still spread).
/// The table grows by doubling when live plus deleted slots would pass 7/8 of the capacity;
/// erasure leaves a tombstone, so slot indexes stay put until the next insertion that grows or
/// rehashes the table (which is what lets incremental TTL cleanup walk the table with a slot
/// cursor). Memory: (sizeof(K)+sizeof(V), aligned) + 1 byte per slot, 44–87% full after growth.
///
/// Pointers to values stay valid until the next insertion (which may rehash); erasure never
/// moves other entries. Not thread-safe.
template <typename K, typename V, typename Hash = std::hash<K>, typename Eq = std::equal_to<K>>
class FlatHashMap {
 public:
  struct Slot {
    K key;
    V value;
  };

  FlatHashMap() = default;
  FlatHashMap(const FlatHashMap&) = delete;
  FlatHashMap& operator=(const FlatHashMap&) = delete;
  FlatHashMap(FlatHashMap&& other) noexcept { swap(other); }
  FlatHashMap& operator=(FlatHashMap&& other) noexcept {
    if (this != &other) {
      FlatHashMap tmp(std::move(other));
      swap(tmp);
    }
    return *this;
  }
  ~FlatHashMap() { destroyAll(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Number of slots (0 or a power of two); slot indexes run from 0 to capacity() - 1.
  size_t capacity() const { return capacity_; }
  /// Bytes held by the slot and control arrays.
  size_t allocatedBytes() const { return capacity_ * (sizeof(Slot) + 1); }

  V* find(const K& key) {
    size_t i = findSlot(key);
    return i == kNone ? nullptr : &slots_[i].value;
  }
  const V* find(const K& key) const { return const_cast<FlatHashMap*>(this)->find(key); }

  /// The value of `key`, inserted as `make()` when absent; second is true when inserted.
  template <typename Make>
  std::pair<V*, bool> tryEmplace(const K& key, Make&& make) {
    size_t h = hashOf(key);
    if (capacity_ != 0) {
      size_t i = probe(key, h);
      if (i != kNone) return {&slots_[i].value, false};
    }
    if ((size_ + deleted_ + 1) * 8 > capacity_ * 7) rehash(size_ * 2 + 2 > capacity_ ? 0 : 1);
    size_t i = firstFree(h);
    if (ctrl_[i] == kDeleted) --deleted_;
    new (&slots_[i]) Slot{key, make()};
    ctrl_[i] = tag(h);
    ++size_;
    return {&slots_[i].value, true};
  }
  V& operator[](const K& key) {
    return *tryEmplace(key, [] { return V{}; }).first;
  }

  /// Removes `key`; false when absent.
  bool erase(const K& key) {
    size_t i = findSlot(key);
    if (i == kNone) return false;
    eraseAt(i);
    return true;
  }
  /// Removes the entry in occupied slot `i`.
  void eraseAt(size_t i) {
    slots_[i].~Slot();
    ctrl_[i] = kDeleted;
    --size_;
    ++deleted_;
    if (size_ == 0) resetControl();
  }
  bool occupied(size_t i) const { return ctrl_[i] >= 0x80; }
  Slot& slotAt(size_t i) { return slots_[i]; }

  /// Calls fn(key, value) for every entry, in slot order. `fn` must not insert.
  template <typename Fn>
  void forEach(Fn&& fn) {
    for (size_t i = 0; i < capacity_; ++i) {
      if (occupied(i)) fn(static_cast<const K&>(slots_[i].key), slots_[i].value);
    }
  }
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (size_t i = 0; i < capacity_; ++i) {
      if (occupied(i)) fn(slots_[i].key, static_cast<const V&>(slots_[i].value));
    }
  }
  void clear() {
    destroyAll();
    capacity_ = size_ = deleted_ = 0;
    slots_ = nullptr;
    ctrl_ = nullptr;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint8_t kEmpty = 0;
  static constexpr uint8_t kDeleted = 1;

  static size_t hashOf(const K& key) {
    return static_cast<size_t>(static_cast<uint64_t>(Hash{}(key)) * 0x9E3779B97F4A7C15ULL);
  }
  static uint8_t tag(size_t h) { return static_cast<uint8_t>(0x80 | (h & 0x7f)); }
  size_t home(size_t h) const { return (h >> shift_) & (capacity_ - 1); }

  size_t findSlot(const K& key) const {
    if (size_ == 0) return kNone;
    return probe(key, hashOf(key));
  }
  size_t probe(const K& key, size_t h) const {
    uint8_t t = tag(h);
    for (size_t i = home(h);; i = (i + 1) & (capacity_ - 1)) {
      uint8_t c = ctrl_[i];
      if (c == kEmpty) return kNone;
      if (c == t && Eq{}(slots_[i].key, key)) return i;
    }
  }
  size_t firstFree(size_t h) const {
    for (size_t i = home(h);; i = (i + 1) & (capacity_ - 1)) {
      if (ctrl_[i] < 0x80) return i;
    }
  }
  // grow: 0 doubles the capacity, 1 keeps it (only tombstones to drop).
  void rehash(int keep) {
    size_t newCap = capacity_ == 0 ? 8 : (keep ? capacity_ : capacity_ * 2);
    Slot* oldSlots = slots_;
    std::unique_ptr<uint8_t[]> oldCtrl = std::move(ctrlOwner_);
    size_t oldCap = capacity_;
    slots_ =
        static_cast<Slot*>(::operator new (newCap * sizeof(Slot), std::align_val_t{alignof(Slot)}));
    ctrlOwner_ = std::make_unique<uint8_t[]>(newCap);  // value-initialized: all kEmpty
    ctrl_ = ctrlOwner_.get();
    capacity_ = newCap;
    shift_ = static_cast<unsigned>(64 - std::countr_zero(newCap));
    deleted_ = 0;
    for (size_t i = 0; i < oldCap; ++i) {
      if (oldCtrl[i] >= 0x80) {
        size_t h = hashOf(oldSlots[i].key);
        size_t j = firstFree(h);
        new (&slots_[j]) Slot(std::move(oldSlots[i]));
        ctrl_[j] = tag(h);
        oldSlots[i].~Slot();
      }
    }
    if (oldSlots) ::operator delete (oldSlots, std::align_val_t{alignof(Slot)});
  }
  void resetControl() {
    // Empty again: drop the tombstones so probes stay short.
    std::memset(ctrl_, kEmpty, capacity_);
    deleted_ = 0;
  }
  void destroyAll() {
    if (!slots_) return;
    for (size_t i = 0; i < capacity_; ++i) {
      if (ctrl_[i] >= 0x80) slots_[i].~Slot();
    }
    ::operator delete (slots_, std::align_val_t{alignof(Slot)});
    slots_ = nullptr;
    ctrlOwner_.reset();
    ctrl_ = nullptr;
  }
  void swap(FlatHashMap& o) noexcept {
    std::swap(slots_, o.slots_);
    std::swap(ctrlOwner_, o.ctrlOwner_);
    std::swap(ctrl_, o.ctrl_);
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
    std::swap(deleted_, o.deleted_);
    std::swap(shift_, o.shift_);
  }

  Slot* slots_ = nullptr;
  std::unique_ptr<uint8_t[]> ctrlOwner_;
  uint8_t* ctrl_ = nullptr;
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t deleted_ = 0;
  unsigned shift_ = 61;
};

}  // namespace sluice
