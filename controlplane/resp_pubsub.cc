// A Redis connection's pub/sub commands; see resp_pubsub.h.
#include "resp_pubsub.h"

#include <fmt/core.h>

#include <array>
#include <vector>

#include "engine/resp_pubsub.h"
#include "engine/ring_guard.h"
#include "proto/resp_writer.h"

namespace fulmar::controlplane {
namespace {

using engine::RespCommand;
using engine::RespRequest;
using proto::RespWriter;

// What RESP2's subscribed mode allows (processCommand, Redis 7.0.15).
constexpr std::array<std::string_view, 9> kAllowedSubscribed{
    "subscribe",    "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe",
    "punsubscribe", "ping",       "quit",        "reset",
};

// Redis 7.0's container commands: their errors name "container|sub".
constexpr std::array<std::string_view, 13> kContainers{
    "acl",    "client", "cluster", "command", "config",  "function", "latency",
    "memory", "module", "object",  "script",  "slowlog", "xinfo",
};

bool one_of(std::string_view name, std::span<const std::string_view> names) {
    for (std::string_view n : names)
        if (n == name) return true;
    return false;
}

bool arity_ok(const RespCommand& c, const RespRequest& req) {
    const size_t n = req.args.size();
    return n >= c.spec.arity.min &&
           (c.spec.arity.max == engine::kAnyArity || n <= c.spec.arity.max);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

}  // namespace

RespPubSub::Outcome RespPubSub::intercept(const RespCommand& c, const RespRequest& req,
                                          bool writes_pending, proto::ReplySink& out,
                                          proto::ReplySink& pushes) {
    const std::string_view name = c.spec.name;
    const bool restricted =
        client_.subscribed() && client_.protocol() == proto::RespVersion::kResp2;
    if (restricted && !one_of(name, kAllowedSubscribed)) {
        refuse(c, req, out);
        return Outcome::kDone;
    }
    if (restricted && name == "ping") {
        // pingCommand in subscribed mode: a two-element array.
        if (req.args.size() > 2) {
            RespWriter(out).write_error(engine::resp_arity_error("ping"));
            return Outcome::kDone;
        }
        RespWriter w(out);
        w.write_array(2);
        w.write_bulk("pong");
        w.write_bulk(req.args.size() == 2 ? req.args[1] : std::string_view());
        return Outcome::kDone;
    }
    if (!c.spec.has(engine::kCmdSession)) return Outcome::kNotMine;
    using K = ChannelKind;
    const auto run = [&](auto&& fn) {
        if (engine::resp_check(c, req, out)) fn();
        return Outcome::kDone;
    };
    if (name == "subscribe") return run([&] { subscribe(K::kGlobal, req, pushes); });
    if (name == "ssubscribe")
        return run([&] {
            if (owns_shard_channels(req, req.args.size() - 1, out))
                subscribe(K::kShard, req, pushes);
        });
    if (name == "unsubscribe") return run([&] { unsubscribe(K::kGlobal, req, pushes); });
    if (name == "sunsubscribe") return run([&] { unsubscribe(K::kShard, req, pushes); });
    if (name == "psubscribe") return run([&] { psubscribe(req, pushes); });
    if (name == "punsubscribe") return run([&] { punsubscribe(req, pushes); });
    if (name == "pubsub") return run([&] { pubsub(req, out); });
    if (name == "publish" || name == "spublish") {
        if (!engine::resp_check(c, req, out)) return Outcome::kDone;
        if (writes_pending) return Outcome::kWaitWrites;
        const K kind = name == "publish" ? K::kGlobal : K::kShard;
        if (kind == K::kShard && !owns_shard_channels(req, 1, out)) return Outcome::kDone;
        const size_t n = hub_.publish(kind, req.args[1], req.args[2]);
        // After the local delivery: the order a subscriber here sees is the
        // order every peer sees (one connection to each, in publish order).
        if (kind == K::kGlobal && cluster_.peers != nullptr)
            cluster_.peers->publish(req.args[1], req.args[2]);
        RespWriter(out, client_.protocol()).write_integer(static_cast<int64_t>(n));
        return Outcome::kDone;
    }
    if (name == kPeerPublishCommand) return run([&] { peer_publish(req, out); });
    return Outcome::kNotMine;
}

bool RespPubSub::owns_shard_channels(const RespRequest& req, size_t last, proto::ReplySink& out) {
    if (cluster_.ctx == nullptr || !engine::ring_active(*cluster_.ctx)) return true;
    // getNodeByQuery: channels of different slots (here: owners) are
    // CROSSSLOT before any is MOVED; MOVED names the first channel's owner.
    engine::RingAnswer first;
    for (size_t i = 1; i <= last && i < req.args.size(); ++i) {
        const engine::RingAnswer a = engine::ring_check(*cluster_.ctx, req.args[i], false);
        if (i == 1) {
            first = a;
        } else if (a.slot != nullptr && first.slot != nullptr && a.owner != first.owner) {
            RespWriter(out).write_error(engine::kRespCrossShardError);
            return false;
        }
    }
    if (first.verdict == engine::RingVerdict::kServe) return true;
    engine::write_resp_ring_error(first, out);
    return false;
}

void RespPubSub::peer_publish(const RespRequest& req, proto::ReplySink& out) {
    if (cluster_.ctx == nullptr || cluster_.ctx->shared == nullptr ||
        !ring_peer_host(cluster_.ctx->shared->ring, cluster_.peer_ip)) {
        RespWriter(out).write_error(fmt::format(
            "-ERR {} is only taken from another member of the cluster ring", kPeerPublishCommand));
        return;
    }
    // Delivered here only: the sender reaches every member itself.
    const size_t n = hub_.publish(ChannelKind::kGlobal, req.args[1], req.args[2]);
    RespWriter(out, client_.protocol()).write_integer(static_cast<int64_t>(n));
}

void RespPubSub::refuse(const RespCommand& c, const RespRequest& req, proto::ReplySink& out) {
    RespWriter w(out);
    if (!arity_ok(c, req)) {
        w.write_error(engine::resp_arity_error(c.spec.name));
        return;
    }
    std::string full(c.spec.name);
    if (full == "pubsub") {
        engine::PubSubSub sub{};
        if (!engine::resp_pubsub_lookup(req, sub, full, out)) return;
    } else if (req.args.size() >= 2 && one_of(full, kContainers)) {
        full = fmt::format("{}|{}", full, lower(req.args[1]));
    }
    w.write_error(fmt::format(
        "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
        "allowed in this context",
        full));
}

void RespPubSub::confirm(proto::ReplySink& out, std::string_view verb, const std::string_view* name,
                         size_t count) {
    // addReplyPubsub(Un)Subscribed: an array in RESP2, a push in RESP3.
    RespWriter w(out, client_.protocol());
    w.write_push(3);
    w.write_bulk(verb);
    if (name != nullptr)
        w.write_bulk(*name);
    else
        w.write_null();
    w.write_integer(static_cast<int64_t>(count));
}

void RespPubSub::subscribe(ChannelKind kind, const RespRequest& req, proto::ReplySink& out) {
    const bool shard = kind == ChannelKind::kShard;
    for (size_t i = 1; i < req.args.size(); ++i) {
        hub_.subscribe(client_, kind, req.args[i]);
        confirm(out, shard ? "ssubscribe" : "subscribe", &req.args[i],
                shard ? client_.shard_subscription_count() : client_.subscription_count());
    }
}

void RespPubSub::unsubscribe(ChannelKind kind, const RespRequest& req, proto::ReplySink& out) {
    const bool shard = kind == ChannelKind::kShard;
    const std::string_view verb = shard ? "sunsubscribe" : "unsubscribe";
    const auto count = [&] {
        return shard ? client_.shard_subscription_count() : client_.subscription_count();
    };
    if (req.args.size() > 1) {
        for (size_t i = 1; i < req.args.size(); ++i) {
            hub_.unsubscribe(client_, kind, req.args[i]);
            confirm(out, verb, &req.args[i], count());
        }
        return;
    }
    // Every channel, in no particular order (Redis walks a dict too); a
    // client subscribed to none still gets one reply, naming no channel.
    const auto& mine = shard ? client_.shard_channels : client_.channels;
    const std::vector<std::string> all(mine.begin(), mine.end());
    for (const std::string& ch : all) {
        hub_.unsubscribe(client_, kind, ch);
        const std::string_view v = ch;
        confirm(out, verb, &v, count());
    }
    if (all.empty()) confirm(out, verb, nullptr, count());
}

void RespPubSub::psubscribe(const RespRequest& req, proto::ReplySink& out) {
    for (size_t i = 1; i < req.args.size(); ++i) {
        hub_.psubscribe(client_, req.args[i]);
        confirm(out, "psubscribe", &req.args[i], client_.subscription_count());
    }
}

void RespPubSub::punsubscribe(const RespRequest& req, proto::ReplySink& out) {
    if (req.args.size() > 1) {
        for (size_t i = 1; i < req.args.size(); ++i) {
            hub_.punsubscribe(client_, req.args[i]);
            confirm(out, "punsubscribe", &req.args[i], client_.subscription_count());
        }
        return;
    }
    const std::vector<std::string> all(client_.patterns.begin(), client_.patterns.end());
    for (const std::string& p : all) {
        hub_.punsubscribe(client_, p);
        const std::string_view v = p;
        confirm(out, "punsubscribe", &v, client_.subscription_count());
    }
    if (all.empty()) confirm(out, "punsubscribe", nullptr, client_.subscription_count());
}

void RespPubSub::pubsub(const RespRequest& req, proto::ReplySink& out) {
    engine::PubSubSub sub{};
    std::string full;
    if (!engine::resp_pubsub_lookup(req, sub, full, out)) return;
    RespWriter w(out, client_.protocol());
    const auto list = [&](ChannelKind kind) {
        const bool all = req.args.size() == 2;
        const std::vector<std::string_view> names =
            hub_.channels(kind, all ? std::string_view() : req.args[2], all);
        w.write_array(names.size());
        for (std::string_view n : names)
            w.write_bulk(n);
    };
    const auto counts = [&](ChannelKind kind) {
        // A flat array, RESP3 included (Redis 7.0.15's addReplyArrayLen).
        w.write_array((req.args.size() - 2) * 2);
        for (size_t i = 2; i < req.args.size(); ++i) {
            w.write_bulk(req.args[i]);
            w.write_integer(static_cast<int64_t>(hub_.numsub(kind, req.args[i])));
        }
    };
    switch (sub) {
        case engine::PubSubSub::kChannels:
            list(ChannelKind::kGlobal);
            break;
        case engine::PubSubSub::kShardChannels:
            list(ChannelKind::kShard);
            break;
        case engine::PubSubSub::kNumSub:
            counts(ChannelKind::kGlobal);
            break;
        case engine::PubSubSub::kShardNumSub:
            counts(ChannelKind::kShard);
            break;
        case engine::PubSubSub::kNumPat:
            w.write_integer(static_cast<int64_t>(hub_.numpat()));
            break;
        case engine::PubSubSub::kHelp: {
            const auto lines = engine::resp_pubsub_help();
            w.write_array(lines.size());
            for (std::string_view l : lines)
                w.write_simple(l);
            break;
        }
    }
}

}  // namespace fulmar::controlplane
