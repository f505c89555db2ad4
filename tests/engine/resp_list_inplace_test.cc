// Pushes and pops that edit a list's item where it is (coll::EndEdit,
// resp_list_commands.cc): the bytes they leave are those a rebuild
// (coll::splice) writes for the same list, on every node limit, depth and
// packed threshold; the item keeps its address when the edit fits its
// chunk and moves when it does not; TTL kept, a new CAS that WATCH sees;
// and a reader on another thread never sees a torn list.
#include <fmt/core.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/resp_collection.h"
#include "engine/resp_debug.h"
#include "engine/resp_quicklist.h"
#include "engine/resp_util.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

using coll::QuicklistView;

class ListInPlace : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        ctx_.collections = &settings_;
    }
    // A fresh pair of shards (64 MiB: a list wandering through classes
    // takes a page of each).
    void fresh_shards() {
        shards_.clear();
        ptrs_.clear();
        for (size_t i = 0; i < 2; ++i) {
            shards_.push_back(store::testing::make_shard(64 << 20));
            ptrs_.push_back(shards_.back().get());
        }
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
    }
    const store::Item* item(const std::string& key) {
        const store::KeyRef k(key);
        return ctx_.shard_for(k).find(k, ctx_.now());
    }
    std::string value(const std::string& key) {
        const store::Item* it = item(key);
        return it == nullptr ? std::string() : std::string(it->value());
    }
    // DEBUG OBJECT's "Value at:<address>".
    std::string address(const std::string& key) {
        const resp::LocalViews v(ctx_);
        const RespReadCtx rc = resp::read_ctx(ctx_, v);
        proto::StringSink out;
        debug_object(key, rc, out);
        return out.out.substr(0, out.out.find(' ', 7));
    }
    // The bytes a rebuild writes for `old` with [from, from + erase)
    // replaced by `insert`, under the live settings.
    std::string rebuilt(const std::string& old, size_t from, size_t erase,
                        const std::vector<std::string_view>& insert) {
        QuicklistView v;
        EXPECT_TRUE(v.parse(old));
        coll::QuicklistBuilder b(coll::list_fill(ctx_.limits()));
        EXPECT_TRUE(coll::splice(&v, from, erase, insert, b));
        std::string out(b.encoded_size(), '\0');
        b.write(out.data());
        return out;
    }
    shm::CollectionSettings settings_;
};

// Every push and pop at either end, on every setting, leaves exactly the
// bytes the rebuild would, in place or not; both paths are taken.
TEST_F(ListInPlace, EndEditsWriteTheRebuildsBytes) {
    struct Setting {
        int32_t fill;
        int32_t depth;
        int64_t threshold;
    };
    const Setting settings[] = {{-2, 0, int64_t{1} << 30},
                                {-1, 0, int64_t{1} << 30},
                                {5, 0, int64_t{1} << 30},
                                {1, 0, int64_t{1} << 30},
                                {0, 0, int64_t{1} << 30},
                                {100, 0, 12},
                                {-1, 1, int64_t{1} << 30},
                                {-1, 2, int64_t{1} << 30},
                                {3, 1, 12},
                                {-2, 3, 12}};
    for (const Setting& st : settings) {
        SCOPED_TRACE(::testing::Message() << "fill " << st.fill << " depth " << st.depth
                                          << " threshold " << st.threshold);
        fresh_shards();
        settings_.list_max_listpack_size.store(st.fill);
        settings_.list_compress_depth.store(st.depth);
        settings_.list_packed_threshold.store(st.threshold);
        std::mt19937 rng(static_cast<uint32_t>(st.fill * 7 + st.depth * 131 + st.threshold));
        std::deque<std::string> m;
        size_t in_place = 0, moved = 0;
        for (int step = 0; step < 600; ++step) {
            SCOPED_TRACE(::testing::Message() << "step " << step);
            const std::string old = value("l");
            const std::string at = address("l");
            const uint32_t op = m.size() > 400 ? 2 + rng() % 2 : rng() % 4;
            const bool left = rng() % 2 == 0;
            std::vector<std::string> args{std::string(left ? "l" : "r") + (op < 2 ? "push" : "pop"),
                                          "l"};
            std::vector<std::string_view> insert;
            size_t from = 0, erase = 0;
            if (op < 2) {
                // Mostly small elements; now and then one past a threshold
                // of 12 (a plain node), or long enough to compress well.
                const size_t k = 1 + rng() % 3;
                for (size_t j = 0; j < k; ++j) {
                    const uint32_t kind = rng() % 10;
                    const size_t len = kind == 0 ? 14 : kind == 1 ? 60 : rng() % 9;
                    args.push_back(std::string(len, static_cast<char>('a' + rng() % 26)) +
                                   std::to_string(step));
                }
                for (size_t j = 2; j < args.size(); ++j) {
                    if (left)
                        m.push_front(args[j]);
                    else
                        m.push_back(args[j]);
                }
                if (left) {
                    for (size_t j = args.size(); j-- > 2;)
                        insert.emplace_back(args[j]);
                } else {
                    for (size_t j = 2; j < args.size(); ++j)
                        insert.emplace_back(args[j]);
                    from = old.empty() ? 0 : m.size() - insert.size();
                }
                ASSERT_EQ(run(args), ":" + std::to_string(m.size()) + "\r\n");
            } else {
                if (m.empty()) continue;
                erase = 1 + rng() % 3;
                if (erase > 1) args.push_back(std::to_string(erase));
                erase = std::min(erase, m.size());
                from = left ? 0 : m.size() - erase;
                std::string expect = args.size() == 3 ? "*" + std::to_string(erase) + "\r\n" : "";
                for (size_t j = 0; j < erase; ++j) {
                    const std::string& e = left ? m.front() : m.back();
                    expect += "$" + std::to_string(e.size()) + "\r\n" + e + "\r\n";
                    if (left)
                        m.pop_front();
                    else
                        m.pop_back();
                }
                ASSERT_EQ(run(args), expect);
            }
            if (old.empty() || m.empty()) continue;
            ASSERT_EQ(value("l"), rebuilt(old, from, erase, insert));
            if (address("l") == at)
                ++in_place;
            else
                ++moved;
        }
        std::string all = "*" + std::to_string(m.size()) + "\r\n";
        for (const auto& x : m)
            all += "$" + std::to_string(x.size()) + "\r\n" + x + "\r\n";
        EXPECT_EQ(run({"lrange", "l", "0", "-1"}), all);
        // Fill 0 and 1 never join a node (no push in place), and a pop
        // empties its one-entry node: every edit rebuilds. Three-entry
        // nodes of short elements are under LZF's 48 bytes: their interior
        // stays raw, and a list with a raw interior node rebuilds.
        if (st.fill == 0 || st.fill == 1) {
            EXPECT_EQ(in_place, 0u);
        } else {
            EXPECT_GT(in_place, st.fill == 3 ? 10u : 100u);
        }
        EXPECT_GT(moved, 10u);
    }
}

// The in-place path keeps the item's address (DEBUG OBJECT's Value at),
// and the item moves when the chunk is full or the node is.
TEST_F(ListInPlace, AnAppendThatFitsKeepsTheItemAndOneThatDoesNotMovesIt) {
    settings_.list_max_listpack_size.store(-2);
    // 30 entries: an item of ~100 bytes in a chunk with room to spare.
    std::vector<std::string> args{"rpush", "l"};
    for (int i = 0; i < 30; ++i)
        args.push_back("e");
    run(args);
    const store::Item* it = item("l");
    ASSERT_NE(it, nullptr);
    const size_t chunk = ctx_.shard_for(store::KeyRef("l")).slab().chunk_size_of(it);
    const size_t room = chunk - it->total_size();
    ASSERT_GT(room, 2u);
    const std::string at = address("l");
    EXPECT_EQ(at.substr(0, 10), "+Value at:");
    EXPECT_EQ(run({"rpush", "l", "x"}), ":31\r\n");  // 2 bytes
    EXPECT_EQ(address("l"), at);
    EXPECT_EQ(run({"lpush", "l", "y"}), ":32\r\n");
    EXPECT_EQ(address("l"), at);
    EXPECT_EQ(run({"rpop", "l"}), "$1\r\nx\r\n");
    EXPECT_EQ(run({"lpop", "l", "2"}), "*2\r\n$1\r\ny\r\n$1\r\ne\r\n");
    EXPECT_EQ(address("l"), at);
    EXPECT_EQ(run({"rpushx", "l", "z"}), ":30\r\n");
    EXPECT_EQ(run({"lpushx", "l", "w"}), ":31\r\n");
    EXPECT_EQ(address("l"), at);
    // Past the chunk: the rebuild's new item, the list intact.
    const size_t left = ctx_.shard_for(store::KeyRef("l")).slab().chunk_size_of(item("l")) -
                        item("l")->total_size();
    const std::string big(left + 1, 'b');
    EXPECT_EQ(run({"rpush", "l", big}), ":32\r\n");
    EXPECT_NE(address("l"), at);
    EXPECT_EQ(run({"lindex", "l", "-1"}), "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n");
    EXPECT_EQ(run({"lindex", "l", "0"}), "$1\r\nw\r\n");
    // A full node: the push makes a new one (a rebuild), fill 3.
    settings_.list_max_listpack_size.store(3);
    run({"del", "m"});
    run({"rpush", "m", "1", "2"});
    const std::string m_at = address("m");
    run({"rpush", "m", "3"});
    EXPECT_EQ(address("m"), m_at);
    run({"rpush", "m", "4"});
    EXPECT_NE(address("m"), m_at);
    QuicklistView v;
    ASSERT_TRUE(v.parse(value("m")));
    EXPECT_EQ(v.nodes(), 2u);
    // A pop that would empty the end node rebuilds too (the node goes).
    const std::string m2 = address("m");
    EXPECT_EQ(run({"rpop", "m"}), "$1\r\n4\r\n");
    EXPECT_NE(address("m"), m2);
    ASSERT_TRUE(v.parse(value("m")));
    EXPECT_EQ(v.nodes(), 1u);
    EXPECT_EQ(run({"lrange", "m", "0", "-1"}), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT_EQ(run({"object", "encoding", "m"}), "$9\r\nquicklist\r\n");
}

// A compressed end node (written at a depth that has since dropped to 0,
// or CONFIG lowering the depth) is never edited in place: the rebuild
// inflates it, as the depth rule says.
TEST_F(ListInPlace, CompressedEndsAndShrunkFillsRebuild) {
    settings_.list_max_listpack_size.store(1);
    settings_.list_compress_depth.store(1);
    const std::string r(200, 'r');
    run({"rpush", "l", r + "1", r + "2", r + "3", r + "4"});
    QuicklistView v;
    ASSERT_TRUE(v.parse(value("l")));
    EXPECT_EQ(v.compressed_nodes(), 2u);
    settings_.list_max_listpack_size.store(-2);
    settings_.list_compress_depth.store(0);
    // The depth now says raw: the push may not join in place (a compressed
    // node would stay), the rebuild inflates them all.
    const std::string at = address("l");
    run({"rpush", "l", "x"});
    EXPECT_NE(address("l"), at);
    ASSERT_TRUE(v.parse(value("l")));
    EXPECT_EQ(v.compressed_nodes(), 0u);
    // Depth 1 over an interior node that does not compress (under 48
    // bytes): the rebuild would try it again, so no edit in place.
    run({"del", "l"});
    settings_.list_max_listpack_size.store(1);
    settings_.list_compress_depth.store(1);
    run({"rpush", "l", r, "short", r});
    ASSERT_TRUE(v.parse(value("l")));
    EXPECT_EQ(v.compressed_nodes(), 0u);
    settings_.list_max_listpack_size.store(-2);
    const std::string l_at = address("l");
    run({"rpush", "l", "x"});
    EXPECT_NE(address("l"), l_at);
    // Compressible, settled: in place.
    run({"del", "l"});
    settings_.list_max_listpack_size.store(1);
    run({"rpush", "l", r, r, r});
    ASSERT_TRUE(v.parse(value("l")));
    EXPECT_EQ(v.compressed_nodes(), 1u);
    settings_.list_max_listpack_size.store(-2);
    const std::string l2 = address("l");
    run({"rpush", "l", "x"});
    EXPECT_EQ(address("l"), l2);
    EXPECT_EQ(run({"lindex", "l", "-1"}), "$1\r\nx\r\n");
    settings_.list_compress_depth.store(0);
    // A node packed under a larger fill, then CONFIG shrinks it: the next
    // push re-packs (splits) the end node rather than growing it.
    run({"del", "m"});
    run({"rpush", "m", "a", "b", "c", "d", "e"});
    settings_.list_max_listpack_size.store(2);
    const std::string m_at = address("m");
    run({"rpush", "m", "f"});
    EXPECT_NE(address("m"), m_at);
    ASSERT_TRUE(v.parse(value("m")));
    EXPECT_EQ(v.nodes(), 3u);
    EXPECT_EQ(run({"lrange", "m", "0", "-1"}),
              "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n");
}

// TTL, its milliseconds, and a new CAS on every in-place edit.
TEST_F(ListInPlace, InPlaceEditsKeepTheTtlAndChangeTheCas) {
    run({"rpush", "l", "a", "b", "c"});
    EXPECT_EQ(run({"pexpire", "l", "100500"}), ":1\r\n");
    const std::string at = address("l");
    uint64_t cas = item("l")->cas;
    const uint64_t expiry = store::expiry_ms(*item("l"));
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"rpush", "l", "d"}, {"lpush", "l", "z"}, {"lpop", "l"}, {"rpop", "l", "1"}}) {
        SCOPED_TRACE(cmd[0]);
        run(cmd);
        EXPECT_EQ(address("l"), at);
        EXPECT_GT(item("l")->cas, cas);
        cas = item("l")->cas;
        EXPECT_EQ(store::expiry_ms(*item("l")), expiry);
        EXPECT_EQ(run({"pttl", "l"}), ":100500\r\n");
    }
    EXPECT_EQ(ctx_.shard_for(store::KeyRef("l")).n_ttl_items(), 1u);
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    // MEMORY USAGE is the item as it stands: the edit's bytes.
    const size_t before = item("l")->total_size();
    run({"rpush", "l", "dd"});
    EXPECT_EQ(address("l"), at);
    EXPECT_EQ(run({"memory", "usage", "l"}), ":" + std::to_string(before + 3) + "\r\n");
}

// WATCH compares CAS: an in-place push after the WATCH aborts the EXEC,
// as a rebuild does; with the new CAS it runs.
TEST_F(ListInPlace, WatchSeesAnInPlacePush) {
    run({"rpush", "l", "a"});
    const uint64_t watched = item("l")->cas;
    const std::string at = address("l");
    run({"rpush", "l", "b"});
    ASSERT_EQ(address("l"), at);
    const auto exec = [&](uint64_t cas) {
        std::string body;
        const std::vector<std::pair<std::string, uint64_t>> w{{"l", cas}};
        write_resp_transaction_header(1, w, body);
        const std::vector<std::string_view> q{"rpop", "l"};
        write_resp_request(q, body);
        proto::StringSink out;
        run_resp_transaction(parser_, body, ctx_, out);
        return out.out;
    };
    EXPECT_EQ(exec(watched), "*-1\r\n");
    EXPECT_EQ(exec(item("l")->cas), "*1\r\n$1\r\nb\r\n");
    EXPECT_EQ(address("l"), at);  // EXEC's pop ran in place too
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}), "*1\r\n$1\r\na\r\n");
}

// A reader on another thread (the control plane's ShardView copy under
// the seqlock) sees whole lists only: the list always holds consecutive
// numbers, pushed and popped at both ends, in place and rebuilt.
TEST_F(ListInPlace, AConcurrentReaderSeesOnlyWholeLists) {
    const size_t sz = rte_rcu_qsbr_get_memsize(1);
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, sz, RTE_CACHE_LINE_SIZE));
    ASSERT_NE(rcu, nullptr);
    ASSERT_EQ(rte_rcu_qsbr_init(rcu, 1), 0);
    shards_.clear();
    ptrs_.clear();
    for (size_t i = 0; i < 2; ++i) {
        shards_.push_back(store::testing::make_shard(32 << 20, 0, rcu));
        ptrs_.push_back(shards_.back().get());
    }
    ctx_.shards = std::span<store::Shard* const>(ptrs_);
    settings_.list_max_listpack_size.store(-1);  // 4 KiB nodes: new nodes often
    const auto num = [](int64_t i) { return fmt::format("{:012}", i + 1'000'000'000); };
    int64_t lo = 0, hi = 0;  // the list is num(lo) .. num(hi - 1)
    run({"rpush", "l", num(hi++)});
    const store::KeyRef key("l");
    const store::Shard& shard = ctx_.shard_for(key);
    const UnixTime now = ctx_.now();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> hits{0}, bad{0};
    std::thread reader([&] {
        rte_rcu_qsbr_thread_register(rcu, 0);
        rte_rcu_qsbr_thread_online(rcu, 0);
        std::vector<char> buf(store::kMaxItemSize);
        while (!stop.load(std::memory_order_relaxed)) {
            store::ItemMeta meta;
            if (shard.view().read_typed(key, now, buf, meta) == store::ReadStatus::kHit) {
                ++hits;
                QuicklistView v;
                coll::Entries e;
                bool ok = v.parse({buf.data(), meta.value_len}) && v.decode_all(e) && !e.empty();
                for (size_t j = 1; ok && j < e.size(); ++j)
                    ok = std::stoll(std::string(e[j])) == std::stoll(std::string(e[j - 1])) + 1;
                if (!ok) ++bad;
            }
            rte_rcu_qsbr_quiescent(rcu, 0);
        }
        rte_rcu_qsbr_thread_offline(rcu, 0);
        rte_rcu_qsbr_thread_unregister(rcu, 0);
    });
    std::mt19937 rng(3);
    uint64_t same = 0, moved = 0;
    // Two seconds of writes (at least 20,000) over a list of a few thousand
    // entries: a head edit moves tens of KiB under the seqlock, long
    // enough for the reader to land inside one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int step = 0; step < 20000 || std::chrono::steady_clock::now() < deadline; ++step) {
        const store::Item* before = item("l");
        const uint32_t op = hi - lo > 6000 ? 2 + rng() % 2 : hi - lo < 2000 ? rng() % 2 : rng() % 4;
        if (op == 0) {
            run({"rpush", "l", num(hi), num(hi + 1)});
            hi += 2;
        } else if (op == 1) {
            run({"lpush", "l", num(lo - 1), num(lo - 2)});
            lo -= 2;
        } else if (op == 2) {
            run({"lpop", "l", "2"});
            lo += 2;
        } else {
            run({"rpop", "l"});
            --hi;
        }
        (item("l") == before ? same : moved)++;
    }
    stop = true;
    reader.join();
    shards_.clear();
    ptrs_.clear();
    rte_free(rcu);
    EXPECT_GT(hits.load(), 0u);
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(same, 10000u);
    EXPECT_GT(moved, 10u);
}

// redis-benchmark's LPUSH/LPOP rows on the owner alone: -n pushes of its
// 3-byte value to one list, then as many pops (RPUSH/RPOP the same), the
// mean cost of one command printed (docs/resp-bench.md has the figures
// before and after the in-place edits). The replies are checked.
TEST_F(ListInPlace, BenchmarkShapedPushesAndPopsPrinted) {
    using Clock = std::chrono::steady_clock;
    fresh_shards();
    const auto per_op = [](Clock::time_point t0, size_t n) {
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
               static_cast<double>(n);
    };
    for (const size_t n : {10000u, 100000u}) {
        for (const bool left : {true, false}) {
            run({"del", "mylist"});
            const std::string push = left ? "lpush" : "rpush";
            const std::string pop = left ? "lpop" : "rpop";
            auto t0 = Clock::now();
            for (size_t i = 0; i < n; ++i)
                ASSERT_EQ(run({push, "mylist", "xxx"}), ":" + std::to_string(i + 1) + "\r\n");
            const double push_us = per_op(t0, n);
            t0 = Clock::now();
            for (size_t i = 0; i < n; ++i)
                ASSERT_EQ(run({pop, "mylist"}), "$3\r\nxxx\r\n");
            const double pop_us = per_op(t0, n);
            EXPECT_EQ(run({"llen", "mylist"}), ":0\r\n");
            std::printf("list-bench n=%zu %s_us=%.2f %s_us=%.2f\n", n, push.c_str(), push_us,
                        pop.c_str(), pop_us);
        }
    }
}

}  // namespace
}  // namespace fulmar::engine
