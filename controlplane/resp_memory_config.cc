// maxmemory and maxmemory-policy; see resp_memory_config.h.
#include "resp_memory_config.h"

#include "common/ascii.h"

#include <fmt/core.h>

#include <memory>

#include "resp_collection_config.h"
#include "resp_server_state.h"
#include "store/slab.h"

namespace fulmar::controlplane {
void add_memory_config(RespServerState& state, shm::MemoryPolicy& policy, uint64_t total,
                       size_t n_shards) {
    policy.max_pages.store(shm::kAllPages, std::memory_order_relaxed);
    policy.evict.store(1, std::memory_order_relaxed);
    // What was set (Redis echoes it); 0: the whole memory.
    auto set_bytes = std::make_shared<uint64_t>(0);
    state.add_config(
        {"maxmemory",
         [set_bytes, total] { return fmt::format("{}", *set_bytes ? *set_bytes : total); },
         [set_bytes, total, n_shards, &policy](std::string_view v) -> std::optional<std::string> {
             std::string error;
             const auto n = parse_config_number(v, 0, INT64_MAX, true, true, error);
             if (!n) return error;
             const auto bytes = static_cast<uint64_t>(*n);
             if (bytes > total)
                 return fmt::format(
                     "maxmemory above the store's memory ({} bytes: memory_per_shard_mb x "
                     "workers, fixed at the dataplane's start)",
                     total);
             uint32_t pages = shm::kAllPages;
             if (bytes != 0 && bytes < total)
                 pages = static_cast<uint32_t>(bytes / n_shards / store::kPageSize);
             *set_bytes = bytes;
             policy.max_pages.store(pages, std::memory_order_relaxed);
             return std::nullopt;
         }});
    state.add_config(
        {"maxmemory-policy",
         [&policy] {
             return std::string(policy.evict.load(std::memory_order_relaxed) ? "allkeys-lru"
                                                                             : "noeviction");
         },
         [&policy](std::string_view v) -> std::optional<std::string> {
             if (ascii_iequals(v, "allkeys-lru")) {
                 policy.evict.store(1, std::memory_order_relaxed);
             } else if (ascii_iequals(v, "noeviction")) {
                 policy.evict.store(0, std::memory_order_relaxed);
             } else {
                 return std::string(
                     "not supported: the store evicts among all keys by CLOCK (allkeys-lru) "
                     "or not at all (noeviction)");
             }
             return std::nullopt;
         }});
}

}  // namespace fulmar::controlplane
