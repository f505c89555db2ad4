// Real Workers driven packet by packet: crafted frames go into the RX ring
// of a net_ring port, the test calls poll_once() on each worker until all
// are quiet, and every frame the workers transmit is taken from the TX
// rings, checked header by header and reassembled into memcached's reply.
//
//   test --enqueue--> rx ring q --rte_eth_rx_burst--> Worker q --> shards
//   test <--dequeue-- tx ring q <--rte_eth_tx_burst-- Worker q (or its peer,
//                                                     after a hand-off)
//
// Everything runs on the test thread: shards and workers take no RCU
// variable (a single thread needs no grace periods, and an owner waiting for
// one would wait for itself). Shards are fresh per test, so CAS uniques start
// at 1. Expected replies are memcached 1.6.18's (see tests/engine).
#include <rte_arp.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ring.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_ctx.h"
#include "frames.h"
#include "handoff.h"
#include "proto/mc_frame.h"
#include "proto/mc_wire.h"
#include "shm/service_addrs.h"
#include "store/digest.h"
#include "store/shard.h"
#include "worker.h"

namespace fulmar::net::test {
namespace {

using dataplane::Worker;
using dataplane::WorkerParams;
using dataplane::WorkerStats;

// A client outside the allowed 198.18.0.0/15.
constexpr rte_be32_t kStrangerIp = RTE_BE32(RTE_IPV4(203, 0, 113, 9));
constexpr size_t kEthIpUdp = 14 + 20 + 8;

// One reply datagram as the client sees it.
struct Datagram {
    uint16_t request_id = 0;
    uint16_t seq = 0;
    uint16_t total = 0;
    std::string text;
};

struct WorkerSetup {
    uint16_t n_workers = 1;
    bool admin_over_udp = false;
    unsigned inbox_size = 4096;
    unsigned n_messages = 0;  // 0: channels.h's default
    uint32_t garp_interval_ms = 500;
};

Bytes request_frame(std::string_view text, uint16_t request_id) {
    return udp_request_frame({.request_id = request_id, .text = text});
}

// A UDP datagram to the cache port carrying `payload` as is (no frame header
// added).
Bytes raw_udp_frame(const Bytes& payload) {
    const Ipv4Spec ip{};
    return eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, udp({}, ip, payload)));
}

// A frame header {id, seq, total, 0} and text.
Bytes mc_payload(uint16_t id, uint16_t seq, uint16_t total, std::string_view text) {
    Bytes b = mc_request(id, text);
    put16(b, 2, seq);
    put16(b, 4, total);
    return b;
}

// The first key "<prefix><n>" that lands on `shard` of `n_shards`.
std::string key_on_shard(size_t shard, size_t n_shards, std::string_view prefix = "key") {
    for (int n = 0;; ++n) {
        std::string k = std::string(prefix) + std::to_string(n);
        if (engine::shard_index(store::digest_key(k), n_shards) == shard) return k;
    }
}

std::string value_line(std::string_view key, std::string_view value, uint32_t flags = 0) {
    return "VALUE " + std::string(key) + " " + std::to_string(flags) + " " +
           std::to_string(value.size()) + "\r\n" + std::string(value) + "\r\n";
}

bool same_ip(const uint8_t* p, rte_be32_t ip) {
    return std::memcmp(p, &ip, 4) == 0;
}

bool same_mac(const uint8_t* p, const rte_ether_addr& mac) {
    return std::memcmp(p, mac.addr_bytes, 6) == 0;
}

// Checks every header of a memcached reply frame (addresses and ports the
// request's, swapped; IPv4 and UDP checksums verified by frames.h's own
// code) and returns its frame header and text.
Datagram parse_reply(const Bytes& f, uint16_t client_port = kPeerPort,
                     rte_be32_t client_ip = kPeerIp) {
    Datagram d;
    if (f.size() < kEthIpUdp + 8) {
        ADD_FAILURE() << "reply frame of " << f.size() << " bytes";
        return d;
    }
    EXPECT_TRUE(same_mac(&f[0], kPeerMac)) << "to the client's MAC";
    EXPECT_TRUE(same_mac(&f[6], kOurMac)) << "from ours";
    EXPECT_EQ(get16(&f[12]), RTE_ETHER_TYPE_IPV4);
    const uint8_t* ip = &f[14];
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(get16(ip + 2), f.size() - 14) << "IP total length";
    EXPECT_EQ(get16(ip + 6), RTE_IPV4_HDR_DF_FLAG);
    EXPECT_EQ(ip[8], 64) << "TTL";
    EXPECT_EQ(ip[9], IPPROTO_UDP);
    EXPECT_EQ(inet_checksum(ip, 20), 0) << "IP checksum must verify";
    EXPECT_TRUE(same_ip(ip + 12, kOurIp)) << "from our address";
    EXPECT_TRUE(same_ip(ip + 16, client_ip)) << "to the client's";
    const uint8_t* udp = ip + 20;
    const uint16_t udp_len = get16(udp + 4);
    EXPECT_EQ(get16(udp), kCachePort) << "from the cache port";
    EXPECT_EQ(get16(udp + 2), client_port) << "to the client's port";
    EXPECT_EQ(udp_len, f.size() - 14 - 20);
    EXPECT_NE(get16(udp + 6), 0) << "UDP checksum present";
    const uint32_t s = rte_be_to_cpu_32(kOurIp);
    const uint32_t c = rte_be_to_cpu_32(client_ip);
    const uint32_t pseudo =
        (s >> 16) + (s & 0xffff) + (c >> 16) + (c & 0xffff) + IPPROTO_UDP + udp_len;
    EXPECT_EQ(inet_checksum(udp, udp_len, pseudo), 0) << "UDP checksum must verify";
    const uint8_t* mc = udp + 8;
    d.request_id = get16(mc);
    d.seq = get16(mc + 2);
    d.total = get16(mc + 4);
    EXPECT_EQ(get16(mc + 6), 0) << "reserved";
    d.text.assign(reinterpret_cast<const char*>(mc + 8), f.size() - kEthIpUdp - 8);
    EXPECT_LE(d.text.size(), proto::kMcUdpMaxPayload);
    return d;
}

// Joins the datagrams of one reply, checking they all carry `request_id`,
// number 0..n-1 in order and announce n. nullopt when there are none.
std::optional<std::string> reassemble(const std::vector<Datagram>& d, uint16_t request_id) {
    if (d.empty()) return std::nullopt;
    std::string text;
    for (size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i].request_id, request_id) << "datagram " << i;
        EXPECT_EQ(d[i].seq, i);
        EXPECT_EQ(d[i].total, d.size());
        if (i + 1 < d.size()) {
            EXPECT_EQ(d[i].text.size(), proto::kMcUdpMaxPayload) << "only the last is short";
        }
        text += d[i].text;
    }
    return text;
}

class WorkerPackets : public PacketTest {
  protected:
    static constexpr unsigned kRingSize = 1024;  // holds the whole pool
    static constexpr size_t kShardMemory = size_t{16} << 20;
    static constexpr uint32_t kIndexEntries = 16384;

    void SetUp() override {
        PacketTest::SetUp();
        start({});
    }

    void TearDown() override {
        stop();
        PacketTest::TearDown();
    }

    // (Re)builds the port, shards, inboxes and workers for `s`.
    void start(const WorkerSetup& s) {
        stop();
        static std::atomic<int> n_setups{0};
        const std::string id = std::to_string(n_setups++);
        const int socket = static_cast<int>(rte_socket_id());
        const uint16_t n = s.n_workers;
        for (uint16_t q = 0; q < n; ++q) {
            const std::string qid = id + "_" + std::to_string(q);
            rx_.push_back(rte_ring_create(("wk_rx" + qid).c_str(), kRingSize, socket,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ));
            tx_.push_back(rte_ring_create(("wk_tx" + qid).c_str(), kRingSize, socket,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ));
            ASSERT_NE(rx_.back(), nullptr);
            ASSERT_NE(tx_.back(), nullptr);
            store::ShardConfig sc;
            sc.name = "wk_shard" + qid;
            sc.memory_bytes = kShardMemory;
            sc.index_entries = kIndexEntries;
            sc.memory = store::MemoryKind::kAnonymous;
            auto shard = store::Shard::create(sc);
            ASSERT_TRUE(shard.ok());
            shard_ptrs_.push_back(shard.value().get());
            shards_.push_back(std::move(shard.value()));
        }
        auto channels = dataplane::create_channels({.n_workers = n,
                                                    .inbox_size = s.inbox_size,
                                                    .n_messages = s.n_messages,
                                                    .socket_id = socket,
                                                    .name_prefix = "wk" + id + "_"});
        ASSERT_TRUE(channels.ok()) << channels.error();
        channels_ = std::move(channels.value());
        port_id_ = rte_eth_from_rings(("wk_port" + id).c_str(), rx_.data(), n, tx_.data(), n,
                                      static_cast<unsigned>(socket));
        ASSERT_GE(port_id_, 0);
        const auto p = static_cast<uint16_t>(port_id_);
        rte_eth_conf conf{};
        ASSERT_EQ(rte_eth_dev_configure(p, n, n, &conf), 0);
        for (uint16_t q = 0; q < n; ++q) {
            ASSERT_EQ(rte_eth_rx_queue_setup(p, q, kRingSize, socket, nullptr, pool_), 0);
            ASSERT_EQ(rte_eth_tx_queue_setup(p, q, kRingSize, socket, nullptr), 0);
        }
        ASSERT_EQ(rte_eth_dev_start(p), 0);
        for (uint16_t q = 0; q < n; ++q) {
            WorkerParams wp;
            wp.lcore_id = rte_lcore_id();
            wp.worker_id = q;
            wp.port_id = p;
            wp.queue_id = q;
            wp.pool = pool_;
            wp.addr = port_;
            wp.clients.add(RTE_BE32(RTE_IPV4(198, 18, 0, 0)), 15);
            wp.route = dataplane::RoutePolicy{.n_shards = n, .admin_over_udp = s.admin_over_udp};
            wp.idle = dataplane::IdleMode::kPoll;
            wp.gratuitous_arp = q == 0;
            wp.services = &services_;
            wp.garp_interval_ms = s.garp_interval_ms;
            workers_.push_back(std::make_unique<Worker>(wp, shard_ptrs_, channels_, nullptr));
        }
    }

    // Frees what start() built. Every ring must be empty by now: a test
    // drains what the workers sent, and the workers drain the rest.
    void stop() {
        workers_.clear();
        for (rte_ring* r : rx_)
            EXPECT_EQ(rte_ring_count(r), 0u) << "frames left unreceived";
        for (rte_ring* r : channels_.inboxes) {
            EXPECT_EQ(rte_ring_count(r), 0u) << "hand-offs left unserved";
            // Whatever a failed test left behind goes back to its pools.
            void* msg = nullptr;
            while (rte_ring_dequeue(r, &msg) == 0) {
                auto* m = static_cast<dataplane::Message*>(msg);
                if (m->kind == dataplane::MessageKind::kUdpDatagram) rte_pktmbuf_free(m->udp.frame);
                rte_mempool_put(channels_.messages, msg);
            }
        }
        if (channels_.messages != nullptr) {
            EXPECT_EQ(rte_mempool_in_use_count(channels_.messages), 0u) << "messages not returned";
            dataplane::free_channels(channels_);
        }
        for (uint16_t q = 0; q < tx_.size(); ++q)
            EXPECT_TRUE(drain(q).empty()) << "replies left unread on queue " << q;
        if (port_id_ >= 0) {
            const auto p = static_cast<uint16_t>(port_id_);
            EXPECT_EQ(rte_eth_dev_stop(p), 0);
            EXPECT_EQ(rte_eth_dev_close(p), 0);
            port_id_ = -1;
        }
        for (auto* rings : {&rx_, &tx_}) {
            for (rte_ring* r : *rings) {
                // Whatever a failed test left behind goes back to the pool.
                void* m = nullptr;
                while (r != nullptr && rte_ring_dequeue(r, &m) == 0)
                    rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
                rte_ring_free(r);
            }
            rings->clear();
        }
        shard_ptrs_.clear();
        shards_.clear();
    }

    // Puts a frame on queue `q`'s RX ring, as the wire would.
    void inject(const Bytes& frame, uint16_t q = 0) {
        rte_mbuf* m = mbuf(frame);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_ring_enqueue(rx_[q], m), 0);
    }

    // Polls every worker, in order, until a round handles nothing; returns
    // the packets handled.
    unsigned poll_until_quiet() {
        unsigned handled = 0;
        for (int round = 0; round < 1000; ++round) {
            unsigned n = 0;
            for (auto& w : workers_)
                n += w->poll_once();
            if (n == 0) return handled;
            handled += n;
        }
        ADD_FAILURE() << "the workers never went quiet";
        return handled;
    }

    // Every frame sent on TX queue `q` so far, in order; frees the mbufs.
    std::vector<Bytes> drain(uint16_t q) {
        std::vector<Bytes> frames;
        void* objs[64];
        unsigned n;
        while ((n = rte_ring_dequeue_burst(tx_[q], objs, 64, nullptr)) > 0) {
            for (unsigned i = 0; i < n; ++i) {
                auto* m = static_cast<rte_mbuf*>(objs[i]);
                EXPECT_EQ(m->nb_segs, 1);
                EXPECT_EQ(rte_pktmbuf_pkt_len(m), rte_pktmbuf_data_len(m));
                frames.push_back(to_bytes(m));
                rte_pktmbuf_free(m);
            }
        }
        return frames;
    }

    std::vector<Datagram> replies(uint16_t q) {
        std::vector<Datagram> d;
        for (const Bytes& f : drain(q))
            d.push_back(parse_reply(f));
        return d;
    }

    // Sends `text` as one request datagram on queue `q`, runs the workers
    // and returns the reply reassembled from every TX queue (nullopt when no
    // datagram at all came back).
    std::optional<std::string> ask(std::string_view text, uint16_t q = 0) {
        const uint16_t id = next_request_id_++;
        inject(request_frame(text, id), q);
        poll_until_quiet();
        std::vector<Datagram> all;
        for (uint16_t t = 0; t < tx_.size(); ++t)
            for (Datagram& d : replies(t))
                all.push_back(std::move(d));
        return reassemble(all, id);
    }

    // Asks and expects exactly `expected` back.
    void expect_reply(std::string_view text, std::string_view expected, uint16_t q = 0) {
        EXPECT_EQ(ask(text, q), std::string(expected)) << text;
    }

    // One burst of the given (request id, text) requests on queue 0: the
    // (request id, reply text) pairs in the order they leave.
    std::vector<std::pair<uint16_t, std::string>> replies_to_burst(
        const std::vector<std::pair<uint16_t, std::string_view>>& burst) {
        for (const auto& [id, text] : burst)
            inject(udp_request_frame(RequestSpec{.request_id = id, .text = text}));
        EXPECT_EQ(workers_[0]->poll_once(), burst.size());
        std::vector<std::pair<uint16_t, std::string>> got;
        for (const Bytes& f : drain(0)) {
            const Datagram d = parse_reply(f);
            got.emplace_back(d.request_id, d.text);
        }
        return got;
    }

    const WorkerStats& stats(size_t w = 0) const { return workers_[w]->stats; }
    uint64_t drops(DropReason r, size_t w = 0) const {
        return workers_[w]->drops[static_cast<size_t>(r)];
    }

    // The service address table, as the control plane would write it.
    shm::ServiceAddrs services_{};
    int port_id_ = -1;
    std::vector<rte_ring*> rx_;
    std::vector<rte_ring*> tx_;
    dataplane::Channels channels_;
    std::vector<std::unique_ptr<store::Shard>> shards_;
    std::vector<store::Shard*> shard_ptrs_;
    std::vector<std::unique_ptr<Worker>> workers_;
    uint16_t next_request_id_ = 0xa000;
};

class WorkerPacketsWithUdpAdmin : public WorkerPackets {
  protected:
    void SetUp() override {
        PacketTest::SetUp();
        start({.admin_over_udp = true});
    }
};

class TwoWorkerPackets : public WorkerPackets {
  protected:
    void SetUp() override {
        PacketTest::SetUp();
        start({.n_workers = 2});
    }
};

// ---- classic commands -----------------------------------------------------

TEST_F(WorkerPackets, AnswersAGetWithTheRequestIdEchoedAndAddressesSwapped) {
    inject(
        udp_request_frame({.udp = {.sport = 5555}, .request_id = 0xbeef, .text = "get foo\r\n"}));
    EXPECT_EQ(poll_until_quiet(), 1u);
    const std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 1u);
    const Datagram d = parse_reply(frames[0], 5555);
    EXPECT_EQ(d.request_id, 0xbeef);
    EXPECT_EQ(d.seq, 0);
    EXPECT_EQ(d.total, 1);
    EXPECT_EQ(d.text, "END\r\n");
    EXPECT_EQ(stats().rx_packets, 1u);
    EXPECT_EQ(stats().udp_requests, 1u);
    EXPECT_EQ(stats().udp_reply_datagrams, 1u);
    EXPECT_EQ(stats().udp_reply_bytes, 5u);
    EXPECT_EQ(stats().tx_packets, 1u);
}

TEST_F(WorkerPackets, SetThenGetAndGetsOfSeveralKeys) {
    expect_reply("set a 5 0 3\r\nabc\r\n", "STORED\r\n");
    expect_reply("set b 0 0 2\r\nxy\r\n", "STORED\r\n");
    EXPECT_EQ(ask("get a nope b a\r\n"), value_line("a", "abc", 5) + value_line("b", "xy") +
                                             value_line("a", "abc", 5) + "END\r\n");
    // First CAS unique of a shard is 1.
    EXPECT_EQ(ask("gets a b\r\n"), "VALUE a 5 3 1\r\nabc\r\nVALUE b 0 2 2\r\nxy\r\nEND\r\n");
}

TEST_F(WorkerPackets, AddReplaceAppendAndPrependFollowMemcached) {
    expect_reply("replace k 0 0 1\r\na\r\n", "NOT_STORED\r\n");
    expect_reply("add k 3 0 2\r\nbc\r\n", "STORED\r\n");
    expect_reply("add k 0 0 1\r\nz\r\n", "NOT_STORED\r\n");
    expect_reply("append k 0 0 2\r\nde\r\n", "STORED\r\n");
    expect_reply("prepend k 0 0 1\r\na\r\n", "STORED\r\n");
    expect_reply("append nx 0 0 1\r\na\r\n", "NOT_STORED\r\n");
    EXPECT_EQ(ask("get k\r\n"), value_line("k", "abcde", 3) + "END\r\n");
    expect_reply("replace k 9 0 1\r\nr\r\n", "STORED\r\n");
    EXPECT_EQ(ask("get k\r\n"), value_line("k", "r", 9) + "END\r\n");
}

TEST_F(WorkerPackets, CasStoresOnlyWithTheCurrentUnique) {
    expect_reply("set c 0 0 1\r\n1\r\n", "STORED\r\n");
    expect_reply("cas c 0 0 1 7\r\n2\r\n", "EXISTS\r\n");
    expect_reply("cas c 0 0 1 1\r\n3\r\n", "STORED\r\n");
    expect_reply("cas c 0 0 1 1\r\n4\r\n", "EXISTS\r\n");
    expect_reply("cas nx 0 0 1 1\r\n5\r\n", "NOT_FOUND\r\n");
    EXPECT_EQ(ask("gets c\r\n"), "VALUE c 0 1 2\r\n3\r\nEND\r\n");
}

TEST_F(WorkerPackets, DeleteIncrDecrAndTouch) {
    expect_reply("set n 0 0 2\r\n10\r\n", "STORED\r\n");
    expect_reply("incr n 5\r\n", "15\r\n");
    expect_reply("decr n 3\r\n", "12\r\n");
    expect_reply("incr nx 1\r\n", "NOT_FOUND\r\n");
    expect_reply("set s 0 0 3\r\nabc\r\n", "STORED\r\n");
    expect_reply("incr s 1\r\n",
                 "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    expect_reply("touch n 100\r\n", "TOUCHED\r\n");
    expect_reply("touch nx 100\r\n", "NOT_FOUND\r\n");
    expect_reply("delete n\r\n", "DELETED\r\n");
    expect_reply("delete n\r\n", "NOT_FOUND\r\n");
    EXPECT_EQ(ask("get n\r\n"), "END\r\n");
}

TEST_F(WorkerPackets, GatAndGatsReturnTheValueAndTouch) {
    expect_reply("set g 4 0 2\r\nhi\r\n", "STORED\r\n");
    EXPECT_EQ(ask("gat 100 g nx\r\n"), value_line("g", "hi", 4) + "END\r\n");
    EXPECT_EQ(ask("gats 0 g\r\n"), "VALUE g 4 2 1\r\nhi\r\nEND\r\n");
    EXPECT_EQ(ask("gat 100 nx\r\n"), "END\r\n");
}

TEST_F(WorkerPackets, VersionAnswersOurVersion) {
    EXPECT_EQ(ask("version\r\n"), "VERSION " + std::string(engine::kMcVersion) + "\r\n");
}

TEST_F(WorkerPackets, SeveralCommandsInOneDatagramAnswerInOneReply) {
    EXPECT_EQ(ask("set a 0 0 1\r\n1\r\nincr a 41\r\nget a\r\n"),
              "STORED\r\n42\r\n" + value_line("a", "42") + "END\r\n");
}

TEST_F(WorkerPackets, NoreplyCommandsSendNoDatagramAtAll) {
    expect_reply("set base 0 0 1\r\n5\r\n", "STORED\r\n");
    const uint64_t sent = stats().tx_packets;
    for (const char* text : {
             "set k 1 0 2 noreply\r\nab\r\n",
             "add k 0 0 1 noreply\r\nz\r\n",
             "add k2 0 0 1 noreply\r\nz\r\n",
             "replace k2 0 0 1 noreply\r\ny\r\n",
             "append k 0 0 1 noreply\r\nc\r\n",
             "prepend k 0 0 1 noreply\r\n_\r\n",
             "cas k 0 0 1 999 noreply\r\nx\r\n",
             "incr base 2 noreply\r\n",
             "decr base 1 noreply\r\n",
             "touch base 100 noreply\r\n",
             "delete k2 noreply\r\n",
             "delete nx noreply\r\n",
         })
        EXPECT_EQ(ask(text), std::nullopt) << text;
    EXPECT_EQ(stats().tx_packets, sent);
    EXPECT_EQ(stats().udp_requests, 13u);
    EXPECT_EQ(ask("get k k2 base\r\n"),
              value_line("k", "_abc", 1) + value_line("base", "6") + "END\r\n");
}

// ---- meta commands ---------------------------------------------------------

TEST_F(WorkerPackets, MetaNoopSetGetDeleteAndArithmetic) {
    expect_reply("mn\r\n", "MN\r\n");
    expect_reply("ms foo 3 F5\r\nbar\r\n", "HD\r\n");
    expect_reply("mg foo\r\n", "HD\r\n");
    expect_reply("mg foo v k f t c\r\n", "VA 3 kfoo f5 t-1 c1\r\nbar\r\n");
    expect_reply("mg foo s v\r\n", "VA 3 s3\r\nbar\r\n");
    expect_reply("mg miss v k\r\n", "EN kmiss\r\n");
    expect_reply("mg miss q k\r\nmn\r\n", "MN\r\n");
    EXPECT_EQ(ask("mg miss q\r\n"), std::nullopt) << "a quiet miss says nothing";
    expect_reply("md foo\r\n", "HD\r\n");
    expect_reply("md foo\r\n", "NF\r\n");
    expect_reply("mg foo v\r\n", "EN\r\n");
    expect_reply("ma cnt\r\n", "NF\r\n");
    expect_reply("ms cnt 1\r\n5\r\n", "HD\r\n");
    expect_reply("ma cnt v\r\n", "VA 1\r\n6\r\n");
    expect_reply("ma cnt MD D2 v\r\n", "VA 1\r\n4\r\n");
    EXPECT_EQ(ask("get cnt\r\n"), value_line("cnt", "4") + "END\r\n");
}

// ---- multi-datagram replies -----------------------------------------------

TEST_F(WorkerPackets, SplitsA20000ByteValueIntoFifteenDatagrams) {
    // Twenty 1,000-byte pieces, each a request of its own datagram.
    std::string value;
    for (int i = 0; i < 20; ++i) {
        const std::string piece(1000, static_cast<char>('a' + i));
        value += piece;
        const std::string verb = i == 0 ? "set" : "append";
        expect_reply(verb + " big 0 0 1000\r\n" + piece + "\r\n", "STORED\r\n");
    }
    ASSERT_EQ(value.size(), 20000u);
    const uint16_t id = 0x1234;
    inject(request_frame("get big\r\n", id));
    EXPECT_EQ(poll_until_quiet(), 1u);
    const std::vector<Datagram> d = replies(0);
    ASSERT_EQ(d.size(), 15u);
    for (uint16_t i = 0; i < 15; ++i) {
        EXPECT_EQ(d[i].seq, i);
        EXPECT_EQ(d[i].total, 15);
    }
    EXPECT_EQ(reassemble(d, id), value_line("big", value) + "END\r\n");
    EXPECT_EQ(stats().udp_reply_datagrams, 20u + 15u);
}

TEST_F(WorkerPackets, AnswersAHundredKeyMultiGetInOrder) {
    std::string get = "get";
    std::string expected;
    for (int i = 0; i < 100; ++i) {
        const std::string key = "key" + std::to_string(i);
        const std::string value(100 + i, static_cast<char>('A' + i % 26));
        expect_reply("set " + key + " " + std::to_string(i) + " 0 " + std::to_string(value.size()) +
                         "\r\n" + value + "\r\n",
                     "STORED\r\n");
        get += " " + key;
        expected += value_line(key, value, static_cast<uint32_t>(i));
    }
    expected += "END\r\n";
    const std::optional<std::string> got = ask(get + "\r\n");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, expected);
    EXPECT_EQ(stats().udp_reply_datagrams,
              100u + (expected.size() + proto::kMcUdpMaxPayload - 1) / proto::kMcUdpMaxPayload);
}

TEST_F(WorkerPackets, AnswersOutOfMemoryWhenAReplyOutgrowsTheReplyBuffer) {
    // Stored as the owner would: a value this size takes 715 datagrams to set.
    const std::string value(1'000'000, 'h');
    ASSERT_EQ(shards_[0]->store(store::StoreMode::kSet, store::KeyRef("huge"), value, {},
                                static_cast<UnixTime>(::time(nullptr))),
              store::StoreStatus::kStored);
    // Five copies (5 MB) pass the worker's 4 MiB reply buffer.
    EXPECT_EQ(ask("get huge huge huge huge huge\r\n"),
              "SERVER_ERROR out of memory writing get response\r\n");
    EXPECT_EQ(stats().udp_reply_overflow, 1u);
}

TEST_F(WorkerPackets, SendsNothingWhenTheMempoolCannotHoldTheWholeReply) {
    const std::string value(1'000'000, 'h');
    ASSERT_EQ(shards_[0]->store(store::StoreMode::kSet, store::KeyRef("huge"), value, {},
                                static_cast<UnixTime>(::time(nullptr))),
              store::StoreStatus::kStored);
    // 715 datagrams fit the 1,023-mbuf pool; 1,430 do not, and a reply is
    // sent whole or not at all.
    const std::optional<std::string> one = ask("get huge\r\n");
    EXPECT_EQ(one, value_line("huge", value) + "END\r\n");
    EXPECT_EQ(stats().udp_reply_datagrams, 715u);
    EXPECT_EQ(ask("get huge huge\r\n"), std::nullopt);
    EXPECT_EQ(stats().mbuf_alloc_failed, 1u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize);
}

// ---- malformed memcached datagrams ----------------------------------------

TEST_F(WorkerPackets, DropsPayloadsShorterThanTheFrameHeader) {
    inject(raw_udp_frame({}));
    inject(raw_udp_frame({0x00, 0x01, 0x00, 0x00, 0x00}));
    inject(raw_udp_frame({0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00}));
    EXPECT_EQ(poll_until_quiet(), 3u);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(stats().udp_requests, 3u);
    EXPECT_EQ(stats().udp_short_frame, 3u);
}

TEST_F(WorkerPackets, DropsRequestsThatAnnounceMoreThanOneDatagram) {
    inject(raw_udp_frame(mc_payload(1, 0, 2, "get foo\r\n")));
    inject(raw_udp_frame(mc_payload(2, 1, 2, "get foo\r\n")));
    inject(raw_udp_frame(mc_payload(3, 0, 0, "get foo\r\n")));
    EXPECT_EQ(poll_until_quiet(), 3u);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(stats().udp_multi_datagram, 3u);
    EXPECT_EQ(stats().udp_short_frame, 0u);
}

TEST_F(WorkerPackets, IgnoresTheSequenceNumberOfASingleDatagramRequest) {
    inject(raw_udp_frame(mc_payload(9, 5, 1, "get foo\r\n")));
    poll_until_quiet();
    EXPECT_EQ(reassemble(replies(0), 9), "END\r\n");
}

TEST_F(WorkerPackets, AnswersJunkWithError) {
    EXPECT_EQ(ask("\x01\x7f junk \xff\r\n"), "ERROR\r\n");
    EXPECT_EQ(ask("bogus\r\nget\r\n"), "ERROR\r\nERROR\r\n");
    EXPECT_EQ(stats().udp_short_frame + stats().udp_multi_datagram, 0u);
}

TEST_F(WorkerPackets, SendsNothingForAnEmptyOrUnfinishedRequest) {
    EXPECT_EQ(ask(""), std::nullopt);
    EXPECT_EQ(ask("get foo"), std::nullopt);
    EXPECT_EQ(ask("set foo 0 0 10\r\nshort\r\n"), std::nullopt);
    EXPECT_EQ(ask("get foo\r\n"), "END\r\n") << "nothing carried over between datagrams";
}

// ---- admin commands ---------------------------------------------------------

TEST_F(WorkerPackets, RefusesAdminCommandsSilentlyByDefault) {
    expect_reply("set keep 0 0 1\r\nk\r\n", "STORED\r\n");
    EXPECT_EQ(ask("stats\r\n"), std::nullopt);
    EXPECT_EQ(ask("flush_all\r\n"), std::nullopt);
    EXPECT_EQ(ask("verbosity 1\r\n"), std::nullopt);
    EXPECT_EQ(ask("get keep\r\nstats\r\n"), std::nullopt) << "one admin command refuses all";
    EXPECT_EQ(stats().udp_refused_admin, 4u);
    EXPECT_EQ(ask("get keep\r\n"), value_line("keep", "k") + "END\r\n") << "flush_all refused";
}

TEST_F(WorkerPacketsWithUdpAdmin, ServesAdminCommandsWhenEnabled) {
    expect_reply("set gone 0 0 1\r\ng\r\n", "STORED\r\n");
    const std::optional<std::string> st = ask("stats\r\n");
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->starts_with("STAT pid ")) << *st;
    EXPECT_TRUE(st->ends_with("END\r\n"));
    expect_reply("verbosity 1\r\n", "OK\r\n");
    expect_reply("flush_all\r\n", "OK\r\n");
    EXPECT_EQ(ask("get gone\r\n"), "END\r\n");
    EXPECT_EQ(stats().udp_refused_admin, 0u);
}

// ---- reflection guard -----------------------------------------------------

TEST_F(WorkerPackets, SendsNothingToClientsOutsideTheAllowedPrefixes) {
    inject(udp_request_frame({.ip = {.src = kStrangerIp}, .text = "get foo\r\n"}));
    inject(udp_request_frame({.ip = {.src = kStrangerIp}, .text = "set foo 0 0 1\r\nx\r\n"}));
    EXPECT_EQ(poll_until_quiet(), 2u);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(drops(DropReason::kClientNotAllowed), 2u);
    EXPECT_EQ(stats().udp_requests, 0u);
    EXPECT_EQ(ask("get foo\r\n"), "END\r\n") << "the stranger's set did not run";
}

// ---- a full burst -------------------------------------------------------------

TEST_F(WorkerPackets, HandlesAFullBurstOfMixedFramesInOnePoll) {
    for (int i = 0; i < 10; ++i)
        expect_reply("set m" + std::to_string(i) + " 0 0 2\r\nv" + std::to_string(i) + "\r\n",
                     "STORED\r\n");
    const WorkerStats before = stats();

    // 10 gets, 8 sets, 4 ARP requests, 4 ICMP echoes, 6 frames to drop: 32.
    std::map<uint16_t, std::string> expected;
    std::vector<Bytes> frames;
    for (uint16_t i = 0; i < 10; ++i) {
        const std::string key = "m" + std::to_string(i);
        frames.push_back(request_frame("get " + key + "\r\n", 100 + i));
        expected[100 + i] = value_line(key, "v" + std::to_string(i)) + "END\r\n";
        if (i < 8) {
            frames.push_back(
                request_frame("set s" + std::to_string(i) + " 0 0 1\r\nx\r\n", 200 + i));
            expected[200 + i] = "STORED\r\n";
        }
        if (i < 4) {
            frames.push_back(
                eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                    arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp)));
            frames.push_back(eth({}, RTE_ETHER_TYPE_IPV4,
                                 ipv4({.proto = IPPROTO_ICMP},
                                      icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 77, i, Bytes(16, 0xab)))));
        }
        if (i < 2) {
            frames.push_back(eth({}, RTE_ETHER_TYPE_IPV6, Bytes(60, 0)));
            const Ipv4Spec bad{.corrupt_checksum = true};
            frames.push_back(
                eth({}, RTE_ETHER_TYPE_IPV4, ipv4(bad, udp({}, bad, mc_request(1, "get m0\r\n")))));
            frames.push_back(udp_request_frame({.udp = {.dport = 53}}));
        }
    }
    ASSERT_EQ(frames.size(), 32u);
    for (const Bytes& f : frames)
        inject(f);

    EXPECT_EQ(workers_[0]->poll_once(), 32u) << "one burst takes all 32";
    EXPECT_EQ(rte_ring_count(rx_[0]), 0u);
    size_t n_arp = 0;
    size_t n_icmp = 0;
    for (const Bytes& f : drain(0)) {
        if (get16(&f[12]) == RTE_ETHER_TYPE_ARP) {
            EXPECT_EQ(get16(&f[14 + 6]), RTE_ARP_OP_REPLY);
            n_arp++;
        } else if (f[14 + 9] == IPPROTO_ICMP) {
            EXPECT_EQ(f[14 + 20], RTE_IP_ICMP_ECHO_REPLY);
            EXPECT_TRUE(same_ip(&f[14 + 16], kPeerIp));
            n_icmp++;
        } else {
            const Datagram d = parse_reply(f);
            ASSERT_TRUE(expected.contains(d.request_id)) << d.request_id;
            EXPECT_EQ(d.total, 1);
            EXPECT_EQ(d.text, expected[d.request_id]);
            expected.erase(d.request_id);
        }
    }
    EXPECT_EQ(n_arp, 4u);
    EXPECT_EQ(n_icmp, 4u);
    EXPECT_TRUE(expected.empty()) << expected.size() << " requests unanswered";
    EXPECT_EQ(stats().rx_packets - before.rx_packets, 32u);
    EXPECT_EQ(stats().replies_in_place - before.replies_in_place, 8u);
    EXPECT_EQ(stats().udp_requests - before.udp_requests, 18u);
    EXPECT_EQ(stats().tx_packets - before.tx_packets, 26u);
    EXPECT_EQ(drops(DropReason::kNotIpv4), 2u);
    EXPECT_EQ(drops(DropReason::kBadIpChecksum), 2u);
    EXPECT_EQ(drops(DropReason::kNotOurPort), 2u);
    EXPECT_EQ(ask("get s0 s7\r\n"), value_line("s0", "x") + value_line("s7", "x") + "END\r\n");
}

TEST_F(WorkerPackets, AnnouncesItsAddressWithAGratuitousArp) {
    workers_[0]->announce();
    const std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 1u);
    const Bytes& f = frames[0];
    EXPECT_TRUE(same_mac(&f[0], kBroadcastMac));
    EXPECT_EQ(get16(&f[12]), RTE_ETHER_TYPE_ARP);
    EXPECT_TRUE(same_ip(&f[14 + 14], kOurIp)) << "sender address";
    EXPECT_TRUE(same_ip(&f[14 + 24], kOurIp)) << "target address";
}

TEST_F(WorkerPackets, ReturnsEveryMbufToThePoolOnceDrained) {
    const unsigned start = rte_mempool_avail_count(pool_);
    expect_reply("set a 0 0 1500\r\n" + std::string(1500, 'x') + "\r\n", "STORED\r\n");
    EXPECT_EQ(ask("get a a a\r\n"), value_line("a", std::string(1500, 'x')) +
                                        value_line("a", std::string(1500, 'x')) +
                                        value_line("a", std::string(1500, 'x')) + "END\r\n");
    inject(raw_udp_frame({1, 2, 3}));
    inject(raw_udp_frame(mc_payload(1, 0, 3, "get a\r\n")));
    inject(udp_request_frame({.ip = {.src = kStrangerIp}}));
    inject(request_frame("stats\r\n", 4));
    inject(request_frame("set a 0 0 1 noreply\r\nz\r\n", 5));
    inject(eth({}, RTE_ETHER_TYPE_IPV6, Bytes(60, 0)));
    poll_until_quiet();
    EXPECT_TRUE(drain(0).empty());
    std::string big;
    for (int i = 0; i < 10; ++i)
        big += " a";
    EXPECT_EQ(ask("get" + big + "\r\n").value_or("").size(), 10 * value_line("a", "z").size() + 5);
    EXPECT_EQ(rte_mempool_avail_count(pool_), start);
}

// ---- two workers sharing the shards ---------------------------------------

TEST_F(TwoWorkerPackets, HandsAWriteToTheKeysOwnerWhichRepliesOnItsOwnQueue) {
    const std::string key = key_on_shard(1, 2);
    const uint16_t id = 0x5151;
    inject(request_frame("set " + key + " 3 0 5\r\nowned\r\n", id), 0);
    EXPECT_EQ(workers_[0]->poll_once(), 1u);
    EXPECT_EQ(stats(0).handoff_out, 1u);
    EXPECT_TRUE(drain(0).empty()) << "the receiver does not answer";
    EXPECT_EQ(rte_ring_count(channels_.inboxes[1]), 1u);
    EXPECT_EQ(workers_[1]->poll_once(), 1u);
    EXPECT_EQ(stats(1).handoff_in, 1u);
    EXPECT_EQ(stats(1).rx_packets, 0u);
    EXPECT_EQ(reassemble(replies(1), id), "STORED\r\n");
    EXPECT_TRUE(drain(0).empty());
    store::ItemMeta meta;
    std::vector<char> buf(16);
    const store::KeyRef k(key);
    ASSERT_EQ(shards_[1]->read(k, static_cast<UnixTime>(::time(nullptr)), buf, meta),
              store::ReadStatus::kHit);
    EXPECT_EQ(std::string_view(buf.data(), meta.value_len), "owned");
    EXPECT_EQ(shards_[0]->n_items(), 0u);
}

TEST_F(TwoWorkerPackets, HandsOffInBothDirectionsAndMetaWritesToo) {
    const std::string k0 = key_on_shard(0, 2);
    const std::string k1 = key_on_shard(1, 2);
    inject(request_frame("ms " + k0 + " 2\r\nw0\r\n", 1), 1);
    inject(request_frame("ms " + k1 + " 2\r\nw1\r\n", 2), 0);
    poll_until_quiet();
    EXPECT_EQ(reassemble(replies(0), 1), "HD\r\n");
    EXPECT_EQ(reassemble(replies(1), 2), "HD\r\n");
    EXPECT_EQ(stats(0).handoff_out, 1u);
    EXPECT_EQ(stats(0).handoff_in, 1u);
    EXPECT_EQ(stats(1).handoff_out, 1u);
    EXPECT_EQ(stats(1).handoff_in, 1u);
    EXPECT_EQ(shards_[0]->n_items(), 1u);
    EXPECT_EQ(shards_[1]->n_items(), 1u);
}

TEST_F(TwoWorkerPackets, ReadsAnotherWorkersShardWithoutAHandOff) {
    const std::string k0 = key_on_shard(0, 2);
    const std::string k1 = key_on_shard(1, 2);
    expect_reply("set " + k0 + " 0 0 2\r\nv0\r\n", "STORED\r\n", 1);
    expect_reply("set " + k1 + " 0 0 2\r\nv1\r\n", "STORED\r\n", 0);
    const WorkerStats w0 = stats(0);
    const WorkerStats w1 = stats(1);

    const uint16_t id = 0x7007;
    inject(request_frame("get " + k1 + " " + k0 + "\r\n", id), 0);
    poll_until_quiet();
    EXPECT_EQ(reassemble(replies(0), id), value_line(k1, "v1") + value_line(k0, "v0") + "END\r\n");
    EXPECT_TRUE(drain(1).empty()) << "worker 1 is not involved";
    EXPECT_EQ(stats(0).handoff_out, w0.handoff_out);
    EXPECT_EQ(stats(1).handoff_in, w1.handoff_in);
    EXPECT_EQ(stats(1).rx_packets, w1.rx_packets);
    EXPECT_EQ(stats(0).udp_reply_datagrams - w0.udp_reply_datagrams, 1u);
}

TEST_F(TwoWorkerPackets, HandsATooLargeSetToTheOwnerOfTheKeyItUnlinks) {
    // memcached unlinks the key of a set it cannot store: a write, so the
    // owner runs it.
    const std::string k1 = key_on_shard(1, 2);
    expect_reply("set " + k1 + " 0 0 2\r\nv1\r\n", "STORED\r\n", 1);
    const uint16_t id = 0x0b16;
    inject(request_frame("set " + k1 + " 0 0 2000000\r\n", id), 0);
    poll_until_quiet();
    EXPECT_EQ(stats(0).handoff_out, 1u);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(reassemble(replies(1), id), "SERVER_ERROR object too large for cache\r\n");
    EXPECT_EQ(shards_[1]->n_items(), 0u);
}

// A refused ms unlinks its key (as memcached does): that is a write, so it
// runs on the key's owner.
TEST_F(TwoWorkerPackets, HandsATooLargeMsToTheOwnerOfTheKeyItUnlinks) {
    const std::string k1 = key_on_shard(1, 2);
    expect_reply("set " + k1 + " 0 0 2\r\nv1\r\n", "STORED\r\n", 1);
    const uint16_t id = 0x0bad;
    inject(request_frame("ms " + k1 + " 2000000\r\n", id), 0);
    poll_until_quiet();
    const std::vector<Datagram> on_w0 = replies(0);
    const std::vector<Datagram> on_w1 = replies(1);
    EXPECT_EQ(stats(0).handoff_out, 1u);
    EXPECT_TRUE(on_w0.empty());
    EXPECT_EQ(reassemble(on_w1, id), "SERVER_ERROR object too large for cache\r\n");
    EXPECT_EQ(shards_[1]->n_items(), 0u);
}

TEST_F(TwoWorkerPackets, RefusesWritesToBothShardsInOneDatagram) {
    const std::string k0 = key_on_shard(0, 2);
    const std::string k1 = key_on_shard(1, 2);
    const std::string span = "set " + k0 + " 0 0 1\r\na\r\nset " + k1 + " 0 0 1\r\nb\r\n";
    EXPECT_EQ(ask(span, 0), std::string(proto::kMcServerErrorSpan));
    EXPECT_EQ(ask("gat 0 " + k0 + " " + k1 + "\r\n", 1), std::string(proto::kMcServerErrorSpan));
    EXPECT_EQ(ask("md " + k1 + "\r\ndelete " + k0 + "\r\n", 1),
              std::string(proto::kMcServerErrorSpan));
    EXPECT_EQ(stats(0).udp_refused_span, 1u);
    EXPECT_EQ(stats(1).udp_refused_span, 2u);
    EXPECT_EQ(ask("get " + k0 + " " + k1 + "\r\n"), "END\r\n") << "neither write ran";
    EXPECT_EQ(stats(0).handoff_out + stats(1).handoff_out, 0u);
}

// ---- the typed hand-off message (dataplane/handoff.h) ----------------------

// The receiver routes, parses and digests a plain set once; the message
// carries all of it to the owner.
TEST_F(TwoWorkerPackets, AHandedOffSetCarriesTheRoutersParseAndDigest) {
    const std::string key = key_on_shard(1, 2);
    const uint16_t id = 0x5eed;
    inject(request_frame("set " + key + " 7 0 5\r\nowned\r\n", id), 0);
    EXPECT_EQ(workers_[0]->poll_once(), 1u);
    ASSERT_EQ(rte_ring_count(channels_.inboxes[1]), 1u);
    void* obj = nullptr;
    ASSERT_EQ(rte_ring_dequeue(channels_.inboxes[1], &obj), 0);
    const auto* msg = static_cast<const dataplane::Message*>(obj);
    EXPECT_EQ(msg->kind, dataplane::MessageKind::kUdpDatagram);
    EXPECT_EQ(msg->from, 0);
    EXPECT_EQ(msg->udp.request_id, id);
    ASSERT_TRUE(msg->parsed.valid);
    EXPECT_EQ(msg->parsed.request.command, proto::McTextCommand::kSet);
    EXPECT_EQ(msg->parsed.request.key, key);
    EXPECT_EQ(msg->parsed.request.value, "owned");
    EXPECT_EQ(msg->parsed.request.flags, 7u);
    EXPECT_EQ(msg->parsed.digest, store::digest_key(key));
    ASSERT_EQ(rte_ring_enqueue(channels_.inboxes[1], obj), 0);
    EXPECT_EQ(workers_[1]->poll_once(), 1u);
    EXPECT_EQ(reassemble(replies(1), id), "STORED\r\n");
    EXPECT_EQ(stats(1).udp_requests, 0u) << "the owner classified nothing";
}

// The owner runs what the message says, not what the frame's bytes say: a
// message whose parse names another value, and whose digest is another
// key's, stores that value under that digest. Re-parsing the bytes or
// re-digesting the key would store "bytes" under the key's own digest.
TEST_F(TwoWorkerPackets, TheOwnerRunsAHandedOffWriteFromTheMessageNotItsBytes) {
    const std::string key = key_on_shard(1, 2);
    const std::string decoy = key_on_shard(1, 2, "decoy");
    const std::string text = "set " + key + " 0 0 5\r\nbytes\r\n";
    rte_mbuf* m = mbuf(request_frame(text, 0x0d0d));
    ASSERT_NE(m, nullptr);
    UdpRequest udp;
    DropReason why{};
    ClientFilter clients;
    clients.add(RTE_BE32(RTE_IPV4(198, 18, 0, 0)), 15);
    ASSERT_EQ(classify(m, port_, clients, udp, why), RxAction::kUdpRequest);

    void* obj = nullptr;
    ASSERT_EQ(rte_mempool_get(channels_.messages, &obj), 0);
    auto* msg = static_cast<dataplane::Message*>(obj);
    msg->kind = dataplane::MessageKind::kUdpDatagram;
    msg->from = 0;
    msg->body = std::string_view(reinterpret_cast<const char*>(udp.payload.data()) + 8,
                                 udp.payload.size() - 8);
    static constexpr std::string_view kCarried = "other";
    msg->parsed.request = proto::McTextRequest{};
    msg->parsed.request.command = proto::McTextCommand::kSet;
    msg->parsed.request.key = msg->body.substr(4, key.size());
    msg->parsed.request.value = kCarried;
    msg->parsed.request.value_len = static_cast<uint32_t>(kCarried.size());
    msg->parsed.digest = store::digest_key(decoy);
    msg->parsed.valid = true;
    msg->udp = dataplane::UdpReplyTo{.frame = m, .udp = udp, .request_id = 0x0d0d};
    ASSERT_EQ(rte_ring_enqueue(channels_.inboxes[1], msg), 0);

    EXPECT_EQ(workers_[1]->poll_once(), 1u);
    EXPECT_EQ(reassemble(replies(1), 0x0d0d), "STORED\r\n");
    EXPECT_EQ(stats(1).handoff_in, 1u);
    const auto now = static_cast<UnixTime>(::time(nullptr));
    std::vector<char> buf(16);
    store::ItemMeta meta;
    EXPECT_EQ(shards_[1]->read(store::KeyRef(key), now, buf, meta), store::ReadStatus::kMiss)
        << "stored under the carried digest, not the key's own";
    store::KeyRef carried;
    carried.key = key;
    carried.digest = store::digest_key(decoy);
    ASSERT_EQ(shards_[1]->read(carried, now, buf, meta), store::ReadStatus::kHit);
    EXPECT_EQ(std::string_view(buf.data(), meta.value_len), kCarried);
}

// A test acting as the control plane: requests enqueued into an owner's
// inbox come back as typed replies on the reply ring they name, with the
// reply bytes in mbufs; nothing goes out on the wire.
TEST_F(TwoWorkerPackets, AControlPlaneRequestGetsItsTypedReplyOnItsReplyRing) {
    const std::string key = key_on_shard(0, 2, "cp");
    rte_ring* replies_ring = rte_ring_create("wk_cp_replies", 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
    ASSERT_NE(replies_ring, nullptr);
    // A request fits one mbuf; a reply of two such values takes a chain.
    const std::string big(1800, 'b');
    uint16_t most_segments = 0;

    // The control plane's request bytes live in an mbuf (shared memory).
    auto request = [&](const std::string& text, uint64_t request_id, bool parse) {
        rte_mbuf* body = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(body, nullptr);
        char* p = rte_pktmbuf_append(body, static_cast<uint16_t>(text.size()));
        ASSERT_NE(p, nullptr);
        std::memcpy(p, text.data(), text.size());
        void* obj = nullptr;
        ASSERT_EQ(rte_mempool_get(channels_.messages, &obj), 0);
        auto* msg = static_cast<dataplane::Message*>(obj);
        msg->kind = dataplane::MessageKind::kControlRequest;
        msg->from = dataplane::kFromControlPlane;
        msg->request_id = request_id;
        msg->body = std::string_view(p, text.size());
        msg->parsed.valid = false;
        if (parse) {
            // The control plane parsed it itself: the owner runs the parse.
            proto::McTextParser parser;
            ASSERT_EQ(parser.parse(msg->body, msg->parsed.request).status,
                      proto::ParseStatus::kComplete);
            msg->parsed.digest = store::digest_key(msg->parsed.request.key);
            msg->parsed.valid = true;
        }
        msg->control = dataplane::ControlReplyTo{.request = body, .replies = replies_ring};
        ASSERT_EQ(rte_ring_enqueue(channels_.inboxes[0], msg), 0);
    };
    // The reply's bytes, and the message back to the pool.
    auto reply = [&](uint64_t request_id, dataplane::ReplyStatus status) -> std::string {
        void* obj = nullptr;
        if (rte_ring_dequeue(replies_ring, &obj) != 0) {
            ADD_FAILURE() << "no reply for " << request_id;
            return {};
        }
        auto* msg = static_cast<dataplane::Message*>(obj);
        EXPECT_EQ(msg->kind, dataplane::MessageKind::kControlReply);
        EXPECT_EQ(msg->request_id, request_id);
        EXPECT_EQ(msg->status, status);
        EXPECT_EQ(msg->from, 0);
        std::string text;
        for (const rte_mbuf* seg = msg->reply; seg != nullptr; seg = seg->next)
            text.append(rte_pktmbuf_mtod(seg, const char*), seg->data_len);
        EXPECT_EQ(text.size(), msg->reply_len);
        if (msg->reply != nullptr) {
            EXPECT_EQ(msg->reply->pkt_len, msg->reply_len);
            most_segments = std::max(most_segments, msg->reply->nb_segs);
        }
        rte_pktmbuf_free(msg->reply);
        rte_mempool_put(channels_.messages, msg);
        return text;
    };

    const unsigned mbufs_before = rte_mempool_avail_count(pool_);
    request("set " + key + " 3 0 " + std::to_string(big.size()) + "\r\n" + big + "\r\n", 41, true);
    request("get " + key + " " + key + "\r\ndelete nope\r\n", 42, false);
    request("set " + key + " 0 0 1 noreply\r\nx\r\n", 43, true);
    EXPECT_EQ(workers_[0]->poll_once(), 3u);
    EXPECT_EQ(stats(0).handoff_in, 3u);
    EXPECT_EQ(reply(41, dataplane::ReplyStatus::kOk), "STORED\r\n");
    EXPECT_EQ(reply(42, dataplane::ReplyStatus::kOk),
              value_line(key, big, 3) + value_line(key, big, 3) + "END\r\nNOT_FOUND\r\n");
    EXPECT_GE(most_segments, 2) << "a reply longer than one mbuf comes chained";
    EXPECT_EQ(reply(43, dataplane::ReplyStatus::kOk), "") << "noreply: an empty reply, still sent";
    EXPECT_TRUE(drain(0).empty()) << "control-plane replies never go on the wire";
    EXPECT_EQ(rte_mempool_avail_count(pool_), mbufs_before) << "request and reply mbufs freed";
    rte_ring_free(replies_ring);
}

// The control plane's sweep pacer asks the owner for a bounded sweep step
// (kControlSweep): the owner runs it on its shard and sends the message
// back on the named ring with what the step found; nothing on the wire, no
// mbuf. Until a paced step came (and again a second after the last), the
// owner's housekeeping sweeps a fixed budget itself.
TEST_F(WorkerPackets, ASweepStepComesBackWithWhatItFoundAndTurnsTheFallbackOff) {
    rte_ring* replies_ring = rte_ring_create("wk_sweep_replies", 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
    ASSERT_NE(replies_ring, nullptr);
    store::Shard& shard = *shards_[0];
    const UnixTime now = static_cast<UnixTime>(std::time(nullptr));
    // 40 items already expired (exptime 1: memcached's "expired at once"), 60 without a TTL.
    for (int i = 0; i < 100; ++i) {
        const std::string key = "sw" + std::to_string(i);
        const store::StoreArgs a{.exptime = i < 40 ? UnixTime{1} : UnixTime{0}};
        ASSERT_EQ(shard.store(store::StoreMode::kSet, store::KeyRef(key), "v", a, now),
                  store::StoreStatus::kStored);
    }
    ASSERT_EQ(shard.n_ttl_items(), 40u);
    const unsigned mbufs_before = rte_mempool_avail_count(pool_);

    void* obj = nullptr;
    ASSERT_EQ(rte_mempool_get(channels_.messages, &obj), 0);
    auto* msg = static_cast<dataplane::Message*>(obj);
    msg->kind = dataplane::MessageKind::kControlSweep;
    msg->from = dataplane::kFromControlPlane;
    msg->request_id = 77;
    msg->sweep = dataplane::SweepStep{.replies = replies_ring, .budget = 100'000};
    ASSERT_EQ(rte_ring_enqueue(channels_.inboxes[0], msg), 0);
    EXPECT_EQ(workers_[0]->poll_once(), 1u);

    ASSERT_EQ(rte_ring_dequeue(replies_ring, &obj), 0);
    msg = static_cast<dataplane::Message*>(obj);
    EXPECT_EQ(msg->kind, dataplane::MessageKind::kControlSweepDone);
    EXPECT_EQ(msg->request_id, 77u);
    EXPECT_EQ(msg->from, 0);
    EXPECT_EQ(msg->reply_len, 0u);
    const dataplane::SweepStep& st = msg->sweep;
    EXPECT_EQ(st.ttl_seen, 40u);
    EXPECT_EQ(st.reclaimed, 40u);
    EXPECT_EQ(st.ttl_items, 0u);
    EXPECT_GE(st.chunks, 100u);  // the due page's chunks, free ones too
    EXPECT_EQ(st.n_pages, kShardMemory >> 20);
    EXPECT_EQ(st.pages_used, 1u);  // 100 small items: one page of one class
    EXPECT_EQ(st.pages_done, st.n_pages) << "a budget this large passes over every page once";
    EXPECT_GT(st.cycles, 0u);
    rte_mempool_put(channels_.messages, msg);
    EXPECT_EQ(shard.n_items(), 60u);
    EXPECT_EQ(shard.stats().sweep_reclaimed, 40u);
    EXPECT_EQ(shard.stats().sweep_steps, 1u);
    EXPECT_EQ(stats().sweep_paced_steps, 1u);
    EXPECT_EQ(stats().handoff_in, 1u);
    EXPECT_TRUE(drain(0).empty()) << "a sweep step's reply never goes on the wire";
    EXPECT_EQ(rte_mempool_avail_count(pool_), mbufs_before) << "no mbuf taken";

    // Paced a moment ago: housekeeping leaves the sweep alone.
    for (int i = 0; i < 256; ++i)
        workers_[0]->poll_once();
    EXPECT_EQ(stats().sweep_fallback_steps, 0u);
    EXPECT_EQ(shard.stats().sweep_steps, 1u);
    rte_ring_free(replies_ring);
}

TEST_F(WorkerPackets, WithoutAPacedStepHousekeepingSweepsAFixedBudget) {
    store::Shard& shard = *shards_[0];
    const UnixTime now = static_cast<UnixTime>(std::time(nullptr));
    // Nothing with a TTL: nothing can be due, no step is taken.
    ASSERT_EQ(shard.store(store::StoreMode::kSet, store::KeyRef("kept"), "v", {}, now),
              store::StoreStatus::kStored);
    for (int i = 0; i < 64; ++i)
        workers_[0]->poll_once();
    EXPECT_EQ(stats().sweep_fallback_steps, 0u);
    ASSERT_EQ(shard.remove(store::KeyRef("kept"), now), store::StoreStatus::kDeleted);
    ASSERT_EQ(shard.store(store::StoreMode::kSet, store::KeyRef("gone"), "v",
                          store::StoreArgs{.exptime = 1}, now),
              store::StoreStatus::kStored);
    for (int i = 0; i < 64; ++i)
        workers_[0]->poll_once();
    EXPECT_EQ(stats().sweep_fallback_steps, 1u);
    EXPECT_EQ(stats().sweep_reclaimed, 1u);
    EXPECT_EQ(shard.n_items(), 0u);
}

// A full inbox or an empty message pool drops the hand-off, counted, and
// frees its frame: the receiver never waits for the owner.
TEST_F(TwoWorkerPackets, AFullInboxDropsTheHandOffCounted) {
    start({.n_workers = 2, .inbox_size = 4});
    const unsigned mbufs_before = rte_mempool_avail_count(pool_);
    void* obj = nullptr;
    while (rte_ring_count(channels_.inboxes[1]) < rte_ring_get_capacity(channels_.inboxes[1])) {
        ASSERT_EQ(rte_mempool_get(channels_.messages, &obj), 0);
        ASSERT_EQ(rte_ring_enqueue(channels_.inboxes[1], obj), 0);
    }
    inject(request_frame("set " + key_on_shard(1, 2) + " 0 0 1\r\nx\r\n", 1), 0);
    EXPECT_EQ(workers_[0]->poll_once(), 1u);
    EXPECT_EQ(stats(0).handoff_ring_full, 1u);
    EXPECT_EQ(stats(0).handoff_out, 0u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), mbufs_before) << "the frame was freed";
    while (rte_ring_dequeue(channels_.inboxes[1], &obj) == 0)
        rte_mempool_put(channels_.messages, obj);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(rte_mempool_in_use_count(channels_.messages), 0u) << "the message went back";
}

TEST_F(TwoWorkerPackets, AnEmptyMessagePoolDropsTheHandOffCounted) {
    start({.n_workers = 2, .n_messages = 8});
    const unsigned mbufs_before = rte_mempool_avail_count(pool_);
    std::vector<void*> taken;
    void* obj = nullptr;
    while (rte_mempool_get(channels_.messages, &obj) == 0)
        taken.push_back(obj);
    EXPECT_EQ(taken.size(), 8u);
    inject(request_frame("set " + key_on_shard(1, 2) + " 0 0 1\r\nx\r\n", 1), 0);
    EXPECT_EQ(workers_[0]->poll_once(), 1u);
    EXPECT_EQ(stats(0).handoff_no_message, 1u);
    EXPECT_EQ(rte_ring_count(channels_.inboxes[1]), 0u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), mbufs_before) << "the frame was freed";
    for (void* m : taken)
        rte_mempool_put(channels_.messages, m);
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(ask("get " + key_on_shard(1, 2) + "\r\n"), "END\r\n") << "the set never ran";
}

TEST_F(TwoWorkerPackets, RefusesFlushAllOverUdpAsASpanEvenWhenAdminIsAllowed) {
    start({.n_workers = 2, .admin_over_udp = true});
    EXPECT_EQ(ask("flush_all\r\n"), std::string(proto::kMcServerErrorSpan));
    EXPECT_EQ(ask("verbosity 1\r\n"), "OK\r\n");
    EXPECT_EQ(stats(0).udp_refused_span, 1u);
}

}  // namespace
}  // namespace fulmar::net::test

namespace fulmar::net::test {
namespace {

// A get served from another worker's shard only reads it: the fetched bit
// (meta h, me fetch=) and lazy reclaim of an expired item are the owner's.
TEST_F(TwoWorkerPackets, AGetFromAnotherWorkersShardNeverWritesIt) {
    const std::string k1 = key_on_shard(1, 2, "ro");
    expect_reply("set " + k1 + " 0 0 2\r\nv1\r\n", "STORED\r\n", 1);
    store::Item* it = shards_[1]->find(store::KeyRef(k1), static_cast<UnixTime>(time(nullptr)));
    ASSERT_NE(it, nullptr);
    const uint32_t version = it->version.load();
    expect_reply("get " + k1 + "\r\n", "VALUE " + k1 + " 0 2\r\nv1\r\nEND\r\n", 0);
    EXPECT_EQ(it->version.load(), version) << "worker 0 wrote shard 1's item";
    EXPECT_EQ(it->type_bits & store::kItemFetched, 0);
    // The owner marks it, as memcached does on the first hit.
    expect_reply("get " + k1 + "\r\n", "VALUE " + k1 + " 0 2\r\nv1\r\nEND\r\n", 1);
    EXPECT_NE(it->type_bits & store::kItemFetched, 0);
}

}  // namespace
}  // namespace fulmar::net::test

namespace fulmar::dataplane {
namespace {

using namespace fulmar::net::test;

// ---- the batched GET path -----------------------------------------------------

// Gets, sets and gets of one key in one burst: each request sees what came
// before it in the burst, as if served one by one.
TEST_F(WorkerPackets, BatchedGetsKeepTheirPlaceAmongOtherRequests) {
    const std::vector<std::pair<std::string, std::string>> burst = {
        {"get k\r\n", "END\r\n"},
        {"gets k other\r\n", "END\r\n"},
        {"set k 3 0 2\r\nv1\r\n", "STORED\r\n"},
        {"get k\r\n", value_line("k", "v1", 3) + "END\r\n"},
        {"get k k\r\n", value_line("k", "v1", 3) + value_line("k", "v1", 3) + "END\r\n"},
        {"delete k\r\n", "DELETED\r\n"},
        {"get k\n", "END\r\n"},
    };
    for (size_t i = 0; i < burst.size(); ++i)
        inject(request_frame(burst[i].first, static_cast<uint16_t>(300 + i)));
    const WorkerStats before = stats();
    EXPECT_EQ(workers_[0]->poll_once(), burst.size());
    std::map<uint16_t, std::string> got;
    for (const Datagram& d : replies(0)) {
        EXPECT_EQ(d.total, 1);
        got[d.request_id] = d.text;
    }
    ASSERT_EQ(got.size(), burst.size());
    for (size_t i = 0; i < burst.size(); ++i)
        EXPECT_EQ(got[static_cast<uint16_t>(300 + i)], burst[i].second) << burst[i].first;
    EXPECT_EQ(stats().udp_batched_gets - before.udp_batched_gets, 5u);
    EXPECT_EQ(workers_[0]->engine_stats().cmd_get, 7u);
    EXPECT_EQ(workers_[0]->engine_stats().get_hits, 3u);
}

// A full burst of plain gets, more keys than one batch holds: every request
// answered with its own reply, all through the batch.
TEST_F(WorkerPackets, ABurstOfGetsLargerThanOneBatchIsAllAnswered) {
    for (int i = 0; i < 40; ++i)
        expect_reply("set b" + std::to_string(i) + " 0 0 3\r\nb" + std::to_string(i % 10) + "x\r\n",
                     "STORED\r\n");
    const WorkerStats before = stats();
    std::map<uint16_t, std::string> expected;
    for (uint16_t i = 0; i < 32; ++i) {
        // Three keys a request: 96 keys in all, past a batch's 64.
        std::string line = "get";
        std::string want;
        for (int j = 0; j < 3; ++j) {
            const std::string key = "b" + std::to_string((i * 3 + j) % 45);
            line += " " + key;
            const int n = (i * 3 + j) % 45;
            if (n < 40) want += value_line(key, "b" + std::to_string(n % 10) + "x");
        }
        inject(request_frame(line + "\r\n", 500 + i));
        expected[500 + i] = want + "END\r\n";
    }
    EXPECT_EQ(workers_[0]->poll_once(), 32u);
    for (const Datagram& d : replies(0)) {
        ASSERT_TRUE(expected.contains(d.request_id));
        EXPECT_EQ(d.text, expected[d.request_id]);
        expected.erase(d.request_id);
    }
    EXPECT_TRUE(expected.empty());
    EXPECT_EQ(stats().udp_batched_gets - before.udp_batched_gets, 32u);
}

// One burst of GETs the classifier's fast path takes (answered from their
// frames) and GETs only the full path takes (a VLAN tag, IP options:
// answered from their UdpRequest), interleaved: each reply goes to its own
// request's client port with its own tag, in one batch.
TEST_F(WorkerPackets, FastAndFullPathGetsShareABatch) {
    expect_reply("set k 0 0 2\r\nkv\r\n", "STORED\r\n");
    const WorkerStats before = stats();
    std::map<uint16_t, uint16_t> tag_of;  // request id -> VLAN TCI (0: none)
    for (uint16_t i = 0; i < 12; ++i) {
        RequestSpec spec{.request_id = static_cast<uint16_t>(900 + i), .text = "get k\r\n"};
        spec.udp.sport = static_cast<uint16_t>(kPeerPort + i % 3);
        if (i % 3 == 1) spec.eth.vlan_tci = static_cast<uint16_t>(0x2000 + i);
        if (i % 3 == 2) spec.ip.options = {0x01, 0x01, 0x01, 0x00};  // NOPs, end
        tag_of[spec.request_id] = spec.eth.vlan_tci.value_or(0);
        inject(udp_request_frame(spec));
    }
    EXPECT_EQ(workers_[0]->poll_once(), 12u);
    const std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 12u);
    for (Bytes f : frames) {
        ASSERT_GE(f.size(), 18u);
        uint16_t tci = 0;
        if (get16(&f[12]) == RTE_ETHER_TYPE_VLAN) {
            tci = get16(&f[14]);
            f.erase(f.begin() + 12, f.begin() + 16);
        }
        const uint16_t id = get16(&f[kEthIpUdp]);
        ASSERT_TRUE(tag_of.contains(id)) << id;
        EXPECT_EQ(tci, tag_of[id]) << id;
        const Datagram d = parse_reply(f, static_cast<uint16_t>(kPeerPort + (id - 900) % 3));
        EXPECT_EQ(d.text, value_line("k", "kv") + "END\r\n") << id;
        tag_of.erase(id);
    }
    EXPECT_TRUE(tag_of.empty());
    EXPECT_EQ(stats().udp_batched_gets - before.udp_batched_gets, 12u);
    EXPECT_EQ(stats().udp_requests - before.udp_requests, 12u);
}

// A write of a key no pending get names runs at once and the batch keeps
// growing (its STORED leaves first); a write of a key a pending get names
// runs the batch first, so that get reads what was there before it.
TEST_F(WorkerPackets, AWriteOfAnotherKeyLeavesTheBurstsGetBatchGrowing) {
    expect_reply("set a 0 0 2\r\na1\r\n", "STORED\r\n");
    expect_reply("set b 0 0 2\r\nb1\r\n", "STORED\r\n");
    const WorkerStats before = stats();
    const std::vector<std::pair<uint16_t, std::string_view>> burst = {
        {1, "get a\r\n"}, {2, "set b 0 0 2\r\nb2\r\n"},  // b: no pending get names it
        {3, "get b\r\n"}, {4, "set a 0 0 2\r\na2\r\n"},  // a: request 1 asks for it
        {5, "get a\r\n"}, {6, "delete zz\r\n"},          // another key again
        {7, "get b\r\n"},
    };
    const std::vector<std::pair<uint16_t, std::string>> got = replies_to_burst(burst);
    const std::vector<std::pair<uint16_t, std::string>> want = {
        {2, "STORED\r\n"},
        {1, value_line("a", "a1") + "END\r\n"},
        {3, value_line("b", "b2") + "END\r\n"},
        {4, "STORED\r\n"},
        {6, "NOT_FOUND\r\n"},
        {5, value_line("a", "a2") + "END\r\n"},
        {7, value_line("b", "b2") + "END\r\n"},
    };
    EXPECT_EQ(got, want);
    EXPECT_EQ(stats().udp_batched_gets - before.udp_batched_gets, 4u);
}

// Writes of one key wait for the burst's batch and run ahead of its gets, in
// arrival order: a get of a written key that comes later reads the write, two
// writes of one key apply in order, and a write of a key a pending get names
// runs the batch (the waiting writes, then the gets) first.
TEST_F(WorkerPackets, HeldBackWritesRunInOrderAheadOfLaterGets) {
    expect_reply("set c 0 0 2\r\nc1\r\n", "STORED\r\n");
    expect_reply("set n 0 0 2\r\n10\r\n", "STORED\r\n");
    const std::vector<std::pair<uint16_t, std::string_view>> burst = {
        {1, "set a 0 0 2\r\na2\r\n"},
        {2, "set b 0 0 2\r\nb2\r\n"},
        {3, "get a\r\n"},
        {4, "get b\r\n"},
        {5, "delete c\r\n"},
        {6, "get c\r\n"},
        {7, "set c 0 0 2\r\nc3\r\n"},  // request 6 asks for c: the batch runs first
        {8, "incr n 5\r\n"},
        {9, "incr n 1\r\n"},
        {10, "get n\r\n"},
    };
    const std::vector<std::pair<uint16_t, std::string>> got = replies_to_burst(burst);
    const std::vector<std::pair<uint16_t, std::string>> want = {
        {1, "STORED\r\n"},
        {2, "STORED\r\n"},
        {5, "DELETED\r\n"},
        {3, value_line("a", "a2") + "END\r\n"},
        {4, value_line("b", "b2") + "END\r\n"},
        {6, "END\r\n"},
        {7, "STORED\r\n"},
        {8, "15\r\n"},
        {9, "16\r\n"},
        {10, value_line("n", "16") + "END\r\n"},
    };
    EXPECT_EQ(got, want);
    expect_reply("get c\r\n", value_line("c", "c3") + "END\r\n");
}

// A burst of nothing but writes fills the held-back list: every one is run
// and answered, and stored.
TEST_F(WorkerPackets, ABurstOfWritesOnlyRunsEveryWrite) {
    constexpr uint16_t kWrites = 64;
    for (uint16_t i = 0; i < kWrites; ++i) {
        const std::string value = fmt::format("v{}", i);
        const std::string text = fmt::format("set k{} 0 0 {}\r\n{}\r\n", i, value.size(), value);
        inject(udp_request_frame(RequestSpec{.request_id = i, .text = text}));
    }
    EXPECT_EQ(workers_[0]->poll_once(), kWrites);
    std::vector<std::pair<uint16_t, std::string>> got;
    for (const Bytes& f : drain(0)) {
        const Datagram d = parse_reply(f);
        got.emplace_back(d.request_id, d.text);
    }
    ASSERT_EQ(got.size(), kWrites);
    for (uint16_t i = 0; i < kWrites; ++i)
        EXPECT_EQ(got[i], (std::pair<uint16_t, std::string>{i, "STORED\r\n"}));
    for (uint16_t i = 0; i < kWrites; i += 9)
        expect_reply(fmt::format("get k{}\r\n", i),
                     value_line(fmt::format("k{}", i), fmt::format("v{}", i)) + "END\r\n");
}

// What the batch cannot answer in one datagram goes the engine's way, with
// its counters counted once.
TEST_F(WorkerPackets, GetsTooLargeForTheBatchTakeTheFullPath) {
    const std::string big(1390, 'z');  // with the value line, over one datagram
    expect_reply("set big 0 0 1390\r\n" + big + "\r\n", "STORED\r\n");
    expect_reply("set small 0 0 1\r\ns\r\n", "STORED\r\n");
    const WorkerStats before = stats();
    const uint64_t gets_before = workers_[0]->engine_stats().cmd_get;
    expect_reply("get big small\r\n",
                 value_line("big", big) + value_line("small", "s") + "END\r\n");
    expect_reply("get small\r\n", value_line("small", "s") + "END\r\n");
    EXPECT_EQ(stats().udp_batched_gets - before.udp_batched_gets, 1u);
    EXPECT_EQ(workers_[0]->engine_stats().cmd_get - gets_before, 3u);
}

}  // namespace
}  // namespace fulmar::dataplane

namespace fulmar::net::test {
namespace {

// ---- service addresses (dataplane/README.md, "Service addresses") ----------

constexpr rte_be32_t kServiceIp = RTE_BE32(RTE_IPV4(198, 18, 0, 100));
constexpr rte_be32_t kServiceIp2 = RTE_BE32(RTE_IPV4(198, 18, 0, 101));

class ServiceAddrPackets : public WorkerPackets {
  protected:
    void SetUp() override {
        PacketTest::SetUp();
        start({.n_workers = 2, .garp_interval_ms = 50});
    }

    // Publishes `addrs` as the control plane does and lets every worker
    // take it (housekeeping does that every 64 loops; the tests do not wait).
    void publish(std::vector<rte_be32_t> addrs) {
        shm::write_service_addrs(services_, addrs);
        for (auto& w : workers_)
            w->sync_service_addrs();
    }

    // An ARP request from the client for `target`.
    static Bytes who_has(rte_be32_t target) {
        return eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                   arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, target));
    }

    // A memcached request datagram to `dst`.
    Bytes request_to(rte_be32_t dst, std::string_view text, uint16_t id) {
        return udp_request_frame({.ip = {.dst = dst}, .request_id = id, .text = text});
    }

    // The one datagram sent back for request `id` to `dst` on queue `q`
    // (checked from the address asked), its text; nullopt when none came.
    std::optional<std::string> ask_at(rte_be32_t dst, std::string_view text, uint16_t q = 0) {
        const uint16_t id = next_request_id_++;
        inject(request_to(dst, text, id), q);
        poll_until_quiet();
        std::optional<std::string> out;
        for (uint16_t t = 0; t < tx_.size(); ++t) {
            for (const Bytes& f : drain(t)) {
                EXPECT_FALSE(out.has_value()) << "one datagram";
                if (f.size() < kEthIpUdp + 8) {
                    ADD_FAILURE() << "short reply";
                    continue;
                }
                const uint8_t* ip = &f[14];
                EXPECT_TRUE(same_ip(ip + 12, dst)) << "from the address the request was for";
                EXPECT_TRUE(same_ip(ip + 16, kPeerIp));
                EXPECT_EQ(inet_checksum(ip, 20), 0);
                const uint8_t* udp = ip + 20;
                const uint16_t udp_len = get16(udp + 4);
                const uint32_t s = rte_be_to_cpu_32(dst);
                const uint32_t c = rte_be_to_cpu_32(kPeerIp);
                const uint32_t pseudo =
                    (s >> 16) + (s & 0xffff) + (c >> 16) + (c & 0xffff) + IPPROTO_UDP + udp_len;
                EXPECT_EQ(inet_checksum(udp, udp_len, pseudo), 0) << "UDP checksum over dst";
                EXPECT_EQ(get16(udp + 8), id);
                out = std::string(reinterpret_cast<const char*>(udp + 16), udp_len - 16);
            }
        }
        return out;
    }

    // Checks a frame is an RFC 5227 announcement of `ip` from our MAC.
    static void expect_garp(const Bytes& f, rte_be32_t ip) {
        ASSERT_EQ(f.size(), 14u + 28u);
        EXPECT_TRUE(same_mac(&f[0], kBroadcastMac)) << "broadcast";
        EXPECT_TRUE(same_mac(&f[6], kOurMac)) << "from the port's MAC";
        EXPECT_EQ(get16(&f[12]), RTE_ETHER_TYPE_ARP);
        const uint8_t* a = &f[14];
        EXPECT_EQ(get16(a), RTE_ARP_HRD_ETHER);
        EXPECT_EQ(get16(a + 2), RTE_ETHER_TYPE_IPV4);
        EXPECT_EQ(a[4], 6);
        EXPECT_EQ(a[5], 4);
        EXPECT_EQ(get16(a + 6), RTE_ARP_OP_REQUEST) << "a request: every stack takes those";
        EXPECT_TRUE(same_mac(a + 8, kOurMac)) << "sender hardware address";
        EXPECT_TRUE(same_ip(a + 14, ip)) << "sender protocol address";
        EXPECT_TRUE(same_mac(a + 18, rte_ether_addr{})) << "target hardware address zero";
        EXPECT_TRUE(same_ip(a + 24, ip)) << "target protocol address = sender's";
    }
};

TEST_F(ServiceAddrPackets, AnArpRequestForAServiceAddressIsAnsweredWithThePortsMac) {
    inject(who_has(kServiceIp));
    poll_until_quiet();
    EXPECT_TRUE(drain(0).empty()) << "not ours yet";
    EXPECT_EQ(drops(DropReason::kArpNotForUs), 1u);

    publish({kServiceIp});
    ASSERT_EQ(drain(0).size(), 1u) << "the first announcement";
    inject(who_has(kServiceIp));
    inject(who_has(kOurIp), 1);  // the port's own address still answers, on any worker
    poll_until_quiet();
    for (uint16_t q = 0; q < 2; ++q) {
        const std::vector<Bytes> frames = drain(q);
        ASSERT_EQ(frames.size(), 1u) << "queue " << q;
        const Bytes& f = frames[0];
        EXPECT_TRUE(same_mac(&f[0], kPeerMac));
        EXPECT_TRUE(same_mac(&f[6], kOurMac));
        const uint8_t* a = &f[14];
        EXPECT_EQ(get16(a + 6), RTE_ARP_OP_REPLY);
        EXPECT_TRUE(same_mac(a + 8, kOurMac)) << "the port's MAC for the address";
        EXPECT_TRUE(same_ip(a + 14, q == 0 ? kServiceIp : kOurIp)) << "the address asked";
        EXPECT_TRUE(same_mac(a + 18, kPeerMac));
        EXPECT_TRUE(same_ip(a + 24, kPeerIp));
    }
    EXPECT_EQ(drops(DropReason::kArpNotForUs), 1u);
}

TEST_F(ServiceAddrPackets, MemcachedUdpToAServiceAddressIsAnsweredFromThatAddress) {
    EXPECT_EQ(ask_at(kServiceIp, "set k 0 0 1\r\nv\r\n"), std::nullopt);
    EXPECT_EQ(drops(DropReason::kNotOurIp), 1u);

    publish({kServiceIp2, kServiceIp});
    drain(0);
    EXPECT_EQ(ask_at(kServiceIp, "set k 0 0 1\r\nv\r\n"), "STORED\r\n");
    // The batched get path, the engine path and a hand-off to the other
    // worker (the key's owner) all reply from the service address.
    EXPECT_EQ(ask_at(kServiceIp, "get k\r\n"), value_line("k", "v") + "END\r\n");
    EXPECT_EQ(ask_at(kServiceIp2, "gets k k\r\n", 1),
              "VALUE k 0 1 1\r\nv\r\nVALUE k 0 1 1\r\nv\r\nEND\r\n");
    const std::string k1 = key_on_shard(1, 2);
    const uint64_t handoffs = stats(0).handoff_out;
    EXPECT_EQ(ask_at(kServiceIp, "set " + k1 + " 0 0 1\r\nw\r\n", 0), "STORED\r\n");
    EXPECT_EQ(stats(0).handoff_out, handoffs + 1);
    EXPECT_EQ(ask_at(kOurIp, "get " + k1 + "\r\n"), value_line(k1, "w") + "END\r\n");
    EXPECT_EQ(drops(DropReason::kNotOurIp), 1u);
}

TEST_F(ServiceAddrPackets, AnIcmpEchoToAServiceAddressIsAnsweredFromIt) {
    publish({kServiceIp});
    drain(0);
    inject(eth({}, RTE_ETHER_TYPE_IPV4,
               ipv4({.proto = IPPROTO_ICMP, .dst = kServiceIp},
                    icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 77, 1, Bytes(16, 0xab)))));
    poll_until_quiet();
    const std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 1u);
    const uint8_t* ip = &frames[0][14];
    EXPECT_EQ(ip[20], RTE_IP_ICMP_ECHO_REPLY);
    EXPECT_TRUE(same_ip(ip + 12, kServiceIp)) << "from the address pinged";
    EXPECT_TRUE(same_ip(ip + 16, kPeerIp));
    EXPECT_EQ(inet_checksum(ip, 20), 0);
}

TEST_F(ServiceAddrPackets, AfterRemovalItsFramesAreDroppedAndCounted) {
    publish({kServiceIp});
    drain(0);
    EXPECT_EQ(ask_at(kServiceIp, "set k 0 0 1\r\nv\r\n"), "STORED\r\n");
    publish({});
    EXPECT_EQ(ask_at(kServiceIp, "get k\r\n", 0), std::nullopt);
    EXPECT_EQ(ask_at(kServiceIp, "get k\r\n", 1), std::nullopt);
    EXPECT_EQ(drops(DropReason::kNotOurIp, 0), 1u);
    EXPECT_EQ(drops(DropReason::kNotOurIp, 1), 1u);
    inject(who_has(kServiceIp));
    inject(eth({}, RTE_ETHER_TYPE_IPV4,
               ipv4({.proto = IPPROTO_ICMP, .dst = kServiceIp},
                    icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 77, 1, Bytes(16, 0xab)))));
    poll_until_quiet();
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(drops(DropReason::kArpNotForUs), 1u);
    EXPECT_EQ(drops(DropReason::kNotOurIp), 2u);
    // The port's own address is untouched.
    EXPECT_EQ(ask_at(kOurIp, "get k\r\n"), value_line("k", "v") + "END\r\n");
}

TEST_F(ServiceAddrPackets, ANewAddressIsAnnouncedThreeTimesApartByOneWorker) {
    publish({kServiceIp});
    std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 1u) << "the first at once";
    expect_garp(frames[0], kServiceIp);
    EXPECT_TRUE(drain(1).empty()) << "one worker announces (the frames are broadcast)";
    // Before the interval (50 ms here) nothing more.
    workers_[0]->sync_service_addrs();
    EXPECT_TRUE(drain(0).empty());
    // A second address: announced on its own schedule; the first is not
    // announced again for it.
    publish({kServiceIp, kServiceIp2});
    frames = drain(0);
    ASSERT_EQ(frames.size(), 1u);
    expect_garp(frames[0], kServiceIp2);
    std::map<rte_be32_t, int> seen{{kServiceIp, 1}, {kServiceIp2, 1}};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
        workers_[0]->sync_service_addrs();
        for (const Bytes& f : drain(0)) {
            ASSERT_EQ(f.size(), 42u);
            rte_be32_t ip;
            std::memcpy(&ip, &f[14 + 14], 4);
            ASSERT_TRUE(seen.contains(ip));
            expect_garp(f, ip);
            seen[ip]++;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(seen[kServiceIp], 3);
    EXPECT_EQ(seen[kServiceIp2], 3);
    EXPECT_EQ(stats(0).gratuitous_arps, 6u);
    EXPECT_EQ(stats(1).gratuitous_arps, 0u);
    EXPECT_TRUE(drain(1).empty());
}

TEST_F(ServiceAddrPackets, AnAddressRemovedBeforeItsLastAnnouncementIsNotAnnouncedAgain) {
    publish({kServiceIp});
    ASSERT_EQ(drain(0).size(), 1u);
    publish({});
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    workers_[0]->sync_service_addrs();
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(stats(0).gratuitous_arps, 1u);
}

TEST_F(ServiceAddrPackets, HousekeepingTakesATableWrittenWhileTheWorkersRun) {
    shm::write_service_addrs(services_, std::vector<rte_be32_t>{kServiceIp});
    for (int i = 0; i < 64; ++i)
        for (auto& w : workers_)
            w->poll_once();
    EXPECT_EQ(stats(0).service_addr_updates, 1u);
    EXPECT_EQ(stats(1).service_addr_updates, 1u);
    ASSERT_EQ(drain(0).size(), 1u) << "announced";
    EXPECT_EQ(ask_at(kServiceIp, "set k 0 0 1\r\nv\r\n", 1), "STORED\r\n");
    // A table the writer is changing (odd sequence) is not taken: the
    // workers keep the last one.
    services_.seq.fetch_add(1);
    for (int i = 0; i < 64; ++i)
        for (auto& w : workers_)
            w->poll_once();
    EXPECT_EQ(stats(0).service_addr_updates, 1u);
    EXPECT_EQ(ask_at(kServiceIp, "get k\r\n"), value_line("k", "v") + "END\r\n");
}

TEST_F(ServiceAddrPackets, OurOwnAnnouncementLoopedBackIsNeitherAnsweredNorKept) {
    publish({kServiceIp});
    const std::vector<Bytes> frames = drain(0);
    ASSERT_EQ(frames.size(), 1u);
    inject(frames[0]);
    poll_until_quiet();
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(drops(DropReason::kArpNotForUs), 1u);
    // A datagram "from" a service address is a loop or a spoof.
    inject(udp_request_frame({.ip = {.src = kServiceIp}}));
    poll_until_quiet();
    EXPECT_TRUE(drain(0).empty());
    EXPECT_EQ(drops(DropReason::kBadSourceIp), 1u);
}

}  // namespace
}  // namespace fulmar::net::test
