// TCP exchange: pooled, pipelined connections per server, one ppoll() for
// all of them; see tcp_exchange.h for the rules.
#include "client/tcp_exchange.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "client/text_reply.h"
#include "common/assert.h"
#include "proto/mc_frame.h"

namespace fulmar::client {
namespace {

constexpr int kPending = 1;  // Request::status while the request is unfinished
// Bytes asked of each recv(): a 1 MiB value arrives in a few dozen reads,
// and the buffer doubles when a reply outgrows it.
constexpr size_t kReadChunk = 64 * 1024;
// Requests gathered into one sendmsg(): a multi-get's pipelined lines go out
// in one system call (IOV_MAX is 1024; 64 x ~1.4 KB fills a socket buffer).
constexpr size_t kMaxIov = 64;

// The request text: the builders leave 8 bytes for a UDP frame header first.
std::span<const std::byte> text_of(const Request& r) {
    return std::span<const std::byte>(r.datagram).subspan(proto::kMcFrameHeaderSize);
}

}  // namespace

int resolve_tcp(std::span<const Endpoint> endpoints, std::vector<TcpAddress>& out) {
    out.clear();
    for (const Endpoint& e : endpoints) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* res = nullptr;
        const std::string port = std::to_string(e.port);
        if (::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
            return -EHOSTUNREACH;
        TcpAddress a;
        std::memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
        a.len = res->ai_addrlen;
        ::freeaddrinfo(res);
        out.push_back(a);
    }
    return 0;
}

TcpExchange::TcpExchange(std::vector<TcpAddress> servers, TcpConf conf)
    : conf_(conf), servers_(servers.size()) {
    for (size_t s = 0; s < servers.size(); ++s) {
        servers_[s].address = servers[s];
        servers_[s].conns.resize(conf.connections);
    }
}

TcpExchange::~TcpExchange() {
    for (Server& sv : servers_)
        for (Conn& c : sv.conns)
            if (c.fd >= 0) ::close(c.fd);
}

uint64_t TcpExchange::now_us() const {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

uint64_t TcpExchange::backoff_us(uint32_t failures) const {
    if (failures <= 1) return 0;  // one break is often a restart: try again at once
    const uint32_t shift = failures - 2;
    if (shift >= 40) return conf_.backoff_max_us;
    return std::min(conf_.backoff_min_us << shift, conf_.backoff_max_us);
}

// ---------------------------------------------------------------- run

int TcpExchange::run(std::span<Request> requests) {
    requests_ = requests;
    for (uint32_t r = 0; r < requests.size(); ++r) {
        Request& req = requests[r];
        FULMAR_ASSERT(req.node < servers_.size() &&
                      req.datagram.size() > proto::kMcFrameHeaderSize);
        req.status = kPending;
        req.reply.clear();
        req.scan_cursor = 0;
        req.attempts = 0;
        servers_[req.node].waiting.push_back(r);
    }
    for (Server& sv : servers_)
        for (Conn& c : sv.conns)
            c.checked = false;
    n_unfinished_ = requests.size();

    int rc = 0;
    std::vector<pollfd> fds;
    std::vector<Conn*> conn_of;
    std::vector<uint32_t> server_of;
    while (n_unfinished_ > 0) {
        uint64_t now = now_us();
        expire(now);
        requeued_ = false;
        for (uint32_t s = 0; s < servers_.size(); ++s)
            if (!servers_[s].waiting.empty()) dispatch(s, now);
        if (n_unfinished_ == 0) break;
        if (requeued_) continue;  // a write failed during dispatch: place its requests again

        fds.clear();
        conn_of.clear();
        server_of.clear();
        uint64_t deadline = now + conf_.timeout_us;
        for (uint32_t s = 0; s < servers_.size(); ++s) {
            for (Conn& c : servers_[s].conns) {
                short events = 0;
                if (c.state == ConnState::kConnecting) {
                    events = POLLOUT;
                    deadline = std::min(deadline, c.connect_deadline_us);
                } else if (c.state == ConnState::kReady) {
                    if (!c.in_flight.empty()) {
                        events |= POLLIN;
                        deadline = std::min(deadline, c.in_flight.front().deadline_us);
                    }
                    if (!c.out.empty()) events |= POLLOUT;
                }
                if (events == 0) continue;
                fds.push_back(pollfd{c.fd, events, 0});
                conn_of.push_back(&c);
                server_of.push_back(s);
            }
        }
        // Every unfinished request is in flight or waits for a connection
        // that is connecting or full, so something is always polled.
        FULMAR_ASSERT(!fds.empty());
        const uint64_t wait_us = deadline > now ? deadline - now : 0;
        const timespec ts{static_cast<time_t>(wait_us / 1'000'000),
                          static_cast<long>(wait_us % 1'000'000) * 1000};
        const int n = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            break;
        }
        if (n == 0) continue;  // expire() at the top
        now = now_us();
        for (size_t i = 0; i < fds.size(); ++i) {
            const short ev = fds[i].revents;
            if (ev == 0) continue;
            Conn& c = *conn_of[i];
            const uint32_t s = server_of[i];
            if (c.state == ConnState::kConnecting) {
                int err = 0;
                socklen_t len = sizeof err;
                if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                if (err != 0) {
                    connect_failed(s, c, now);
                } else {
                    connected(c);
                }
                continue;
            }
            if (c.state == ConnState::kReady && (ev & (POLLOUT | POLLERR)) != 0 && !c.out.empty())
                flush(s, c, now);
            if (c.state == ConnState::kReady && (ev & (POLLIN | POLLHUP | POLLERR)) != 0)
                receive(s, c, now);
        }
    }

    if (rc != 0) {
        // Waiting failed: the streams' positions are unknown, so connections
        // that carried requests go, and nothing is left for the next run.
        const uint64_t now = now_us();
        for (uint32_t s = 0; s < servers_.size(); ++s) {
            Server& sv = servers_[s];
            for (Conn& c : sv.conns) {
                for (const InFlight& f : c.in_flight)
                    finish(f.request, rc);
                total_in_flight_ -= static_cast<uint32_t>(c.in_flight.size());
                c.in_flight.clear();
                if (c.state == ConnState::kConnecting || !c.out.empty())
                    close_conn(s, c, Break::kIdle, now);
            }
            fail_waiting(s, rc);
        }
    }
    // A reply can come before its request is all written (memcached answers a
    // too-large set at once and swallows the rest); the bytes left belong to a
    // request whose buffer goes back to the caller, so that connection goes.
    const uint64_t now = now_us();
    for (uint32_t s = 0; s < servers_.size(); ++s)
        for (Conn& c : servers_[s].conns)
            if (c.state == ConnState::kReady && !c.out.empty()) close_conn(s, c, Break::kIdle, now);
    requests_ = {};
    return rc;
}

void TcpExchange::finish(uint32_t r, int status) {
    requests_[r].status = status;
    --n_unfinished_;
}

void TcpExchange::fail_waiting(uint32_t s, int status) {
    Server& sv = servers_[s];
    for (const uint32_t r : sv.waiting)
        finish(r, status);
    sv.waiting.clear();
}

// ---------------------------------------------------------------- placing requests

// Puts server s's waiting requests on connections with room, opening
// connections as needed and allowed, then writes what it placed.
void TcpExchange::dispatch(uint32_t s, uint64_t now) {
    Server& sv = servers_[s];
    while (!sv.waiting.empty()) {
        if (Conn* c = pick(s, now); c != nullptr) {
            const uint32_t r = sv.waiting.front();
            sv.waiting.pop_front();
            Request& req = requests_[r];
            if (req.attempts > 0) ++stats_.resends;
            ++req.attempts;
            req.reply.clear();
            c->in_flight.push_back(InFlight{r, now + conf_.timeout_us});
            c->out.push_back(r);
            ++stats_.requests_sent;
            ++total_in_flight_;
            stats_.max_in_flight =
                std::max(stats_.max_in_flight, static_cast<uint32_t>(c->in_flight.size()));
            stats_.max_total_in_flight = std::max(stats_.max_total_in_flight, total_in_flight_);
            continue;
        }
        // Every open connection is full or still connecting.
        size_t open = 0;
        size_t connecting = 0;
        Conn* closed = nullptr;
        for (Conn& c : sv.conns) {
            if (c.state == ConnState::kClosed) {
                if (closed == nullptr) closed = &c;
            } else {
                ++open;
                connecting += c.state == ConnState::kConnecting;
            }
        }
        if (connecting > 0) break;  // its requests wait for it
        if (closed != nullptr && now >= sv.next_connect_us) {
            start_connect(s, *closed, now);  // ready, connecting or failed: look again
            continue;
        }
        if (open == 0) {
            // Nothing open and the server waits out its backoff.
            stats_.backoff_refusals += sv.waiting.size();
            fail_waiting(s, -ETIMEDOUT);
        }
        break;  // full: replies make room
    }
    for (Conn& c : sv.conns)
        if (c.state == ConnState::kReady && !c.out.empty()) flush(s, c, now);
}

// The ready connection with room and the fewest requests in flight, or null.
// A connection idle since the last run is first checked for an EOF the
// server sent meanwhile (a restart, an idle timeout), so a request that may
// not be resent is not lost on a connection already dead.
TcpExchange::Conn* TcpExchange::pick(uint32_t s, uint64_t now) {
    Conn* best = nullptr;
    for (Conn& c : servers_[s].conns) {
        if (c.state != ConnState::kReady || c.in_flight.size() >= conf_.window) continue;
        if (!c.checked) {
            c.checked = true;
            if (c.in_flight.empty() && !still_open(c)) {
                close_conn(s, c, Break::kIdle, now);
                continue;
            }
        }
        if (best == nullptr || c.in_flight.size() < best->in_flight.size()) best = &c;
    }
    return best;
}

bool TcpExchange::still_open(Conn& c) {
    char b;
    for (;;) {
        const ssize_t n = ::recv(c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        // EOF, an error, or bytes nobody asked for (the stream is off): gone.
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

// ---------------------------------------------------------------- connections

void TcpExchange::start_connect(uint32_t s, Conn& c, uint64_t now) {
    const TcpAddress& a = servers_[s].address;
    const int fd = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        connect_failed(s, c, now);
        return;
    }
    // Requests are gathered by us (one sendmsg per batch); Nagle would only
    // hold a lone request back for the previous reply's ACK.
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.fd = fd;
    c.outage = servers_[s].outages;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) == 0) {
        connected(c);
    } else if (errno == EINPROGRESS) {
        c.state = ConnState::kConnecting;
        c.connect_deadline_us = now + conf_.timeout_us;
    } else {
        connect_failed(s, c, now);
    }
}

void TcpExchange::connected(Conn& c) {
    c.state = ConnState::kReady;
    c.checked = true;
    c.in_begin = c.in_end = 0;
    c.scan = 0;
    ++stats_.connects;
}

void TcpExchange::connect_failed(uint32_t s, Conn& c, uint64_t now) {
    ++stats_.connect_failures;
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = ConnState::kClosed;
    count_failure(servers_[s], c, now);
    // Its server's waiting requests are placed again by the next dispatch():
    // on another connection, a new attempt, or failed when it must wait.
}

// Closes a connection and places its requests again (kIdle: none should be
// in flight) or finishes them: the head's reply was garbage (-EPROTO), or
// the request had its last attempt (-ETIMEDOUT).
void TcpExchange::close_conn(uint32_t s, Conn& c, Break why, uint64_t now) {
    Server& sv = servers_[s];
    ::close(c.fd);
    c.fd = -1;
    c.state = ConnState::kClosed;
    // Oldest at the front of the queue again, in their order.
    for (size_t i = c.in_flight.size(); i-- > 0;) {
        const uint32_t r = c.in_flight[i].request;
        const Request& req = requests_[r];
        if (why == Break::kGarbage && i == 0) {
            finish(r, -EPROTO);
        } else if (req.attempts < req.max_attempts) {
            sv.waiting.push_front(r);
            requeued_ = true;
        } else {
            finish(r, -ETIMEDOUT);
        }
    }
    total_in_flight_ -= static_cast<uint32_t>(c.in_flight.size());
    c.in_flight.clear();
    c.out.clear();
    c.out_offset = 0;
    c.in_begin = c.in_end = 0;
    c.scan = 0;
    c.checked = false;
    if (why == Break::kIdle) {
        ++stats_.idle_closes;
        return;
    }
    if (why != Break::kTimeout) ++stats_.breaks;
    count_failure(sv, c, now);
}

// A failure of a connection opened before the server's last counted failure
// is part of that outage (a dying server breaks the whole pool at once).
void TcpExchange::count_failure(Server& sv, const Conn& c, uint64_t now) {
    if (c.outage != sv.outages) return;
    ++sv.outages;
    ++sv.failures;
    sv.next_connect_us = now + backoff_us(sv.failures);
}

void TcpExchange::expire(uint64_t now) {
    for (uint32_t s = 0; s < servers_.size(); ++s) {
        for (Conn& c : servers_[s].conns) {
            if (c.state == ConnState::kConnecting && c.connect_deadline_us <= now) {
                connect_failed(s, c, now);
            } else if (c.state == ConnState::kReady && !c.in_flight.empty() &&
                       c.in_flight.front().deadline_us <= now) {
                // Its reply may still come, ahead of every later one: the
                // stream cannot be trusted to line up again.
                ++stats_.timeouts;
                close_conn(s, c, Break::kTimeout, now);
            }
        }
    }
}

// ---------------------------------------------------------------- bytes

void TcpExchange::flush(uint32_t s, Conn& c, uint64_t now) {
    while (!c.out.empty()) {
        iovec iov[kMaxIov];
        size_t n = 0;
        size_t offset = c.out_offset;
        for (size_t i = 0; i < c.out.size() && n < kMaxIov; ++i) {
            const auto text = text_of(requests_[c.out[i]]);
            iov[n].iov_base = const_cast<std::byte*>(text.data() + offset);
            iov[n].iov_len = text.size() - offset;
            ++n;
            offset = 0;
        }
        msghdr m{};
        m.msg_iov = iov;
        m.msg_iovlen = n;
        const ssize_t w = ::sendmsg(c.fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // POLLOUT resumes
            close_conn(s, c, Break::kError, now);
            return;
        }
        size_t left = static_cast<size_t>(w);
        while (left > 0) {
            const size_t rest = text_of(requests_[c.out.front()]).size() - c.out_offset;
            if (left < rest) {
                c.out_offset += left;
                break;
            }
            left -= rest;
            c.out.pop_front();
            c.out_offset = 0;
        }
    }
}

void TcpExchange::receive(uint32_t s, Conn& c, uint64_t now) {
    for (;;) {
        if (c.in.size() - c.in_end < kReadChunk) {
            if (c.in_begin > 0) {
                std::memmove(c.in.data(), c.in.data() + c.in_begin, c.in_end - c.in_begin);
                c.in_end -= c.in_begin;
                c.in_begin = 0;
            }
            if (c.in.size() - c.in_end < kReadChunk)
                c.in.resize(std::max(c.in.size() * 2, c.in_end + kReadChunk));
        }
        const size_t room = c.in.size() - c.in_end;
        const ssize_t n = ::recv(c.fd, c.in.data() + c.in_end, room, MSG_DONTWAIT);
        if (n > 0) {
            c.in_end += static_cast<size_t>(n);
            take_replies(s, c, now);
            if (c.state != ConnState::kReady || static_cast<size_t>(n) < room) return;
            continue;  // the buffer filled: more may be waiting
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        // EOF or an error: what arrived is all there will be.
        close_conn(s, c, c.in_flight.empty() ? Break::kIdle : Break::kError, now);
        return;
    }
}

// Hands every whole reply at the front of the buffer to the oldest request in
// flight. Replies are matched by position only, so anything outside the
// grammar ends the connection.
void TcpExchange::take_replies(uint32_t s, Conn& c, uint64_t now) {
    Server& sv = servers_[s];
    while (!c.in_flight.empty()) {
        const uint32_t r = c.in_flight.front().request;
        Request& req = requests_[r];
        const std::string_view text(c.in.data() + c.in_begin, c.in_end - c.in_begin);
        size_t end = 0;
        if (req.framing == ReplyFraming::kOneMessage) {
            end = line_reply_end(text, c.scan);
            if (end == 0) return;
            if (parse_simple_reply(text.substr(0, end)).kind == ReplyKind::kMalformed) end = 0;
        } else {
            const GetReplyStatus st = scan_get_reply_prefix(text, c.scan, end);
            if (st == GetReplyStatus::kIncomplete) return;
            if (st == GetReplyStatus::kMalformed) end = 0;
        }
        if (end == 0) {
            ++stats_.protocol_errors;
            close_conn(s, c, Break::kGarbage, now);
            return;
        }
        req.reply.assign(text.data(), text.data() + end);
        c.in_begin += end;
        if (c.in_begin == c.in_end) c.in_begin = c.in_end = 0;
        c.scan = 0;
        c.in_flight.pop_front();
        --total_in_flight_;
        sv.failures = 0;  // it answers: the next break reconnects at once
        sv.next_connect_us = 0;
        finish(r, 0);
    }
    if (c.in_begin != c.in_end) {
        // Bytes with no request to answer: the stream is off.
        ++stats_.protocol_errors;
        close_conn(s, c, Break::kGarbage, now);
    }
}

}  // namespace fulmar::client
