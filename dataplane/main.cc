// fulmar-dataplane: the DPDK primary process. Serves memcached over UDP from
// worker lcores that each own one shard.
//
//   fulmar-dataplane <EAL args> -- --config configs/local.toml
//   fulmar-dataplane --list-config            (the config keys, no EAL)
//
// The main lcore builds everything, launches the workers, then only manages:
// link state in the log, signals, and the summary at exit.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <unistd.h>

#include <fmt/core.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/dataplane_config.h"
#include "net/reply.h"
#include "port.h"
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
    fmt::print(stderr, "usage: {} <EAL args> -- --config FILE\n       {} --list-config\n", argv0,
               argv0);
    return 2;
}

int launch_worker(void* arg) {
    return static_cast<Worker*>(arg)->run();
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
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else
            return usage(argv[0]);
    }
    if (config_path.empty()) return usage(argv[0]);
    auto loaded = config::load_config_file(config_path);
    if (!loaded) {
        fmt::print(stderr, "fulmar-dataplane: {}: {}\n", config_path, loaded.error().message);
        rte_eal_cleanup();
        return 1;
    }
    const config::DataplaneConfig& cfg = loaded.value();
    auto fail = [&](const std::string& why) {
        fmt::print(stderr, "fulmar-dataplane: {}\n", why);
        rte_eal_cleanup();
        return 1;
    };
    if (cfg.ports.size() != 1) return fail("exactly one [[ports]] entry is supported so far");
    const size_t n_workers = cfg.workers.size();
    for (uint16_t l : cfg.workers) {
        if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore())
            return fail(
                fmt::format("dataplane.workers: lcore {} is not an enabled worker lcore "
                            "(give EAL -l with it, and not as the main lcore)",
                            l));
    }

    store::randomize_digest_seed();
    auto port_r = open_port(cfg, 0);
    if (!port_r) return fail(port_r.error());
    Port port = port_r.value();
    fmt::print(
        "fulmar-dataplane: {} port {} mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} "
        "serving {}:{} with {} worker(s){}, checksums: TX {} RX {}\n",
        port.name, port.port_id, port.addr.mac.addr_bytes[0], port.addr.mac.addr_bytes[1],
        port.addr.mac.addr_bytes[2], port.addr.mac.addr_bytes[3], port.addr.mac.addr_bytes[4],
        port.addr.mac.addr_bytes[5], config::format_ipv4(cfg.ports[0].ipv4.addr), cfg.udp_port,
        n_workers,
        port.rss
            ? ", RSS"
            : (n_workers > 1 ? ", no RSS: each queue gets what the device or its peer puts there"
                             : ""),
        port.addr.tx_checksum_offload ? "device" : "software",
        port.rx_checksum_offload ? "device" : "software");

    // Readers of every shard: the workers. One QSBR variable for all.
    const size_t rcu_size = rte_rcu_qsbr_get_memsize(static_cast<uint32_t>(n_workers));
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("fm_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
    if (rcu == nullptr || rte_rcu_qsbr_init(rcu, static_cast<uint32_t>(n_workers)) != 0)
        return fail("cannot allocate the RCU variable");

    std::vector<std::unique_ptr<store::Shard>> shard_owners;
    std::vector<store::Shard*> shards;
    for (size_t i = 0; i < n_workers; ++i) {
        store::ShardConfig sc;
        sc.name = fmt::format("shard{}", i);
        sc.memory_bytes = size_t{cfg.memory_per_shard_mb} << 20;
        sc.index_entries = cfg.index_entries_per_shard;
        sc.memory = store::MemoryKind::kMemzone;
        sc.rcu = rcu;
        sc.owner_thread_id = static_cast<uint32_t>(i);
        sc.socket_id = static_cast<int>(rte_lcore_to_socket_id(cfg.workers[i]));
        auto s = store::Shard::create(sc);
        if (!s)
            return fail(
                fmt::format("shard {}: cannot get {} MiB of hugepage memory and its index "
                            "(reserve more hugepages or lower memory_per_shard_mb)",
                            i, cfg.memory_per_shard_mb));
        shards.push_back(s.value().get());
        shard_owners.push_back(std::move(s.value()));
    }
    auto channels_r =
        create_channels({.n_workers = n_workers, .socket_id = static_cast<int>(rte_socket_id())});
    if (!channels_r) return fail(channels_r.error());
    Channels channels = std::move(channels_r.value());

    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<Worker*> worker_ptrs;
    for (size_t i = 0; i < n_workers; ++i) {
        WorkerParams wp;
        wp.lcore_id = cfg.workers[i];
        wp.worker_id = static_cast<uint16_t>(i);
        wp.port_id = port.port_id;
        wp.queue_id = static_cast<uint16_t>(i);
        wp.burst = cfg.burst_size;
        wp.pool = port.pool;
        wp.addr = port.addr;
        for (const auto& p : cfg.allowed_clients)
            wp.clients.add(rte_cpu_to_be_32(p.addr), p.len);
        wp.route = RoutePolicy{.n_shards = n_workers, .admin_over_udp = cfg.udp_admin_commands};
        wp.idle = cfg.idle.mode;
        wp.pause_iterations = cfg.idle.pause_iterations;
        wp.max_sleep_us = cfg.idle.max_sleep_us;
        wp.gratuitous_arp = i == 0;
        workers.push_back(std::make_unique<Worker>(wp, shards, channels, rcu));
        worker_ptrs.push_back(workers.back().get());
    }
    if (cfg.telemetry_enabled) register_telemetry(worker_ptrs, shards);

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    for (Worker* w : worker_ptrs) {
        if (rte_eal_remote_launch(launch_worker, w, w->params().lcore_id) != 0)
            return fail(fmt::format("cannot launch lcore {}", w->params().lcore_id));
    }
    fmt::print("fulmar-dataplane: running; link {}\n", link_text(port.port_id));
    std::fflush(stdout);

    std::string last_link = link_text(port.port_id);
    while (!g_stop) {
        usleep(100 * 1000);
        const std::string link = link_text(port.port_id);
        if (link != last_link) {
            fmt::print("fulmar-dataplane: link {}\n", link);
            std::fflush(stdout);
            last_link = link;
        }
    }
    for (Worker* w : worker_ptrs)
        w->stop.store(true);
    rte_eal_mp_wait_lcore();
    fmt::print("fulmar-dataplane: stopping\n{}", stats_text(worker_ptrs, shards));
    std::fflush(stdout);

    workers.clear();
    shard_owners.clear();
    free_channels(channels);
    rte_free(rcu);
    close_port(port);
    rte_eal_cleanup();
    return 0;
}
