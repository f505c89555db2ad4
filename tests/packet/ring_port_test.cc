// A round trip through real ethdev ports: two net_ring ports cross-wired by
// two rte_rings stand in for the client and the dataplane, so frames go
// through rte_eth_tx_burst / rte_eth_rx_burst as on a NIC.
//
//   client port --tx--> ring c2s --rx--> server port
//   client port <--rx-- ring s2c <--tx-- server port
#include <rte_arp.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "frames.h"
#include "net/classify.h"
#include "net/reply.h"
#include "proto/mc_frame.h"

namespace fulmar::net::test {
namespace {

class RingPorts : public PacketTest {
  protected:
    void SetUp() override {
        PacketTest::SetUp();
        static std::atomic<int> n_pairs{0};
        const std::string id = std::to_string(n_pairs++);
        const int socket = static_cast<int>(rte_socket_id());
        c2s_ = rte_ring_create(("c2s_" + id).c_str(), 256, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        s2c_ = rte_ring_create(("s2c_" + id).c_str(), 256, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_NE(c2s_, nullptr);
        ASSERT_NE(s2c_, nullptr);
        server_ = rte_eth_from_rings(("srv_" + id).c_str(), &c2s_, 1, &s2c_, 1, socket);
        client_ = rte_eth_from_rings(("cli_" + id).c_str(), &s2c_, 1, &c2s_, 1, socket);
        ASSERT_GE(server_, 0);
        ASSERT_GE(client_, 0);
        start(server_);
        start(client_);
    }

    void TearDown() override {
        for (int port : {server_, client_}) {
            if (port < 0) continue;
            EXPECT_EQ(rte_eth_dev_stop(static_cast<uint16_t>(port)), 0);
            EXPECT_EQ(rte_eth_dev_close(static_cast<uint16_t>(port)), 0);
        }
        rte_ring_free(c2s_);
        rte_ring_free(s2c_);
        PacketTest::TearDown();
    }

    void start(int port) {
        const auto p = static_cast<uint16_t>(port);
        rte_eth_conf conf{};
        ASSERT_EQ(rte_eth_dev_configure(p, 1, 1, &conf), 0);
        ASSERT_EQ(rte_eth_rx_queue_setup(p, 0, 256, rte_socket_id(), nullptr, pool_), 0);
        ASSERT_EQ(rte_eth_tx_queue_setup(p, 0, 256, rte_socket_id(), nullptr), 0);
        ASSERT_EQ(rte_eth_dev_start(p), 0);
    }

    void send(int port, rte_mbuf** pkts, uint16_t n) {
        ASSERT_EQ(rte_eth_tx_burst(static_cast<uint16_t>(port), 0, pkts, n), n);
    }

    uint16_t receive(int port, rte_mbuf** pkts, uint16_t max) {
        return rte_eth_rx_burst(static_cast<uint16_t>(port), 0, pkts, max);
    }

    rte_ring* c2s_ = nullptr;
    rte_ring* s2c_ = nullptr;
    int server_ = -1;
    int client_ = -1;
};

TEST_F(RingPorts, GetRequestIsAnsweredInNumberedDatagrams) {
    rte_mbuf* req_mbuf = mbuf(udp_request_frame({.request_id = 0x4242}));
    send(client_, &req_mbuf, 1);

    // Server side: one RX burst, classify, split the reply, one TX burst.
    rte_mbuf* rx[32];
    ASSERT_EQ(receive(server_, rx, 32), 1);
    UdpRequest req;
    DropReason why;
    ASSERT_EQ(classify(rx[0], port_, filter_, req, why), RxAction::kUdpRequest);
    proto::McFrame frame;
    ASSERT_EQ(proto::decode_request_frame(req.payload, frame), proto::FrameStatus::kOk);
    EXPECT_EQ(frame.request_id, 0x4242);
    const std::string value(3000, 'v');
    const std::string reply = "VALUE foo 0 3000\r\n" + value + "\r\nEND\r\n";
    rte_mbuf* tx[8];
    const size_t n = build_mc_udp_replies(pool_, req, port_, frame.request_id, reply, tx, 8);
    ASSERT_EQ(n, 3u);
    rte_pktmbuf_free(rx[0]);
    send(server_, tx, static_cast<uint16_t>(n));

    // Client side: the datagrams arrive in order and reassemble.
    PortAddr peer;
    peer.mac = kPeerMac;
    peer.ip = kPeerIp;
    peer.udp_port = kPeerPort;
    ASSERT_EQ(receive(client_, rx, 32), 3);
    std::string joined;
    for (uint16_t i = 0; i < 3; i++) {
        UdpRequest got;
        ASSERT_EQ(classify(rx[i], peer, ClientFilter{}, got, why), RxAction::kUdpRequest)
            << drop_reason_name(why);
        const auto* h = reinterpret_cast<const uint8_t*>(got.payload.data());
        EXPECT_EQ(get16(h), 0x4242);
        EXPECT_EQ(get16(h + 2), i);
        EXPECT_EQ(get16(h + 4), 3);
        joined.append(reinterpret_cast<const char*>(got.payload.data()) + 8,
                      got.payload.size() - 8);
        rte_pktmbuf_free(rx[i]);
    }
    EXPECT_EQ(joined, reply);
}

TEST_F(RingPorts, ArpRequestIsAnsweredOnTheSamePort) {
    rte_mbuf* m = mbuf(eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                           arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp)));
    send(client_, &m, 1);
    rte_mbuf* rx[4];
    ASSERT_EQ(receive(server_, rx, 4), 1);
    UdpRequest req;
    DropReason why;
    ASSERT_EQ(classify(rx[0], port_, filter_, req, why), RxAction::kTransmit);
    send(server_, rx, 1);
    ASSERT_EQ(receive(client_, rx, 4), 1);
    const Bytes b = to_bytes(rx[0]);
    EXPECT_EQ(get16(&b[14 + 6]), RTE_ARP_OP_REPLY);
    EXPECT_EQ(Bytes(b.begin() + 22, b.begin() + 28),
              Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    rte_pktmbuf_free(rx[0]);
}

}  // namespace
}  // namespace fulmar::net::test
