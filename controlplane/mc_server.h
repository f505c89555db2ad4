// memcached text over TCP: the listener, its connections, and the tickets of
// their requests at the owner workers.
//
// Owned by the control plane's loop thread. Every connection runs a
// engine::McSession (the same framing, errors and reply queue as the UDP
// path) whose executor is an OwnerExecutor (owner_executor.h): reads are served
// here from the shards' shared memory, writes go to the key's owner through
// the ShardChannel, and their replies are put back in order.
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
#include "event_loop.h"
#include "owner_executor.h"
#include "peer_publisher.h"
#include "proto/reply_sink.h"
#include "pubsub_hub.h"
#include "resp_blocking.h"
#include "resp_server_state.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"

namespace fulmar::controlplane {

class McConnection;

// What a listener's connections speak.
enum class TcpProtocol : uint8_t {
    kMemcached,  // memcached text (classic and meta): engine::McSession
    kResp,       // Redis RESP2: RespSession (resp_session.h)
};

// Tickets of the RESP listener's requests carry this bit (63: admin, 62:
// UDP, 61: sweep), so the loop routes their replies to it.
inline constexpr uint64_t kRespTicketBit = uint64_t{1} << 60;

// The parts of the control plane every connection uses.
struct McServerDeps {
    store::AttachedDataplane* dp = nullptr;
    ShardChannel* channel = nullptr;
    EventLoop* loop = nullptr;
    const config::ControlplaneConfig* cfg = nullptr;
};

struct McServerStats {
    uint64_t curr_connections = 0;
    uint64_t total_connections = 0;
    uint64_t rejected_connections = 0;
    uint64_t slow_reader_closed = 0;   // past output_buffer_limit_mb
    uint64_t idle_closed = 0;          // past idle_timeout_s
    uint64_t waits = 0;                // times a connection stopped reading (backpressure)
    uint64_t pubsub_limit_closed = 0;  // subscribers past pubsub_output_*_limit_mb
};

class McServer final : public EventHandler {
  public:
    // Binds `addr:port` (host order) and starts accepting.
    static Result<std::unique_ptr<McServer>, std::string> listen(
        const McServerDeps& deps, uint32_t addr, uint16_t port,
        TcpProtocol protocol = TcpProtocol::kMemcached);
    ~McServer() override;

    void on_event(uint32_t events) override;  // accept

    // A ticket for a request of `c` at an owner.
    uint64_t new_ticket(const McConnection& c, PostOp op);
    // A ticket whose request was never sent.
    void forget_ticket(uint64_t ticket) { tickets_.erase(ticket); }
    // An owner answered: the reply goes to its connection, if still open.
    void on_reply(const OwnerReply& r);
    // After replies and events: connections that waited try again, closed
    // ones are freed, idle ones closed.
    void tick(UnixTime now);
    // A connection is done: freed at the next tick.
    void retire(McConnection* c);
    void wants_retry(const McConnection& c);
    // `c` has pub/sub messages to write (flushed at the next tick).
    void wants_flush(const McConnection& c);
    // The Redis listener's channels (nullptr on memcached's).
    PubSubHub* pubsub() { return pubsub_.get(); }
    // Cluster-wide PUBLISH to the ring's other members (nullptr on
    // memcached's listener); idle while there is no ring.
    PeerPublisher* peers() { return peers_.get(); }
    // Takes an owner's keyspace events off the front of `reply`
    // (engine/resp_notify.h) and publishes them; false when they do not
    // parse.
    bool publish_events(std::string& reply);
    // CONFIG GET/SET notify-keyspace-events (after resp_state().init()).
    void add_pubsub_config();
    // Where the owners read whether to note evicted keys (Redis's evicted
    // events): kept equal to the notify flags from now on, so an eviction
    // right after CONFIG SET notify-keyspace-events is already noted.
    void set_eviction_flag(std::atomic<uint8_t>* flag);
    // Whether keyspace events of class `cls` are published at all.
    bool wants_events(uint16_t cls) const;
    void sync_eviction_flag();
    // A sweep step's freed keys (SweepStep::keys): "expired" events.
    void publish_expired(const OwnerReply& r);
    // The Redis listener's blocked clients (BLPOP ...); nullptr on memcached's.
    RespBlocking* blocking() { return blocking_.get(); }
    // Redis INFO's blocked_clients.
    size_t blocked_clients() const { return blocking_ ? blocking_->blocked_clients() : 0; }

    const McServerDeps& deps() const { return deps_; }
    engine::EngineCtx& ctx() { return ctx_; }
    McServerStats& stats() { return stats_; }
    const McServerStats& stats_snapshot() const { return stats_; }
    // memcached's "stats conns" lines for every open connection.
    void conn_stats(proto::ReplySink& out) const;
    // The connection figures of plain `stats` (curr_connections, ...).
    std::string conn_stat_lines() const;
    uint16_t port() const { return port_; }
    TcpProtocol protocol() const { return protocol_; }
    // The Redis listener's clients, password and CONFIG (main sets it up).
    RespServerState& resp_state() { return resp_state_; }

  private:
    McServer(const McServerDeps& deps, TcpProtocol protocol);

    McServerDeps deps_;
    int fd_ = -1;
    uint16_t port_ = 0;
    uint32_t addr_ = 0;  // host order
    SystemClock clock_;
    std::vector<char> scratch_;
    engine::EngineCtx ctx_;
    McServerStats stats_;
    uint64_t next_conn_id_ = 1;
    TcpProtocol protocol_;
    uint64_t next_ticket_ = 1;
    struct Ticket {
        uint64_t conn_id;
        PostOp op;
    };
    std::unordered_map<uint64_t, Ticket> tickets_;
    std::unordered_map<uint64_t, std::unique_ptr<McConnection>> conns_;
    std::vector<uint64_t> retry_;  // connection ids (one may close meanwhile)
    std::vector<uint64_t> retired_;
    std::vector<uint64_t> flush_;  // connections with pushed messages
    std::unique_ptr<PubSubHub> pubsub_;
    std::unique_ptr<PeerPublisher> peers_;
    uint32_t shard_ring_ = 0;  // the ring (current) shard channels were last checked against
    std::atomic<uint8_t>* eviction_flag_ = nullptr;
    std::unique_ptr<RespBlocking> blocking_;
    UnixTime last_idle_scan_ = 0;
    RespServerState resp_state_;
};

}  // namespace fulmar::controlplane
