// Strict parsers and canonical formatters for config addresses.
#include "config/address_text.h"

#include <fmt/format.h>

namespace fulmar::config {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decimal 0..max with no sign and no leading zero (so "010" is not silently
// decimal ten where inet_aton would read octal eight).
std::optional<uint32_t> parse_small_decimal(std::string_view s, uint32_t max) {
    if (s.empty() || s.size() > 3) return std::nullopt;
    if (s.size() > 1 && s[0] == '0') return std::nullopt;
    uint32_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

// Exactly `digits` hex digits.
std::optional<uint32_t> parse_fixed_hex(std::string_view s, size_t digits) {
    if (s.size() != digits) return std::nullopt;
    uint32_t v = 0;
    for (char c : s) {
        int h = hex_value(c);
        if (h < 0) return std::nullopt;
        v = v * 16 + static_cast<uint32_t>(h);
    }
    return v;
}

}  // namespace

std::optional<uint32_t> parse_ipv4(std::string_view s) {
    uint32_t addr = 0;
    for (int i = 0; i < 4; i++) {
        size_t dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return std::nullopt;
        auto part = parse_small_decimal(s.substr(0, dot), 255);
        if (!part) return std::nullopt;
        addr = (addr << 8) | *part;
        s.remove_prefix(i < 3 ? dot + 1 : dot);
    }
    if (!s.empty()) return std::nullopt;
    return addr;
}

std::optional<Ipv4Prefix> parse_ipv4_prefix(std::string_view s) {
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = parse_ipv4(s.substr(0, slash));
    auto len = parse_small_decimal(s.substr(slash + 1), 32);
    if (!addr || !len) return std::nullopt;
    return Ipv4Prefix{*addr, static_cast<uint8_t>(*len)};
}

std::optional<MacAddress> parse_mac(std::string_view s) {
    // 6 pairs of hex digits and 5 colons.
    if (s.size() != 17) return std::nullopt;
    MacAddress mac;
    for (size_t i = 0; i < 6; i++) {
        if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
        auto byte = parse_fixed_hex(s.substr(i * 3, 2), 2);
        if (!byte) return std::nullopt;
        mac.bytes[i] = static_cast<uint8_t>(*byte);
    }
    return mac;
}

std::optional<PciAddress> parse_pci_address(std::string_view s) {
    PciAddress pci;
    // The domain is optional: "3b:00.0" has one colon, "0000:3b:00.0" two.
    size_t first_colon = s.find(':');
    if (first_colon == std::string_view::npos) return std::nullopt;
    if (s.find(':', first_colon + 1) != std::string_view::npos) {
        auto domain = parse_fixed_hex(s.substr(0, first_colon), 4);
        if (!domain) return std::nullopt;
        pci.domain = *domain;
        s.remove_prefix(first_colon + 1);
    }
    // "BB:DD.F"
    if (s.size() != 7 || s[2] != ':' || s[5] != '.') return std::nullopt;
    auto bus = parse_fixed_hex(s.substr(0, 2), 2);
    auto device = parse_fixed_hex(s.substr(3, 2), 2);
    auto function = parse_fixed_hex(s.substr(6, 1), 1);
    if (!bus || !device || !function || *device > 0x1f || *function > 7) return std::nullopt;
    pci.bus = static_cast<uint8_t>(*bus);
    pci.device = static_cast<uint8_t>(*device);
    pci.function = static_cast<uint8_t>(*function);
    return pci;
}

bool is_vdev_string(std::string_view s) {
    size_t comma = s.find(',');
    std::string_view name = s.substr(0, comma);
    if (name.empty() || !is_alpha(name[0])) return false;
    for (char c : name) {
        if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
    }
    while (comma != std::string_view::npos) {
        s.remove_prefix(comma + 1);
        comma = s.find(',');
        std::string_view arg = s.substr(0, comma);
        size_t eq = arg.find('=');
        if (eq == 0 || eq == std::string_view::npos || eq + 1 == arg.size()) return false;
        for (char c : arg.substr(0, eq)) {
            if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
        }
        for (char c : arg.substr(eq + 1)) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
        }
    }
    return true;
}

std::string format_ipv4(uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string format_ipv4_prefix(const Ipv4Prefix& p) {
    return fmt::format("{}/{}", format_ipv4(p.addr), p.len);
}

std::string format_mac(const MacAddress& m) {
    const auto& b = m.bytes;
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                       b[5]);
}

std::string format_pci_address(const PciAddress& p) {
    return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", p.domain, p.bus, p.device, p.function);
}

}  // namespace fulmar::config
