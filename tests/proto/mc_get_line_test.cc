// The one-pass get line: what it takes, what it leaves to the full parser,
// and that what it takes the full parser reads the same way.
#include "proto/mc_get_line.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proto/mc_text.h"

namespace fulmar::proto {
namespace {

std::vector<std::string> keys_of(const McGetLine& l) {
    std::vector<std::string> v;
    for (size_t i = 0; i < l.n_keys; ++i)
        v.emplace_back(l.keys[i]);
    return v;
}

TEST(McGetLine, TakesPlainGetAndGets) {
    McGetLine l;
    ASSERT_TRUE(parse_mc_get_line("get foo\r\n", l));
    EXPECT_FALSE(l.with_cas);
    EXPECT_EQ(keys_of(l), (std::vector<std::string>{"foo"}));
    ASSERT_TRUE(parse_mc_get_line("gets a bb ccc\n", l));
    EXPECT_TRUE(l.with_cas);
    EXPECT_EQ(keys_of(l), (std::vector<std::string>{"a", "bb", "ccc"}));
    ASSERT_TRUE(parse_mc_get_line("get \xc3\xa9t\xc3\xa9\r\n", l));  // UTF-8 keys are bytes
    EXPECT_EQ(l.n_keys, 1u);
    // Control bytes other than \r, \n and NUL are key bytes, as memcached
    // splits on spaces only (memcaslap's keys start with 0x10 bytes).
    ASSERT_TRUE(parse_mc_get_line("get \x10\x10key\tk\x7f\r\n", l));
    EXPECT_EQ(keys_of(l), (std::vector<std::string>{"\x10\x10key\tk\x7f"}));
}

// The 8-byte scan against the byte-by-byte rule: every key length around a
// word, every byte value at every position.
TEST(McGetLine, KeyScanMatchesTheByteRuleAtEveryPosition) {
    for (size_t len = 1; len <= 24; ++len) {
        for (size_t at = 0; at < len; ++at) {
            for (int c = 0; c < 256; ++c) {
                std::string key(len, 'k');
                key[at] = static_cast<char>(c);
                const std::string body = "get " + key + " tail\r\n";
                const bool stops = c == ' ' || c == '\n' || c == '\r' || c == 0;
                const size_t want = 4 + (stops ? at : len);
                ASSERT_EQ(mc_plain_key_end(body.data(), 4, body.size() - 2), want)
                    << len << " " << at << " " << c;
            }
        }
    }
}

TEST(McGetLine, LeavesTheRestToTheFullParser) {
    McGetLine l;
    for (const char* s : {
             "get\r\n",
             "get \r\n",
             "get foo",
             "get foo\r",
             "get  foo\r\n",
             "get foo \r\n",
             "get foo\r\r\n",
             "get f\0o\r\n",
             "GET foo\r\n",
             "gat 0 foo\r\n",
             "get foo\r\nget bar\r\n",
             "get foo\r\nx",
             "getfoo\r\n",
             "gets\r\n",
             "mg foo v\r\n",
             "set foo 0 0 1\r\na\r\n",
             " get foo\r\n",
             "",
         }) {
        EXPECT_FALSE(parse_mc_get_line(std::string_view(s, std::char_traits<char>::length(s)), l))
            << s;
    }
    EXPECT_FALSE(parse_mc_get_line(std::string_view("get f\0o\r\n", 9), l));
    const std::string long_key(kMcMaxKeyLen + 1, 'k');
    EXPECT_FALSE(parse_mc_get_line("get " + long_key + "\r\n", l));
    EXPECT_TRUE(parse_mc_get_line("get " + long_key.substr(1) + "\r\n", l));
    std::string many = "get";
    for (size_t i = 0; i < kMcGetLineMaxKeys; ++i)
        many += " k" + std::to_string(i);
    EXPECT_TRUE(parse_mc_get_line(many + "\r\n", l));
    EXPECT_EQ(l.n_keys, kMcGetLineMaxKeys);
    EXPECT_FALSE(parse_mc_get_line(many + " one_more\r\n", l));
}

// Every line the fast path takes, the full parser reads as the same get or
// gets with the same keys, consuming the whole body.
TEST(McGetLine, AgreesWithTheFullParserOnRandomLines) {
    std::mt19937_64 rng(42);
    const std::string alphabet = std::string("ab \r\n\t\x7f\xff", 9) + std::string(1, '\0');
    const char* heads[] = {"get ", "gets ", "get", "gat 1 ", "get  "};
    size_t taken = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string s = heads[rng() % 5];
        const size_t n = rng() % 12;
        for (size_t j = 0; j < n; ++j)
            s += alphabet[rng() % alphabet.size()];
        if (rng() % 2) s += rng() % 2 ? "\r\n" : "\n";
        McGetLine l;
        if (!parse_mc_get_line(s, l)) continue;
        ++taken;
        McTextParser p;
        McTextRequest req;
        const McTextResult r = p.parse(s, req);
        ASSERT_EQ(r.status, ParseStatus::kComplete) << s;
        ASSERT_EQ(r.consumed, s.size()) << s;
        ASSERT_EQ(req.command, l.with_cas ? McTextCommand::kGets : McTextCommand::kGet) << s;
        std::vector<std::string> full;
        McTokenIter it = req.key_iter();
        std::string_view k;
        while (it.next(k))
            full.emplace_back(k);
        ASSERT_EQ(full, keys_of(l)) << s;
    }
    EXPECT_GT(taken, 1000u);  // the generator does reach the fast path
}

}  // namespace
}  // namespace fulmar::proto

namespace fulmar::proto {
namespace {

// mc_one_short_get: whenever it says yes, parse_mc_get_line reads the same
// line as the one key it found (plain get); it says yes to every `get <key>\r\n`
// of 1..16 key bytes with no byte below 0x21, and no to anything else. Every
// key length up to 20, every position, every byte value there: each body in
// a buffer of its own size (reads past either end would show under ASan).
TEST(McGetLine, OneShortGetIsTheGeneralParseOfOneKey) {
    const auto check = [](const std::string& line) {
        std::vector<char> buf(line.begin(), line.end());
        const std::string_view body(buf.data(), buf.size());
        size_t len = 0;
        const bool fast = mc_one_short_get(body, len);
        McGetLine l;
        const bool full = parse_mc_get_line(body, l);
        bool expect = line.size() >= 7 && line.size() <= 22 && line.starts_with("get ") &&
                      line.ends_with("\r\n");
        for (size_t i = 4; expect && i + 2 < line.size(); ++i)
            expect = static_cast<uint8_t>(line[i]) >= 0x21;
        EXPECT_EQ(fast, expect) << line;
        if (!fast) return;
        ASSERT_TRUE(full) << line;
        EXPECT_FALSE(l.with_cas);
        ASSERT_EQ(l.n_keys, 1u) << line;
        EXPECT_EQ(l.keys[0].data(), body.data() + 4);
        EXPECT_EQ(l.keys[0].size(), len);
    };
    for (size_t n = 0; n <= 20; ++n) {
        const std::string key(n, 'k');
        check("get " + key + "\r\n");
        check("gets " + key + "\r\n");
        check("get " + key + "\n");
        check("get " + key + "\r\r\n");
        check("set " + key + "\r\n");
        for (size_t at = 0; at < n; ++at) {
            for (int c = 0; c < 256; ++c) {
                std::string k = key;
                k[at] = static_cast<char>(c);
                check("get " + k + "\r\n");
            }
        }
    }
    for (size_t at = 0; at < 8; ++at) {  // the verb and line end, each byte changed
        for (int c = 0; c < 256; ++c) {
            std::string line = "get abcdefgh\r\n";
            line[at < 4 ? at : line.size() - 2 + (at - 4) % 2] = static_cast<char>(c);
            check(line);
        }
    }
}

}  // namespace
}  // namespace fulmar::proto
