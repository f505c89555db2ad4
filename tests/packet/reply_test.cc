// Reply construction: UDP replies, memcached datagram splitting, gratuitous
// ARP. Every reply is checked with DPDK's own checksum verifiers and then fed
// to the classifier as the client would see it.
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "frames.h"
#include "net/classify.h"
#include "net/reply.h"
#include "proto/mc_frame.h"

namespace fulmar::net::test {
namespace {

// The client's side of the wire: its own address, listening on its port.
PortAddr peer_port() {
    PortAddr p;
    p.mac = kPeerMac;
    p.ip = kPeerIp;
    p.udp_port = kPeerPort;
    return p;
}

class Reply : public PacketTest {
  protected:
    // Classifies a crafted request as the server; the request mbuf stays
    // alive in `held_` (the payload span points into it).
    UdpRequest request(const RequestSpec& spec = {}) {
        held_ = mbuf(udp_request_frame(spec));
        UdpRequest req;
        DropReason why;
        EXPECT_EQ(classify(held_, port_, filter_, req, why), RxAction::kUdpRequest);
        return req;
    }

    void TearDown() override {
        rte_pktmbuf_free(held_);
        PacketTest::TearDown();
    }

    // Checks a reply frame's checksums with DPDK and returns what the client
    // gets out of it (its classifier accepting it).
    std::string client_receives(rte_mbuf* m, UdpRequest* out = nullptr) {
        const auto* base = rte_pktmbuf_mtod(m, const uint8_t*);
        const size_t l2 = get16(base + 12) == RTE_ETHER_TYPE_VLAN ? 18 : 14;
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(base + l2);
        EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "IP checksum must verify";
        const auto* udp = reinterpret_cast<const rte_udp_hdr*>(base + l2 + 20);
        EXPECT_NE(udp->dgram_cksum, 0);
        EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0) << "UDP checksum must verify";
        EXPECT_EQ(ip->time_to_live, 64);
        EXPECT_EQ(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
        EXPECT_EQ(rte_pktmbuf_pkt_len(m), l2 + rte_be_to_cpu_16(ip->total_length));

        UdpRequest got;
        DropReason why = DropReason::kCount;
        const PortAddr peer = peer_port();
        const RxAction a = classify(m, peer, ClientFilter{}, got, why);
        EXPECT_EQ(a, RxAction::kUdpRequest)
            << (a == RxAction::kDrop ? drop_reason_name(why) : "transmit");
        if (out != nullptr) *out = got;
        return std::string(reinterpret_cast<const char*>(got.payload.data()), got.payload.size());
    }

    // Splits `reply` and checks every datagram; returns the reassembled text.
    std::string split_and_reassemble(const std::string& reply, size_t expect_n) {
        const UdpRequest req = request();
        std::vector<rte_mbuf*> out(expect_n + 4, nullptr);
        const size_t n =
            build_mc_udp_replies(pool_, req, port_, 0xbeef, reply, out.data(), out.size());
        EXPECT_EQ(n, expect_n);
        std::string joined;
        for (size_t i = 0; i < n; i++) {
            const std::string dgram = client_receives(out[i]);
            EXPECT_GE(dgram.size(), proto::kMcFrameHeaderSize);
            EXPECT_LE(dgram.size(), proto::kMcFrameHeaderSize + proto::kMcUdpMaxPayload);
            const auto* h = reinterpret_cast<const uint8_t*>(dgram.data());
            EXPECT_EQ(get16(h), 0xbeef);
            EXPECT_EQ(get16(h + 2), i);
            EXPECT_EQ(get16(h + 4), n);
            EXPECT_EQ(get16(h + 6), 0);
            joined += dgram.substr(proto::kMcFrameHeaderSize);
            rte_pktmbuf_free(out[i]);
        }
        return joined;
    }

    static std::string text_of(size_t len) {
        std::string s;
        for (size_t i = 0; i < len; i++)
            s.push_back(static_cast<char>('a' + i % 26));
        return s;
    }

    rte_mbuf* held_ = nullptr;
};

TEST_F(Reply, UdpReplyGoesBackToTheClientAndVerifies) {
    const UdpRequest req = request();
    const std::string body = "VALUE foo 0 3\r\nbar\r\nEND\r\n";
    rte_mbuf* m = build_udp_reply(pool_, req, port_, std::as_bytes(std::span(body)));
    ASSERT_NE(m, nullptr);
    UdpRequest seen;
    EXPECT_EQ(client_receives(m, &seen), body);
    EXPECT_TRUE(rte_is_same_ether_addr(&seen.src_mac, &kOurMac));
    EXPECT_TRUE(rte_is_same_ether_addr(&seen.dst_mac, &kPeerMac));
    EXPECT_EQ(seen.src_ip, kOurIp);
    EXPECT_EQ(seen.dst_ip, kPeerIp);
    EXPECT_EQ(seen.src_port, kCachePort);
    EXPECT_EQ(seen.dst_port, kPeerPort);
    EXPECT_FALSE(seen.has_vlan);
    rte_pktmbuf_free(m);
}

TEST_F(Reply, ReplyLeavesFromThePortTheRequestCameTo) {
    port_.n_udp_ports = 8;
    RequestSpec spec;
    spec.udp.dport = kCachePort + 5;
    const UdpRequest req = request(spec);
    rte_mbuf* m = build_udp_reply(pool_, req, port_, {});
    ASSERT_NE(m, nullptr);
    UdpRequest seen;
    EXPECT_EQ(client_receives(m, &seen), "");
    EXPECT_EQ(seen.src_port, kCachePort + 5);
    rte_pktmbuf_free(m);
}

TEST_F(Reply, VlanTaggedRequestGetsATaggedReply) {
    RequestSpec spec;
    spec.eth.vlan_tci = 0xe07b;  // priority 7, VLAN 123
    const UdpRequest req = request(spec);
    const std::string body = "STORED\r\n";
    rte_mbuf* m = build_udp_reply(pool_, req, port_, std::as_bytes(std::span(body)));
    ASSERT_NE(m, nullptr);
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    EXPECT_EQ(get16(p + 12), RTE_ETHER_TYPE_VLAN);
    EXPECT_EQ(get16(p + 14), 0xe07b);
    EXPECT_EQ(get16(p + 16), RTE_ETHER_TYPE_IPV4);
    UdpRequest seen;
    EXPECT_EQ(client_receives(m, &seen), body);
    EXPECT_TRUE(seen.has_vlan);
    EXPECT_EQ(seen.vlan_tci, 0xe07b);
    rte_pktmbuf_free(m);
}

TEST_F(Reply, OddLengthPayloadChecksumsVerify) {
    const UdpRequest req = request();
    for (size_t len : {1u, 3u, 1399u, 1401u}) {
        const std::string body = text_of(len);
        rte_mbuf* m = build_udp_reply(pool_, req, port_, std::as_bytes(std::span(body)));
        ASSERT_NE(m, nullptr);
        EXPECT_EQ(client_receives(m), body);
        rte_pktmbuf_free(m);
    }
}

TEST_F(Reply, PayloadLargerThanOneMbufIsRefused) {
    const UdpRequest req = request();
    const std::vector<std::byte> big(RTE_MBUF_DEFAULT_DATAROOM, std::byte{'x'});
    EXPECT_EQ(build_udp_reply(pool_, req, port_, big), nullptr);
}

TEST_F(Reply, EmptyPoolGivesNoReply) {
    const UdpRequest req = request();
    std::vector<rte_mbuf*> all(kPoolSize);
    const unsigned n_free = rte_mempool_avail_count(pool_);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool_, all.data(), n_free), 0);
    EXPECT_EQ(build_udp_reply(pool_, req, port_, {}), nullptr);
    rte_mbuf* out[4];
    const std::string body = "END\r\n";
    EXPECT_EQ(build_mc_udp_replies(pool_, req, port_, 1, body, out, 4), 0u);
    EXPECT_EQ(build_gratuitous_arp(pool_, port_), nullptr);
    rte_pktmbuf_free_bulk(all.data(), n_free);
}

// ---------------------------------------------------------------- splitter

TEST_F(Reply, EmptyReplySendsNothing) {
    EXPECT_EQ(split_and_reassemble("", 0), "");
}

TEST_F(Reply, OneByteReplyIsOneDatagram) {
    EXPECT_EQ(split_and_reassemble("x", 1), "x");
}

TEST_F(Reply, ExactlyOneFullDatagram) {
    const std::string s = text_of(1400);
    EXPECT_EQ(split_and_reassemble(s, 1), s);
}

TEST_F(Reply, OneBytePastAFullDatagramNeedsTwo) {
    const std::string s = text_of(1401);
    EXPECT_EQ(split_and_reassemble(s, 2), s);
}

TEST_F(Reply, TwentyThousandBytesAreFifteenDatagrams) {
    const std::string s = text_of(20000);
    EXPECT_EQ(split_and_reassemble(s, 15), s);
}

TEST_F(Reply, PoolRunningDryMidReplyLeavesNothingAllocated) {
    const UdpRequest req = request();
    // Leave 3 mbufs free; the reply needs 15.
    const unsigned n_take = rte_mempool_avail_count(pool_) - 3;
    std::vector<rte_mbuf*> taken(n_take);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool_, taken.data(), n_take), 0);
    std::vector<rte_mbuf*> out(32);
    EXPECT_EQ(build_mc_udp_replies(pool_, req, port_, 1, text_of(20000), out.data(), out.size()),
              0u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), 3u);
    rte_pktmbuf_free_bulk(taken.data(), n_take);
}

TEST_F(Reply, TooFewOutputSlotsFailsWithoutAllocating) {
    const UdpRequest req = request();
    const unsigned before = rte_mempool_avail_count(pool_);
    std::vector<rte_mbuf*> out(14);
    EXPECT_EQ(build_mc_udp_replies(pool_, req, port_, 1, text_of(20000), out.data(), out.size()),
              0u);
    EXPECT_EQ(rte_mempool_avail_count(pool_), before);
}

TEST_F(Reply, MoreThan65535DatagramsFailsLikeMemcached) {
    const UdpRequest req = request();
    const std::string huge(proto::kMcUdpMaxPayload * kMaxReplyDatagrams + 1, 'v');
    std::vector<rte_mbuf*> out(kMaxReplyDatagrams + 1);
    EXPECT_EQ(build_mc_udp_replies(pool_, req, port_, 1, huge, out.data(), out.size()), 0u);
}

// ---------------------------------------------------------------- ARP

TEST_F(Reply, GratuitousArpOnAVlanPortCarriesTheTag) {
    PortAddr port = port_;
    port.vlan_id = 120;
    rte_mbuf* m = build_gratuitous_arp(pool_, port);
    ASSERT_NE(m, nullptr);
    const Bytes b = to_bytes(m);
    ASSERT_EQ(b.size(), 46u);
    EXPECT_EQ(get16(&b[12]), RTE_ETHER_TYPE_VLAN);
    EXPECT_EQ(get16(&b[14]) & 0x0fff, 120);
    EXPECT_EQ(get16(&b[16]), RTE_ETHER_TYPE_ARP);
    EXPECT_EQ(get16(&b[18 + 6]), RTE_ARP_OP_REQUEST);
    rte_pktmbuf_free(m);
}

TEST_F(Reply, GratuitousArpAnnouncesOurAddress) {
    rte_mbuf* m = build_gratuitous_arp(pool_, port_);
    ASSERT_NE(m, nullptr);
    const Bytes b = to_bytes(m);
    ASSERT_EQ(b.size(), 42u);
    EXPECT_EQ(Bytes(b.begin(), b.begin() + 6), Bytes(6, 0xff));
    EXPECT_EQ(Bytes(b.begin() + 6, b.begin() + 12),
              Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    EXPECT_EQ(get16(&b[12]), RTE_ETHER_TYPE_ARP);
    const uint8_t* a = &b[14];
    EXPECT_EQ(get16(a), RTE_ARP_HRD_ETHER);
    EXPECT_EQ(get16(a + 2), RTE_ETHER_TYPE_IPV4);
    EXPECT_EQ(a[4], 6);
    EXPECT_EQ(a[5], 4);
    EXPECT_EQ(get16(a + 6), RTE_ARP_OP_REQUEST);
    EXPECT_EQ(Bytes(a + 8, a + 14), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    EXPECT_EQ(get32(a + 14), rte_be_to_cpu_32(kOurIp));
    EXPECT_EQ(Bytes(a + 18, a + 24), Bytes(6, 0));
    EXPECT_EQ(get32(a + 24), rte_be_to_cpu_32(kOurIp));

    // Neither a peer nor we ourselves (if it loops back) answer it; a peer's
    // kernel hears it (neighbour tables learn from announcements).
    UdpRequest req;
    DropReason why;
    EXPECT_EQ(classify(m, peer_port(), filter_, req, why), RxAction::kToKernel);
    EXPECT_EQ(why, DropReason::kArpNotForUs);
    EXPECT_EQ(classify(m, port_, filter_, req, why), RxAction::kDrop);
    EXPECT_EQ(why, DropReason::kArpNotForUs);
    rte_pktmbuf_free(m);
}

// ---------------------------------------------------------------- a burst

// What a worker does with one RX burst: classify all, answer requests, send
// in-place replies, count drops.
TEST_F(Reply, MixedBurstOf32IsSortedAndAnswered) {
    std::vector<Bytes> frames;
    std::vector<RxAction> want;
    for (int i = 0; i < 32; i++) {
        switch (i % 8) {
            case 0:
                frames.push_back(udp_request_frame({.request_id = static_cast<uint16_t>(i)}));
                want.push_back(RxAction::kUdpRequest);
                break;
            case 1:
                frames.push_back(
                    eth({.dst = kBroadcastMac}, RTE_ETHER_TYPE_ARP,
                        arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp)));
                want.push_back(RxAction::kTransmit);
                break;
            case 2: {
                Ipv4Spec ip;
                ip.proto = IPPROTO_ICMP;
                frames.push_back(eth({}, RTE_ETHER_TYPE_IPV4,
                                     ipv4(ip, icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 1, 1, {}))));
                want.push_back(RxAction::kTransmit);
                break;
            }
            case 3:
                frames.push_back(eth({}, RTE_ETHER_TYPE_IPV6, Bytes(60, 0)));
                want.push_back(RxAction::kDrop);
                break;
            case 4:
                frames.push_back(udp_request_frame(
                    {.eth = {.vlan_tci = 7}, .request_id = static_cast<uint16_t>(i)}));
                want.push_back(RxAction::kUdpRequest);
                break;
            case 5: {
                RequestSpec spec;
                spec.ip.corrupt_checksum = true;
                frames.push_back(udp_request_frame(spec));
                want.push_back(RxAction::kDrop);
                break;
            }
            case 6: {
                RequestSpec spec;
                spec.udp.csum = UdpCsum::kPartial;
                spec.request_id = static_cast<uint16_t>(i);
                frames.push_back(udp_request_frame(spec));
                want.push_back(RxAction::kUdpRequest);
                break;
            }
            case 7: {
                RequestSpec spec;
                spec.udp.dport = 11212;
                frames.push_back(udp_request_frame(spec));
                want.push_back(RxAction::kToKernel);
                break;
            }
        }
    }
    rte_mbuf* rx[32];
    for (int i = 0; i < 32; i++)
        rx[i] = mbuf(frames[i]);

    rte_mbuf* tx[64];
    size_t n_tx = 0;
    size_t n_drop[kDropReasonCount] = {};
    for (int i = 0; i < 32; i++) {
        UdpRequest req;
        DropReason why;
        const RxAction a = classify(rx[i], port_, filter_, req, why);
        ASSERT_EQ(a, want[i]) << "frame " << i;
        switch (a) {
            case RxAction::kUdpRequest: {
                const uint16_t id = get16(reinterpret_cast<const uint8_t*>(req.payload.data()));
                n_tx += build_mc_udp_replies(pool_, req, port_, id, std::string_view("END\r\n"),
                                             tx + n_tx, 64 - n_tx);
                rte_pktmbuf_free(rx[i]);
                break;
            }
            case RxAction::kTransmit:
                tx[n_tx++] = rx[i];
                break;
            case RxAction::kToKernel:  // no kernel side here: a drop
            case RxAction::kDrop:
                n_drop[static_cast<size_t>(why)]++;
                rte_pktmbuf_free(rx[i]);
                break;
        }
    }
    EXPECT_EQ(n_tx, 20u);  // 12 requests, 4 ARP, 4 ICMP
    EXPECT_EQ(n_drop[static_cast<size_t>(DropReason::kNotIpv4)], 4u);
    EXPECT_EQ(n_drop[static_cast<size_t>(DropReason::kBadIpChecksum)], 4u);
    EXPECT_EQ(n_drop[static_cast<size_t>(DropReason::kNotOurPort)], 4u);

    // Every frame on the way out is addressed to the peer, from us.
    for (size_t i = 0; i < n_tx; i++) {
        const auto* eh = rte_pktmbuf_mtod(tx[i], const rte_ether_hdr*);
        EXPECT_TRUE(rte_is_same_ether_addr(&eh->dst_addr, &kPeerMac)) << i;
        EXPECT_TRUE(rte_is_same_ether_addr(&eh->src_addr, &kOurMac)) << i;
    }
    rte_pktmbuf_free_bulk(tx, static_cast<unsigned>(n_tx));
}

}  // namespace
}  // namespace fulmar::net::test

namespace fulmar::net::test {
namespace {

TEST_F(Reply, InPlaceMcReplyMatchesTheSplitter) {
    for (const size_t len : {size_t{5}, size_t{80}, size_t{1001}, proto::kMcUdpMaxPayload}) {
        const std::string text = text_of(len);
        const UdpRequest req = request();
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        size_t room = 0;
        char* dst = mc_udp_reply_text(m, req, room);
        ASSERT_NE(dst, nullptr);
        EXPECT_EQ(room, proto::kMcUdpMaxPayload);
        std::memcpy(dst, text.data(), text.size());
        seal_mc_udp_reply(m, req, port_, 0x1234, text.size());
        const std::string dgram = client_receives(m);
        const auto* h = reinterpret_cast<const uint8_t*>(dgram.data());
        EXPECT_EQ(get16(h), 0x1234);
        EXPECT_EQ(get16(h + 2), 0);
        EXPECT_EQ(get16(h + 4), 1);
        EXPECT_EQ(dgram.substr(proto::kMcFrameHeaderSize), text);
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(held_);
        held_ = nullptr;
    }
}

// The template's seal writes the very frame the general one does, over
// whatever the mbuf held before: every byte, length and TX field, tagged or
// not, with and without TX checksum offload, for every text length from
// empty to a whole datagram and varied addresses and ports; and so does
// the seal that reads an untagged request's own frame.
TEST_F(Reply, TemplateSealIsTheGeneralSeal) {
    for (const bool offload : {false, true}) {
        port_.tx_checksum_offload = offload;
        const McReplyTemplate tmpl = make_mc_reply_template(port_);
        for (const bool tagged : {false, true}) {
            for (const uint16_t sport : {kPeerPort, uint16_t{1}, uint16_t{65535}}) {
                RequestSpec spec;
                if (tagged) spec.eth.vlan_tci = 0x2005;
                spec.udp.sport = sport;
                // The peer the frames are checked at has kPeerIp.
                const bool peer = sport == kPeerPort;
                if (!peer) spec.ip.src = rte_cpu_to_be_32(0x0a000000u + sport);
                const UdpRequest req = request(spec);
                for (size_t len = 0; len <= proto::kMcUdpMaxPayload; len += len < 70 ? 1 : 97) {
                    rte_mbuf* a = rte_pktmbuf_alloc(pool_);
                    rte_mbuf* b = rte_pktmbuf_alloc(pool_);
                    ASSERT_NE(a, nullptr);
                    ASSERT_NE(b, nullptr);
                    std::memset(rte_pktmbuf_mtod(a, char*), 0xa5, rte_pktmbuf_tailroom(a));
                    std::memset(rte_pktmbuf_mtod(b, char*), 0x5a, rte_pktmbuf_tailroom(b));
                    size_t room = 0;
                    char* ta = mc_udp_reply_text(a, req, room);
                    char* tb = mc_udp_reply_text(b, req, room);
                    ASSERT_NE(ta, nullptr);
                    ASSERT_NE(tb, nullptr);
                    std::memset(ta, 'v', len);
                    std::memset(tb, 'v', len);
                    const auto id = static_cast<uint16_t>(len * 31 + sport);
                    seal_mc_udp_reply(a, req, port_, id, len);
                    seal_mc_udp_reply(b, req, port_, tmpl, id, len);
                    EXPECT_EQ(to_bytes(a), to_bytes(b)) << offload << tagged << sport << " " << len;
                    EXPECT_EQ(a->pkt_len, b->pkt_len);
                    EXPECT_EQ(a->ol_flags, b->ol_flags);
                    EXPECT_EQ(a->tx_offload, b->tx_offload);
                    EXPECT_EQ(a->packet_type, b->packet_type);
                    if (!offload && peer) client_receives(b);
                    if (!tagged) {
                        // The fast path's frame, its reply read from its headers.
                        const uint8_t* frame = detail::fast_udp_frame(held_, port_, filter_);
                        ASSERT_NE(frame, nullptr);
                        rte_mbuf* c = rte_pktmbuf_alloc(pool_);
                        ASSERT_NE(c, nullptr);
                        std::memset(rte_pktmbuf_mtod(c, char*), 0x3c, rte_pktmbuf_tailroom(c));
                        std::memset(mc_udp_reply_text(c, req, room), 'v', len);
                        seal_mc_udp_reply_to_frame(c, frame, port_, tmpl, id, len);
                        EXPECT_EQ(to_bytes(a), to_bytes(c)) << offload << sport << " " << len;
                        EXPECT_EQ(a->pkt_len, c->pkt_len);
                        EXPECT_EQ(a->ol_flags, c->ol_flags);
                        EXPECT_EQ(a->tx_offload, c->tx_offload);
                        EXPECT_EQ(a->packet_type, c->packet_type);
                        rte_pktmbuf_free(c);
                    }
                    rte_pktmbuf_free(a);
                    rte_pktmbuf_free(b);
                }
                rte_pktmbuf_free(held_);
                held_ = nullptr;
            }
        }
    }
}

// With TX offload the frame asks the device for both checksums and carries
// the pseudo-header sum DPDK's contract wants; summing it as the device
// would gives a frame that verifies.
TEST_F(Reply, TxChecksumOffloadLeavesTheSumsToTheDevice) {
    port_.tx_checksum_offload = true;
    const UdpRequest req = request();
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    const std::string text = "END\r\n";
    size_t room = 0;
    char* dst = mc_udp_reply_text(m, req, room);
    ASSERT_NE(dst, nullptr);
    std::memcpy(dst, text.data(), text.size());
    seal_mc_udp_reply(m, req, port_, 9, text.size());
    const uint64_t want = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    EXPECT_EQ(m->ol_flags & want, want);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
    auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, 34);
    EXPECT_EQ(ip->hdr_checksum, 0);
    EXPECT_EQ(udp->dgram_cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
    // What the device does: the IP sum, and the UDP sum over the datagram.
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    EXPECT_EQ(client_receives(m).substr(proto::kMcFrameHeaderSize), text);
    rte_pktmbuf_free(m);
}

// The request's mbuf becomes the reply's: the frame goes past the request
// bytes, which stay intact for the reply to copy from.
TEST_F(Reply, RequestMbufIsReusedForItsReply) {
    const UdpRequest req = request();
    const std::string before(reinterpret_cast<const char*>(req.payload.data()), req.payload.size());
    const size_t text_len = 100;
    ASSERT_TRUE(reuse_for_reply(held_, mc_reply_overhead(req) + text_len));
    EXPECT_EQ(rte_pktmbuf_pkt_len(held_), 0u);
    size_t room = 0;
    char* dst = mc_udp_reply_text(held_, req, room);
    ASSERT_NE(dst, nullptr);
    EXPECT_GE(room, text_len);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(req.payload.data()), req.payload.size()),
              before);
    std::memset(dst, 'r', text_len);
    seal_mc_udp_reply(held_, req, port_, 3, text_len);
    EXPECT_EQ(client_receives(held_).substr(proto::kMcFrameHeaderSize), std::string(text_len, 'r'));
    // No room: a reply larger than what is left after the request.
    rte_pktmbuf_free(held_);
    request();
    EXPECT_FALSE(reuse_for_reply(held_, held_->buf_len));
    EXPECT_GT(rte_pktmbuf_pkt_len(held_), 0u);
    // Shared mbufs are not reused.
    rte_mbuf_refcnt_update(held_, 1);
    EXPECT_FALSE(reuse_for_reply(held_, 64));
    rte_mbuf_refcnt_update(held_, -1);
}

// mc_reply_text_in_place() is reuse_for_reply() for a whole datagram and
// then mc_udp_reply_text(): the same frame, text pointer and room, and the
// same refusals.
TEST_F(Reply, TextInPlaceIsReuseThenReplyText) {
    const UdpRequest req = request();
    rte_mbuf* twin = rte_pktmbuf_clone(held_, pool_);
    ASSERT_NE(twin, nullptr);
    // A clone shares the data (refcnt 2, and it is indirect): both refuse.
    EXPECT_EQ(mc_reply_text_in_place(held_, req), nullptr);
    EXPECT_EQ(mc_reply_text_in_place(twin, req), nullptr);
    EXPECT_GT(rte_pktmbuf_pkt_len(held_), 0u);
    rte_pktmbuf_free(twin);
    rte_mbuf* copy = rte_pktmbuf_copy(held_, pool_, 0, UINT32_MAX);
    ASSERT_NE(copy, nullptr);
    char* text = mc_reply_text_in_place(held_, req);
    ASSERT_NE(text, nullptr);
    ASSERT_TRUE(reuse_for_reply(copy, mc_reply_overhead(req) + proto::kMcUdpMaxPayload));
    size_t room = 0;
    char* expected = mc_udp_reply_text(copy, req, room);
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(room, proto::kMcUdpMaxPayload);
    EXPECT_EQ(text - static_cast<char*>(held_->buf_addr),
              expected - static_cast<char*>(copy->buf_addr));
    EXPECT_EQ(held_->data_off, copy->data_off);
    EXPECT_EQ(rte_pktmbuf_pkt_len(held_), 0u);
    EXPECT_EQ(held_->ol_flags, 0u);
    rte_pktmbuf_free(copy);
    // No room for a whole datagram after the request: refused, unchanged.
    rte_pktmbuf_free(held_);
    request();
    held_->data_off = static_cast<uint16_t>(held_->buf_len - held_->data_len -
                                            (mc_reply_overhead(req) + proto::kMcUdpMaxPayload) + 1);
    const uint16_t off = held_->data_off;
    EXPECT_EQ(mc_reply_text_in_place(held_, req), nullptr);
    EXPECT_EQ(held_->data_off, off);
}

// The fast path's in-place text: the same refusals, frame and text pointer
// as mc_reply_text_in_place() on an untagged request; only the RX flags
// stay, for the template's seal to replace (it sets ol_flags whole).
TEST_F(Reply, FastTextInPlaceIsTextInPlace) {
    const UdpRequest req = request();
    rte_mbuf* twin = rte_pktmbuf_clone(held_, pool_);
    ASSERT_NE(twin, nullptr);
    EXPECT_EQ(mc_reply_text_in_place_fast(held_), nullptr);
    EXPECT_EQ(mc_reply_text_in_place_fast(twin), nullptr);
    rte_pktmbuf_free(twin);
    rte_mbuf* copy = rte_pktmbuf_copy(held_, pool_, 0, UINT32_MAX);
    ASSERT_NE(copy, nullptr);
    held_->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    char* text = mc_reply_text_in_place_fast(held_);
    char* expected = mc_reply_text_in_place(copy, req);
    ASSERT_NE(text, nullptr);
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(text - static_cast<char*>(held_->buf_addr),
              expected - static_cast<char*>(copy->buf_addr));
    EXPECT_EQ(held_->data_off, copy->data_off);
    EXPECT_EQ(rte_pktmbuf_pkt_len(held_), 0u);
    EXPECT_EQ(rte_pktmbuf_data_len(held_), 0u);
    for (const bool offload : {false, true}) {
        port_.tx_checksum_offload = offload;
        const McReplyTemplate tmpl = make_mc_reply_template(port_);
        held_->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        held_->data_len = 0;
        held_->pkt_len = 0;
        copy->data_len = 0;
        copy->pkt_len = 0;
        seal_mc_udp_reply(held_, req, port_, tmpl, 5, 0);
        seal_mc_udp_reply(copy, req, port_, 5, 0);
        EXPECT_EQ(held_->ol_flags, copy->ol_flags) << offload;
    }
    rte_pktmbuf_free(copy);
    rte_pktmbuf_free(held_);
    request();
    held_->data_off = static_cast<uint16_t>(held_->buf_len - held_->data_len -
                                            (mc_reply_overhead(req) + proto::kMcUdpMaxPayload) + 1);
    const uint16_t off = held_->data_off;
    EXPECT_EQ(mc_reply_text_in_place_fast(held_), nullptr);
    EXPECT_EQ(held_->data_off, off);
}

// The room offered is one datagram's text at most, and less in a small
// segment; a non-empty mbuf gets none.
TEST_F(Reply, InPlaceMcReplyRoomIsOneDatagramAtMost) {
    const UdpRequest req = request();
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    size_t room = 0;
    ASSERT_NE(mc_udp_reply_text(m, req, room), nullptr);
    EXPECT_EQ(room, proto::kMcUdpMaxPayload);
    // Leave 100 bytes past the headers: the room is 100.
    const size_t keep = rte_pktmbuf_tailroom(m) - (mc_reply_overhead(req) + 100);
    m->data_off = static_cast<uint16_t>(m->data_off + keep);
    ASSERT_NE(mc_udp_reply_text(m, req, room), nullptr);
    EXPECT_EQ(room, 100u);
    ASSERT_NE(rte_pktmbuf_append(m, 1), nullptr);
    EXPECT_EQ(mc_udp_reply_text(m, req, room), nullptr);
    rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace fulmar::net::test
