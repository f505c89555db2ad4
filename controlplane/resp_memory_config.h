// Redis's maxmemory and maxmemory-policy in the CONFIG registry, on the
// store's fixed memory: the shards' hugepage slabs are sized at the
// dataplane's start (memory_per_shard_mb x shards), so maxmemory can only
// lower how much of them holds items. Their values live in
// shm::MemoryPolicy, which each owner applies at its next housekeeping
// (store::Shard::set_memory_policy): pages past a lowered budget are
// emptied at once (their keys evicted, with evicted events).
//
//   maxmemory         0 (or the whole memory): every page; else a budget of
//                     maxmemory / shards bytes per shard, in whole 1 MiB
//                     pages (1 byte: none, so every key is evicted and a
//                     write that needs memory gets -OOM, as Redis answers
//                     past maxmemory). Above the whole memory: an error.
//   maxmemory-policy  allkeys-lru (the default here: the CLOCK hand evicts
//                     among all keys, Redis's approximated LRU) or
//                     noeviction (a write that needs memory fails: -OOM,
//                     memcached's SERVER_ERROR out of memory, as memcached
//                     -M). Any other policy is refused, never ignored.
//
// Control plane loop thread (the CONFIG registry is RespServerState's).
#pragma once

#include <cstddef>
#include <cstdint>

#include "shm/layout.h"

namespace fulmar::controlplane {

class RespServerState;

// `total`: the shards' item memory in all (bytes); `n_shards` of them.
// Writes the defaults to `policy` (a control plane that attaches starts
// from them).
void add_memory_config(RespServerState& state, shm::MemoryPolicy& policy, uint64_t total,
                       size_t n_shards);

}  // namespace fulmar::controlplane
