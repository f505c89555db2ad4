// fulmar-dataplane: the DPDK primary process. Serves memcached over UDP from
// worker lcores that each own one shard, and creates the shared memory a
// secondary process (the control plane) attaches to (shm/layout.h).
//
//   fulmar-dataplane <EAL args> -- --config configs/local.toml [--ready-file PATH]
//   fulmar-dataplane --list-config            (the config keys, no EAL)
//
// --ready-file: written (the pid, atomically) once the ports are started and
// every worker runs, removed at exit. A launcher waits for it before it
// touches the interfaces: a net_tap interface moved to another namespace
// while the PMD still sets up its queues gets a twin in the old namespace,
// and then nothing is answered (tools/fulmar up did that once).
//
// main() is build -> run -> teardown. Build validates the configuration
// against EAL into a per-lcore table (lcore, worker, port, queue), as l3fwd
// does, then creates everything from it; run launches the workers and, on
// the main lcore, only manages (link state, signals); teardown stops the
// workers, prints the counters and frees everything in reverse order (the
// Dataplane's members are declared in build order).
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/core.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "channels.h"
#include "common/process.h"
#include "config/address_text.h"
#include "config/dataplane_config.h"
#include "lcore_table.h"
#include "port.h"
#include "repl/mutation_log.h"
#include "store/dataplane_zone.h"
#include "store/digest.h"
#include "telemetry.h"
#include "worker.h"

using namespace fulmar;
using namespace fulmar::dataplane;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

int usage(const char* argv0) {
    fmt::print(stderr,
               "usage: {} <EAL args> -- --config FILE [--ready-file PATH]\n"
               "       {} --list-config\n",
               argv0, argv0);
    return 2;
}

// Writes our pid to `path` by a rename, so a reader never sees half a file.
bool write_ready_file(const std::string& path) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return false;
    const bool ok = std::fprintf(f, "%d\n", static_cast<int>(getpid())) > 0;
    if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

int launch_worker(void* arg) {
    return static_cast<Worker*>(arg)->run();
}

// Everything the process builds, in build order: destroyed in reverse.
struct Dataplane {
    std::vector<LcoreConf> lcores;
    Port port;
    bool port_open = false;
    store::DataplaneZones zones;
    std::vector<std::unique_ptr<store::Shard>> shard_owners;
    std::vector<store::Shard*> shards;
    std::vector<store::ShardView> views;
    std::vector<store::Region> log_zones;  // the shards' mutation logs
    std::vector<repl::LogShared*> logs;
    Channels channels;
    std::vector<std::unique_ptr<Worker>> workers;

    Dataplane() = default;
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;
    ~Dataplane() {
        workers.clear();
        free_channels(channels);
        shard_owners.clear();
        zones = store::DataplaneZones();
        if (port_open) close_port(port);
    }
};

void print_serving(const config::DataplaneConfig& cfg, const Dataplane& dp) {
    const Port& port = dp.port;
    const auto& mac = port.addr.mac.addr_bytes;
    const size_t n_workers = dp.lcores.size();
    fmt::print(
        "fulmar-dataplane: {} port {} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} "
        "serving {}:{}{} with {} worker(s){}, checksums: TX {} RX {}\n",
        port.name, port.port_id, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
        config::format_ipv4(cfg.ports[0].ipv4.addr), cfg.udp_port,
        cfg.ports[0].vlan ? fmt::format(" on VLAN {}", *cfg.ports[0].vlan) : std::string(),
        n_workers,
        port.rss
            ? ", RSS"
            : (n_workers > 1 ? ", no RSS: each queue gets what the device or its peer puts there"
                             : ""),
        port.addr.tx_checksum_offload ? "device" : "software",
        port.rx_checksum_offload ? "device" : "software");
}

WorkerParams worker_params(const config::DataplaneConfig& cfg, const Dataplane& dp,
                           const LcoreConf& lc) {
    WorkerParams wp;
    wp.lcore_id = lc.lcore_id;
    wp.worker_id = lc.worker_id;
    wp.port_id = lc.port_id;
    wp.queue_id = lc.queue_id;
    wp.burst = cfg.burst_size;
    wp.pool = dp.port.pool;
    wp.addr = dp.port.addr;
    for (const auto& p : cfg.allowed_clients)
        wp.clients.add(rte_cpu_to_be_32(p.addr), p.len);
    wp.route = RoutePolicy{.n_shards = dp.lcores.size(), .admin_over_udp = cfg.udp_admin_commands};
    wp.idle = cfg.idle.mode;
    wp.pause_iterations = cfg.idle.pause_iterations;
    wp.max_sleep_us = cfg.idle.max_sleep_us;
    wp.gratuitous_arp = lc.worker_id == 0;
    wp.shared = &dp.zones.shm();
    wp.services = &dp.zones.shm().services;
    if (dp.port.kernel) wp.kernel_port_id = dp.port.kernel->port_id;
    if (lc.worker_id < dp.logs.size()) wp.mutation_log = dp.logs[lc.worker_id];
    return wp;
}

// Port, shared zones, shards, rings, workers, telemetry: in that order.
Result<std::unique_ptr<Dataplane>, std::string> build(const config::DataplaneConfig& cfg) {
    auto dp = std::make_unique<Dataplane>();
    auto lcores = build_lcore_table(cfg);
    if (!lcores) return Err(lcores.error());
    dp->lcores = std::move(lcores.value());
    auto port = open_port(cfg, 0);
    if (!port) return Err(port.error());
    dp->port = port.value();
    dp->port_open = true;
    for (LcoreConf& lc : dp->lcores)
        lc.port_id = dp->port.port_id;
    const auto n_workers = static_cast<uint32_t>(dp->lcores.size());
    print_serving(cfg, *dp);
    if (dp->port.kernel)
        fmt::print("fulmar-dataplane: exception path: {}\n", kernel_text(dp->port, cfg.ports[0]));

    // The seed goes into shared memory with the zones: a secondary digests
    // keys exactly as the workers do.
    if (cfg.digest_seed)
        store::set_digest_seed(*cfg.digest_seed);
    else
        store::randomize_digest_seed();
    SystemClock clock;
    auto zones = store::DataplaneZones::create(n_workers, dp->lcores[0].socket_id, clock.now());
    if (!zones) return Err(zones.error());
    dp->zones = std::move(zones.value());
    // What the control plane needs to add service addresses to the kernel
    // side too (controlplane/service_address.h).
    shm::ServiceAddrs& services = dp->zones.shm().services;
    services.port_ip = dp->port.addr.ip;
    if (dp->port.kernel)
        std::snprintf(services.kernel_ifname, sizeof services.kernel_ifname, "%s",
                      dp->port.kernel->ifname.c_str());
    // A replica, or a member of a partition whose primary etcd has not
    // elected yet, takes no client write (UDP included) before its control
    // plane says otherwise (controlplane/repl_role.h: 1 replica, 2 fenced).
    shm::ReplicaState& ro = dp->zones.shm().replica;
    if (cfg.replication.replica_of_addr) {
        const std::string host = config::format_ipv4(*cfg.replication.replica_of_addr);
        std::snprintf(ro.primary, sizeof ro.primary, "%s", host.c_str());
        ro.read_only.store(1, std::memory_order_release);
    } else if (cfg.cluster.enabled()) {
        std::snprintf(ro.primary, sizeof ro.primary, "%s", "(fenced)");
        ro.read_only.store(2, std::memory_order_release);
    }

    for (const LcoreConf& lc : dp->lcores) {
        store::ShardConfig sc;
        sc.name = shm::shard_name(lc.worker_id);
        sc.memory_bytes = size_t{cfg.memory_per_shard_mb} << 20;
        sc.index_entries = cfg.index_entries_per_shard;
        sc.memory = store::MemoryKind::kMemzone;
        sc.rcu = dp->zones.rcu();
        sc.owner_thread_id = lc.worker_id;
        sc.socket_id = lc.socket_id;
        auto s = store::Shard::create(sc);
        if (!s)
            return Err(
                fmt::format("shard {}: cannot get {} MiB of hugepage memory and its index "
                            "(reserve more hugepages or lower memory_per_shard_mb)",
                            lc.worker_id, cfg.memory_per_shard_mb));
        dp->shards.push_back(s.value().get());
        dp->views.push_back(s.value()->view());
        dp->shard_owners.push_back(std::move(s.value()));
        if (cfg.replication.log_mb != 0) {
            const size_t cap = repl::log_capacity_for(size_t{cfg.replication.log_mb} << 20);
            store::Region zone = store::Region::create(store::MemoryKind::kMemzone,
                                                       shm::mutation_log_name(lc.worker_id),
                                                       repl::log_bytes(cap), 64, lc.socket_id);
            repl::LogShared* log = zone.ok() ? repl::init_log(zone.bytes(), cap) : nullptr;
            if (log == nullptr)
                return Err(fmt::format(
                    "shard {}: cannot get {} MiB of hugepage memory for its mutation log "
                    "(reserve more hugepages or lower replication.log_mb)",
                    lc.worker_id, cfg.replication.log_mb));
            dp->logs.push_back(log);
            dp->log_zones.push_back(std::move(zone));
        }
    }
    auto channels =
        create_channels({.n_workers = n_workers,
                         .cp_inflight = cfg.controlplane.max_inflight,
                         .cp_arena_bytes = size_t{cfg.controlplane.request_arena_mb} << 20,
                         .cp_reply_pool_bytes = size_t{cfg.controlplane.request_arena_mb} << 20,
                         .socket_id = dp->lcores[0].socket_id});
    if (!channels) return Err(channels.error());
    dp->channels = std::move(channels.value());
    for (const LcoreConf& lc : dp->lcores)
        dp->workers.push_back(std::make_unique<Worker>(worker_params(cfg, *dp, lc), dp->shards,
                                                       dp->channels, dp->zones.rcu()));
    if (cfg.telemetry_enabled) register_telemetry(dp->zones.shm(), dp->views);
    return dp;
}

constexpr useconds_t kControlPlaneWatchUs = 5 * 1000;
constexpr unsigned kLinkCheckTicks = 20;  // every 100 ms

// A control plane killed while registered as an RCU reader would make every
// owner's next page move wait for it forever (rte_rcu_qsbr_synchronize): when
// its process is gone, its reader ids go offline on its behalf. Nothing else
// of it needs undoing: its requests still run and their replies wait on its
// ring for the next control plane, which frees them.
void watch_controlplane(shm::DataplaneShm& shm, rte_rcu_qsbr* rcu) {
    const int64_t pid = shm.cp.pid.load(std::memory_order_acquire);
    if (pid <= 0 || process_running(static_cast<pid_t>(pid))) return;
    const uint32_t readers = shm.cp.rcu_readers.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < readers && i < shm::kMaxCpReaders; ++i) {
        const unsigned id = shm.n_workers + i;
        rte_rcu_qsbr_thread_offline(rcu, id);
        rte_rcu_qsbr_thread_unregister(rcu, id);
    }
    shm.cp.rcu_readers.store(0, std::memory_order_release);
    // Last: a new control plane takes the slot (CAS 0 -> its pid) only now,
    // so its reader ids are never released by this watch.
    shm.cp.active_expire.store(1, std::memory_order_relaxed);
    shm.memory.max_pages.store(shm::kAllPages, std::memory_order_relaxed);
    shm.memory.evict.store(1, std::memory_order_relaxed);
    shm.memory.log_evicted.store(0, std::memory_order_relaxed);
    shm.cp.pid.store(0, std::memory_order_release);
    shm.cp.deaths.fetch_add(1, std::memory_order_relaxed);
    fmt::print(
        "fulmar-dataplane: the control plane (pid {}) died; its {} RCU reader id(s) "
        "released, UDP service goes on\n",
        pid, readers);
    std::fflush(stdout);
}

// Launches the workers and manages until SIGINT/SIGTERM; then stops them.
Result<bool, std::string> run(Dataplane& dp, const std::string& ready_file) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    for (auto& w : dp.workers) {
        if (rte_eal_remote_launch(launch_worker, w.get(), w->params().lcore_id) != 0) {
            for (auto& started : dp.workers)
                started->stop.store(true);
            rte_eal_mp_wait_lcore();
            return Err(fmt::format("cannot launch lcore {}", w->params().lcore_id));
        }
    }
    // rte_eal_remote_launch returns once the lcore has taken the function:
    // every worker runs from here on.
    std::string last_link = link_text(dp.port.port_id);
    fmt::print("fulmar-dataplane: running; link {}\n", last_link);
    std::fflush(stdout);
    if (!ready_file.empty() && !write_ready_file(ready_file))
        fmt::print(stderr, "fulmar-dataplane: cannot write {}: {}\n", ready_file,
                   std::strerror(errno));
    unsigned ticks = 0;
    while (!g_stop) {
        // Often enough that an owner waiting on a dead control plane's RCU
        // reader ids (a page move) waits a few milliseconds at most.
        usleep(kControlPlaneWatchUs);
        watch_controlplane(dp.zones.shm(), dp.zones.rcu());
        if (++ticks % kLinkCheckTicks != 0) continue;
        const std::string link = link_text(dp.port.port_id);
        if (link != last_link) {
            fmt::print("fulmar-dataplane: link {}\n", link);
            std::fflush(stdout);
            last_link = link;
        }
    }
    if (!ready_file.empty()) std::remove(ready_file.c_str());
    for (auto& w : dp.workers)
        w->stop.store(true);
    rte_eal_mp_wait_lcore();
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--list-config") == 0) {
        fmt::print("{}", config::describe_config());
        return 0;
    }
    const int eal_used = rte_eal_init(argc, argv);
    if (eal_used < 0) {
        fmt::print(stderr, "fulmar-dataplane: EAL init failed: {}\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= eal_used;
    argv += eal_used;
    std::string config_path;
    std::string ready_file;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (std::strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
            ready_file = argv[++i];
        else
            return usage(argv[0]);
    }
    if (config_path.empty()) return usage(argv[0]);
    int rc = 0;
    {
        auto loaded = config::load_config_file(config_path);
        if (!loaded) {
            fmt::print(stderr, "fulmar-dataplane: {}: {}\n", config_path, loaded.error().message);
            rte_eal_cleanup();
            return 1;
        }
        const config::DataplaneConfig& cfg = loaded.value();
        auto dp = build(cfg);
        if (!dp) {
            fmt::print(stderr, "fulmar-dataplane: {}\n", dp.error());
            rc = 1;
        } else if (auto r = run(*dp.value(), ready_file); !r) {
            fmt::print(stderr, "fulmar-dataplane: {}\n", r.error());
            rc = 1;
        } else {
            fmt::print("fulmar-dataplane: stopping\n{}",
                       stats_text(dp.value()->zones.shm(), dp.value()->views));
            std::fflush(stdout);
        }
    }  // teardown: the Dataplane frees everything before EAL goes
    rte_eal_cleanup();
    return rc;
}
