// memcached over UDP on the control plane: the datagrams the dataplane
// cannot serve because they arrived as IP fragments.
//
// Owned by the control plane's loop thread.
//
// The dataplane answers every unfragmented datagram itself and never
// reassembles: it hands IP fragments of allowed clients to the port's
// kernel side (net/classify.h), the kernel reassembles them, and this
// socket, bound to the appliance's address and memcached UDP port on the
// host, receives the whole datagram (memcached accepts a request as large
// as a reassembled datagram: 4 KiB in memcached's udp.t, up to ~64 KiB).
//
//   client --fragments--> worker --(kernel side)--> kernel reassembles
//     -> this socket: allowed_clients, frame header (total 1), admin rule
//     -> Request: engine::McSession, executor an OwnerExecutor
//        (reads here, writes at the owners: owner_executor.h)
//     -> when every reply is in: memcached's frame header, datagrams of at
//        most 1400 payload bytes numbered 0..n-1, total n, request id echoed
//     -> sendto -> kernel -> kernel side -> worker -> data port -> client
//
// The same reflection guard as the dataplane: only `allowed_clients` are
// answered (the same prefixes, net::ClientFilter), and stats / flush_all /
// verbosity are dropped unless `udp_admin_commands` (engine::route_datagram,
// the dataplane's own rule). Each datagram is a request of its own, as in
// memcached: a request cut short is dropped, nothing carries over. Requests
// waiting for room in the channel go on at the next tick; one whose owners
// have not answered within kRequestTimeoutS is dropped (the client has
// given up long before).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/dataplane_config.h"
#include "engine/engine_ctx.h"
#include "engine/route.h"
#include "event_loop.h"
#include "net/addr.h"
#include "owner_executor.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"
#include "udp_counters.h"

namespace fulmar::controlplane {

class McServer;

// Tickets of UDP requests carry this bit (the admin socket's carry bit 63):
// the loop hands their replies here.
inline constexpr uint64_t kUdpTicketBit = uint64_t{1} << 62;

struct McUdpServerDeps {
    store::AttachedDataplane* dp = nullptr;
    ShardChannel* channel = nullptr;
    EventLoop* loop = nullptr;
    const config::DataplaneConfig* cfg = nullptr;  // allowed_clients, udp_admin_commands
    const McServer* tcp = nullptr;                 // for `stats` figures; may be null
};

class McUdpServer final : public EventHandler {
  public:
    // Requests in progress at once; past it datagrams are dropped (counted).
    static constexpr size_t kMaxRequests = 1024;
    static constexpr UnixTime kRequestTimeoutS = 5;

    // Binds `addr:port` (host order).
    static Result<std::unique_ptr<McUdpServer>, std::string> listen(const McUdpServerDeps& deps,
                                                                    uint32_t addr, uint16_t port);
    ~McUdpServer() override;
    McUdpServer(const McUdpServer&) = delete;
    McUdpServer& operator=(const McUdpServer&) = delete;

    void on_event(uint32_t events) override;  // datagrams to read
    // An owner answered a ticket with kUdpTicketBit.
    void on_reply(const OwnerReply& r);
    // Requests that waited for room go on; stale ones are dropped.
    void tick(UnixTime now);

    const UdpServerStats& stats() const { return stats_; }
    uint16_t port() const { return port_; }
    size_t in_progress() const { return requests_.size(); }

  private:
    class Request;
    explicit McUdpServer(const McUdpServerDeps& deps);
    void on_datagram(const sockaddr_in& peer, std::string_view datagram);
    // Feeds the request's session; sends and forgets it once complete.
    void run(Request& r);
    void finish(Request& r);
    void send_reply(const Request& r, std::string_view reply);

    McUdpServerDeps deps_;
    int fd_ = -1;
    uint16_t port_ = 0;
    net::ClientFilter clients_;
    engine::RoutePolicy policy_;
    engine::ParsedRequest parsed_;  // route_datagram's, unused here
    SystemClock clock_;
    std::vector<char> scratch_;
    engine::EngineCtx ctx_;
    UdpServerStats stats_;
    std::vector<char> rx_;
    uint64_t next_request_id_ = 1;
    uint64_t next_ticket_ = kUdpTicketBit | 1;
    struct Ticket {
        uint64_t request;
        PostOp op;
    };
    std::unordered_map<uint64_t, Ticket> tickets_;
    std::unordered_map<uint64_t, std::unique_ptr<Request>> requests_;
    std::vector<uint64_t> waiting_;
    UnixTime last_expiry_scan_ = 0;
};

}  // namespace fulmar::controlplane
