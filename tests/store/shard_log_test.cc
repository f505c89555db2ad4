// The shard's mutation log: a replica that applies the records in order
// holds the primary's items exactly (mutations of every kind, a full sync
// interleaved with writes), and a log that fills drops records with a gap
// the consumer sees instead of stalling the owner.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "repl/mutation_log.h"
#include "shard_fixture.h"
#include "store/exptime.h"
#include "store/shard.h"

namespace fulmar::store {
namespace {

using testing::make_shard;

struct LogMemory {
    explicit LogMemory(size_t capacity)
        : bytes(repl::log_bytes(capacity)),
          mem(static_cast<std::byte*>(std::aligned_alloc(64, bytes))) {
        shared = repl::init_log({mem, bytes}, capacity);
    }
    ~LogMemory() { std::free(mem); }
    size_t bytes;
    std::byte* mem;
    repl::LogShared* shared = nullptr;
};

// Everything a replica must hold of an item.
std::map<std::string, std::string> items_of(const Shard& s, UnixTime now) {
    std::map<std::string, std::string> out;
    uint32_t pos = 0;
    do {
        pos = s.walk(pos, 1 << 20, now, [&](const Item& it) {
            out[std::string(it.key())] =
                std::to_string(it.type_bits & ~kItemFetched) + "/" +
                std::to_string(it.client_flags) + "/" + std::to_string(it.exptime) + "/" +
                std::to_string(it.expire_ms) + "/" + std::to_string(it.cas) + "/" +
                std::to_string(it.time) + "/" + std::string(it.value());
            return true;
        });
    } while (pos != 0);
    return out;
}

struct ShardLogTest : ::testing::Test {
    ManualClock clock;
    UnixTime now() const { return clock.now(); }
    std::unique_ptr<Shard> primary = make_shard(4 << 20);
    std::unique_ptr<Shard> replica = make_shard(4 << 20);
    LogMemory log{1 << 20};
    repl::LogWriter writer{log.shared};
    repl::LogReader reader{log.shared};
    uint64_t applied_seq = 0;
    uint64_t gaps = 0;
    uint32_t want_snapshot = 0;  // kSnap* records of other syncs are not ours

    void SetUp() override {
        primary->set_mutation_log(&writer);
        reader.enable();
    }
    // What the control plane and a replica's owner do, in one step.
    void pump() {
        ASSERT_TRUE(reader.drain(SIZE_MAX, [&](const repl::RecordView& r) {
            if (repl::is_snapshot(r.h.kind) && r.h.snapshot_id != want_snapshot) return;
            if (repl::is_mutation(r.h.kind)) {
                if (r.h.seq != applied_seq + 1) ++gaps;
                applied_seq = r.h.seq;
            }
            (void)replica->apply(r, now());
        }));
    }
    void random_writes(std::mt19937& rng, int n, bool flushes = true) {
        for (int i = 0; i < n; ++i) {
            const std::string k = "k" + std::to_string(rng() % 3000);
            const std::string v(rng() % 300, static_cast<char>('a' + rng() % 26));
            const KeyRef key(k);
            switch (rng() % 10) {
                case 0:
                case 1:
                case 2: {
                    const int64_t ttl = rng() % 4 == 0 ? 1 + rng() % 5 : 0;
                    (void)primary->store(StoreMode::kSet, key, v,
                                         {.flags = static_cast<uint32_t>(rng() % 7),
                                          .exptime = exptime_to_abs(ttl, now())},
                                         now());
                    break;
                }
                case 3:
                    (void)primary->store(StoreMode::kAppend, key, "+x", {}, now());
                    break;
                case 4:
                    (void)primary->store(StoreMode::kSet, key, std::to_string(rng() % 1000), {},
                                         now());
                    break;
                case 5: {
                    uint64_t out = 0;
                    (void)primary->arith(key, rng() % 2 ? ArithOp::kIncr : ArithOp::kDecr,
                                         rng() % 2000, now(), 0, out);
                    break;
                }
                case 6:
                    (void)primary->remove(key, now());
                    break;
                case 7:
                    (void)primary->touch(key, exptime_to_abs(rng() % 3, now()), now());
                    break;
                case 8:
                    if (Item* it = primary->find(key, now()))
                        primary->modify(it, [](Item& m) { m.client_flags ^= 0x100; });
                    break;
                case 9:
                    if (flushes && rng() % 400 == 0) primary->flush_all(rng() % 2 ? 0 : 2, now());
                    if (rng() % 50 == 0) clock.advance(1);
                    break;
            }
        }
    }
};

TEST_F(ShardLogTest, AReplicaApplyingTheLogHoldsThePrimarysItems) {
    std::mt19937 rng(7);
    for (int round = 0; round < 40; ++round) {
        random_writes(rng, 2000);  // 4 MiB of 3000 keys up to 300 B: evictions happen
        pump();
        (void)primary->sweep(1 << 20, now());  // expiry logged as deletions
        pump();
        EXPECT_EQ(items_of(*replica, now()), items_of(*primary, now())) << "round " << round;
    }
    EXPECT_EQ(gaps, 0u);
    EXPECT_GT(primary->stats().evictions, 0u) << "the workload must evict";
    EXPECT_EQ(applied_seq, writer.last_seq());
}

TEST_F(ShardLogTest, FullSyncInterleavedWithWritesEndsIdentical) {
    std::mt19937 rng(11);
    // Items written before any replica: not in the log.
    log.shared->enabled.store(0);
    random_writes(rng, 5000);
    for (int i = 0; i < 1000; ++i)
        (void)primary->store(StoreMode::kSet, KeyRef("p" + std::to_string(i)), "value", {}, now());
    // A delayed flush_all still pending when the sync starts must be
    // pending on the replica too (kSnapBegin carries the horizons).
    primary->flush_all(3600, now());
    reader.enable();
    // The replica holds junk first: the snapshot must clear it.
    (void)replica->store(StoreMode::kSet, KeyRef("junk"), "x", {}, now());
    want_snapshot = 3;
    Shard::SnapshotCursor c;
    bool done = false;
    int steps = 0;
    // A snapshot record of another replica's sync is ignored here.
    Shard::SnapshotCursor other;
    (void)primary->snapshot_step(9, other, 100, 0, now());
    while (!done) {
        done = primary->snapshot_step(3, c, 64, 4096, now());
        random_writes(rng, 20, false);
        pump();
        ++steps;
    }
    EXPECT_GT(steps, 10);
    // (Expired and flushed items the primary still holds are not sent:
    // the replica holds the live ones.)
    const auto want = items_of(*primary, now());
    EXPECT_GT(want.size(), 500u);
    EXPECT_EQ(items_of(*replica, now()), want);
    // Past the pending flush's horizon both drop the same items.
    clock.advance(3700);
    EXPECT_LT(items_of(*primary, now()).size(), want.size());
    EXPECT_EQ(items_of(*replica, now()), items_of(*primary, now()));
}

TEST_F(ShardLogTest, AWalkWithAFilterLogsOnlyTheKeysItKeepsAndDropStepDeletesTheOthers) {
    // A ring move's walk logs only the keys that change hands; the drop
    // walk after the flip deletes exactly those, each a logged delete.
    log.shared->enabled.store(0);
    for (int i = 0; i < 2000; ++i)
        (void)primary->store(StoreMode::kSet, KeyRef("k" + std::to_string(i)), "v", {}, now());
    reader.enable();
    const auto odd = [](const void*, std::string_view key) { return (key.back() - '0') % 2 == 1; };
    Shard::SnapshotCursor c;
    while (!primary->snapshot_step(4, c, 64, 4096, now(), {.fn = odd}))
        ;
    size_t items = 0;
    ASSERT_TRUE(reader.drain(SIZE_MAX, [&](const repl::RecordView& r) {
        if (r.h.kind != repl::RecordKind::kSnapItem) return;
        EXPECT_EQ((r.key.back() - '0') % 2, 1) << r.key;
        ++items;
    }));
    EXPECT_EQ(items, 1000u);
    Shard::SnapshotCursor d;
    uint64_t dropped = 0;
    while (!primary->drop_step(d, 100, now(), {.fn = odd}, dropped))
        ;
    EXPECT_EQ(dropped, 1000u);
    size_t deletes = 0;
    ASSERT_TRUE(reader.drain(SIZE_MAX, [&](const repl::RecordView& r) {
        EXPECT_EQ(r.h.kind, repl::RecordKind::kDelete);
        ++deletes;
    }));
    EXPECT_EQ(deletes, 1000u);
    for (const auto& [key, value] : items_of(*primary, now()))
        EXPECT_EQ((key.back() - '0') % 2, 0) << key;
    EXPECT_EQ(items_of(*primary, now()).size(), 1000u);
}

TEST_F(ShardLogTest, AReplicasLogMirrorsItsPrimarysHistory) {
    // The replica logs what it applies, under the primary's seqs; a second
    // replica fed from the first one's log ends with the primary's items.
    LogMemory rlog(1 << 20);
    repl::LogWriter rwriter(rlog.shared);
    repl::LogReader rreader(rlog.shared);
    rreader.enable(repl::kLogMirror);
    replica->set_mutation_log(&rwriter);
    std::unique_ptr<Shard> second = make_shard(8 << 20);
    std::mt19937 rng(5);
    uint64_t checked = 0;
    for (int round = 0; round < 10; ++round) {
        random_writes(rng, 1000);
        pump();
        (void)replica->sweep(1 << 20, now());  // the replica's own expiry: not logged
        ASSERT_TRUE(rreader.drain(SIZE_MAX, [&](const repl::RecordView& r) {
            EXPECT_TRUE(repl::is_mutation(r.h.kind));
            EXPECT_EQ(r.h.seq, ++checked) << "the primary's seqs, none of the replica's own";
            (void)second->apply(r, now());
        }));
    }
    EXPECT_EQ(checked, writer.last_seq());
    EXPECT_EQ(items_of(*second, now()), items_of(*primary, now()));
}

TEST(MutationLog, AFullLogDropsWithAGapAndNeverWaits) {
    LogMemory log(4096);
    repl::LogWriter w(log.shared);
    repl::LogReader r(log.shared);
    r.enable();
    const std::string v(100, 'v');
    int written = 0;
    for (int i = 0; i < 100; ++i)
        written +=
            w.append_mutation({.kind = repl::RecordKind::kStore, .type_bits = 1}, "key", v) ? 1 : 0;
    EXPECT_LT(written, 100);
    EXPECT_EQ(r.dropped(), static_cast<uint64_t>(100 - written));
    // Snapshot records keep room for mutations: none is written into the
    // last `keep_free` bytes.
    uint64_t last = 0, n = 0;
    ASSERT_TRUE(r.drain(SIZE_MAX, [&](const repl::RecordView& rv) {
        EXPECT_EQ(rv.h.seq, last + 1);
        last = rv.h.seq;
        ++n;
    }));
    EXPECT_EQ(n, static_cast<uint64_t>(written));
    // After the gap the seq jumps: the consumer knows what it lost.
    ASSERT_TRUE(w.append_mutation({.kind = repl::RecordKind::kDelete}, "key", {}));
    ASSERT_TRUE(r.drain(SIZE_MAX, [&](const repl::RecordView& rv) { EXPECT_EQ(rv.h.seq, 101u); }));
    int snaps = 0;
    while (w.append_snapshot({.kind = repl::RecordKind::kSnapItem, .type_bits = 1}, "k", v, 1024))
        ++snaps;
    EXPECT_GT(snaps, 0);
    EXPECT_GE(w.capacity() - w.used(), 1024u);
}

TEST(MutationLog, RecordsWrapAroundTheRingIntact) {
    LogMemory log(4096);
    repl::LogWriter w(log.shared);
    repl::LogReader r(log.shared);
    r.enable();
    uint64_t expect = 1;
    for (int i = 0; i < 500; ++i) {
        const std::string key = "key" + std::to_string(i);
        const std::string v(static_cast<size_t>(i % 200), static_cast<char>('a' + i % 26));
        ASSERT_TRUE(w.append_mutation({.kind = repl::RecordKind::kStore, .type_bits = 1}, key, v));
        ASSERT_TRUE(r.drain(SIZE_MAX, [&](const repl::RecordView& rv) {
            EXPECT_EQ(rv.h.seq, expect++);
            EXPECT_EQ(rv.key, key);
            EXPECT_EQ(rv.value, v);
        }));
    }
    EXPECT_EQ(expect, 501u);
}

TEST(MutationLog, ParseRejectsWhatNoWriterMakes) {
    repl::RecordHeader h{};
    h.kind = repl::RecordKind::kStore;
    h.key_len = 3;
    h.value_len = 2;
    h.size = static_cast<uint32_t>(repl::record_size(3, 2));
    std::string bytes(reinterpret_cast<const char*>(&h), sizeof(h));
    bytes += "keyvv";
    bytes.resize(h.size, '\0');
    repl::RecordView v;
    EXPECT_EQ(repl::parse_record(bytes, v), repl::ParseStatus::kOk);
    EXPECT_EQ(v.key, "key");
    EXPECT_EQ(repl::parse_record(bytes.substr(0, 20), v), repl::ParseStatus::kShort);
    EXPECT_EQ(repl::parse_record(bytes.substr(0, h.size - 1), v), repl::ParseStatus::kShort);
    h.size += 8;
    std::memcpy(bytes.data(), &h, sizeof(h));
    EXPECT_EQ(repl::parse_record(bytes, v), repl::ParseStatus::kBad);
    h.size -= 8;
    h.kind = static_cast<repl::RecordKind>(42);
    std::memcpy(bytes.data(), &h, sizeof(h));
    EXPECT_EQ(repl::parse_record(bytes, v), repl::ParseStatus::kBad);
}

}  // namespace
}  // namespace fulmar::store
