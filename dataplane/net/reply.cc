// TX frame construction; see reply.h for the frame layout.
#include "net/reply.h"

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/assert.h"
#include "net/checksum.h"
#include "proto/mc_frame.h"

namespace fulmar::net {
namespace {

constexpr uint8_t kReplyTtl = kUdpReplyTtl;

size_t l2_header_len(const UdpRequest& req) {
    return sizeof(rte_ether_hdr) + (req.has_vlan ? sizeof(rte_vlan_hdr) : 0);
}

// Writes Ethernet/[VLAN]/IPv4/UDP headers for a reply of `payload_len`
// bytes into `m` (empty, freshly allocated) and returns where the payload
// goes; nullptr, leaving `m` to the caller, when it does not fit the segment.
// Checksums are left 0 for put_checksums() once the payload is in place.
uint8_t* put_udp_headers(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                         size_t payload_len) {
    if (payload_len > kMaxUdpPayload) return nullptr;
    const size_t l2 = l2_header_len(req);
    const size_t total = l2 + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload_len;
    if (total > rte_pktmbuf_tailroom(m)) return nullptr;
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(total)));
    FULMAR_ASSERT(p != nullptr);

    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = req.src_mac;
    eth->src_addr = port.mac;
    if (req.has_vlan) {
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
        auto* vh = reinterpret_cast<rte_vlan_hdr*>(p + sizeof(rte_ether_hdr));
        vh->vlan_tci = be16(req.vlan_tci);
        vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    } else {
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    }

    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length =
        be16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload_len));
    // DF set, so RFC 6864 lets the id be 0: nobody reassembles these.
    ip->packet_id = 0;
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = kReplyTtl;
    ip->next_proto_id = IPPROTO_UDP;
    ip->hdr_checksum = 0;
    ip->src_addr = req.dst_ip;
    ip->dst_addr = req.src_ip;

    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + l2 + sizeof(rte_ipv4_hdr));
    udp->src_port = be16(req.dst_port);
    udp->dst_port = be16(req.src_port);
    udp->dgram_len = be16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_len));
    udp->dgram_cksum = 0;

    m->l2_len = l2;
    m->l3_len = sizeof(rte_ipv4_hdr);
    m->l4_len = sizeof(rte_udp_hdr);
    m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
    return p + l2 + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
}

void put_checksums(rte_mbuf* m, const PortAddr& port) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, m->l2_len);
    auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, m->l2_len + sizeof(rte_ipv4_hdr));
    if (port.tx_checksum_offload) {
        // The device sums the datagram; it wants the pseudo-header sum in
        // the UDP checksum field (DPDK's offload contract).
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
        return;
    }
    ip->hdr_checksum = ipv4_header_checksum(ip);
    udp->dgram_cksum = udp_checksum(ip, udp, be16(udp->dgram_len));
}

// One reply datagram whose UDP payload is `head` then `body`.
bool fill_udp_reply(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                    std::span<const std::byte> head, std::span<const std::byte> body) {
    uint8_t* data = put_udp_headers(m, req, port, head.size() + body.size());
    if (data == nullptr) return false;
    if (!head.empty()) std::memcpy(data, head.data(), head.size());
    if (!body.empty()) std::memcpy(data + head.size(), body.data(), body.size());
    put_checksums(m, port);
    return true;
}

}  // namespace

rte_mbuf* build_udp_reply(rte_mempool* pool, const UdpRequest& req, const PortAddr& port,
                          std::span<const std::byte> payload) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    if (!fill_udp_reply(m, req, port, {}, payload)) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    return m;
}

size_t build_mc_udp_replies(rte_mempool* pool, const UdpRequest& req, const PortAddr& port,
                            uint16_t request_id, std::span<const char> reply, rte_mbuf** out,
                            size_t max_out) {
    if (reply.empty()) return 0;
    const size_t n = proto::reply_datagram_count(reply.size());
    if (n > kMaxReplyDatagrams || n > max_out) return 0;
    // One bulk get: all or nothing, so a dry pool never leaves half a reply
    // to undo, and it is one pool operation instead of n.
    if (rte_pktmbuf_alloc_bulk(pool, out, static_cast<unsigned>(n)) != 0) return 0;

    const std::span<const std::byte> bytes = std::as_bytes(reply);
    std::array<std::byte, proto::kMcFrameHeaderSize> header;
    for (size_t i = 0; i < n; i++) {
        const proto::McFrame frame{request_id, static_cast<uint16_t>(i), static_cast<uint16_t>(n),
                                   0};
        proto::encode_frame(frame, header);
        const size_t off = i * proto::kMcUdpMaxPayload;
        const size_t len = std::min(proto::kMcUdpMaxPayload, bytes.size() - off);
        if (!fill_udp_reply(out[i], req, port, header, bytes.subspan(off, len))) {
            rte_pktmbuf_free_bulk(out, static_cast<unsigned>(n));
            return 0;
        }
    }
    return n;
}

rte_mbuf* build_arp_request(rte_mempool* pool, const rte_ether_addr& src_mac, rte_be32_t src_ip,
                            rte_be32_t target_ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    constexpr size_t kLen = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kLen));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
    eth->src_addr = src_mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);

    auto* arp = reinterpret_cast<rte_arp_hdr*>(p + sizeof(rte_ether_hdr));
    arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = sizeof(rte_be32_t);
    arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
    arp->arp_data.arp_sha = src_mac;
    arp->arp_data.arp_sip = src_ip;
    memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
    arp->arp_data.arp_tip = target_ip;
    m->l2_len = sizeof(rte_ether_hdr);
    m->packet_type = RTE_PTYPE_L2_ETHER_ARP;
    return m;
}

rte_mbuf* build_gratuitous_arp(rte_mempool* pool, const PortAddr& port) {
    return build_gratuitous_arp(pool, port, port.ip);
}

rte_mbuf* build_gratuitous_arp(rte_mempool* pool, const PortAddr& port, rte_be32_t ip) {
    // A request rather than a reply: RFC 5227 section 3 explains that some
    // stacks only update their caches from requests.
    rte_mbuf* m = build_arp_request(pool, port.mac, ip, ip);
    if (m == nullptr || port.vlan_id == 0) return m;
    // On a VLAN port the announcement goes out on that VLAN.
    m->ol_flags |= RTE_MBUF_F_TX_VLAN;
    m->vlan_tci = port.vlan_id;
    if (rte_vlan_insert(&m) != 0) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    return m;
}

}  // namespace fulmar::net
