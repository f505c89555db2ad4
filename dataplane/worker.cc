// The worker loop; see worker.h.
#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/mc_classic.h"
#include "engine/mc_commands.h"
#include "engine/mc_get.h"
#include "engine/ring_guard.h"
#include "net/reply.h"
#include "proto/mc_frame.h"
#include "proto/mc_wire.h"
#include "shm/service_addrs.h"

namespace fulmar::dataplane {
namespace {

// Housekeeping cadence, in loop iterations: often enough that a page move
// waiting for our quiescent state waits microseconds, rarely enough to cost
// nothing next to a burst.
constexpr uint32_t kHousekeepEvery = 64;
// Idle loops spent spinning before pausing (then pause_iterations pausing
// before the first sleep).
constexpr uint32_t kSpinLoops = 256;
// 4 MiB holds a 100-key multi-get of 20 KB values with room to spare.
constexpr size_t kReplyCapacity = size_t{4} << 20;
constexpr size_t kMaxReplyDatagrams = kReplyCapacity / proto::kMcUdpMaxPayload + 2;
// Without a paced sweep step for this long (no control plane, or one that
// stopped pacing), the owner sweeps a fixed budget in housekeeping again.
constexpr uint64_t kSweepFallbackAfterMs = 1000;
// A TX queue that stays full this many tries drops the rest.
constexpr int kTxRetries = 64;

std::vector<rte_mbuf*>& reply_mbufs() {
    thread_local std::vector<rte_mbuf*> v(kMaxReplyDatagrams);
    return v;
}

// Copies `bytes` into a chain of mbufs from `pool` (the control plane reads
// them from hugepage memory); null when the pool runs dry.
rte_mbuf* copy_to_chain(rte_mempool* pool, std::span<const char> bytes) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    size_t off = 0;
    while (off < bytes.size()) {
        rte_mbuf* seg = rte_pktmbuf_alloc(pool);
        if (seg == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const size_t len = std::min<size_t>(bytes.size() - off, rte_pktmbuf_tailroom(seg));
        std::memcpy(rte_pktmbuf_mtod(seg, char*), bytes.data() + off, len);
        seg->data_len = static_cast<uint16_t>(len);
        if (head == nullptr) {
            head = seg;
        } else {
            tail->next = seg;
            head->nb_segs++;
        }
        head->pkt_len += static_cast<uint32_t>(len);
        tail = seg;
        off += len;
    }
    return head;
}

// A lone classic request that touches one item, its key's: a set, add,
// cas, incr, delete, touch... Not an admin command (flush_all reaches every
// item), not one of several requests in a datagram.
bool touches_one_key(const engine::ParsedRequest& parsed) {
    if (!parsed.valid || parsed.request.key.empty()) return false;
    const engine::McTextSpec& cmd = engine::mc_text_command(parsed.request.command);
    return cmd.keys.single() && !cmd.has(engine::kCmdAdmin) && !cmd.has(engine::kCmdAllShards);
}

}  // namespace

Worker::Worker(const WorkerParams& p, std::span<store::Shard* const> shards,
               const Channels& channels, rte_rcu_qsbr* rcu)
    : own_slot_(p.shared == nullptr ? std::make_unique<shm::LcoreStats>() : nullptr),
      slot(p.shared != nullptr ? p.shared->lcores[p.worker_id] : *own_slot_),
      stats(slot.worker),
      drops(slot.drops),
      p_(p),
      shards_(shards),
      inboxes_(channels.inboxes),
      messages_(channels.messages),
      cp_reply_pool_(channels.cp_reply_pool),
      rcu_(rcu),
      scratch_(store::kMaxItemSize),
      ctx_{.shards = shards,
           .clock = &clock_,
           .scratch = scratch_,
           .started = clock_.now(),
           .own_shard = p.worker_id,
           .stats = &slot.engine,
           .shared = p.shared},
      session_(ctx_),
      reply_(kReplyCapacity),
      kernel_poll_cycles_(uint64_t{p.kernel_poll_us} * rte_get_tsc_hz() / 1'000'000),
      sweep_fallback_cycles_(kSweepFallbackAfterMs * rte_get_tsc_hz() / 1000),
      garp_interval_cycles_(uint64_t{p.garp_interval_ms} * rte_get_tsc_hz() / 1000) {
    reply_tmpl_ = net::make_mc_reply_template(p_.addr);
    if (p.mutation_log != nullptr) {
        log_writer_ = repl::LogWriter(p.mutation_log);
        shards[p.worker_id]->set_mutation_log(&log_writer_);
    }
}

void Worker::flush_tx() {
    uint16_t sent = 0;
    for (int tries = 0; sent < n_tx_ && tries < kTxRetries; ++tries)
        sent += rte_eth_tx_burst(p_.port_id, p_.queue_id, tx_.data() + sent, n_tx_ - sent);
    if (sent < n_tx_) {
        stats.tx_dropped += n_tx_ - sent;
        rte_pktmbuf_free_bulk(tx_.data() + sent, n_tx_ - sent);
    }
    n_tx_ = 0;
}

void Worker::to_kernel(rte_mbuf* m, net::DropReason why) {
    if (p_.kernel_port_id == kNoKernelPort) {
        drops[static_cast<size_t>(why)]++;
        rte_pktmbuf_free(m);
        return;
    }
    // Fragments: the kernel reassembles, the control plane serves.
    if (why == net::DropReason::kFragment) stats.kernel_fragments++;
    to_kernel_[n_to_kernel_++] = m;
    if (n_to_kernel_ == to_kernel_.size()) flush_to_kernel();
}

void Worker::flush_to_kernel() {
    // One try: a kernel that does not keep up must not slow the cache; what
    // its queue does not take is dropped, counted (TCP retransmits).
    const uint16_t sent =
        rte_eth_tx_burst(p_.kernel_port_id, p_.queue_id, to_kernel_.data(), n_to_kernel_);
    stats.kernel_punted += sent;
    if (sent < n_to_kernel_) {
        stats.kernel_dropped += n_to_kernel_ - sent;
        rte_pktmbuf_free_bulk(to_kernel_.data() + sent, n_to_kernel_ - sent);
    }
    n_to_kernel_ = 0;
}

unsigned Worker::poll_kernel() {
    if (p_.kernel_port_id == kNoKernelPort) return 0;
    if (kernel_poll_cycles_ != 0) {
        const uint64_t now = rte_rdtsc();
        if (now < next_kernel_poll_) return 0;
        next_kernel_poll_ = now + kernel_poll_cycles_;
    }
    rte_mbuf* pkts[64];
    const uint16_t n =
        rte_eth_rx_burst(p_.kernel_port_id, p_.queue_id, pkts, std::min<uint16_t>(p_.burst, 64));
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        // The kernel interface is the VLAN's untagged side: its frames get
        // the port's tag on the way out.
        if (p_.addr.vlan_id != 0) {
            m->vlan_tci = p_.addr.vlan_id;
            if (rte_vlan_insert(&m) != 0) {
                stats.kernel_dropped++;
                rte_pktmbuf_free(m);
                continue;
            }
        }
        stats.kernel_returned++;
        send(m);
    }
    return n;
}

bool Worker::refuse_frame(rte_mbuf* m, const net::UdpRequest& req, proto::McFrame& frame) {
    const proto::FrameStatus fs = proto::decode_request_frame(req.payload, frame);
    if (fs == proto::FrameStatus::kOk) return true;
    if (fs == proto::FrameStatus::kShort)
        stats.udp_short_frame++;
    else
        stats.udp_multi_datagram++;
    rte_pktmbuf_free(m);
    return false;
}

void Worker::run_request(std::string_view body, const engine::ParsedRequest* parsed) {
    reply_.clear();
    if (parsed != nullptr && parsed->valid) {
        // Parsed and digested by the router (here or on another lcore): the
        // session would read the same request from `body`.
        engine::execute_classic(parsed->request, parsed->key(), ctx_, reply_);
    } else {
        // Each datagram is a connection of its own, as in memcached: nothing
        // carries over, a request cut short is dropped.
        session_.reset();
        session_.feed(body, reply_);
    }
}

void Worker::execute(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id,
                     const engine::ParsedRequest* parsed) {
    run_request(body_of(req), parsed);
    std::span<const char> reply = reply_.bytes();
    if (reply_.overflow()) {
        stats.udp_reply_overflow++;
        reply = proto::kMcServerErrorOutOfMemoryGet;
    }
    if (reply.empty()) {
        rte_pktmbuf_free(m);
        return;
    }
    // One datagram's worth goes back in the request's own mbuf.
    size_t room = 0;
    char* text = nullptr;
    if (reply.size() <= proto::kMcUdpMaxPayload &&
        net::reuse_for_reply(m, net::mc_reply_overhead(req) + reply.size()))
        text = net::mc_udp_reply_text(m, req, room);
    if (text != nullptr && room >= reply.size()) {
        std::memcpy(text, reply.data(), reply.size());
        net::seal_mc_udp_reply(m, req, p_.addr, reply_tmpl_, request_id, reply.size());
        stats.udp_reply_datagrams++;
        stats.udp_reply_bytes += reply.size();
        send(m);
        return;
    }
    auto& out = reply_mbufs();
    const size_t n =
        net::build_mc_udp_replies(p_.pool, req, p_.addr, request_id, reply, out.data(), out.size());
    if (n == 0) {
        stats.mbuf_alloc_failed++;
    } else {
        stats.udp_reply_datagrams += n;
        stats.udp_reply_bytes += reply.size();
        for (size_t i = 0; i < n; ++i)
            send(out[i]);
    }
    rte_pktmbuf_free(m);
}

void Worker::run_gets() {
    gets_.lookup(ctx_);
    const size_t n = gets_.size();
    std::array<rte_mbuf*, engine::McGetBatch::kMaxRequests> done;
    size_t n_done = 0;
    // The replies' counters, added once after the loop: the stats sit
    // behind pointers every call in it could write, so per reply each would
    // be loaded and stored again.
    uint64_t text_bytes = 0;
    uint64_t frame_bytes = 0;
    uint64_t written = 0;  // requests answered here, settled after the loop
    // The TX queue's count in a local too, with room made for the whole
    // batch first (the same frames in the same order; a flush may come a
    // few frames earlier than queue_tx's).
    if (n_tx_ + n > tx_.size()) flush_tx();
    size_t n_tx = n_tx_;
    for (size_t i = 0; i < n; ++i) {
        const PendingGet& g = pending_[i];
        // The reply goes out in the request's own mbuf, built past the
        // request's bytes (the keys the reply copies stay in place); a fresh
        // mbuf only when that one cannot be reused.
        rte_mbuf* out = g.m;
        size_t room = proto::kMcUdpMaxPayload;
        char* text = g.frame != nullptr ? net::mc_reply_text_in_place_fast(g.m)
                                        : net::mc_reply_text_in_place(g.m, g.req);
        if (text == nullptr) [[unlikely]] {
            out = rte_pktmbuf_alloc(p_.pool);
            if (out == nullptr) {
                stats.mbuf_alloc_failed++;
                done[n_done++] = g.m;
                continue;
            }
            net::UdpRequest tmp;
            text = net::mc_udp_reply_text(out, request_of(g, tmp), room);
        }
        const size_t len = text == nullptr ? 0 : gets_.write(i, text, room);
        if (len == 0) [[unlikely]] {
            // Not servable here (a large value, a multi-datagram reply):
            // nothing was counted or changed for it; the engine answers.
            if (out != g.m) rte_pktmbuf_free(out);
            net::UdpRequest tmp;
            n_tx_ = static_cast<uint16_t>(n_tx);
            execute(g.m, request_of(g, tmp), g.request_id, nullptr);
            if (n_tx_ + (n - i) > tx_.size()) flush_tx();
            n_tx = n_tx_;
            continue;
        }
        written |= uint64_t{1} << i;
        if (out != g.m) done[n_done++] = g.m;
        if (g.frame != nullptr)
            net::seal_mc_udp_reply_to_frame(out, g.frame, p_.addr, reply_tmpl_, g.request_id, len);
        else
            net::seal_mc_udp_reply(out, g.req, p_.addr, reply_tmpl_, g.request_id, len);
        text_bytes += len;
        frame_bytes += rte_pktmbuf_pkt_len(out);
        tx_[n_tx++] = out;
    }
    n_tx_ = static_cast<uint16_t>(n_tx);
    const auto served = static_cast<uint64_t>(std::popcount(written));
    gets_.settle_written(ctx_, written);
    stats.udp_batched_gets += served;
    stats.udp_reply_datagrams += served;
    stats.udp_reply_bytes += text_bytes;
    stats.tx_packets += served;
    stats.tx_bytes += frame_bytes;
    if (n_done != 0) rte_pktmbuf_free_bulk(done.data(), static_cast<unsigned>(n_done));
    gets_.clear();
}

[[gnu::always_inline]] inline Worker::PendingGet* Worker::add_to_batch(std::string_view body) {
    switch (gets_.add_datagram(body)) {
        case engine::McGetBatch::AddResult::kFull:
            run_batch();
            gets_.add_pending();
            [[fallthrough]];
        case engine::McGetBatch::AddResult::kAdded:
            return &pending_[gets_.size() - 1];
        case engine::McGetBatch::AddResult::kNotPlainGet:
            break;
    }
    return nullptr;
}

[[gnu::always_inline]] inline void Worker::rx_one(rte_mbuf* m, RxCounts& counts) {
    const uint8_t* frame = net::detail::fast_udp_frame(m, p_.addr, p_.clients);
    if (frame == nullptr) [[unlikely]] {
        on_rx_full(m);
        return;
    }
    on_fast_udp(m, frame, counts);
}

[[gnu::always_inline]] inline void Worker::on_fast_udp(rte_mbuf* m, const uint8_t* frame,
                                                       RxCounts& counts) {
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(frame + net::detail::kFastUdp);
    const size_t size = size_t{net::be16(udp->dgram_len)} - sizeof(rte_udp_hdr);
    const uint8_t* p = frame + net::detail::kFastPayload;
    // accept_frame's usual header (total 1), read in place; anything else
    // as a UdpRequest, the way the full path goes.
    uint16_t total;  // the frame header's datagram count, big-endian
    std::memcpy(&total, p + 4, sizeof(total));
    if (size < proto::kMcFrameHeaderSize || total != RTE_BE16(1)) [[unlikely]] {
        on_fast_other(m, frame, counts);
        return;
    }
    counts.udp_requests++;
    counts.udp_request_bytes += size;
    const auto request_id = static_cast<uint16_t>(p[0] << 8 | p[1]);
    const std::string_view body(reinterpret_cast<const char*>(p) + proto::kMcFrameHeaderSize,
                                size - proto::kMcFrameHeaderSize);
    if (PendingGet* g = add_to_batch(body)) {
        g->m = m;
        g->frame = frame;
        g->request_id = request_id;
        return;
    }
    net::UdpRequest req;
    net::detail::udp_request_of(frame, req);
    route_request(m, req, request_id);
}

void Worker::on_fast_other(rte_mbuf* m, const uint8_t* frame, RxCounts& counts) {
    net::UdpRequest req;
    net::detail::udp_request_of(frame, req);
    on_udp_request(m, req, counts);
}

void Worker::on_rx_full(rte_mbuf* m) {
    net::UdpRequest req;
    net::DropReason why{};
    switch (net::classify_full(m, p_.addr, p_.clients, req, why)) {
        case net::RxAction::kTransmit:
            stats.replies_in_place++;
            send(m);
            return;
        case net::RxAction::kToKernel:
            to_kernel(m, why);
            return;
        case net::RxAction::kDrop:
            drops[static_cast<size_t>(why)]++;
            rte_pktmbuf_free(m);
            return;
        case net::RxAction::kUdpRequest:
            break;
    }
    RxCounts counts;
    on_udp_request(m, req, counts);
    stats.udp_requests += counts.udp_requests;
    stats.udp_request_bytes += counts.udp_request_bytes;
}

[[gnu::always_inline]] inline void Worker::on_udp_request(rte_mbuf* m, const net::UdpRequest& req,
                                                          RxCounts& counts) {
    counts.udp_requests++;
    counts.udp_request_bytes += req.payload.size();
    // The frame first: a datagram memcached would drop is dropped here,
    // whatever it holds, before any routing or hand-off.
    proto::McFrame frame;
    if (!accept_frame(m, req, frame)) return;
    if (PendingGet* g = add_to_batch(body_of(req))) {
        // Field by field: an aggregate assignment was built on the stack
        // and copied again.
        g->m = m;
        g->frame = nullptr;
        g->req = req;
        g->request_id = frame.request_id;
        return;
    }
    route_request(m, req, frame.request_id);
}

void Worker::route_request(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id) {
    // Parsed into the next write slot: kept there if the request waits.
    PendingWrite& w = writes_[n_writes_];
    const engine::Route r = engine::route_datagram(body_of(req), p_.route, w.parsed);
    // Whatever follows a batched get in the burst runs after it, except a
    // request of one key, run here, that no pending get names: it cannot
    // change what they read (short of evicting one of their items under
    // memory pressure: a miss any cache may give), and running the batch
    // first would cut every burst of a 90/10 mix into batches of ~9 keys
    // whose look-ups no longer overlap their cache misses (README, the
    // bench). Such a request waits for the batch too, ahead of its gets,
    // so the writes' own look-ups overlap (run_writes); a get of its key
    // that comes later joins the batch and runs after it, in order.
    // Replies are matched by request id, not by order.
    const bool here = r.kind == engine::RouteKind::kLocal ||
                      (r.kind == engine::RouteKind::kOwner && r.shard == p_.worker_id);
    if (here && touches_one_key(w.parsed) && !gets_.asks_for(w.parsed.request.key)) {
        w.m = m;
        w.req = req;
        w.request_id = request_id;
        if (++n_writes_ == kMaxWrites) run_batch();
        return;
    }
    if (batch_pending()) run_batch();
    switch (r.kind) {
        case engine::RouteKind::kLocal:
            execute(m, req, request_id, &w.parsed);
            return;
        case engine::RouteKind::kOwner:
            if (r.shard == p_.worker_id)
                execute(m, req, request_id, &w.parsed);
            else
                hand_off(m, req, request_id, r.shard, w.parsed);
            return;
        case engine::RouteKind::kRefuseAdmin:
            stats.udp_refused_admin++;
            rte_pktmbuf_free(m);
            return;
        case engine::RouteKind::kRefuseSpan: {
            stats.udp_refused_span++;
            rte_mbuf* out[1];
            if (net::build_mc_udp_replies(p_.pool, req, p_.addr, request_id,
                                          proto::kMcServerErrorSpan, out, 1) == 1)
                send(out[0]);
            else
                stats.mbuf_alloc_failed++;
            rte_pktmbuf_free(m);
            return;
        }
    }
}

void Worker::run_writes() {
    const size_t n = n_writes_;
    n_writes_ = 0;
    store::Shard& shard = *shards_[p_.worker_id];
    // Every write's key looked up at once; each store then starts from what
    // was found (Shard::set_find_hint checks it is still the key's item). A
    // key another shard owns (a read run here) is not in our index: a miss.
    // One write has nothing to overlap with: its store looks it up itself.
    static_assert(kMaxWrites <= store::kIndexBulkMax);
    std::array<store::Item*, kMaxWrites> found;
    uint64_t hits = 0;
    if (n > 1) {
        hits = store::index_find_bulk_mask(
            shard.index().raw(), static_cast<unsigned>(n),
            [&](unsigned i) { return &writes_[i].parsed.digest; }, found.data());
    }
    // The header and the key the store compares (as long as the request's:
    // reading the item's own length would wait for it).
    for (uint64_t h = hits; h != 0; h &= h - 1) {
        const auto i = static_cast<unsigned>(std::countr_zero(h));
        const auto* it = reinterpret_cast<const char*>(found[i]);
        rte_prefetch0(it);
        rte_prefetch0(it + store::kItemHeaderSize + writes_[i].parsed.request.key.size() - 1);
    }
    const uint64_t detaches = shard.page_detaches();
    for (size_t i = 0; i < n; ++i) {
        PendingWrite& w = writes_[i];
        const bool hit = (hits >> i & 1) != 0 && shard.page_detaches() == detaches;
        shard.set_find_hint(hit ? found[i] : nullptr);
        execute(w.m, w.req, w.request_id, &w.parsed);
    }
    shard.set_find_hint(nullptr);
}

void Worker::hand_off(rte_mbuf* m, const net::UdpRequest& req, uint16_t request_id, uint16_t shard,
                      const engine::ParsedRequest& parsed) {
    void* obj = nullptr;
    if (rte_mempool_get(messages_, &obj) != 0) {
        stats.handoff_no_message++;
        rte_pktmbuf_free(m);
        return;
    }
    auto* msg = static_cast<Message*>(obj);
    msg->kind = MessageKind::kUdpDatagram;
    msg->from = p_.worker_id;
    msg->body = body_of(req);
    msg->parsed = parsed;
    msg->udp = UdpReplyTo{.frame = m, .udp = req, .request_id = request_id};
    if (rte_ring_enqueue(inboxes_[shard], msg) != 0) {
        // A full inbox drops, never waits: the owner is busy, and a worker
        // that blocked on it would stop serving its own queue.
        stats.handoff_ring_full++;
        rte_mempool_put(messages_, msg);
        rte_pktmbuf_free(m);
        return;
    }
    stats.handoff_out++;
}

void Worker::run_control(Message* msg) {
    // A client's CONFIG SET (notify-keyspace-events, maxmemory...) came
    // before its next write: the write runs under it.
    if (p_.shared != nullptr) apply_memory_policy();
    if (msg->kind == MessageKind::kControlMarkFetched) {
        reply_.clear();
        store::Shard& shard = *shards_[p_.worker_id];
        const store::KeyRef k = msg->parsed.key();
        store::Item* it = shard.find(k, clock_.now());
        if (it != nullptr && it->cas == msg->parsed.request.cas) engine::mark_fetched(shard, it);
    } else if (msg->kind == MessageKind::kControlReplSnapshot) {
        reply_.clear();
        run_snapshot_step(msg->body);
    } else if (msg->kind == MessageKind::kControlReplApply) {
        reply_.clear();
        run_repl_apply(msg->body);
    } else if (msg->kind == MessageKind::kControlRingDrop) {
        reply_.clear();
        run_ring_drop(msg->body);
    } else if (msg->kind == MessageKind::kControlResp) {
        reply_.clear();
        const uint8_t flags = msg->control.resp_flags;
        reply_.set_resp3((flags & kRespFlagResp3) != 0);
        if ((flags & kRespFlagExec) != 0)
            engine::run_resp_transaction(resp_parser_, msg->body, ctx_, reply_);
        else
            engine::run_resp_request(resp_parser_, msg->body, ctx_, reply_);
        reply_.set_resp3(false);
    } else {
        run_request(msg->body, &msg->parsed);
    }
    const ControlReplyTo to = msg->control;
    ReplyStatus status = ReplyStatus::kOk;
    rte_mbuf* bytes = nullptr;
    uint32_t len = 0;
    if (reply_.overflow()) {
        stats.udp_reply_overflow++;
        status = ReplyStatus::kOverflow;
    } else if (!reply_.bytes().empty()) {
        // The control plane's own reply pool: its replies never take the
        // mbufs RX needs (the port's pool without a control plane channel).
        bytes = copy_to_chain(cp_reply_pool_ != nullptr ? cp_reply_pool_ : p_.pool, reply_.bytes());
        if (bytes == nullptr) {
            stats.mbuf_alloc_failed++;
            status = ReplyStatus::kNoBuffers;
        } else {
            len = static_cast<uint32_t>(reply_.bytes().size());
        }
    }
    // The request's views die with its mbuf; the reply is in its own.
    if (to.request != nullptr) rte_pktmbuf_free(to.request);
    msg->kind = MessageKind::kControlReply;
    msg->status = status;
    msg->from = p_.worker_id;
    msg->reply_len = len;
    msg->body = {};
    msg->parsed.valid = false;
    msg->reply = bytes;
    if (rte_ring_enqueue(to.replies, msg) != 0) {
        stats.handoff_reply_dropped++;
        rte_pktmbuf_free(bytes);
        rte_mempool_put(messages_, msg);
    }
    // Answered (or dropped): the control plane may reuse the request's bytes.
    if (p_.shared != nullptr) p_.shared->cp.inflight.fetch_sub(1, std::memory_order_release);
}

void Worker::run_snapshot_step(std::string_view body) {
    ReplSnapshotStep step{};
    if (body.size() != sizeof(step)) return;  // no reply bytes: the sender's bug
    std::memcpy(&step, body.data(), sizeof(step));
    store::Shard::SnapshotCursor c{
        .page = step.page, .chunk = step.chunk, .started = step.started != 0};
    store::Shard& shard = *shards_[p_.worker_id];
    struct MoveKeep {
        const engine::EngineCtx* ctx;
        uint32_t to;
    } move{&ctx_, step.move_to - 1};
    const auto moving = [](const void* arg, std::string_view key) {
        const auto* m = static_cast<const MoveKeep*>(arg);
        return engine::ring_moves_key_to(*m->ctx, key, m->to);
    };
    const store::Shard::KeyPredicate keep =
        step.move_to == 0 ? store::Shard::KeyPredicate{}
                          : store::Shard::KeyPredicate{.fn = moving, .arg = &move};
    step.done = shard.snapshot_step(step.snapshot_id, c, step.budget,
                                    size_t{step.keep_free_kb} << 10, clock_.now(), keep)
                    ? 1
                    : 0;
    step.page = c.page;
    step.chunk = c.chunk;
    step.started = c.started ? 1 : 0;
    step.logged = shard.logging() ? 1 : 0;
    reply_.append({reinterpret_cast<const char*>(&step), sizeof(step)});
}

void Worker::run_ring_drop(std::string_view body) {
    RingDropStep step{};
    if (body.size() != sizeof(step)) return;  // no reply bytes: the sender's bug
    std::memcpy(&step, body.data(), sizeof(step));
    store::Shard::SnapshotCursor c{.page = step.page, .chunk = step.chunk, .started = true};
    const auto not_ours = [](const void* arg, std::string_view key) {
        return !engine::ring_serves_key(*static_cast<const engine::EngineCtx*>(arg), key);
    };
    step.dropped = 0;
    step.done = shards_[p_.worker_id]->drop_step(c, step.budget, clock_.now(),
                                                 {.fn = not_ours, .arg = &ctx_}, step.dropped)
                    ? 1
                    : 0;
    step.page = c.page;
    step.chunk = c.chunk;
    reply_.append({reinterpret_cast<const char*>(&step), sizeof(step)});
}

void Worker::run_repl_apply(std::string_view body) {
    ReplApplyResult r{};
    store::Shard& shard = *shards_[p_.worker_id];
    const UnixTime now = clock_.now();
    while (!body.empty()) {
        repl::RecordView v;
        if (repl::parse_record(body, v) != repl::ParseStatus::kOk) {
            ++r.bad;  // the control plane checked every record: not reached
            break;
        }
        const store::StoreStatus st = shard.apply(v, now);
        if (st == store::StoreStatus::kNoMemory || st == store::StoreStatus::kTooLarge) ++r.failed;
        ++r.applied;
        body.remove_prefix(v.h.size);
    }
    reply_.append({reinterpret_cast<const char*>(&r), sizeof(r)});
}

// A paced step's freed keys travel in at most this many bytes (8 reply
// mbufs); more are counted as dropped: a step's budget is small (hundreds
// of chunks), so this bounds a burst, not the usual case.
constexpr size_t kSweepKeysMax = 64 * 1024;

void Worker::run_sweep(Message* msg) {
    store::Shard& shard = *shards_[p_.worker_id];
    const bool want_keys = (msg->sweep.want_keys & kSweepWantExpired) != 0;
    sweep_keys_.clear();
    sweep_keys_.limit = kSweepKeysMax;
    sync_eviction_log();
    // A budget of 0 only collects the evicted keys: no sweep, and it does
    // not count as a paced step (the fallback sweep's clock keeps running).
    store::SweepResult r;
    if (msg->sweep.budget != 0) {
        r = shard.sweep(msg->sweep.budget, clock_.now(), want_keys ? &sweep_keys_ : nullptr);
        stats.sweep_paced_steps++;
        last_paced_sweep_ = rte_rdtsc();
    }
    SweepStep& s = msg->sweep;
    s.chunks = r.chunks;
    s.pages_skipped = r.pages_skipped;
    s.mid_page = r.mid_page ? 1 : 0;
    s.pages_done = r.pages_done;
    s.ttl_seen = r.ttl_seen;
    s.reclaimed = r.reclaimed;
    s.pages_used = r.pages_used;
    s.n_pages = shard.slab().n_pages();
    s.cycles = r.cycles;
    s.ttl_items = shard.n_ttl_items();
    s.keys = nullptr;
    s.keys_len = 0;
    s.keys_dropped = want_keys ? sweep_keys_.dropped : 0;
    s.evicted_dropped = eviction_log_on_ ? evicted_keys_.dropped : 0;
    s.evicted_at = static_cast<uint32_t>(sweep_keys_.bytes.size());
    if (eviction_log_on_) sweep_keys_.bytes.append(evicted_keys_.bytes);
    if (!sweep_keys_.bytes.empty()) {
        s.keys =
            copy_to_chain(cp_reply_pool_ != nullptr ? cp_reply_pool_ : p_.pool, sweep_keys_.bytes);
        if (s.keys == nullptr) {
            stats.mbuf_alloc_failed++;
            if (want_keys) s.keys_dropped += r.reclaimed - sweep_keys_.dropped;
            if (eviction_log_on_) s.evicted_dropped += evicted_keys_.count;
            s.evicted_at = 0;
        } else {
            s.keys_len = static_cast<uint32_t>(sweep_keys_.bytes.size());
        }
    }
    if (eviction_log_on_) evicted_keys_.clear();
    msg->kind = MessageKind::kControlSweepDone;
    msg->status = ReplyStatus::kOk;
    msg->from = p_.worker_id;
    msg->reply_len = 0;
    if (rte_ring_enqueue(s.replies, msg) != 0) {
        stats.handoff_reply_dropped++;
        rte_pktmbuf_free(s.keys);
        rte_mempool_put(messages_, msg);
    }
    if (p_.shared != nullptr) p_.shared->cp.inflight.fetch_sub(1, std::memory_order_release);
}

unsigned Worker::drain_inbox() {
    Message* msgs[64];
    const unsigned n =
        rte_ring_dequeue_burst(inboxes_[p_.worker_id], reinterpret_cast<void**>(msgs),
                               std::min<uint16_t>(p_.burst, kInboxPerLoop), nullptr);
    void* done[64];
    unsigned n_done = 0;
    for (unsigned i = 0; i < n; ++i) {
        Message* msg = msgs[i];
        stats.handoff_in++;
        switch (msg->kind) {
            case MessageKind::kUdpDatagram:
                // Classified, framed, routed, parsed and digested by the
                // receiver: only the run is left.
                execute(msg->udp.frame, msg->udp.udp, msg->udp.request_id, &msg->parsed);
                done[n_done++] = msg;
                break;
            case MessageKind::kControlRequest:
            case MessageKind::kControlMarkFetched:
            case MessageKind::kControlResp:
            case MessageKind::kControlReplSnapshot:
            case MessageKind::kControlReplApply:
            case MessageKind::kControlRingDrop:
                run_control(msg);  // the message goes back as the reply
                break;
            case MessageKind::kControlSweep:
                run_sweep(msg);  // likewise
                break;
            case MessageKind::kControlSweepDone:
                done[n_done++] = msg;  // replies never come here
                break;
            case MessageKind::kControlReply:
                // Replies travel on the control plane's rings, never here.
                rte_pktmbuf_free(msg->reply);
                done[n_done++] = msg;
                break;
        }
    }
    if (n_done != 0) rte_mempool_put_bulk(messages_, done, n_done);
    return n;
}

void Worker::sync_eviction_log() {
    // The log runs while the control plane asks for evicted events (the
    // keys go back with the sweep steps); it starts empty and stops,
    // dropping what it holds, when not.
    const bool on =
        p_.shared != nullptr && p_.shared->memory.log_evicted.load(std::memory_order_acquire) != 0;
    if (on == eviction_log_on_) return;
    evicted_keys_.clear();
    evicted_keys_.limit = kSweepKeysMax;
    shards_[p_.worker_id]->set_eviction_log(on ? &evicted_keys_ : nullptr);
    eviction_log_on_ = on;
}

void Worker::apply_memory_policy() {
    sync_eviction_log();  // first: a budget lowered after it was asked for is noted
    const shm::MemoryPolicy& m = p_.shared->memory;
    const uint32_t pages = m.max_pages.load(std::memory_order_relaxed);
    const bool evict = m.evict.load(std::memory_order_relaxed) != 0;
    if (pages == applied_max_pages_ && evict == applied_evict_) return;
    applied_max_pages_ = pages;
    applied_evict_ = evict;
    // Past the new budget, pages are emptied now: their keys are evicted
    // (and noted for Redis's evicted events) before the next request runs.
    // (Each emptied page's items count in the shard's evictions.)
    (void)shards_[p_.worker_id]->set_memory_policy(pages, evict, clock_.now());
}

void Worker::sync_service_addrs() {
    if (p_.services != nullptr && shm::service_addrs_seq(*p_.services) != services_seq_) {
        shm::ServiceAddrSnapshot t;
        // Mid-change: the copy we have serves until the next round.
        if (shm::read_service_addrs(*p_.services, t)) {
            services_seq_ = t.seq;
            stats.service_addr_updates++;
            net::PortAddr& a = p_.addr;
            if (p_.gratuitous_arp) {
                // Announcements of addresses gone are dropped; new ones
                // (not ours before) are announced from now.
                uint32_t kept = 0;
                for (uint32_t i = 0; i < n_announcements_; ++i) {
                    const Announcement& an = announcements_[i];
                    if (std::find(t.addrs.begin(), t.addrs.begin() + t.n, an.ip) !=
                        t.addrs.begin() + t.n)
                        announcements_[kept++] = an;
                }
                n_announcements_ = kept;
                const uint64_t now = rte_rdtsc();
                for (uint32_t i = 0; i < t.n; ++i) {
                    if (a.is_service(t.addrs[i]) || p_.garp_count == 0) continue;
                    announcements_[n_announcements_++] = {t.addrs[i], p_.garp_count, now};
                }
            }
            std::copy(t.addrs.begin(), t.addrs.begin() + t.n, a.service.begin());
            a.n_service = t.n;
        }
    }
    send_announcements();
}

void Worker::send_announcements() {
    if (n_announcements_ == 0) return;
    const uint64_t now = rte_rdtsc();
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n_announcements_; ++i) {
        Announcement an = announcements_[i];
        if (now >= an.next) {
            if (rte_mbuf* g = net::build_gratuitous_arp(p_.pool, p_.addr, an.ip)) {
                stats.gratuitous_arps++;
                send(g);
            } else {
                stats.mbuf_alloc_failed++;
            }
            an.left--;
            an.next = now + garp_interval_cycles_;
        }
        if (an.left != 0) announcements_[kept++] = an;
    }
    n_announcements_ = kept;
    if (n_tx_ > 0) flush_tx();
}

void Worker::housekeep() {
    if (rcu_ != nullptr) rte_rcu_qsbr_quiescent(rcu_, p_.worker_id);
    sync_service_addrs();
    if (p_.shared != nullptr) apply_memory_policy();
    // The control plane paces the TTL sweep (run_sweep). Without it, the
    // owner frees expired items a little at a time itself (bounded), so
    // memory comes back without a full scan and without stalling RX.
    if (last_paced_sweep_ != 0 && rte_rdtsc() - last_paced_sweep_ < sweep_fallback_cycles_) return;
    if (p_.shared != nullptr && p_.shared->cp.active_expire.load(std::memory_order_relaxed) == 0)
        return;  // DEBUG SET-ACTIVE-EXPIRE 0
    // No item with a TTL: nothing can be due, and a step would still walk
    // `sweep_budget` page descriptors (a busy worker's every 64th loop).
    store::Shard& shard = *shards_[p_.worker_id];
    if (shard.n_ttl_items() == 0) return;
    stats.sweep_fallback_steps++;
    stats.sweep_reclaimed += shard.sweep(p_.sweep_budget, clock_.now()).reclaimed;
}

unsigned Worker::poll_once() {
    rte_mbuf* pkts[64];
    const uint16_t burst = std::min<uint16_t>(p_.burst, 64);
    const uint16_t n = rte_eth_rx_burst(p_.port_id, p_.queue_id, pkts, burst);
    // Received counts once a burst: the stats sit behind `this`, which every
    // store rx_one makes could alias, so per datagram each was loaded and
    // stored again.
    uint64_t rx_bytes = 0;
    RxCounts counts;
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
        rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
        rx_one(pkts[i], counts);
    }
    stats.rx_packets += n;
    stats.rx_bytes += rx_bytes;
    stats.udp_requests += counts.udp_requests;
    stats.udp_request_bytes += counts.udp_request_bytes;
    run_batch();
    if (n_to_kernel_ > 0) flush_to_kernel();
    const unsigned in = drain_inbox();
    const unsigned from_kernel = poll_kernel();
    if (n_tx_ > 0) flush_tx();
    if (++loops_ % kHousekeepEvery == 0) housekeep();
    return n + in + from_kernel;
}

void Worker::announce() {
    if (rte_mbuf* g = net::build_gratuitous_arp(p_.pool, p_.addr)) {
        stats.gratuitous_arps++;
        send(g);
        flush_tx();
    }
}

int Worker::run() {
    if (rcu_ != nullptr) {
        rte_rcu_qsbr_thread_register(rcu_, p_.worker_id);
        rte_rcu_qsbr_thread_online(rcu_, p_.worker_id);
    }
    if (p_.gratuitous_arp) announce();
    uint32_t idle = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        if (poll_once() != 0) {
            idle = 0;
            continue;
        }
        if (p_.idle == IdleMode::kPoll) continue;
        // A 2-core laptop or CI box must stay usable: back off when idle,
        // never when busy.
        if (++idle < kSpinLoops) continue;
        if (idle < kSpinLoops + p_.pause_iterations) {
            rte_pause();
            continue;
        }
        // Offline while asleep: an owner waiting for a grace period must not
        // wait for our nap.
        const uint32_t us = std::min<uint32_t>(
            p_.max_sleep_us, 1u << std::min(10u, (idle - kSpinLoops - p_.pause_iterations) / 64));
        if (rcu_ != nullptr) rte_rcu_qsbr_thread_offline(rcu_, p_.worker_id);
        rte_delay_us_sleep(us);
        if (rcu_ != nullptr) rte_rcu_qsbr_thread_online(rcu_, p_.worker_id);
    }
    flush_tx();
    if (rcu_ != nullptr) {
        rte_rcu_qsbr_thread_offline(rcu_, p_.worker_id);
        rte_rcu_qsbr_thread_unregister(rcu_, p_.worker_id);
    }
    return 0;
}

}  // namespace fulmar::dataplane
