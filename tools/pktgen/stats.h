// Counters of a run, declared once in a table that generates the struct,
// the summing and the JSON/text dump, so no output forgets a field.
//
// One writer: the generator's lcore (one per queue with --queues). The final
// report reads them after the lcores have returned; the live line reads
// copies each lcore publishes (generator.h), so no atomics are needed here.
#pragma once

#include <array>
#include <cstdint>

#include "reply_check.h"

namespace fulmar::pktgen {

// Outcomes of the requests sent in one phase (preload, warm-up, measurement).
// X(name, description)
#define FULMAR_PKTGEN_REQUEST_STATS(X)                                               \
    X(sent, "requests sent")                                                         \
    X(sent_gets, "get requests sent")                                                \
    X(sent_sets, "set requests sent")                                                \
    X(keys_requested, "keys asked for by gets (keys_per_get each)")                  \
    X(replies, "complete replies matched to an outstanding request")                 \
    X(hits, "keys returned with a value proven ours and fresh")                      \
    X(misses, "keys asked for and not returned")                                     \
    X(unverified_hits, "keys returned with data from before this run (no set yet)")  \
    X(stored, "sets acknowledged STORED")                                            \
    X(errors, "replies failing a check (by kind under errors)")                      \
    X(timeouts, "requests without a complete reply in --timeout-ms: lost")           \
    X(late, "datagrams arriving for a request already timed out")                    \
    X(multi_datagram_replies, "replies reassembled from several datagrams")          \
    X(duplicate_datagrams, "datagrams of a reply received twice")                    \
    X(reassembly_full, "multi-datagram replies dropped: no reassembly context free") \
    X(retries, "preload sets sent again after a timeout")

struct RequestStats {
#define FULMAR_X(name, desc) uint64_t name = 0;
    FULMAR_PKTGEN_REQUEST_STATS(FULMAR_X)
#undef FULMAR_X
    std::array<uint64_t, kReplyErrorCount> error_kinds{};

    RequestStats& operator+=(const RequestStats& o) {
#define FULMAR_X(name, desc) name += o.name;
        FULMAR_PKTGEN_REQUEST_STATS(FULMAR_X)
#undef FULMAR_X
        for (size_t i = 0; i < kReplyErrorCount; i++)
            error_kinds[i] += o.error_kinds[i];
        return *this;
    }
};

// Frames, whatever request they belong to.
#define FULMAR_PKTGEN_LINK_STATS(X)                                             \
    X(tx_packets, "frames sent")                                                \
    X(tx_full, "TX bursts that took fewer frames than offered (ring full)")     \
    X(rx_packets, "frames received")                                            \
    X(rx_unmatched, "UDP datagrams with no outstanding or timed-out request")   \
    X(rx_other, "frames that are not replies to us (ARP, other traffic)")       \
    X(rx_bad_frame, "replies with a short or malformed memcached header")       \
    X(rx_handed_over, "replies to another queue's port, passed to its lcore")   \
    X(rx_handover_full, "of those, dropped: that lcore's inbox ring was full")  \
    X(arp_replies_sent, "ARP requests for --src-ip answered")                   \
    X(mbuf_alloc_failed, "bursts not built: mbuf pool empty")                   \
    X(send_behind, "open loop: sends skipped, generator over a timeout late")   \
    X(loop_cycles, "TSC cycles in the load loop (warm-up and measurement)")     \
    X(idle_cycles, "of those, in turns that neither received nor sent a frame") \
    X(stalled_cycles, "of those, in turns too long to be work: the CPU was taken away")

struct LinkStats {
#define FULMAR_X(name, desc) uint64_t name = 0;
    FULMAR_PKTGEN_LINK_STATS(FULMAR_X)
#undef FULMAR_X

    LinkStats& operator+=(const LinkStats& o) {
#define FULMAR_X(name, desc) name += o.name;
        FULMAR_PKTGEN_LINK_STATS(FULMAR_X)
#undef FULMAR_X
        return *this;
    }
};

}  // namespace fulmar::pktgen
