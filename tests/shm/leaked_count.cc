// A control plane killed between counting a request at the owners and
// enqueuing it, reproduced: a DPDK secondary that attaches, adds one to
// shm cp.inflight and exits without sending anything. The integration test
// `controlplane-mc` then checks that the next control plane is not stuck
// waiting for a reply that will never come (controlplane/shard_channel.cc).
//
//   leaked_count <EAL args: --proc-type=secondary --file-prefix P ...>
#include <rte_eal.h>
#include <rte_errno.h>

#include <fmt/core.h>

#include "store/dataplane_zone.h"

int main(int argc, char** argv) {
    if (rte_eal_init(argc, argv) < 0) {
        fmt::print(stderr, "leaked_count: EAL init failed: {}\n", rte_strerror(rte_errno));
        return 2;
    }
    auto dp = fulmar::store::attach_dataplane();
    if (!dp) {
        fmt::print(stderr, "leaked_count: {}\n", dp.error());
        return 2;
    }
    const int64_t now = dp.value().shm->cp.inflight.fetch_add(1) + 1;
    fmt::print("leaked_count: cp.inflight is {}\n", now);
    rte_eal_cleanup();
    return 0;
}
