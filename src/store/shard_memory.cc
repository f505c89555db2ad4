// The shard's memory management: chunk allocation under pressure, the CLOCK
// hand, page moves between classes, index slots, and the TTL sweep.
#include <rte_cycles.h>
#include <rte_pause.h>

#include <algorithm>

#include "common/assert.h"
#include "store/exptime.h"
#include "store/shard.h"

namespace fulmar::store {
namespace {

// Shard-wide evictions between two rebalance decisions, and how lopsided
// the eviction rates per page must be before a page moves. A window of 4096
// keeps a decision cheap next to the evictions it follows; a factor of 4
// keeps a steady mix from shuffling pages back and forth.
constexpr uint64_t kRebalanceWindow = 4096;
constexpr uint64_t kRebalanceRatio = 4;
// A set retries this many evictions when the index has no free slot.
constexpr int kIndexFullRetries = 16;

}  // namespace

void Shard::release(Item* it) {
    if (!clearing_ && logging()) log_delete(*it);
    const KeyDigest d = digest_key(it->key());
    // The index may point at another item under this digest (a collision
    // replaced it): erase only our own entry.
    if (index_.find(d) == it) index_.erase(d);
    if (it->exptime != 0) --n_ttl_items_;
    --slab_.cls(it->class_id).n_live;
    slab_.free(it);
}

void Shard::note_expiry(const Item* it) {
    if (it->exptime == 0) return;
    const uint32_t p = slab_.page_of(it);
    PageDesc& pd = slab_.page(p);
    if (pd.min_expiry == 0 || it->exptime < pd.min_expiry) pd.min_expiry = it->exptime;
    if (p == sweep_page_ && (sweep_min_ == 0 || it->exptime < sweep_min_)) sweep_min_ = it->exptime;
}

StoreStatus Shard::link(const KeyRef& k, Item* fresh) {
    for (int attempt = 0; attempt <= kIndexFullRetries; ++attempt) {
        if (index_.upsert(k.digest, fresh) == IndexStatus::kOk) return StoreStatus::kStored;
        // No key slot: free one by evicting from the same class (an
        // undersized index trades hit ratio, never correctness).
        ++stats_.index_full;
        if (!evict_ || !evict_one(fresh->class_id, 0)) break;
    }
    return StoreStatus::kNoMemory;
}

Item* Shard::alloc_chunk(uint8_t class_id, UnixTime now) {
    if (Item* it = slab_.alloc(class_id)) return it;
    if (!evict_) return nullptr;  // noeviction: the store fails instead
    const SlabClass& c = slab_.cls(class_id);
    if (c.n_pages > 0 && evict_one(class_id, now)) {
        maybe_rebalance(now);
        if (Item* it = slab_.alloc(class_id)) return it;
    }
    // The class owns no page (or everything in it is pinned): take a page
    // from the class that holds the most.
    const uint8_t victim = fullest_class(class_id);
    if (victim != kNoClass && move_page(victim, class_id, now)) return slab_.alloc(class_id);
    return nullptr;
}

uint8_t Shard::fullest_class(uint8_t except) const {
    uint8_t victim = kNoClass;
    uint32_t most = 0;
    for (size_t i = 0; i < slab_.n_classes(); ++i) {
        const auto id = static_cast<uint8_t>(i);
        if (id != except && slab_.cls(id).n_pages > most) {
            most = slab_.cls(id).n_pages;
            victim = id;
        }
    }
    return victim;
}

uint32_t Shard::set_memory_policy(uint32_t max_pages, bool evict, UnixTime now) {
    evict_ = evict;
    const uint32_t limit = std::min(max_pages, slab_.n_pages());
    slab_.set_page_limit(limit);
    uint32_t given = 0;
    while (slab_.n_used_pages() > limit) {
        const uint8_t victim = fullest_class(kNoClass);
        if (victim == kNoClass) break;
        const uint32_t page = empty_page(victim, now);
        if (page == kNoPage) break;
        slab_.release_page(page);
        ++given;
    }
    return given;
}

bool Shard::evict_one(uint8_t class_id, UnixTime now) {
    SlabClass& c = slab_.cls(class_id);
    if (c.n_pages == 0) return false;
    // Two turns of the hand clear every ref bit once, so a victim is found
    // unless every chunk is free or pinned.
    const uint64_t limit = uint64_t{2} * c.n_pages * c.chunks_per_page + 1;
    for (uint64_t step = 0; step < limit; ++step) {
        if (c.hand_page == kNoPage) {
            c.hand_page = c.first_page;
            c.hand_chunk = 0;
        }
        Item* it = slab_.chunk(c.hand_page, c.hand_chunk);
        if (++c.hand_chunk == c.chunks_per_page) {
            c.hand_chunk = 0;
            c.hand_page = slab_.page(c.hand_page).next;
        }
        if (it->type() == ItemType::kFree || it == pinned_) continue;
        if (now != 0 && is_expired(it->exptime, now)) {
            ++stats_.expired_reclaimed;
            release(it);
            return true;
        }
        if (now != 0 && is_flushed(it, now)) {
            ++stats_.flushed_reclaimed;
            release(it);
            return true;
        }
        if (it->ref.load(std::memory_order_relaxed) != 0) {
            it->ref.store(0, std::memory_order_relaxed);
            continue;
        }
        ++stats_.evictions;
        ++c.evictions;
        ++c.window_evictions;
        ++evictions_since_rebalance_;
        if (eviction_log_ != nullptr) eviction_log_->add(it->key());
        release(it);
        return true;
    }
    return false;
}

void Shard::wait_grace_period() {
    if (rcu_ == nullptr) return;
    // Readers report a quiescent state every loop iteration, so this waits
    // microseconds; it runs only when a page changes class.
    rte_rcu_qsbr_synchronize(rcu_, owner_thread_id_);
}

bool Shard::move_page(uint8_t from, uint8_t to, UnixTime now) {
    const uint32_t page = empty_page(from, now);
    if (page == kNoPage) return false;
    slab_.attach_page(page, to);
    ++stats_.page_moves;
    return true;
}

uint32_t Shard::empty_page(uint8_t from, UnixTime now) {
    SlabClass& src = slab_.cls(from);
    if (src.n_pages == 0) return kNoPage;
    // Prefer the page under the victim's hand: its items were looked at
    // longest ago. Skip a page holding the pinned item.
    uint32_t page = src.hand_page != kNoPage ? src.hand_page : src.first_page;
    if (pinned_ != nullptr && slab_.page_of(pinned_) == page && slab_.contains(pinned_)) {
        page = slab_.page(page).next != kNoPage ? slab_.page(page).next : src.first_page;
        if (slab_.page_of(pinned_) == page) return kNoPage;
    }
    for (uint32_t i = 0; i < src.chunks_per_page; ++i) {
        Item* it = slab_.chunk(page, i);
        if (it->type() == ItemType::kFree) continue;
        if (now != 0 && is_expired(it->exptime, now)) {
            ++stats_.expired_reclaimed;
        } else {
            ++stats_.evictions;
            if (eviction_log_ != nullptr) eviction_log_->add(it->key());
        }
        release(it);
    }
    slab_.detach_page(page);
    ++page_detaches_;
    find_hint_ = nullptr;
    wait_grace_period();
    if (sweep_page_ == page) {
        sweep_chunk_ = 0;
        sweep_min_ = 0;
    }
    return page;
}

void Shard::maybe_rebalance(UnixTime now) {
    if (evictions_since_rebalance_ < kRebalanceWindow) return;
    evictions_since_rebalance_ = 0;
    // Evictions per page in the window: the hot class is starved, the cold
    // one holds pages it does not need.
    uint8_t hot = kNoClass, cold = kNoClass;
    double hot_rate = 0, cold_rate = 0;
    for (size_t i = 0; i < slab_.n_classes(); ++i) {
        const auto id = static_cast<uint8_t>(i);
        const SlabClass& c = slab_.cls(id);
        if (c.n_pages == 0) continue;
        const double rate = static_cast<double>(c.window_evictions) / c.n_pages;
        if (hot == kNoClass || rate > hot_rate) {
            hot = id;
            hot_rate = rate;
        }
        if (c.n_pages >= 2 && (cold == kNoClass || rate < cold_rate)) {
            cold = id;
            cold_rate = rate;
        }
    }
    for (size_t i = 0; i < slab_.n_classes(); ++i)
        slab_.cls(static_cast<uint8_t>(i)).window_evictions = 0;
    if (hot == kNoClass || cold == kNoClass || hot == cold) return;
    if (hot_rate > kRebalanceRatio * (cold_rate + 1.0)) move_page(cold, hot, now);
}

SweepResult Shard::sweep(size_t budget, UnixTime now, SweepKeys* keys) {
    SweepResult r;
    const uint64_t start = rte_rdtsc();
    const uint32_t n_pages = slab_.n_pages();
    size_t examined = 0;
    while (n_pages != 0 && examined < budget && r.pages_done < n_pages) {
        PageDesc& pd = slab_.page(sweep_page_);
        const uint8_t cls = pd.class_id.load(std::memory_order_relaxed);
        const bool due = cls != kNoClass && pd.min_expiry != 0 && pd.min_expiry <= now;
        if (!due) {
            if (++sweep_page_ >= n_pages) sweep_page_ = 0;  // no division per descriptor
            sweep_chunk_ = 0;
            sweep_min_ = 0;
            if (cls != kNoClass) ++r.pages_skipped;
            ++r.pages_done;
            ++examined;  // a page descriptor look is work too
            continue;
        }
        const uint32_t per_page = slab_.cls(cls).chunks_per_page;
        while (sweep_chunk_ < per_page && examined < budget) {
            Item* it = slab_.chunk(sweep_page_, sweep_chunk_++);
            ++examined;
            ++r.chunks;
            if (it->type() == ItemType::kFree || it->exptime == 0) continue;
            ++r.ttl_seen;
            if (is_expired(it->exptime, now)) {
                ++r.reclaimed;
                if (keys != nullptr) keys->add(it->key());
                release(it);
            } else if (sweep_min_ == 0 || it->exptime < sweep_min_) {
                sweep_min_ = it->exptime;
            }
        }
        if (sweep_chunk_ == per_page) {
            pd.min_expiry = sweep_min_;
            if (++sweep_page_ >= n_pages) sweep_page_ = 0;
            sweep_chunk_ = 0;
            sweep_min_ = 0;
            ++r.pages_done;
        }
    }
    for (size_t c = 0; c < slab_.n_classes(); ++c)
        r.pages_used += slab_.cls(static_cast<uint8_t>(c)).n_pages;
    r.mid_page = sweep_chunk_ != 0;
    r.cycles = rte_rdtsc() - start;
    ++stats_.sweep_steps;
    stats_.sweep_chunks += r.chunks;
    stats_.sweep_reclaimed += r.reclaimed;
    stats_.sweep_cycles += r.cycles;
    return r;
}

}  // namespace fulmar::store
