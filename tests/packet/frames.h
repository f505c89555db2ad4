// Test helpers: frames crafted byte by byte (Ethernet, VLAN, ARP, IPv4, ICMP,
// UDP, memcached frame), with each field overridable to build broken ones, a
// mempool fixture, and mbuf <-> bytes conversion.
//
// Checksums here are computed by their own code (not DPDK's), so a bug in the
// library's use of rte_*_cksum cannot cancel out in the tests.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "net/addr.h"
#include "net/classify.h"

namespace fulmar::net::test {

using Bytes = std::vector<uint8_t>;

inline constexpr rte_ether_addr kOurMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr rte_ether_addr kPeerMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr rte_ether_addr kOtherMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x03}};
inline constexpr rte_ether_addr kBroadcastMac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline constexpr rte_be32_t kOurIp = RTE_BE32(RTE_IPV4(198, 18, 0, 1));
inline constexpr rte_be32_t kPeerIp = RTE_BE32(RTE_IPV4(198, 18, 0, 2));
inline constexpr rte_be32_t kOtherIp = RTE_BE32(RTE_IPV4(198, 18, 0, 3));
inline constexpr uint16_t kCachePort = 11211;
inline constexpr uint16_t kPeerPort = 40000;

PortAddr our_port();

// Internet checksum of big-endian 16-bit words (RFC 1071), complemented.
uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t initial = 0);
void put16(Bytes& b, size_t off, uint16_t v);  // big-endian store
uint16_t get16(const uint8_t* p);              // big-endian load
uint32_t get32(const uint8_t* p);

struct EthSpec {
    rte_ether_addr dst = kOurMac;
    rte_ether_addr src = kPeerMac;
    std::optional<uint16_t> vlan_tci;  // one 802.1Q tag
};
Bytes eth(const EthSpec& spec, uint16_t ether_type, const Bytes& payload);

Bytes arp(uint16_t op, const rte_ether_addr& sha, rte_be32_t spa, const rte_ether_addr& tha,
          rte_be32_t tpa);

struct Ipv4Spec {
    uint8_t version = 4;
    std::optional<uint8_t> ihl;  // default: 5 + options / 4
    Bytes options;               // multiple of 4 bytes
    uint16_t frag = 0x4000;      // flags + offset, host order (DF by default)
    std::optional<uint16_t> total_length;
    uint8_t proto = IPPROTO_UDP;
    uint8_t ttl = 64;
    rte_be32_t src = kPeerIp;
    rte_be32_t dst = kOurIp;
    bool corrupt_checksum = false;
};
Bytes ipv4(const Ipv4Spec& spec, const Bytes& payload);

enum class UdpCsum { kCorrect, kZero, kPartial, kWrong };
struct UdpSpec {
    uint16_t sport = kPeerPort;
    uint16_t dport = kCachePort;
    UdpCsum csum = UdpCsum::kCorrect;
    std::optional<uint16_t> length;
};
// The pseudo-header uses ip.src/ip.dst.
Bytes udp(const UdpSpec& spec, const Ipv4Spec& ip, const Bytes& payload);

Bytes icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& data,
           bool corrupt_checksum = false);

// memcached request datagram: frame header {id, 0, 1, 0} + text.
Bytes mc_request(uint16_t request_id, std::string_view text);

// A whole, valid memcached UDP request frame to us.
struct RequestSpec {
    EthSpec eth;
    Ipv4Spec ip;
    UdpSpec udp;
    uint16_t request_id = 7;
    std::string_view text = "get foo\r\n";
};
Bytes udp_request_frame(const RequestSpec& spec);

Bytes to_bytes(const rte_mbuf* m);  // first segment only
rte_mbuf* to_mbuf(rte_mempool* pool, const Bytes& frame);

// A fresh pool per test; checks in TearDown that every mbuf came back.
class PacketTest : public ::testing::Test {
  protected:
    static constexpr unsigned kPoolSize = 1023;
    void SetUp() override;
    void TearDown() override;

    rte_mbuf* mbuf(const Bytes& frame) { return to_mbuf(pool_, frame); }
    RxAction classify_bytes(const Bytes& frame, DropReason& why);

    rte_mempool* pool_ = nullptr;
    PortAddr port_ = our_port();
    ClientFilter filter_{};
};

}  // namespace fulmar::net::test
