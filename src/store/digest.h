// Key digests: the 16-byte XXH3-128 of a key, the rte_hash key of the index.
//
// Any thread; the seed is chosen once per process before any shard exists.
// A random seed means a client cannot pick keys that collide in one bucket
// (hash flooding); a digest collision between two keys costs at most a miss,
// because every hit compares the full key stored in the item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulmar::store {

struct KeyDigest {
    uint64_t lo = 0;
    uint64_t hi = 0;

    // rte_hash takes a 32-bit signature to pick buckets; the digest is
    // already uniformly random, so its low bits serve without rehashing.
    uint32_t sig() const { return static_cast<uint32_t>(lo); }
    bool operator==(const KeyDigest&) const = default;
};
static_assert(sizeof(KeyDigest) == 16);

// Sets the process-wide seed. Call once at start-up (tests may call it
// again between shards; existing shards would then miss every key).
void set_digest_seed(uint64_t seed);
uint64_t digest_seed();
// Seeds from the OS random source; returns the seed for logging.
uint64_t randomize_digest_seed();

// Redis Cluster's hash tag: the bytes between the key's first '{' and the
// next '}', when there are any ("{user1}.following" -> "user1"); empty
// when the key has none.
inline std::string_view hash_tag(std::string_view key) {
    const size_t open = key.find('{');
    if (open == std::string_view::npos) return {};
    const size_t close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) return {};
    return key.substr(open + 1, close - open - 1);
}

// `lo` hashes the whole key (the index's bucket and signature); `hi` picks
// the shard (engine::shard_index), so it hashes the key's hash tag when it
// has one: keys that share a tag share a shard, as keys that share a slot
// do in Redis Cluster, and a multi-key command over them runs on one owner.
KeyDigest digest_key(std::string_view key);

struct KeyRef;
// digest_key for every key of `keys` (their `key` set): one call for a
// burst's keys (the GET batch) rather than one each.
void digest_keys(KeyRef* keys, size_t n);

// A key with its digest computed once per request.
struct KeyRef {
    KeyRef() = default;  // for arrays filled later (batches)
    explicit KeyRef(std::string_view k) : key(k), digest(digest_key(k)) {}
    std::string_view key;
    KeyDigest digest;
};

}  // namespace fulmar::store
