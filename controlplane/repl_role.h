// This node's place in replication, and the one switch between places: a
// primary (streaming to the replicas that connect to replication.port), a
// read-only replica of some primary, and, for a primary, whether its writes
// are fenced (a primary that cannot renew its lease in etcd stops taking
// writes before another node may have been elected: cluster/partition_agent).
//
// Owned by the control plane's loop thread; the only writer of
// shm::ReplicaState (what the owners check at every client write). The
// roles change at runtime: REPLICAOF (RESP), the admin socket, the cluster
// agent's failover. A node that becomes a replica gets the new primary's
// items by a full sync (its own are replaced); a replica that becomes a
// primary keeps its items and starts a new replication id (its replicas
// then sync in full: there is no PSYNC2-style history yet).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/dataplane_config.h"
#include "event_loop.h"
#include "repl_primary.h"
#include "repl_replica.h"
#include "shard_channel.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

// shm::ReplicaState::read_only's values.
inline constexpr uint32_t kWritable = 0;
inline constexpr uint32_t kReadOnlyReplica = 1;
inline constexpr uint32_t kFencedPrimary = 2;

class ReplRole {
  public:
    ReplRole(ShardChannel& channel, EventLoop& loop, const config::ReplicationConfig& cfg,
             uint32_t listen_addr, size_t n_shards, shm::ReplicaState& state);

    // The role the config gives (replica_of, or a primary serving
    // replication.port). An error text when the listener cannot start.
    std::optional<std::string> start();
    // REPLICAOF NO ONE: take writes, serve replicas (when a port is set).
    std::optional<std::string> become_primary();
    // REPLICAOF addr port: follow that primary's replication listener.
    std::optional<std::string> become_replica(uint32_t addr, uint16_t port);
    // While fenced a primary refuses writes (the owners answer READONLY).
    void set_fenced(bool fenced);
    bool fenced() const { return fenced_; }
    bool is_replica() const { return replica_ != nullptr; }

    size_t tick();
    void on_reply(const OwnerReply& r);

    // INFO replication's lines after "# Replication".
    std::string info() const;
    // The same as fields and values (fulmarctl replication).
    std::vector<std::pair<std::string, std::string>> status() const;
    // WAIT's figures (primaries only: empty / 0 otherwise).
    std::vector<uint64_t> last_seqs() const;
    size_t acked_at_least(const std::vector<uint64_t>& seqs) const;
    // CLIENT KILL TYPE master | replica.
    size_t kill_links(bool master);
    // How far this node has come (an election prefers the most caught up):
    // a replica's applied changes, a primary's logged ones, summed over the
    // shards.
    uint64_t offset() const;
    const ReplPrimary* primary() const { return primary_.get(); }
    ReplPrimary* primary() { return primary_.get(); }
    const ReplReplica* replica() const { return replica_.get(); }

  private:
    void publish();

    ShardChannel& channel_;
    EventLoop& loop_;
    const config::ReplicationConfig& cfg_;
    uint32_t listen_addr_;
    size_t n_shards_;
    shm::ReplicaState& state_;
    std::unique_ptr<ReplPrimary> primary_;
    std::unique_ptr<ReplReplica> replica_;
    bool fenced_ = false;
};

}  // namespace fulmar::controlplane
