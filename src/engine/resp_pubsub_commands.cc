// Redis pub/sub's entries in the command table: names, arity, flags and the
// checks that need no connection state. They run in the control plane's
// session (controlplane/resp_pubsub.h); see resp_pubsub.h.
#include <fmt/core.h>

#include <array>

#include "engine/resp_groups.h"
#include "engine/resp_pubsub.h"
#include "engine/resp_util.h"

namespace fulmar::engine {

using namespace resp;

namespace {

struct SubEntry {
    std::string_view name;
    PubSubSub sub;
    int arity;  // Redis's signed form: -n is at least n
};

// Redis 7.0.15's pubsub subcommands (commands/pubsub-*.json).
constexpr std::array kSubs{
    SubEntry{"channels", PubSubSub::kChannels, -2},
    SubEntry{"numsub", PubSubSub::kNumSub, -2},
    SubEntry{"numpat", PubSubSub::kNumPat, 2},
    SubEntry{"shardchannels", PubSubSub::kShardChannels, -2},
    SubEntry{"shardnumsub", PubSubSub::kShardNumSub, -2},
    SubEntry{"help", PubSubSub::kHelp, 2},
};

constexpr std::array<std::string_view, 14> kHelp{
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: "
    "'*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
};

// PUBSUB <subcommand> [...]: the lookup, then CHANNELS' and SHARDCHANNELS'
// own check (at most one pattern), which Redis makes in the command.
bool parse_pubsub(const RespRequest& req, ReplySink& out) {
    PubSubSub sub{};
    std::string full;
    if (!resp_pubsub_lookup(req, sub, full, out)) return false;
    const bool one_pattern = sub == PubSubSub::kChannels || sub == PubSubSub::kShardChannels;
    if (one_pattern && req.args.size() > 3) {
        RespWriter(out).write_error(fmt::format(
            "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            req.args[1].substr(0, 128)));
        return false;
    }
    return true;
}

const RespCommand kPubSubCommands[] = {
    // SUBSCRIBE channel [channel ...]
    RespCommand{Spec{"subscribe", at_least(2), kSession, {}, nullptr, nullptr}},
    // UNSUBSCRIBE [channel ...]
    RespCommand{Spec{"unsubscribe", at_least(1), kSession, {}, nullptr, nullptr}},
    // PSUBSCRIBE pattern [pattern ...]
    RespCommand{Spec{"psubscribe", at_least(2), kSession, {}, nullptr, nullptr}},
    // PUNSUBSCRIBE [pattern ...]
    RespCommand{Spec{"punsubscribe", at_least(1), kSession, {}, nullptr, nullptr}},
    // PUBLISH channel message
    RespCommand{Spec{"publish", exactly(3), kSession, {}, nullptr, nullptr}},
    // PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT |
    //        SHARDCHANNELS [pattern] | SHARDNUMSUB [channel ...] | HELP
    RespCommand{Spec{"pubsub", at_least(2), kSession, {}, parse_pubsub, nullptr}},
    // SSUBSCRIBE shardchannel [shardchannel ...]
    RespCommand{Spec{"ssubscribe", at_least(2), kSession, {}, nullptr, nullptr}},
    // SUNSUBSCRIBE [shardchannel ...]
    RespCommand{Spec{"sunsubscribe", at_least(1), kSession, {}, nullptr, nullptr}},
    // SPUBLISH shardchannel message
    RespCommand{Spec{"spublish", exactly(3), kSession, {}, nullptr, nullptr}},
    // FULMAR.PEERPUBLISH channel message: a PUBLISH another member of the
    // cluster ring forwards (controlplane/peer_publish_wire.h); refused
    // from anyone else.
    RespCommand{Spec{"fulmar.peerpublish", exactly(3), kSession, {}, nullptr, nullptr}},
};

}  // namespace

bool resp_pubsub_lookup(const RespRequest& req, PubSubSub& sub, std::string& full_name,
                        ReplySink& out) {
    const std::string_view name = req.args[1];
    for (const SubEntry& e : kSubs) {
        if (!iequals(name, e.name)) continue;
        const size_t n = req.args.size();
        const bool ok =
            e.arity < 0 ? n >= static_cast<size_t>(-e.arity) : n == static_cast<size_t>(e.arity);
        full_name = fmt::format("pubsub|{}", e.name);
        if (!ok) {
            RespWriter(out).write_error(
                fmt::format("wrong number of arguments for '{}' command", full_name));
            return false;
        }
        sub = e.sub;
        return true;
    }
    RespWriter(out).write_error(
        fmt::format("unknown subcommand '{}'. Try PUBSUB HELP.", name.substr(0, 128)));
    return false;
}

std::span<const std::string_view> resp_pubsub_help() {
    return kHelp;
}

std::span<const RespCommand> resp_pubsub_commands() {
    return kPubSubCommands;
}

}  // namespace fulmar::engine
