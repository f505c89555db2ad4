// Redis keyspace notifications (notify-keyspace-events): the flag letters,
// and the events an owner worker reports with the reply of the write that
// caused them, for the control plane to publish.
//
// Any thread; no state. The owner runs the write (it is the only writer of
// its shard, so the events are in the shard's order) and knows what it
// changed (whether a key was new, whether EXPIRE deleted it); the control
// plane holds the channels (controlplane/pubsub_hub.h). Both ends meet in
// the request and reply bytes, so the channel between them is unchanged:
//
//   request  >2\r\n$6\r\nnotify\r\n:<flags>\r\n  *3\r\n$3\r\nSET\r\n...
//            ^ only when notifications are on   ^ the request as before
//   reply    >N\r\n(:<class>\r\n$..\r\n<event>\r\n$..\r\n<key>\r\n){N}  +OK\r\n
//            ^ only when an event happened       ^ the reply as before
//
// A reply of Redis never starts with '>' in RESP2, which is all an owner
// writes, so the prefix cannot be mistaken for one.
//
// Covered: the events of the string commands (new, set, expire, persist,
// del, incrby, incrbyfloat, append, setrange), DEL and UNLINK (del),
// EXPIRE PEXPIRE EXPIREAT PEXPIREAT (expire, or del when the time is
// past), PERSIST (persist), RENAME(NX) (new, rename_from, rename_to), the
// list writes (lpush rpush lpop rpop lset lrem ltrim linsert, del when a
// list is left empty; LMOVE and RPOPLPUSH as a push and a pop), SADD SREM
// SPOP, HSET HMSET HSETNX HDEL HINCRBY HINCRBYFLOAT, RESTORE (new, restore;
// del for a past TTL over a key REPLACE named).
// Expired events of the paced sweep, and evicted events (the owner's
// eviction log, store::Shard::set_eviction_log), travel with the sweep's
// replies instead (dataplane/handoff.h SweepStep::keys). SORT ... STORE:
// sortstore. Not yet: keymiss from the control plane's reads, SMOVE and the
// set STORE commands, the blocking pops.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/keyspace_events.h"
#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"

namespace fulmar::engine {

struct KeyEvent {
    uint16_t cls = 0;
    std::string event;
    std::string key;
};

// The control plane's side: the prefix asking for events, written before
// the request (write_resp_request).
void write_notify_request_prefix(uint16_t flags, std::string& out);
// Takes the events off the front of an owner's reply (none when it has no
// prefix); false when the prefix is malformed (the reply is left as is).
bool take_reply_events(std::string& reply, std::vector<KeyEvent>& events);

// The owner's side: `body` may start with the request prefix; runs the
// request as run_resp_request does, and when events were asked for and
// happened, writes them before the reply.
void run_resp_request_notifying(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                                proto::ReplySink& out);

}  // namespace fulmar::engine
