// Sets' and hashes' encodings as Redis 7.0.15 picks them (intset or
// hashtable, listpack or hashtable, from the live CONFIG settings, one way):
// what OBJECT ENCODING answers after each command, and every set and hash
// command against a model on each encoding, across the conversions.
#include <gtest/gtest.h>

#include <algorithm>
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
        if (r[at] == '$' && r[at + 1] != '-') {
            const size_t n = std::stoul(r.substr(at + 1, eol - at - 1));
            out.push_back(r.substr(eol + 2, n));
            at = eol + 2 + n + 2;
        } else {
            at = eol + 2;
        }
    }
    return out;
}

std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

class CollEncoding : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        // Shards large enough that nothing is evicted: sets and hashes that
        // grow and shrink pass through many slab classes, a page each.
        shards_.clear();
        ptrs_.clear();
        for (size_t i = 0; i < 2; ++i) {
            shards_.push_back(store::testing::make_shard(64 << 20));
            ptrs_.push_back(shards_.back().get());
        }
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
        ctx_.collections = &settings_;
    }
    std::string enc(const std::string& key) { return run({"object", "encoding", key}); }
    std::vector<std::string> members(const std::string& key) {
        return bulks(run({"smembers", key}));
    }
    shm::CollectionSettings settings_;
};

const std::string kIntset = "$6\r\nintset\r\n";
const std::string kHashtable = "$9\r\nhashtable\r\n";
const std::string kListpack = "$8\r\nlistpack\r\n";

// ---- sets --------------------------------------------------------------------

TEST_F(CollEncoding, IntegerSetsAreIntsetsUntilATextMemberOrTheLimit) {
    EXPECT_EQ(run({"sadd", "s", "3", "-1", "9223372036854775807", "0"}), ":4\r\n");
    EXPECT_EQ(enc("s"), kIntset);
    // Ascending, as Redis's intset.
    EXPECT_EQ(members("s"), (std::vector<std::string>{"-1", "0", "3", "9223372036854775807"}));
    EXPECT_EQ(run({"sismember", "s", "3"}), ":1\r\n");
    EXPECT_EQ(run({"sismember", "s", "03"}), ":0\r\n");
    EXPECT_EQ(run({"smismember", "s", "0", "x", "-1"}), "*3\r\n:1\r\n:0\r\n:1\r\n");
    EXPECT_EQ(run({"sadd", "s", "3"}), ":0\r\n");
    EXPECT_EQ(run({"scard", "s"}), ":4\r\n");
    // Not string2ll's form: text.
    EXPECT_EQ(run({"sadd", "s", "9223372036854775808"}), ":1\r\n");
    EXPECT_EQ(enc("s"), kHashtable);
    // One way: the text gone, it stays a hashtable.
    EXPECT_EQ(run({"srem", "s", "9223372036854775808"}), ":1\r\n");
    EXPECT_EQ(enc("s"), kHashtable);
    EXPECT_EQ(run({"sadd", "s", "4"}), ":1\r\n");
    EXPECT_EQ(enc("s"), kHashtable);

    // A new set of text is a hashtable at any size.
    run({"sadd", "t", "a"});
    EXPECT_EQ(enc("t"), kHashtable);
    for (const char* m : {"+1", "01", "-0", " 1", "1.5"}) {
        run({"del", "u"});
        run({"sadd", "u", m});
        EXPECT_EQ(enc("u"), kHashtable) << m;
    }

    // set-max-intset-entries: the count may reach it, not pass it.
    settings_.set_max_intset_entries.store(4);  // CONFIG SET's write (the control plane)
    run({"sadd", "v", "1", "2", "3", "4"});
    EXPECT_EQ(enc("v"), kIntset);
    run({"sadd", "v", "5"});
    EXPECT_EQ(enc("v"), kHashtable);
    run({"sadd", "w", "1", "2", "3", "4", "5"});
    EXPECT_EQ(enc("w"), kHashtable);
    // A removal never converts, even past a lowered limit.
    run({"sadd", "x", "1", "2", "3"});
    settings_.set_max_intset_entries.store(1);
    run({"srem", "x", "3"});
    EXPECT_EQ(enc("x"), kIntset);
    run({"sadd", "x", "7"});
    EXPECT_EQ(enc("x"), kHashtable);
}

TEST_F(CollEncoding, StoreFormsBuildANewSet) {
    // Integer members in hashtables: the results are new sets, intsets.
    run({"sadd", "a", "1", "2", "3", "x"});
    run({"sadd", "b", "2", "3", "4", "y"});
    run({"srem", "a", "x"});
    run({"srem", "b", "y"});
    ASSERT_EQ(enc("a"), kHashtable);
    EXPECT_EQ(run({"sinterstore", "i", "a", "b"}), ":2\r\n");
    EXPECT_EQ(enc("i"), kIntset);
    EXPECT_EQ(members("i"), (std::vector<std::string>{"2", "3"}));
    EXPECT_EQ(run({"sunionstore", "u", "a", "b"}), ":4\r\n");
    EXPECT_EQ(enc("u"), kIntset);
    EXPECT_EQ(run({"sdiffstore", "d", "a", "b"}), ":1\r\n");
    EXPECT_EQ(enc("d"), kIntset);
    // Over an old destination (a hashtable): replaced, so an intset.
    run({"sadd", "h", "z"});
    EXPECT_EQ(run({"sunionstore", "h", "a"}), ":3\r\n");
    EXPECT_EQ(enc("h"), kIntset);
    // A text member or past the limit: a hashtable.
    run({"sadd", "c", "1", "t"});
    EXPECT_EQ(run({"sunionstore", "u2", "a", "c"}), ":4\r\n");
    EXPECT_EQ(enc("u2"), kHashtable);
    settings_.set_max_intset_entries.store(2);
    EXPECT_EQ(run({"sunionstore", "u3", "a", "b"}), ":4\r\n");
    EXPECT_EQ(enc("u3"), kHashtable);
    EXPECT_EQ(run({"sinterstore", "i2", "a", "b"}), ":2\r\n");
    EXPECT_EQ(enc("i2"), kIntset);
}

TEST_F(CollEncoding, SmoveAndSpop) {
    run({"sadd", "src", "1", "2", "a"});
    // A new destination is made for the member: an intset for an integer.
    EXPECT_EQ(run({"smove", "src", "d1", "1"}), ":1\r\n");
    EXPECT_EQ(enc("d1"), kIntset);
    EXPECT_EQ(run({"smove", "src", "d2", "a"}), ":1\r\n");
    EXPECT_EQ(enc("d2"), kHashtable);
    // An old intset destination converts on a text member.
    run({"sadd", "src", "b"});
    EXPECT_EQ(run({"smove", "src", "d1", "b"}), ":1\r\n");
    EXPECT_EQ(enc("d1"), kHashtable);
    EXPECT_EQ(enc("src"), kHashtable);  // the source keeps its encoding
    EXPECT_EQ(members("src"), std::vector<std::string>{"2"});

    // SPOP of a few members keeps the encoding; one that leaves few
    // (remaining * 5 <= count) rebuilds the rest as a new set.
    std::vector<std::string> cmd = {"sadd", "p", "t"};
    for (int i = 0; i < 100; ++i)
        cmd.push_back(std::to_string(i));
    run(cmd);
    run({"srem", "p", "t"});
    ASSERT_EQ(enc("p"), kHashtable);
    EXPECT_EQ(bulks(run({"spop", "p", "10"})).size(), 10u);
    EXPECT_EQ(enc("p"), kHashtable);
    EXPECT_EQ(bulks(run({"spop", "p"})).size(), 1u);
    EXPECT_EQ(enc("p"), kHashtable);
    EXPECT_EQ(bulks(run({"spop", "p", "80"})).size(), 80u);
    EXPECT_EQ(enc("p"), kIntset);
    EXPECT_EQ(run({"scard", "p"}), ":9\r\n");
    // An intset's pops: members read back as text.
    const std::vector<std::string> left = members("p");
    const std::vector<std::string> got = bulks(run({"spop", "p", "9"}));
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
              std::set<std::string>(left.begin(), left.end()));
    EXPECT_EQ(run({"exists", "p"}), ":0\r\n");
}

// Every set command on random integer (and now and then text) members
// against std::set, on limits where sets convert often, seldom and never;
// the encoding checked against Redis's rule after every write.
TEST_F(CollEncoding, EverySetCommandMatchesAModelOnEachEncoding) {
    for (int64_t limit : {int64_t{0}, int64_t{3}, int64_t{20}, int64_t{512}}) {
        SCOPED_TRACE(limit);
        shards_.clear();
        ptrs_.clear();
        SetUp();
        settings_.set_max_intset_entries.store(limit);
        std::mt19937 rng(static_cast<uint32_t>(limit + 5));
        std::map<std::string, std::set<std::string>> model;
        std::map<std::string, bool> intset;  // Redis's encoding, by its rules
        const std::vector<std::string> keys = {"a", "b", "c"};
        auto member = [&] {
            if (rng() % 25 == 0) return std::string("m") + std::to_string(rng() % 5);
            return std::to_string(static_cast<int64_t>(rng() % 60) - 30);
        };
        auto all_ints = [](const std::set<std::string>& s) {
            int64_t v = 0;
            return std::all_of(s.begin(), s.end(),
                               [&](const std::string& m) { return resp_parse_int(m, v); });
        };
        auto fresh = [&](const std::string& k) {
            intset[k] = all_ints(model[k]) && static_cast<int64_t>(model[k].size()) <= limit;
        };
        auto grew = [&](const std::string& k, bool existed) {
            if (!existed || intset[k]) fresh(k);
        };
        for (int step = 0; step < 1500; ++step) {
            const std::string& k = keys[rng() % keys.size()];
            const std::string& o = keys[rng() % keys.size()];
            auto& s = model[k];
            const bool existed = !s.empty();
            const uint32_t op = rng() % 9;
            SCOPED_TRACE(::testing::Message() << "step " << step << " op " << op);
            switch (op) {
                case 0:
                case 1: {
                    std::vector<std::string> cmd = {"sadd", k};
                    size_t added = 0;
                    for (uint32_t i = 0, n = 1 + rng() % 5; i < n; ++i) {
                        cmd.push_back(member());
                        added += s.insert(cmd.back()).second;
                    }
                    ASSERT_EQ(run(cmd), ":" + std::to_string(added) + "\r\n");
                    if (added != 0) grew(k, existed);
                    break;
                }
                case 2: {
                    std::vector<std::string> cmd = {"srem", k};
                    size_t removed = 0;
                    for (uint32_t i = 0, n = 1 + rng() % 5; i < n; ++i) {
                        cmd.push_back(member());
                        removed += s.erase(cmd.back());
                    }
                    ASSERT_EQ(run(cmd), ":" + std::to_string(removed) + "\r\n");
                    break;
                }
                case 3: {
                    const std::string m = member();
                    ASSERT_EQ(run({"sismember", k, m}), s.contains(m) ? ":1\r\n" : ":0\r\n");
                    std::vector<std::string> cmd = {"smismember", k};
                    std::string want;
                    for (uint32_t i = 0, n = 1 + rng() % 8; i < n; ++i) {
                        cmd.push_back(member());
                        want += s.contains(cmd.back()) ? ":1\r\n" : ":0\r\n";
                    }
                    ASSERT_EQ(run(cmd), "*" + std::to_string(cmd.size() - 2) + "\r\n" + want);
                    ASSERT_EQ(run({"scard", k}), ":" + std::to_string(s.size()) + "\r\n");
                    break;
                }
                case 4: {
                    const std::string m = member();
                    const bool in_src = s.contains(m);
                    auto& d = model[o];
                    const bool d_existed = !d.empty();
                    ASSERT_EQ(run({"smove", k, o, m}), in_src ? ":1\r\n" : ":0\r\n");
                    if (in_src && k != o) {
                        s.erase(m);
                        if (d.insert(m).second) grew(o, d_existed);
                    }
                    break;
                }
                case 5: {
                    const auto n = static_cast<int64_t>(rng() % 8);
                    const std::vector<std::string> got = bulks(run({"spop", k, std::to_string(n)}));
                    const size_t before = s.size();
                    ASSERT_EQ(got.size(), std::min<size_t>(before, static_cast<size_t>(n)));
                    for (const std::string& m : got)
                        ASSERT_EQ(s.erase(m), 1u) << m;
                    const uint64_t remaining = before - got.size();
                    if (!s.empty() && remaining * 5 <= static_cast<uint64_t>(n)) fresh(k);
                    break;
                }
                case 6: {
                    const std::vector<std::string> got =
                        bulks(run({"srandmember", k, std::to_string(-5)}));
                    ASSERT_EQ(got.size(), s.empty() ? 0u : 5u);
                    for (const std::string& m : got)
                        ASSERT_TRUE(s.contains(m)) << m;
                    const std::vector<std::string> distinct = bulks(run({"srandmember", k, "4"}));
                    ASSERT_EQ(distinct.size(), std::min<size_t>(4, s.size()));
                    break;
                }
                case 7: {
                    const std::string op_name = std::vector<std::string>{
                        "sinterstore", "sunionstore", "sdiffstore"}[rng() % 3];
                    const std::string& x = keys[rng() % keys.size()];
                    std::set<std::string> r;
                    const auto& sk = model[k];
                    const auto& sx = model[x];
                    if (op_name == "sinterstore") {
                        for (const auto& m : sk)
                            if (sx.contains(m)) r.insert(m);
                    } else if (op_name == "sunionstore") {
                        r = sk;
                        r.insert(sx.begin(), sx.end());
                    } else {
                        for (const auto& m : sk)
                            if (!sx.contains(m)) r.insert(m);
                    }
                    ASSERT_EQ(run({op_name, o, k, x}), ":" + std::to_string(r.size()) + "\r\n");
                    model[o] = r;
                    fresh(o);
                    break;
                }
                default: {
                    const std::vector<std::string> m = members(k);
                    ASSERT_EQ(std::set<std::string>(m.begin(), m.end()), s);
                    ASSERT_EQ(m.size(), s.size());
                    if (!s.empty() && intset[k]) {
                        std::vector<int64_t> ints;
                        for (const std::string& x : m)
                            ints.push_back(std::stoll(x));
                        ASSERT_TRUE(std::is_sorted(ints.begin(), ints.end()));
                    }
                    break;
                }
            }
            for (const std::string& key : keys) {
                if (model[key].empty()) {
                    ASSERT_EQ(enc(key), "$-1\r\n") << key;
                    continue;
                }
                ASSERT_EQ(enc(key), intset[key] ? kIntset : kHashtable) << key;
            }
        }
    }
}

// ---- hashes ------------------------------------------------------------------

TEST_F(CollEncoding, HashesAreListpacksWithinBothLimits) {
    const std::string v64(64, 'v'), v65(65, 'v');
    run({"hset", "h", "f", v64});
    EXPECT_EQ(enc("h"), kListpack);
    run({"hset", "h", "g", v65});
    EXPECT_EQ(enc("h"), kHashtable);
    run({"hdel", "h", "g"});
    EXPECT_EQ(enc("h"), kHashtable);  // one way
    run({"hset", "k", v65, "v"});
    EXPECT_EQ(enc("k"), kHashtable);  // a long field too
    run({"hsetnx", "n", "f", v65});
    EXPECT_EQ(enc("n"), kHashtable);
    run({"hsetnx", "n2", "f", "v"});
    EXPECT_EQ(run({"hsetnx", "n2", "f", v65}), ":0\r\n");  // not set: not converted
    EXPECT_EQ(enc("n2"), kListpack);
    // HINCRBYFLOAT's result is checked like any value.
    settings_.hash_max_listpack_value.store(3);
    run({"hset", "i", "f", "1"});
    EXPECT_EQ(run({"hincrbyfloat", "i", "f", "0.5"}), "$3\r\n1.5\r\n");
    EXPECT_EQ(enc("i"), kListpack);
    EXPECT_EQ(run({"hincrbyfloat", "i", "f", "0.25"}), "$4\r\n1.75\r\n");
    EXPECT_EQ(enc("i"), kHashtable);
    EXPECT_EQ(run({"hget", "i", "f"}), "$4\r\n1.75\r\n");
    // hash-max-listpack-entries: the count may reach it, not pass it.
    settings_.hash_max_listpack_value.store(64);
    settings_.hash_max_listpack_entries.store(2);
    run({"hset", "e", "a", "1", "b", "2"});
    EXPECT_EQ(enc("e"), kListpack);
    EXPECT_EQ(run({"hincrby", "e", "c", "1"}), ":1\r\n");
    EXPECT_EQ(enc("e"), kHashtable);
    EXPECT_EQ(run({"hgetall", "e"}),
              "*6\r\n" + bulk("a") + bulk("1") + bulk("b") + bulk("2") + bulk("c") + bulk("1"));
    settings_.hash_max_listpack_entries.store(0);
    run({"hset", "z", "a", "1"});
    EXPECT_EQ(enc("z"), kHashtable);
}

// Every hash command against std::map on limits where hashes convert early
// and never; the encoding checked after every write.
TEST_F(CollEncoding, EveryHashCommandMatchesAModelOnEachEncoding) {
    for (int64_t entries : {int64_t{1}, int64_t{6}, int64_t{512}}) {
        SCOPED_TRACE(entries);
        shards_.clear();
        ptrs_.clear();
        SetUp();
        settings_.hash_max_listpack_entries.store(entries);
        settings_.hash_max_listpack_value.store(8);
        std::mt19937 rng(static_cast<uint32_t>(entries + 9));
        std::map<std::string, std::string> model;
        bool hashed = false;
        auto check_grow = [&] {
            if (hashed) return;
            hashed = static_cast<int64_t>(model.size()) > entries;
            for (const auto& [f, v] : model)
                hashed = hashed || f.size() > 8 || v.size() > 8;
        };
        for (int step = 0; step < 1200; ++step) {
            const std::string f = "f" + std::to_string(rng() % 12);
            const uint32_t op = rng() % 6;
            SCOPED_TRACE(::testing::Message() << "step " << step << " op " << op);
            switch (op) {
                case 0: {
                    const std::string v(rng() % 10, static_cast<char>('a' + rng() % 26));
                    const bool created = !model.contains(f);
                    ASSERT_EQ(run({"hset", "h", f, v}), created ? ":1\r\n" : ":0\r\n");
                    model[f] = v;
                    check_grow();
                    break;
                }
                case 1: {
                    const bool had = model.erase(f) != 0;
                    ASSERT_EQ(run({"hdel", "h", f}), had ? ":1\r\n" : ":0\r\n");
                    if (model.empty()) hashed = false;
                    break;
                }
                case 2: {
                    auto it = model.find(f);
                    int64_t cur = 0;
                    if (it != model.end() && !resp_parse_int(it->second, cur)) {
                        ASSERT_EQ(run({"hincrby", "h", f, "3"}),
                                  "-ERR hash value is not an integer\r\n");
                        break;
                    }
                    ASSERT_EQ(run({"hincrby", "h", f, "3"}),
                              ":" + std::to_string(cur + 3) + "\r\n");
                    model[f] = std::to_string(cur + 3);
                    check_grow();
                    break;
                }
                case 3: {
                    auto it = model.find(f);
                    ASSERT_EQ(run({"hget", "h", f}),
                              it == model.end() ? "$-1\r\n" : bulk(it->second));
                    ASSERT_EQ(run({"hexists", "h", f}), it == model.end() ? ":0\r\n" : ":1\r\n");
                    ASSERT_EQ(
                        run({"hstrlen", "h", f}),
                        ":" + std::to_string(it == model.end() ? 0 : it->second.size()) + "\r\n");
                    ASSERT_EQ(run({"hlen", "h"}), ":" + std::to_string(model.size()) + "\r\n");
                    break;
                }
                case 4: {
                    const std::vector<std::string> got = bulks(run({"hgetall", "h"}));
                    std::map<std::string, std::string> seen;
                    for (size_t i = 0; i + 1 < got.size(); i += 2)
                        seen[got[i]] = got[i + 1];
                    ASSERT_EQ(seen, model);
                    ASSERT_EQ(got.size(), model.size() * 2);
                    break;
                }
                default: {
                    const std::vector<std::string> got =
                        bulks(run({"hmget", "h", f, "f1", "nofield"}));
                    ASSERT_EQ(got.size(), static_cast<size_t>(model.contains(f)) +
                                              static_cast<size_t>(model.contains("f1")));
                    break;
                }
            }
            if (model.empty())
                ASSERT_EQ(enc("h"), "$-1\r\n");
            else
                ASSERT_EQ(enc("h"), hashed ? kHashtable : kListpack);
        }
    }
}

}  // namespace
}  // namespace fulmar::engine

namespace fulmar::engine {
namespace {

// MEMORY USAGE: the item's bytes (header, key, value), Redis's argument
// errors; the allocator subcommands refused by name.
TEST_F(CollEncoding, MemoryUsageIsTheItemsSize) {
    run({"set", "k", "hello"});
    EXPECT_EQ(run({"memory", "usage", "k"}),
              ":" + std::to_string(store::item_total_size(1, 5)) + "\r\n");
    run({"sadd", "s", "1", "2", "3"});
    EXPECT_EQ(
        run({"memory", "usage", "s", "samples", "5"}),
        ":" + std::to_string(store::item_total_size(1, coll::kIntsetHeaderSize + 24)) + "\r\n");
    EXPECT_EQ(run({"memory", "usage", "none"}), "$-1\r\n");
    EXPECT_EQ(run({"memory", "usage"}),
              "-ERR wrong number of arguments for 'memory|usage' command\r\n");
    EXPECT_EQ(run({"memory", "usage", "k", "samples", "x"}),
              "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"memory", "usage", "k", "samples", "-1"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"memory", "usage", "k", "samples"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"memory", "usage", "k", "foo"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"memory", "foo"}), "-ERR unknown subcommand 'foo'. Try MEMORY HELP.\r\n");
    EXPECT_EQ(run({"memory", "stats"}).substr(0, 40), "-ERR MEMORY STATS is not supported here ");
}

}  // namespace
}  // namespace fulmar::engine

namespace fulmar::engine {
namespace {

// SSCAN of an intset and HSCAN of a listpack answer everything with cursor
// 0, at any size (Redis's answer for those encodings); a hashtable past 512
// is walked COUNT at a time.
TEST_F(CollEncoding, ScansOfSmallEncodingsAreWhole) {
    settings_.set_max_intset_entries.store(2000);
    settings_.hash_max_listpack_entries.store(2000);
    std::vector<std::string> sadd = {"sadd", "s"};
    std::vector<std::string> hset = {"hset", "h"};
    for (int i = 0; i < 600; ++i) {
        sadd.push_back(std::to_string(i));
        hset.push_back("f" + std::to_string(i));
        hset.push_back("v");
    }
    run(sadd);
    run(hset);
    ASSERT_EQ(enc("s"), kIntset);
    ASSERT_EQ(enc("h"), kListpack);
    std::string r = run({"sscan", "s", "0", "COUNT", "10"});
    EXPECT_EQ(r.substr(0, 13), "*2\r\n$1\r\n0\r\n*6");
    EXPECT_EQ(bulks(r).size(), 601u);  // the cursor and 600 members
    r = run({"hscan", "h", "0", "COUNT", "10"});
    EXPECT_EQ(r.substr(0, 11), "*2\r\n$1\r\n0\r\n");
    EXPECT_EQ(bulks(r).size(), 1201u);
    run({"sadd", "s", "x"});
    run({"hset", "h", "f0", std::string(100, 'v')});
    ASSERT_EQ(enc("s"), kHashtable);
    ASSERT_EQ(enc("h"), kHashtable);
    r = run({"sscan", "s", "0", "COUNT", "10"});
    EXPECT_NE(r.substr(0, 11), "*2\r\n$1\r\n0\r\n");
    EXPECT_EQ(bulks(r).size(), 11u);
    r = run({"hscan", "h", "0", "COUNT", "10"});
    EXPECT_EQ(bulks(r).size(), 21u);
}

}  // namespace
}  // namespace fulmar::engine
