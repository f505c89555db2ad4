// One Redis (RESP2) client's requests on the control plane: parse, check,
// then read here or send to the owners, replies kept in request order.
//
// Owned by its connection (mc_connection.h) on the control plane's loop
// thread. The commands are engine::resp_commands() (the table); this is the
// connection-side `cmd_` half of each:
//
//   kCmdRead (GET MGET EXISTS STRLEN TTL PTTL DBSIZE)
//                 read here, lock-free, from the shards' shared memory; a
//                 read waits while this client has requests at the owners,
//                 so it sees its own writes (as OwnerExecutor's gets do)
//   one-key writes (SET INCR EXPIRE ...)
//                 the request, rewritten as one multibulk, goes to the key's
//                 owner (dataplane::MessageKind::kControlResp), which runs
//                 engine::execute_resp; its reply takes its place in order
//   multi-key writes (DEL MSET)
//                 one request per key (DEL k, SET k v), to each key's owner,
//                 all sent or none; the replies are gathered into one (DEL:
//                 the sum; MSET: +OK, or the first error) in the place of
//                 the first. Not atomic across shards (each key is).
//   other multi-key writes (SMOVE, LMOVE, SINTERSTORE ...)
//                 sent whole to the owner when every key lives on one
//                 shard (atomic there); otherwise Redis Cluster's CROSSSLOT
//                 error (engine::kRespCrossShardError), nothing runs
//   FLUSHALL      every owner; +OK once all are done
//   PING ECHO SELECT QUIT COMMAND
//                 answered here
//   (P|S)(UN)SUBSCRIBE (S)PUBLISH PUBSUB
//                 answered here, with the listener's PubSubHub
//                 (resp_pubsub.h: RESP2's subscribed mode too)
//
// Argument errors (arity, syntax, numbers) are answered here, never sent.
// A protocol error is answered and the connection closes, as in Redis.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/mc_session.h"
#include "engine/resp_commands.h"
#include "owner_executor.h"
#include "proto/resp_parser.h"
#include "proto/resp_writer.h"
#include "resp_pubsub.h"

namespace fulmar::controlplane {

class RespSession {
  public:
    RespSession(const OwnerExecutorDeps& deps, OwnerExecutor& exec, ExecutorClient& client);
    RespSession(const RespSession&) = delete;
    RespSession& operator=(const RespSession&) = delete;

    // Runs every complete request at the front of `in`; as McSession::feed.
    engine::McFeedResult feed(std::string_view in, OrderedOutput& out);
    // A piece of a gathered write came back (PostOp::kRespGather).
    void gathered(uint64_t ticket, std::string_view bytes, OrderedOutput& out);

    // Pub/sub (resp_pubsub.h): the listener's hub, and the connection its
    // messages are pushed to. Without it the pub/sub commands are refused.
    void attach_pubsub(PubSubHub& hub, PubSubClient& client);
    // The protocol the client speaks (HELLO); RESP2 until it says otherwise.
    proto::RespVersion protocol() const { return protocol_; }

  private:
    enum class Step : uint8_t { kNext, kWait, kClose };
    Step run(const engine::RespRequest& req, OrderedOutput& out);
    Step split(const engine::RespCommand& c, const engine::RespRequest& req, OrderedOutput& out);
    // Starts a request for an owner in `out`: with keyspace notifications
    // on, the prefix asking the owner for its events (resp_notify.h).
    void begin_request(std::string& out) const;
    // Whether every key of a multi-key write lives on `shard`: one owner
    // runs the command, atomically; keys on several shards get Redis
    // Cluster's CROSSSLOT answer instead.
    bool keys_on_shard(const engine::RespCommand& c, const engine::RespRequest& req,
                       size_t shard) const;

    OwnerExecutorDeps deps_;
    OwnerExecutor& exec_;
    ExecutorClient& client_;
    proto::RespParser parser_;
    std::vector<const store::ShardView*> views_;
    std::string request_;  // a request on its way to an owner
    std::vector<OwnerExecutor::RespPiece> pieces_;
    std::vector<uint64_t> tickets_;
    // Gathered writes: each piece's ticket names its group, the group the
    // placeholder (its first piece's ticket) and what came back so far.
    struct Gather {
        engine::RespGather kind;
        size_t left = 0;
        int64_t sum = 0;
        std::string error;  // the first error a piece answered
    };
    std::unordered_map<uint64_t, uint64_t> piece_group_;  // ticket -> placeholder
    std::unordered_map<uint64_t, Gather> groups_;         // placeholder -> state
    proto::RespVersion protocol_ = proto::RespVersion::kResp2;
    std::unique_ptr<RespPubSub> pubsub_;
};

}  // namespace fulmar::controlplane
