// DEBUG's subcommands that need the engine: OBJECT (a read of one key's
// item, served by the control plane's session from the views) and RELOAD
// (every owner rewrites its shards through the DUMP format: the DEBUG
// table entry's `execute`, which only RELOAD reaches).
//
// DEBUG OBJECT: any reader thread. RELOAD: the owner worker of each shard.
// Implemented in resp_dump_commands.cc beside DUMP and RESTORE, whose
// serializer and loader they use.
#pragma once

#include <string_view>

#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"
#include "proto/reply_sink.h"

namespace fulmar::engine {

// Redis's DEBUG OBJECT line for `key` ("Value at:0x... refcount:N
// encoding:E serializedlength:L lru:X lru_seconds_idle:S", and the ql_*
// fields for a list), or "no such key".
void debug_object(std::string_view key, const RespReadCtx& ctx, proto::ReplySink& out);

// The owner's DEBUG: RELOAD on every shard the context owns, +OK once all
// are done; any other subcommand is the session's (an error here).
void op_debug(const RespRequest& req, const store::KeyRef& key, EngineCtx& ctx,
              proto::ReplySink& out);

}  // namespace fulmar::engine
