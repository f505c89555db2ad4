// The channels into the workers: the message pool and one inbox ring per
// worker (handoff.h says what travels on them and who owns a message).
//
// Created by the main lcore before the workers start and freed after they
// stop. Named in shared memory (shm/layout.h), so a DPDK secondary (the
// control plane) finds them with rte_mempool_lookup / rte_ring_lookup.
//
//   mempool shm::kMessagePool ("fm_msgs"): Message x n_messages
//   ring shm::inbox_ring_name(i) ("fm_inbox<i>"), one per worker i:
//     multi-producer (other workers, control plane), single consumer (i)
//   ring shm::kCpReplyRing ("fm_cp_replies"): the owners' replies to the
//     control plane; multi-producer (workers), single consumer (cp)
//   memzone shm::kCpArenaZone ("fm_cp_arena"): the control plane's request
//     bytes (it allocates there; owners read)
//   mempool shm::kCpReplyPool ("fm_cp_rpool"): mbufs of the owners' replies
//     (owners allocate, the control plane frees)
//
// The pools the control plane takes from or gives back to use relaxed tail
// sync rings ("ring_mt_rts"), as the rings do: its thread is preemptible.
//
// The control plane's pieces are made by the primary, not by the control
// plane, so they outlive a control plane that dies and a restarted one
// finds them again.
#pragma once

#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fulmar::dataplane {

struct ChannelsConfig {
    size_t n_workers = 1;
    // Per inbox (a power of two): a burst from each other worker many times
    // over.
    unsigned inbox_size = 4096;
    // Messages in the pool; 0: enough to fill every inbox (one less, as a
    // ring of size n holds n - 1).
    unsigned n_messages = 0;
    // Requests the control plane may have at the owners at once: the pool
    // gets twice that many more messages (at the owners, and as many
    // waiting in its backlogs), and its reply ring room for them all.
    unsigned cp_inflight = 4096;
    // Bytes of the control plane's request arena; 0: no control plane
    // channel (packet tests).
    size_t cp_arena_bytes = 0;
    // Bytes of the pool of reply mbufs (8 KiB each) the owners answer the
    // control plane in; 0 with no control plane channel.
    size_t cp_reply_pool_bytes = 0;
    int socket_id = SOCKET_ID_ANY;
    // Put before every name: tests and benchmarks build several sets in
    // one process. The dataplane leaves it empty.
    std::string name_prefix;
};

struct Channels {
    rte_mempool* messages = nullptr;
    std::vector<rte_ring*> inboxes;  // inboxes[i] feeds worker i
    rte_ring* cp_replies = nullptr;  // null without a control plane channel
    const rte_memzone* cp_arena = nullptr;
    rte_mempool* cp_reply_pool = nullptr;
};

// Creates the pool and the inboxes; on failure frees what it made and says
// what failed.
Result<Channels, std::string> create_channels(const ChannelsConfig& cfg);

// Frees them, after the workers have stopped; `c` is left empty. Whatever
// an inbox still holds goes with the pool (at exit, nothing waits for it).
void free_channels(Channels& c);

}  // namespace fulmar::dataplane
