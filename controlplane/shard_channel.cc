// The control plane's side of the channels; see shard_channel.h.
#include "shard_channel.h"

#include <rte_errno.h>
#include <rte_memzone.h>
#include <unistd.h>

#include <fmt/core.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace fulmar::controlplane {
namespace {

using dataplane::Message;
using dataplane::MessageKind;

constexpr unsigned kReplyBurst = 64;
// A previous control plane's requests finish within the owners' next few
// loops; this bounds the wait for them should the workers be stuck.
constexpr auto kDrainTimeout = std::chrono::seconds(5);
// Nothing in any inbox and the count unchanged this long: the count is a dead
// control plane's, not work (an owner answers a request within microseconds).
constexpr auto kLeakedAfter = std::chrono::milliseconds(200);

// The parsed request's views pointed at `to`, a copy of the bytes `from`.
void rebase(std::string_view& v, const char* from, const char* to) {
    if (v.data() == nullptr) return;
    v = std::string_view(to + (v.data() - from), v.size());
}

}  // namespace

Result<ShardChannel, std::string> ShardChannel::attach(shm::DataplaneShm& shm, size_t n_shards,
                                                       const ChannelLimits& limits) {
    ShardChannel c;
    c.shm_ = &shm;
    c.limits_ = limits;
    const std::string pool(shm::kMessagePool);
    c.messages_ = rte_mempool_lookup(pool.c_str());
    if (c.messages_ == nullptr) return Err{"no message pool " + pool + " in the dataplane"};
    const std::string ring(shm::kCpReplyRing);
    c.replies_ = rte_ring_lookup(ring.c_str());
    if (c.replies_ == nullptr)
        return Err{"no reply ring " + ring +
                   " in the dataplane (a dataplane without a "
                   "control-plane channel?)"};
    const std::string arena(shm::kCpArenaZone);
    const rte_memzone* mz = rte_memzone_lookup(arena.c_str());
    if (mz == nullptr) return Err{"no request arena " + arena + " in the dataplane"};
    for (size_t i = 0; i < n_shards; ++i) {
        const std::string name = shm::inbox_ring_name(i);
        rte_ring* r = rte_ring_lookup(name.c_str());
        if (r == nullptr) return Err{"no inbox ring " + name + " in the dataplane"};
        c.inboxes_.push_back(r);
    }
    c.backlogs_.resize(n_shards);
    // A control plane that died left requests at the owners, whose bytes are
    // in the arena: wait until the owners answered them all, then free the
    // replies nobody will read.
    const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
    const auto drain = [&c] {
        void* stale[kReplyBurst];
        unsigned n;
        while ((n = rte_ring_dequeue_burst(c.replies_, stale, kReplyBurst, nullptr)) != 0) {
            for (unsigned i = 0; i < n; ++i) {
                auto* msg = static_cast<Message*>(stale[i]);
                if (msg->kind == MessageKind::kControlReply) rte_pktmbuf_free(msg->reply);
            }
            rte_mempool_generic_put(c.messages_, stale, n, nullptr);
        }
    };
    int64_t last_count = -1;
    auto quiet_since = std::chrono::steady_clock::now();
    for (;;) {
        drain();
        if (shm.cp.inflight.load(std::memory_order_acquire) <= 0) {
            // An owner enqueues its reply before it takes its count off: once
            // the count reads 0, every reply is on the ring. Drain once more,
            // or one that landed after the drain above would reach us later.
            drain();
            break;
        }
        // A control plane killed between counting a request and enqueuing
        // it leaves a count no owner will ever take off: when no inbox holds
        // anything and the count has not moved for a while, what is left is
        // that, not work at the owners.
        const int64_t count = shm.cp.inflight.load(std::memory_order_acquire);
        bool inboxes_empty = true;
        for (rte_ring* r : c.inboxes_)
            inboxes_empty = inboxes_empty && rte_ring_count(r) == 0;
        const auto now = std::chrono::steady_clock::now();
        if (!inboxes_empty || count != last_count) {
            last_count = count;
            quiet_since = now;
        } else if (now - quiet_since > kLeakedAfter) {
            drain();
            fmt::print(stderr,
                       "fulmar-controlplane: {} request(s) counted by a previous control plane "
                       "never reached an owner (it died in between); not waiting for them\n",
                       count);
            break;
        }
        if (now > deadline)
            return Err{
                fmt::format("{} requests of a previous control plane are still at the "
                            "owner workers after {} s (are the workers stuck?)",
                            count, kDrainTimeout.count())};
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    shm.cp.inflight.store(0, std::memory_order_release);
    // The primary sized the reply ring (and our share of the pool) from its
    // config: a control plane configured for more must not outrun them (an
    // owner's reply with no room on the ring is dropped).
    const unsigned ring_room = rte_ring_get_capacity(c.replies_);
    if (c.limits_.max_inflight > ring_room) c.limits_.max_inflight = ring_room;
    if (c.limits_.max_backlog > ring_room) c.limits_.max_backlog = ring_room;
    c.arena_ = RequestArena(static_cast<char*>(mz->addr), mz->len);
    c.attached_ = true;
    return c;
}

ShardChannel::~ShardChannel() {
    if (!attached_) return;
    for (auto& b : backlogs_)
        for (Message* m : b)
            rte_mempool_generic_put(messages_, reinterpret_cast<void**>(&m), 1, nullptr);
}

bool ShardChannel::has_room() const {
    // Every message we hold (prepared, waiting in a backlog, at an owner or
    // on the way back) comes out of the pool's share the primary sized for
    // us (dataplane/channels.h): never more, or the workers' own hand-offs
    // would find the pool empty.
    return backlog_size_ < limits_.max_backlog &&
           prepared_ + backlog_size_ + inflight_ < limits_.max_inflight + limits_.max_backlog;
}

Message* ShardChannel::prepare(std::string_view bytes, const engine::ParsedRequest* parsed,
                               uint64_t ticket) {
    if (!has_room()) return nullptr;
    auto span = arena_.allocate(bytes.size());
    if (!span) return nullptr;
    void* obj = nullptr;
    // No per-lcore cache: this thread is not an EAL lcore of the primary.
    if (rte_mempool_generic_get(messages_, &obj, 1, nullptr) != 0) {
        arena_.release(span->seq);
        return nullptr;
    }
    std::memcpy(span->data, bytes.data(), bytes.size());
    auto* msg = static_cast<Message*>(obj);
    msg->kind = MessageKind::kControlRequest;
    msg->status = dataplane::ReplyStatus::kOk;
    msg->from = dataplane::kFromControlPlane;
    msg->reply_len = 0;
    msg->request_id = ticket;
    msg->body = std::string_view(span->data, bytes.size());
    msg->parsed.valid = false;
    if (parsed != nullptr && parsed->valid) {
        msg->parsed = *parsed;
        proto::McTextRequest& r = msg->parsed.request;
        for (std::string_view* v : {&r.key, &r.keys, &r.value, &r.stats_args})
            rebase(*v, bytes.data(), span->data);
    }
    msg->control = dataplane::ControlReplyTo{.request = nullptr, .replies = replies_};
    spans_.emplace(ticket, span->seq);
    ++prepared_;
    return msg;
}

Message* ShardChannel::prepare_resp(std::string_view bytes, uint64_t ticket, uint8_t flags) {
    Message* msg = prepare(bytes, nullptr, ticket);
    if (msg == nullptr) return nullptr;
    msg->kind = MessageKind::kControlResp;
    msg->control.resp_flags = flags;
    return msg;
}

Message* ShardChannel::prepare_mark_fetched(const store::KeyRef& k, uint64_t cas, uint64_t ticket) {
    Message* msg = prepare(k.key, nullptr, ticket);
    if (msg == nullptr) return nullptr;
    msg->kind = MessageKind::kControlMarkFetched;
    msg->parsed.request = proto::McTextRequest{};
    msg->parsed.request.key = msg->body;
    msg->parsed.request.cas = cas;
    msg->parsed.digest = k.digest;
    msg->parsed.valid = true;
    return msg;
}

Message* ShardChannel::prepare_sweep(uint32_t budget, uint64_t ticket, uint32_t want_keys) {
    if (!has_room()) return nullptr;
    void* obj = nullptr;
    if (rte_mempool_generic_get(messages_, &obj, 1, nullptr) != 0) return nullptr;
    auto* msg = static_cast<Message*>(obj);
    msg->kind = MessageKind::kControlSweep;
    msg->status = dataplane::ReplyStatus::kOk;
    msg->from = dataplane::kFromControlPlane;
    msg->reply_len = 0;
    msg->request_id = ticket;
    msg->body = {};
    msg->parsed.valid = false;
    msg->sweep =
        dataplane::SweepStep{.replies = replies_, .budget = budget, .want_keys = want_keys};
    ++prepared_;
    return msg;
}

void ShardChannel::send(size_t shard, Message* msg) {
    --prepared_;
    if (backlogs_[shard].empty() && send_now(shard, msg)) return;
    backlogs_[shard].push_back(msg);
    ++backlog_size_;
}

void ShardChannel::cancel(Message* msg) {
    --prepared_;
    release_span(msg->request_id);
    rte_mempool_generic_put(messages_, reinterpret_cast<void**>(&msg), 1, nullptr);
}

bool ShardChannel::fan_out(std::string_view bytes, const engine::ParsedRequest* parsed,
                           std::span<const uint64_t> tickets, MessageKind kind) {
    if (tickets.size() != inboxes_.size()) return false;
    std::vector<Message*> msgs;
    msgs.reserve(tickets.size());
    for (uint64_t t : tickets) {
        Message* m = prepare(bytes, parsed, t);
        if (m != nullptr) m->kind = kind;
        if (m == nullptr) {
            for (Message* p : msgs)
                cancel(p);
            return false;
        }
        msgs.push_back(m);
    }
    for (size_t s = 0; s < msgs.size(); ++s)
        send(s, msgs[s]);
    return true;
}

void ShardChannel::release_span(uint64_t ticket) {
    if (auto it = spans_.find(ticket); it != spans_.end()) {
        arena_.release(it->second);
        spans_.erase(it);
    }
}

bool ShardChannel::send_now(size_t shard, Message* msg) {
    if (inflight_ >= limits_.max_inflight) return false;
    // Counted before the owner can answer, so the count never dips below 0.
    shm_->cp.inflight.fetch_add(1, std::memory_order_release);
    if (rte_ring_enqueue(inboxes_[shard], msg) != 0) {
        shm_->cp.inflight.fetch_sub(1, std::memory_order_release);
        return false;
    }
    ++inflight_;
    return true;
}

void ShardChannel::flush_backlogs() {
    if (backlog_size_ == 0) return;
    for (size_t s = 0; s < backlogs_.size(); ++s) {
        auto& b = backlogs_[s];
        while (!b.empty() && send_now(s, b.front())) {
            b.pop_front();
            --backlog_size_;
        }
    }
}

size_t ShardChannel::poll(const std::function<void(const OwnerReply&)>& on_reply) {
    size_t seen = 0;
    void* objs[kReplyBurst];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(replies_, objs, kReplyBurst, nullptr)) != 0) {
        for (unsigned i = 0; i < n; ++i) {
            auto* msg = static_cast<Message*>(objs[i]);
            if (inflight_ > 0) --inflight_;
            if (msg->kind == MessageKind::kControlSweepDone) {
                // The keys it freed, when asked (Redis's expired events).
                on_reply(OwnerReply{.ticket = msg->request_id,
                                    .bytes = msg->sweep.keys,
                                    .len = msg->sweep.keys_len,
                                    .sweep = &msg->sweep});
                rte_pktmbuf_free(msg->sweep.keys);
                continue;
            }
            const OwnerReply r{.ticket = msg->request_id,
                               .status = msg->status,
                               .bytes = msg->reply,
                               .len = msg->reply_len};
            release_span(r.ticket);
            on_reply(r);
            rte_pktmbuf_free(msg->reply);
        }
        rte_mempool_generic_put(messages_, objs, n, nullptr);
        seen += n;
    }
    flush_backlogs();
    return seen;
}

}  // namespace fulmar::controlplane
