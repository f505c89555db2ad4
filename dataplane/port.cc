// Port bring-up; see port.h.
#include "port.h"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>

#include "shm/layout.h"

namespace fulmar::dataplane {
namespace {

// Reply datagrams in flight per worker besides the RX/TX rings: a 4 MiB
// reply is ~3,000 datagrams.
constexpr uint32_t kReplyMbufsPerWorker = 4096;

std::string dpdk_error(int rc) {
    return rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

std::string link_text(uint16_t port_id) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_id, &link) != 0 || !link.link_status) return "down";
    return fmt::format(
        "up {} Mbps {}", link.link_speed,
        link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full-duplex" : "half-duplex");
}

Result<Port, std::string> open_port(const config::DataplaneConfig& cfg, size_t port_index) {
    const config::PortConfig& pc = cfg.ports[port_index];
    Port p;
    // A vdev is "name,args": created here rather than with --vdev so the
    // config file alone says what the appliance serves.
    const std::string& dev = pc.device;
    const auto comma = dev.find(',');
    p.name = dev.substr(0, comma);
    // rte_dev_probe finds the bus from the name: a vdev is created, a PCI
    // device attached (unless EAL already did, from --vdev or -a).
    if (rte_eth_dev_get_port_by_name(p.name.c_str(), &p.port_id) != 0) {
        const int rc = rte_dev_probe(dev.c_str());
        if (rc != 0)
            return Err(
                fmt::format("ports[{}]: cannot probe {}: {}", port_index, dev, dpdk_error(rc)));
    }
    if (rte_eth_dev_get_port_by_name(p.name.c_str(), &p.port_id) != 0)
        return Err(fmt::format("ports[{}]: no ethdev named {}", port_index, p.name));

    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(p.port_id, &info); rc != 0)
        return Err(fmt::format("{}: dev_info: {}", p.name, dpdk_error(rc)));
    const auto n_queues = static_cast<uint16_t>(cfg.workers.size());
    if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues)
        return Err(fmt::format("{}: {} workers need {} queues, the device has {} RX / {} TX",
                               p.name, n_queues, n_queues, info.max_rx_queues, info.max_tx_queues));

    rte_eth_conf conf{};
    const uint64_t rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    if (n_queues > 1 && rss_hf != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        p.rss = true;
    }
    // Checksums by the device only where it does both IPv4 and UDP, each way.
    constexpr uint64_t kTxCksum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    constexpr uint64_t kRxCksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if (pc.checksum_offload && (info.tx_offload_capa & kTxCksum) == kTxCksum) {
        conf.txmode.offloads |= kTxCksum;
        p.addr.tx_checksum_offload = true;
    }
    if (pc.checksum_offload && (info.rx_offload_capa & kRxCksum) == kRxCksum) {
        conf.rxmode.offloads |= kRxCksum;
        p.rx_checksum_offload = true;
    }
    if (int rc = rte_eth_dev_configure(p.port_id, n_queues, n_queues, &conf); rc != 0)
        return Err(fmt::format("{}: configure: {}", p.name, dpdk_error(rc)));
    if (pc.mtu) {
        if (int rc = rte_eth_dev_set_mtu(p.port_id, *pc.mtu); rc != 0)
            return Err(fmt::format("{}: mtu {}: {}", p.name, *pc.mtu, dpdk_error(rc)));
    }
    uint16_t rx_desc = cfg.rx_desc, tx_desc = cfg.tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &rx_desc, &tx_desc);

    const int socket = rte_eth_dev_socket_id(p.port_id);
    uint32_t n_mbufs = cfg.mbufs_per_port;
    if (n_mbufs == 0)
        n_mbufs =
            (uint32_t{rx_desc} + tx_desc + 2u * cfg.burst_size + kReplyMbufsPerWorker) * n_queues;
    p.pool = rte_pktmbuf_pool_create(shm::mbuf_pool_name(port_index).c_str(), n_mbufs,
                                     std::min<unsigned>(256, RTE_MEMPOOL_CACHE_MAX_SIZE), 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (p.pool == nullptr)
        return Err(fmt::format("{}: mbuf pool of {}: {}", p.name, n_mbufs, dpdk_error(rte_errno)));
    for (uint16_t q = 0; q < n_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(p.port_id, q, rx_desc, socket, nullptr, p.pool);
            rc != 0)
            return Err(fmt::format("{}: rx queue {}: {}", p.name, q, dpdk_error(rc)));
        if (int rc = rte_eth_tx_queue_setup(p.port_id, q, tx_desc, socket, nullptr); rc != 0)
            return Err(fmt::format("{}: tx queue {}: {}", p.name, q, dpdk_error(rc)));
    }
    if (pc.mac) {
        rte_ether_addr mac;
        std::copy(pc.mac->bytes.begin(), pc.mac->bytes.end(), mac.addr_bytes);
        // Some PMDs (memif) have no settable MAC: keep theirs and say so, as
        // the address only matters to peers that learn it by ARP anyway.
        if (int rc = rte_eth_dev_default_mac_addr_set(p.port_id, &mac); rc == -ENOTSUP)
            fmt::print(stderr,
                       "fulmar-dataplane: {}: this device cannot take mac = ...; "
                       "keeping its own\n",
                       p.name);
        else if (rc != 0)
            return Err(fmt::format("{}: mac: {}", p.name, dpdk_error(rc)));
    }
    if (int rc = rte_eth_dev_start(p.port_id); rc != 0)
        return Err(fmt::format("{}: start: {}", p.name, dpdk_error(rc)));
    rte_eth_macaddr_get(p.port_id, &p.addr.mac);
    p.addr.ip = rte_cpu_to_be_32(pc.ipv4.addr);
    p.addr.netmask = rte_cpu_to_be_32(pc.ipv4.mask());
    p.addr.udp_port = cfg.udp_port;
    p.addr.n_udp_ports = 1;
    p.addr.vlan_id = pc.vlan.value_or(0);
    return p;
}

void close_port(Port& p) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
    if (p.pool != nullptr) rte_mempool_free(p.pool);
    p.pool = nullptr;
}

}  // namespace fulmar::dataplane
