// One Redis connection's pub/sub commands: SUBSCRIBE and friends, PUBLISH,
// PUBSUB, and RESP2's "subscribed" mode (Redis 7.0.15's rules and bytes).
//
// Owned by the connection's RespSession on the control plane's loop thread;
// the channels themselves are the listener's PubSubHub (pubsub_hub.h).
//
// A RESP2 client subscribed to anything may only run (P|S)SUBSCRIBE,
// (P|S)UNSUBSCRIBE, PING (answered `*2 pong <msg|"">`), QUIT and RESET;
// everything else is refused with Redis's words, after the arity check
// and (PUBSUB) the subcommand look-up, as processCommand orders them. A
// RESP3 client (HELLO 3) has no such mode and gets `>` pushes.
//
// PUBLISH waits while this client has writes at the owners: a subscriber
// that reads a key after the message sees the write the publisher made
// before publishing (Redis runs commands one at a time, so it does too).
//
// In a cluster ring (Redis Cluster's rules): PUBLISH is delivered here and
// sent on to every other member (PeerPublisher), whose control planes
// deliver it to their subscribers through FULMAR.PEERPUBLISH (never sent
// on again; peer_publish_wire.h); its reply counts this node's receivers.
// A shard channel is a key of the ring: SPUBLISH and SSUBSCRIBE on a node
// that does not own it get -MOVED (channels of several owners in one
// SSUBSCRIBE: -CROSSSLOT), so a shard message stays on its owner.
// SUNSUBSCRIBE only leaves local state and is never refused; a ring that
// moves a shard channel away unsubscribes its subscribers (McServer::tick,
// PubSubHub::drop_shard_channels).
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"
#include "peer_publisher.h"
#include "pubsub_hub.h"

namespace fulmar::controlplane {

// What a connection needs for cluster mode; all optional.
struct RespPubSubCluster {
    const engine::EngineCtx* ctx = nullptr;  // the ring (shared memory)
    PeerPublisher* peers = nullptr;          // where PUBLISH goes on to
    std::string peer_ip;                     // the client's address (who forwards)
};

class RespPubSub {
  public:
    RespPubSub(PubSubHub& hub, PubSubClient& client, RespPubSubCluster cluster = {})
        : hub_(hub), client_(client), cluster_(std::move(cluster)) {}
    RespPubSub(const RespPubSub&) = delete;
    RespPubSub& operator=(const RespPubSub&) = delete;

    enum class Outcome : uint8_t {
        kNotMine,     // not pub/sub's, and allowed: the session runs it
        kDone,        // answered (or refused) into `out`
        kWaitWrites,  // PUBLISH behind this client's writes at the owners
    };
    // Runs `c` when it is pub/sub's, or refuses it in subscribed mode.
    // `writes_pending`: this client has requests at the owners. Replies go
    // to `out`; (un)subscribe confirmations to `pushes`, the connection's
    // own output, which CLIENT REPLY OFF does not silence (Redis marks them
    // CLIENT_PUSHING).
    Outcome intercept(const engine::RespCommand& c, const engine::RespRequest& req,
                      bool writes_pending, proto::ReplySink& out, proto::ReplySink& pushes);

    // The keyspace notification flags the owners are asked to report.
    uint16_t notify_flags() const { return hub_.notify_flags(); }

    const PubSubClient& client() const { return client_; }
    const PubSubHub& hub() const { return hub_; }
    // Cluster-wide PUBLISH's peers (INFO), null outside the Redis listener.
    const PeerPublisher* peers() const { return cluster_.peers; }

    // RESET: leaves every channel, pattern and shard channel, silently.
    void reset() { hub_.drop(client_); }

  private:
    void subscribe(ChannelKind kind, const engine::RespRequest& req, proto::ReplySink& out);
    void unsubscribe(ChannelKind kind, const engine::RespRequest& req, proto::ReplySink& out);
    void psubscribe(const engine::RespRequest& req, proto::ReplySink& out);
    void punsubscribe(const engine::RespRequest& req, proto::ReplySink& out);
    void pubsub(const engine::RespRequest& req, proto::ReplySink& out);
    // Refuses a command in RESP2's subscribed mode; see the header.
    void refuse(const engine::RespCommand& c, const engine::RespRequest& req,
                proto::ReplySink& out);
    // Cluster mode: false after -MOVED / -CROSSSLOT when this node does
    // not own every shard channel of `req` (from args[1]; `last`: the last
    // index that is a channel).
    bool owns_shard_channels(const engine::RespRequest& req, size_t last, proto::ReplySink& out);
    // FULMAR.PEERPUBLISH from another member of the ring.
    void peer_publish(const engine::RespRequest& req, proto::ReplySink& out);
    // One subscribe/unsubscribe confirmation; a null name when `name` is.
    void confirm(proto::ReplySink& out, std::string_view verb, const std::string_view* name,
                 size_t count);

    PubSubHub& hub_;
    PubSubClient& client_;
    RespPubSubCluster cluster_;
};

}  // namespace fulmar::controlplane
