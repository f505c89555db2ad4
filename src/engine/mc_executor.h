// How a memcached session runs what it parsed, when it does not run it on
// shards it owns: the control plane's sessions hand writes to the owner
// workers and read the shards lock-free, the replies arriving later.
//
// Owned by the connection that owns the session (the control plane's event
// loop thread); the session calls it once per request, in order.
//
// The session keeps framing, swallowing, errors without side effects and the
// reply queue; the executor gets every request that touches a shard, with
// its bytes as they came (`raw`: the line and any data block), so the owner
// can run exactly them. A reply that is not ready yet goes into the sink as
// a deferred placeholder (ReplySink::append_deferred), filled later in
// order by whoever owns the sink.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/mc_meta.h"
#include "proto/mc_text.h"
#include "proto/reply_sink.h"
#include "store/digest.h"

namespace fulmar::engine {

enum class ExecStatus : uint8_t {
    kDone,  // run (or sent on its way); the session moves on
    kWait,  // not now (a read behind writes still at the owners, or the
            // connection's outbox is full): the session stops before this
            // request and is fed the same bytes again later
};

class McExecutor {
  public:
    virtual ~McExecutor() = default;
    // A complete classic request (every command but quit, which is the
    // session's). May answer kWait.
    virtual ExecStatus classic(const proto::McTextRequest& req, const store::KeyRef& key,
                               std::string_view raw, proto::ReplySink& out) = 0;
    // A classic request the parser refused (the executor writes the error:
    // some have side effects on a shard, as memcached unlinks the key of a
    // set too large). Always taken: the parser has moved on.
    virtual void classic_error(proto::McTextError error, const proto::McTextRequest& req,
                               std::string_view raw, proto::ReplySink& out) = 0;
    // A complete meta request. May answer kWait.
    virtual ExecStatus meta(const proto::McMetaRequest& req, std::string_view raw,
                            proto::ReplySink& out) = 0;
    // memcached unlinks the key of an ms too large to store (`req`, parsed
    // as far as its key); the error line itself is the session's.
    virtual void unlink(const proto::McMetaRequest& req) = 0;
};

}  // namespace fulmar::engine
