// The replica's side of replication: connects to the primary's replication
// port, asks to resume from what it holds (or for every item), and has its
// owners apply the records it receives, in order (repl_wire.h).
//
// Owned by the control plane's loop thread. Records of a shard go to that
// shard's owner as kControlReplApply batches; the owner's inbox keeps them
// in order, and a batch's reply moves the shard's applied position, which
// is what the replica acknowledges (ACK) and asks to resume from after a
// reconnect. Nothing is acknowledged before its owner applied it.
//
//   kConnecting -> kHandshake (FSYNC sent) -> kStreaming
//        ^                                       |
//        +---- retry after kRetry, once every batch at the owners is back
//
// Backpressure: when the channel has no room for a batch the socket is not
// read until replies free some (the primary's stream for this replica then
// waits in its output, up to its replica_output_limit_mb).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_loop.h"
#include "repl_primary.h"
#include "repl_wire.h"
#include "shard_channel.h"

namespace fulmar::controlplane {

struct ReplReplicaStats {
    uint64_t connects = 0;       // handshakes completed
    uint64_t full_syncs = 0;     // shards received whole
    uint64_t partial_syncs = 0;  // shards resumed
    uint64_t records = 0;        // records applied
    uint64_t apply_failed = 0;   // items the owners could not hold (memory)
    uint64_t stream_errors = 0;  // broken streams (bad frames, refused handshakes)
};

// Where a replica resumes from: a history (replication id) and how far it
// holds it, per shard (the node's own, when a primary becomes a replica;
// the previous link's, when a replica follows a new primary).
struct ReplResume {
    uint64_t replid = 0;
    std::vector<uint64_t> seqs;
};

class ReplReplica final : public EventHandler {
  public:
    ReplReplica(ShardChannel& channel, EventLoop& loop, uint32_t primary_addr,
                uint16_t primary_port, size_t n_shards,
                std::optional<ReplResume> resume = std::nullopt);
    // Where the next primary may resume this node from (nullopt: nowhere):
    // everything handed to the owners counts (they apply it, in order,
    // before anything a later link sends).
    std::optional<ReplResume> resume_point() const;
    // Makes this link a ring move's receiving end (call before the first
    // tick): it asks with `m` (repl_wire.h) for the keys the pending ring
    // gives this partition, applies them without clearing anything, counts
    // records in its ACKs, and does not reconnect: a broken move link is
    // failed() and the receiver starts the move over (ring_member.h).
    // Its batches' tickets start at `ticket_base` (the ring routes their
    // replies, kRingTicketBit).
    void set_move(repl_wire::MoveRequest m, uint64_t ticket_base) {
        move_ = std::move(m);
        next_ticket_ = ticket_base | 1;
    }
    bool failed() const { return move_failed_; }
    // A move link: every shard's snapshot arrived and nothing waits to be
    // applied.
    bool move_synced() const;
    uint64_t records_applied() const;
    std::optional<uint64_t> replid() const { return replid_; }
    ~ReplReplica() override;

    void on_event(uint32_t events) override;
    // Connects, retries, sends batches and acknowledgements. Returns the
    // work done (0: idle).
    size_t tick();
    void on_reply(const OwnerReply& r);

    bool link_up() const { return state_ == State::kStreaming; }
    // Cuts the link now (CLIENT KILL TYPE master); it reconnects and
    // resumes. 1 when there was one.
    size_t kill_link();
    bool syncing() const;
    // INFO replication's lines for the replica role.
    std::string info_lines() const;
    // The primary as "A.B.C.D:port" (its replication listener).
    const std::string& primary() const { return primary_text_; }
    const ReplReplicaStats& stats() const { return stats_; }
    // Sum of the applied positions (INFO's offsets).
    uint64_t applied_offset() const;
    const std::string& last_error() const { return last_error_; }

  private:
    enum class State : uint8_t { kIdle, kConnecting, kHandshake, kStreaming };
    struct Shard {
        uint64_t applied = 0;         // the last seq the owner applied (valid when `valid`)
        uint64_t queued = 0;          // the last seq of the records received
        bool valid = false;           // applied is a position the primary can resume from
        bool syncing = false;         // between kSnapBegin and kSnapEnd
        bool awaiting_begin = false;  // full sync asked, kSnapBegin not received yet
        uint64_t sent = 0;            // the last seq handed to the owner (applied or in flight)
        bool sent_valid = false;      // `sent` is a position a primary can resume from
        std::string pending;          // records not yet sent to the owner
        uint64_t pending_seq = 0;
        uint64_t pending_time_us = 0;
    };
    struct Batch {
        size_t shard;
        uint64_t seq_after;
        uint64_t time_us;
        bool valid_after;
    };

    void connect();
    void disconnect(std::string why);
    void read();
    bool handle_line(std::string_view line);
    bool handle_frame(uint16_t shard, uint16_t type, std::string_view payload);
    bool send_batches();
    void send_ack(uint64_t now_us);
    void want_events();

    ShardChannel& channel_;
    EventLoop& loop_;
    uint32_t addr_;
    uint16_t port_;
    std::string primary_text_;
    State state_ = State::kIdle;
    int fd_ = -1;
    std::string in_;
    std::string out_;
    std::vector<Shard> shards_;
    std::optional<uint64_t> replid_;
    std::unordered_map<uint64_t, Batch> inflight_;
    uint64_t next_ticket_ = kReplTicketBit | kReplReplicaTicketBit | 1;
    uint64_t retry_at_us_ = 0;
    uint64_t last_ack_us_ = 0;
    uint64_t last_io_us_ = 0;
    uint64_t primary_time_us_ = 0;  // the last heartbeat
    uint64_t primary_offset_ = 0;   // what the primary had drained then (sum over shards)
    uint64_t applied_time_us_ = 0;  // the newest applied record's time (primary clock)
    bool acked_dirty_ = false;
    bool reading_ = true;
    bool want_out_ = false;
    std::string last_error_;
    ReplReplicaStats stats_;
    std::optional<repl_wire::MoveRequest> move_;
    bool move_failed_ = false;
};

}  // namespace fulmar::controlplane
