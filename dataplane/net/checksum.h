// Internet checksum helpers (RFC 1071, RFC 1624) shared by the classifier,
// the reply builders and fulmar-pktgen's request frames.
//
// Any thread; pure. Sums are over 16-bit words as they lie in memory, like
// rte_raw_cksum: one's complement addition does not care about byte order, so
// a sum stored back as is has the wire's byte order.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "net/byteorder.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fulmar::net {

// Folds carries back in until the sum fits 16 bits.
inline uint16_t fold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// fold() for a sum of several 32-bit words.
inline uint16_t fold_wide(uint64_t sum) {
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    return fold(static_cast<uint32_t>(sum));
}

// Non-complemented 16-bit sum of `len` bytes; returned wide so a few sums can
// be added before folding. Adds 64-bit words, counting carries apart (2^16 =
// 1 modulo 0xffff, so wider words and their carries fold to the same one's
// complement sum) instead of rte_raw_cksum's one 16-bit word per step: about
// a quarter of the instructions on a 100-byte datagram.
inline uint32_t raw_sum(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint64_t sum = 0;
    uint64_t carries = 0;
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        sum += w;
        carries += sum < w;
    }
    // The tail, zero-padded to a word: an odd last byte is the first byte of
    // its 16-bit word, as RFC 1071 pads.
    // Built in a register (little-endian: byte i at bits 8i): assembled in a
    // stack buffer, the 8-byte reload of narrower stores missed store
    // forwarding and stalled every datagram of odd length.
    if (len != 0) {
        uint64_t w = 0;
        if (len & 4) {
            uint32_t a;
            std::memcpy(&a, p, 4);
            w = a;
        }
        if (len & 2) {
            uint16_t b;
            std::memcpy(&b, p + (len & 4), 2);
            w |= uint64_t{b} << ((len & 4) * 8);
        }
        if (len & 1) w |= uint64_t{p[len - 1]} << ((len & 6) * 8);
        sum += w;
        carries += sum < w;
    }
    return fold_wide((sum & 0xffffffff) + (sum >> 32) + carries);
}

// A region whose checksum field is right sums (with its pseudo-header) to
// 0xffff (one's complement -0).
inline bool sum_is_valid(uint32_t sum) {
    return fold(sum) == 0xffff;
}

// Non-complemented sum of the IPv4 pseudo-header. Unlike rte_ipv4_phdr_cksum
// it takes the L4 length explicitly: a UDP length shorter than the IP payload
// is legal, and the sender summed the UDP length (at most 0xffff: an IPv4
// datagram's).
inline uint32_t pseudo_header_sum(rte_be32_t src, rte_be32_t dst, uint8_t proto, uint32_t l4_len) {
    // The words as they lie in memory, the addresses two at a time (a one's
    // complement sum is the same in either byte order, swapped): no swap of
    // the addresses, the same folded value as summing host-order words and
    // swapping once (both fold a nonzero sum to the one value in
    // [1, 0xffff] it is congruent to).
    return fold_wide(uint64_t{src} + dst + be16(uint16_t{proto}) +
                     be16(static_cast<uint16_t>(l4_len)));
}

// The IPv4 header checksum to store in a header whose checksum field is 0.
inline uint16_t ipv4_header_checksum(const rte_ipv4_hdr* ip) {
    return static_cast<uint16_t>(~fold(raw_sum(ip, rte_ipv4_hdr_len(ip))));
}

// The UDP checksum to store in a datagram of `udp_len` bytes whose checksum
// field is 0. A computed 0 is sent as 0xffff (RFC 768: 0 means none).
inline uint16_t udp_checksum(const rte_ipv4_hdr* ip, const void* udp, uint32_t udp_len) {
    const uint16_t c = static_cast<uint16_t>(
        ~fold(raw_sum(udp, udp_len) +
              pseudo_header_sum(ip->src_addr, ip->dst_addr, IPPROTO_UDP, udp_len)));
    return c == 0 ? 0xffff : c;
}

// RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old_word
// to new_word (all three as they lie in memory).
inline uint16_t update_checksum(uint16_t cksum, uint16_t old_word, uint16_t new_word) {
    const uint32_t sum =
        static_cast<uint16_t>(~cksum) + static_cast<uint16_t>(~old_word) + new_word;
    return static_cast<uint16_t>(~fold(sum));
}

}  // namespace fulmar::net
