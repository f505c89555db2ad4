// The shard: one lcore's slice of the cache. Index + slab + CLOCK + TTL.
//
// Threading: one owner thread calls every non-const method (the writer);
// `read` may be called from any thread registered with the shard's RCU QSBR
// variable (or from the owner), and a secondary process reads the same
// shard through a ShardView attached by name (shard_view.h). Readers never block the owner and
// never take a lock: they validate each item's seqlock around their copy and compare the full key.
// Readers report quiescent states on their own variable; the owner waits for a grace period only
// before a page changes size class (rare) — deleted index slots are reclaimed by rte_hash's RCU
// defer queue without waiting.
//
// Semantics follow memcached 1.6: CAS uniques from a per-shard counter
// (first is 1), exptime rules in exptime.h, flush_all with memcached's
// oldest_live/oldest_cas pair, incr/decr on decimal text with in-place
// space padding, append/prepend keeping flags and TTL.
//
// Memory: every item lives in the slab. When a class has no free chunk the
// CLOCK hand of that class evicts (a hit sets the item's ref bit; the hand
// clears set bits and evicts the first clear, expired or flushed item). A
// class that has no page at all, when the pool is empty, takes one from the
// class with the most pages (its items on that page are evicted). Every 4096
// evictions the shard moves one page from the class that evicted least per
// page to the one that evicted most, when the gap is wide: the mix of sizes
// can change without starving a class.
//
// Shared memory (MemoryKind::kMemzone): the item region, the ShardMeta
// (class and page tables, flush horizons, counters: shm/layout.h) and the
// index are named after the shard, so another process finds all three.
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "repl/mutation_log.h"
#include "shm/counters.h"
#include "store/digest.h"
#include "store/exptime.h"
#include "store/index.h"
#include "store/item.h"
#include "store/region.h"
#include "store/shard_view.h"
#include "store/slab.h"

namespace fulmar::store {

enum class StoreStatus : uint8_t {
    kStored,
    kNotStored,
    kExists,  // CAS mismatch
    kNotFound,
    kDeleted,
    kTouched,
    kOk,          // arithmetic done
    kNonNumeric,  // incr/decr on a value that is not a decimal number
    kTooLarge,    // item larger than the largest class
    kNoMemory,    // nothing evictable (everything pinned) or index exhausted
};

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };
enum class ArithOp : uint8_t { kIncr, kDecr };

enum class ShardStatus : uint8_t { kOk, kNoMemory, kIndexFailed, kBadConfig };

struct ShardConfig {
    std::string name;  // unique in the process: names the zones and the index (shm/layout.h)
    size_t memory_bytes = 64 << 20;  // slab budget, whole MiB pages
    uint32_t index_entries = 0;      // 0: one slot per 64 bytes of memory
    MemoryKind memory = MemoryKind::kAnonymous;
    rte_rcu_qsbr* rcu = nullptr;                        // null: no concurrent readers
    uint32_t owner_thread_id = RTE_QSBR_THRID_INVALID;  // if the owner also reads
    int socket_id = -1;                                 // SOCKET_ID_ANY
};

struct StoreArgs {
    uint32_t flags = 0;
    UnixTime exptime = 0;               // absolute (exptime.h); ignored by append/prepend
    uint64_t cas_in = 0;                // compare (kCas, or any mode when nonzero)
    uint64_t cas_set = 0;               // meta E flag: CAS to give the new item (0: next)
    ItemType type = ItemType::kString;  // Redis's collections store other types
    uint16_t expire_ms = 0;             // Item::expire_ms (Redis's millisecond expiries)
    bool raw_string = false;            // kItemRawString
};

// The owner's counters, declared in shm/counters.h.
using ShardStats = shm::ShardStats;

// What one sweep step found and did (Shard::sweep), for whoever paces the
// sweeps (the control plane's sweep pacer, through the owner's inbox).
struct SweepResult {
    uint32_t chunks = 0;         // chunks visited on due pages
    uint32_t pages_skipped = 0;  // pages holding items passed over: none of those expired
    bool mid_page = false;       // the step ended partway through a due page
    uint32_t pages_used = 0;     // pages the slab classes hold (the rest hold no item)
    uint32_t pages_done = 0;     // pages finished, skipped ones included (a pass: n_pages)
    uint32_t ttl_seen = 0;       // items with a TTL among the chunks visited, expired or not
    uint32_t reclaimed = 0;      // of those, expired and freed
    uint64_t cycles = 0;         // TSC cycles the step took on the owner
};

// Keys for Redis keyspace notifications: those a sweep step freed
// (expired), or those the CLOCK hand and page moves evicted (evicted; see
// Shard::set_eviction_log): each as one length byte (keys are at most 250)
// and the key, while `bytes` stays within `limit`; past it a key is only
// counted in `dropped`. Owned by the owner lcore, reused step after step
// (no allocation once grown).
struct SweepKeys {
    std::string bytes;
    size_t limit = 0;
    uint32_t dropped = 0;
    uint32_t count = 0;  // keys in `bytes`

    void add(std::string_view key) {
        if (bytes.size() + 1 + key.size() <= limit) {
            bytes.push_back(static_cast<char>(key.size()));
            bytes.append(key);
            ++count;
        } else {
            ++dropped;
        }
    }
    void clear() {
        bytes.clear();
        dropped = 0;
        count = 0;
    }
};

// A test over keys for the slab walks (snapshot_step, drop_step): a plain
// function and its argument, no allocation on the owner.
struct ShardKeyPredicate {
    bool (*fn)(const void* arg, std::string_view key) = nullptr;
    const void* arg = nullptr;
};

class Shard {
  public:
    static Result<std::unique_ptr<Shard>, ShardStatus> create(const ShardConfig& cfg);
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;
    ~Shard() = default;

    // ---- any registered thread (ShardView) ---------------------------
    ReadStatus read(const KeyRef& k, UnixTime now, std::span<char> value_out,
                    ItemMeta& meta) const {
        return view_.read(k, now, value_out, meta);
    }
    using BulkRead = ShardView::BulkRead;
    void read_bulk(std::span<BulkRead> reads, UnixTime now) const { view_.read_bulk(reads, now); }
    // What a reader in this or another process sees of the shard.
    const ShardView& view() const { return view_; }

    // ---- owner only ---------------------------------------------------
    // The live item for a key, or nullptr. Expired and flushed items met
    // here are reclaimed at once.
    Item* find(const KeyRef& k, UnixTime now);

    // Owner only: where find() may look first for the key of the request
    // about to run, an item a bulk look-up found for it (the dataplane's
    // held-back writes: dataplane/worker.h). Taken only while it is still
    // that key's live item — a chunk in use holding the same key is the one
    // the index points at — else find() looks the key up. Good while no page
    // changed class since the look-up (page_detaches()): a chunk boundary may
    // have moved. nullptr: none.
    void set_find_hint(Item* it) { find_hint_ = it; }
    uint64_t page_detaches() const { return page_detaches_; }

    StoreStatus store(StoreMode mode, const KeyRef& k, std::string_view data, const StoreArgs& a,
                      UnixTime now, uint64_t* cas_out = nullptr);
    StoreStatus remove(const KeyRef& k, UnixTime now, uint64_t cas_in = 0);
    StoreStatus touch(const KeyRef& k, UnixTime exptime, UnixTime now);
    // On kOk, `value` holds the new number.
    StoreStatus arith(const KeyRef& k, ArithOp op, uint64_t delta, UnixTime now, uint64_t cas_in,
                      uint64_t& value, uint64_t* cas_out = nullptr);
    // memcached's flush_all: `delay_exptime` as the command gives it (0 = now).
    void flush_all(int64_t delay_exptime, UnixTime now);
    // Owner only. Frees every item now (Redis's FLUSHALL: DBSIZE is 0 after
    // it, where memcached's flush_all leaves the items until their memory is
    // wanted). O(items).
    void clear_all();
    // Frees the expired items among the next `budget` chunks of the sweep's
    // cursor, looking only at pages whose earliest stored exptime has passed
    // (a page passed over costs one unit of the budget). Counts the step in
    // stats() (sweep_steps, sweep_chunks, sweep_reclaimed, sweep_cycles).
    // With `keys`, the freed items' keys are added to it.
    SweepResult sweep(size_t budget, UnixTime now, SweepKeys* keys = nullptr);
    // Owner only: where evicted keys are noted from now on (Redis's evicted
    // events), or nullptr for nowhere. The owner drains it.
    void set_eviction_log(SweepKeys* log) { eviction_log_ = log; }
    // Owner only: Redis's maxmemory and maxmemory-policy. At most
    // `max_pages` pages hold items (shm::kAllPages: all); pages past it are
    // emptied now, whole, from the classes holding the most (their keys
    // evicted: noted in the eviction log). `evict` false (noeviction): a
    // store that needs memory fails with kNoMemory instead of evicting.
    // Returns the pages given back.
    uint32_t set_memory_policy(uint32_t max_pages, bool evict, UnixTime now);
    bool evicts() const { return evict_; }

    // ---- replication (owner only; shard_log.cc) ------------------------
    // Where every change is logged from now on (while the log is enabled
    // by its consumer): stores and header changes as the resulting item,
    // deletions of any cause (del, expiry, eviction, collision) as the key,
    // flush_all's horizons, clear_all. nullptr: nowhere.
    void set_mutation_log(repl::LogWriter* log) { log_ = log; }
    repl::LogWriter* mutation_log() const { return log_; }
    // This owner logs its own changes (a primary's; a replica's log mirrors
    // what it applies: apply()).
    bool logging() const { return log_ != nullptr && log_->owns(); }
    // A replica's owner: makes the shard hold what a primary's record says
    // (kStore/kSnapItem: that item, same CAS and times; kDelete; kFlush;
    // kClear/kSnapBegin: nothing left). Changes made here are logged too.
    // kNoMemory/kTooLarge when the item cannot be held (the replica is
    // smaller than its primary).
    StoreStatus apply(const repl::RecordView& r, UnixTime now);
    // Full sync: one step of the walk over every live item, written into
    // the log as kSnapItem records between a kSnapBegin (at cursor 0) and a
    // kSnapEnd (when the walk is done, returns true). At most `budget`
    // chunks are looked at; the step stops early, leaving `keep_free` bytes
    // for mutations, when the log is short of room. The walk is over the
    // slab, not the index: chunks stay where they are, so every item alive
    // for the whole walk is met exactly once, and every other change is a
    // mutation in the same log, in the owner's order.
    struct SnapshotCursor {
        uint32_t page = 0;
        uint32_t chunk = 0;
        bool started = false;
    };
    using KeyPredicate = ShardKeyPredicate;
    // `keep`, when given, leaves out the items it refuses (a ring move's
    // walk sends only the keys that change hands).
    bool snapshot_step(uint32_t snapshot_id, SnapshotCursor& c, size_t budget, size_t keep_free,
                       UnixTime now, KeyPredicate keep = {});

    // Cluster rebalancing (controlplane/ring_member.h): one step of a walk
    // over the slab that deletes every live item `drop` says this node no
    // longer serves (another partition owns its key), each a logged delete
    // so replicas follow. Same cursor rules as snapshot_step. True once the
    // walk reached the end; `dropped` counts the deletions.
    bool drop_step(SnapshotCursor& c, size_t budget, UnixTime now, KeyPredicate drop,
                   uint64_t& dropped);

    // Building blocks for commands that need more than store() (meta).
    // allocate(): a chunk for `key` + `value_len` bytes, header written
    // (flags/exptime/time from args; fresh CAS unless cas_set), key copied,
    // left in write state: fill value_ptr(), then publish(). `keep` is
    // protected from eviction meanwhile. nullptr with status on failure.
    Item* allocate(const KeyRef& k, uint32_t value_len, const StoreArgs& a, UnixTime now,
                   const Item* keep, StoreStatus& status);
    // Makes `fresh` visible under its key, replacing (and freeing) `old`.
    StoreStatus publish(const KeyRef& k, Item* fresh, Item* old);
    // Abandons an allocated, unpublished item.
    void discard(Item* fresh);
    // Removes a live item found with find().
    void unlink(Item* it);
    // In-place header change under the seqlock (meta flags, TTL).
    // The change is logged (the item as it is after it) when a mutation
    // log is on.
    template <typename F>
    void modify(Item* it, F&& f) {
        modify_unlogged(it, static_cast<F&&>(f));
        if (logging()) log_store(*it);
    }
    // For what only this node's owner cares about (memcached's fetched
    // bit): a replica has its own readers.
    template <typename F>
    void modify_unlogged(Item* it, F&& f) {
        const bool had_ttl = it->exptime != 0;
        it->begin_write();
        f(*it);
        it->end_write();
        if (had_ttl && it->exptime == 0)
            --n_ttl_items_;
        else if (!had_ttl && it->exptime != 0)
            ++n_ttl_items_;
        note_expiry(it);
    }
    uint64_t next_cas() { return ++cas_counter_; }
    // The owner's time in milliseconds for find(): a Redis request sets it
    // (engine::execute_resp) so a millisecond expiry (Item::expire_ms) is
    // exact; 0, or a time from an earlier request, only makes such an item
    // live a little longer, never shorter.
    void set_now_ms(uint64_t ms) { now_ms_ = ms; }
    bool is_flushed(const Item* it, UnixTime now) const { return view_.is_flushed(it, now); }

    // ---- introspection (owner, or anyone for a rough snapshot) ---------
    const ShardStats& stats() const { return stats_; }
    const Slab& slab() const { return slab_; }
    uint64_t n_items() const { return view_.n_items(); }
    // Linked items with a TTL, expired or not (what the sweep pacer's
    // estimate of expired-but-resident items is a share of). Owner only.
    uint64_t n_ttl_items() const { return n_ttl_items_; }
    const Index& index() const { return index_; }

    // Owner only. Visits the live items from index position `pos` (0: the
    // start) until `budget` entries were looked at; returns the position to
    // resume from, 0 when the walk reached the end. f(const Item&) returns
    // false to stop early. Nothing is reclaimed on the way (the index must
    // not change under the walk).
    template <typename F>
    uint32_t walk(uint32_t pos, size_t budget, UnixTime now, F&& f) const {
        for (size_t seen = 0; seen < budget; ++seen) {
            const Item* it = index_.next(pos);
            if (it == nullptr) return 0;
            if (is_expired(it->exptime, now) || view_.is_flushed(it, now)) continue;
            if (!f(*it)) return pos;
        }
        return pos;
    }

  private:
    // One step of a walk over every chunk of the slab, page by page (chunks
    // stay where they are, so an item alive for the whole walk is met once):
    // `each` sees each chunk, free ones too, and returns false to stop before
    // moving past it (it is seen again at the next step). True once the walk
    // reached the end. snapshot_step and drop_step are such walks.
    template <typename F>
    bool walk_chunks(SnapshotCursor& c, size_t budget, F&& each);

    Shard(Region region, Region meta, Index index);

    Item* alloc_chunk(uint8_t class_id, UnixTime now);
    bool evict_one(uint8_t class_id, UnixTime now);
    bool move_page(uint8_t from, uint8_t to, UnixTime now);
    // Empties one page of class `from` (its items evicted, or counted
    // expired) and detaches it, after a grace period; kNoPage if none can go.
    uint32_t empty_page(uint8_t from, UnixTime now);
    // The class holding the most pages other than `except`, or kNoClass.
    uint8_t fullest_class(uint8_t except) const;
    void maybe_rebalance(UnixTime now);
    void wait_grace_period();
    void release(Item* it);  // index erase + slab free
    void note_expiry(const Item* it);
    StoreStatus link(const KeyRef& k, Item* fresh);
    void log_store(const Item& it);
    void log_delete(const Item& it);
    void log_simple(repl::RecordKind kind, uint32_t item_time, uint64_t cas);
    StoreStatus apply_record(const repl::RecordView& r, UnixTime now);
    // A primary's flush_all horizons, as memcached keeps them.
    void apply_flush(UnixTime oldest_live, uint64_t oldest_cas);

    Region region_;
    Region meta_region_;
    shm::ShardMeta* meta_;
    Slab slab_;
    Index index_;
    rte_rcu_qsbr* rcu_ = nullptr;
    uint32_t owner_thread_id_ = RTE_QSBR_THRID_INVALID;
    ShardView view_;
    ShardStats& stats_;  // meta_->stats
    uint64_t cas_counter_ = 0;
    uint64_t now_ms_ = 0;
    const Item* pinned_ = nullptr;
    Item* find_hint_ = nullptr;
    uint64_t page_detaches_ = 0;
    SweepKeys* eviction_log_ = nullptr;
    repl::LogWriter* log_ = nullptr;
    bool clearing_ = false;  // clear_all logs one kClear, not a delete per item
    bool evict_ = true;
    uint64_t evictions_since_rebalance_ = 0;
    uint64_t n_ttl_items_ = 0;
    // sweep() cursor
    uint32_t sweep_page_ = 0;
    uint32_t sweep_chunk_ = 0;
    UnixTime sweep_min_ = 0;
};

template <typename F>
bool Shard::walk_chunks(SnapshotCursor& c, size_t budget, F&& each) {
    const uint32_t n_pages = slab_.n_pages();
    size_t examined = 0;
    while (c.page < n_pages && examined < budget) {
        const uint8_t cls = slab_.page(c.page).class_id.load(std::memory_order_relaxed);
        const uint32_t per_page = cls == kNoClass ? 0 : slab_.cls(cls).chunks_per_page;
        while (c.chunk < per_page && examined < budget) {
            ++examined;
            if (!each(slab_.chunk(c.page, c.chunk))) return false;
            ++c.chunk;
        }
        if (c.chunk >= per_page) {
            ++c.page;
            c.chunk = 0;
            ++examined;
        }
    }
    return c.page >= n_pages;
}

}  // namespace fulmar::store
