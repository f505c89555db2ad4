// Redis pub/sub's entries in the command table (resp_pubsub_commands.cc) and
// what the control plane's session needs to check them: the PUBSUB
// container's subcommands.
//
// Any thread; no state. The commands themselves run in the control plane's
// session (kCmdSession: controlplane/resp_pubsub.h), which holds the
// connection's subscriptions; an owner never runs one.
#pragma once

#include <string>

#include "engine/resp_commands.h"

namespace fulmar::engine {

enum class PubSubSub : uint8_t { kChannels, kNumSub, kNumPat, kShardChannels, kShardNumSub, kHelp };

// The lookup Redis does before a command runs (processCommand): the
// PUBSUB subcommand named by args[1] and its arity. False after writing
// Redis's error ("unknown subcommand ...", or the arity error of
// 'pubsub|numpat'); else `sub` and `full_name` ("pubsub|numpat", the name
// Redis's errors use) are set.
bool resp_pubsub_lookup(const RespRequest& req, PubSubSub& sub, std::string& full_name,
                        proto::ReplySink& out);

// PUBSUB HELP's lines, Redis 7.0.15's words.
std::span<const std::string_view> resp_pubsub_help();

}  // namespace fulmar::engine
