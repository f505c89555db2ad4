// Frames the generator sends and the ARP exchange that finds the server.
//
// Owned by the generator's lcore; no allocation besides mbufs from the pool
// given. Request frames are built in place: the memcached request is
// formatted straight into the mbuf and the headers are stamped around it.
// (net::build_udp_reply would take the payload as a span and copy it; the
// checksums here are computed the same way, in software, so any PMD works.)
//
//   0        14             34        42         50
//   +--------+--------------+---------+----------+---------------------+
//   | Ether  | IPv4, DF,    | UDP     | memcached| get/set text        |
//   | to dst | TTL 64, id 0 | csum    | id,0,1,0 |                     |
//   +--------+--------------+---------+----------+---------------------+
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/checksum.h"
#include "workload.h"

namespace fulmar::pktgen {

// One flow's addresses; IPv4 in network order, ports in host order.
struct Flow {
    rte_ether_addr src_mac{};
    rte_ether_addr dst_mac{};
    rte_be32_t src_ip = 0;
    rte_be32_t dst_ip = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
};

class RequestFrame {
  public:
    static constexpr size_t kHeaderLen =
        sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);

    explicit RequestFrame(const Flow& f);

    // Where the UDP payload of a frame in `m` (empty, fresh from the pool)
    // starts. The caller writes at most payload_room(m) bytes there.
    static char* payload(rte_mbuf* m) { return rte_pktmbuf_mtod_offset(m, char*, kHeaderLen); }
    static size_t payload_room(const rte_mbuf* m) {
        const size_t room = rte_pktmbuf_tailroom(m);
        return room > kHeaderLen ? room - kHeaderLen : 0;
    }
    // Writes the headers in front of `payload_len` bytes of UDP payload and
    // sets the mbuf's lengths.
    void finish(rte_mbuf* m, size_t payload_len) const;

  private:
    std::array<uint8_t, kHeaderLen> header_{};
    // Non-complemented sums of the template with its length fields at 0:
    // the IPv4 header, and the UDP header with the pseudo-header. finish()
    // adds the lengths and the payload (RFC 1624: a sum is the sum of its
    // parts), so only the payload is summed per frame.
    uint32_t ip_sum_ = 0;
    uint32_t udp_sum_ = 0;
};

// A get of one key, the request most runs send: the whole frame is a
// template but for the memcached request id and the key's digits, so a
// frame is one copy, two patches, and a UDP checksum from the template's
// sum plus the patched words (RFC 1624). IP's checksum never changes.
class GetFrame {
  public:
    GetFrame(const Flow& f, const Workload& w);
    // Writes the get of `key` with request id `id` into `m` (empty, fresh
    // from the pool) and sets its lengths. Copies max(frame_len(), 128)
    // bytes: every pool here has RTE_MBUF_DEFAULT_BUF_SIZE data rooms.
    void fill(rte_mbuf* m, uint16_t id, uint32_t key) const {
        if (!key16_) return fill_any(m, id, key);
        // 16-byte keys (the default), inline: the key's two words are made
        // in registers, stored, and summed from the registers (two adds
        // with the carry, not a pass over the bytes).
        auto* p = rte_pktmbuf_mtod(m, uint8_t*);
        std::memcpy(p, t_.data(), kFixedCopy);
        // __builtin_bswap16, not rte_cpu_to_be_16: DPDK's is an asm xchg that
        // pins registers.
        const rte_be16_t be_id = __builtin_bswap16(id);
        std::memcpy(p + RequestFrame::kHeaderLen, &be_id, 2);
        uint64_t head, tail;
        Workload::key16_words(key, head, tail);
        std::memcpy(p + kKeyOffset, &head, 8);
        std::memcpy(p + kKeyOffset + 8, &tail, 8);
        // The key starts at an even offset of the datagram: its words are
        // the datagram's words.
        const uint64_t s = head + tail;
        uint64_t t = (s & 0xffffffff) + (s >> 32) + (s < head);
        t = (t & 0xffffffff) + (t >> 32);
        finish_fixed(p, m, sum_ + be_id + static_cast<uint32_t>(t));
    }
    size_t frame_len() const { return len_; }

  private:
    // Any key length.
    void fill_any(rte_mbuf* m, uint16_t id, uint32_t key) const;
    // Stores the UDP checksum of datagram sum `sum` and the lengths.
    void finish_fixed(uint8_t* p, rte_mbuf* m, uint32_t sum) const {
        const uint16_t c = static_cast<uint16_t>(~net::fold(sum));
        const uint16_t ck = c == 0 ? 0xffff : c;
        std::memcpy(p + sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + 6, &ck, 2);
        const auto len = static_cast<uint16_t>(len_);
        m->data_len = len;
        m->pkt_len = len;
        m->l2_len = sizeof(rte_ether_hdr);
        m->l3_len = sizeof(rte_ipv4_hdr);
        m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_UDP;
    }

    // Frames up to this size are copied with one fixed-size copy.
    static constexpr size_t kFixedCopy = 128;
    static constexpr size_t kKeyOffset = RequestFrame::kHeaderLen + 8 + 4;  // after "get "

    const Workload& w_;
    alignas(64) std::array<uint8_t, RequestFrame::kHeaderLen + 8 + 4 + kMaxKeyLen + 2> t_{};
    size_t len_ = 0;
    bool key16_ = false;  // 16-byte keys and a frame within kFixedCopy
    // Non-complemented UDP sum (pseudo-header included) of the template
    // with id and key bytes 0.
    uint32_t sum_ = 0;
};

// The frames the generator expects back, recognised with a few compares
// instead of net::classify's full parse: one segment, to our MAC, IPv4
// without options or fragments, UDP from the server's address and port to
// one of our n_ports ports, lengths consistent, and both checksums right
// (summed here unless the device vouched for them). Anything else (ARP, a
// datagram without a checksum, a bad one, padding) is not matched and goes
// to net::classify, which accepts or counts it as before.
class ReplyMatcher {
  public:
    ReplyMatcher(const Flow& f, uint16_t first_port, uint16_t n_ports);

    // True, with the UDP payload and its destination port (host order),
    // when `m` is such a reply.
    bool match(const rte_mbuf* m, std::span<const std::byte>& payload, uint16_t& dst_port) const;

  private:
    rte_ether_addr mac_{};
    rte_be32_t our_ip_ = 0;
    rte_be32_t server_ip_ = 0;
    rte_be16_t server_port_ = 0;
    uint16_t first_port_ = 0;
    uint16_t n_ports_ = 0;
    uint32_t pseudo_sum_ = 0;  // the pseudo-header's addresses and protocol
};

// True, with `mac`, when `m` is an ARP reply from `from_ip` to `to_ip`.
bool is_arp_reply(const rte_mbuf* m, rte_be32_t from_ip, rte_be32_t to_ip, rte_ether_addr& mac);

}  // namespace fulmar::pktgen
