// RX classification: what to do with one received frame.
//
// Called by the worker lcore that received the mbuf, on its own mbufs only;
// pure (no allocation, no syscalls, no globals). A frame is either a memcached
// UDP request for this port (the caller parses it and builds replies), a frame
// already turned in place into a reply to transmit (ARP reply, ICMP echo
// reply), a frame for the host's kernel (the exception path: addressed to us
// but not served here), or a drop with a reason the caller counts.
//
// Headers parsed (offsets without / with one 802.1Q tag):
//
//   0            6            12     14(18)
//   +------------+------------+------+---------------------------------+
//   | dst MAC    | src MAC    | type | [0x8100 | TCI] then payload     |
//   +------------+------------+------+---------------------------------+
//     type 0x0806: ARP (28 bytes, Ethernet/IPv4 only)
//     type 0x0800: IPv4
//
//   IPv4 (20..60 bytes, options skipped)      UDP (8 bytes)
//   +--+--+-----+-----+-----+--+--+----+      +-----+-----+-----+-----+
//   |VH|TS|tlen | id  |frag |TT|PR|csum|      |sport|dport| len |csum |
//   +--+--+-----+-----+-----+--+--+----+      +-----+-----+-----+-----+
//   | src addr  | dst addr  | options… |      | memcached frame + request
//   +-----------+-----------+----------+
//     PR 17: UDP to the cache port      PR 1: ICMP echo request -> reply
//
// A VLAN tag stripped by the NIC (RTE_MBUF_F_RX_VLAN_STRIPPED) counts as a
// tag: replies carry it again, in software.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/assert.h"
#include "net/addr.h"
#include "net/byteorder.h"
#include "net/checksum.h"

namespace fulmar::net {

enum class RxAction : uint8_t {
    kUdpRequest,  // `out` describes a memcached datagram for us
    kTransmit,    // the mbuf is now a reply (ARP, ICMP echo): send it as is
    kToKernel,    // well-formed and the host's, not ours to serve (TCP, UDP to
                  // another port, ARP replies, ...): for the kernel interface
                  // that holds the address; `why` is the drop to count where
                  // the port has none
    kDrop,        // `why` says why; the caller frees the mbuf
};

// Every reason a frame is not answered. Names (drop_reason_name) are the
// counter names in stats and telemetry: keep them stable. Those marked (k)
// are also the reasons of kToKernel: with a kernel side the frame goes
// there instead of being dropped.
enum class DropReason : uint8_t {
    kMultiSegment,   // chained mbuf: we only parse contiguous frames
    kShortFrame,     // shorter than the headers it announces
    kNotIpv4,        // IPv6, LLDP, ... any ethertype but IPv4 and ARP
    kStackedVlan,    // QinQ or a second tag
    kNotOurMac,      // unicast to another MAC (promiscuous port)
    kArpMalformed,   // not Ethernet/IPv4 ARP
    kArpNotRequest,  // (k) ARP reply or other opcode: we keep no neighbour table
    kArpNotForUs,    // (k) ARP request for another address, or our own
    kBadIpVersion,   // version != 4 under an IPv4 ethertype
    kBadIhl,         // IHL < 5, or the header runs past the frame
    kBadIpChecksum,
    kBadTotalLength,      // total length < header, or > frame
    kFragment,            // (k) MF set or offset != 0: the kernel reassembles
    kNotOurIp,            // destination is neither the port's address nor a service address
    kBadSourceIp,         // source 0, broadcast, multicast, loopback or ours
    kIcmpNotEchoRequest,  // (k) any other ICMP type or code
    kBadIcmpChecksum,
    kNotUdp,        // (k) TCP, IGMP, ... (not UDP, not ICMP)
    kNotOurPort,    // (k) UDP to a port outside the cache range
    kBadUdpLength,  // UDP length < 8 or > IP payload
    kBadUdpChecksum,
    kClientNotAllowed,  // source outside the allowed prefixes
    kNoHeadroom,        // could not re-insert a stripped VLAN tag (reply, kernel frame)
    kWrongVlan,         // untagged or another VLAN while the port has one configured
    kCount,
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// Stable snake_case name of a reason ("bad_ip_checksum"); "unknown" if out of
// range.
const char* drop_reason_name(DropReason r);

// What a reply needs from a request. `payload` points into the request mbuf:
// valid until that mbuf is freed.
struct UdpRequest {
    std::span<const std::byte> payload;  // UDP payload: memcached frame + command
    rte_ether_addr src_mac{};            // the client (or its router)
    rte_ether_addr dst_mac{};            // ours (or broadcast)
    rte_be32_t src_ip = 0;
    rte_be32_t dst_ip = 0;
    uint16_t src_port = 0;  // host order
    uint16_t dst_port = 0;  // host order
    uint16_t vlan_tci = 0;  // host order; meaningful when has_vlan
    bool has_vlan = false;
};

// "Ours" below (port.ip) means port.owns(): the port's address or one of
// its service addresses; replies (ARP, ICMP echo, UDP) leave from the
// address the request was for.
//
// Classifies one received frame for `port`. On kUdpRequest fills `out`; on
// kDrop sets `why`; on kTransmit the mbuf was rewritten in place (and may have
// grown by a VLAN tag). Never frees the mbuf.
//
// kToKernel (and `why`, the reason a port without a kernel side counts):
// IPv4 to port.ip that passed every IPv4 check but is not ICMP echo or UDP
// to the cache ports (TCP, other protocols: not_udp; UDP to another port:
// not_our_port; ICMP other than an echo request: icmp_not_echo_request);
// ARP for the kernel's neighbour table, broadcast or to our MAC: replies
// (arp_not_request) and requests for another address (arp_not_for_us).
// IP fragments to port.ip from an allowed client (fragment): the kernel
// reassembles them and the control plane serves a memcached request that
// came that way (README, "The exception path"); the fast path never
// reassembles. Fragments from clients outside the filter are dropped
// (client_not_allowed), first or not: a non-first fragment carries no UDP
// header, so no stateless check can tell a cache-port datagram's pieces
// from another's, and the filter keeps strangers from filling the kernel's
// reassembly memory (which is bounded anyway: ipfrag_high_thresh, and an
// incomplete datagram is dropped after ipfrag_time). The control plane
// applies the same filter to the reassembled datagram.
// Garbage stays kDrop: malformed frames, bad sums or sources,
// other MACs and addresses, our own frames looped back, and requests to the
// cache ports from clients outside the filter. The frame is left as the
// kernel interface should see it: with port.vlan_id set, untagged (that
// interface is the VLAN's untagged side); without, with the tag it came
// with, back in the bytes if the NIC stripped it.
//
// Checks, in order: single segment; Ethernet (+ one VLAN tag); ARP request for
// port.ip -> reply; IPv4 version, IHL (options accepted and skipped), header
// checksum, total length (Ethernet padding past it is ignored), destination
// port.ip, a unicast source, fragment -> kernel (allowed clients); ICMP echo request -> reply (the
// client filter does not apply: an echo reply is no bigger than its request);
// UDP length, destination port, client filter, checksum. A UDP checksum of 0
// (none, legal in IPv4) is accepted, and so is one equal to the pseudo-header
// sum alone: veth/af_packet peers with TX checksum offload send those. A
// device's verdict in ol_flags (RTE_MBUF_F_RX_{IP,L4}_CKSUM_GOOD/BAD, L4
// NONE) replaces the software sums.
inline RxAction classify(rte_mbuf* m, const PortAddr& port, const ClientFilter& filter,
                         UdpRequest& out, DropReason& why);

// The whole of classify(), every case; classify() takes the common frame
// (detail::fast_udp_request) inline and comes here for the rest.
RxAction classify_full(rte_mbuf* m, const PortAddr& port, const ClientFilter& filter,
                       UdpRequest& out, DropReason& why);

namespace detail {

// First octets of a source address that is not a unicast client's (0/8,
// 127/8, multicast and reserved 224/3): classify_full's is_unicast_source()
// as one load.
inline constexpr std::array<bool, 256> kNotUnicastFirstOctet = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<size_t>(c)] = c == 0 || c == 127 || c >= 224;
    return t;
}();

// raw_sum() of a whole datagram, out of line: inlined into the receive
// loop, its word loop cost more than the call (SET +20 with software
// checksums) and gained a GET nothing.
[[gnu::noinline]] inline uint32_t datagram_sum(const void* data, size_t len) {
    return raw_sum(data, len);
}

// The frame nearly every received one is: untagged IPv4 without options
// from a client, to the port's MAC and address, a whole UDP datagram to a
// cache port. True, with `out` filled, only when classify_full would return
// kUdpRequest with the same `out`: every check of that path is here, in its
// order; any frame it does not take (false) goes through the full path,
// which decides (and names the drop reason). One pass over fixed offsets,
// without the full path's per-layer bookkeeping, for what every GET pays.
//
// In two parts: fast_udp_frame() makes every check and returns the frame's
// first byte (nullptr for a frame it does not take); udp_request_of() reads
// `out` from such a frame's fixed offsets. The GET path keeps only the
// frame pointer: a reply's addresses and ports are the request's, read
// from its headers (untouched while the reply is built past them).
inline const uint8_t* fast_udp_frame(rte_mbuf* m, const PortAddr& port,
                                     const ClientFilter& filter) {
    constexpr uint32_t kL2 = sizeof(rte_ether_hdr);
    constexpr uint32_t kL3 = sizeof(rte_ipv4_hdr);
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (m->nb_segs != 1 || (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0 || port.vlan_id != 0 ||
        len < kL2 + kL3 + sizeof(rte_udp_hdr))
        return nullptr;
    const auto* base = rte_pktmbuf_mtod(m, const uint8_t*);
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(base);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(base + kL2);
    if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
        !rte_is_same_ether_addr(&eth->dst_addr, &port.mac) || ip->version_ihl != RTE_IPV4_VHL_DEF ||
        ip->next_proto_id != IPPROTO_UDP || ip->dst_addr != port.ip ||
        (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
        return nullptr;
    const uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (ip_ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
        (ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !sum_is_valid(raw_sum(ip, kL3))))
        return nullptr;
    const uint32_t total = be16(ip->total_length);
    // classify_full's is_unicast_source(), inline: the first octet is the
    // first byte in memory, looked up in a table.
    const auto first = *reinterpret_cast<const uint8_t*>(&ip->src_addr);
    // total in [28, len - 14] as one unsigned compare (len >= 42 here; a
    // total below 28 wraps past the bound).
    constexpr uint32_t kMinTotal = kL3 + sizeof(rte_udp_hdr);
    if (total - kMinTotal > len - kL2 - kMinTotal || kNotUnicastFirstOctet[first] ||
        port.owns(ip->src_addr))
        return nullptr;
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(base + kL2 + kL3);
    const uint32_t udp_len = be16(udp->dgram_len);
    const uint16_t dst_port = be16(udp->dst_port);
    // udp_len in [8, total - 20], the same way.
    if (udp_len - sizeof(rte_udp_hdr) > total - kMinTotal ||
        static_cast<uint16_t>(dst_port - port.udp_port) >= port.n_udp_ports ||
        !filter.allows(ip->src_addr))
        return nullptr;
    const uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return nullptr;
    if (udp->dgram_cksum != 0 && l4_ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
        l4_ck != RTE_MBUF_F_RX_L4_CKSUM_NONE) {
        const uint16_t pseudo =
            fold(pseudo_header_sum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, udp_len));
        if (udp->dgram_cksum != pseudo && !sum_is_valid(datagram_sum(udp, udp_len) + pseudo))
            return nullptr;
    }
    return base;
}

// Offsets of the headers in a frame fast_udp_frame() took.
inline constexpr uint32_t kFastIp = sizeof(rte_ether_hdr);
inline constexpr uint32_t kFastUdp = kFastIp + sizeof(rte_ipv4_hdr);
inline constexpr uint32_t kFastPayload = kFastUdp + sizeof(rte_udp_hdr);

// What the fast path's frame at `base` asks: the UdpRequest classify_full
// fills for it.
inline void udp_request_of(const uint8_t* base, UdpRequest& out) {
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(base);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(base + kFastIp);
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(base + kFastUdp);
    const uint32_t udp_len = be16(udp->dgram_len);
    out.payload =
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(udp) + sizeof(rte_udp_hdr),
                                   udp_len - sizeof(rte_udp_hdr));
    out.src_mac = eth->src_addr;
    out.dst_mac = eth->dst_addr;
    out.src_ip = ip->src_addr;
    out.dst_ip = ip->dst_addr;
    out.src_port = be16(udp->src_port);
    out.dst_port = be16(udp->dst_port);
    out.vlan_tci = 0;
    out.has_vlan = false;
}

inline bool fast_udp_request(rte_mbuf* m, const PortAddr& port, const ClientFilter& filter,
                             UdpRequest& out) {
    const uint8_t* base = fast_udp_frame(m, port, filter);
    if (base == nullptr) return false;
    udp_request_of(base, out);
    return true;
}

}  // namespace detail

inline RxAction classify(rte_mbuf* m, const PortAddr& port, const ClientFilter& filter,
                         UdpRequest& out, DropReason& why) {
    FULMAR_ASSERT(m != nullptr);
    if (detail::fast_udp_request(m, port, filter, out)) return RxAction::kUdpRequest;
    return classify_full(m, port, filter, out, why);
}

}  // namespace fulmar::net
