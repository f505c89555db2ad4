// The lock-free read path and attaching a view by name; see shard_view.h.
#include "store/shard_view.h"

#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "common/small_bytes.h"
#include "store/exptime.h"
#include "store/index.h"
#include "store/slab.h"

namespace fulmar::store {
namespace {

// A reader that keeps meeting writes on one key gives up and reports a miss
// rather than spin: a cache may miss, it may not stall the lcore.
constexpr int kReadRetries = 8;

}  // namespace

std::string_view attach_status_text(AttachStatus s) {
    switch (s) {
        case AttachStatus::kNoMeta:
            return "no shard metadata zone (is the dataplane running with this --file-prefix?)";
        case AttachStatus::kNoRegion:
            return "the shard's item memory zone is missing";
        case AttachStatus::kNoIndex:
            return "the shard's index (rte_hash) is missing";
        case AttachStatus::kBadMagic:
            return "the shard metadata zone does not hold Fulmar shard metadata";
        case AttachStatus::kBadVersion:
            return "the dataplane uses another shared-memory layout version";
        case AttachStatus::kBadGeometry:
            return "the shard's item memory disagrees with its metadata";
    }
    return "unknown attach status";
}

Result<ShardView, AttachStatus> ShardView::attach(std::string_view name) {
    const std::string region_name = shm::region_zone_name(name);
    const rte_memzone* meta_mz = rte_memzone_lookup(shm::meta_zone_name(name).c_str());
    if (meta_mz == nullptr) return Err{AttachStatus::kNoMeta};
    const auto* meta = static_cast<const shm::ShardMeta*>(meta_mz->addr);
    if (meta_mz->len < sizeof(shm::ShardMeta) || meta->magic != shm::kShardMagic)
        return Err{AttachStatus::kBadMagic};
    if (meta->layout_version != shm::kLayoutVersion) return Err{AttachStatus::kBadVersion};
    if (meta_mz->len < shm::ShardMeta::bytes_for(meta->n_pages))
        return Err{AttachStatus::kBadGeometry};
    const rte_memzone* region_mz = rte_memzone_lookup(region_name.c_str());
    if (region_mz == nullptr) return Err{AttachStatus::kNoRegion};
    if (reinterpret_cast<uintptr_t>(region_mz->addr) != meta->region_base ||
        region_mz->len < size_t{meta->n_pages} * kPageSize)
        return Err{AttachStatus::kBadGeometry};
    const rte_hash* h = rte_hash_find_existing(shm::index_name(name).c_str());
    if (h == nullptr) return Err{AttachStatus::kNoIndex};
    return ShardView(meta, static_cast<const std::byte*>(region_mz->addr), h);
}

bool ShardView::is_flushed(const Item* it, UnixTime now) const {
    const UnixTime oldest_live = meta_->oldest_live.load(std::memory_order_relaxed);
    if (oldest_live == 0 || oldest_live > now) return false;
    const uint64_t oldest_cas = meta_->oldest_cas.load(std::memory_order_relaxed);
    return it->time <= oldest_live || (oldest_cas != 0 && it->cas != 0 && it->cas < oldest_cas);
}

ShardView::TryRead ShardView::try_read(Item* it, const KeyRef& k, UnixTime now,
                                       std::span<char> value_out, ItemMeta& meta,
                                       ReadStatus& status, bool strings_only) const {
    const uint32_t v1 = it->version.load(std::memory_order_acquire);
    if (v1 & 1u) {
        rte_pause();
        return TryRead::kRetry;
    }
    // Bound every copy by the chunk: a header read mid-write may hold any
    // lengths.
    const uint32_t cap = chunk_size_in(*meta_, base_, it);
    Item h;
    std::memcpy(static_cast<void*>(&h), it, sizeof(Item));
    if (cap == 0 || h.type() == ItemType::kFree ||
        size_t{h.key_len} + h.value_len + sizeof(Item) > cap) {
        return TryRead::kRetry;
    }
    // Keys and small values inline (common/small_bytes.h): a libc call
    // costs more than the bytes of a 16-byte key.
    const bool key_ok =
        h.key_len == k.key.size() && equal_small(it->key_ptr(), k.key.data(), h.key_len);
    const bool fits = h.value_len <= value_out.size();
    if (key_ok && fits) copy_small(value_out.data(), it->key_ptr() + h.key_len, h.value_len);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (it->version.load(std::memory_order_relaxed) != v1) return TryRead::kRetry;
    // Consistent copy. Another key here means the chunk was reused since
    // the look-up: look again.
    if (!key_ok) return TryRead::kRetry;
    // No flush_all horizon (the usual case) is one load, inline.
    if (is_expired(h.exptime, now) ||
        (meta_->oldest_live.load(std::memory_order_relaxed) != 0 && is_flushed(&h, now)) ||
        (strings_only && h.type() != ItemType::kString)) {
        status =
            !strings_only && is_expired(h.exptime, now) ? ReadStatus::kExpired : ReadStatus::kMiss;
        return TryRead::kDone;
    }
    meta = ItemMeta{h.client_flags,
                    h.exptime,
                    h.cas,
                    h.value_len,
                    h.time,
                    h.type_bits,
                    static_cast<uint16_t>(h.expire_ms),
                    it};
    if (!fits) {
        status = ReadStatus::kBufferTooSmall;
        return TryRead::kDone;
    }
    it->touch_ref();
    status = ReadStatus::kHit;
    return TryRead::kDone;
}

ReadStatus ShardView::read_as(const KeyRef& k, UnixTime now, std::span<char> value_out,
                              ItemMeta& meta, bool strings_only) const {
    for (int attempt = 0; attempt < kReadRetries; ++attempt) {
        Item* it = index_find(index_, k.digest);
        if (it == nullptr) return ReadStatus::kMiss;
        ReadStatus st;
        if (try_read(it, k, now, value_out, meta, st, strings_only) == TryRead::kDone) return st;
    }
    return ReadStatus::kMiss;
}

void ShardView::read_bulk(std::span<BulkRead> reads, UnixTime now) const {
    Item* items[kIndexBulkMax];
    for (size_t base = 0; base < reads.size(); base += kIndexBulkMax) {
        const auto n = static_cast<unsigned>(std::min<size_t>(kIndexBulkMax, reads.size() - base));
        BulkRead* const rs = reads.data() + base;
        // The digests straight from the reads, the hits as a mask (no
        // pointer array to build, no pass to clear the misses' items).
        const uint64_t hits = index_find_bulk_mask(
            index_, n, [rs](unsigned i) { return &rs[i].key->digest; }, items);
        // Every item's first two cache lines are in flight before the first
        // copy: the header's, and the next, where a small item's value
        // usually ends (a 32-byte header, then key and value).
        for (uint64_t h = hits; h != 0; h &= h - 1) {
            const Item* it = items[std::countr_zero(h)];
            rte_prefetch0(it);
            rte_prefetch0(reinterpret_cast<const char*>(it) + RTE_CACHE_LINE_SIZE);
        }
        for (unsigned i = 0; i < n; ++i) {
            BulkRead& r = rs[i];
            r.status = ReadStatus::kMiss;
            if ((hits & (uint64_t{1} << i)) == 0) continue;
            if (try_read(items[i], *r.key, now, r.value_out, r.meta, r.status, true) ==
                TryRead::kRetry)
                r.status = read(*r.key, now, r.value_out, r.meta);
        }
    }
}

uint64_t ShardView::n_items() const {
    uint64_t n = 0;
    for (size_t c = 0; c < meta_->n_classes; ++c)
        n += meta_->classes[c].n_live;
    return n;
}

uint32_t ShardView::index_capacity() const {
    return static_cast<uint32_t>(rte_hash_max_key_id(index_));
}

}  // namespace fulmar::store
