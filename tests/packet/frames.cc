// Frame crafting helpers for the packet tests; see frames.h.
#include "frames.h"

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <atomic>
#include <cstring>
#include <string>

namespace fulmar::net::test {
namespace {

void append(Bytes& b, const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
}

void append16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v & 0xff));
}

// Big-endian sum of the pseudo-header (src, dst, 0/proto, length).
uint32_t pseudo_sum(rte_be32_t src, rte_be32_t dst, uint8_t proto, uint16_t len) {
    const uint32_t s = rte_be_to_cpu_32(src);
    const uint32_t d = rte_be_to_cpu_32(dst);
    return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
}

uint16_t fold16(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

}  // namespace

PortAddr our_port() {
    PortAddr p;
    p.mac = kOurMac;
    p.ip = kOurIp;
    p.netmask = RTE_BE32(0xfffe0000);
    p.udp_port = kCachePort;
    return p;
}

uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial) {
    uint32_t sum = initial;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(data + i);
    if (len % 2) sum += static_cast<uint32_t>(data[len - 1]) << 8;
    return static_cast<uint16_t>(~fold16(sum));
}

void put16(Bytes& b, size_t off, uint16_t v) {
    b[off] = static_cast<uint8_t>(v >> 8);
    b[off + 1] = static_cast<uint8_t>(v & 0xff);
}

uint16_t get16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t get32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

Bytes eth(const EthSpec& spec, uint16_t ether_type, const Bytes& payload) {
    Bytes b;
    append(b, spec.dst.addr_bytes, 6);
    append(b, spec.src.addr_bytes, 6);
    if (spec.vlan_tci) {
        append16(b, RTE_ETHER_TYPE_VLAN);
        append16(b, *spec.vlan_tci);
    }
    append16(b, ether_type);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes arp(uint16_t op, const rte_ether_addr& sha, rte_be32_t spa, const rte_ether_addr& tha,
          rte_be32_t tpa) {
    Bytes b;
    append16(b, RTE_ARP_HRD_ETHER);
    append16(b, RTE_ETHER_TYPE_IPV4);
    b.push_back(6);
    b.push_back(4);
    append16(b, op);
    append(b, sha.addr_bytes, 6);
    append(b, &spa, 4);  // already network order
    append(b, tha.addr_bytes, 6);
    append(b, &tpa, 4);
    return b;
}

Bytes ipv4(const Ipv4Spec& spec, const Bytes& payload) {
    const size_t hlen = 20 + spec.options.size();
    const uint8_t ihl = spec.ihl.value_or(static_cast<uint8_t>(hlen / 4));
    Bytes b;
    b.push_back(static_cast<uint8_t>((spec.version << 4) | (ihl & 0xf)));
    b.push_back(0);  // TOS
    append16(b, spec.total_length.value_or(static_cast<uint16_t>(hlen + payload.size())));
    append16(b, 0x1234);  // id
    append16(b, spec.frag);
    b.push_back(spec.ttl);
    b.push_back(spec.proto);
    append16(b, 0);  // checksum, below
    append(b, &spec.src, 4);
    append(b, &spec.dst, 4);
    b.insert(b.end(), spec.options.begin(), spec.options.end());
    uint16_t cks = inet_checksum(b.data(), hlen);
    if (spec.corrupt_checksum) cks ^= 0x5a5a;
    put16(b, 10, cks);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes udp(const UdpSpec& spec, const Ipv4Spec& ip, const Bytes& payload) {
    const auto len = static_cast<uint16_t>(8 + payload.size());
    Bytes b;
    append16(b, spec.sport);
    append16(b, spec.dport);
    append16(b, spec.length.value_or(len));
    append16(b, 0);
    b.insert(b.end(), payload.begin(), payload.end());
    const uint32_t pseudo = pseudo_sum(ip.src, ip.dst, IPPROTO_UDP, len);
    uint16_t cks = 0;
    switch (spec.csum) {
        case UdpCsum::kZero:
            break;
        case UdpCsum::kPartial:
            // What Linux leaves for the NIC: the folded pseudo-header sum.
            cks = fold16(pseudo);
            break;
        case UdpCsum::kCorrect:
        case UdpCsum::kWrong:
            cks = inet_checksum(b.data(), b.size(), pseudo);
            if (cks == 0) cks = 0xffff;
            if (spec.csum == UdpCsum::kWrong) cks ^= 0x0101;
            break;
    }
    put16(b, 6, cks);
    return b;
}

Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& data,
           bool corrupt_checksum) {
    Bytes b{type, code, 0, 0};
    append16(b, id);
    append16(b, seq);
    b.insert(b.end(), data.begin(), data.end());
    uint16_t cks = inet_checksum(b.data(), b.size());
    if (corrupt_checksum) cks ^= 0x00ff;
    put16(b, 2, cks);
    return b;
}

Bytes mc_request(uint16_t request_id, std::string_view text) {
    Bytes b;
    append16(b, request_id);
    append16(b, 0);
    append16(b, 1);
    append16(b, 0);
    append(b, text.data(), text.size());
    return b;
}

Bytes udp_request_frame(const RequestSpec& spec) {
    Ipv4Spec ip = spec.ip;
    ip.proto = IPPROTO_UDP;
    return eth(spec.eth, RTE_ETHER_TYPE_IPV4,
               ipv4(ip, udp(spec.udp, ip, mc_request(spec.request_id, spec.text))));
}

Bytes to_bytes(const rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    return Bytes(p, p + rte_pktmbuf_data_len(m));
}

rte_mbuf* to_mbuf(rte_mempool* pool, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    // (An empty frame's data() may be null: memcpy must not see it.)
    if (!frame.empty()) std::memcpy(p, frame.data(), frame.size());
    return m;
}

void PacketTest::SetUp() {
    static std::atomic<int> n_pools{0};
    const std::string name = "pkt_test_" + std::to_string(n_pools++);
    // No per-lcore cache: the leak check in TearDown counts the pool itself.
    pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno);
}

void PacketTest::TearDown() {
    if (pool_ == nullptr) return;
    EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize) << "mbufs leaked";
    rte_mempool_free(pool_);
}

RxAction PacketTest::classify_bytes(const Bytes& frame, DropReason& why) {
    rte_mbuf* m = mbuf(frame);
    EXPECT_NE(m, nullptr);
    UdpRequest req;
    const RxAction a = classify(m, port_, filter_, req, why);
    rte_pktmbuf_free(m);
    return a;
}

}  // namespace fulmar::net::test
