// Classic memcached commands end to end through McSession: exact reply
// bytes, noreply, pipelining, fragmentation, TTL and flush_all on a
// ManualClock, and memcached's reply-queue quirks.
//
// Expected strings were taken from Debian's memcached 1.6.18 on loopback
// (same byte streams; CAS values are ours: a fresh shard's first is 1). The
// differential test (mc_diff_test.cc) replays many more against the real
// server.
#include "engine/mc_classic.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "../store/shard_fixture.h"
#include "engine/mc_session.h"
#include "proto/parse.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

using namespace std::string_literals;

struct Transcript {
    std::string replies;
    bool closed = false;
    size_t left = 0;  // bytes never consumed

    bool operator==(const Transcript&) const = default;
};

void PrintTo(const Transcript& t, std::ostream* os) {
    *os << "{closed " << t.closed << " left " << t.left << " replies '" << t.replies << "'}";
}

class McClassic : public ::testing::Test {
  protected:
    void SetUp() override {
        scratch_.resize(store::kMaxItemSize);
        ctx_.clock = &clock_;
        ctx_.scratch = std::span<char>(scratch_);
        ctx_.stats = &stats_;
        ctx_.started = clock_.now();
        reset_store();
    }

    // Fresh shards (so CAS values restart at 1) and a fresh session.
    void reset_store(size_t n_shards = 1) {
        session_.reset();
        ptrs_.clear();
        shards_.clear();
        for (size_t i = 0; i < n_shards; ++i) {
            shards_.push_back(store::testing::make_shard(8 << 20));
            ASSERT_NE(shards_.back(), nullptr);
            ptrs_.push_back(shards_.back().get());
        }
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
        *ctx_.stats = EngineStats{};
        session_ = std::make_unique<McSession>(ctx_);
    }

    // Feeds `in` to the session `frag` bytes at a time (0: all at once) as a
    // transport would: unconsumed bytes stay in its buffer.
    Transcript feed(std::string_view in, size_t frag = 0) {
        Transcript t;
        proto::StringSink sink;
        std::string buf;
        const size_t step = frag == 0 ? std::max<size_t>(in.size(), 1) : frag;
        for (size_t pos = 0; pos < in.size() && !t.closed; pos += step) {
            buf.append(in.substr(pos, step));
            const McFeedResult r = session_->feed(buf, sink);
            EXPECT_LE(r.consumed, buf.size());
            buf.erase(0, r.consumed);
            t.closed = r.status == McSessionStatus::kClose;
        }
        t.replies = sink.out;
        t.left = buf.size();
        return t;
    }

    std::string run(std::string_view in) { return feed(in).replies; }

    // The CAS unique of `key` as gets reports it.
    uint64_t cas_of(std::string_view key) {
        const std::string r = run("gets "s + std::string(key) + "\r\n");
        const size_t eol = r.find("\r\n");
        const size_t sp = r.rfind(' ', eol);
        return std::stoull(r.substr(sp + 1, eol - sp - 1));
    }

    uint64_t stat(std::string_view name) {
        const std::string r = run("stats\r\n");
        const std::string needle = "STAT "s + std::string(name) + " ";
        const size_t at = r.find(needle);
        EXPECT_NE(at, std::string::npos) << name;
        if (at == std::string::npos) return UINT64_MAX;
        return std::stoull(r.substr(at + needle.size()));
    }

    ManualClock clock_;
    std::vector<std::unique_ptr<store::Shard>> shards_;
    std::vector<store::Shard*> ptrs_;
    std::vector<char> scratch_;
    EngineStats stats_;
    EngineCtx ctx_;
    std::unique_ptr<McSession> session_;
};

// ---- storage and retrieval ------------------------------------------------

TEST_F(McClassic, SetThenGetReturnsValueFlagsAndLength) {
    EXPECT_EQ(run("set k 5 0 3\r\nabc\r\nget k\r\n"), "STORED\r\nVALUE k 5 3\r\nabc\r\nEND\r\n");
}

TEST_F(McClassic, GetOfMissingKeyIsJustEnd) {
    EXPECT_EQ(run("get nope\r\n"), "END\r\n");
}

TEST_F(McClassic, EmptyValueAndBinaryBytesRoundTrip) {
    EXPECT_EQ(run("set e 0 0 0\r\n\r\nget e\r\n"), "STORED\r\nVALUE e 0 0\r\n\r\nEND\r\n");
    const std::string v = "a\r\nb\0c"s;
    EXPECT_EQ(run("set b 0 0 6\r\n" + v + "\r\nget b\r\n"),
              "STORED\r\nVALUE b 0 6\r\n" + v + "\r\nEND\r\n");
}

TEST_F(McClassic, FlagsKeepAll32BitsAndWrapAbove) {
    EXPECT_EQ(run("set z 4294967295 0 1\r\n1\r\nget z\r\n"),
              "STORED\r\nVALUE z 4294967295 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run("set z 4294967296 0 1\r\n1\r\nget z\r\n"),
              "STORED\r\nVALUE z 0 1\r\n1\r\nEND\r\n");
}

TEST_F(McClassic, MultiGetAnswersHitsInRequestOrderWithDuplicates) {
    reset_store(3);
    run("set a 1 0 1\r\nA\r\nset c 3 0 1\r\nC\r\n");
    EXPECT_EQ(run("get a b c a\r\n"),
              "VALUE a 1 1\r\nA\r\nVALUE c 3 1\r\nC\r\nVALUE a 1 1\r\nA\r\nEND\r\n");
}

TEST_F(McClassic, GetsAddsCasAndEveryStoreChangesIt) {
    EXPECT_EQ(run("set a 0 0 1\r\n1\r\ngets a\r\n"), "STORED\r\nVALUE a 0 1 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run("set a 0 0 1\r\n2\r\ngets a\r\n"), "STORED\r\nVALUE a 0 1 2\r\n2\r\nEND\r\n");
}

TEST_F(McClassic, AddOnlyAddsAndReplaceOnlyReplaces) {
    EXPECT_EQ(run("replace k 0 0 1\r\na\r\n"), "NOT_STORED\r\n");
    EXPECT_EQ(run("add k 0 0 1\r\na\r\n"), "STORED\r\n");
    EXPECT_EQ(run("add k 0 0 1\r\nb\r\n"), "NOT_STORED\r\n");
    EXPECT_EQ(run("replace k 3 0 1\r\nz\r\nget k\r\n"), "STORED\r\nVALUE k 3 1\r\nz\r\nEND\r\n");
}

TEST_F(McClassic, AppendAndPrependKeepFlagsAndNeedAnItem) {
    EXPECT_EQ(run("set t 5 0 2\r\nab\r\nappend t 9 0 2\r\ncd\r\nprepend t 7 0 2\r\nxy\r\n"
                  "get t\r\n"),
              "STORED\r\nSTORED\r\nSTORED\r\nVALUE t 5 6\r\nxyabcd\r\nEND\r\n");
    EXPECT_EQ(run("append nx 0 0 1\r\na\r\nprepend nx 0 0 1\r\na\r\n"),
              "NOT_STORED\r\nNOT_STORED\r\n");
}

TEST_F(McClassic, AppendKeepsTtl) {
    run("set t 0 10 1\r\na\r\nappend t 0 0 1\r\nb\r\n");
    clock_.advance(10);
    EXPECT_EQ(run("get t\r\n"), "END\r\n");
}

TEST_F(McClassic, CasStoresOnMatchOnly) {
    run("set c 0 0 1\r\n1\r\n");
    const uint64_t cas = cas_of("c");
    EXPECT_EQ(run("cas c 0 0 1 " + std::to_string(cas + 100) + "\r\n2\r\n"), "EXISTS\r\n");
    EXPECT_EQ(run("cas c 0 0 1 0\r\n2\r\n"), "EXISTS\r\n");
    EXPECT_EQ(run("cas nx 0 0 1 1\r\n2\r\n"), "NOT_FOUND\r\n");
    EXPECT_EQ(run("cas c 4 0 1 " + std::to_string(cas) + "\r\n3\r\nget c\r\n"),
              "STORED\r\nVALUE c 4 1\r\n3\r\nEND\r\n");
    EXPECT_EQ(run("cas c 4 0 1 " + std::to_string(cas) + "\r\n4\r\n"), "EXISTS\r\n");
    EXPECT_EQ(stat("cas_hits"), 1u);
    EXPECT_EQ(stat("cas_badval"), 3u);
    EXPECT_EQ(stat("cas_misses"), 1u);
}

TEST_F(McClassic, NoreplySilencesEveryStorageReply) {
    EXPECT_EQ(run("set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\n"
                  "replace x 0 0 1 noreply\r\n3\r\nappend a 0 0 1 noreply\r\n4\r\n"
                  "cas a 0 0 1 99 noreply\r\n5\r\nget a\r\n"),
              "VALUE a 0 2\r\n14\r\nEND\r\n");
}

// ---- delete, touch, incr, decr ----------------------------------------------

TEST_F(McClassic, DeleteAcceptsZeroHoldAndNoreply) {
    run("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("delete a\r\ndelete a\r\ndelete b 0\r\ndelete b noreply\r\ndelete b 0 noreply\r\n"
                  "version\r\n"),
              "DELETED\r\nNOT_FOUND\r\nDELETED\r\nVERSION 1.6.18-fulmar-0.1.0\r\n");
    EXPECT_EQ(run("delete a 1\r\n"),
              "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    EXPECT_EQ(stat("delete_hits"), 2u);
    EXPECT_EQ(stat("delete_misses"), 3u);
}

TEST_F(McClassic, IncrAndDecrReplyTheNewValue) {
    EXPECT_EQ(run("set a 0 0 1\r\n1\r\nincr a 5\r\nget a\r\ndecr a 10\r\nget a\r\n"),
              "STORED\r\n6\r\nVALUE a 0 1\r\n6\r\nEND\r\n0\r\nVALUE a 0 1\r\n0\r\nEND\r\n");
    EXPECT_EQ(run("incr nx 1\r\ndecr nx 1\r\n"), "NOT_FOUND\r\nNOT_FOUND\r\n");
    EXPECT_EQ(stat("incr_hits"), 1u);
    EXPECT_EQ(stat("decr_hits"), 1u);
    EXPECT_EQ(stat("incr_misses"), 1u);
    EXPECT_EQ(stat("decr_misses"), 1u);
}

TEST_F(McClassic, DecrPadsWithSpacesAndIncrGrowsTheValue) {
    EXPECT_EQ(run("set n 0 0 3\r\n100\r\ndecr n 1\r\nget n\r\nincr n 1\r\nget n\r\n"),
              "STORED\r\n99\r\nVALUE n 0 3\r\n99 \r\nEND\r\n100\r\nVALUE n 0 3\r\n100\r\nEND\r\n");
    EXPECT_EQ(run("set m 7 0 2\r\n99\r\nincr m 1\r\nget m\r\n"),
              "STORED\r\n100\r\nVALUE m 7 3\r\n100\r\nEND\r\n");
}

TEST_F(McClassic, IncrWrapsAt64BitsAndDecrStopsAtZero) {
    EXPECT_EQ(run("set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nget n\r\n"
                  "incr n 18446744073709551615\r\ndecr n 18446744073709551615\r\n"
                  "decr n 18446744073709551615\r\n"),
              "STORED\r\n0\r\nVALUE n 0 20\r\n0                   \r\nEND\r\n"
              "18446744073709551615\r\n0\r\n0\r\n");
}

TEST_F(McClassic, IncrRefusesNonNumericValues) {
    const std::string nn = "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    EXPECT_EQ(run("set n 0 0 3\r\n 12\r\nincr n 1\r\n"), "STORED\r\n13\r\n");
    EXPECT_EQ(run("set n 0 0 3\r\n-12\r\nincr n 1\r\n"), "STORED\r\n" + nn);
    EXPECT_EQ(run("set n 0 0 3\r\n12a\r\nincr n 1\r\n"), "STORED\r\n" + nn);
    EXPECT_EQ(run("set n 0 0 0\r\n\r\ndecr n 1\r\n"), "STORED\r\n" + nn);
    EXPECT_EQ(run("set n 0 0 3\r\n1 2\r\nincr n 1\r\nget n\r\n"),
              "STORED\r\n2\r\nVALUE n 0 3\r\n2  \r\nEND\r\n");
    EXPECT_EQ(run("incr n -1\r\nincr n x\r\n"),
              "CLIENT_ERROR invalid numeric delta argument\r\n"
              "CLIENT_ERROR invalid numeric delta argument\r\n");
}

TEST_F(McClassic, IncrNoreplyIsSilentButApplies) {
    EXPECT_EQ(run("set n 0 0 1\r\n5\r\nincr n 2 noreply\r\ndecr n 1 noreply\r\nget n\r\n"),
              "STORED\r\nVALUE n 0 1\r\n6\r\nEND\r\n");
}

TEST_F(McClassic, TouchAnswersTouchedOrNotFound) {
    EXPECT_EQ(run("touch a 10\r\nset a 0 0 1\r\n1\r\ntouch a 10\r\ntouch a 10 noreply\r\n"
                  "touch a x\r\n"),
              "NOT_FOUND\r\nSTORED\r\nTOUCHED\r\nCLIENT_ERROR invalid exptime argument\r\n");
    EXPECT_EQ(stat("cmd_touch"), 3u);
    EXPECT_EQ(stat("touch_hits"), 2u);
    EXPECT_EQ(stat("touch_misses"), 1u);
}

// ---- TTL on the manual clock ------------------------------------------------

TEST_F(McClassic, RelativeTtlExpiresAtItsSecond) {
    run("set a 0 10 1\r\n1\r\n");
    clock_.advance(9);
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("get a\r\n"), "END\r\n");
    EXPECT_EQ(stat("get_expired"), 1u);
    EXPECT_EQ(stat("get_misses"), 1u);
    EXPECT_EQ(stat("get_hits"), 1u);
    EXPECT_EQ(stat("cmd_get"), 2u);
}

TEST_F(McClassic, AbsoluteTtlAboveThirtyDaysAndPastTimes) {
    const UnixTime now = clock_.now();
    run("set abs 0 " + std::to_string(now + 5) + " 1\r\n1\r\n");
    EXPECT_EQ(run("set past 0 " + std::to_string(now - 5) + " 1\r\n1\r\nget past\r\n"),
              "STORED\r\nEND\r\n");
    EXPECT_EQ(run("set neg 0 -1 1\r\n1\r\nget neg\r\n"), "STORED\r\nEND\r\n");
    clock_.advance(4);
    EXPECT_EQ(run("get abs\r\n"), "VALUE abs 0 1\r\n1\r\nEND\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("get abs\r\n"), "END\r\n");
}

TEST_F(McClassic, TouchMovesTheExpiry) {
    run("set a 0 5 1\r\n1\r\n");
    clock_.advance(4);
    EXPECT_EQ(run("touch a 10\r\n"), "TOUCHED\r\n");
    clock_.advance(9);
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run("touch a 0\r\n"), "TOUCHED\r\n");
    clock_.advance(1000);
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
}

TEST_F(McClassic, GatReturnsTheValueAndSetsTheTtl) {
    run("set a 3 0 1\r\n1\r\n");
    EXPECT_EQ(run("gat 5 a nx\r\n"), "VALUE a 3 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run("gats 5 a\r\n"), "VALUE a 3 1 1\r\n1\r\nEND\r\n");
    clock_.advance(5);
    EXPECT_EQ(run("gat 5 a\r\n"), "END\r\n");
    // gat counts as a touch, not as a get.
    EXPECT_EQ(stat("cmd_touch"), 4u);
    EXPECT_EQ(stat("touch_hits"), 2u);
    EXPECT_EQ(stat("touch_misses"), 2u);
    EXPECT_EQ(stat("cmd_get"), 0u);
}

TEST_F(McClassic, GatWithAPastTimeStillSendsTheValueOnce) {
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("gat -1 a\r\nget a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\nEND\r\n");
}

TEST_F(McClassic, GatWithBadExptimeIsAnError) {
    EXPECT_EQ(run("gat x a\r\ngat 10\r\ngat\r\n"),
              "CLIENT_ERROR invalid exptime argument\r\nEND\r\nERROR\r\n");
}

// ---- flush_all ----------------------------------------------------------------

TEST_F(McClassic, FlushAllEmptiesEveryShard) {
    reset_store(4);
    for (int i = 0; i < 20; ++i)
        run("set k" + std::to_string(i) + " 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("flush_all\r\n"), "OK\r\n");
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(run("get k" + std::to_string(i) + "\r\n"), "END\r\n");
    // The same second: items stored after the flush survive.
    EXPECT_EQ(run("set k0 0 0 1\r\n2\r\nget k0\r\n"), "STORED\r\nVALUE k0 0 1\r\n2\r\nEND\r\n");
    EXPECT_EQ(stat("cmd_flush"), 1u);
}

TEST_F(McClassic, FlushAllWithDelayTakesEffectLater) {
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("flush_all 10\r\n"), "OK\r\n");
    clock_.advance(8);
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
    // memcached's oldest_live is the delay minus one second.
    clock_.advance(1);
    EXPECT_EQ(run("get a\r\n"), "END\r\n");
    clock_.advance(1);
    EXPECT_EQ(run("set a 0 0 1\r\n2\r\nget a\r\n"), "STORED\r\nVALUE a 0 1\r\n2\r\nEND\r\n");
}

TEST_F(McClassic, FlushAllForms) {
    EXPECT_EQ(run("flush_all 0\r\nflush_all -1\r\nflush_all noreply\r\nflush_all 10 noreply\r\n"
                  "flush_all abc\r\nflush_all 0 0 0\r\n"),
              "OK\r\nOK\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n");
    // A bad delay still counts: memcached counts before it reads it.
    EXPECT_EQ(stat("cmd_flush"), 5u);
}

// ---- item size limit ------------------------------------------------------------

std::string set_cmd(std::string_view cmd, std::string_view key, uint32_t flags, size_t len,
                    char fill = 'x', std::string_view extra = "") {
    return std::string(cmd) + " " + std::string(key) + " " + std::to_string(flags) + " 0 " +
           std::to_string(len) + std::string(extra) + "\r\n" + std::string(len, fill) + "\r\n";
}

TEST_F(McClassic, ItemSizeLimitCountsKeyAndFlagsAsMemcachedDoes) {
    const std::string too_large = "SERVER_ERROR object too large for cache\r\n";
    EXPECT_EQ(run(set_cmd("set", "k", 0, 1048516)), "STORED\r\n");
    EXPECT_EQ(run(set_cmd("set", "k", 0, 1048517)), too_large);
    EXPECT_EQ(run(set_cmd("set", "k", 1, 1048512)), "STORED\r\n");
    EXPECT_EQ(run(set_cmd("set", "k", 1, 1048513)), too_large);
    EXPECT_EQ(run(set_cmd("set", "kk", 0, 1048516)), too_large);
}

TEST_F(McClassic, TooLargeSetDeletesTheOldValueOtherCommandsKeepIt) {
    const std::string too_large = "SERVER_ERROR object too large for cache\r\n";
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run(set_cmd("add", "a", 0, 2000000) + "get a\r\n"),
              too_large + "VALUE a 0 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run(set_cmd("replace", "a", 0, 1048520) + "get a\r\n"),
              too_large + "VALUE a 0 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(run(set_cmd("set", "a", 0, 1048520) + "get a\r\n"), too_large + "END\r\n");
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run(set_cmd("set", "a", 0, 2000000, 'x', " noreply") + "get a\r\n"), "END\r\n");
}

TEST_F(McClassic, TooLargeValueIsSwallowedAcrossFeeds) {
    const std::string in = set_cmd("set", "a", 0, 3000000, 'g') + "get a\r\nversion\r\n";
    for (size_t frag : {size_t{70000}, size_t{1000000}, size_t{0}}) {
        reset_store();
        const Transcript t = feed(in, frag);
        EXPECT_EQ(
            t.replies,
            "SERVER_ERROR object too large for cache\r\nEND\r\nVERSION 1.6.18-fulmar-0.1.0\r\n")
            << frag;
        EXPECT_EQ(t.left, 0u);
    }
}

TEST_F(McClassic, AppendBeyondTheLimitIsNotStored) {
    EXPECT_EQ(run(set_cmd("set", "b", 0, 600000) + set_cmd("append", "b", 0, 600000) +
                  "prepend b 0 0 1\r\ny\r\nget b\r\n")
                  .substr(0, 50),
              "STORED\r\nNOT_STORED\r\nSTORED\r\nVALUE b 0 600001\r\nyxxx");
    // The append's own data is checked with its own flags.
    EXPECT_EQ(run(set_cmd("append", "b", 5, 1048513)),
              "SERVER_ERROR object too large for cache\r\n");
}

// ---- bad input --------------------------------------------------------------------

TEST_F(McClassic, BadDataChunkSkipsExactlyTheDeclaredBytes) {
    EXPECT_EQ(run("set a 0 0 1\r\nxyz\r\nget a\r\n"),
              "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
    EXPECT_EQ(run("set a 0 0 1 noreply\r\nxyz\r\nversion\r\n"),
              "ERROR\r\nVERSION 1.6.18-fulmar-0.1.0\r\n");
    // Too large wins over a bad terminator: memcached checks the size first.
    EXPECT_EQ(run("set a 1 0 1048513\r\n" + std::string(1048513, 'x') + "XY"),
              "SERVER_ERROR object too large for cache\r\n");
    // Bad chunks count as sets; a refused item does not.
    EXPECT_EQ(stat("cmd_set"), 2u);
}

TEST_F(McClassic, BadCommandLinesAnswerMemcachedsErrors) {
    EXPECT_EQ(run("bogus\r\nget\r\nset a 0 0\r\nset a x 0 1\r\n1\r\nverbosity\r\n"
                  "verbosity x\r\n\r\n"),
              "ERROR\r\nERROR\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
              "ERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n");
    const std::string long_key(251, 'k');
    EXPECT_EQ(run("set " + long_key + " 0 0 1\r\n1\r\n"),
              "CLIENT_ERROR bad command line format\r\nERROR\r\n");
}

// ---- admin --------------------------------------------------------------------------

TEST_F(McClassic, VersionAndVerbosity) {
    EXPECT_EQ(run("version\r\nverbosity 1\r\nverbosity 1 noreply\r\n"),
              "VERSION 1.6.18-fulmar-0.1.0\r\nOK\r\n");
}

TEST_F(McClassic, StatsListsTheCountersAndEnds) {
    run("set a 0 0 1\r\n1\r\nget a b\r\n");
    const std::string r = run("stats\r\n");
    EXPECT_TRUE(r.starts_with("STAT pid "));
    EXPECT_TRUE(r.ends_with("END\r\n"));
    for (const char* name :
         {"uptime",         "time",        "version",     "curr_items",   "total_items",
          "bytes",          "cmd_get",     "cmd_set",     "cmd_flush",    "cmd_touch",
          "get_hits",       "get_misses",  "get_expired", "delete_hits",  "delete_misses",
          "incr_hits",      "incr_misses", "decr_hits",   "decr_misses",  "cas_hits",
          "cas_misses",     "cas_badval",  "touch_hits",  "touch_misses", "evictions",
          "limit_maxbytes", "threads"})
        EXPECT_NE(r.find("\r\nSTAT "s + name + " "), std::string::npos) << name;
    EXPECT_NE(r.find("STAT version 1.6.18-fulmar-0.1.0\r\n"), std::string::npos);
    EXPECT_EQ(stat("curr_items"), 1u);
    EXPECT_EQ(stat("total_items"), 1u);
    EXPECT_EQ(stat("cmd_set"), 1u);
    EXPECT_EQ(stat("cmd_get"), 2u);
    EXPECT_EQ(stat("limit_maxbytes"), uint64_t{8} << 20);
    EXPECT_EQ(stat("uptime"), 0u);
    clock_.advance(7);
    EXPECT_EQ(stat("uptime"), 7u);
    EXPECT_EQ(stat("time"), clock_.now());
}

TEST_F(McClassic, StatsArguments) {
    run("get a\r\n");
    EXPECT_EQ(run("stats reset\r\n"), "RESET\r\n");
    EXPECT_EQ(stat("cmd_get"), 0u);
    EXPECT_EQ(run("stats foo\r\nstats noreply\r\n"), "ERROR\r\nERROR\r\n");
    EXPECT_EQ(run("stats detail\r\nstats detail on\r\nstats detail dump\r\nstats detail off\r\n"),
              "CLIENT_ERROR usage: stats detail on|off|dump\r\nOK\r\nEND\r\nOK\r\n");
    EXPECT_EQ(run("stats sizes\r\nstats conns\r\n"),
              "STAT sizes_status disabled\r\nEND\r\nEND\r\n");
    EXPECT_EQ(run("stats cachedump\r\nstats cachedump 1 x\r\nstats cachedump 100 1\r\n"
                  "stats cachedump 1 1\r\n"),
              "CLIENT_ERROR bad command line\r\nCLIENT_ERROR bad command line format\r\n"
              "CLIENT_ERROR Illegal slab id\r\nEND\r\n");
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("stats items\r\n"), "STAT items:1:number 1\r\nSTAT items:1:evicted 0\r\nEND\r\n");
    const std::string slabs = run("stats slabs\r\n");
    EXPECT_NE(slabs.find("STAT 1:used_chunks 1\r\n"), std::string::npos) << slabs;
    EXPECT_TRUE(slabs.ends_with("STAT active_slabs 1\r\nSTAT total_malloced 1048576\r\nEND\r\n"));
}

// ---- session: pipelining, fragments, queue, close --------------------------------------

TEST_F(McClassic, QuitWritesPendingRepliesThenCloses) {
    const Transcript t = feed("set a 0 0 1\r\n1\r\nget a\r\nquit\r\nget a\r\n");
    EXPECT_EQ(t.replies, "STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(feed("version\r\nquit\r\n").replies, "VERSION 1.6.18-fulmar-0.1.0\r\n");
}

TEST_F(McClassic, HttpRequestClosesAndDropsQueuedReplies) {
    const Transcript t = feed("set a 0 0 1\r\n1\r\nversion\r\nGET / HTTP/1.1\r\n");
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(t.replies, "");
    // The set ran all the same; only its reply was lost.
    session_ = std::make_unique<McSession>(ctx_);
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
}

TEST_F(McClassic, LongLineWithoutNewlineCloses) {
    const Transcript t = feed("version\r\n" + std::string(3000, 'x'));
    EXPECT_TRUE(t.closed);
    EXPECT_EQ(t.replies, "");
    // Split across feeds, the version was written before.
    reset_store();
    const Transcript u = feed("version\r\n" + std::string(3000, 'x'), 9);
    EXPECT_TRUE(u.closed);
    EXPECT_EQ(u.replies, "VERSION 1.6.18-fulmar-0.1.0\r\n");
}

TEST_F(McClassic, GetWithLongKeyDropsRepliesQueuedSinceTheLastGet) {
    const std::string long_key(251, 'k');
    const std::string err = "CLIENT_ERROR bad command line format\r\n";
    const std::string ver = "VERSION 1.6.18-fulmar-0.1.0\r\n";
    EXPECT_EQ(run("set a 0 0 1\r\n1\r\nversion\r\nget a " + long_key + "\r\nversion\r\n"),
              err + ver);
    EXPECT_EQ(run("version\r\nget a\r\nversion\r\nget " + long_key + "\r\nversion\r\n"),
              ver + "VALUE a 0 1\r\n1\r\nEND\r\n" + err + ver);
    EXPECT_EQ(run("version\r\nmn\r\nversion\r\nget " + long_key + "\r\n"), ver + "MN\r\n" + err);
    // Only the reply was dropped: the set ran.
    EXPECT_EQ(run("get a\r\n"), "VALUE a 0 1\r\n1\r\nEND\r\n");
}

TEST_F(McClassic, GetWithLongKeyStillFetchesTheKeysBeforeIt) {
    const std::string long_key(251, 'k');
    run("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n1\r\n");
    // gat touched "a" (expiring it) before it met the long key; "b" after
    // the long key was never reached.
    EXPECT_EQ(run("gat -1 a " + long_key + " b\r\nget a b\r\n"),
              "CLIENT_ERROR bad command line format\r\nVALUE b 0 1\r\n1\r\nEND\r\n");
    EXPECT_EQ(stat("touch_hits"), 1u);
}

TEST_F(McClassic, DecrOnAnItemHeldByAQueuedMgReplyIsNotPadded) {
    EXPECT_EQ(run("set n 0 0 3\r\n100\r\nmg n\r\ndecr n 1\r\nget n\r\n"),
              "STORED\r\nHD\r\n99\r\nVALUE n 0 2\r\n99\r\nEND\r\n");
    // Once the queue is written (the get above), decr pads in place again.
    EXPECT_EQ(run("set n 0 0 3\r\n100\r\nmg n\r\nmn\r\ndecr n 1\r\nget n\r\n"),
              "STORED\r\nHD\r\nMN\r\n99\r\nVALUE n 0 3\r\n99 \r\nEND\r\n");
    // A miss holds nothing; a new item under the key is not held.
    EXPECT_EQ(run("set n 0 0 3\r\n100\r\nmg x\r\ndecr n 1\r\nget n\r\n"),
              "STORED\r\nEN\r\n99\r\nVALUE n 0 3\r\n99 \r\nEND\r\n");
    EXPECT_EQ(run("set n 0 0 3\r\n100\r\nmg n\r\nset n 0 0 3\r\n500\r\ndecr n 1\r\n"
                  "mg n v\r\n"),
              "STORED\r\nHD\r\nSTORED\r\n499\r\nVA 3\r\n499\r\n");
}

TEST_F(McClassic, MaOnAHeldItemKeepsTheCasItReported) {
    run("set n 0 0 3\r\n100\r\n");
    const std::string r = run("mg n\r\nma n MD v c\r\n");
    const size_t c = r.find(" c");
    ASSERT_NE(c, std::string::npos) << r;
    const std::string cas = r.substr(c + 2, r.find("\r\n", c) - c - 2);
    EXPECT_EQ(run("mg n v c\r\n"), "VA 2 c" + cas + "\r\n99\r\n");
}

TEST_F(McClassic, QueueIsWrittenEveryTwentyRequestsAfterTheTwentyFirst) {
    const std::string long_key(251, 'k');
    auto versions = [&](size_t n) {
        const std::string r = run(std::string() + [&] {
            std::string s;
            for (size_t i = 0; i < n; ++i)
                s += "version\r\n";
            return s;
        }() + "get " + long_key + "\r\n");
        size_t count = 0;
        for (size_t at = r.find("VERSION"); at != std::string::npos; at = r.find("VERSION", at + 1))
            ++count;
        return count;
    };
    EXPECT_EQ(versions(20), 0u);
    EXPECT_EQ(versions(21), 21u);
    EXPECT_EQ(versions(25), 21u);
    EXPECT_EQ(versions(45), 41u);
}

TEST_F(McClassic, PipelinedStreamGivesTheSameRepliesAtEveryFragmentSize) {
    const std::string in =
        "set a 1 0 3\r\nabc\r\nget a b\r\nadd a 0 0 1\r\nx\r\nappend a 0 0 2\r\nde\r\n"
        "prepend a 0 0 1\r\nz\r\ngets a\r\nset n 0 0 2 noreply\r\n10\r\nincr n 5\r\n"
        "decr n 100\r\ntouch a 100\r\ngat 0 a n\r\ndelete a\r\ndelete a noreply\r\n"
        "cas n 0 0 1 1\r\n1\r\nset bad 0 0 2\r\nxyz\r\nbogus line\r\nset big 0 0 1048600\r\n" +
        std::string(1048600, 'b') +
        "\r\nget big\r\nverbosity 1\r\nflush_all\r\nget n\r\nmn\r\nversion\r\nstats detail on\r\n"
        "quit\r\nversion\r\n";
    reset_store();
    const Transcript whole = feed(in);
    EXPECT_TRUE(whole.closed);
    EXPECT_EQ(whole.replies,
              "STORED\r\nVALUE a 1 3\r\nabc\r\nEND\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\n"
              "VALUE a 1 6 3\r\nzabcde\r\nEND\r\n15\r\n0\r\nTOUCHED\r\n"
              "VALUE a 1 6\r\nzabcde\r\nVALUE n 0 2\r\n0 \r\nEND\r\nDELETED\r\nEXISTS\r\n"
              "CLIENT_ERROR bad data chunk\r\nERROR\r\nERROR\r\n"
              "SERVER_ERROR object too large for cache\r\nEND\r\nOK\r\nOK\r\nEND\r\nMN\r\n"
              "VERSION 1.6.18-fulmar-0.1.0\r\nOK\r\n");
    for (size_t frag : proto::kFragmentSizes) {
        if (frag == 1 || frag == 2) continue;  // a 1 MiB value a byte at a time is slow
        reset_store();
        const Transcript t = feed(in, frag);
        EXPECT_EQ(t.replies, whole.replies) << "fragment size " << frag;
        EXPECT_TRUE(t.closed) << "fragment size " << frag;
    }
}

TEST_F(McClassic, SmallStreamGivesTheSameRepliesAtEveryFragmentSize) {
    const std::string in =
        "set a 0 0 1\r\n1\r\nget a\r\nincr a 9\r\ndecr a 1\r\ngets a\r\nset a 0 0 1\r\nxyz\r\n"
        "delete a 0\r\nget a\r\nset b 0 0 2 noreply\r\nhi\r\nmn\r\nappend b 0 0 1\r\n!\r\n"
        "get b\r\nflush_all 0\r\nget b\r\nversion\r\n";
    reset_store();
    const Transcript whole = feed(in);
    for (size_t frag : proto::kFragmentSizes) {
        reset_store();
        EXPECT_EQ(feed(in, frag), whole) << "fragment size " << frag;
    }
    EXPECT_FALSE(whole.closed);
    EXPECT_EQ(whole.left, 0u);
}

TEST_F(McClassic, IncompleteRequestStaysUnconsumed) {
    proto::StringSink sink;
    const std::string part = "get a\r\nset a 0 0 5\r\nab";
    const McFeedResult r = session_->feed(part, sink);
    EXPECT_EQ(r.consumed, 7u);
    EXPECT_EQ(r.status, McSessionStatus::kOpen);
    EXPECT_EQ(session_->needed(), part.size() - 7 + 3 + 2);
    EXPECT_EQ(sink.out, "END\r\n");
}

TEST_F(McClassic, MetaCommandsShareTheConnection) {
    EXPECT_EQ(run("set a 0 0 2\r\nhi\r\nmg a v\r\nms b 2\r\nyo\r\nget b\r\nmn\r\n"),
              "STORED\r\nVA 2\r\nhi\r\nHD\r\nVALUE b 0 2\r\nyo\r\nEND\r\nMN\r\n");
    // A refused ms data block is swallowed, also across feeds.
    const std::string in = "ms c 2000000\r\n" + std::string(2000000, 'm') + "\r\nmn\r\n";
    for (size_t frag : {size_t{100000}, size_t{0}}) {
        const Transcript t = feed(in, frag);
        EXPECT_EQ(t.replies, "SERVER_ERROR object too large for cache\r\nMN\r\n") << frag;
        EXPECT_EQ(t.left, 0u);
    }
}

TEST_F(McClassic, TooLargeMsUnlinksTheKey) {
    run("set a 0 0 1\r\n1\r\n");
    EXPECT_EQ(run("ms a 2000000\r\n" + std::string(2000000, 'm') + "\r\nget a\r\n"),
              "SERVER_ERROR object too large for cache\r\nEND\r\n");
}

}  // namespace
}  // namespace fulmar::engine
