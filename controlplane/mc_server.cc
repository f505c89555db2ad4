// The memcached TCP listener and its connections; see mc_server.h.
#include "mc_server.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/keyspace_events.h"
#include "config/address_text.h"
#include "engine/resp_notify.h"
#include "engine/ring_guard.h"
#include "inet_socket.h"
#include "mc_connection.h"
#include "proto/mc_wire.h"
#include "store/slab.h"

namespace fulmar::controlplane {

McServer::McServer(const McServerDeps& deps, TcpProtocol protocol)
    : deps_(deps),
      scratch_(store::kMaxItemSize),
      protocol_(protocol),
      next_ticket_(protocol == TcpProtocol::kResp ? kRespTicketBit | 1 : 1) {
    ctx_.clock = &clock_;
    ctx_.scratch = scratch_;
    ctx_.started = deps.dp->shm->started;
    ctx_.own_shard = -1;
    ctx_.stats = &deps.dp->shm->cp.stats.engine;
    ctx_.shared = deps.dp->shm;
    if (protocol == TcpProtocol::kResp) {
        blocking_ = std::make_unique<RespBlocking>();
        pubsub_ = std::make_unique<PubSubHub>();
        // Checked when the config was read: a bad letter never gets here.
        uint16_t flags = 0;
        if (parse_notify_flags(deps.cfg->notify_keyspace_events, flags))
            pubsub_->set_notify_flags(flags);
        peers_ = std::make_unique<PeerPublisher>(*deps.loop, deps.dp->shm->ring,
                                                 [this] { return resp_state_.requirepass(); });
    }
}

McServer::~McServer() {
    conns_.clear();  // each closes its socket
    if (fd_ >= 0) {
        deps_.loop->remove(fd_);
        ::close(fd_);
    }
}

Result<std::unique_ptr<McServer>, std::string> McServer::listen(const McServerDeps& deps,
                                                                uint32_t addr, uint16_t port,
                                                                TcpProtocol protocol) {
    std::unique_ptr<McServer> s(new McServer(deps, protocol));
    auto sock = bind_inet(SOCK_STREAM, addr, port,
                          protocol == TcpProtocol::kResp ? "Redis TCP" : "memcached TCP");
    if (!sock) return Err{sock.error()};
    s->fd_ = sock.value().fd;
    s->port_ = sock.value().port;
    s->addr_ = addr;
    if (!deps.loop->add(s->fd_, EPOLLIN, s.get()))
        return Err{fmt::format("epoll: {}", std::strerror(errno))};
    return s;
}

void McServer::on_event(uint32_t) {
    for (;;) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        const int fd =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;  // EAGAIN, or out of descriptors: try at the next event
        }
        if (stats_.curr_connections >= deps_.cfg->max_connections) {
            // memcached's (Redis's) answer past its connection limit.
            const std::string_view kFull = protocol_ == TcpProtocol::kResp
                                               ? "-ERR max number of clients reached\r\n"
                                               : "ERROR Too many open connections\r\n";
            (void)::send(fd, kFull.data(), kFull.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            ++stats_.rejected_connections;
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const uint64_t id = next_conn_id_++;
        auto c = std::make_unique<McConnection>(*this, fd, id, peer, ctx_.now());
        if (!deps_.loop->add(fd, EPOLLIN, c.get())) {
            // Closed by the connection going out of scope (its only owner).
            continue;
        }
        conns_.emplace(id, std::move(c));
        ++stats_.curr_connections;
        ++stats_.total_connections;
    }
}

uint64_t McServer::new_ticket(const McConnection& c, PostOp op) {
    const uint64_t t = next_ticket_++;
    tickets_.emplace(t, Ticket{c.id(), op});
    return t;
}

void McServer::on_reply(const OwnerReply& r) {
    const auto t = tickets_.find(r.ticket);
    if (t == tickets_.end()) return;
    const Ticket ticket = t->second;
    tickets_.erase(t);
    const auto c = conns_.find(ticket.conn_id);
    if (c == conns_.end()) {
        // Closed meanwhile: the reply goes, but the write happened and its
        // keyspace events are published.
        if (pubsub_ && notify_enabled(pubsub_->notify_flags()) && r.len != 0) {
            std::string bytes = OwnerExecutor::copy_reply(r);
            if (bytes.starts_with('>')) publish_events(bytes);
        }
        return;
    }
    c->second->on_reply(r.ticket, ticket.op, r);
}

bool McServer::publish_events(std::string& reply) {
    std::vector<engine::KeyEvent> events;
    if (!engine::take_reply_events(reply, events)) return false;
    if (pubsub_)
        for (const engine::KeyEvent& e : events)
            pubsub_->keyspace_event(e.cls, e.event, e.key);
    return true;
}

void McServer::add_pubsub_config() {
    if (!pubsub_) return;
    PubSubHub* hub = pubsub_.get();
    resp_state_.add_config(
        {"notify-keyspace-events", [hub] { return notify_flags_text(hub->notify_flags()); },
         [this, hub](std::string_view v) -> std::optional<std::string> {
             uint16_t flags = 0;
             if (!parse_notify_flags(v, flags))
                 return std::string("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
             // The next write asks its owner for events (RespSession).
             hub->set_notify_flags(flags);
             sync_eviction_flag();
             return std::nullopt;
         }});
}

void McServer::set_eviction_flag(std::atomic<uint8_t>* flag) {
    eviction_flag_ = flag;
    sync_eviction_flag();
}

void McServer::sync_eviction_flag() {
    // Release: stored before any request this client sends next.
    if (eviction_flag_ != nullptr)
        eviction_flag_->store(wants_events(kNotifyEvicted) ? 1 : 0, std::memory_order_release);
}

bool McServer::wants_events(uint16_t cls) const {
    return pubsub_ && notify_enabled(pubsub_->notify_flags()) &&
           (pubsub_->notify_flags() & cls) != 0;
}

void McServer::publish_expired(const OwnerReply& r) {
    if (!pubsub_ || r.sweep == nullptr) return;
    pubsub_->stats().expired_dropped += r.sweep->keys_dropped;
    pubsub_->stats().evicted_dropped += r.sweep->evicted_dropped;
    if (r.bytes == nullptr || r.len == 0) return;
    const std::string keys = OwnerExecutor::copy_reply(r);
    // Each key: one length byte, then the key (store::SweepKeys); the
    // expired ones, then from evicted_at the evicted ones.
    const size_t evicted_at = std::min<size_t>(r.sweep->evicted_at, keys.size());
    for (size_t p = 0; p < keys.size();) {
        const size_t n = static_cast<unsigned char>(keys[p]);
        if (p + 1 + n > keys.size()) break;
        const std::string_view key = std::string_view(keys).substr(p + 1, n);
        if (p < evicted_at)
            pubsub_->keyspace_event(kNotifyExpired, "expired", key);
        else
            pubsub_->keyspace_event(kNotifyEvicted, "evicted", key);
        p += 1 + n;
    }
}

void McServer::wants_retry(const McConnection& c) {
    retry_.push_back(c.id());
}

void McServer::wants_flush(const McConnection& c) {
    flush_.push_back(c.id());
}

void McServer::retire(McConnection* c) {
    retired_.push_back(c->id());
}

void McServer::tick(UnixTime now) {
    // Blocked Redis clients past their timeout, at the loop's pace (it
    // waits at most kWaitMs, 20 ms, in epoll).
    if (blocking_) blocking_->expire(RespBlocking::now_ms());
    // Ring changes and the peers' reconnections (cluster-wide PUBLISH).
    if (peers_) peers_->tick();
    // A new ring: shard channels this node no longer owns are left, their
    // subscribers told (they SSUBSCRIBE again at the owner, after MOVED).
    if (pubsub_ && ctx_.shared != nullptr) {
        const uint32_t cur = ctx_.shared->ring.current.load(std::memory_order_acquire);
        if (cur != shard_ring_) {
            shard_ring_ = cur;
            if (pubsub_->n_channels(ChannelKind::kShard) != 0)
                pubsub_->drop_shard_channels(
                    [this](std::string_view ch) { return engine::ring_serves_key(ctx_, ch); });
        }
    }
    if (!retry_.empty()) {
        std::vector<uint64_t> again;
        again.swap(retry_);
        std::sort(again.begin(), again.end());
        again.erase(std::unique(again.begin(), again.end()), again.end());
        for (uint64_t id : again)
            if (auto c = conns_.find(id); c != conns_.end()) c->second->retry();
    }
    // After the retries: a publisher that waited may just have published.
    // The loop may sleep in epoll next, and nothing would wake it for these.
    if (!flush_.empty()) {
        std::vector<uint64_t> ids;
        ids.swap(flush_);
        for (uint64_t id : ids)
            if (auto c = conns_.find(id); c != conns_.end()) c->second->flush_pushed();
    }
    const uint32_t idle = deps_.cfg->idle_timeout_s;
    if (now != last_idle_scan_) {
        last_idle_scan_ = now;
        for (auto& [id, c] : conns_) {
            if (c->slow_reader(now)) {
                ++stats_.slow_reader_closed;
                c->close_now();
            } else if (idle != 0 && c->idle_since(now - idle)) {
                ++stats_.idle_closed;
                c->close_now();
            }
        }
    }
    for (uint64_t id : retired_) {
        if (conns_.erase(id) != 0) --stats_.curr_connections;
    }
    retired_.clear();
}

std::string McServer::conn_stat_lines() const {
    return fmt::format(
        "STAT curr_connections {}\r\nSTAT total_connections {}\r\n"
        "STAT rejected_connections {}\r\n",
        stats_.curr_connections, stats_.total_connections, stats_.rejected_connections);
}

void McServer::conn_stats(proto::ReplySink& out) const {
    // memcached's fields, the connection id standing in for its fd.
    const UnixTime now = clock_.now();
    const std::string listen = fmt::format("tcp:{}:{}", config::format_ipv4(addr_), port_);
    out.append(fmt::format("STAT {}:state conn_listening\r\n", fd_));
    out.append(fmt::format("STAT {}:addr {}\r\n", fd_, listen));
    for (const auto& [id, c] : conns_) {
        out.append(fmt::format("STAT {}:addr {}\r\n", id, c->peer_text()));
        out.append(fmt::format("STAT {}:listen_addr {}\r\n", id, listen));
        out.append(fmt::format("STAT {}:state {}\r\n", id, c->state_text()));
        out.append(fmt::format("STAT {}:secs_since_last_cmd {}\r\n", id, c->secs_idle(now)));
    }
}

}  // namespace fulmar::controlplane
