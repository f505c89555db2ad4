// Redis's glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET, ...):
// `*` any run, `?` any one byte, `[abc]` `[^a-z]` classes, `\x` the byte x.
//
// Any thread; no state, no allocation. Matches what Redis 7.0's
// stringmatchlen() accepts, including its edge cases: an unterminated class
// ends at the pattern's end, a reversed range `[z-a]` is `[a-z]`, a trailing
// backslash is a literal backslash. Unlike a naive recursion, the match
// backtracks only to the last `*` seen, so a pattern like `a*a*a*a*b`
// costs O(pattern x subject), never exponential time.
#pragma once

#include <string_view>

namespace fulmar {

bool glob_match(std::string_view pattern, std::string_view subject, bool nocase = false);

}  // namespace fulmar
