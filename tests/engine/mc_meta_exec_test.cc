// execute_meta: exact reply bytes for every meta command, flag and mode.
//
// Expected strings were taken from Debian's memcached 1.6.18 on loopback
// (same request sequences; our CAS values start at 1 on a fresh shard, so
// the c numbers are ours). Time moves only through the ManualClock.
#include "engine/mc_meta_exec.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "../store/shard_fixture.h"
#include "proto/mc_meta.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

class MetaExec : public ::testing::Test {
  protected:
    void SetUp() override {
        shard_ = store::testing::make_shard(8 << 20);
        ASSERT_NE(shard_, nullptr);
        shards_[0] = shard_.get();
        scratch_.resize(store::kMaxItemSize);
        ctx_.shards = std::span<store::Shard* const>(shards_);
        ctx_.clock = &clock_;
        ctx_.scratch = std::span<char>(scratch_);
        ctx_.stats = &stats_;
        ctx_.started = clock_.now();
    }

    // Parses and executes every request in `input` (pipelined), returning
    // all the reply bytes.
    std::string run(std::string_view input) {
        proto::StringSink sink;
        while (!input.empty()) {
            proto::McMetaRequest req;
            const proto::McMetaResult r = proto::parse_mc_meta(input, req);
            EXPECT_EQ(r.status, proto::ParseStatus::kComplete) << input;
            if (r.status != proto::ParseStatus::kComplete) break;
            execute_meta(req, ctx_, sink);
            input.remove_prefix(r.consumed);
        }
        return sink.out;
    }

    ManualClock clock_;
    std::unique_ptr<store::Shard> shard_;
    std::array<store::Shard*, 1> shards_{};
    std::vector<char> scratch_;
    EngineStats stats_;
    EngineCtx ctx_;
};

// ---- mn, me ---------------------------------------------------------------

TEST_F(MetaExec, NoopAnswersMn) {
    EXPECT_EQ(run("mn\r\n"), "MN\r\n");
}

TEST_F(MetaExec, DebugMissAnswersEn) {
    EXPECT_EQ(run("me nope\r\n"), "EN\r\n");
}

TEST_F(MetaExec, DebugShowsExpiryAccessCasFetchClassAndSize) {
    ASSERT_EQ(run("ms e1 2 T100 F5\r\nhi\r\n"), "HD\r\n");
    // Our size is header 32 + key 2 + value 2; the 64-byte class is the first.
    EXPECT_EQ(run("me e1\r\n"), "ME e1 exp=-100 la=0 cas=1 fetch=no cls=1 size=36\r\n");
    clock_.advance(5);
    ASSERT_EQ(run("mg e1\r\n"), "HD\r\n");
    EXPECT_EQ(run("me e1\r\n"), "ME e1 exp=-95 la=5 cas=1 fetch=yes cls=1 size=36\r\n");
}

TEST_F(MetaExec, DebugShowsMinusOneWithoutTtlAndBase64ForBinaryKeys) {
    ASSERT_EQ(run("ms Zm9v 3 b\r\nbin\r\n"), "HD\r\n");
    EXPECT_EQ(run("me Zm9v b\r\n"), "ME Zm9v exp=-1 la=0 cas=1 fetch=no cls=1 size=38\r\n");
    EXPECT_EQ(run("me foo\r\n"), "ME foo exp=-1 la=0 cas=1 fetch=no cls=1 size=38\r\n");
}

TEST_F(MetaExec, DebugDoesNotCountAsFetch) {
    ASSERT_EQ(run("ms k 1\r\nx\r\n"), "HD\r\n");
    run("me k\r\n");
    EXPECT_EQ(run("mg k h\r\n"), "HD h0\r\n");
}

// ---- mg -------------------------------------------------------------------

TEST_F(MetaExec, GetMissAnswersEn) {
    EXPECT_EQ(run("mg miss\r\n"), "EN\r\n");
}

TEST_F(MetaExec, GetMissEchoesOnlyOpaqueAndKeyInRequestOrder) {
    EXPECT_EQ(run("mg miss k Oa s v\r\n"), "EN kmiss Oa\r\n");
    EXPECT_EQ(run("mg miss Oa t c k\r\n"), "EN Oa kmiss\r\n");
}

TEST_F(MetaExec, GetMissIsSilentInQuietMode) {
    EXPECT_EQ(run("mg miss q k Oa\r\nmn\r\n"), "MN\r\n");
}

TEST_F(MetaExec, GetHitWithoutValueAnswersHd) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo\r\n"), "HD\r\n");
}

TEST_F(MetaExec, GetHitWithValueAnswersVa) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v\r\n"), "VA 3\r\nbar\r\n");
}

TEST_F(MetaExec, GetHitStillAnswersInQuietMode) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo q k\r\nmn\r\n"), "HD kfoo\r\nMN\r\n");
    EXPECT_EQ(run("mg foo q v\r\nmn\r\n"), "VA 3\r\nbar\r\nMN\r\n");
}

TEST_F(MetaExec, GetHitEchoesEveryFlagInRequestOrder) {
    ASSERT_EQ(run("ms v2 2 F7\r\nhi\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg v2 s v c f t k O123 q h l\r\n"),
              "VA 2 s2 c1 f7 t-1 kv2 O123 h0 l0\r\nhi\r\n");
    EXPECT_EQ(run("mg v2 O9 l h k t f c s\r\n"), "HD O9 l0 h1 kv2 t-1 f7 c1 s2\r\n");
}

TEST_F(MetaExec, GetHitBeforeAndNoBump) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo h u\r\n"), "HD h0\r\n");  // u: not marked fetched
    EXPECT_EQ(run("mg foo h\r\n"), "HD h0\r\n");
    EXPECT_EQ(run("mg foo h\r\n"), "HD h1\r\n");
    // A new store starts unfetched again.
    ASSERT_EQ(run("ms foo 3\r\nbaz\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo h\r\n"), "HD h0\r\n");
}

TEST_F(MetaExec, GetLastAccessCountsFromStoreOrTouch) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    clock_.advance(7);
    EXPECT_EQ(run("mg foo l\r\n"), "HD l7\r\n");
}

TEST_F(MetaExec, GetTtlCountsDownAndExpires) {
    ASSERT_EQ(run("ms foo 3 T100\r\nbar\r\n"), "HD\r\n");
    clock_.advance(10);
    EXPECT_EQ(run("mg foo t\r\n"), "HD t90\r\n");
    clock_.advance(90);
    EXPECT_EQ(run("mg foo t\r\n"), "EN\r\n");
}

TEST_F(MetaExec, GetTouchAppliesInRequestOrder) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo t T30\r\n"), "HD t-1\r\n");
    EXPECT_EQ(run("mg foo t\r\n"), "HD t30\r\n");
    EXPECT_EQ(run("mg foo T50 t\r\n"), "HD t50\r\n");
    EXPECT_EQ(run("mg foo T0 t\r\n"), "HD t-1\r\n");
    EXPECT_EQ(ctx_.stats->cmd_touch, 3u);
    EXPECT_EQ(ctx_.stats->touch_hits, 3u);
    EXPECT_EQ(run("mg nope T10\r\n"), "EN\r\n");
    EXPECT_EQ(ctx_.stats->touch_misses, 1u);
}

TEST_F(MetaExec, GetTouchWithNegativeTtlExpiresTheItem) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo T-1\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo\r\n"), "EN\r\n");
}

TEST_F(MetaExec, GetVivifiesOnMissAndHandsOutOneWinToken) {
    EXPECT_EQ(run("mg viv N30 s t c f v k h l Oxyz\r\n"),
              "VA 0 s0 t30 c1 f0 kviv h0 l0 Oxyz W\r\n\r\n");
    EXPECT_EQ(run("mg viv N30 s t c f v k\r\n"), "VA 0 s0 t30 c1 f0 kviv Z\r\n\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("mg viv t v\r\n"), "VA 0 t29 Z\r\n\r\n");
    EXPECT_EQ(run("mg viv q\r\n"), "HD Z\r\n");
    // The winner stores the real value: the token state goes with the old item.
    ASSERT_EQ(run("ms viv 2 c\r\nhi\r\n"), "HD c2\r\n");
    EXPECT_EQ(run("mg viv t v\r\n"), "VA 2 t-1\r\nhi\r\n");
    EXPECT_EQ(ctx_.stats->get_misses, 0u);
}

TEST_F(MetaExec, GetVivifySetsTtlWhereNStandsInTheFlags) {
    EXPECT_EQ(run("mg v1 t N50 v\r\n"), "VA 0 t-1 W\r\n\r\n");
    EXPECT_EQ(run("mg v1 t\r\n"), "HD t50 Z\r\n");
    EXPECT_EQ(run("mg v2 N50 t v c\r\n"), "VA 0 t50 c2 W\r\n\r\n");
}

TEST_F(MetaExec, GetVivifyTakesNewCasFromE) {
    EXPECT_EQ(run("mg v1 N0 E500 c\r\n"), "HD c500 W\r\n");
}

TEST_F(MetaExec, GetVivifiedItemExpiresWithItsTtl) {
    EXPECT_EQ(run("mg v1 N10\r\n"), "HD W\r\n");
    clock_.advance(10);
    EXPECT_EQ(run("mg v1\r\n"), "EN\r\n");
}

TEST_F(MetaExec, GetRecacheWinsOnceWhenTtlBelowToken) {
    ASSERT_EQ(run("ms r 1 T100\r\nx\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg r R30 t\r\n"), "HD t100\r\n");
    EXPECT_EQ(run("mg r R200 t\r\n"), "HD t100 W\r\n");
    EXPECT_EQ(run("mg r R200 t\r\n"), "HD t100 Z\r\n");
}

TEST_F(MetaExec, GetRecacheNeverWinsWithoutTtl) {
    ASSERT_EQ(run("ms r 1\r\nx\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg r R200\r\n"), "HD\r\n");
}

TEST_F(MetaExec, GetBase64KeyEchoesReencodedKey) {
    ASSERT_EQ(run("ms Zm9v 3 b k c\r\nbin\r\n"), "HD kZm9v b c1\r\n");
    EXPECT_EQ(run("mg Zm9v b k v\r\n"), "VA 3 kZm9v b\r\nbin\r\n");
    EXPECT_EQ(run("mg foo v\r\n"), "VA 3\r\nbin\r\n");  // the same bytes as a text key
    EXPECT_EQ(run("mg Zm9vMQ== b k v\r\n"), "EN kZm9vMQ== b\r\n");
    EXPECT_EQ(run("mg Zm9vMQ== b k v q\r\n"), "");
}

TEST_F(MetaExec, GetCountsHitsAndMisses) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    run("mg foo\r\nmg foo v\r\nmg nope\r\n");
    EXPECT_EQ(ctx_.stats->cmd_get, 3u);
    EXPECT_EQ(ctx_.stats->get_hits, 2u);
    EXPECT_EQ(ctx_.stats->get_misses, 1u);
}

// ---- stale / win flow (md I, ms I) ------------------------------------------

TEST_F(MetaExec, InvalidatedItemIsServedStaleWithOneWinToken) {
    ASSERT_EQ(run("ms st 3 T100 c\r\nabc\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("md st I T30 k\r\n"), "HD kst\r\n");
    EXPECT_EQ(run("mg st v c t\r\n"), "VA 3 c2 t30 X W\r\nabc\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("mg st v c t\r\n"), "VA 3 c2 t29 Z X\r\nabc\r\n");
    // Invalidating again clears the token: the next reader wins.
    EXPECT_EQ(run("md st I\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg st s\r\n"), "HD s3 X W\r\n");
    // A set with an older CAS and I stores, still stale, TTL and token kept.
    EXPECT_EQ(run("ms st 3 C1 I c\r\nnew\r\n"), "HD c4\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("mg st v c t\r\n"), "VA 3 c4 t28 Z X\r\nnew\r\n");
    // A newer CAS than the item's is still a mismatch.
    EXPECT_EQ(run("ms st 3 C100 I c\r\nnew\r\n"), "EX c0\r\n");
    // A matching CAS is a plain store: fresh item, not stale.
    EXPECT_EQ(run("ms st 3 C4 I c\r\nfin\r\n"), "HD c5\r\n");
    EXPECT_EQ(run("mg st v t\r\n"), "VA 3 t-1\r\nfin\r\n");
}

TEST_F(MetaExec, SetWithIButWithoutCasModeIsNotStale) {
    ASSERT_EQ(run("ms st 3\r\nabc\r\n"), "HD\r\n");
    EXPECT_EQ(run("ms st 3 I MA\r\ndef\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg st v\r\n"), "VA 6\r\nabcdef\r\n");
}

// ---- ms -------------------------------------------------------------------

TEST_F(MetaExec, SetEchoesCasKeyAndOpaqueInRequestOrder) {
    EXPECT_EQ(run("ms foo 3 c k Oq T0\r\nbar\r\n"), "HD c1 kfoo Oq\r\n");
    EXPECT_EQ(run("ms foo 3 Oq k c\r\nbar\r\n"), "HD Oq kfoo c2\r\n");
}

TEST_F(MetaExec, SetQuietHidesOnlyHd) {
    EXPECT_EQ(run("ms foo 3 q\r\nbar\r\nmn\r\n"), "MN\r\n");
    EXPECT_EQ(run("ms foo 3 q C99\r\nbar\r\nmn\r\n"), "EX\r\nMN\r\n");
    EXPECT_EQ(run("ms nope 3 q C99\r\nbar\r\nmn\r\n"), "NF\r\nMN\r\n");
    EXPECT_EQ(run("ms nope 3 q MR\r\nbar\r\nmn\r\n"), "NS\r\nMN\r\n");
}

TEST_F(MetaExec, SetStoresFlagsAndTtl) {
    ASSERT_EQ(run("ms foo 3 F7 T60\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo f t v\r\n"), "VA 3 f7 t60\r\nbar\r\n");
    ASSERT_EQ(run("ms foo 3\r\nbaz\r\n"), "HD\r\n");  // without F and T: 0 and none
    EXPECT_EQ(run("mg foo f t v\r\n"), "VA 3 f0 t-1\r\nbaz\r\n");
}

TEST_F(MetaExec, SetWithNegativeTtlStoresAnExpiredItem) {
    EXPECT_EQ(run("ms foo 3 T-1\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo\r\n"), "EN\r\n");
}

TEST_F(MetaExec, SetTakesNewCasFromE) {
    EXPECT_EQ(run("ms foo 3 E999 c\r\nbar\r\n"), "HD c999\r\n");
    EXPECT_EQ(run("mg foo c\r\n"), "HD c999\r\n");
    EXPECT_EQ(run("ms foo 3 C999 E1000 c\r\nbaz\r\n"), "HD c1000\r\n");
}

TEST_F(MetaExec, SetCasMismatchMissAndMatch) {
    ASSERT_EQ(run("ms foo 3 c\r\nbar\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("ms foo 3 C5 c\r\nbaz\r\n"), "EX c0\r\n");
    EXPECT_EQ(run("ms nope 3 C1 c k\r\nbar\r\n"), "NF c0 knope\r\n");
    EXPECT_EQ(run("ms foo 3 C1 c\r\nbaz\r\n"), "HD c2\r\n");
    EXPECT_EQ(run("ms foo 3 MR C1\r\nqux\r\n"), "EX\r\n");  // replace + C is cas
    EXPECT_EQ(ctx_.stats->cas_hits, 1u);
    EXPECT_EQ(ctx_.stats->cas_badval, 2u);
    EXPECT_EQ(ctx_.stats->cas_misses, 1u);
}

TEST_F(MetaExec, SetAddMode) {
    EXPECT_EQ(run("ms foo 3 ME\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("ms foo 3 ME c\r\nbaz\r\n"), "NS c0\r\n");
    EXPECT_EQ(run("mg foo v\r\n"), "VA 3\r\nbar\r\n");
    // add ignores C: a miss stores.
    EXPECT_EQ(run("ms new 1 ME C77\r\nx\r\n"), "HD\r\n");
}

TEST_F(MetaExec, SetReplaceMode) {
    EXPECT_EQ(run("ms foo 3 MR c\r\nbar\r\n"), "NS c0\r\n");
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("ms foo 3 MR\r\nbaz\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v\r\n"), "VA 3\r\nbaz\r\n");
}

TEST_F(MetaExec, SetAppendAndPrependKeepFlagsAndTtl) {
    EXPECT_EQ(run("ms foo 1 MA\r\nx\r\n"), "NS\r\n");
    EXPECT_EQ(run("ms foo 1 MP\r\nx\r\n"), "NS\r\n");
    ASSERT_EQ(run("ms foo 3 F4 T100\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("ms foo 3 MA F9 T5\r\n>>>\r\n"), "HD\r\n");
    EXPECT_EQ(run("ms foo 3 MP\r\n<<<\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v f t\r\n"), "VA 9 f4 t100\r\n<<<bar>>>\r\n");
}

TEST_F(MetaExec, SetAppendHonoursCas) {
    ASSERT_EQ(run("ms foo 3 c\r\nbar\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("ms foo 1 MA C9\r\nx\r\n"), "EX\r\n");
    EXPECT_EQ(run("ms foo 1 MA C1 c\r\nx\r\n"), "HD c2\r\n");
    EXPECT_EQ(run("ms nope 1 MA C1\r\nx\r\n"), "NS\r\n");
}

TEST_F(MetaExec, SetSModeIsPlainSet) {
    EXPECT_EQ(run("ms foo 3 MS\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v\r\n"), "VA 3\r\nbar\r\n");
}

TEST_F(MetaExec, SetEmptyValue) {
    EXPECT_EQ(run("ms foo 0\r\n\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v s\r\n"), "VA 0 s0\r\n\r\n");
}

// The largest value memcached's item_size_ok() takes for a 3-byte key:
// 48 + 8 + 3 + 1 + value + 2 <= 1 MiB.
constexpr size_t kLargestValue = 1024 * 1024 - 48 - 8 - 3 - 1 - 2;

std::string ms_request(std::string_view key, size_t len, std::string_view flags = "") {
    std::string r = "ms " + std::string(key) + " " + std::to_string(len);
    if (!flags.empty()) r += " " + std::string(flags);
    r += "\r\n" + std::string(len, 'x') + "\r\n";
    return r;
}

TEST_F(MetaExec, SetTooLargeFailsAndDropsTheOldValue) {
    EXPECT_EQ(run(ms_request("big", kLargestValue)), "HD\r\n");
    ASSERT_EQ(run("ms big 3\r\nold\r\n"), "HD\r\n");
    EXPECT_EQ(run(ms_request("big", kLargestValue + 1, "q")),
              "SERVER_ERROR object too large for cache\r\n");
    EXPECT_EQ(run("mg big\r\n"), "EN\r\n");
}

TEST_F(MetaExec, AppendBeyondTheLimitAnswersNsAndKeepsTheValue) {
    ASSERT_EQ(run(ms_request("big", kLargestValue - 1)), "HD\r\n");
    EXPECT_EQ(run("ms big 2 MA\r\nyy\r\n"), "NS\r\n");
    EXPECT_EQ(run("mg big s\r\n"), "HD s" + std::to_string(kLargestValue - 1) + "\r\n");
    EXPECT_EQ(run("ms big 1 MA\r\ny\r\n"), "HD\r\n");
}

// ---- md -------------------------------------------------------------------

TEST_F(MetaExec, DeleteRemovesTheItem) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("md foo\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo\r\n"), "EN\r\n");
    EXPECT_EQ(run("md foo\r\n"), "NF\r\n");
    EXPECT_EQ(ctx_.stats->delete_hits, 1u);
    EXPECT_EQ(ctx_.stats->delete_misses, 1u);
}

TEST_F(MetaExec, DeleteEchoesOpaqueAndKeyAndQuietHidesOnlyHd) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("md foo q Oz k\r\nmn\r\n"), "MN\r\n");
    EXPECT_EQ(run("md foo q Oz k\r\nmn\r\n"), "NF Oz kfoo\r\nMN\r\n");
    EXPECT_EQ(run("md foo k Oz\r\n"), "NF kfoo Oz\r\n");
    ASSERT_EQ(run("ms Zm9v 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("md Zm9v b k O1\r\n"), "NF kZm9v b O1\r\n");  // key "foo": gone
    EXPECT_EQ(run("md Zm9v k O1\r\n"), "HD kZm9v O1\r\n");
}

TEST_F(MetaExec, DeleteComparesCas) {
    ASSERT_EQ(run("ms foo 3 c\r\nbar\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("md foo C2 q\r\n"), "EX\r\n");
    EXPECT_EQ(run("md foo C1\r\n"), "HD\r\n");
    EXPECT_EQ(run("md foo C1\r\n"), "NF\r\n");
}

TEST_F(MetaExec, DeleteTtlWithoutInvalidateIsIgnored) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("md foo T30\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo\r\n"), "EN\r\n");
}

TEST_F(MetaExec, DeleteInvalidateTakesNewCasFromE) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\n"), "HD\r\n");
    EXPECT_EQ(run("md foo I E42 q\r\n"), "");
    EXPECT_EQ(run("mg foo c\r\n"), "HD c42 X W\r\n");
}

TEST_F(MetaExec, DeleteXKeepsAnEmptyItem) {
    ASSERT_EQ(run("ms foo 3 F3 T100 c\r\nbar\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("md foo x\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo v f t c\r\n"), "VA 0 f0 t-1 c1\r\n\r\n");
    EXPECT_EQ(run("md foo x F5 T30 E9\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo f t c\r\n"), "HD f5 t30 c9\r\n");
    // x with I leaves a stale tombstone.
    EXPECT_EQ(run("md foo x I\r\n"), "HD\r\n");
    EXPECT_EQ(run("mg foo s c\r\n"), "HD s0 c2 X W\r\n");
}

// ---- ma -------------------------------------------------------------------

TEST_F(MetaExec, ArithmeticMissAnswersNfEvenWhenQuiet) {
    EXPECT_EQ(run("ma cnt\r\n"), "NF\r\n");
    EXPECT_EQ(run("ma cnt q O1 k\r\n"), "NF O1 kcnt\r\n");
    EXPECT_EQ(ctx_.stats->incr_misses, 2u);
}

TEST_F(MetaExec, ArithmeticVivifiesWithInitialValue) {
    EXPECT_EQ(run("ma num N100 J10 t c v k\r\n"), "VA 2 t100 c1 knum\r\n10\r\n");
    EXPECT_EQ(run("ma num MD D3 v T50 t\r\n"), "VA 1 t50\r\n7\r\n");
    EXPECT_EQ(run("ma num M- D30 v\r\n"), "VA 1\r\n0\r\n");
    EXPECT_EQ(run("mg num v\r\n"), "VA 2\r\n0 \r\n");  // rewritten in place, padded
}

TEST_F(MetaExec, ArithmeticVivifySetsTtlWhereNStandsInTheFlags) {
    EXPECT_EQ(run("ma a1 t N100 v\r\n"), "VA 1 t-1\r\n0\r\n");
    EXPECT_EQ(run("ma a2 N100 t v\r\n"), "VA 1 t100\r\n0\r\n");
    EXPECT_EQ(run("ma a1 t T0 v\r\n"), "VA 1 t100\r\n1\r\n");
    EXPECT_EQ(run("ma a1 T20 t\r\n"), "HD t20\r\n");
    EXPECT_EQ(run("mg a1 t\r\n"), "HD t20\r\n");
}

TEST_F(MetaExec, ArithmeticQuietHidesSuccessButNotACreation) {
    // 1.6.18 sets noreply on an update only: a vivified item still answers.
    EXPECT_EQ(run("ma cnt N0 J5 q\r\nmn\r\n"), "HD\r\nMN\r\n");
    EXPECT_EQ(run("ma cnt q v\r\nmn\r\n"), "MN\r\n");
    EXPECT_EQ(run("ma cnt q\r\nmn\r\n"), "MN\r\n");
    EXPECT_EQ(run("mg cnt v\r\n"), "VA 1\r\n7\r\n");
    EXPECT_EQ(run("ma new2 q N0 J9 v\r\nmn\r\n"), "VA 1\r\n9\r\nMN\r\n");
}

TEST_F(MetaExec, ArithmeticIncrementsDecrementsAndWraps) {
    ASSERT_EQ(run("ms num 3 F7\r\n100\r\n"), "HD\r\n");
    EXPECT_EQ(run("ma num MD v\r\n"), "VA 2\r\n99\r\n");
    EXPECT_EQ(run("mg num v f\r\n"), "VA 3 f7\r\n99 \r\n");
    EXPECT_EQ(run("ma num D18446744073709551615 v\r\n"), "VA 2\r\n98\r\n");
    EXPECT_EQ(run("ma num MI v\r\n"), "VA 2\r\n99\r\n");
    EXPECT_EQ(run("ma num M+ D2 v\r\n"), "VA 3\r\n101\r\n");
    EXPECT_EQ(run("ma num M- D1000 v\r\n"), "VA 1\r\n0\r\n");
    EXPECT_EQ(ctx_.stats->incr_hits, 3u);
    EXPECT_EQ(ctx_.stats->decr_hits, 2u);
}

TEST_F(MetaExec, ArithmeticOnGrowingNumberKeepsFlagsAndAppliesTtl) {
    ASSERT_EQ(run("ms g1 2 F3 T100\r\n99\r\n"), "HD\r\n");
    EXPECT_EQ(run("ma g1 t c v\r\n"), "VA 3 t100 c2\r\n100\r\n");
    EXPECT_EQ(run("mg g1 v f t c\r\n"), "VA 3 f3 t100 c2\r\n100\r\n");
    // 1.6.18 loses this TTL (it sets it on the replaced copy); we keep it.
    ASSERT_EQ(run("ms g2 2\r\n99\r\n"), "HD\r\n");
    EXPECT_EQ(run("ma g2 T100 t\r\n"), "HD t100\r\n");
    EXPECT_EQ(run("mg g2 t\r\n"), "HD t100\r\n");
}

TEST_F(MetaExec, ArithmeticRejectsNonNumericValues) {
    ASSERT_EQ(run("ms foo 3\r\nbar\r\nms e 0\r\n\r\nms m 3\r\n12a\r\n"), "HD\r\nHD\r\nHD\r\n");
    const std::string err = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    EXPECT_EQ(run("ma foo\r\n"), err);
    EXPECT_EQ(run("ma e v\r\n"), err);
    EXPECT_EQ(run("ma m q\r\n"), err);
    ASSERT_EQ(run("ms sp 3\r\n 99\r\n"), "HD\r\n");  // leading space is fine
    EXPECT_EQ(run("ma sp v\r\n"), "VA 3\r\n100\r\n");
}

TEST_F(MetaExec, ArithmeticComparesCas) {
    ASSERT_EQ(run("ms num 1 c\r\n5\r\n"), "HD c1\r\n");
    EXPECT_EQ(run("ma num C9 q O7 k\r\n"), "EX O7 knum\r\n");
    EXPECT_EQ(run("ma num C1 c v\r\n"), "VA 1 c2\r\n6\r\n");
    EXPECT_EQ(run("ma nope C1\r\n"), "NF\r\n");
}

TEST_F(MetaExec, ArithmeticTakesNewCasFromE) {
    ASSERT_EQ(run("ms num 1\r\n5\r\n"), "HD\r\n");
    EXPECT_EQ(run("ma num E77 c\r\n"), "HD c77\r\n");
    EXPECT_EQ(run("mg num c v\r\n"), "VA 1 c77\r\n6\r\n");
    EXPECT_EQ(run("ma viv N0 J3 E88 c v\r\n"), "VA 1 c88\r\n3\r\n");
}

TEST_F(MetaExec, ArithmeticBase64Key) {
    EXPECT_EQ(run("ma Y250 b N0 k v\r\n"), "VA 1 kY250 b\r\n0\r\n");
    EXPECT_EQ(run("mg cnt v\r\n"), "VA 1\r\n0\r\n");
}

}  // namespace
}  // namespace fulmar::engine

namespace fulmar::engine {
namespace {

// The reader's mg (the control plane's, from a lock-free read) writes exactly
// what the owner's does, for every request it may answer.
class ReaderMetaGet : public MetaExec {
  protected:
    // The reader's reply to `line` ("mg <key> <flags>\r\n"), or "<owner>"
    // when the reader must leave it to the owner.
    std::string reader(std::string_view line) {
        proto::McMetaRequest req;
        EXPECT_EQ(proto::parse_mc_meta(line, req).status, proto::ParseStatus::kComplete);
        if (!meta_get_reads_only(req)) return "<owner>";
        const store::KeyRef k(req.key());
        store::ItemMeta meta;
        const store::ReadStatus st = shard_->read(k, clock_.now(), ctx_.scratch, meta);
        proto::StringSink sink;
        if (st == store::ReadStatus::kMiss) {
            write_meta_get_miss(req, sink);
            return sink.out;
        }
        const MetaGetFields f{.value_len = meta.value_len,
                              .cas = meta.cas,
                              .client_flags = meta.flags,
                              .time = meta.time,
                              .type_bits = meta.type_bits};
        if (!meta_get_hit_changes_nothing(req, f)) return "<owner>";
        write_meta_get_hit(req, f, {ctx_.scratch.data(), meta.value_len}, meta.exptime,
                           clock_.now(), sink);
        return sink.out;
    }
};

TEST_F(ReaderMetaGet, AnswersLikeTheOwnerWhenNothingChanges) {
    ASSERT_EQ(run("ms rk 5 T100 F7\r\nhello\r\n"), "HD\r\n");
    // Not fetched yet: the owner must mark it.
    EXPECT_EQ(reader("mg rk v\r\n"), "<owner>");
    ASSERT_EQ(run("mg rk\r\n"), "HD\r\n");
    clock_.advance(3);
    for (std::string_view line :
         {"mg rk v\r\n", "mg rk s t c f l h k Oab v\r\n", "mg rk q k\r\n", "mg rk u v t\r\n",
          "mg missing v\r\n", "mg missing q\r\n", "mg missing k O1\r\n"}) {
        const std::string mine = reader(line);
        EXPECT_EQ(mine, run(line)) << line;
    }
    // Base64 keys.
    ASSERT_EQ(run("ms Zm9v 2 b\r\nhi\r\n"), "HD\r\n");
    ASSERT_EQ(run("mg Zm9v b\r\n"), "HD\r\n");
    EXPECT_EQ(reader("mg Zm9v b k v\r\n"), run("mg Zm9v b k v\r\n"));
}

TEST_F(ReaderMetaGet, LeavesWritesToTheOwner) {
    ASSERT_EQ(run("ms rw 1\r\nx\r\n"), "HD\r\n");
    ASSERT_EQ(run("mg rw\r\n"), "HD\r\n");
    for (std::string_view line :
         {"mg rw T30\r\n", "mg rw N30\r\n", "mg rw R30 v\r\n", "mg rw E5\r\n"})
        EXPECT_EQ(reader(line), "<owner>") << line;
    // A stale item hands out a win token: a write.
    ASSERT_EQ(run("md rw I\r\n"), "HD\r\n");
    EXPECT_EQ(reader("mg rw v\r\n"), "<owner>");
}

}  // namespace
}  // namespace fulmar::engine
