// Port bring-up; see port.h.
#include "port.h"

#include <net/if.h>
#include <netinet/in.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shm/layout.h"

namespace fulmar::dataplane {
namespace {

// Reply datagrams in flight per worker besides the RX/TX rings: a 4 MiB
// reply is ~3,000 datagrams.
constexpr uint32_t kReplyMbufsPerWorker = 4096;

// Descriptors per queue on the kernel side: it carries the control plane's
// TCP and ARP, not the cache's traffic. net_tap holds an mbuf per RX
// descriptor, so these come out of the port's pool.
constexpr uint16_t kKernelRxDesc = 256;
constexpr uint16_t kKernelTxDesc = 256;

std::string dpdk_error(int rc) {
    return rte_strerror(rc < 0 ? -rc : rc);
}

// A vdev is "name,args": created here rather than with --vdev so the config
// file alone says what the appliance serves. rte_dev_probe finds the bus
// from the name: a vdev is created, a PCI device attached (unless EAL
// already did, from --vdev or -a). `key` names the config key in errors.
Result<uint16_t, std::string> probe(const std::string& dev, const std::string& key) {
    const std::string name = dev.substr(0, dev.find(','));
    uint16_t port_id = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
        const int rc = rte_dev_probe(dev.c_str());
        if (rc != 0) return Err(fmt::format("{}: cannot probe {}: {}", key, dev, dpdk_error(rc)));
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0)
        return Err(fmt::format("{}: no ethdev named {}", key, name));
    return port_id;
}

// The kernel interface's name: the PMD's if_index (net_tap fills it), else
// the vdev's iface= argument.
std::string kernel_ifname(const rte_eth_dev_info& info, const std::string& dev) {
    char buf[IF_NAMESIZE] = {};
    if (info.if_index != 0 && if_indextoname(info.if_index, buf) != nullptr) return buf;
    size_t at = dev.find(",iface=");
    if (at == std::string::npos) return "";
    at += 7;
    return dev.substr(at, dev.find(',', at) - at);
}

// IPv6 off on the kernel interface, before it comes up: the dataplane hands
// the kernel IPv4 only (IPv6 is dropped as not_ipv4), so router
// solicitations, MLD reports and DAD probes would leave through the port for
// nothing. Best effort: a kernel without IPv6 has no such file.
void disable_ipv6(const std::string& ifname) {
    const std::string path = fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", ifname);
    if (std::FILE* f = std::fopen(path.c_str(), "w")) {
        std::fputs("1\n", f);
        std::fclose(f);
    }
}

// Gives the kernel interface the port's IPv4 address and brings it up.
//
// Why the dataplane does this itself rather than tools/fulmar with `ip`: the
// interface exists exactly as long as this process holds the port, and its
// MAC must be the port's, which for a NIC without `mac =` only the process
// that probed it knows; a launcher that configured it would race the PMD
// (the bug tools/fulmar up once had with the data TAP) and repeat the config
// file's address in a script. Every launcher (tools/fulmar, the tests, a
// systemd unit) gets the same interface. Why ioctl rather than netlink: one
// IPv4 address per interface is all there is to set, and SIOCSIFADDR (which
// replaces the primary address, so a restart is idempotent) and
// SIOCSIFFLAGS do that in a few lines without a netlink message builder.
std::optional<std::string> configure_kernel_iface(const std::string& ifname, rte_be32_t ip,
                                                  rte_be32_t mask) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = ip;
    std::optional<std::string> err;
    if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) {
        err = fmt::format("address: {}", std::strerror(errno));
    } else {
        sin->sin_addr.s_addr = mask;
        if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
            err = fmt::format("netmask: {}", std::strerror(errno));
    }
    // The PMD brings the interface up when it starts; say so ourselves in
    // case another PMD does not.
    if (!err && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) == 0) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) err = fmt::format("up: {}", std::strerror(errno));
    }
    close(fd);
    return err;
}

// The exception path's device: one RX and one TX queue per worker, mbufs
// from the data port's pool, the data port's MAC and MTU, started; then its
// kernel interface gets the address. `data` is open and started.
Result<KernelSide, std::string> open_kernel_side(const config::PortConfig& pc, size_t port_index,
                                                 uint16_t n_queues, const Port& data) {
    const std::string key = fmt::format("ports[{}].kernel_device", port_index);
    KernelSide k;
    const std::string& dev = pc.kernel_device;
    k.name = dev.substr(0, dev.find(','));
    auto id = probe(dev, key);
    if (!id) return Err(id.error());
    k.port_id = id.value();
    // From here on an error closes the device (and its kernel interface).
    const auto fail = [&](std::string why) {
        rte_eth_dev_stop(k.port_id);
        rte_eth_dev_close(k.port_id);
        return Err(std::move(why));
    };
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(k.port_id, &info); rc != 0)
        return fail(fmt::format("{}: dev_info: {}", k.name, dpdk_error(rc)));
    if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues)
        return fail(fmt::format("{}: {} workers need {} queues, the device has {} RX / {} TX",
                                k.name, n_queues, n_queues, info.max_rx_queues,
                                info.max_tx_queues));
    k.ifname = kernel_ifname(info, dev);
    if (k.ifname.empty())
        return fail(
            fmt::format("{}: {} has no kernel interface that can be named (use net_tap "
                        "with iface=NAME)",
                        key, dev));
    disable_ipv6(k.ifname);

    const rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(k.port_id, n_queues, n_queues, &conf); rc != 0)
        return fail(fmt::format("{}: configure: {}", k.name, dpdk_error(rc)));
    // The kernel must not send frames larger than the port carries.
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(data.port_id, &mtu) == 0) {
        if (int rc = rte_eth_dev_set_mtu(k.port_id, mtu); rc != 0)
            return fail(fmt::format("{}: mtu {}: {}", k.name, mtu, dpdk_error(rc)));
    }
    uint16_t rx_desc = kKernelRxDesc, tx_desc = kKernelTxDesc;
    rte_eth_dev_adjust_nb_rx_tx_desc(k.port_id, &rx_desc, &tx_desc);
    const int socket = rte_eth_dev_socket_id(k.port_id);
    for (uint16_t q = 0; q < n_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(k.port_id, q, rx_desc, socket, nullptr, data.pool);
            rc != 0)
            return fail(fmt::format("{}: rx queue {}: {}", k.name, q, dpdk_error(rc)));
        if (int rc = rte_eth_tx_queue_setup(k.port_id, q, tx_desc, socket, nullptr); rc != 0)
            return fail(fmt::format("{}: tx queue {}: {}", k.name, q, dpdk_error(rc)));
    }
    // One MAC for the address: clients learn it from the dataplane's ARP
    // replies and the kernel's frames must carry the same. net_tap sets it
    // on its kernel interface.
    rte_ether_addr mac = data.addr.mac;
    if (int rc = rte_eth_dev_default_mac_addr_set(k.port_id, &mac); rc != 0)
        return fail(
            fmt::format("{}: cannot give {} the port's MAC: {}", key, k.ifname, dpdk_error(rc)));
    if (int rc = rte_eth_dev_start(k.port_id); rc != 0)
        return fail(fmt::format("{}: start: {}", k.name, dpdk_error(rc)));
    if (auto err = configure_kernel_iface(k.ifname, data.addr.ip, data.addr.netmask)) {
        rte_eth_dev_stop(k.port_id);
        return fail(fmt::format("{}: {}: {}", key, k.ifname, *err));
    }
    return k;
}

void close_kernel_side(const KernelSide& k) {
    rte_eth_dev_stop(k.port_id);
    rte_eth_dev_close(k.port_id);
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
    p.name = pc.device.substr(0, pc.device.find(','));
    auto id = probe(pc.device, fmt::format("ports[{}]", port_index));
    if (!id) return Err(id.error());
    p.port_id = id.value();

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
    if (n_mbufs == 0) {
        n_mbufs =
            (uint32_t{rx_desc} + tx_desc + 2u * cfg.burst_size + kReplyMbufsPerWorker) * n_queues;
        if (!pc.kernel_device.empty()) n_mbufs += (kKernelRxDesc + kKernelTxDesc) * n_queues;
    }
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
    if (!pc.kernel_device.empty()) {
        auto k = open_kernel_side(pc, port_index, n_queues, p);
        if (!k) {
            close_port(p);
            return Err(k.error());
        }
        p.kernel = std::move(k.value());
    }
    return p;
}

std::string kernel_text(const Port& p, const config::PortConfig& pc) {
    if (!p.kernel) return "";
    return fmt::format("kernel side {} ({}, port {}) holds {}", p.kernel->ifname, p.kernel->name,
                       p.kernel->port_id, config::format_ipv4_prefix(pc.ipv4));
}

void close_port(Port& p) {
    if (p.kernel) close_kernel_side(*p.kernel);
    p.kernel.reset();
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
    if (p.pool != nullptr) rte_mempool_free(p.pool);
    p.pool = nullptr;
}

}  // namespace fulmar::dataplane
