// Creation and teardown of the message pool and the inboxes; see channels.h.
#include "channels.h"

#include <rte_errno.h>

#include <rte_mbuf.h>

#include <algorithm>

#include "handoff.h"
#include "shm/layout.h"

namespace fulmar::dataplane {
namespace {

// Per-lcore cache of the message pool: a burst of hand-offs takes no lock
// on the pool's ring (the control plane, not an EAL lcore, goes uncached).
constexpr unsigned kMessageCache = 256;

// Rings the control plane shares with the workers: it enqueues into the
// inboxes from an ordinary, preemptible thread. A classic multi-producer
// enqueue preempted between its head and its tail stalls every other
// producer (the workers) until it runs again; relaxed tail sync (RTS) lets
// them go on. Single consumer: the owner (inbox) or the control plane.
constexpr unsigned kInboxFlags = RING_F_MP_RTS_ENQ | RING_F_SC_DEQ;
// The same for the pools it takes from and gives back to (mempool_ring's
// relaxed tail sync ops).
constexpr const char* kPreemptibleOps = "ring_mt_rts";
// Reply mbufs: 8 KiB of data each (a 1 MiB value in 128 segments).
constexpr unsigned kReplyMbufRoom = 8192;
constexpr unsigned kReplyMbufCache = 32;

// The control plane's reply ring holds this many (a power of two, less
// one); the control plane keeps at most that many at the owners and as many
// in its backlogs, all from its share of the pool.
unsigned cp_ring_capacity(const ChannelsConfig& cfg) {
    return rte_align32pow2(cfg.cp_inflight + 1) - 1;
}

}  // namespace

Result<Channels, std::string> create_channels(const ChannelsConfig& cfg) {
    Channels c;
    const bool with_cp = cfg.cp_arena_bytes != 0;
    const unsigned n_messages = cfg.n_messages != 0
                                    ? cfg.n_messages
                                    : static_cast<unsigned>(cfg.n_workers) * cfg.inbox_size - 1 +
                                          (with_cp ? 2 * cp_ring_capacity(cfg) : 0);
    const std::string pool_name = cfg.name_prefix + std::string(shm::kMessagePool);
    c.messages =
        rte_mempool_create_empty(pool_name.c_str(), n_messages, kMessageSize,
                                 std::min(kMessageCache, n_messages / 2), 0, cfg.socket_id, 0);
    if (c.messages == nullptr)
        return Err{"cannot create the message pool " + pool_name + ": " + rte_strerror(rte_errno)};
    if (rte_mempool_set_ops_byname(c.messages, with_cp ? kPreemptibleOps : "ring_mp_mc", nullptr) !=
            0 ||
        rte_mempool_populate_default(c.messages) < 0) {
        const std::string why = rte_strerror(rte_errno);
        free_channels(c);
        return Err{"cannot fill the message pool " + pool_name + ": " + why};
    }
    for (size_t i = 0; i < cfg.n_workers; ++i) {
        const std::string name = cfg.name_prefix + shm::inbox_ring_name(i);
        rte_ring* r = rte_ring_create(name.c_str(), cfg.inbox_size, cfg.socket_id, kInboxFlags);
        if (r == nullptr) {
            free_channels(c);
            return Err{"worker " + std::to_string(i) + ": cannot create its inbox ring " + name +
                       ": " + rte_strerror(rte_errno)};
        }
        c.inboxes.push_back(r);
    }
    if (!with_cp) return c;
    const std::string replies = cfg.name_prefix + std::string(shm::kCpReplyRing);
    // Room for every request the control plane may have out, so an owner's
    // reply finds a slot unless the control plane broke its own limit.
    c.cp_replies =
        rte_ring_create(replies.c_str(), cp_ring_capacity(cfg) + 1, cfg.socket_id, kInboxFlags);
    if (c.cp_replies == nullptr) {
        free_channels(c);
        return Err{"cannot create the control plane's reply ring " + replies + ": " +
                   rte_strerror(rte_errno)};
    }
    const std::string arena = cfg.name_prefix + std::string(shm::kCpArenaZone);
    c.cp_arena = rte_memzone_reserve_aligned(arena.c_str(), cfg.cp_arena_bytes, cfg.socket_id, 0,
                                             RTE_CACHE_LINE_SIZE);
    if (c.cp_arena == nullptr) {
        free_channels(c);
        return Err{"cannot reserve the control plane's request arena " + arena + " (" +
                   std::to_string(cfg.cp_arena_bytes >> 20) + " MiB): " + rte_strerror(rte_errno)};
    }
    const std::string rpool = cfg.name_prefix + std::string(shm::kCpReplyPool);
    const unsigned n_reply_mbufs =
        std::max<unsigned>(1024, static_cast<unsigned>(cfg.cp_reply_pool_bytes / kReplyMbufRoom));
    c.cp_reply_pool = rte_pktmbuf_pool_create_by_ops(rpool.c_str(), n_reply_mbufs, kReplyMbufCache,
                                                     0, RTE_PKTMBUF_HEADROOM + kReplyMbufRoom,
                                                     cfg.socket_id, kPreemptibleOps);
    if (c.cp_reply_pool == nullptr) {
        const std::string why = rte_strerror(rte_errno);
        free_channels(c);
        return Err{"cannot create the control plane's reply pool " + rpool + ": " + why};
    }
    return c;
}

void free_channels(Channels& c) {
    rte_mempool_free(c.cp_reply_pool);
    c.cp_reply_pool = nullptr;
    rte_memzone_free(c.cp_arena);
    c.cp_arena = nullptr;
    rte_ring_free(c.cp_replies);
    c.cp_replies = nullptr;
    for (rte_ring* r : c.inboxes)
        rte_ring_free(r);
    c.inboxes.clear();
    rte_mempool_free(c.messages);
    c.messages = nullptr;
}

}  // namespace fulmar::dataplane
