// DEBUG DIGEST-VALUE's digest of a key's value: equal for equal contents
// whatever the encoding (a set's or hash's order does not count, a list's
// does), 40 hex digits like Redis's, all zeros for a missing key.
//
// Any thread that may read the shards (the control plane from its views).
// Not Redis's SHA1: the Redis suite only compares digests with each other
// (a COPY against its source), never with a constant.
#pragma once

#include <string>
#include <string_view>

#include "engine/resp_commands.h"

namespace fulmar::engine {

std::string value_digest(std::string_view key, const RespReadCtx& ctx);

}  // namespace fulmar::engine
