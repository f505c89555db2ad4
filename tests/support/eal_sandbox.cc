// EAL without hardware; see eal_sandbox.h.
#include "eal_sandbox.h"

#include <rte_eal.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace fulmar::testing {

EalSandbox::EalSandbox(const std::string& tag, unsigned memory_mb)
    : name_(tag + "_" + std::to_string(getpid())) {
    const std::string prefix = "--file-prefix=" + name_;
    const std::string memory = std::to_string(memory_mb);
    std::vector<const char*> args = {tag.c_str(),
                                     "--no-huge",
                                     "-m",
                                     memory.c_str(),
                                     "--no-pci",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "--log-level=lib.eal:error",
                                     prefix.c_str()};
    ok_ = rte_eal_init(static_cast<int>(args.size()), const_cast<char**>(args.data())) >= 0;
}

EalSandbox::~EalSandbox() {
    if (!ok_) return;
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all("/var/run/dpdk/" + name_, ec);
}

}  // namespace fulmar::testing
