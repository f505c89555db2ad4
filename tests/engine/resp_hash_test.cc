// The hash commands where a recorded reply cannot say it all (the exact
// bytes are resp_coll_diff_test's): HRANDFIELD's picks and huge counts,
// HSCAN's cursor over a hash past the whole-reply size (while it changes),
// a large hash's field look-ups, the item limit, counters' edges, the wire.
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

class RespHash : public RespExec {
  protected:
    // Fields "f0".."f<n-1>" with values "v0"...
    void fill(const std::string& key, size_t n) {
        for (size_t i = 0; i < n; i += 100) {
            std::vector<std::string> cmd = {"hset", key};
            for (size_t j = i; j < std::min(n, i + 100); ++j) {
                cmd.push_back("f" + std::to_string(j));
                cmd.push_back("v" + std::to_string(j));
            }
            run(cmd);
        }
    }
};

TEST_F(RespHash, LargeHashesFindEveryFieldAndKeepTheirOrder) {
    fill("h", 1000);
    EXPECT_EQ(run({"hlen", "h"}), ":1000\r\n");
    EXPECT_EQ(run({"hget", "h", "f777"}), "$4\r\nv777\r\n");
    // An update keeps the field's place; a new field goes last.
    EXPECT_EQ(run({"hset", "h", "f0", "zero", "new", "1"}), ":1\r\n");
    const std::vector<std::string> keys = bulks(run({"hkeys", "h"}));
    ASSERT_EQ(keys.size(), 1001u);
    EXPECT_EQ(keys.front(), "f0");
    EXPECT_EQ(keys.back(), "new");
    EXPECT_EQ(run({"hget", "h", "f0"}), "$4\r\nzero\r\n");
    EXPECT_EQ(run({"hdel", "h", "f1", "f2", "nope"}), ":2\r\n");
    EXPECT_EQ(run({"hexists", "h", "f2"}), ":0\r\n");
}

TEST_F(RespHash, HrandfieldPicksDistinctFieldsWithTheirValues) {
    fill("h", 20);
    const std::vector<std::string> kv = bulks(run({"hrandfield", "h", "8", "withvalues"}));
    ASSERT_EQ(kv.size(), 16u);
    std::set<std::string> fields;
    for (size_t i = 0; i < kv.size(); i += 2) {
        fields.insert(kv[i]);
        EXPECT_EQ("v" + kv[i].substr(1), kv[i + 1]);
    }
    EXPECT_EQ(fields.size(), 8u);
    const std::vector<std::string> rep = bulks(run({"hrandfield", "h", "-500"}));
    ASSERT_EQ(rep.size(), 500u);
    EXPECT_EQ(std::set<std::string>(rep.begin(), rep.end()).size(), 20u);
    EXPECT_EQ(bulks(run({"hrandfield", "h", "4611686018427387903", "withvalues"})).size(), 40u);
    const std::string err = run({"hrandfield", "h", "-4611686018427387903", "withvalues"});
    EXPECT_TRUE(err.starts_with("-ERR count is too large")) << err;
    const std::vector<std::string> one = bulks(run({"hrandfield", "h"}));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0][0], 'f');
}

TEST_F(RespHash, HscanCursorVisitsEveryFieldOfALargeHash) {
    fill("h", 1500);
    std::map<std::string, std::string> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
        const std::vector<std::string> b = bulks(run({"hscan", "h", cursor, "COUNT", "50"}));
        ASSERT_EQ(b.size() % 2, 1u);
        cursor = b[0];
        for (size_t i = 1; i + 1 < b.size(); i += 2)
            seen[b[i]] = b[i + 1];
        if (calls == 5) {
            run({"hdel", "h", "f0", "f1499"});
            run({"hset", "h", "g1", "x"});
        }
        ++calls;
    } while (cursor != "0" && calls < 1000);
    EXPECT_EQ(cursor, "0");
    EXPECT_GE(calls, 30);
    for (int i = 1; i < 1499; ++i)
        EXPECT_EQ(seen["f" + std::to_string(i)], "v" + std::to_string(i)) << i;
}

TEST_F(RespHash, CountersAndTheItemLimit) {
    EXPECT_EQ(run({"hincrby", "h", "n", "-9223372036854775808"}), ":-9223372036854775808\r\n");
    EXPECT_EQ(run({"hincrby", "h", "n", "-1"}), "-ERR increment or decrement would overflow\r\n");
    EXPECT_EQ(run({"hincrbyfloat", "h", "f", "0.1"}), "$3\r\n0.1\r\n");
    EXPECT_EQ(run({"hincrbyfloat", "h", "f", "0.2"}), "$3\r\n0.3\r\n");
    const std::string big(600 * 1024, 'x');
    EXPECT_EQ(run({"hset", "h", "big", big}), ":1\r\n");
    EXPECT_TRUE(run({"hset", "h", "big2", big}).starts_with("-ERR collection exceeds"));
    EXPECT_TRUE(run({"hsetnx", "h", "big2", big}).starts_with("-ERR collection exceeds"));
    EXPECT_EQ(run({"hlen", "h"}), ":3\r\n");
    EXPECT_EQ(run({"hstrlen", "h", "big"}), ":614400\r\n");
}

TEST_F(RespHash, TheWireFormAndMemcached) {
    EXPECT_EQ(run_wire({"hset", "h", "f", "v"}), ":1\r\n");
    EXPECT_EQ(run_wire({"hgetall", "h"}), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT_EQ(mc("get h\r\n"), "END\r\n");
    EXPECT_EQ(run({"type", "h"}), "+hash\r\n");
}

// Random HSET/HDEL/HGET/HMGET/HLEN/HINCRBY against std::map: 256 possible
// fields, so the hash passes the sizes where look-ups switch from a scan to
// an index (the hash stays a listpack at the default 512 fields;
// resp_coll_encoding_test converts them); HGETALL keeps first-insertion
// order.
TEST_F(RespHash, RandomOperationsMatchAModel) {
    std::mt19937 rng(11);
    std::map<std::string, std::string> model;
    std::vector<std::string> order;  // fields in first-insertion order
    auto field = [&] { return "f" + std::to_string(rng() % 256); };
    auto bulk = [](const std::string& v) {
        return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
    };
    size_t largest = 0;
    for (int step = 0; step < 6000; ++step) {
        std::vector<std::string> cmd;
        std::string want;
        switch (rng() % 6) {
            case 0: {
                cmd = {"hset", "h"};
                const size_t n = 1 + rng() % 10;
                size_t created = 0;
                for (size_t i = 0; i < n; ++i) {
                    const std::string f = field(), v = std::to_string(rng() % 1000);
                    cmd.push_back(f);
                    cmd.push_back(v);
                    if (!model.contains(f)) {
                        ++created;
                        order.push_back(f);
                    }
                    model[f] = v;
                }
                want = ":" + std::to_string(created) + "\r\n";
                break;
            }
            case 1: {
                cmd = {"hdel", "h"};
                const size_t n = 1 + rng() % 10;
                size_t removed = 0;
                for (size_t i = 0; i < n; ++i) {
                    cmd.push_back(field());
                    if (model.erase(cmd.back()) != 0) {
                        ++removed;
                        std::erase(order, cmd.back());
                    }
                }
                want = ":" + std::to_string(removed) + "\r\n";
                break;
            }
            case 2: {
                cmd = {"hget", "h", field()};
                const auto it = model.find(cmd[2]);
                want = it == model.end() ? "$-1\r\n" : bulk(it->second);
                break;
            }
            case 3: {
                cmd = {"hmget", "h"};
                const size_t n = 1 + rng() % 10;
                want = "*" + std::to_string(n) + "\r\n";
                for (size_t i = 0; i < n; ++i) {
                    cmd.push_back(field());
                    const auto it = model.find(cmd.back());
                    want += it == model.end() ? "$-1\r\n" : bulk(it->second);
                }
                break;
            }
            case 4: {
                cmd = {"hincrby", "h", field(), "3"};
                if (!model.contains(cmd[2])) order.push_back(cmd[2]);
                const int64_t v = std::stoll(model.contains(cmd[2]) ? model[cmd[2]] : "0") + 3;
                model[cmd[2]] = std::to_string(v);
                want = ":" + std::to_string(v) + "\r\n";
                break;
            }
            default:
                cmd = {"hlen", "h"};
                want = ":" + std::to_string(model.size()) + "\r\n";
                break;
        }
        ASSERT_EQ(run(cmd), want) << "step " << step << " " << cmd[0];
        largest = std::max(largest, model.size());
        if (step % 100 == 0) {
            std::string all = "*" + std::to_string(2 * model.size()) + "\r\n";
            for (const std::string& f : order)
                all += bulk(f) + bulk(model[f]);
            EXPECT_EQ(run({"hgetall", "h"}), all) << "step " << step;
        }
    }
    EXPECT_GT(largest, size_t{128});
}

}  // namespace
}  // namespace fulmar::engine
