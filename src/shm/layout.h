// The dataplane's shared memory: every memzone, ring and table that a
// second process (the control plane, a DPDK secondary) finds by name, and
// the layout of the ones Fulmar defines. The primary (fulmar-dataplane)
// creates all of them before its workers start and frees them at exit.
//
// Who writes and who reads each field is written next to it, as
//   // dp: <dataplane access>, cp: <control plane access>
// where "owner" is the shard's owner worker lcore, "lcore" the worker whose
// slot it is, "main" the dataplane's main lcore, "any" every lcore and
// process, "ro" read-only after creation, "rw" read and written, "-" not
// touched. Fields written by one lcore and read by others are atomics or
// 64-bit counters read as snapshots (never torn on DPDK's CPUs).
//
// A DPDK secondary maps the primary's hugepages at the same virtual
// addresses, so the pointers stored here (item pointers in the index, free
// list heads, region bases) are valid in both processes. Nothing here holds a
// pointer into one process's private heap or a function pointer (design.md:
// rte_hash's plain look-up calls one and breaks under ASLR; only the
// *_with_hash calls are used).
//
//   memzone kDataplaneZone ("fm_dataplane"): DataplaneShm
//   +-------------------------------------------------------------+
//   | magic, version, n_workers, n_shards, rcu threads, seed, pid  |  main: wo at start
//   | stats_baseline (EngineStats)          `stats reset`          |  any: rw (rare)
//   | lcores[kMaxWorkers]: LcoreStats                              |
//   |   +-------------------------------------------------------+  |
//   |   | WorkerStats | EngineStats | drops[kMaxDropReasons]    |  |  lcore: wo, any: ro
//   |   +-------------------------------------------------------+  |
//   | cp: ControlPlaneShm (pid, requests in flight, its counters)  |  cp: wo, main: watches
//   +-------------------------------------------------------------+
//
//   memzone kRcuZone ("fm_rcu"): rte_rcu_qsbr for rcu_threads readers:
//     thread ids 0..n_workers-1 are the workers, n_workers.. the control
//     plane's reader threads (kMaxCpReaders of them)
//
//   memzone kCpArenaZone ("fm_cp_arena"): the control plane's request bytes
//   ring kCpReplyRing ("fm_cp_replies"): owners -> control plane (messages)
//
//   per shard i (name "shard<i>"):
//   memzone "fm_shard<i>"       item memory, 1 MiB pages (store/slab.h)
//   memzone "fm_shard<i>_meta"  ShardMeta, then PageDesc[n_pages]
//   +-------------------------------------------------------------+
//   | magic, version, n_pages, n_classes, region_base              |  owner: wo at start
//   | oldest_live, oldest_cas (flush_all horizons)                 |  owner: wo, any: ro
//   | stats: ShardStats                                            |  owner: wo, any: ro
//   | classes[kMaxClasses]: SlabClass                              |  owner: rw, any: ro *
//   +-------------------------------------------------------------+
//   | pages[n_pages]: PageDesc (class id, next, earliest exptime)  |  owner: rw, any: ro class
//   +-------------------------------------------------------------+
//   rte_hash "fx_shard<i>"  digest -> Item* (store/index.h)
//   * readers use chunk_size (immutable) and the counters as snapshots;
//     the free list and the CLOCK hand are the owner's alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "shm/counters.h"
#include "shm/ring_table.h"

namespace fulmar::store {
struct Item;
}

namespace fulmar::shm {

// ---- names ---------------------------------------------------------------
// The EAL file prefix keeps two appliances on one host apart; inside one,
// these names are unique.

inline constexpr std::string_view kDataplaneZone = "fm_dataplane";
inline constexpr std::string_view kRcuZone = "fm_rcu";
// Shard i is named "shard<i>"; its zones and table carry these prefixes.
inline constexpr std::string_view kShardNamePrefix = "shard";
inline constexpr std::string_view kRegionZonePrefix = "fm_";  // + shard name
inline constexpr std::string_view kMetaZoneSuffix = "_meta";  // region zone + this
inline constexpr std::string_view kIndexPrefix = "fx_";       // + shard name
// Typed hand-off: per worker, a ring of messages into its owner (inbox),
// and the pool the messages come from.
inline constexpr std::string_view kInboxRingPrefix = "fm_inbox";  // + worker id
inline constexpr std::string_view kMessagePool = "fm_msgs";
// The control plane's channel back: the owners put their replies to its
// requests here (multi-producer, single consumer: the control plane).
inline constexpr std::string_view kCpReplyRing = "fm_cp_replies";
// Where the control plane puts the bytes of its requests (a value may be
// 1 MiB): one contiguous hugepage zone the control plane allocates from and
// the owners only read, so a request needs no fixed-size slot and crosses
// with one copy (socket buffer -> arena).
inline constexpr std::string_view kCpArenaZone = "fm_cp_arena";
// The mbufs the owners put their replies to the control plane in: a pool of
// its own, so large TCP replies never take the mbufs the NIC receives into.
inline constexpr std::string_view kCpReplyPool = "fm_cp_rpool";
// The mbuf pool of port p: the control plane allocates the mbufs of its
// requests (and reads reply chains) from it.
inline constexpr std::string_view kMbufPoolPrefix = "fm_pool";  // + port index

inline std::string shard_name(size_t i) {
    return std::string(kShardNamePrefix) + std::to_string(i);
}
inline std::string region_zone_name(std::string_view shard) {
    return std::string(kRegionZonePrefix) + std::string(shard);
}
inline std::string meta_zone_name(std::string_view shard) {
    return region_zone_name(shard) + std::string(kMetaZoneSuffix);
}
inline std::string index_name(std::string_view shard) {
    return std::string(kIndexPrefix) + std::string(shard);
}
inline std::string mbuf_pool_name(size_t port) {
    return std::string(kMbufPoolPrefix) + std::to_string(port);
}
// Shard i's mutation log (repl/mutation_log.h), when replication.log_mb > 0.
inline constexpr std::string_view kMutationLogPrefix = "fm_mlog";
inline std::string mutation_log_name(size_t shard) {
    return std::string(kMutationLogPrefix) + std::to_string(shard);
}
inline std::string inbox_ring_name(size_t worker) {
    return std::string(kInboxRingPrefix) + std::to_string(worker);
}

// ---- limits ----------------------------------------------------------------

inline constexpr uint32_t kMaxWorkers = 128;
// RCU reader thread ids the control plane may register, after the workers'.
inline constexpr uint32_t kMaxCpReaders = 8;
// 3: kernel_fragments; 4: sweep counters; 5: Item::expire_ms; 6: collections;
// 7: cp.active_expire; 8: collections.list_packed_threshold; 9: memory,
// collections.list_compress_depth; 10: replica (read-only replicas); 11: services;
// 12: ring (cluster ring, shm/ring_table.h)
inline constexpr uint32_t kLayoutVersion = 12;
inline constexpr uint64_t kDataplaneMagic = 0x46554c4d41524450ull;  // "FULMARDP"
inline constexpr uint64_t kShardMagic = 0x46554c4d41525348ull;      // "FULMARSH"

// ---- slab: classes and pages (store/slab.h works on these) -----------------

inline constexpr size_t kMaxClasses = 64;
inline constexpr uint8_t kNoClass = 0xff;
inline constexpr uint32_t kNoPage = UINT32_MAX;

struct PageDesc {
    std::atomic<uint8_t> class_id{kNoClass};  // dp: owner rw, any ro (chunk bounds); cp: ro
    uint32_t next = kNoPage;                  // dp: owner rw; cp: -
    UnixTime min_expiry = 0;                  // dp: owner rw (TTL sweep); cp: -
};
static_assert(sizeof(PageDesc) == 12);

struct SlabClass {
    uint32_t chunk_size = 0;           // dp: owner wo at start, any ro; cp: ro
    uint32_t chunks_per_page = 0;      // dp: owner wo at start, any ro; cp: ro
    store::Item* free_head = nullptr;  // dp: owner rw; cp: -
    uint32_t n_free = 0;               // dp: owner rw; cp: ro (stats)
    uint32_t n_pages = 0;              // dp: owner rw; cp: ro (stats)
    uint32_t first_page = kNoPage;     // dp: owner rw; cp: -
    uint32_t hand_page = kNoPage;      // dp: owner rw (CLOCK hand); cp: -
    uint32_t hand_chunk = 0;           // dp: owner rw; cp: -
    uint64_t n_live = 0;               // dp: owner rw; cp: ro (stats)
    uint64_t evictions = 0;            // dp: owner rw; cp: ro (stats)
    uint64_t window_evictions = 0;     // dp: owner rw (page rebalancing); cp: -
};
static_assert(sizeof(SlabClass) == 64, "one cache line per class");

// ---- per shard ---------------------------------------------------------------

struct alignas(64) ShardMeta {
    uint64_t magic = kShardMagic;              // dp: owner wo at start; cp: ro (attach check)
    uint32_t layout_version = kLayoutVersion;  // dp: owner wo at start; cp: ro
    uint32_t n_pages = 0;                      // dp: owner wo at start; cp: ro
    uint64_t region_base = 0;                  // dp: owner wo at start; cp: ro (page of an item)
    uint32_t n_classes = 0;                    // dp: owner wo at start; cp: ro
    uint32_t reserved0 = 0;
    // memcached's settings.oldest_live / oldest_cas: a reader racing a
    // flush may serve one stale hit, as on another lcore.
    std::atomic<UnixTime> oldest_live{0};        // dp: owner wo, any ro; cp: ro
    std::atomic<uint64_t> oldest_cas{0};         // dp: owner wo, any ro; cp: ro
    alignas(64) ShardStats stats;                // dp: owner wo; cp: ro
    alignas(64) SlabClass classes[kMaxClasses];  // see SlabClass
    // Followed by PageDesc[n_pages].

    PageDesc* pages() { return reinterpret_cast<PageDesc*>(this + 1); }
    const PageDesc* pages() const { return reinterpret_cast<const PageDesc*>(this + 1); }
    static size_t bytes_for(uint32_t n_pages) {
        return sizeof(ShardMeta) + size_t{n_pages} * sizeof(PageDesc);
    }
};
static_assert(sizeof(ShardMeta) % 64 == 0);
static_assert(alignof(PageDesc) <= alignof(ShardMeta));
static_assert(std::atomic<UnixTime>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// ---- the dataplane -------------------------------------------------------------

// One worker lcore's counters, written only by that lcore.
struct alignas(64) LcoreStats {
    WorkerStats worker;                                // dp: lcore wo, any ro; cp: ro
    alignas(64) EngineStats engine;                    // dp: lcore wo, any ro; cp: ro
    alignas(64) uint64_t drops[kMaxDropReasons] = {};  // dp: lcore wo (net::DropReason); cp: ro
};
static_assert(sizeof(LcoreStats) % 64 == 0);

// The control plane's presence, and what it counts. Written by the control
// plane except where marked; the main lcore watches `pid` so that a control
// plane killed while it was an RCU reader cannot stall the owners (it forces
// the dead process's reader ids offline).
struct alignas(64) ControlPlaneShm {
    std::atomic<int64_t> pid{0};  // cp: wo (at attach; 0 at a clean exit); dp: main rw (death)
    std::atomic<uint32_t> rcu_readers{0};  // cp: wo (reader ids it registered); dp: main ro
    // Requests at the owners or on the reply ring: the control plane adds
    // one per request it enqueues, the owner takes one off per reply it
    // enqueues or drops. A restarted control plane waits for 0 before it
    // reuses the arena, so no owner still reads a dead one's bytes.
    std::atomic<int64_t> inflight{0};  // cp: rw; dp: owner rw
    std::atomic<uint64_t> deaths{0};   // dp: main rw (dead control planes cleaned up); cp: ro
    uint64_t arena_bytes = 0;          // dp: main wo at start; cp: ro
    // DEBUG SET-ACTIVE-EXPIRE: 0 stops the owners' own fallback sweep too
    // (the control plane stops pacing); back to 1 when a control plane
    // attaches or dies, so expired memory always comes back without one.
    std::atomic<uint8_t> active_expire{1};  // cp: wo; dp: main wo (death), owner ro
    alignas(64) LcoreStats stats;           // cp: wo (its gets, connections); dp: any ro
};
static_assert(std::atomic<int64_t>::is_always_lock_free);

// Redis's collection encoding settings (CONFIG SET list-max-listpack-size,
// set-max-intset-entries, hash-max-listpack-*): the control plane writes
// them, every owner reads them at each write it runs (relaxed: a write
// racing a CONFIG SET uses the old or the new value, as a Redis command
// runs before or after it). Here rather than carried with each request:
// one load per write, no bytes added to every request, and one store
// reaches every owner at once, with no message to each. Redis 7.0.15's
// defaults.
struct alignas(64) CollectionSettings {
    std::atomic<int32_t> list_max_listpack_size{-2};      // cp: wo (CONFIG SET); dp: owner ro
    std::atomic<int64_t> set_max_intset_entries{512};     // cp: wo; dp: owner ro
    std::atomic<int64_t> hash_max_listpack_entries{512};  // cp: wo; dp: owner ro
    std::atomic<int64_t> hash_max_listpack_value{64};     // cp: wo; dp: owner ro
    // DEBUG QUICKLIST-PACKED-THRESHOLD: a list element of at least this
    // many bytes gets a node of its own (Redis's plain node); 1 GiB.
    std::atomic<int64_t> list_packed_threshold{int64_t{1} << 30};  // cp: wo; dp: owner ro
    // list-compress-depth: list nodes this far from both ends are kept
    // LZF-compressed (engine/resp_quicklist.h); 0: none.
    std::atomic<int32_t> list_compress_depth{0};  // cp: wo (CONFIG SET); dp: owner ro
};
static_assert(std::atomic<int32_t>::is_always_lock_free);

// Redis's CONFIG SET maxmemory / maxmemory-policy: each owner's page budget
// and whether its writes may evict. The control plane writes them (and
// their defaults when it attaches); each owner applies a change at its next
// housekeeping (store::Shard::set_memory_policy); the main lcore puts the
// defaults back when a control plane dies, so no budget outlives it.
inline constexpr uint32_t kAllPages = UINT32_MAX;
struct alignas(64) MemoryPolicy {
    std::atomic<uint32_t> max_pages{kAllPages};  // per shard; cp: wo; dp: owner ro, main wo (death)
    std::atomic<uint8_t> evict{1};  // 0: noeviction; cp: wo; dp: owner ro, main wo (death)
    // Whether owners note the keys they evict (Redis's evicted events, which
    // travel with the sweep steps): cp: wo (notify flags); dp: owner ro,
    // main wo (death).
    std::atomic<uint8_t> log_evicted{0};
};

// Whether this node is a read-only replica, and of whom (for the error a
// refused write gets). The control plane writes it (a replica_of config,
// REPLICAOF, a failover); every owner reads `read_only` at each client
// write it runs (relaxed: one load per write; a write racing the switch
// runs before or after it), and the text only when it refuses one. It
// outlives a control plane that dies: a replica's UDP writes stay refused
// until a control plane says otherwise (a write there would be lost at the
// next sync).
inline constexpr size_t kPrimaryTextMax = 48;
struct alignas(64) ReplicaState {
    std::atomic<uint32_t> read_only{0};  // cp: wo; dp: owner ro
    char primary[kPrimaryTextMax]{};     // "198.18.0.1": cp wo before read_only; dp ro
};

// Service addresses: IPv4 addresses a port answers for besides its own
// (the partition's address, which moves to whichever appliance is primary;
// dataplane/README.md, "Service addresses"). The control plane's loop
// thread is the only writer (controlplane/service_address.h); each worker
// copies the table into its own PortAddr when `seq` moves (it looks once
// per housekeeping round, never per packet), so classification reads
// private memory and takes no lock. A seqlock rather than a message to each
// worker: one store reaches every worker, a worker that was busy still ends
// up with the last table, and a restarted control plane reads back what is
// served. Addresses survive a control plane's death on purpose: the
// failover logic decides when an address goes (see the README).
inline constexpr uint32_t kMaxServiceAddrs = 8;
struct alignas(64) ServiceAddrs {
    // Odd while the writer changes the table; bumped by 2 per change.
    std::atomic<uint32_t> seq{0};                        // cp: rw; dp: lcore ro
    std::atomic<uint32_t> n{0};                          // cp: rw; dp: lcore ro
    std::atomic<uint32_t> addrs[kMaxServiceAddrs] = {};  // network order; cp: rw; dp: lcore ro
    // The port's kernel side (exception path), where the control plane
    // adds the addresses too so TCP follows them; "" without one.
    char kernel_ifname[16] = {};  // dp: main wo at start; cp: ro
    uint32_t port_ip = 0;         // the port's own address, network order; dp: main wo; cp: ro
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

struct alignas(64) DataplaneShm {
    uint64_t magic = kDataplaneMagic;          // dp: main wo at start; cp: ro (attach check)
    uint32_t layout_version = kLayoutVersion;  // dp: main wo at start; cp: ro
    uint32_t n_workers = 0;                    // dp: main wo at start; cp: ro
    uint32_t n_shards = 0;                     // dp: main wo at start; cp: ro (= n_workers)
    uint32_t rcu_threads = 0;  // dp: main wo at start; cp: ro (n_workers + kMaxCpReaders)
    uint64_t digest_seed = 0;  // dp: main wo at start; cp: ro (set_digest_seed)
    int64_t primary_pid = 0;   // dp: main wo at start; cp: ro (messages)
    UnixTime started = 0;      // dp: main wo at start; cp: ro (uptime)
    // Engine totals at the last `stats reset` (memcached resets every
    // thread's counters; ours each have one writer, so a reset records a
    // baseline that readers subtract). Written rarely by whoever runs the
    // reset, field by field: a reset racing another may mix the two.
    alignas(64) EngineStats stats_baseline;  // dp: any rw (reset); cp: rw (reset)
    LcoreStats lcores[kMaxWorkers];          // see LcoreStats
    ControlPlaneShm cp;                      // see ControlPlaneShm
    CollectionSettings collections;          // see CollectionSettings
    MemoryPolicy memory;                     // see MemoryPolicy
    ReplicaState replica;                    // see ReplicaState
    ServiceAddrs services;                   // see ServiceAddrs
    RingShm ring;                            // see shm/ring_table.h
};
static_assert(sizeof(DataplaneShm) % 64 == 0);
static_assert(offsetof(DataplaneShm, lcores) % 64 == 0);

}  // namespace fulmar::shm
