// The dataplane's cost per request, in instructions: a fixed batch of
// memcached UDP requests replayed through the real worker (classify, route,
// engine, store, reply frames) on a net_ring port, in one process.
//
//   valgrind --tool=callgrind --instr-atstart=no build-cg/tools/bench/packet_cost
//   build/tools/bench/packet_cost          (same replay, wall-clock rate)
//
// Under callgrind only the replay is instrumented (frames are built before),
// so Ir / requests is the figure: it does not drift with machine noise.
// Build with -Dmarch=x86-64-v3 for it: valgrind has no AVX-512.
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <fmt/core.h>

#include <chrono>
#include <string>
#include <vector>

#include "net/reply.h"
#include "store/digest.h"
#include "store/shard.h"
#include "support/eal_sandbox.h"
#include "worker.h"

using namespace fulmar;

namespace {

constexpr uint32_t kKeys = 100'000;
constexpr uint32_t kBatch = 32;
constexpr uint32_t kRequests = 16 * 1024;

std::string key_of(uint32_t i) {
    return fmt::format("key:{:012d}", i);
}
std::string value_of(uint32_t i) {
    return fmt::format("{:032d}", i);
}

// A client frame to the server: build_udp_reply builds from `port` to the
// request's source, so the "port" is the client and the "request" names the
// server.
rte_mbuf* client_frame(rte_mempool* pool, const net::PortAddr& server, uint16_t id,
                       const std::string& text) {
    net::PortAddr client{};
    client.mac = {{0x02, 0, 0, 0, 0, 0x02}};
    client.ip = rte_cpu_to_be_32(0xC6120002);  // 198.18.0.2
    client.udp_port = 40000;
    net::UdpRequest to_server{};
    to_server.src_mac = server.mac;
    to_server.dst_mac = client.mac;
    to_server.src_ip = server.ip;
    to_server.dst_ip = client.ip;
    to_server.src_port = server.udp_port;
    to_server.dst_port = client.udp_port;
    std::string payload(8, '\0');
    payload[0] = static_cast<char>(id >> 8);
    payload[1] = static_cast<char>(id & 0xff);
    payload[5] = 1;  // total = 1
    payload += text;
    return net::build_udp_reply(
        pool, to_server, client,
        std::span(reinterpret_cast<const std::byte*>(payload.data()), payload.size()));
}

struct Rig {
    rte_mempool* pool = nullptr;
    rte_ring* rx = nullptr;        // the PMD's RX: we enqueue requests here
    rte_ring* tx = nullptr;        // the PMD's TX: replies land here
    dataplane::Channels channels;  // one worker's inbox and the message pool
    uint16_t port = 0;
    std::unique_ptr<store::Shard> shard;
    std::unique_ptr<dataplane::Worker> worker;
    store::Shard* shards[1] = {};
    bool offload = false;
};

// `offload`: the port is taken to verify and fill checksums as a NIC with
// checksum offload does (RX frames marked good, replies left to the device).
bool make_rig(Rig& r, bool offload) {
    const std::string tag = offload ? "o" : "s";
    r.offload = offload;
    r.pool = rte_pktmbuf_pool_create(("pc_pool" + tag).c_str(), 3 * kRequests, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    r.rx = rte_ring_create(("pc_rx" + tag).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    r.tx = rte_ring_create(("pc_tx" + tag).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    auto channels = dataplane::create_channels(
        {.n_workers = 1, .inbox_size = 1024, .socket_id = 0, .name_prefix = "pc" + tag + "_"});
    if (!r.pool || !r.rx || !r.tx || !channels) return false;
    r.channels = std::move(channels.value());
    const int port = rte_eth_from_rings(("pc_port" + tag).c_str(), &r.rx, 1, &r.tx, 1, 0);
    if (port < 0) return false;
    r.port = static_cast<uint16_t>(port);
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(r.port, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(r.port, 0, 1024, 0, nullptr, r.pool) != 0 ||
        rte_eth_tx_queue_setup(r.port, 0, 1024, 0, nullptr) != 0 || rte_eth_dev_start(r.port) != 0)
        return false;
    store::ShardConfig sc;
    sc.name = "pc" + tag;
    sc.memory_bytes = size_t{64} << 20;
    auto s = store::Shard::create(sc);
    if (!s) return false;
    r.shard = std::move(s.value());
    r.shards[0] = r.shard.get();
    dataplane::WorkerParams wp;
    wp.port_id = r.port;
    wp.pool = r.pool;
    rte_eth_macaddr_get(r.port, &wp.addr.mac);
    wp.addr.ip = rte_cpu_to_be_32(0xC6120001);  // 198.18.0.1
    wp.addr.netmask = rte_cpu_to_be_32(0xFFFFFF00);
    wp.addr.udp_port = 11211;
    wp.addr.tx_checksum_offload = offload;
    wp.clients.add(rte_cpu_to_be_32(0xC6120000), 15);
    wp.idle = dataplane::IdleMode::kPoll;
    r.worker = std::make_unique<dataplane::Worker>(wp, r.shards, r.channels, nullptr);
    return true;
}

// Replays `frames` in bursts; returns the replies seen.
uint64_t replay(Rig& r, std::vector<rte_mbuf*>& frames) {
    uint64_t replies = 0;
    rte_mbuf* out[64];
    for (size_t i = 0; i < frames.size(); i += kBatch) {
        rte_ring_enqueue_burst(r.rx, reinterpret_cast<void**>(&frames[i]), kBatch, nullptr);
        while (r.worker->poll_once() != 0) {
        }
        unsigned n;
        while ((n = rte_ring_dequeue_burst(r.tx, reinterpret_cast<void**>(out), 64, nullptr)) > 0) {
            replies += n;
            rte_pktmbuf_free_bulk(out, n);
        }
    }
    return replies;
}

// The replayed requests: GET hits only, SETs only, or the bench's mix (every
// tenth a SET, of another key than the gets around it: the held-back writes
// and the GET batch in one burst).
enum class Load { kGets, kSets, kMix };

std::vector<rte_mbuf*> build(Rig& r, Load load) {
    std::vector<rte_mbuf*> frames(kRequests);
    for (uint32_t i = 0; i < kRequests; ++i) {
        const uint32_t k = (i * 2654435761u) % kKeys;
        const bool set = load == Load::kSets || (load == Load::kMix && i % 10 == 9);
        const std::string text =
            set ? fmt::format("set {} 0 0 32\r\n{}\r\n", key_of(k), value_of(k))
                : fmt::format("get {}\r\n", key_of(k));
        frames[i] = client_frame(r.pool, r.worker->params().addr, static_cast<uint16_t>(i), text);
        if (frames[i] == nullptr) {
            fmt::print(stderr, "packet_cost: mbuf pool too small\n");
            std::exit(1);
        }
        if (r.offload)
            frames[i]->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    }
    return frames;
}

int run(bool offload, bool under_valgrind) {
    Rig r;
    if (!make_rig(r, offload)) {
        fmt::print(stderr, "packet_cost: set-up failed\n");
        return 1;
    }
    for (uint32_t i = 0; i < kKeys; ++i)
        (void)r.shard->store(store::StoreMode::kSet, store::KeyRef(key_of(i)), value_of(i), {},
                             static_cast<UnixTime>(time(nullptr)));
    for (const Load load : {Load::kGets, Load::kSets, Load::kMix}) {
        // One untimed round warms caches and the allocator paths.
        auto warm = build(r, load);
        replay(r, warm);
        auto frames = build(r, load);
        const auto t0 = std::chrono::steady_clock::now();
        CALLGRIND_START_INSTRUMENTATION;
        const uint64_t replies = replay(r, frames);
        CALLGRIND_STOP_INSTRUMENTATION;
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const char* const names[] = {"GET hit", "SET", "90% GET / 10% SET"};
        const char* const dumps[] = {"get", "set", "request of the 90/10 mix"};
        const auto at = static_cast<size_t>(load);
        const std::string what =
            fmt::format("{}{}", names[at], offload ? ", device checksums" : "");
        fmt::print("{} x {} (16 B key, 32 B value): {} replies{}\n", kRequests, what, replies,
                   under_valgrind ? ""
                                  : fmt::format(", {:.2f} M requests/s in-process (one core)",
                                                kRequests / dt / 1e6));
        if (under_valgrind) {
            const std::string dump =
                fmt::format("{}{}", dumps[at], offload ? " with device checksums" : "");
            CALLGRIND_DUMP_STATS_AT(dump.c_str());
        }
    }
    r.worker.reset();
    r.shard.reset();
    rte_eth_dev_stop(r.port);
    return 0;
}

}  // namespace

int main() {
    const testing::EalSandbox eal("fulmar_pcost", 512);
    if (!eal.ok()) return 1;
    store::randomize_digest_seed();
    const bool under_valgrind = RUNNING_ON_VALGRIND != 0;
    for (const bool offload : {false, true})
        if (run(offload, under_valgrind) != 0) return 1;
    if (under_valgrind)
        fmt::print("instructions per request: callgrind_annotate each dump, Ir / {}\n", kRequests);
    return 0;
}
