// The quicklist encoding of lists: the node rule of list-max-listpack-size,
// round trips, the directory's reads, splices that copy untouched nodes,
// corrupt values refused; then every list command against a model list on
// several node limits, across node boundaries, with huge elements and the
// item limit; and OBJECT's answers.
#include "engine/resp_quicklist.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "engine/resp_collection.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

using coll::ListFill;
using coll::QuicklistBuilder;
using coll::QuicklistView;

std::string build(const std::vector<std::string_view>& e, int32_t fill) {
    QuicklistBuilder b(ListFill{fill});
    b.pack(e);
    std::string out(b.encoded_size(), '\0');
    b.write(out.data());
    return out;
}

TEST(ListFill, RedisNodeRule) {
    // Negative: bytes per node, 4 KiB << (-fill - 1); below -5 is -5.
    EXPECT_TRUE(ListFill{-1}.allows(3, 4096));
    EXPECT_FALSE(ListFill{-1}.allows(3, 4097));
    EXPECT_TRUE(ListFill{-2}.allows(3, 8192));
    EXPECT_FALSE(ListFill{-2}.allows(3, 8193));
    EXPECT_TRUE(ListFill{-5}.allows(3, 65536));
    EXPECT_TRUE(ListFill{-100}.allows(3, 65536));
    EXPECT_FALSE(ListFill{-100}.allows(3, 65537));
    // Positive: entries per node, and never past 8 KiB.
    EXPECT_TRUE(ListFill{3}.allows(2, 10));
    EXPECT_FALSE(ListFill{3}.allows(3, 10));
    EXPECT_FALSE(ListFill{100}.allows(2, 8193));
    // 0: one entry a node. A node always takes its first entry.
    EXPECT_FALSE(ListFill{0}.allows(1, 2));
    EXPECT_TRUE(ListFill{0}.allows(0, 1 << 20));
    EXPECT_TRUE(ListFill{-1}.allows(0, 1 << 20));
}

TEST(Quicklist, RoundTripsAndReadsThroughTheDirectory) {
    std::vector<std::string> owned;
    for (int i = 0; i < 1000; ++i)
        owned.push_back(std::string(static_cast<size_t>(i % 37), 'a' + static_cast<char>(i % 26)));
    const std::vector<std::string_view> e(owned.begin(), owned.end());
    for (int32_t fill : {-5, -2, -1, 0, 1, 7, 128}) {
        SCOPED_TRACE(fill);
        const std::string bytes = build(e, fill);
        QuicklistView v;
        ASSERT_TRUE(v.parse(bytes));
        EXPECT_EQ(v.size(), e.size());
        if (fill == 0 || fill == 1) {
            EXPECT_EQ(v.nodes(), e.size());
        }
        if (fill == 7) {
            EXPECT_EQ(v.nodes(), (e.size() + 6) / 7);
        }
        if (fill == -5) {  // ~19 KB fits one 64 KiB node
            EXPECT_EQ(v.nodes(), 1u);
        }
        for (uint32_t i = 0; i < v.nodes(); ++i)
            EXPECT_LE(v.node_bytes(i).size(), fill < 0 ? 4096u << (-fill - 1) : 8192u);
        std::vector<std::string_view> all;
        ASSERT_TRUE(v.decode_all(all));
        EXPECT_EQ(all, e);
        for (size_t i : {0, 1, 6, 7, 499, 500, 998, 999}) {
            std::string_view x;
            ASSERT_TRUE(v.at(i, x));
            EXPECT_EQ(x, e[i]);
        }
        std::vector<std::string_view> r;
        ASSERT_TRUE(v.range(5, 20, r));
        EXPECT_EQ(r, std::vector<std::string_view>(e.begin() + 5, e.begin() + 21));
        std::vector<std::string_view> flat;
        ASSERT_TRUE(coll::decode(bytes, flat));  // the generic decoder reads it too
        EXPECT_EQ(flat, e);
    }
}

TEST(Quicklist, SpliceCopiesUntouchedNodesAndPacksHeadPushesFromTheRight) {
    std::vector<std::string> owned;
    for (int i = 0; i < 10; ++i)
        owned.push_back(std::to_string(i));
    const std::vector<std::string_view> e(owned.begin(), owned.end());
    const std::string bytes = build(e, 4);  // nodes 0-3 4-7 8-9
    QuicklistView v;
    ASSERT_TRUE(v.parse(bytes));
    ASSERT_EQ(v.nodes(), 3u);
    // A push to the head: the head node is full, so the new entry gets a
    // node of its own before it; the full nodes are copied as they were.
    const std::vector<std::string_view> x{"x"};
    QuicklistBuilder b(ListFill{4});
    ASSERT_TRUE(coll::splice(&v, 0, 0, x, b));
    std::string out(b.encoded_size(), '\0');
    b.write(out.data());
    QuicklistView w;
    ASSERT_TRUE(w.parse(out));
    EXPECT_EQ(w.nodes(), 4u);
    EXPECT_EQ(w.node_entries(0), 1u);
    EXPECT_EQ(w.node_bytes(1), v.node_bytes(0));
    EXPECT_EQ(w.node_bytes(3), v.node_bytes(2));
    // A push to the tail fills the last node (8 9) first.
    QuicklistBuilder t(ListFill{4});
    ASSERT_TRUE(coll::splice(&v, 10, 0, x, t));
    EXPECT_EQ(t.nodes(), 3u);
    // LSET in the middle re-packs one node only.
    QuicklistBuilder m(ListFill{4});
    ASSERT_TRUE(coll::splice(&v, 5, 1, x, m));
    std::string mid(m.encoded_size(), '\0');
    m.write(mid.data());
    ASSERT_TRUE(w.parse(mid));
    std::vector<std::string_view> got;
    ASSERT_TRUE(w.decode_all(got));
    EXPECT_EQ(got,
              (std::vector<std::string_view>{"0", "1", "2", "3", "4", "x", "6", "7", "8", "9"}));
    // Popping a whole node and part of the next.
    QuicklistBuilder p(ListFill{4});
    ASSERT_TRUE(coll::splice(&v, 0, 6, {}, p));
    EXPECT_EQ(p.size(), 4u);
    EXPECT_EQ(p.nodes(), 2u);
}

TEST(Quicklist, CorruptValuesAreRefused) {
    const std::vector<std::string_view> e{"a", "bb", "ccc"};
    const std::string bytes = build(e, 2);
    QuicklistView v;
    ASSERT_TRUE(v.parse(bytes));
    EXPECT_FALSE(v.parse(""));
    EXPECT_FALSE(v.parse(bytes.substr(0, bytes.size() - 1)));
    EXPECT_FALSE(v.parse(bytes + "x"));
    std::string bad = bytes;
    bad[1] = 9;  // the count disagrees with the directory
    EXPECT_FALSE(v.parse(bad));
    bad = bytes;
    bad[5] = 100;  // more nodes than bytes
    EXPECT_FALSE(v.parse(bad));
    bad = bytes;
    bad[coll::kQlHeaderSize] = 0;  // an empty node
    EXPECT_FALSE(v.parse(bad));
    std::vector<std::string_view> out;
    EXPECT_FALSE(coll::decode(bad, out));
}

// ---- the commands on the encoding -------------------------------------------

class ListEncoding : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        ctx_.collections = &settings_;
    }
    void fill(int32_t f) { settings_.list_max_listpack_size.store(f); }
    uint32_t nodes(const std::string& key) {
        const store::KeyRef k(key);
        QuicklistView v;
        if (coll::find_list(ctx_.shard_for(k), k, ctx_.now(), v) != coll::Found::kFound) return 0;
        return v.nodes();
    }
    std::string expected(const std::deque<std::string>& m) {
        std::string s = "*" + std::to_string(m.size()) + "\r\n";
        for (const auto& x : m)
            s += "$" + std::to_string(x.size()) + "\r\n" + x + "\r\n";
        return s;
    }
    shm::CollectionSettings settings_;
};

TEST_F(ListEncoding, EveryCommandMatchesAModelOnEveryNodeLimit) {
    for (int32_t f : {1, 3, 0, -1, -2}) {
        SCOPED_TRACE(f);
        // Fresh shards for each limit: a list growing through every slab
        // class takes a page of each, and a test shard has 8.
        shards_.clear();
        ptrs_.clear();
        SetUp();
        fill(f);
        std::deque<std::string> m;
        std::mt19937 rng(static_cast<uint32_t>(f + 100));
        for (int step = 0; step < 400; ++step) {
            const std::string v(rng() % 40, static_cast<char>('a' + rng() % 26));
            const auto n = static_cast<int64_t>(m.size());
            const uint32_t op = rng() % 9;
            SCOPED_TRACE(::testing::Message() << "step " << step << " op " << op);
            switch (op) {
                case 0:
                case 1:
                    ASSERT_EQ(run({"rpush", "l", v, v + "1"}),
                              ":" + std::to_string(n + 2) + "\r\n");
                    m.push_back(v);
                    m.push_back(v + "1");
                    break;
                case 2:
                    ASSERT_EQ(run({"lpush", "l", v, v + "2"}),
                              ":" + std::to_string(n + 2) + "\r\n");
                    m.push_front(v);
                    m.push_front(v + "2");
                    break;
                case 3:
                    if (n > 0) {
                        EXPECT_EQ(run({"lpop", "l"}), "$" + std::to_string(m.front().size()) +
                                                          "\r\n" + m.front() + "\r\n");
                        m.pop_front();
                    }
                    break;
                case 4:
                    if (n > 0) {
                        run({"rpop", "l", "2"});
                        m.pop_back();
                        if (!m.empty()) m.pop_back();
                    }
                    break;
                case 5:
                    if (n > 0) {
                        const int64_t i = static_cast<int64_t>(rng() % m.size());
                        EXPECT_EQ(run({"lset", "l", std::to_string(i), v}), "+OK\r\n");
                        m[static_cast<size_t>(i)] = v;
                    }
                    break;
                case 6:
                    if (n > 0) {
                        const size_t i = rng() % m.size();
                        const std::string pivot = m[i];
                        run({"linsert", "l", "after", pivot, v});
                        const auto it = std::find(m.begin(), m.end(), pivot);
                        m.insert(it + 1, v);
                    }
                    break;
                case 7:
                    if (n > 4) {
                        run({"ltrim", "l", "1", "-2"});
                        m.pop_front();
                        m.pop_back();
                    }
                    break;
                case 8:
                    if (n > 0) {
                        const size_t i = rng() % m.size();
                        EXPECT_EQ(run({"lindex", "l", std::to_string(i)}),
                                  "$" + std::to_string(m[i].size()) + "\r\n" + m[i] + "\r\n");
                    }
                    break;
            }
            ASSERT_EQ(run({"llen", "l"}), ":" + std::to_string(m.size()) + "\r\n");
            if (step % 25 == 0) {
                ASSERT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
            }
        }
        ASSERT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
        if (m.size() > 3) {
            // A middle range, read through the directory.
            std::deque<std::string> mid(m.begin() + 1, m.end() - 1);
            EXPECT_EQ(run({"lrange", "l", "1", "-2"}), expected(mid));
            // LMOVE / LREM go through the whole-list path; both still agree.
            run({"lmove", "l", "d", "left", "right"});
            run({"rpoplpush", "d", "l"});
            m.push_front(m.front());
            m.erase(m.begin() + 1);
            EXPECT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
        }
        if (f == 1 || f == 0) {
            EXPECT_EQ(nodes("l"), m.size());
        }
    }
}

TEST_F(ListEncoding, NodesFollowTheSettingAndHugeElementsGetTheirOwn) {
    fill(-2);
    run({"rpush", "l", "a", "b", "c"});
    EXPECT_EQ(nodes("l"), 1u);  // a small list is one node: one listpack
    EXPECT_EQ(run({"object", "encoding", "l"}), "$9\r\nquicklist\r\n");
    const std::string big(100 * 1024, 'x');
    run({"rpush", "l", big});
    run({"rpush", "l", "d"});
    EXPECT_EQ(nodes("l"), 3u);  // the 100 KiB element alone in its node
    EXPECT_EQ(run({"lindex", "l", "3"}), "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n");
    EXPECT_EQ(run({"lindex", "l", "4"}), "$1\r\nd\r\n");
    // 8 KiB nodes: 2000 entries of 10 bytes take three nodes.
    run({"del", "m"});
    for (int i = 0; i < 2000; ++i)
        run({"rpush", "m", std::string(10, 'q')});
    EXPECT_EQ(nodes("m"), 3u);
    // The setting reaches the next write.
    fill(100);
    run({"lset", "m", "0", "z"});
    // The first node (~740 entries) re-packed by 100s: 8 nodes for it.
    EXPECT_EQ(nodes("m"), 2u + 8u);
    // The item limit stays the bound, with a clear error.
    fill(-2);
    const std::string half(600 * 1024, 'h');
    EXPECT_EQ(run({"rpush", "big", half}), ":1\r\n");
    EXPECT_EQ(run({"rpush", "big", half}).substr(0, 31), "-ERR collection exceeds the 1 M");
    EXPECT_EQ(run({"llen", "big"}), ":1\r\n");
}

// DEBUG QUICKLIST-PACKED-THRESHOLD: an element of at least that many bytes
// is Redis's plain node, alone in its node; the suite's plain-node cases.
TEST_F(ListEncoding, ElementsPastThePackedThresholdGetANodeOfTheirOwn) {
    fill(-2);
    settings_.list_packed_threshold.store(5);
    EXPECT_EQ(run({"rpush", "l", "aa", "bb", "cc", "dd", "ee"}), ":5\r\n");
    EXPECT_EQ(nodes("l"), 1u);
    // LSET in the middle splits the node around the plain element.
    EXPECT_EQ(run({"lset", "l", "2", std::string(10, 'e')}), "+OK\r\n");
    EXPECT_EQ(nodes("l"), 3u);
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}),
              "*5\r\n$2\r\naa\r\n$2\r\nbb\r\n$10\r\neeeeeeeeee\r\n"
              "$2\r\ndd\r\n$2\r\nee\r\n");
    // Pushes at either end never join a plain node, nor make one join theirs.
    run({"del", "l"});
    EXPECT_EQ(run({"lpush", "l", "9", "xxxxxxxxxx", "xxxxxxxxxx", "8"}), ":4\r\n");
    EXPECT_EQ(nodes("l"), 4u);  // [8] [x] [x] [9]
    EXPECT_EQ(run({"rpush", "l", "7", "6", "yyyyy", "5"}), ":8\r\n");
    EXPECT_EQ(nodes("l"), 6u);  // [8] [x] [x] [9 7 6] [yyyyy] [5]
    EXPECT_EQ(run({"lpush", "l", "zzzzz"}), ":9\r\n");
    EXPECT_EQ(nodes("l"), 7u);
    EXPECT_EQ(run({"rpop", "l"}), "$1\r\n5\r\n");
    EXPECT_EQ(run({"linsert", "l", "before", "9", "abcdef"}), ":9\r\n");
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}),
              "*9\r\n$5\r\nzzzzz\r\n$1\r\n8\r\n$10\r\nxxxxxxxxxx\r\n$10\r\nxxxxxxxxxx\r\n"
              "$6\r\nabcdef\r\n$1\r\n9\r\n$1\r\n7\r\n$1\r\n6\r\n$5\r\nyyyyy\r\n");
    // [zzzzz] [8] [x] [x] [abcdef] [9 7 6] [yyyyy]
    EXPECT_EQ(nodes("l"), 7u);
    EXPECT_EQ(run({"lrem", "l", "0", "xxxxxxxxxx"}), ":2\r\n");
    EXPECT_EQ(nodes("l"), 5u);  // [zzzzz] [8] [abcdef] [9 7 6] [yyyyy]
    EXPECT_EQ(run({"lpos", "l", "abcdef"}), ":2\r\n");
    // Back to 1 GiB: the next writes pack small elements together again.
    settings_.list_packed_threshold.store(int64_t{1} << 30);
    run({"del", "m"});
    EXPECT_EQ(run({"rpush", "m", "9", "xxxxxxxxxx", "xxxxxxxxxx"}), ":3\r\n");
    EXPECT_EQ(nodes("m"), 1u);
}

// ---- OBJECT ----------------------------------------------------------------

using RespObject = RespExec;

TEST_F(RespObject, EncodingRefcountIdletimeFreq) {
    run({"set", "i", "123"});
    run({"set", "neg", "-5"});
    run({"set", "lead", "0123"});
    run({"set", "e", std::string(44, 'e')});
    run({"set", "r", std::string(45, 'r')});
    run({"set", "big", "20000"});
    EXPECT_EQ(run({"object", "encoding", "i"}), "$3\r\nint\r\n");
    EXPECT_EQ(run({"object", "encoding", "neg"}), "$3\r\nint\r\n");
    EXPECT_EQ(run({"object", "encoding", "lead"}), "$6\r\nembstr\r\n");
    EXPECT_EQ(run({"object", "encoding", "e"}), "$6\r\nembstr\r\n");
    EXPECT_EQ(run({"object", "encoding", "r"}), "$3\r\nraw\r\n");
    EXPECT_EQ(run({"object", "encoding", "none"}), "$-1\r\n");
    EXPECT_EQ(run({"object", "refcount", "i"}), ":2147483647\r\n");
    EXPECT_EQ(run({"object", "refcount", "big"}), ":1\r\n");
    EXPECT_EQ(run({"object", "refcount", "neg"}), ":1\r\n");
    EXPECT_EQ(run({"object", "refcount", "e"}), ":1\r\n");
    run({"set", "x", "9998"});
    run({"incr", "x"});
    EXPECT_EQ(run({"object", "refcount", "x"}), ":2147483647\r\n");
    run({"incr", "x"});
    EXPECT_EQ(run({"object", "refcount", "x"}), ":1\r\n");
    EXPECT_EQ(run({"object", "idletime", "i"}), ":0\r\n");
    clock_.advance(7);
    EXPECT_EQ(run({"object", "idletime", "i"}), ":7\r\n");
    EXPECT_EQ(run({"object", "freq", "none"}), "$-1\r\n");
    EXPECT_EQ(run({"object", "freq", "i"}).substr(0, 40),
              "-ERR An LFU maxmemory policy is not sele");
}

// Redis keeps what APPEND, SETRANGE and SETBIT wrote "raw" whatever its
// bytes (not shared: refcount 1); SET or INCR of the key forgets it.
TEST_F(RespObject, AppendSetrangeSetbitLeaveRaw) {
    run({"set", "a", "12"});
    run({"append", "a", "34"});
    EXPECT_EQ(run({"object", "encoding", "a"}), "$3\r\nraw\r\n");
    EXPECT_EQ(run({"object", "refcount", "a"}), ":1\r\n");
    run({"append", "fresh", "56"});  // APPEND of a new key stores it as SET would
    EXPECT_EQ(run({"object", "encoding", "fresh"}), "$3\r\nint\r\n");
    run({"set", "r", "1234"});
    run({"setrange", "r", "0", ""});  // nothing written: unchanged
    EXPECT_EQ(run({"object", "encoding", "r"}), "$3\r\nint\r\n");
    run({"setrange", "r", "0", "2"});
    EXPECT_EQ(run({"object", "encoding", "r"}), "$3\r\nraw\r\n");
    EXPECT_EQ(run({"get", "r"}), "$4\r\n2234\r\n");
    run({"incr", "r"});
    EXPECT_EQ(run({"object", "encoding", "r"}), "$3\r\nint\r\n");
    run({"setbit", "b", "1", "1"});
    EXPECT_EQ(run({"object", "encoding", "b"}), "$3\r\nraw\r\n");
    run({"set", "b", "x"});
    EXPECT_EQ(run({"object", "encoding", "b"}), "$6\r\nembstr\r\n");
}

TEST_F(RespObject, HelpAndErrors) {
    const std::string help = run({"object", "help"});
    EXPECT_EQ(help.substr(0, 71),
              "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n");
    EXPECT_EQ(run({"object", "foo"}), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    EXPECT_EQ(run({"object", "encoding"}),
              "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    EXPECT_EQ(run({"object", "help", "x"}),
              "-ERR wrong number of arguments for 'object|help' command\r\n");
    EXPECT_EQ(run({"object"}), "-ERR wrong number of arguments for 'object' command\r\n");
}

}  // namespace
}  // namespace fulmar::engine
