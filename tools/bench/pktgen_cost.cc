// fulmar-pktgen's own cost per request, in instructions: the real Generator
// (tools/pktgen/generator.cc) on a net_ring port, one closed-loop turn at a
// time, answered in between by a peer in this process, so the figure does
// not drift with machine noise or with the server's speed.
//
//   tools/bench/pktgen_cost.sh             (callgrind: instructions per request)
//   build/tools/bench/pktgen_cost          (the same turns, wall-clock rate)
//
// Two peers, as the bench has:
//   reflector  swaps addresses and ports (testpmd --forward-mode=5tswap):
//              the generator only matches ids
//   cache      a memcached that keeps what was set and answers gets with it
//              (VALUE ... END) and sets with STORED: every hit is verified
//              as on a dataplane run
// Under callgrind only Generator::load_turn is counted (collection toggled
// around it): RX burst, reply checks, latency, request building, TX burst.
// The peer's work and the preload are not. net_ring's RX/TX are cheaper than
// memif's, so this is the generator's share of a memif run, not all of it.
// Build with -Dmarch=x86-64-v3 for callgrind: valgrind has no AVX-512.
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <valgrind/callgrind.h>

#include <fmt/core.h>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "generator.h"
#include "net/reply.h"
#include "support/eal_sandbox.h"

using namespace fulmar;
using namespace fulmar::pktgen;

namespace {

constexpr uint32_t kKeys = 100'000;
constexpr uint32_t kWindow = 256;
constexpr uint32_t kWarmTurns = 2'000;
constexpr uint32_t kTurns = 4'000;
constexpr uint16_t kServerPort = 11211;
constexpr rte_ether_addr kServerMac = {{0x02, 0, 0, 0, 0, 0x01}};
const rte_be32_t kServerIp = rte_cpu_to_be_32(0xC6120001);  // 198.18.0.1
const rte_be32_t kClientIp = rte_cpu_to_be_32(0xC6120002);  // 198.18.0.2

enum class Peer { kReflector, kCache };

struct Rig {
    rte_mempool* pool = nullptr;
    rte_ring* to_gen = nullptr;    // the port's RX
    rte_ring* from_gen = nullptr;  // the port's TX
    uint16_t port = 0;
    rte_ether_addr mac{};
};

bool make_rig(Rig& r, const std::string& tag) {
    r.pool = rte_pktmbuf_pool_create(("pgc_pool" + tag).c_str(), 16383, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    r.to_gen = rte_ring_create(("pgc_rx" + tag).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    r.from_gen = rte_ring_create(("pgc_tx" + tag).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r.pool || !r.to_gen || !r.from_gen) return false;
    const int port =
        rte_eth_from_rings(("pgc_port" + tag).c_str(), &r.to_gen, 1, &r.from_gen, 1, 0);
    if (port < 0) return false;
    r.port = static_cast<uint16_t>(port);
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(r.port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(r.port, 0, 1024, 0, nullptr, r.pool) != 0 ||
        rte_eth_tx_queue_setup(r.port, 0, 1024, 0, nullptr) != 0 || rte_eth_dev_start(r.port) != 0)
        return false;
    rte_eth_macaddr_get(r.port, &r.mac);
    return true;
}

// What testpmd's 5tswap does: swap MACs, IPs and UDP ports in place (the
// checksums stay right: the sums do not depend on the order).
void reflect(rte_mbuf* m) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    std::swap(eth->src_addr, eth->dst_addr);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    const rte_be32_t a = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = a;
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    const rte_be16_t p = udp->src_port;
    udp->src_port = udp->dst_port;
    udp->dst_port = p;
}

// A memcached of the keys of "k<digits>": flags and value of the last set.
class Cache {
  public:
    explicit Cache(rte_mempool* pool) : pool_(pool), flags_(kKeys, 0), values_(kKeys) {}

    // The reply frame to request frame `m` (which is freed); nullptr when
    // the request is not one of ours.
    rte_mbuf* answer(rte_mbuf* m) {
        const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
        const char* payload = reinterpret_cast<const char*>(udp + 1);
        const size_t len = rte_be_to_cpu_16(udp->dgram_len) - sizeof(rte_udp_hdr);
        std::string_view text(payload + 8, len - 8);
        reply_.assign(payload, 8);
        const size_t eol = text.find("\r\n");
        const std::string_view line = text.substr(0, eol);
        if (line.starts_with("get ")) {
            const std::string_view key = line.substr(4);
            const uint32_t k = index(key);
            if (k < kKeys && !values_[k].empty())
                reply_ += fmt::format("VALUE {} {} {}\r\n{}\r\n", key, flags_[k], values_[k].size(),
                                      values_[k]);
            reply_ += "END\r\n";
        } else if (line.starts_with("set ")) {
            // set <key> <flags> 0 <bytes>
            std::string_view rest = line.substr(4);
            const std::string_view key = rest.substr(0, rest.find(' '));
            rest.remove_prefix(key.size() + 1);
            const uint32_t flags = static_cast<uint32_t>(std::stoul(std::string(rest)));
            const size_t n = std::stoul(std::string(rest.substr(rest.rfind(' ') + 1)));
            const uint32_t k = index(key);
            if (k < kKeys) {
                flags_[k] = flags;
                values_[k].assign(text.substr(eol + 2, n));
            }
            reply_ += "STORED\r\n";
        } else {
            reply_ += "ERROR\r\n";
        }
        net::UdpRequest req{};
        req.src_mac = eth->src_addr;
        req.dst_mac = eth->dst_addr;
        req.src_ip = ip->src_addr;
        req.dst_ip = ip->dst_addr;
        req.src_port = rte_be_to_cpu_16(udp->src_port);
        req.dst_port = rte_be_to_cpu_16(udp->dst_port);
        net::PortAddr server{};
        server.mac = kServerMac;
        server.ip = kServerIp;
        server.udp_port = kServerPort;
        rte_mbuf* out = net::build_udp_reply(
            pool_, req, server,
            std::span(reinterpret_cast<const std::byte*>(reply_.data()), reply_.size()));
        rte_pktmbuf_free(m);
        return out;
    }

  private:
    static uint32_t index(std::string_view key) {
        uint32_t k = 0;
        for (char c : key.substr(1))
            k = k * 10 + static_cast<uint32_t>(c - '0');
        return k;
    }

    rte_mempool* pool_;
    std::vector<uint32_t> flags_;
    std::vector<std::string> values_;
    std::string reply_;
};

// Answers everything the generator sent since the last call.
void answer_all(Rig& r, Peer peer, Cache& cache) {
    rte_mbuf* ms[256];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(r.from_gen, reinterpret_cast<void**>(ms), 256, nullptr)) >
           0) {
        unsigned k = 0;
        for (unsigned i = 0; i < n; i++) {
            if (peer == Peer::kReflector) {
                reflect(ms[i]);
                ms[k++] = ms[i];
            } else if (rte_mbuf* a = cache.answer(ms[i])) {
                ms[k++] = a;
            }
        }
        const unsigned q =
            rte_ring_enqueue_burst(r.to_gen, reinterpret_cast<void**>(ms), k, nullptr);
        if (q < k) rte_pktmbuf_free_bulk(ms + q, k - q);
    }
}

int run(Peer peer, bool under_valgrind) {
    const std::string tag = peer == Peer::kReflector ? "r" : "c";
    const char* name = peer == Peer::kReflector ? "reflector" : "cache (every hit verified)";
    Rig r;
    if (!make_rig(r, tag)) {
        fmt::print(stderr, "pktgen_cost: set-up failed\n");
        return 1;
    }
    Options o;
    o.workload.n_keys = kKeys;
    o.workload.key_len = 16;
    o.workload.value_min = o.workload.value_max = 32;
    o.workload.get_ratio = 0.9;
    o.workload.run_id = 42;
    o.window = kWindow;
    o.preload_window = kWindow;
    o.reflector = peer == Peer::kReflector;
    o.preload = peer == Peer::kCache;
    o.quiet = true;
    o.timeout_ms = 60'000;  // valgrind is slow; nothing is lost here
    auto wl = Workload::create(o.workload);
    if (!wl) {
        fmt::print(stderr, "pktgen_cost: {}\n", wl.error());
        return 1;
    }
    const StopFlag stop = 0;
    Crew crew(1, o.src_port, stop);
    PortConf pc;
    pc.port_id = r.port;
    pc.pool = r.pool;
    pc.flow.src_mac = r.mac;
    pc.flow.dst_mac = kServerMac;
    pc.flow.src_ip = kClientIp;
    pc.flow.dst_ip = kServerIp;
    pc.flow.src_port = o.src_port;
    pc.flow.dst_port = kServerPort;
    const QueuePlan plan = plan_queue(o, 0);
    auto gen = std::make_unique<Generator>(o, wl.value(), pc, plan, crew);
    Cache cache(r.pool);

    if (o.preload) {
        gen->begin_preload();
        while (!gen->preload_done()) {
            gen->preload_turn(rte_rdtsc());
            answer_all(r, peer, cache);
        }
    }
    gen->begin_load(Phase::kWarmup);
    for (uint32_t i = 0; i < kWarmTurns; i++) {
        gen->load_turn(rte_rdtsc());
        answer_all(r, peer, cache);
    }
    gen->begin_load(Phase::kMeasure);
    const auto t0 = std::chrono::steady_clock::now();
    CALLGRIND_START_INSTRUMENTATION;
    for (uint32_t i = 0; i < kTurns; i++) {
        CALLGRIND_TOGGLE_COLLECT;
        gen->load_turn(rte_rdtsc());
        CALLGRIND_TOGGLE_COLLECT;
        answer_all(r, peer, cache);
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Report rep;
    gen->fill_report(rep);
    const RequestStats& m = rep.measure;
    fmt::print("{}: {} requests, {} replies, {} hits verified, {} misses, {} errors{}\n", name,
               m.sent, m.replies, m.hits, m.misses, m.errors,
               under_valgrind ? ""
                              : fmt::format(", {:.2f} M requests/s with the peer on the same core",
                                            static_cast<double>(m.sent) / dt / 1e6));
    if (under_valgrind) {
        CALLGRIND_DUMP_STATS_AT(fmt::format("{} {}", tag, m.sent).c_str());
    }
    const bool ok = m.errors == 0 && m.replies > 0 && (o.reflector || m.hits > 0);
    gen.reset();
    rte_eth_dev_stop(r.port);
    return ok ? 0 : 1;
}

}  // namespace

int main() {
    const testing::EalSandbox eal("fulmar_pgcost", 512);
    if (!eal.ok()) return 1;
    const bool under_valgrind = RUNNING_ON_VALGRIND != 0;
    for (const Peer p : {Peer::kReflector, Peer::kCache})
        if (run(p, under_valgrind) != 0) return 1;
    return 0;
}
