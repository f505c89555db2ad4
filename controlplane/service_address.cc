// Service addresses from the control plane; see service_address.h.
#include "service_address.h"

#include <arpa/inet.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include "config/address_text.h"
#include "kernel_addr.h"
#include "shm/service_addrs.h"

namespace fulmar::controlplane {
namespace {

ServiceAddrResult fail(ServiceAddrStatus s, std::string why) {
    return {s, std::move(why)};
}

std::string text_of(uint32_t addr_be) {
    return config::format_ipv4(ntohl(addr_be));
}

// The table as it is now. This thread is its only writer, so a read never
// races a change; a table left odd by a writer that died mid-change (only
// another control plane, killed) is read field by field as it stands.
shm::ServiceAddrSnapshot current(const shm::ServiceAddrs& t) {
    shm::ServiceAddrSnapshot s;
    if (shm::read_service_addrs(t, s)) return s;
    s.n = std::min(t.n.load(std::memory_order_relaxed), shm::kMaxServiceAddrs);
    for (uint32_t i = 0; i < s.n; ++i)
        s.addrs[i] = t.addrs[i].load(std::memory_order_relaxed);
    return s;
}

bool contains(const shm::ServiceAddrSnapshot& s, uint32_t addr) {
    return std::find(s.addrs.begin(), s.addrs.begin() + s.n, addr) != s.addrs.begin() + s.n;
}

// A host address a client can send to and we can answer from: not 0/8,
// loopback, multicast, reserved or broadcast.
bool is_unicast_host(uint32_t host_order) {
    const uint32_t first = host_order >> 24;
    return first != 0 && first != 127 && first < 224;
}

std::optional<uint32_t> parse(std::string_view text, ServiceAddrResult& error) {
    const auto a = config::parse_ipv4(text);
    if (!a) {
        error = fail(
            ServiceAddrStatus::kBadAddress,
            fmt::format("'{}' is not an IPv4 address (a.b.c.d)", std::string(text.substr(0, 64))));
        return std::nullopt;
    }
    return htonl(*a);
}

}  // namespace

ServiceAddrResult add_service_address(shm::ServiceAddrs& t, uint32_t addr) {
    if (!is_unicast_host(ntohl(addr)))
        return fail(ServiceAddrStatus::kBadAddress,
                    fmt::format("{} is not a unicast host address", text_of(addr)));
    if (addr == t.port_ip)
        return fail(ServiceAddrStatus::kPortAddress,
                    fmt::format("{} is the port's own address", text_of(addr)));
    shm::ServiceAddrSnapshot s = current(t);
    if (contains(s, addr))
        return fail(ServiceAddrStatus::kAlreadyServed,
                    fmt::format("{} is already a service address", text_of(addr)));
    if (s.n == shm::kMaxServiceAddrs)
        return fail(ServiceAddrStatus::kTableFull,
                    fmt::format("{} service addresses already (the most a port serves); remove "
                                "one first",
                                shm::kMaxServiceAddrs));
    if (t.kernel_ifname[0] != '\0') {
        const std::string ifname(t.kernel_ifname, strnlen(t.kernel_ifname, sizeof t.kernel_ifname));
        if (auto err = kernel_addr_add(ifname, addr))
            return fail(ServiceAddrStatus::kKernel,
                        fmt::format("kernel side: {} (not added: TCP would not follow)", *err));
    }
    s.addrs[s.n++] = addr;
    shm::write_service_addrs(t, std::span<const uint32_t>(s.addrs.data(), s.n));
    return {};
}

ServiceAddrResult remove_service_address(shm::ServiceAddrs& t, uint32_t addr) {
    shm::ServiceAddrSnapshot s = current(t);
    if (!contains(s, addr))
        return fail(ServiceAddrStatus::kNotServed,
                    fmt::format("{} is not a service address", text_of(addr)));
    auto* end = std::remove(s.addrs.begin(), s.addrs.begin() + s.n, addr);
    s.n = static_cast<uint32_t>(end - s.addrs.begin());
    shm::write_service_addrs(t, std::span<const uint32_t>(s.addrs.data(), s.n));
    if (t.kernel_ifname[0] != '\0') {
        const std::string ifname(t.kernel_ifname, strnlen(t.kernel_ifname, sizeof t.kernel_ifname));
        if (auto err = kernel_addr_remove(ifname, addr))
            return fail(
                ServiceAddrStatus::kKernel,
                fmt::format("kernel side: {} (the dataplane no longer answers for it)", *err));
    }
    return {};
}

ServiceAddrResult add_service_address(shm::ServiceAddrs& t, std::string_view text) {
    ServiceAddrResult error;
    const auto a = parse(text, error);
    return a ? add_service_address(t, *a) : error;
}

ServiceAddrResult remove_service_address(shm::ServiceAddrs& t, std::string_view text) {
    ServiceAddrResult error;
    const auto a = parse(text, error);
    return a ? remove_service_address(t, *a) : error;
}

std::string tcp_follow_problem(const config::DataplaneConfig& cfg) {
    const config::ControlplaneConfig& cp = cfg.controlplane;
    if (cp.memcached_port == 0 && cp.redis_port == 0) return "";
    if (cp.listen && *cp.listen == 0) return "";
    const uint32_t bound = cp.listen.value_or(cfg.ports.empty() ? 0 : cfg.ports[0].ipv4.addr);
    return fmt::format(
        "the TCP listeners are bound to {} (controlplane.listen): TCP would not follow a "
        "service address; set controlplane.listen = \"0.0.0.0\"",
        config::format_ipv4(bound));
}

std::vector<std::string> list_service_addresses(const shm::ServiceAddrs& t) {
    const shm::ServiceAddrSnapshot s = current(t);
    std::vector<std::string> out;
    for (uint32_t i = 0; i < s.n; ++i)
        out.push_back(text_of(s.addrs[i]));
    return out;
}

}  // namespace fulmar::controlplane
