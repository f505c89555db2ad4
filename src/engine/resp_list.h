// What the control plane needs to know of Redis's blocking list commands
// (BLPOP BRPOP BLMOVE BRPOPLPUSH, flagged kCmdBlocking in the table): how
// long a client may wait. The commands themselves are in
// resp_list_commands.cc.
//
// Any thread; no state.
#pragma once

#include <cstdint>
#include <string_view>

namespace fulmar::engine {

// A blocking command's timeout argument (seconds, a float; 0 = forever) in
// milliseconds, as Redis 7.0's getTimeoutFromObjectOrReply reads it
// (rounded up: 0.0001 is 1 ms; no upper bound). False with Redis's error words in
// `error` (write them with RespWriter::write_error).
bool resp_block_timeout_ms(std::string_view arg, int64_t& ms, std::string_view& error);

}  // namespace fulmar::engine
