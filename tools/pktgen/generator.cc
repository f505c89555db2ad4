// The load loop; see generator.h for its shape, threading and lifecycle.
#include "generator.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "net/classify.h"
#include "proto/mc_frame.h"

namespace fulmar::pktgen {
namespace {

// Multi-datagram reassembly memory; contexts are counted from it (16 at
// least, 4,096 at most: more than any sane window of multi-gets).
constexpr size_t kReassemblyBytes = size_t{64} << 20;
// Preload gives up when nothing at all comes back for this long.
constexpr uint64_t kPreloadStallSeconds = 5;
// Live counters are published this many times a second.
constexpr uint64_t kPublishPerSecond = 20;

uint16_t load_be16(const std::byte* p) {
    return static_cast<uint16_t>((std::to_integer<uint16_t>(p[0]) << 8) |
                                 std::to_integer<uint16_t>(p[1]));
}

uint32_t max_reply_datagrams(const Workload& w) {
    const size_t n = proto::reply_datagram_count(w.max_get_reply());
    return static_cast<uint32_t>(std::max<size_t>(n, 2));
}

uint32_t reassembly_contexts(const Workload& w) {
    const size_t per = size_t{max_reply_datagrams(w)} * proto::kMcUdpMaxPayload;
    return static_cast<uint32_t>(std::clamp<size_t>(kReassemblyBytes / per, 16, 4096));
}

}  // namespace

Generator::Generator(const Options& o, const Workload& w, const PortConf& pc, const QueuePlan& plan,
                     Crew& crew)
    : o_(o),
      w_(w),
      pc_(pc),
      plan_(plan),
      crew_(crew),
      chooser_(plan.keys.count, w.params().dist, w.params().zipf_theta),
      frame_(pc.flow),
      get_frame_(pc.flow, w),
      one_key_gets_(w.params().keys_per_get == 1),
      track_versions_(!o.reflector),
      reflector_(o.reflector),
      live_quantiles_(!o.quiet),
      matcher_(pc.flow, crew.base_src_port, static_cast<uint16_t>(crew.n_queues)),
      versions_(plan.keys.first, plan.keys.count),
      table_(w.params().keys_per_get),
      reasm_(reassembly_contexts(w), max_reply_datagrams(w),
             static_cast<uint32_t>(proto::kMcUdpMaxPayload)),
      rng_(plan.seed),
      tsc_hz_(rte_get_tsc_hz()),
      ns_per_tsc_32_(static_cast<uint64_t>(
          std::llround(0x1.0p32 * 1e9 / static_cast<double>(rte_get_tsc_hz())))),
      timeout_tsc_(rte_get_tsc_hz() / 1000 * o.timeout_ms) {
    rx_addr_.mac = pc.flow.src_mac;
    rx_addr_.ip = pc.flow.src_ip;
    // Every instance's port is ours to receive; poll_rx hands the others'
    // replies over.
    rx_addr_.udp_port = crew.base_src_port;
    rx_addr_.n_udp_ports = static_cast<uint16_t>(crew.n_queues);
    rx_from_.add(pc.flow.dst_ip, 32);
    preload_retry_.reserve(RequestTable::kIds);
    ahead_keys_.resize(size_t{kAhead} * w.params().keys_per_get);
    if (!crew.inboxes.empty()) inbox_ = crew.inboxes[plan.queue];
}

// ---------------------------------------------------------------------------
// Sending

void Generator::draw(uint32_t slot) {
    if (one_key_gets_) {
        // One key a request, get or set: no loop.
        ahead_ops_[slot] = w_.next_op(rng_);
        const uint32_t key = plan_.keys.first + static_cast<uint32_t>(chooser_.next(rng_));
        ahead_keys_[slot] = key;
        if (track_versions_) versions_.prefetch(key);
        return;
    }
    const Op op = w_.next_op(rng_);
    ahead_ops_[slot] = op;
    const uint32_t n = op == Op::kGet ? w_.params().keys_per_get : 1;
    uint32_t* keys = &ahead_keys_[size_t{slot} * w_.params().keys_per_get];
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = plan_.keys.first + static_cast<uint32_t>(chooser_.next(rng_));
        if (track_versions_) versions_.prefetch(keys[i]);
    }
}

void Generator::fill_request(rte_mbuf* m, uint16_t id) {
    // The common request, a get of one key drawn ahead: inline in build();
    // everything else (preload, sets, multi-gets, the first draws) below.
    const uint32_t slot = ahead_next_;
    if (fast_gets_ && ahead_ops_[slot] == Op::kGet) {
        ahead_next_ = (slot + 1) % kAhead;
        Slot& s = table_.slot(id);
        s.phase = phase_;
        fill_one_get(m, id, s, slot, ahead_keys_[slot]);
        return;
    }
    fill_other(m, id);
}

void Generator::fill_one_get(rte_mbuf* m, uint16_t id, Slot& s, uint32_t slot, uint32_t key) {
    table_.keys(id)[0] = key;
    table_.min_versions(id)[0] = track_versions_ ? versions_.acked(key) : 0;
    s.op = Op::kGet;
    s.n_keys = 1;
    get_frame_.fill(m, id, key);
    draw(slot);
}

void Generator::fill_other(rte_mbuf* m, uint16_t id) {
    Slot& s = table_.slot(id);
    s.phase = phase_;
    char* const payload = RequestFrame::payload(m);
    char* const body = payload + proto::kMcFrameHeaderSize;
    size_t len = 0;
    if (loop_ == Loop::kPreload) {
        uint32_t key;
        if (!preload_retry_.empty()) {
            key = preload_retry_.back();
            preload_retry_.pop_back();
            stats_[static_cast<size_t>(Phase::kPreload)].retries++;
        } else {
            key = preload_next_++;
        }
        s.op = Op::kSet;
        s.key = key;
        s.version = versions_.next(key);
        len = w_.format_set(key, s.version, body);
    } else {
        if (!have_ahead_) {
            for (uint32_t i = 0; i < kAhead; i++)
                draw(i);
            have_ahead_ = true;
            fast_gets_ = one_key_gets_;  // loop_ is kLoad here
        }
        // The oldest drawn request; its slot is drawn again once it is
        // built, so the draws keep their order.
        const uint32_t slot = ahead_next_;
        ahead_next_ = (slot + 1) % kAhead;
        const uint32_t* ahead = &ahead_keys_[size_t{slot} * w_.params().keys_per_get];
        if (ahead_ops_[slot] == Op::kGet && one_key_gets_) {
            // The common request: the template, no text formatting.
            fill_one_get(m, id, s, slot, ahead[0]);
            return;
        }
        if (ahead_ops_[slot] == Op::kGet) {
            const uint32_t n = w_.params().keys_per_get;
            std::span<uint32_t> keys = table_.keys(id);
            std::span<uint32_t> mins = table_.min_versions(id);
            for (uint32_t i = 0; i < n; i++) {
                keys[i] = ahead[i];
                // The newest acknowledged version now: the reply may not be older.
                mins[i] = track_versions_ ? versions_.acked(keys[i]) : 0;
            }
            s.op = Op::kGet;
            s.n_keys = static_cast<uint16_t>(n);
            len = w_.format_get(keys.first(n), body);
        } else {
            const uint32_t key = ahead[0];
            s.op = Op::kSet;
            s.key = key;
            s.version = track_versions_ ? versions_.next(key) : 1;
            len = w_.format_set(key, s.version, body);
        }
        draw(slot);
    }
    const proto::McFrame header{.request_id = id, .seq = 0, .total = 1, .reserved = 0};
    proto::encode_frame(header,
                        std::span<std::byte, proto::kMcFrameHeaderSize>(
                            reinterpret_cast<std::byte*>(payload), proto::kMcFrameHeaderSize));
    frame_.finish(m, proto::kMcFrameHeaderSize + len);
}

void Generator::build(uint32_t n, uint64_t now, const uint64_t* stamps) {
    if (loop_ == Loop::kPreload) {
        const uint64_t left =
            preload_retry_.size() + (plan_.keys.first + plan_.keys.count - preload_next_);
        n = static_cast<uint32_t>(std::min<uint64_t>(n, left));
    }
    n = std::min(n, kMaxBurst - n_tx_);
    if (n == 0) return;
    rte_mbuf* mbufs[kMaxBurst];
    // Replies received are the first buffers (warm in cache, and no trip
    // through the pool); the pool gives the rest.
    const uint32_t reused = std::min(n, n_spare_);
    n_spare_ -= reused;
    for (uint32_t i = 0; i < reused; i++) {
        rte_mbuf* m = spare_[n_spare_ + i];
        // What rte_pktmbuf_reset does that a frame needs (poll_rx admitted
        // one segment: next is null, nb_segs 1; the frame writers set the
        // lengths and packet type): the headroom, and no RX flags or
        // offloads carried into the TX path.
        m->data_off = RTE_PKTMBUF_HEADROOM;
        m->ol_flags = 0;
        m->tx_offload = 0;
        m->vlan_tci = 0;
        mbufs[i] = m;
    }
    if (n > reused && rte_pktmbuf_alloc_bulk(pc_.pool, mbufs + reused, n - reused) != 0) {
        link_.mbuf_alloc_failed++;
        n = reused;
        if (n == 0) return;
    }
    uint32_t built = 0;
    uint32_t at = n_tx_;
    for (; built < n; built++) {
        uint16_t id;
        if (!table_.acquire(stamps ? stamps[built] : now, id)) break;
        fill_request(mbufs[built], id);
        tx_[at] = mbufs[built];
        tx_ids_[at] = id;
        at++;
    }
    n_tx_ = at;
    if (built < n) rte_pktmbuf_free_bulk(mbufs + built, n - built);
}

uint32_t Generator::flush_tx(uint64_t now) {
    if (n_tx_ == 0) return 0;
    const uint16_t sent =
        rte_eth_tx_burst(pc_.port_id, pc_.queue_id, tx_.data(), static_cast<uint16_t>(n_tx_));
    link_.tx_packets += sent;
    const bool closed = plan_.rate == 0 || loop_ == Loop::kPreload;
    if (closed && sent > 0) now = rte_rdtsc();
    for (uint16_t i = 0; i < sent; i++) {
        Slot& s = table_.slot(tx_ids_[i]);
        // Closed loop: latency starts when the ring took the frame, not when
        // the turn began (a burst takes microseconds to build). Open loop
        // keeps the scheduled time.
        if (closed) s.sent_tsc = now;
        RequestStats& st = stats_[static_cast<size_t>(s.phase)];
        st.sent++;
        if (s.op == Op::kGet) {
            st.sent_gets++;
            st.keys_requested += s.n_keys;
        } else {
            st.sent_sets++;
        }
    }
    if (sent < n_tx_) {
        link_.tx_full++;
        std::memmove(tx_.data(), tx_.data() + sent, (n_tx_ - sent) * sizeof(tx_[0]));
        std::memmove(tx_ids_.data(), tx_ids_.data() + sent, (n_tx_ - sent) * sizeof(tx_ids_[0]));
    }
    n_tx_ -= sent;
    return sent;
}

// ---------------------------------------------------------------------------
// Receiving

uint16_t Generator::poll_rx(uint64_t now) {
    rte_mbuf* pkts[2 * kMaxBurst];
    uint16_t n = rte_eth_rx_burst(pc_.port_id, pc_.queue_id, pkts, static_cast<uint16_t>(o_.burst));
    link_.rx_packets += n;
    // Our replies that came in on the other queues (counted there).
    if (inbox_ != nullptr)
        n += static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
            inbox_, reinterpret_cast<void**>(pkts + n), o_.burst, nullptr));
    if (n == 0) return 0;
    // Replies are stamped with `now`, which every caller reads right before
    // calling here (each turn starts by receiving), so no second clock read
    // (an rdtsc is ~10 ns on this VM, a tenth of a request's busy time).
    rte_mbuf* done[2 * kMaxBurst];
    uint16_t n_done = 0;
    // The frames were written by the server's core: start loading them a
    // few frames ahead (both lines: a get reply spans two).
    constexpr uint16_t kPrefetchAhead = 4;
    auto prefetch = [&](uint16_t i) {
        const auto* p = rte_pktmbuf_mtod(pkts[i], const char*);
        rte_prefetch0(p);
        rte_prefetch0(p + RTE_CACHE_LINE_SIZE);
    };
    for (uint16_t i = 0; i < std::min(n, kPrefetchAhead); i++)
        prefetch(i);
    for (uint16_t i = 0; i < n; i++) {
        rte_mbuf* m = pkts[i];
        if (i + kPrefetchAhead < n) prefetch(static_cast<uint16_t>(i + kPrefetchAhead));
        std::span<const std::byte> payload;
        uint16_t dst_port = 0;
        if (matcher_.match(m, payload, dst_port)) {
            if (to_queue(m, dst_port, payload, now)) continue;
            // Checked and done with: the buffer of a later request, unless
            // something else still holds it or it is not a plain buffer of
            // our pool (match() admitted one segment only).
            if (m->pool == pc_.pool && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
                n_spare_ < spare_.size())
                spare_[n_spare_++] = m;
            else
                done[n_done++] = m;
            continue;
        }
        net::UdpRequest d;
        net::DropReason why{};
        switch (net::classify(m, rx_addr_, rx_from_, d, why)) {
            case net::RxAction::kTransmit:
                // An ARP request for our address (a router on a real NIC):
                // classify turned it into the reply.
                if (rte_eth_tx_burst(pc_.port_id, pc_.queue_id, &m, 1) == 1)
                    link_.arp_replies_sent++;
                else
                    done[n_done++] = m;
                continue;
            case net::RxAction::kToKernel:  // a generator has no kernel side
            case net::RxAction::kDrop:
                link_.rx_other++;
                break;
            case net::RxAction::kUdpRequest: {
                if (d.src_port != pc_.flow.dst_port) {
                    link_.rx_other++;
                    break;
                }
                if (to_queue(m, d.dst_port, d.payload, now)) continue;
                break;
            }
        }
        done[n_done++] = m;
    }
    if (n_done) rte_pktmbuf_free_bulk(done, n_done);
    return n;
}

bool Generator::to_queue(rte_mbuf* m, uint16_t dst_port, std::span<const std::byte> payload,
                         uint64_t now) {
    // Both matchers admit [base, base + n_queues) only: whose port?
    const uint32_t q = dst_port - crew_.base_src_port;
    if (q == plan_.queue) {
        on_datagram(payload, now);
        return false;
    }
    link_.rx_handed_over++;
    if (rte_ring_mp_enqueue(crew_.inboxes[q], m) == 0) return true;
    link_.rx_handover_full++;
    return false;
}

void Generator::on_datagram(std::span<const std::byte> payload, uint64_t now) {
    if (payload.size() < proto::kMcFrameHeaderSize) {
        link_.rx_bad_frame++;
        return;
    }
    const uint16_t id = load_be16(payload.data());
    const uint16_t seq = load_be16(payload.data() + 2);
    const uint16_t total = load_be16(payload.data() + 4);
    const std::string_view body(
        reinterpret_cast<const char*>(payload.data()) + proto::kMcFrameHeaderSize,
        payload.size() - proto::kMcFrameHeaderSize);
    Slot& s = table_.slot(id);
    if (s.state != SlotState::kOutstanding) {
        if (s.state == SlotState::kTimedOut)
            stats_[static_cast<size_t>(s.phase)].late++;
        else
            link_.rx_unmatched++;
        return;
    }
    if (total == 0 || seq >= total) {
        link_.rx_bad_frame++;
        return;
    }
    last_reply_tsc_ = now;
    if (total == 1) {
        complete(id, s, body, now);
        return;
    }
    on_fragment(id, s, seq, total, body, now);
}

void Generator::on_fragment(uint16_t id, Slot& s, uint16_t seq, uint16_t total,
                            std::string_view body, uint64_t now) {
    RequestStats& st = stats_[static_cast<size_t>(s.phase)];
    if (s.reasm == Reassembler::kNone) return;  // already given up on: it will time out
    if (s.reasm == 0) {
        const uint16_t c = reasm_.acquire(total);
        if (c == Reassembler::kNone) {
            st.reassembly_full++;
            s.reasm = Reassembler::kNone;
            return;
        }
        s.reasm = static_cast<uint16_t>(c + 1);
        st.multi_datagram_replies++;
    }
    const uint16_t c = static_cast<uint16_t>(s.reasm - 1);
    switch (reasm_.add(c, seq, total, body)) {
        case AddResult::kMore:
            return;
        case AddResult::kDuplicate:
            st.duplicate_datagrams++;
            return;
        case AddResult::kBad:
            // A datagram that contradicts the first one: the reply is broken.
            st.replies++;
            st.errors++;
            st.error_kinds[static_cast<size_t>(ReplyError::kMalformed)]++;
            drop_reassembly(s);
            if (loop_ == Loop::kPreload) preload_settled_++;
            table_.release(id);
            return;
        case AddResult::kComplete:
            complete(id, s, reasm_.bytes(c), now);
            reasm_.release(c);
            return;
    }
}

void Generator::complete(uint16_t id, Slot& s, std::string_view reply, uint64_t now) {
    RequestStats& st = stats_[static_cast<size_t>(s.phase)];
    const auto ns = static_cast<uint64_t>(
        (static_cast<unsigned __int128>(now - s.sent_tsc) * ns_per_tsc_32_) >> 32);
    if (s.phase == Phase::kMeasure) latency_.record(ns);
    // Only the live line reads the last second's quantiles: --quiet (the
    // bench) prints none, so its replies skip the second histogram.
    if (live_quantiles_) interval_.record(ns);
    st.replies++;
    ReplyError e = ReplyError::kNone;
    if (reflector_) {
        // An echo of our own request: it proves the round trip, not a cache.
    } else if (s.op == Op::kGet) {
        const GetVerdict v =
            s.n_keys == 1 ? check_one_get_reply(reply, table_.keys(id)[0],
                                                table_.min_versions(id)[0], w_, versions_)
                          : check_get_reply(reply, table_.keys(id).first(s.n_keys),
                                            table_.min_versions(id).first(s.n_keys), w_, versions_);
        e = v.error;
        if (e == ReplyError::kNone) {
            st.hits += v.hits;
            st.misses += v.misses;
            st.unverified_hits += v.unverified;
        }
    } else {
        e = check_set_reply(reply);
        if (e == ReplyError::kNone) {
            st.stored++;
            versions_.ack(s.key, s.version);
        }
    }
    if (e != ReplyError::kNone) {
        st.errors++;
        st.error_kinds[static_cast<size_t>(e)]++;
    }
    if (s.phase == Phase::kPreload) preload_settled_++;
    table_.release(id);
}

void Generator::drop_reassembly(Slot& s) {
    if (s.reasm != 0 && s.reasm != Reassembler::kNone) reasm_.release(s.reasm - 1);
    s.reasm = 0;
}

void Generator::expire(uint64_t now) {
    if (now < timeout_tsc_) return;
    table_.expire(now - timeout_tsc_, [this](uint16_t, Slot& s) {
        stats_[static_cast<size_t>(s.phase)].timeouts++;
        drop_reassembly(s);
        if (s.phase == Phase::kPreload) preload_retry_.push_back(s.key);
    });
}

// ---------------------------------------------------------------------------
// Loops

Generator::LiveTotals Generator::live_totals() const {
    LiveTotals t;
    for (uint32_t q = 0; q < crew_.n_queues; q++) {
        const LiveSlot& l = crew_.live[q];
        t.sent += l.sent.load(std::memory_order_relaxed);
        t.replies += l.replies.load(std::memory_order_relaxed);
        t.found += l.found.load(std::memory_order_relaxed);
        t.answered += l.answered.load(std::memory_order_relaxed);
        t.timeouts += l.timeouts.load(std::memory_order_relaxed);
        t.errors += l.errors.load(std::memory_order_relaxed);
    }
    return t;
}

void Generator::publish(uint64_t now, bool quantiles) {
    RequestStats cur;
    for (const RequestStats& s : stats_)
        cur += s;
    LiveSlot& l = crew_.live[plan_.queue];
    constexpr auto kRelaxed = std::memory_order_relaxed;
    l.sent.store(cur.sent, kRelaxed);
    l.replies.store(cur.replies, kRelaxed);
    l.found.store(cur.hits + cur.unverified_hits, kRelaxed);
    l.answered.store(cur.hits + cur.unverified_hits + cur.misses, kRelaxed);
    l.timeouts.store(cur.timeouts, kRelaxed);
    l.errors.store(cur.errors, kRelaxed);
    l.outstanding.store(table_.outstanding(), kRelaxed);
    if (quantiles) {
        l.p50_ns.store(interval_.quantile(0.5), kRelaxed);
        l.p99_ns.store(interval_.quantile(0.99), kRelaxed);
        interval_.reset();
        last_quantiles_tsc_ = now;
    }
    next_publish_tsc_ = now + tsc_hz_ / kPublishPerSecond;
}

void Generator::tick(uint64_t now, std::string_view phase_name) {
    if (now < next_publish_tsc_) return;
    const bool second = now - last_quantiles_tsc_ >= tsc_hz_;
    publish(now, second);
    if (plan_.queue == 0 && now - last_live_tsc_ >= tsc_hz_) live_line(now, phase_name);
}

void Generator::reset_live(uint64_t start) {
    publish(start, true);  // quantiles of the next line start here
    last_live_tsc_ = live_start_tsc_ = start;
    last_live_ = live_totals();
}

// Queue 0 only: the sums of what every instance published (the others' at
// most 50 ms old); latency is the worst queue's last second.
void Generator::live_line(uint64_t now, std::string_view phase_name) {
    const LiveTotals cur = live_totals();
    const double dt = static_cast<double>(now - last_live_tsc_) / static_cast<double>(tsc_hz_);
    last_live_tsc_ = now;
    if (o_.quiet) {
        last_live_ = cur;
        return;
    }
    const double t = static_cast<double>(now - live_start_tsc_) / static_cast<double>(tsc_hz_);
    uint64_t p50 = 0, p99 = 0, outstanding = 0;
    for (uint32_t q = 0; q < crew_.n_queues; q++) {
        const LiveSlot& l = crew_.live[q];
        p50 = std::max(p50, l.p50_ns.load(std::memory_order_relaxed));
        p99 = std::max(p99, l.p99_ns.load(std::memory_order_relaxed));
        outstanding += l.outstanding.load(std::memory_order_relaxed);
    }
    const uint64_t answered = cur.answered - last_live_.answered;
    const uint64_t hit = cur.found - last_live_.found;
    fmt::print(
        "[{:5.1f}s] {:<8} sent {:7.3f} M/s  recv {:7.3f} M/s  hit {:.3f}  p50 {:7.1f} us  "
        "p99 {:7.1f} us  lost {}  err {}  in flight {}\n",
        t, phase_name, static_cast<double>(cur.sent - last_live_.sent) / dt / 1e6,
        static_cast<double>(cur.replies - last_live_.replies) / dt / 1e6,
        answered ? static_cast<double>(hit) / static_cast<double>(answered) : 0.0,
        static_cast<double>(p50) / 1000.0, static_cast<double>(p99) / 1000.0,
        cur.timeouts - last_live_.timeouts, cur.errors - last_live_.errors, outstanding);
    std::fflush(stdout);
    last_live_ = cur;
}

template <typename Done>
void Generator::serve_until(Done done, bool stoppable, std::string_view phase_name) {
    for (;;) {
        const uint64_t now = rte_rdtsc();
        if (done(now) || (stoppable && crew_.stop)) return;
        poll_rx(now);
        expire(now);
        tick(now, phase_name);
    }
}

uint32_t Generator::preload_turn(uint64_t now) {
    const uint16_t n_rx = poll_rx(now);
    expire(now);
    const uint32_t window = plan_.preload_window;
    if (n_tx_ == 0 && table_.outstanding() < window)
        build(std::min(window - table_.outstanding(), o_.burst), now, nullptr);
    return n_rx + flush_tx(now);
}

uint32_t Generator::load_turn(uint64_t now) {
    const uint16_t n_rx = poll_rx(now);
    expire(now);
    if (n_tx_ == 0) {
        const uint32_t out = table_.outstanding();
        if (load_cap_ > out) build(std::min(load_cap_ - out, o_.burst), now, nullptr);
    }
    return n_rx + flush_tx(now);
}

void Generator::begin_load(Phase phase) {
    loop_ = Loop::kLoad;
    fast_gets_ = have_ahead_ && one_key_gets_;
    phase_ = phase;
    load_cap_ = plan_.window ? plan_.window : RequestTable::kIds - 1;
}

void Generator::begin_preload() {
    loop_ = Loop::kPreload;
    fast_gets_ = false;
    phase_ = Phase::kPreload;
    preload_next_ = plan_.keys.first;
}

bool Generator::preload(std::string& why) {
    begin_preload();
    const uint64_t start = rte_rdtsc();
    last_reply_tsc_ = start;
    reset_live(start);
    while (!preload_done()) {
        const uint64_t now = rte_rdtsc();
        if (crew_.stop) {
            why = "interrupted";
            return false;
        }
        if (now - last_reply_tsc_ > kPreloadStallSeconds * tsc_hz_) {
            why = fmt::format("queue {}: no reply for {} s ({} of {} keys stored)", plan_.queue,
                              kPreloadStallSeconds, preload_settled_, plan_.keys.count);
            return false;
        }
        preload_turn(now);
        tick(now, "preload");
    }
    // Late replies to timed-out preload sets may still arrive; they count as
    // late preload datagrams, not in the measurement.
    preload_s_ = static_cast<double>(rte_rdtsc() - start) / static_cast<double>(tsc_hz_);
    return true;
}

void Generator::run(uint64_t start) {
    const auto warmup_tsc = static_cast<uint64_t>(o_.warmup_s * static_cast<double>(tsc_hz_));
    const auto duration_tsc = static_cast<uint64_t>(o_.duration_s * static_cast<double>(tsc_hz_));
    uint64_t measure_start = start + warmup_tsc;
    begin_load(warmup_tsc > 0 ? Phase::kWarmup : Phase::kMeasure);
    reset_live(start);

    const bool open = plan_.rate > 0;
    const double interval = open ? static_cast<double>(tsc_hz_) / plan_.rate : 0;
    const uint32_t cap = load_cap_;
    double next_send = static_cast<double>(start);
    uint64_t stamps[kMaxBurst];
    uint64_t end = 0;
    uint64_t prev_now = start;
    bool prev_idle = false;
    // A turn receives and builds at most a burst each, ~100 ns a frame
    // apiece at worst: 20 us + 200 ns a frame of the burst is not work.
    const uint64_t stall_tsc = tsc_hz_ / 50'000 + tsc_hz_ / 5'000'000 * o_.burst;

    for (;;) {
        const uint64_t now = rte_rdtsc();
        // Time in idle turns says whether the generator or the server is
        // the limit (the same stamp closes one turn and opens the next). A
        // turn far longer than a burst's work lost the CPU (a shared VM):
        // it counts as neither, or the verdict would follow the neighbours.
        const uint64_t turn = now - prev_now;
        link_.loop_cycles += turn;
        if (turn > stall_tsc)
            link_.stalled_cycles += turn;
        else if (prev_idle)
            link_.idle_cycles += turn;
        prev_now = now;
        if (phase_ == Phase::kWarmup && now >= measure_start) {
            phase_ = Phase::kMeasure;
            measure_start = now;
        }
        if ((phase_ == Phase::kMeasure && now >= measure_start + duration_tsc) || crew_.stop) {
            end = now;
            break;
        }
        if (!open) {
            prev_idle = load_turn(now) == 0;
            tick(now, phase_ == Phase::kWarmup ? "warmup" : "measure");
            continue;
        }
        const uint16_t n_rx = poll_rx(now);
        expire(now);
        if (n_tx_ == 0) {
            const uint32_t room = cap > table_.outstanding() ? cap - table_.outstanding() : 0;
            const auto fnow = static_cast<double>(now);
            if (fnow - next_send > static_cast<double>(timeout_tsc_)) {
                // Over a timeout behind: these could only ever be "lost".
                // Skip them, and say so.
                const auto missed = static_cast<uint64_t>((fnow - next_send) / interval);
                link_.send_behind += missed;
                next_send += static_cast<double>(missed) * interval;
            }
            uint32_t n = 0;
            while (n < o_.burst && n < room && next_send <= fnow) {
                stamps[n++] = static_cast<uint64_t>(next_send);
                next_send += interval;
            }
            build(n, now, stamps);
        }
        const uint32_t n_sent = flush_tx(now);
        prev_idle = n_rx == 0 && n_sent == 0;
        tick(now, phase_ == Phase::kWarmup ? "warmup" : "measure");
    }
    measured_s_ = phase_ == Phase::kMeasure
                      ? static_cast<double>(end - measure_start) / static_cast<double>(tsc_hz_)
                      : 0.0;
    // Frames the ring never took were never sent: not in flight, not lost.
    for (uint32_t i = 0; i < n_tx_; i++) {
        Slot& s = table_.slot(tx_ids_[i]);
        if (s.state == SlotState::kOutstanding)
            table_.release(tx_ids_[i]);
        else if (s.state == SlotState::kTimedOut)
            stats_[static_cast<size_t>(s.phase)].timeouts--;
        s.state = SlotState::kFree;
    }
    if (n_tx_) rte_pktmbuf_free_bulk(tx_.data(), n_tx_);
    n_tx_ = 0;

    // Drain: nothing new; answers or timeouts for everything in flight.
    const uint64_t drain_end = end + timeout_tsc_ + tsc_hz_ / 100;
    for (;;) {
        const uint64_t now = rte_rdtsc();
        poll_rx(now);
        expire(now);
        if (table_.outstanding() == 0 || now > drain_end) break;
    }
    free_spares();
}

void Generator::free_spares() {
    if (n_spare_) rte_pktmbuf_free_bulk(spare_.data(), n_spare_);
    n_spare_ = 0;
}

Generator::~Generator() {
    free_spares();
}

int Generator::work() {
    const uint32_t n = crew_.n_queues;
    bool ok = true;
    if (o_.preload) {
        ok = preload(why_);
        if (!ok) crew_.preload_failed.store(true);
        crew_.preloaded.fetch_add(1);
        // Keep receiving: the others' replies may arrive on our queue.
        serve_until([&](uint64_t) { return crew_.preloaded.load() == n; }, false, "preload");
    }
    if (ok && crew_.preload_failed.load()) {
        ok = false;
        why_ = "another queue's preload failed";
    }
    if (ok) {
        // Queue 0 (the main lcore) starts everyone at once, 10 ms from now.
        if (plan_.queue == 0) crew_.start_tsc.store(rte_rdtsc() + tsc_hz_ / 100);
        serve_until(
            [&](uint64_t now) {
                const uint64_t start = crew_.start_tsc.load();
                return start != 0 && now >= start;
            },
            true, "start");
        run(crew_.start_tsc.load() ? crew_.start_tsc.load() : rte_rdtsc());
    }
    crew_.finished.fetch_add(1);
    serve_until([&](uint64_t) { return crew_.finished.load() == n; }, false, "drain");
    publish(rte_rdtsc(), false);
    return ok ? 0 : 1;
}

void Generator::fill_report(Report& r) const {
    r.preload = stats_[static_cast<size_t>(Phase::kPreload)];
    r.warmup = stats_[static_cast<size_t>(Phase::kWarmup)];
    r.measure = stats_[static_cast<size_t>(Phase::kMeasure)];
    r.link = link_;
    r.latency_ns = latency_;
    r.preload_s = preload_s_;
    r.measured_s = measured_s_;
}

}  // namespace fulmar::pktgen
