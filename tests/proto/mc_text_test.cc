#include "proto/mc_text.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "proto/mc_wire.h"

// Every expectation about memcached below was checked against memcached
// 1.6.18 on loopback, byte for byte, before it was written down.

namespace fulmar::proto {
namespace {

using namespace std::string_literals;
using Cmd = McTextCommand;
using Err = McTextError;

// One parse result with its request copied out, so results from different
// buffers (whole input, fragmented input) compare by value.
struct Event {
    ParseStatus status = ParseStatus::kNeedMore;
    McTextError error = McTextError::kNone;
    size_t consumed = 0;
    McTextCommand command = McTextCommand::kNone;
    bool noreply = false;
    std::string key;
    std::vector<std::string> keys;
    std::string value;
    uint32_t flags = 0;
    uint32_t value_len = 0;
    int32_t exptime = 0;
    uint64_t cas = 0;
    uint64_t delta = 0;
    uint32_t verbosity = 0;
    std::string stats_args;

    bool operator==(const Event&) const = default;
};

void PrintTo(const Event& e, std::ostream* os) {
    *os << "{status " << int(e.status) << " error " << int(e.error) << " consumed " << e.consumed
        << " cmd " << int(e.command) << " noreply " << e.noreply << " key '" << e.key << "' "
        << e.keys.size() << " keys value '" << e.value << "' flags " << e.flags << " len "
        << e.value_len << " exptime " << e.exptime << " cas " << e.cas << " delta " << e.delta
        << " verbosity " << e.verbosity << " stats '" << e.stats_args << "'}";
}

Event snapshot(const McTextResult& r, const McTextRequest& q) {
    Event e{.status = r.status,
            .error = r.error,
            .consumed = r.consumed,
            .command = q.command,
            .noreply = q.noreply,
            .key = std::string(q.key),
            .keys = {},
            .value = std::string(q.value),
            .flags = q.flags,
            .value_len = q.value_len,
            .exptime = q.exptime,
            .cas = q.cas,
            .delta = q.delta,
            .verbosity = q.verbosity,
            .stats_args = std::string(q.stats_args)};
    McTokenIter it = q.key_iter();
    std::string_view k;
    while (it.next(k))
        e.keys.emplace_back(k);
    return e;
}

struct Stream {
    std::vector<Event> events;
    size_t left = 0;       // bytes of the input never consumed
    bool stopped = false;  // an error with nothing consumed: close, or a meta command

    bool operator==(const Stream&) const = default;
};

void PrintTo(const Stream& r, std::ostream* os) {
    *os << r.events.size() << " events, " << r.left << " left, stopped " << r.stopped << ":";
    for (const Event& e : r.events) {
        *os << "\n  ";
        PrintTo(e, os);
    }
}

// The rest of a value refused as too large arrives as kSwallowed results, as
// many as the input has pieces; fold them into the refusal so every
// fragmentation reads the same.
void record(Stream& run, const McTextResult& r, const McTextRequest& q) {
    if (r.error == Err::kSwallowed) {
        ASSERT_FALSE(run.events.empty());
        ASSERT_EQ(run.events.back().error, Err::kObjectTooLarge);
        run.events.back().consumed += r.consumed;
        return;
    }
    run.events.push_back(snapshot(r, q));
}

// A connection buffer that receives `in` in pieces of `frag` bytes (0: all
// at once) and runs the parser on its unconsumed bytes after each piece.
Stream feed(std::string_view in, size_t frag, McTextConf conf) {
    McTextParser parser(conf);
    Stream run;
    std::string buf;
    size_t pos = 0;
    size_t used = 0;
    while (pos < in.size() && !run.stopped) {
        const size_t n = frag == 0 ? in.size() : std::min(frag, in.size() - pos);
        buf.append(in.substr(pos, n));
        pos += n;
        for (;;) {
            McTextRequest req;
            const McTextResult r = parser.parse(buf, req);
            EXPECT_LE(r.consumed, buf.size());
            if (r.status == ParseStatus::kNeedMore) {
                EXPECT_EQ(r.consumed, 0u);
                break;
            }
            if (r.status == ParseStatus::kError && r.consumed == 0) {
                record(run, r, req);
                run.stopped = true;
                break;
            }
            record(run, r, req);
            buf.erase(0, r.consumed);
            used += r.consumed;
        }
    }
    run.left = in.size() - used;
    return run;
}

// Parses `in` at every fragment size, expects the same results from each,
// and returns them.
Stream parse_all(std::string_view in, McTextConf conf = {}) {
    const Stream whole = feed(in, 0, conf);
    for (size_t frag : kFragmentSizes) {
        if (frag == 0) continue;
        SCOPED_TRACE("fragment size " + std::to_string(frag));
        EXPECT_EQ(feed(in, frag, conf), whole);
    }
    return whole;
}

// The single event of an input holding one request.
Event parse_one(std::string_view in, McTextConf conf = {}) {
    const Stream run = parse_all(in, conf);
    EXPECT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.left, 0u);
    return run.events.empty() ? Event{} : run.events.front();
}

// Long inputs would flood a failure message.
std::string trace_of(std::string_view in) {
    return std::string(in.substr(0, 80));
}

void expect_error(std::string_view in, McTextError err, bool noreply = false) {
    SCOPED_TRACE(trace_of(in));
    const Stream run = parse_all(in);
    ASSERT_FALSE(run.events.empty());
    EXPECT_EQ(run.events.front().status, ParseStatus::kError);
    EXPECT_EQ(run.events.front().error, err);
    EXPECT_EQ(run.events.front().noreply, noreply);
}

void expect_complete(std::string_view in, McTextCommand cmd) {
    SCOPED_TRACE(trace_of(in));
    const Event e = parse_one(in);
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.error, Err::kNone);
    EXPECT_EQ(e.command, cmd);
    EXPECT_EQ(e.consumed, in.size());
}

// ---- retrieval ---------------------------------------------------------------

TEST(McTextParser, ParsesGetWithOneKey) {
    const Event e = parse_one("get foo\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.command, Cmd::kGet);
    EXPECT_EQ(e.consumed, 9u);
    EXPECT_EQ(e.key, "foo");
    EXPECT_EQ(e.keys, std::vector<std::string>{"foo"});
    EXPECT_FALSE(e.noreply);
}

TEST(McTextParser, SplitsMultiGetKeysLazily) {
    const Event e = parse_one("gets a bb  ccc   d\r\n");
    EXPECT_EQ(e.command, Cmd::kGets);
    EXPECT_EQ(e.key, "a");
    EXPECT_EQ(e.keys, (std::vector<std::string>{"a", "bb", "ccc", "d"}));
}

TEST(McTextParser, TreatsNoreplyAsAKeyInGet) {
    const Event e = parse_one("get k noreply\r\n");
    EXPECT_FALSE(e.noreply);
    EXPECT_EQ(e.keys, (std::vector<std::string>{"k", "noreply"}));
}

TEST(McTextParser, GatTakesExptimeBeforeKeys) {
    Event e = parse_one("gat 100 a b\r\n");
    EXPECT_EQ(e.command, Cmd::kGat);
    EXPECT_EQ(e.exptime, 100);
    EXPECT_EQ(e.key, "a");
    EXPECT_EQ(e.keys, (std::vector<std::string>{"a", "b"}));
    e = parse_one("gats -1 k\r\n");
    EXPECT_EQ(e.command, Cmd::kGats);
    EXPECT_EQ(e.exptime, -1);
    EXPECT_EQ(e.keys, std::vector<std::string>{"k"});
}

TEST(McTextParser, CompletesGatWithoutKeys) {
    // memcached answers a bare "END".
    const Event e = parse_one("gat 10\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_TRUE(e.keys.empty());
}

TEST(McTextParser, RejectsGatWithBadExptime) {
    expect_error("gat x k\r\n", Err::kInvalidExptime);
    expect_error("gats 9223372036854775808 k\r\n", Err::kInvalidExptime);
}

TEST(McTextParser, ParsesBgetAsGet) {
    expect_complete("bget k\r\n", Cmd::kGet);
}

TEST(McTextParser, AcceptsHugeMultiGetLines) {
    std::string in = "get";
    for (int i = 0; i < 3000; ++i)
        in += " key" + std::to_string(i);
    in += "\r\nget last\r\n";
    const Stream run = parse_all(in);
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].keys.size(), 3000u);
    EXPECT_EQ(run.events[0].keys.back(), "key2999");
    EXPECT_EQ(run.events[1].key, "last");
    EXPECT_EQ(run.left, 0u);
}

TEST(McTextParser, AcceptsLargeGetAfterUpTo100Spaces) {
    std::string keys;
    for (int i = 0; i < 1000; ++i)
        keys += " k";
    EXPECT_EQ(parse_one(std::string(100, ' ') + "gets" + keys + "\r\n").command, Cmd::kGets);
    expect_error(std::string(101, ' ') + "get" + keys + "\r\n", Err::kLineTooLong);
}

// ---- storage -----------------------------------------------------------------

TEST(McTextParser, ParsesSetWithItsDataBlock) {
    const Event e = parse_one("set foo 5 100 3\r\nbar\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.command, Cmd::kSet);
    EXPECT_EQ(e.key, "foo");
    EXPECT_EQ(e.flags, 5u);
    EXPECT_EQ(e.exptime, 100);
    EXPECT_EQ(e.value_len, 3u);
    EXPECT_EQ(e.value, "bar");
    EXPECT_EQ(e.consumed, 22u);
    EXPECT_FALSE(e.noreply);
}

TEST(McTextParser, ParsesEveryStorageCommand) {
    expect_complete("add k 0 0 1\r\nx\r\n", Cmd::kAdd);
    expect_complete("replace k 0 0 1\r\nx\r\n", Cmd::kReplace);
    expect_complete("append k 0 0 1\r\nx\r\n", Cmd::kAppend);
    expect_complete("prepend k 0 0 1\r\nx\r\n", Cmd::kPrepend);
    expect_complete("cas k 0 0 1 7\r\nx\r\n", Cmd::kCas);
}

TEST(McTextParser, ParsesCasUnique) {
    const Event e = parse_one("cas k 1 2 3 18446744073709551615 noreply\r\nabc\r\n");
    EXPECT_EQ(e.cas, 18446744073709551615u);
    EXPECT_TRUE(e.noreply);
    EXPECT_EQ(e.value, "abc");
}

TEST(McTextParser, ParsesNegativeExptime) {
    EXPECT_EQ(parse_one("set k 0 -1 0\r\n\r\n").exptime, -1);
}

TEST(McTextParser, ParsesZeroLengthValue) {
    const Event e = parse_one("set k 0 0 0\r\n\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.value, "");
    EXPECT_EQ(e.consumed, 15u);
}

TEST(McTextParser, KeepsCrLfInsideBinaryValues) {
    const std::string value = "a\r\nb\0\r\n\r"s;
    const Event e = parse_one("set k 0 0 8\r\n" + value + "\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.value, value);
}

TEST(McTextParser, WaitsForTheWholeDataBlock) {
    McTextParser p;
    McTextRequest req;
    const std::string in = "set k 0 0 10\r\n0123456789\r\n";
    for (size_t n = 0; n < in.size(); ++n) {
        const McTextResult r = p.parse(std::string_view(in).substr(0, n), req);
        EXPECT_EQ(r.status, ParseStatus::kNeedMore) << n;
        EXPECT_EQ(r.consumed, 0u);
        // Once the line is in, the connection learns the size to buffer.
        EXPECT_EQ(r.needed, n >= 14 ? in.size() : 0u) << n;
    }
    EXPECT_EQ(p.parse(in, req).status, ParseStatus::kComplete);
}

TEST(McTextParser, AcceptsExtraTokenAfterStorageArguments) {
    // A sixth token other than "noreply" is ignored, not an error.
    const Event e = parse_one("set k 0 0 1 junk\r\nx\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_FALSE(e.noreply);
    EXPECT_EQ(parse_one("cas k 0 0 1 5 junk\r\nx\r\n").status, ParseStatus::kComplete);
}

TEST(McTextParser, RejectsExtraBytesAfterValue) {
    // memcached reads exactly <bytes> + 2, sees "Y\r" where "\r\n" belongs,
    // and takes the stray "\n" for an empty command line.
    const Stream run = parse_all("set k 0 0 1\r\nXY\r\nget k\r\n");
    ASSERT_EQ(run.events.size(), 3u);
    EXPECT_EQ(run.events[0].error, Err::kBadDataChunk);
    EXPECT_EQ(run.events[0].consumed, 16u);
    EXPECT_EQ(run.events[1].error, Err::kUnknownCommand);
    EXPECT_EQ(run.events[1].consumed, 1u);
    EXPECT_EQ(run.events[2].command, Cmd::kGet);
}

TEST(McTextParser, SwallowsIntoTheNextRequestOnBareNewlineAfterValue) {
    // "X\ng" is the data block; "et k" is what memcached reads next.
    const Stream run = parse_all("set k 0 0 1\r\nX\nget k\r\n");
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].error, Err::kBadDataChunk);
    EXPECT_EQ(run.events[0].consumed, 16u);
    EXPECT_EQ(run.events[1].error, Err::kUnknownCommand);
    EXPECT_EQ(run.events[1].consumed, 6u);
}

TEST(McTextParser, ReportsNoreplyOnBadDataChunk) {
    const Event e = parse_all("set k 0 0 1 noreply\r\nXY\r\n").events.at(0);
    EXPECT_EQ(e.error, Err::kBadDataChunk);
    EXPECT_TRUE(e.noreply);
}

TEST(McTextParser, RejectsBadLengthsAndParsesTheDataAsACommand) {
    for (const char* line : {"set k 0 0 -1\r\n", "set k 0 0 abc\r\n", "set k 0 0 2147483646\r\n",
                             "set k 0 0 2147483647\r\n", "set k 0 0 9223372036854775808\r\n",
                             "set k 0 0 1x\r\n", "set k 0 0 \v\r\n"}) {
        SCOPED_TRACE(line);
        const Stream run = parse_all(line + "X\r\n"s);
        ASSERT_EQ(run.events.size(), 2u);
        EXPECT_EQ(run.events[0].error, Err::kBadFormat);
        EXPECT_EQ(run.events[0].consumed, std::string_view(line).size());
        EXPECT_EQ(run.events[1].error, Err::kUnknownCommand);
    }
}

TEST(McTextParser, RejectsBadFlagsExptimeAndCas) {
    expect_error("set k -1 0 1\r\n", Err::kBadFormat);
    expect_error("set k 0 1.5 1\r\n", Err::kBadFormat);
    expect_error("cas k 0 0 1 x\r\n", Err::kBadFormat);
    expect_error("cas k 0 0 1 -1\r\n", Err::kBadFormat);
    expect_error("cas k 0 0 1 18446744073709551616\r\n", Err::kBadFormat);
    // noreply stands where the cas unique belongs: a silent bad line.
    expect_error("cas k 0 0 1 noreply\r\n", Err::kBadFormat, true);
}

TEST(McTextParser, SilencesBadStorageLineWithNoreply) {
    expect_error("set k 0 0 abc noreply\r\n", Err::kBadFormat, true);
    expect_error("set " + std::string(251, 'a') + " 0 0 1 noreply\r\n", Err::kBadFormat, true);
}

TEST(McTextParser, RefusesTooLargeValueAndSwallowsIt) {
    const McTextConf conf{.max_value_len = 10};
    const std::string big(11, 'v');
    const Stream run = parse_all("set k 0 0 11\r\n" + big + "\r\nget k\r\n", conf);
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].error, Err::kObjectTooLarge);
    EXPECT_EQ(run.events[0].consumed, 14u + 11u + 2u);
    // The engine needs the key: memcached unlinks it on a failed set.
    EXPECT_EQ(run.events[0].command, Cmd::kSet);
    EXPECT_EQ(run.events[0].key, "k");
    EXPECT_EQ(run.events[1].command, Cmd::kGet);
    EXPECT_EQ(parse_one("set k 0 0 10\r\n0123456789\r\n", conf).status, ParseStatus::kComplete);
}

TEST(McTextParser, SwallowsTooLargeValueWithoutLookingAtIt) {
    // <bytes> + 2 go, whatever they hold: no bad data chunk here.
    const McTextConf conf{.max_value_len = 4};
    const Stream run = parse_all("set k 0 0 5 noreply\r\n01234XXversion\r\n", conf);
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].error, Err::kObjectTooLarge);
    EXPECT_TRUE(run.events[0].noreply);
    EXPECT_EQ(run.events[1].command, Cmd::kVersion);
}

TEST(McTextParser, RefusesTooLargeValueBeforeItArrives) {
    McTextParser p(McTextConf{.max_value_len = 100});
    McTextRequest req;
    std::string in = "set k 0 0 1000\r\n";
    McTextResult r = p.parse(in, req);
    EXPECT_EQ(r.status, ParseStatus::kError);
    EXPECT_EQ(r.error, Err::kObjectTooLarge);
    EXPECT_EQ(r.consumed, in.size());
    EXPECT_EQ(p.swallow_pending(), 1002u);
    EXPECT_EQ(p.parse("", req).status, ParseStatus::kNeedMore);
    r = p.parse(std::string(1000, 'x'), req);
    EXPECT_EQ(r.error, Err::kSwallowed);
    EXPECT_EQ(r.consumed, 1000u);
    r = p.parse("\r\nversion\r\n", req);
    EXPECT_EQ(r.error, Err::kSwallowed);
    EXPECT_EQ(r.consumed, 2u);
    EXPECT_EQ(p.parse("version\r\n", req).status, ParseStatus::kComplete);
}

// ---- delete, incr/decr, touch ---------------------------------------------------

TEST(McTextParser, ParsesDelete) {
    Event e = parse_one("delete k\r\n");
    EXPECT_EQ(e.command, Cmd::kDelete);
    EXPECT_EQ(e.key, "k");
    EXPECT_TRUE(parse_one("delete k noreply\r\n").noreply);
    // The old hold time survives as a literal "0".
    e = parse_one("delete k 0\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_FALSE(e.noreply);
    e = parse_one("delete k 0 noreply\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_TRUE(e.noreply);
}

TEST(McTextParser, RejectsDeleteHoldOtherThanZeroWithUsage) {
    expect_error("delete k 1\r\n", Err::kBadDeleteFormat);
    expect_error("delete k noreply 0\r\n", Err::kBadDeleteFormat);
    // memcached has read noreply before it refuses: nothing is sent.
    expect_error("delete k x noreply\r\n", Err::kBadDeleteFormat, true);
    expect_error("delete " + std::string(251, 'k') + "\r\n", Err::kBadFormat);
}

TEST(McTextParser, ParsesIncrAndDecr) {
    Event e = parse_one("incr n 18446744073709551615\r\n");
    EXPECT_EQ(e.command, Cmd::kIncr);
    EXPECT_EQ(e.key, "n");
    EXPECT_EQ(e.delta, 18446744073709551615u);
    e = parse_one("decr n 3 noreply\r\n");
    EXPECT_EQ(e.command, Cmd::kDecr);
    EXPECT_EQ(e.delta, 3u);
    EXPECT_TRUE(e.noreply);
    // A fourth token other than noreply is ignored.
    e = parse_one("incr n 5 junk\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_FALSE(e.noreply);
}

TEST(McTextParser, RejectsBadDeltaWithItsOwnError) {
    expect_error("incr n x\r\n", Err::kInvalidDelta);
    expect_error("decr n -1\r\n", Err::kInvalidDelta);
    expect_error("incr n 18446744073709551616\r\n", Err::kInvalidDelta);
    expect_error("incr n x noreply\r\n", Err::kInvalidDelta, true);
    expect_error("incr " + std::string(251, 'k') + " 1\r\n", Err::kBadFormat);
}

TEST(McTextParser, ParsesTouch) {
    const Event e = parse_one("touch k 60 noreply\r\n");
    EXPECT_EQ(e.command, Cmd::kTouch);
    EXPECT_EQ(e.key, "k");
    EXPECT_EQ(e.exptime, 60);
    EXPECT_TRUE(e.noreply);
    expect_error("touch k x\r\n", Err::kInvalidExptime);
    expect_error("touch k 9223372036854775808\r\n", Err::kInvalidExptime);
}

// ---- admin -----------------------------------------------------------------------

TEST(McTextParser, ParsesFlushAllForms) {
    Event e = parse_one("flush_all\r\n");
    EXPECT_EQ(e.command, Cmd::kFlushAll);
    EXPECT_EQ(e.exptime, 0);
    EXPECT_FALSE(e.noreply);
    e = parse_one("flush_all noreply\r\n");
    EXPECT_TRUE(e.noreply);
    e = parse_one("flush_all 30 noreply\r\n");
    EXPECT_EQ(e.exptime, 30);
    EXPECT_TRUE(e.noreply);
    EXPECT_EQ(parse_one("flush_all -5\r\n").exptime, -5);
}

TEST(McTextParser, ReadsFlushAllDelayFromTokenOneInEveryLongForm) {
    EXPECT_EQ(parse_one("flush_all 10 20\r\n").exptime, 10);
    expect_error("flush_all noreply 10\r\n", Err::kInvalidExptime);
    expect_error("flush_all abc\r\n", Err::kInvalidExptime);
    expect_error("flush_all abc noreply\r\n", Err::kInvalidExptime, true);
    expect_error("flush_all 1 2 3\r\n", Err::kBadArity);
}

TEST(McTextParser, ParsesVerbosity) {
    Event e = parse_one("verbosity 2\r\n");
    EXPECT_EQ(e.command, Cmd::kVerbosity);
    EXPECT_EQ(e.verbosity, 2u);
    EXPECT_TRUE(parse_one("verbosity 1 noreply\r\n").noreply);
    EXPECT_EQ(parse_one("verbosity 1 2\r\n").verbosity, 1u);
    expect_error("verbosity x\r\n", Err::kBadFormat);
    expect_error("verbosity -1\r\n", Err::kBadFormat);
    expect_error("verbosity noreply\r\n", Err::kBadFormat, true);
    expect_error("verbosity\r\n", Err::kBadArity);
}

TEST(McTextParser, ParsesVersionAndQuitIgnoringExtraTokens) {
    expect_complete("version\r\n", Cmd::kVersion);
    expect_complete("version foo bar\r\n", Cmd::kVersion);
    expect_complete("quit\r\n", Cmd::kQuit);
    expect_complete("quit now\r\n", Cmd::kQuit);
}

TEST(McTextParser, ParsesStatsArguments) {
    EXPECT_EQ(parse_one("stats\r\n").stats_args, "");
    EXPECT_EQ(parse_one("stats   \r\n").stats_args, "");
    const Event e = parse_one("stats  cachedump 1  2 \r\n");
    EXPECT_EQ(e.command, Cmd::kStats);
    EXPECT_EQ(e.stats_args, "cachedump 1  2");
}

// ---- framing ---------------------------------------------------------------------

TEST(McTextParser, AcceptsBareNewline) {
    const Stream run = parse_all("get a\nset k 0 0 1\nx\r\ndelete k\n");
    ASSERT_EQ(run.events.size(), 3u);
    EXPECT_EQ(run.events[0].key, "a");
    EXPECT_EQ(run.events[1].value, "x");
    EXPECT_EQ(run.events[2].command, Cmd::kDelete);
    EXPECT_EQ(run.left, 0u);
}

TEST(McTextParser, AcceptsRunsOfSpaces) {
    const Event e = parse_one("   set    k  1   2   3   \r\nabc\r\n");
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.key, "k");
    EXPECT_EQ(e.flags, 1u);
    EXPECT_EQ(e.exptime, 2);
    EXPECT_EQ(e.value, "abc");
}

TEST(McTextParser, SplitsOnSpacesOnly) {
    // A tab is part of the token: "get\tk" is no command.
    expect_error("get\tk\r\n", Err::kUnknownCommand);
    EXPECT_EQ(parse_one("get k\tx\r\n").key, "k\tx");
}

TEST(McTextParser, EndsALineAtItsFirstNul) {
    Event e = parse_one("get k\0junk\r\n"s);
    EXPECT_EQ(e.keys, std::vector<std::string>{"k"});
    EXPECT_EQ(e.consumed, 12u);
    e = parse_one("set k 0 0 1\0 junk\r\nX\r\n"s);
    EXPECT_EQ(e.status, ParseStatus::kComplete);
    EXPECT_EQ(e.value, "X");
    expect_error("\0get k\r\n"s, Err::kUnknownCommand);
}

TEST(McTextParser, KeepsAStrayCarriageReturnInTheLastToken) {
    // "1\r" still reads as 1: strtol stops at whitespace.
    EXPECT_EQ(parse_one("set k 0 0 1\r\r\nX\r\n").value, "X");
    EXPECT_EQ(parse_one("get k\r\r\n").key, "k\r");
}

TEST(McTextParser, ParsesPipelinedRequests) {
    const std::string in =
        "set a 0 0 2 noreply\r\nAA\r\nget a b\r\nincr n 1\r\nbogus\r\ndelete a\r\n"
        "cas a 0 0 1 9\r\n\n\r\ntouch a 1\r\nversion\r\nset partial 0 0 5\r\nab";
    const Stream run = parse_all(in);
    ASSERT_EQ(run.events.size(), 8u);
    EXPECT_EQ(run.events[0].command, Cmd::kSet);
    EXPECT_TRUE(run.events[0].noreply);
    EXPECT_EQ(run.events[1].keys, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(run.events[2].command, Cmd::kIncr);
    EXPECT_EQ(run.events[3].error, Err::kUnknownCommand);
    EXPECT_EQ(run.events[4].command, Cmd::kDelete);
    EXPECT_EQ(run.events[5].value, "\n");
    EXPECT_EQ(run.events[6].command, Cmd::kTouch);
    EXPECT_EQ(run.events[7].command, Cmd::kVersion);
    EXPECT_EQ(run.left, std::string_view("set partial 0 0 5\r\nab").size());
}

TEST(McTextParser, ClosesOnLongLineWithoutNewline) {
    const std::string long_key(3000, 'a');
    const Stream run = parse_all("set " + long_key);
    ASSERT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.events[0].error, Err::kLineTooLong);
    EXPECT_EQ(run.events[0].consumed, 0u);
    EXPECT_TRUE(run.stopped);
    EXPECT_TRUE(mc_text_error_closes(Err::kLineTooLong));
    // The same when the newline is in the buffer but past 2048 bytes, and
    // for gat, which memcached does not exempt.
    expect_error("set " + long_key + " 0 0 1\r\nX\r\n", Err::kLineTooLong);
    std::string gat = "gat 0";
    while (gat.size() <= 2048)
        gat += " k";
    expect_error(gat + "\r\n", Err::kLineTooLong);
}

TEST(McTextParser, Allows2048BytesBeforeTheNewline) {
    expect_error(std::string(2048, 'x') + "\n", Err::kUnknownCommand);
    expect_error(std::string(2049, 'x') + "\n", Err::kLineTooLong);
    EXPECT_EQ(parse_all(std::string(2048, 'x')).events.size(), 0u);
}

// ---- errors ----------------------------------------------------------------------

TEST(McTextParser, RejectsUnknownCommands) {
    expect_error("bogus\r\n", Err::kUnknownCommand);
    expect_error("GET k\r\n", Err::kUnknownCommand);
    expect_error("x\r\n", Err::kUnknownCommand);
    expect_error("\r\n", Err::kUnknownCommand);
    expect_error("\n", Err::kUnknownCommand);
    expect_error("   \r\n", Err::kUnknownCommand);
    // Admin commands memcached has and Fulmar does not.
    expect_error("slabs reassign 1 2\r\n", Err::kUnknownCommand);
    expect_error("lru_crawler metadump all\r\n", Err::kUnknownCommand);
}

TEST(McTextParser, RejectsWrongTokenCountsAsMemcachedDoes) {
    for (const char* in :
         {"get\r\n", "gets \r\n", "gat\r\n", "set k 0 0\r\n", "set k 0 0 1 noreply x\r\n",
          "add k\r\n", "cas k 0 0 1\r\n", "cas k 0 0 1 2 noreply x\r\n", "delete\r\n",
          "delete a b c d\r\n", "incr k\r\n", "decr k 1 noreply x\r\n", "touch k\r\n",
          "flush_all 1 noreply x\r\n", "verbosity 1 noreply x\r\n"}) {
        expect_error(in, Err::kBadArity);
    }
    // Far past memcached's 24-token window, the count still only grows.
    std::string many = "delete";
    for (int i = 0; i < 30; ++i)
        many += " a";
    expect_error(many + "\r\n", Err::kBadArity);
}

TEST(McTextParser, RejectsKeysLongerThan250Bytes) {
    const std::string k250(250, 'k');
    const std::string k251(251, 'k');
    EXPECT_EQ(parse_one("set " + k250 + " 0 0 1\r\nX\r\n").key, k250);
    EXPECT_EQ(parse_one("gets " + k250 + "\r\n").key, k250);
    // The rejected line's data is read as a command, as memcached does.
    const Stream run = parse_all("set " + k251 + " 0 0 1\r\nX\r\n");
    ASSERT_EQ(run.events.size(), 2u);
    EXPECT_EQ(run.events[0].error, Err::kBadFormat);
    EXPECT_EQ(run.events[1].error, Err::kUnknownCommand);
    expect_error("get a " + k251 + " b\r\n", Err::kBadFormat);
    expect_error("gat 1 " + k251 + "\r\n", Err::kBadFormat);
    expect_error("touch " + k251 + " 1\r\n", Err::kBadFormat);
    expect_error("decr " + k251 + " 1 noreply\r\n", Err::kBadFormat, true);
}

TEST(McTextParser, ReadsNumbersAsStrtolDoes) {
    struct Case {
        std::string in;
        uint32_t flags;
        uint32_t len;
    };
    // Leading zeros, '+', "-0", leading whitespace, bytes after a trailing
    // whitespace byte, and 64-bit values cut to 32 bits.
    for (const Case& c : std::vector<Case>{
             {"set k 000000000000000000000000007 0 1\r\nX\r\n", 7, 1},
             {"set k +7 0 +1\r\nX\r\n", 7, 1},
             {"set k -0 0 1\r\nX\r\n", 0, 1},
             {"set k \t5 0 1\r\nX\r\n", 5, 1},
             {"set k 5\vjunk 0 1\r\nX\r\n", 5, 1},
             {"set k 4294967297 0 4294967297\r\nX\r\n", 1, 1},
             {"set k 4294967296 0 1\r\nX\r\n", 0, 1},
         }) {
        SCOPED_TRACE(c.in);
        const Event e = parse_one(c.in);
        EXPECT_EQ(e.status, ParseStatus::kComplete);
        EXPECT_EQ(e.flags, c.flags);
        EXPECT_EQ(e.value_len, c.len);
    }
    // strtoull negates modulo 2^64; memcached refuses only what then looks
    // negative as int64.
    EXPECT_EQ(parse_one("incr n -18446744073709551615\r\n").delta, 1u);
    EXPECT_EQ(parse_one("incr n -0\r\n").delta, 0u);
    expect_error("incr n -9223372036854775808\r\n", Err::kInvalidDelta);
    expect_error("set k -4294967296 0 1\r\n", Err::kBadFormat);
    expect_error("set k + 0 1\r\n", Err::kBadFormat);
    expect_error("set k 1- 0 1\r\n", Err::kBadFormat);
    EXPECT_EQ(parse_one("touch k -9223372036854775808\r\n").exptime, 0);
    EXPECT_EQ(parse_one("touch k 4294967295\r\n").exptime, -1);
}

TEST(McTextParser, ClosesOnHttpRequestLine) {
    const Stream run = parse_all("GET / HTTP/1.1\r\nversion\r\n");
    ASSERT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.events[0].error, Err::kHttpRequest);
    EXPECT_EQ(run.events[0].consumed, 0u);
    EXPECT_TRUE(mc_text_error_closes(Err::kHttpRequest));
    expect_error("POST /x HTTP/1.0\r\n", Err::kHttpRequest);
}

TEST(McTextParser, AnswersHttpLikeLinesOfKnownLettersWithError) {
    // memcached's dispatch answers these before it looks for "HTTP/".
    expect_error("git / HTTP/1.1\r\n", Err::kUnknownCommand);
    expect_error("lru_crawler x HTTP/1.1\r\n", Err::kUnknownCommand);
    expect_error("watch HTTP/1.1\r\n", Err::kUnknownCommand);
}

TEST(McTextParser, HandsMetaCommandsToTheMetaParser) {
    const Stream run = parse_all("mg foo v\r\n");
    ASSERT_EQ(run.events.size(), 1u);
    EXPECT_EQ(run.events[0].error, Err::kMetaCommand);
    EXPECT_EQ(run.events[0].consumed, 0u);
    EXPECT_FALSE(mc_text_error_closes(Err::kMetaCommand));
    // Longer names starting with 'm' are classic (and unknown).
    expect_error("mget k\r\n", Err::kUnknownCommand);
}

TEST(McTextParser, MapsEveryErrorToMemcachedsReply) {
    EXPECT_EQ(mc_text_error_reply(Err::kUnknownCommand), "ERROR\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kBadArity), "ERROR\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kBadFormat), "CLIENT_ERROR bad command line format\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kBadDeleteFormat),
              "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kInvalidExptime),
              "CLIENT_ERROR invalid exptime argument\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kInvalidDelta),
              "CLIENT_ERROR invalid numeric delta argument\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kBadDataChunk), "CLIENT_ERROR bad data chunk\r\n");
    EXPECT_EQ(mc_text_error_reply(Err::kObjectTooLarge),
              "SERVER_ERROR object too large for cache\r\n");
    for (Err e :
         {Err::kNone, Err::kSwallowed, Err::kLineTooLong, Err::kHttpRequest, Err::kMetaCommand})
        EXPECT_EQ(mc_text_error_reply(e), "");
}

TEST(McTextParser, NeverConsumesPastAnyPrefix) {
    const std::string in =
        "set a 0 0 2\r\nAA\r\nget a b c\r\ncas k 1 2 3 4 noreply\r\nabc\r\nflush_all 0\r\n"
        "set b 0 0 1\r\nXY\r\nstats items\r\n";
    for (size_t n = 0; n <= in.size(); ++n) {
        McTextParser p;
        std::string_view rest = std::string_view(in).substr(0, n);
        for (;;) {
            McTextRequest req;
            const McTextResult r = p.parse(rest, req);
            ASSERT_LE(r.consumed, rest.size());
            if (r.status == ParseStatus::kNeedMore || r.consumed == 0) break;
            rest.remove_prefix(r.consumed);
        }
    }
}

}  // namespace
}  // namespace fulmar::proto
