// DPDK's EAL for processes that need rte_hash/rte_ring/mempools but no
// hardware: unit tests, benchmarks, tools. No hugepages, no PCI, no shared
// config, a per-process file prefix; the destructor cleans up and removes
// the runtime folder EAL leaves even with --no-shconf.
//
// One per process, on the main thread, before any other DPDK call.
#pragma once

#include <string>

namespace fulmar::testing {

class EalSandbox {
  public:
    // `tag` names the file prefix ("<tag>_<pid>"); `memory_mb` is EAL's -m.
    EalSandbox(const std::string& tag, unsigned memory_mb);
    EalSandbox(const EalSandbox&) = delete;
    EalSandbox& operator=(const EalSandbox&) = delete;
    ~EalSandbox();
    bool ok() const { return ok_; }

  private:
    std::string name_;
    bool ok_ = false;
};

}  // namespace fulmar::testing
