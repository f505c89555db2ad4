// Request frames and ARP; see frame.h for the layout.
#include "frame.h"

#include <rte_arp.h>

#include <cstring>

#include "net/checksum.h"

namespace fulmar::pktgen {

RequestFrame::RequestFrame(const Flow& f) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(header_.data());
    eth->dst_addr = f.dst_mac;
    eth->src_addr = f.src_mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(header_.data() + sizeof(rte_ether_hdr));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    // DF set, so RFC 6864 lets the id be 0: nobody reassembles these.
    ip->packet_id = 0;
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = f.src_ip;
    ip->dst_addr = f.dst_ip;
    auto* udp = reinterpret_cast<rte_udp_hdr*>(header_.data() + sizeof(rte_ether_hdr) +
                                               sizeof(rte_ipv4_hdr));
    udp->src_port = rte_cpu_to_be_16(f.src_port);
    udp->dst_port = rte_cpu_to_be_16(f.dst_port);
}

void RequestFrame::finish(rte_mbuf* m, size_t payload_len) const {
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    std::memcpy(p, header_.data(), kHeaderLen);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + sizeof(rte_ether_hdr));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
    ip->total_length = rte_cpu_to_be_16(
        static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload_len));
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_len));
    ip->hdr_checksum = 0;
    udp->dgram_cksum = 0;
    // The dataplane's sums (8 bytes a step), not DPDK's 2-byte loop: the
    // generator's own cost bounds what it can measure.
    ip->hdr_checksum = net::ipv4_header_checksum(ip);
    udp->dgram_cksum =
        net::udp_checksum(ip, udp, static_cast<uint32_t>(sizeof(rte_udp_hdr) + payload_len));
    const auto len = static_cast<uint16_t>(kHeaderLen + payload_len);
    m->data_len = len;
    m->pkt_len = len;
    m->l2_len = sizeof(rte_ether_hdr);
    m->l3_len = sizeof(rte_ipv4_hdr);
    m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
}

bool is_arp_reply(const rte_mbuf* m, rte_be32_t from_ip, rte_be32_t to_ip, rte_ether_addr& mac) {
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return false;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_ARP)) return false;
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
    if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY) ||
        arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_data.arp_sip != from_ip ||
        arp->arp_data.arp_tip != to_ip)
        return false;
    mac = arp->arp_data.arp_sha;
    return true;
}

}  // namespace fulmar::pktgen
