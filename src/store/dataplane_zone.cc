// Creating and attaching the dataplane-wide zones; see dataplane_zone.h.
#include "store/dataplane_zone.h"

#include <rte_errno.h>
#include <rte_memzone.h>
#include <unistd.h>

#include <fmt/core.h>

#include <new>
#include <utility>

#include "store/digest.h"

namespace fulmar::store {

DataplaneZones& DataplaneZones::operator=(DataplaneZones&& o) noexcept {
    if (this != &o) {
        release();
        shm_zone_ = std::exchange(o.shm_zone_, nullptr);
        rcu_zone_ = std::exchange(o.rcu_zone_, nullptr);
        shm_ = std::exchange(o.shm_, nullptr);
        rcu_ = std::exchange(o.rcu_, nullptr);
    }
    return *this;
}

void DataplaneZones::release() {
    if (rcu_zone_ != nullptr) rte_memzone_free(rcu_zone_);
    if (shm_zone_ != nullptr) rte_memzone_free(shm_zone_);
    rcu_zone_ = shm_zone_ = nullptr;
    rcu_ = nullptr;
    shm_ = nullptr;
}

Result<DataplaneZones, std::string> DataplaneZones::create(uint32_t n_workers, int socket_id,
                                                           UnixTime started) {
    if (n_workers == 0 || n_workers > shm::kMaxWorkers)
        return Err{
            fmt::format("{} workers: between 1 and {} are supported", n_workers, shm::kMaxWorkers)};
    DataplaneZones z;
    const rte_memzone* mz =
        rte_memzone_reserve_aligned(std::string(shm::kDataplaneZone).c_str(),
                                    sizeof(shm::DataplaneShm), socket_id, 0, RTE_CACHE_LINE_SIZE);
    if (mz == nullptr)
        return Err{fmt::format("memzone {}: {}", shm::kDataplaneZone, rte_strerror(rte_errno))};
    z.shm_zone_ = mz;
    z.shm_ = new (mz->addr) shm::DataplaneShm();
    const uint32_t threads = n_workers + shm::kMaxCpReaders;
    const size_t rcu_size = rte_rcu_qsbr_get_memsize(threads);
    const rte_memzone* rz = rte_memzone_reserve_aligned(
        std::string(shm::kRcuZone).c_str(), rcu_size, socket_id, 0, RTE_CACHE_LINE_SIZE);
    if (rz == nullptr)
        return Err{fmt::format("memzone {}: {}", shm::kRcuZone, rte_strerror(rte_errno))};
    z.rcu_zone_ = rz;
    z.rcu_ = static_cast<rte_rcu_qsbr*>(rz->addr);
    if (rte_rcu_qsbr_init(z.rcu_, threads) != 0)
        return Err{fmt::format("rte_rcu_qsbr_init for {} threads failed", threads)};
    shm::DataplaneShm& d = *z.shm_;
    d.n_workers = n_workers;
    d.n_shards = n_workers;
    d.rcu_threads = threads;
    d.digest_seed = digest_seed();
    d.primary_pid = static_cast<int64_t>(::getpid());
    d.started = started;
    return z;
}

Result<AttachedDataplane, std::string> attach_dataplane() {
    const rte_memzone* mz = rte_memzone_lookup(std::string(shm::kDataplaneZone).c_str());
    if (mz == nullptr)
        return Err{fmt::format("no memzone {}: no dataplane runs with this --file-prefix",
                               shm::kDataplaneZone)};
    auto* d = static_cast<shm::DataplaneShm*>(mz->addr);
    if (mz->len < sizeof(shm::DataplaneShm) || d->magic != shm::kDataplaneMagic)
        return Err{fmt::format("memzone {} does not hold a Fulmar dataplane", shm::kDataplaneZone)};
    if (d->layout_version != shm::kLayoutVersion)
        return Err{fmt::format("the dataplane uses shared-memory layout {}, this program {}",
                               d->layout_version, shm::kLayoutVersion)};
    const rte_memzone* rz = rte_memzone_lookup(std::string(shm::kRcuZone).c_str());
    if (rz == nullptr) return Err{fmt::format("no memzone {}", shm::kRcuZone)};
    AttachedDataplane a;
    a.shm = d;
    a.rcu = static_cast<rte_rcu_qsbr*>(rz->addr);
    for (uint32_t i = 0; i < d->n_shards; ++i) {
        auto v = ShardView::attach(shm::shard_name(i));
        if (!v) return Err{fmt::format("shard {}: {}", i, attach_status_text(v.error()))};
        a.shards.push_back(v.value());
    }
    // Digests must match the primary's for any look-up to hit.
    set_digest_seed(d->digest_seed);
    return a;
}

}  // namespace fulmar::store
