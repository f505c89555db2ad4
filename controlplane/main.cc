// fulmar-controlplane: the DPDK secondary process beside fulmar-dataplane.
// Serves memcached and Redis (RESP2, strings) over TCP on the appliance's address (reads from the
// shards' shared memory, writes through the owners' inboxes), memcached UDP
// requests that came as IP fragments, and the admin socket; exits when the
// dataplane goes away.
//
//   fulmar-controlplane -l 0 --proc-type=secondary --file-prefix P --no-pci
//       -- --config configs/local.toml
//
// The EAL main thread only starts and joins the loop thread: the loop is not
// an EAL lcore of this process, so it never uses a mempool's per-lcore cache
// (the primary's lcores own those caches; lcore ids are per process).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>

#include "admin_server.h"
#include "common/keyspace_events.h"
#include "common/process.h"
#include "config/dataplane_config.h"
#include "event_loop.h"
#include "http_server.h"
#include "mc_server.h"
#include "mc_udp_server.h"
#include "metrics_source.h"
#include "repl_role.h"
#ifdef FULMAR_HAVE_ETCD
#include "cluster_member.h"
#include "ring_member.h"
#endif
#include "shard_channel.h"
#include "store/dataplane_zone.h"
#include "sweep_driver.h"

using namespace fulmar;
using namespace fulmar::controlplane;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true);
}

int usage(const char* argv0) {
    fmt::print(stderr,
               "usage: {} <EAL args: --proc-type=secondary --file-prefix P> -- --config FILE\n",
               argv0);
    return 2;
}

// Spin this long without work before waiting in epoll: an owner's reply
// usually comes back within microseconds.
constexpr auto kSpinBeforeWait = std::chrono::microseconds(50);
// Then, while requests are at the owners: naps from 5 us doubling to 200 us
// (an owner's reply waits at most that long for us).
constexpr auto kFirstNap = std::chrono::microseconds(5);
constexpr auto kLongestNap = std::chrono::microseconds(200);
constexpr int kWaitMs = 20;
constexpr auto kPrimaryCheckEvery = std::chrono::milliseconds(200);

class ControlPlane {
  public:
    ControlPlane(const config::DataplaneConfig& cfg, store::AttachedDataplane& dp)
        : cfg_(cfg), cp_(cfg.controlplane), dp_(dp) {}

    int run() {
        shm::DataplaneShm& shm = *dp_.shm;
        // One control plane at a time: the pid slot is taken with a CAS
        // (0 -> ours). A dead predecessor's slot is released by the
        // dataplane's watch, after it has released its RCU reader ids.
        const int64_t self = ::getpid();
        for (int tries = 0;; ++tries) {
            int64_t other = 0;
            if (shm.cp.pid.compare_exchange_strong(other, self)) break;
            if (process_running(static_cast<pid_t>(other))) {
                fmt::print(stderr,
                           "fulmar-controlplane: another control plane (pid {}) is attached\n",
                           other);
                return 1;
            }
            if (tries > 200) {  // 2 s: the dataplane's watch runs every 5 ms
                fmt::print(stderr,
                           "fulmar-controlplane: the dataplane has not released dead control "
                           "plane {} (is its main lcore stuck?)\n",
                           other);
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        rcu_id_ = dp_.first_reader_thread_id();
        if (rte_rcu_qsbr_thread_register(dp_.rcu, rcu_id_) != 0) {
            fmt::print(stderr, "fulmar-controlplane: cannot register RCU reader {}\n", rcu_id_);
            shm.cp.pid.store(0);
            return 1;
        }
        // Published before going online: the dataplane's watch releases the
        // id if this process dies. Offline until the channel is attached (it
        // may wait for a dead predecessor's requests: owners must not wait
        // for us meanwhile).
        shm.cp.rcu_readers.store(1);
        const int rc = serve();
        rte_rcu_qsbr_thread_offline(dp_.rcu, rcu_id_);
        rte_rcu_qsbr_thread_unregister(dp_.rcu, rcu_id_);
        shm.cp.rcu_readers.store(0);
        shm.cp.pid.store(0);
        return rc;
    }

  private:
    int serve() {
        auto channel = ShardChannel::attach(
            *dp_.shm, dp_.shards.size(),
            ChannelLimits{.max_inflight = cp_.max_inflight, .max_backlog = cp_.max_inflight});
        if (!channel) {
            fmt::print(stderr, "fulmar-controlplane: {}\n", channel.error());
            return 1;
        }
        rte_rcu_qsbr_thread_online(dp_.rcu, rcu_id_);
        // A fresh control plane paces the sweep (a predecessor's DEBUG
        // SET-ACTIVE-EXPIRE 0 ends with it).
        dp_.shm->cp.active_expire.store(1, std::memory_order_relaxed);
        EventLoop loop;
        if (!loop.ok()) {
            fmt::print(stderr, "fulmar-controlplane: epoll: {}\n", std::strerror(errno));
            return 1;
        }
        // The TTL sweep, paced per shard through the owners' inboxes.
        SweepDriver sweep(channel.value(),
                          SweepPacerConfig{.goal = cp_.sweep_goal_percent / 100.0,
                                           .max_cpu = cp_.sweep_max_cpu_percent / 100.0,
                                           .tsc_hz = rte_get_tsc_hz()});
        const uint32_t addr = cp_.listen.value_or(cfg_.ports.at(0).ipv4.addr);
        const McServerDeps deps{
            .dp = &dp_, .channel = &channel.value(), .loop = &loop, .cfg = &cp_};
        std::unique_ptr<McServer> mc;
        if (cp_.memcached_port != 0) {
            auto s = McServer::listen(deps, addr, cp_.memcached_port);
            if (!s) {
                fmt::print(stderr, "fulmar-controlplane: {}\n", s.error());
                return 1;
            }
            mc = std::move(s.value());
        }
        // Redis (RESP2) on the same keyspace: strings (resp_session.h).
        std::unique_ptr<McServer> redis;
        if (cp_.redis_port != 0) {
            auto s = McServer::listen(deps, addr, cp_.redis_port, TcpProtocol::kResp);
            if (!s) {
                fmt::print(stderr, "fulmar-controlplane: {}\n", s.error());
                return 1;
            }
            redis = std::move(s.value());
            redis->resp_state().init(cp_, &loop, SystemClock().now(),
                                     uint64_t{cfg_.memory_per_shard_mb} * cfg_.workers.size() << 20,
                                     &dp_.shm->collections, &dp_.shm->memory, cfg_.workers.size());
            redis->add_pubsub_config();
            redis->set_eviction_flag(&dp_.shm->memory.log_evicted);
        }
        // memcached UDP requests that came as IP fragments: the kernel side
        // reassembles them on the port's address (mc_udp_server.h).
        std::unique_ptr<McUdpServer> udp;
        if (!cfg_.ports.at(0).kernel_device.empty()) {
            auto s = McUdpServer::listen(McUdpServerDeps{.dp = &dp_,
                                                         .channel = &channel.value(),
                                                         .loop = &loop,
                                                         .cfg = &cfg_,
                                                         .tcp = mc.get()},
                                         cfg_.ports.at(0).ipv4.addr, cfg_.udp_port);
            if (!s) {
                fmt::print(stderr, "fulmar-controlplane: {}\n", s.error());
                return 1;
            }
            udp = std::move(s.value());
        }
        // Replication: this node's replicas connect to its replication
        // port; or it is a replica itself (read-only: the owners refuse
        // client writes, naming the primary).
        ReplRole role(channel.value(), loop, cfg_.replication, addr, dp_.shards.size(),
                      dp_.shm->replica);
        // A partition member takes no write before etcd says it is primary.
        if (cfg_.cluster.enabled()) role.set_fenced(true);
        if (auto e = role.start()) {
            fmt::print(stderr, "fulmar-controlplane: {}\n", *e);
            return 1;
        }
        if (redis) {
            RespServerState& rs = redis->resp_state();
            rs.replication_info = [&] { return role.info(); };
            rs.kill_replication_links = [&](bool master) { return role.kill_links(master); };
            rs.replicaof = [&](std::optional<std::pair<uint32_t, uint16_t>> to) {
                return to ? role.become_replica(to->first, to->second) : role.become_primary();
            };
            rs.repl_last_seqs = [&] { return role.last_seqs(); };
            rs.repl_acked = [&](const std::vector<uint64_t>& q) { return role.acked_at_least(q); };
        }
        // [cluster]: etcd elects the partition's primary; this node follows.
        std::function<std::vector<std::pair<std::string, std::string>>()> admin_cluster;
        std::function<std::string()> admin_failover;
        std::function<void(std::span<const std::string_view>, proto::RespWriter&)> admin_ring;
#ifdef FULMAR_HAVE_ETCD
        std::unique_ptr<ClusterMember> member;
        std::unique_ptr<RingMember> ring;
        if (cfg_.cluster.enabled()) {
            const config::ClusterConfig& cl = cfg_.cluster;
            const std::string advertise =
                cl.advertise_addr
                    ? fmt::format("{}:{}", config::format_ipv4(*cl.advertise_addr),
                                  cl.advertise_port)
                    : fmt::format("{}:{}", config::format_ipv4(cfg_.ports.at(0).ipv4.addr),
                                  cfg_.replication.port);
            auto m = ClusterMember::create(cfg_, role, loop, dp_.shm->services, advertise);
            if (!m) {
                fmt::print(stderr, "fulmar-controlplane: {}\n", m.error());
                return 1;
            }
            member = std::move(m.value());
            admin_cluster = [&] { return member->status(); };
            admin_failover = [&] { return member->start_switchover(); };
            auto r = RingMember::create(
                RingMember::Deps{.cfg = cfg_,
                                 .etcd = member->etcd(),
                                 .channel = channel.value(),
                                 .loop = loop,
                                 .role = role,
                                 .ring = dp_.shm->ring,
                                 .n_shards = dp_.shards.size(),
                                 .may_write = [&] { return member->may_write(); }});
            if (!r) {
                fmt::print(stderr, "fulmar-controlplane: {}\n", r.error());
                return 1;
            }
            ring = std::move(r.value());
            admin_ring = [&](std::span<const std::string_view> a, proto::RespWriter& w) {
                ring->admin(a, w);
            };
        }
#else
        if (cfg_.cluster.enabled()) {
            fmt::print(stderr,
                       "fulmar-controlplane: [cluster] needs the etcd client, and this build has "
                       "none (meson -Detcd=enabled; tools/fulmar setup installs gRPC)\n");
            return 1;
        }
#endif
        const auto admin_replication = [&] { return role.status(); };
        auto admin = AdminServer::listen(AdminDeps{
            .dp = &dp_,
            .loop = &loop,
            .cfg = &cfg_,
            .mc = mc.get(),
            .udp = udp.get(),
            .channel = &channel.value(),
            .sweep = &sweep,
            .cluster_status = admin_cluster,
            .replication_status = admin_replication,
            .failover = admin_failover,
            .repl_offsets = [&] { return role.last_seqs(); },
            .repl_acked = [&](const std::vector<uint64_t>& q) { return role.acked_at_least(q); },
            .ring = admin_ring});
        if (!admin) {
            fmt::print(stderr, "fulmar-controlplane: {}\n", admin.error());
            return 1;
        }
        // Prometheus: GET /metrics on the listen address.
        MetricsSource metrics_source(dp_, channel.value(), mc.get(), udp.get(), &sweep.pacer());
        if (redis) {
            redis->resp_state().metrics = &metrics_source;  // INFO's figures
            redis->resp_state().set_active_expire = [&sweep, this](bool on) {
                sweep.set_active(on);
                dp_.shm->cp.active_expire.store(on ? 1 : 0, std::memory_order_relaxed);
            };
        }
        std::unique_ptr<HttpServer> metrics;
        if (cp_.metrics_port != 0) {
            auto s = HttpServer::listen(loop, addr, cp_.metrics_port);
            if (!s) {
                fmt::print(stderr, "fulmar-controlplane: metrics: {}\n", s.error());
                return 1;
            }
            metrics = std::move(s.value());
            metrics->route("/metrics", std::string(kMetricsContentType),
                           [&] { return render_metrics(metrics_source.snapshot()); });
        }
        const std::string ip = config::format_ipv4(addr);
        if (metrics)
            fmt::print("fulmar-controlplane: Prometheus metrics on http://{}:{}/metrics\n", ip,
                       metrics->port());
        if (mc)
            fmt::print("fulmar-controlplane: serving memcached over TCP on {}:{}\n", ip,
                       mc->port());
        if (redis)
            fmt::print("fulmar-controlplane: serving Redis (RESP2) over TCP on {}:{}\n", ip,
                       redis->port());
        if (udp)
            fmt::print(
                "fulmar-controlplane: serving memcached over UDP on {}:{} (requests that came "
                "as IP fragments)\n",
                config::format_ipv4(cfg_.ports.at(0).ipv4.addr), udp->port());
        fmt::print("fulmar-controlplane: admin socket {} (fulmarctl, redis-cli -s)\n",
                   cp_.admin_socket);
        fmt::print("fulmar-controlplane: ready\n");
        std::fflush(stdout);

        SystemClock clock;
        auto last_work = std::chrono::steady_clock::now();
        auto last_check = last_work;
        std::chrono::microseconds nap{0};
        while (!g_stop.load(std::memory_order_relaxed)) {
            const auto now = std::chrono::steady_clock::now();
            if (now - last_check >= kPrimaryCheckEvery) {
                last_check = now;
                if (!rte_eal_primary_proc_alive(nullptr)) {
                    fmt::print(stderr,
                               "fulmar-controlplane: the dataplane (pid {}) is gone; exiting\n",
                               dp_.shm->primary_pid);
                    return 3;
                }
            }
            // Redis's expired and evicted events come with the sweep steps.
            sweep.set_want_keys(redis && redis->wants_events(kNotifyExpired),
                                redis && redis->wants_events(kNotifyEvicted));
            sweep.tick(SweepDriver::clock_now());
            size_t sweep_replies = 0;
            size_t work = channel.value().poll([&](const OwnerReply& r) {
                if ((r.ticket & kAdminTicketBit) != 0) {
                    admin.value()->on_reply(r);
                } else if ((r.ticket & kUdpTicketBit) != 0) {
                    udp->on_reply(r);
                } else if ((r.ticket & kSweepTicketBit) != 0) {
                    sweep.on_reply(r, SweepDriver::clock_now());
                    if (redis) redis->publish_expired(r);
                    ++sweep_replies;
                } else if ((r.ticket & kReplTicketBit) != 0) {
                    role.on_reply(r);
#ifdef FULMAR_HAVE_ETCD
                } else if ((r.ticket & kRingTicketBit) != 0) {
                    if (ring) ring->on_reply(r);
#endif
                } else if ((r.ticket & kRespTicketBit) != 0) {
                    if (redis) redis->on_reply(r);
                } else if (mc) {
                    mc->on_reply(r);
                }
            });
            // A sweep step's reply is no client's work: it does not keep the
            // loop spinning (the owner answers it within its next loop).
            work -= sweep_replies;
            const bool busy = channel.value().inflight() != 0 || channel.value().backlog() != 0;
            const bool spin = now - last_work < kSpinBeforeWait;
            if (busy && !spin) {
                // Requests at the owners, none answered for a while (a busy
                // or sleeping worker): back off in short naps, not a spin
                // that takes a core the workers and clients need.
                loop.wait(0);
                work += static_cast<size_t>(loop.dispatch(&ControlPlane::quiescent, this));
                if (work == 0) {
                    nap = std::min(nap == std::chrono::microseconds(0) ? kFirstNap : nap * 2,
                                   kLongestNap);
                    rte_rcu_qsbr_thread_offline(dp_.rcu, rcu_id_);
                    std::this_thread::sleep_for(nap);
                    rte_rcu_qsbr_thread_online(dp_.rcu, rcu_id_);
                }
            } else if (!spin) {
                // Asleep in epoll, this thread holds no item: owners' page
                // moves need not wait for it. Online again before any
                // handler runs: handlers read shards.
                rte_rcu_qsbr_thread_offline(dp_.rcu, rcu_id_);
                loop.wait(std::min(kWaitMs, sweep.wait_ms(SweepDriver::clock_now())));
                rte_rcu_qsbr_thread_online(dp_.rcu, rcu_id_);
                work += static_cast<size_t>(loop.dispatch(&ControlPlane::quiescent, this));
            } else {
                loop.wait(0);
                work += static_cast<size_t>(loop.dispatch(&ControlPlane::quiescent, this));
            }
            work += role.tick();
#ifdef FULMAR_HAVE_ETCD
            if (member) member->tick();
            if (ring) ring->tick();
#endif
            if (redis) redis->resp_state().check_waits();
            if (mc) mc->tick(clock.now());
            if (redis) redis->tick(clock.now());
            if (udp) udp->tick(clock.now());
            admin.value()->tick();
            if (metrics) metrics->tick();
            rte_rcu_qsbr_quiescent(dp_.rcu, rcu_id_);
            if (work != 0) {
                last_work = std::chrono::steady_clock::now();
                nap = std::chrono::microseconds(0);
            }
        }
        return 0;
    }

    // After each event's handler: it holds no item any more, so owners'
    // grace periods need not wait for the rest of the batch.
    static void quiescent(void* self) {
        auto* cp = static_cast<ControlPlane*>(self);
        rte_rcu_qsbr_quiescent(cp->dp_.rcu, cp->rcu_id_);
    }

    const config::DataplaneConfig& cfg_;
    const config::ControlplaneConfig& cp_;
    store::AttachedDataplane& dp_;
    unsigned rcu_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    const int eal_used = rte_eal_init(argc, argv);
    if (eal_used < 0) {
        fmt::print(stderr,
                   "fulmar-controlplane: EAL init failed: {} (is fulmar-dataplane running "
                   "with this --file-prefix?)\n",
                   rte_strerror(rte_errno));
        return 1;
    }
    if (rte_eal_process_type() != RTE_PROC_SECONDARY) {
        fmt::print(stderr,
                   "fulmar-controlplane: run it as a DPDK secondary (--proc-type=secondary, "
                   "the dataplane's --file-prefix)\n");
        rte_eal_cleanup();
        return 2;
    }
    argc -= eal_used;
    argv += eal_used;
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else
            return usage(argv[0]);
    }
    if (config_path.empty()) return usage(argv[0]);
    auto loaded = config::load_config_file(config_path);
    if (!loaded) {
        fmt::print(stderr, "fulmar-controlplane: {}: {}\n", config_path, loaded.error().message);
        return 1;
    }
    auto dp = store::attach_dataplane();
    if (!dp) {
        fmt::print(stderr, "fulmar-controlplane: {}\n", dp.error());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    std::thread loop([&] { rc = ControlPlane(loaded.value(), dp.value()).run(); });
    loop.join();
    return rc;
}
