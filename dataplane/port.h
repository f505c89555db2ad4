// Bringing up the dataplane's port: probe the device, one RX and one TX
// queue per worker, RSS across workers where the PMD has it, the mbuf pool;
// and its kernel side when [[ports]] kernel_device is set (the exception
// path: a net_tap whose kernel interface holds the port's MAC and address,
// one RX and one TX queue per worker, mbufs from the port's pool).
//
// Main lcore, at start-up and shutdown only.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/dataplane_config.h"
#include "net/addr.h"

namespace fulmar::dataplane {

// The port's kernel side: a DPDK port whose other end is a kernel
// interface that the control plane's sockets see.
struct KernelSide {
    uint16_t port_id = 0;
    std::string name;    // the vdev's name, "net_tap1"
    std::string ifname;  // the kernel interface, "fulmark0"
};

struct Port {
    uint16_t port_id = 0;
    rte_mempool* pool = nullptr;
    net::PortAddr addr{};
    std::string name;
    bool rss = false;
    bool rx_checksum_offload = false;  // addr.tx_checksum_offload says TX
    std::optional<KernelSide> kernel;  // the exception path, when configured
};

// Opens the port and, when configured, its kernel side (configured, started,
// its interface up with the port's MAC, MTU and address); on an error
// nothing is left open. Error text names the step and DPDK's reason.
Result<Port, std::string> open_port(const config::DataplaneConfig& cfg, size_t port_index);
// The kernel side first (its queues hold mbufs of the port's pool).
void close_port(Port& p);
// "kernel side fulmark0 (net_tap1, port 1) holds 198.18.0.1/24", for the
// start-up line; "" without one.
std::string kernel_text(const Port& p, const config::PortConfig& pc);
// "up 10000 Mbps full-duplex" or "down".
std::string link_text(uint16_t port_id);

}  // namespace fulmar::dataplane
