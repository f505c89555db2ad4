// This node as a member of the cluster ring: the ring etcd holds, given to
// the dataplane (shm/ring_table.h), and the moves that grow or shrink it
// while both sides serve (docs/ring.md).
//
// Owned by the control plane's loop thread; created with the ClusterMember
// (it shares its etcd client). Only a partition's primary moves keys; its
// replicas follow through replication, and every node publishes the ring.
//
// etcd keys under /fulmar/ring/:
//   current          the ring (ring/ring_doc.h text)
//   pending          the ring a move goes to (epoch = current's + 1)
//   ready/<name>     "<pending's mod revision>": partition <name>'s new
//                    owners hold its moving keys, but for the last changes
//   done/<name>      the same: they applied every change, and <name> froze
//                    writes to those keys
//
// A move, from `fulmarctl ring add|remove` (which writes `pending`):
//   1. every primary drops keys the current ring does not give it (left
//      from an earlier move), then each new owner connects to each old
//      owner's replication port with MOVE: a snapshot and the live changes
//      of exactly the keys that change hands (ReplPrimary's move links);
//   2. an old owner whose receivers all applied everything says ready/;
//      when every old owner is ready, each freezes writes to its moving keys (RingShm::frozen: the
//      owners refuse them with TRYAGAIN / SERVER_ERROR ... retry), makes sure every owner saw the
//      freeze (a no-op step through each inbox), sends the last changes,
//      and once they are applied writes done/<name>;
//   3. when every old owner is done, any node runs the flip: one Txn that
//      needs current, pending and every done/ unchanged, writes the new
//      current and deletes pending: the ring never points at a partition
//      without its keys. Every node publishes the new ring when its watch
//      sees it; old owners then drop the keys they gave away.
// An old owner frozen for kFreezeMaxMs without a flip calls it off (bumps
// pending, so a flip with its done/ can no longer succeed) and thaws;
// a broken move link makes the new owner drop what it got and start over;
// `ring cancel` deletes pending (the new owners drop the partial keys).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/etcd_client.h"
#include "config/dataplane_config.h"
#include "event_loop.h"
#include "handoff.h"
#include "proto/resp_writer.h"
#include "repl_role.h"
#include "ring/ketama.h"
#include "ring/ring_doc.h"
#include "shard_channel.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

// Tickets of the ring's owner requests (drop walks, freeze barriers, move
// links' batches) carry this bit.
inline constexpr uint64_t kRingTicketBit = uint64_t{1} << 57;

class RingMember final : public EventHandler {
  public:
    struct Deps {
        const config::DataplaneConfig& cfg;
        cluster::EtcdClient& etcd;
        ShardChannel& channel;
        EventLoop& loop;
        ReplRole& role;
        shm::RingShm& ring;
        size_t n_shards;
        uint64_t total_pages;             // slab pages over every shard (a walk's length)
        std::function<bool()> may_write;  // this node is its partition's writable primary
    };
    static Result<std::unique_ptr<RingMember>, std::string> create(Deps deps);
    ~RingMember() override;

    void on_event(uint32_t events) override;  // watch reports
    void tick();
    void on_reply(const OwnerReply& r);

    // The admin socket's RING command (RING STATUS [JSON] | ADD name
    // host:port [weight] | REMOVE name | CANCEL).
    void admin(std::span<const std::string_view> args, proto::RespWriter& out);

  private:
    struct View {
        ring::RingDoc doc;
        std::shared_ptr<const ring::Ketama> ketama;
        int64_t rev = 0;  // the key's mod revision
    };
    struct Flow {  // keys that change hands
        std::string from, to;
    };
    struct Incoming {
        std::string source;
        std::unique_ptr<ReplReplica> link;
    };

    explicit RingMember(Deps deps);
    void refresh(int64_t now);
    void apply(std::optional<View> current, std::optional<View> pending,
               std::map<std::string, std::string> done, int64_t now);
    bool publish_slot(const View& v, std::atomic<uint32_t>& which, uint32_t& held, int64_t now);
    // Brings the shared-memory ring up to current_ / pending_ (a slot may
    // have to wait out its grace period); true when it holds them.
    bool sync_shm(int64_t now);
    void release_slot(std::atomic<uint32_t>& which, uint32_t& held, int64_t now);
    std::vector<Flow> flows() const;
    void run_drop();
    void run_incoming(int64_t now);
    void run_outgoing(int64_t now);
    void try_flip();
    void freeze(int64_t now);
    void thaw();
    void stop_move(std::string_view why);
    void install_resolver();
    void publish_progress(int64_t now);
    std::vector<std::pair<std::string, std::string>> status(int64_t now) const;
    std::string change(std::string_view op, std::span<const std::string_view> args);
    void log(std::string_view text) const;
    const std::string& me() const { return deps_.cfg.cluster.partition; }

    Deps deps_;
    std::shared_ptr<cluster::EventQueue<cluster::WatchReport>> queue_;
    std::unique_ptr<cluster::EtcdWatch> watch_;
    int64_t next_refresh_ms_ = 0;
    bool dirty_ = true;
    bool loaded_ = false;  // the first refresh happened
    std::optional<View> current_, pending_;
    std::map<std::string, std::string> done_;
    std::vector<Flow> flows_;

    // Shared-memory slots (slot + 1, 0: none) and when each was let go.
    uint32_t cur_slot_ = 0, pend_slot_ = 0;
    std::optional<ring::RingDoc> shm_cur_, shm_pend_;  // what they hold
    int64_t slot_free_at_[shm::kRingSlots] = {};

    // The walk that drops keys this node does not serve.
    bool drop_needed_ = true;
    bool drop_running_ = false;
    std::vector<dataplane::RingDropStep> drop_steps_;
    std::vector<uint8_t> drop_inflight_;
    uint64_t dropped_ = 0, dropped_total_ = 0;

    std::vector<Incoming> incoming_;
    uint64_t incoming_epoch_ = 0;
    int64_t next_incoming_try_ms_ = 0;

    bool frozen_ = false;
    int64_t frozen_at_ms_ = 0;
    size_t barrier_left_ = 0;
    bool drained_ = false;
    bool done_written_ = false;
    int64_t move_started_ms_ = 0;
    int64_t last_progress_ms_ = 0;

    uint64_t next_ticket_ = kRingTicketBit | 1;
    int64_t last_pause_ms_ = -1;  // freeze -> flip seen, the last move this node gave keys in
    uint64_t flips_seen_ = 0;
    // The last move this node gave keys in: records and bytes sent, and
    // how long from the pending ring's arrival to the flip.
    uint64_t last_move_keys_ = 0, last_move_bytes_ = 0;
    int64_t last_move_ms_ = -1;
};

}  // namespace fulmar::controlplane
