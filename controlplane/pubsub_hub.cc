// Redis pub/sub's channels, patterns and deliveries; see pubsub_hub.h.
#include "pubsub_hub.h"

#include <algorithm>

#include "common/glob_match.h"
#include "common/keyspace_events.h"

namespace fulmar::controlplane {

void PubSubHub::remove(Map& m, std::string_view name, PubSubClient& c) {
    const auto it = m.find(name);
    if (it == m.end()) return;
    Subscribers& subs = it->second;
    const auto pos = std::find(subs.begin(), subs.end(), &c);
    if (pos != subs.end()) {
        *pos = subs.back();
        subs.pop_back();
    }
    // No empty entries: PUBSUB CHANNELS lists only channels with a
    // subscriber, and a client cannot grow the map with channels it left.
    if (subs.empty()) m.erase(it);
}

bool PubSubHub::subscribe(PubSubClient& c, ChannelKind kind, std::string_view channel) {
    auto& mine = kind == ChannelKind::kShard ? c.shard_channels : c.channels;
    if (!mine.emplace(channel).second) return false;
    Map& m = map(kind);
    auto it = m.find(channel);
    if (it == m.end()) it = m.emplace(std::string(channel), Subscribers{}).first;
    it->second.push_back(&c);
    return true;
}

bool PubSubHub::unsubscribe(PubSubClient& c, ChannelKind kind, std::string_view channel) {
    auto& mine = kind == ChannelKind::kShard ? c.shard_channels : c.channels;
    const auto it = mine.find(std::string(channel));
    if (it == mine.end()) return false;
    remove(map(kind), channel, c);
    mine.erase(it);
    return true;
}

bool PubSubHub::psubscribe(PubSubClient& c, std::string_view pattern) {
    if (!c.patterns.emplace(pattern).second) return false;
    auto it = patterns_.find(pattern);
    if (it == patterns_.end()) it = patterns_.emplace(std::string(pattern), Subscribers{}).first;
    it->second.push_back(&c);
    return true;
}

bool PubSubHub::punsubscribe(PubSubClient& c, std::string_view pattern) {
    const auto it = c.patterns.find(std::string(pattern));
    if (it == c.patterns.end()) return false;
    remove(patterns_, pattern, c);
    c.patterns.erase(it);
    return true;
}

void PubSubHub::drop(PubSubClient& c) {
    for (const std::string& ch : c.channels)
        remove(channels_, ch, c);
    for (const std::string& p : c.patterns)
        remove(patterns_, p, c);
    for (const std::string& ch : c.shard_channels)
        remove(shard_channels_, ch, c);
    c.channels.clear();
    c.patterns.clear();
    c.shard_channels.clear();
}

size_t PubSubHub::drop_shard_channels(const std::function<bool(std::string_view)>& keep) {
    std::vector<std::string> gone;
    for (const auto& [name, subs] : shard_channels_)
        if (!keep(name)) gone.push_back(name);
    std::string bytes;
    for (const std::string& name : gone) {
        const auto it = shard_channels_.find(name);
        const Subscribers subs = std::move(it->second);
        shard_channels_.erase(it);
        for (PubSubClient* c : subs) {
            c->shard_channels.erase(name);
            // addReplyPubsubUnsubscribed: an array in RESP2, a push in RESP3.
            bytes.clear();
            proto::RespWriter w(bytes, c->protocol());
            w.write_push(3);
            w.write_bulk("sunsubscribe");
            w.write_bulk(name);
            w.write_integer(static_cast<int64_t>(c->shard_subscription_count()));
            c->push(bytes);
        }
    }
    return gone.size();
}

void PubSubHub::deliver(PubSubClient& c, Formatted& f, std::string_view kind,
                        const std::string* pattern, std::string_view channel,
                        std::string_view message) {
    // addReplyPubsubMessage / addReplyPubsubPatMessage: an array in RESP2,
    // a push in RESP3.
    const bool resp3 = c.protocol() == proto::RespVersion::kResp3;
    std::string& bytes = resp3 ? f.resp3 : f.resp2;
    if (bytes.empty()) {
        proto::RespWriter w(bytes, c.protocol());
        w.write_push(pattern == nullptr ? 3 : 4);
        w.write_bulk(kind);
        if (pattern != nullptr) w.write_bulk(*pattern);
        w.write_bulk(channel);
        w.write_bulk(message);
    }
    c.push(bytes);
    ++stats_.deliveries;
}

size_t PubSubHub::publish(ChannelKind kind, std::string_view channel, std::string_view message) {
    ++stats_.published;
    size_t receivers = 0;
    const Map& m = map(kind);
    if (const auto it = m.find(channel); it != m.end()) {
        Formatted f;
        const std::string_view verb = kind == ChannelKind::kShard ? "smessage" : "message";
        for (PubSubClient* c : it->second)
            deliver(*c, f, verb, nullptr, channel, message);
        receivers += it->second.size();
    }
    if (kind == ChannelKind::kShard) return receivers;
    for (const auto& [pattern, subs] : patterns_) {
        if (!glob_match(pattern, channel)) continue;
        Formatted f;
        for (PubSubClient* c : subs)
            deliver(*c, f, "pmessage", &pattern, channel, message);
        receivers += subs.size();
    }
    return receivers;
}

std::vector<std::string_view> PubSubHub::channels(ChannelKind kind, std::string_view pattern,
                                                  bool all) const {
    std::vector<std::string_view> out;
    for (const auto& [name, subs] : map(kind))
        if (all || glob_match(pattern, name)) out.push_back(name);
    return out;
}

size_t PubSubHub::numsub(ChannelKind kind, std::string_view channel) const {
    const Map& m = map(kind);
    const auto it = m.find(channel);
    return it == m.end() ? 0 : it->second.size();
}

void PubSubHub::keyspace_event(uint16_t cls, std::string_view event, std::string_view key) {
    if ((notify_flags_ & cls) == 0) return;
    // One database: always 0.
    if ((notify_flags_ & kNotifyKeyspace) != 0) {
        channel_.assign("__keyspace@0__:");
        channel_.append(key);
        publish(ChannelKind::kGlobal, channel_, event);
    }
    if ((notify_flags_ & kNotifyKeyevent) != 0) {
        channel_.assign("__keyevent@0__:");
        channel_.append(event);
        publish(ChannelKind::kGlobal, channel_, key);
    }
}

}  // namespace fulmar::controlplane
