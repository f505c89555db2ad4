// The worker lcore: polls its RX queue, answers ARP/ICMP, runs memcached
// datagrams on the shards and sends the replies on its own TX queue.
//
// One Worker per worker lcore, built by the main lcore before launch and
// then touched only by its lcore — except `stats` and `drops` (read by the
// main lcore and telemetry as snapshots), its inbox (other workers and the
// control plane enqueue messages for the keys this worker owns: handoff.h)
// and `stop` (set by the main lcore).
//
//   RX burst -> classify (L2/L3/L4) -> ARP/ICMP: reply in place
//                                   -> the host's (TCP, other UDP ports, ARP
//                                      replies): to our TX queue on the
//                                      kernel port (exception path)
//                                   -> memcached UDP -> one plain get line: batch
//                                                    -> else: route (engine/route.h:
//                                                       parses a lone request,
//                                                       digests its key)
//                                                         -> one key, ours, no pending
//                                                            get names it: held back
//                                                         -> else (batch first): run
//                                                            here | message to the
//                                                            owner's inbox
//   end of burst -> batch: the held-back writes (one bulk look-up, in arrival
//                   order), then the gets (one bulk look-up, replies written
//                   into TX mbufs)
//   inbox: at most `burst` messages -> run (we own the keys), parse and digest
//          taken from the message -> UDP reply frame | control-plane reply ring
//   kernel port, every kernel_poll_us: at most `burst` frames from our RX
//          queue there -> our TX queue on the data port
//   every kHousekeepEvery loops: RCU quiescent state; the service address
//          table when it changed, gratuitous ARPs due; a fixed TTL sweep step
//          only while no control plane paced one (kControlSweep) for 1 s
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "channels.h"
#include "common/clock.h"
#include "config/dataplane_config.h"
#include "engine/engine_ctx.h"
#include "engine/mc_get_batch.h"
#include "engine/mc_session.h"
#include "engine/resp_commands.h"
#include "engine/route.h"
#include "handoff.h"
#include "net/addr.h"
#include "net/classify.h"
#include "net/reply.h"
#include "proto/mc_frame.h"
#include "repl/mutation_log.h"
#include "reply_buffer.h"
#include "shm/layout.h"
#include "store/shard.h"
#include "worker_stats.h"

namespace fulmar::dataplane {

using config::IdleMode;
using engine::RoutePolicy;

static_assert(net::kDropReasonCount <= shm::kMaxDropReasons);
static_assert(net::kMaxServiceAddrs == shm::kMaxServiceAddrs);

// WorkerParams::kernel_port_id when the port has no kernel side.
inline constexpr uint16_t kNoKernelPort = UINT16_MAX;
// How often a worker polls its RX queue on the kernel port. net_tap's RX
// burst is a readv() per call, empty or not (~1 us): once a loop would put
// a syscall on the hot path; every 50 us it costs a busy worker ~2% and
// adds at most 50 us to a TCP segment's way out, which a control-plane
// connection does not notice.
inline constexpr uint32_t kDefaultKernelPollUs = 50;
// Control-plane messages run per loop, whatever the RX burst: each costs up
// to several µs (a list push, a snapshot step), and every UDP request that
// arrives meanwhile waits for them; 32 keeps that wait near 200 µs (README,
// "The bound") while RX bursts grew to 64.
inline constexpr uint16_t kInboxPerLoop = 32;

struct WorkerParams {
    unsigned lcore_id = 0;
    uint16_t worker_id = 0;  // also the shard id and the RCU thread id
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    uint16_t burst = config::kDefaultBurstSize;
    rte_mempool* pool = nullptr;
    net::PortAddr addr{};
    net::ClientFilter clients{};
    RoutePolicy route{};
    IdleMode idle = IdleMode::kAdaptive;
    uint32_t pause_iterations = 1024;
    uint32_t max_sleep_us = 100;
    // Announce the port's address at start, and each service address as it
    // comes (one worker of the port does: the frames are broadcast).
    bool gratuitous_arp = false;
    // Service addresses (dataplane/README.md): the table the control plane
    // writes (DataplaneShm::services, or a test's). Each worker copies it
    // into its PortAddr at housekeeping when its sequence moves. Null: none.
    const shm::ServiceAddrs* services = nullptr;
    // Gratuitous ARPs per new service address, this far apart (Linux's
    // arp_notify and keepalived send a few: one may be lost, and a
    // neighbour that ignored the first may be back).
    uint32_t garp_count = 3;
    uint32_t garp_interval_ms = 500;
    // The exception path: the port's kernel side (port.h). Frames that are
    // the host's (classify: kToKernel) leave on TX queue `queue_id` there;
    // what the kernel sends arrives on RX queue `queue_id` there and leaves
    // on ours. kNoKernelPort: none, and those frames are counted drops.
    uint16_t kernel_port_id = kNoKernelPort;
    uint32_t kernel_poll_us = kDefaultKernelPollUs;  // 0: every loop (tests)
    // The fallback TTL sweep: chunks per housekeeping step while no control
    // plane paces the sweep (handoff.h, kControlSweep) for kSweepFallbackAfter.
    uint32_t sweep_budget = 256;
    // The dataplane's shared zone (shm/layout.h): the worker counts in its
    // slot there, lcores[worker_id], and memcached `stats` sums every
    // lcore's. Null: the worker keeps its own counters (packet tests,
    // benchmarks).
    shm::DataplaneShm* shared = nullptr;
    // The shard's mutation log (repl/mutation_log.h), in shared memory;
    // null: none (the shard's changes are not replicated).
    repl::LogShared* mutation_log = nullptr;
};

class Worker {
  public:
    // `shards[i]` is owned by worker i; `channels.inboxes[i]` feeds worker
    // i. Both must outlive the worker.
    Worker(const WorkerParams& p, std::span<store::Shard* const> shards, const Channels& channels,
           rte_rcu_qsbr* rcu);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // The lcore's main loop; returns when `stop` is set.
    int run();
    // One iteration without idle back-off (packet tests drive this): RX
    // burst, inbox, TX, housekeeping. Returns the packets handled.
    unsigned poll_once();
    // Sends a gratuitous ARP for the port's address.
    void announce();
    // Takes the service address table when it changed (housekeeping does
    // this; tests call it to skip the 64-loop wait), scheduling the
    // announcements of new addresses, and sends the announcements due.
    void sync_service_addrs();

    std::atomic<bool> stop{false};

  private:
    std::unique_ptr<shm::LcoreStats> own_slot_;  // when no shared slot was given

  public:
    // The counters, in the lcore's slot: written here only, read anywhere.
    shm::LcoreStats& slot;
    WorkerStats& stats;
    uint64_t* const drops;  // indexed by net::DropReason
    const engine::EngineStats& engine_stats() const { return *ctx_.stats; }
    const WorkerParams& params() const { return p_; }

  private:
    // One received frame. rx_one, inline in poll_once's loop (no call per
    // datagram): the classifier's fast path, then on_udp_request; a frame the
    // fast path does not take goes to on_rx_full (classify_full decides it).
    // UDP requests and their bytes, counted by the caller of
    // on_udp_request into the stats (poll_once: once a burst).
    struct RxCounts {
        uint64_t udp_requests = 0;
        uint64_t udp_request_bytes = 0;
    };
    inline void rx_one(rte_mbuf* m, RxCounts& counts);
    void on_rx_full(rte_mbuf* m);
    // A classified UDP request: the frame header, then the GET batch, inline
    // (rx_one's part of every GET); anything the batch does not take goes on
    // out of line to route_request.
    inline void on_udp_request(rte_mbuf* m, const net::UdpRequest& req, RxCounts& counts);
    // on_udp_request for a frame the classifier's fast path took (`frame`:
    // its first byte), without a UdpRequest: the frame header read at its
    // fixed offset, a GET queued with the frame pointer. Anything else goes
    // on, out of line, as a UdpRequest (on_fast_other, route_request).
    inline void on_fast_udp(rte_mbuf* m, const uint8_t* frame, RxCounts& counts);
    void on_fast_other(rte_mbuf* m, const uint8_t* frame, RxCounts& counts);
    void route_request(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id);
    // Decodes the memcached frame header; counts, frees and returns false
    // for what memcached would drop (short, total != 1).
    // Inline (here and body_of, send): they run once per datagram.
    bool accept_frame(rte_mbuf* m, const net::UdpRequest& req, proto::McFrame& frame) {
        // The usual header (total 1) read in place; anything else through
        // the decoder, which says what memcached would drop.
        const auto* p = reinterpret_cast<const uint8_t*>(req.payload.data());
        if (req.payload.size() >= proto::kMcFrameHeaderSize && p[4] == 0 && p[5] == 1) {
            frame.request_id = static_cast<uint16_t>(p[0] << 8 | p[1]);
            return true;
        }
        return refuse_frame(m, req, frame);
    }
    bool refuse_frame(rte_mbuf* m, const net::UdpRequest& req, proto::McFrame& frame);
    static std::string_view body_of(const net::UdpRequest& req) {
        return {reinterpret_cast<const char*>(req.payload.data()) + proto::kMcFrameHeaderSize,
                req.payload.size() - proto::kMcFrameHeaderSize};
    }
    // Runs a request's memcached text here (we own what it writes) into
    // reply_: `parsed` as is when valid, else `body` through the session.
    void run_request(std::string_view body, const engine::ParsedRequest* parsed);
    // Runs a memcached datagram here and sends its reply (in `m` itself
    // when it fits one datagram) or frees it.
    void execute(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id,
                 const engine::ParsedRequest* parsed);
    // Hands the datagram, with its parse, to the owner of `shard`; a full
    // inbox or an empty message pool drops it, counted.
    void hand_off(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id, uint16_t shard,
                  const engine::ParsedRequest& parsed);
    // Runs the messages in our inbox, at most kInboxPerLoop of them.
    unsigned drain_inbox();
    // Runs a control-plane request and sends the message back as its reply.
    void run_control(Message* msg);
    void run_snapshot_step(std::string_view body);
    void run_ring_drop(std::string_view body);
    void run_repl_apply(std::string_view body);
    // Runs one paced sweep step and sends the message back with its figures.
    void run_sweep(Message* msg);
    // Runs what the burst held back, before anything later runs: the
    // deferred writes (in arrival order), then the batched gets.
    void run_batch() {
        if (n_writes_ != 0) run_writes();
        if (!gets_.empty()) run_gets();
    }
    bool batch_pending() const { return n_writes_ != 0 || !gets_.empty(); }
    // Answers the batched gets (in arrival order) and frees their requests.
    void run_gets();
    // Runs the deferred writes in arrival order, their index look-ups done
    // first in one bulk call and their items prefetched, so the cache
    // misses of a burst's writes overlap instead of following each other.
    void run_writes();
    void send(rte_mbuf* m) {
        stats.tx_packets++;
        stats.tx_bytes += rte_pktmbuf_pkt_len(m);
        queue_tx(m);
    }
    // send() for a caller that counts tx_packets and tx_bytes itself.
    void queue_tx(rte_mbuf* m) {
        tx_[n_tx_++] = m;
        if (n_tx_ == tx_.size()) flush_tx();
    }
    void flush_tx();
    // The exception path: queues a frame for the kernel port (or counts the
    // drop `why` when there is none); sends what is queued; returns the
    // kernel's frames (at most `burst`, when the poll interval has passed)
    // on our TX queue.
    void to_kernel(rte_mbuf* m, net::DropReason why);
    void flush_to_kernel();
    unsigned poll_kernel();
    void housekeep();
    void send_announcements();

    WorkerParams p_;
    std::span<store::Shard* const> shards_;
    std::span<rte_ring* const> inboxes_;
    rte_mempool* messages_;
    rte_mempool* cp_reply_pool_;  // null: replies from p_.pool
    rte_rcu_qsbr* rcu_;
    SystemClock clock_;
    std::vector<char> scratch_;
    engine::EngineCtx ctx_;
    engine::McSession session_;
    proto::RespParser resp_parser_;  // the control plane's RESP requests (kControlResp)
    ReplyBuffer reply_;
    // The GET fast path: plain get datagrams of this burst, answered together.
    // A request the classifier's fast path took keeps only its frame (the
    // reply reads the addresses from its headers); one from the full path
    // (tagged, IP options, a service address, ...) its UdpRequest.
    struct PendingGet {
        rte_mbuf* m;
        const uint8_t* frame;  // the fast path's frame; nullptr: `req`
        net::UdpRequest req;
        uint16_t request_id;
    };
    // Adds a datagram's body to the burst's GET batch (running a full batch
    // first): the request's pending slot, for the caller to fill, or
    // nullptr when it is not a plain get.
    [[gnu::always_inline]] inline PendingGet* add_to_batch(std::string_view body);
    // g's request, read from its frame when the fast path took it (the
    // rare paths that need a whole UdpRequest: a fresh mbuf, the engine).
    static const net::UdpRequest& request_of(const PendingGet& g, net::UdpRequest& tmp) {
        if (g.frame == nullptr) return g.req;
        net::detail::udp_request_of(g.frame, tmp);
        return tmp;
    }
    engine::McGetBatch gets_;
    // Writes of one key on our shard that no pending get names, held until
    // the batch runs (run_writes). Routing parses each datagram into the
    // next free slot's `parsed` (a member, as ~150 bytes are not worth
    // zeroing per datagram), so a deferred write costs no copy.
    struct PendingWrite {
        rte_mbuf* m;
        net::UdpRequest req;
        uint16_t request_id;
        engine::ParsedRequest parsed;
    };
    static constexpr size_t kMaxWrites = 64;
    std::array<PendingWrite, kMaxWrites> writes_{};
    size_t n_writes_ = 0;
    std::array<PendingGet, engine::McGetBatch::kMaxRequests> pending_{};
    // The port's reply headers, copied into each untagged GET reply.
    net::McReplyTemplate reply_tmpl_{};
    std::array<rte_mbuf*, 64> tx_{};
    uint16_t n_tx_ = 0;
    std::array<rte_mbuf*, 64> to_kernel_{};
    uint16_t n_to_kernel_ = 0;
    uint64_t kernel_poll_cycles_ = 0;
    uint64_t next_kernel_poll_ = 0;  // TSC
    uint64_t last_paced_sweep_ = 0;  // TSC of the last kControlSweep (0: none yet)
    // The shm::MemoryPolicy last applied to the shard (its defaults at start).
    uint32_t applied_max_pages_ = shm::kAllPages;
    bool applied_evict_ = true;
    void apply_memory_policy();
    void sync_eviction_log();
    store::SweepKeys sweep_keys_;  // a paced step's freed keys (want_keys)
    store::SweepKeys evicted_keys_;
    repl::LogWriter log_writer_;  // the shard's mutation log (owner side)  // keys evicted since
                                  // the last step (when wanted)
    bool eviction_log_on_ = false;
    uint64_t sweep_fallback_cycles_ = 0;
    uint32_t loops_ = 0;
    // The service address table's sequence our copy (p_.addr.service) is at,
    // and the gratuitous ARPs still to send for new addresses.
    uint32_t services_seq_ = 0;
    struct Announcement {
        rte_be32_t ip;
        uint32_t left;
        uint64_t next;  // TSC
    };
    std::array<Announcement, net::kMaxServiceAddrs> announcements_{};
    uint32_t n_announcements_ = 0;
    uint64_t garp_interval_cycles_ = 0;
};

}  // namespace fulmar::dataplane
