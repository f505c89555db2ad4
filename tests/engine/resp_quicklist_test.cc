// The quicklist encoding of lists: the node rule of list-max-listpack-size,
// round trips, the directory's reads, splices that copy untouched nodes,
// corrupt values refused; then every list command against a model list on
// several node limits, across node boundaries, with huge elements and the
// item limit; and OBJECT's answers.
#include "engine/resp_quicklist.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
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

// ---- list-compress-depth: LZF nodes -----------------------------------------

std::string build_ql(const std::vector<std::string_view>& e, ListFill fill) {
    QuicklistBuilder b(fill);
    b.pack(e);
    std::string out(b.encoded_size(), '\0');
    b.write(out.data());
    return out;
}

// `n` compressible elements of `len` bytes (a letter repeated, a number
// at the end so that each differs).
std::vector<std::string> compressible(size_t n, size_t len) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
        std::string s(len, static_cast<char>('a' + i % 26));
        const std::string tag = std::to_string(i);
        s.replace(s.size() - std::min(s.size(), tag.size()), tag.size(), tag);
        out.push_back(s.substr(0, len));
    }
    return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& s) {
    return {s.begin(), s.end()};
}

TEST(QuicklistCompression, InteriorNodesBeyondTheDepthAndEveryReadSeesThem) {
    const auto owned = compressible(10, 300);
    const auto e = views(owned);
    const std::string plain = build_ql(e, ListFill{.fill = 1});
    QuicklistView raw;
    ASSERT_TRUE(raw.parse(plain));
    ASSERT_EQ(raw.nodes(), 10u);
    EXPECT_EQ(raw.compressed_nodes(), 0u);
    for (int32_t depth : {0, 1, 2, 4, 5, 1000}) {
        SCOPED_TRACE(depth);
        const std::string bytes = build_ql(e, ListFill{.fill = 1, .compress_depth = depth});
        QuicklistView v;
        ASSERT_TRUE(v.parse(bytes));
        const uint32_t want = depth == 0 ? 0u : static_cast<uint32_t>(std::max(0, 10 - 2 * depth));
        EXPECT_EQ(v.compressed_nodes(), want);
        for (uint32_t i = 0; i < v.nodes(); ++i) {
            const bool interior = depth > 0 && i >= static_cast<uint32_t>(depth) &&
                                  i + static_cast<uint32_t>(depth) < 10;
            EXPECT_EQ(v.node_compressed(i), interior) << i;
            EXPECT_EQ(v.node_bytes(i), raw.node_bytes(i)) << i;
            EXPECT_EQ(v.node_raw_size(i), raw.node_bytes(i).size()) << i;
        }
        EXPECT_EQ(v.uncompressed_size(), raw.uncompressed_size());
        // Smaller by the compressed nodes' savings: 300 equal bytes take ~20.
        if (want > 0) {
            EXPECT_LT(bytes.size() + want * 250, plain.size());
        } else {
            EXPECT_EQ(bytes, plain);
        }
        std::vector<std::string_view> all;
        ASSERT_TRUE(v.decode_all(all));
        EXPECT_EQ(all, e);
        for (size_t i = 0; i < e.size(); ++i) {
            std::string_view x;
            ASSERT_TRUE(v.at(i, x));
            EXPECT_EQ(x, e[i]);
        }
        std::vector<std::string_view> mid;
        ASSERT_TRUE(v.range(3, 7, mid));
        EXPECT_EQ(mid, std::vector<std::string_view>(e.begin() + 3, e.begin() + 8));
        // The Entries decode owns the inflated text; the plain form refuses
        // (its views would outlive the view's buffers).
        coll::Entries out;
        ASSERT_TRUE(coll::decode(bytes, out));
        EXPECT_EQ(std::vector<std::string_view>(out.begin(), out.end()), e);
        std::vector<std::string_view> flat;
        EXPECT_EQ(coll::decode(bytes, flat), want == 0);
        coll::QuicklistStats st;
        ASSERT_TRUE(coll::quicklist_stats(bytes, st));
        EXPECT_EQ(st.entries, 10u);
        EXPECT_EQ(st.nodes, 10u);
        EXPECT_EQ(st.compressed_nodes, want);
        EXPECT_EQ(st.uncompressed_size, raw.uncompressed_size());
        EXPECT_EQ(st.stored_size, bytes.size());
    }
}

TEST(QuicklistCompression, SmallAndIncompressibleNodesStayRaw) {
    // Under MIN_COMPRESS_BYTES (48): raw whatever the depth.
    const auto small = compressible(5, 40);
    const std::string a = build_ql(views(small), ListFill{.fill = 1, .compress_depth = 1});
    QuicklistView v;
    ASSERT_TRUE(v.parse(a));
    EXPECT_EQ(v.compressed_nodes(), 0u);
    // 48 bytes exactly is eligible (Redis: sz < 48 is refused).
    const auto at48 = compressible(5, 47);  // 47 + its length byte: a 48-byte node
    ASSERT_TRUE(v.parse(build_ql(views(at48), ListFill{.fill = 1, .compress_depth = 1})));
    EXPECT_EQ(v.compressed_nodes(), 3u);
    // Random bytes do not shrink by MIN_COMPRESS_IMPROVE: raw.
    std::mt19937 rng(7);
    std::vector<std::string> noise(6, std::string(500, '\0'));
    for (auto& s : noise)
        for (char& c : s)
            c = static_cast<char>(rng());
    const std::string b = build_ql(views(noise), ListFill{.fill = 1, .compress_depth = 1});
    ASSERT_TRUE(v.parse(b));
    EXPECT_EQ(v.compressed_nodes(), 0u);
    std::vector<std::string_view> all;
    ASSERT_TRUE(v.decode_all(all));
    EXPECT_EQ(all, views(noise));
}

TEST(QuicklistCompression, PlainNodesCompressToo) {
    // Elements past the packed threshold, each its own node.
    const auto big = compressible(6, 5000);
    const ListFill f{.fill = -2, .packed_threshold = 1000, .compress_depth = 1};
    const std::string bytes = build_ql(views(big), f);
    QuicklistView v;
    ASSERT_TRUE(v.parse(bytes));
    EXPECT_EQ(v.nodes(), 6u);
    EXPECT_EQ(v.compressed_nodes(), 4u);
    EXPECT_LT(bytes.size(), 2u * 5000u + 4u * 200u);
    std::vector<std::string_view> all;
    ASSERT_TRUE(v.decode_all(all));
    EXPECT_EQ(all, views(big));
}

TEST(QuicklistCompression, SplicesKeepCopiedNodesCompressedAndFixTheEnds) {
    const auto owned = compressible(8, 100);
    const ListFill f{.fill = 1, .compress_depth = 2};
    const std::string bytes = build_ql(views(owned), f);
    QuicklistView v;
    ASSERT_TRUE(v.parse(bytes));
    ASSERT_EQ(v.compressed_nodes(), 4u);  // nodes 2..5
    // A pop at the head: node 2 becomes node 1, within the depth: inflated;
    // nodes 3..5 are copied as stored, and node 6 (now 5) is compressed.
    {
        QuicklistBuilder b(f);
        ASSERT_TRUE(coll::splice(&v, 0, 1, {}, b));
        std::string out(b.encoded_size(), '\0');
        b.write(out.data());
        QuicklistView p;
        ASSERT_TRUE(p.parse(out));
        ASSERT_EQ(p.nodes(), 7u);
        EXPECT_FALSE(p.node_compressed(1));
        for (uint32_t i = 2; i <= 4; ++i) {
            EXPECT_TRUE(p.node_compressed(i));
            EXPECT_EQ(p.stored_bytes(i), v.stored_bytes(i + 1));  // copied as bytes
        }
        EXPECT_EQ(p.compressed_nodes(), 3u);
        std::vector<std::string_view> all;
        ASSERT_TRUE(p.decode_all(all));
        EXPECT_EQ(all, std::vector<std::string_view>(owned.begin() + 1, owned.end()));
    }
    // LSET / LINSERT / LREM of an interior entry: its node re-packed and
    // recompressed, the rest kept.
    {
        const std::string repl(120, 'z');
        const std::array<std::string_view, 1> one{repl};
        QuicklistBuilder b(f);
        ASSERT_TRUE(coll::splice(&v, 4, 1, one, b));  // LSET 4
        std::string out(b.encoded_size(), '\0');
        b.write(out.data());
        QuicklistView p;
        ASSERT_TRUE(p.parse(out));
        EXPECT_EQ(p.compressed_nodes(), 4u);
        std::string_view x;
        ASSERT_TRUE(p.at(4, x));
        EXPECT_EQ(x, repl);
        ASSERT_TRUE(p.at(3, x));
        EXPECT_EQ(x, owned[3]);
    }
    // The depth lowered to 0: the next build inflates every node.
    {
        QuicklistBuilder b(ListFill{.fill = 1});
        const std::array<std::string_view, 1> one{"tail"};
        ASSERT_TRUE(coll::splice(&v, v.size(), 0, one, b));
        std::string out(b.encoded_size(), '\0');
        b.write(out.data());
        QuicklistView p;
        ASSERT_TRUE(p.parse(out));
        EXPECT_EQ(p.compressed_nodes(), 0u);
        std::vector<std::string_view> all;
        ASSERT_TRUE(p.decode_all(all));
        ASSERT_EQ(all.size(), 9u);
        EXPECT_EQ(all.back(), "tail");
        EXPECT_EQ(all[4], owned[4]);
    }
}

TEST(QuicklistCompression, CorruptCompressedNodesAreErrorsNeverOverruns) {
    const auto owned = compressible(5, 200);
    const std::string good = build_ql(views(owned), ListFill{.fill = 1, .compress_depth = 1});
    QuicklistView v;
    ASSERT_TRUE(v.parse(good));
    ASSERT_EQ(v.compressed_nodes(), 3u);
    const size_t dir1 = coll::kQlHeaderSize + coll::kQlDirEntrySize;  // node 1's entry
    const size_t node1 = static_cast<size_t>(v.stored_bytes(1).data() - good.data());
    // A raw size past kQlMaxNodeRaw, or no larger than the LZF bytes: the
    // directory is refused (no allocation of a made-up size).
    for (uint32_t raw : {0xFFFFFFF0u, uint32_t{coll::kQlMaxNodeRaw + 1}, 3u}) {
        std::string bad = good;
        std::memcpy(bad.data() + node1, &raw, 4);
        EXPECT_FALSE(v.parse(bad)) << raw;
        coll::Entries out;
        EXPECT_FALSE(coll::decode(bad, out));
    }
    // A node too short for its header.
    {
        std::string bad = good;
        uint32_t word = 0;
        std::memcpy(&word, bad.data() + dir1 + 4, 4);
        const uint32_t len = word & ~coll::kQlNodeCompressed;
        const uint32_t two = 2u | coll::kQlNodeCompressed;
        std::memcpy(bad.data() + dir1 + 4, &two, 4);
        bad.erase(node1 + 2, len - 2);
        EXPECT_FALSE(v.parse(bad));
    }
    // The raw size larger than the data inflates to: parses, but every read
    // of that node fails cleanly.
    {
        std::string bad = good;
        uint32_t raw = 0;
        std::memcpy(&raw, bad.data() + node1, 4);
        raw += 1000;
        std::memcpy(bad.data() + node1, &raw, 4);
        ASSERT_TRUE(v.parse(bad));
        std::string_view x;
        EXPECT_FALSE(v.at(1, x));
        EXPECT_TRUE(v.at(0, x));  // other nodes still read
        std::vector<std::string_view> all;
        EXPECT_FALSE(v.decode_all(all));
        EXPECT_TRUE(v.node_bytes(1).empty());
        std::string inflated;
        EXPECT_FALSE(coll::inflate_node(v.stored_bytes(1), inflated));
    }
    // Every byte of every LZF node flipped in turn: parse, read and
    // rebuild never crash, and whatever decodes is bounded by the raw size.
    for (size_t pos = node1; pos < good.size(); ++pos) {
        for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
            std::string bad = good;
            bad[pos] = static_cast<char>(bad[pos] ^ mask);
            QuicklistView c;
            if (!c.parse(bad)) continue;
            std::vector<std::string_view> all;
            if (c.decode_all(all)) {
                EXPECT_EQ(all.size(), 5u);
                for (std::string_view x : all)
                    EXPECT_LE(x.size(), coll::kQlMaxNodeRaw);
            }
            QuicklistBuilder b(ListFill{.fill = 1, .compress_depth = 1});
            const std::array<std::string_view, 1> one{"x"};
            if (coll::splice(&c, 0, 1, one, b)) {
                std::string out(b.encoded_size(), '\0');
                b.write(out.data());
                QuicklistView p;
                EXPECT_TRUE(p.parse(out));
            }
        }
    }
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
    // One step of a list command on "l" and on the model `m`, checked
    // against it: 0-1 RPUSH, 2 LPUSH, 3 LPOP, 4 RPOP 2, 5 LSET, 6 LINSERT
    // AFTER, 7 LTRIM, 8 LINDEX, 9 LREM, 10 LINSERT BEFORE; `v` the value.
    void model_step(uint32_t op, const std::string& v, std::deque<std::string>& m,
                    std::mt19937& rng) {
        const auto n = static_cast<int64_t>(m.size());
        SCOPED_TRACE(::testing::Message() << "op " << op);
        switch (op) {
            case 0:
            case 1:
                ASSERT_EQ(run({"rpush", "l", v, v + "1"}), ":" + std::to_string(n + 2) + "\r\n");
                m.push_back(v);
                m.push_back(v + "1");
                break;
            case 2:
                ASSERT_EQ(run({"lpush", "l", v, v + "2"}), ":" + std::to_string(n + 2) + "\r\n");
                m.push_front(v);
                m.push_front(v + "2");
                break;
            case 3:
                if (n > 0) {
                    EXPECT_EQ(run({"lpop", "l"}),
                              "$" + std::to_string(m.front().size()) + "\r\n" + m.front() + "\r\n");
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
                    const size_t i = rng() % m.size();
                    EXPECT_EQ(run({"lset", "l", std::to_string(i), v}), "+OK\r\n");
                    m[i] = v;
                }
                break;
            case 6:
            case 10:
                if (n > 0) {
                    const std::string pivot = m[rng() % m.size()];
                    const bool after = op == 6;
                    run({"linsert", "l", after ? "after" : "before", pivot, v});
                    const auto it = std::find(m.begin(), m.end(), pivot);
                    m.insert(after ? it + 1 : it, v);
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
            case 9:
                if (n > 0) {
                    const std::string gone = m[rng() % m.size()];
                    const auto removed = std::count(m.begin(), m.end(), gone);
                    EXPECT_EQ(run({"lrem", "l", "0", gone}),
                              ":" + std::to_string(removed) + "\r\n");
                    m.erase(std::remove(m.begin(), m.end(), gone), m.end());
                }
                break;
        }
        ASSERT_EQ(run({"llen", "l"}), ":" + std::to_string(m.size()) + "\r\n");
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
            SCOPED_TRACE(::testing::Message() << "step " << step);
            model_step(rng() % 9, v, m, rng);
            if (HasFatalFailure()) return;
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

// list-compress-depth through the commands: every command against a
// model, with the compressed set checked after each step.
TEST_F(ListEncoding, CompressedListsMatchAModelAtEveryDepth) {
    for (int32_t depth : {1, 2, 3, 1000}) {
        for (int32_t f : {1, -1}) {
            SCOPED_TRACE(::testing::Message() << "depth " << depth << " fill " << f);
            // Fresh, larger shards: a compressed list's item wanders through
            // more slab classes than a raw one, each holding a page.
            shards_.clear();
            ptrs_.clear();
            for (size_t i = 0; i < 2; ++i) {
                shards_.push_back(store::testing::make_shard(64 << 20));
                ptrs_.push_back(shards_.back().get());
            }
            ctx_.shards = std::span<store::Shard* const>(ptrs_);
            fill(f);
            settings_.list_compress_depth.store(depth);
            std::deque<std::string> m;
            std::mt19937 rng(static_cast<uint32_t>(depth * 10 + f + 50));
            for (int step = 0; step < 300; ++step) {
                // 60..260 bytes of one letter: every node compresses.
                std::string v(60 + rng() % 200, static_cast<char>('a' + rng() % 26));
                v += std::to_string(step);
                // Bounded (a test shard has 8 slab pages): LREM instead of
                // pushes past 120 entries.
                uint32_t op = rng() % 11;
                if (m.size() > 120 && op < 3) op = 9;
                SCOPED_TRACE(::testing::Message() << "step " << step);
                model_step(op, v, m, rng);
                if (HasFatalFailure()) return;
                // Redis's set: exactly the interior beyond the depth.
                const store::KeyRef k("l");
                QuicklistView v2;
                if (coll::find_list(ctx_.shard_for(k), k, ctx_.now(), v2) == coll::Found::kFound) {
                    const uint32_t nn = v2.nodes();
                    const auto d = static_cast<uint32_t>(depth);
                    ASSERT_EQ(v2.compressed_nodes(), nn > 2 * d ? nn - 2 * d : 0u);
                }
                if (step % 20 == 0) {
                    ASSERT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
                }
            }
            ASSERT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
            if (m.size() > 3) {
                std::deque<std::string> mid(m.begin() + 1, m.end() - 1);
                EXPECT_EQ(run({"lrange", "l", "1", "-2"}), expected(mid));
                EXPECT_EQ(run({"lpos", "l", m[m.size() / 2]}).substr(0, 1), ":");
                run({"lmove", "l", "d", "left", "right"});
                run({"rpoplpush", "d", "l"});
                m.push_front(m.front());
                m.erase(m.begin() + 1);
                EXPECT_EQ(run({"lrange", "l", "0", "-1"}), expected(m));
            }
        }
    }
}

// Redis 7.0.15's unit/type/list compression cases, on the engine.
TEST_F(ListEncoding, RedisSuiteCompressionCases) {
    settings_.list_compress_depth.store(2);
    fill(1);
    const auto r = [](char c) { return std::string(500, c); };
    const auto bulk = [](const std::string& s) {
        return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
    };
    for (int64_t threshold : {int64_t{1} << 30, int64_t{1}}) {
        SCOPED_TRACE(threshold);
        settings_.list_packed_threshold.store(threshold);
        run({"del", "list1", "list2", "list3"});
        for (char c : {'a', 'b', 'c', 'd'})
            run({"lpush", "list1", r(c)});
        for (char c : {'e', 'f', 'g', 'j'})
            run({"linsert", "list1", "after", r('d'), r(c)});
        EXPECT_GT(nodes("list1"), 4u);
        for (char c : {'d', 'j', 'g', 'f', 'e', 'c', 'b', 'a'})
            EXPECT_EQ(run({"lpop", "list1"}), bulk(r(c)));

        run({"lpush", "list2", r('a')});
        run({"linsert", "list2", "after", r('a'), r('b')});
        run({"rpush", "list2", r('c')});
        EXPECT_EQ(run({"lindex", "list2", "1"}), bulk(r('b')));
        EXPECT_EQ(run({"ltrim", "list2", "1", "-1"}), "+OK\r\n");
        EXPECT_EQ(run({"llen", "list2"}), ":2\r\n");

        run({"lpush", "list3", r('a')});
        run({"lset", "list3", "0", r('b')});
        EXPECT_EQ(run({"lindex", "list3", "0"}), bulk(r('b')));
        run({"lpush", "list3", r('c')});
        run({"lset", "list3", "0", r('d')});
        EXPECT_EQ(run({"lindex", "list3", "0"}), bulk(r('d')));
    }
    // "Crash due to delete entry from a compress quicklist node".
    settings_.list_packed_threshold.store(100);
    settings_.list_compress_depth.store(1);
    fill(-2);
    const std::string small(32, 'x'), large(100, 'x');
    run({"rpush", "lst", large});
    run({"rpush", "lst", small});
    run({"rpush", "lst", small});
    EXPECT_EQ(run({"lset", "lst", "-1", large}), "+OK\r\n");
    EXPECT_EQ(run({"lrange", "lst", "0", "-1"}),
              "*3\r\n" + bulk(large) + bulk(small) + bulk(large));
}

// MEMORY USAGE is the item: smaller once the interior is compressed; a list
// written at depth 2 reads right at depth 0 and is inflated by its next
// write.
TEST_F(ListEncoding, MemoryUsageShrinksAndDepthZeroInflatesOnTheNextWrite) {
    fill(-2);
    std::vector<std::string> args{"rpush", "l"};
    for (int i = 0; i < 10000; ++i)
        args.push_back("element-number-" + std::to_string(i % 100) + "-padding-padding");
    ASSERT_EQ(run(args), ":10000\r\n");
    const std::string flat_usage = run({"memory", "usage", "l"});
    const std::string flat = run({"lrange", "l", "0", "-1"});
    run({"del", "l"});
    settings_.list_compress_depth.store(1);
    ASSERT_EQ(run(args), ":10000\r\n");
    const std::string packed_usage = run({"memory", "usage", "l"});
    const auto usage = [](const std::string& r) { return std::stoll(r.substr(1)); };
    EXPECT_LT(usage(packed_usage) * 3, usage(flat_usage));
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}), flat);
    const store::KeyRef k("l");
    QuicklistView v;
    ASSERT_EQ(coll::find_list(ctx_.shard_for(k), k, ctx_.now(), v), coll::Found::kFound);
    EXPECT_GT(v.compressed_nodes(), 0u);
    EXPECT_EQ(v.compressed_nodes(), v.nodes() - 2);
    settings_.list_compress_depth.store(0);
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}), flat);  // still compressed, read right
    EXPECT_EQ(run({"lindex", "l", "5000"}),
              "$" + std::to_string(args[5002].size()) + "\r\n" + args[5002] + "\r\n");
    run({"rpush", "l", "x"});
    ASSERT_EQ(coll::find_list(ctx_.shard_for(k), k, ctx_.now(), v), coll::Found::kFound);
    EXPECT_EQ(v.compressed_nodes(), 0u);
    const long long inflated = usage(run({"memory", "usage", "l"}));
    EXPECT_GE(inflated, usage(flat_usage));
    EXPECT_LT(inflated, usage(flat_usage) + usage(flat_usage) / 10);
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
