// Server entry parsing and ketama labels (see node.h for the syntax).
#include "ring/node.h"

#include <string>

namespace fulmar::ring {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
        s.remove_suffix(1);
    return s;
}

// Plain decimal digits only: no sign, no blanks, no overflow past `max`.
bool parse_decimal(std::string_view s, uint64_t max, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
        if (v > max) return false;
    }
    out = v;
    return true;
}

Err<RingError> fail(RingStatus status, std::string_view entry, std::string_view why) {
    std::string message = "server '";
    message.append(entry);
    message.append("': ");
    message.append(why);
    return Err<RingError>{RingError{status, std::move(message)}};
}

}  // namespace

std::string ketama_label(const Node& node, KetamaMode mode) {
    if (mode == KetamaMode::kTwemproxy && !node.name.empty()) return node.name;
    // twemproxy hashes the address as written in its config, brackets included; libmemcached
    // hashes its stored hostname, which has none.
    const bool bracket = mode == KetamaMode::kTwemproxy && node.host.find(':') != std::string::npos;
    std::string label;
    if (bracket) label += '[';
    label += node.host;
    if (bracket) label += ']';
    if (node.port != kDefaultPort) {
        label += ':';
        label += std::to_string(node.port);
    }
    return label;
}

Result<Node, RingError> parse_node(std::string_view entry) {
    const std::string_view text = trim(entry);
    if (text.empty()) return fail(RingStatus::kBadServer, entry, "empty entry");
    Node node;

    // "address name": the name is twemproxy's and runs to the end of the entry.
    std::string_view address = text;
    const size_t blank = text.find_first_of(" \t");
    if (blank != std::string_view::npos) {
        address = text.substr(0, blank);
        const std::string_view name = trim(text.substr(blank));
        if (name.find_first_of(" \t") != std::string_view::npos)
            return fail(RingStatus::kBadName, text, "a name is one word");
        if (name.size() > kMaxLabelLength)
            return fail(RingStatus::kBadName, text, "name longer than 255 bytes");
        node.name = std::string(name);
    }

    // Host: "[v6]" or everything before the first ':' (a bare IPv6 address is ambiguous with
    // the weight field, so it must be bracketed, as in libmemcached and URLs).
    std::string_view rest;
    if (address.front() == '[') {
        const size_t close = address.find(']');
        if (close == std::string_view::npos)
            return fail(RingStatus::kBadServer, text, "'[' without ']' around an IPv6 address");
        node.host = std::string(address.substr(1, close - 1));
        rest = address.substr(close + 1);
        if (node.host.empty()) return fail(RingStatus::kBadName, text, "empty host");
    } else {
        const size_t colon = address.find(':');
        node.host = std::string(address.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : address.substr(colon);
        if (node.host.empty()) return fail(RingStatus::kBadName, text, "empty host");
    }
    if (node.host.size() > kMaxLabelLength)
        return fail(RingStatus::kBadName, text, "host longer than 255 bytes");
    if (rest.empty() || rest.front() != ':')
        return fail(RingStatus::kBadPort, text, "expected host:port[:weight]");
    rest.remove_prefix(1);

    const size_t colon = rest.find(':');
    const std::string_view port_text = rest.substr(0, colon);
    uint64_t port = 0;
    if (!parse_decimal(port_text, 65535, port) || port == 0)
        return fail(RingStatus::kBadPort, text, "port must be 1-65535 in decimal");
    if (port_text.front() == '0')
        return fail(RingStatus::kBadPort, text,
                    "port has a leading zero (peers would hash it as written)");
    node.port = static_cast<uint16_t>(port);

    if (colon != std::string_view::npos) {
        const std::string_view weight_text = rest.substr(colon + 1);
        if (weight_text.find(':') != std::string_view::npos)
            return fail(RingStatus::kBadServer, text,
                        "too many ':' fields (IPv6 addresses go in brackets)");
        uint64_t weight = 0;
        if (!parse_decimal(weight_text, UINT32_MAX, weight) || weight == 0)
            return fail(RingStatus::kBadWeight, text, "weight must be 1-4294967295 in decimal");
        node.weight = static_cast<uint32_t>(weight);
    }
    return node;
}

Result<std::vector<Node>, RingError> parse_node_list(std::string_view list) {
    std::vector<Node> nodes;
    if (trim(list).empty()) return Err{RingError{RingStatus::kEmpty, "empty server list"}};
    while (true) {
        const size_t comma = list.find(',');
        auto node = parse_node(list.substr(0, comma));
        if (!node) return Err{node.error()};
        nodes.push_back(std::move(node.value()));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return nodes;
}

}  // namespace fulmar::ring
