// Slab memory: one region cut into 1 MiB pages, pages given to size classes,
// classes cut pages into equal chunks kept on a free list.
//
// Owned by the shard's owner lcore; readers on other lcores only call
// `chunk_size_of` (through the page table, whose class bytes are atomic).
//
//   region: | page 0 | page 1 | page 2 | ...                 | page N-1 |
//   page (class c, chunk size s): | chunk 0 | chunk 1 | ... | chunk k-1 | waste |
//   PageDesc[N]: class id (kNoClass = free), next page of the same class,
//                earliest exptime stored in the page (for the TTL sweep)
//
// Size classes start at 64 bytes and grow by 1.25 (rounded up to 8 bytes),
// as memcached's -n 48 -f 1.25 does; the last class is a whole page, which is
// also the largest item. A page is carved into its class's chunks at once
// when assigned, so the free list is the only allocator state.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "store/item.h"

namespace fulmar::store {

inline constexpr size_t kPageSize = size_t{1} << 20;
inline constexpr size_t kMinChunk = 64;
inline constexpr double kGrowthFactor = 1.25;
inline constexpr size_t kMaxClasses = 64;
inline constexpr uint8_t kNoClass = 0xff;
inline constexpr uint32_t kNoPage = UINT32_MAX;
// The largest item (header + key + value) is a whole page, as memcached's
// default item_size_max of 1 MiB.
inline constexpr size_t kMaxItemSize = kPageSize;

struct PageDesc {
    std::atomic<uint8_t> class_id{kNoClass};  // owner writes, readers read (chunk bounds)
    uint32_t next = kNoPage;                  // next page of the class, or of the free pool
    UnixTime min_expiry = 0;                  // earliest exptime stored since last sweep; 0 none
};

struct SlabClass {
    uint32_t chunk_size = 0;
    uint32_t chunks_per_page = 0;
    Item* free_head = nullptr;
    uint32_t n_free = 0;
    uint32_t n_pages = 0;
    uint32_t first_page = kNoPage;
    // CLOCK hand: the next chunk to look at.
    uint32_t hand_page = kNoPage;
    uint32_t hand_chunk = 0;
    // Counters (owner writes).
    uint64_t n_live = 0;
    uint64_t evictions = 0;
    uint64_t window_evictions = 0;  // since the last rebalance decision
};

class Slab {
  public:
    // `memory` must be page-aligned in size; it is not owned.
    explicit Slab(std::span<std::byte> memory);
    Slab(const Slab&) = delete;
    Slab& operator=(const Slab&) = delete;

    size_t n_classes() const { return n_classes_; }
    const SlabClass& cls(uint8_t id) const { return classes_[id]; }
    SlabClass& cls(uint8_t id) { return classes_[id]; }

    // Smallest class whose chunks hold `total` bytes, or kNoClass.
    uint8_t class_for(size_t total) const;

    // Pops a free chunk of the class, taking a page from the free pool when
    // the class has none. The chunk comes back with version even, type kFree.
    // nullptr: no free chunk and no free page (the caller evicts).
    Item* alloc(uint8_t class_id);
    // Returns a chunk to its class: new version, type kFree.
    void free(Item* it);

    uint32_t n_pages() const { return n_pages_; }
    uint32_t n_free_pages() const { return n_free_pages_; }
    PageDesc& page(uint32_t id) { return pages_[id]; }
    Item* chunk(uint32_t page_id, uint32_t index) {
        return reinterpret_cast<Item*>(base_ + size_t{page_id} * kPageSize +
                                       size_t{index} *
                                           classes_[pages_[page_id].class_id].chunk_size);
    }
    uint32_t page_of(const void* p) const {
        return static_cast<uint32_t>((static_cast<const std::byte*>(p) - base_) / kPageSize);
    }
    bool contains(const void* p) const {
        auto b = static_cast<const std::byte*>(p);
        return b >= base_ && b < base_ + size_t{n_pages_} * kPageSize;
    }
    // Any thread: capacity of the chunk holding `it`, 0 if its page is in
    // transit between classes.
    uint32_t chunk_size_of(const Item* it) const;

    // Page moves (owner). Detaches a page from its class: its free chunks
    // leave the free list; its live chunks must already be freed.
    void detach_page(uint32_t page_id);
    // Gives a detached page to a class and carves it into free chunks.
    void attach_page(uint32_t page_id, uint8_t class_id);
    // Takes a page from the free pool, kNoPage if empty.
    uint32_t take_free_page();

  private:
    void carve(uint32_t page_id, uint8_t class_id);
    uint8_t search_class(size_t total) const;

    std::byte* base_;
    uint32_t n_pages_;
    uint32_t n_free_pages_ = 0;
    uint32_t free_pages_head_ = kNoPage;
    size_t n_classes_ = 0;
    std::array<SlabClass, kMaxClasses> classes_{};
    // class_for() of small items in one load: entry i is the class of an
    // item of 8*i bytes (most items are small; larger ones binary-search).
    static constexpr size_t kSmallClassSteps = 257;  // up to 2 KiB
    std::array<uint8_t, kSmallClassSteps> small_class_{};
    std::unique_ptr<PageDesc[]> pages_;
};

}  // namespace fulmar::store
