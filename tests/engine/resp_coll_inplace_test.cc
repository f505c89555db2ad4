// Set and hash writes made inside the item's chunk (resp_coll_inplace.h):
// the in-place path is taken (the item stays at its address, as DEBUG
// OBJECT's `Value at:` shows) when the chunk has room and the encoding
// stays, the rebuild otherwise; either way the collection, its encoding,
// its TTL and its CAS are what a rebuild gives, and a reader on another
// thread sees whole commands only. Model-based random runs against
// std::set/std::map check the contents, the order SMEMBERS/HGETALL answer
// and every look-up after each command.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/resp_coll_inplace.h"
#include "engine/resp_collection.h"
#include "engine/resp_debug.h"
#include "engine/resp_util.h"
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

const std::string kIntset = "$6\r\nintset\r\n";
const std::string kHashtable = "$9\r\nhashtable\r\n";
const std::string kListpack = "$8\r\nlistpack\r\n";

class CollInPlace : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
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
    // DEBUG OBJECT's "Value at:<address>".
    std::string value_at(const std::string& key) {
        const resp::LocalViews v(ctx_);
        const RespReadCtx rc = resp::read_ctx(ctx_, v);
        proto::StringSink out;
        debug_object(key, rc, out);
        return out.out.substr(0, out.out.find(" refcount:"));
    }
    // What a reader (WATCH's) sees of the key: its CAS.
    uint64_t cas(const std::string& key) {
        const store::KeyRef k(key);
        store::ItemMeta meta;
        std::vector<char> buf(store::kMaxItemSize);
        if (ctx_.shard_for(k).view().read_typed(k, clock_.now(), buf, meta) !=
            store::ReadStatus::kHit)
            return 0;
        return meta.cas;
    }
    // Grows `key` by 40 pad members (or fields) and takes them off again:
    // removals are in place, so the item keeps the bigger chunk, room for
    // the in-place writes a test wants to see.
    void make_room(const std::string& key, bool hash) {
        std::vector<std::string> add{hash ? "hset" : "sadd", key}, del{hash ? "hdel" : "srem", key};
        for (int i = 0; i < 40; ++i) {
            const std::string pad = std::to_string(900000 + i);
            add.push_back(pad);
            if (hash) add.push_back("0");
            del.push_back(pad);
        }
        run(add);
        const std::string at = value_at(key);
        run(del);
        ASSERT_EQ(value_at(key), at);
    }
    std::vector<std::string> smembers(const std::string& key) {
        return bulks(run({"smembers", key}));
    }
    shm::CollectionSettings settings_;
};

std::vector<std::string> cmd(std::string name, std::string key, std::vector<std::string> rest) {
    std::vector<std::string> a{std::move(name), std::move(key)};
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
}

// ---- the path taken ---------------------------------------------------------------

TEST_F(CollInPlace, AHashedSetGrowsInPlaceUntilItsChunkIsFullThenRebuilds) {
    ASSERT_EQ(run({"sadd", "s", "a", "b", "c"}), ":3\r\n");
    ASSERT_EQ(enc("s"), kHashtable);
    size_t in_place = 0, rebuilt = 0;
    std::vector<std::string> model{"a", "b", "c"};
    for (int i = 0; i < 2000; ++i) {
        const std::string before = value_at("s");
        const uint64_t cas_before = cas("s");
        const std::string m = "member:" + std::to_string(i);
        ASSERT_EQ(run({"sadd", "s", m}), ":1\r\n");
        model.push_back(m);
        EXPECT_NE(cas("s"), cas_before);  // a new CAS either way (WATCH)
        (value_at("s") == before ? in_place : rebuilt)++;
    }
    // Most adds fit the slack of the 1.25x size classes; each rebuild
    // doubles the index or moves to a bigger class.
    EXPECT_GT(in_place, 1500u);
    EXPECT_GT(rebuilt, 5u);
    EXPECT_EQ(smembers("s"), model);  // insertion order, as a rebuild keeps it
    EXPECT_EQ(enc("s"), kHashtable);
    EXPECT_EQ(run({"scard", "s"}), ":2003\r\n");
    for (const std::string& m : model)
        ASSERT_EQ(run({"sismember", "s", m}), ":1\r\n") << m;
    EXPECT_EQ(run({"sismember", "s", "member:2000"}), ":0\r\n");
}

TEST_F(CollInPlace, AnAddOfNothingNewWritesNothing) {
    run({"sadd", "s", "a", "b", "c"});
    run({"hset", "h", "f", "1"});
    make_room("h", true);
    const uint64_t c = cas("s");
    EXPECT_EQ(run({"sadd", "s", "a", "c", "a"}), ":0\r\n");
    EXPECT_EQ(cas("s"), c);
    EXPECT_EQ(run({"srem", "s", "x"}), ":0\r\n");
    EXPECT_EQ(cas("s"), c);
    const uint64_t hc = cas("h");
    EXPECT_EQ(run({"hdel", "h", "x"}), ":0\r\n");
    EXPECT_EQ(cas("h"), hc);
    // HSET writes even when nothing changes, as Redis (and a rebuild).
    const std::string at = value_at("h");
    EXPECT_EQ(run({"hset", "h", "f", "1"}), ":0\r\n");
    EXPECT_NE(cas("h"), hc);
    EXPECT_EQ(value_at("h"), at);
}

TEST_F(CollInPlace, RemovalsStayInPlaceAndTheLastOneDeletesTheKey) {
    run({"sadd", "s", "a", "b", "c", "d"});
    make_room("s", false);
    const std::string at = value_at("s");
    const uint64_t c = cas("s");
    EXPECT_EQ(run({"srem", "s", "b", "b", "zz"}), ":1\r\n");
    EXPECT_EQ(value_at("s"), at);
    EXPECT_NE(cas("s"), c);
    EXPECT_EQ(smembers("s"), (std::vector<std::string>{"a", "c", "d"}));
    EXPECT_EQ(run({"srem", "s", "a", "c", "d"}), ":3\r\n");
    EXPECT_EQ(run({"exists", "s"}), ":0\r\n");
    run({"hset", "h", "f1", "v1", "f2", "v2"});
    make_room("h", true);
    const std::string hat = value_at("h");
    EXPECT_EQ(run({"hdel", "h", "f1"}), ":1\r\n");
    EXPECT_EQ(value_at("h"), hat);
    EXPECT_EQ(run({"hgetall", "h"}), "*2\r\n$2\r\nf2\r\n$2\r\nv2\r\n");
    EXPECT_EQ(run({"hdel", "h", "f2"}), ":1\r\n");
    EXPECT_EQ(run({"exists", "h"}), ":0\r\n");
}

TEST_F(CollInPlace, AnIntsetStaysInPlaceUpToItsLimitThenConverts) {
    run({"sadd", "s", "10", "-5"});
    make_room("s", false);
    settings_.set_max_intset_entries = 6;
    const std::string at = value_at("s");
    EXPECT_EQ(run({"sadd", "s", "3", "100", "-7", "3"}), ":3\r\n");
    EXPECT_EQ(value_at("s"), at);
    EXPECT_EQ(enc("s"), kIntset);
    EXPECT_EQ(smembers("s"), (std::vector<std::string>{"-7", "-5", "3", "10", "100"}));
    EXPECT_EQ(run({"sadd", "s", "0"}), ":1\r\n");  // 6: the limit
    EXPECT_EQ(value_at("s"), at);
    EXPECT_EQ(enc("s"), kIntset);
    EXPECT_EQ(run({"srem", "s", "10", "-7"}), ":2\r\n");
    EXPECT_EQ(smembers("s"), (std::vector<std::string>{"-5", "0", "3", "100"}));
    EXPECT_EQ(run({"sadd", "s", "1", "2", "4"}), ":3\r\n");  // 7 > 6: converts
    EXPECT_EQ(enc("s"), kHashtable);
    EXPECT_EQ(run({"scard", "s"}), ":7\r\n");
    run({"sadd", "t", "1", "2"});
    EXPECT_EQ(run({"sadd", "t", "x"}), ":1\r\n");  // a text member converts
    EXPECT_EQ(enc("t"), kHashtable);
    EXPECT_EQ(run({"sismember", "t", "2"}), ":1\r\n");
}

TEST_F(CollInPlace, AListpackStaysInPlaceWithinItsLimitsThenConverts) {
    run({"hset", "h", "a", "1"});
    make_room("h", true);
    settings_.hash_max_listpack_entries = 4;
    settings_.hash_max_listpack_value = 8;
    const std::string at = value_at("h");
    EXPECT_EQ(run({"hset", "h", "b", "2", "c", "3"}), ":2\r\n");
    EXPECT_EQ(run({"hset", "h", "a", "12345678"}), ":0\r\n");  // a longer value, at the limit
    EXPECT_EQ(run({"hincrby", "h", "b", "40"}), ":42\r\n");
    EXPECT_EQ(run({"hsetnx", "h", "d", "4"}), ":1\r\n");  // 4 fields: the limit
    EXPECT_EQ(value_at("h"), at);
    EXPECT_EQ(enc("h"), kListpack);
    EXPECT_EQ(run({"hgetall", "h"}),
              "*8\r\n$1\r\na\r\n$8\r\n12345678\r\n$1\r\nb\r\n$2\r\n42\r\n$1\r\nc\r\n$1\r\n3\r\n"
              "$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT_EQ(run({"hset", "h", "c", "123456789"}), ":0\r\n");  // past -value: converts
    EXPECT_EQ(enc("h"), kHashtable);
    run({"hset", "g", "a", "1", "b", "2", "c", "3", "d", "4"});
    EXPECT_EQ(run({"hset", "g", "e", "5"}), ":1\r\n");  // past -entries: converts
    EXPECT_EQ(enc("g"), kHashtable);
    EXPECT_EQ(run({"hget", "g", "e"}), "$1\r\n5\r\n");
}

TEST_F(CollInPlace, AHashedHashUpdatesValuesOfAnyLengthInPlace) {
    settings_.hash_max_listpack_entries = 0;
    run({"hset", "h", "a", "1", "b", "2", "c", "3"});
    ASSERT_EQ(enc("h"), kHashtable);
    make_room("h", true);
    const std::string at = value_at("h");
    EXPECT_EQ(run({"hset", "h", "a", "a much longer value than before"}), ":0\r\n");
    EXPECT_EQ(run({"hincrbyfloat", "h", "b", "0.5"}), "$3\r\n2.5\r\n");
    EXPECT_EQ(run({"hincrby", "h", "new", "7"}), ":7\r\n");
    EXPECT_EQ(run({"hset", "h", "c", ""}), ":0\r\n");
    EXPECT_EQ(value_at("h"), at);
    EXPECT_EQ(run({"hgetall", "h"}),
              "*8\r\n$1\r\na\r\n$31\r\na much longer value than before\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
              "$1\r\nc\r\n$0\r\n\r\n$3\r\nnew\r\n$1\r\n7\r\n");
    for (const char* f : {"a", "b", "c", "new"})
        EXPECT_EQ(run({"hexists", "h", f}), ":1\r\n") << f;
    // Errors are the rebuild path's.
    EXPECT_EQ(run({"hincrby", "h", "a", "1"}), "-ERR hash value is not an integer\r\n");
    EXPECT_EQ(run({"hincrbyfloat", "h", "a", "1"}), "-ERR hash value is not a float\r\n");
    EXPECT_EQ(run({"hincrby", "h", "new", "9223372036854775807"}),
              "-ERR increment or decrement would overflow\r\n");
    // A field named twice takes the rebuild, last value wins.
    EXPECT_EQ(run({"hset", "h", "z", "1", "z", "2"}), ":1\r\n");
    EXPECT_EQ(run({"hget", "h", "z"}), "$1\r\n2\r\n");
}

TEST_F(CollInPlace, TheTtlStaysToTheMillisecond) {
    run({"sadd", "s", "a", "b"});
    run({"hset", "h", "f", "1"});
    make_room("s", false);
    make_room("h", true);
    run({"pexpire", "s", "100500"});
    run({"pexpire", "h", "100500"});
    const std::string at = value_at("s");
    run({"sadd", "s", "c"});
    run({"srem", "s", "a"});
    run({"hset", "h", "g", "2"});
    run({"hincrby", "h", "f", "1"});
    run({"hdel", "h", "g"});
    EXPECT_EQ(value_at("s"), at);
    EXPECT_EQ(run({"pttl", "s"}), ":100500\r\n");
    EXPECT_EQ(run({"pttl", "h"}), ":100500\r\n");
    // An expired key is no set to add to: a new one.
    clock_.advance(101);
    EXPECT_EQ(run({"sadd", "s", "x"}), ":1\r\n");
    EXPECT_EQ(run({"ttl", "s"}), ":-1\r\n");
    EXPECT_EQ(smembers("s"), std::vector<std::string>{"x"});
}

TEST_F(CollInPlace, OtherTypesAndMissingKeysTakeTheRebuildPath) {
    run({"set", "str", "v"});
    EXPECT_EQ(run({"sadd", "str", "a"}).substr(0, 10), "-WRONGTYPE");
    EXPECT_EQ(run({"hset", "str", "a", "1"}).substr(0, 10), "-WRONGTYPE");
    EXPECT_EQ(run({"srem", "str", "a"}).substr(0, 10), "-WRONGTYPE");
    EXPECT_EQ(run({"hdel", "str", "a"}).substr(0, 10), "-WRONGTYPE");
    run({"sadd", "s", "a"});
    EXPECT_EQ(run({"hset", "s", "a", "1"}).substr(0, 10), "-WRONGTYPE");
    EXPECT_EQ(run({"hincrby", "s", "a", "1"}).substr(0, 10), "-WRONGTYPE");
    EXPECT_EQ(run({"hincrby", "nokey", "a", "5"}), ":5\r\n");
    EXPECT_EQ(run({"srem", "nokey2", "a"}), ":0\r\n");
}

TEST_F(CollInPlace, MemoryUsageIsTheItemsBytesAfterAnInPlaceWrite) {
    run({"sadd", "s", "a", "b", "c"});
    make_room("s", false);
    const std::string at = value_at("s");
    run({"sadd", "s", "d"});
    ASSERT_EQ(value_at("s"), at);
    const store::KeyRef k("s");
    const store::Item* it = ctx_.shard_for(k).find(k, clock_.now());
    ASSERT_NE(it, nullptr);
    EXPECT_EQ(run({"memory", "usage", "s"}), ":" + std::to_string(it->total_size()) + "\r\n");
    // The value decodes to what a rebuild of the same entries writes.
    std::vector<std::string_view> e;
    ASSERT_TRUE(coll::decode(it->value(), e));
    const std::string rebuilt = [&] {
        std::string b(coll::encoded_size(coll::kHashed, store::ItemType::kSet, 1, e), '\0');
        coll::encode(coll::kHashed, store::ItemType::kSet, 1, e, b.data());
        return b;
    }();
    std::vector<std::string_view> e2;
    ASSERT_TRUE(coll::decode(rebuilt, e2));
    EXPECT_EQ(e, e2);
    EXPECT_EQ(e, (std::vector<std::string_view>{"a", "b", "c", "d"}));
}

// ---- a concurrent reader ------------------------------------------------------------

TEST_F(CollInPlace, AReaderSeesWholeCommandsOnly) {
    // Each SADD adds a pair and each SREM removes one, in place (the
    // address is checked); a reader on another thread decoding the set
    // from the view must never see half a pair.
    run({"sadd", "s", "x"});
    make_room("s", false);
    const std::string at = value_at("s");
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0}, torn{0};
    store::Shard& shard = ctx_.shard_for(store::KeyRef("s"));
    std::thread reader([&] {
        std::vector<char> buf(store::kMaxItemSize);
        const store::KeyRef k("s");
        std::vector<std::string_view> e;
        while (!stop.load(std::memory_order_relaxed)) {
            store::ItemMeta meta;
            if (shard.view().read_typed(k, clock_.now(), buf, meta) != store::ReadStatus::kHit)
                continue;
            if (!coll::decode({buf.data(), meta.value_len}, e)) {
                ++torn;
                continue;
            }
            std::set<std::string_view> have(e.begin(), e.end());
            for (std::string_view m : e)
                if (m != "x" && !have.contains(std::string(m.substr(0, m.size() - 1)) +
                                               (m.back() == 'a' ? "b" : "a")))
                    ++torn;
            ++reads;
        }
    });
    // Until the reader has read enough (two cores shared with others: it
    // may start late), at least 200 rounds, at most 10 s.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int round = 0;
         round < 200 || (reads.load() < 5000 && std::chrono::steady_clock::now() < deadline);
         ++round) {
        for (int i = 0; i < 20; ++i) {
            const std::string p = "p" + std::to_string(i);
            run({"sadd", "s", p + "a", p + "b"});
        }
        for (int i = 0; i < 20; ++i) {
            const std::string p = "p" + std::to_string(i);
            run({"srem", "s", p + "a", p + "b"});
        }
    }
    stop = true;
    reader.join();
    EXPECT_EQ(value_at("s"), at);  // every write was in place
    EXPECT_EQ(torn.load(), 0u);
    EXPECT_GE(reads.load(), 5000u);
}

// ---- model-based ------------------------------------------------------------------------

// Random SADD/SREM on a few keys against std::set and an insertion-order
// list (a hashed set's SMEMBERS order; an intset's is ascending), across
// the limits so both paths and every conversion run.
TEST_F(CollInPlace, RandomSetCommandsMatchAModel) {
    std::mt19937 rng(11);
    for (int64_t limit : {0, 4, 64, 512}) {
        settings_.set_max_intset_entries = limit;
        run({"flushall"});
        std::map<std::string, std::vector<std::string>> order;  // insertion order
        std::map<std::string, bool> intset;
        size_t same = 0, moved = 0;
        for (int step = 0; step < 3000; ++step) {
            const std::string key = "s" + std::to_string(rng() % 3);
            const bool ints_only = key == "s0";
            auto name = [&] {
                const unsigned v = rng() % 200;
                return ints_only || rng() % 4 != 0 ? std::to_string(static_cast<int>(v) - 100)
                                                   : "m" + std::to_string(v);
            };
            std::vector<std::string> args;
            const size_t n = 1 + rng() % 3;
            for (size_t i = 0; i < n; ++i)
                args.push_back(name());
            auto& o = order[key];
            const bool existed = !o.empty();
            const bool was_intset = existed && intset[key];
            const std::vector<std::string> before = o;
            const std::string at = existed ? value_at(key) : "";
            int64_t expect = 0;
            if (rng() % 3 != 0) {
                for (const std::string& a : args)
                    if (std::find(o.begin(), o.end(), a) == o.end()) {
                        o.push_back(a);
                        ++expect;
                    }
                ASSERT_EQ(run(cmd("sadd", key, args)), ":" + std::to_string(expect) + "\r\n");
            } else {
                for (const std::string& a : args)
                    if (auto it = std::find(o.begin(), o.end(), a); it != o.end()) {
                        o.erase(it);
                        ++expect;
                    }
                ASSERT_EQ(run(cmd("srem", key, args)), ":" + std::to_string(expect) + "\r\n");
            }
            if (o.empty()) {
                ASSERT_EQ(run({"exists", key}), ":0\r\n");
                continue;
            }
            if (existed && expect != 0) (value_at(key) == at ? same : moved)++;
            const bool is_intset = enc(key) == kIntset;
            if (was_intset && !is_intset) {
                // The conversion keeps the intset's (ascending) order, the
                // new members after it.
                std::vector<std::string> conv = before;
                std::sort(conv.begin(), conv.end(), [](const std::string& a, const std::string& b) {
                    return std::stoll(a) < std::stoll(b);
                });
                for (const std::string& m : o)
                    if (std::find(conv.begin(), conv.end(), m) == conv.end()) conv.push_back(m);
                o = conv;
            }
            std::vector<std::string> want = o;
            if (is_intset)
                std::sort(want.begin(), want.end(), [](const std::string& a, const std::string& b) {
                    return std::stoll(a) < std::stoll(b);
                });
            ASSERT_EQ(smembers(key), want) << "limit " << limit << " step " << step;
            // The encoding as the rule gives it: an intset only while all
            // are integers within the limit, never back once hashed.
            const bool all_int = std::all_of(o.begin(), o.end(), [](const std::string& m) {
                int64_t v = 0;
                return resp_parse_int(m, v);
            });
            if (!existed)
                intset[key] = all_int && static_cast<int64_t>(o.size()) <= limit;
            else if (intset[key] && !(all_int && static_cast<int64_t>(o.size()) <= limit))
                intset[key] = false;
            ASSERT_EQ(is_intset, intset[key]) << "limit " << limit << " step " << step;
            for (int probe = 0; probe < 4; ++probe) {
                const std::string m = name();
                const bool in = std::find(o.begin(), o.end(), m) != o.end();
                ASSERT_EQ(run({"sismember", key, m}), in ? ":1\r\n" : ":0\r\n") << m;
            }
        }
        EXPECT_GT(same, 500u) << limit;
        EXPECT_GT(moved, 5u) << limit;
    }
}

// Random HSET/HDEL/HINCRBY/HSETNX on a few hashes against std::map and an
// insertion-order list, across the listpack limits.
TEST_F(CollInPlace, RandomHashCommandsMatchAModel) {
    std::mt19937 rng(7);
    for (int64_t entries : {0, 8, 512}) {
        settings_.hash_max_listpack_entries = entries;
        settings_.hash_max_listpack_value = 12;
        run({"flushall"});
        std::map<std::string, std::vector<std::pair<std::string, std::string>>> model;
        size_t same = 0, moved = 0;
        for (int step = 0; step < 3000; ++step) {
            const std::string key = "h" + std::to_string(rng() % 3);
            auto& m = model[key];
            auto find = [&](const std::string& f) {
                return std::find_if(m.begin(), m.end(),
                                    [&](const auto& p) { return p.first == f; });
            };
            auto field = [&] { return "f" + std::to_string(rng() % 120); };
            const bool existed = !m.empty();
            const std::string at = existed ? value_at(key) : "";
            const unsigned op = rng() % 8;
            bool changed = true;
            if (op < 4) {
                const std::string f = field();
                const std::string v(rng() % 16, static_cast<char>('a' + rng() % 26));
                auto it = find(f);
                const bool fresh = it == m.end();
                if (fresh)
                    m.emplace_back(f, v);
                else
                    it->second = v;
                ASSERT_EQ(run({"hset", key, f, v}), fresh ? ":1\r\n" : ":0\r\n");
            } else if (op < 6) {
                const std::string f = field();
                auto it = find(f);
                int64_t cur = 0;
                if (it != m.end() && !resp_parse_int(it->second, cur)) {
                    changed = false;
                    ASSERT_EQ(run({"hincrby", key, f, "3"}),
                              "-ERR hash value is not an integer\r\n");
                } else {
                    const std::string next = std::to_string(cur + 3);
                    if (it == m.end())
                        m.emplace_back(f, next);
                    else
                        it->second = next;
                    ASSERT_EQ(run({"hincrby", key, f, "3"}), ":" + next + "\r\n");
                }
            } else if (op == 6) {
                const std::string f = field();
                const bool fresh = find(f) == m.end();
                changed = fresh;
                if (fresh) m.emplace_back(f, "nx");
                ASSERT_EQ(run({"hsetnx", key, f, "nx"}), fresh ? ":1\r\n" : ":0\r\n");
            } else {
                const std::string f1 = field(), f2 = field();
                int64_t gone = 0;
                for (const std::string& f : {f1, f2})
                    if (auto it = find(f); it != m.end()) {
                        m.erase(it);
                        ++gone;
                    }
                changed = gone != 0;
                ASSERT_EQ(run({"hdel", key, f1, f2}), ":" + std::to_string(gone) + "\r\n");
            }
            if (m.empty()) {
                ASSERT_EQ(run({"exists", key}), ":0\r\n");
                continue;
            }
            if (existed && changed) (value_at(key) == at ? same : moved)++;
            std::vector<std::string> want;
            for (const auto& [f, v] : m) {
                want.push_back(f);
                want.push_back(v);
            }
            ASSERT_EQ(bulks(run({"hgetall", key})), want)
                << "entries " << entries << " step " << step;
            ASSERT_EQ(run({"hlen", key}), ":" + std::to_string(m.size()) + "\r\n");
            const std::string f = field();
            auto it = find(f);
            ASSERT_EQ(run({"hget", key, f}),
                      it == m.end()
                          ? "$-1\r\n"
                          : "$" + std::to_string(it->second.size()) + "\r\n" + it->second + "\r\n");
        }
        EXPECT_GT(same, 500u) << entries;
        EXPECT_GT(moved, 5u) << entries;
    }
}

}  // namespace
}  // namespace fulmar::engine
