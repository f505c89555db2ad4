// The per-lcore table: which lcore runs which worker, polling which queue of
// which port, on which NUMA socket. Built once from the configuration and
// checked against EAL before anything is created (as DPDK's l3fwd checks its
// (port, queue, lcore) table), then turned into each worker's parameters.
//
// Main lcore, at start-up only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/dataplane_config.h"

namespace fulmar::dataplane {

struct LcoreConf {
    unsigned lcore_id = 0;
    uint16_t worker_id = 0;  // also the shard id and the RCU thread id
    uint16_t port_id = 0;    // set once the port is open
    uint16_t queue_id = 0;   // RX and TX queue of that port
    int socket_id = 0;       // where the shard's memory goes
};

// One entry per configured worker, in configuration order (worker i owns
// shard i and queue i). Errors, as a person reads them: a worker lcore that
// EAL did not enable or that is the main lcore, a duplicate, a main_lcore
// key that disagrees with EAL's main lcore, more workers than the shared
// layout holds.
Result<std::vector<LcoreConf>, std::string> build_lcore_table(const config::DataplaneConfig& cfg);

}  // namespace fulmar::dataplane
