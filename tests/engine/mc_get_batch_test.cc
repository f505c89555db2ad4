// The batched GET path against the classic engine: two stores built by the
// same commands, one answering get lines through McGetBatch, the other
// through McSession; replies and counters must match, including misses,
// expired items, gets' CAS, duplicate keys, two shards of which this thread
// owns one, and the requests the batch must leave to the full path.
#include "engine/mc_get_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../store/shard_fixture.h"
#include "engine/mc_session.h"
#include "proto/mc_frame.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

using namespace std::string_literals;

// One store with its context and a session on it.
struct Node {
    explicit Node(ManualClock& clock, size_t n_shards) {
        scratch.resize(store::kMaxItemSize);
        for (size_t i = 0; i < n_shards; ++i) {
            shards.push_back(store::testing::make_shard(8 << 20));
            ptrs.push_back(shards.back().get());
        }
        ctx.shards = ptrs;
        ctx.clock = &clock;
        ctx.scratch = scratch;
        ctx.stats = &stats;
        ctx.started = clock.now();
        session = std::make_unique<McSession>(ctx);
    }
    std::string run(std::string_view in) {
        proto::StringSink sink;
        session->reset();
        session->feed(in, sink);
        return sink.out;
    }
    std::vector<char> scratch;
    std::vector<std::unique_ptr<store::Shard>> shards;
    std::vector<store::Shard*> ptrs;
    EngineStats stats;
    EngineCtx ctx;
    std::unique_ptr<McSession> session;
};

void expect_same_stats(const EngineStats& a, const EngineStats& b) {
    EXPECT_EQ(a.cmd_get, b.cmd_get);
    EXPECT_EQ(a.get_hits, b.get_hits);
    EXPECT_EQ(a.get_misses, b.get_misses);
    EXPECT_EQ(a.get_expired, b.get_expired);
}

// Shards, and whether replies are settled per burst after all are written
// (settle_written, the dataplane's way) or each right after its own.
class McGetBatchTest : public ::testing::TestWithParam<std::tuple<size_t, bool>> {
  protected:
    // Both nodes run `cmds` (owning every shard), then own shard 0 only.
    void build(const std::string& cmds) {
        for (Node* n : {&fast_, &full_}) {
            n->ctx.own_shard = -1;
            n->run(cmds);
            n->ctx.own_shard = 0;
            *n->ctx.stats = EngineStats{};
        }
    }

    // Answers `lines` as one batch on fast_ and one by one on full_.
    void check(const std::vector<std::string>& lines, McGetBatch& batch) {
        batch.clear();
        for (const std::string& l : lines) {
            proto::McGetLine gl;
            ASSERT_TRUE(proto::parse_mc_get_line(l, gl)) << l;
            ASSERT_TRUE(batch.add(gl));
        }
        batch.lookup(fast_.ctx);
        written_.assign(lines.size(), 0);
        const bool per_burst = std::get<1>(GetParam());
        uint64_t written = 0;
        for (size_t i = 0; i < lines.size(); ++i) {
            const std::string want = full_.run(lines[i]);
            std::string got(room_, '\0');
            const size_t len = batch.write_reply(i, got.data(), room_);
            written_[i] = len;
            if (len == 0) {
                // Left to the full path: it answers on this store as usual.
                EXPECT_GT(want.size(), 0u);
                got = fast_.run(lines[i]);
            } else {
                got.resize(len);
                if (per_burst)
                    written |= uint64_t{1} << i;
                else
                    batch.settle(fast_.ctx, i);
            }
            EXPECT_EQ(got, want) << lines[i];
        }
        if (per_burst) batch.settle_written(fast_.ctx, written);
        expect_same_stats(*fast_.ctx.stats, *full_.ctx.stats);
    }

    size_t room_ = proto::kMcUdpMaxPayload;
    std::vector<size_t> written_;  // reply lengths of the last check()
    ManualClock clock_;
    Node fast_{clock_, std::get<0>(GetParam())};
    Node full_{clock_, std::get<0>(GetParam())};
};

TEST_P(McGetBatchTest, HitsMissesCasAndDuplicates) {
    build("set a 1 0 3\r\nabc\r\nset b 4294967295 0 0\r\n\r\nset c 0 0 5\r\nhello\r\n");
    McGetBatch batch;
    check({"get a\r\n", "gets a b c\r\n", "get nope\n", "get a a nope a\r\n", "gets b\r\n"}, batch);
    // The first hit marked the items fetched: meta's h flag now says so on both.
    EXPECT_EQ(fast_.run("mg a h\r\n"), full_.run("mg a h\r\n"));
}

TEST_P(McGetBatchTest, ExpiredItemsAreMissesAndCounted) {
    build("set x 0 2 1\r\n1\r\nset y 0 100 1\r\n2\r\nset z 0 0 1\r\n3\r\n");
    clock_.advance(5);
    McGetBatch batch;
    check({"get x y z\r\n", "get x\r\n"}, batch);
}

TEST_P(McGetBatchTest, LeavesLargeValuesAndLongRepliesToTheFullPath) {
    const std::string big(3000, 'v');
    const std::string mid(700, 'm');
    build("set big 0 0 3000\r\n" + big + "\r\nset m1 0 0 700\r\n" + mid + "\r\nset m2 0 0 700\r\n" +
          mid + "\r\nset s 0 0 1\r\nx\r\n");
    McGetBatch batch;
    check({"get s big\r\n", "get m1 m2\r\n", "get m1 s\r\n", "get s\r\n"}, batch);
    EXPECT_EQ(written_[0], 0u);  // a value over the slot
    EXPECT_EQ(written_[1], 0u);  // two datagrams' worth
    EXPECT_GT(written_[2], 0u);
}

// The room check is exact: a reply of exactly the room fits, one byte more
// does not (then the full path answers).
TEST_P(McGetBatchTest, ReplyFillingTheRoomExactlyFits) {
    build("set k 0 0 10\r\n0123456789\r\n");
    const size_t exact = ("VALUE k 0 10\r\n0123456789\r\nEND\r\n"s).size();
    McGetBatch batch;
    room_ = exact;
    check({"get k\r\n"}, batch);
    EXPECT_EQ(written_[0], exact);
    room_ = exact - 1;
    check({"get k\r\n"}, batch);
    EXPECT_EQ(written_[0], 0u);
}

TEST_P(McGetBatchTest, RandomBatchesMatchTheEngine) {
    std::mt19937_64 rng(7);
    std::string cmds;
    for (int i = 0; i < 300; ++i) {
        const std::string v(rng() % 40, static_cast<char>('a' + rng() % 26));
        cmds += "set k" + std::to_string(i) + " " + std::to_string(rng() % 5) + " " +
                std::to_string(rng() % 4 == 0 ? 1 : 0) + " " + std::to_string(v.size()) + "\r\n" +
                v + "\r\n";
    }
    build(cmds);
    clock_.advance(3);
    McGetBatch batch;
    for (int round = 0; round < 50; ++round) {
        std::vector<std::string> lines;
        size_t keys = 0;
        while (lines.size() < McGetBatch::kMaxRequests) {
            const size_t n = 1 + rng() % 6;
            if (keys + n > McGetBatch::kMaxKeys) break;
            std::string l = rng() % 3 == 0 ? "gets" : "get";
            for (size_t j = 0; j < n; ++j)
                l += " k" + std::to_string(rng() % 400);
            lines.push_back(l + "\r\n");
            keys += n;
        }
        check(lines, batch);
    }
}

TEST_P(McGetBatchTest, AddRefusesWhenFull) {
    McGetBatch batch;
    proto::McGetLine one;
    ASSERT_TRUE(proto::parse_mc_get_line("get k\r\n", one));
    for (size_t i = 0; i < McGetBatch::kMaxRequests; ++i)
        ASSERT_TRUE(batch.add(one));
    EXPECT_FALSE(batch.add(one));
    batch.clear();
    std::string l = "get";
    for (size_t i = 0; i < proto::kMcGetLineMaxKeys; ++i)
        l += " k";
    l += "\r\n";  // the line outlives the views into it
    proto::McGetLine many;
    ASSERT_TRUE(proto::parse_mc_get_line(l, many));
    static_assert(McGetBatch::kMaxKeys % proto::kMcGetLineMaxKeys == 0);
    for (size_t i = 0; i < McGetBatch::kMaxKeys / proto::kMcGetLineMaxKeys; ++i)
        ASSERT_TRUE(batch.add(many));
    EXPECT_FALSE(batch.add(one));
}

TEST_P(McGetBatchTest, DatagramsJoinOnlyAsPlainGetsAndAFullBatchKeepsTheLine) {
    using R = McGetBatch::AddResult;
    McGetBatch batch;
    EXPECT_EQ(batch.add_datagram("set k 0 0 1\r\nx\r\n"), R::kNotPlainGet);
    EXPECT_EQ(batch.add_datagram("get  k\r\n"), R::kNotPlainGet);  // not the canonical form
    EXPECT_EQ(batch.add_datagram("get a\r\nget b\r\n"), R::kNotPlainGet);
    EXPECT_TRUE(batch.empty());
    std::string l = "gets";
    for (size_t i = 0; i < proto::kMcGetLineMaxKeys; ++i)
        l += " k";
    l += "\r\n";
    constexpr size_t kFullLines = McGetBatch::kMaxKeys / proto::kMcGetLineMaxKeys;
    for (size_t i = 0; i < kFullLines; ++i)
        EXPECT_EQ(batch.add_datagram(l), R::kAdded);
    EXPECT_EQ(batch.add_datagram("get last\r\n"), R::kFull);
    EXPECT_EQ(batch.size(), kFullLines);
    batch.clear();
    batch.add_pending();  // the refused line, without a second parse
    EXPECT_EQ(batch.size(), 1u);
    // It is `get last`: answered as the engine answers it.
    build("set last 3 0 2\r\nok\r\n");
    batch.lookup(fast_.ctx);
    std::string got(room_, '\0');
    const size_t len = batch.write_reply(0, got.data(), room_);
    EXPECT_EQ(got.substr(0, len), full_.run("get last\r\n"));
    EXPECT_EQ(got.substr(0, len), "VALUE last 3 2\r\nok\r\nEND\r\n");
}

// asks_for names every pending key and no other, whether the keys came
// before or after an earlier question (the filter fills as it is asked),
// and nothing once the batch is cleared.
TEST(McGetBatchAsksFor, EveryPendingKeyAndNoOther) {
    McGetBatch batch;
    std::vector<std::string> lines;
    std::vector<std::string> keys;
    for (size_t len : {1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 250}) {
        for (char c : {'a', 'k', 'z'}) {
            std::string k(len, 'x');
            k.front() = c;
            k.back() = static_cast<char>(c + 1);
            keys.push_back(k);
        }
    }
    lines.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        lines.push_back("get " + keys[i] + "\r\n");
        ASSERT_EQ(batch.add_datagram(lines.back()), McGetBatch::AddResult::kAdded);
        // Every key so far is named; the next ones are not yet.
        for (size_t j = 0; j < keys.size(); ++j)
            EXPECT_EQ(batch.asks_for(keys[j]), j <= i) << i << " " << keys[j];
    }
    for (const std::string& k : keys) {
        // One byte changed anywhere, one byte more or less: not pending.
        for (size_t at = 0; at<k.size(); at += k.size()> 20 ? 13 : 1) {
            std::string other = k;
            other[at] = '#';
            EXPECT_FALSE(batch.asks_for(other)) << other;
        }
        EXPECT_FALSE(batch.asks_for(k + "x"));
        if (k.size() > 1) {
            const std::string shorter = k.substr(0, k.size() - 1);
            EXPECT_EQ(batch.asks_for(shorter),
                      std::find(keys.begin(), keys.end(), shorter) != keys.end());
        }
    }
    batch.clear();
    for (const std::string& k : keys)
        EXPECT_FALSE(batch.asks_for(k));
    lines.push_back("get " + keys[4] + "\r\n");
    ASSERT_EQ(batch.add_datagram(lines.back()), McGetBatch::AddResult::kAdded);
    EXPECT_TRUE(batch.asks_for(keys[4]));
    EXPECT_FALSE(batch.asks_for(keys[5]));
}

INSTANTIATE_TEST_SUITE_P(Shards, McGetBatchTest,
                         ::testing::Combine(::testing::Values(size_t{1}, size_t{2}, size_t{3}),
                                            ::testing::Bool()));

}  // namespace
}  // namespace fulmar::engine

namespace fulmar::engine {
namespace {

// write_mc_value_line against the line spelled out, for the one-store tail
// (one-digit flags, two-digit lengths, no cas) and every case around it,
// with the longest key; and nothing written past the line but, for the
// one-store tail, the one byte it documents.
TEST(McValueLine, EverySpellingAroundTheOneStoreTail) {
    const std::string key(proto::kMcMaxKeyLen, 'k');
    const uint64_t cas = 12345;
    for (const uint32_t flags : {0u, 1u, 9u, 10u, 11u, 99u, 100u, 4294967295u}) {
        for (size_t bytes = 0; bytes < 130; ++bytes) {
            for (const uint64_t* c : {static_cast<const uint64_t*>(nullptr), &cas}) {
                std::string want =
                    "VALUE " + key + " " + std::to_string(flags) + " " + std::to_string(bytes);
                if (c != nullptr) want += " " + std::to_string(*c);
                want += "\r\n";
                std::array<char, kMcValueLineMax> buf;
                buf.fill('#');
                const size_t n = write_mc_value_line(buf.data(), key, flags, bytes, c);
                ASSERT_EQ(std::string(buf.data(), n), want) << flags << " " << bytes;
                EXPECT_EQ(n, mc_value_line_len(key, flags, bytes, c));
                const bool one_store = flags < 10 && bytes >= 10 && bytes < 100 && c == nullptr;
                for (size_t i = n + (one_store ? 1 : 0); i < buf.size(); ++i)
                    ASSERT_EQ(buf[i], '#') << flags << " " << bytes << " at " << i;
            }
        }
    }
}

}  // namespace
}  // namespace fulmar::engine
