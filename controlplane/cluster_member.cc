#include "cluster_member.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "config/address_text.h"
#include "service_address.h"

namespace fulmar::controlplane {
namespace {

constexpr int64_t kTickMs = 50;
constexpr int64_t kSwitchoverWaitMs = 5000;
// Writes refused this long before the replicas' acknowledgements count:
// a write an owner was running when the fence went up is logged by then.
constexpr int64_t kSwitchoverSettleMs = 50;

int64_t mono_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

ClusterMember::ClusterMember(const config::DataplaneConfig& cfg, ReplRole& role, EventLoop& loop,
                             shm::ServiceAddrs& services)
    : cfg_(cfg), role_(role), loop_(loop), services_(services) {}

ClusterMember::~ClusterMember() {
    if (store_) {
        loop_.remove(store_->keepalive_fd());
        loop_.remove(store_->watch_fd());
    }
}

Result<std::unique_ptr<ClusterMember>, std::string> ClusterMember::create(
    const config::DataplaneConfig& cfg, ReplRole& role, EventLoop& loop,
    shm::ServiceAddrs& services, std::string advertise) {
    const config::ClusterConfig& cl = cfg.cluster;
    if (cl.service_address) {
        if (std::string why = tcp_follow_problem(cfg); !why.empty())
            return Err(fmt::format("cluster.service_address: {}", why));
    }
    std::unique_ptr<ClusterMember> m(new ClusterMember(cfg, role, loop, services));
    auto client = cluster::EtcdClient::create(
        cluster::EtcdOptions{.endpoints = cl.etcd, .call_timeout = std::chrono::milliseconds(250)});
    if (!client) return Err(std::string("cluster.etcd: endpoints etcd's client cannot use"));
    m->client_ = std::move(client.value());
    m->store_ = std::make_unique<cluster::EtcdAgentStore>(*m->client_);
    if (!m->store_->valid()) return Err(std::string("cluster: no eventfd"));
    cluster::AgentConfig ac;
    ac.partition = cl.partition;
    ac.node_id = cl.node_id;
    ac.address = std::move(advertise);
    ac.ttl = std::chrono::milliseconds(cl.lease_ms);
    // Candidates learn of a lapsed primary from one watch event, within
    // milliseconds of each other on a LAN: 150 ms is room enough for their
    // offsets to be in, and half the agent's default off a failover.
    ac.settle = std::chrono::milliseconds(150);
    if (std::string why = cluster::agent_config_error(ac); !why.empty())
        return Err(fmt::format("cluster: {}", why));
    ClusterMember* self = m.get();
    cluster::AgentCallbacks cb;
    cb.became_primary = [self](uint64_t epoch) {
        self->log(fmt::format("primary of {} at epoch {}", self->cfg_.cluster.partition, epoch));
        ++self->failovers_;
        self->primary_address_.clear();
        if (auto e = self->role_.become_primary()) self->log(*e);
        self->take_address();
    };
    cb.became_replica = [self](const std::string& primary, uint64_t epoch) {
        self->log(fmt::format("replica of {} at epoch {}", primary, epoch));
        self->drop_address();
        self->primary_address_ = primary;
        const size_t colon = primary.rfind(':');
        const auto addr = colon == std::string::npos
                              ? std::nullopt
                              : config::parse_ipv4(std::string_view(primary).substr(0, colon));
        uint64_t port = 0;
        if (!addr || std::sscanf(primary.c_str() + colon + 1, "%lu", &port) != 1 || port == 0 ||
            port > 65535) {
            self->log(fmt::format("the primary's address '{}' is not A.B.C.D:port", primary));
            return;
        }
        const ReplReplica* r = self->role_.replica();
        if (r != nullptr && r->primary() == primary) return;  // already following it
        if (auto e = self->role_.become_replica(*addr, static_cast<uint16_t>(port))) self->log(*e);
    };
    cb.stepped_down = [self](uint64_t epoch) {
        self->log(fmt::format("no longer primary (epoch {})", epoch));
        self->drop_address();
        self->role_.set_fenced(true);
    };
    cb.fenced = [self] {
        self->log("fenced: the lease may lapse before it is renewed; writes refused");
        self->role_.set_fenced(true);
    };
    cb.unfenced = [self] {
        if (self->switchover_since_ms_ < 0) self->role_.set_fenced(false);
    };
    cb.replication_offset = [self] { return self->role_.offset(); };
    cb.log = [self](std::string_view text) { self->log(text); };
    // Until the agent says this node is primary, it takes no write.
    role.set_fenced(true);
    m->agent_ = std::make_unique<cluster::PartitionAgent>(std::move(ac), *m->store_, std::move(cb));
    for (const int fd : {m->store_->keepalive_fd(), m->store_->watch_fd()})
        if (!loop.add(fd, EPOLLIN, m.get())) return Err(std::string("cluster: epoll"));
    return m;
}

void ClusterMember::on_event(uint32_t) {
    const int64_t now = mono_ms();
    store_->pump(*agent_, now);
    agent_->tick(now);
}

void ClusterMember::tick() {
    const int64_t now = mono_ms();
    if (now < next_tick_ms_) return;
    next_tick_ms_ = now + kTickMs;
    store_->pump(*agent_, now);
    agent_->tick(now);
    if (switchover_since_ms_ >= 0) {
        const ReplPrimary* p = role_.primary();
        const bool caught_up = p != nullptr && now >= switchover_since_ms_ + kSwitchoverSettleMs &&
                               p->acked_at_least(p->last_seqs()) >= 1;
        if (caught_up) {
            switchover_since_ms_ = -1;
            if (agent_->resign(now, 3 * int64_t{cfg_.cluster.lease_ms})) {
                switchover_note_ = "handed over: a replica had every write";
                log(switchover_note_);
            } else {
                switchover_note_ = "etcd refused the resignation; writes resume";
                role_.set_fenced(!agent_->may_write(now));
            }
        } else if (now >= switchover_since_ms_ + kSwitchoverWaitMs ||
                   agent_->role() != cluster::PartitionAgent::Role::kPrimary) {
            switchover_since_ms_ = -1;
            switchover_note_ = "called off: no replica caught up in time; writes resume";
            log(switchover_note_);
            role_.set_fenced(!agent_->may_write(now));
        }
        return;
    }
    // The agent reports fencing at its ticks; the owners check what the
    // role published, so keep it in step at ours too.
    const bool may = agent_->may_write(now);
    if (agent_->role() == cluster::PartitionAgent::Role::kPrimary && may == role_.fenced())
        role_.set_fenced(!may);
}

bool ClusterMember::may_write() const {
    return switchover_since_ms_ < 0 && agent_->may_write(mono_ms()) && !role_.fenced();
}

std::string ClusterMember::start_switchover() {
    if (agent_->role() != cluster::PartitionAgent::Role::kPrimary)
        return "this node is not the partition's primary: run it there";
    if (switchover_since_ms_ >= 0) return "a switchover is under way";
    const ReplPrimary* p = role_.primary();
    if (p == nullptr || p->n_replicas() == 0) return "no replica is connected to take over";
    role_.set_fenced(true);
    switchover_since_ms_ = mono_ms();
    switchover_note_ = "under way: writes refused until a replica has them all";
    log(switchover_note_);
    return "";
}

void ClusterMember::take_address() {
    if (!cfg_.cluster.service_address || have_address_) return;
    const uint32_t be = __builtin_bswap32(*cfg_.cluster.service_address);
    const ServiceAddrResult r = add_service_address(services_, be);
    if (r.ok() || r.status == ServiceAddrStatus::kAlreadyServed)
        have_address_ = true;
    else
        log(fmt::format("cannot take the service address: {}", r.error));
}

void ClusterMember::drop_address() {
    if (!cfg_.cluster.service_address) return;
    const uint32_t be = __builtin_bswap32(*cfg_.cluster.service_address);
    // Also an address a previous control plane of this node left served.
    const ServiceAddrResult r = remove_service_address(services_, be);
    if (!r.ok() && r.status != ServiceAddrStatus::kNotServed)
        log(fmt::format("cannot drop the service address: {}", r.error));
    have_address_ = false;
}

void ClusterMember::log(std::string_view text) const {
    fmt::print("fulmar-controlplane: cluster {}/{}: {}\n", cfg_.cluster.partition,
               cfg_.cluster.node_id, text);
    std::fflush(stdout);
}

std::vector<std::pair<std::string, std::string>> ClusterMember::status() const {
    const int64_t now = mono_ms();
    const auto role = agent_->role();
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("partition", cfg_.cluster.partition);
    out.emplace_back("node", cfg_.cluster.node_id);
    out.emplace_back("role", std::string(cluster::PartitionAgent::role_name(role)));
    out.emplace_back("epoch", std::to_string(agent_->epoch()));
    out.emplace_back("primary", role == cluster::PartitionAgent::Role::kPrimary
                                    ? std::string("(this node)")
                                : primary_address_.empty() ? std::string("(none)")
                                                           : primary_address_);
    out.emplace_back("may_write", agent_->may_write(now) ? "yes" : "no");
    const int64_t left = agent_->fence_deadline_ms() - now;
    out.emplace_back("lease_left_ms", role == cluster::PartitionAgent::Role::kPrimary
                                          ? std::to_string(left > 0 ? left : 0)
                                          : std::string("-"));
    out.emplace_back("offset", std::to_string(role_.offset()));
    // Replication lag: a replica's own, or the largest of a primary's
    // replicas' (their lines in INFO replication).
    uint64_t lag_us = 0;
    for (const auto& [k, v] : role_.status()) {
        if (k == "replica_lag_us")
            lag_us = std::max<uint64_t>(lag_us, std::strtoull(v.c_str(), nullptr, 10));
        const size_t at = v.find("lag_us=");
        if (k.starts_with("slave") && at != std::string::npos)
            lag_us = std::max<uint64_t>(lag_us, std::strtoull(v.c_str() + at + 7, nullptr, 10));
    }
    out.emplace_back("lag_us", std::to_string(lag_us));
    out.emplace_back("service_address",
                     cfg_.cluster.service_address
                         ? fmt::format("{}{}", config::format_ipv4(*cfg_.cluster.service_address),
                                       have_address_ ? " (served here)" : "")
                         : std::string("-"));
    out.emplace_back("became_primary", std::to_string(failovers_));
    out.emplace_back("switchover", switchover_note_.empty() ? std::string("-") : switchover_note_);
    if (const ReplReplica* r = role_.replica()) {
        out.emplace_back("link", r->link_up() ? "up" : "down");
        out.emplace_back("syncing", r->syncing() ? "yes" : "no");
    }
    if (const ReplPrimary* p = role_.primary())
        out.emplace_back("replicas", std::to_string(p->n_replicas()));
    return out;
}

}  // namespace fulmar::controlplane
