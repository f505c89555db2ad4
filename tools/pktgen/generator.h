// The load loop: builds memcached requests, sends them on one port queue,
// matches replies to requests, checks them and measures latency.
//
// One Generator per --queues instance, each on its own lcore (queue 0 on the
// main lcore), owning port queue q, its request table, version arrays (its
// key slice, queues.h) and histograms; no other thread touches them, so
// there are no locks. What the instances share is the Crew below: inbox
// rings, the live counters each publishes, and the start/finish barriers,
// all lock-free (rte_ring, relaxed atomics). After the constructor the
// per-packet path allocates nothing but mbufs, makes no syscalls and throws
// nothing; the live line (once a second, queue 0 only) is the only output
// during a run.
//
// Loop, per iteration (DPDK l3fwd's shape):
//   RX burst + our inbox -> match ids, reassemble, check, record latency,
//     free the slot; a reply to another instance's UDP port (the server
//     answered on another queue: a set runs on its key's owner worker, a NIC
//     hashes flows its own way) goes to that instance's inbox ring
//   expire requests older than --timeout-ms (oldest first, O(1) each)
//   build a burst: closed loop: up to the window in flight; open loop: every
//     request whose scheduled time has come (stamped with that time, so a
//     stalled generator shows as latency, not as a lower rate)
//   TX burst; what the ring did not take stays queued for the next turn
//   every 50 ms: publish counters to the Crew; queue 0, once a second: the
//   live line over all queues
//
// Lifecycle of one instance (work()):
//
//   preload own slice --> preloaded++ --> serve* until all preloaded
//     --> [queue 0 sets start_tsc] --> serve* until start_tsc
//     --> run(start): warm-up, measurement, drain --> finished++
//     --> serve* until all finished
//   serve*: RX and hand-over only, so replies for the others keep flowing
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <rte_ring.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frame.h"
#include "histogram.h"
#include "net/addr.h"
#include "options.h"
#include "queues.h"
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

// Set by SIGINT/SIGTERM; read once per loop iteration by every lcore.
using StopFlag = volatile std::sig_atomic_t;

// What one instance last published for the live line: cumulative counts
// over all its phases, and its last second's latency quantiles. One writer
// (that instance), one reader (queue 0); relaxed atomics, a cache line each.
struct alignas(64) LiveSlot {
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> replies{0};
    std::atomic<uint64_t> found{0};     // hits + unverified hits
    std::atomic<uint64_t> answered{0};  // found + misses
    std::atomic<uint64_t> timeouts{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> outstanding{0};
    std::atomic<uint64_t> p50_ns{0};
    std::atomic<uint64_t> p99_ns{0};
};

// Shared by the instances of one run. Built by main before the lcores start.
struct Crew {
    Crew(uint32_t n, uint16_t base_port, const StopFlag& stop_flag)
        : n_queues(n), base_src_port(base_port), stop(stop_flag), live(new LiveSlot[n]) {}

    const uint32_t n_queues;
    const uint16_t base_src_port;  // instance q sends from base_src_port + q
    const StopFlag& stop;
    // inboxes[q] (multi-producer, single consumer) feeds instance q; empty
    // when n_queues is 1.
    std::vector<rte_ring*> inboxes;
    std::unique_ptr<LiveSlot[]> live;
    std::atomic<uint32_t> preloaded{0};  // instances past their preload
    std::atomic<bool> preload_failed{false};
    std::atomic<uint64_t> start_tsc{0};  // the shared start of warm-up; 0: not yet
    std::atomic<uint32_t> finished{0};   // instances past their drain
};

class Generator {
  public:
    static constexpr uint32_t kMaxBurst = 256;

    Generator(const Options& o, const Workload& w, const PortConf& pc, const QueuePlan& plan,
              Crew& crew);
    ~Generator();
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;

    // The whole life of the instance on its lcore (see the top of the file);
    // 0, or 1 when a preload (this one or another's) failed or was stopped.
    int work();
    // Why work() returned 1; empty otherwise.
    const std::string& failure() const { return why_; }
    void fill_report(Report& r) const;
    const QueuePlan& plan() const { return plan_; }

    // --- single turns -----------------------------------------------------
    // work() runs these in its timed loops; tools/pktgen/pktgen_cost drives
    // them directly, one turn then the peer's answer, so instructions per
    // request are counted on the very code a run executes. Each returns the
    // frames received plus the frames sent.
    //
    // Preload: call begin_preload(), then preload_turn() until preload_done().
    void begin_preload();
    uint32_t preload_turn(uint64_t now);
    bool preload_done() const { return preload_settled_ >= plan_.keys.count; }
    // Closed-loop load in `phase`: keeps the window in flight.
    void begin_load(Phase phase);
    uint32_t load_turn(uint64_t now);

  private:
    enum class Loop : uint8_t { kPreload, kLoad };

    // --- sending ----------------------------------------------------------
    // Builds up to n requests (stamps[i] when open loop) into tx_.
    void build(uint32_t n, uint64_t now, const uint64_t* stamps);
    [[gnu::always_inline]] inline void fill_request(rte_mbuf* m, uint16_t id);
    [[gnu::noinline]] void fill_other(rte_mbuf* m, uint16_t id);
    // A get of one key from the template (both paths above end here).
    [[gnu::always_inline]] inline void fill_one_get(rte_mbuf* m, uint16_t id, Slot& s,
                                                    uint32_t slot, uint32_t key);
    // Draws a load request into ahead slot `slot` (operation and keys, the
    // RNG used in the order the requests are built) and prefetches its
    // versions: with a million keys they are DRAM misses, started kAhead
    // requests before they are read.
    [[gnu::always_inline]] inline void draw(uint32_t slot);
    uint32_t flush_tx(uint64_t now);  // frames the ring took

    // --- receiving --------------------------------------------------------
    uint16_t poll_rx(uint64_t now);  // frames received
    // A reply datagram to our port dst_port: ours to check, or handed to
    // the instance that owns that port. True when `m` was handed over (no
    // longer ours to free).
    [[gnu::always_inline]] inline bool to_queue(rte_mbuf* m, uint16_t dst_port,
                                                std::span<const std::byte> payload, uint64_t now);
    [[gnu::always_inline]] inline void on_datagram(std::span<const std::byte> payload,
                                                   uint64_t now);
    // A reply of several datagrams (or a broken one): out of line.
    [[gnu::noinline]] void on_fragment(uint16_t id, Slot& s, uint16_t seq, uint16_t total,
                                       std::string_view body, uint64_t now);
    [[gnu::always_inline]] inline void complete(uint16_t id, Slot& s, std::string_view reply,
                                                uint64_t now);
    void expire(uint64_t now);
    void drop_reassembly(Slot& s);

    // --- phases -----------------------------------------------------------
    // Sets every key of the slice once, in order, keeping the preload window
    // in flight and sending again any that times out, until each is
    // acknowledged (or answered with an error). False, with `why`, when
    // interrupted or when nothing came back for 5 s.
    bool preload(std::string& why);
    // Warm-up from `start`, then the measurement, then waits (at most
    // --timeout-ms) for the replies still in flight.
    void run(uint64_t start);
    // Receives (and hands over) only, until done(now) or, when
    // `stoppable`, the stop flag.
    template <typename Done>
    void serve_until(Done done, bool stoppable, std::string_view phase_name);

    // --- reporting --------------------------------------------------------
    // Every turn: publish counters every 50 ms; queue 0 prints once a second.
    void tick(uint64_t now, std::string_view phase_name);
    void publish(uint64_t now, bool quantiles);
    void live_line(uint64_t now, std::string_view phase_name);
    void reset_live(uint64_t start);

    const Options& o_;
    const Workload& w_;
    PortConf pc_;
    QueuePlan plan_;
    Crew& crew_;
    rte_ring* inbox_ = nullptr;  // ours: replies the other instances received
    KeyChooser chooser_;         // over the slice: key = first + next()
    RequestFrame frame_;
    GetFrame get_frame_;  // used when one_key_gets_
    bool one_key_gets_;
    // Versions prove hits; a reflector's echoes prove nothing, so its load
    // leaves the per-key array (a DRAM miss a request) alone and sets carry
    // version 1.
    bool track_versions_;
    // Options the per-reply path reads, next to the state it touches.
    bool reflector_;
    bool live_quantiles_;        // not --quiet: the live line's histogram
    ReplyMatcher matcher_;       // the expected replies, fast; the rest: classify
    net::PortAddr rx_addr_;      // us, as classify sees a receiver
    net::ClientFilter rx_from_;  // the server only
    KeyVersions versions_;
    // The next kAhead load requests, drawn early (draw()); ahead_next_ is
    // the oldest. Keys: keys_per_get per slot; sized once.
    static constexpr uint32_t kAhead = 8;
    std::array<Op, kAhead> ahead_ops_{};
    std::vector<uint32_t> ahead_keys_;
    uint32_t ahead_next_ = 0;
    bool have_ahead_ = false;
    // fill_request's inline path is open: load loop, draws made, one-key gets.
    bool fast_gets_ = false;
    RequestTable table_;
    Reassembler reasm_;
    Rng rng_;
    Loop loop_ = Loop::kLoad;
    Phase phase_ = Phase::kWarmup;

    uint64_t tsc_hz_;
    // Nanoseconds per TSC cycle in 32.32 fixed point: a reply's latency is
    // one integer multiply, not a double round trip.
    uint64_t ns_per_tsc_32_;
    uint64_t timeout_tsc_;

    // Frames built but not yet taken by the TX ring, with their request ids.
    std::array<rte_mbuf*, kMaxBurst> tx_{};
    std::array<uint16_t, kMaxBurst> tx_ids_{};
    uint32_t n_tx_ = 0;
    // Replies checked and done with, kept as the next requests' buffers
    // (build() writes the frame over them): no free and alloc through the
    // pool a request. Only direct, single-segment mbufs of our pool that
    // nobody else references; the rest are freed as before.
    std::array<rte_mbuf*, 2 * kMaxBurst> spare_{};
    uint32_t n_spare_ = 0;
    void free_spares();

    // Preload: next key never sent, keys to send again, keys settled.
    uint32_t preload_next_ = 0;
    std::vector<uint32_t> preload_retry_;  // capacity 65,536: never grows
    uint64_t preload_settled_ = 0;
    uint64_t last_reply_tsc_ = 0;
    uint32_t load_cap_ = 0;  // load: requests in flight at most

    std::array<RequestStats, 3> stats_{};  // by Phase
    LinkStats link_;
    Histogram latency_;   // measurement phase
    Histogram interval_;  // since the last published quantiles
    uint64_t next_publish_tsc_ = 0;
    uint64_t last_quantiles_tsc_ = 0;
    // Queue 0's live line: the totals at the last line.
    struct LiveTotals {
        uint64_t sent = 0, replies = 0, found = 0, answered = 0, timeouts = 0, errors = 0;
    };
    LiveTotals live_totals() const;
    LiveTotals last_live_{};
    uint64_t last_live_tsc_ = 0;
    uint64_t live_start_tsc_ = 0;
    std::string why_;

    double preload_s_ = 0;
    double measured_s_ = 0;
};

}  // namespace fulmar::pktgen
