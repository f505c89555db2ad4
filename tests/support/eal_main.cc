// GoogleTest main for suites that need DPDK's EAL (rte_hash, rte_rcu): an
// EalSandbox, so it runs anywhere, in parallel with other tests, and leaves
// nothing behind.
#include <gtest/gtest.h>

#include <cstdio>

#include "eal_sandbox.h"
#include "store/digest.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const fulmar::testing::EalSandbox eal("fulmar_test", 1536);
    if (!eal.ok()) {
        std::fprintf(stderr, "rte_eal_init failed\n");
        return 2;
    }
    fulmar::store::randomize_digest_seed();
    return RUN_ALL_TESTS();
}
