// GoogleTest main for suites that need DPDK's EAL (rte_hash, rte_rcu): no
// hugepages, no PCI, no shared config files, so it runs anywhere, in
// parallel with other tests, and leaves nothing behind.
#include <rte_eal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/digest.h"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const std::string name = "fulmar_test_" + std::to_string(getpid());
    const std::string prefix = "--file-prefix=" + name;
    std::vector<const char*> eal = {"fulmar_test",
                                    "--no-huge",
                                    "-m",
                                    "1536",
                                    "--no-pci",
                                    "--no-shconf",
                                    "--no-telemetry",
                                    "--log-level=lib.eal:error",
                                    prefix.c_str()};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char**>(eal.data())) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 2;
    }
    fulmar::store::randomize_digest_seed();
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    // EAL leaves its runtime folder even with --no-shconf.
    std::error_code ec;
    std::filesystem::remove_all("/var/run/dpdk/" + name, ec);
    return rc;
}
