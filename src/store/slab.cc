// Slab memory: size classes, page pool, chunk free lists. See slab.h.
#include "store/slab.h"

#include <cmath>
#include <cstring>
#include <new>

#include "common/assert.h"

namespace fulmar::store {
namespace {

// A free chunk keeps its free-list link where the CAS lives; readers that
// still hold a pointer see the version change before they could use it.
Item* next_free(const Item* it) {
    Item* next;
    std::memcpy(&next, &it->cas, sizeof(next));
    return next;
}
void set_next_free(Item* it, Item* next) {
    std::memcpy(&it->cas, &next, sizeof(next));
}

uint32_t round_up8(double v) {
    return (static_cast<uint32_t>(std::ceil(v)) + 7u) & ~7u;
}

}  // namespace

Slab::Slab(std::span<std::byte> memory, shm::ShardMeta& meta)
    : base_(memory.data()), meta_(meta), classes_(meta.classes), pages_(meta.pages()) {
    meta_.n_pages = static_cast<uint32_t>(memory.size() / kPageSize);
    meta_.region_base = reinterpret_cast<uintptr_t>(base_);
    for (uint32_t p = 0; p < meta_.n_pages; ++p)
        new (&pages_[p]) PageDesc();
    for (SlabClass& c : meta_.classes)
        c = SlabClass{};
    uint32_t n = 0;
    uint32_t size = kMinChunk;
    while (n < kMaxClasses - 1 && size <= kPageSize / 2) {
        classes_[n].chunk_size = size;
        classes_[n].chunks_per_page = static_cast<uint32_t>(kPageSize / size);
        ++n;
        size = round_up8(size * kGrowthFactor);
    }
    classes_[n].chunk_size = static_cast<uint32_t>(kPageSize);
    classes_[n].chunks_per_page = 1;
    ++n;
    meta_.n_classes = n;
    for (size_t i = 0; i < kSmallClassSteps; ++i)
        small_class_[i] = search_class(i * 8);

    for (uint32_t p = meta_.n_pages; p-- > 0;) {
        pages_[p].next = free_pages_head_;
        free_pages_head_ = p;
    }
    n_free_pages_ = meta_.n_pages;
}

uint8_t Slab::class_for(size_t total) const {
    if (total < kSmallClassSteps * 8 - 7) return small_class_[(total + 7) / 8];
    return search_class(total);
}

uint8_t Slab::search_class(size_t total) const {
    if (total > kMaxItemSize) return kNoClass;
    // Binary search over ~45 ascending sizes.
    size_t lo = 0, hi = meta_.n_classes - 1;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (classes_[mid].chunk_size >= total)
            hi = mid;
        else
            lo = mid + 1;
    }
    return static_cast<uint8_t>(lo);
}

void Slab::release_page(uint32_t page_id) {
    PageDesc& pd = pages_[page_id];
    pd.min_expiry = 0;
    pd.next = free_pages_head_;
    free_pages_head_ = page_id;
    ++n_free_pages_;
}

uint32_t Slab::take_free_page() {
    const uint32_t p = free_pages_head_;
    if (p == kNoPage) return kNoPage;
    free_pages_head_ = pages_[p].next;
    pages_[p].next = kNoPage;
    --n_free_pages_;
    return p;
}

void Slab::carve(uint32_t page_id, uint8_t class_id) {
    SlabClass& c = classes_[class_id];
    std::byte* page = base_ + size_t{page_id} * kPageSize;
    // Push in reverse so allocation walks the page front to back.
    for (uint32_t i = c.chunks_per_page; i-- > 0;) {
        auto* it = reinterpret_cast<Item*>(page + size_t{i} * c.chunk_size);
        // Whatever was here before (another class's bytes, or a fresh
        // page) is no reader's business any more: the page changed class
        // only after a grace period. Start from an even version.
        const uint32_t v = it->version.load(std::memory_order_relaxed);
        it->version.store((v | 1u) + 1u, std::memory_order_relaxed);
        it->type_bits = static_cast<uint8_t>(ItemType::kFree);
        it->ref.store(0, std::memory_order_relaxed);
        it->class_id = class_id;
        it->key_len = 0;
        it->value_len = 0;
        set_next_free(it, c.free_head);
        c.free_head = it;
    }
    c.n_free += c.chunks_per_page;
}

void Slab::attach_page(uint32_t page_id, uint8_t class_id) {
    SlabClass& c = classes_[class_id];
    PageDesc& pd = pages_[page_id];
    pd.min_expiry = 0;
    pd.next = c.first_page;
    c.first_page = page_id;
    ++c.n_pages;
    if (c.hand_page == kNoPage) {
        c.hand_page = page_id;
        c.hand_chunk = 0;
    }
    // Release: a reader that finds the new class id also finds carved headers
    // only after the grace period that preceded this attach.
    pd.class_id.store(class_id, std::memory_order_release);
    carve(page_id, class_id);
}

Item* Slab::alloc(uint8_t class_id) {
    SlabClass& c = classes_[class_id];
    if (c.free_head == nullptr) {
        if (n_used_pages() >= page_limit_) return nullptr;
        const uint32_t p = take_free_page();
        if (p == kNoPage) return nullptr;
        attach_page(p, class_id);
    }
    Item* it = c.free_head;
    c.free_head = next_free(it);
    --c.n_free;
    return it;
}

void Slab::free(Item* it) {
    SlabClass& c = classes_[it->class_id];
    it->begin_write();
    it->type_bits = static_cast<uint8_t>(ItemType::kFree);
    it->key_len = 0;
    it->value_len = 0;
    set_next_free(it, c.free_head);
    it->end_write();
    c.free_head = it;
    ++c.n_free;
}

void Slab::detach_page(uint32_t page_id) {
    PageDesc& pd = pages_[page_id];
    const uint8_t class_id = pd.class_id.load(std::memory_order_relaxed);
    FULMAR_CHECK(class_id != kNoClass);
    SlabClass& c = classes_[class_id];
    std::byte* lo = base_ + size_t{page_id} * kPageSize;
    std::byte* hi = lo + kPageSize;

    // Rebuild the free list without this page's chunks (rare: page moves only).
    Item* head = nullptr;
    Item* tail = nullptr;
    uint32_t kept = 0;
    for (Item* it = c.free_head; it != nullptr;) {
        Item* next = next_free(it);
        auto* b = reinterpret_cast<std::byte*>(it);
        if (b < lo || b >= hi) {
            if (tail != nullptr)
                set_next_free(tail, it);
            else
                head = it;
            tail = it;
            ++kept;
        }
        it = next;
    }
    if (tail != nullptr) set_next_free(tail, nullptr);
    c.free_head = head;
    c.n_free = kept;
    // Unlink from the class's page list.
    uint32_t* pl = &c.first_page;
    while (*pl != page_id) {
        FULMAR_CHECK(*pl != kNoPage);
        pl = &pages_[*pl].next;
    }
    *pl = pd.next;
    --c.n_pages;
    if (c.hand_page == page_id) {
        c.hand_page = c.first_page;
        c.hand_chunk = 0;
    }
    pd.next = kNoPage;
    pd.class_id.store(kNoClass, std::memory_order_release);
}

}  // namespace fulmar::store
