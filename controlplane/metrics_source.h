// The figures behind GET /metrics, read from the dataplane's shared memory
// (shm/layout.h), the owners' inbox rings and the control plane's own
// servers into a MetricsSnapshot (metrics_text.h renders it).
//
// Owned by the control plane's loop thread; reads snapshots, writes nothing.
#pragma once

#include <rte_ring.h>

#include <vector>

#include "metrics_text.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"
#include "sweep_pacer.h"

namespace fulmar::controlplane {

class McServer;
class McUdpServer;

class MetricsSource {
  public:
    // The inboxes are looked up by name once, here (rte_ring_lookup takes
    // the EAL's tailq lock). `mc` is null when memcached TCP is off, `udp`
    // when the port has no kernel side, `sweep` when no pacer runs.
    MetricsSource(const store::AttachedDataplane& dp, const ShardChannel& channel,
                  const McServer* mc, const McUdpServer* udp, const SweepPacer* sweep = nullptr);

    MetricsSnapshot snapshot() const;

  private:
    const store::AttachedDataplane& dp_;
    const ShardChannel& channel_;
    const McServer* mc_;
    const McUdpServer* udp_;
    const SweepPacer* sweep_;
    std::vector<const rte_ring*> inboxes_;  // null where a lookup failed
};

}  // namespace fulmar::controlplane
