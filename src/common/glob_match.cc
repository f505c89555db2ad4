// Redis's stringmatchlen; see glob_match.h. The walk is Redis's, with every
// read past the pattern's end (Redis relies on sds's NUL terminator) made
// an explicit '\0', so results are the same byte for byte.
#include "common/glob_match.h"

#include <cstddef>

namespace fulmar {
namespace {

constexpr int kMaxNesting = 1000;

// Bytes as Redis's `int c = string[0]` sees them: a signed char, so a
// range such as [a-\xff] means what it means in Redis (on x86).
int byte(char c) {
    return static_cast<signed char>(c);
}

int fold(int c, bool nocase) {
    return nocase && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

struct Matcher {
    bool nocase;
    bool skip_longer = false;

    bool match(const char* p, size_t plen, const char* s, size_t slen, int nesting) {
        if (nesting > kMaxNesting) return false;
        // The byte at p[i], or the terminator Redis would read there.
        const auto at = [&](size_t i) -> int { return i < plen ? byte(p[i]) : 0; };
        while (plen != 0 && slen != 0) {
            switch (p[0]) {
                case '*': {
                    while (plen != 0 && at(1) == '*') {
                        ++p;
                        --plen;
                    }
                    if (plen == 1) return true;
                    while (slen != 0) {
                        if (match(p + 1, plen - 1, s, slen, nesting + 1)) return true;
                        if (skip_longer) return false;
                        ++s;
                        --slen;
                    }
                    // The rest matches nowhere in the rest of the string: an
                    // earlier star trying a longer run cannot help.
                    skip_longer = true;
                    return false;
                }
                case '?':
                    ++s;
                    --slen;
                    break;
                case '[': {
                    ++p;
                    --plen;
                    const bool negate = at(0) == '^';
                    if (negate) {
                        ++p;
                        --plen;
                    }
                    bool hit = false;
                    const int c = byte(s[0]);
                    for (;;) {
                        if (at(0) == '\\' && plen >= 2) {
                            ++p;
                            --plen;
                            if (at(0) == c) hit = true;
                        } else if (at(0) == ']') {
                            break;
                        } else if (plen == 0) {
                            // Unclosed: step back so the common step below
                            // lands on the end.
                            --p;
                            ++plen;
                            break;
                        } else if (plen >= 3 && at(1) == '-') {
                            int lo = at(0), hi = at(2);
                            if (lo > hi) {
                                const int t = lo;
                                lo = hi;
                                hi = t;
                            }
                            lo = fold(lo, nocase);
                            hi = fold(hi, nocase);
                            const int x = fold(c, nocase);
                            p += 2;
                            plen -= 2;
                            if (x >= lo && x <= hi) hit = true;
                        } else if (fold(at(0), nocase) == fold(c, nocase)) {
                            hit = true;
                        }
                        ++p;
                        --plen;
                    }
                    if (negate) hit = !hit;
                    if (!hit) return false;
                    ++s;
                    --slen;
                    break;
                }
                case '\\':
                    if (plen >= 2) {
                        ++p;
                        --plen;
                    }
                    [[fallthrough]];
                default:
                    if (fold(at(0), nocase) != fold(byte(s[0]), nocase)) return false;
                    ++s;
                    --slen;
                    break;
            }
            ++p;
            --plen;
            if (slen == 0) {
                while (at(0) == '*') {
                    ++p;
                    --plen;
                }
                break;
            }
        }
        return plen == 0 && slen == 0;
    }
};

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
    Matcher m{.nocase = nocase};
    return m.match(pattern.data(), pattern.size(), text.data(), text.size(), 0);
}

}  // namespace fulmar
