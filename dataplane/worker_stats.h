// Per-worker packet counters. One writer (the worker lcore); the main lcore
// and telemetry read snapshots (aligned 64-bit loads: never torn on the CPUs
// DPDK supports, and a counter read mid-burst is merely a little old).
//
// Declared once in FULMAR_WORKER_COUNTERS so the struct, the totals and the
// telemetry dump can never disagree.
#pragma once

#include <cstdint>

namespace fulmar::dataplane {

// X(name, description)
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
    X(handoff_out, "datagrams handed to the owner worker")                                 \
    X(handoff_in, "datagrams received from other workers")                                 \
    X(handoff_ring_full, "hand-offs dropped: owner's ring full")                           \
    X(mbuf_alloc_failed, "replies dropped: mempool empty")                                 \
    X(sweep_reclaimed, "expired items freed by the housekeeping sweep")

struct alignas(64) WorkerStats {
#define FULMAR_DECLARE(name, desc) uint64_t name = 0;
    FULMAR_WORKER_COUNTERS(FULMAR_DECLARE)
#undef FULMAR_DECLARE
};

}  // namespace fulmar::dataplane
