// A loaded DUMP payload (rdb_payload.h) stored as a key's item, in the
// encoding Redis 7.0.15 gives the same object when it loads it; and DEBUG
// RELOAD, every item of a shard serialized and stored back that way.
//
// Owner worker only (the shard's single writer). Why a reload here at all:
// Fulmar keeps nothing on disk, so Redis's "save and load the dataset" is
// what its load does to each value (sets and hashes re-encoded by the
// fresh rule, list nodes kept), done in memory one item at a time: memory
// beyond the shard is one item's payload and the list of keys.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/clock.h"
#include "engine/engine_ctx.h"
#include "engine/rdb_payload.h"
#include "engine/resp_collection.h"
#include "store/shard.h"

namespace fulmar::engine::rdb {

// What the item keeps besides the value.
struct ItemAttrs {
    UnixTime exptime = 0;  // 0: never
    uint16_t expire_ms = 0;
    uint32_t flags = 0;
    UnixTime time = 0;  // last access (IDLETIME); 0: now
    // memcached's meta bits (kItemStale, kItemWinSent, kItemFetched) a
    // reload carries over; RESTORE makes a fresh item (none).
    uint8_t meta_bits = 0;
};

// Stores `obj` as key `k` (any item there is replaced). Lists keep the
// payload's nodes (Redis's quicklistAppendListpack) or, for the plain LIST
// and ziplist forms, are packed under the live fill; sets by the fresh
// rule (intset when small and all integers); hashes from a listpack stay
// compact up to hash-max-listpack-entries (Redis checks only the count
// there), from the plain form by both limits.
coll::WriteStatus store_loaded(store::Shard& s, const store::KeyRef& k, const Loaded& obj,
                               const ItemAttrs& attrs, UnixTime now,
                               const CollectionLimits& limits);

struct ReloadResult {
    uint64_t items = 0;   // rewritten
    uint64_t failed = 0;  // left as they were (no memory for the copy)
};
// DEBUG RELOAD on one shard.
ReloadResult reload_shard(store::Shard& s, UnixTime now, const CollectionLimits& limits);

}  // namespace fulmar::engine::rdb
