// One TCP client of the control plane: its socket, its session, its
// replies in order. The session is memcached's (engine::McSession) or, on
// the Redis listener, a RespSession (resp_session.h); both run through the
// same OwnerExecutor and OrderedOutput.
//
// Owned by McServer on the control plane's loop thread.
//
// The session's executor is an OwnerExecutor (owner_executor.h: reads here
// from the shards' shared memory, everything else at the key's owner) whose
// client is the connection: the connection registers its tickets with the
// server and puts each owner's reply in its place in the output. Replies
// leave in request order:
//
//   output: [ready bytes][ticket 17: at owner][ready bytes][ticket 18] ...
//            ^ written to the socket as soon as everything before is ready
//
// Backpressure: when the channel has no room, or the client has not taken
// output_buffer_limit_mb of replies, the session waits, the socket is no
// longer read, and the client's TCP window closes; the connection goes on
// with the bytes it holds when there is room again. A client over the limit
// that takes nothing for kSlowReaderGraceS is disconnected. A single reply
// may be larger than the limit (a multi-get of big values): it is sent.
// A Redis subscriber is also bounded as Redis bounds it (pubsub_output_*:
// client-output-buffer-limit pubsub); it is closed, publishers never wait.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/mc_session.h"
#include "event_loop.h"
#include "mc_server.h"
#include "owner_executor.h"
#include "pubsub_hub.h"
#include "resp_session.h"

namespace fulmar::controlplane {

class McConnection final : public EventHandler, private ExecutorClient, private PubSubClient {
  public:
    McConnection(McServer& server, int fd, uint64_t id, const sockaddr_in& peer, UnixTime now);
    ~McConnection() override;
    McConnection(const McConnection&) = delete;
    McConnection& operator=(const McConnection&) = delete;

    void on_event(uint32_t events) override;
    // The owner's reply to `ticket` (after `op`).
    void on_reply(uint64_t ticket, PostOp op, const OwnerReply& r);
    // Goes on after a wait for room in the channel.
    void retry();
    void close_now();

    uint64_t id() const { return id_; }
    // A subscriber or a blocked Redis client is never idle (Redis's
    // timeout spares both).
    bool idle_since(UnixTime t) const {
        return last_active_ < t && exec_.pending() == 0 && !PubSubClient::subscribed() &&
               !(resp_ && resp_->blocked());
    }
    // Replies past output_buffer_limit_mb that the client has not taken a
    // byte of for kSlowReaderGraceS: it is closed (McServer::tick).
    bool slow_reader(UnixTime now) const;
    static constexpr UnixTime kSlowReaderGraceS = 5;
    std::string peer_text() const;
    static std::string addr_text(const sockaddr_in& a);  // "ip:port"
    UnixTime secs_idle(UnixTime now) const { return now > last_active_ ? now - last_active_ : 0; }
    std::string_view state_text() const;
    // Writes what pub/sub pushed since the last flush, or closes the
    // connection when a push took it past its pubsub output limit.
    void flush_pushed();

  private:
    // PubSubClient: a message goes after the replies already ordered; the
    // socket is written at the loop's next tick (McServer::tick), so a
    // publisher's pipeline reaches each subscriber in few sends.
    void push(std::string_view bytes) override;
    proto::RespVersion protocol() const override;
    // Redis's client-output-buffer-limit pubsub: past the hard limit, or
    // past the soft one for longer than its seconds.
    bool over_pubsub_limit(UnixTime now);
    // Takes the owner's keyspace events off the front of `reply` and
    // publishes them.
    void publish_events(std::string& reply);

    // ExecutorClient
    uint64_t new_ticket(PostOp op) override;
    void forget_ticket(uint64_t ticket) override;
    void conn_stats(proto::ReplySink& out) override;
    std::string conn_stat_lines() override;
    void count_wait() override;
    bool output_full() const override;
    void output_ready() override;

    void on_readable();
    void process();
    void write_out();
    void update_interest();
    size_t output_limit() const;

    McServer& server_;
    int fd_;
    uint64_t id_;
    sockaddr_in peer_;
    OwnerExecutor exec_;
    engine::McSession session_;
    std::unique_ptr<RespSession> resp_;  // the Redis listener's connections
    std::string in_;
    size_t in_off_ = 0;
    OrderedOutput out_;
    bool waiting_ = false;  // the session asked to wait
    bool closing_ = false;  // close once the output is written
    bool closed_ = false;
    uint32_t interest_ = 0;  // epoll events registered
    UnixTime last_active_ = 0;
    UnixTime last_progress_ = 0;  // the client last took reply bytes
    bool flush_queued_ = false;   // in McServer's flush list
    bool pubsub_doomed_ = false;  // past its pubsub limit: closed at the flush
    UnixTime soft_since_ = 0;     // output above the pubsub soft limit since (0: not)
};

}  // namespace fulmar::controlplane
