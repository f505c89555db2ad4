// PartitionAgent: one node's view of one partition's leadership in etcd —
// who is primary at which epoch, whether this node may take writes now
// (fencing), and the election that replaces a primary whose lease lapsed.
//
// Owner: one thread (the control plane's epoll loop). The agent does no I/O
// of its own and never reads a clock: it calls a ClusterStore (short,
// deadline-bounded etcd calls; EtcdAgentStore in production, a fake in unit
// tests), is told the time on every call, and is fed the lease keeper's and
// the watch's reports by its owner. Same inputs, same decisions.
//
// etcd keys, under <root><partition>/ (root "/fulmar/partitions/"):
//   primary            "<epoch> <node id> <address>", attached to the
//                      primary's lease: it vanishes when the lease lapses
//   epoch              "<epoch>", decimal, no lease: survives every primary
//   candidates/<node>  "<replication offset>", attached to the candidate's
//                      lease, published while there is no primary
//
// Election: a node with no primary in sight publishes its candidate key,
// waits `settle`, and, when no live candidate is more caught up (higher
// offset; on a tie the smaller node id), runs one Txn: if `primary` does not
// exist (MOD revision 0) and `epoch` is the one it read (same MOD revision),
// write epoch + 1, write `primary` on its lease, delete its candidate key.
// etcd serialises Txns, so at most one node wins an epoch.
//
// Fencing: a lease lives at least TTL after etcd received the last renewal,
// and etcd received it after we sent it; so it cannot expire before
// (send time of the last successful renewal) + TTL. may_write() is false from
// that instant minus `fence_margin` (which covers the time between the
// control plane's check and the write's execution, and clock rate error).
// A new primary needs the old `primary` key gone, which needs the old lease
// expired: by then the old primary has refused writes for `fence_margin`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/etcd_types.h"
#include "common/result.h"

namespace fulmar::cluster {

// The etcd calls the agent makes, all on its owner thread, each bounded by a
// short deadline. keep_alive() and watch() start background work whose
// reports the owner feeds back (on_keepalive, on_watch).
class ClusterStore {
  public:
    virtual ~ClusterStore() = default;
    virtual Result<LeaseGrant, EtcdStatus> lease_grant(int64_t ttl_s) = 0;
    virtual Result<int64_t, EtcdStatus> lease_revoke(int64_t lease) = 0;
    virtual Result<GetResult, EtcdStatus> get_prefix(std::string_view prefix) = 0;
    virtual Result<int64_t, EtcdStatus> put(std::string_view key, std::string_view value,
                                            int64_t lease) = 0;
    virtual Result<int64_t, EtcdStatus> del(std::string_view key) = 0;
    virtual Result<TxnResult, EtcdStatus> txn(const TxnRequest& request) = 0;
    // Renew `lease` every `period` from now on (replacing any earlier lease's
    // renewal); reports go to PartitionAgent::on_keepalive.
    virtual void keep_alive(int64_t lease, std::chrono::milliseconds period) = 0;
    // Watch `prefix` from `start_revision` (replacing any earlier watch);
    // reports of this watch only go to PartitionAgent::on_watch.
    virtual void watch(std::string_view prefix, int64_t start_revision) = 0;
};

struct AgentConfig {
    std::string root = "/fulmar/partitions/";
    std::string partition;
    std::string node_id;  // unique in the cluster; no '/', no white space
    std::string address;  // where replicas reach this node as primary; no white space
    // Lease TTL. etcd raises anything shorter than about 2 s (its minimum
    // is its election timeout); failover cannot be quicker than this.
    std::chrono::milliseconds ttl{3000};
    std::chrono::milliseconds fence_margin{500};
    // How long a candidate waits after publishing, so that the others'
    // offsets are in before it judges who is most caught up.
    std::chrono::milliseconds settle{300};
};

// Returns an empty string when the configuration is usable, else why not.
std::string agent_config_error(const AgentConfig& config);

struct AgentCallbacks {
    std::function<void(uint64_t epoch)> became_primary;
    std::function<void(const std::string& primary_address, uint64_t epoch)> became_replica;
    // Was primary and no longer is: a higher epoch, our key gone, our lease lost.
    std::function<void(uint64_t old_epoch)> stepped_down;
    // Edges of may_write(): unfenced when writes become allowed (also on
    // becoming primary), fenced when they stop (fence deadline, step-down).
    // Seen at tick granularity: the control plane checks may_write() per write.
    std::function<void()> fenced;
    std::function<void()> unfenced;
    // This node's replication offset (how much of the primary's stream it
    // has applied), read when it becomes a candidate.
    std::function<uint64_t()> replication_offset;
    std::function<void(std::string_view)> log;
};

class PartitionAgent {
  public:
    enum class Role : uint8_t { kStarting, kCandidate, kReplica, kPrimary };

    // `config` must pass agent_config_error(); `store` outlives the agent.
    PartitionAgent(AgentConfig config, ClusterStore& store, AgentCallbacks callbacks);

    // Call every ~100 ms (a tenth of the renew period) and after feeding
    // reports: acquires a lease, reads the partition's keys, runs elections,
    // and fires fenced() when the fence deadline passes.
    void tick(int64_t now_ms);
    // A planned switchover: the primary gives up its key (the others elect
    // the most caught-up among them) and does not stand as a candidate for
    // `hold_ms`. The caller has made sure a replica has every write first.
    // False when this node is not primary or etcd refused.
    bool resign(int64_t now_ms, int64_t hold_ms);
    void on_keepalive(const KeepAliveReport& report, int64_t now_ms);
    // Reports of the watch last asked for (the owner drops a replaced
    // watch's reports by their tag).
    void on_watch(const WatchReport& report, int64_t now_ms);

    // True only for the primary, until its fence deadline.
    bool may_write(int64_t now_ms) const {
        return role_ == Role::kPrimary && now_ms < fence_deadline_ms();
    }
    int64_t fence_deadline_ms() const { return renewed_until_ms_ - config_.fence_margin.count(); }
    Role role() const { return role_; }
    // The epoch of the primary this node follows or is; 0 before any.
    uint64_t epoch() const { return primary_ ? primary_->epoch : 0; }
    int64_t lease() const { return lease_; }
    std::string primary_key() const { return prefix_ + "primary"; }
    std::string epoch_key() const { return prefix_ + "epoch"; }
    std::string candidate_key(std::string_view node) const;
    const std::string& prefix() const { return prefix_; }

    static std::string_view role_name(Role role);

  private:
    struct Primary {
        uint64_t epoch = 0;
        std::string node;
        std::string address;
        int64_t lease = 0;
        int64_t mod_revision = 0;
    };
    struct Candidate {
        uint64_t offset = 0;
        int64_t mod_revision = 0;
    };

    void acquire_lease(int64_t now_ms);
    void read_snapshot(int64_t now_ms);
    void apply_kv(const KeyValue& kv, bool deleted);
    void settle_role(int64_t now_ms);
    void campaign(int64_t now_ms);
    void become_primary(uint64_t epoch, int64_t now_ms);
    void step_down(std::string_view why, int64_t now_ms);
    void lease_lost(int64_t now_ms);
    void update_fence(int64_t now_ms);
    bool most_caught_up() const;
    void note(std::string_view text) const;
    bool failed(EtcdStatus status, std::string_view what, int64_t now_ms);

    AgentConfig config_;
    ClusterStore& store_;
    AgentCallbacks cb_;
    std::string prefix_;  // <root><partition>/
    int64_t retry_ms_;    // pause after a failed etcd call: the renew period

    Role role_ = Role::kStarting;
    int64_t lease_ = 0;
    int64_t renewed_until_ms_ = 0;   // the lease cannot expire before this
    bool renewals_failing_ = false;  // for the log: one line per outage
    int64_t next_try_ms_ = 0;        // no etcd call (but renewals) before this
    int64_t hold_until_ms_ = 0;      // resigned: no candidacy before this
    bool need_snapshot_ = true;

    std::optional<Primary> primary_;
    int64_t primary_revision_ = 0;  // revision of what primary_ reflects (put or delete)
    uint64_t epoch_value_ = 0;      // the epoch key's value
    int64_t epoch_revision_ = 0;    // its MOD revision (0: absent)
    bool epoch_valid_ = true;       // false: the key holds no number; no elections
    std::map<std::string, Candidate, std::less<>> candidates_;

    bool published_ = false;  // our candidate key is in etcd
    uint64_t my_offset_ = 0;
    int64_t published_ms_ = 0;
    uint64_t my_epoch_ = 0;   // the epoch we were last primary of
    bool writable_ = false;   // may_write() as last reported through fenced/unfenced
    std::string replica_of_;  // address last reported through became_replica
    uint64_t replica_epoch_ = 0;
};

}  // namespace fulmar::cluster
