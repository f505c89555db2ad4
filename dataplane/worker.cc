// The worker loop; see worker.h.
#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/mc_classic.h"
#include "net/reply.h"
#include "proto/mc_frame.h"
#include "proto/mc_get_line.h"
#include "proto/mc_set_line.h"
#include "store/digest.h"

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
// A TX queue that stays full this many tries drops the rest.
constexpr int kTxRetries = 64;

constexpr std::string_view kOutOfMemoryReply =
    "SERVER_ERROR out of memory writing get response\r\n";

std::vector<rte_mbuf*>& reply_mbufs() {
    thread_local std::vector<rte_mbuf*> v(kMaxReplyDatagrams);
    return v;
}

}  // namespace

Worker::Worker(const WorkerParams& p, std::span<store::Shard* const> shards,
               std::span<rte_ring* const> inboxes, rte_rcu_qsbr* rcu)
    : own_slot_(p.stats_slot == nullptr ? std::make_unique<shm::LcoreStats>() : nullptr),
      slot(p.stats_slot != nullptr ? *p.stats_slot : *own_slot_),
      stats(slot.worker),
      drops(slot.drops),
      p_(p),
      shards_(shards),
      inboxes_(inboxes),
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
      reply_(kReplyCapacity) {}

void Worker::send(rte_mbuf* m) {
    stats.tx_packets++;
    stats.tx_bytes += rte_pktmbuf_pkt_len(m);
    tx_[n_tx_++] = m;
    if (n_tx_ == tx_.size()) flush_tx();
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

bool Worker::accept_frame(rte_mbuf* m, const net::UdpRequest& req, proto::McFrame& frame) {
    const proto::FrameStatus fs = proto::decode_request_frame(req.payload, frame);
    if (fs == proto::FrameStatus::kOk) return true;
    if (fs == proto::FrameStatus::kShort)
        stats.udp_short_frame++;
    else
        stats.udp_multi_datagram++;
    rte_pktmbuf_free(m);
    return false;
}

std::string_view Worker::body_of(const net::UdpRequest& req) {
    return {reinterpret_cast<const char*>(req.payload.data()) + proto::kMcFrameHeaderSize,
            req.payload.size() - proto::kMcFrameHeaderSize};
}

void Worker::execute(rte_mbuf* m, const net::UdpRequest& req, const proto::McFrame& frame,
                     const proto::McTextRequest* set) {
    const std::string_view body = body_of(req);
    reply_.clear();
    // A plain set (handed over by another worker, or parsed by on_rx) runs
    // without the full parser; the session would read it the same way.
    if (set == nullptr && proto::parse_mc_set_line(body, engine::kMcMaxStorableValueLen, set_))
        set = &set_;
    if (set != nullptr) {
        engine::execute_classic(*set, ctx_, reply_);
    } else {
        // Each datagram is a connection of its own, as in memcached: nothing
        // carries over, a request cut short is dropped.
        session_.reset();
        session_.feed(body, reply_);
    }
    std::span<const char> reply = reply_.bytes();
    if (reply_.overflow()) {
        stats.udp_reply_overflow++;
        reply = kOutOfMemoryReply;
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
        net::seal_mc_udp_reply(m, req, p_.addr, frame.request_id, reply.size());
        stats.udp_reply_datagrams++;
        stats.udp_reply_bytes += reply.size();
        send(m);
        return;
    }
    auto& out = reply_mbufs();
    const size_t n = net::build_mc_udp_replies(p_.pool, req, p_.addr, frame.request_id, reply,
                                               out.data(), out.size());
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
    for (size_t i = 0; i < n; ++i) {
        const PendingGet& g = pending_[i];
        // The reply goes out in the request's own mbuf, built past the
        // request's bytes (the keys the reply copies stay in place); a fresh
        // mbuf only when that one cannot be reused.
        rte_mbuf* out = g.m;
        if (!net::reuse_for_reply(g.m, net::mc_reply_overhead(g.req) + proto::kMcUdpMaxPayload)) {
            out = rte_pktmbuf_alloc(p_.pool);
            if (out == nullptr) {
                stats.mbuf_alloc_failed++;
                done[n_done++] = g.m;
                continue;
            }
        }
        size_t room = 0;
        char* text = net::mc_udp_reply_text(out, g.req, room);
        const size_t len = text == nullptr ? 0 : gets_.write_reply(i, text, room);
        if (len == 0) {
            // Not servable here (a large value, a multi-datagram reply):
            // nothing was counted or changed for it; the engine answers.
            if (out != g.m) rte_pktmbuf_free(out);
            execute(g.m, g.req, proto::McFrame{g.request_id, 0, 1, 0});
            continue;
        }
        if (out != g.m) done[n_done++] = g.m;
        gets_.settle(ctx_, i);
        net::seal_mc_udp_reply(out, g.req, p_.addr, g.request_id, len);
        stats.udp_batched_gets++;
        stats.udp_reply_datagrams++;
        stats.udp_reply_bytes += len;
        send(out);
    }
    if (n_done != 0) rte_pktmbuf_free_bulk(done.data(), static_cast<unsigned>(n_done));
    gets_.clear();
}

void Worker::on_rx(rte_mbuf* m) {
    stats.rx_packets++;
    stats.rx_bytes += rte_pktmbuf_pkt_len(m);
    net::UdpRequest req;
    net::DropReason why{};
    switch (net::classify(m, p_.addr, p_.clients, req, why)) {
        case net::RxAction::kTransmit:
            stats.replies_in_place++;
            send(m);
            return;
        case net::RxAction::kDrop:
            drops[static_cast<size_t>(why)]++;
            rte_pktmbuf_free(m);
            return;
        case net::RxAction::kUdpRequest:
            break;
    }
    stats.udp_requests++;
    stats.udp_request_bytes += req.payload.size();
    // The frame first: a datagram memcached would drop is dropped here,
    // whatever it holds, before any routing or hand-off.
    proto::McFrame frame;
    if (!accept_frame(m, req, frame)) return;
    if (proto::parse_mc_get_line(body_of(req), line_)) {
        if (!gets_.add(line_)) {
            run_gets();
            gets_.add(line_);
        }
        pending_[gets_.size() - 1] = {m, req, frame.request_id};
        return;
    }
    // Whatever follows a batched get in the burst runs after it.
    if (!gets_.empty()) run_gets();
    // A plain set goes to its key's owner without a full parse.
    const proto::McTextRequest* set = nullptr;
    Route r;
    if (proto::parse_mc_set_line(body_of(req), engine::kMcMaxStorableValueLen, set_)) {
        set = &set_;
        r = {RouteKind::kOwner, static_cast<uint16_t>(engine::shard_index(
                                    store::digest_key(set_.key), p_.route.n_shards))};
    } else {
        r = route_datagram(body_of(req), p_.route);
    }
    switch (r.kind) {
        case RouteKind::kLocal:
            execute(m, req, frame);
            return;
        case RouteKind::kOwner:
            if (r.shard == p_.worker_id) {
                execute(m, req, frame, set);
            } else if (rte_ring_enqueue(inboxes_[r.shard], m) == 0) {
                stats.handoff_out++;
            } else {
                stats.handoff_ring_full++;
                rte_pktmbuf_free(m);
            }
            return;
        case RouteKind::kRefuseAdmin:
            stats.udp_refused_admin++;
            rte_pktmbuf_free(m);
            return;
        case RouteKind::kRefuseSpan: {
            stats.udp_refused_span++;
            rte_mbuf* out[1];
            if (net::build_mc_udp_replies(p_.pool, req, p_.addr, frame.request_id, kSpanErrorReply,
                                          out, 1) == 1)
                send(out[0]);
            else
                stats.mbuf_alloc_failed++;
            rte_pktmbuf_free(m);
            return;
        }
    }
}

void Worker::housekeep() {
    if (rcu_ != nullptr) rte_rcu_qsbr_quiescent(rcu_, p_.worker_id);
    // The owner frees expired items a little at a time (bounded), so memory
    // comes back without a full scan and without stalling RX.
    stats.sweep_reclaimed += shards_[p_.worker_id]->sweep(p_.sweep_budget, clock_.now());
}

unsigned Worker::poll_once() {
    rte_mbuf* pkts[64];
    const uint16_t burst = std::min<uint16_t>(p_.burst, 64);
    const uint16_t n = rte_eth_rx_burst(p_.port_id, p_.queue_id, pkts, burst);
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
        on_rx(pkts[i]);
    }
    if (!gets_.empty()) run_gets();
    const unsigned in = rte_ring_dequeue_burst(inboxes_[p_.worker_id],
                                               reinterpret_cast<void**>(pkts), burst, nullptr);
    for (unsigned i = 0; i < in; ++i) {
        stats.handoff_in++;
        net::UdpRequest req;
        net::DropReason why{};
        // Classified once already by the receiving worker; again here for
        // the pointers into this mbuf (cheap: the headers are in cache).
        proto::McFrame frame;
        if (net::classify(pkts[i], p_.addr, p_.clients, req, why) != net::RxAction::kUdpRequest)
            rte_pktmbuf_free(pkts[i]);
        else if (accept_frame(pkts[i], req, frame))
            execute(pkts[i], req, frame);
    }
    if (n_tx_ > 0) flush_tx();
    if (++loops_ % kHousekeepEvery == 0) housekeep();
    return n + in;
}

void Worker::announce() {
    if (rte_mbuf* g = net::build_gratuitous_arp(p_.pool, p_.addr)) {
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
