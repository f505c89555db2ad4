// Port bring-up for fulmar-pktgen: --queues RX and TX queue pairs on any DPDK port
// (a net_memif client to a local dataplane, or a NIC), its mbuf pool, the
// wait for link, and ARP resolution of the server's MAC.
//
// Start-up and shut-down only, on the main lcore.
#pragma once

#include <rte_ether.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "options.h"

namespace fulmar::pktgen {

struct Port {
    uint16_t port_id = 0;
    std::string name;
    rte_mempool* pool = nullptr;
    rte_ether_addr mac{};
};

// Configures and starts o.port_id with o.queues queue pairs (RSS when the
// device has it and there are several) and one mbuf pool for all, then waits up to
// 10 s for link up (a memif client is up once the server accepted it).
Result<Port, std::string> open_port(const Options& o);
void close_port(Port& p);

// Asks for dst_ip's MAC every 100 ms until a reply, for up to `seconds`, on queue 0.
// The retries also absorb the first burst a fresh memif link may lose.
Result<rte_ether_addr, std::string> arp_resolve(const Port& p, uint32_t src_ip_host,
                                                uint32_t dst_ip_host, double seconds);

std::string format_mac(const rte_ether_addr& m);

}  // namespace fulmar::pktgen
