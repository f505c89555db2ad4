// The shard's memory budget as one contiguous region: a hugepage-backed
// memzone in the dataplane (a secondary process finds it by name), or plain
// anonymous memory for unit tests and tools that run without EAL hugepages.
//
// Owned by the shard; created and freed by the owner at setup/teardown.
#pragma once

#include <rte_memzone.h>

#include <cstddef>
#include <span>
#include <string>

namespace fulmar::store {

enum class MemoryKind : uint8_t {
    kAnonymous,  // mmap: no EAL memory needed
    kMemzone,    // rte_memzone_reserve_aligned on the given socket
};

class Region {
  public:
    Region() = default;
    Region(Region&& o) noexcept { *this = std::move(o); }
    Region& operator=(Region&& o) noexcept;
    Region(const Region&) = delete;
    ~Region() { release(); }

    // Size is rounded down to whole pages of `align`. Empty on failure.
    static Region create(MemoryKind kind, const std::string& name, size_t bytes, size_t align,
                         int socket_id);
    std::span<std::byte> bytes() const { return {base_, size_}; }
    bool ok() const { return base_ != nullptr; }

  private:
    void release();
    std::byte* base_ = nullptr;
    size_t size_ = 0;
    const rte_memzone* mz_ = nullptr;
};

}  // namespace fulmar::store
