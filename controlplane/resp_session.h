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
//
// Argument errors (arity, syntax, numbers) are answered here, never sent.
// A protocol error is answered and the connection closes, as in Redis.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/mc_session.h"
#include "engine/resp_commands.h"
#include "owner_executor.h"
#include "proto/resp_parser.h"

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

  private:
    enum class Step : uint8_t { kNext, kWait, kClose };
    Step run(const engine::RespRequest& req, OrderedOutput& out);
    Step split(const engine::RespCommand& c, const engine::RespRequest& req, OrderedOutput& out);
    // KEYS, RANDOMKEY: the same request to every owner, the answers
    // gathered as c.gather says.
    Step every_shard(const engine::RespCommand& c, OrderedOutput& out);
    // Sends pieces_ and places one gathered reply for them.
    Step send_gathered(const engine::RespCommand& c, OrderedOutput& out);
    // Whether the k-th non-nil answer replaces the one kept (1/k: each
    // shard's answer equally likely).
    bool pick_(int64_t k) { return std::uniform_int_distribution<int64_t>(1, k)(rng_) == 1; }
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
        std::string body;   // kConcat: the elements so far; kPickOne: the answer kept
    };
    std::minstd_rand rng_{std::random_device{}()};
    std::unordered_map<uint64_t, uint64_t> piece_group_;  // ticket -> placeholder
    std::unordered_map<uint64_t, Gather> groups_;         // placeholder -> state
};

}  // namespace fulmar::controlplane
