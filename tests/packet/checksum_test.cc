// Our checksum sums against DPDK's: every length and alignment up to a jumbo
// frame, and UDP checksums over random datagrams.
#include <rte_ip.h>
#include <rte_udp.h>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "net/checksum.h"

namespace fulmar::net {
namespace {

TEST(Checksum, RawSumFoldsLikeDpdk) {
    std::mt19937 rng(1);
    std::vector<uint8_t> buf(9100);
    for (auto& b : buf)
        b = static_cast<uint8_t>(rng());
    for (size_t off = 0; off < 8; ++off) {
        for (size_t len = 0; len < 300; ++len)
            ASSERT_EQ(fold(raw_sum(buf.data() + off, len)), rte_raw_cksum(buf.data() + off, len))
                << off << " " << len;
        ASSERT_EQ(fold(raw_sum(buf.data() + off, 9000)), rte_raw_cksum(buf.data() + off, 9000));
    }
    std::vector<uint8_t> ones(1500, 0xff);
    EXPECT_EQ(fold(raw_sum(ones.data(), ones.size())), rte_raw_cksum(ones.data(), ones.size()));
}

// The pseudo-header sum, summed in memory order, is the very value of the
// reference (host-order words, one swap), not just the same modulo 0xffff:
// random addresses and every UDP length, and the edges (all zero, all ones).
TEST(Checksum, PseudoHeaderSumIsTheReferenceValue) {
    const auto reference = [](rte_be32_t src, rte_be32_t dst, uint8_t proto, uint32_t len) {
        const uint32_t s = rte_be_to_cpu_32(src);
        const uint32_t d = rte_be_to_cpu_32(dst);
        const uint32_t host = (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
        return uint32_t{rte_cpu_to_be_16(fold(host))};
    };
    std::mt19937 rng(3);
    for (uint32_t len = 0; len <= 0xffff; ++len) {
        const rte_be32_t src = rng();
        const rte_be32_t dst = rng();
        ASSERT_EQ(pseudo_header_sum(src, dst, IPPROTO_UDP, len),
                  reference(src, dst, IPPROTO_UDP, len))
            << src << " " << dst << " " << len;
    }
    for (const rte_be32_t a : {0u, 0xffffffffu, 0xffff0000u, 0x0000ffffu})
        for (const rte_be32_t b : {0u, 0xffffffffu, 0x00ff00ffu})
            for (const uint32_t len : {0u, 8u, 0xffeeu, 0xffffu})
                for (const uint8_t proto : {uint8_t{0}, uint8_t{IPPROTO_UDP}, uint8_t{0xff}})
                    ASSERT_EQ(pseudo_header_sum(a, b, proto, len), reference(a, b, proto, len))
                        << a << " " << b << " " << len << " " << int{proto};
}

TEST(Checksum, UdpAndIpChecksumsVerifyWithDpdk) {
    std::mt19937 rng(2);
    for (int i = 0; i < 2000; ++i) {
        const size_t payload = rng() % 1473;
        std::vector<uint8_t> frame(sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr) + payload);
        for (auto& b : frame)
            b = static_cast<uint8_t>(rng());
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame.data());
        auto* udp = reinterpret_cast<rte_udp_hdr*>(frame.data() + sizeof(rte_ipv4_hdr));
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->next_proto_id = IPPROTO_UDP;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(frame.size()));
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload));
        ip->hdr_checksum = 0;
        udp->dgram_cksum = 0;
        ip->hdr_checksum = ipv4_header_checksum(ip);
        udp->dgram_cksum = udp_checksum(ip, udp, sizeof(rte_udp_hdr) + payload);
        ASSERT_EQ(rte_ipv4_cksum(ip), 0);
        ASSERT_NE(udp->dgram_cksum, 0);
        ASSERT_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0);
    }
}

}  // namespace
}  // namespace fulmar::net
