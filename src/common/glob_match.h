// Redis's glob-style matching (util.c's stringmatchlen, 7.0.15): what
// PSUBSCRIBE, PUBSUB CHANNELS, KEYS, SCAN MATCH and CONFIG GET mean by a
// pattern.
//
// Any thread; no state. Byte strings (a NUL is an ordinary byte).
//
//   *        any run of bytes, empty included
//   ?        one byte
//   [abc]    one of the bytes listed; [^abc] none of them; [a-z] a range
//            (reversed ends are swapped); \x inside a class is the byte x;
//            an unclosed class ends at the pattern's end
//   \x       the byte x itself
//
// Redis's guards against abusive patterns are kept: a nesting depth past
// 1000 stars fails the match, and once the rest of a pattern after a star
// cannot match anywhere in the rest of the string, earlier stars do not
// retry longer runs (so "a*a*a*...b" is linear, not exponential).
#pragma once

#include <string_view>

namespace fulmar {

// Whether `text` matches `pattern` whole; `nocase` as stringmatchlen's.
// KEYS and SCAN MATCH answer "*" without matching (Redis's allkeys): here
// "*" does not match an empty text, as in Redis's stringmatchlen.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace fulmar
