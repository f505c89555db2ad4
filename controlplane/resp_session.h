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
//   BLPOP BRPOP BLMOVE BRPOPLPUSH (kCmdBlocking)
//                 one try at the owner; when it finds nothing the client
//                 blocks: none of its later requests run, and it tries
//                 again each time a write to one of its keys goes out, or
//                 answers the null array at its timeout (resp_blocking.h)
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
#include <optional>
#include <random>
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
#include "resp_blocking.h"

namespace fulmar::controlplane {

class RespSession final : private BlockedClient {
  public:
    RespSession(const OwnerExecutorDeps& deps, OwnerExecutor& exec, ExecutorClient& client);
    ~RespSession() override;
    RespSession(const RespSession&) = delete;
    RespSession& operator=(const RespSession&) = delete;

    // ---- blocking commands (BLPOP ...; resp_blocking.h) ----
    // The listener's blocked clients; without them a blocking command is
    // answered as Redis does inside MULTI (a null when nothing is there).
    void attach_blocking(RespBlocking& b) { blocking_ = &b; }
    // A blocked client's try came back (PostOp::kRespBlocking).
    void blocking_reply(uint64_t ticket, std::string_view bytes, OrderedOutput& out);
    // Blocked: a try at the owner or waiting for a write (no idle timeout).
    bool blocked() const { return blocked_.has_value(); }
    // The connection closes: the client leaves the blocked ones.
    void disconnect();

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

    // ---- blocking ----
    Step block(const engine::RespCommand& c, const engine::RespRequest& req, size_t shard,
               OrderedOutput& out);
    void send_try();
    void finish(std::string reply);
    // A write went out: waiters on its keys try again.
    void signal_keys(const engine::RespCommand& c, const engine::RespRequest& req);
    void wake() override;
    void time_out() override;
    struct Blocked {
        std::string request;  // sent again at each try
        size_t shard = 0;
        uint64_t placeholder = 0;  // the reply's place in the output (the first try's)
        uint64_t in_flight = 0;    // the try at the owner, 0 none
        bool again = false;        // woken while a try was at the owner
        bool timed_out = false;
        std::string destination;  // BLMOVE's: signalled when an element moved there
        OrderedOutput* out = nullptr;
    };
    RespBlocking* blocking_ = nullptr;
    std::optional<Blocked> blocked_;

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
    proto::RespVersion protocol_ = proto::RespVersion::kResp2;
    std::unique_ptr<RespPubSub> pubsub_;
};

}  // namespace fulmar::controlplane
