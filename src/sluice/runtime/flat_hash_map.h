#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
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
/// The table doubles when it would pass 3/4 full (linear probing degrades fast beyond). Erasure
/// shifts the following entries of the probe run back (no tombstones, so probes stay short under
/// insert/erase churn such as timers): it may move entries from later slots into the erased one,
/// never elsewhere. Memory: (sizeof(K)+sizeof(V), aligned) + 1 byte per slot, 37–75% full.
///
/// Pointers to values stay valid until the next insertion or erasure. Not thread-safe.
template <typename K, typename V, typename Hash = std::hash<K>, typename Eq = std::equal_to<K>>
class FlatHashMap {
 public:
  struct Slot {
    K key;
    [[no_unique_address]] V value;  // an empty V (a set) takes no space
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
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    size_t i = firstFree(h);
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
  /// Removes the entry in occupied slot `i`; a later entry of the same probe run may move into
  /// slot `i` (callers walking the slots re-check `i`).
  void eraseAt(size_t i) {
    slots_[i].~Slot();
    ctrl_[i] = kEmpty;
    --size_;
    size_t mask = capacity_ - 1;
    for (size_t j = (i + 1) & mask; ctrl_[j] != kEmpty; j = (j + 1) & mask) {
      size_t h = home(hashOf(slots_[j].key));
      // The entry at j may fill the hole at i when i lies cyclically in [h, j).
      if (((j - h) & mask) >= ((j - i) & mask)) {
        new (&slots_[i]) Slot(std::move(slots_[j]));
        slots_[j].~Slot();
        ctrl_[i] = ctrl_[j];
        ctrl_[j] = kEmpty;
        i = j;
      }
    }
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
    capacity_ = size_ = 0;
    slots_ = nullptr;
    ctrl_ = nullptr;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint8_t kEmpty = 0;

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
      if (ctrl_[i] == kEmpty) return i;
    }
  }
  void grow() {
    size_t newCap = capacity_ == 0 ? 8 : capacity_ * 2;
    Slot* oldSlots = slots_;
    std::unique_ptr<uint8_t[]> oldCtrl = std::move(ctrlOwner_);
    size_t oldCap = capacity_;
    slots_ =
        static_cast<Slot*>(::operator new (newCap * sizeof(Slot), std::align_val_t{alignof(Slot)}));
    ctrlOwner_ = std::make_unique<uint8_t[]>(newCap);  // value-initialized: all kEmpty
    ctrl_ = ctrlOwner_.get();
    capacity_ = newCap;
    shift_ = static_cast<unsigned>(64 - std::countr_zero(newCap));
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
    std::swap(shift_, o.shift_);
  }

  Slot* slots_ = nullptr;
  std::unique_ptr<uint8_t[]> ctrlOwner_;
  uint8_t* ctrl_ = nullptr;
  size_t capacity_ = 0;
  size_t size_ = 0;
  unsigned shift_ = 61;
};

}  // namespace sluice
