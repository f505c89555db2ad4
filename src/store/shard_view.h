// A reader's view of a shard: the lock-free read path, on nothing but what
// lives in shared memory (the index, the item region, the ShardMeta of
// shm/layout.h). The owner's Shard reads through one; a worker of another
// lcore reads through the owner's; a DPDK secondary process (the control
// plane) attaches one by the shard's name and reads exactly as a worker does
// (CREW across processes), so TCP gets cost the workers nothing.
//
// Threading: any thread registered with the shard's RCU QSBR variable (the
// secondary takes a control-plane thread id, shm/layout.h) that reports
// quiescent states while it is not inside a read. A view is a few pointers:
// copy it freely. It never writes shared state except an item's CLOCK bit
// (a relaxed store, as every reader's hit does).
//
// The read protocol (item.h): take the version (odd = being written), copy
// the value bounded by the chunk size of the page's class, check the version
// again and compare the full key; a change means look up again (a few
// retries, then a miss). Pages change class only after a grace period, so a
// stale pointer always lands on a real header whose version has moved.
#pragma once

#include <rte_hash.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "shm/layout.h"
#include "store/digest.h"
#include "store/item.h"

namespace fulmar::store {

// What a reader learns besides the value.
struct ItemMeta {
    uint32_t flags = 0;
    UnixTime exptime = 0;
    uint64_t cas = 0;
    uint32_t value_len = 0;
    UnixTime time = 0;
    uint8_t type_bits = 0;
    uint16_t expire_ms = 0;  // Item::expire_ms
    // The item read. Only the shard's owner may use it, and only until its
    // own next write to the shard (nothing else frees or moves items): it
    // saves the owner a second look-up to mark a hit fetched.
    Item* item = nullptr;
};

enum class ReadStatus : uint8_t {
    kHit,
    kMiss,
    kBufferTooSmall,  // meta.value_len says how much is needed
    kExpired,         // read_typed only: the key is there but expired (a reader
                      // cannot reclaim it; Redis's lazy expiry asks the owner)
};

// Why attach() failed.
enum class AttachStatus : uint8_t {
    kNoMeta,       // no memzone "<region>_meta": no such shard, or no primary
    kNoRegion,     // the item memory zone is missing
    kNoIndex,      // rte_hash "fx_<shard>" is missing
    kBadMagic,     // the zone is not a ShardMeta (another program's memzone)
    kBadVersion,   // a primary of another layout version
    kBadGeometry,  // region size or address disagrees with the meta
};
std::string_view attach_status_text(AttachStatus s);

class ShardView {
  public:
    ShardView() = default;
    ShardView(const shm::ShardMeta* meta, const std::byte* base, const rte_hash* index)
        : meta_(meta), base_(base), index_(index) {}

    // Finds shard `name` ("shard0") of the primary this process is attached
    // to (EAL --proc-type=secondary, same --file-prefix) and checks it.
    static Result<ShardView, AttachStatus> attach(std::string_view name);

    // Copies the value of a live item into `value_out`. Retries a few
    // times when the owner rewrites the item under it, then reports a miss
    // (a reader racing a writer may see either the old or the new value,
    // never a mix).
    // memcached's reads: strings only, a key of another type is a miss.
    ReadStatus read(const KeyRef& k, UnixTime now, std::span<char> value_out,
                    ItemMeta& meta) const {
        return read_as(k, now, value_out, meta, true);
    }
    // Redis's reads: any type (meta.type_bits says which), the caller
    // decides (WRONGTYPE, or a collection's encoding).
    ReadStatus read_typed(const KeyRef& k, UnixTime now, std::span<char> value_out,
                          ItemMeta& meta) const {
        return read_as(k, now, value_out, meta, false);
    }

    // The same for a burst: one bulk index look-up for all keys, item
    // headers prefetched before any is copied. Any size; done in groups of
    // the index's bulk maximum.
    struct BulkRead {
        const KeyRef* key = nullptr;
        std::span<char> value_out;
        ItemMeta meta;
        ReadStatus status = ReadStatus::kMiss;
    };
    void read_bulk(std::span<BulkRead> reads, UnixTime now) const;

    // memcached's flush_all rule against the shard's horizons.
    bool is_flushed(const Item* it, UnixTime now) const;

    const shm::ShardMeta& meta() const { return *meta_; }
    const shm::ShardStats& stats() const { return meta_->stats; }
    // Items held now (the classes' live counts: a snapshot).
    uint64_t n_items() const;
    // Key slots of the index.
    uint32_t index_capacity() const;
    bool valid() const { return meta_ != nullptr; }

  private:
    enum class TryRead : uint8_t { kDone, kRetry };
    ReadStatus read_as(const KeyRef& k, UnixTime now, std::span<char> value_out, ItemMeta& meta,
                       bool strings_only) const;
    // Inline in both readers (shard_view.cc): it runs once per key read.
    [[gnu::always_inline]] inline TryRead try_read(Item* it, const KeyRef& k, UnixTime now,
                                                   std::span<char> value_out, ItemMeta& meta,
                                                   ReadStatus& status, bool strings_only) const;

    const shm::ShardMeta* meta_ = nullptr;
    const std::byte* base_ = nullptr;
    const rte_hash* index_ = nullptr;
};

}  // namespace fulmar::store
