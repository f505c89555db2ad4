// A kernel-socket memcached UDP load generator: the reference load for
// servers that take UDP through the kernel (memcached -U), with the same
// workload knobs as fulmar-pktgen so both sides of `tools/fulmar bench` run
// one workload definition.
//
//   udp_loadgen --server 127.0.0.1:11211 --keys 1000000 --value-len 32
//               --get-ratio 0.9 --window 64 --duration 5 [--preload] [--json F]
//
// Closed loop: `window` requests outstanding, each matched to its reply by
// request id; batches go out with sendmmsg and come back with recvmmsg. A
// hit is checked against the value that was set for its key. One thread.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include "histogram.h"  // fulmar-pktgen's: both tools report the same quantiles

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace fulmar;

struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 11211;
    uint32_t keys = 1'000'000;
    uint32_t key_len = 16;
    uint32_t value_len = 32;
    double get_ratio = 0.9;
    uint32_t window = 64;
    double duration = 5;
    bool preload = false;
    std::string json;
};

std::string make_key(uint32_t i, uint32_t len) {
    std::string k = fmt::format("key:{:0{}d}", i, len > 4 ? len - 4 : 1);
    k.resize(len, 'k');
    return k;
}

// The value stored for a key: derived from the key, so any hit can be
// checked without remembering what was sent.
std::string make_value(uint32_t i, uint32_t len) {
    std::string v(len, 'v');
    uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
    for (uint32_t j = 0; j < len; ++j) {
        x ^= x >> 13;
        x *= 0xff51afd7ed558ccdull;
        v[j] = static_cast<char>('a' + (x >> 59) % 26);
    }
    return v;
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--server") {
            const std::string s = next();
            const auto c = s.rfind(':');
            if (c == std::string::npos) return false;
            o.host = s.substr(0, c);
            o.port = static_cast<uint16_t>(std::stoi(s.substr(c + 1)));
        } else if (a == "--keys") {
            o.keys = static_cast<uint32_t>(std::stoul(next()));
        } else if (a == "--key-len") {
            o.key_len = static_cast<uint32_t>(std::stoul(next()));
        } else if (a == "--value-len") {
            o.value_len = static_cast<uint32_t>(std::stoul(next()));
        } else if (a == "--get-ratio") {
            o.get_ratio = std::stod(next());
        } else if (a == "--window") {
            o.window = static_cast<uint32_t>(std::stoul(next()));
        } else if (a == "--duration") {
            o.duration = std::stod(next());
        } else if (a == "--preload") {
            o.preload = true;
        } else if (a == "--json") {
            o.json = next();
        } else {
            return false;
        }
    }
    // A power-of-two window keeps id % window == slot across the 16-bit wrap.
    const bool pow2 = o.window > 0 && (o.window & (o.window - 1)) == 0;
    return pow2 && o.window <= 4096 && o.keys > 0 && o.key_len >= 5 && o.key_len <= 250;
}

struct Slot {
    bool busy = false;
    bool is_get = false;
    uint32_t key = 0;
    Clock::time_point sent;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    try {
        if (!parse_args(argc, argv, o)) {
            fmt::print(stderr,
                       "usage: udp_loadgen --server H:P [--keys N] [--key-len N] "
                       "[--value-len N] [--get-ratio R] [--window W (power of 2)] [--duration S] "
                       "[--preload] [--json FILE]\n");
            return 2;
        }
    } catch (...) {
        fmt::print(stderr, "udp_loadgen: bad number in arguments\n");
        return 2;
    }
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in srv{};
    srv.sin_family = AF_INET;
    srv.sin_port = htons(o.port);
    if (inet_pton(AF_INET, o.host.c_str(), &srv.sin_addr) != 1 ||
        connect(fd, reinterpret_cast<sockaddr*>(&srv), sizeof srv) != 0) {
        fmt::print(stderr, "udp_loadgen: cannot reach {}:{}\n", o.host, o.port);
        return 1;
    }
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    timeval tv{0, 100 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    std::vector<std::string> keys(o.keys);
    for (uint32_t i = 0; i < o.keys; ++i)
        keys[i] = make_key(i, o.key_len);
    std::vector<Slot> slots(o.window);
    std::mt19937_64 rng(42);
    pktgen::Histogram hist;
    uint64_t sent = 0, received = 0, hits = 0, misses = 0, bad = 0, stored = 0, lost = 0;
    std::vector<char> out(o.window * (64 + o.key_len + o.value_len));
    std::vector<mmsghdr> msgs(o.window);
    std::vector<iovec> iovs(o.window);
    std::vector<std::array<char, 2048>> rx(o.window);
    std::vector<mmsghdr> rmsgs(o.window);
    std::vector<iovec> riovs(o.window);
    for (uint32_t i = 0; i < o.window; ++i) {
        riovs[i] = {rx[i].data(), rx[i].size()};
        rmsgs[i].msg_hdr = {};
        rmsgs[i].msg_hdr.msg_iov = &riovs[i];
        rmsgs[i].msg_hdr.msg_iovlen = 1;
    }

    // Request ids encode the slot: id % window. Each slot has one request
    // in flight; a late reply for an older use of the slot has another id.
    std::vector<uint16_t> slot_id(o.window, 0);
    std::vector<uint32_t> slot_gen(o.window, 0);
    uint32_t preload_next = 0;
    const bool preloading_at_start = o.preload;
    auto fill = [&](uint32_t s, bool preload) -> size_t {
        Slot& sl = slots[s];
        sl.busy = true;
        if (preload) {
            sl.key = preload_next++;
            sl.is_get = false;
        } else {
            sl.key = static_cast<uint32_t>(rng() % o.keys);
            sl.is_get = (rng() % 10000) < o.get_ratio * 10000;
        }
        const auto id = static_cast<uint16_t>(++slot_gen[s] * o.window + s);
        slot_id[s] = id;
        char* p = out.data() + s * (64 + o.key_len + o.value_len);
        const char hdr[8] = {
            static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0, 0, 0, 1, 0, 0};
        std::memcpy(p, hdr, 8);
        size_t n = 8;
        if (sl.is_get) {
            n += static_cast<size_t>(fmt::format_to(p + n, "get {}\r\n", keys[sl.key]) - (p + n));
        } else {
            n += static_cast<size_t>(fmt::format_to(p + n, "set {} 0 0 {}\r\n{}\r\n", keys[sl.key],
                                                    o.value_len, make_value(sl.key, o.value_len)) -
                                     (p + n));
        }
        sl.sent = Clock::now();
        iovs[s] = {p, n};
        return n;
    };

    auto run_phase = [&](double seconds, bool preload) {
        const auto end = Clock::now() + std::chrono::duration<double>(seconds);
        uint32_t pending = 0;
        std::vector<uint32_t> to_send;
        for (uint32_t s = 0; s < o.window; ++s)
            slots[s].busy = false;
        while (true) {
            to_send.clear();
            const bool more = preload ? preload_next < o.keys : Clock::now() < end;
            for (uint32_t s = 0; s < o.window && more; ++s) {
                if (slots[s].busy) continue;
                if (preload && preload_next >= o.keys) break;
                fill(s, preload);
                to_send.push_back(s);
            }
            for (size_t i = 0; i < to_send.size(); ++i) {
                msgs[i].msg_hdr = {};
                msgs[i].msg_hdr.msg_iov = &iovs[to_send[i]];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            if (!to_send.empty()) {
                const int k = sendmmsg(fd, msgs.data(), static_cast<unsigned>(to_send.size()), 0);
                if (k > 0) {
                    sent += static_cast<uint64_t>(k);
                    pending += static_cast<uint32_t>(k);
                }
            }
            if (pending == 0 && !more) break;
            const int r = recvmmsg(fd, rmsgs.data(), o.window, MSG_WAITFORONE, nullptr);
            if (r <= 0) {
                // 100 ms of silence: whatever is outstanding is lost.
                for (auto& sl : slots)
                    if (sl.busy) {
                        sl.busy = false;
                        ++lost;
                    }
                pending = 0;
                if (!more) break;
                continue;
            }
            const auto now = Clock::now();
            for (int i = 0; i < r; ++i) {
                const char* d = rx[i].data();
                const size_t len = rmsgs[i].msg_len;
                if (len < 8) continue;
                const uint16_t id = static_cast<uint16_t>((static_cast<uint8_t>(d[0]) << 8) |
                                                          static_cast<uint8_t>(d[1]));
                const uint32_t s = id % o.window;
                if (!slots[s].busy || slot_id[s] != id) continue;  // late or foreign
                Slot& sl = slots[s];
                sl.busy = false;
                --pending;
                ++received;
                hist.record(static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - sl.sent).count()));
                const std::string_view body(d + 8, len - 8);
                if (!sl.is_get) {
                    if (body == "STORED\r\n")
                        ++stored;
                    else
                        ++bad;
                } else if (body == "END\r\n") {
                    ++misses;
                } else {
                    const std::string expect =
                        fmt::format("VALUE {} 0 {}\r\n{}\r\nEND\r\n", keys[sl.key], o.value_len,
                                    make_value(sl.key, o.value_len));
                    if (body == expect)
                        ++hits;
                    else
                        ++bad;
                }
            }
        }
    };

    if (preloading_at_start) {
        run_phase(0, true);
        sent = received = hits = misses = bad = stored = lost = 0;
        hist.reset();
    }
    const auto t0 = Clock::now();
    run_phase(o.duration, false);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    const double rate = received / dt;
    const double hit_ratio = hits + misses ? double(hits) / double(hits + misses) : 0;
    fmt::print(
        "udp_loadgen {}:{}: {:.0f} req/s, sent {}, received {}, lost {}, hits {}, misses "
        "{}, bad {}, hit ratio {:.3f}, latency us p50 {:.1f} p90 {:.1f} p99 {:.1f} "
        "p99.9 {:.1f} max {:.1f}\n",
        o.host, o.port, rate, sent, received, lost, hits, misses, bad, hit_ratio,
        hist.quantile(0.5) / 1e3, hist.quantile(0.9) / 1e3, hist.quantile(0.99) / 1e3,
        hist.quantile(0.999) / 1e3, hist.max() / 1e3);
    if (!o.json.empty()) {
        FILE* f = fopen(o.json.c_str(), "w");
        if (f != nullptr) {
            // The same keys as fulmar-pktgen's JSON, so one script reads both.
            fmt::print(f,
                       "{{\"tool\": \"udp_loadgen\", \"requests_per_s\": {:.1f}, "
                       "\"hit_ratio\": {:.6f}, \"loss_ratio\": {:.6f}, \"sent\": {}, "
                       "\"received\": {}, \"bad\": {}, \"latency_us\": {{\"p50\": {:.3f}, "
                       "\"p90\": {:.3f}, \"p99\": {:.3f}, \"p99_9\": {:.3f}, \"p99_99\": {:.3f}, "
                       "\"max\": {:.3f}}}}}\n",
                       rate, hit_ratio, sent ? double(lost) / double(sent) : 0.0, sent, received,
                       bad, hist.quantile(0.5) / 1e3, hist.quantile(0.9) / 1e3,
                       hist.quantile(0.99) / 1e3, hist.quantile(0.999) / 1e3,
                       hist.quantile(0.9999) / 1e3, hist.max() / 1e3);
            fclose(f);
        }
    }
    close(fd);
    return bad == 0 ? 0 : 3;
}
