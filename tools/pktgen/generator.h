// The load loop: builds memcached requests, sends them on one port queue,
// matches replies to requests, checks them and measures latency.
//
// Everything here runs on one lcore (the main lcore), which owns the port's
// queue 0, the request table, the version arrays and the histograms; no
// other thread touches them, so there are no locks or atomics. After the
// constructor the per-packet path allocates nothing but mbufs, makes no
// syscalls and throws nothing; the live line (once a second) is the only
// output during a run.
//
// Loop, per iteration (DPDK l3fwd's shape):
//   RX burst -> match ids, reassemble, check, record latency, free the slot
//   expire requests older than --timeout-ms (oldest first, O(1) each)
//   build a burst: closed loop: up to --window in flight; open loop: every
//     request whose scheduled time has come (stamped with that time, so a
//     stalled generator shows as latency, not as a lower rate)
//   TX burst; what the ring did not take stays queued for the next turn
//   once a second: the live line
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frame.h"
#include "histogram.h"
#include "net/addr.h"
#include "options.h"
#include "reassembly.h"
#include "report.h"
#include "request_table.h"
#include "stats.h"
#include "workload.h"
#include "zipf.h"

namespace fulmar::pktgen {

struct PortConf {
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    rte_mempool* pool = nullptr;
    Flow flow;
};

// Set by SIGINT/SIGTERM; read once per loop iteration.
using StopFlag = volatile std::sig_atomic_t;

class Generator {
  public:
    static constexpr uint32_t kMaxBurst = 256;

    Generator(const Options& o, const Workload& w, const PortConf& pc);

    // Sets every key once, in order, keeping --preload-window sets in flight
    // and sending again any that times out, until each is acknowledged (or
    // answered with an error). False, with `why`, when interrupted or when
    // nothing came back for 5 s.
    bool preload(const StopFlag& stop, std::string& why);
    // Warm-up, then the measurement, then waits (at most --timeout-ms) for
    // the replies still in flight.
    void run(const StopFlag& stop);
    void fill_report(Report& r) const;

  private:
    enum class Loop : uint8_t { kPreload, kLoad };

    // --- sending ----------------------------------------------------------
    // Builds up to n requests (stamps[i] when open loop) into tx_.
    void build(uint32_t n, uint64_t now, const uint64_t* stamps);
    void fill_request(rte_mbuf* m, uint16_t id);
    uint32_t flush_tx(uint64_t now);  // frames the ring took

    // --- receiving --------------------------------------------------------
    uint16_t poll_rx(uint64_t now);  // frames received
    void on_datagram(std::span<const std::byte> payload, uint64_t now);
    void complete(uint16_t id, Slot& s, std::string_view reply, uint64_t now);
    void expire(uint64_t now);
    void drop_reassembly(Slot& s);

    // --- reporting --------------------------------------------------------
    void live_line(uint64_t now, std::string_view phase_name);

    const Options& o_;
    const Workload& w_;
    PortConf pc_;
    RequestFrame frame_;
    net::PortAddr rx_addr_;      // us, as classify sees a receiver
    net::ClientFilter rx_from_;  // the server only
    KeyVersions versions_;
    RequestTable table_;
    Reassembler reasm_;
    Rng rng_;
    Loop loop_ = Loop::kLoad;
    Phase phase_ = Phase::kWarmup;

    uint64_t tsc_hz_;
    double ns_per_tsc_;
    uint64_t timeout_tsc_;

    // Frames built but not yet taken by the TX ring, with their request ids.
    std::array<rte_mbuf*, kMaxBurst> tx_{};
    std::array<uint16_t, kMaxBurst> tx_ids_{};
    uint32_t n_tx_ = 0;

    // Preload: next key never sent, keys to send again, keys settled.
    uint32_t preload_next_ = 0;
    std::vector<uint32_t> preload_retry_;  // capacity 65,536: never grows
    uint64_t preload_settled_ = 0;
    uint64_t last_reply_tsc_ = 0;

    std::array<RequestStats, 3> stats_{};  // by Phase
    LinkStats link_;
    Histogram latency_;   // measurement phase
    Histogram interval_;  // since the last live line
    RequestStats last_live_{};
    uint64_t last_live_tsc_ = 0;
    uint64_t live_start_tsc_ = 0;

    double preload_s_ = 0;
    double measured_s_ = 0;
};

}  // namespace fulmar::pktgen
