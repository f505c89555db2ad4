// The primary's side of replication: drains every shard's mutation log,
// keeps the backlog, and streams records to the replicas connected to the
// replication port (repl_wire.h), full syncs included.
//
// Owned by the control plane's loop thread. The owners only ever write
// their logs; this class is their single consumer. Per replica and shard:
//
//   handshake: position covered by the backlog and same replid?
//     yes -> kStreaming from the backlog (partial resync)
//     no  -> kSnapshotPending: its mutations are not sent; snapshot steps
//            go to the owner (kControlReplSnapshot), which writes kSnapBegin
//            and the items into its log between its own mutations
//   kSnapBegin of this replica's snapshot drained -> kStreaming: from here
//   every mutation and this snapshot's items go to it, in the log's order,
//   so it ends holding exactly the primary's shard; kSnapEnd ends the walk.
//
// A snapshot step is asked for only while the replica's unsent stream is
// short: the walk goes at the replica's pace and never floods the log or
// this process. A gap in a log (the owner dropped records while this loop
// was late) puts the replicas of that shard back to kSnapshotPending, and
// a replica whose unsent stream passes replica_output_limit_mb is cut (it
// reconnects and resumes, or resyncs).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "config/dataplane_config.h"
#include "event_loop.h"
#include "repl/mutation_log.h"
#include "repl_backlog.h"
#include "repl_wire.h"
#include "shard_channel.h"

namespace fulmar::controlplane {

// Tickets of replication requests at the owners carry this bit.
inline constexpr uint64_t kReplTicketBit = uint64_t{1} << 59;
// ... and those of a replica's batches this one too (ReplReplica).
inline constexpr uint64_t kReplReplicaTicketBit = uint64_t{1} << 58;

struct ReplPrimaryStats {
    uint64_t connected = 0;         // replicas that completed a handshake
    uint64_t full_syncs = 0;        // shards sent whole
    uint64_t partial_syncs = 0;     // shards resumed from the backlog
    uint64_t output_limit_cut = 0;  // replicas cut past replica_output_limit_mb
    uint64_t log_gaps = 0;          // records the owners dropped (their logs were full)
    uint64_t snapshot_records = 0;  // items sent by full syncs
    uint64_t snapshot_bytes = 0;
};

class ReplPrimary final : public EventHandler {
  public:
    // Finds the shards' mutation logs and listens on addr:cfg.port. Each
    // log is enabled when the first replica connects.
    static Result<std::unique_ptr<ReplPrimary>, std::string> create(
        ShardChannel& channel, EventLoop& loop, const config::ReplicationConfig& cfg, uint32_t addr,
        size_t n_shards);
    ~ReplPrimary() override;

    void on_event(uint32_t events) override;  // accept
    // Drains the logs, sends what the replicas can take, asks for snapshot
    // steps, trims the backlogs. Returns the records moved (0: idle).
    size_t tick();
    void on_reply(const OwnerReply& r);

    uint16_t port() const { return port_; }
    uint64_t replid() const { return replid_; }

    // This node became a replica: its logs mirror the records its owners
    // apply (repl/mutation_log.h, kLogMirror) and are drained into a new
    // backlog, so that once promoted it resumes the other replicas of its
    // old primary; meanwhile it takes no replica of its own.
    void mirror();
    bool mirroring() const { return mirroring_; }
    // This replica became the primary: its own changes are logged from
    // now on, under a new replication id; replicas of `old_replid` (its
    // primary's) resume from the backlog up to where it had applied.
    void promote(std::optional<uint64_t> old_replid);
    // Every log drained now; the last seq drained per shard (what this
    // node holds of its history).
    std::vector<uint64_t> drain_all();
    size_t n_replicas() const;
    // Cuts every replica's link (CLIENT KILL TYPE replica); how many.
    size_t kill_links();
    // The owners' last seq per shard (what a WAIT must see acknowledged).
    std::vector<uint64_t> last_seqs() const;
    // Replicas that acknowledged at least `seqs` on every shard.
    size_t acked_at_least(const std::vector<uint64_t>& seqs) const;
    // Ring moves (ring_member.h): a MOVE handshake asks for the keys that
    // the pending ring gives another partition; the resolver says which
    // (a filter over keys) or why not. Such a link gets a snapshot and the
    // mutations of those keys only, and is cut by a flush, a log gap or
    // close_move_links(): its receiver starts over.
    struct MoveFilter {
        std::function<bool(std::string_view key)> wants;
        // The receiver in the pending ring as the dataplane holds it: the
        // owners' walk leaves out the other keys before they reach the log.
        uint32_t pending_member = 0;
    };
    using MoveResolver =
        std::function<std::optional<MoveFilter>(const repl_wire::MoveRequest&, std::string&)>;
    void set_move_resolver(MoveResolver r) { move_resolver_ = std::move(r); }
    bool has_move_resolver() const { return static_cast<bool>(move_resolver_); }
    struct MoveLinkStatus {
        std::string partition;  // the receiver
        uint64_t epoch = 0;
        bool snapshot_done = false;  // every shard's walk is sent
        bool caught_up = false;      // ... and the receiver applied every record sent
        uint64_t keys = 0;           // records sent (items and changes)
        uint64_t bytes = 0;
        uint64_t pages_walked = 0;  // the walks' progress, summed over shards
        uint64_t unsent_bytes = 0;
    };
    std::vector<MoveLinkStatus> move_links() const;
    size_t close_move_links();

    // INFO replication's lines for the primary role (slaveN: ...).
    std::string info_lines() const;
    const ReplPrimaryStats& stats() const { return stats_; }

    class Link;

  private:
    ReplPrimary(ShardChannel& channel, EventLoop& loop, const config::ReplicationConfig& cfg);
    void enable_logs();
    void drain_shard(size_t s);
    void handshake(Link& l, std::string_view line);
    void move_handshake(Link& l, std::string_view line);
    // The handshake's error line, then the link closes.
    void refuse(Link& l, std::string_view why);
    void request_steps();
    void close_link(Link& l);

    ShardChannel& channel_;
    EventLoop& loop_;
    const config::ReplicationConfig& cfg_;
    int fd_ = -1;
    uint16_t port_ = 0;
    uint64_t replid_ = 0;
    bool enabled_ = false;
    bool mirroring_ = false;
    // PSYNC2-style: the history this node continues (its old primary's id)
    // and, per shard, how far that history is ours.
    std::optional<uint64_t> replid2_;
    std::vector<uint64_t> replid2_until_;
    std::vector<repl::LogReader> logs_;
    std::vector<ReplBacklog> backlogs_;
    std::vector<uint64_t> drained_seq_;  // the last mutation seq drained, per shard
    std::vector<std::unique_ptr<Link>> links_;
    std::unordered_map<uint64_t, std::pair<Link*, size_t>> steps_;  // ticket -> link, shard
    uint64_t next_ticket_ = kReplTicketBit | 1;
    uint32_t next_snapshot_id_ = 1;
    uint64_t last_heartbeat_us_ = 0;
    ReplPrimaryStats stats_;
    MoveResolver move_resolver_;
};

// The wall clock in microseconds (records' and heartbeats' time).
uint64_t repl_wall_us();
// What this process's key hash makes of a fixed key: equal on two nodes
// exactly when they hash with the same seed (the handshake's <seed>).
uint64_t repl_seed_check();

}  // namespace fulmar::controlplane
