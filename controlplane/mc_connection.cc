// A memcached TCP client of the control plane; see mc_connection.h.
#include "mc_connection.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>

namespace fulmar::controlplane {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Bytes read per readiness event before other connections get their turn.
constexpr size_t kReadPerEvent = 1024 * 1024;
// Consumed input is dropped from the front once this much has piled up.
constexpr size_t kCompactAfter = 64 * 1024;
constexpr size_t kMaxUnconsumed = 8u << 20;

}  // namespace

// ---- the connection ----------------------------------------------------------

McConnection::McConnection(McServer& server, int fd, uint64_t id, const sockaddr_in& peer,
                           UnixTime now)
    : server_(server),
      fd_(fd),
      id_(id),
      peer_(peer),
      exec_(
          OwnerExecutorDeps{
              .dp = server.deps().dp, .channel = server.deps().channel, .ctx = &server.ctx()},
          *this),
      session_(server.ctx(), &exec_),
      last_active_(now),
      last_progress_(now) {
    interest_ = EPOLLIN;
    if (server.protocol() == TcpProtocol::kResp) {
        sockaddr_in local{};
        socklen_t len = sizeof local;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
        RespConn conn{.id = id,
                      .fd = fd,
                      .addr = peer_text().substr(4),  // without "tcp:"
                      .laddr = addr_text(local),
                      .created = now,
                      .kill = [this] { close_now(); },
                      .figures =
                          [this] {
                              return RespConnFigures{.qbuf = in_.size() - in_off_,
                                                     .obl = out_.ready_bytes,
                                                     .oll = out_.parts.size(),
                                                     .reading = (interest_ & EPOLLIN) != 0,
                                                     .writing = (interest_ & EPOLLOUT) != 0};
                          },
                      .flush = [this] { write_out(); }};
        resp_ = std::make_unique<RespSession>(
            OwnerExecutorDeps{
                .dp = server.deps().dp, .channel = server.deps().channel, .ctx = &server.ctx()},
            exec_, static_cast<ExecutorClient&>(*this), &server.resp_state(), std::move(conn));
        if (server.blocking() != nullptr) resp_->attach_blocking(*server.blocking());
        if (server.pubsub() != nullptr)
            resp_->attach_pubsub(*server.pubsub(), static_cast<PubSubClient&>(*this),
                                 server.peers());
    }
}

McConnection::~McConnection() {
    close_now();
}

std::string McConnection::peer_text() const {
    return "tcp:" + addr_text(peer_);
}

std::string McConnection::addr_text(const sockaddr_in& a) {
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(a.sin_port));
}

std::string_view McConnection::state_text() const {
    if (closing_) return "conn_closing";
    if (exec_.pending() != 0 || waiting_) return "conn_waiting";
    if (!out_.parts.empty()) return "conn_mwrite";
    return "conn_parse_cmd";
}

void McConnection::close_now() {
    if (closed_) return;
    closed_ = true;
    // A connection that closes leaves every channel.
    if (server_.pubsub() != nullptr) server_.pubsub()->drop(*this);
    if (resp_) {
        // A blocked client that leaves takes nothing more from its lists.
        resp_->disconnect();
        resp_->closed();  // out of CLIENT LIST at once
    }
    server_.deps().loop->remove(fd_);
    ::close(fd_);
    server_.retire(this);
}

void McConnection::on_event(uint32_t events) {
    if (closed_) return;
    if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
        close_now();
        return;
    }
    if ((events & EPOLLOUT) != 0) write_out();
    if (!closed_ && (events & EPOLLIN) != 0) on_readable();
}

void McConnection::on_readable() {
    size_t got = 0;
    while (got < kReadPerEvent) {
        const size_t old = in_.size();
        in_.resize(old + kReadChunk);
        const ssize_t n = ::recv(fd_, in_.data() + old, kReadChunk, 0);
        in_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
        if (n > 0) {
            got += static_cast<size_t>(n);
            if (static_cast<size_t>(n) < kReadChunk) break;
            continue;
        }
        if (n == 0) {
            // The client is gone: what it did not read dies with it.
            close_now();
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close_now();
        return;
    }
    last_active_ = server_.ctx().now();
    process();
    // What the session left unconsumed is at most one request in progress
    // (a value of 1 MiB and its line) when it does not wait: more is a
    // client that never ends its line, and is not allowed to grow our
    // memory without bound.
    if (!closed_ && !waiting_ && in_.size() - in_off_ > kMaxUnconsumed) {
        ++server_.stats().slow_reader_closed;
        close_now();
    }
}

void McConnection::retry() {
    if (closed_ || !waiting_) return;
    process();
}

void McConnection::process() {
    if (closed_) return;
    waiting_ = false;
    if (!closing_ && in_off_ < in_.size()) {
        const std::string_view in = std::string_view(in_).substr(in_off_);
        const engine::McFeedResult r = resp_ ? resp_->feed(in, out_) : session_.feed(in, out_);
        in_off_ += r.consumed;
        if (r.status == engine::McSessionStatus::kClose) {
            closing_ = true;
        } else if (r.waiting) {
            waiting_ = true;
            ++server_.stats().waits;
            server_.wants_retry(*this);
        }
    }
    if (in_off_ == in_.size()) {
        in_.clear();
        in_off_ = 0;
    } else if (in_off_ >= kCompactAfter) {
        in_.erase(0, in_off_);
        in_off_ = 0;
    }
    write_out();
}

void McConnection::write_out() {
    if (closed_) return;
    while (!out_.parts.empty() && out_.parts.front().ticket == 0) {
        OrderedOutput::Part& p = out_.parts.front();
        const size_t left = p.bytes.size() - out_.written;
        if (left != 0) {
            const ssize_t n =
                ::send(fd_, p.bytes.data() + out_.written, left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                close_now();
                return;
            }
            out_.written += static_cast<size_t>(n);
            out_.ready_bytes -= static_cast<size_t>(n);
            last_progress_ = server_.ctx().now();
            if (static_cast<size_t>(n) < left) break;
        }
        out_.parts.pop_front();
        out_.written = 0;
    }
    if (closing_ && out_.parts.empty()) {
        close_now();
        return;
    }
    if (waiting_ && !output_full()) server_.wants_retry(*this);
    update_interest();
}

size_t McConnection::output_limit() const {
    return size_t{server_.deps().cfg->output_buffer_limit_mb} << 20;
}

bool McConnection::output_full() const {
    return out_.ready_bytes > output_limit();
}

bool McConnection::slow_reader(UnixTime now) const {
    // Over its limit, and not one byte taken for a while: a client that
    // does not read its replies may not hold our memory (Redis's
    // client-output-buffer-limit, with a grace time as its soft limit has).
    return output_full() && now - last_progress_ >= kSlowReaderGraceS;
}

void McConnection::update_interest() {
    uint32_t want = 0;
    // Not read while the session waits (backpressure reaches the client
    // through its TCP window) or while replies pile up unread.
    if (!closing_ && !waiting_ && out_.ready_bytes < output_limit() / 2) want |= EPOLLIN;
    if (!out_.parts.empty() && out_.parts.front().ticket == 0) want |= EPOLLOUT;
    if (want == interest_) return;
    interest_ = want;
    server_.deps().loop->modify(fd_, want, this);
}

void McConnection::on_reply(uint64_t ticket, PostOp op, const OwnerReply& r) {
    // A reply nobody reads (the lazy expiry's EXISTS) still carries its
    // keyspace events.
    if (resp_ && op == PostOp::kDiscard && r.len != 0) {
        std::string raw = OwnerExecutor::copy_reply(r);
        if (raw.starts_with('>')) publish_events(raw);
    }
    std::string bytes = exec_.reply_bytes(op, r);
    if (resp_ && bytes.starts_with('>')) publish_events(bytes);
    if (closed_) return;
    if (op == PostOp::kRespGather && resp_)
        resp_->gathered(ticket, bytes, out_);
    else if (op == PostOp::kRespBlocking && resp_)
        resp_->blocking_reply(ticket, bytes, out_);
    else
        out_.fill(ticket, std::move(bytes));
    write_out();
    if (!closed_ && waiting_ && exec_.pending() == 0) process();
}

// ---- pub/sub ---------------------------------------------------------------

void McConnection::push(std::string_view bytes) {
    if (closed_ || closing_ || pubsub_doomed_) return;
    out_.append(bytes);
    if (over_pubsub_limit(server_.ctx().now())) {
        // Closed at the flush, not here: the hub is still walking its
        // subscribers (Redis frees such a client asynchronously too).
        pubsub_doomed_ = true;
    }
    if (!flush_queued_) {
        flush_queued_ = true;
        server_.wants_flush(*this);
    }
}

void McConnection::publish_events(std::string& reply) {
    // The owner's keyspace events come before its reply (resp_notify.h);
    // published even when this client is closing: the write happened.
    if (!server_.publish_events(reply))
        reply = "-ERR the owner's keyspace events did not parse\r\n";
}

proto::RespVersion McConnection::protocol() const {
    return resp_ ? resp_->protocol() : proto::RespVersion::kResp2;
}

bool McConnection::over_pubsub_limit(UnixTime now) {
    const config::ControlplaneConfig& cfg = *server_.deps().cfg;
    const size_t pending = out_.ready_bytes;
    const size_t hard = size_t{cfg.pubsub_output_hard_limit_mb} << 20;
    const size_t soft = size_t{cfg.pubsub_output_soft_limit_mb} << 20;
    if (hard != 0 && pending >= hard) return true;
    if (soft == 0 || pending < soft) {
        soft_since_ = 0;
        return false;
    }
    // checkClientOutputBufferLimits: past the soft limit for more than its
    // seconds, counted from the first message that found it past.
    if (soft_since_ == 0) {
        soft_since_ = now;
        return false;
    }
    return now - soft_since_ > cfg.pubsub_output_soft_seconds;
}

void McConnection::flush_pushed() {
    flush_queued_ = false;
    if (closed_) return;
    if (pubsub_doomed_) {
        ++server_.stats().pubsub_limit_closed;
        close_now();
        return;
    }
    write_out();
}

// ---- what the executor asks of its client ----------------------------------

void McConnection::output_ready() {
    write_out();
    if (!closed_ && waiting_ && exec_.pending() == 0) process();
}

uint64_t McConnection::new_ticket(PostOp op) {
    return server_.new_ticket(*this, op);
}

void McConnection::forget_ticket(uint64_t ticket) {
    server_.forget_ticket(ticket);
}

void McConnection::conn_stats(proto::ReplySink& out) {
    server_.conn_stats(out);
}

std::string McConnection::conn_stat_lines() {
    return server_.conn_stat_lines();
}

void McConnection::count_wait() {
    ++server_.stats().waits;
}

}  // namespace fulmar::controlplane
