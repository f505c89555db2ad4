// fulmar-pktgen: a DPDK memcached-UDP load generator. Drives any DPDK port
// (net_memif to a local fulmar-dataplane, or a NIC), proves every reply it
// counts, and reports rate, hit ratio, losses and a latency histogram.
//
//   fulmar-pktgen <EAL args> -- --dst-ip A --src-ip A [flags]   (--help: flags)
//
// Runs on the main lcore only; see generator.h for the loop.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "generator.h"
#include "port.h"
#include "report.h"

using namespace fulmar::pktgen;

namespace {

StopFlag g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

bool write_file(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
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
    fmt::print("fulmar-pktgen: {} {} ({}) -> {}:{} ({}), {} keys\n", port.name,
               format_ipv4(o.src_ip), format_mac(port.mac), format_ipv4(o.dst_ip), o.dst_port,
               format_mac(dst_mac), w.n_keys());
    std::fflush(stdout);

    PortConf pc;
    pc.port_id = port.port_id;
    pc.pool = port.pool;
    pc.flow.src_mac = port.mac;
    pc.flow.dst_mac = dst_mac;
    pc.flow.src_ip = rte_cpu_to_be_32(o.src_ip);
    pc.flow.dst_ip = rte_cpu_to_be_32(o.dst_ip);
    pc.flow.src_port = o.src_port;
    pc.flow.dst_port = o.dst_port;

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // Large (request table, version arrays, reassembly buffers): on the heap.
    auto gen = std::make_unique<Generator>(o, w, pc);
    int rc = 0;
    if (o.preload) {
        std::string why;
        if (!gen->preload(g_stop, why)) {
            fmt::print(stderr, "fulmar-pktgen: preload stopped: {}\n", why);
            rc = 1;
        }
    }
    if (rc == 0) gen->run(g_stop);

    auto report = std::make_unique<Report>();
    report->options = o;
    report->port_name = port.name;
    report->src_mac = format_mac(port.mac);
    report->dst_mac = format_mac(dst_mac);
    gen->fill_report(*report);
    fmt::print("{}", summary_text(*report));
    if (!o.json_path.empty() && !write_file(o.json_path, json_text(*report))) {
        fmt::print(stderr, "fulmar-pktgen: cannot write {}\n", o.json_path);
        rc = 1;
    }
    gen.reset();
    close_port(port);
    rte_eal_cleanup();
    return rc;
}
