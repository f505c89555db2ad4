// The common memcached UDP request, recognised in one pass: a datagram whose
// whole body is one `get`/`gets` line with a few plain keys.
//
// Pure, any thread. The dataplane's GET fast path uses it to skip the full
// classic parser and the engine's second tokenization; anything it does not
// accept (other commands, pipelined lines, odd spacing, \r or NUL inside the
// line, long or many keys) goes to the full parser, which then decides exactly as
// memcached does. So accepting is a promise: McTextParser reads an accepted
// body as the same command with the same keys (tests/proto check this on
// random lines, and the mc_get_line fuzzer on arbitrary ones).
//
//   "get" | "gets"  ( " " key ){1,kMcGetLineMaxKeys}  "\r\n" | "\n"
//   key: 1..250 bytes, any but space, \n, \r and NUL (as the classic parser
//        reads keys: memcached splits tokens on spaces only)
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace fulmar::proto {

// Enough for the multi-gets clients send in one datagram; more keys take the
// full path (its replies usually span datagrams anyway).
inline constexpr size_t kMcGetLineMaxKeys = 32;

struct McGetLine {
    bool with_cas = false;  // gets
    size_t n_keys = 0;
    std::array<std::string_view, kMcGetLineMaxKeys> keys;  // views into the body
};

// True when `body` is exactly one plain get/gets line (see above).
bool parse_mc_get_line(std::string_view body, McGetLine& out);

// The end of the key starting at `pos` in p[0..end): the first byte that
// cannot be in a plain key (above), or end. Shared with mc_set_line.
size_t mc_plain_key_end(const char* p, size_t pos, size_t end);

}  // namespace fulmar::proto
