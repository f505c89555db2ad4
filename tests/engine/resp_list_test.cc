// Redis's list commands run as an owner runs them, on two real shards with
// a ManualClock: Redis 7.0.15's reply bytes and errors (the differential
// test, controlplane_resp_test.py, compares them with redis-server itself),
// the order in which argument and key errors win, WRONGTYPE, TTL kept over
// rewrites, an emptied list deleting its key, the item limit, and a cost
// figure of the compact encoding printed (never asserted).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/resp_list.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

const std::string kWrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

class RespList : public RespExec {
  protected:
    std::string lrange(const std::string& key) { return run({"lrange", key, "0", "-1"}); }
};

TEST_F(RespList, PushesAndPopsAtBothEnds) {
    EXPECT_EQ(run({"lpush", "l", "a", "b", "c"}), ":3\r\n");
    EXPECT_EQ(lrange("l"), "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    EXPECT_EQ(run({"rpush", "l", "x", "y"}), ":5\r\n");
    EXPECT_EQ(run({"lpushx", "l", "h"}), ":6\r\n");
    EXPECT_EQ(run({"rpushx", "l", "t"}), ":7\r\n");
    EXPECT_EQ(run({"lpushx", "none", "a"}), ":0\r\n");
    EXPECT_EQ(run({"rpushx", "none", "a"}), ":0\r\n");
    EXPECT_EQ(run({"exists", "none"}), ":0\r\n");
    EXPECT_EQ(run({"lpop", "l"}), "$1\r\nh\r\n");
    EXPECT_EQ(run({"rpop", "l"}), "$1\r\nt\r\n");
    EXPECT_EQ(run({"lpop", "l", "2"}), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"rpop", "l", "2"}), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    EXPECT_EQ(run({"lpop", "l", "0"}), "*0\r\n");
    EXPECT_EQ(run({"llen", "l"}), ":1\r\n");
    EXPECT_EQ(run({"type", "l"}), "+list\r\n");
    // The last element out takes the key with it.
    EXPECT_EQ(run({"rpop", "l", "5"}), "*1\r\n$1\r\na\r\n");
    EXPECT_EQ(run({"exists", "l"}), ":0\r\n");
    EXPECT_EQ(run({"lpop", "l"}), "$-1\r\n");
    EXPECT_EQ(run({"lpop", "l", "0"}), "*-1\r\n");
    EXPECT_EQ(run({"rpop", "l", "3"}), "*-1\r\n");
    EXPECT_EQ(run({"llen", "l"}), ":0\r\n");
}

TEST_F(RespList, PopCountIsCheckedBeforeTheKeyAndNeverSizesMemory) {
    const std::string err = "-ERR value is out of range, must be positive\r\n";
    EXPECT_EQ(run({"lpop", "none", "abc"}), err);
    EXPECT_EQ(run({"lpop", "none", "-1"}), err);
    EXPECT_EQ(run({"lpop", "l", "1", "2"}),
              "-ERR wrong number of arguments for 'lpop' command\r\n");
    EXPECT_EQ(run({"rpush", "l", "a", "b"}), ":2\r\n");
    EXPECT_EQ(run({"lpop", "l", "9223372036854775807"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"rpush", "l", "a", "b"}), ":2\r\n");
    EXPECT_EQ(run({"lrange", "l", "-9223372036854775808", "9223372036854775807"}),
              "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"lrem", "l", "-9223372036854775808", "a"}), ":1\r\n");
}

TEST_F(RespList, RangesAndIndexesCountFromEitherEnd) {
    EXPECT_EQ(run({"rpush", "l", "0", "1", "2", "3", "4"}), ":5\r\n");
    EXPECT_EQ(run({"lrange", "l", "1", "2"}), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT_EQ(run({"lrange", "l", "-2", "-1"}), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    EXPECT_EQ(run({"lrange", "l", "-100", "0"}), "*1\r\n$1\r\n0\r\n");
    EXPECT_EQ(run({"lrange", "l", "3", "1"}), "*0\r\n");
    EXPECT_EQ(run({"lrange", "l", "5", "10"}), "*0\r\n");
    EXPECT_EQ(run({"lrange", "none", "0", "-1"}), "*0\r\n");
    EXPECT_EQ(run({"lrange", "none", "a", "1"}),
              "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"lindex", "l", "0"}), "$1\r\n0\r\n");
    EXPECT_EQ(run({"lindex", "l", "-1"}), "$1\r\n4\r\n");
    EXPECT_EQ(run({"lindex", "l", "-6"}), "$-1\r\n");
    EXPECT_EQ(run({"lindex", "l", "5"}), "$-1\r\n");
    // The key first: a missing one is null whatever the index says.
    EXPECT_EQ(run({"lindex", "none", "abc"}), "$-1\r\n");
    EXPECT_EQ(run({"lindex", "l", "abc"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"lset", "l", "-1", "four"}), "+OK\r\n");
    EXPECT_EQ(run({"lindex", "l", "4"}), "$4\r\nfour\r\n");
    EXPECT_EQ(run({"lset", "l", "5", "x"}), "-ERR index out of range\r\n");
    EXPECT_EQ(run({"lset", "none", "abc", "x"}), "-ERR no such key\r\n");
    EXPECT_EQ(run({"lset", "l", "abc", "x"}), "-ERR value is not an integer or out of range\r\n");
}

TEST_F(RespList, TrimRemoveInsert) {
    EXPECT_EQ(run({"rpush", "l", "a", "b", "a", "c", "a"}), ":5\r\n");
    EXPECT_EQ(run({"lrem", "l", "-1", "a"}), ":1\r\n");
    EXPECT_EQ(lrange("l"), "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT_EQ(run({"lrem", "l", "1", "a"}), ":1\r\n");
    EXPECT_EQ(lrange("l"), "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT_EQ(run({"lrem", "l", "0", "z"}), ":0\r\n");
    EXPECT_EQ(run({"lrem", "none", "0", "z"}), ":0\r\n");
    EXPECT_EQ(run({"lrem", "none", "x", "z"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"linsert", "l", "BEFORE", "a", "n"}), ":4\r\n");
    EXPECT_EQ(run({"linsert", "l", "after", "c", "z"}), ":5\r\n");
    EXPECT_EQ(run({"linsert", "l", "after", "missing", "z"}), ":-1\r\n");
    EXPECT_EQ(run({"linsert", "none", "after", "a", "z"}), ":0\r\n");
    EXPECT_EQ(run({"linsert", "none", "middle", "a", "z"}), "-ERR syntax error\r\n");
    EXPECT_EQ(lrange("l"), "*5\r\n$1\r\nb\r\n$1\r\nn\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nz\r\n");
    EXPECT_EQ(run({"ltrim", "l", "1", "-2"}), "+OK\r\n");
    EXPECT_EQ(lrange("l"), "*3\r\n$1\r\nn\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT_EQ(run({"ltrim", "l", "0", "-1"}), "+OK\r\n");
    EXPECT_EQ(run({"ltrim", "none", "0", "1"}), "+OK\r\n");
    EXPECT_EQ(run({"ltrim", "none", "0", "x"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"ltrim", "l", "2", "1"}), "+OK\r\n");
    EXPECT_EQ(run({"exists", "l"}), ":0\r\n");
    EXPECT_EQ(run({"rpush", "l", "a"}), ":1\r\n");
    EXPECT_EQ(run({"lrem", "l", "0", "a"}), ":1\r\n");
    EXPECT_EQ(run({"exists", "l"}), ":0\r\n");
}

TEST_F(RespList, PosWithRankCountAndMaxlen) {
    EXPECT_EQ(run({"rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"}), ":8\r\n");
    EXPECT_EQ(run({"lpos", "l", "c"}), ":2\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "RANK", "2"}), ":6\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "RANK", "-1"}), ":7\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "COUNT", "0"}), "*3\r\n:2\r\n:6\r\n:7\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "COUNT", "2", "RANK", "-1"}), "*2\r\n:7\r\n:6\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "COUNT", "0", "MAXLEN", "3"}), "*1\r\n:2\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "RANK", "4"}), "$-1\r\n");
    EXPECT_EQ(run({"lpos", "l", "x", "COUNT", "1"}), "*0\r\n");
    EXPECT_EQ(run({"lpos", "none", "x"}), "$-1\r\n");
    EXPECT_EQ(run({"lpos", "none", "x", "COUNT", "0"}), "*0\r\n");
    // Redis 7.0 negates LLONG_MIN into itself: the first match from the tail.
    EXPECT_EQ(run({"lpos", "l", "a", "RANK", "-9223372036854775808"}), ":0\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "RANK", "0"}),
              "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
              "... or use negative to start from the end of the list\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "COUNT", "-1"}), "-ERR COUNT can't be negative\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "MAXLEN", "x"}), "-ERR MAXLEN can't be negative\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "COUNT"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"lpos", "l", "c", "RANK", "x"}),
              "-ERR value is not an integer or out of range\r\n");
}

TEST_F(RespList, MovesBetweenListsAndRotatesOne) {
    EXPECT_EQ(run({"rpush", "src", "1", "2", "3"}), ":3\r\n");
    // RESP keys here may land on either shard: the fixture owns both.
    EXPECT_EQ(run({"lmove", "src", "dst", "LEFT", "right"}), "$1\r\n1\r\n");
    EXPECT_EQ(run({"rpoplpush", "src", "dst"}), "$1\r\n3\r\n");
    EXPECT_EQ(lrange("dst"), "*2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT_EQ(run({"lmove", "dst", "dst", "left", "right"}), "$1\r\n3\r\n");
    EXPECT_EQ(lrange("dst"), "*2\r\n$1\r\n1\r\n$1\r\n3\r\n");
    EXPECT_EQ(run({"lmove", "src", "dst", "right", "left"}), "$1\r\n2\r\n");
    EXPECT_EQ(run({"exists", "src"}), ":0\r\n");
    EXPECT_EQ(run({"lmove", "src", "dst", "right", "left"}), "$-1\r\n");
    EXPECT_EQ(run({"lmove", "src", "dst", "up", "left"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"set", "str", "x"}), "+OK\r\n");
    EXPECT_EQ(run({"lmove", "dst", "str", "left", "left"}), kWrong);
    EXPECT_EQ(run({"lmove", "str", "dst", "left", "left"}), kWrong);
    // The failed move took nothing from the source.
    EXPECT_EQ(run({"llen", "dst"}), ":3\r\n");
}

TEST_F(RespList, EveryCommandOnAStringIsWrongType) {
    EXPECT_EQ(run({"set", "s", "x"}), "+OK\r\n");
    const std::vector<std::vector<std::string>> cmds = {
        {"lpush", "s", "a"},
        {"rpush", "s", "a"},
        {"lpushx", "s", "a"},
        {"rpushx", "s", "a"},
        {"lpop", "s"},
        {"rpop", "s", "2"},
        {"llen", "s"},
        {"lrange", "s", "0", "1"},
        {"lindex", "s", "x"},
        {"lset", "s", "x", "y"},
        {"lrem", "s", "0", "a"},
        {"ltrim", "s", "0", "1"},
        {"linsert", "s", "before", "a", "b"},
        {"lpos", "s", "a"},
        {"rpoplpush", "s", "s"},
        {"blpop", "s", "0"},
        {"brpop", "none", "s", "1"},
        {"blmove", "s", "s", "left", "left", "0"},
        {"brpoplpush", "s", "d", "0"},
    };
    for (const auto& c : cmds)
        EXPECT_EQ(run(c), kWrong) << c[0];
    EXPECT_EQ(run({"get", "s"}), "$1\r\nx\r\n");
}

TEST_F(RespList, WritesKeepTheTtl) {
    EXPECT_EQ(run({"rpush", "l", "a", "b", "c"}), ":3\r\n");
    EXPECT_EQ(run({"expire", "l", "100"}), ":1\r\n");
    for (const std::vector<std::string>& c :
         std::vector<std::vector<std::string>>{{"lpush", "l", "x"},
                                               {"rpop", "l"},
                                               {"lset", "l", "0", "y"},
                                               {"linsert", "l", "after", "y", "z"},
                                               {"lrem", "l", "1", "z"},
                                               {"ltrim", "l", "0", "1"},
                                               {"lmove", "l", "l", "left", "right"}}) {
        run(c);
        EXPECT_EQ(run({"ttl", "l"}), ":100\r\n") << c[0];
    }
    clock_.advance(101);
    EXPECT_EQ(run({"llen", "l"}), ":0\r\n");
    EXPECT_EQ(run({"lpush", "l", "a"}), ":1\r\n");
    EXPECT_EQ(run({"ttl", "l"}), ":-1\r\n");
}

TEST_F(RespList, BlockingCommandsTryOnceOnTheOwner) {
    // Nothing there: the null a MULTI gets, which the control plane's
    // session reads as "block this client".
    EXPECT_EQ(run({"blpop", "a", "b", "0"}), "*-1\r\n");
    EXPECT_EQ(run({"blmove", "a", "b", "left", "left", "1.5"}), "$-1\r\n");
    EXPECT_EQ(run({"brpoplpush", "a", "b", "0"}), "$-1\r\n");
    EXPECT_EQ(run({"rpush", "b", "1", "2"}), ":2\r\n");
    EXPECT_EQ(run({"blpop", "a", "b", "0"}), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
    EXPECT_EQ(run({"brpop", "a", "b", "0"}), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT_EQ(run({"exists", "b"}), ":0\r\n");
    EXPECT_EQ(run({"rpush", "a", "x"}), ":1\r\n");
    EXPECT_EQ(run({"brpoplpush", "a", "b", "0"}), "$1\r\nx\r\n");
    EXPECT_EQ(run({"blmove", "b", "a", "left", "left", "0"}), "$1\r\nx\r\n");
    // The timeout is read first, as Redis does.
    const std::string not_float = "-ERR timeout is not a float or out of range\r\n";
    const std::string negative = "-ERR timeout is negative\r\n";
    EXPECT_EQ(run({"blpop", "a", "x"}), not_float);
    EXPECT_EQ(run({"blpop", "a", "nan"}), not_float);
    EXPECT_EQ(run({"blpop", "a", " 1"}), not_float);
    EXPECT_EQ(run({"blpop", "a", "1e5000"}), not_float);
    EXPECT_EQ(run({"blpop", "a", "-1"}), negative);
    EXPECT_EQ(run({"blpop", "a", "inf"}), negative);
    EXPECT_EQ(run({"blpop", "a", "99999999999999999999"}), negative);
    EXPECT_EQ(run({"blmove", "a", "b", "up", "left", "x"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"blmove", "a", "b", "left", "left", "x"}), not_float);
    EXPECT_EQ(run({"blpop", "a"}), "-ERR wrong number of arguments for 'blpop' command\r\n");
}

TEST(RespBlockTimeout, ReadsSecondsAsRedisDoes) {
    int64_t ms = -1;
    std::string_view err;
    ASSERT_TRUE(resp_block_timeout_ms("0", ms, err));
    EXPECT_EQ(ms, 0);
    ASSERT_TRUE(resp_block_timeout_ms("1.5", ms, err));
    EXPECT_EQ(ms, 1500);
    ASSERT_TRUE(resp_block_timeout_ms("0.0001", ms, err));  // rounded up
    EXPECT_EQ(ms, 1);
    ASSERT_TRUE(resp_block_timeout_ms("9223372036854775", ms, err));  // no upper bound
    EXPECT_EQ(ms, 9223372036854775000);
    ASSERT_TRUE(resp_block_timeout_ms("0x10", ms, err));  // strtold reads hex
    EXPECT_EQ(ms, 16000);
    EXPECT_FALSE(resp_block_timeout_ms("", ms, err));
    EXPECT_EQ(err, "timeout is not a float or out of range");
    EXPECT_FALSE(resp_block_timeout_ms("1 ", ms, err));
    EXPECT_FALSE(resp_block_timeout_ms(std::string(6000, '1'), ms, err));
    EXPECT_EQ(err, "timeout is not a float or out of range");
}

TEST_F(RespList, AListIsOneItemAndStopsAtItsLimit) {
    const std::string big(300 * 1024, 'v');
    EXPECT_EQ(run({"rpush", "l", big, big, big}), ":3\r\n");
    const std::string too_large =
        "-ERR collection exceeds the 1 MiB an item holds (memcached's item limit)\r\n";
    EXPECT_EQ(run({"rpush", "l", big}), too_large);
    EXPECT_EQ(run({"linsert", "l", "before", big, big}), too_large);
    EXPECT_EQ(run({"llen", "l"}), ":3\r\n");
    EXPECT_EQ(run({"rpush", "dst", big}), ":1\r\n");
    // The moved element must fit the destination, or nothing moves.
    EXPECT_EQ(run({"rpush", "src", big, big, big}), ":3\r\n");
    EXPECT_EQ(run({"rpush", "dst", big, big}), ":3\r\n");
    EXPECT_EQ(run({"lmove", "src", "dst", "left", "left"}), too_large);
    EXPECT_EQ(run({"llen", "src"}), ":3\r\n");
    EXPECT_EQ(run({"llen", "dst"}), ":3\r\n");
}

TEST_F(RespList, TheOwnerRunsTheBytesTheControlPlaneSends) {
    EXPECT_EQ(run_wire({"rpush", "w", "a\r\nb", ""}), ":2\r\n");
    EXPECT_EQ(run_wire({"lrange", "w", "0", "-1"}), "*2\r\n$4\r\na\r\nb\r\n$0\r\n\r\n");
}

// How the compact encoding's cost grows with the list's length: every write
// decodes and rewrites the whole item, a read copies it out of the shard and
// decodes it. Printed for docs/resp-progress.md, never asserted (this
// machine is shared and noisy). Run alone:
//   build/tests/engine/engine_test --gtest_filter='*CostGrowsWithLength*'
TEST_F(RespList, CostGrowsWithLengthPrinted) {
    using Clock = std::chrono::steady_clock;
    for (const size_t elem_size : {16u, 100u}) {
        const std::string elem(elem_size, 'e');
        for (const size_t len : {8u, 64u, 128u, 512u, 1024u, 4096u, 8192u}) {
            if ((elem_size + 1) * len > 900 * 1024) continue;  // past one item
            run({"del", "bench"});
            std::vector<std::string> push = {"rpush", "bench"};
            for (size_t i = 0; i < len; ++i)
                push.push_back(elem);
            ASSERT_EQ(run(push), ":" + std::to_string(len) + "\r\n");
            const int ops = len <= 1024 ? 2000 : 200;
            // Each op runs once with its undo (LPUSH then RPOP), so the
            // length stays len while timed.
            auto time = [&](const std::vector<std::string>& cmd,
                            const std::vector<std::string>& undo) {
                for (int i = 0; i < 20; ++i)
                    run(cmd), run(undo);  // warm
                const auto t0 = Clock::now();
                for (int i = 0; i < ops; ++i)
                    run(cmd), run(undo);
                return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / ops;
            };
            const std::vector<std::string> lindex = {"lindex", "bench", std::to_string(len / 2)};
            const double pair = time({"lpush", "bench", elem}, {"rpop", "bench"});
            const double read = time(lindex, lindex) / 2;
            std::printf("list-cost elem=%zuB len=%zu bytes=%zu lpush+rpop_us=%.2f lindex_us=%.2f\n",
                        elem_size, len, (elem_size + 1) * len + 5, pair, read);
        }
    }
}

}  // namespace
}  // namespace fulmar::engine
