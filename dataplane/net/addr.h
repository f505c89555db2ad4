// A port's own addresses and the allowed-clients filter (the reflection guard).
//
// Plain data: built once by the control side at start-up (from the config),
// then read-only on every worker lcore, so it can sit in an LcoreConf or in
// shared memory. All addresses are in network byte order (rte_be32_t), as on
// the wire, so the classifier compares them without swapping; the UDP port is
// in host order because it is a configuration number, not a wire field.
//
// Dependency rule of dataplane/net: src/common, src/proto and DPDK only; no
// store, no engine, no sockets. Everything here is a pure function over mbufs.
#pragma once

#include <rte_byteorder.h>
#include <rte_ether.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace fulmar::net {

// Service addresses a port may answer for besides `ip` (shm::ServiceAddrs
// holds the same number).
inline constexpr size_t kMaxServiceAddrs = 8;

struct PortAddr {
    rte_ether_addr mac{};
    rte_be32_t ip = 0;
    rte_be32_t netmask = 0;
    // Service addresses (dataplane/README.md, "Service addresses"): ARP,
    // ICMP echo and the cache's UDP are answered for them as for `ip`, from
    // the address asked. The worker's own copy of the control plane's table.
    std::array<rte_be32_t, kMaxServiceAddrs> service{};
    uint32_t n_service = 0;
    // Cache UDP port, host order. Requests to [udp_port, udp_port +
    // n_udp_ports) are ours: with rte_flow steering each worker listens on its
    // own port of that range (design.md section 3); replies leave from the port
    // the request came to.
    uint16_t udp_port = 11211;
    uint16_t n_udp_ports = 1;
    // The device fills IPv4 and UDP checksums of what we send (TX offload
    // enabled): replies carry the flags and the pseudo-header sum only.
    bool tx_checksum_offload = false;
    // 802.1Q VLAN id of the port's network ([[ports]] vlan). 0: none
    // configured, frames are taken untagged or with one tag of any id (and
    // replies carry the request's tag). Else only frames tagged with this
    // id are ours; the rest are dropped as wrong_vlan.
    uint16_t vlan_id = 0;

    // Whether `addr` is one of ours. The port's own address is the first
    // compare; the service addresses cost one more (n_service != 0) only
    // for a frame to another address, and the scan is out of line so that
    // the classifier's fast path keeps its registers.
    bool owns(rte_be32_t addr) const { return addr == ip || (n_service != 0 && is_service(addr)); }
    [[gnu::noinline, gnu::cold]] bool is_service(rte_be32_t addr) const {
        for (uint32_t i = 0; i < n_service && i < kMaxServiceAddrs; i++) {
            if (service[i] == addr) return true;
        }
        return false;
    }
};

struct ClientPrefix {
    rte_be32_t net = 0;   // host bits already cleared
    rte_be32_t mask = 0;  // e.g. RTE_BE32(0xffffff00) for a /24
};

// Enough for any sane allow list; a fixed array keeps the filter plain data
// (no heap pointer that another process could not follow).
inline constexpr size_t kMaxClientPrefixes = 64;

// Who may get a UDP reply. A memcached reply can be ~100x its request, so an
// open UDP cache is a DDoS amplifier for spoofed sources; operators list the
// client networks. An empty list allows everyone (a lab default, loud in the
// config docs).
struct ClientFilter {
    std::array<ClientPrefix, kMaxClientPrefixes> prefixes{};
    uint32_t n_prefixes = 0;

    // Adds net/prefix_len (net in network order; host bits are cleared).
    // Returns false when the list is full or prefix_len > 32.
    bool add(rte_be32_t net, unsigned prefix_len) {
        if (prefix_len > 32 || n_prefixes == kMaxClientPrefixes) return false;
        const uint32_t host_mask = prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
        const rte_be32_t mask = rte_cpu_to_be_32(host_mask);
        prefixes[n_prefixes++] = ClientPrefix{net & mask, mask};
        return true;
    }

    // A linear scan: the list is a handful of entries and sits in one or two
    // cache lines; a trie would only pay off past a few hundred prefixes.
    bool allows(rte_be32_t src_ip) const {
        if (n_prefixes == 0) return true;
        for (uint32_t i = 0; i < n_prefixes; i++) {
            if ((src_ip & prefixes[i].mask) == prefixes[i].net) return true;
        }
        return false;
    }
};

}  // namespace fulmar::net
