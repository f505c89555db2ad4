// The engine's side of the Redis server commands: COMMAND from the table
// (COUNT, LIST, INFO, DOCS, GETKEYS: Redis 7.0's reply shapes and errors),
// replies in RESP3 when the sink says so (what HELLO 3 asks of the owners),
// and EXEC on the owner (engine::run_resp_transaction: the WATCH check,
// the queued requests back to back, one array).
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

class RespServerExec : public ::testing::Test {
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

    std::string run(std::vector<std::string> args, bool resp3 = false) {
        std::vector<std::string_view> views(args.begin(), args.end());
        proto::StringSink out;
        out.set_resp3(resp3);
        execute_resp(RespRequest{views}, ctx_, out);
        return out.out;
    }

    // EXEC's body as the control plane writes it, run as the owner runs it.
    std::string exec(const std::vector<std::pair<std::string, uint64_t>>& watched,
                     const std::vector<std::vector<std::string>>& queued, bool resp3 = false) {
        std::string body;
        write_resp_transaction_header(queued.size(), watched, body);
        for (const auto& q : queued) {
            std::vector<std::string_view> v(q.begin(), q.end());
            write_resp_request(v, body);
        }
        proto::StringSink out;
        out.set_resp3(resp3);
        run_resp_transaction(parser_, body, ctx_, out);
        return out.out;
    }

    uint64_t cas_of(const std::string& key) {
        const store::KeyRef k(key);
        const store::Item* it = ctx_.shard_for(k).find(k, clock_.now());
        return it == nullptr ? 0 : it->cas;
    }

    ManualClock clock_;
    std::vector<std::unique_ptr<store::Shard>> shards_;
    std::vector<store::Shard*> ptrs_;
    std::vector<char> scratch_;
    EngineStats stats_;
    EngineCtx ctx_;
    proto::RespParser parser_;
};

TEST(RespServerTable, SessionCommandsAreInTheTable) {
    for (const char* name : {"hello", "auth", "client", "reset", "info", "config", "debug", "multi",
                             "exec", "discard", "watch", "unwatch"}) {
        const RespCommand* c = find_resp_command(name);
        ASSERT_NE(c, nullptr) << name;
        EXPECT_TRUE(c->spec.has(kCmdSession)) << name;
        // DEBUG RELOAD alone runs on the owners (resp_debug.h).
        EXPECT_EQ(c->spec.execute == nullptr, std::string_view(name) != "debug") << name;
    }
    // Redis's arities.
    EXPECT_EQ(find_resp_command("reset")->spec.arity.max, 1);
    EXPECT_EQ(find_resp_command("auth")->spec.arity.min, 2);
    EXPECT_EQ(find_resp_command("watch")->spec.keys.first, 1);
    EXPECT_EQ(find_resp_command("watch")->spec.keys.last, -1);
}

TEST_F(RespServerExec, CommandCountListAndInfo) {
    const size_t n = resp_commands().size();
    EXPECT_EQ(run({"command", "count"}), ":" + std::to_string(n) + "\r\n");
    const std::string list = run({"command", "list"});
    EXPECT_TRUE(list.starts_with("*" + std::to_string(n) + "\r\n"));
    EXPECT_NE(list.find("$5\r\nmulti\r\n"), std::string::npos);
    // GET: arity 2, readonly, key 1..1 step 1, its key spec; an unknown
    // name is a null in its place.
    EXPECT_EQ(
        run({"command", "info", "get", "nosuch"}),
        "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*1\r\n+@read\r\n"
        "*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\n"
        "type\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n"
        "*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n"
        "keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n");
    // MSET: at least 3, keys 1..-1 step 2; PING: no key at all.
    const std::string mset = run({"command", "info", "mset"});
    EXPECT_TRUE(
        mset.starts_with("*1\r\n*10\r\n$4\r\nmset\r\n:-3\r\n*1\r\n+write\r\n:1\r\n:-1\r\n:2\r\n"))
        << mset;
    const std::string ping = run({"command", "info", "ping"});
    EXPECT_TRUE(
        ping.starts_with("*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n"
                         "*0\r\n*0\r\n*0\r\n"))
        << ping;
    // The same in RESP3: sets and maps.
    EXPECT_TRUE(run({"command", "info", "ping"}, true)
                    .starts_with("*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n~0\r\n"));
    EXPECT_TRUE(run({"command"}).starts_with("*" + std::to_string(n) + "\r\n*10\r\n"));
}

TEST_F(RespServerExec, CommandDocsAndGetkeys) {
    EXPECT_EQ(run({"command", "docs", "get", "nosuch", "multi"}),
              "*4\r\n$3\r\nget\r\n*2\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$5\r\nmulti\r\n*2\r\n$5\r\n"
              "group\r\n$12\r\ntransactions\r\n");
    EXPECT_EQ(run({"command", "docs", "get"}, true),
              "%1\r\n$3\r\nget\r\n%1\r\n$5\r\ngroup\r\n$6\r\nstring\r\n");
    EXPECT_EQ(run({"command", "getkeys", "mset", "a", "1", "b", "2"}),
              "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"command", "getkeys", "set", "k", "v", "EX", "5"}), "*1\r\n$1\r\nk\r\n");
    // As redis-server 7.0.15: keys after LMPOP's count, never BLPOP's timeout.
    EXPECT_EQ(run({"command", "getkeys", "lmpop", "2", "a", "b", "left"}),
              "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"command", "getkeys", "blmpop", "0", "2", "a", "b", "left", "count", "3"}),
              "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"command", "getkeys", "blpop", "a", "b", "0"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"command", "getkeys", "nosuch", "k"}), "-ERR Invalid command specified\r\n");
    EXPECT_EQ(run({"command", "getkeys", "ping", "x"}),
              "-ERR The command has no key arguments\r\n");
    EXPECT_EQ(run({"command", "getkeys", "get", "a", "b"}),
              "-ERR Invalid number of arguments specified for command\r\n");
    EXPECT_EQ(run({"command", "getkeys", "get"}),
              "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
    EXPECT_EQ(run({"command", "count", "x"}),
              "-ERR wrong number of arguments for 'command|count' command\r\n");
    EXPECT_EQ(run({"command", "nosuch"}),
              "-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n");
}

TEST_F(RespServerExec, FunctionFlushAndListWithoutScripting) {
    EXPECT_EQ(run({"function", "flush"}), "+OK\r\n");
    EXPECT_EQ(run({"function", "flush", "async"}), "+OK\r\n");
    EXPECT_EQ(run({"function", "flush", "later"}),
              "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
    EXPECT_EQ(run({"function", "flush", "a", "b"}),
              "-ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION "
              "HELP.\r\n");
    EXPECT_EQ(run({"function", "list"}), "*0\r\n");
    EXPECT_EQ(run({"function", "load", "#!lua name=x"}),
              "-ERR FUNCTION LOAD is not supported: no scripting here\r\n");
    EXPECT_EQ(run({"function", "nosuch"}),
              "-ERR unknown subcommand 'nosuch'. Try FUNCTION HELP.\r\n");
    EXPECT_EQ(run({"function"}), "-ERR wrong number of arguments for 'function' command\r\n");
}

TEST_F(RespServerExec, Resp3RepliesWhenTheSinkSaysSo) {
    EXPECT_EQ(run({"get", "none"}, true), "_\r\n");
    EXPECT_EQ(run({"get", "none"}), "$-1\r\n");
    EXPECT_EQ(run({"set", "k", "v"}, true), "+OK\r\n");
    EXPECT_EQ(run({"set", "k", "w", "NX"}, true), "_\r\n");
    EXPECT_EQ(run({"mget", "k", "none"}, true), "*2\r\n$1\r\nv\r\n_\r\n");
}

TEST_F(RespServerExec, ExecRunsTheQueueAsOneArray) {
    EXPECT_EQ(exec({}, {{"set", "k", "1"}, {"incr", "k"}, {"incrby", "k", "x"}, {"get", "k"}}),
              "*4\r\n+OK\r\n:2\r\n-ERR value is not an integer or out of range\r\n$1\r\n2\r\n");
    EXPECT_EQ(exec({}, {{"get", "none"}}, true), "*1\r\n_\r\n");
}

// Inside EXEC a blocking pop never blocks: it answers as its plain form,
// the null of its type when nothing is there (the suite's "BRPOPLPUSH
// inside a transaction"; bytes as redis-server 7.0.15's).
TEST_F(RespServerExec, BlockingPopsInsideExecAnswerAtOnce) {
    run({"lpush", "x", "foo"});
    run({"lpush", "x", "bar"});
    EXPECT_EQ(exec({}, {{"brpoplpush", "x", "t", "0"},
                        {"brpoplpush", "x", "t", "0"},
                        {"brpoplpush", "x", "t", "0"},
                        {"lrange", "x", "0", "-1"},
                        {"lrange", "t", "0", "-1"}}),
              "*5\r\n$3\r\nfoo\r\n$3\r\nbar\r\n$-1\r\n*0\r\n*2\r\n$3\r\nbar\r\n$3\r\nfoo\r\n");
    EXPECT_EQ(exec({}, {{"blmpop", "0", "1", "none", "left"},
                        {"lmpop", "1", "none", "left"},
                        {"blpop", "none", "0"},
                        {"blmpop", "0", "2", "none", "t", "left", "count", "5"}}),
              "*4\r\n*-1\r\n*-1\r\n*-1\r\n*2\r\n$1\r\nt\r\n*2\r\n$3\r\nbar\r\n$3\r\nfoo\r\n");
    EXPECT_EQ(exec({}, {{"blpop", "none", "0"}}, true), "*1\r\n_\r\n");
}

TEST_F(RespServerExec, ExecAbortsWhenAWatchedKeyChanged) {
    run({"set", "w", "1"});
    const uint64_t cas = cas_of("w");
    ASSERT_NE(cas, 0u);
    // Unchanged (and an absent key still absent): runs.
    EXPECT_EQ(exec({{"w", cas}, {"absent", 0}}, {{"incr", "w"}}), "*1\r\n:2\r\n");
    // The transaction's own write changed it: a WATCH of the old CAS aborts.
    EXPECT_EQ(exec({{"w", cas}}, {{"incr", "w"}}), "*-1\r\n");
    EXPECT_EQ(run({"get", "w"}), "$1\r\n2\r\n");
    EXPECT_EQ(exec({{"w", cas}}, {{"incr", "w"}}, true), "_\r\n");
    // Created since: aborts. EXPIRE and PERSIST change the CAS too.
    EXPECT_EQ(exec({{"absent", 0}}, {{"get", "w"}}), "*1\r\n$1\r\n2\r\n");
    run({"set", "absent", "x"});
    EXPECT_EQ(exec({{"absent", 0}}, {{"get", "w"}}), "*-1\r\n");
    const uint64_t before = cas_of("w");
    EXPECT_EQ(run({"expire", "w", "100"}), ":1\r\n");
    EXPECT_NE(cas_of("w"), before);
    const uint64_t expiring = cas_of("w");
    EXPECT_EQ(run({"persist", "w"}), ":1\r\n");
    EXPECT_EQ(exec({{"w", expiring}}, {{"get", "w"}}), "*-1\r\n");
    // Expired since the WATCH: aborts, as Redis's isWatchedKeyExpired.
    run({"set", "e", "1", "EX", "5"});
    const uint64_t e = cas_of("e");
    clock_.advance(10);
    EXPECT_EQ(exec({{"e", e}}, {{"get", "e"}}), "*-1\r\n");
}

TEST_F(RespServerExec, AMalformedTransactionIsAnError) {
    proto::StringSink out;
    run_resp_transaction(parser_, "*1\r\n$4\r\nexec\r\n", ctx_, out);
    EXPECT_EQ(out.out, "-ERR Protocol error: malformed transaction\r\n");
    out.out.clear();
    run_resp_transaction(parser_, "*2\r\n$4\r\nexec\r\n$1\r\n1\r\n", ctx_, out);
    EXPECT_EQ(out.out, "-ERR Protocol error: malformed transaction\r\n");
}

// Found by the resp_exec fuzzer: a header counting more requests than the
// body holds (or an empty request among them) used to answer an array
// shorter than its header ("*3" then two replies), which leaves the client
// waiting forever; with a huge count, "*9999999999999999999". Now the body
// is checked whole first: one protocol error, and nothing runs.
TEST_F(RespServerExec, ATransactionShortOfItsCountRunsNothing) {
    const std::string ping = "*1\r\n$4\r\nping\r\n";
    const std::string set = "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";
    const std::string error = "-ERR Protocol error: malformed transaction\r\n";
    for (const std::string& header :
         {std::string("*2\r\n$4\r\nexec\r\n$1\r\n3\r\n"),
          std::string("*2\r\n$4\r\nexec\r\n$19\r\n9999999999999999999\r\n")}) {
        proto::StringSink out;
        run_resp_transaction(parser_, header + set + ping, ctx_, out);
        EXPECT_EQ(out.out, error);
    }
    proto::StringSink out;
    run_resp_transaction(parser_, "*2\r\n$4\r\nexec\r\n$1\r\n2\r\n" + set + "*0\r\n", ctx_, out);
    EXPECT_EQ(out.out, error);
    EXPECT_EQ(run({"exists", "k"}), ":0\r\n");  // the SET before it did not run
    out.out.clear();
    run_resp_transaction(parser_, "*2\r\n$4\r\nexec\r\n$1\r\n2\r\n" + set + ping, ctx_, out);
    EXPECT_EQ(out.out, "*2\r\n+OK\r\n+PONG\r\n");
}

}  // namespace
}  // namespace fulmar::engine
