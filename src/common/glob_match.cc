// Glob matching; see glob_match.h.
#include "common/glob_match.h"

#include <cstddef>

namespace fulmar {
namespace {

unsigned char fold(unsigned char c, bool nocase) {
    return nocase && c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

// Whether byte `c` matches the single-byte token at p[i] (`?`, a class, an
// escape or a literal); `end` gets the index just past the token.
bool match_token(std::string_view p, size_t i, unsigned char c, bool nocase, size_t& end) {
    const auto at = [&](size_t j) { return static_cast<unsigned char>(p[j]); };
    if (p[i] == '?') {
        end = i + 1;
        return true;
    }
    if (p[i] == '\\' && i + 1 < p.size()) {
        end = i + 2;
        return fold(at(i + 1), nocase) == fold(c, nocase);
    }
    if (p[i] != '[') {
        end = i + 1;
        return fold(at(i), nocase) == fold(c, nocase);
    }
    size_t j = i + 1;
    const bool negate = j < p.size() && p[j] == '^';
    if (negate) ++j;
    bool hit = false;
    const unsigned char fc = fold(c, nocase);
    while (j < p.size() && p[j] != ']') {
        if (p[j] == '\\' && j + 1 < p.size()) {
            if (fold(at(j + 1), nocase) == fc) hit = true;
            j += 2;
        } else if (j + 2 < p.size() && p[j + 1] == '-') {
            unsigned char lo = fold(at(j), nocase), hi = fold(at(j + 2), nocase);
            if (lo > hi) {
                const unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            if (fc >= lo && fc <= hi) hit = true;
            j += 3;
        } else {
            if (fold(at(j), nocase) == fc) hit = true;
            ++j;
        }
    }
    // An unterminated class ends with the pattern, as in Redis.
    end = j < p.size() ? j + 1 : j;
    return hit != negate;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view s, bool nocase) {
    size_t pi = 0, si = 0;
    // The last `*`: where the pattern resumes and how much of the subject
    // the star has taken so far.
    size_t star_p = std::string_view::npos, star_s = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            while (pi < p.size() && p[pi] == '*')
                ++pi;
            if (pi == p.size()) return true;
            star_p = pi;
            star_s = si;
            continue;
        }
        size_t end = 0;
        if (pi < p.size() && match_token(p, pi, static_cast<unsigned char>(s[si]), nocase, end)) {
            pi = end;
            ++si;
            continue;
        }
        if (star_p == std::string_view::npos) return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < p.size() && p[pi] == '*')
        ++pi;
    return pi == p.size();
}

}  // namespace fulmar
