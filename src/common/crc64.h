// CRC-64/Jones, the checksum Redis puts at the end of a DUMP payload (and of
// an RDB file): polynomial 0xad93d23594c935a9, reflected input and output,
// initial value 0, no final xor. Check value: "123456789" -> 0xe9c6d914c4b8d9ca.
//
// Any thread; no state beyond a constant table built on first use.
// Written from the polynomial (a byte-at-a-time table), not from Redis's
// sliced implementation: payloads are at most about an item (1 MiB), where
// a byte a step costs a few milliseconds at worst.
#pragma once

#include <cstdint>
#include <string_view>

namespace fulmar {

// The CRC of `data` continued from `crc` (0 to start).
uint64_t crc64_jones(uint64_t crc, std::string_view data);

}  // namespace fulmar
