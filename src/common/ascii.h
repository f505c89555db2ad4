// ASCII case for protocol words (Redis command and option names, CONFIG
// parameters, HTTP header names): only A-Z fold, so bytes such as '[' and
// '{' never compare equal the way a `| 0x20` shortcut makes them.
//
// Any thread; no state.
#pragma once

#include <algorithm>
#include <string_view>

namespace fulmar {

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

}  // namespace fulmar
