// Bringing up the dataplane's port: probe the device, one RX and one TX
// queue per worker, RSS across workers where the PMD has it, the mbuf pool.
//
// Main lcore, at start-up and shutdown only.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "common/result.h"
#include "config/dataplane_config.h"
#include "net/addr.h"

namespace fulmar::dataplane {

struct Port {
    uint16_t port_id = 0;
    rte_mempool* pool = nullptr;
    net::PortAddr addr{};
    std::string name;
    bool rss = false;
    bool rx_checksum_offload = false;  // addr.tx_checksum_offload says TX
};

// Error text names the step and DPDK's reason.
Result<Port, std::string> open_port(const config::DataplaneConfig& cfg, size_t port_index);
void close_port(Port& p);
// "up 10000 Mbps full-duplex" or "down".
std::string link_text(uint16_t port_id);

}  // namespace fulmar::dataplane
