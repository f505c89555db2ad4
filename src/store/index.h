// The shard index: rte_hash from a 16-byte key digest to the item pointer.
//
// One writer (the shard's owner lcore), lock-free readers on any lcore:
// created with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF and extendable buckets,
// and tied to the shard's RCU QSBR variable so a deleted key slot is reused
// only after every reader has passed a quiescent state. Only the `*_with_hash`
// calls are used: they take the digest's own bits as the signature (no second
// hash) and never call a function pointer stored in shared memory, so a DPDK
// secondary process can use the same table.
#pragma once

#include <rte_hash.h>
#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "store/digest.h"
#include "store/item.h"

namespace fulmar::store {

enum class IndexStatus : uint8_t {
    kOk,
    kFull,       // no key slot free: the caller evicts and retries
    kNoMemory,   // rte_hash_create failed
    kRcuFailed,  // rte_hash_rcu_qsbr_add failed
};

// rte_hash_lookup_with_hash_bulk_data takes at most this many keys a call.
inline constexpr unsigned kIndexBulkMax = RTE_HASH_LOOKUP_BULK_MAX;

// Look-ups on a table by its handle: the owner's Index and a reader's
// ShardView (which may be in another process, holding a table it found by
// name) share them. Any registered thread.
inline Item* index_find(const rte_hash* h, const KeyDigest& d) {
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(h, &d, d.sig(), &data) < 0) return nullptr;
    return static_cast<Item*>(data);
}
// n <= kIndexBulkMax; the digests are digest_of(i) (a const KeyDigest*),
// read straight from the caller's records. Returns the hits as a mask: bit
// i set, out[i] is the item; clear, out[i] holds nothing (not even
// nullptr: the caller goes by the mask, with no pass to clear them).
template <typename DigestOf>
inline uint64_t index_find_bulk_mask(const rte_hash* h, unsigned n, DigestOf&& digest_of,
                                     Item** out) {
    hash_sig_t sigs[kIndexBulkMax];
    const void* keys[kIndexBulkMax];
    for (unsigned i = 0; i < n; ++i) {
        const KeyDigest* d = digest_of(i);
        sigs[i] = d->sig();
        keys[i] = d;
    }
    uint64_t hits = 0;
    rte_hash_lookup_with_hash_bulk_data(h, keys, sigs, n, &hits, reinterpret_cast<void**>(out));
    return hits;
}
// n <= kIndexBulkMax; out[i] = nullptr on a miss. Returns the hit count.
// Inline: its loops fuse with the caller's.
inline unsigned index_find_bulk(const rte_hash* h, const KeyDigest* const* digests, unsigned n,
                                Item** out) {
    const uint64_t hits = index_find_bulk_mask(
        h, n, [digests](unsigned i) { return digests[i]; }, out);
    for (unsigned i = 0; i < n; ++i)
        if (!(hits & (uint64_t{1} << i))) out[i] = nullptr;
    return static_cast<unsigned>(__builtin_popcountll(hits));
}

class Index {
  public:
    // `entries`: key slots; `rcu`: may be null when no other thread reads
    // (unit tests, tools), then slots are reused at once.
    static Result<Index, IndexStatus> create(const std::string& name, uint32_t entries,
                                             rte_rcu_qsbr* rcu, int socket_id);
    Index(Index&& o) noexcept : h_(o.h_), has_rcu_(o.has_rcu_) { o.h_ = nullptr; }
    Index& operator=(Index&&) = delete;
    Index(const Index&) = delete;
    ~Index();

    // Any registered thread.
    Item* find(const KeyDigest& d) const { return index_find(h_, d); }
    unsigned find_bulk(const KeyDigest* const* digests, unsigned n, Item** out) const {
        return index_find_bulk(h_, digests, n, out);
    }

    // Owner only. Inserts or repoints the key at `it`.
    IndexStatus upsert(const KeyDigest& d, Item* it);
    // Owner only. False when the key was not there.
    bool erase(const KeyDigest& d);

    // Owner only (no writer may run meanwhile). The entry at or after
    // position `next` in the table's own order, and `next` moved past it;
    // nullptr at the end. Start at 0. A key keeps its position while it
    // stays (a rewrite repoints it in place); only a cuckoo displacement by
    // another key's insert may move it.
    Item* next(uint32_t& next) const {
        const void* key = nullptr;
        void* data = nullptr;
        return rte_hash_iterate(h_, &key, &data, &next) < 0 ? nullptr : static_cast<Item*>(data);
    }

    uint32_t count() const { return static_cast<uint32_t>(rte_hash_count(h_)); }
    uint32_t capacity() const { return static_cast<uint32_t>(rte_hash_max_key_id(h_)); }
    rte_hash* raw() const { return h_; }

  private:
    Index(rte_hash* h, bool has_rcu) : h_(h), has_rcu_(has_rcu) {}
    rte_hash* h_;
    bool has_rcu_;
};

}  // namespace fulmar::store
