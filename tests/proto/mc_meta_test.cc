#include "proto/mc_meta.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "proto/parse.h"

namespace fulmar::proto {
namespace {

using namespace std::string_literals;

// ---- Harness ------------------------------------------------------------
// Every case runs through feed() at each of kFragmentSizes: a connection
// buffer receives the input in chunks and the parser runs on the unconsumed
// bytes after each one, honouring `swallow` as a connection must. What it saw
// is copied out, since the buffer moves as it grows.

struct Seen {
    ParseStatus status = ParseStatus::kNeedMore;
    McMetaError error = McMetaError::kNone;
    size_t consumed = 0;
    size_t swallow = 0;
    McMetaCommand command = McMetaCommand::kNoop;
    std::string key;
    std::string raw_key;
    bool key_binary = false;
    std::string data;
    std::string flags;  // request order, tokens included: "v k Oabc"
    uint64_t present = 0;
    int32_t ttl = 0;
    int32_t vivify_ttl = 0;
    int32_t recache_ttl = 0;
    uint32_t client_flags = 0;
    uint64_t compare_cas = 0;
    uint64_t new_cas = 0;
    uint64_t delta = 0;
    uint64_t initial = 0;
    char mode = 0;
    McMetaSetMode set_mode = McMetaSetMode::kSet;
    McMetaArithmeticMode arithmetic_mode = McMetaArithmeticMode::kIncrement;
    std::string opaque;

    bool operator==(const Seen&) const = default;
};

struct Stream {
    std::vector<Seen> seen;
    size_t left = 0;          // bytes never consumed
    size_t swallow_left = 0;  // bytes still owed to a swallow
    bool closed = false;      // kLineTooLong

    bool operator==(const Stream&) const = default;
};

void PrintTo(const Seen& s, std::ostream* os) {
    *os << "{status " << static_cast<int>(s.status) << " error " << static_cast<int>(s.error)
        << " consumed " << s.consumed << " swallow " << s.swallow << " cmd "
        << static_cast<int>(s.command) << " key '" << s.key << "' data '" << s.data << "' flags '"
        << s.flags << "'}";
}

void PrintTo(const Stream& r, std::ostream* os) {
    *os << "{";
    for (const Seen& s : r.seen)
        PrintTo(s, os);
    *os << " left " << r.left << " swallow_left " << r.swallow_left << " closed " << r.closed
        << "}";
}

Seen capture(const McMetaResult& r, const McMetaRequest& q) {
    Seen s;
    s.status = r.status;
    s.error = r.error;
    s.consumed = r.consumed;
    s.swallow = r.swallow;
    if (r.status != ParseStatus::kComplete) return s;
    s.command = q.command;
    s.key = std::string(q.key());
    s.raw_key = std::string(q.raw_key);
    s.key_binary = q.key_binary;
    s.data = std::string(q.data);
    for (const McMetaFlag& f : q.flag_list()) {
        if (!s.flags.empty()) s.flags += ' ';
        s.flags += f.name;
        s.flags += f.token;
    }
    s.present = q.present;
    s.ttl = q.ttl;
    s.vivify_ttl = q.vivify_ttl;
    s.recache_ttl = q.recache_ttl;
    s.client_flags = q.client_flags;
    s.compare_cas = q.compare_cas;
    s.new_cas = q.new_cas;
    s.delta = q.delta;
    s.initial = q.initial;
    s.mode = q.mode;
    s.set_mode = q.set_mode;
    s.arithmetic_mode = q.arithmetic_mode;
    s.opaque = std::string(q.opaque);
    return s;
}

Stream feed(std::string_view input, size_t fragment, size_t max_data_len) {
    Stream run;
    std::string buf;
    size_t off = 0;
    size_t owed = 0;
    McMetaRequest req;
    for (size_t pos = 0; pos < input.size() && !run.closed;) {
        const size_t n = fragment == 0 ? input.size() : std::min(fragment, input.size() - pos);
        buf.append(input.substr(pos, n));
        pos += n;
        while (!run.closed) {
            const size_t skip = std::min(owed, buf.size() - off);
            off += skip;
            owed -= skip;
            if (owed > 0 || off == buf.size()) break;
            const std::string_view view = std::string_view(buf).substr(off);
            const McMetaResult r = parse_mc_meta(view, req, max_data_len);
            EXPECT_LE(r.consumed, view.size());
            if (r.status == ParseStatus::kNeedMore) {
                EXPECT_EQ(r.consumed, 0u);
                break;
            }
            run.seen.push_back(capture(r, req));
            if (r.status == ParseStatus::kError && r.consumed == 0) {
                EXPECT_EQ(r.error, McMetaError::kLineTooLong);
                run.closed = true;
                break;
            }
            off += r.consumed;
            owed = r.swallow;
        }
    }
    // A closed connection drops whatever else it had received.
    run.left = run.closed ? 0 : buf.size() - off;
    run.swallow_left = owed;
    return run;
}

// The outcome of the whole input, after checking every fragment size agrees.
Stream parse_all(std::string_view input, size_t max_data_len = kMcMetaDefaultMaxDataLen) {
    const Stream whole = feed(input, 0, max_data_len);
    for (size_t f : kFragmentSizes)
        EXPECT_EQ(feed(input, f, max_data_len), whole) << "fragment size " << f;
    return whole;
}

// Exactly one request and nothing left over.
Seen one(std::string_view input, size_t max_data_len = kMcMetaDefaultMaxDataLen) {
    const Stream run = parse_all(input, max_data_len);
    EXPECT_EQ(run.seen.size(), 1u) << input;
    EXPECT_EQ(run.left, 0u) << input;
    return run.seen.empty() ? Seen{} : run.seen.front();
}

Seen complete(std::string_view input) {
    Seen s = one(input);
    EXPECT_EQ(s.status, ParseStatus::kComplete) << input;
    EXPECT_EQ(s.consumed, input.size()) << input;
    return s;
}

// The error of a one-line request that swallows nothing.
McMetaError error_of(std::string_view input) {
    const Seen s = one(input);
    EXPECT_EQ(s.status, ParseStatus::kError) << input;
    EXPECT_EQ(s.consumed, input.size()) << input;
    EXPECT_EQ(s.swallow, 0u) << input;
    return s.error;
}

uint64_t bits(std::string_view flags) {
    uint64_t b = 0;
    for (char c : flags)
        b |= McMetaRequest::flag_bit(c);
    return b;
}

// "<cmd> <key> [extra] f1 f2 ... fn\r\n" with n distinct flags that take no
// token, for the flag count limits.
std::string with_flags(std::string_view head, size_t n) {
    static constexpr std::string_view kPlain = "vkftcshluqIPLx";  // no token needed
    std::string line(head);
    for (size_t i = 0; i < n; ++i) {
        line += ' ';
        if (i < kPlain.size()) {
            line += kPlain[i];
        } else {
            line += "TNRCEDJ"[(i - kPlain.size()) % 7];
            line += '1';
        }
    }
    return line + "\r\n";
}

// ---- mg -----------------------------------------------------------------

TEST(McMetaParser, ParsesMetaGetWithEveryRetrievalFlag) {
    const Seen s = complete("mg foo v k f t c s q Oabc T30 N-5 R+7 h l u E9 I\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kGet);
    EXPECT_EQ(s.key, "foo");
    EXPECT_FALSE(s.key_binary);
    EXPECT_EQ(s.flags, "v k f t c s q Oabc T30 N-5 R+7 h l u E9 I");
    EXPECT_EQ(s.present, bits("vkftcsqOTNRhluEI"));
    EXPECT_EQ(s.opaque, "abc");
    EXPECT_EQ(s.ttl, 30);
    EXPECT_EQ(s.vivify_ttl, -5);
    EXPECT_EQ(s.recache_ttl, 7);
    EXPECT_EQ(s.new_cas, 9u);
    EXPECT_TRUE(s.data.empty());
}

TEST(McMetaParser, ParsesMetaGetWithoutFlags) {
    const Seen s = complete("mg foo\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kGet);
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.present, 0u);
    EXPECT_EQ(s.flags, "");
}

TEST(McMetaParser, KeepsFlagOrderForRepliesToEcho) {
    // memcached echoes O and k (and s t c f l h on a hit) in request order.
    EXPECT_EQ(complete("mg foo Oxy k t c\r\n").flags, "Oxy k t c");
    EXPECT_EQ(complete("mg foo c t k Oxy\r\n").flags, "c t k Oxy");
}

TEST(McMetaParser, LooksOnlyAtTheFirstCharacterOfTokenlessFlags) {
    const Seen s = complete("mg foo vxyz qq k1\r\n");
    EXPECT_EQ(s.present, bits("vqk"));
    EXPECT_EQ(s.flags, "vxyz qq k1");
}

TEST(McMetaParser, KeepsAnEmptyOpaque) {
    const Seen s = complete("mg foo O k\r\n");
    EXPECT_TRUE(s.present & bits("O"));
    EXPECT_EQ(s.opaque, "");
}

TEST(McMetaParser, AcceptsOpaqueTokensUpTo32Bytes) {
    const std::string ok = "O" + std::string(31, 'x');
    EXPECT_EQ(complete("mg foo " + ok + "\r\n").opaque, std::string(31, 'x'));
    EXPECT_EQ(complete("md foo " + ok + "\r\n").opaque, std::string(31, 'x'));
    EXPECT_EQ(complete("ma foo " + ok + "\r\n").opaque, std::string(31, 'x'));
}

TEST(McMetaParser, RejectsOpaqueTokensOver32Bytes) {
    const std::string bad = "O" + std::string(32, 'x');
    EXPECT_EQ(error_of("mg foo " + bad + "\r\n"), McMetaError::kOpaqueTooLong);
    EXPECT_EQ(error_of("md foo " + bad + "\r\n"), McMetaError::kOpaqueTooLong);
    EXPECT_EQ(error_of("ma foo " + bad + "\r\n"), McMetaError::kOpaqueTooLong);
}

TEST(McMetaParser, ParsesQuietModeRequests) {
    const Stream run = parse_all("mg a v q\r\nmg b v q Oz\r\nmn\r\n");
    ASSERT_EQ(run.seen.size(), 3u);
    McMetaRequest r;
    ASSERT_EQ(parse_mc_meta("mg a v q\r\n", r).status, ParseStatus::kComplete);
    EXPECT_TRUE(r.quiet());
    EXPECT_EQ(run.seen[1].opaque, "z");
    EXPECT_EQ(run.seen[2].command, McMetaCommand::kNoop);
}

// ---- ms -----------------------------------------------------------------

TEST(McMetaParser, ParsesMetaSetWithItsDataBlock) {
    const Seen s = complete("ms foo 5 T30 F7 C12 E13 I c k s q Oxy\r\nhello\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kSet);
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.data, "hello");
    EXPECT_EQ(s.flags, "T30 F7 C12 E13 I c k s q Oxy");
    EXPECT_EQ(s.ttl, 30);
    EXPECT_EQ(s.client_flags, 7u);
    EXPECT_EQ(s.compare_cas, 12u);
    EXPECT_EQ(s.new_cas, 13u);
    EXPECT_EQ(s.set_mode, McMetaSetMode::kSet);
    EXPECT_EQ(s.mode, 0);
}

TEST(McMetaParser, KeepsBinaryDataContainingCrlf) {
    const std::string data = "he\r\nlo\0\n\r\r\n"s;
    const Seen s = complete("ms foo " + std::to_string(data.size()) + "\r\n" + data + "\r\n");
    EXPECT_EQ(s.data, data);
}

TEST(McMetaParser, ParsesAnEmptyDataBlock) {
    const Seen s = complete("ms foo 0\r\n\r\n");
    EXPECT_EQ(s.data, "");
}

TEST(McMetaParser, AcceptsAPlusSignedDataLength) {
    EXPECT_EQ(complete("ms foo +5\r\nhello\r\n").data, "hello");
}

TEST(McMetaParser, MapsEverySetMode) {
    const std::pair<char, McMetaSetMode> modes[] = {
        {'S', McMetaSetMode::kSet},     {'E', McMetaSetMode::kAdd},
        {'A', McMetaSetMode::kAppend},  {'P', McMetaSetMode::kPrepend},
        {'R', McMetaSetMode::kReplace},
    };
    for (auto [c, mode] : modes) {
        const Seen s = complete("ms foo 1 M"s + c + " N30\r\nx\r\n");
        EXPECT_EQ(s.mode, c);
        EXPECT_EQ(s.set_mode, mode);
        EXPECT_EQ(s.vivify_ttl, 30);
    }
}

TEST(McMetaParser, RejectsAnUnknownSetModeAndSwallowsTheData) {
    // Modes are upper case only; memcached answers 'Ma' with this line.
    const Stream run = parse_all("ms foo 5 Ma\r\nhello\r\nmn\r\n");
    ASSERT_EQ(run.seen.size(), 2u);
    EXPECT_EQ(run.seen[0].error, McMetaError::kBadSetMode);
    EXPECT_EQ(run.seen[0].consumed, 13u);
    EXPECT_EQ(run.seen[0].swallow, 7u);
    EXPECT_EQ(run.seen[1].command, McMetaCommand::kNoop);
    EXPECT_EQ(run.left, 0u);
}

TEST(McMetaParser, SwallowsTheDataBlockAfterAFlagError) {
    const std::pair<std::string, McMetaError> cases[] = {
        {"ms foo 5 zz", McMetaError::kInvalidFlag},
        {"ms foo 5 T1 T2", McMetaError::kDuplicateFlag},
        {"ms foo 5 Tx", McMetaError::kBadToken},
        {"ms foo 5 Fx", McMetaError::kBadFormat},
        {"ms foo 5 MSS", McMetaError::kModeLength},
        {"ms foo 5 O" + std::string(32, 'o'), McMetaError::kOpaqueTooLong},
        {"ms foo 5 @@@ b", McMetaError::kInvalidFlag},
        {"ms @@@ 5 b", McMetaError::kKeyDecode},
        // memcached checks the mode before the opaque.
        {"ms foo 5 O" + std::string(40, 'o') + " MX", McMetaError::kBadSetMode},
    };
    for (const auto& [line, error] : cases) {
        const Stream run = parse_all(line + "\r\nhello\r\nmn\r\n");
        ASSERT_EQ(run.seen.size(), 2u) << line;
        EXPECT_EQ(run.seen[0].status, ParseStatus::kError) << line;
        EXPECT_EQ(run.seen[0].error, error) << line;
        EXPECT_EQ(run.seen[0].consumed, line.size() + 2) << line;
        EXPECT_EQ(run.seen[0].swallow, 7u) << line;
        EXPECT_EQ(run.seen[1].command, McMetaCommand::kNoop) << line;
    }
}

TEST(McMetaParser, RejectsBadDataLengthsWithoutSwallowing) {
    // Without a length memcached cannot skip the block: it reads "hello" as a
    // command of its own and answers ERROR to it.
    for (const char* line : {"ms foo", "ms foo -1", "ms foo abc", "ms foo 5x", "ms foo 2147483646",
                             "ms foo 2147483648", "ms foo 99999999999999999999999"}) {
        const Stream run = parse_all(line + "\r\nhello\r\n"s);
        ASSERT_EQ(run.seen.size(), 2u) << line;
        EXPECT_EQ(run.seen[0].error, McMetaError::kBadFormat) << line;
        EXPECT_EQ(run.seen[0].swallow, 0u) << line;
        EXPECT_EQ(run.seen[1].error, McMetaError::kUnknownCommand) << line;
    }
}

TEST(McMetaParser, RejectsDataLargerThanTheLimitAndSwallowsIt) {
    const Stream run = parse_all("ms foo 11 T0\r\nhello world\r\nmn\r\n", 10);
    ASSERT_EQ(run.seen.size(), 2u);
    EXPECT_EQ(run.seen[0].error, McMetaError::kTooLarge);
    EXPECT_EQ(run.seen[0].swallow, 13u);
    EXPECT_EQ(run.seen[1].command, McMetaCommand::kNoop);
    EXPECT_EQ(one("ms foo 10\r\nhelloworld\r\n", 10).data, "helloworld");
}

TEST(McMetaParser, ReportsTooLargeBeforeTheDataArrives) {
    // A connection must not buffer a value it will refuse.
    McMetaRequest r;
    const McMetaResult res = parse_mc_meta("ms foo 2000000\r\n", r);
    EXPECT_EQ(res.status, ParseStatus::kError);
    EXPECT_EQ(res.error, McMetaError::kTooLarge);
    EXPECT_EQ(res.consumed, 16u);
    EXPECT_EQ(res.swallow, 2000002u);
    // The largest length memcached parses still gets the same answer.
    EXPECT_EQ(parse_mc_meta("ms foo 2147483645\r\n", r).swallow, 2147483647u);
}

TEST(McMetaParser, RejectsABadDataChunkSkippingExactlyTheBlock) {
    // memcached reads datalen + 2 bytes, then checks their last two; the
    // stream goes on right after them ("\r\n" alone is then an unknown command).
    const Stream run = parse_all("ms foo 5\r\nhelloXX\r\nmn\r\n");
    ASSERT_EQ(run.seen.size(), 3u);
    EXPECT_EQ(run.seen[0].error, McMetaError::kBadDataChunk);
    EXPECT_EQ(run.seen[0].consumed, 17u);
    EXPECT_EQ(run.seen[0].swallow, 0u);
    EXPECT_EQ(run.seen[1].error, McMetaError::kUnknownCommand);
    EXPECT_EQ(run.seen[2].command, McMetaCommand::kNoop);

    // The data block needs "\r\n": a bare "\n" is a bad chunk.
    const Stream bare = parse_all("ms foo 5\r\nhello\nmn\r\n");
    ASSERT_EQ(bare.seen.size(), 2u);
    EXPECT_EQ(bare.seen[0].error, McMetaError::kBadDataChunk);
    EXPECT_EQ(bare.seen[1].error, McMetaError::kUnknownCommand);  // "n\r\n"
}

TEST(McMetaParser, WaitsForTheWholeDataBlock) {
    McMetaRequest r;
    const std::string in = "ms foo 5\r\nhello\r\n";
    for (size_t n = 0; n < in.size(); ++n) {
        const McMetaResult res = parse_mc_meta(std::string_view(in).substr(0, n), r);
        EXPECT_EQ(res.status, ParseStatus::kNeedMore) << n;
        EXPECT_EQ(res.consumed, 0u) << n;
    }
    EXPECT_EQ(parse_mc_meta(in, r).status, ParseStatus::kComplete);
}

// ---- md, ma, mn, me -----------------------------------------------------

TEST(McMetaParser, ParsesMetaDelete) {
    const Seen s = complete("md foo q C5 E6 I T30 x k Oab\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kDelete);
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.flags, "q C5 E6 I T30 x k Oab");
    EXPECT_EQ(s.compare_cas, 5u);
    EXPECT_EQ(s.new_cas, 6u);
    EXPECT_EQ(s.ttl, 30);
    EXPECT_EQ(s.opaque, "ab");
}

TEST(McMetaParser, ParsesMetaArithmetic) {
    const Seen s = complete("ma foo N0 J5 D3 MD v t c k Oab C9 E10 T60 q\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kArithmetic);
    EXPECT_EQ(s.vivify_ttl, 0);
    EXPECT_EQ(s.initial, 5u);
    EXPECT_EQ(s.delta, 3u);
    EXPECT_EQ(s.arithmetic_mode, McMetaArithmeticMode::kDecrement);
    EXPECT_EQ(s.compare_cas, 9u);
    EXPECT_EQ(s.new_cas, 10u);
    EXPECT_EQ(s.ttl, 60);
    EXPECT_EQ(s.present, bits("NJDMvtckOCETq"));
}

TEST(McMetaParser, DefaultsArithmeticToIncrementByOne) {
    const Seen s = complete("ma foo\r\n");
    EXPECT_EQ(s.delta, 1u);
    EXPECT_EQ(s.initial, 0u);
    EXPECT_EQ(s.arithmetic_mode, McMetaArithmeticMode::kIncrement);
    EXPECT_EQ(complete("ma foo D18446744073709551615\r\n").delta, UINT64_MAX);
}

TEST(McMetaParser, MapsEveryArithmeticMode) {
    EXPECT_EQ(complete("ma foo MI\r\n").arithmetic_mode, McMetaArithmeticMode::kIncrement);
    EXPECT_EQ(complete("ma foo M+\r\n").arithmetic_mode, McMetaArithmeticMode::kIncrement);
    EXPECT_EQ(complete("ma foo MD\r\n").arithmetic_mode, McMetaArithmeticMode::kDecrement);
    EXPECT_EQ(complete("ma foo M-\r\n").arithmetic_mode, McMetaArithmeticMode::kDecrement);
    EXPECT_EQ(error_of("ma foo Mi\r\n"), McMetaError::kBadArithmeticMode);
    // The mode is checked before the opaque.
    EXPECT_EQ(error_of("ma foo O" + std::string(40, 'o') + " MX\r\n"),
              McMetaError::kBadArithmeticMode);
}

TEST(McMetaParser, ReportsEveryFlagErrorOfMdAndMaAsOneLine) {
    for (const char* line : {"md foo zz\r\n", "md foo v v\r\n", "md foo Tx\r\n", "md @@@ b\r\n",
                             "ma foo Dabc\r\n", "ma foo Jx\r\n", "ma foo M\r\n", "ma foo \xff\r\n"})
        EXPECT_EQ(error_of(line), McMetaError::kInvalidOrDuplicateFlag) << line;
}

TEST(McMetaParser, ParsesNoopIgnoringAnyTokens) {
    EXPECT_EQ(complete("mn\r\n").command, McMetaCommand::kNoop);
    EXPECT_EQ(complete("mn\n").command, McMetaCommand::kNoop);
    const Seen s = complete("mn foo bar zz v v\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kNoop);
    EXPECT_EQ(s.present, 0u);
    std::string many = "mn";
    for (int i = 0; i < 40; ++i)
        many += " a";
    EXPECT_EQ(complete(many + "\r\n").command, McMetaCommand::kNoop);
    // Found by the fuzzer: a long token after mn became a 300-byte "key".
    const Seen junk = complete("mn " + std::string(300, 'x') + "\r\n");
    EXPECT_EQ(junk.command, McMetaCommand::kNoop);
    EXPECT_TRUE(junk.key.empty());
}

TEST(McMetaParser, ParsesMetaDebug) {
    Seen s = complete("me foo\r\n");
    EXPECT_EQ(s.command, McMetaCommand::kDebug);
    EXPECT_EQ(s.key, "foo");
    EXPECT_FALSE(s.key_binary);

    s = complete("me Zm9v b\r\n");
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.raw_key, "Zm9v");
    EXPECT_TRUE(s.key_binary);

    // Only an exact "b" third token decodes; anything else is ignored.
    s = complete("me Zm9v x b zz\r\n");
    EXPECT_EQ(s.key, "Zm9v");
    EXPECT_FALSE(s.key_binary);
    EXPECT_EQ(complete("me Zm9v bb\r\n").key, "Zm9v");
}

TEST(McMetaParser, RejectsMetaDebugWithoutAKeyAsBadFormat) {
    EXPECT_EQ(error_of("me\r\n"), McMetaError::kBadFormat);
    EXPECT_EQ(error_of("me @@@ b\r\n"), McMetaError::kBadFormat);
    EXPECT_EQ(error_of("me " + std::string(251, 'k') + "\r\n"), McMetaError::kBadFormat);
}

// ---- Keys ---------------------------------------------------------------

TEST(McMetaParser, DecodesBase64Keys) {
    Seen s = complete("mg Zm9vYg== b k v\r\n");
    EXPECT_EQ(s.key, "foob");
    EXPECT_EQ(s.raw_key, "Zm9vYg==");
    EXPECT_TRUE(s.key_binary);
    EXPECT_EQ(s.flags, "b k v");

    // As memcached: bytes outside the alphabet are skipped, decoding stops
    // after the first padded quad, and one '=' anywhere in it drops a byte.
    EXPECT_EQ(complete("mg Zm9v! b\r\n").key, "foo");
    EXPECT_EQ(complete("mg Zg==Zm9v b\r\n").key, "f");
    EXPECT_EQ(complete("mg A=AA b\r\n").key, "\0\0"s);
    EXPECT_EQ(complete("ms AAEC/w== 1 b\r\nx\r\n").key, "\x00\x01\x02\xff"s);
    EXPECT_EQ(complete("md Zm9v b\r\n").key, "foo");
    EXPECT_EQ(complete("ma Zm9v b\r\n").key, "foo");
}

TEST(McMetaParser, RejectsKeysThatAreNotBase64) {
    for (const char* line :
         {"mg foo b\r\n", "mg f b\r\n", "mg ==== b\r\n", "mg @@@@ b\r\n", "mg Zm9v=== b\r\n"})
        EXPECT_EQ(error_of(line), McMetaError::kKeyDecode) << line;
}

TEST(McMetaParser, KeepsTheDecodedKeyInACopiedRequest) {
    McMetaRequest r;
    ASSERT_EQ(parse_mc_meta("mg Zm9v b\r\n", r).status, ParseStatus::kComplete);
    const McMetaRequest copy = r;
    ASSERT_EQ(parse_mc_meta("mg YmFy b\r\n", r).status, ParseStatus::kComplete);
    EXPECT_EQ(copy.key(), "foo");
    EXPECT_EQ(r.key(), "bar");
}

TEST(McMetaParser, AcceptsKeysUpTo250Bytes) {
    const std::string key(250, 'k');
    EXPECT_EQ(complete("mg " + key + "\r\n").key, key);
    EXPECT_EQ(complete("ms " + key + " 1\r\nx\r\n").key, key);
    EXPECT_EQ(complete("md " + key + "\r\n").key, key);
    EXPECT_EQ(complete("ma " + key + "\r\n").key, key);
    EXPECT_EQ(complete("me " + key + "\r\n").key, key);
    // A base64 key of 248 characters decodes to 186 bytes.
    std::string b64;
    for (int i = 0; i < 62; ++i)
        b64 += "QUFB";
    EXPECT_EQ(complete("mg " + b64 + " b\r\n").key, std::string(186, 'A'));
}

TEST(McMetaParser, RejectsKeysOver250Bytes) {
    const std::string key(251, 'k');
    for (const char* cmd : {"mg ", "md ", "ma ", "me "})
        EXPECT_EQ(error_of(cmd + key + " v\r\n"), McMetaError::kBadFormat) << cmd;
    // The limit applies to the key as sent, before base64 decoding.
    std::string b64;
    for (int i = 0; i < 63; ++i)
        b64 += "QUFB";
    EXPECT_EQ(error_of("mg " + b64 + " b\r\n"), McMetaError::kBadFormat);
    // ms checks the key before its length: the data is not swallowed.
    const Stream run = parse_all("ms " + key + " 5\r\nhello\r\n");
    ASSERT_EQ(run.seen.size(), 2u);
    EXPECT_EQ(run.seen[0].error, McMetaError::kBadFormat);
    EXPECT_EQ(run.seen[0].swallow, 0u);
    EXPECT_EQ(run.seen[1].error, McMetaError::kUnknownCommand);
}

// ---- Flags --------------------------------------------------------------

TEST(McMetaParser, RejectsDuplicateFlags) {
    EXPECT_EQ(error_of("mg foo v v\r\n"), McMetaError::kDuplicateFlag);
    EXPECT_EQ(error_of("mg foo vx vy\r\n"), McMetaError::kDuplicateFlag);
    EXPECT_EQ(error_of("mg foo T1 k T2\r\n"), McMetaError::kDuplicateFlag);
    EXPECT_EQ(error_of("mg Zm9v b b\r\n"), McMetaError::kDuplicateFlag);
    // memcached's table of seen flags ends at 126: higher bytes read as repeats.
    EXPECT_EQ(error_of("mg foo \xff\r\n"), McMetaError::kDuplicateFlag);
    EXPECT_EQ(error_of("mg foo \x7f\r\n"), McMetaError::kDuplicateFlag);
}

TEST(McMetaParser, RejectsUnknownFlags) {
    for (const char* line :
         {"mg foo zz\r\n", "mg foo S5\r\n", "mg foo 1\r\n", "mg foo W\r\n", "mg foo v \t\r\n"})
        EXPECT_EQ(error_of(line), McMetaError::kInvalidFlag) << line;
}

TEST(McMetaParser, RejectsBadNumericTokens) {
    for (const char* line :
         {"mg foo T\r\n", "mg foo Tabc\r\n", "mg foo T1x\r\n", "mg foo T2147483648\r\n",
          "mg foo N\r\n", "mg foo Rz\r\n", "mg foo C\r\n", "mg foo C-1\r\n", "mg foo E\r\n",
          "mg foo C18446744073709551616\r\n"})
        EXPECT_EQ(error_of(line), McMetaError::kBadToken) << line;
    EXPECT_EQ(error_of("mg foo J\r\n"), McMetaError::kBadInitial);
    EXPECT_EQ(error_of("mg foo J18446744073709551616\r\n"), McMetaError::kBadInitial);
    EXPECT_EQ(error_of("mg foo D-1\r\n"), McMetaError::kBadDelta);
    // A bad F names no error of its own.
    EXPECT_EQ(error_of("mg foo F\r\n"), McMetaError::kBadFormat);
    EXPECT_EQ(error_of("mg foo F-1\r\n"), McMetaError::kBadFormat);
    EXPECT_EQ(error_of("mg foo F4294967296\r\n"), McMetaError::kBadFormat);
}

TEST(McMetaParser, NamesTheErrorAfterTheLastBadToken) {
    // Bad tokens do not stop the scan; repeated or unknown flags do.
    EXPECT_EQ(error_of("mg foo Tabc Dx\r\n"), McMetaError::kBadDelta);
    EXPECT_EQ(error_of("mg foo Dx Tabc\r\n"), McMetaError::kBadToken);
    EXPECT_EQ(error_of("mg foo Tabc zz\r\n"), McMetaError::kInvalidFlag);
    EXPECT_EQ(error_of("mg foo Tabc zz v v\r\n"), McMetaError::kInvalidFlag);
    EXPECT_EQ(error_of("mg foo v v zz\r\n"), McMetaError::kDuplicateFlag);
    EXPECT_EQ(error_of("mg foo Fx Tabc\r\n"), McMetaError::kBadToken);
    EXPECT_EQ(error_of("mg foo Tabc Fx\r\n"), McMetaError::kBadToken);
    EXPECT_EQ(error_of("mg @@@ b Fx\r\n"), McMetaError::kKeyDecode);
}

TEST(McMetaParser, ParsesNumericTokensAtTheirLimits) {
    const Seen s = complete(
        "mg foo T-2147483648 N2147483647 R0 C18446744073709551615 E0 J18446744073709551615 "
        "D0 F4294967295\r\n");
    EXPECT_EQ(s.ttl, INT32_MIN);
    EXPECT_EQ(s.vivify_ttl, INT32_MAX);
    EXPECT_EQ(s.recache_ttl, 0);
    EXPECT_EQ(s.compare_cas, UINT64_MAX);
    EXPECT_EQ(s.new_cas, 0u);
    EXPECT_EQ(s.initial, UINT64_MAX);
    EXPECT_EQ(s.delta, 0u);
    EXPECT_EQ(s.client_flags, UINT32_MAX);
}

TEST(McMetaParser, RequiresModeTokensOfOneCharacter) {
    EXPECT_EQ(error_of("mg foo M\r\n"), McMetaError::kModeLength);
    EXPECT_EQ(error_of("mg foo Mxyz\r\n"), McMetaError::kModeLength);
    // mg accepts and ignores any one-character mode.
    EXPECT_EQ(complete("mg foo Mz\r\n").mode, 'z');
}

TEST(McMetaParser, AcceptsUpTo17FlagsAnd16ForSet) {
    for (const char* cmd : {"mg foo", "md foo", "ma foo"}) {
        const Seen s = complete(with_flags(cmd, kMcMetaMaxFlags));
        EXPECT_EQ(s.status, ParseStatus::kComplete) << cmd;
    }
    EXPECT_EQ(complete(with_flags("ms foo 1", kMcMetaMaxFlags - 1) + "x\r\n").data, "x");
}

TEST(McMetaParser, RejectsTooManyFlags) {
    EXPECT_EQ(error_of(with_flags("mg foo", 18)), McMetaError::kGetFlagsTooLong);
    EXPECT_EQ(error_of(with_flags("mg foo", 30)), McMetaError::kGetFlagsTooLong);
    EXPECT_EQ(error_of(with_flags("md foo", 18)), McMetaError::kFlagsTooLong);
    EXPECT_EQ(error_of(with_flags("ma foo", 18)), McMetaError::kFlagsTooLong);
    // Even repeated flags: the count is checked first.
    EXPECT_EQ(error_of("mg foo v v v v v v v v v v v v v v v v v v\r\n"),
              McMetaError::kGetFlagsTooLong);
    // ms checks the count before its length, so nothing is swallowed.
    const Stream run = parse_all(with_flags("ms foo 5", 17) + "hello\r\n");
    ASSERT_EQ(run.seen.size(), 2u);
    EXPECT_EQ(run.seen[0].error, McMetaError::kFlagsTooLong);
    EXPECT_EQ(run.seen[0].swallow, 0u);
    EXPECT_EQ(run.seen[1].error, McMetaError::kUnknownCommand);
}

TEST(McMetaParser, AcceptsProxyHintFlagsAndNewerFlags) {
    // P and L: proxy hints memcached ignores. E and x: later 1.6 releases.
    EXPECT_EQ(complete("mg foo P L\r\n").present, bits("PL"));
    EXPECT_EQ(complete("md foo x E5\r\n").present, bits("xE"));
}

// ---- Lines --------------------------------------------------------------

TEST(McMetaParser, AcceptsBareNewlines) {
    const Stream run = parse_all("mg foo v\nms foo 5\nhello\r\nmn\n");
    ASSERT_EQ(run.seen.size(), 3u);
    EXPECT_EQ(run.seen[0].consumed, 9u);
    EXPECT_EQ(run.seen[1].data, "hello");
    EXPECT_EQ(run.seen[2].command, McMetaCommand::kNoop);
    EXPECT_EQ(run.left, 0u);
}

TEST(McMetaParser, IgnoresExtraSpaces) {
    const Seen s = complete("   mg   foo   v   Oab  \r\n");
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.flags, "v Oab");
}

TEST(McMetaParser, SplitsOnSpacesOnly) {
    EXPECT_EQ(complete("mg foo\tv\r\n").key, "foo\tv");
}

TEST(McMetaParser, KeepsAStrayCarriageReturnInsideTheLastToken) {
    const Seen s = complete("mg foo v\r\r\n");
    EXPECT_EQ(s.flags, "v\r");
}

TEST(McMetaParser, CutsTheLineAtANul) {
    // memcached tokenizes with strlen(): what follows a NUL is never seen.
    const Seen s = complete("mg foo\0 zz\r\n"s);
    EXPECT_EQ(s.key, "foo");
    EXPECT_EQ(s.present, 0u);
}

TEST(McMetaParser, AnswersUnknownCommandsWithError) {
    for (const char* line : {"mx foo\r\n", "m foo\r\n", "mgg foo\r\n", "\r\n", "\n", "   \r\n",
                             "mg\r\n", "mg   \r\n", "md\r\n", "ma\r\n", "ms\r\n"})
        EXPECT_EQ(error_of(line), McMetaError::kUnknownCommand) << line;
}

TEST(McMetaParser, ParsesPipelinedRequests) {
    const std::string in =
        "mg a v\r\nms b 3 T0\r\nxyz\r\nmd c q\r\nma d D2\r\nmg e zz\r\nme f\r\nmn\r\nmg g";
    const Stream run = parse_all(in);
    ASSERT_EQ(run.seen.size(), 7u);
    EXPECT_EQ(run.seen[0].command, McMetaCommand::kGet);
    EXPECT_EQ(run.seen[1].data, "xyz");
    EXPECT_EQ(run.seen[2].command, McMetaCommand::kDelete);
    EXPECT_EQ(run.seen[3].delta, 2u);
    EXPECT_EQ(run.seen[4].error, McMetaError::kInvalidFlag);
    EXPECT_EQ(run.seen[5].command, McMetaCommand::kDebug);
    EXPECT_EQ(run.seen[6].command, McMetaCommand::kNoop);
    EXPECT_EQ(run.left, 4u);  // "mg g" waits for its newline
}

TEST(McMetaParser, ClosesOnALineLongerThan2048Bytes) {
    const std::string head = "mg foo v";
    // 2048 bytes and the newline: still a request.
    const std::string fits = head + std::string(kMcMetaMaxLineLen - head.size(), ' ') + "\n";
    EXPECT_EQ(complete(fits).key, "foo");

    const Stream longer = parse_all(head + std::string(kMcMetaMaxLineLen, ' ') + "\r\n");
    ASSERT_EQ(longer.seen.size(), 1u);
    EXPECT_EQ(longer.seen[0].error, McMetaError::kLineTooLong);
    EXPECT_EQ(longer.seen[0].consumed, 0u);
    EXPECT_TRUE(longer.closed);

    // Without a newline: wait up to 2048 bytes, then give up.
    McMetaRequest r;
    const std::string junk(kMcMetaMaxLineLen + 1, 'x');
    EXPECT_EQ(parse_mc_meta(std::string_view(junk).substr(0, kMcMetaMaxLineLen), r).status,
              ParseStatus::kNeedMore);
    EXPECT_EQ(parse_mc_meta(junk, r).error, McMetaError::kLineTooLong);
}

TEST(McMetaParser, NeedsMoreOnEveryPrefixOfARequest) {
    McMetaRequest r;
    for (const std::string& in : {"mg foo v k\r\n"s, "ms foo 3 T1\r\nabc\r\n"s, "mn\r\n"s}) {
        for (size_t n = 0; n < in.size(); ++n) {
            const McMetaResult res = parse_mc_meta(std::string_view(in).substr(0, n), r);
            EXPECT_EQ(res.status, ParseStatus::kNeedMore) << in << " at " << n;
            EXPECT_EQ(res.consumed, 0u);
        }
    }
}

// ---- Helpers ------------------------------------------------------------

TEST(McMetaMatch, RecognisesMetaCommandLines) {
    EXPECT_EQ(match_mc_meta("mg foo\r\n"), McMetaMatch::kMeta);
    EXPECT_EQ(match_mc_meta("  mn\r\n"), McMetaMatch::kMeta);
    EXPECT_EQ(match_mc_meta("mn\n"), McMetaMatch::kMeta);
    EXPECT_EQ(match_mc_meta("mx foo\r\n"), McMetaMatch::kMeta);  // answered ERROR by the parser
    EXPECT_EQ(match_mc_meta("get foo\r\n"), McMetaMatch::kNotMeta);
    EXPECT_EQ(match_mc_meta("mget foo\r\n"), McMetaMatch::kNotMeta);
    EXPECT_EQ(match_mc_meta("m foo\r\n"), McMetaMatch::kNotMeta);
    EXPECT_EQ(match_mc_meta("m\r\n"), McMetaMatch::kNotMeta);
    EXPECT_EQ(match_mc_meta("mg\rx\r\n"), McMetaMatch::kNotMeta);
    EXPECT_EQ(match_mc_meta("\r\n"), McMetaMatch::kNotMeta);
    for (const char* partial : {"", "  ", "m", " mg", "mn\r"})
        EXPECT_EQ(match_mc_meta(partial), McMetaMatch::kNeedMore) << partial;
}

TEST(McMetaBase64, EncodesKeysAsMemcachedEchoesThem) {
    char out[mc_meta_base64_len(6)];
    auto enc = [&](std::string_view in) {
        return std::string(out, mc_meta_base64_encode(in, out));
    };
    EXPECT_EQ(enc(""), "");
    EXPECT_EQ(enc("f"), "Zg==");
    EXPECT_EQ(enc("fo"), "Zm8=");
    EXPECT_EQ(enc("foo"), "Zm9v");
    EXPECT_EQ(enc("foob"), "Zm9vYg==");
    EXPECT_EQ(enc("\0\0"s), "AAA=");  // how memcached echoes the key "A=AA"
    EXPECT_EQ(enc("\x00\x01\x02\xff"s), "AAEC/w==");
    EXPECT_EQ(mc_meta_base64_encode("foob", std::span(out, 7)), 0u);  // too small
}

TEST(McMetaErrors, MatchMemcachedsReplyLines) {
    const std::pair<McMetaError, std::string_view> lines[] = {
        {McMetaError::kNone, ""},
        {McMetaError::kLineTooLong, ""},
        {McMetaError::kUnknownCommand, "ERROR\r\n"},
        {McMetaError::kBadFormat, "CLIENT_ERROR bad command line format\r\n"},
        {McMetaError::kGetFlagsTooLong, "CLIENT_ERROR options flags are too long\r\n"},
        {McMetaError::kFlagsTooLong, "CLIENT_ERROR options flags too long\r\n"},
        {McMetaError::kDuplicateFlag, "CLIENT_ERROR duplicate flag\r\n"},
        {McMetaError::kInvalidFlag, "CLIENT_ERROR invalid flag\r\n"},
        {McMetaError::kInvalidOrDuplicateFlag, "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {McMetaError::kBadToken, "CLIENT_ERROR bad token in command line format\r\n"},
        {McMetaError::kModeLength, "CLIENT_ERROR incorrect length for M token\r\n"},
        {McMetaError::kBadInitial, "CLIENT_ERROR invalid numeric initial value\r\n"},
        {McMetaError::kBadDelta, "CLIENT_ERROR invalid numeric delta value\r\n"},
        {McMetaError::kKeyDecode, "CLIENT_ERROR error decoding key\r\n"},
        {McMetaError::kOpaqueTooLong, "CLIENT_ERROR opaque token too long\r\n"},
        {McMetaError::kBadSetMode, "CLIENT_ERROR invalid mode for ms M token\r\n"},
        {McMetaError::kBadArithmeticMode, "CLIENT_ERROR invalid mode for ma M token\r\n"},
        {McMetaError::kBadDataChunk, "CLIENT_ERROR bad data chunk\r\n"},
        {McMetaError::kTooLarge, "SERVER_ERROR object too large for cache\r\n"},
    };
    for (auto [e, line] : lines)
        EXPECT_EQ(mc_meta_error_line(e), line) << static_cast<int>(e);
}

}  // namespace
}  // namespace fulmar::proto
