// Port bring-up and ARP; see port.h.
#include "port.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fmt/core.h>

#include "frame.h"
#include "net/reply.h"

namespace fulmar::pktgen {
namespace {

std::string dpdk_error(int rc) {
    return rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

std::string format_mac(const rte_ether_addr& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m.addr_bytes[0],
                       m.addr_bytes[1], m.addr_bytes[2], m.addr_bytes[3], m.addr_bytes[4],
                       m.addr_bytes[5]);
}

Result<Port, std::string> open_port(const Options& o) {
    Port p;
    p.port_id = o.port_id;
    if (!rte_eth_dev_is_valid_port(p.port_id))
        return Err(fmt::format("no DPDK port {} (give EAL --vdev=... or -a <pci>)", p.port_id));
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(p.port_id, name) == 0) p.name = name;

    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(p.port_id, &info); rc != 0)
        return Err(fmt::format("{}: dev_info: {}", p.name, dpdk_error(rc)));
    rte_eth_conf conf{};
    const auto n_queues = static_cast<uint16_t>(o.queues);
    if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues)
        return Err(fmt::format("{}: --queues {}: the device has {} RX / {} TX queues", p.name,
                               n_queues, info.max_rx_queues, info.max_tx_queues));
    if (n_queues > 1 && (info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP))) {
        // A NIC spreads the replies by their flow (our src port + q); any
        // that land on the wrong queue are handed over in software.
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    }
    if (int rc = rte_eth_dev_configure(p.port_id, n_queues, n_queues, &conf); rc != 0)
        return Err(fmt::format("{}: configure: {}", p.name, dpdk_error(rc)));
    uint16_t rx_desc = o.rx_desc, tx_desc = o.tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &rx_desc, &tx_desc);
    const int socket = rte_eth_dev_socket_id(p.port_id);
    p.pool = rte_pktmbuf_pool_create(fmt::format("fpg_pool{}", p.port_id).c_str(),
                                     o.mbufs_per_queue * n_queues - 1, o.mbuf_cache, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (p.pool == nullptr)
        return Err(fmt::format("{}: mbuf pool: {}", p.name, dpdk_error(rte_errno)));
    for (uint16_t q = 0; q < n_queues; q++) {
        if (int rc = rte_eth_rx_queue_setup(p.port_id, q, rx_desc, socket, nullptr, p.pool);
            rc != 0)
            return Err(fmt::format("{}: rx queue {}: {}", p.name, q, dpdk_error(rc)));
        if (int rc = rte_eth_tx_queue_setup(p.port_id, q, tx_desc, socket, nullptr); rc != 0)
            return Err(fmt::format("{}: tx queue {}: {}", p.name, q, dpdk_error(rc)));
    }
    if (int rc = rte_eth_dev_start(p.port_id); rc != 0)
        return Err(fmt::format("{}: start: {}", p.name, dpdk_error(rc)));
    rte_eth_macaddr_get(p.port_id, &p.mac);

    for (int i = 0; i < 1000; i++) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(p.port_id, &link) == 0 && link.link_status) return p;
        rte_delay_us_sleep(10'000);
    }
    return Err(fmt::format("{}: link still down after 10 s (is the server side up?)", p.name));
}

void close_port(Port& p) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
    if (p.pool != nullptr) rte_mempool_free(p.pool);
    p.pool = nullptr;
}

Result<rte_ether_addr, std::string> arp_resolve(const Port& p, uint32_t src_ip_host,
                                                uint32_t dst_ip_host, double seconds) {
    const rte_be32_t src = rte_cpu_to_be_32(src_ip_host);
    const rte_be32_t dst = rte_cpu_to_be_32(dst_ip_host);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t deadline =
        rte_rdtsc() + static_cast<uint64_t>(seconds * static_cast<double>(hz));
    uint64_t next_request = 0;
    while (rte_rdtsc() < deadline) {
        if (rte_rdtsc() >= next_request) {
            if (rte_mbuf* m = net::build_arp_request(p.pool, p.mac, src, dst)) {
                if (rte_eth_tx_burst(p.port_id, 0, &m, 1) != 1) rte_pktmbuf_free(m);
            }
            next_request = rte_rdtsc() + hz / 10;
        }
        rte_mbuf* pkts[32];
        const uint16_t n = rte_eth_rx_burst(p.port_id, 0, pkts, 32);
        rte_ether_addr mac{};
        bool found = false;
        for (uint16_t i = 0; i < n; i++) {
            if (!found && is_arp_reply(pkts[i], dst, src, mac)) found = true;
            rte_pktmbuf_free(pkts[i]);
        }
        if (found) return mac;
        if (n == 0) rte_delay_us_sleep(1000);
    }
    return Err(fmt::format("no ARP reply for {} in {} s (give --dst-mac?)",
                           format_ipv4(dst_ip_host), seconds));
}

}  // namespace fulmar::pktgen
