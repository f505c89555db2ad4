// TcpExchange: runs a batch of requests over pooled, pipelined TCP
// connections, all servers in flight at once, from one thread.
//
// Owned by one fulmar_client; one thread; the connections live as long as
// the client and are opened, read and re-opened only inside run().
//
// The same Request as the UDP Exchange (exchange.h): the builders of
// text_request.h write the text after an 8-byte frame header, which TCP skips,
// and the reply text comes back in Request::reply for the same reply parsers.
//
//   server i: waiting requests --> connection 0: [r7 r8 r9] in flight (window)
//                              \-> connection 1: [r10]      (up to `connections`)
//             replies on a connection answer its in-flight requests in order
//
// Per connection: requests are written back to back (one sendmsg for many),
// at most `window` in flight; each has a deadline of its send time + timeout,
// so the oldest one times out first. A connection breaks on a reset, an EOF,
// a reply outside the grammar (stream lost) or a timeout (the stream position
// is unknown): it is closed, and each request it carried is sent again on
// another connection while its attempts allow, else finished with -ETIMEDOUT
// (or -EPROTO for the request whose reply was garbage).
//
// Per server: `failures` counts breaks and failed connects since the last
// reply, once per outage (the pool's other connections breaking with the
// first are the same outage). Reconnecting waits backoff(failures): none
// after the first, then backoff_min, doubling up to backoff_max. While a server has no connection
// and waits, its requests fail at once with -ETIMEDOUT: a dead server costs
// a caller nothing after the first timeout or refused connect.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "client/exchange.h"
#include "client/transport.h"

namespace fulmar::client {

struct TcpConf {
    uint64_t timeout_us = 250'000;
    uint32_t window = 8;       // requests in flight per connection
    uint32_t connections = 2;  // per server, at most
    uint64_t backoff_min_us = 10'000;
    uint64_t backoff_max_us = 1'000'000;
};

// Counts since the client was created; read by tests through test_transport.h.
struct TcpStats {
    uint64_t connects = 0;          // connections established
    uint64_t connect_failures = 0;  // refused, unreachable or timed out
    uint64_t breaks = 0;            // established connections lost while in use
    uint64_t idle_closes = 0;       // found closed by the server between calls
    uint64_t requests_sent = 0;
    uint64_t resends = 0;
    uint64_t timeouts = 0;          // requests whose deadline passed
    uint64_t backoff_refusals = 0;  // requests failed at once: server in backoff
    uint64_t protocol_errors = 0;   // replies outside the grammar
    uint32_t max_in_flight = 0;     // most requests in flight on one connection
    uint32_t max_total_in_flight = 0;
};

// A resolved server address.
struct TcpAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// Resolves every endpoint (getaddrinfo, first answer, SOCK_STREAM). 0, or
// -EHOSTUNREACH when a name did not resolve.
int resolve_tcp(std::span<const Endpoint> endpoints, std::vector<TcpAddress>& out);

class TcpExchange {
  public:
    TcpExchange(std::vector<TcpAddress> servers, TcpConf conf);
    ~TcpExchange();
    TcpExchange(const TcpExchange&) = delete;
    TcpExchange& operator=(const TcpExchange&) = delete;

    // Runs every request to completion (reply, timeout, or failure of its
    // server). Returns 0, or ppoll's negative errno: requests not finished
    // then carry it, and connections that had requests in flight are closed.
    int run(std::span<Request> requests);

    const TcpStats& stats() const { return stats_; }

  private:
    struct InFlight {
        uint32_t request;
        uint64_t deadline_us;
    };
    enum class ConnState : uint8_t { kClosed, kConnecting, kReady };
    struct Conn {
        int fd = -1;
        ConnState state = ConnState::kClosed;
        uint64_t connect_deadline_us = 0;
        bool checked = false;            // looked for an EOF since the last run
        uint64_t outage = 0;             // Server::outages when it was opened
        std::deque<InFlight> in_flight;  // oldest first: replies answer them in order
        std::deque<uint32_t> out;        // requests with bytes left to write, in order
        size_t out_offset = 0;           // bytes of out.front()'s text written
        std::vector<char> in;            // received bytes: [in_begin, in_end) unread
        size_t in_begin = 0;
        size_t in_end = 0;
        size_t scan = 0;  // how far the head's reply is known (text_reply.h cursors)
    };
    struct Server {
        TcpAddress address;
        std::vector<Conn> conns;
        std::deque<uint32_t> waiting;  // requests not yet on a connection
        uint32_t failures = 0;
        uint64_t next_connect_us = 0;
        uint64_t outages = 0;  // failures ever counted
    };
    enum class Break : uint8_t { kIdle, kError, kTimeout, kGarbage };

    uint64_t now_us() const;
    void dispatch(uint32_t s, uint64_t now);
    Conn* pick(uint32_t s, uint64_t now);
    void start_connect(uint32_t s, Conn& c, uint64_t now);
    void connect_failed(uint32_t s, Conn& c, uint64_t now);
    void connected(Conn& c);
    bool still_open(Conn& c);
    void fail_waiting(uint32_t s, int status);
    void close_conn(uint32_t s, Conn& c, Break why, uint64_t now);
    void flush(uint32_t s, Conn& c, uint64_t now);
    void receive(uint32_t s, Conn& c, uint64_t now);
    void take_replies(uint32_t s, Conn& c, uint64_t now);
    void expire(uint64_t now);
    void finish(uint32_t r, int status);
    void count_failure(Server& sv, const Conn& c, uint64_t now);
    uint64_t backoff_us(uint32_t failures) const;

    TcpConf conf_;
    std::vector<Server> servers_;
    TcpStats stats_;
    std::span<Request> requests_;  // during run() only
    size_t n_unfinished_ = 0;
    uint32_t total_in_flight_ = 0;
    bool requeued_ = false;  // close_conn() put requests back in a waiting queue
};

}  // namespace fulmar::client
