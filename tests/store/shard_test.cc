#include "store/shard.h"

#include <gtest/gtest.h>

#include <set>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "shard_fixture.h"
#include "store/exptime.h"

namespace fulmar::store {
namespace {

using testing::make_shard;

struct ShardTest : ::testing::Test {
    std::unique_ptr<Shard> shard = make_shard(8 << 20);
    ManualClock clock;
    UnixTime now() const { return clock.now(); }

    StoreStatus set(std::string_view k, std::string_view v, uint32_t flags = 0, int64_t ttl = 0,
                    StoreMode mode = StoreMode::kSet, uint64_t cas_in = 0) {
        StoreArgs a{.flags = flags, .exptime = exptime_to_abs(ttl, now()), .cas_in = cas_in};
        return shard->store(mode, KeyRef(k), v, a, now());
    }
    // `n` one-byte items under the keys s0000000, s0000001...
    void fill_small(Shard& s, int n) {
        char key[32];
        for (int i = 0; i < n; ++i) {
            const int len = snprintf(key, sizeof key, "s%07d", i);
            ASSERT_EQ(s.store(StoreMode::kSet, KeyRef(std::string_view(key, len)), "v", {}, now()),
                      StoreStatus::kStored);
        }
    }
    // Value through the lock-free reader; "<miss>" when absent.
    std::vector<char> buf = std::vector<char>(kMaxItemSize);  // one per test, not per read
    std::string get(std::string_view k, ItemMeta* meta = nullptr) {
        ItemMeta m;
        if (shard->read(KeyRef(k), now(), buf, m) != ReadStatus::kHit) return "<miss>";
        if (meta) *meta = m;
        return std::string(buf.data(), m.value_len);
    }
};

TEST_F(ShardTest, SetThenReadReturnsValueFlagsAndCas) {
    uint64_t cas = 0;
    ASSERT_EQ(shard->store(StoreMode::kSet, KeyRef("k"), "hello", {.flags = 42}, now(), &cas),
              StoreStatus::kStored);
    ItemMeta m;
    EXPECT_EQ(get("k", &m), "hello");
    EXPECT_EQ(m.flags, 42u);
    EXPECT_EQ(m.cas, cas);
    EXPECT_EQ(cas, 1u);  // memcached's first CAS unique
    EXPECT_EQ(get("other"), "<miss>");
}

TEST_F(ShardTest, OverwriteGivesANewCasAndValue) {
    set("k", "a");
    ItemMeta m1, m2;
    get("k", &m1);
    set("k", "bb");
    EXPECT_EQ(get("k", &m2), "bb");
    EXPECT_GT(m2.cas, m1.cas);
    EXPECT_EQ(shard->n_items(), 1u);
}

TEST_F(ShardTest, EmptyValuesAreStored) {
    EXPECT_EQ(set("k", ""), StoreStatus::kStored);
    EXPECT_EQ(get("k"), "");
}

TEST_F(ShardTest, AddStoresOnlyWhenAbsent) {
    EXPECT_EQ(set("k", "1", 0, 0, StoreMode::kAdd), StoreStatus::kStored);
    EXPECT_EQ(set("k", "2", 0, 0, StoreMode::kAdd), StoreStatus::kNotStored);
    EXPECT_EQ(get("k"), "1");
}

TEST_F(ShardTest, ReplaceStoresOnlyWhenPresent) {
    EXPECT_EQ(set("k", "1", 0, 0, StoreMode::kReplace), StoreStatus::kNotStored);
    set("k", "1");
    EXPECT_EQ(set("k", "2", 0, 0, StoreMode::kReplace), StoreStatus::kStored);
    EXPECT_EQ(get("k"), "2");
}

TEST_F(ShardTest, CasStoresOnMatchOnlyAndReportsMissingAndStale) {
    EXPECT_EQ(set("k", "x", 0, 0, StoreMode::kCas, 1), StoreStatus::kNotFound);
    uint64_t cas = 0;
    ASSERT_EQ(shard->store(StoreMode::kSet, KeyRef("k"), "a", {}, now(), &cas),
              StoreStatus::kStored);
    EXPECT_EQ(set("k", "b", 0, 0, StoreMode::kCas, cas + 100), StoreStatus::kExists);
    EXPECT_EQ(set("k", "b", 0, 0, StoreMode::kCas, cas), StoreStatus::kStored);
    EXPECT_EQ(get("k"), "b");
    EXPECT_EQ(set("k", "c", 0, 0, StoreMode::kCas, cas), StoreStatus::kExists);
}

TEST_F(ShardTest, AppendAndPrependKeepFlagsAndTtl) {
    EXPECT_EQ(set("k", "x", 0, 0, StoreMode::kAppend), StoreStatus::kNotStored);
    set("k", "mid", 7, 100);
    EXPECT_EQ(set("k", "-end", 99, 0, StoreMode::kAppend), StoreStatus::kStored);
    EXPECT_EQ(set("k", "start-", 99, 0, StoreMode::kPrepend), StoreStatus::kStored);
    ItemMeta m;
    EXPECT_EQ(get("k", &m), "start-mid-end");
    EXPECT_EQ(m.flags, 7u);
    EXPECT_EQ(m.exptime, now() + 100);
    clock.advance(100);
    EXPECT_EQ(get("k"), "<miss>");
}

TEST_F(ShardTest, DeleteRemovesAndReportsMissing) {
    set("k", "v");
    EXPECT_EQ(shard->remove(KeyRef("k"), now()), StoreStatus::kDeleted);
    EXPECT_EQ(shard->remove(KeyRef("k"), now()), StoreStatus::kNotFound);
    EXPECT_EQ(get("k"), "<miss>");
    EXPECT_EQ(shard->n_items(), 0u);
}

TEST_F(ShardTest, IncrAddsAndWrapsAt64Bits) {
    set("n", "18446744073709551614");
    uint64_t v = 0;
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), 0, v), StoreStatus::kOk);
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 2, now(), 0, v), StoreStatus::kOk);
    EXPECT_EQ(v, 1u);
    EXPECT_EQ(get("n"), "1                   ");  // in place, padded as memcached
}

TEST_F(ShardTest, DecrFloorsAtZeroAndPadsWithSpaces) {
    set("n", "100", 5);
    uint64_t v = 0;
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kDecr, 1, now(), 0, v), StoreStatus::kOk);
    EXPECT_EQ(v, 99u);
    ItemMeta m;
    EXPECT_EQ(get("n", &m), "99 ");
    EXPECT_EQ(m.flags, 5u);
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kDecr, 1000, now(), 0, v), StoreStatus::kOk);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(get("n"), "0  ");
}

TEST_F(ShardTest, IncrPastTheStoredLengthMakesANewItem) {
    set("n", "9", 3, 50);
    uint64_t v = 0;
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), 0, v), StoreStatus::kOk);
    ItemMeta m;
    EXPECT_EQ(get("n", &m), "10");
    EXPECT_EQ(m.flags, 3u);
    EXPECT_EQ(m.exptime, now() + 50);
}

TEST_F(ShardTest, IncrRejectsNonNumericValuesAndMissingKeys) {
    uint64_t v = 0;
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), 0, v), StoreStatus::kNotFound);
    for (const char* bad : {"abc", "", "12abc", "-1", "18446744073709551616"}) {
        set("n", bad);
        EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), 0, v),
                  StoreStatus::kNonNumeric)
            << bad;
    }
    // strtoull's leniency, which memcached inherits: spaces around, a '+'.
    set("n", " +5 x");
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), 0, v), StoreStatus::kOk);
    EXPECT_EQ(v, 6u);
}

TEST_F(ShardTest, IncrChecksCasWhenGiven) {
    uint64_t cas = 0, v = 0;
    ASSERT_EQ(shard->store(StoreMode::kSet, KeyRef("n"), "1", {}, now(), &cas),
              StoreStatus::kStored);
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), cas + 1, v),
              StoreStatus::kExists);
    EXPECT_EQ(shard->arith(KeyRef("n"), ArithOp::kIncr, 1, now(), cas, v), StoreStatus::kOk);
}

TEST_F(ShardTest, ExpiredItemsAreNeverReturned) {
    set("k", "v", 0, 10);
    clock.advance(9);
    EXPECT_EQ(get("k"), "v");
    clock.advance(1);
    EXPECT_EQ(get("k"), "<miss>");
    EXPECT_EQ(shard->find(KeyRef("k"), now()), nullptr);
    EXPECT_EQ(shard->n_items(), 0u);
    EXPECT_EQ(set("k", "v", 0, 0, StoreMode::kReplace), StoreStatus::kNotStored);
}

TEST_F(ShardTest, NegativeExptimeExpiresAtOnce) {
    EXPECT_EQ(set("k", "v", 0, -1), StoreStatus::kStored);
    EXPECT_EQ(get("k"), "<miss>");
}

TEST_F(ShardTest, TouchSetsANewExpiry) {
    EXPECT_EQ(shard->touch(KeyRef("k"), 0, now()), StoreStatus::kNotFound);
    set("k", "v", 0, 10);
    EXPECT_EQ(shard->touch(KeyRef("k"), exptime_to_abs(100, now()), now()), StoreStatus::kTouched);
    clock.advance(50);
    EXPECT_EQ(get("k"), "v");
    EXPECT_EQ(shard->touch(KeyRef("k"), 0, now()), StoreStatus::kTouched);
    clock.advance(1000);
    EXPECT_EQ(get("k"), "v");
}

TEST_F(ShardTest, FlushAllDropsEverythingStoredBefore) {
    set("a", "1");
    set("b", "2");
    shard->flush_all(0, now());
    EXPECT_EQ(get("a"), "<miss>");
    EXPECT_EQ(get("b"), "<miss>");
    set("c", "3");  // same second, after the flush: kept (CAS is newer)
    EXPECT_EQ(get("c"), "3");
}

TEST_F(ShardTest, FlushAllWithDelayTakesEffectAtTheDeadline) {
    set("a", "1");
    shard->flush_all(10, now());
    clock.advance(5);
    EXPECT_EQ(get("a"), "1");
    set("b", "2");
    clock.advance(5);
    EXPECT_EQ(get("a"), "<miss>");
    EXPECT_EQ(get("b"), "<miss>");
    clock.advance(1);
    set("c", "3");
    EXPECT_EQ(get("c"), "3");
}

TEST_F(ShardTest, RejectsItemsLargerThanOnePage) {
    std::string big(kMaxItemSize, 'x');
    EXPECT_EQ(set("k", big), StoreStatus::kTooLarge);
    std::string fits(kMaxItemSize - kItemHeaderSize - 1, 'y');
    EXPECT_EQ(set("k", fits), StoreStatus::kStored);
    EXPECT_EQ(get("k"), fits);
}

TEST_F(ShardTest, SetsNeverFailUnderMemoryPressure) {
    // 8 MiB, 100k items of ~80 bytes: far more than fits.
    char key[32];
    for (int i = 0; i < 200000; ++i) {
        const int n = snprintf(key, sizeof key, "key:%08d", i);
        ASSERT_EQ(set(std::string_view(key, n), std::string(32, static_cast<char>('a' + i % 26))),
                  StoreStatus::kStored)
            << i;
    }
    EXPECT_GT(shard->stats().evictions, 0u);
    // The newest items are there and correct; nothing is ever wrong.
    int hits = 0;
    for (int i = 0; i < 200000; ++i) {
        const int n = snprintf(key, sizeof key, "key:%08d", i);
        std::string v = get(std::string_view(key, n));
        if (v == "<miss>") continue;
        ++hits;
        ASSERT_EQ(v, std::string(32, static_cast<char>('a' + i % 26)));
    }
    EXPECT_EQ(static_cast<uint64_t>(hits), shard->n_items());
    EXPECT_EQ(get("key:00199999"), std::string(32, 'a' + 199999 % 26));
}

TEST_F(ShardTest, ClockKeepsReferencedItemsOverColdOnes) {
    auto small = make_shard(2 << 20);
    const StoreArgs a{};
    char key[32];
    auto put = [&](int i) {
        const int n = snprintf(key, sizeof key, "k%07d", i);
        return small->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), "v", a, now());
    };
    auto hit = [&](int i) {
        const int n = snprintf(key, sizeof key, "k%07d", i);
        char buf[8];
        ItemMeta m;
        return small->read(KeyRef(std::string_view(key, n)), now(), buf, m) == ReadStatus::kHit;
    };
    for (int i = 0; i < 10000; ++i)
        ASSERT_EQ(put(i), StoreStatus::kStored);
    for (int i = 0; i < 100; ++i)
        ASSERT_TRUE(hit(i));  // the hot set
    for (int i = 10000; i < 30000; ++i) {
        ASSERT_EQ(put(i), StoreStatus::kStored);
        if (i % 50 == 0)
            for (int h = 0; h < 100; ++h)
                hit(h);
    }
    int hot_kept = 0;
    for (int i = 0; i < 100; ++i)
        hot_kept += hit(i);
    EXPECT_GE(hot_kept, 95);
}

// find() starts from a hint only while it is still its key's live item:
// after the item was replaced, deleted, or its chunk went to another key,
// the index decides; a page that changed class clears the hint.
TEST_F(ShardTest, AFindHintIsTakenOnlyWhileItIsTheKeysLiveItem) {
    set("a", "a1");
    set("b", "b1");
    Item* a1 = shard->find(KeyRef("a"), now());
    ASSERT_NE(a1, nullptr);
    shard->set_find_hint(a1);
    EXPECT_EQ(shard->find(KeyRef("a"), now()), a1);
    EXPECT_EQ(shard->find(KeyRef("b"), now()), shard->index().find(KeyRef("b").digest));
    // Replaced: the old chunk is free (or holds another key), the index has the new item.
    set("a", "a2");
    EXPECT_EQ(shard->find(KeyRef("a"), now())->value(), "a2");
    // Its chunk reused for another key: still not "a".
    set("c", "c1");
    Item* a2 = shard->index().find(KeyRef("a").digest);
    EXPECT_EQ(shard->find(KeyRef("a"), now()), a2);
    EXPECT_EQ(shard->find(KeyRef("c"), now())->value(), "c1");
    // Deleted: a miss, whatever the hint.
    shard->set_find_hint(a2);
    ASSERT_EQ(shard->remove(KeyRef("a"), now()), StoreStatus::kDeleted);
    EXPECT_EQ(shard->find(KeyRef("a"), now()), nullptr);
    EXPECT_EQ(set("a", "a3"), StoreStatus::kStored);
    EXPECT_EQ(get("a"), "a3");
    shard->set_find_hint(nullptr);

    // A page move clears the hint and counts the detach.
    auto s = make_shard(4 << 20);
    fill_small(*s, 100000);
    char key[32];
    const int n = snprintf(key, sizeof key, "s%07d", 99999);
    const KeyRef last(std::string_view(key, n));
    s->set_find_hint(s->find(last, now()));
    const uint64_t detaches = s->page_detaches();
    const std::string big(300000, 'B');
    ASSERT_EQ(s->store(StoreMode::kSet, KeyRef("big"), big, {}, now()), StoreStatus::kStored);
    EXPECT_GT(s->page_detaches(), detaches);
    Item* found = s->find(last, now());
    EXPECT_EQ(found, s->index().find(last.digest));
}

TEST_F(ShardTest, PagesMoveToAClassThatHasNone) {
    auto s = make_shard(4 << 20);
    // Fill all 4 pages with small items...
    fill_small(*s, 100000);
    char key[32];
    ASSERT_EQ(s->slab().n_free_pages(), 0u);
    // ...then a size class that owns nothing must still get memory.
    std::string big(300000, 'B');
    for (int i = 0; i < 5; ++i) {
        const int n = snprintf(key, sizeof key, "big%d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), big, {}, now()),
                  StoreStatus::kStored);
    }
    EXPECT_GT(s->stats().page_moves, 0u);
    std::vector<char> buf(kMaxItemSize);
    ItemMeta m;
    ASSERT_EQ(s->read(KeyRef("big4"), now(), buf, m), ReadStatus::kHit);
    EXPECT_EQ(std::string(buf.data(), m.value_len), big);
}

TEST_F(ShardTest, RebalanceFollowsAChangingSizeMix) {
    auto s = make_shard(16 << 20);
    char key[32];
    std::string small(40, 's'), large(900, 'L');
    for (int i = 0; i < 400000; ++i) {
        const int n = snprintf(key, sizeof key, "a%07d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), small, {}, now()),
                  StoreStatus::kStored);
    }
    const uint64_t moves_before = s->stats().page_moves;
    for (int i = 0; i < 100000; ++i) {
        const int n = snprintf(key, sizeof key, "b%07d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), large, {}, now()),
                  StoreStatus::kStored);
    }
    // The large class ends up with most of the memory.
    const uint8_t lc = s->slab().class_for(item_total_size(8, 900));
    EXPECT_GT(s->stats().page_moves, moves_before);
    EXPECT_GT(s->slab().cls(lc).n_pages, 8u);
}

TEST_F(ShardTest, SweepFreesExpiredItemsInBoundedSteps) {
    char key[32];
    for (int i = 0; i < 20000; ++i) {
        const int n = snprintf(key, sizeof key, "t%07d", i);
        set(std::string_view(key, n), "v", 0, i % 2 ? 5 : 0);
    }
    ASSERT_EQ(shard->n_items(), 20000u);
    ASSERT_EQ(shard->n_ttl_items(), 10000u);
    const SweepResult early = shard->sweep(1'000'000, now());  // nothing due yet
    EXPECT_EQ(early.reclaimed, 0u);
    EXPECT_EQ(early.chunks, 0u);
    EXPECT_GT(early.pages_skipped, 0u);
    // Free pages hold no item: passed over, but not counted as skipped.
    EXPECT_EQ(early.pages_skipped, early.pages_used);
    EXPECT_LT(early.pages_used, shard->slab().n_pages());
    EXPECT_EQ(early.pages_done, shard->slab().n_pages());  // each page once a step, at most
    clock.advance(5);
    size_t freed = 0, seen = 0, chunks = 0;
    for (int step = 0; step < 1000 && freed < 10000; ++step) {
        const SweepResult r = shard->sweep(256, now());
        EXPECT_LE(r.chunks, 256u);
        EXPECT_LE(r.reclaimed, r.ttl_seen);
        freed += r.reclaimed;
        seen += r.ttl_seen;
        chunks += r.chunks;
    }
    EXPECT_EQ(freed, 10000u);
    EXPECT_EQ(seen, 10000u);  // every TTL'd item here had expired
    EXPECT_EQ(shard->n_items(), 10000u);
    EXPECT_EQ(shard->n_ttl_items(), 0u);
    EXPECT_EQ(shard->stats().sweep_reclaimed, 10000u);
    EXPECT_EQ(shard->stats().sweep_chunks, chunks);
    EXPECT_GT(shard->stats().sweep_steps, 1u);
    EXPECT_GT(shard->stats().sweep_cycles, 0u);
    // Pages whose items never expire are not due again.
    EXPECT_EQ(shard->sweep(1'000'000, now()).reclaimed, 0u);
}

TEST_F(ShardTest, SweepHandsBackTheKeysItFreesWithinItsBound) {
    // Redis's expired events come from these keys (handoff.h SweepStep).
    for (int i = 0; i < 100; ++i) {
        const std::string k = "e" + std::to_string(i);
        set(k, "v", 0, i % 2 ? 5 : 0);
    }
    clock.advance(5);
    SweepKeys keys;
    keys.limit = 1 << 20;
    const SweepResult r = shard->sweep(1'000'000, now(), &keys);
    EXPECT_EQ(r.reclaimed, 50u);
    std::vector<std::string> got;
    for (size_t p = 0; p < keys.bytes.size();) {
        const size_t n = static_cast<unsigned char>(keys.bytes[p]);
        ASSERT_LE(p + 1 + n, keys.bytes.size());
        got.emplace_back(keys.bytes.substr(p + 1, n));
        p += 1 + n;
    }
    std::sort(got.begin(), got.end());
    std::vector<std::string> want;
    for (int i = 1; i < 100; i += 2)
        want.push_back("e" + std::to_string(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(keys.dropped, 0u);
    // Past the bound a key is only counted.
    for (int i = 0; i < 10; ++i)
        set("f" + std::to_string(i), "v", 0, 1);
    clock.advance(2);
    SweepKeys small;
    small.limit = 9;  // room for three 2-byte keys
    EXPECT_EQ(shard->sweep(1'000'000, now(), &small).reclaimed, 10u);
    EXPECT_EQ(small.bytes.size(), 9u);
    EXPECT_EQ(small.dropped, 7u);
}

// Redis's evicted events come from this log: every key the CLOCK hand or a
// page move evicted, none of those still present, none that was not.
TEST_F(ShardTest, TheEvictionLogNamesEveryEvictedKey) {
    auto s = make_shard(4 << 20);
    SweepKeys log;
    log.limit = 8 << 20;
    s->set_eviction_log(&log);
    char key[32];
    for (int i = 0; i < 60000; ++i) {
        const int n = snprintf(key, sizeof key, "s%07d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), "v", {}, now()),
                  StoreStatus::kStored);
    }
    const std::string big(300000, 'B');  // a page move: its page's items go
    ASSERT_EQ(s->store(StoreMode::kSet, KeyRef("big"), big, {}, now()), StoreStatus::kStored);
    const uint64_t evictions = s->stats().evictions;
    ASSERT_GT(evictions, 0u);
    EXPECT_GT(s->stats().page_moves, 0u);
    EXPECT_EQ(log.count, evictions);
    EXPECT_EQ(log.dropped, 0u);
    std::set<std::string> named;
    for (size_t p = 0; p < log.bytes.size();) {
        const size_t n = static_cast<unsigned char>(log.bytes[p]);
        ASSERT_LE(p + 1 + n, log.bytes.size());
        named.emplace(log.bytes.substr(p + 1, n));
        p += 1 + n;
    }
    EXPECT_EQ(named.size(), evictions);
    char buf[8];
    ItemMeta m;
    for (int i = 0; i < 60000; ++i) {
        const int n = snprintf(key, sizeof key, "s%07d", i);
        const bool present =
            s->read(KeyRef(std::string_view(key, n)), now(), buf, m) == ReadStatus::kHit;
        ASSERT_NE(present, named.count(std::string(key, n)) == 1) << key;
    }
    // Off: nothing more is noted.
    s->set_eviction_log(nullptr);
    log.clear();
    for (int i = 0; i < 60000; ++i) {
        const int n = snprintf(key, sizeof key, "t%07d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), "v", {}, now()),
                  StoreStatus::kStored);
    }
    EXPECT_GT(s->stats().evictions, evictions);
    EXPECT_EQ(log.count, 0u);
}

// Redis's maxmemory and maxmemory-policy (store::Shard::set_memory_policy).
TEST_F(ShardTest, AMemoryBudgetEmptiesPagesAndNoevictionFailsInsteadOfEvicting) {
    auto s = make_shard(8 << 20);
    SweepKeys log;
    log.limit = 8 << 20;
    s->set_eviction_log(&log);
    char key[32];
    const std::string v(1000, 'v');
    auto put = [&](int i) {
        const int n = snprintf(key, sizeof key, "m%07d", i);
        return s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), v, {}, now());
    };
    for (int i = 0; i < 8000; ++i)  // more than 8 pages hold: all in use
        ASSERT_EQ(put(i), StoreStatus::kStored);
    ASSERT_EQ(s->slab().n_free_pages(), 0u);
    const uint64_t items = s->n_items();
    log.clear();
    // Down to 2 pages: the rest emptied at once, their keys noted.
    EXPECT_EQ(s->set_memory_policy(2, true, now()), s->slab().n_pages() - 2);
    EXPECT_EQ(s->slab().n_used_pages(), 2u);
    EXPECT_EQ(log.count, items - s->n_items());
    // Writes still succeed by evicting within the budget.
    for (int i = 8000; i < 9000; ++i)
        ASSERT_EQ(put(i), StoreStatus::kStored);
    EXPECT_LE(s->slab().n_used_pages(), 2u);
    // noeviction: a write that needs memory fails, nothing is evicted.
    const uint64_t evictions = s->stats().evictions;
    s->set_memory_policy(2, false, now());
    StoreStatus st = StoreStatus::kStored;
    for (int i = 9000; i < 11000 && st == StoreStatus::kStored; ++i)
        st = put(i);
    EXPECT_EQ(st, StoreStatus::kNoMemory);
    EXPECT_EQ(s->stats().evictions, evictions);
    // None: every page emptied, no write fits. Back to every page: they do.
    s->set_memory_policy(0, true, now());
    EXPECT_EQ(s->n_items(), 0u);
    EXPECT_EQ(put(1), StoreStatus::kNoMemory);
    s->set_memory_policy(shm::kAllPages, true, now());
    for (int i = 0; i < 8000; ++i)
        ASSERT_EQ(put(i), StoreStatus::kStored);
    EXPECT_EQ(s->slab().n_free_pages(), 0u);
}

TEST_F(ShardTest, CountsItemsWithATtlThroughEveryChange) {
    set("a", "v", 0, 100);
    set("b", "v", 0, 0);
    EXPECT_EQ(shard->n_ttl_items(), 1u);
    set("a", "w", 0, 0);  // replaced without a TTL
    EXPECT_EQ(shard->n_ttl_items(), 0u);
    ASSERT_EQ(shard->touch(KeyRef("b"), now() + 100, now()), StoreStatus::kTouched);
    EXPECT_EQ(shard->n_ttl_items(), 1u);
    ASSERT_EQ(shard->remove(KeyRef("b"), now()), StoreStatus::kDeleted);
    EXPECT_EQ(shard->n_ttl_items(), 0u);
    set("c", "v", 0, 2);
    clock.advance(3);
    EXPECT_EQ(shard->find(KeyRef("c"), now()), nullptr);  // expired, reclaimed on sight
    EXPECT_EQ(shard->n_ttl_items(), 0u);
}

TEST_F(ShardTest, AFullIndexEvictsInsteadOfFailing) {
    auto s = make_shard(8 << 20, 1024);
    char key[32];
    for (int i = 0; i < 20000; ++i) {
        const int n = snprintf(key, sizeof key, "i%07d", i);
        ASSERT_EQ(s->store(StoreMode::kSet, KeyRef(std::string_view(key, n)), "v", {}, now()),
                  StoreStatus::kStored)
            << i;
    }
    EXPECT_GT(s->stats().index_full, 0u);
    EXPECT_LE(s->n_items(), s->index().capacity());
    std::vector<char> buf(64);
    ItemMeta m;
    EXPECT_EQ(s->read(KeyRef("i0019999"), now(), buf, m), ReadStatus::kHit);
}

TEST_F(ShardTest, ReadReportsWhenTheBufferIsTooSmall) {
    set("k", "0123456789");
    char buf[4];
    ItemMeta m;
    EXPECT_EQ(shard->read(KeyRef("k"), now(), buf, m), ReadStatus::kBufferTooSmall);
    EXPECT_EQ(m.value_len, 10u);
}

TEST_F(ShardTest, KeysUpTo250BytesAreAccepted) {
    std::string k(250, 'k');
    EXPECT_EQ(set(k, "v"), StoreStatus::kStored);
    EXPECT_EQ(get(k), "v");
    EXPECT_EQ(set(std::string(251, 'k'), "v"), StoreStatus::kTooLarge);
}

}  // namespace
}  // namespace fulmar::store

namespace fulmar::store {
namespace {

TEST_F(ShardTest, BulkReadsMatchSingleReads) {
    char key[32];
    std::vector<std::string> keys;
    for (int i = 0; i < 150; ++i) {
        const int n = snprintf(key, sizeof key, "bulk%03d", i);
        keys.emplace_back(key, n);
        if (i % 3 != 0) set(keys.back(), "value-" + keys.back(), static_cast<uint32_t>(i));
    }
    set("bulk005", "", 0, -1);  // expired: a miss
    std::vector<KeyRef> refs;
    for (auto& k : keys)
        refs.emplace_back(k);
    std::vector<std::array<char, 64>> bufs(keys.size());
    std::vector<Shard::BulkRead> reads(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        reads[i].key = &refs[i];
        reads[i].value_out = bufs[i];
    }
    shard->read_bulk(reads, now());
    for (size_t i = 0; i < keys.size(); ++i) {
        const bool present = i % 3 != 0 && i != 5;
        ASSERT_EQ(reads[i].status == ReadStatus::kHit, present) << keys[i];
        if (!present) continue;
        EXPECT_EQ(std::string(bufs[i].data(), reads[i].meta.value_len), "value-" + keys[i]);
        EXPECT_EQ(reads[i].meta.flags, i);
    }
}

}  // namespace
}  // namespace fulmar::store

namespace fulmar::store {
namespace {

// Redis Cluster's hash tags: the same tag, the same shard; the whole key
// still tells the digests apart.
TEST(HashTag, TaggedKeysShareTheShardHalfOfTheirDigest) {
    EXPECT_EQ(hash_tag("{user1}.following"), "user1");
    EXPECT_EQ(hash_tag("foo{}{bar}"), "");  // an empty first tag: the whole key
    EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
    EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
    EXPECT_EQ(hash_tag("nobraces"), "");
    EXPECT_EQ(hash_tag("open{only"), "");
    const KeyDigest a = digest_key("{t}a"), b = digest_key("x{t}y"), c = digest_key("{u}a");
    EXPECT_EQ(a.hi, b.hi);
    EXPECT_NE(a.lo, b.lo);
    EXPECT_NE(a.hi, c.hi);
    // Untagged keys keep the plain 128-bit digest.
    EXPECT_NE(digest_key("plain1").hi, digest_key("plain2").hi);
    EXPECT_EQ(digest_key("foo{}{bar}"), digest_key("foo{}{bar}"));
}

// A burst's keys digested at once (the GET batch) get digest_key's digests.
TEST(HashTag, DigestKeysIsDigestKeyForEach) {
    const std::string keys[] = {
        "", "a", "key:000000012345", "{t}x", "x{t}", std::string(300, 'k'), "seventeen-bytes-k"};
    KeyRef refs[std::size(keys)];
    for (size_t i = 0; i < std::size(keys); ++i)
        refs[i].key = keys[i];
    digest_keys(refs, std::size(refs));
    for (size_t i = 0; i < std::size(keys); ++i)
        EXPECT_EQ(refs[i].digest, digest_key(keys[i])) << keys[i];
}

// digest_key looks for a '{' eight bytes at a time: a tag at any offset of
// a key of any length (word boundaries, the overlapping last word, keys
// under 8 bytes) is found.
TEST(HashTag, FoundAtEveryOffsetAndLength) {
    const uint64_t tagged = digest_key("{t}").hi;
    for (size_t before = 0; before < 40; ++before) {
        for (size_t after = 0; after < 12; ++after) {
            const std::string key = std::string(before, 'x') + "{t}" + std::string(after, 'y');
            EXPECT_EQ(digest_key(key).hi, tagged) << key;
            // The same bytes without the brace: no tag, the key's own hash.
            const std::string plain = std::string(before, 'x') + "(t}" + std::string(after, 'y');
            EXPECT_NE(digest_key(plain).hi, tagged) << plain;
        }
    }
}

}  // namespace
}  // namespace fulmar::store
