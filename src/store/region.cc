// Shard memory regions; see region.h.
#include "store/region.h"

#include <sys/mman.h>

#include <utility>

namespace fulmar::store {

Region& Region::operator=(Region&& o) noexcept {
    if (this != &o) {
        release();
        base_ = std::exchange(o.base_, nullptr);
        size_ = std::exchange(o.size_, 0);
        mz_ = std::exchange(o.mz_, nullptr);
    }
    return *this;
}

Region Region::create(MemoryKind kind, const std::string& name, size_t bytes, size_t align,
                      int socket_id) {
    Region r;
    bytes -= bytes % align;
    if (bytes == 0) return r;
    if (kind == MemoryKind::kMemzone) {
        r.mz_ = rte_memzone_reserve_aligned(name.c_str(), bytes, socket_id, 0,
                                            static_cast<unsigned>(align));
        if (r.mz_ == nullptr) return r;
        r.base_ = static_cast<std::byte*>(r.mz_->addr);
    } else {
        // Over-map by one alignment unit so the region can start aligned.
        const size_t len = bytes + align;
        void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return r;
        auto addr = reinterpret_cast<uintptr_t>(p);
        const uintptr_t aligned = (addr + align - 1) & ~(uintptr_t{align} - 1);
        if (aligned > addr) munmap(p, aligned - addr);
        const uintptr_t end = aligned + bytes;
        if (addr + len > end) munmap(reinterpret_cast<void*>(end), addr + len - end);
        r.base_ = reinterpret_cast<std::byte*>(aligned);
    }
    r.size_ = bytes;
    return r;
}

void Region::release() {
    if (base_ == nullptr) return;
    if (mz_ != nullptr)
        rte_memzone_free(mz_);
    else
        munmap(base_, size_);
    base_ = nullptr;
    size_ = 0;
    mz_ = nullptr;
}

}  // namespace fulmar::store
