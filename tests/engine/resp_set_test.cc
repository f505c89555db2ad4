// The set commands where a recorded reply cannot say it all (the exact
// bytes are resp_coll_diff_test's): random picks, huge counts, SSCAN's
// cursor over a set past the whole-reply size (while the set changes), the
// item limit, keys on both shards, CROSSSLOT on an owner, the wire form.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/resp_collection.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

// The bulk strings of a flat array reply (nested headers skipped).
std::vector<std::string> bulks(const std::string& r) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < r.size()) {
        const size_t eol = r.find("\r\n", at);
        if (r[at] == '$') {
            const size_t n = std::stoul(r.substr(at + 1, eol - at - 1));
            out.push_back(r.substr(eol + 2, n));
            at = eol + 2 + n + 2;
        } else {
            at = eol + 2;
        }
    }
    return out;
}

class RespSet : public RespExec {
  protected:
    // A set of n members "m0".."m<n-1>", added in batches.
    void fill(const std::string& key, size_t n) {
        for (size_t i = 0; i < n; i += 100) {
            std::vector<std::string> cmd = {"sadd", key};
            for (size_t j = i; j < std::min(n, i + 100); ++j)
                cmd.push_back("m" + std::to_string(j));
            run(cmd);
        }
    }
    // Two keys that live on different shards of the fixture's two.
    std::pair<std::string, std::string> keys_on_two_shards() {
        const std::string a = "k0";
        for (int i = 1;; ++i) {
            const std::string b = "k" + std::to_string(i);
            if (&ctx_.shard_for(store::KeyRef(a)) != &ctx_.shard_for(store::KeyRef(b)))
                return {a, b};
        }
    }
};

TEST_F(RespSet, SpopTakesDistinctMembersAndLeavesTheRest) {
    fill("s", 50);
    const std::vector<std::string> popped = bulks(run({"spop", "s", "20"}));
    ASSERT_EQ(popped.size(), 20u);
    EXPECT_EQ(std::set<std::string>(popped.begin(), popped.end()).size(), 20u);
    EXPECT_EQ(run({"scard", "s"}), ":30\r\n");
    for (const std::string& m : popped)
        EXPECT_EQ(run({"sismember", "s", m}), ":0\r\n") << m;
    const std::vector<std::string> one = bulks(run({"spop", "s"}));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(run({"sismember", "s", one[0]}), ":0\r\n");
    // A huge count takes the whole set, and the key.
    EXPECT_EQ(bulks(run({"spop", "s", "9223372036854775807"})).size(), 29u);
    EXPECT_EQ(run({"exists", "s"}), ":0\r\n");
}

TEST_F(RespSet, SrandmemberRepeatsOnlyForNegativeCounts) {
    fill("s", 10);
    const std::vector<std::string> uniq = bulks(run({"srandmember", "s", "7"}));
    EXPECT_EQ(uniq.size(), 7u);
    EXPECT_EQ(std::set<std::string>(uniq.begin(), uniq.end()).size(), 7u);
    const std::vector<std::string> rep = bulks(run({"srandmember", "s", "-1000"}));
    ASSERT_EQ(rep.size(), 1000u);
    std::map<std::string, int> seen;
    for (const std::string& m : rep)
        ++seen[m];
    EXPECT_EQ(seen.size(), 10u);  // 1000 draws of 10 miss one with p ~ 1e-45
    EXPECT_EQ(bulks(run({"srandmember", "s", "9223372036854775807"})).size(), 10u);
    EXPECT_EQ(run({"scard", "s"}), ":10\r\n");  // a read: nothing removed
}

TEST_F(RespSet, HugeNegativeCountsAreRefusedNotBuilt) {
    run({"sadd", "s", "a"});
    const std::string err = run({"srandmember", "s", "-9223372036854775807"});
    EXPECT_TRUE(err.starts_with("-ERR count is too large")) << err;
    // Within the bound: 1M one-byte members are about 7 MB of reply.
    EXPECT_TRUE(run({"srandmember", "s", "-1000000"}).starts_with("*1000000\r\n"));
}

TEST_F(RespSet, SscanCursorVisitsEveryMemberOfALargeSet) {
    fill("s", 2000);
    std::set<std::string> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
        const std::string r = run({"sscan", "s", cursor, "count", "100"});
        const std::vector<std::string> b = bulks(r);
        ASSERT_FALSE(b.empty());
        cursor = b[0];
        seen.insert(b.begin() + 1, b.end());
        // Removals and additions while the scan runs: no member present for
        // the whole scan may be missed.
        if (calls == 3) {
            run({"srem", "s", "m0", "m1", "m1999"});
            run({"sadd", "s", "new1", "new2"});
        }
        ++calls;
    } while (cursor != "0" && calls < 1000);
    EXPECT_EQ(cursor, "0");
    EXPECT_GE(calls, 20);
    for (int i = 2; i < 1999; ++i)
        EXPECT_TRUE(seen.contains("m" + std::to_string(i))) << i;
    // MATCH filters what a page examined.
    std::set<std::string> nines;
    cursor = "0";
    do {
        const std::vector<std::string> b = bulks(run({"sscan", "s", cursor, "match", "m9?"}));
        cursor = b[0];
        nines.insert(b.begin() + 1, b.end());
    } while (cursor != "0");
    EXPECT_EQ(nines.size(), 10u);
}

TEST_F(RespSet, AWriteThatWouldPassTheItemIsRefused) {
    const std::string big(400 * 1024, 'x');
    EXPECT_EQ(run({"sadd", "s", big + "1", big + "2"}), ":2\r\n");
    const std::string err = run({"sadd", "s", big + "3"});
    EXPECT_TRUE(err.starts_with("-ERR collection exceeds")) << err;
    EXPECT_EQ(run({"scard", "s"}), ":2\r\n");
    EXPECT_TRUE(run({"sunionstore", "d", "s", "s"}).starts_with(":2"));
    EXPECT_EQ(run({"sadd", "t", big + "3"}), ":1\r\n");
    EXPECT_TRUE(run({"sunionstore", "d", "s", "t"}).starts_with("-ERR collection exceeds"));
    EXPECT_TRUE(run({"smove", "t", "s", big + "3"}).starts_with("-ERR collection exceeds"));
    EXPECT_EQ(run({"scard", "t"}), ":1\r\n");  // nothing moved
}

TEST_F(RespSet, ReadsAndWholeWritesSpanBothShards) {
    const auto [a, b] = keys_on_two_shards();
    run({"sadd", a, "1", "2", "3"});
    run({"sadd", b, "2", "3", "4"});
    EXPECT_EQ(run({"sintercard", "2", a, b}), ":2\r\n");
    EXPECT_EQ(run({"sdiff", a, b}), "*1\r\n$1\r\n1\r\n");
    // An owner of one shard refuses a write naming the other's key.
    ctx_.own_shard = &ctx_.shard_for(store::KeyRef(a)) == ptrs_[0] ? 0 : 1;
    EXPECT_EQ(run({"smove", a, b, "1"}),
              "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    EXPECT_EQ(run({"sinterstore", a, a, b}),
              "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    EXPECT_EQ(run({"sadd", a, "9"}), ":1\r\n");
    EXPECT_EQ(run_wire({"smembers", a}), "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n9\r\n");
}

TEST_F(RespSet, MemcachedSeesASetAsAbsent) {
    run({"sadd", "s", "a"});
    EXPECT_EQ(mc("get s\r\n"), "END\r\n");
    EXPECT_EQ(mc("set s 0 0 1\r\nx\r\n"), "STORED\r\n");
    EXPECT_EQ(run({"sadd", "s", "a"}),
              "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

// Random SADD/SREM/SISMEMBER/SMISMEMBER/SCARD/SMEMBERS against std::set:
// 256 possible members, so the set passes the sizes where look-ups switch
// from a scan to an index (the set is hashed: its members are text).
TEST_F(RespSet, RandomOperationsMatchAModel) {
    std::mt19937 rng(7);
    std::set<std::string> model;
    auto some = [&](std::vector<std::string>& cmd, size_t most) {
        const size_t n = 1 + rng() % most;
        for (size_t i = 0; i < n; ++i)
            cmd.push_back("m" + std::to_string(rng() % 256));
    };
    size_t largest = 0;
    for (int step = 0; step < 6000; ++step) {
        std::vector<std::string> cmd;
        std::string want;
        switch (rng() % 5) {
            case 0: {
                cmd = {"sadd", "s"};
                some(cmd, 12);
                size_t added = 0;
                for (size_t i = 2; i < cmd.size(); ++i)
                    added += model.insert(cmd[i]).second;
                want = ":" + std::to_string(added) + "\r\n";
                break;
            }
            case 1: {
                cmd = {"srem", "s"};
                some(cmd, 12);
                size_t removed = 0;
                for (size_t i = 2; i < cmd.size(); ++i)
                    removed += model.erase(cmd[i]);
                want = ":" + std::to_string(removed) + "\r\n";
                break;
            }
            case 2:
                cmd = {"sismember", "s", "m" + std::to_string(rng() % 256)};
                want = model.contains(cmd[2]) ? ":1\r\n" : ":0\r\n";
                break;
            case 3:
                cmd = {"smismember", "s"};
                some(cmd, 12);
                want = "*" + std::to_string(cmd.size() - 2) + "\r\n";
                for (size_t i = 2; i < cmd.size(); ++i)
                    want += model.contains(cmd[i]) ? ":1\r\n" : ":0\r\n";
                break;
            default:
                cmd = {"scard", "s"};
                want = ":" + std::to_string(model.size()) + "\r\n";
                break;
        }
        ASSERT_EQ(run(cmd), want) << "step " << step << " " << cmd[0];
        largest = std::max(largest, model.size());
        if (step % 100 == 0) {
            const std::vector<std::string> m = bulks(run({"smembers", "s"}));
            EXPECT_EQ(std::set<std::string>(m.begin(), m.end()), model);
            EXPECT_EQ(m.size(), model.size());
        }
    }
    EXPECT_GT(largest, size_t{128});
}

}  // namespace
}  // namespace fulmar::engine
