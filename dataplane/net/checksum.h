// Internet checksum helpers (RFC 1071, RFC 1624) shared by the classifier and
// the reply builders. Internal to dataplane/net.
//
// Any thread; pure. Sums are over 16-bit words as they lie in memory, like
// rte_raw_cksum: one's complement addition does not care about byte order, so
// a sum stored back as is has the wire's byte order.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstddef>
#include <cstdint>

namespace fulmar::net {

// Folds carries back in until the sum fits 16 bits.
inline uint16_t fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Non-complemented 16-bit sum of `len` bytes; returned wide so a few sums can
// be added before folding.
inline uint32_t raw_sum(const void* data, size_t len) {
    return rte_raw_cksum(data, len);
}

// A region whose checksum field is right sums (with its pseudo-header) to
// 0xffff (one's complement -0).
inline bool sum_is_valid(uint32_t sum) {
    return fold(sum) == 0xffff;
}

// Non-complemented sum of the IPv4 pseudo-header. Unlike rte_ipv4_phdr_cksum
// it takes the L4 length explicitly: a UDP length shorter than the IP payload
// is legal, and the sender summed the UDP length.
inline uint32_t pseudo_header_sum(rte_be32_t src, rte_be32_t dst, uint8_t proto, uint32_t l4_len) {
    const uint32_t s = rte_be_to_cpu_32(src);
    const uint32_t d = rte_be_to_cpu_32(dst);
    // Host-order words, then one swap: the same as summing the wire words.
    const uint32_t host = (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + l4_len;
    return rte_cpu_to_be_16(fold(host));
}

// RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old_word
// to new_word (all three as they lie in memory).
inline uint16_t update_checksum(uint16_t cksum, uint16_t old_word, uint16_t new_word) {
    const uint32_t sum =
        static_cast<uint16_t>(~cksum) + static_cast<uint16_t>(~old_word) + new_word;
    return static_cast<uint16_t>(~fold(sum));
}

}  // namespace fulmar::net
