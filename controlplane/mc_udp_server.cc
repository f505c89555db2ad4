// memcached over UDP for datagrams that came as IP fragments; see
// mc_udp_server.h.
#include "mc_udp_server.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>

#include "engine/mc_session.h"
#include "inet_socket.h"
#include "mc_server.h"
#include "proto/mc_frame.h"
#include "proto/mc_wire.h"
#include "store/slab.h"

namespace fulmar::controlplane {
namespace {

// The largest UDP payload over IPv4 (65,535 - 20 - 8), and then some.
constexpr size_t kMaxDatagram = 64 * 1024;
// Datagrams read per readiness event before the loop does other work.
constexpr int kReadPerEvent = 64;
// Socket buffers: a burst of 60 KiB requests, a reply of 1 MiB (750
// datagrams) sent at once. The kernel's defaults (~208 KiB) hold neither.
constexpr int kSocketBuffer = 4 << 20;

void set_buffer(int fd, int force_opt, int opt) {
    // SO_*BUFFORCE passes net.core.[rw]mem_max (we run as root); else the
    // capped size.
    if (::setsockopt(fd, SOL_SOCKET, force_opt, &kSocketBuffer, sizeof kSocketBuffer) != 0)
        (void)::setsockopt(fd, SOL_SOCKET, opt, &kSocketBuffer, sizeof kSocketBuffer);
}

}  // namespace

// ---- one datagram being served ---------------------------------------------

class McUdpServer::Request final : public ExecutorClient {
  public:
    Request(McUdpServer& server, uint64_t id, const sockaddr_in& peer, uint16_t request_id,
            std::string_view body, UnixTime now)
        : server_(server),
          id(id),
          peer(peer),
          request_id(request_id),
          body(body),
          started(now),
          exec(
              OwnerExecutorDeps{
                  .dp = server.deps_.dp, .channel = server.deps_.channel, .ctx = &server.ctx_},
              *this),
          session(server.ctx_, &exec) {}

    // ExecutorClient
    uint64_t new_ticket(PostOp op) override {
        const uint64_t t = server_.next_ticket_++;
        server_.tickets_.emplace(t, Ticket{id, op});
        return t;
    }
    void forget_ticket(uint64_t ticket) override { server_.tickets_.erase(ticket); }
    void conn_stats(proto::ReplySink& out) override {
        if (server_.deps_.tcp != nullptr) server_.deps_.tcp->conn_stats(out);
    }
    std::string conn_stat_lines() override {
        return server_.deps_.tcp != nullptr ? server_.deps_.tcp->conn_stat_lines() : std::string();
    }
    void count_wait() override { ++server_.stats_.waits; }
    // A datagram's replies leave at once: nothing waits for a reader.
    bool output_full() const override { return false; }

  private:
    McUdpServer& server_;

  public:
    const uint64_t id;
    const sockaddr_in peer;
    const uint16_t request_id;
    const std::string body;  // after the frame header
    const UnixTime started;
    size_t off = 0;        // of body, fed to the session
    bool fed = false;      // the session has taken all it will
    bool waiting = false;  // the session asked to wait
    OwnerExecutor exec;
    engine::McSession session;
    OrderedOutput out;
};

// ---- the server ---------------------------------------------------------------

McUdpServer::McUdpServer(const McUdpServerDeps& deps)
    : deps_(deps), scratch_(store::kMaxItemSize), rx_(kMaxDatagram) {
    ctx_.clock = &clock_;
    ctx_.scratch = scratch_;
    ctx_.started = deps.dp->shm->started;
    ctx_.own_shard = -1;
    ctx_.stats = &deps.dp->shm->cp.stats.engine;
    ctx_.shared = deps.dp->shm;
    // The dataplane's own filter and rule (dataplane/main.cc builds them
    // from the same keys).
    for (const config::Ipv4Prefix& p : deps.cfg->allowed_clients)
        clients_.add(rte_cpu_to_be_32(p.addr), p.len);
    policy_ = engine::RoutePolicy{.n_shards = deps.dp->shards.size(),
                                  .admin_over_udp = deps.cfg->udp_admin_commands};
}

McUdpServer::~McUdpServer() {
    requests_.clear();
    if (fd_ >= 0) {
        deps_.loop->remove(fd_);
        ::close(fd_);
    }
}

Result<std::unique_ptr<McUdpServer>, std::string> McUdpServer::listen(const McUdpServerDeps& deps,
                                                                      uint32_t addr,
                                                                      uint16_t port) {
    std::unique_ptr<McUdpServer> s(new McUdpServer(deps));
    auto sock = bind_inet(SOCK_DGRAM, addr, port, "memcached UDP");
    if (!sock) return Err{sock.error()};
    s->fd_ = sock.value().fd;
    s->port_ = sock.value().port;
    set_buffer(s->fd_, SO_RCVBUFFORCE, SO_RCVBUF);
    set_buffer(s->fd_, SO_SNDBUFFORCE, SO_SNDBUF);
    if (!deps.loop->add(s->fd_, EPOLLIN, s.get()))
        return Err{fmt::format("epoll: {}", std::strerror(errno))};
    return s;
}

void McUdpServer::on_event(uint32_t) {
    for (int i = 0; i < kReadPerEvent; ++i) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        const ssize_t n = ::recvfrom(fd_, rx_.data(), rx_.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&peer), &len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // EAGAIN: all read
        }
        on_datagram(peer, std::string_view(rx_.data(), static_cast<size_t>(n)));
    }
}

void McUdpServer::on_datagram(const sockaddr_in& peer, std::string_view datagram) {
    if (peer.sin_family != AF_INET || !clients_.allows(peer.sin_addr.s_addr)) {
        ++stats_.refused_client;
        return;
    }
    proto::McFrame frame;
    if (proto::decode_request_frame(std::as_bytes(std::span(datagram)), frame) !=
        proto::FrameStatus::kOk) {
        ++stats_.bad_frame;
        return;
    }
    const std::string_view body = datagram.substr(proto::kMcFrameHeaderSize);
    // The dataplane's rule for admin commands. (Writes over several shards
    // it refuses only because a worker may write one shard; here each goes
    // to its owner.)
    if (engine::route_datagram(body, policy_, parsed_).kind == engine::RouteKind::kRefuseAdmin) {
        ++stats_.refused_admin;
        return;
    }
    if (requests_.size() >= kMaxRequests) {
        ++stats_.busy_dropped;
        return;
    }
    ++stats_.requests;
    stats_.request_bytes += datagram.size();
    const uint64_t id = next_request_id_++;
    auto r = std::make_unique<Request>(*this, id, peer, frame.request_id, body, ctx_.now());
    Request& req = *r;
    requests_.emplace(id, std::move(r));
    run(req);
}

void McUdpServer::run(Request& r) {
    r.waiting = false;
    const engine::McFeedResult res = r.session.feed(std::string_view(r.body).substr(r.off), r.out);
    r.off += res.consumed;
    if (res.waiting && res.status == engine::McSessionStatus::kOpen) {
        r.waiting = true;
        ++stats_.waits;
        waiting_.push_back(r.id);
        return;
    }
    // Everything was taken, or quit, or the rest is a request cut short:
    // dropped, as memcached drops it (each datagram is a request of its own).
    r.fed = true;
    if (r.out.complete()) finish(r);
}

void McUdpServer::on_reply(const OwnerReply& reply) {
    const auto t = tickets_.find(reply.ticket);
    if (t == tickets_.end()) return;
    const Ticket ticket = t->second;
    tickets_.erase(t);
    const auto it = requests_.find(ticket.request);
    if (it == requests_.end()) return;  // timed out meanwhile: the reply goes
    Request& r = *it->second;
    r.out.fill(reply.ticket, r.exec.reply_bytes(ticket.op, reply));
    if (r.waiting) {
        // A read behind this request's own writes goes on once they are done.
        if (r.exec.pending() == 0) run(r);
        return;
    }
    if (r.fed && r.out.complete()) finish(r);
}

void McUdpServer::finish(Request& r) {
    std::string reply;
    reply.reserve(r.out.ready_bytes);
    for (const OrderedOutput::Part& p : r.out.parts)
        reply += p.bytes;
    send_reply(r, reply);
    const uint64_t id = r.id;
    requests_.erase(id);  // r is gone
}

void McUdpServer::send_reply(const Request& r, std::string_view reply) {
    if (reply.empty()) return;  // noreply, or nothing to say
    size_t n = proto::reply_datagram_count(reply.size());
    if (n > UINT16_MAX) {
        // More than the frame's 16-bit total can number: what the dataplane
        // says when a reply outgrows its buffer.
        reply = proto::kMcServerErrorOutOfMemoryGet;
        n = 1;
    }
    for (size_t seq = 0; seq < n; ++seq) {
        const size_t off = seq * proto::kMcUdpMaxPayload;
        const size_t len = std::min(proto::kMcUdpMaxPayload, reply.size() - off);
        std::array<std::byte, proto::kMcFrameHeaderSize> header;
        proto::encode_frame(proto::McFrame{.request_id = r.request_id,
                                           .seq = static_cast<uint16_t>(seq),
                                           .total = static_cast<uint16_t>(n),
                                           .reserved = 0},
                            header);
        iovec iov[2] = {{header.data(), header.size()},
                        {const_cast<char*>(reply.data() + off), len}};
        msghdr msg{};
        sockaddr_in to = r.peer;
        msg.msg_name = &to;
        msg.msg_namelen = sizeof to;
        msg.msg_iov = iov;
        msg.msg_iovlen = 2;
        ssize_t sent;
        do {
            sent = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) {
            // A full socket buffer: the rest of the reply is useless to the
            // client without this datagram.
            stats_.send_failed += n - seq;
            return;
        }
        ++stats_.reply_datagrams;
        stats_.reply_bytes += len;
    }
}

void McUdpServer::tick(UnixTime now) {
    if (!waiting_.empty()) {
        std::vector<uint64_t> again;
        again.swap(waiting_);
        for (uint64_t id : again) {
            const auto it = requests_.find(id);
            if (it != requests_.end() && it->second->waiting) run(*it->second);
        }
    }
    if (now == last_expiry_scan_) return;
    last_expiry_scan_ = now;
    std::vector<uint64_t> stale;
    for (const auto& [id, r] : requests_)
        if (now >= r->started + kRequestTimeoutS) stale.push_back(id);
    for (uint64_t id : stale) {
        // Its tickets stay: a late reply finds no request and goes.
        requests_.erase(id);
        ++stats_.timed_out;
    }
}

}  // namespace fulmar::controlplane
