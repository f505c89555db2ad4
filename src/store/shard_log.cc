// The shard's side of replication: what the owner logs after each change,
// how a replica's owner applies a primary's record, and the full-sync walk.
#include <time.h>

#include <algorithm>

#include "store/shard.h"

namespace fulmar::store {
namespace {

// The owner's wall clock for the records' time (replication lag in µs):
// clock_gettime(CLOCK_REALTIME) is a vDSO read, no system call.
uint64_t wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// The fetched bit is this node's readers' business (memcached's mg h
// flag), not part of the item a replica must hold.
constexpr uint8_t kReplicatedBits = static_cast<uint8_t>(~kItemFetched);

repl::RecordHeader item_header(repl::RecordKind kind, const Item& it) {
    repl::RecordHeader h{};
    h.kind = kind;
    h.type_bits = it.type_bits & kReplicatedBits;
    h.time_us = wall_us();
    h.flags = it.client_flags;
    h.exptime = it.exptime;
    h.cas = it.cas;
    h.expire_ms = static_cast<uint16_t>(it.expire_ms);
    h.item_time = it.time;
    return h;
}

}  // namespace

void Shard::log_store(const Item& it) {
    (void)log_->append_mutation(item_header(repl::RecordKind::kStore, it), it.key(), it.value());
}

void Shard::log_delete(const Item& it) {
    repl::RecordHeader h{};
    h.kind = repl::RecordKind::kDelete;
    h.time_us = wall_us();
    (void)log_->append_mutation(h, it.key(), {});
}

void Shard::log_simple(repl::RecordKind kind, uint32_t item_time, uint64_t cas) {
    repl::RecordHeader h{};
    h.kind = kind;
    h.time_us = wall_us();
    h.item_time = item_time;
    h.cas = cas;
    (void)log_->append_mutation(h, {}, {});
}

void Shard::apply_flush(UnixTime oldest_live, uint64_t oldest_cas) {
    meta_->oldest_live.store(oldest_live, std::memory_order_relaxed);
    meta_->oldest_cas.store(oldest_cas, std::memory_order_relaxed);
    cas_counter_ = std::max(cas_counter_, oldest_cas);
    if (logging()) log_simple(repl::RecordKind::kFlush, oldest_live, oldest_cas);
}

StoreStatus Shard::apply(const repl::RecordView& r, UnixTime now) {
    const StoreStatus st = apply_record(r, now);
    // A replica's log continues its primary's history: the record as it
    // came (whatever applying it took here: an eviction, a reclaim), a full
    // sync's start as the primary's position.
    if (log_ != nullptr && log_->mirrors()) {
        if (repl::is_mutation(r.h.kind)) (void)log_->append_mirrored(r);
        if (r.h.kind == repl::RecordKind::kSnapBegin) log_->restart_at(r.h.seq);
    }
    return st;
}

StoreStatus Shard::apply_record(const repl::RecordView& r, UnixTime now) {
    const repl::RecordHeader& h = r.h;
    switch (h.kind) {
        case repl::RecordKind::kStore:
        case repl::RecordKind::kSnapItem: {
            const uint8_t type = h.type_bits & kItemTypeMask;
            if (type == static_cast<uint8_t>(ItemType::kFree) || type > 4 || r.key.empty())
                return StoreStatus::kNotStored;
            const KeyRef k = KeyRef(r.key);
            Item* old = find(k, now);
            StoreArgs a{.flags = h.flags,
                        .exptime = h.exptime,
                        .cas_set = h.cas,
                        .type = static_cast<ItemType>(type),
                        .expire_ms = h.expire_ms};
            StoreStatus st;
            Item* it = allocate(k, static_cast<uint32_t>(r.value.size()), a, now, old, st);
            if (it == nullptr) return st;
            it->type_bits = static_cast<uint8_t>(h.type_bits & kReplicatedBits);
            it->time = h.item_time;
            if (!r.value.empty()) std::memcpy(it->value_ptr(), r.value.data(), r.value.size());
            // Its CAS is the primary's; ours must not hand it out again.
            cas_counter_ = std::max(cas_counter_, h.cas);
            return publish(k, it, old);
        }
        case repl::RecordKind::kDelete:
            if (r.key.empty()) return StoreStatus::kNotFound;
            return remove(KeyRef(r.key), now);
        case repl::RecordKind::kFlush:
            apply_flush(h.item_time, h.cas);
            return StoreStatus::kOk;
        case repl::RecordKind::kClear:
            clear_all();
            return StoreStatus::kOk;
        case repl::RecordKind::kSnapBegin:
            // The primary's flush horizons come with the walk: a delayed
            // flush_all still pending there is pending here too.
            clear_all();
            apply_flush(h.item_time, h.cas);
            return StoreStatus::kOk;
        case repl::RecordKind::kSnapEnd:
        case repl::RecordKind::kPad:
            return StoreStatus::kOk;
    }
    return StoreStatus::kNotStored;
}

bool Shard::snapshot_step(uint32_t snapshot_id, SnapshotCursor& c, size_t budget, size_t keep_free,
                          UnixTime now, KeyPredicate keep) {
    if (log_ == nullptr) return false;
    repl::RecordHeader h{};
    h.snapshot_id = snapshot_id;
    if (!c.started) {
        h.kind = repl::RecordKind::kSnapBegin;
        h.time_us = wall_us();
        h.item_time = meta_->oldest_live.load(std::memory_order_relaxed);
        h.cas = meta_->oldest_cas.load(std::memory_order_relaxed);
        if (!log_->append_snapshot(h, {}, {}, keep_free)) return false;
        c = SnapshotCursor{.page = 0, .chunk = 0, .started = true};
    }
    const uint32_t n_pages = slab_.n_pages();
    size_t examined = 0;
    while (c.page < n_pages && examined < budget) {
        const uint8_t cls = slab_.page(c.page).class_id.load(std::memory_order_relaxed);
        const uint32_t per_page = cls == kNoClass ? 0 : slab_.cls(cls).chunks_per_page;
        while (c.chunk < per_page && examined < budget) {
            const Item* it = slab_.chunk(c.page, c.chunk);
            ++examined;
            if (it->type() != ItemType::kFree && !is_expired(it->exptime, now) &&
                !view_.is_flushed(it, now) &&
                (keep.fn == nullptr || keep.fn(keep.arg, it->key()))) {
                repl::RecordHeader ih = item_header(repl::RecordKind::kSnapItem, *it);
                ih.snapshot_id = snapshot_id;
                if (!log_->append_snapshot(ih, it->key(), it->value(), keep_free)) return false;
            }
            ++c.chunk;
        }
        if (c.chunk >= per_page) {
            ++c.page;
            c.chunk = 0;
            ++examined;
        }
    }
    if (c.page < n_pages) return false;
    h.kind = repl::RecordKind::kSnapEnd;
    h.time_us = wall_us();
    return log_->append_snapshot(h, {}, {}, keep_free);
}

}  // namespace fulmar::store
