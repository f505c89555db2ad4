// The control plane's memcached executor (engine/mc_executor.h) and the
// output it fills in order: what a TCP connection (mc_connection.h) and a
// UDP request that came as IP fragments (mc_udp_server.h) share.
//
// Owned by its client (a connection, a UDP request) on the control plane's
// loop thread.
//
//   get/gets      read here, lock-free, from the shards' shared memory; a hit
//                 on an item never fetched since it was stored also asks the
//                 owner to mark it fetched (memcached does, mg's h flag
//                 reports it, and only the owner writes items)
//   mg            read here too when its flags only report and the item is
//                 already fetched and not stale (nothing to write); else owner
//   everything else that touches items (writes, gat, flush_all, stats)
//                 is sent to the key's owner (flush_all to every owner) and
//                 its reply takes its place in the output when it comes back
//
// Order: a read waits (ExecStatus::kWait) while this executor still has
// requests at the owners, so it sees its client's own writes; writes to one
// owner keep their order (one FIFO inbox per owner). The output keeps
// replies in request order:
//
//   output: [ready bytes][ticket 17: at owner][ready bytes][ticket 18] ...
//            ^ sent as soon as everything before is ready
//
// Tickets name requests at the owners; the client registers them (so the
// owner's reply finds it again, or finds it gone) and hands each reply
// back through reply_bytes().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine_ctx.h"
#include "engine/mc_executor.h"
#include "proto/reply_sink.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"

namespace fulmar::controlplane {

// What the owner's reply needs before it goes to the client.
enum class PostOp : uint8_t {
    kAsIs,
    kStripEnd,      // one key of a multi-key get: its "END\r\n" goes
    kAddConnStats,  // plain `stats`: the connection figures are ours
    kDiscard,       // a fan-out's other owners: done is all they say
    kResp,          // a Redis reply, as is (a RESP error when the owner could not send it)
    kRespGather,    // one piece of a Redis multi-key write: the session gathers it
    kRespBlocking,  // a blocked Redis client's try (BLPOP): the session reads it
};

// What an executor asks of the client it runs for.
class ExecutorClient {
  public:
    virtual ~ExecutorClient() = default;
    // A ticket for a request at an owner whose reply comes back to this
    // client, after `op`.
    virtual uint64_t new_ticket(PostOp op) = 0;
    // A ticket whose request was never sent.
    virtual void forget_ticket(uint64_t ticket) = 0;
    // memcached's "stats conns" lines.
    virtual void conn_stats(proto::ReplySink& out) = 0;
    // The "STAT curr_connections ..." lines plain `stats` ends with.
    virtual std::string conn_stat_lines() = 0;
    // A request given up for lack of room (counted as a wait).
    virtual void count_wait() = 0;
    // Replies ready and not taken by the client past its limit: requests
    // wait (a TCP client that does not read; never for UDP).
    virtual bool output_full() const = 0;
    // A placeholder was filled outside an owner's reply (a blocked Redis
    // client timed out): write it, and go on with the input.
    virtual void output_ready() {}
};

// The output of a session: ready bytes and placeholders, in order.
class OrderedOutput final : public proto::ReplySink {
  public:
    void append(std::string_view bytes) override;
    void append_deferred(uint64_t ticket) override;
    // Fills the placeholder of `ticket`; false when there is none (its
    // place was dropped with memcached's queue).
    bool fill(uint64_t ticket, std::string&& bytes);
    // Whether no placeholder is left.
    bool complete() const;

    struct Part {
        std::string bytes;
        uint64_t ticket = 0;  // 0: ready
    };
    std::deque<Part> parts;
    size_t ready_bytes = 0;  // in ready parts not yet written
    size_t written = 0;      // of parts.front(), when ready
};

struct OwnerExecutorDeps {
    store::AttachedDataplane* dp = nullptr;
    ShardChannel* channel = nullptr;
    engine::EngineCtx* ctx = nullptr;  // the loop's: clock, scratch, counters
};

class OwnerExecutor final : public engine::McExecutor {
  public:
    // A get's reply, copied out of the shards, is at most this large;
    // past it the answer is memcached's "SERVER_ERROR out of memory writing
    // get response".
    static constexpr size_t kMaxGetReply = 64u << 20;
    // Requests of one client at the owners at once (then it waits).
    static constexpr size_t kMaxPending = 256;

    OwnerExecutor(const OwnerExecutorDeps& deps, ExecutorClient& client);
    OwnerExecutor(const OwnerExecutor&) = delete;
    OwnerExecutor& operator=(const OwnerExecutor&) = delete;

    // The owner answered one of our tickets (sent after `op`): the bytes
    // that take its place in the output.
    std::string reply_bytes(PostOp op, const OwnerReply& r);
    // The bytes of an owner's reply, as they came.
    static std::string copy_reply(const OwnerReply& r);
    // Requests of ours still at the owners.
    size_t pending() const { return pending_; }
    size_t shard_of(const store::KeyDigest& d) const;
    size_t n_shards() const;
    // dataplane::kRespFlag* every Redis request sent from now on carries
    // (the session's protocol; kRespFlagExec around an EXEC).
    void set_resp_flags(uint8_t flags) { resp_flags_ = flags; }

    // ---- for the RESP session (resp_session.h) ----
    // Sends one Redis request (a multibulk) to `shard`'s owner; its ticket
    // (its reply comes back after `op`), 0 when the channel has no room.
    // With `out`, the reply's place is taken there now.
    uint64_t send_resp(size_t shard, std::string_view request, PostOp op, proto::ReplySink* out);
    // Several Redis requests, each to its shard's owner, all sent or none
    // (kWait: no room now; kDone with `tickets` filled). `never` is set when
    // they can never fit the channel at once (waiting would never end).
    struct RespPiece {
        size_t shard;
        std::string request;
    };
    engine::ExecStatus send_resp_pieces(std::span<const RespPiece> pieces, PostOp op,
                                        std::vector<uint64_t>& tickets, bool& never);
    // One Redis request to every owner (FLUSHALL): shard 0's reply is the
    // answer, placed in `out` after every other owner's (which say nothing).
    engine::ExecStatus fan_out_resp(std::string_view request, proto::ReplySink& out);
    // One request for every owner (flush_all, FLUSHALL); the answer is shard
    // 0's reply after `answer`, given once every owner replied.
    engine::ExecStatus fan_out_all(std::string_view bytes, const engine::ParsedRequest* parsed,
                                   PostOp answer, dataplane::MessageKind kind,
                                   proto::ReplySink& out);

    // engine::McExecutor
    engine::ExecStatus classic(const proto::McTextRequest& req, const store::KeyRef& key,
                               std::string_view raw, proto::ReplySink& out) override;
    void classic_error(proto::McTextError error, const proto::McTextRequest& req,
                       std::string_view raw, proto::ReplySink& out) override;
    engine::ExecStatus meta(const proto::McMetaRequest& req, std::string_view raw,
                            proto::ReplySink& out) override;
    void unlink(const proto::McMetaRequest& req) override;

  private:
    // Sends a request to `shard`'s owner; its reply goes in `out` in order.
    // False (nothing sent) when the channel has no room.
    bool forward(size_t shard, std::string_view bytes, const engine::ParsedRequest* parsed,
                 PostOp op, proto::ReplySink* out);
    engine::ExecStatus get_local(const proto::McTextRequest& req, proto::ReplySink& out);
    engine::ExecStatus gat(const proto::McTextRequest& req, std::string_view raw,
                           proto::ReplySink& out);

    OwnerExecutorDeps deps_;
    ExecutorClient& client_;
    size_t pending_ = 0;  // requests at the owners
    uint8_t resp_flags_ = 0;
    // A request's pieces before they go out: prepared messages.
    struct Piece {
        dataplane::Message* msg;
        size_t shard;
        uint64_t ticket;
    };
    std::vector<Piece> pieces_;
    std::vector<store::KeyDigest> marked_;  // items a get asked to mark fetched
    std::string scratch_out_;
    static constexpr size_t kKeepScratch = 1u << 20;
};

}  // namespace fulmar::controlplane
