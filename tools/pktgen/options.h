// fulmar-pktgen's command line (the part after EAL's "--"): one table of
// flags, parsed into Options and checked against each other.
//
// Start-up only, main thread; may allocate.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "workload.h"

namespace fulmar::pktgen {

inline constexpr uint32_t kMaxQueues = 64;

struct Options {
    WorkloadParams workload;
    bool preload = false;
    double rate = 0;              // requests/s, open loop; 0: closed loop
    uint32_t window = 0;          // closed loop: requests in flight; open loop: a cap (0: none)
    uint32_t preload_window = 0;  // 0: the window, or 256 a queue in open loop
    double duration_s = 10;
    double warmup_s = 1;
    uint32_t timeout_ms = 100;
    uint32_t dst_ip = 0;  // host order
    uint32_t src_ip = 0;
    std::optional<std::array<uint8_t, 6>> dst_mac;  // none: learnt by ARP
    uint16_t dst_port = 11211;
    uint16_t src_port = 40000;
    uint16_t port_id = 0;  // DPDK ethdev port
    // Port sizing (see port.cc for why these defaults; docs/memif-tuning.md
    // for what was measured). net_memif takes its ring size from the rsize
    // devarg, not from the descriptor counts.
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    // Per queue: RX and TX rings, frames the memif peer still holds (zero-copy:
    // ours), a window in flight, bursts: 16k is plenty and costs 36 MiB.
    uint32_t mbufs_per_queue = 16384;
    uint32_t mbuf_cache = 256;
    // Generator instances, one per lcore and port queue (queue q on the q-th
    // EAL lcore, the main lcore first). --rate, --window and
    // --preload-window are totals, split across them; see queues.h.
    uint32_t queues = 1;
    uint32_t burst = 32;
    std::string json_path;
    bool quiet = false;
    bool reflector = false;  // replies are echoes: match ids only
    bool help = false;
};

// Parses argv[1..] after EAL's arguments. The message names the flag at fault.
Result<Options, std::string> parse_options(std::span<char* const> args);

// The flag table as help text.
std::string usage_text();

// "198.18.0.1" for a host-order address.
std::string format_ipv4(uint32_t host_order);

}  // namespace fulmar::pktgen
