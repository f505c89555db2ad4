// TX frame construction: UDP replies, memcached datagram splitting, and the
// gratuitous ARP a port sends when it comes up.
//
// Called by the worker lcore that owns `pool`'s per-lcore cache; mbufs come
// only from the pool given, and the caller owns (sends or frees) every mbuf
// returned. No syscalls, no heap.
//
// Frame built for a reply (VLAN tag only when the request had one):
//
//   +---------+---------+------+----------+------------------+----------+
//   | dst MAC | src MAC | type | [VLAN]   | IPv4, 20 bytes   | UDP, 8   |
//   | client  | port    |      | req TCI  | TTL 64, DF, id 0 | swapped  |
//   +---------+---------+------+----------+------------------+----------+
//   | memcached frame header (8): req id | seq | total | 0    |
//   +--------------------------------------------------------+
//   | up to 1,400 bytes of the reply text                    |
//   +--------------------------------------------------------+
//
// IPv4 and UDP checksums are computed in software, so every PMD (tap,
// af_packet, memif, ring) gets correct frames without offload flags; on a
// port with TX checksum offload (PortAddr::tx_checksum_offload) the frame
// carries RTE_MBUF_F_TX_{IPV4,IP_CKSUM,UDP_CKSUM} and the device sums it.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "common/assert.h"
#include "net/addr.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/classify.h"
#include "proto/mc_frame.h"

namespace fulmar::net {

// TTL of every reply we build.
inline constexpr uint8_t kUdpReplyTtl = 64;

// Largest UDP payload of an IPv4 datagram without options (65535 - 20 - 8).
inline constexpr size_t kMaxUdpPayload = 65507;

// memcached's limit on datagrams per reply (the total field is 16 bits).
inline constexpr size_t kMaxReplyDatagrams = 65535;

// One UDP datagram from the request's destination back to its source.
// Returns nullptr when the pool is empty or the payload does not fit one
// mbuf segment (or kMaxUdpPayload).
rte_mbuf* build_udp_reply(rte_mempool* pool, const UdpRequest& req, const PortAddr& port,
                          std::span<const std::byte> payload);

// Cuts a memcached reply into datagrams of at most proto::kMcUdpMaxPayload
// bytes, each behind a frame header {request_id, seq 0..n-1, total n, 0},
// and writes them to out[0..n). Returns n; 0 when `reply` is empty (noreply:
// nothing to send), and 0 with nothing left allocated when the pool runs dry,
// when n > max_out or n > kMaxReplyDatagrams, or when an mbuf is too small
// for one datagram. All n mbufs are taken in one bulk get, so a reply is sent
// whole or not at all.
size_t build_mc_udp_replies(rte_mempool* pool, const UdpRequest& req, const PortAddr& port,
                            uint16_t request_id, std::span<const char> reply, rte_mbuf** out,
                            size_t max_out);

// A one-datagram memcached reply written in place, text first: returns where
// the reply text goes in the empty mbuf `m` (after the room its headers will
// take) and sets `room` to how much text fits (at most
// proto::kMcUdpMaxPayload); nullptr when not even the headers fit. Write the
// text, then seal_mc_udp_reply() with its length. Saves building the reply
// elsewhere and copying it, and knowing its length before writing it.
// Inline, with seal_mc_udp_reply: both run once per GET hit.
inline char* mc_udp_reply_text(rte_mbuf* m, const UdpRequest& req, size_t& room);
// Puts the Ethernet/IPv4/UDP headers and the memcached frame header
// {request_id, 0, 1, 0} in front of the `text_len` bytes written above, then
// the checksums (or the offload flags, when port.tx_checksum_offload).
inline void seal_mc_udp_reply(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                              uint16_t request_id, size_t text_len);

// The bytes every untagged one-datagram memcached reply of a port starts
// with, Ethernet to the memcached frame header: the port's MAC, the
// ethertype, IPv4 version/IHL, DF, TTL, protocol, and the frame header's
// total of 1; zero where seal_mc_udp_reply patches a reply's own fields
// (client MAC, lengths, addresses, ports, checksums, request id). Built once
// per worker from its port (the MAC does not change while it runs), so a
// GET hit's headers are two wide copies and a few stores.
struct McReplyTemplate {
    static constexpr size_t kSize = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) +
                                    sizeof(rte_udp_hdr) + proto::kMcFrameHeaderSize;
    alignas(64) uint8_t bytes[64] = {};
    // raw_sum() of the template's constant words: the IPv4 header (its
    // length, addresses and checksum zero here) and the memcached frame
    // header (request id zero). A reply's checksums add the words that
    // change to these, in registers, instead of reading back the headers
    // just written (8-byte loads over narrower stores that have not left
    // the store buffer miss store forwarding).
    uint32_t ip_sum = 0;
    uint32_t frame_sum = 0;
};
inline McReplyTemplate make_mc_reply_template(const PortAddr& port);

// seal_mc_udp_reply() for a port whose template is `t`: the same bytes,
// the same mbuf fields; an untagged reply from the template, a tagged one
// the general way.
inline void seal_mc_udp_reply(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                              const McReplyTemplate& t, uint16_t request_id, size_t text_len);
// The same for a request whose frame `req_frame` detail::fast_udp_frame()
// took (untagged, no IP options): the client's MAC, the addresses and the
// ports read from the request's own headers, swapped as whole words, with
// no UdpRequest between.
inline void seal_mc_udp_reply_to_frame(rte_mbuf* m, const uint8_t* req_frame, const PortAddr& port,
                                       const McReplyTemplate& t, uint16_t request_id,
                                       size_t text_len);

// Makes the request mbuf `m` an empty frame again, placed past its current
// data, so a reply of up to `reply_frame_len` bytes can be built in it while
// the request's bytes (its keys) stay readable: no allocation, no free, and
// the mbuf goes out as the reply. False, `m` unchanged, when it cannot be
// reused: an indirect mbuf or one with an external buffer (zero-copy PMDs),
// shared (refcnt > 1), chained, or without room after the request.
//
//   buf_addr                data_off       +data_len    new data_off
//   | headroom              | request frame |  (pad to 64) | reply frame |
inline bool reuse_for_reply(rte_mbuf* m, size_t reply_frame_len) {
    if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 || m->nb_segs != 1) return false;
    const size_t start = RTE_ALIGN_CEIL(size_t{m->data_off} + m->data_len, RTE_CACHE_LINE_SIZE);
    if (start + reply_frame_len > m->buf_len) return false;
    m->data_off = static_cast<uint16_t>(start);
    m->data_len = 0;
    m->pkt_len = 0;
    // RX flags (VLAN stripped, checksum status) mean nothing on TX.
    m->ol_flags = 0;
    return true;
}

// Bytes of Ethernet (+ VLAN), IPv4, UDP and memcached frame headers in a
// reply to `req`.
inline size_t mc_reply_overhead(const UdpRequest& req) {
    return sizeof(rte_ether_hdr) + (req.has_vlan ? sizeof(rte_vlan_hdr) : 0) +
           sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + proto::kMcFrameHeaderSize;
}

inline char* mc_udp_reply_text(rte_mbuf* m, const UdpRequest& req, size_t& room) {
    const size_t head = mc_reply_overhead(req);
    const size_t tail = rte_pktmbuf_tailroom(m);
    if (rte_pktmbuf_pkt_len(m) != 0 || tail <= head) return nullptr;
    room = std::min(proto::kMcUdpMaxPayload, tail - head);
    return rte_pktmbuf_mtod_offset(m, char*, head);
}

// reuse_for_reply() and mc_udp_reply_text() in one, for the GET loop: makes
// the request mbuf `m` the empty reply frame (past the request's bytes) and
// returns where its text goes, with room for a whole datagram
// (proto::kMcUdpMaxPayload); nullptr, `m` unchanged, when reuse_for_reply
// would refuse it.
// `head`: the reply's header bytes (mc_reply_overhead).
namespace detail {
// mc_reply_text_in_place() less its one-segment check and its ol_flags
// reset: what the fast path's frames (one segment, checked at classify)
// need, and the general version's core.
inline char* reply_text_in_place(rte_mbuf* m, size_t head) {
    if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return nullptr;
    const size_t start = RTE_ALIGN_CEIL(size_t{m->data_off} + m->data_len, RTE_CACHE_LINE_SIZE);
    if (start + head + proto::kMcUdpMaxPayload > m->buf_len) return nullptr;
    m->data_off = static_cast<uint16_t>(start);
    m->data_len = 0;
    m->pkt_len = 0;
    return static_cast<char*>(m->buf_addr) + start + head;
}
}  // namespace detail
inline char* mc_reply_text_in_place(rte_mbuf* m, size_t head) {
    if (m->nb_segs != 1) return nullptr;
    char* const text = detail::reply_text_in_place(m, head);
    if (text != nullptr) m->ol_flags = 0;
    return text;
}
inline char* mc_reply_text_in_place(rte_mbuf* m, const UdpRequest& req) {
    return mc_reply_text_in_place(m, mc_reply_overhead(req));
}
// mc_reply_text_in_place() for a frame detail::fast_udp_frame() took (one
// segment, checked there; untagged): its RX flags are left for the
// template's seal, which sets ol_flags whole.
inline char* mc_reply_text_in_place_fast(rte_mbuf* m) {
    return detail::reply_text_in_place(m, McReplyTemplate::kSize);
}

// A broadcast ARP request from src_mac/src_ip asking for target_ip (the
// load generator resolves the server's MAC with it). nullptr when the pool
// is empty.
rte_mbuf* build_arp_request(rte_mempool* pool, const rte_ether_addr& src_mac, rte_be32_t src_ip,
                            rte_be32_t target_ip);

// An ARP announcement (RFC 5227: a broadcast request with sender and target
// protocol address both port.ip) so switches and peers learn the port's MAC
// at start-up. nullptr when the pool is empty.
rte_mbuf* build_gratuitous_arp(rte_mempool* pool, const PortAddr& port);
// The same for `ip`, one of the port's service addresses: sent when the
// address comes to this port, so neighbours' caches (which may still hold
// the previous holder's MAC) point here at once.
rte_mbuf* build_gratuitous_arp(rte_mempool* pool, const PortAddr& port, rte_be32_t ip);

inline void seal_mc_udp_reply(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                              uint16_t request_id, size_t text_len) {
    // put_udp_headers() and put_checksums() in one pass, for the one case
    // every GET hit takes: a fresh one-datagram frame whose room
    // mc_udp_reply_text() checked (the length needs no check), and no
    // pointers derived twice. reply_test holds it to the same bytes.
    const bool vlan = req.has_vlan;
    const size_t l2 = sizeof(rte_ether_hdr) + (vlan ? sizeof(rte_vlan_hdr) : 0);
    const size_t udp_len = sizeof(rte_udp_hdr) + proto::kMcFrameHeaderSize + text_len;
    const size_t total = l2 + sizeof(rte_ipv4_hdr) + udp_len;
    FULMAR_ASSERT(rte_pktmbuf_pkt_len(m) == 0 && total <= rte_pktmbuf_tailroom(m));
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    m->data_len = static_cast<uint16_t>(total);
    m->pkt_len = static_cast<uint32_t>(total);

    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = req.src_mac;
    eth->src_addr = port.mac;
    if (vlan) {
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
        auto* vh = reinterpret_cast<rte_vlan_hdr*>(p + sizeof(rte_ether_hdr));
        vh->vlan_tci = be16(req.vlan_tci);
        vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    } else {
        eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    }
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
    const auto ip_len = static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + udp_len);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = be16(ip_len);
    ip->packet_id = 0;  // DF set: RFC 6864 lets it be 0
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = kUdpReplyTtl;
    ip->next_proto_id = IPPROTO_UDP;
    ip->hdr_checksum = 0;
    ip->src_addr = req.dst_ip;
    ip->dst_addr = req.src_ip;
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + l2 + sizeof(rte_ipv4_hdr));
    udp->src_port = be16(req.dst_port);
    udp->dst_port = be16(req.src_port);
    udp->dgram_len = be16(static_cast<uint16_t>(udp_len));
    udp->dgram_cksum = 0;
    // The frame header {request_id, 0, 1, 0}, big-endian, as one store.
    const uint64_t frame = uint64_t{be16(request_id)} | uint64_t{RTE_BE16(1)} << 32;
    static_assert(proto::kMcFrameHeaderSize == sizeof(frame));
    std::memcpy(udp + 1, &frame, sizeof(frame));

    m->tx_offload = rte_mbuf_tx_offload(l2, sizeof(rte_ipv4_hdr), sizeof(rte_udp_hdr), 0, 0, 0, 0);
    m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
    const uint32_t pseudo =
        pseudo_header_sum(req.dst_ip, req.src_ip, IPPROTO_UDP, static_cast<uint32_t>(udp_len));
    if (port.tx_checksum_offload) {
        // The device sums the datagram; it wants the pseudo-header sum in
        // the UDP checksum field (DPDK's offload contract).
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->dgram_cksum = static_cast<uint16_t>(pseudo);
        return;
    }
    ip->hdr_checksum = ipv4_header_checksum(ip);
    const auto c = static_cast<uint16_t>(~fold(raw_sum(udp, udp_len) + pseudo));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
}

inline McReplyTemplate make_mc_reply_template(const PortAddr& port) {
    McReplyTemplate t;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(t.bytes);
    eth->src_addr = port.mac;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(t.bytes + sizeof(rte_ether_hdr));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = kUdpReplyTtl;
    ip->next_proto_id = IPPROTO_UDP;
    const uint64_t frame = uint64_t{RTE_BE16(1)} << 32;
    std::memcpy(t.bytes + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr),
                &frame, sizeof(frame));
    t.ip_sum = raw_sum(ip, sizeof(rte_ipv4_hdr));
    t.frame_sum = raw_sum(&frame, sizeof(frame));
    return t;
}

namespace detail {

// The untagged reply from the template: `mac` the client's MAC in its low
// six bytes, `addrs` the reply's source then destination address and
// `ports` its source then destination port, all as they lie on the wire.
inline void seal_from_template(rte_mbuf* m, const McReplyTemplate& t, bool offload, uint64_t mac,
                               uint64_t addrs, uint32_t ports, uint16_t request_id,
                               size_t text_len) {
    constexpr size_t kL2 = sizeof(rte_ether_hdr);
    constexpr size_t kIp = kL2;
    constexpr size_t kUdp = kIp + sizeof(rte_ipv4_hdr);
    constexpr size_t kFrame = kUdp + sizeof(rte_udp_hdr);
    static_assert(McReplyTemplate::kSize == 50 && kFrame + proto::kMcFrameHeaderSize == 50);
    const size_t udp_len = sizeof(rte_udp_hdr) + proto::kMcFrameHeaderSize + text_len;
    const size_t total = kUdp + udp_len;
    FULMAR_ASSERT(rte_pktmbuf_pkt_len(m) == 0 && total <= rte_pktmbuf_tailroom(m));
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    m->data_len = static_cast<uint16_t>(total);
    m->pkt_len = static_cast<uint32_t>(total);
    // Eight bytes for the MAC: the template's copy from byte 6 on overwrites
    // the two extra.
    std::memcpy(p, &mac, sizeof(mac));
    std::memcpy(p + 6, t.bytes + 6, 32);
    std::memcpy(p + McReplyTemplate::kSize - 32, t.bytes + McReplyTemplate::kSize - 32, 32);
    const auto ip_len = be16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + udp_len));
    std::memcpy(p + kIp + offsetof(rte_ipv4_hdr, total_length), &ip_len, sizeof(ip_len));
    std::memcpy(p + kIp + offsetof(rte_ipv4_hdr, src_addr), &addrs, sizeof(addrs));
    std::memcpy(p + kUdp, &ports, sizeof(ports));
    const auto be_udp_len = be16(static_cast<uint16_t>(udp_len));
    std::memcpy(p + kUdp + offsetof(rte_udp_hdr, dgram_len), &be_udp_len, sizeof(be_udp_len));
    const auto id = be16(request_id);
    std::memcpy(p + kFrame, &id, sizeof(id));

    m->tx_offload = rte_mbuf_tx_offload(kL2, sizeof(rte_ipv4_hdr), sizeof(rte_udp_hdr), 0, 0, 0, 0);
    m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
    const auto pseudo = static_cast<uint16_t>(
        pseudo_header_sum(static_cast<uint32_t>(addrs), static_cast<uint32_t>(addrs >> 32),
                          IPPROTO_UDP, static_cast<uint32_t>(udp_len)));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + kUdp);
    // Set whole: a reply mbuf has no other TX flag (mc_reply_text_in_place_fast
    // leaves the request's RX flags for this to replace).
    if (offload) {
        m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
        udp->dgram_cksum = pseudo;
        return;
    }
    m->ol_flags = 0;
    // The words that change, as they lie in memory, added to the template's
    // sums: only the text is read back.
    const uint64_t ip_sum = uint64_t{t.ip_sum} + ip_len + (addrs & 0xffffffff) + (addrs >> 32);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + kIp);
    ip->hdr_checksum = static_cast<uint16_t>(~fold_wide(ip_sum));
    const uint64_t udp_sum = uint64_t{pseudo} + ports + be_udp_len + t.frame_sum + id +
                             raw_sum(p + kFrame + proto::kMcFrameHeaderSize, text_len);
    const auto c = static_cast<uint16_t>(~fold_wide(udp_sum));
    udp->dgram_cksum = c == 0 ? 0xffff : c;
}

}  // namespace detail

inline void seal_mc_udp_reply(rte_mbuf* m, const UdpRequest& req, const PortAddr& port,
                              const McReplyTemplate& t, uint16_t request_id, size_t text_len) {
    if (req.has_vlan) [[unlikely]] {
        seal_mc_udp_reply(m, req, port, request_id, text_len);
        return;
    }
    // UdpRequest keeps dst_mac right after src_mac: eight bytes read.
    static_assert(offsetof(UdpRequest, dst_mac) == offsetof(UdpRequest, src_mac) + 6);
    uint64_t mac;
    std::memcpy(&mac, reinterpret_cast<const uint8_t*>(&req) + offsetof(UdpRequest, src_mac),
                sizeof(mac));
    const uint64_t addrs = uint64_t{req.dst_ip} | uint64_t{req.src_ip} << 32;
    const uint32_t ports = uint32_t{be16(req.dst_port)} | uint32_t{be16(req.src_port)} << 16;
    detail::seal_from_template(m, t, port.tx_checksum_offload, mac, addrs, ports, request_id,
                               text_len);
}

inline void seal_mc_udp_reply_to_frame(rte_mbuf* m, const uint8_t* req_frame, const PortAddr& port,
                                       const McReplyTemplate& t, uint16_t request_id,
                                       size_t text_len) {
    uint64_t mac;  // the request's source MAC and two bytes of its ethertype
    std::memcpy(&mac, req_frame + offsetof(rte_ether_hdr, src_addr), sizeof(mac));
    uint64_t addrs;  // the request's source then destination: swapped
    std::memcpy(&addrs, req_frame + detail::kFastIp + offsetof(rte_ipv4_hdr, src_addr),
                sizeof(addrs));
    uint32_t ports;  // the request's source then destination port: swapped
    std::memcpy(&ports, req_frame + detail::kFastUdp, sizeof(ports));
    detail::seal_from_template(m, t, port.tx_checksum_offload, mac, addrs >> 32 | addrs << 32,
                               ports >> 16 | ports << 16, request_id, text_len);
}

}  // namespace fulmar::net
