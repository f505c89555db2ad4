// One Redis client's requests on the control plane (RESP2, or RESP3 after
// HELLO 3): parse, check, then read here or send to the owners, replies
// kept in request order.
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
//   kCmdSession (HELLO AUTH CLIENT RESET INFO CONFIG DEBUG MULTI EXEC
//                DISCARD WATCH UNWATCH)
//                 answered here with the connection's state
//                 (resp_server_session.cc); MULTI queues requests here and
//                 EXEC sends them to their one owner as one message
//   (P|S)(UN)SUBSCRIBE (S)PUBLISH PUBSUB
//                 answered here, with the listener's PubSubHub
//                 (resp_pubsub.h: RESP2's subscribed mode too)
//
// Argument errors (arity, syntax, numbers) are answered here, never sent.
// A protocol error is answered and the connection closes, as in Redis.
#pragma once

#include <cstdint>
#include <functional>
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
#include "resp_blocking.h"
#include "resp_pubsub.h"
#include "resp_server_state.h"

namespace fulmar::controlplane {

// The connection's facts a session reports (CLIENT LIST) and the means to
// end it (CLIENT KILL); its McConnection gives them.
struct RespConnFigures {
    size_t qbuf = 0;  // input not yet consumed
    size_t obl = 0;   // reply bytes ready, not yet written
    size_t oll = 0;   // reply parts queued (ready or at an owner)
    bool reading = false, writing = false;
};
struct RespConn {
    uint64_t id = 0;  // Redis's client id
    int fd = -1;
    std::string addr, laddr;  // "ip:port"
    UnixTime created = 0;
    std::function<void()> kill;  // closes another connection at once
    std::function<RespConnFigures()> figures;
    std::function<void()> flush;  // writes what is ready (a delayed reply was filled)
};

class RespSession final : private BlockedClient {
  public:
    RespSession(const OwnerExecutorDeps& deps, OwnerExecutor& exec, ExecutorClient& client,
                RespServerState* server = nullptr, RespConn conn = {});
    ~RespSession() override;
    RespSession(const RespSession&) = delete;
    RespSession& operator=(const RespSession&) = delete;

    // The connection closed: it leaves the registry (CLIENT LIST) at once.
    void closed();
    // Its CLIENT LIST line, without the newline.
    std::string client_info(UnixTime now) const;
    const RespConn& conn() const { return conn_; }

    // ---- blocking commands (BLPOP ...; resp_blocking.h) ----
    // The listener's blocked clients; without them a blocking command is
    // answered as Redis does inside MULTI (a null when nothing is there).
    void attach_blocking(RespBlocking& b) { blocking_ = &b; }
    // A blocked client's try came back (PostOp::kRespBlocking).
    void blocking_reply(uint64_t ticket, std::string_view bytes, OrderedOutput& out);
    // Blocked: a try at the owner or waiting for a write (no idle timeout).
    bool blocked() const { return blocked_.has_value(); }
    // CLIENT UNBLOCK from another client: answered now as at its timeout
    // (`error`: Redis's UNBLOCKED error). False when it was not blocked.
    bool unblock_by_client(bool error);
    // The connection closes: the client leaves the blocked ones.
    void disconnect();

    // Runs every complete request at the front of `in`; as McSession::feed.
    engine::McFeedResult feed(std::string_view in, OrderedOutput& out);
    // A piece of a gathered write came back (PostOp::kRespGather).
    void gathered(uint64_t ticket, std::string_view bytes, OrderedOutput& out);

    // Pub/sub (resp_pubsub.h): the listener's hub, and the connection its
    // messages are pushed to. Without it the pub/sub commands are refused.
    // `peers`: cluster-wide PUBLISH (peer_publisher.h), null outside a ring.
    void attach_pubsub(PubSubHub& hub, PubSubClient& client, PeerPublisher* peers = nullptr);
    // The protocol the client speaks (HELLO); RESP2 until it says otherwise.
    // Subscribed to anything: Redis's "pubsub" client type (CLIENT LIST).
    bool pubsub_client() const { return pubsub_ && pubsub_->client().subscribed(); }
    proto::RespVersion protocol() const {
        return resp3_ ? proto::RespVersion::kResp3 : proto::RespVersion::kResp2;
    }

    // WAIT's answer, when RespServerState::check_waits says it is due.
    void finish_wait(uint64_t ticket, OrderedOutput& out, size_t replicas);

  private:
    enum class Step : uint8_t { kNext, kWait, kClose };
    Step run(const engine::RespRequest& req, OrderedOutput& out);
    Step split(const engine::RespCommand& c, const engine::RespRequest& req, OrderedOutput& out);
    // Asks the owners to free keys a read found expired (lazy expiry).
    void reclaim(const std::vector<std::string>& keys);
    std::vector<std::string> expired_;
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
    // The null array, or what CLIENT UNBLOCK ... ERROR asked for.
    std::string timeout_reply() const;
    // A write went out: waiters on its keys try again.
    void signal_keys(const engine::RespCommand& c, const engine::RespRequest& req);
    // EXEC went out: waiters on the keys its writes name try again, once
    // the whole transaction ran (Redis serves them after EXEC, so a push
    // the transaction deletes again wakes no one).
    void signal_exec();
    void wake() override;
    void time_out() override;
    struct Blocked {
        std::string request;  // sent again at each try
        size_t shard = 0;
        uint64_t placeholder = 0;  // the reply's place in the output (the first try's)
        uint64_t in_flight = 0;    // the try at the owner, 0 none
        bool again = false;        // woken while a try was at the owner
        bool timed_out = false;
        std::string forced;       // CLIENT UNBLOCK's error, answered instead of the null
        bool retried = false;     // a try after the first (WRONGTYPE then waits)
        std::string destination;  // BLMOVE's: signalled when an element moved there
        OrderedOutput* out = nullptr;
    };
    RespBlocking* blocking_ = nullptr;
    std::optional<Blocked> blocked_;

    // Checks and runs a request (run() adds the connection's filters:
    // NOAUTH, MULTI's queue, CLIENT REPLY).
    Step dispatch(const engine::RespCommand& c, const engine::RespRequest& req, OrderedOutput& out);

    // ---- resp_server_session.cc: the kCmdSession commands ----
    Step run_session(const engine::RespCommand& c, const engine::RespRequest& req,
                     OrderedOutput& out);
    Step cmd_hello(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_auth(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_client(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_reset(OrderedOutput& out);
    Step cmd_info(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_config(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_debug(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_wait(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_replicaof(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_watch(const engine::RespRequest& req, OrderedOutput& out);
    Step cmd_exec(OrderedOutput& out);
    // A request inside MULTI: QUEUED, or an error that dooms the EXEC.
    Step queue(const engine::RespCommand& c, const engine::RespRequest& req, OrderedOutput& out);
    void discard();
    bool check_password(std::string_view user, std::string_view pass);
    void set_resp3(bool on, OrderedOutput& out);

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

    // ---- the connection's state (HELLO, AUTH, CLIENT, MULTI) ----
    RespServerState* server_;
    RespConn conn_;
    bool registered_ = false;
    bool resp3_ = false;
    bool authenticated_ = true;
    std::string name_;
    std::string last_cmd_ = "NULL";
    UnixTime last_interaction_ = 0;
    bool no_evict_ = false;
    enum class ReplyMode : uint8_t { kOn, kOff, kSkipNext };
    ReplyMode reply_mode_ = ReplyMode::kOn;
    OrderedOutput discarded_;          // where replies go while CLIENT REPLY says none
    OrderedOutput* output_ = nullptr;  // the connection's (HELLO sets its protocol)
    // MULTI: the queued requests (multibulks), the shard their keys live
    // on (-1: none yet), and whether one was refused (EXECABORT).
    bool in_multi_ = false;
    bool multi_dirty_ = false;
    std::string queued_;
    size_t n_queued_ = 0;
    std::vector<std::string> exec_writes_;  // the keys the queued writes name
    long multi_shard_ = -1;
    // WATCH: each key with the CAS it had (0: none), and their shard.
    std::vector<std::pair<std::string, uint64_t>> watched_;
    long watch_shard_ = -1;
    // DEBUG SLEEP n > 0: the reply's placeholder, filled by a timer.
    struct SleepTimer;
    struct SleepTimerDelete {
        void operator()(SleepTimer* t) const;  // where SleepTimer is complete
    };
    std::unique_ptr<SleepTimer, SleepTimerDelete> sleep_;
    // Pub/sub (resp_pubsub.h); null outside the Redis listener.
    std::unique_ptr<RespPubSub> pubsub_;
};

}  // namespace fulmar::controlplane
