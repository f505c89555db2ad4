// Redis pub/sub on the control plane: who listens to which channel, pattern
// and shard channel, and the delivery of a published message to each.
//
// Owned by the Redis listener (McServer) on the control plane's loop
// thread; nothing here is shared with another thread or process. No DPDK,
// no sockets: a subscriber is anything that takes pushed bytes
// (PubSubClient), so the hub is tested on its own (tests/controlplane).
//
//   channels_        "news" -> [conn 3, conn 9]       SUBSCRIBE / PUBLISH
//   patterns_        "n*"   -> [conn 9]               PSUBSCRIBE (glob_match)
//   shard_channels_  "s1"   -> [conn 4]               SSUBSCRIBE / SPUBLISH
//
// Each client also keeps its own sets (what UNSUBSCRIBE with no argument
// leaves, the counts each reply carries). A publish formats the message
// once per protocol version and hands the same bytes to every receiver; a
// receiver only appends them to its output (it never writes to a socket
// here, never waits on anything), so a publisher's cost is the number of
// receivers times one append, whatever the receivers' speed. Slow ones are
// bounded by their connection (client-output-buffer-limit pubsub).
//
// Single node: shard channels are a namespace of their own (SPUBLISH
// reaches SSUBSCRIBE only, never patterns), as in Redis without cluster.
// In a cluster ring a shard channel is also a key: only its owner takes
// SSUBSCRIBE and SPUBLISH (resp_pubsub.h), and a ring that gives it to
// another node unsubscribes its subscribers here (drop_shard_channels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proto/resp_writer.h"

namespace fulmar::controlplane {

// A subscriber: its subscriptions, and where its messages go.
class PubSubClient {
  public:
    virtual ~PubSubClient() = default;
    // Appends an out-of-band message to the client's output, after every
    // reply already ordered there. Must not call back into the hub.
    virtual void push(std::string_view bytes) = 0;
    // The client's protocol (HELLO): RESP2 arrays or RESP3 pushes.
    virtual proto::RespVersion protocol() const = 0;

    // Redis's clientSubscriptionsCount (channels + patterns) and
    // clientShardSubscriptionsCount.
    size_t subscription_count() const { return channels.size() + patterns.size(); }
    size_t shard_subscription_count() const { return shard_channels.size(); }
    // In "subscribed" mode (RESP2 restricts its commands then).
    bool subscribed() const { return subscription_count() + shard_subscription_count() != 0; }

    // Written by the hub only.
    std::unordered_set<std::string> channels;
    std::unordered_set<std::string> patterns;
    std::unordered_set<std::string> shard_channels;
};

// Which namespace a channel is in.
enum class ChannelKind : uint8_t { kGlobal, kShard };

struct PubSubStats {
    uint64_t published = 0;   // PUBLISH and SPUBLISH run
    uint64_t deliveries = 0;  // messages handed to subscribers
    // Keys a sweep step freed, or an owner evicted, past the bound of one
    // step's keys: no "expired"/"evicted" event for them.
    uint64_t expired_dropped = 0;
    uint64_t evicted_dropped = 0;
};

class PubSubHub {
  public:
    PubSubHub() = default;
    PubSubHub(const PubSubHub&) = delete;
    PubSubHub& operator=(const PubSubHub&) = delete;

    // True when `c` was not subscribed yet.
    bool subscribe(PubSubClient& c, ChannelKind kind, std::string_view channel);
    // True when `c` was subscribed.
    bool unsubscribe(PubSubClient& c, ChannelKind kind, std::string_view channel);
    bool psubscribe(PubSubClient& c, std::string_view pattern);
    bool punsubscribe(PubSubClient& c, std::string_view pattern);
    // Leaves everything (a connection that closes).
    void drop(PubSubClient& c);
    // The shard channels `keep` refuses (a ring change gave them to another
    // node): every subscriber leaves them and is told with a "sunsubscribe"
    // push, as Redis 7.0 does for the channels of a slot that moved away
    // (removeChannelsInSlot). Returns how many channels went.
    size_t drop_shard_channels(const std::function<bool(std::string_view)>& keep);

    // Delivers `message` to the channel's subscribers and (global channels)
    // to every subscriber of every matching pattern; the number of
    // deliveries (Redis's PUBLISH reply: a client subscribed to the channel
    // and to two matching patterns counts three times).
    size_t publish(ChannelKind kind, std::string_view channel, std::string_view message);

    // PUBSUB CHANNELS / SHARDCHANNELS: the channels with a subscriber that
    // match `pattern` (every one when empty), in no particular order.
    std::vector<std::string_view> channels(ChannelKind kind, std::string_view pattern,
                                           bool all) const;
    // PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel (not patterns).
    size_t numsub(ChannelKind kind, std::string_view channel) const;
    // PUBSUB NUMPAT: patterns with a subscriber.
    size_t numpat() const { return patterns_.size(); }
    // INFO's pubsub_channels / pubsubshard_channels: channels with a subscriber.
    size_t n_channels(ChannelKind kind) const { return map(kind).size(); }

    const PubSubStats& stats() const { return stats_; }
    PubSubStats& stats() { return stats_; }

    // Keyspace notifications (common/keyspace_events.h): which the owners
    // are asked to report (controlplane.notify_keyspace_events).
    uint16_t notify_flags() const { return notify_flags_; }
    void set_notify_flags(uint16_t flags) { notify_flags_ = flags; }
    // Redis's notifyKeyspaceEvent: `event` on __keyspace@0__:<key> (K) and
    // `key` on __keyevent@0__:<event> (E), when `cls` is selected.
    void keyspace_event(uint16_t cls, std::string_view event, std::string_view key);

  private:
    using Subscribers = std::vector<PubSubClient*>;
    // Transparent look-ups: a channel is found by string_view, no copy.
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Map = std::unordered_map<std::string, Subscribers, Hash, std::equal_to<>>;

    Map& map(ChannelKind kind) { return kind == ChannelKind::kShard ? shard_channels_ : channels_; }
    const Map& map(ChannelKind kind) const {
        return kind == ChannelKind::kShard ? shard_channels_ : channels_;
    }
    static void remove(Map& m, std::string_view name, PubSubClient& c);

    // One message formatted per protocol, built on first need.
    struct Formatted {
        std::string resp2, resp3;
    };
    // `pattern` null: a plain message.
    void deliver(PubSubClient& c, Formatted& f, std::string_view kind, const std::string* pattern,
                 std::string_view channel, std::string_view message);

    Map channels_;
    Map patterns_;
    Map shard_channels_;
    PubSubStats stats_;
    uint16_t notify_flags_ = 0;
    std::string channel_;  // a keyspace event's channel, reused
};

}  // namespace fulmar::controlplane
