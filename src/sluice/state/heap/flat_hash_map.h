#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice {

/// An open-addressing hash map that stores its entries inline (no heap node per entry), with
/// copy-on-write snapshots: the compact table of the heap state backend and the timer sets.
///
/// Layout: a control byte per slot (empty, or 0x80 | 7 bits of the hash) and a (key, value)
/// slot, linear probing from the slot the hash's high bits pick (Fibonacci hashing, so keys with
/// a poor std::hash — identity for integers — still spread). The table doubles when it would
/// pass 3/4 full (linear probing degrades fast beyond). Erasure shifts the following entries of
/// the probe run back (no tombstones, so probes stay short under insert/erase churn such as
/// timers): it may move entries from later slots into the erased one, never elsewhere. Memory:
/// (sizeof(K)+sizeof(V), aligned) + 1 byte per slot, 37–75% full.
///
/// Slots live in chunks of at most kChunkBytes (control bytes and slots of a range of slot
/// indexes in one allocation, reference-counted). freeze() returns a Frozen view that shares
/// every chunk (O(chunks): one atomic increment each, nothing copied). The first write into a
/// shared chunk afterwards copies that chunk alone (its entries by their copy constructors), so
/// the view keeps the state of the freeze and a write pays at most one chunk copy (~32 KiB of
/// slots); a chunk no view shares any more is written in place again. This is the idea of
/// Flink's CopyOnWriteStateMap (snapshot versions, entries copied when written under a
/// snapshot), at chunk granularity because open addressing moves entries between slots.
/// Without a view the write path costs one compare of the chunk's epoch with the table's.
///
/// Pointers to values stay valid until the next insertion, erasure or mutable access (find,
/// slotAt, operator[]), which may copy the chunk. Not thread-safe, except that Frozen views may
/// be read and destroyed on any thread while the table is used on its own.
template <typename K, typename V, typename Hash = std::hash<K>, typename Eq = std::equal_to<K>>
class FlatHashMap {
 public:
  struct Slot {
    K key;
    [[no_unique_address]] V value;  // an empty V (a set) takes no space
  };
  /// Largest chunk: slot bytes per chunk (a chunk has at most kChunkBytes / sizeof(Slot) slots,
  /// rounded down to a power of two, and at least one).
  static constexpr size_t kChunkBytes = 32 * 1024;
  /// True when the table can be frozen (its entries can be copied).
  static constexpr bool kCanFreeze = std::is_copy_constructible_v<Slot>;

 private:
  struct Chunk {
    std::atomic<uint32_t> refs;
    uint32_t slots;
  };
  static constexpr size_t kAlign = std::max(alignof(Slot), alignof(Chunk));
  static constexpr size_t kMaxChunkSlots =
      std::bit_floor(std::max<size_t>(1, kChunkBytes / sizeof(Slot)));

 public:
  /// An immutable view of the table at the time of freeze(): shares the chunks, so it costs
  /// nothing until the table is written. Move-only; releasing it (destructor) drops its chunk
  /// references, freeing chunks the table replaced since. Thread-safe: may be read (size,
  /// forEach) and destroyed on any thread, also while the table goes on being used and written,
  /// and outlives the table.
  class Frozen {
   public:
    Frozen() = default;
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    Frozen(Frozen&& o) noexcept : chunks_(std::move(o.chunks_)), size_(std::exchange(o.size_, 0)) {}
    Frozen& operator=(Frozen&& o) noexcept {
      if (this != &o) {
        releaseAll();
        chunks_ = std::move(o.chunks_);
        size_ = std::exchange(o.size_, 0);
      }
      return *this;
    }
    ~Frozen() { releaseAll(); }

    size_t size() const { return size_; }
    /// Calls fn(key, value) for every entry, in slot order (the order of the table's forEach at
    /// the time of freeze()).
    template <typename Fn>
    void forEach(Fn&& fn) const {
      for (Chunk* c : chunks_) {
        const uint8_t* ctrl = ctrlOf(c);
        const Slot* slots = slotsOf(c);
        for (size_t i = 0; i < c->slots; ++i) {
          if (ctrl[i] >= 0x80) fn(slots[i].key, slots[i].value);
        }
      }
    }

   private:
    friend class FlatHashMap;
    void releaseAll() {
      for (Chunk* c : chunks_) release(c);
      chunks_.clear();
    }
    std::vector<Chunk*> chunks_;
    size_t size_ = 0;
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
  ~FlatHashMap() { releaseChunks(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  /// Number of slots (0 or a power of two); slot indexes run from 0 to capacity() - 1.
  size_t capacity() const { return capacity_; }
  /// Bytes of the slots and control bytes (chunk headers and the chunk index aside).
  size_t allocatedBytes() const { return capacity_ * (sizeof(Slot) + 1); }

  /// The value of `key` for writing (copies its chunk when a Frozen view shares it), or null.
  V* find(const K& key) {
    if (size_ == 0) return nullptr;
    Pos p = locate(key, hashOf(key));
    if (p.ref == nullptr) return nullptr;
    return &writable(*p.ref).slots[p.j].value;
  }
  /// The value of `key` for reading (never copies), or null.
  const V* find(const K& key) const {
    if (size_ == 0) return nullptr;
    Pos p = locate(key, hashOf(key));
    return p.ref == nullptr ? nullptr : &p.ref->slots[p.j].value;
  }
  bool contains(const K& key) const { return findSlot(key) != kNone; }

  /// The value of `key`, inserted as `make()` when absent; second is true when inserted.
  template <typename Make>
  std::pair<V*, bool> tryEmplace(const K& key, Make&& make) {
    size_t h = hashOf(key);
    if (capacity_ != 0) {
      Pos p = locate(key, h);
      if (p.ref != nullptr) return {&writable(*p.ref).slots[p.j].value, false};
    }
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    size_t i = firstFree(h);
    ChunkRef& c = writable(chunks_[i >> chunkShift_]);
    size_t j = i & chunkMask_;
    new (&c.slots[j]) Slot{key, make()};
    c.ctrl[j] = tag(h);
    ++size_;
    return {&c.slots[j].value, true};
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
    {
      ChunkRef& c = writable(chunks_[i >> chunkShift_]);
      c.slots[i & chunkMask_].~Slot();
      c.ctrl[i & chunkMask_] = kEmpty;
    }
    --size_;
    size_t mask = capacity_ - 1;
    for (size_t j = (i + 1) & mask; ctrlAt(j) != kEmpty; j = (j + 1) & mask) {
      size_t h = home(hashOf(slotRef(j).key));
      // The entry at j may fill the hole at i when i lies cyclically in [h, j).
      if (((j - h) & mask) >= ((j - i) & mask)) {
        ChunkRef& cj = writable(chunks_[j >> chunkShift_]);
        ChunkRef& ci = chunks_[i >> chunkShift_];  // made writable when its slot was emptied
        size_t si = i & chunkMask_;
        size_t sj = j & chunkMask_;
        new (&ci.slots[si]) Slot(std::move(cj.slots[sj]));
        cj.slots[sj].~Slot();
        ci.ctrl[si] = cj.ctrl[sj];
        cj.ctrl[sj] = kEmpty;
        i = j;
      }
    }
  }
  bool occupied(size_t i) const { return ctrlAt(i) >= 0x80; }
  /// Slot `i` for writing (copies its chunk when a Frozen view shares it).
  Slot& slotAt(size_t i) { return writableSlot(i); }
  const Slot& slotAt(size_t i) const { return slotRef(i); }

  /// Calls fn(key, value) for every entry, in slot order. `fn` must not change the table.
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (size_t c = 0; c < numChunks_; ++c) {
      const ChunkRef& r = chunks_[c];
      for (size_t i = 0; i <= chunkMask_; ++i) {
        if (r.ctrl[i] >= 0x80) fn(static_cast<const K&>(r.slots[i].key), r.slots[i].value);
      }
    }
  }
  void clear() {
    releaseChunks();
    capacity_ = size_ = numChunks_ = 0;
    chunkShift_ = 0;
    chunkMask_ = 0;
    shift_ = 61;
  }

  /// A view of the table as it is now (see Frozen). O(chunks); throws std::logic_error when
  /// the entries are not copy-constructible (kCanFreeze).
  Frozen freeze() {
    Frozen f;
    if constexpr (!kCanFreeze) {
      throw std::logic_error("FlatHashMap::freeze: entries are not copy-constructible");
    } else {
      f.size_ = size_;
      f.chunks_.reserve(numChunks_);
      for (size_t c = 0; c < numChunks_; ++c) {
        Chunk* chunk = chunks_[c].chunk();
        chunk->refs.fetch_add(1, std::memory_order_relaxed);
        f.chunks_.push_back(chunk);
      }
      ++epoch_;  // every chunk may be shared now: the next write to it checks
    }
    return f;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  static constexpr uint8_t kEmpty = 0;
  // The control byte after a chunk's last slot (neither empty nor a tag).
  static constexpr uint8_t kChunkEnd = 1;

  // One chunk as the table sees it: where its control bytes and slots are, and the table epoch
  // at which the table last made sure it owns the chunk alone (== epoch_: write in place).
  struct ChunkRef {
    uint8_t* ctrl;
    Slot* slots;
    uint64_t epoch;
    Chunk* chunk() const { return reinterpret_cast<Chunk*>(ctrl - sizeof(Chunk)); }
  };

  static size_t slotOffset(size_t n) {
    return (sizeof(Chunk) + n + 1 + kAlign - 1) / kAlign * kAlign;
  }
  static uint8_t* ctrlOf(Chunk* c) { return reinterpret_cast<uint8_t*>(c) + sizeof(Chunk); }
  static Slot* slotsOf(Chunk* c) {
    return reinterpret_cast<Slot*>(reinterpret_cast<char*>(c) + slotOffset(c->slots));
  }
  static Chunk* allocateChunk(size_t n) {
    void* p = ::operator new (slotOffset(n) + n * sizeof(Slot), std::align_val_t{kAlign});
    Chunk* c = new (p) Chunk{};
    c->refs.store(1, std::memory_order_relaxed);
    c->slots = static_cast<uint32_t>(n);
    std::memset(ctrlOf(c), kEmpty, n);
    ctrlOf(c)[n] = kChunkEnd;
    return c;
  }
  // Frees the chunk's memory; its slots must be destroyed (or moved out and destroyed).
  static void deallocateChunk(Chunk* c) {
    c->~Chunk();
    ::operator delete (static_cast<void*>(c), std::align_val_t{kAlign});
  }
  static void destroyChunk(Chunk* c) {
    uint8_t* ctrl = ctrlOf(c);
    Slot* slots = slotsOf(c);
    for (size_t i = 0; i < c->slots; ++i) {
      if (ctrl[i] >= 0x80) slots[i].~Slot();
    }
    deallocateChunk(c);
  }
  // Drops one reference; the last one frees the chunk (on whichever thread drops it).
  static void release(Chunk* c) {
    if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroyChunk(c);
  }
  // True when no Frozen view shares the chunk. Acquire: a view's reads of the chunk happen
  // before its release, hence before the writes that follow.
  static bool ownedAlone(Chunk* c) { return c->refs.load(std::memory_order_acquire) == 1; }
  ChunkRef refOf(Chunk* c) const { return ChunkRef{ctrlOf(c), slotsOf(c), epoch_}; }

  static size_t hashOf(const K& key) {
    return static_cast<size_t>(static_cast<uint64_t>(Hash{}(key)) * 0x9E3779B97F4A7C15ULL);
  }
  static uint8_t tag(size_t h) { return static_cast<uint8_t>(0x80 | (h & 0x7f)); }
  size_t home(size_t h) const { return (h >> shift_) & (capacity_ - 1); }

  uint8_t ctrlAt(size_t i) const { return chunks_[i >> chunkShift_].ctrl[i & chunkMask_]; }
  const Slot& slotRef(size_t i) const { return chunks_[i >> chunkShift_].slots[i & chunkMask_]; }
  Slot& writableSlot(size_t i) { return writable(chunks_[i >> chunkShift_]).slots[i & chunkMask_]; }
  // The chunk of `r`, owned by the table alone (copied first when a Frozen view shares it).
  [[gnu::always_inline]] ChunkRef& writable(ChunkRef& r) {
    if (r.epoch != epoch_) [[unlikely]] {
      unshare(r);
    }
    return r;
  }
  void unshare(ChunkRef& r) {
    if constexpr (kCanFreeze) {
      if (!ownedAlone(r.chunk())) {
        Chunk* copy = copyChunk(r.chunk());
        release(r.chunk());
        r = refOf(copy);
      }
    }
    r.epoch = epoch_;
  }
  static Chunk* copyChunk(Chunk* src) {
    size_t n = src->slots;
    Chunk* c = allocateChunk(n);
    const uint8_t* sctrl = ctrlOf(src);
    const Slot* sslots = slotsOf(src);
    uint8_t* ctrl = ctrlOf(c);
    Slot* slots = slotsOf(c);
    try {
      for (size_t i = 0; i < n; ++i) {
        if (sctrl[i] >= 0x80) {
          new (&slots[i]) Slot(sslots[i]);
          ctrl[i] = sctrl[i];
        }
      }
    } catch (...) {
      destroyChunk(c);
      throw;
    }
    return c;
  }

  size_t findSlot(const K& key) const {
    if (size_ == 0) return kNone;
    Pos p = locate(key, hashOf(key));
    if (p.ref == nullptr) return kNone;
    return (static_cast<size_t>(p.ref - chunks_) << chunkShift_) | p.j;
  }
  // Where `key` is: its chunk and the slot in it; ref null when absent. The control bytes of a
  // chunk end with kChunkEnd, so the scan needs no bounds check per slot.
  struct Pos {
    ChunkRef* ref;
    size_t j;
  };
  [[gnu::always_inline]] Pos locate(const K& key, size_t h) const {
    uint8_t t = tag(h);
    size_t i = home(h);
    ChunkRef* r = &chunks_[i >> chunkShift_];
    size_t j = i & chunkMask_;
    for (;;) {
      uint8_t c = r->ctrl[j];
      if (c == t) {
        if (Eq{}(r->slots[j].key, key)) return Pos{r, j};
      } else if (c < 0x80) {
        if (c == kEmpty) return Pos{nullptr, 0};
        // kChunkEnd: on to the next chunk (the first after the last).
        size_t next = static_cast<size_t>(r - chunks_) + 1;
        r = next == numChunks_ ? chunks_ : r + 1;
        j = 0;
        continue;
      }
      ++j;
    }
  }
  size_t firstFree(size_t h) const {
    for (size_t i = home(h);; i = (i + 1) & (capacity_ - 1)) {
      if (ctrlAt(i) == kEmpty) return i;
    }
  }
  void grow() {
    size_t newCap = capacity_ == 0 ? 8 : capacity_ * 2;
    size_t perChunk = std::min(newCap, kMaxChunkSlots);
    size_t newChunks = newCap / perChunk;
    // The old chunk index (copied: with one chunk it is the inline one, overwritten next).
    std::vector<Chunk*> old(numChunks_);
    for (size_t c = 0; c < numChunks_; ++c) old[c] = chunks_[c].chunk();
    size_t oldChunks = numChunks_;
    setChunkIndex(newChunks);
    for (size_t c = 0; c < newChunks; ++c) chunks_[c] = refOf(allocateChunk(perChunk));
    capacity_ = newCap;
    chunkShift_ = static_cast<unsigned>(std::countr_zero(perChunk));
    chunkMask_ = perChunk - 1;
    shift_ = static_cast<unsigned>(64 - std::countr_zero(newCap));
    for (size_t c = 0; c < oldChunks; ++c) {
      Chunk* chunk = old[c];
      // Entries of a chunk a Frozen view shares are copied (the view keeps the chunk).
      bool alone = ownedAlone(chunk);
      uint8_t* ctrl = ctrlOf(chunk);
      Slot* slots = slotsOf(chunk);
      for (size_t i = 0; i < chunk->slots; ++i) {
        if (ctrl[i] < 0x80) continue;
        size_t h = hashOf(slots[i].key);
        size_t j = firstFree(h);
        ChunkRef& r = chunks_[j >> chunkShift_];
        if constexpr (kCanFreeze) {
          if (!alone) {
            new (&r.slots[j & chunkMask_]) Slot(slots[i]);
            r.ctrl[j & chunkMask_] = tag(h);
            continue;
          }
        }
        new (&r.slots[j & chunkMask_]) Slot(std::move(slots[i]));
        r.ctrl[j & chunkMask_] = tag(h);
        slots[i].~Slot();
      }
      if (alone) {
        deallocateChunk(chunk);
      } else {
        release(chunk);
      }
    }
  }
  // Makes room for `n` chunk references: inline for one chunk (the common small table: no
  // extra cache line on the probe path), else on the heap.
  void setChunkIndex(size_t n) {
    moreChunks_.reset();
    if (n <= 1) {
      chunks_ = &firstChunk_;
    } else {
      moreChunks_ = std::make_unique<ChunkRef[]>(n);
      chunks_ = moreChunks_.get();
    }
    numChunks_ = n;
  }
  void releaseChunks() {
    for (size_t c = 0; c < numChunks_; ++c) release(chunks_[c].chunk());
    setChunkIndex(0);
  }
  void swap(FlatHashMap& o) noexcept {
    std::swap(firstChunk_, o.firstChunk_);
    std::swap(moreChunks_, o.moreChunks_);
    std::swap(numChunks_, o.numChunks_);
    chunks_ = numChunks_ > 1 ? moreChunks_.get() : &firstChunk_;
    o.chunks_ = o.numChunks_ > 1 ? o.moreChunks_.get() : &o.firstChunk_;
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
    std::swap(chunkMask_, o.chunkMask_);
    std::swap(chunkShift_, o.chunkShift_);
    std::swap(shift_, o.shift_);
    std::swap(epoch_, o.epoch_);
  }

  // Hot fields first (one cache line on the probe path).
  ChunkRef* chunks_ = &firstChunk_;
  ChunkRef firstChunk_{};
  unsigned shift_ = 61;
  unsigned chunkShift_ = 0;
  size_t capacity_ = 0;
  size_t chunkMask_ = 0;  // slots per chunk - 1
  size_t size_ = 0;
  uint64_t epoch_ = 0;
  size_t numChunks_ = 0;
  std::unique_ptr<ChunkRef[]> moreChunks_;
};

}  // namespace sluice
