// The partition agent's etcd store (etcd_agent_store.h).
#include "cluster/etcd_agent_store.h"

namespace fulmar::cluster {

EtcdAgentStore::EtcdAgentStore(EtcdClient& client)
    : client_(client),
      keepalives_(std::make_shared<EventQueue<KeepAliveReport>>()),
      watches_(std::make_shared<EventQueue<WatchReport>>()) {}

// The keeper and watch join their threads (bounded by the call timeout).
EtcdAgentStore::~EtcdAgentStore() = default;

void EtcdAgentStore::pump(PartitionAgent& agent, int64_t now_ms) {
    for (const auto& r : keepalives_->drain())
        agent.on_keepalive(r, now_ms);
    for (const auto& r : watches_->drain()) {
        if (r.tag == watch_tag_) agent.on_watch(r, now_ms);
    }
}

Result<LeaseGrant, EtcdStatus> EtcdAgentStore::lease_grant(int64_t ttl_s) {
    return client_.lease_grant(ttl_s);
}

Result<int64_t, EtcdStatus> EtcdAgentStore::lease_revoke(int64_t lease) {
    return client_.lease_revoke(lease);
}

Result<GetResult, EtcdStatus> EtcdAgentStore::get_prefix(std::string_view prefix) {
    return client_.get_prefix(prefix);
}

Result<int64_t, EtcdStatus> EtcdAgentStore::put(std::string_view key, std::string_view value,
                                                int64_t lease) {
    return client_.put(key, value, lease);
}

Result<int64_t, EtcdStatus> EtcdAgentStore::del(std::string_view key) {
    return client_.del(key);
}

Result<TxnResult, EtcdStatus> EtcdAgentStore::txn(const TxnRequest& request) {
    return client_.txn(request);
}

void EtcdAgentStore::keep_alive(int64_t lease, std::chrono::milliseconds period) {
    // The old lease's renewals stop first: a join that waits at most for the
    // round in flight (one call timeout), the bound on any etcd call here.
    keeper_.reset();
    keeper_ = client_.keep_alive(lease, period, keepalives_);
}

void EtcdAgentStore::watch(std::string_view prefix, int64_t start_revision) {
    watch_.reset();
    watch_ = client_.watch_prefix(std::string(prefix), start_revision, ++watch_tag_, watches_);
}

}  // namespace fulmar::cluster
