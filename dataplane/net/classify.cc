// RX classification; see classify.h for the headers parsed and the checks.
#include "net/classify.h"

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "common/assert.h"
#include "net/checksum.h"

namespace fulmar::net {
namespace {

constexpr uint8_t kReplyTtl = 64;

// One frame being classified: where its layers start, and its VLAN tag.
struct Frame {
    rte_mbuf* m;
    uint8_t* base;
    uint32_t len;  // bytes in the (single) segment
    uint32_t l2_len;
    uint16_t vlan_tci;
    bool has_vlan;
    bool vlan_stripped;  // tag was in ol_flags/vlan_tci, not in the bytes
};

RxAction drop(DropReason r, DropReason& why) {
    why = r;
    return RxAction::kDrop;
}

// A reply built in place goes back out with the tag the request came with.
// When the NIC stripped it, put it back in the bytes: TX VLAN insertion
// offload may not be enabled (or exist) on the port.
RxAction transmit(const Frame& f, DropReason& why) {
    if (f.vlan_stripped) {
        rte_mbuf* m = f.m;
        if (rte_vlan_insert(&m) != 0) return drop(DropReason::kNoHeadroom, why);
    }
    return RxAction::kTransmit;
}

// For the kernel interface: see classify.h for what the tag becomes.
RxAction to_kernel(const Frame& f, const PortAddr& port, DropReason reason, DropReason& why) {
    why = reason;
    rte_mbuf* m = f.m;
    if (port.vlan_id != 0) {
        // A tag in the bytes comes out; one the NIC stripped is already out.
        if (!f.vlan_stripped) rte_vlan_strip(m);
    } else if (f.vlan_stripped) {
        if (rte_vlan_insert(&m) != 0) return drop(DropReason::kNoHeadroom, why);
    }
    return RxAction::kToKernel;
}

// Broadcast or ours: ARP the kernel behind our address may be waiting for.
bool for_our_host(const rte_ether_hdr* eth, const PortAddr& port) {
    return rte_is_broadcast_ether_addr(&eth->dst_addr) ||
           rte_is_same_ether_addr(&eth->dst_addr, &port.mac);
}

bool is_unicast_source(rte_be32_t src, const PortAddr& port) {
    const uint32_t a = rte_be_to_cpu_32(src);
    const uint8_t first = static_cast<uint8_t>(a >> 24);
    // 0/8 "this network", 127/8 loopback, 224/4 multicast and 240/4 reserved
    // (incl. 255.255.255.255): none is a host we should send to. One of our
    // own addresses as source means a loop or a spoof.
    return first != 0 && first != 127 && first < 224 && !port.owns(src);
}

// ARP and ICMP are rare next to the cache's UDP: out of line (here and
// handle_icmp) they leave classify()'s UDP path its registers. Measured with
// tools/bench/packet_cost.sh: inlined, they cost every GET ~15 instructions
// of spills once service addresses were added; out of line, a GET costs
// what it did before them (1,914 vs 1,917).
[[gnu::noinline]] RxAction handle_arp(Frame& f, const PortAddr& port, DropReason& why) {
    if (f.len < f.l2_len + sizeof(rte_arp_hdr)) return drop(DropReason::kShortFrame, why);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.base);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(f.base + f.l2_len);
    if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != RTE_ETHER_ADDR_LEN ||
        arp->arp_plen != sizeof(rte_be32_t)) {
        return drop(DropReason::kArpMalformed, why);
    }
    rte_arp_ipv4& d = arp->arp_data;
    // Our own ARP looped back (a bridge, a ring pair; our announcement or
    // the kernel side's requests, which carry our MAC and address) must not
    // be answered nor handed to the kernel: that would be talking to
    // ourselves. It is recognised by its sender address being ours, not by
    // the MAC alone: net_tap gives the kernel side of the TAP the port's own
    // MAC, and that peer must get its ARP answered.
    // Service addresses count: our announcements of them loop back too.
    const bool from_us = port.owns(d.arp_sip) && rte_is_same_ether_addr(&d.arp_sha, &port.mac);
    if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST)) {
        // A reply is what the kernel's neighbour table waits for.
        if (from_us || !for_our_host(eth, port)) return drop(DropReason::kArpNotRequest, why);
        return to_kernel(f, port, DropReason::kArpNotRequest, why);
    }
    if (from_us) return drop(DropReason::kArpNotForUs, why);
    if (!port.owns(d.arp_tip)) {
        // Another address: the kernel may hold it (a second address of the
        // host), else it ignores the request.
        if (!for_our_host(eth, port)) return drop(DropReason::kArpNotForUs, why);
        return to_kernel(f, port, DropReason::kArpNotForUs, why);
    }

    // RFC 826: swap sender and target, fill in our hardware address, send to
    // the (new) target hardware address.
    // The sender address is the one asked for: the port's or a service
    // address, each with the port's MAC.
    const rte_be32_t requester_ip = d.arp_sip;
    const rte_be32_t asked_ip = d.arp_tip;
    d.arp_tha = d.arp_sha;
    d.arp_tip = requester_ip;
    d.arp_sha = port.mac;
    d.arp_sip = asked_ip;
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
    eth->dst_addr = d.arp_tha;
    eth->src_addr = port.mac;
    return transmit(f, why);
}

[[gnu::noinline]] RxAction handle_icmp(Frame& f, const PortAddr& port, rte_ipv4_hdr* ip,
                                       uint32_t ip_hlen, uint32_t ip_total, DropReason& why) {
    const uint32_t icmp_len = ip_total - ip_hlen;
    if (icmp_len < sizeof(rte_icmp_hdr)) return drop(DropReason::kShortFrame, why);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ip_hlen);
    // Summed first: a corrupt message is garbage, whoever it was for.
    if (!sum_is_valid(raw_sum(icmp, icmp_len))) return drop(DropReason::kBadIcmpChecksum, why);
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
        // Echo replies to the kernel's pings, unreachables and
        // fragmentation-needed for its TCP: the kernel's.
        return to_kernel(f, port, DropReason::kIcmpNotEchoRequest, why);
    }

    // Type 8 -> 0 changes one 16-bit word by 0x0800 (type is its high byte):
    // RFC 1624 incremental update instead of summing the whole payload again.
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = update_checksum(icmp->icmp_cksum, RTE_BE16(RTE_IP_ICMP_ECHO_REQUEST << 8),
                                       RTE_BE16(RTE_IP_ICMP_ECHO_REPLY << 8));

    // Options (if any) are echoed back as they came; RFC 1122 allows it.
    // The reply leaves from the address pinged (the port's or a service
    // address): handle_ipv4 checked it is ours.
    const rte_be32_t pinged = ip->dst_addr;
    ip->dst_addr = ip->src_addr;
    ip->src_addr = pinged;
    ip->time_to_live = kReplyTtl;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    auto* eth = reinterpret_cast<rte_ether_hdr*>(f.base);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = port.mac;

    // Drop Ethernet padding (and any trailer) past the IP datagram.
    const uint32_t frame_len = f.l2_len + ip_total;
    if (f.len > frame_len) rte_pktmbuf_trim(f.m, static_cast<uint16_t>(f.len - frame_len));
    return transmit(f, why);
}

RxAction handle_udp(Frame& f, const PortAddr& port, const ClientFilter& filter,
                    const rte_ipv4_hdr* ip, uint32_t ip_hlen, uint32_t ip_total, UdpRequest& out,
                    DropReason& why) {
    const uint32_t l4_len = ip_total - ip_hlen;
    if (l4_len < sizeof(rte_udp_hdr)) return drop(DropReason::kBadUdpLength, why);
    const auto* udp =
        reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ip_hlen);
    // Linux also accepts a UDP length shorter than the IP payload (and trims);
    // a longer one is a lie (checked before the port: the kernel gets no
    // garbage either).
    const uint32_t udp_len = be16(udp->dgram_len);
    if (udp_len < sizeof(rte_udp_hdr) || udp_len > l4_len) {
        return drop(DropReason::kBadUdpLength, why);
    }
    const uint16_t dst_port = be16(udp->dst_port);
    // Unsigned wrap makes one compare cover both ends of the range.
    if (static_cast<uint16_t>(dst_port - port.udp_port) >= port.n_udp_ports) {
        return to_kernel(f, port, DropReason::kNotOurPort, why);
    }
    // Before the checksum: a spoofed flood from outside the list should cost
    // as little as possible.
    if (!filter.allows(ip->src_addr)) return drop(DropReason::kClientNotAllowed, why);
    const uint64_t l4_ck = f.m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return drop(DropReason::kBadUdpChecksum, why);
    // GOOD: the device verified it; NONE: the data is known intact (virtio)
    // though the field is not filled in. Either way, nothing to sum.
    const bool l4_verified =
        l4_ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4_ck == RTE_MBUF_F_RX_L4_CKSUM_NONE;
    if (udp->dgram_cksum != 0 && !l4_verified) {
        const uint16_t pseudo =
            fold(pseudo_header_sum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, udp_len));
        // A checksum equal to the pseudo-header sum is CHECKSUM_PARTIAL left
        // for a NIC that a veth/af_packet peer does not have: the kernel
        // trusts it locally, so do we (see design.md section 8).
        if (udp->dgram_cksum != pseudo && !sum_is_valid(raw_sum(udp, udp_len) + pseudo)) {
            return drop(DropReason::kBadUdpChecksum, why);
        }
    }

    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(f.base);
    out.payload =
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(udp) + sizeof(rte_udp_hdr),
                                   udp_len - sizeof(rte_udp_hdr));
    out.src_mac = eth->src_addr;
    out.dst_mac = eth->dst_addr;
    out.src_ip = ip->src_addr;
    out.dst_ip = ip->dst_addr;
    out.src_port = be16(udp->src_port);
    out.dst_port = dst_port;
    out.vlan_tci = f.vlan_tci;
    out.has_vlan = f.has_vlan;
    return RxAction::kUdpRequest;
}

RxAction handle_ipv4(Frame& f, const PortAddr& port, const ClientFilter& filter, UdpRequest& out,
                     DropReason& why) {
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(f.base);
    // A promiscuous port (tap, af_packet) sees frames for other hosts; IP to
    // a broadcast/multicast MAC is left to the IP checks.
    if (rte_is_unicast_ether_addr(&eth->dst_addr) &&
        !rte_is_same_ether_addr(&eth->dst_addr, &port.mac)) {
        return drop(DropReason::kNotOurMac, why);
    }
    const uint32_t avail = f.len - f.l2_len;
    if (avail < sizeof(rte_ipv4_hdr)) return drop(DropReason::kShortFrame, why);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f.base + f.l2_len);
    if ((ip->version_ihl >> 4) != IPVERSION) return drop(DropReason::kBadIpVersion, why);
    const uint32_t hlen = rte_ipv4_hdr_len(ip);
    if (hlen < sizeof(rte_ipv4_hdr) || hlen > avail) return drop(DropReason::kBadIhl, why);
    // A device that verified the checksum says so in the mbuf; otherwise sum.
    const uint64_t ip_ck = f.m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (ip_ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
        (ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !sum_is_valid(raw_sum(ip, hlen))))
        return drop(DropReason::kBadIpChecksum, why);
    // Frames under 60 bytes are padded by the sender: trust total_length, not
    // the frame length, as long as the frame holds all of it.
    const uint32_t total = be16(ip->total_length);
    if (total < hlen || total > avail) return drop(DropReason::kBadTotalLength, why);
    if (!port.owns(ip->dst_addr)) return drop(DropReason::kNotOurIp, why);
    if (!is_unicast_source(ip->src_addr, port)) return drop(DropReason::kBadSourceIp, why);
    if ((ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
        // A fragment: the kernel reassembles (classify.h says why only
        // allowed clients' fragments go there, whatever the first one shows).
        if (!filter.allows(ip->src_addr)) return drop(DropReason::kClientNotAllowed, why);
        return to_kernel(f, port, DropReason::kFragment, why);
    }

    switch (ip->next_proto_id) {
        case IPPROTO_UDP:
            return handle_udp(f, port, filter, ip, hlen, total, out, why);
        case IPPROTO_ICMP:
            return handle_icmp(f, port, ip, hlen, total, why);
        default:
            // TCP (the control plane's sockets) and the rest.
            return to_kernel(f, port, DropReason::kNotUdp, why);
    }
}

}  // namespace

const char* drop_reason_name(DropReason r) {
    // A switch, not a table: -Wswitch (an error here) flags a reason added
    // without a name.
    switch (r) {
        case DropReason::kMultiSegment:
            return "multi_segment";
        case DropReason::kShortFrame:
            return "short_frame";
        case DropReason::kNotIpv4:
            return "not_ipv4";
        case DropReason::kStackedVlan:
            return "stacked_vlan";
        case DropReason::kNotOurMac:
            return "not_our_mac";
        case DropReason::kArpMalformed:
            return "arp_malformed";
        case DropReason::kArpNotRequest:
            return "arp_not_request";
        case DropReason::kArpNotForUs:
            return "arp_not_for_us";
        case DropReason::kBadIpVersion:
            return "bad_ip_version";
        case DropReason::kBadIhl:
            return "bad_ihl";
        case DropReason::kBadIpChecksum:
            return "bad_ip_checksum";
        case DropReason::kBadTotalLength:
            return "bad_total_length";
        case DropReason::kFragment:
            return "fragment";
        case DropReason::kNotOurIp:
            return "not_our_ip";
        case DropReason::kBadSourceIp:
            return "bad_source_ip";
        case DropReason::kIcmpNotEchoRequest:
            return "icmp_not_echo_request";
        case DropReason::kBadIcmpChecksum:
            return "bad_icmp_checksum";
        case DropReason::kNotUdp:
            return "not_udp";
        case DropReason::kNotOurPort:
            return "not_our_port";
        case DropReason::kBadUdpLength:
            return "bad_udp_length";
        case DropReason::kBadUdpChecksum:
            return "bad_udp_checksum";
        case DropReason::kClientNotAllowed:
            return "client_not_allowed";
        case DropReason::kNoHeadroom:
            return "no_headroom";
        case DropReason::kWrongVlan:
            return "wrong_vlan";
        case DropReason::kCount:
            break;
    }
    return "unknown";
}

RxAction classify_full(rte_mbuf* m, const PortAddr& port, const ClientFilter& filter,
                       UdpRequest& out, DropReason& why) {
    if (m->nb_segs != 1) return drop(DropReason::kMultiSegment, why);
    Frame f{};
    f.m = m;
    f.base = rte_pktmbuf_mtod(m, uint8_t*);
    f.len = rte_pktmbuf_data_len(m);
    if (f.len < sizeof(rte_ether_hdr)) return drop(DropReason::kShortFrame, why);
    f.l2_len = sizeof(rte_ether_hdr);

    if ((m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0) {
        f.has_vlan = true;
        f.vlan_stripped = true;
        f.vlan_tci = m->vlan_tci;
    }
    rte_be16_t type = reinterpret_cast<const rte_ether_hdr*>(f.base)->ether_type;
    if (type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
        if (f.has_vlan) return drop(DropReason::kStackedVlan, why);
        if (f.len < f.l2_len + sizeof(rte_vlan_hdr)) return drop(DropReason::kShortFrame, why);
        const auto* vh = reinterpret_cast<const rte_vlan_hdr*>(f.base + f.l2_len);
        f.has_vlan = true;
        f.vlan_tci = be16(vh->vlan_tci);
        type = vh->eth_proto;
        f.l2_len += sizeof(rte_vlan_hdr);
    }
    if (port.vlan_id != 0 && (!f.has_vlan || (f.vlan_tci & 0x0fff) != port.vlan_id))
        return drop(DropReason::kWrongVlan, why);

    switch (type) {
        case RTE_BE16(RTE_ETHER_TYPE_IPV4):
            return handle_ipv4(f, port, filter, out, why);
        case RTE_BE16(RTE_ETHER_TYPE_ARP):
            return handle_arp(f, port, why);
        case RTE_BE16(RTE_ETHER_TYPE_VLAN):
        case RTE_BE16(RTE_ETHER_TYPE_QINQ):
            return drop(DropReason::kStackedVlan, why);
        default:
            return drop(DropReason::kNotIpv4, why);
    }
}

}  // namespace fulmar::net
