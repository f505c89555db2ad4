// Redis's glob patterns: each case below was checked against redis-server
// 7.0.15 (KEYS on a key named as the subject), edge cases included.
#include "common/glob_match.h"

#include <gtest/gtest.h>

#include <string>

namespace fulmar {
namespace {

struct Case {
    const char* pattern;
    const char* subject;
    bool match;
};

TEST(GlobMatch, MatchesAsRedisDoes) {
    const Case cases[] = {
        {"*", "", true},
        {"*", "abc", true},
        {"", "", true},
        {"", "a", false},
        {"a", "a", true},
        {"a", "b", false},
        {"a*", "a", true},
        {"a*", "abc", true},
        {"*c", "abc", true},
        {"*c", "abd", false},
        {"a*c", "ac", true},
        {"a*c", "abbbc", true},
        {"a*c", "abbbd", false},
        {"a?c", "abc", true},
        {"a?c", "ac", false},
        {"?", "", false},
        {"h[ae]llo", "hello", true},
        {"h[ae]llo", "hillo", false},
        {"h[^e]llo", "hallo", true},
        {"h[^e]llo", "hello", false},
        {"h[a-b]llo", "hbllo", true},
        {"h[a-b]llo", "hcllo", false},
        {"h[b-a]llo", "hallo", true},
        {"a\\*", "a*", true},
        {"a\\*", "ab", false},
        {"a\\", "a\\", true},
        {"[\\]]", "]", true},
        {"[abc", "a", true},
        {"[abc", "d", false},
        {"**a**", "xxa", true},
        {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"*a*b*c*", "xaxbxcx", true},
        {"*a*b*c*", "xaxcxbx", false},
        {"[a-]", "-", false},
        {"[a-]", "b", false},
    };
    for (const Case& c : cases)
        EXPECT_EQ(glob_match(c.pattern, c.subject), c.match) << c.pattern << " vs " << c.subject;
}

TEST(GlobMatch, NoCase) {
    EXPECT_TRUE(glob_match("HeLLo*", "hello world", true));
    EXPECT_FALSE(glob_match("HeLLo*", "hello world", false));
    EXPECT_TRUE(glob_match("[A-C]x", "bx", true));
}

TEST(GlobMatch, BinarySafe) {
    const std::string s("a\0b", 3);
    EXPECT_TRUE(glob_match(std::string_view("a?b"), s));
    EXPECT_TRUE(glob_match(std::string_view("a\0*", 3), s));
}

}  // namespace
}  // namespace fulmar
