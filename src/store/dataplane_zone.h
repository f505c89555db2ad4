// The dataplane-wide shared zones: DataplaneShm (counts, digest seed,
// per-lcore counters) and the RCU QSBR variable every reader reports to.
// The primary creates them (DataplaneZones::create) before any shard; a
// secondary process attaches to them and to every shard by name
// (attach_dataplane), after which it reads items exactly as a worker of
// another lcore does.
//
// Threading: created and freed by the primary's main lcore; attach runs once
// on the secondary's main thread, which then registers each reader thread
// with the RCU variable under one of the control plane's thread ids
// (shm::DataplaneShm::n_workers + 0 .. kMaxCpReaders-1).
#pragma once

#include <rte_memzone.h>
#include <rte_rcu_qsbr.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "shm/layout.h"
#include "store/shard_view.h"

namespace fulmar::store {

// Primary side: owns the two zones; frees them on destruction.
class DataplaneZones {
  public:
    DataplaneZones() = default;
    DataplaneZones(DataplaneZones&& o) noexcept { *this = std::move(o); }
    DataplaneZones& operator=(DataplaneZones&& o) noexcept;
    DataplaneZones(const DataplaneZones&) = delete;
    ~DataplaneZones() { release(); }

    // Zones for `n_workers` workers (one shard each) on `socket_id`; records
    // the process's digest seed, so call after choosing it. Error text says
    // which zone failed.
    static Result<DataplaneZones, std::string> create(uint32_t n_workers, int socket_id,
                                                      UnixTime started);

    shm::DataplaneShm& shm() const { return *shm_; }
    rte_rcu_qsbr* rcu() const { return rcu_; }

  private:
    void release();
    const rte_memzone* shm_zone_ = nullptr;
    const rte_memzone* rcu_zone_ = nullptr;
    shm::DataplaneShm* shm_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
};

// Secondary side: what a process attached to a running dataplane reads.
struct AttachedDataplane {
    shm::DataplaneShm* shm = nullptr;  // counters (ro) and the stats-reset baseline (rw)
    rte_rcu_qsbr* rcu = nullptr;
    std::vector<ShardView> shards;  // shards[i] is owned by worker i
    // The first RCU thread id the control plane may register.
    uint32_t first_reader_thread_id() const { return shm->n_workers; }
};

// Finds every zone by name and checks it; sets this process's digest seed to
// the primary's. The error text is for a person ("no dataplane with this
// --file-prefix", "shard 1: ...").
Result<AttachedDataplane, std::string> attach_dataplane();

}  // namespace fulmar::store
