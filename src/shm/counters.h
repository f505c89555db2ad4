// Every counter of the dataplane, declared once: a list per writer (shard,
// engine, worker) that generates the struct, the names and the summing.
// Telemetry, memcached `stats`, the control plane's INFO and Prometheus all
// read these structs, so no exporter can forget a field: a counter added to
// a list is exported everywhere (tests/shm/counters_test.cc checks it).
//
// Threading: each struct instance has one writer (the lcore that owns it, or
// the shard's owner for ShardStats); anyone reads. Readers take snapshots
// with relaxed 64-bit loads, never torn on the CPUs DPDK supports; a counter
// read mid-burst is merely a little old. The instances live in shared memory
// (see shm/layout.h) so a secondary process reads the same numbers.
//
// X(name, description); names are the exported names: keep them stable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulmar::shm {

// The shard's owner lcore writes these (store/shard.h).
#define FULMAR_SHARD_COUNTERS(X)                                                    \
    X(sets, "items stored (every successful store, append, arithmetic copy)")       \
    X(evictions, "live items evicted for memory by the CLOCK hand or page moves")   \
    X(expired_reclaimed, "expired items freed by the CLOCK hand or a look-up")      \
    X(flushed_reclaimed, "items freed after flush_all made them invalid")           \
    X(sweep_reclaimed, "expired items freed by the TTL sweep")                      \
    X(sweep_steps, "TTL sweep steps run (paced by the control plane, or fallback)") \
    X(sweep_chunks, "chunks the TTL sweep visited on pages holding expired items")  \
    X(sweep_cycles, "TSC cycles the owner spent in TTL sweep steps")                \
    X(page_moves, "1 MiB pages moved between size classes")                         \
    X(index_full, "evictions forced by a full index")                               \
    X(digest_collisions, "two keys met under one 128-bit digest (older dropped)")

// The engine of one lcore writes these: memcached's command counters, with
// memcached's names (engine/mc_classic.cc, mc_meta_exec.cc, mc_get_batch.cc).
#define FULMAR_ENGINE_COUNTERS(X)                                          \
    X(cmd_get, "keys requested by get/gets/mg")                            \
    X(cmd_set, "storage commands (set/add/replace/append/prepend/cas/ms)") \
    X(cmd_flush, "flush_all commands")                                     \
    X(cmd_touch, "keys touched by touch/gat/gats/mg T")                    \
    X(get_hits, "keys found by a get")                                     \
    X(get_misses, "keys not found by a get")                               \
    X(get_expired, "get misses on an item that had expired")               \
    X(delete_hits, "deletes that removed an item")                         \
    X(delete_misses, "deletes of absent keys")                             \
    X(incr_hits, "incr on a present key")                                  \
    X(incr_misses, "incr on an absent key")                                \
    X(decr_hits, "decr on a present key")                                  \
    X(decr_misses, "decr on an absent key")                                \
    X(cas_hits, "cas that stored")                                         \
    X(cas_misses, "cas on an absent key")                                  \
    X(cas_badval, "cas with a stale unique")                               \
    X(touch_hits, "touches of a present key")                              \
    X(touch_misses, "touches of an absent key")                            \
    X(total_items, "items stored by storage commands")

// The worker lcore writes these (dataplane/worker.cc).
#define FULMAR_WORKER_COUNTERS(X)                                                          \
    X(rx_packets, "frames received")                                                       \
    X(rx_bytes, "bytes received (frames)")                                                 \
    X(tx_packets, "frames sent")                                                           \
    X(tx_bytes, "bytes sent (frames)")                                                     \
    X(tx_dropped, "frames the TX queue would not take")                                    \
    X(replies_in_place, "ARP and ICMP echo requests answered")                             \
    X(udp_requests, "memcached datagrams received for us")                                 \
    X(udp_request_bytes, "payload bytes of those datagrams")                               \
    X(udp_reply_datagrams, "reply datagrams sent")                                         \
    X(udp_reply_bytes, "reply payload bytes (with the reflection ratio to request bytes)") \
    X(udp_batched_gets, "get datagrams answered by the batched GET path")                  \
    X(udp_short_frame, "datagrams shorter than the memcached frame header")                \
    X(udp_multi_datagram, "requests with total != 1 (memcached drops them)")               \
    X(udp_refused_admin, "stats/flush_all/verbosity over UDP, not enabled")                \
    X(udp_refused_span, "datagrams whose writes span shards")                              \
    X(udp_reply_overflow, "replies larger than the reply buffer")                          \
    X(handoff_out, "requests handed to the owner worker")                                  \
    X(handoff_in, "requests received from other workers")                                  \
    X(handoff_ring_full, "hand-offs dropped: owner's ring full")                           \
    X(handoff_no_message, "hand-offs dropped: message pool empty")                         \
    X(handoff_reply_dropped, "control-plane replies dropped: reply ring full")             \
    X(mbuf_alloc_failed, "replies dropped: mempool empty")                                 \
    X(kernel_punted, "frames handed to the port's kernel interface (exception path)")      \
    X(kernel_fragments, "IP fragments handed to the kernel interface (it reassembles)")    \
    X(kernel_returned, "frames from the kernel interface sent on the port")                \
    X(kernel_dropped, "exception-path frames dropped: kernel TX queue full, no tag room")  \
    X(sweep_reclaimed, "expired items freed by the housekeeping (fallback) sweep")         \
    X(sweep_fallback_steps, "fallback sweep steps: no control plane paced one for 1 s")    \
    X(sweep_paced_steps, "sweep steps the control plane's pacer asked for (SWEEP, pacer)") \
    X(service_addr_updates, "service address tables taken from shared memory")             \
    X(gratuitous_arps, "gratuitous ARPs sent (the port's address, service addresses)")

#define FULMAR_COUNTER_FIELD(name, desc) uint64_t name = 0;

struct ShardStats {
    FULMAR_SHARD_COUNTERS(FULMAR_COUNTER_FIELD)
};
struct EngineStats {
    FULMAR_ENGINE_COUNTERS(FULMAR_COUNTER_FIELD)
};
struct alignas(64) WorkerStats {
    FULMAR_WORKER_COUNTERS(FULMAR_COUNTER_FIELD)
};

#undef FULMAR_COUNTER_FIELD

// Room for the packet path's drop reasons (net::DropReason), counted per
// worker as drop_<reason>; net/classify.h asserts its count fits.
inline constexpr size_t kMaxDropReasons = 32;

// For each counter struct and its list: for_each_counter(s, f) calls
// f(name, description, value) for every counter in list order, and
// add_into(a, b) does a += b field by field (summing per-lcore snapshots).
#define FULMAR_COUNTER_VISIT(name, desc) f(std::string_view(#name), std::string_view(desc), s.name);
#define FULMAR_COUNTER_ADD(name, desc) a.name += b.name;
#define FULMAR_COUNTER_OPS(Struct, LIST)               \
    template <typename F>                              \
    void for_each_counter(const Struct& s, F&& f) {    \
        LIST(FULMAR_COUNTER_VISIT)                     \
    }                                                  \
    inline void add_into(Struct& a, const Struct& b) { \
        LIST(FULMAR_COUNTER_ADD)                       \
    }

FULMAR_COUNTER_OPS(ShardStats, FULMAR_SHARD_COUNTERS)
FULMAR_COUNTER_OPS(EngineStats, FULMAR_ENGINE_COUNTERS)
FULMAR_COUNTER_OPS(WorkerStats, FULMAR_WORKER_COUNTERS)

#undef FULMAR_COUNTER_OPS
#undef FULMAR_COUNTER_ADD
#undef FULMAR_COUNTER_VISIT

// a -= b, field by field, floored at 0 (a `stats reset` baseline taken
// from a snapshot a little older than `a`).
inline void subtract_floor(EngineStats& a, const EngineStats& b) {
#define FULMAR_SUB(name, desc) a.name = a.name > b.name ? a.name - b.name : 0;
    FULMAR_ENGINE_COUNTERS(FULMAR_SUB)
#undef FULMAR_SUB
}

// Counters in each list, for tests and exporters that size tables.
#define FULMAR_COUNT_ONE(name, desc) +1
inline constexpr size_t kShardCounterCount = 0 FULMAR_SHARD_COUNTERS(FULMAR_COUNT_ONE);
inline constexpr size_t kEngineCounterCount = 0 FULMAR_ENGINE_COUNTERS(FULMAR_COUNT_ONE);
inline constexpr size_t kWorkerCounterCount = 0 FULMAR_WORKER_COUNTERS(FULMAR_COUNT_ONE);
#undef FULMAR_COUNT_ONE

static_assert(sizeof(ShardStats) == kShardCounterCount * sizeof(uint64_t));
static_assert(sizeof(EngineStats) == kEngineCounterCount * sizeof(uint64_t));

}  // namespace fulmar::shm
