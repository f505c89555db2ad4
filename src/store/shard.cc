// The shard's command operations and the lock-free reader. Memory
// management (allocation, CLOCK, page moves, sweep) is in shard_memory.cc.
#include "store/shard.h"

#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "common/assert.h"
#include "common/numbers.h"
#include "common/small_bytes.h"
#include "store/exptime.h"

namespace fulmar::store {
namespace {

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
    if (cfg.name.empty() || cfg.memory_bytes < kPageSize) return Err{ShardStatus::kBadConfig};
    Region region = Region::create(cfg.memory, shm::region_zone_name(cfg.name), cfg.memory_bytes,
                                   kPageSize, cfg.socket_id);
    if (!region.ok()) return Err{ShardStatus::kNoMemory};
    const auto n_pages = static_cast<uint32_t>(region.bytes().size() / kPageSize);
    // The meta region is rounded to whole cache lines, never to zero.
    const size_t meta_bytes = (shm::ShardMeta::bytes_for(n_pages) + 63) / 64 * 64;
    Region meta =
        Region::create(cfg.memory, shm::meta_zone_name(cfg.name), meta_bytes, 64, cfg.socket_id);
    if (!meta.ok()) return Err{ShardStatus::kNoMemory};
    uint64_t entries = cfg.index_entries;
    if (entries == 0) entries = cfg.memory_bytes / kMinChunk;
    entries = std::min<uint64_t>(entries, uint64_t{1} << 30);
    auto index = Index::create(shm::index_name(cfg.name), static_cast<uint32_t>(entries), cfg.rcu,
                               cfg.socket_id);
    if (!index) return Err{ShardStatus::kIndexFailed};
    std::unique_ptr<Shard> s(
        new Shard(std::move(region), std::move(meta), std::move(index.value())));
    s->rcu_ = cfg.rcu;
    s->owner_thread_id_ = cfg.owner_thread_id;
    return s;
}

namespace {
// The header of a fresh meta zone, before the slab fills in its tables.
shm::ShardMeta* init_meta(Region& r) {
    return new (r.bytes().data()) shm::ShardMeta();
}
}  // namespace

Shard::Shard(Region region, Region meta, Index index)
    : region_(std::move(region)),
      meta_region_(std::move(meta)),
      meta_(init_meta(meta_region_)),
      slab_(region_.bytes(), *meta_),
      index_(std::move(index)),
      view_(meta_, region_.bytes().data(), index_.raw()),
      stats_(meta_->stats) {}

namespace {
// An item's key against a request's, inline (keys are short: a libc call
// per compare was ~1% of a 90/10 mix).
bool same_key(const Item* it, std::string_view key) {
    return it->key_len == key.size() && equal_small(it->key_ptr(), key.data(), key.size());
}
}  // namespace

Item* Shard::find(const KeyRef& k, UnixTime now) {
    Item* it = find_hint_;
    if (it == nullptr || it->type() == ItemType::kFree || !same_key(it, k.key)) {
        it = index_.find(k.digest);
        if (it == nullptr) return nullptr;
        if (!same_key(it, k.key)) {
            // Two keys with one 128-bit digest: the older loses its entry (a
            // miss later), never its value to the other key.
            ++stats_.digest_collisions;
            release(it);
            return nullptr;
        }
    }
    if (is_expired(it->exptime, now) ||
        (it->expire_ms != 0 && now_ms_ != 0 && expiry_ms(*it) <= now_ms_)) {
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
    it->type_bits =
        static_cast<uint8_t>(static_cast<uint8_t>(a.type) | (a.raw_string ? kItemRawString : 0));
    it->ref.store(0, std::memory_order_relaxed);
    it->key_len = static_cast<uint8_t>(k.key.size());
    it->class_id = cls;
    it->client_flags = a.flags;
    it->set_expiry(a.exptime, a.expire_ms);
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
    if (fresh->exptime != 0) ++n_ttl_items_;
    if (old != nullptr) {
        if (old->exptime != 0) --n_ttl_items_;
        --slab_.cls(old->class_id).n_live;
        slab_.free(old);  // the index already points at `fresh`
    }
    note_expiry(fresh);
    ++stats_.sets;
    if (logging()) log_store(*fresh);
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
        // Only a string can grow: bytes glued to an encoded collection
        // would corrupt it.
        if (old->type() != ItemType::kString) return StoreStatus::kNotStored;
        len += old->value_len;
        args.flags = old->client_flags;
        args.exptime = old->exptime;
        args.expire_ms = static_cast<uint16_t>(old->expire_ms);
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
        i.set_expiry(exptime);
        i.ref.store(1, std::memory_order_relaxed);
    });
    return StoreStatus::kTouched;
}

StoreStatus Shard::arith(const KeyRef& k, ArithOp op, uint64_t delta, UnixTime now, uint64_t cas_in,
                         uint64_t& value, uint64_t* cas_out) {
    Item* it = find(k, now);
    if (it == nullptr || it->type() != ItemType::kString) return StoreStatus::kNotFound;
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
    StoreArgs a{.flags = it->client_flags,
                .exptime = it->exptime,
                .expire_ms = static_cast<uint16_t>(it->expire_ms)};
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
    meta_->oldest_live.store(oldest_live, std::memory_order_relaxed);
    if (oldest_live <= now) meta_->oldest_cas.store(next_cas(), std::memory_order_relaxed);
    if (logging())
        log_simple(repl::RecordKind::kFlush, oldest_live,
                   meta_->oldest_cas.load(std::memory_order_relaxed));
}

void Shard::clear_all() {
    // The index must not change under its own iteration: collect, then free.
    std::vector<Item*> items;
    items.reserve(index_.count());
    uint32_t pos = 0;
    while (Item* it = index_.next(pos))
        items.push_back(it);
    clearing_ = true;
    for (Item* it : items)
        release(it);
    clearing_ = false;
    if (logging()) log_simple(repl::RecordKind::kClear, 0, 0);
}

}  // namespace fulmar::store
