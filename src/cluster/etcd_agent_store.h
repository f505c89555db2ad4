// EtcdAgentStore: the PartitionAgent's ClusterStore on a real etcd — the
// client's deadline-bounded calls, plus the agent's one lease keeper and one
// prefix watch, whose reports arrive through two eventfds.
//
// Owner: the agent's thread (the control plane's epoll loop). Register
// keepalive_fd() and watch_fd() for EPOLLIN once (they stay the same across
// replaced keepers and watches) and call pump() when either is readable,
// besides the agent's ~100 ms tick.
#pragma once

#include <cstdint>
#include <memory>

#include "cluster/etcd_client.h"
#include "cluster/partition_agent.h"

namespace fulmar::cluster {

class EtcdAgentStore final : public ClusterStore {
  public:
    explicit EtcdAgentStore(EtcdClient& client);
    ~EtcdAgentStore() override;

    // False if an eventfd could not be made; the store must not be used.
    bool valid() const { return keepalives_->valid() && watches_->valid(); }
    int keepalive_fd() const { return keepalives_->fd(); }
    int watch_fd() const { return watches_->fd(); }
    // Feeds every waiting report to `agent`, dropping those of replaced
    // watches.
    void pump(PartitionAgent& agent, int64_t now_ms);

    Result<LeaseGrant, EtcdStatus> lease_grant(int64_t ttl_s) override;
    Result<int64_t, EtcdStatus> lease_revoke(int64_t lease) override;
    Result<GetResult, EtcdStatus> get_prefix(std::string_view prefix) override;
    Result<int64_t, EtcdStatus> put(std::string_view key, std::string_view value,
                                    int64_t lease) override;
    Result<int64_t, EtcdStatus> del(std::string_view key) override;
    Result<TxnResult, EtcdStatus> txn(const TxnRequest& request) override;
    void keep_alive(int64_t lease, std::chrono::milliseconds period) override;
    void watch(std::string_view prefix, int64_t start_revision) override;

  private:
    EtcdClient& client_;
    std::shared_ptr<EventQueue<KeepAliveReport>> keepalives_;
    std::shared_ptr<EventQueue<WatchReport>> watches_;
    std::unique_ptr<LeaseKeeper> keeper_;
    std::unique_ptr<EtcdWatch> watch_;
    uint64_t watch_tag_ = 0;
};

}  // namespace fulmar::cluster
