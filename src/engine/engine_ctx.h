// What a memcached session executes against: the shards, a clock, a scratch
// buffer for value copies, and the counters `stats` reports.
//
// One EngineCtx per thread (lcore or control plane loop); sessions on that
// thread share it. Not thread-safe.
#pragma once

#include "fulmar/protocol.h"

#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "shm/counters.h"
#include "shm/layout.h"
#include "store/digest.h"
#include "store/shard.h"

namespace fulmar::engine {

// The version we announce: the memcached protocol level we implement, then
// who we are. Clients that parse "major.minor.patch" read 1.6.18.
inline constexpr std::string_view kMcVersion = "1.6.18-fulmar-0.1.0";

// The documented shard choice inside a node: a client that knows it can aim
// at the owner's port. Uses the digest's high half (the index uses the low
// half for buckets, so the two stay independent).
inline size_t shard_index(const store::KeyDigest& d, size_t n_shards) {
    return static_cast<size_t>(d.hi % n_shards);
}

// memcached's item size rule (item_size_ok): header 48 + CAS 8 + key + NUL
// + value + CRLF must fit 1 MiB. We store items smaller than that, but take
// memcached's limit so clients see the same accept/reject boundary.
inline constexpr size_t kMcItemSizeMax = FULMAR_MC_ITEM_SIZE_MAX;
inline bool mc_item_fits(size_t key_len, size_t value_len) {
    return 48 + 8 + key_len + 1 + value_len + 2 <= kMcItemSizeMax;
}

// memcached's command counters, declared in shm/counters.h.
using EngineStats = shm::EngineStats;

// The collection encoding limits a write obeys, as CONFIG last set them
// (shm::CollectionSettings): lists' node bound and compression depth, sets'
// and hashes' encoding bounds.
struct CollectionLimits {
    int32_t list_max_listpack_size = -2;
    int64_t set_max_intset_entries = 512;
    int64_t hash_max_listpack_entries = 512;
    int64_t hash_max_listpack_value = 64;
    int64_t list_packed_threshold = int64_t{1} << 30;
    int32_t list_compress_depth = 0;

    static CollectionLimits load(const shm::CollectionSettings& c) {
        return {c.list_max_listpack_size.load(std::memory_order_relaxed),
                c.set_max_intset_entries.load(std::memory_order_relaxed),
                c.hash_max_listpack_entries.load(std::memory_order_relaxed),
                c.hash_max_listpack_value.load(std::memory_order_relaxed),
                c.list_packed_threshold.load(std::memory_order_relaxed),
                c.list_compress_depth.load(std::memory_order_relaxed)};
    }
};

struct EngineCtx {
    std::span<store::Shard* const> shards;
    const Clock* clock = nullptr;
    // Holds one value copied out of a shard; at least store::kMaxItemSize.
    std::span<char> scratch;
    UnixTime started = 0;  // for stats uptime
    // The shard this thread owns (index into `shards`), or -1 when it owns
    // them all (tests, single-threaded tools). Reads of other shards stay
    // lock-free and never write: no fetched bit, no lazy reclaim.
    int own_shard = -1;
    // This thread's counters: in the dataplane, its lcore's slot in shared
    // memory (shm/layout.h); elsewhere any EngineStats the owner keeps.
    EngineStats* stats = nullptr;
    // The dataplane's shared zone, when this context serves one: `stats`
    // then reports every lcore's counters (engine_stats.h). Null in tests
    // and tools that run the engine alone.
    shm::DataplaneShm* shared = nullptr;

    // Where the collection settings live: the dataplane's shared zone
    // (`shared->collections`) when there is one, else a block the owner of
    // this context keeps (tests); null: Redis's defaults.
    const shm::CollectionSettings* collections = nullptr;

    CollectionLimits limits() const {
        if (collections != nullptr) return CollectionLimits::load(*collections);
        if (shared != nullptr) return CollectionLimits::load(shared->collections);
        return {};
    }

    bool owns(const store::Shard& s) const {
        return own_shard < 0 || shards[static_cast<size_t>(own_shard)] == &s;
    }

    store::Shard& shard_for(const store::KeyRef& k) const {
        return *shards[shard_index(k.digest, shards.size())];
    }
    UnixTime now() const { return clock->now(); }
    uint64_t now_ms() const { return clock->now_ms(); }
};

}  // namespace fulmar::engine
