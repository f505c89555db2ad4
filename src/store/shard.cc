// The shard's command operations and the lock-free reader. Memory
// management (allocation, CLOCK, page moves, sweep) is in shard_memory.cc.
#include "store/shard.h"

#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"
#include "common/numbers.h"
#include "store/exptime.h"

namespace fulmar::store {
namespace {

// A reader that keeps meeting writes on one key gives up and reports a miss
// rather than spin: a cache may miss, it may not stall the lcore.
constexpr int kReadRetries = 8;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// memcached's safe_strtoull applied to an item's data: strtoull (leading
// spaces, optional sign) followed by a space or the end ("\r\n" in
// memcached's memory); ERANGE and negative results are errors.
bool parse_stored_number(std::string_view s, uint64_t& out) {
    size_t i = 0;
    while (i < s.size() && is_space(s[i]))
        ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    if (i == start) return false;
    if (i < s.size() && !is_space(s[i])) return false;
    uint64_t mag = 0;
    if (!parse_u64(s.substr(start, i - start), mag)) return false;  // ERANGE
    const uint64_t v = neg ? 0 - mag : mag;
    if (neg && static_cast<int64_t>(v) < 0) return false;
    out = v;
    return true;
}

}  // namespace

Result<std::unique_ptr<Shard>, ShardStatus> Shard::create(const ShardConfig& cfg) {
    if (cfg.name.empty() || cfg.memory_bytes < kPageSize) return Err(ShardStatus::kBadConfig);
    Region region =
        Region::create(cfg.memory, "fm_" + cfg.name, cfg.memory_bytes, kPageSize, cfg.socket_id);
    if (!region.ok()) return Err(ShardStatus::kNoMemory);
    uint64_t entries = cfg.index_entries;
    if (entries == 0) entries = cfg.memory_bytes / kMinChunk;
    entries = std::min<uint64_t>(entries, uint64_t{1} << 30);
    auto index =
        Index::create("fx_" + cfg.name, static_cast<uint32_t>(entries), cfg.rcu, cfg.socket_id);
    if (!index) return Err(ShardStatus::kIndexFailed);
    std::unique_ptr<Shard> s(new Shard(std::move(region), std::move(index.value())));
    s->rcu_ = cfg.rcu;
    s->owner_thread_id_ = cfg.owner_thread_id;
    return s;
}

Shard::Shard(Region region, Index index)
    : region_(std::move(region)), slab_(region_.bytes()), index_(std::move(index)) {}

bool Shard::is_flushed(const Item* it, UnixTime now) const {
    const UnixTime oldest_live = oldest_live_.load(std::memory_order_relaxed);
    if (oldest_live == 0 || oldest_live > now) return false;
    const uint64_t oldest_cas = oldest_cas_.load(std::memory_order_relaxed);
    return it->time <= oldest_live || (oldest_cas != 0 && it->cas != 0 && it->cas < oldest_cas);
}

Shard::TryRead Shard::try_read(Item* it, const KeyRef& k, UnixTime now, std::span<char> value_out,
                               ItemMeta& meta, ReadStatus& status) const {
    const uint32_t v1 = it->version.load(std::memory_order_acquire);
    if (v1 & 1u) {
        rte_pause();
        return TryRead::kRetry;
    }
    // Bound every copy by the chunk: a header read mid-write may hold any
    // lengths.
    const uint32_t cap = slab_.chunk_size_of(it);
    Item h;
    std::memcpy(static_cast<void*>(&h), it, sizeof(Item));
    if (cap == 0 || h.type() == ItemType::kFree ||
        size_t{h.key_len} + h.value_len + sizeof(Item) > cap) {
        return TryRead::kRetry;
    }
    const bool key_ok =
        h.key_len == k.key.size() && std::memcmp(it->key_ptr(), k.key.data(), h.key_len) == 0;
    const bool fits = h.value_len <= value_out.size();
    if (key_ok && fits) std::memcpy(value_out.data(), it->key_ptr() + h.key_len, h.value_len);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (it->version.load(std::memory_order_relaxed) != v1) return TryRead::kRetry;
    // Consistent copy. Another key here means the chunk was reused since
    // the look-up: look again.
    if (!key_ok) return TryRead::kRetry;
    if (is_expired(h.exptime, now) || is_flushed(&h, now)) {
        status = ReadStatus::kMiss;
        return TryRead::kDone;
    }
    meta = ItemMeta{h.client_flags, h.exptime, h.cas, h.value_len, h.time, h.type_bits, it};
    if (!fits) {
        status = ReadStatus::kBufferTooSmall;
        return TryRead::kDone;
    }
    it->touch_ref();
    status = ReadStatus::kHit;
    return TryRead::kDone;
}

ReadStatus Shard::read(const KeyRef& k, UnixTime now, std::span<char> value_out,
                       ItemMeta& meta) const {
    for (int attempt = 0; attempt < kReadRetries; ++attempt) {
        Item* it = index_.find(k.digest);
        if (it == nullptr) return ReadStatus::kMiss;
        ReadStatus st;
        if (try_read(it, k, now, value_out, meta, st) == TryRead::kDone) return st;
    }
    return ReadStatus::kMiss;
}

void Shard::read_bulk(std::span<BulkRead> reads, UnixTime now) const {
    const KeyDigest* digests[kIndexBulkMax];
    Item* items[kIndexBulkMax];
    for (size_t base = 0; base < reads.size(); base += kIndexBulkMax) {
        const auto n = static_cast<unsigned>(std::min<size_t>(kIndexBulkMax, reads.size() - base));
        for (unsigned i = 0; i < n; ++i)
            digests[i] = &reads[base + i].key->digest;
        index_.find_bulk(digests, n, items);
        // Every header's cache line is in flight before the first copy.
        for (unsigned i = 0; i < n; ++i)
            if (items[i] != nullptr) rte_prefetch0(items[i]);
        for (unsigned i = 0; i < n; ++i) {
            BulkRead& r = reads[base + i];
            r.status = ReadStatus::kMiss;
            if (items[i] == nullptr) continue;
            if (try_read(items[i], *r.key, now, r.value_out, r.meta, r.status) == TryRead::kRetry)
                r.status = read(*r.key, now, r.value_out, r.meta);
        }
    }
}

Item* Shard::find(const KeyRef& k, UnixTime now) {
    Item* it = index_.find(k.digest);
    if (it == nullptr) return nullptr;
    if (it->key() != k.key) {
        // Two keys with one 128-bit digest: the older loses its entry (a
        // miss later), never its value to the other key.
        ++stats_.digest_collisions;
        release(it);
        return nullptr;
    }
    if (is_expired(it->exptime, now)) {
        ++stats_.expired_reclaimed;
        release(it);
        return nullptr;
    }
    if (is_flushed(it, now)) {
        ++stats_.flushed_reclaimed;
        release(it);
        return nullptr;
    }
    return it;
}

Item* Shard::allocate(const KeyRef& k, uint32_t value_len, const StoreArgs& a, UnixTime now,
                      const Item* keep, StoreStatus& status) {
    const size_t total = item_total_size(k.key.size(), value_len);
    const uint8_t cls = slab_.class_for(total);
    if (cls == kNoClass || k.key.size() > kMaxKeyLen) {
        status = StoreStatus::kTooLarge;
        return nullptr;
    }
    pinned_ = keep;
    Item* it = alloc_chunk(cls, now);
    pinned_ = nullptr;
    if (it == nullptr) {
        status = StoreStatus::kNoMemory;
        return nullptr;
    }
    it->begin_write();
    it->type_bits = static_cast<uint8_t>(ItemType::kString);
    it->ref.store(0, std::memory_order_relaxed);
    it->key_len = static_cast<uint8_t>(k.key.size());
    it->class_id = cls;
    it->client_flags = a.flags;
    it->exptime = a.exptime;
    it->cas = a.cas_set != 0 ? a.cas_set : next_cas();
    it->value_len = value_len;
    it->time = now;
    std::memcpy(it->key_ptr(), k.key.data(), k.key.size());
    ++slab_.cls(cls).n_live;
    status = StoreStatus::kStored;
    return it;
}

void Shard::discard(Item* fresh) {
    fresh->end_write();
    --slab_.cls(fresh->class_id).n_live;
    slab_.free(fresh);
}

StoreStatus Shard::publish(const KeyRef& k, Item* fresh, Item* old) {
    fresh->end_write();
    pinned_ = old;
    const StoreStatus st = link(k, fresh);
    pinned_ = nullptr;
    if (st != StoreStatus::kStored) {
        --slab_.cls(fresh->class_id).n_live;
        slab_.free(fresh);
        return st;
    }
    if (old != nullptr) {
        --slab_.cls(old->class_id).n_live;
        slab_.free(old);  // the index already points at `fresh`
    }
    note_expiry(fresh);
    ++stats_.sets;
    return StoreStatus::kStored;
}

void Shard::unlink(Item* it) {
    release(it);
}

StoreStatus Shard::store(StoreMode mode, const KeyRef& k, std::string_view data, const StoreArgs& a,
                         UnixTime now, uint64_t* cas_out) {
    Item* old = find(k, now);
    switch (mode) {
        case StoreMode::kAdd:
            if (old != nullptr) {
                // memcached bumps the existing item on a failed add.
                old->touch_ref();
                return StoreStatus::kNotStored;
            }
            break;
        case StoreMode::kReplace:
        case StoreMode::kAppend:
        case StoreMode::kPrepend:
            if (old == nullptr) return StoreStatus::kNotStored;
            break;
        case StoreMode::kCas:
            if (old == nullptr) return StoreStatus::kNotFound;
            if (old->cas != a.cas_in) return StoreStatus::kExists;
            break;
        case StoreMode::kSet:
            break;
    }
    if (a.cas_in != 0 && mode != StoreMode::kCas) {
        if (old == nullptr) return StoreStatus::kNotFound;
        if (old->cas != a.cas_in) return StoreStatus::kExists;
    }

    StoreArgs args = a;
    size_t len = data.size();
    const bool concat = mode == StoreMode::kAppend || mode == StoreMode::kPrepend;
    if (concat) {
        len += old->value_len;
        args.flags = old->client_flags;
        args.exptime = old->exptime;
    }
    if (len > kMaxItemSize) return StoreStatus::kTooLarge;
    StoreStatus st;
    Item* it = allocate(k, static_cast<uint32_t>(len), args, now, old, st);
    if (it == nullptr) return st;
    char* v = it->value_ptr();
    // Empty views may carry a null pointer, which memcpy must never see.
    if (data.empty()) data = std::string_view("", 0);
    if (mode == StoreMode::kAppend) {
        std::memcpy(v, old->value_ptr(), old->value_len);
        std::memcpy(v + old->value_len, data.data(), data.size());
    } else if (mode == StoreMode::kPrepend) {
        std::memcpy(v, data.data(), data.size());
        std::memcpy(v + data.size(), old->value_ptr(), old->value_len);
    } else {
        std::memcpy(v, data.data(), data.size());
    }
    const uint64_t cas = it->cas;
    st = publish(k, it, old);
    if (st == StoreStatus::kStored && cas_out != nullptr) *cas_out = cas;
    return st;
}

StoreStatus Shard::remove(const KeyRef& k, UnixTime now, uint64_t cas_in) {
    Item* it = find(k, now);
    if (it == nullptr) return StoreStatus::kNotFound;
    if (cas_in != 0 && it->cas != cas_in) return StoreStatus::kExists;
    release(it);
    return StoreStatus::kDeleted;
}

StoreStatus Shard::touch(const KeyRef& k, UnixTime exptime, UnixTime now) {
    Item* it = find(k, now);
    if (it == nullptr) return StoreStatus::kNotFound;
    modify(it, [&](Item& i) {
        i.exptime = exptime;
        i.ref.store(1, std::memory_order_relaxed);
    });
    return StoreStatus::kTouched;
}

StoreStatus Shard::arith(const KeyRef& k, ArithOp op, uint64_t delta, UnixTime now, uint64_t cas_in,
                         uint64_t& value, uint64_t* cas_out) {
    Item* it = find(k, now);
    if (it == nullptr) return StoreStatus::kNotFound;
    if (it->value_len == 0) return StoreStatus::kNonNumeric;
    if (cas_in != 0 && it->cas != cas_in) return StoreStatus::kExists;
    uint64_t cur = 0;
    if (!parse_stored_number(it->value(), cur)) return StoreStatus::kNonNumeric;
    if (op == ArithOp::kIncr)
        cur += delta;  // wraps at 2^64, as memcached
    else
        cur = delta > cur ? 0 : cur - delta;
    char digits[24];
    const size_t n = format_u64(cur, digits);
    value = cur;
    if (n <= it->value_len) {
        // memcached rewrites in place and pads with spaces when the number
        // got shorter: "100" decremented to 99 reads back as "99 ".
        const uint64_t cas = next_cas();
        modify(it, [&](Item& i) {
            std::memcpy(i.value_ptr(), digits, n);
            std::memset(i.value_ptr() + n, ' ', i.value_len - n);
            i.cas = cas;
        });
        if (cas_out != nullptr) *cas_out = cas;
        return StoreStatus::kOk;
    }
    StoreArgs a{.flags = it->client_flags, .exptime = it->exptime};
    StoreStatus st;
    Item* fresh = allocate(k, static_cast<uint32_t>(n), a, now, it, st);
    if (fresh == nullptr) return st;
    std::memcpy(fresh->value_ptr(), digits, n);
    const uint64_t cas = fresh->cas;
    st = publish(k, fresh, it);
    if (st != StoreStatus::kStored) return st;
    if (cas_out != nullptr) *cas_out = cas;
    return StoreStatus::kOk;
}

void Shard::flush_all(int64_t delay_exptime, UnixTime now) {
    // memcached: oldest_live = (delay ? realtime(delay) : now) - 1; items
    // stored at or before it are gone once it is reached, and an immediate
    // flush also drops every CAS below the next one (same-second stores).
    const UnixTime new_oldest = delay_exptime > 0 ? exptime_to_abs(delay_exptime, now) : now;
    const UnixTime oldest_live = new_oldest - 1;
    oldest_live_.store(oldest_live, std::memory_order_relaxed);
    if (oldest_live <= now) oldest_cas_.store(next_cas(), std::memory_order_relaxed);
}

uint64_t Shard::n_items() const {
    uint64_t n = 0;
    for (size_t c = 0; c < slab_.n_classes(); ++c)
        n += slab_.cls(static_cast<uint8_t>(c)).n_live;
    return n;
}

}  // namespace fulmar::store
