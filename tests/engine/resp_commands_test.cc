// The RESP command table and its owner-side execution: every command of the
// first slice on real shards with a ManualClock, exact reply bytes (Redis
// 7.0's; the differential test, controlplane_resp_test.py, compares many
// more against redis-server itself), the memcached view of the same items,
// and the table's own facts (arity, flags, keys, split).
#include "engine/resp_commands.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/mc_session.h"
#include "proto/reply_sink.h"
#include "resp_fixture.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

using namespace std::string_literals;

TEST(RespCommandTable, FindsEveryCommandInAnyCase) {
    for (const RespCommand& c : resp_commands()) {
        EXPECT_EQ(find_resp_command(c.spec.name), &c);
        std::string upper(c.spec.name);
        for (char& ch : upper)
            if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        EXPECT_EQ(find_resp_command(upper), &c) << upper;
        // The session's commands never run on an owner; every other one
        // does. DEBUG is the session's but for RELOAD, which every owner
        // runs on its shards (resp_debug.h).
        if (c.spec.name != "debug") {
            EXPECT_EQ(c.spec.execute == nullptr, c.spec.has(kCmdSession)) << c.spec.name;
        }
        // Reads are served from the views, and writes that say when they
        // only read (SORT without STORE); nothing else may claim to be.
        EXPECT_EQ(c.spec.has(kCmdRead) || c.reads_only != nullptr, c.read != nullptr)
            << c.spec.name;
        EXPECT_FALSE(c.spec.has(kCmdRead) && c.spec.has(kCmdWrite)) << c.spec.name;
        // A write cut into one request per key says how (split_as and how
        // the replies gather); a multi-key write that is not cut runs whole
        // on one owner (CROSSSLOT when its keys do not share one).
        EXPECT_EQ(c.gather != RespGather::kNone, !c.split_as.empty()) << c.spec.name;
        if (!c.split_as.empty()) {
            // Cut per key, or the same request to every owner (KEYS).
            EXPECT_TRUE((c.spec.has(kCmdWrite) && !c.spec.keys.single()) ||
                        c.spec.has(kCmdAllShards))
                << c.spec.name;
            EXPECT_NE(find_resp_command(c.split_as), nullptr);
        }
        // Only writes block (an owner tries them once).
        if (c.spec.has(kCmdBlocking)) {
            EXPECT_TRUE(c.spec.has(kCmdWrite)) << c.spec.name;
        }
    }
    EXPECT_NE(find_resp_command("hset"), nullptr);
    EXPECT_NE(find_resp_command("sadd"), nullptr);
    EXPECT_EQ(find_resp_command("zadd"), nullptr);
    EXPECT_EQ(find_resp_command("ge"), nullptr);
}

TEST(RespCommandTable, ArityAndKeysAreRedisOwn) {
    const RespCommand* get = find_resp_command("get");
    ASSERT_NE(get, nullptr);
    EXPECT_EQ(get->spec.arity.min, 2);
    EXPECT_EQ(get->spec.arity.max, 2);
    EXPECT_TRUE(get->spec.keys.single());
    const RespCommand* mset = find_resp_command("mset");
    ASSERT_NE(mset, nullptr);
    EXPECT_EQ(mset->spec.arity.min, 3);
    EXPECT_EQ(mset->spec.arity.max, kAnyArity);
    EXPECT_EQ(mset->spec.keys.first, 1);
    EXPECT_EQ(mset->spec.keys.last, -1);
    EXPECT_EQ(mset->spec.keys.step, 2);
    EXPECT_EQ(mset->gather, RespGather::kOk);
    EXPECT_EQ(find_resp_command("del")->gather, RespGather::kSum);
    EXPECT_TRUE(find_resp_command("flushall")->spec.has(kCmdAllShards));
    EXPECT_TRUE(find_resp_command("quit")->spec.has(kCmdCloses));
}

TEST(RespParseInt, IsRedisString2ll) {
    int64_t v = 0;
    EXPECT_TRUE(resp_parse_int("0", v));
    EXPECT_EQ(v, 0);
    EXPECT_TRUE(resp_parse_int("-9223372036854775808", v));
    EXPECT_EQ(v, INT64_MIN);
    EXPECT_TRUE(resp_parse_int("9223372036854775807", v));
    EXPECT_EQ(v, INT64_MAX);
    for (std::string_view bad :
         {"", "-", "+1", "01", "-0", " 1", "1 ", "9223372036854775808", "1a", "00"})
        EXPECT_FALSE(resp_parse_int(bad, v)) << bad;
}

TEST_F(RespExec, ErrorsAreWordedAsRedisWordsThem) {
    EXPECT_EQ(run({"get"}), "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT_EQ(run({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT_EQ(run({"foo", "a", "b"}),
              "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    EXPECT_EQ(run({"foo"}), "-ERR unknown command 'foo', with args beginning with: \r\n");
    EXPECT_EQ(run({"set", "k", "v", "EX", "x"}),
              "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"set", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
    EXPECT_EQ(run({"set", "k", "v", "NX", "XX"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"set", "k", "v", "EX", "1", "KEEPTTL"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"set", "k", "v", "EX"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"setex", "k", "-1", "v"}), "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT_EQ(run({"mset", "a", "1", "b"}),
              "-ERR wrong number of arguments for 'mset' command\r\n");
    EXPECT_EQ(run({"select", "1"}), "-ERR DB index is out of range\r\n");
    EXPECT_EQ(run({"select", "x"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"ping", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
    EXPECT_EQ(run({"expire", "k", "1", "NX", "XX"}),
              "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    EXPECT_EQ(run({"expire", "k", "1", "GT", "LT"}),
              "-ERR GT and LT options at the same time are not compatible\r\n");
    EXPECT_EQ(run({"expire", "k", "1", "YY"}), "-ERR Unsupported option YY\r\n");
    EXPECT_EQ(run({"command", "foo"}), "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n");
    EXPECT_EQ(run({"set", std::string(251, 'k'), "v"}),
              "-ERR key is longer than 250 bytes (memcached's limit)\r\n");
    EXPECT_EQ(run({"set", "big", std::string(1 << 20, 'v')}),
              "-ERR string exceeds maximum allowed size (an item holds at most 1 MiB)\r\n");
}

TEST_F(RespExec, SetGetAndTheirOptions) {
    EXPECT_EQ(run({"get", "k"}), "$-1\r\n");
    EXPECT_EQ(run({"set", "k", "v1"}), "+OK\r\n");
    EXPECT_EQ(run({"get", "k"}), "$2\r\nv1\r\n");
    EXPECT_EQ(run({"set", "k", "v2", "NX"}), "$-1\r\n");
    EXPECT_EQ(run({"set", "k", "v2", "XX", "GET"}), "$2\r\nv1\r\n");
    EXPECT_EQ(run({"set", "n", "v", "XX"}), "$-1\r\n");
    EXPECT_EQ(run({"set", "n", "v", "nx", "get"}), "$-1\r\n");
    EXPECT_EQ(run({"get", "n"}), "$1\r\nv\r\n");
    EXPECT_EQ(run({"setnx", "n", "w"}), ":0\r\n");
    EXPECT_EQ(run({"setnx", "m", "w"}), ":1\r\n");
    EXPECT_EQ(run({"strlen", "k"}), ":2\r\n");
    EXPECT_EQ(run({"strlen", "none"}), ":0\r\n");
    EXPECT_EQ(run({"set", "e", ""}), "+OK\r\n");
    EXPECT_EQ(run({"get", "e"}), "$0\r\n\r\n");
}

TEST_F(RespExec, ExpiryInWholeSecondsOnTheInjectedClock) {
    EXPECT_EQ(run({"set", "k", "v", "EX", "10"}), "+OK\r\n");
    EXPECT_EQ(run({"ttl", "k"}), ":10\r\n");
    EXPECT_EQ(run({"pttl", "k"}), ":10000\r\n");
    EXPECT_EQ(run({"set", "k", "w", "KEEPTTL"}), "+OK\r\n");
    EXPECT_EQ(run({"ttl", "k"}), ":10\r\n");
    EXPECT_EQ(run({"set", "k", "w"}), "+OK\r\n");
    EXPECT_EQ(run({"ttl", "k"}), ":-1\r\n");
    EXPECT_EQ(run({"ttl", "none"}), ":-2\r\n");
    EXPECT_EQ(run({"psetex", "p", "1500", "v"}), "+OK\r\n");
    EXPECT_EQ(run({"ttl", "p"}), ":2\r\n");  // rounded up to whole seconds
    EXPECT_EQ(run({"setex", "s", "5", "v"}), "+OK\r\n");
    clock_.advance(5);
    EXPECT_EQ(run({"get", "s"}), "$-1\r\n");
    EXPECT_EQ(run({"exists", "s", "k"}), ":1\r\n");

    EXPECT_EQ(run({"expire", "k", "100"}), ":1\r\n");
    EXPECT_EQ(run({"expire", "k", "50", "GT"}), ":0\r\n");
    EXPECT_EQ(run({"expire", "k", "50", "LT"}), ":1\r\n");
    EXPECT_EQ(run({"ttl", "k"}), ":50\r\n");
    EXPECT_EQ(run({"expire", "k", "60", "NX"}), ":0\r\n");
    EXPECT_EQ(run({"persist", "k"}), ":1\r\n");
    EXPECT_EQ(run({"persist", "k"}), ":0\r\n");
    EXPECT_EQ(run({"expire", "k", "60", "XX"}), ":0\r\n");
    EXPECT_EQ(run({"expire", "k", "60", "GT"}), ":0\r\n");  // no TTL counts as infinite
    EXPECT_EQ(run({"expire", "none", "60"}), ":0\r\n");
    EXPECT_EQ(run({"expire", "k", "-1"}), ":1\r\n");  // in the past: the key goes
    EXPECT_EQ(run({"exists", "k"}), ":0\r\n");
}

TEST_F(RespExec, MillisecondExpiriesAreExact) {
    clock_.advance_ms(250);  // mid-second: rounding would show
    const uint64_t t0 = clock_.now_ms();
    EXPECT_EQ(run({"psetex", "p", "100", "v"}), "+OK\r\n");
    EXPECT_EQ(run({"pttl", "p"}), ":100\r\n");
    EXPECT_EQ(run({"pexpiretime", "p"}), fmt::format(":{}\r\n", t0 + 100));
    EXPECT_EQ(run({"expiretime", "p"}), fmt::format(":{}\r\n", (t0 + 100) / 1000));
    clock_.advance_ms(99);
    EXPECT_EQ(run({"get", "p"}), "$1\r\nv\r\n");
    clock_.advance_ms(1);
    EXPECT_EQ(run({"get", "p"}), "$-1\r\n");  // from the views
    EXPECT_EQ(run({"exists", "p"}), ":0\r\n");
    EXPECT_EQ(run({"set", "p", "w", "XX"}), "$-1\r\n");  // and on the owner

    EXPECT_EQ(run({"set", "q", "v"}), "+OK\r\n");
    EXPECT_EQ(run({"pexpire", "q", "1700"}), ":1\r\n");
    EXPECT_EQ(run({"pttl", "q"}), ":1700\r\n");
    EXPECT_EQ(run({"ttl", "q"}), ":2\r\n");  // Redis rounds to the nearest second
    EXPECT_EQ(run({"pexpire", "q", "1600", "GT"}), ":0\r\n");
    EXPECT_EQ(run({"pexpire", "q", "1600", "LT"}), ":1\r\n");
    // A write that keeps the TTL keeps its milliseconds.
    EXPECT_EQ(run({"append", "q", "x"}), ":2\r\n");
    EXPECT_EQ(run({"set", "q", "v2", "KEEPTTL"}), "+OK\r\n");
    EXPECT_EQ(run({"pttl", "q"}), ":1600\r\n");
    EXPECT_EQ(run({"pexpireat", "q", std::to_string(clock_.now_ms() + 42)}), ":1\r\n");
    EXPECT_EQ(run({"pttl", "q"}), ":42\r\n");
    EXPECT_EQ(run({"set", "r", "v", "PXAT", std::to_string(clock_.now_ms() + 7)}), "+OK\r\n");
    EXPECT_EQ(run({"getex", "r", "PX", "30"}), "$1\r\nv\r\n");
    EXPECT_EQ(run({"pttl", "r"}), ":30\r\n");
    // memcached's whole seconds still bound it: touch drops the milliseconds.
    EXPECT_EQ(mc("touch r 10\r\n"), "TOUCHED\r\n");
    EXPECT_EQ(run({"pttl", "r"}),
              fmt::format(":{}\r\n", (uint64_t{clock_.now()} + 10) * 1000 - clock_.now_ms()));
    clock_.advance_ms(50);
    EXPECT_EQ(run({"get", "r"}), "$1\r\nv\r\n");
}

TEST_F(RespExec, CountersAreSignedSixtyFourBitText) {
    EXPECT_EQ(run({"incr", "c"}), ":1\r\n");
    EXPECT_EQ(run({"incrby", "c", "41"}), ":42\r\n");
    EXPECT_EQ(run({"decr", "c"}), ":41\r\n");
    EXPECT_EQ(run({"decrby", "c", "50"}), ":-9\r\n");
    EXPECT_EQ(run({"get", "c"}), "$2\r\n-9\r\n");
    EXPECT_EQ(run({"set", "big", "9223372036854775807"}), "+OK\r\n");
    EXPECT_EQ(run({"incr", "big"}), "-ERR increment or decrement would overflow\r\n");
    EXPECT_EQ(run({"decrby", "big", "-9223372036854775808"}), "-ERR decrement would overflow\r\n");
    EXPECT_EQ(run({"set", "s", "abc"}), "+OK\r\n");
    EXPECT_EQ(run({"incr", "s"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"incrby", "c", "x"}), "-ERR value is not an integer or out of range\r\n");
    // The key's TTL stays, as in Redis.
    EXPECT_EQ(run({"setex", "t", "30", "7"}), "+OK\r\n");
    EXPECT_EQ(run({"incr", "t"}), ":8\r\n");
    EXPECT_EQ(run({"ttl", "t"}), ":30\r\n");
}

TEST_F(RespExec, MultiKeyCommandsAcrossShards) {
    EXPECT_EQ(run({"mset", "a", "1", "b", "2", "c", "3"}), "+OK\r\n");
    EXPECT_EQ(run({"mget", "a", "x", "c"}), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n");
    EXPECT_EQ(run({"exists", "a", "a", "x"}), ":2\r\n");
    EXPECT_EQ(run({"dbsize"}), ":3\r\n");
    EXPECT_EQ(run({"del", "a", "b", "x"}), ":2\r\n");
    EXPECT_EQ(run({"append", "c", "45"}), ":3\r\n");
    EXPECT_EQ(run({"append", "new", "xy"}), ":2\r\n");
    EXPECT_EQ(run({"get", "c"}), "$3\r\n345\r\n");
    EXPECT_EQ(run({"flushall"}), "+OK\r\n");
    EXPECT_EQ(run({"get", "c"}), "$-1\r\n");
    EXPECT_EQ(run({"dbsize"}), ":0\r\n");  // freed at once, unlike memcached's flush_all
    EXPECT_EQ(run({"flushdb"}), "+OK\r\n");
    // A write in the same second as the flush stays.
    EXPECT_EQ(run({"set", "c", "after"}), "+OK\r\n");
    EXPECT_EQ(run({"get", "c"}), "$5\r\nafter\r\n");
}

TEST_F(RespExec, TheConnectionsOwnCommands) {
    EXPECT_EQ(run({"ping"}), "+PONG\r\n");
    EXPECT_EQ(run({"PING", "hi"}), "$2\r\nhi\r\n");
    EXPECT_EQ(run({"echo", "x y"}), "$3\r\nx y\r\n");
    EXPECT_EQ(run({"select", "0"}), "+OK\r\n");
    EXPECT_EQ(run({"quit"}), "+OK\r\n");
    EXPECT_EQ(run({"command", "count"}), ":" + std::to_string(resp_commands().size()) + "\r\n");
    EXPECT_EQ(run({"command", "count", "x"}),
              "-ERR wrong number of arguments for 'command|count' command\r\n");
}

TEST_F(RespExec, TheOwnerRunsTheBytesTheControlPlaneSends) {
    EXPECT_EQ(run_wire({"set", "k", "a\r\nb"}), "+OK\r\n");
    EXPECT_EQ(run_wire({"get", "k"}), "$4\r\na\r\nb\r\n");
    proto::StringSink out;
    run_resp_request(parser_, "*2\r\n$3\r\nget\r\n$1\r\n", ctx_, out);
    EXPECT_EQ(out.out, "-ERR Protocol error: the request is incomplete\r\n");
}

TEST_F(RespExec, OneKeyspaceWithMemcached) {
    EXPECT_EQ(run({"set", "shared", "hello"}), "+OK\r\n");
    EXPECT_EQ(mc("get shared\r\n"), "VALUE shared 0 5\r\nhello\r\nEND\r\n");
    EXPECT_EQ(mc("set mc 7 0 2\r\n10\r\n"), "STORED\r\n");
    EXPECT_EQ(run({"incr", "mc"}), ":11\r\n");
    // INCR keeps the item's flags, as memcached's incr does.
    EXPECT_EQ(mc("get mc\r\n"), "VALUE mc 7 2\r\n11\r\nEND\r\n");
    EXPECT_EQ(run({"del", "mc"}), ":1\r\n");
    EXPECT_EQ(mc("get mc\r\n"), "END\r\n");
}

}  // namespace
}  // namespace fulmar::engine
