// The exception path through a real Worker: a data port and its kernel side,
// each a net_ring port, one worker polling both. Frames the worker does not
// serve but that are the host's (TCP, UDP to other ports, ARP replies, IP
// fragments: the kernel reassembles them) must come out of the kernel
// port's TX ring unchanged; frames put on the kernel port's RX ring must
// leave through the data port; what the worker serves itself (ARP for our
// address, ICMP echo, the cache port) must not change.
//
//   test --enqueue--> data rx ring --> Worker --> data tx ring --> test
//                                        |   ^
//   test <--dequeue-- kernel tx ring <---+   +--- kernel rx ring <-- test
#include <rte_arp.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels.h"
#include "frames.h"
#include "shm/service_addrs.h"
#include "store/shard.h"
#include "worker.h"

namespace fulmar::net::test {
namespace {

using dataplane::Worker;
using dataplane::WorkerParams;

// A TCP SYN from the peer to `dport` of ours (20-byte header, checksum left
// 0: the worker never reads past the IP header of what is not its own).
Bytes tcp_syn(uint16_t dport, EthSpec e = {}, rte_be32_t dst = kOurIp) {
    Bytes tcp(20, 0);
    put16(tcp, 0, 45000);
    put16(tcp, 2, dport);
    tcp[12] = 5 << 4;  // data offset
    tcp[13] = 0x02;    // SYN
    put16(tcp, 14, 64240);
    Ipv4Spec ip;
    ip.proto = IPPROTO_TCP;
    ip.dst = dst;
    return eth(e, RTE_ETHER_TYPE_IPV4, ipv4(ip, tcp));
}

// A SYN-ACK as our kernel would send it to the peer.
Bytes kernel_syn_ack() {
    Bytes tcp(20, 0);
    put16(tcp, 0, 6379);
    put16(tcp, 2, 45000);
    tcp[12] = 5 << 4;
    tcp[13] = 0x12;
    Ipv4Spec ip;
    ip.proto = IPPROTO_TCP;
    ip.src = kOurIp;
    ip.dst = kPeerIp;
    return eth({.dst = kPeerMac, .src = kOurMac}, RTE_ETHER_TYPE_IPV4, ipv4(ip, tcp));
}

// A memcached UDP request of `text` cut into IP fragments of at most
// `mtu_payload` bytes each (a multiple of 8), as a client's kernel sends a
// datagram larger than the MTU: the first fragment holds the UDP header.
std::vector<Bytes> fragments(std::string_view text, rte_be32_t src = kPeerIp,
                             size_t mtu_payload = 1480) {
    Ipv4Spec whole;
    whole.src = src;
    const Bytes datagram = udp({}, whole, mc_request(7, text));
    std::vector<Bytes> out;
    for (size_t off = 0; off < datagram.size(); off += mtu_payload) {
        const size_t n = std::min(mtu_payload, datagram.size() - off);
        Ipv4Spec ip = whole;
        const bool more = off + n < datagram.size();
        ip.frag = static_cast<uint16_t>((more ? RTE_IPV4_HDR_MF_FLAG : 0) | off / 8);
        const Bytes piece(datagram.begin() + static_cast<ptrdiff_t>(off),
                          datagram.begin() + static_cast<ptrdiff_t>(off + n));
        out.push_back(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, piece)));
    }
    return out;
}

struct KernelSetup {
    bool kernel_port = true;
    unsigned kernel_tx_ring = 1024;  // a small one fills up
    uint16_t vlan_id = 0;
};

class KernelPath : public PacketTest {
  protected:
    static constexpr unsigned kRingSize = 1024;

    void SetUp() override {
        PacketTest::SetUp();
        start({});
    }

    void TearDown() override {
        stop();
        PacketTest::TearDown();
    }

    static rte_ring* ring(const std::string& name, unsigned size) {
        rte_ring* r = rte_ring_create(name.c_str(), size, static_cast<int>(rte_socket_id()),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
        EXPECT_NE(r, nullptr) << name;
        return r;
    }

    // A started net_ring port of one queue pair on `rx` / `tx`.
    int ring_port(const std::string& name, rte_ring* rx, rte_ring* tx) {
        const int id = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, rte_socket_id());
        EXPECT_GE(id, 0);
        if (id < 0) return id;
        const auto p = static_cast<uint16_t>(id);
        const rte_eth_conf conf{};
        EXPECT_EQ(rte_eth_dev_configure(p, 1, 1, &conf), 0);
        EXPECT_EQ(rte_eth_rx_queue_setup(p, 0, kRingSize, rte_socket_id(), nullptr, pool_), 0);
        EXPECT_EQ(rte_eth_tx_queue_setup(p, 0, kRingSize, rte_socket_id(), nullptr), 0);
        EXPECT_EQ(rte_eth_dev_start(p), 0);
        return id;
    }

    void start(const KernelSetup& s) {
        stop();
        static std::atomic<int> n_setups{0};
        const std::string id = "kp" + std::to_string(n_setups++);
        data_rx_ = ring(id + "_drx", kRingSize);
        data_tx_ = ring(id + "_dtx", kRingSize);
        data_port_ = ring_port(id + "_data", data_rx_, data_tx_);
        if (s.kernel_port) {
            kernel_rx_ = ring(id + "_krx", kRingSize);
            kernel_tx_ = ring(id + "_ktx", s.kernel_tx_ring);
            kernel_port_ = ring_port(id + "_kernel", kernel_rx_, kernel_tx_);
        }
        store::ShardConfig sc;
        sc.name = id + "_shard";
        sc.memory_bytes = size_t{16} << 20;
        sc.index_entries = 16384;
        sc.memory = store::MemoryKind::kAnonymous;
        auto shard = store::Shard::create(sc);
        ASSERT_TRUE(shard.ok());
        shard_ = std::move(shard.value());
        shard_ptrs_ = {shard_.get()};
        auto channels = dataplane::create_channels(
            {.n_workers = 1, .socket_id = static_cast<int>(rte_socket_id()), .name_prefix = id});
        ASSERT_TRUE(channels.ok()) << channels.error();
        channels_ = std::move(channels.value());

        WorkerParams wp;
        wp.lcore_id = rte_lcore_id();
        wp.port_id = static_cast<uint16_t>(data_port_);
        wp.pool = pool_;
        wp.addr = port_;
        wp.addr.vlan_id = s.vlan_id;
        wp.clients.add(RTE_BE32(RTE_IPV4(198, 18, 0, 0)), 15);
        wp.route = dataplane::RoutePolicy{.n_shards = 1};
        wp.idle = dataplane::IdleMode::kPoll;
        wp.services = &services_;
        if (s.kernel_port) {
            wp.kernel_port_id = static_cast<uint16_t>(kernel_port_);
            wp.kernel_poll_us = 0;  // every loop: the test drives the loop
        }
        worker_ = std::make_unique<Worker>(wp, shard_ptrs_, channels_, nullptr);
    }

    void stop() {
        worker_.reset();
        for (int* port : {&data_port_, &kernel_port_}) {
            if (*port < 0) continue;
            EXPECT_EQ(rte_eth_dev_stop(static_cast<uint16_t>(*port)), 0);
            EXPECT_EQ(rte_eth_dev_close(static_cast<uint16_t>(*port)), 0);
            *port = -1;
        }
        for (rte_ring** r : {&data_rx_, &data_tx_, &kernel_rx_, &kernel_tx_}) {
            if (*r == nullptr) continue;
            EXPECT_EQ(rte_ring_count(*r), 0u) << "frames left on " << (*r)->name;
            void* m = nullptr;
            while (rte_ring_dequeue(*r, &m) == 0)
                rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
            rte_ring_free(*r);
            *r = nullptr;
        }
        if (channels_.messages != nullptr) dataplane::free_channels(channels_);
        shard_ptrs_.clear();
        shard_.reset();
    }

    static void put(rte_ring* r, rte_mbuf* m) {
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_ring_enqueue(r, m), 0);
    }

    // Runs the worker until a loop handles nothing.
    void poll() {
        for (int i = 0; i < 100; ++i)
            if (worker_->poll_once() == 0) return;
        ADD_FAILURE() << "the worker never went quiet";
    }

    static std::vector<Bytes> take(rte_ring* r) {
        std::vector<Bytes> frames;
        void* m = nullptr;
        while (rte_ring_dequeue(r, &m) == 0) {
            frames.push_back(to_bytes(static_cast<rte_mbuf*>(m)));
            rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        }
        return frames;
    }

    const dataplane::WorkerStats& stats() const { return worker_->stats; }
    uint64_t drops(DropReason r) const { return worker_->drops[static_cast<size_t>(r)]; }

    int data_port_ = -1;
    int kernel_port_ = -1;
    rte_ring* data_rx_ = nullptr;
    rte_ring* data_tx_ = nullptr;
    rte_ring* kernel_rx_ = nullptr;
    rte_ring* kernel_tx_ = nullptr;
    std::unique_ptr<store::Shard> shard_;
    std::vector<store::Shard*> shard_ptrs_;
    dataplane::Channels channels_;
    shm::ServiceAddrs services_{};
    std::unique_ptr<Worker> worker_;
};

TEST_F(KernelPath, ATcpSynToOurAddressGoesToTheKernelUnchanged) {
    const Bytes syn = tcp_syn(6379);
    put(data_rx_, mbuf(syn));
    poll();
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 1u);
    EXPECT_EQ(to_kernel[0], syn);
    EXPECT_TRUE(take(data_tx_).empty()) << "nothing goes back to the wire";
    EXPECT_EQ(stats().kernel_punted, 1u);
    EXPECT_EQ(stats().rx_packets, 1u);
    EXPECT_EQ(drops(DropReason::kNotUdp), 0u);
}

// TCP to a service address is the kernel side's (the control plane adds the
// address there); once removed, it is nobody's.
TEST_F(KernelPath, ATcpSynToAServiceAddressGoesToTheKernelWhileItIsOne) {
    constexpr rte_be32_t kServiceIp = RTE_BE32(RTE_IPV4(198, 18, 0, 100));
    const Bytes syn = tcp_syn(6379, {}, kServiceIp);
    put(data_rx_, mbuf(syn));
    poll();
    EXPECT_TRUE(take(kernel_tx_).empty());
    EXPECT_EQ(drops(DropReason::kNotOurIp), 1u);

    shm::write_service_addrs(services_, std::vector<rte_be32_t>{kServiceIp});
    worker_->sync_service_addrs();
    put(data_rx_, mbuf(syn));
    poll();
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 1u);
    EXPECT_EQ(to_kernel[0], syn);
    EXPECT_TRUE(take(data_tx_).empty());

    shm::write_service_addrs(services_, std::vector<rte_be32_t>{});
    worker_->sync_service_addrs();
    put(data_rx_, mbuf(syn));
    poll();
    EXPECT_TRUE(take(kernel_tx_).empty());
    EXPECT_EQ(drops(DropReason::kNotOurIp), 2u);
    EXPECT_EQ(stats().kernel_punted, 1u);
}

TEST_F(KernelPath, AFrameFromTheKernelLeavesThroughTheDataPort) {
    const Bytes syn_ack = kernel_syn_ack();
    const Bytes arp_request =
        eth({.dst = kBroadcastMac, .src = kOurMac}, RTE_ETHER_TYPE_ARP,
            arp(RTE_ARP_OP_REQUEST, kOurMac, kOurIp, rte_ether_addr{}, kPeerIp));
    put(kernel_rx_, mbuf(syn_ack));
    put(kernel_rx_, mbuf(arp_request));
    poll();
    const std::vector<Bytes> out = take(data_tx_);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], syn_ack);
    EXPECT_EQ(out[1], arp_request);
    EXPECT_TRUE(take(kernel_tx_).empty());
    EXPECT_EQ(stats().kernel_returned, 2u);
    EXPECT_EQ(stats().tx_packets, 2u);
}

TEST_F(KernelPath, ArpForOurAddressIsStillAnsweredByTheDataplane) {
    put(data_rx_, mbuf(eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                           arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp))));
    poll();
    const std::vector<Bytes> out = take(data_tx_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(get16(&out[0][14 + 6]), RTE_ARP_OP_REPLY);
    EXPECT_EQ(get32(&out[0][14 + 14]), rte_be_to_cpu_32(kOurIp));
    EXPECT_TRUE(take(kernel_tx_).empty()) << "the kernel never sees requests for our address";
    EXPECT_EQ(stats().replies_in_place, 1u);
}

TEST_F(KernelPath, ArpRepliesAndRequestsForOtherAddressesGoToTheKernel) {
    const Bytes reply =
        eth({}, RTE_ETHER_TYPE_ARP, arp(RTE_ARP_OP_REPLY, kPeerMac, kPeerIp, kOurMac, kOurIp));
    const Bytes other = eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                            arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOtherIp));
    put(data_rx_, mbuf(reply));
    put(data_rx_, mbuf(other));
    poll();
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 2u);
    EXPECT_EQ(to_kernel[0], reply);
    EXPECT_EQ(to_kernel[1], other);
    EXPECT_TRUE(take(data_tx_).empty());
}

TEST_F(KernelPath, TheCachePortAndIcmpEchoAreStillServedHere) {
    put(data_rx_, mbuf(udp_request_frame({.request_id = 9, .text = "mn\r\n"})));
    Ipv4Spec ip;
    ip.proto = IPPROTO_ICMP;
    put(data_rx_, mbuf(eth({}, RTE_ETHER_TYPE_IPV4,
                           ipv4(ip, icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 1, 1, {1, 2})))));
    UdpSpec other_port;
    other_port.dport = 53;
    put(data_rx_, mbuf(udp_request_frame({.udp = other_port})));
    poll();
    const std::vector<Bytes> out = take(data_tx_);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(std::string(out[0].end() - 4, out[0].end()), "MN\r\n");
    EXPECT_EQ(out[1][14 + 20], RTE_IP_ICMP_ECHO_REPLY);
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 1u) << "UDP to another port is the kernel's";
    EXPECT_EQ(get16(&to_kernel[0][14 + 20 + 2]), 53);
    EXPECT_EQ(stats().udp_requests, 1u);
    EXPECT_EQ(stats().kernel_punted, 1u);
}

TEST_F(KernelPath, GarbageAndStrangersOnTheCachePortAreStillDrops) {
    Ipv4Spec bad;
    bad.proto = IPPROTO_TCP;
    bad.corrupt_checksum = true;
    put(data_rx_, mbuf(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(bad, Bytes(20, 0)))));
    put(data_rx_, mbuf(udp_request_frame({.ip = {.src = RTE_BE32(RTE_IPV4(203, 0, 113, 9))}})));
    put(data_rx_, mbuf(tcp_syn(6379, {.dst = kOtherMac})));
    put(data_rx_, mbuf(eth({}, RTE_ETHER_TYPE_IPV6, Bytes(60, 0))));
    poll();
    EXPECT_TRUE(take(kernel_tx_).empty());
    EXPECT_TRUE(take(data_tx_).empty());
    EXPECT_EQ(drops(DropReason::kBadIpChecksum), 1u);
    EXPECT_EQ(drops(DropReason::kClientNotAllowed), 1u);
    EXPECT_EQ(drops(DropReason::kNotOurMac), 1u);
    EXPECT_EQ(drops(DropReason::kNotIpv4), 1u);
    EXPECT_EQ(stats().kernel_punted, 0u);
}

// A set of 4 KiB in one datagram arrives as three fragments: the kernel
// gets them all, unchanged, to reassemble (the control plane serves it);
// the dataplane answers nothing itself.
TEST_F(KernelPath, FragmentsOfAnAllowedClientsRequestGoToTheKernelUnchanged) {
    const std::string set = "set big 0 0 4096\r\n" + std::string(4096, 'v') + "\r\n";
    const std::vector<Bytes> frags = fragments(set);
    ASSERT_EQ(frags.size(), 3u);
    // Out of order, as a network may deliver them: the kernel sorts it out.
    put(data_rx_, mbuf(frags[2]));
    put(data_rx_, mbuf(frags[0]));
    put(data_rx_, mbuf(frags[1]));
    // An unfragmented request in between is still served here.
    put(data_rx_, mbuf(udp_request_frame({.request_id = 9, .text = "mn\r\n"})));
    poll();
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 3u);
    EXPECT_EQ(to_kernel[0], frags[2]);
    EXPECT_EQ(to_kernel[1], frags[0]);
    EXPECT_EQ(to_kernel[2], frags[1]);
    const std::vector<Bytes> out = take(data_tx_);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::string(out[0].end() - 4, out[0].end()), "MN\r\n");
    EXPECT_EQ(stats().kernel_fragments, 3u);
    EXPECT_EQ(stats().kernel_punted, 3u);
    EXPECT_EQ(stats().udp_requests, 1u) << "fragments are not the dataplane's requests";
    EXPECT_EQ(drops(DropReason::kFragment), 0u);
}

TEST_F(KernelPath, FragmentsFromOutsideAllowedClientsAreDropped) {
    for (const Bytes& f : fragments(std::string(3000, 'x'), RTE_BE32(RTE_IPV4(203, 0, 113, 9))))
        put(data_rx_, mbuf(f));
    poll();
    EXPECT_TRUE(take(kernel_tx_).empty());
    EXPECT_TRUE(take(data_tx_).empty());
    EXPECT_EQ(drops(DropReason::kClientNotAllowed), 3u);
    EXPECT_EQ(stats().kernel_fragments, 0u);
}

TEST_F(KernelPath, WithoutAKernelPortFragmentsAreCountedDrops) {
    start({.kernel_port = false});
    for (const Bytes& f : fragments(std::string(3000, 'x')))
        put(data_rx_, mbuf(f));
    poll();
    EXPECT_TRUE(take(data_tx_).empty());
    EXPECT_EQ(drops(DropReason::kFragment), 3u);
    EXPECT_EQ(stats().kernel_fragments, 0u);
}

TEST_F(KernelPath, WithoutAKernelPortTheHostsFramesAreCountedDrops) {
    start({.kernel_port = false});
    put(data_rx_, mbuf(tcp_syn(6379)));
    put(data_rx_, mbuf(eth({}, RTE_ETHER_TYPE_ARP,
                           arp(RTE_ARP_OP_REPLY, kPeerMac, kPeerIp, kOurMac, kOurIp))));
    poll();
    EXPECT_TRUE(take(data_tx_).empty());
    EXPECT_EQ(drops(DropReason::kNotUdp), 1u);
    EXPECT_EQ(drops(DropReason::kArpNotRequest), 1u);
    EXPECT_EQ(stats().kernel_punted, 0u);
}

TEST_F(KernelPath, AFullKernelQueueDropsCounted) {
    start({.kernel_tx_ring = 4});  // holds 3
    for (int i = 0; i < 5; ++i)
        put(data_rx_, mbuf(tcp_syn(static_cast<uint16_t>(6000 + i))));
    poll();
    EXPECT_EQ(take(kernel_tx_).size(), 3u);
    EXPECT_EQ(stats().kernel_punted, 3u);
    EXPECT_EQ(stats().kernel_dropped, 2u);
}

// On a VLAN the kernel interface is the untagged side: the tag comes off on
// the way in and goes back on the way out.
TEST_F(KernelPath, OnAVlanTheKernelSeesUntaggedFramesAndItsFramesLeaveTagged) {
    start({.vlan_id = 120});
    put(data_rx_, mbuf(tcp_syn(6379, {.vlan_tci = 120})));
    put(kernel_rx_, mbuf(kernel_syn_ack()));
    poll();
    const std::vector<Bytes> to_kernel = take(kernel_tx_);
    ASSERT_EQ(to_kernel.size(), 1u);
    EXPECT_EQ(to_kernel[0], tcp_syn(6379));
    const std::vector<Bytes> out = take(data_tx_);
    ASSERT_EQ(out.size(), 1u);
    const Bytes untagged = kernel_syn_ack();
    const Bytes tagged = eth({.dst = kPeerMac, .src = kOurMac, .vlan_tci = 120},
                             RTE_ETHER_TYPE_IPV4, Bytes(untagged.begin() + 14, untagged.end()));
    EXPECT_EQ(out[0], tagged);
}

}  // namespace
}  // namespace fulmar::net::test
