// The common memcached UDP write, recognised in one pass: a datagram whose
// whole body is one plain `set` with its data.
//
// Pure, any thread. The dataplane uses it to route a set to its shard's owner
// and run it without the full classic parser (a set line cost ~2,000
// instructions to parse there, twice: once to route, once to run). Anything
// else (other commands, pipelined requests, signs, spaces, numbers out of
// memcached's plain range, junk where "noreply" may stand, a bad data
// terminator) goes to the full parser, which decides exactly as memcached
// does. So accepting is a promise: McTextParser, configured with the same
// `max_value_len`, reads an accepted body as the same request (tests/proto
// check this on random lines, the mc_fast_line fuzzer on arbitrary ones).
//
//   "set " key " " flags " " exptime " " bytes [" noreply"] "\r\n" data "\r\n"
//   key: as in mc_get_line.h; flags: 1-10 digits <= 4294967295;
//   exptime: 1-10 digits <= 2147483647; bytes: 1-7 digits <= max_value_len
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/mc_text.h"

namespace fulmar::proto {

// True, with `req` filled as McTextParser::parse would fill it, when `body`
// is exactly one plain set request (see above).
bool parse_mc_set_line(std::string_view body, uint32_t max_value_len, McTextRequest& req);

}  // namespace fulmar::proto
