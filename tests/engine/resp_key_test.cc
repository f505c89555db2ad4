// KEYS, SCAN and RANDOMKEY on two real shards: every live key found once,
// patterns and TYPE filters, a SCAN that finishes with every key present
// for the whole scan even while other keys come and go, expired keys left
// out.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/resp_collection.h"
#include "proto/resp_parser.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

// The bulk strings of a flat RESP array reply ("*n" then "$len" lines).
std::vector<std::string> bulks(std::string_view reply) {
    std::vector<std::string> out;
    size_t at = reply.find("\r\n") + 2;
    while (at < reply.size()) {
        const size_t eol = reply.find("\r\n", at);
        const size_t len = std::stoul(std::string(reply.substr(at + 1, eol - at - 1)));
        out.emplace_back(reply.substr(eol + 2, len));
        at = eol + 2 + len + 2;
    }
    return out;
}

class RespKeys : public RespExec {
  protected:
    // SCAN to the end: every key returned, and how many calls it took.
    std::multiset<std::string> scan_all(std::vector<std::string> extra, size_t* calls = nullptr,
                                        const std::function<void(size_t)>& between = {}) {
        std::multiset<std::string> seen;
        std::string cursor = "0";
        size_t n = 0;
        do {
            std::vector<std::string> args = {"scan", cursor};
            args.insert(args.end(), extra.begin(), extra.end());
            const std::string r = run(args);
            // "*2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n..."
            const size_t c0 = r.find("\r\n", 4) + 2;
            const size_t c1 = r.find("\r\n", c0);
            cursor = r.substr(c0, c1 - c0);
            for (std::string& k : bulks(std::string_view(r).substr(c1 + 2)))
                seen.insert(std::move(k));
            if (between) between(n);
            ++n;
        } while (cursor != "0" && n < 100000);
        if (calls != nullptr) *calls = n;
        return seen;
    }
};

TEST_F(RespKeys, KeysMatchesPatternsOverEveryShard) {
    for (int i = 0; i < 50; ++i)
        run({"set", "user:" + std::to_string(i), "v"});
    run({"set", "other", "v"});
    EXPECT_EQ(bulks(run({"keys", "*"})).size(), 51u);
    const auto users = bulks(run({"keys", "user:?"}));
    EXPECT_EQ(std::set<std::string>(users.begin(), users.end()).size(), 10u);
    EXPECT_EQ(run({"keys", "oth[a-f]r"}), "*1\r\n$5\r\nother\r\n");
    EXPECT_EQ(run({"keys", "nothing*"}), "*0\r\n");
    run({"set", "short", "v", "EX", "1"});
    EXPECT_EQ(bulks(run({"keys", "short"})).size(), 1u);
    clock_.advance(2);
    EXPECT_EQ(run({"keys", "short"}), "*0\r\n");
}

TEST_F(RespKeys, ScanReturnsEveryKeyOnceAcrossShards) {
    std::set<std::string> want;
    for (int i = 0; i < 500; ++i) {
        want.insert("k" + std::to_string(i));
        run({"set", "k" + std::to_string(i), "v"});
    }
    size_t calls = 0;
    const auto seen = scan_all({"COUNT", "7"}, &calls);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
    EXPECT_EQ(seen.size(), want.size());  // no duplicates without rehashing
    EXPECT_GT(calls, 500u / 7 / 4);       // COUNT bounds the work per call
    const auto matched = scan_all({"MATCH", "k1?", "COUNT", "1000"});
    EXPECT_EQ(matched.size(), 10u);
}

TEST_F(RespKeys, ScanKeepsKeysPresentForTheWholeScanWhileOthersChange) {
    for (int i = 0; i < 300; ++i)
        run({"set", "stay" + std::to_string(i), "v"});
    for (int i = 0; i < 300; ++i)
        run({"set", "go" + std::to_string(i), "v"});
    // Between calls: delete the "go" keys, add new ones, rewrite stayers
    // with bigger values (a new chunk each).
    const auto churn = [&](size_t call) {
        run({"del", "go" + std::to_string(call % 300)});
        run({"set", "new" + std::to_string(call), "v"});
        run({"set", "stay" + std::to_string(call % 300), std::string(100 + call, 'x')});
    };
    const auto seen = scan_all({"COUNT", "5"}, nullptr, churn);
    for (int i = 0; i < 300; ++i)
        EXPECT_EQ(seen.count("stay" + std::to_string(i)), 1u) << i;
}

TEST_F(RespKeys, ScanTypeFilterAndArgumentErrors) {
    run({"set", "str", "v"});
    const std::string key = "lst";
    const store::KeyRef k(key);
    const std::vector<std::string_view> e = {"a"};
    coll::write(ctx_.shard_for(k), k, store::ItemType::kList, e, 0, ctx_.now());
    EXPECT_EQ(scan_all({"TYPE", "list"}), std::multiset<std::string>{"lst"});
    EXPECT_EQ(scan_all({"TYPE", "string"}), std::multiset<std::string>{"str"});
    EXPECT_EQ(run({"scan", "abc"}), "-ERR invalid cursor\r\n");
    EXPECT_EQ(run({"scan", "-1"}), "-ERR invalid cursor\r\n");
    EXPECT_EQ(run({"scan", "0", "COUNT", "0"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"scan", "0", "COUNT", "x"}), "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"scan", "0", "MATCH"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"scan", "0", "FOO", "1"}), "-ERR syntax error\r\n");
    // A cursor past anything handed out ends the scan.
    EXPECT_EQ(run({"scan", "18446744073709551614"}), "*2\r\n$1\r\n0\r\n*0\r\n");
}

TEST_F(RespKeys, RandomKeyIsALiveKeyOrNil) {
    EXPECT_EQ(run({"randomkey"}), "$-1\r\n");
    run({"set", "a", "1"});
    run({"set", "b", "2", "EX", "1"});
    std::set<std::string> got;
    for (int i = 0; i < 200; ++i)
        got.insert(run({"randomkey"}));
    EXPECT_EQ(got, (std::set<std::string>{"$1\r\na\r\n", "$1\r\nb\r\n"}));
    clock_.advance(2);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(run({"randomkey"}), "$1\r\na\r\n");
}

}  // namespace
}  // namespace fulmar::engine
