// The per-lcore table; see lcore_table.h.
#include "lcore_table.h"

#include <rte_lcore.h>

#include <fmt/core.h>

#include <set>

#include "shm/layout.h"

namespace fulmar::dataplane {

Result<std::vector<LcoreConf>, std::string> build_lcore_table(const config::DataplaneConfig& cfg) {
    const unsigned main_lcore = rte_get_main_lcore();
    if (cfg.main_lcore && *cfg.main_lcore != main_lcore)
        return Err(fmt::format(
            "dataplane.main_lcore = {} but EAL's main lcore is {} (start with --main-lcore {}, "
            "or remove the key)",
            *cfg.main_lcore, main_lcore, *cfg.main_lcore));
    if (cfg.ports.size() != 1) return Err(std::string("exactly one [[ports]] entry is supported"));
    if (cfg.workers.empty() || cfg.workers.size() > shm::kMaxWorkers)
        return Err(fmt::format("dataplane.workers: between 1 and {} workers", shm::kMaxWorkers));
    std::vector<LcoreConf> table;
    std::set<unsigned> seen;
    for (size_t i = 0; i < cfg.workers.size(); ++i) {
        const unsigned l = cfg.workers[i];
        if (!rte_lcore_is_enabled(l) || l == main_lcore)
            return Err(
                fmt::format("dataplane.workers: lcore {} is not an enabled worker lcore "
                            "(give EAL -l with it, and not as the main lcore {})",
                            l, main_lcore));
        if (!seen.insert(l).second)
            return Err(fmt::format("dataplane.workers: lcore {} is listed twice", l));
        LcoreConf lc;
        lc.lcore_id = l;
        lc.worker_id = static_cast<uint16_t>(i);
        lc.queue_id = static_cast<uint16_t>(i);
        lc.socket_id = static_cast<int>(rte_lcore_to_socket_id(l));
        table.push_back(lc);
    }
    return table;
}

}  // namespace fulmar::dataplane
