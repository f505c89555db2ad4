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
