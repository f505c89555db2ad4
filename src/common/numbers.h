// Strict decimal parsing of protocol tokens, with memcached's acceptance rules.
//
// Any thread; pure functions. memcached parses numbers with strtoull/strtol and
// then rejects trailing garbage and negative input for unsigned fields; we
// reproduce that set exactly (an optional leading '+' is accepted, a leading
// '-' is not for unsigned fields, overflow is an error) without locale or errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulmar {

// Unsigned 64-bit: delta of incr/decr, CAS unique. False on empty, junk,
// '-' or overflow.
bool parse_u64(std::string_view s, uint64_t& out);

// Unsigned 32-bit: client flags. False as parse_u64, or when above 2^32-1.
bool parse_u32(std::string_view s, uint32_t& out);

// Signed 32-bit: exptime, lengths that may be given negative. False on empty,
// junk, or outside int32.
bool parse_i32(std::string_view s, int32_t& out);

// Signed 64-bit: RESP integers, meta numeric flags that may be negative.
bool parse_i64(std::string_view s, int64_t& out);

// Decimal rendering without allocation: writes into buf (>= 20 bytes) and
// returns the number of characters.
size_t format_u64(uint64_t v, char* buf);
// How many characters format_u64 writes for v.
size_t decimal_digits(uint64_t v);
size_t format_i64(int64_t v, char* buf);

}  // namespace fulmar
