// Keyspace events reported by the owner with its reply (engine/resp_notify.h):
// for each write, the events redis-server 7.0.15 fires for it (checked
// there with notify-keyspace-events AKEn, in the same order), carried in
// front of the unchanged reply and taken off again by the control plane.
#include "engine/resp_notify.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../store/shard_fixture.h"
#include "engine/resp_commands.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

class RespNotify : public ::testing::Test {
  protected:
    void SetUp() override {
        scratch_.resize(store::kMaxItemSize);
        ctx_.clock = &clock_;
        ctx_.scratch = std::span<char>(scratch_);
        ctx_.stats = &stats_;
        ctx_.started = clock_.now();
        for (size_t i = 0; i < 2; ++i) {
            shards_.push_back(store::testing::make_shard(8 << 20));
            ptrs_.push_back(shards_.back().get());
        }
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
    }

    // Runs `args` as the control plane sends them with `flags` on; the
    // reply without its events, the events as "event:key".
    std::string run(std::vector<std::string> args, std::vector<std::string>& events,
                    std::string_view letters = "AKEn") {
        uint16_t flags = 0;
        EXPECT_TRUE(parse_notify_flags(letters, flags));
        std::vector<std::string_view> views(args.begin(), args.end());
        std::string body;
        write_notify_request_prefix(flags, body);
        write_resp_request(views, body);
        proto::StringSink out;
        run_resp_request(parser_, body, ctx_, out);
        std::vector<KeyEvent> got;
        EXPECT_TRUE(take_reply_events(out.out, got));
        events.clear();
        for (const KeyEvent& e : got)
            events.push_back(e.event + ":" + e.key);
        return out.out;
    }

    using V = std::vector<std::string>;

    ManualClock clock_;
    std::vector<std::unique_ptr<store::Shard>> shards_;
    std::vector<store::Shard*> ptrs_;
    std::vector<char> scratch_;
    EngineStats stats_;
    EngineCtx ctx_;
    proto::RespParser parser_;
};

TEST_F(RespNotify, StringWritesReportWhatRedisFires) {
    V ev;
    EXPECT_EQ(run({"set", "k", "v"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k", "set:k"}));
    EXPECT_EQ(run({"set", "k", "v2"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"set:k"}));
    EXPECT_EQ(run({"set", "k2", "v", "ex", "100"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k2", "set:k2", "expire:k2"}));
    EXPECT_EQ(run({"set", "k", "v", "nx"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"set", "k", "v", "xx", "get"}, ev), "$2\r\nv2\r\n");
    EXPECT_EQ(ev, (V{"set:k"}));
    EXPECT_EQ(run({"set", "nope", "v", "xx"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"setnx", "k3", "v"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"new:k3", "set:k3"}));
    EXPECT_EQ(run({"setnx", "k3", "v"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"setex", "k4", "10", "v"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k4", "set:k4", "expire:k4"}));
    EXPECT_EQ(run({"psetex", "k5", "100", "v"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k5", "set:k5", "expire:k5"}));
    EXPECT_EQ(run({"mset", "m1", "1", "k", "2"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:m1", "set:m1", "set:k"}));
    EXPECT_EQ(run({"incr", "n"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"new:n", "incrby:n"}));
    EXPECT_EQ(run({"incrby", "n", "5"}, ev), ":6\r\n");
    EXPECT_EQ(run({"decr", "n"}, ev), ":5\r\n");
    EXPECT_EQ(ev, (V{"incrby:n"}));
    EXPECT_EQ(run({"append", "a", "x"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"new:a", "append:a"}));
    EXPECT_EQ(run({"append", "a", "y"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"append:a"}));
    EXPECT_EQ(run({"incr", "a"}, ev), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(ev, V{});
}

TEST_F(RespNotify, RestoreReportsWhatRedisFires) {
    V ev;
    run({"set", "src", "v"}, ev);
    std::string dump = run({"dump", "src"}, ev);
    dump = dump.substr(dump.find("\r\n") + 2);
    dump.resize(dump.size() - 2);
    EXPECT_EQ(run({"restore", "k", "0", dump}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k", "restore:k"}));
    EXPECT_EQ(run({"restore", "k", "0", dump}, ev), "-BUSYKEY Target key name already exists.\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"restore", "k", "0", dump, "replace"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:k", "restore:k"}));
    EXPECT_EQ(run({"restore", "k", "1", dump, "replace", "absttl"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"del:k"}));
}

TEST_F(RespNotify, KeysAndExpiryReportWhatRedisFires) {
    V ev;
    run({"set", "k", "v"}, ev);
    run({"set", "n", "1"}, ev);
    EXPECT_EQ(run({"del", "k", "nope"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"del:k"}));
    EXPECT_EQ(run({"expire", "n", "100"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"expire:n"}));
    EXPECT_EQ(run({"persist", "n"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"persist:n"}));
    EXPECT_EQ(run({"persist", "n"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    // A time already past deletes the key: "del", not "expire".
    EXPECT_EQ(run({"expire", "n", "-1"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"del:n"}));
    EXPECT_EQ(run({"expire", "nope", "10"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
}

TEST_F(RespNotify, TheRestOfStringsAndKeysReportWhatRedisFires) {
    V ev;
    run({"set", "k", "v"}, ev);
    EXPECT_EQ(run({"getset", "k", "v2"}, ev), "$1\r\nv\r\n");
    EXPECT_EQ(ev, (V{"set:k"}));
    EXPECT_EQ(run({"getset", "g", "v"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, (V{"new:g", "set:g"}));
    EXPECT_EQ(run({"getdel", "g"}, ev), "$1\r\nv\r\n");
    EXPECT_EQ(ev, (V{"del:g"}));
    EXPECT_EQ(run({"getdel", "g"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"getex", "k", "ex", "100"}, ev), "$2\r\nv2\r\n");
    EXPECT_EQ(ev, (V{"expire:k"}));
    EXPECT_EQ(run({"getex", "k", "persist"}, ev), "$2\r\nv2\r\n");
    EXPECT_EQ(ev, (V{"persist:k"}));
    EXPECT_EQ(run({"getex", "k"}, ev), "$2\r\nv2\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"getex", "k", "persist"}, ev), "$2\r\nv2\r\n");
    EXPECT_EQ(ev, V{});  // no TTL to remove
    EXPECT_EQ(run({"setrange", "k", "1", "xx"}, ev), ":3\r\n");
    EXPECT_EQ(ev, (V{"setrange:k"}));
    EXPECT_EQ(run({"setrange", "sr", "2", "ab"}, ev), ":4\r\n");
    EXPECT_EQ(ev, (V{"new:sr", "setrange:sr"}));
    EXPECT_EQ(run({"setrange", "k", "0", ""}, ev), ":3\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"incrbyfloat", "f", "1.5"}, ev), "$3\r\n1.5\r\n");
    EXPECT_EQ(ev, (V{"new:f", "incrbyfloat:f"}));
    EXPECT_EQ(run({"unlink", "f", "nope"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"del:f"}));
    EXPECT_EQ(run({"pexpire", "k", "100000"}, ev), ":1\r\n");
    EXPECT_EQ(run({"expireat", "k", "99999999999"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"expire:k"}));
    EXPECT_EQ(run({"pexpireat", "k", "1"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"del:k"}));
}

TEST_F(RespNotify, RenamesReportWhatRedisFires) {
    // Keys on one shard: both run whole on their owner (the control plane
    // answers CROSSSLOT otherwise). Find two that share shard 0.
    std::vector<std::string> same;
    for (int i = 0; same.size() < 3; ++i) {
        const std::string k = "r" + std::to_string(i);
        if (shard_index(store::KeyRef(k).digest, 2) == 0) same.push_back(k);
    }
    V ev;
    run({"set", same[0], "v"}, ev);
    run({"set", same[2], "w"}, ev);
    EXPECT_EQ(run({"rename", same[0], same[1]}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"new:" + same[1], "rename_from:" + same[0], "rename_to:" + same[1]}));
    EXPECT_EQ(run({"renamenx", same[1], same[2]}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"renamenx", same[1], same[0]}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"new:" + same[0], "rename_from:" + same[1], "rename_to:" + same[0]}));
    EXPECT_EQ(run({"rename", same[0], same[0]}, ev), "+OK\r\n");
    EXPECT_EQ(ev, V{});
}

TEST_F(RespNotify, ListWritesReportWhatRedisFires) {
    V ev;
    EXPECT_EQ(run({"lpush", "l", "a", "b"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"new:l", "lpush:l"}));
    EXPECT_EQ(run({"rpush", "l", "c"}, ev), ":3\r\n");
    EXPECT_EQ(ev, (V{"rpush:l"}));
    EXPECT_EQ(run({"lpushx", "nol", "a"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"rpushx", "l", "d"}, ev), ":4\r\n");
    EXPECT_EQ(ev, (V{"rpush:l"}));
    EXPECT_EQ(run({"lpop", "l"}, ev), "$1\r\nb\r\n");
    EXPECT_EQ(ev, (V{"lpop:l"}));
    EXPECT_EQ(run({"rpop", "l", "2"}, ev), "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    EXPECT_EQ(ev, (V{"rpop:l"}));
    EXPECT_EQ(run({"lpop", "nol"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"linsert", "l", "before", "zz", "q"}, ev), ":-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"linsert", "l", "before", "a", "q"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"linsert:l"}));
    EXPECT_EQ(run({"lset", "l", "0", "x"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"lset:l"}));
    EXPECT_EQ(run({"lrem", "l", "0", "zz"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"lrem", "l", "0", "x"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"lrem:l"}));
    EXPECT_EQ(run({"ltrim", "l", "0", "-1"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"ltrim:l"}));
    EXPECT_EQ(run({"ltrim", "l", "1", "0"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, (V{"ltrim:l", "del:l"}));
    EXPECT_EQ(run({"ltrim", "l", "1", "0"}, ev), "+OK\r\n");
    EXPECT_EQ(ev, V{});  // no such key
    EXPECT_EQ(run({"rpush", "s", "1", "2"}, ev), ":2\r\n");
    EXPECT_EQ(run({"lmove", "s", "s", "left", "right"}, ev), "$1\r\n1\r\n");
    EXPECT_EQ(ev, (V{"rpush:s", "lpop:s"}));
    EXPECT_EQ(run({"rpoplpush", "s", "s"}, ev), "$1\r\n1\r\n");
    EXPECT_EQ(ev, (V{"lpush:s", "rpop:s"}));
    EXPECT_EQ(run({"lpop", "s", "5"}, ev), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT_EQ(ev, (V{"lpop:s", "del:s"}));
}

// The pops that name their key in the reply (redis-server 7.0.15 fires the
// same: the end's pop event, then "del" when the list went).
TEST_F(RespNotify, MultiKeyAndBlockingPopsReportThePoppedKey) {
    V ev;
    EXPECT_EQ(run({"rpush", "s", "1", "2", "3"}, ev), ":3\r\n");
    EXPECT_EQ(run({"lmpop", "2", "none", "s", "right", "count", "2"}, ev),
              "*2\r\n$1\r\ns\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    EXPECT_EQ(ev, (V{"rpop:s"}));
    EXPECT_EQ(run({"blmpop", "0", "1", "s", "left"}, ev), "*2\r\n$1\r\ns\r\n*1\r\n$1\r\n1\r\n");
    EXPECT_EQ(ev, (V{"lpop:s", "del:s"}));
    EXPECT_EQ(run({"lmpop", "1", "s", "left"}, ev), "*-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"rpush", "t", "1", "2"}, ev), ":2\r\n");
    EXPECT_EQ(run({"blpop", "none", "t", "0"}, ev), "*2\r\n$1\r\nt\r\n$1\r\n1\r\n");
    EXPECT_EQ(ev, (V{"lpop:t"}));
    EXPECT_EQ(run({"brpop", "t", "0"}, ev), "*2\r\n$1\r\nt\r\n$1\r\n2\r\n");
    EXPECT_EQ(ev, (V{"rpop:t", "del:t"}));
    EXPECT_EQ(run({"blpop", "t", "0"}, ev), "*-1\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"rpush", "u", "1", "2"}, ev), ":2\r\n");
    EXPECT_EQ(run({"blmove", "u", "v", "right", "left", "0"}, ev), "$1\r\n2\r\n");
    EXPECT_EQ(ev, (V{"new:v", "lpush:v", "rpop:u"}));
    EXPECT_EQ(run({"brpoplpush", "u", "v", "0"}, ev), "$1\r\n1\r\n");
    EXPECT_EQ(ev, (V{"lpush:v", "rpop:u", "del:u"}));
    EXPECT_EQ(run({"brpoplpush", "u", "v", "0"}, ev), "$-1\r\n");
    EXPECT_EQ(ev, V{});
}

TEST_F(RespNotify, SetAndHashWritesReportWhatRedisFires) {
    V ev;
    EXPECT_EQ(run({"sadd", "s", "a", "b"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"new:s", "sadd:s"}));
    EXPECT_EQ(run({"sadd", "s", "a"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"srem", "s", "x"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"srem", "s", "a"}, ev), ":1\r\n");
    EXPECT_EQ(ev, (V{"srem:s"}));
    EXPECT_EQ(run({"spop", "s"}, ev), "$1\r\nb\r\n");
    EXPECT_EQ(ev, (V{"spop:s", "del:s"}));
    EXPECT_EQ(run({"hset", "h", "f", "1", "g", "2"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"new:h", "hset:h"}));
    EXPECT_EQ(run({"hset", "h", "f", "3"}, ev), ":0\r\n");
    EXPECT_EQ(ev, (V{"hset:h"}));
    EXPECT_EQ(run({"hsetnx", "h", "f", "4"}, ev), ":0\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"hincrby", "h", "f", "10"}, ev), ":13\r\n");
    EXPECT_EQ(ev, (V{"hincrby:h"}));
    EXPECT_EQ(run({"hdel", "h", "f", "g"}, ev), ":2\r\n");
    EXPECT_EQ(ev, (V{"hdel:h", "del:h"}));
}

TEST_F(RespNotify, ReportsOnlyTheClassesAsked) {
    V ev;
    EXPECT_EQ(run({"set", "k", "v", "ex", "10"}, ev, "gK"), "+OK\r\n");
    EXPECT_EQ(ev, (V{"expire:k"}));  // no "new" (n), no "set" ($)
    EXPECT_EQ(run({"set", "j", "v"}, ev, "$E"), "+OK\r\n");
    EXPECT_EQ(ev, (V{"set:j"}));
    EXPECT_EQ(run({"del", "j"}, ev, "$E"), ":1\r\n");
    EXPECT_EQ(ev, V{});
}

TEST_F(RespNotify, ReadsAndArgumentErrorsReportNothingAndReplyAsBefore) {
    V ev;
    run({"set", "k", "v"}, ev);
    EXPECT_EQ(run({"get", "k"}, ev), "$1\r\nv\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"set", "k"}, ev), "-ERR wrong number of arguments for 'set' command\r\n");
    EXPECT_EQ(ev, V{});
    EXPECT_EQ(run({"ping"}, ev), "+PONG\r\n");
}

TEST(RespNotifyWire, TakesEventsOffTheReplyAndRefusesBrokenPrefixes) {
    std::string reply =
        ">2\r\n:8\r\n$3\r\nset\r\n$1\r\nk\r\n:4\r\n$6\r\nexpire\r\n$1\r\nk\r\n+OK\r\n";
    std::vector<KeyEvent> ev;
    ASSERT_TRUE(take_reply_events(reply, ev));
    EXPECT_EQ(reply, "+OK\r\n");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].cls, kNotifyString);
    EXPECT_EQ(ev[1].event, "expire");
    // No prefix: nothing taken.
    std::string plain = ":1\r\n";
    ev.clear();
    EXPECT_TRUE(take_reply_events(plain, ev));
    EXPECT_EQ(plain, ":1\r\n");
    EXPECT_TRUE(ev.empty());
    for (std::string bad : {">1\r\n", ">1\r\n:8\r\n$3\r\nse", ">x\r\n+OK\r\n",
                            ">1\r\n:8\r\n$9\r\nset\r\n$1\r\nk\r\n", ">99999999999\r\n"}) {
        const std::string before = bad;
        EXPECT_FALSE(take_reply_events(bad, ev)) << before;
        EXPECT_EQ(bad, before);
    }
}

TEST(RespNotifyWire, AnOwnerAnswersABrokenRequestPrefixWithAnError) {
    proto::RespParser parser;
    EngineCtx ctx;
    proto::StringSink out;
    run_resp_request(parser, ">2\r\n$6\r\nnotify\r\n:zz\r\n*1\r\n$4\r\nPING\r\n", ctx, out);
    EXPECT_EQ(out.out, "-ERR Protocol error: a malformed notification prefix\r\n");
}

}  // namespace
}  // namespace fulmar::engine
