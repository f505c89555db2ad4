// Request frames (checksums from the template's precomputed sums) and the
// reply matcher (what it accepts, and that anything off goes to classify).
// mbufs are plain structs over a local buffer: no EAL needed.
#include "frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "net/checksum.h"

namespace fulmar::pktgen {
namespace {

struct FakeMbuf {
    FakeMbuf() {
        m.buf_addr = buf.data();
        m.buf_len = static_cast<uint16_t>(buf.size());
        m.data_off = RTE_PKTMBUF_HEADROOM;
        m.nb_segs = 1;
    }
    alignas(64) std::array<uint8_t, 2048> buf{};
    rte_mbuf m{};
};

Flow flow() {
    Flow f;
    f.src_mac = {{0x02, 0, 0, 0, 0, 0x02}};
    f.dst_mac = {{0x02, 0, 0, 0, 0, 0x01}};
    f.src_ip = rte_cpu_to_be_32(0xC6120002);
    f.dst_ip = rte_cpu_to_be_32(0xC6120001);
    f.src_port = 40000;
    f.dst_port = 11211;
    return f;
}

rte_ipv4_hdr* ip_of(rte_mbuf* m) {
    return rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
}
rte_udp_hdr* udp_of(rte_mbuf* m) {
    return reinterpret_cast<rte_udp_hdr*>(ip_of(m) + 1);
}

void build(const RequestFrame& rf, FakeMbuf& fm, const std::string& payload) {
    std::memcpy(RequestFrame::payload(&fm.m), payload.data(), payload.size());
    rf.finish(&fm.m, payload.size());
}

// What testpmd's 5tswap does to a frame.
void reflect(rte_mbuf* m) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    std::swap(eth->src_addr, eth->dst_addr);
    rte_ipv4_hdr* ip = ip_of(m);
    const rte_be32_t a = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = a;
    rte_udp_hdr* udp = udp_of(m);
    const rte_be16_t p = udp->src_port;
    udp->src_port = udp->dst_port;
    udp->dst_port = p;
}

TEST(RequestFrame, ChecksumsEqualAFullSumAtEveryLength) {
    const RequestFrame rf(flow());
    for (size_t len = 0; len < 200; len++) {
        FakeMbuf fm;
        std::string payload;
        for (size_t i = 0; i < len; i++)
            payload += static_cast<char>(i * 37 + len);
        build(rf, fm, payload);
        rte_ipv4_hdr* ip = ip_of(&fm.m);
        rte_udp_hdr* udp = udp_of(&fm.m);
        EXPECT_EQ(fm.m.data_len, RequestFrame::kHeaderLen + len);
        EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 28 + len);
        EXPECT_EQ(rte_be_to_cpu_16(udp->dgram_len), 8 + len);
        const uint16_t ip_ck = ip->hdr_checksum;
        const uint16_t udp_ck = udp->dgram_cksum;
        ip->hdr_checksum = 0;
        udp->dgram_cksum = 0;
        EXPECT_EQ(ip_ck, net::ipv4_header_checksum(ip)) << len;
        EXPECT_EQ(udp_ck, net::udp_checksum(ip, udp, static_cast<uint32_t>(8 + len))) << len;
    }
}

// The template path writes exactly the frame the generic path builds
// (format_get, the frame header, finish), checksums included.
TEST(GetFrame, IsByteForByteTheGenericFrame) {
    // 16-byte keys take the inline path (digits and sum in registers): all
    // ten digits are exercised with a key count past 10^8.
    for (const auto& [key_len, n_keys] :
         std::vector<std::pair<uint32_t, uint64_t>>{{6, 100'000},
                                                    {16, 100'000},
                                                    {16, 4'100'000'000},
                                                    {17, 100'000},
                                                    {100, 100'000},
                                                    {250, 100'000}}) {
        WorkloadParams p;
        p.n_keys = n_keys;
        p.key_len = key_len;
        const Workload w = Workload::create(p).value();
        const RequestFrame rf(flow());
        const GetFrame gf(flow(), w);
        for (uint32_t key : {0u, 1u, 4321u, 99'999u, 123'456'789u, 4'000'000'000u}) {
            if (key >= p.n_keys) continue;
            for (uint16_t id : {0, 1, 0x1234, 0xffff}) {
                FakeMbuf want, got;
                char* payload = RequestFrame::payload(&want.m);
                const uint32_t keys[1] = {key};
                const size_t text = w.format_get(keys, payload + 8);
                const uint8_t header[8] = {
                    static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 0, 0, 1, 0, 0};
                std::memcpy(payload, header, 8);
                rf.finish(&want.m, 8 + text);
                gf.fill(&got.m, id, key);
                ASSERT_EQ(got.m.data_len, want.m.data_len);
                EXPECT_EQ(got.m.pkt_len, want.m.pkt_len);
                EXPECT_EQ(got.m.packet_type, want.m.packet_type);
                EXPECT_EQ(0, std::memcmp(rte_pktmbuf_mtod(&got.m, void*),
                                         rte_pktmbuf_mtod(&want.m, void*), want.m.data_len))
                    << "key_len " << key_len << " key " << key << " id " << id;
            }
        }
    }
}

TEST(ReplyMatcher, TakesReflectedFramesToOurPorts) {
    Flow f = flow();
    const ReplyMatcher matcher(f, 40000, 4);
    for (uint16_t port : {40000, 40003}) {
        f.src_port = port;
        const RequestFrame rf(f);
        FakeMbuf fm;
        build(rf, fm, std::string("\0\1\0\0\0\1\0\0get k1\r\n", 16));
        reflect(&fm.m);
        std::span<const std::byte> payload;
        uint16_t dst = 0;
        ASSERT_TRUE(matcher.match(&fm.m, payload, dst));
        EXPECT_EQ(dst, port);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()),
                  std::string("\0\1\0\0\0\1\0\0get k1\r\n", 16));
    }
}

TEST(ReplyMatcher, LeavesAnythingElseToClassify) {
    const Flow f = flow();
    const RequestFrame rf(f);
    const ReplyMatcher matcher(f, 40000, 1);
    using Change = void (*)(rte_mbuf*);
    const std::vector<std::pair<const char*, Change>> changes = {
        {"payload byte (bad UDP checksum)",
         [](rte_mbuf* m) { rte_pktmbuf_mtod_offset(m, uint8_t*, 45)[0] ^= 1; }},
        {"IP header byte (bad IP checksum)", [](rte_mbuf* m) { ip_of(m)->time_to_live--; }},
        {"no UDP checksum", [](rte_mbuf* m) { udp_of(m)->dgram_cksum = 0; }},
        {"another source port", [](rte_mbuf* m) { udp_of(m)->src_port = RTE_BE16(11212); }},
        {"a port not ours", [](rte_mbuf* m) { udp_of(m)->dst_port = RTE_BE16(40001); }},
        {"another source address",
         [](rte_mbuf* m) { ip_of(m)->src_addr = rte_cpu_to_be_32(0xC6120009); }},
        {"a fragment",
         [](rte_mbuf* m) { ip_of(m)->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG); }},
        {"IP options", [](rte_mbuf* m) { ip_of(m)->version_ihl = 0x46; }},
        {"another MAC",
         [](rte_mbuf* m) { rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr.addr_bytes[5] = 9; }},
        {"truncated", [](rte_mbuf* m) { m->data_len = static_cast<uint16_t>(m->data_len - 1); }},
        {"UDP length short of IP's",
         [](rte_mbuf* m) { udp_of(m)->dgram_len = rte_cpu_to_be_16(8); }},
        {"device says bad UDP checksum",
         [](rte_mbuf* m) { m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD; }},
        {"two segments", [](rte_mbuf* m) { m->nb_segs = 2; }},
    };
    for (const auto& [what, change] : changes) {
        FakeMbuf fm;
        build(rf, fm, std::string("\0\1\0\0\0\1\0\0END\r\n", 13));
        reflect(&fm.m);
        change(&fm.m);
        std::span<const std::byte> payload;
        uint16_t dst = 0;
        EXPECT_FALSE(matcher.match(&fm.m, payload, dst)) << what;
    }
    // A device that verified the checksums is believed.
    FakeMbuf fm;
    build(rf, fm, std::string("\0\1\0\0\0\1\0\0END\r\n", 13));
    reflect(&fm.m);
    rte_pktmbuf_mtod_offset(&fm.m, uint8_t*, 45)[0] ^= 1;
    fm.m.ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    std::span<const std::byte> payload;
    uint16_t dst = 0;
    EXPECT_TRUE(matcher.match(&fm.m, payload, dst));
}

}  // namespace
}  // namespace fulmar::pktgen
