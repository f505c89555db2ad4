// classify(): every accepted and every dropped case, on frames built byte by
// byte.
#include <rte_arp.h>
#include <rte_ip.h>

#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>

#include "frames.h"
#include "net/classify.h"

namespace fulmar::net::test {
namespace {

class Classify : public PacketTest {
  protected:
    // Classifies `frame` expecting a drop, and returns the reason.
    DropReason drop_reason(const Bytes& frame) {
        DropReason why = DropReason::kCount;
        EXPECT_EQ(classify_bytes(frame, why), RxAction::kDrop);
        return why;
    }

    // Classifies `frame` expecting it handed to the kernel, and returns the
    // reason a port without a kernel side counts.
    DropReason kernel_reason(const Bytes& frame) {
        DropReason why = DropReason::kCount;
        EXPECT_EQ(classify_bytes(frame, why), RxAction::kToKernel);
        return why;
    }

    // Classifies `frame` expecting a UDP request; returns it and its mbuf
    // bytes' payload as a string (the mbuf is freed).
    std::string accepted_payload(const Bytes& frame, UdpRequest* out = nullptr) {
        rte_mbuf* m = mbuf(frame);
        UdpRequest req;
        DropReason why = DropReason::kCount;
        const RxAction a = classify(m, port_, filter_, req, why);
        EXPECT_EQ(a, RxAction::kUdpRequest)
            << "dropped: " << (a == RxAction::kDrop ? drop_reason_name(why) : "transmit");
        std::string payload(reinterpret_cast<const char*>(req.payload.data()), req.payload.size());
        if (out != nullptr) *out = req;
        rte_pktmbuf_free(m);
        return payload;
    }

    // Classifies in place expecting kTransmit; returns the rewritten frame.
    Bytes transmitted(const Bytes& frame, uint64_t ol_flags = 0, uint16_t vlan_tci = 0) {
        rte_mbuf* m = mbuf(frame);
        m->ol_flags |= ol_flags;
        m->vlan_tci = vlan_tci;
        UdpRequest req;
        DropReason why = DropReason::kCount;
        const RxAction a = classify(m, port_, filter_, req, why);
        EXPECT_EQ(a, RxAction::kTransmit)
            << "got " << (a == RxAction::kDrop ? drop_reason_name(why) : "udp request");
        Bytes out = to_bytes(m);
        rte_pktmbuf_free(m);
        return out;
    }

    static Bytes arp_request(rte_be32_t target, EthSpec e = {.dst = kBroadcastMac}) {
        return eth(e, RTE_ETHER_TYPE_ARP,
                   arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, target));
    }

    static Bytes icmp_frame(const Bytes& icmp_bytes, EthSpec e = {}) {
        Ipv4Spec ip;
        ip.proto = IPPROTO_ICMP;
        return eth(e, RTE_ETHER_TYPE_IPV4, ipv4(ip, icmp_bytes));
    }

    static Bytes request_with_ip(const Ipv4Spec& ip) {
        RequestSpec spec;
        spec.ip = ip;
        return udp_request_frame(spec);
    }

    static Bytes request_with_udp(const UdpSpec& u) {
        RequestSpec spec;
        spec.udp = u;
        return udp_request_frame(spec);
    }

    static const std::string kRequest;
};

const std::string Classify::kRequest = [] {
    const Bytes b = mc_request(7, "get foo\r\n");
    return std::string(b.begin(), b.end());
}();

// ---------------------------------------------------------------- accepted

TEST_F(Classify, UdpRequestReportsAddressesPortsAndPayload) {
    UdpRequest req;
    EXPECT_EQ(accepted_payload(udp_request_frame({}), &req), kRequest);
    EXPECT_TRUE(rte_is_same_ether_addr(&req.src_mac, &kPeerMac));
    EXPECT_TRUE(rte_is_same_ether_addr(&req.dst_mac, &kOurMac));
    EXPECT_EQ(req.src_ip, kPeerIp);
    EXPECT_EQ(req.dst_ip, kOurIp);
    EXPECT_EQ(req.src_port, kPeerPort);
    EXPECT_EQ(req.dst_port, kCachePort);
    EXPECT_FALSE(req.has_vlan);
}

TEST_F(Classify, EthernetPaddingPastTheDatagramIsIgnored) {
    RequestSpec spec;
    spec.text = "";  // 42 + 8 = 50 bytes: the sender pads to 60
    Bytes frame = udp_request_frame(spec);
    frame.resize(60, 0);
    EXPECT_EQ(accepted_payload(frame).size(), 8u);
}

TEST_F(Classify, Ipv4OptionsAreSkipped) {
    Ipv4Spec ip;
    ip.options = {0x01, 0x01, 0x01, 0x01, 0x94, 0x04, 0x00, 0x00};  // NOPs, router alert
    EXPECT_EQ(accepted_payload(request_with_ip(ip)), kRequest);
    ip.options.assign(40, 0x01);  // IHL 15, the most there is
    EXPECT_EQ(accepted_payload(request_with_ip(ip)), kRequest);
}

TEST_F(Classify, DontFragmentAloneIsNotAFragment) {
    Ipv4Spec ip;
    ip.frag = RTE_IPV4_HDR_DF_FLAG;
    EXPECT_EQ(accepted_payload(request_with_ip(ip)), kRequest);
    ip.frag = 0;
    EXPECT_EQ(accepted_payload(request_with_ip(ip)), kRequest);
}

TEST_F(Classify, BroadcastDestinationMacIsLeftToTheIpChecks) {
    RequestSpec spec;
    spec.eth.dst = kBroadcastMac;
    EXPECT_EQ(accepted_payload(udp_request_frame(spec)), kRequest);
}

TEST_F(Classify, UdpChecksumZeroPartialAndCorrectAreAccepted) {
    for (UdpCsum c : {UdpCsum::kZero, UdpCsum::kPartial, UdpCsum::kCorrect}) {
        UdpSpec u;
        u.csum = c;
        EXPECT_EQ(accepted_payload(request_with_udp(u)), kRequest) << static_cast<int>(c);
    }
}

TEST_F(Classify, UdpChecksumThatIsWrongIsDropped) {
    UdpSpec u;
    u.csum = UdpCsum::kWrong;
    EXPECT_EQ(drop_reason(request_with_udp(u)), DropReason::kBadUdpChecksum);
}

// The device's verdict in ol_flags stands in for the software sums.
TEST_F(Classify, DeviceChecksumVerdictsAreTrusted) {
    const auto classify_with = [&](const Bytes& frame, uint64_t flags) {
        rte_mbuf* m = mbuf(frame);
        m->ol_flags |= flags;
        UdpRequest req;
        DropReason why = DropReason::kCount;
        const RxAction a = classify(m, port_, filter_, req, why);
        rte_pktmbuf_free(m);
        return a == RxAction::kDrop ? why : DropReason::kCount;
    };
    UdpSpec wrong_udp;
    wrong_udp.csum = UdpCsum::kWrong;
    const Bytes bad_udp = request_with_udp(wrong_udp);
    Ipv4Spec wrong_ip;
    wrong_ip.corrupt_checksum = true;
    const Bytes bad_ip = request_with_ip(wrong_ip);
    const Bytes good = udp_request_frame({});
    // Verified by the device: accepted without summing (the sums are wrong).
    EXPECT_EQ(classify_with(bad_udp, RTE_MBUF_F_RX_L4_CKSUM_GOOD), DropReason::kCount);
    EXPECT_EQ(classify_with(bad_udp, RTE_MBUF_F_RX_L4_CKSUM_NONE), DropReason::kCount);
    EXPECT_EQ(classify_with(bad_ip, RTE_MBUF_F_RX_IP_CKSUM_GOOD), DropReason::kCount);
    // Refused by the device: dropped even though the sums are right.
    EXPECT_EQ(classify_with(good, RTE_MBUF_F_RX_L4_CKSUM_BAD), DropReason::kBadUdpChecksum);
    EXPECT_EQ(classify_with(good, RTE_MBUF_F_RX_IP_CKSUM_BAD), DropReason::kBadIpChecksum);
    // Unknown: summed in software.
    EXPECT_EQ(classify_with(bad_udp, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN), DropReason::kBadUdpChecksum);
    EXPECT_EQ(classify_with(bad_ip, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN), DropReason::kBadIpChecksum);
    EXPECT_EQ(classify_with(good, 0), DropReason::kCount);
}

TEST_F(Classify, UdpLengthShorterThanIpPayloadBoundsThePayload) {
    // Linux accepts and trims; the bytes past the UDP length are not ours.
    Ipv4Spec ip;
    Bytes datagram = udp({}, ip, mc_request(7, "get foo\r\n"));
    datagram.insert(datagram.end(), {'x', 'y', 'z'});
    EXPECT_EQ(accepted_payload(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, datagram))), kRequest);
}

TEST_F(Classify, PortRangeAcceptsEveryWorkerPort) {
    port_.n_udp_ports = 4;
    UdpRequest req;
    for (uint16_t p = kCachePort; p < kCachePort + 4; p++) {
        UdpSpec u;
        u.dport = p;
        accepted_payload(request_with_udp(u), &req);
        EXPECT_EQ(req.dst_port, p);
    }
    UdpSpec u;
    u.dport = kCachePort + 4;
    EXPECT_EQ(kernel_reason(request_with_udp(u)), DropReason::kNotOurPort);
    u.dport = kCachePort - 1;
    EXPECT_EQ(kernel_reason(request_with_udp(u)), DropReason::kNotOurPort);
}

TEST_F(Classify, VlanTaggedRequestReportsItsTag) {
    RequestSpec spec;
    spec.eth.vlan_tci = 0x2064;  // priority 1, VLAN 100
    UdpRequest req;
    EXPECT_EQ(accepted_payload(udp_request_frame(spec), &req), kRequest);
    EXPECT_TRUE(req.has_vlan);
    EXPECT_EQ(req.vlan_tci, 0x2064);
}

TEST_F(Classify, VlanStrippedByTheNicCountsAsATag) {
    rte_mbuf* m = mbuf(udp_request_frame({}));
    m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
    m->vlan_tci = 42;
    UdpRequest req;
    DropReason why;
    EXPECT_EQ(classify(m, port_, filter_, req, why), RxAction::kUdpRequest);
    EXPECT_TRUE(req.has_vlan);
    EXPECT_EQ(req.vlan_tci, 42);
    rte_pktmbuf_free(m);
}

TEST_F(Classify, AConfiguredVlanTakesOnlyFramesTaggedWithIt) {
    port_.vlan_id = 100;
    RequestSpec ours;
    ours.eth.vlan_tci = 0x2064;  // priority 1, VLAN 100: the priority bits do not matter
    UdpRequest req;
    EXPECT_EQ(accepted_payload(udp_request_frame(ours), &req), kRequest);
    EXPECT_EQ(req.vlan_tci, 0x2064);
    RequestSpec other;
    other.eth.vlan_tci = 101;
    EXPECT_EQ(drop_reason(udp_request_frame(other)), DropReason::kWrongVlan);
    EXPECT_EQ(drop_reason(udp_request_frame({})), DropReason::kWrongVlan);
    EXPECT_EQ(drop_reason(arp_request(kOurIp)), DropReason::kWrongVlan);
    EXPECT_STREQ(drop_reason_name(DropReason::kWrongVlan), "wrong_vlan");
    // A tag the NIC stripped counts the same.
    rte_mbuf* m = mbuf(udp_request_frame({}));
    m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
    m->vlan_tci = 100;
    DropReason why;
    EXPECT_EQ(classify(m, port_, filter_, req, why), RxAction::kUdpRequest);
    rte_pktmbuf_free(m);
    port_.vlan_id = 0;
}

// ---------------------------------------------------------------- ARP

TEST_F(Classify, ArpRequestForUsBecomesAnExactReply) {
    const Bytes out = transmitted(arp_request(kOurIp));
    ASSERT_GE(out.size(), 42u);
    const uint8_t* p = out.data();
    EXPECT_EQ(Bytes(p, p + 6), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));  // eth dst
    EXPECT_EQ(Bytes(p + 6, p + 12), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    EXPECT_EQ(get16(p + 12), RTE_ETHER_TYPE_ARP);
    const uint8_t* a = p + 14;
    EXPECT_EQ(get16(a), RTE_ARP_HRD_ETHER);
    EXPECT_EQ(get16(a + 2), RTE_ETHER_TYPE_IPV4);
    EXPECT_EQ(a[4], 6);
    EXPECT_EQ(a[5], 4);
    EXPECT_EQ(get16(a + 6), RTE_ARP_OP_REPLY);
    EXPECT_EQ(Bytes(a + 8, a + 14), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));  // sha
    EXPECT_EQ(get32(a + 14), rte_be_to_cpu_32(kOurIp));                                  // spa
    EXPECT_EQ(Bytes(a + 18, a + 24), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));
    EXPECT_EQ(get32(a + 24), rte_be_to_cpu_32(kPeerIp));  // tpa
}

TEST_F(Classify, ArpRequestWithVlanTagIsAnsweredWithTheSameTag) {
    const Bytes out = transmitted(arp_request(kOurIp, {.dst = kBroadcastMac, .vlan_tci = 100}));
    ASSERT_GE(out.size(), 46u);
    EXPECT_EQ(get16(out.data() + 12), RTE_ETHER_TYPE_VLAN);
    EXPECT_EQ(get16(out.data() + 14), 100);
    EXPECT_EQ(get16(out.data() + 16), RTE_ETHER_TYPE_ARP);
    EXPECT_EQ(get16(out.data() + 18 + 6), RTE_ARP_OP_REPLY);
}

TEST_F(Classify, ArpRequestWithStrippedVlanGetsTheTagBackInTheBytes) {
    const Bytes out =
        transmitted(arp_request(kOurIp), RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED, 0x0123);
    ASSERT_GE(out.size(), 46u);
    EXPECT_EQ(get16(out.data() + 12), RTE_ETHER_TYPE_VLAN);
    EXPECT_EQ(get16(out.data() + 14), 0x0123);
    EXPECT_EQ(get16(out.data() + 18 + 6), RTE_ARP_OP_REPLY);
}

TEST_F(Classify, BroadcastArpForAnotherAddressIsTheKernels) {
    EXPECT_EQ(kernel_reason(arp_request(kOtherIp)), DropReason::kArpNotForUs);
}

TEST_F(Classify, ArpToAnotherMacIsDropped) {
    EXPECT_EQ(drop_reason(arp_request(kOtherIp, {.dst = kOtherMac})), DropReason::kArpNotForUs);
    const Bytes reply = eth({.dst = kOtherMac}, RTE_ETHER_TYPE_ARP,
                            arp(RTE_ARP_OP_REPLY, kPeerMac, kPeerIp, kOtherMac, kOtherIp));
    EXPECT_EQ(drop_reason(reply), DropReason::kArpNotRequest);
}

TEST_F(Classify, OurOwnLoopedBackAnnouncementIsNotAnswered) {
    const Bytes frame = eth({.dst = kBroadcastMac, .src = kOurMac}, RTE_ETHER_TYPE_ARP,
                            arp(RTE_ARP_OP_REQUEST, kOurMac, kOurIp, rte_ether_addr{}, kOurIp));
    EXPECT_EQ(drop_reason(frame), DropReason::kArpNotForUs);
}

// net_tap gives the kernel side of the TAP the port's own MAC: a request from
// there carries our MAC but another address, and must be answered.
TEST_F(Classify, ArpFromAPeerSharingOurMacIsAnswered) {
    const Bytes frame = eth({.dst = kBroadcastMac, .src = kOurMac}, RTE_ETHER_TYPE_ARP,
                            arp(RTE_ARP_OP_REQUEST, kOurMac, kPeerIp, rte_ether_addr{}, kOurIp));
    const Bytes out = transmitted(frame);
    EXPECT_EQ(get16(out.data() + 14 + 6), RTE_ARP_OP_REPLY);
}

// The kernel behind our address asked: its neighbour table waits for it.
TEST_F(Classify, ArpReplyToUsIsTheKernels) {
    const Bytes frame =
        eth({}, RTE_ETHER_TYPE_ARP, arp(RTE_ARP_OP_REPLY, kPeerMac, kPeerIp, kOurMac, kOurIp));
    EXPECT_EQ(kernel_reason(frame), DropReason::kArpNotRequest);
}

// The kernel side's own ARP (our MAC and address) looped back by a bridge.
TEST_F(Classify, OurOwnArpLoopedBackIsDropped) {
    const Bytes reply = eth({.dst = kBroadcastMac, .src = kOurMac}, RTE_ETHER_TYPE_ARP,
                            arp(RTE_ARP_OP_REPLY, kOurMac, kOurIp, kPeerMac, kPeerIp));
    EXPECT_EQ(drop_reason(reply), DropReason::kArpNotRequest);
    const Bytes request = eth({.dst = kBroadcastMac, .src = kOurMac}, RTE_ETHER_TYPE_ARP,
                              arp(RTE_ARP_OP_REQUEST, kOurMac, kOurIp, rte_ether_addr{}, kPeerIp));
    EXPECT_EQ(drop_reason(request), DropReason::kArpNotForUs);
}

TEST_F(Classify, ArpThatIsNotEthernetIpv4IsMalformed) {
    Bytes body = arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp);
    body[5] = 16;  // protocol address length of IPv6
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_ARP, body)), DropReason::kArpMalformed);
    body = arp(RTE_ARP_OP_REQUEST, kPeerMac, kPeerIp, rte_ether_addr{}, kOurIp);
    put16(body, 0, 6);  // IEEE 802 hardware
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_ARP, body)), DropReason::kArpMalformed);
}

TEST_F(Classify, TruncatedArpIsShort) {
    Bytes frame = arp_request(kOurIp);
    frame.resize(14 + 27);
    EXPECT_EQ(drop_reason(frame), DropReason::kShortFrame);
}

// ---------------------------------------------------------------- ICMP

TEST_F(Classify, IcmpEchoRequestBecomesAnEchoReply) {
    Bytes data;
    for (int i = 0; i < 56; i++)
        data.push_back(static_cast<uint8_t>(i));
    const Bytes out = transmitted(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 0x55, 9, data)));
    ASSERT_EQ(out.size(), 14u + 20 + 8 + 56);
    const uint8_t* p = out.data();
    EXPECT_EQ(Bytes(p, p + 6), Bytes(kPeerMac.addr_bytes, kPeerMac.addr_bytes + 6));
    EXPECT_EQ(Bytes(p + 6, p + 12), Bytes(kOurMac.addr_bytes, kOurMac.addr_bytes + 6));
    const uint8_t* ip = p + 14;
    EXPECT_EQ(inet_checksum(ip, 20), 0) << "IP checksum must verify";
    EXPECT_EQ(ip[8], 64);  // TTL
    EXPECT_EQ(get32(ip + 12), rte_be_to_cpu_32(kOurIp));
    EXPECT_EQ(get32(ip + 16), rte_be_to_cpu_32(kPeerIp));
    const uint8_t* ic = ip + 20;
    EXPECT_EQ(ic[0], RTE_IP_ICMP_ECHO_REPLY);
    EXPECT_EQ(ic[1], 0);
    EXPECT_EQ(inet_checksum(ic, 8 + 56), 0) << "ICMP checksum must verify";
    EXPECT_EQ(get16(ic + 4), 0x55);
    EXPECT_EQ(get16(ic + 6), 9);
    EXPECT_EQ(Bytes(ic + 8, ic + 64), data);
}

TEST_F(Classify, IcmpEchoReplyIsTrimmedOfPaddingAndKeepsOddLengths) {
    Bytes frame = icmp_frame(icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 1, 1, {0xab}));  // 43 bytes
    frame.resize(60, 0);
    const Bytes out = transmitted(frame);
    ASSERT_EQ(out.size(), 43u);
    EXPECT_EQ(inet_checksum(out.data() + 34, 9), 0);
    EXPECT_EQ(out[42], 0xab);
}

TEST_F(Classify, IcmpOtherThanEchoRequestIsTheKernels) {
    EXPECT_EQ(kernel_reason(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REPLY, 0, 1, 1, {}))),
              DropReason::kIcmpNotEchoRequest);
    EXPECT_EQ(kernel_reason(icmp_frame(icmp(3, 3, 0, 0, Bytes(28, 0)))),  // port unreachable
              DropReason::kIcmpNotEchoRequest);
    EXPECT_EQ(kernel_reason(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REQUEST, 1, 1, 1, {}))),
              DropReason::kIcmpNotEchoRequest);
    // Corrupt is garbage, whoever it was for.
    EXPECT_EQ(drop_reason(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REPLY, 0, 1, 1, {}, true))),
              DropReason::kBadIcmpChecksum);
}

TEST_F(Classify, IcmpWithBadChecksumIsDropped) {
    EXPECT_EQ(drop_reason(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 1, 1, {1, 2, 3}, true))),
              DropReason::kBadIcmpChecksum);
}

TEST_F(Classify, TruncatedIcmpIsShort) {
    EXPECT_EQ(drop_reason(icmp_frame({RTE_IP_ICMP_ECHO_REQUEST, 0, 0xf7, 0xff})),
              DropReason::kShortFrame);
}

// ---------------------------------------------------------------- Ethernet

TEST_F(Classify, NonIpv4EthertypesAreDropped) {
    for (uint16_t type : std::initializer_list<uint16_t>{RTE_ETHER_TYPE_IPV6, RTE_ETHER_TYPE_LLDP,
                                                         RTE_ETHER_TYPE_RARP, 0x0842 /* WoL */,
                                                         0x05dc /* 802.3 length */}) {
        EXPECT_EQ(drop_reason(eth({}, type, Bytes(46, 0))), DropReason::kNotIpv4) << type;
    }
}

TEST_F(Classify, StackedVlanTagsAreDropped) {
    Bytes inner = udp_request_frame({.eth = {.vlan_tci = 5}});
    // Outer 802.1ad tag in front of the 802.1Q one.
    Bytes qinq = eth({}, RTE_ETHER_TYPE_QINQ, Bytes(inner.begin() + 12, inner.end()));
    EXPECT_EQ(drop_reason(qinq), DropReason::kStackedVlan);
    Bytes qq = eth({.vlan_tci = 6}, RTE_ETHER_TYPE_VLAN, Bytes(inner.begin() + 14, inner.end()));
    EXPECT_EQ(drop_reason(qq), DropReason::kStackedVlan);
}

TEST_F(Classify, ShortFramesAreDropped) {
    EXPECT_EQ(drop_reason(Bytes(13, 0xff)), DropReason::kShortFrame);
    Bytes vlan_cut = eth({}, RTE_ETHER_TYPE_VLAN, {0x00});
    EXPECT_EQ(drop_reason(vlan_cut), DropReason::kShortFrame);
    Bytes ip_cut = udp_request_frame({});
    ip_cut.resize(14 + 19);
    EXPECT_EQ(drop_reason(ip_cut), DropReason::kShortFrame);
}

TEST_F(Classify, UnicastToAnotherMacIsDropped) {
    EXPECT_EQ(drop_reason(udp_request_frame({.eth = {.dst = kOtherMac}})), DropReason::kNotOurMac);
}

TEST_F(Classify, MultiSegmentMbufIsDropped) {
    const Bytes frame = udp_request_frame({});
    rte_mbuf* head = mbuf(Bytes(frame.begin(), frame.begin() + 30));
    rte_mbuf* tail = mbuf(Bytes(frame.begin() + 30, frame.end()));
    ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
    UdpRequest req;
    DropReason why;
    EXPECT_EQ(classify(head, port_, filter_, req, why), RxAction::kDrop);
    EXPECT_EQ(why, DropReason::kMultiSegment);
    rte_pktmbuf_free(head);
}

// ---------------------------------------------------------------- IPv4

TEST_F(Classify, BadIpVersionIsDropped) {
    Ipv4Spec ip;
    ip.version = 6;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadIpVersion);
    ip.version = 5;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadIpVersion);
}

TEST_F(Classify, BadIhlIsDropped) {
    Ipv4Spec ip;
    ip.ihl = 4;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadIhl);
    ip.ihl = 0;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadIhl);
    // IHL 15 says 60 bytes of header; the frame holds 20 + 8 + 8 + 7.
    RequestSpec spec;
    spec.ip.ihl = 15;
    spec.text = "get a\r\n";
    EXPECT_EQ(drop_reason(udp_request_frame(spec)), DropReason::kBadIhl);
}

TEST_F(Classify, BadIpChecksumIsDropped) {
    Ipv4Spec ip;
    ip.corrupt_checksum = true;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadIpChecksum);
    // One flipped bit anywhere in the header.
    Bytes frame = udp_request_frame({});
    frame[14 + 8] ^= 0x01;  // TTL
    EXPECT_EQ(drop_reason(frame), DropReason::kBadIpChecksum);
}

TEST_F(Classify, TotalLengthShorterThanHeaderOrLongerThanFrameIsDropped) {
    Ipv4Spec ip;
    ip.total_length = 19;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadTotalLength);
    const size_t ip_len = udp_request_frame({}).size() - 14;
    ip.total_length = static_cast<uint16_t>(ip_len + 1);
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadTotalLength);
    ip.total_length = 0xffff;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadTotalLength);
}

TEST_F(Classify, FragmentsFromAllowedClientsAreTheKernels) {
    Ipv4Spec ip;
    ip.frag = RTE_IPV4_HDR_MF_FLAG;  // first fragment
    EXPECT_EQ(kernel_reason(request_with_ip(ip)), DropReason::kFragment);
    ip.frag = 185;  // last fragment, offset 1480
    EXPECT_EQ(kernel_reason(request_with_ip(ip)), DropReason::kFragment);
    ip.frag = RTE_IPV4_HDR_DF_FLAG | 1;
    EXPECT_EQ(kernel_reason(request_with_ip(ip)), DropReason::kFragment);
    ip.frag = RTE_IPV4_HDR_MF_FLAG | 185;  // a middle one
    ip.proto = IPPROTO_TCP;
    EXPECT_EQ(kernel_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(40, 0)))),
              DropReason::kFragment);
}

TEST_F(Classify, FragmentsFromStrangersOrForOthersAreDropped) {
    ASSERT_TRUE(filter_.add(RTE_BE32(RTE_IPV4(198, 18, 0, 0)), 15));
    Ipv4Spec ip;
    ip.src = RTE_BE32(RTE_IPV4(203, 0, 113, 9));
    for (uint16_t frag : {uint16_t{RTE_IPV4_HDR_MF_FLAG}, uint16_t{185}}) {
        ip.frag = frag;
        EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kClientNotAllowed) << frag;
    }
    ip = {};
    ip.frag = RTE_IPV4_HDR_MF_FLAG;
    ip.dst = kOtherIp;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kNotOurIp);
    ip.dst = kOurIp;
    ip.src = RTE_BE32(RTE_IPV4(127, 0, 0, 1));
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadSourceIp);
}

TEST_F(Classify, DatagramForAnotherIpIsDropped) {
    Ipv4Spec ip;
    ip.dst = kOtherIp;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kNotOurIp);
    ip.dst = RTE_BE32(0xffffffff);
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kNotOurIp);
}

TEST_F(Classify, SourcesThatCannotBeAnsweredAreDropped) {
    for (uint32_t src : {RTE_IPV4(0, 0, 0, 0), RTE_IPV4(127, 0, 0, 1), RTE_IPV4(224, 0, 0, 251),
                         RTE_IPV4(240, 0, 0, 1), RTE_IPV4(255, 255, 255, 255)}) {
        Ipv4Spec ip;
        ip.src = rte_cpu_to_be_32(src);
        EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadSourceIp) << std::hex << src;
    }
    Ipv4Spec ip;
    ip.src = kOurIp;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kBadSourceIp);
}

TEST_F(Classify, ProtocolsOtherThanUdpAndIcmpAreTheKernels) {
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_IGMP, IPPROTO_GRE, IPPROTO_SCTP}) {
        Ipv4Spec ip;
        ip.proto = proto;
        EXPECT_EQ(kernel_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(20, 0)))),
                  DropReason::kNotUdp)
            << int{proto};
    }
}

// Only what passed every IPv4 check and is addressed to us goes there.
TEST_F(Classify, TcpThatIsGarbageOrNotOursIsDropped) {
    const auto tcp = [](Ipv4Spec ip) {
        ip.proto = IPPROTO_TCP;
        return ip;
    };
    Ipv4Spec bad_sum = tcp({});
    bad_sum.corrupt_checksum = true;
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(bad_sum, Bytes(20, 0)))),
              DropReason::kBadIpChecksum);
    Ipv4Spec other = tcp({});
    other.dst = kOtherIp;
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(other, Bytes(20, 0)))),
              DropReason::kNotOurIp);
    EXPECT_EQ(
        drop_reason(eth({.dst = kOtherMac}, RTE_ETHER_TYPE_IPV4, ipv4(tcp({}), Bytes(20, 0)))),
        DropReason::kNotOurMac);
    // A fragment is not garbage: the kernel reassembles it.
    Ipv4Spec fragment = tcp({});
    fragment.frag = 0x2000;  // MF
    EXPECT_EQ(kernel_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(fragment, Bytes(20, 0)))),
              DropReason::kFragment);
    Ipv4Spec spoofed = tcp({});
    spoofed.src = kOurIp;
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(spoofed, Bytes(20, 0)))),
              DropReason::kBadSourceIp);
}

// With a VLAN configured the kernel interface is the VLAN's untagged side.
TEST_F(Classify, FramesForTheKernelLoseThePortsVlanTag) {
    port_.vlan_id = 120;
    Ipv4Spec ip;
    ip.proto = IPPROTO_TCP;
    const Bytes untagged = eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(20, 0)));
    const Bytes tagged = eth({.vlan_tci = 120}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(20, 0)));
    for (const bool nic_stripped : {false, true}) {
        rte_mbuf* m = mbuf(nic_stripped ? untagged : tagged);
        if (nic_stripped) {
            m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
            m->vlan_tci = 120;
        }
        UdpRequest req;
        DropReason why = DropReason::kCount;
        EXPECT_EQ(classify(m, port_, filter_, req, why), RxAction::kToKernel);
        EXPECT_EQ(to_bytes(m), untagged) << "stripped by the NIC: " << nic_stripped;
        rte_pktmbuf_free(m);
    }
}

// Without one, the kernel gets the tag the frame came with, in the bytes.
TEST_F(Classify, FramesForTheKernelKeepAnyOtherTag) {
    Ipv4Spec ip;
    ip.proto = IPPROTO_TCP;
    const Bytes untagged = eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(20, 0)));
    const Bytes tagged = eth({.vlan_tci = 7}, RTE_ETHER_TYPE_IPV4, ipv4(ip, Bytes(20, 0)));
    rte_mbuf* m = mbuf(untagged);
    m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
    m->vlan_tci = 7;
    UdpRequest req;
    DropReason why = DropReason::kCount;
    EXPECT_EQ(classify(m, port_, filter_, req, why), RxAction::kToKernel);
    EXPECT_EQ(to_bytes(m), tagged);
    rte_pktmbuf_free(m);
    EXPECT_EQ(kernel_reason(tagged), DropReason::kNotUdp);
}

// ---------------------------------------------------------------- UDP

TEST_F(Classify, UdpToAnotherPortIsTheKernels) {
    UdpSpec u;
    u.dport = 53;
    EXPECT_EQ(kernel_reason(request_with_udp(u)), DropReason::kNotOurPort);
    // Whatever the client filter says: the filter guards the cache's replies.
    filter_.add(RTE_BE32(RTE_IPV4(10, 0, 0, 0)), 8);
    EXPECT_EQ(kernel_reason(request_with_udp(u)), DropReason::kNotOurPort);
    u.length = 7;
    EXPECT_EQ(drop_reason(request_with_udp(u)), DropReason::kBadUdpLength);
}

TEST_F(Classify, BadUdpLengthIsDropped) {
    UdpSpec u;
    u.length = 7;
    EXPECT_EQ(drop_reason(request_with_udp(u)), DropReason::kBadUdpLength);
    u.length = 8 + 17 + 1;  // one past the IP payload
    EXPECT_EQ(drop_reason(request_with_udp(u)), DropReason::kBadUdpLength);
    // An IP payload too short for a UDP header.
    Ipv4Spec ip;
    EXPECT_EQ(drop_reason(eth({}, RTE_ETHER_TYPE_IPV4, ipv4(ip, {0x9c, 0x40, 0x2b, 0xcb}))),
              DropReason::kBadUdpLength);
}

TEST_F(Classify, ClientFilterAllowsOnlyListedPrefixes) {
    ASSERT_TRUE(filter_.add(RTE_BE32(RTE_IPV4(10, 1, 2, 3)), 8));  // host bits cleared
    ASSERT_TRUE(filter_.add(kPeerIp, 32));
    EXPECT_EQ(accepted_payload(udp_request_frame({})), kRequest);
    Ipv4Spec ip;
    ip.src = RTE_BE32(RTE_IPV4(10, 200, 0, 9));
    EXPECT_EQ(accepted_payload(request_with_ip(ip)), kRequest);
    ip.src = kOtherIp;
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kClientNotAllowed);
    ip.src = RTE_BE32(RTE_IPV4(11, 0, 0, 1));
    EXPECT_EQ(drop_reason(request_with_ip(ip)), DropReason::kClientNotAllowed);
}

TEST_F(Classify, ClientFilterDoesNotGuardIcmpEcho) {
    ASSERT_TRUE(filter_.add(RTE_BE32(RTE_IPV4(10, 0, 0, 0)), 8));
    transmitted(icmp_frame(icmp(RTE_IP_ICMP_ECHO_REQUEST, 0, 1, 1, {})));
}

// classify() takes the common UDP request on an inline fast path
// (detail::fast_udp_request) and everything else through classify_full():
// for every one-byte change of a request's headers, every truncation, each
// device checksum verdict, with and without service addresses, a client
// filter and a VLAN, both decide the same, report the same and leave the
// same bytes.
TEST_F(Classify, FastPathDecidesAsTheFullPath) {
    const Bytes good = udp_request_frame({});
    const uint64_t verdicts[] = {
        0,
        RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
        RTE_MBUF_F_RX_IP_CKSUM_BAD,
        RTE_MBUF_F_RX_L4_CKSUM_BAD,
        RTE_MBUF_F_RX_L4_CKSUM_NONE,
        RTE_MBUF_F_RX_VLAN_STRIPPED,
    };
    size_t fast_taken = 0;
    const auto same = [&](const Bytes& frame, uint64_t flags) {
        rte_mbuf* a = mbuf(frame);
        rte_mbuf* b = mbuf(frame);
        for (rte_mbuf* m : {a, b}) {
            m->ol_flags = flags;
            m->vlan_tci = 5;
        }
        UdpRequest ra, rb, probe;
        DropReason wa = DropReason::kCount, wb = DropReason::kCount;
        {
            rte_mbuf* c = mbuf(frame);
            c->ol_flags = flags;
            fast_taken += detail::fast_udp_request(c, port_, filter_, probe) ? 1 : 0;
            rte_pktmbuf_free(c);
        }
        const RxAction xa = classify(a, port_, filter_, ra, wa);
        const RxAction xb = classify_full(b, port_, filter_, rb, wb);
        EXPECT_EQ(xa, xb);
        if (xa == xb && xa == RxAction::kUdpRequest) {
            const auto at = [](const rte_mbuf* m, const UdpRequest& r) {
                return reinterpret_cast<const uint8_t*>(r.payload.data()) -
                       rte_pktmbuf_mtod(m, const uint8_t*);
            };
            EXPECT_EQ(at(a, ra), at(b, rb));
            EXPECT_EQ(ra.payload.size(), rb.payload.size());
            EXPECT_TRUE(rte_is_same_ether_addr(&ra.src_mac, &rb.src_mac));
            EXPECT_TRUE(rte_is_same_ether_addr(&ra.dst_mac, &rb.dst_mac));
            EXPECT_EQ(ra.src_ip, rb.src_ip);
            EXPECT_EQ(ra.dst_ip, rb.dst_ip);
            EXPECT_EQ(ra.src_port, rb.src_port);
            EXPECT_EQ(ra.dst_port, rb.dst_port);
            EXPECT_EQ(ra.has_vlan, rb.has_vlan);
            EXPECT_EQ(ra.vlan_tci, rb.vlan_tci);
        } else if (xa == xb && xa != RxAction::kTransmit) {
            EXPECT_EQ(wa, wb);
        }
        EXPECT_EQ(to_bytes(a), to_bytes(b));
        rte_pktmbuf_free(a);
        rte_pktmbuf_free(b);
        return !::testing::Test::HasFailure();
    };
    const auto sweep = [&](const char* what) {
        SCOPED_TRACE(what);
        for (const uint64_t flags : verdicts) {
            ASSERT_TRUE(same(good, flags));
            // Every header byte (Ethernet, IPv4, UDP, memcached frame),
            // each bit and all bits.
            for (size_t off = 0; off < 14 + 20 + 8 + 8; ++off) {
                for (const uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
                    Bytes f = good;
                    f[off] ^= mask;
                    ASSERT_TRUE(same(f, flags)) << "byte " << off << " ^ " << int{mask};
                }
            }
            for (size_t len = 0; len < good.size(); ++len)
                ASSERT_TRUE(same(Bytes(good.begin(), good.begin() + len), flags)) << len;
            // Every IP total length and UDP length around their bounds, and
            // every first octet of the source (the fast path checks these
            // as ranges and a table).
            const auto put16 = [](Bytes& f, size_t off, uint32_t v) {
                f[off] = static_cast<uint8_t>(v >> 8);
                f[off + 1] = static_cast<uint8_t>(v);
            };
            for (uint32_t v = 0; v <= 0xffff; v += v < 64 || v + 64 > good.size() ? 1 : 509) {
                Bytes f = good;
                put16(f, 14 + 2, v);
                ASSERT_TRUE(same(f, flags)) << "total " << v;
                f = good;
                put16(f, 14 + 20 + 4, v);
                ASSERT_TRUE(same(f, flags)) << "udp length " << v;
                if (v > good.size() + 64) v = std::max<uint32_t>(v, 0xffff - 600);
            }
            for (int c = 0; c < 256; ++c) {
                Bytes f = good;
                f[14 + 12] = static_cast<uint8_t>(c);
                ASSERT_TRUE(same(f, flags)) << "first octet " << c;
            }
        }
    };
    sweep("plain port");
    EXPECT_GT(fast_taken, 0u);
    port_.service[0] = kOtherIp;
    port_.n_service = 1;
    port_.n_udp_ports = 4;
    ASSERT_TRUE(filter_.add(kPeerIp, 24));
    fast_taken = 0;
    sweep("service address, port range, client filter");
    EXPECT_GT(fast_taken, 0u);
    port_.vlan_id = 5;
    sweep("a VLAN configured");
}

TEST(ClientFilter, EmptyAllowsAllAndAddValidates) {
    ClientFilter f;
    EXPECT_TRUE(f.allows(kOtherIp));
    EXPECT_FALSE(f.add(kPeerIp, 33));
    ASSERT_TRUE(f.add(kPeerIp, 0));  // /0: everyone, explicitly
    EXPECT_TRUE(f.allows(RTE_BE32(RTE_IPV4(1, 2, 3, 4))));
    ClientFilter full;
    for (size_t i = 0; i < kMaxClientPrefixes; i++)
        ASSERT_TRUE(full.add(kPeerIp, 32));
    EXPECT_FALSE(full.add(kPeerIp, 32));
}

TEST(DropReasonName, EveryReasonHasADistinctName) {
    std::set<std::string> names;
    for (size_t i = 0; i < kDropReasonCount; i++) {
        const char* n = drop_reason_name(static_cast<DropReason>(i));
        ASSERT_NE(n, nullptr);
        EXPECT_STRNE(n, "unknown");
        names.insert(n);
    }
    EXPECT_EQ(names.size(), kDropReasonCount);
    EXPECT_STREQ(drop_reason_name(DropReason::kBadIpChecksum), "bad_ip_checksum");
    EXPECT_STREQ(drop_reason_name(DropReason::kCount), "unknown");
}

}  // namespace
}  // namespace fulmar::net::test
