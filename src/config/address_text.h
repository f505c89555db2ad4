// Text forms of the addresses a config names: IPv4 prefixes, MAC addresses,
// PCI addresses and DPDK virtual-device strings. Strict parsers, canonical
// formatters.
//
// Any thread; pure functions. Parsers accept exactly one spelling per value
// (no octal-looking "010", no spaces, no missing parts) so a typo is an error
// rather than a different address.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fulmar::config {

// "A.B.C.D/len". The address is kept in host byte order; an interface
// address keeps its host bits, a client prefix has them cleared (see
// DataplaneConfig::allowed_clients).
struct Ipv4Prefix {
    uint32_t addr = 0;  // host order: 198.18.0.1 is 0xC6120001
    uint8_t len = 0;    // 0-32

    constexpr uint32_t mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
    constexpr uint32_t network() const { return addr & mask(); }
    constexpr bool contains(uint32_t host_order_addr) const {
        return (host_order_addr & mask()) == network();
    }
    bool operator==(const Ipv4Prefix&) const = default;
};

// "aa:bb:cc:dd:ee:ff", hex digits in either case.
struct MacAddress {
    std::array<uint8_t, 6> bytes{};

    bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
    bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }
    bool operator==(const MacAddress&) const = default;
};

// "DDDD:BB:DD.F" (domain, bus, device 0-1f, function 0-7) or the short
// "BB:DD.F" that DPDK also accepts (domain 0).
struct PciAddress {
    uint32_t domain = 0;
    uint8_t bus = 0;
    uint8_t device = 0;
    uint8_t function = 0;

    bool operator==(const PciAddress&) const = default;
};

// Dotted quad without a prefix: each part 0-255, decimal, no leading zeros.
std::optional<uint32_t> parse_ipv4(std::string_view s);
std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s);
std::optional<MacAddress> parse_mac(std::string_view s);
std::optional<PciAddress> parse_pci_address(std::string_view s);

// A DPDK vdev string: a driver-instance name ([A-Za-z][A-Za-z0-9_]*) then
// ",key=value" devargs, each key [A-Za-z0-9_]+ and each value non-empty
// without ',' or whitespace ("net_tap0,iface=fulmar0").
bool is_vdev_string(std::string_view s);

std::string format_ipv4(uint32_t host_order_addr);    // "198.18.0.1"
std::string format_ipv4_prefix(const Ipv4Prefix& p);  // "198.18.0.1/24"
std::string format_mac(const MacAddress& m);          // "02:00:00:00:00:01"
std::string format_pci_address(const PciAddress& p);  // "0000:3b:00.0"

}  // namespace fulmar::config
