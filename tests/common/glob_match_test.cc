// Redis's glob matching (common/glob_match.h), checked against the answers
// redis-server 7.0.15 itself gave (glob_match_cases.inc).
#include "common/glob_match.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace fulmar {
namespace {

struct Case {
    const char* pattern;
    const char* text;
    bool match;
};

const Case kCases[] = {
#include "glob_match_cases.inc"
};

TEST(GlobMatch, AnswersAsRedisServerDoesForEveryCase) {
    for (const Case& c : kCases)
        EXPECT_EQ(glob_match(c.pattern, c.text), c.match)
            << "pattern '" << c.pattern << "' text '" << c.text << "'";
}

TEST(GlobMatch, MatchesTheEdgeCasesKeysAndScanMeet) {
    // Checked against redis-server 7.0.15 with KEYS (resp_key_commands.cc).
    const Case cases[] = {
        {"*", "abc", true},
        {"", "", true},
        {"", "a", false},
        {"a*", "a", true},
        {"*c", "abd", false},
        {"a*c", "ac", true},
        {"a?c", "ac", false},
        {"?", "", false},
        {"a\\*", "a*", true},
        {"a\\*", "ab", false},
        {"a\\", "a\\", true},
        {"[\\]]", "]", true},
        {"[abc", "a", true},
        {"[abc", "d", false},
        {"**a**", "xxa", true},
        {"*a*b*c*", "xaxbxcx", true},
        {"*a*b*c*", "xaxcxbx", false},
        {"[a-]", "-", false},
        {"[a-]", "b", false},
        {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    };
    for (const Case& c : cases)
        EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
    EXPECT_TRUE(glob_match("HeLLo*", "hello world", true));
    EXPECT_FALSE(glob_match("HeLLo*", "hello world", false));
    EXPECT_TRUE(glob_match("[A-C]x", "bx", true));
}

TEST(GlobMatch, TreatsNulAsAnOrdinaryByte) {
    const std::string text("a\0b", 3);
    EXPECT_TRUE(glob_match(std::string("a\0b", 3), text));
    EXPECT_TRUE(glob_match("a?b", text));
    EXPECT_FALSE(glob_match("a", text));
    // A pattern ending in a star after a NUL.
    EXPECT_TRUE(glob_match(std::string("a\0*", 3), text));
}

TEST(GlobMatch, IgnoresCaseWhenAsked) {
    EXPECT_TRUE(glob_match("HeLLo", "hello", true));
    EXPECT_TRUE(glob_match("h[A-Z]llo", "hello", true));
    EXPECT_FALSE(glob_match("h[A-Z]llo", "hello"));
}

TEST(GlobMatch, ReadsHighBytesAsSignedCharsAsRedisDoes) {
    // Redis compares class ranges on `int c = string[0]` (signed on x86):
    // [a-\xff] swaps to [-1..'a'], which holds \xff and bytes up to 'a'.
    EXPECT_TRUE(glob_match("[a-\xff]", "\xff"));
    EXPECT_TRUE(glob_match("[a-\xff]", "A"));
    EXPECT_FALSE(glob_match("[a-\xff]", "b"));
    EXPECT_FALSE(glob_match("[a-\xff]", "\x80"));
}

TEST(GlobMatch, StaysFastOnAbusivePatterns) {
    // Exponential without Redis's skip-longer-matches rule.
    std::string pattern;
    for (int i = 0; i < 30; ++i)
        pattern += "a*";
    pattern += "b";
    const std::string text(4000, 'a');
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(glob_match(pattern, text));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
    // Past 1000 nested stars the match fails, as in Redis.
    std::string deep;
    for (int i = 0; i < 1100; ++i)
        deep += "a*";
    EXPECT_FALSE(glob_match(deep, std::string(1200, 'a')));
    EXPECT_TRUE(glob_match(deep.substr(0, 200), std::string(1200, 'a')));
}

}  // namespace
}  // namespace fulmar
