// How often the machine takes the CPU away from a spinning thread: the noise
// floor under every latency figure the benchmark prints.
//
//   hiccup [--seconds S] [--threshold-us T]     (pin it: taskset -c 1 hiccup)
//
// Spins reading CLOCK_MONOTONIC (vDSO: no syscall) and records every gap
// between two reads above T µs (default 20): a gap is time this thread did
// not run — a hypervisor taking the vCPU, an interrupt, another task. A
// poll-mode worker loses the same time, and every request that arrives then
// waits it out: if gaps cover more than 1% of the time, no server on this
// core can show a p99 under the typical gap. Prints one JSON line.
#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

namespace {

uint64_t now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 3;
    double threshold_us = 20;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            seconds = std::strtod(argv[++i], nullptr);
        } else if (a == "--threshold-us" && i + 1 < argc) {
            threshold_us = std::strtod(argv[++i], nullptr);
        } else {
            fmt::print(stderr, "usage: hiccup [--seconds S] [--threshold-us T]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds <= 3600 && threshold_us > 0)) {
        fmt::print(stderr, "hiccup: --seconds must be in (0, 3600], --threshold-us > 0\n");
        return 2;
    }
    const auto threshold = static_cast<uint64_t>(threshold_us * 1e3);
    const uint64_t start = now_ns();
    const auto end = start + static_cast<uint64_t>(seconds * 1e9);
    uint64_t last = start, gaps = 0, over_100us = 0, over_1ms = 0, lost = 0, max_gap = 0;
    for (uint64_t t = start; t < end; last = t) {
        t = now_ns();
        const uint64_t g = t - last;
        if (g <= threshold) continue;
        ++gaps;
        lost += g;
        over_100us += g > 100'000;
        over_1ms += g > 1'000'000;
        max_gap = std::max(max_gap, g);
    }
    const double total = static_cast<double>(last - start);
    fmt::print(
        "{{\"seconds\": {:.2f}, \"threshold_us\": {:.1f}, \"gaps\": {}, \"gaps_per_s\": {:.1f}, "
        "\"lost_fraction\": {:.4f}, \"mean_gap_us\": {:.1f}, \"max_gap_us\": {:.1f}, "
        "\"gaps_over_100us\": {}, \"gaps_over_1ms\": {}}}\n",
        total / 1e9, threshold_us, gaps, gaps / (total / 1e9), lost / total,
        gaps ? static_cast<double>(lost) / gaps / 1e3 : 0.0, max_gap / 1e3, over_100us, over_1ms);
    return 0;
}
