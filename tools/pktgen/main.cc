// fulmar-pktgen: a DPDK memcached-UDP load generator. Drives any DPDK port
// (net_memif to a local fulmar-dataplane, or a NIC), proves every reply it
// counts, and reports rate, hit ratio, losses and a latency histogram.
//
//   fulmar-pktgen <EAL args> -- --dst-ip A --src-ip A [flags]   (--help: flags)
//
// One generator instance per --queues, queue q on the q-th EAL lcore (queue 0
// on the main lcore, which also prints); see generator.h for the loop and
// queues.h for how the run is split.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <fmt/core.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "generator.h"
#include "port.h"
#include "queues.h"
#include "report.h"

using namespace fulmar::pktgen;

namespace {

StopFlag g_stop = 0;
// Replies one lcore passes to another (generator.h); a few bursts' worth.
constexpr unsigned kInboxSize = 4096;
void on_signal(int) {
    g_stop = 1;
}

bool write_file(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

int lcore_main(void* arg) {
    return static_cast<Generator*>(arg)->work();
}

// Returns to the pool whatever replies are left in the inbox rings.
void free_inboxes(std::vector<rte_ring*>& inboxes) {
    for (rte_ring* r : inboxes) {
        void* m = nullptr;
        while (rte_ring_dequeue(r, &m) == 0)
            rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(r);
    }
    inboxes.clear();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        fmt::print("{}", usage_text());
        return 0;
    }
    const int eal_used = rte_eal_init(argc, argv);
    if (eal_used < 0) {
        fmt::print(stderr, "fulmar-pktgen: EAL init failed: {}\n", rte_strerror(rte_errno));
        return 1;
    }
    argc -= eal_used;
    argv += eal_used;
    auto fail = [](const std::string& why) {
        fmt::print(stderr, "fulmar-pktgen: {}\n", why);
        rte_eal_cleanup();
        return 1;
    };
    auto parsed = parse_options(std::span<char* const>(argv + 1, static_cast<size_t>(argc - 1)));
    if (!parsed) return fail(parsed.error());
    Options& o = parsed.value();
    if (o.help) {
        fmt::print("{}", usage_text());
        rte_eal_cleanup();
        return 0;
    }
    // Values must differ between runs (so a hit from an earlier run is not
    // taken for ours); the key sequence stays --seed's.
    o.workload.run_id = rte_rdtsc() ^ (static_cast<uint64_t>(std::time(nullptr)) << 32);
    auto wl = Workload::create(o.workload);
    if (!wl) return fail(wl.error());
    const Workload& w = wl.value();
    // Queue q runs on lcores[q]: the main lcore, then the workers in order.
    std::vector<unsigned> lcores = {rte_get_main_lcore()};
    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) {
        if (lcores.size() < o.queues) lcores.push_back(lc);
    }
    if (lcores.size() < o.queues)
        return fail(
            fmt::format("--queues {} needs {} lcores, EAL has {} (give -l with one per "
                        "queue; the main lcore runs queue 0)",
                        o.queues, o.queues, rte_lcore_count()));

    auto port_r = open_port(o);
    if (!port_r) return fail(port_r.error());
    Port port = port_r.value();
    rte_ether_addr dst_mac{};
    if (o.dst_mac) {
        std::memcpy(dst_mac.addr_bytes, o.dst_mac->data(), 6);
    } else {
        auto mac = arp_resolve(port, o.src_ip, o.dst_ip, 5.0);
        if (!mac) {
            close_port(port);
            return fail(mac.error());
        }
        dst_mac = mac.value();
    }
    fmt::print(
        "fulmar-pktgen: {} {} ({}) -> {}:{} ({}), {} keys{}\n", port.name, format_ipv4(o.src_ip),
        format_mac(port.mac), format_ipv4(o.dst_ip), o.dst_port, format_mac(dst_mac), w.n_keys(),
        o.queues > 1 ? fmt::format(", {} queues on lcores {}", o.queues, fmt::join(lcores, ","))
                     : "");
    std::fflush(stdout);

    Crew crew(o.queues, o.src_port, g_stop);
    for (uint32_t q = 0; o.queues > 1 && q < o.queues; q++) {
        rte_ring* r =
            rte_ring_create(fmt::format("fpg_inbox{}", q).c_str(), kInboxSize,
                            static_cast<int>(rte_lcore_to_socket_id(lcores[q])), RING_F_SC_DEQ);
        if (r == nullptr) {
            free_inboxes(crew.inboxes);
            close_port(port);
            return fail(fmt::format("inbox ring {}: {}", q, rte_strerror(rte_errno)));
        }
        crew.inboxes.push_back(r);
    }

    // Large (request table, version arrays, reassembly buffers): on the heap.
    std::vector<QueuePlan> plans;
    std::vector<std::unique_ptr<Generator>> gens;
    for (uint32_t q = 0; q < o.queues; q++) {
        plans.push_back(plan_queue(o, q));
        PortConf pc;
        pc.port_id = port.port_id;
        pc.queue_id = static_cast<uint16_t>(q);
        pc.pool = port.pool;
        pc.flow.src_mac = port.mac;
        pc.flow.dst_mac = dst_mac;
        pc.flow.src_ip = rte_cpu_to_be_32(o.src_ip);
        pc.flow.dst_ip = rte_cpu_to_be_32(o.dst_ip);
        pc.flow.src_port = plans[q].src_port;
        pc.flow.dst_port = o.dst_port;
        gens.push_back(std::make_unique<Generator>(o, w, pc, plans[q], crew));
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    for (uint32_t q = 1; q < o.queues; q++) {
        if (rte_eal_remote_launch(lcore_main, gens[q].get(), lcores[q]) != 0) {
            // Not started: the others would wait for it at the barriers.
            fmt::print(stderr, "fulmar-pktgen: cannot launch lcore {}\n", lcores[q]);
            g_stop = 1;
            crew.preload_failed.store(true);
            crew.preloaded.fetch_add(1);
            crew.finished.fetch_add(1);
        }
    }
    int rc = lcore_main(gens[0].get());
    rte_eal_mp_wait_lcore();
    for (const auto& g : gens) {
        if (!g->failure().empty()) {
            fmt::print(stderr, "fulmar-pktgen: preload stopped: {}\n", g->failure());
            rc = 1;
        }
    }

    std::vector<Report> parts(o.queues);
    for (uint32_t q = 0; q < o.queues; q++) {
        parts[q].options = o;
        parts[q].port_name = port.name;
        parts[q].src_mac = format_mac(port.mac);
        parts[q].dst_mac = format_mac(dst_mac);
        gens[q]->fill_report(parts[q]);
    }
    auto report = std::make_unique<Report>(merge_reports(parts, plans));
    report->tsc_hz = rte_get_tsc_hz();
    fmt::print("{}", summary_text(*report));
    if (!o.json_path.empty() && !write_file(o.json_path, json_text(*report))) {
        fmt::print(stderr, "fulmar-pktgen: cannot write {}\n", o.json_path);
        rc = 1;
    }
    gens.clear();
    free_inboxes(crew.inboxes);
    close_port(port);
    rte_eal_cleanup();
    return rc;
}
