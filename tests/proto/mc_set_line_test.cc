// The one-pass set: what it takes, what it leaves to the full parser, and
// that the full parser reads what it takes as the same request.
#include "proto/mc_set_line.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "proto/mc_text.h"

namespace fulmar::proto {
namespace {

constexpr uint32_t kMax = 1048516;  // the engine's largest value

// The full parser's reading of `s`, which must be one complete request.
void expect_same_as_full_parser(const std::string& s, const McTextRequest& fast) {
    McTextParser p(McTextConf{kMax});
    McTextRequest req;
    const McTextResult r = p.parse(s, req);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << s;
    ASSERT_EQ(r.consumed, s.size()) << s;
    EXPECT_EQ(req.command, fast.command) << s;
    EXPECT_EQ(req.key, fast.key) << s;
    EXPECT_EQ(req.value, fast.value) << s;
    EXPECT_EQ(req.flags, fast.flags) << s;
    EXPECT_EQ(req.value_len, fast.value_len) << s;
    EXPECT_EQ(req.exptime, fast.exptime) << s;
    EXPECT_EQ(req.noreply, fast.noreply) << s;
    EXPECT_EQ(req.keys, fast.keys) << s;
    EXPECT_EQ(req.cas, fast.cas) << s;
}

TEST(McSetLine, TakesPlainSets) {
    for (const std::string s : {
             "set k 0 0 1\r\nv\r\n",
             "set key 4294967295 2147483647 5\r\nhello\r\n",
             "set k 7 100 0\r\n\r\n",
             "set k 1 2 3 noreply\r\nabc\r\n",
             "set k 00 01 002\r\nab\r\n",
             "set k 0 0 4\r\na\r\nb\r\n",
         }) {
        McTextRequest req;
        ASSERT_TRUE(parse_mc_set_line(s, kMax, req)) << s;
        expect_same_as_full_parser(s, req);
    }
    McTextRequest req;
    ASSERT_TRUE(parse_mc_set_line("set k 1 2 3 noreply\r\nabc\r\n", kMax, req));
    EXPECT_TRUE(req.noreply);
    EXPECT_EQ(req.value, "abc");
}

TEST(McSetLine, LeavesTheRestToTheFullParser) {
    for (const std::string s : {
             "set k 0 0 1\r\nvv\r\n",          // data longer than announced
             "set k 0 0 2\r\nv\r\n",           // shorter
             "set k 0 0 1\r\nvXX",             // bad terminator
             "set k 0 0 1\r\nv\r\nget k\r\n",  // pipelined
             "set k 0 0 1\nv\r\n",             // line without \r
             "set k 0 -1 1\r\nv\r\n",          // sign
             "set k +0 0 1\r\nv\r\n",
             "set  k 0 0 1\r\nv\r\n",
             "set k 0 0 1 \r\nv\r\n",
             "set k 0 0 1 junk\r\nv\r\n",  // memcached ignores junk: full parser
             "set k 4294967296 0 1\r\nv\r\n",
             "set k 0 2147483648 1\r\nv\r\n",
             "set k 0 0 12345678\r\nv\r\n",
             "set k 0 0\r\n",
             "add k 0 0 1\r\nv\r\n",
             "set 0 0 1\r\nv\r\n",
             "SET k 0 0 1\r\nv\r\n",
             "",
         }) {
        McTextRequest req;
        EXPECT_FALSE(parse_mc_set_line(s, kMax, req)) << s;
    }
    McTextRequest req;
    EXPECT_FALSE(parse_mc_set_line("set k 0 0 5\r\nhello\r\n", 4, req)) << "over max_value_len";
    const std::string long_key(kMcMaxKeyLen + 1, 'k');
    EXPECT_FALSE(parse_mc_set_line("set " + long_key + " 0 0 1\r\nv\r\n", kMax, req));
    EXPECT_TRUE(parse_mc_set_line("set " + long_key.substr(1) + " 0 0 1\r\nv\r\n", kMax, req));
}

TEST(McSetLine, AgreesWithTheFullParserOnRandomRequests) {
    std::mt19937_64 rng(11);
    const std::string digits = "0123456789";
    const std::string junk = std::string("0 9-+ \r\nkn", 10);
    size_t taken = 0;
    for (int i = 0; i < 200000; ++i) {
        auto number = [&] {
            std::string n;
            const size_t len = rng() % 12;
            for (size_t j = 0; j < len; ++j)
                n += rng() % 20 == 0 ? junk[rng() % junk.size()] : digits[rng() % 10];
            return n;
        };
        const std::string data(rng() % 6, 'd');
        std::string s = "set k" + std::string(rng() % 3, 'x') + " " + number() + " " + number() +
                        " " + (rng() % 4 ? std::to_string(data.size() + rng() % 3 / 2) : number());
        if (rng() % 4 == 0) s += " noreply";
        s += rng() % 10 ? "\r\n" : "\n";
        s += data + (rng() % 10 ? "\r\n" : "\n");
        McTextRequest req;
        if (!parse_mc_set_line(s, kMax, req)) continue;
        ++taken;
        expect_same_as_full_parser(s, req);
        if (::testing::Test::HasFailure()) return;
    }
    EXPECT_GT(taken, 1000u);
}

}  // namespace
}  // namespace fulmar::proto
