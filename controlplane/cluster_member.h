// This node as a member of its partition ([cluster]): the etcd agent
// (cluster/partition_agent.h) driven from the control plane's loop, and
// its decisions carried out here: the role (ReplRole: primary, replica of
// the elected primary, fenced) and the partition's service address
// (service_address.h: served and announced by the primary only).
//
// Owned by the control plane's loop thread. The agent's etcd calls are
// synchronous with a short deadline (call_timeout, 250 ms): while etcd is
// unreachable a tick can hold the loop that long (TCP clients wait; the
// dataplane's UDP service does not). The lease keeper and the watch run on
// their own threads and report through two eventfds registered here.
//
//   agent event         what this node does
//   became_primary      REPLICAOF NO ONE (serve replicas), take the service address
//   became_replica(P)   drop the service address, replicate P (full sync)
//   stepped_down        drop the service address, refuse writes
//   fenced / unfenced   refuse / take writes (the lease may lapse / was renewed)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/etcd_agent_store.h"
#include "cluster/etcd_client.h"
#include "cluster/partition_agent.h"
#include "common/result.h"
#include "config/dataplane_config.h"
#include "event_loop.h"
#include "repl_role.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

class ClusterMember final : public EventHandler {
  public:
    // `advertise`: where replicas reach this node's replication listener.
    static Result<std::unique_ptr<ClusterMember>, std::string> create(
        const config::DataplaneConfig& cfg, ReplRole& role, EventLoop& loop,
        shm::ServiceAddrs& services, std::string advertise);
    ~ClusterMember() override;

    void on_event(uint32_t events) override;  // a keepalive or watch report
    // Every loop turn (it ticks the agent every kTickMs).
    void tick();

    // A planned switchover (fulmarctl failover): writes are refused from
    // now on; once a replica acknowledged every write, this primary gives up
    // its key and the most caught-up replica is elected (nothing is lost);
    // after kSwitchoverWaitMs without such a replica it is called off and
    // writes resume. "" when started, else why not.
    std::string start_switchover();

    // This node is its partition's primary and may take writes now (no
    // switchover under way): what the ring's moves need.
    bool may_write() const;
    cluster::EtcdClient& etcd() { return *client_; }

    // fulmarctl cluster status: field, value.
    std::vector<std::pair<std::string, std::string>> status() const;

  private:
    ClusterMember(const config::DataplaneConfig& cfg, ReplRole& role, EventLoop& loop,
                  shm::ServiceAddrs& services);
    void take_address();
    void drop_address();
    void log(std::string_view text) const;

    const config::DataplaneConfig& cfg_;
    ReplRole& role_;
    EventLoop& loop_;
    shm::ServiceAddrs& services_;
    std::unique_ptr<cluster::EtcdClient> client_;
    std::unique_ptr<cluster::EtcdAgentStore> store_;
    std::unique_ptr<cluster::PartitionAgent> agent_;
    int64_t next_tick_ms_ = 0;
    bool have_address_ = false;
    std::string primary_address_;       // the elected primary's advertised address
    uint64_t failovers_ = 0;            // times this node became primary
    int64_t switchover_since_ms_ = -1;  // >= 0: a switchover waits for a replica
    std::string switchover_note_;       // how the last one went
};

}  // namespace fulmar::controlplane
