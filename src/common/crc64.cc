// CRC-64/Jones (crc64.h): a reflected CRC, so the table is built from the
// bit-reversed polynomial and the register shifts right.
#include "common/crc64.h"

#include <array>

namespace fulmar {
namespace {

constexpr uint64_t kPoly = 0xad93d23594c935a9ULL;

constexpr uint64_t reflect64(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; ++i) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

constexpr std::array<uint64_t, 256> make_table() {
    const uint64_t rpoly = reflect64(kPoly);
    std::array<uint64_t, 256> t{};
    for (uint64_t b = 0; b < 256; ++b) {
        uint64_t c = b;
        for (int i = 0; i < 8; ++i)
            c = (c & 1) != 0 ? (c >> 1) ^ rpoly : c >> 1;
        t[b] = c;
    }
    return t;
}

constexpr std::array<uint64_t, 256> kTable = make_table();

}  // namespace

uint64_t crc64_jones(uint64_t crc, std::string_view data) {
    for (const char ch : data)
        crc = kTable[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
    return crc;
}

}  // namespace fulmar
