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
    ip_sum_ = net::raw_sum(ip, sizeof(rte_ipv4_hdr));
    udp_sum_ = net::raw_sum(udp, sizeof(rte_udp_hdr)) +
               net::pseudo_header_sum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, 0);
}

void RequestFrame::finish(rte_mbuf* m, size_t payload_len) const {
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    std::memcpy(p, header_.data(), kHeaderLen);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + sizeof(rte_ether_hdr));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
    ip->total_length = rte_cpu_to_be_16(
        static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload_len));
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_len));
    // Each length field is summed twice in the UDP checksum: in the UDP
    // header and in the pseudo-header.
    const auto ip_len = static_cast<uint16_t>(ip->total_length);
    const auto udp_len = static_cast<uint16_t>(udp->dgram_len);
    ip->hdr_checksum = static_cast<uint16_t>(~net::fold(ip_sum_ + ip_len));
    const uint16_t c = static_cast<uint16_t>(
        ~net::fold(udp_sum_ + 2u * udp_len + net::raw_sum(udp + 1, payload_len)));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
    const auto len = static_cast<uint16_t>(kHeaderLen + payload_len);
    m->data_len = len;
    m->pkt_len = len;
    m->l2_len = sizeof(rte_ether_hdr);
    m->l3_len = sizeof(rte_ipv4_hdr);
    m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
}

GetFrame::GetFrame(const Flow& f, const Workload& w) : w_(w) {
    const size_t text_len = 4 + w.params().key_len + 2;  // "get <key>\r\n"
    const size_t payload_len = 8 + text_len;
    len_ = RequestFrame::kHeaderLen + payload_len;
    // The generic path builds the frame around a zero id and a zero key;
    // their sum is the template's sum.
    uint8_t* p = t_.data();
    uint8_t* payload = p + RequestFrame::kHeaderLen;
    std::memset(payload, 0, payload_len);
    payload[5] = 1;  // total = 1
    std::memcpy(payload + 8, "get ", 4);
    std::memcpy(payload + 8 + text_len - 2, "\r\n", 2);
    rte_mbuf m{};
    m.buf_addr = p;
    m.buf_len = static_cast<uint16_t>(t_.size());
    RequestFrame(f).finish(&m, payload_len);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
    sum_ = static_cast<uint16_t>(~udp->dgram_cksum);
    udp->dgram_cksum = 0;
    key16_ = w.params().key_len == 16 && len_ <= kFixedCopy;
}

void GetFrame::fill_any(rte_mbuf* m, uint16_t id, uint32_t key) const {
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    if (len_ <= kFixedCopy)
        std::memcpy(p, t_.data(), kFixedCopy);
    else
        std::memcpy(p, t_.data(), len_);
    const rte_be16_t be_id = rte_cpu_to_be_16(id);
    std::memcpy(p + RequestFrame::kHeaderLen, &be_id, 2);
    w_.format_key(key, reinterpret_cast<char*>(p + kKeyOffset));
    // The key starts at an even offset of the datagram: its words are the
    // datagram's words.
    finish_fixed(p, m, sum_ + be_id + net::raw_sum(p + kKeyOffset, w_.params().key_len));
}

ReplyMatcher::ReplyMatcher(const Flow& f, uint16_t first_port, uint16_t n_ports)
    : mac_(f.src_mac),
      our_ip_(f.src_ip),
      server_ip_(f.dst_ip),
      server_port_(rte_cpu_to_be_16(f.dst_port)),
      first_port_(first_port),
      n_ports_(n_ports),
      pseudo_sum_(net::pseudo_header_sum(f.dst_ip, f.src_ip, IPPROTO_UDP, 0)) {}

bool ReplyMatcher::match(const rte_mbuf* m, std::span<const std::byte>& payload,
                         uint16_t& dst_port) const {
    constexpr size_t kIpOff = sizeof(rte_ether_hdr);
    constexpr size_t kUdpOff = kIpOff + sizeof(rte_ipv4_hdr);
    if (m->nb_segs != 1 || m->data_len < RequestFrame::kHeaderLen) return false;
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + kIpOff);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(p + kUdpOff);
    if (!rte_is_same_ether_addr(&eth->dst_addr, &mac_) ||
        eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != RTE_IPV4_VHL_DEF ||
        ip->next_proto_id != IPPROTO_UDP ||
        (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0 ||
        ip->src_addr != server_ip_ || ip->dst_addr != our_ip_ || udp->src_port != server_port_ ||
        udp->dgram_cksum == 0)
        return false;
    // __builtin_bswap16, not rte_be_to_cpu_16: DPDK's is an asm xchg that
    // pins registers.
    const uint32_t ip_len = __builtin_bswap16(ip->total_length);
    const uint32_t udp_len = __builtin_bswap16(udp->dgram_len);
    const uint16_t port = __builtin_bswap16(udp->dst_port);
    if (ip_len > m->data_len - kIpOff || udp_len != ip_len - sizeof(rte_ipv4_hdr) ||
        udp_len < sizeof(rte_udp_hdr) || static_cast<uint16_t>(port - first_port_) >= n_ports_)
        return false;
    const uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
        (ip_ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
         !net::sum_is_valid(net::raw_sum(ip, sizeof(rte_ipv4_hdr)))))
        return false;
    const uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4_ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD && l4_ck != RTE_MBUF_F_RX_L4_CKSUM_NONE &&
        (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
         !net::sum_is_valid(net::raw_sum(udp, udp_len) + pseudo_sum_ +
                            static_cast<uint16_t>(udp->dgram_len))))
        return false;
    payload = std::span<const std::byte>(reinterpret_cast<const std::byte*>(udp + 1),
                                         udp_len - sizeof(rte_udp_hdr));
    dst_port = port;
    return true;
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
