// Slab memory: one region cut into 1 MiB pages, pages given to size classes,
// classes cut pages into equal chunks kept on a free list.
//
// Owned by the shard's owner lcore; readers on other lcores (and in other
// processes) only call `chunk_size_in` (through the page table, whose class
// bytes are atomic). The class table and the page table live in the shard's
// ShardMeta (shm/layout.h), in shared memory, so a secondary process finds
// the chunk bounds it needs; the slab keeps only a look-up table of its own.
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

#include "shm/layout.h"
#include "store/item.h"

namespace fulmar::store {

inline constexpr size_t kPageSize = size_t{1} << 20;
inline constexpr size_t kMinChunk = 64;
inline constexpr double kGrowthFactor = 1.25;
using shm::kMaxClasses;
using shm::kNoClass;
using shm::kNoPage;
// The largest item (header + key + value) is a whole page, as memcached's
// default item_size_max of 1 MiB.
inline constexpr size_t kMaxItemSize = kPageSize;

using PageDesc = shm::PageDesc;
using SlabClass = shm::SlabClass;

// Any thread, any process: capacity of the chunk holding `it` in the region
// starting at `base` described by `meta`; 0 if its page is in transit
// between classes.
inline uint32_t chunk_size_in(const shm::ShardMeta& meta, const std::byte* base, const Item* it) {
    const auto page =
        static_cast<size_t>((reinterpret_cast<const std::byte*>(it) - base) / kPageSize);
    const uint8_t cls = meta.pages()[page].class_id.load(std::memory_order_acquire);
    return cls == kNoClass ? 0 : meta.classes[cls].chunk_size;
}

class Slab {
  public:
    // `memory` must be page-aligned in size; `meta` has room for its pages
    // (ShardMeta::bytes_for). Neither is owned. Fills in meta's geometry.
    Slab(std::span<std::byte> memory, shm::ShardMeta& meta);
    Slab(const Slab&) = delete;
    Slab& operator=(const Slab&) = delete;

    size_t n_classes() const { return meta_.n_classes; }
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

    uint32_t n_pages() const { return meta_.n_pages; }
    uint32_t n_free_pages() const { return n_free_pages_; }
    uint32_t n_used_pages() const { return meta_.n_pages - n_free_pages_; }
    // At most `n` pages in classes (Redis's maxmemory): alloc() takes no free
    // page past it (the caller evicts, or fails). Default: every page.
    void set_page_limit(uint32_t n) { page_limit_ = n; }
    uint32_t page_limit() const { return page_limit_; }
    // A detached page back to the free pool (a maxmemory that shrank).
    void release_page(uint32_t page_id);
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
        return b >= base_ && b < base_ + size_t{meta_.n_pages} * kPageSize;
    }
    // Any thread: capacity of the chunk holding `it`, 0 if its page is in
    // transit between classes.
    uint32_t chunk_size_of(const Item* it) const { return chunk_size_in(meta_, base_, it); }

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
    shm::ShardMeta& meta_;
    SlabClass* classes_;  // meta_.classes
    PageDesc* pages_;     // meta_.pages()
    uint32_t n_free_pages_ = 0;
    uint32_t page_limit_ = UINT32_MAX;
    uint32_t free_pages_head_ = kNoPage;
    // class_for() of small items in one load: entry i is the class of an
    // item of 8*i bytes (most items are small; larger ones binary-search).
    static constexpr size_t kSmallClassSteps = 257;  // up to 2 KiB
    std::array<uint8_t, kSmallClassSteps> small_class_{};
};

}  // namespace fulmar::store
