// Command-line parsing for fulmar-pktgen; the flags are one table below.
#include "options.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <string_view>
#include <vector>

#include "request_table.h"

namespace fulmar::pktgen {
namespace {

using Setter = std::function<bool(Options&, std::string_view)>;

struct Flag {
    const char* name;
    const char* arg;  // nullptr: a switch without a value
    const char* help;
    Setter set;
};

bool parse_double(std::string_view s, double& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

template <typename T>
bool parse_uint(std::string_view s, T& out, uint64_t max) {
    uint64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > max) return false;
    out = static_cast<T>(v);
    return true;
}

// A count with an optional k/M/G suffix: "2M" is 2,000,000.
bool parse_count(std::string_view s, double& out) {
    double mult = 1;
    if (!s.empty()) {
        switch (s.back()) {
            case 'k':
            case 'K':
                mult = 1e3;
                break;
            case 'm':
            case 'M':
                mult = 1e6;
                break;
            case 'g':
            case 'G':
                mult = 1e9;
                break;
            default:
                break;
        }
        if (mult != 1) s.remove_suffix(1);
    }
    if (!parse_double(s, out) || out < 0) return false;
    out *= mult;
    return true;
}

bool parse_ipv4(std::string_view s, uint32_t& out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        const size_t dot = s.find('.');
        if ((i < 3) != (dot != std::string_view::npos)) return false;
        uint32_t octet = 0;
        if (!parse_uint(s.substr(0, dot), octet, 255)) return false;
        v = (v << 8) | octet;
        s = i < 3 ? s.substr(dot + 1) : std::string_view{};
    }
    out = v;
    return true;
}

bool parse_mac(std::string_view s, std::array<uint8_t, 6>& out) {
    if (s.size() != 17) return false;
    for (size_t i = 0; i < 6; i++) {
        if (i < 5 && s[i * 3 + 2] != ':') return false;
        const auto r = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, out[i], 16);
        if (r.ec != std::errc() || r.ptr != s.data() + i * 3 + 2) return false;
    }
    return true;
}

const std::vector<Flag>& flags() {
    static const std::vector<Flag> table = {
        {"--keys", "N", "distinct keys (default 100000)",
         [](Options& o, std::string_view v) {
             double n = 0;
             if (!parse_count(v, n) || n != std::floor(n)) return false;
             o.workload.n_keys = static_cast<uint64_t>(n);
             return true;
         }},
        {"--key-len", "B", "key length in bytes, \"k\" + zero-padded index (default 16)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.workload.key_len, kMaxKeyLen);
         }},
        {"--value-len", "B|A-B", "value length, fixed or uniform in A..B (default 32)",
         [](Options& o, std::string_view v) {
             const size_t dash = v.find('-');
             if (!parse_uint(v.substr(0, dash), o.workload.value_min, kMaxRequestBytes))
                 return false;
             if (dash == std::string_view::npos) {
                 o.workload.value_max = o.workload.value_min;
                 return true;
             }
             return parse_uint(v.substr(dash + 1), o.workload.value_max, kMaxRequestBytes);
         }},
        {"--get-ratio", "F", "share of gets, the rest are sets (default 0.9)",
         [](Options& o, std::string_view v) {
             return parse_double(v, o.workload.get_ratio) && o.workload.get_ratio >= 0 &&
                    o.workload.get_ratio <= 1;
         }},
        {"--keys-per-get", "N", "keys per get: multi-get above 1 (default 1)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.workload.keys_per_get, kMaxKeysPerGet) &&
                    o.workload.keys_per_get >= 1;
         }},
        {"--dist", "uniform|zipf:T", "key popularity (default uniform; zipf:0.99 is YCSB's)",
         [](Options& o, std::string_view v) {
             if (v == "uniform") {
                 o.workload.dist = KeyDist::kUniform;
                 return true;
             }
             if (!v.starts_with("zipf:")) return false;
             o.workload.dist = KeyDist::kZipf;
             return parse_double(v.substr(5), o.workload.zipf_theta) && o.workload.zipf_theta > 0;
         }},
        {"--preload", nullptr, "first set every key once, each set acknowledged",
         [](Options& o, std::string_view) {
             o.preload = true;
             return true;
         }},
        {"--rate", "R", "open loop at R requests/s (k/M suffixes); latency from intended send",
         [](Options& o, std::string_view v) { return parse_count(v, o.rate) && o.rate > 0; }},
        {"--window", "W",
         "closed loop with W requests in flight in all (default 64 a queue); with --rate: a cap",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.window, RequestTable::kIds - 1) && o.window > 0;
         }},
        {"--preload-window", "W", "requests in flight during --preload, in all (default: --window)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.preload_window, RequestTable::kIds - 1) && o.preload_window > 0;
         }},
        {"--duration", "S", "measured seconds (default 10)",
         [](Options& o, std::string_view v) {
             return parse_double(v, o.duration_s) && o.duration_s > 0;
         }},
        {"--warmup", "S", "seconds of load before measuring (default 1)",
         [](Options& o, std::string_view v) {
             return parse_double(v, o.warmup_s) && o.warmup_s >= 0;
         }},
        {"--timeout-ms", "MS", "a request unanswered this long is lost (default 100)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.timeout_ms, 60'000) && o.timeout_ms > 0;
         }},
        {"--dst-ip", "A", "server address (required)",
         [](Options& o, std::string_view v) { return parse_ipv4(v, o.dst_ip); }},
        {"--src-ip", "A", "our address (required)",
         [](Options& o, std::string_view v) { return parse_ipv4(v, o.src_ip); }},
        {"--dst-mac", "M", "next hop MAC (default: learnt by ARP for --dst-ip)",
         [](Options& o, std::string_view v) {
             std::array<uint8_t, 6> mac{};
             if (!parse_mac(v, mac)) return false;
             o.dst_mac = mac;
             return true;
         }},
        {"--dst-port", "P", "server UDP port (default 11211)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.dst_port, 65535) && o.dst_port > 0;
         }},
        {"--src-port", "P", "our UDP port (default 40000; with --queues, P to P + N - 1)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.src_port, 65535) && o.src_port > 0;
         }},
        {"--port", "ID", "DPDK port id (default 0: the first --vdev or -a device)",
         [](Options& o, std::string_view v) { return parse_uint(v, o.port_id, 1023); }},
        {"--rx-desc", "N", "RX descriptors per queue (default 1024; net_memif: rsize devarg)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.rx_desc, 32768) && o.rx_desc >= 32;
         }},
        {"--tx-desc", "N", "TX descriptors per queue (default 1024; net_memif: rsize devarg)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.tx_desc, 32768) && o.tx_desc >= 32;
         }},
        {"--mbufs", "N", "mbufs in the pool per queue (default 16384)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.mbufs_per_queue, 1u << 20) && o.mbufs_per_queue >= 1024;
         }},
        {"--mbuf-cache", "N", "per-lcore mbuf cache (default 256, at most 512)",
         [](Options& o, std::string_view v) { return parse_uint(v, o.mbuf_cache, 512); }},
        {"--queues", "N",
         "generator instances: queue q on the q-th EAL lcore (main first), from --src-port + "
         "q, with 1/N of the keys, --rate and --window (default 1)",
         [](Options& o, std::string_view v) {
             return parse_uint(v, o.queues, kMaxQueues) && o.queues > 0;
         }},
        {"--burst", "N", "TX/RX burst size (default 32)",
         [](Options& o, std::string_view v) { return parse_uint(v, o.burst, 256) && o.burst > 0; }},
        {"--seed", "N", "seed of the key and operation sequence (default 1)",
         [](Options& o, std::string_view v) { return parse_uint(v, o.workload.seed, UINT64_MAX); }},
        {"--json", "FILE", "also write the results as JSON",
         [](Options& o, std::string_view v) {
             o.json_path = std::string(v);
             return !v.empty();
         }},
        {"--reflector", nullptr,
         "the server echoes requests (testpmd 5tswap): any datagram with a pending id is a "
         "reply, its content unchecked (the packet I/O ceiling; give --dst-mac)",
         [](Options& o, std::string_view) {
             o.reflector = true;
             return true;
         }},
        {"--quiet", nullptr, "no live line each second",
         [](Options& o, std::string_view) {
             o.quiet = true;
             return true;
         }},
        {"--help", nullptr, "this text",
         [](Options& o, std::string_view) {
             o.help = true;
             return true;
         }},
    };
    return table;
}

}  // namespace

std::string format_ipv4(uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

std::string usage_text() {
    std::string s =
        "usage: fulmar-pktgen <EAL args> -- --dst-ip A --src-ip A [flags]\n"
        "  e.g. fulmar-pktgen -l 0 --no-pci --file-prefix pg --single-file-segments \\\n"
        "         --vdev=net_memif0,role=client,socket=/run/fulmar.sock,zero-copy=yes -- \\\n"
        "         --dst-ip 198.18.0.1 --src-ip 198.18.0.2 --preload --window 256\n"
        "  (-l 0-3 ... -- --queues 4 ...: four lcores, four queue pairs, the same totals)\n";
    for (const Flag& f : flags()) {
        const std::string lhs = f.arg ? fmt::format("{} {}", f.name, f.arg) : f.name;
        s += fmt::format("  {:<26} {}\n", lhs, f.help);
    }
    return s;
}

Result<Options, std::string> parse_options(std::span<char* const> args) {
    Options o;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string_view a = args[i];
        const Flag* flag = nullptr;
        for (const Flag& f : flags())
            if (a == f.name) flag = &f;
        if (flag == nullptr) return Err(fmt::format("unknown flag {} (see --help)", a));
        std::string_view v;
        if (flag->arg != nullptr) {
            if (i + 1 >= args.size()) return Err(fmt::format("{} needs {}", a, flag->arg));
            v = args[++i];
        }
        if (!flag->set(o, v)) return Err(fmt::format("{} {}: not a valid {}", a, v, flag->arg));
    }
    if (o.help) return o;
    if (o.dst_ip == 0 || o.src_ip == 0)
        return Err(std::string("--dst-ip and --src-ip are required"));
    if (o.rate == 0 && o.window == 0) o.window = 64 * o.queues;
    if (o.preload_window == 0) o.preload_window = o.window ? o.window : 256 * o.queues;
    // Every instance needs a request in flight, a key and a port of its own.
    if (o.window != 0 && o.window < o.queues)
        return Err(
            fmt::format("--window {}: at least one request per queue ({})", o.window, o.queues));
    if (o.preload_window < o.queues)
        return Err(fmt::format("--preload-window {}: at least one request per queue ({})",
                               o.preload_window, o.queues));
    if (o.workload.n_keys < o.queues)
        return Err(
            fmt::format("--keys {}: at least one key per queue ({})", o.workload.n_keys, o.queues));
    if (uint32_t{o.src_port} + o.queues - 1 > 65535)
        return Err(fmt::format("--src-port {}: {} queues use ports up to {}, over 65535",
                               o.src_port, o.queues, uint32_t{o.src_port} + o.queues - 1));
    return o;
}

}  // namespace fulmar::pktgen
