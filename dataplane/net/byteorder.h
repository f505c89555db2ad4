// 16-bit byte swaps for the packet path (any thread; pure).
//
// DPDK's rte_be_to_cpu_16/rte_cpu_to_be_16 on x86, for a value not known at
// compile time, are an asm statement (xchgb): the compiler can neither fold
// the swap into the load (movbe) nor combine it with what follows. The
// builtin gives the same value and leaves the compiler free; constants keep
// using RTE_BE16.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>

namespace fulmar::net {

static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "the packet path swaps for a little-endian CPU");

// Network order to the CPU's and back (the same swap).
constexpr uint16_t be16(uint16_t v) {
    return __builtin_bswap16(v);
}

}  // namespace fulmar::net
