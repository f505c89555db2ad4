// Every case runs at every fragment size in kFragmentSizes: a simulated
// connection buffer receives the input in chunks and calls the parser on its
// unconsumed bytes after each chunk. The expected outcomes were checked
// against redis-server 7.0.15 on loopback.
#include "proto/resp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fulmar::proto {
namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;

struct Outcome {
    std::vector<Args> requests;  // an empty Args: a request Redis skips silently
    std::string error;           // error_message() if the stream ended in an error
    size_t leftover = 0;         // bytes left unconsumed at the end

    bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    os << "{requests:";
    for (const Args& a : o.requests) {
        os << " [";
        for (const std::string& s : a)
            os << '"' << s << "\" ";
        os << ']';
    }
    return os << ", error: \"" << o.error << "\", leftover: " << o.leftover << '}';
}

struct Options {
    RespParserConfig config = {};
    RespAuth auth = RespAuth::kAuthenticated;
};

Outcome run(std::string_view input, size_t fragment, const Options& opt = {}) {
    RespParser parser(opt.config);
    parser.set_auth(opt.auth);
    Outcome out;
    std::string buf;
    size_t fed = 0;
    const size_t step = fragment == 0 ? input.size() : fragment;
    do {
        const size_t n = std::min(step, input.size() - fed);
        buf.append(input.substr(fed, n));
        fed += n;
        for (;;) {
            const RespParseResult r = parser.parse(buf);
            if (r.status == ParseStatus::kNeedMore) {
                EXPECT_EQ(r.consumed, 0u);
                break;
            }
            if (r.status == ParseStatus::kError) {
                EXPECT_EQ(r.consumed, 0u);
                out.error = std::string(parser.error_message());
                out.leftover = buf.size();
                return out;
            }
            EXPECT_GT(r.consumed, 0u);
            EXPECT_LE(r.consumed, buf.size());
            Args args;
            for (std::string_view a : parser.args())
                args.emplace_back(a);
            out.requests.push_back(std::move(args));
            buf.erase(0, r.consumed);
        }
    } while (fed < input.size());
    out.leftover = buf.size();
    return out;
}

// Runs `input` at every fragment size; all must give `expected`.
void expect_parse(std::string_view input, const Outcome& expected, const Options& opt = {}) {
    for (size_t fragment : kFragmentSizes) {
        SCOPED_TRACE("fragment size " + std::to_string(fragment));
        EXPECT_EQ(run(input, fragment, opt), expected);
    }
}

void expect_requests(std::string_view input, std::vector<Args> requests, size_t leftover = 0) {
    expect_parse(input, Outcome{std::move(requests), "", leftover});
}

// Protocol errors consume nothing: the caller replies and closes, as Redis does.
void expect_error(std::string_view input, std::string_view error, std::vector<Args> before = {},
                  const Options& opt = {}) {
    for (size_t fragment : kFragmentSizes) {
        SCOPED_TRACE("fragment size " + std::to_string(fragment));
        const Outcome got = run(input, fragment, opt);
        EXPECT_EQ(got.requests, before);
        EXPECT_EQ(got.error, error);
    }
}

// ---------------------------------------------------------------------------
// Multibulk

TEST(RespParser, ParsesMultibulkRequest) {
    expect_requests("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", {{"SET", "k", "v"}});
}

TEST(RespParser, WaitsForTheWholeMultibulkRequest) {
    const std::string full = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    for (size_t n = 0; n < full.size(); ++n) {
        RespParser p;
        const RespParseResult r = p.parse(std::string_view(full).substr(0, n));
        EXPECT_EQ(r.status, ParseStatus::kNeedMore) << n;
        EXPECT_EQ(r.consumed, 0u);
    }
}

TEST(RespParser, PointsMultibulkArgumentsIntoTheInput) {
    const std::string in = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
    RespParser p;
    ASSERT_EQ(p.parse(in).status, ParseStatus::kComplete);
    ASSERT_EQ(p.args().size(), 2u);
    EXPECT_EQ(p.args()[1].data(), in.data() + 18);
}

TEST(RespParser, KeepsBulkStringsBinarySafe) {
    expect_requests("*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\0c\r\n"s, {{"ECHO", "a\r\nb\0c"s}});
    expect_requests("*1\r\n$4\r\n*1\r\n\r\n", {{"*1\r\n"}});
}

TEST(RespParser, AcceptsZeroLengthBulks) {
    expect_requests("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n", {{"SET", "", ""}});
}

TEST(RespParser, ParsesPipelinedRequestsOneAtATime) {
    expect_requests("*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nECHO y\n",
                    {{"PING"}, {"PING"}, {"ECHO", "x"}, {"ECHO", "y"}});
}

TEST(RespParser, LeavesAPartialRequestAfterCompleteOnesUnconsumed) {
    expect_requests("PING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhel", {{"PING"}}, 21);
}

TEST(RespParser, SkipsBulkTerminatorsWithoutCheckingThem) {
    // Redis moves 2 bytes past the data whatever they are.
    expect_requests("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", {{"PING"}, {"PING"}});
}

TEST(RespParser, EndsHeaderLinesAtCarriageReturnAndSkipsTheNextByte) {
    expect_requests("*1\rX$4\rXPING\r\n", {{"PING"}});
}

TEST(RespParser, TurnsEmptyAndNegativeMultibulkIntoEmptyRequests) {
    expect_requests("*0\r\n*-1\r\n*-5\r\nPING\r\n", {{}, {}, {}, {"PING"}});
}

TEST(RespParser, AcceptsTheLargestMultibulkCount) {
    expect_requests("*2147483647\r\n$4\r\nPING\r\n", {}, 23);
}

TEST(RespParser, AcceptsBulkLengthUpToTheLimit) {
    expect_requests("*1\r\n$536870912\r\nabc", {}, 19);
}

// ---------------------------------------------------------------------------
// Multibulk errors

TEST(RespParser, RejectsMalformedMultibulkLength) {
    for (const char* in : {"*\r\n", "*+1\r\n", "*01\r\n", "*-0\r\n", "*1x\r\n", "* 1\r\n",
                           "*2147483648\r\n", "*99999999999999999999\r\n", "*1\n\r\n"}) {
        SCOPED_TRACE(in);
        expect_error(in, "ERR Protocol error: invalid multibulk length");
    }
}

TEST(RespParser, RejectsNegativeBulkLength) {
    expect_error("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length");
}

TEST(RespParser, RejectsMalformedBulkLength) {
    for (const char* in : {"*1\r\n$\r\n", "*1\r\n$+1\r\n", "*1\r\n$01\r\n", "*1\r\n$1 \r\n",
                           "*1\r\n$x\r\n", "*1\r\n$3\nfoo\r\n"}) {
        SCOPED_TRACE(in);
        expect_error(in, "ERR Protocol error: invalid bulk length");
    }
}

TEST(RespParser, RejectsBulkLongerThanProtoMaxBulkLen) {
    expect_error("*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length");
    Options small;
    small.config.max_bulk_len = 4;
    expect_error("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n", "ERR Protocol error: invalid bulk length",
                 {}, small);
}

TEST(RespParser, RejectsArgumentsThatAreNotBulkStrings) {
    expect_error("*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'");
    expect_error("*2\r\n$4\r\nECHO\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'");
    expect_error("*1\r\n\xff\r\n", "ERR Protocol error: expected '$', got '\xff'");
}

TEST(RespParser, ShowsLineBreaksInTheExpectedDollarErrorAsSpaces) {
    expect_error("*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '");
    expect_error("*1\r\n\n$1\r\nx\r\n", "ERR Protocol error: expected '$', got ' '");
}

TEST(RespParser, ReportsErrorsAfterTheRequestsBeforeThem) {
    expect_error("PING\r\n*1\r\n$-3\r\n", "ERR Protocol error: invalid bulk length", {{"PING"}});
}

// ---------------------------------------------------------------------------
// Inline

TEST(RespParser, ParsesInlineCommand) {
    expect_requests("PING\r\n", {{"PING"}});
}

TEST(RespParser, AcceptsBareNewlineAsInlineTerminator) {
    expect_requests("SET k v\nGET k\n", {{"SET", "k", "v"}, {"GET", "k"}});
}

TEST(RespParser, TurnsEmptyAndBlankLinesIntoEmptyRequests) {
    expect_requests("\r\n\n   \t \r\nPING\r\n", {{}, {}, {}, {"PING"}});
}

TEST(RespParser, SplitsInlineArgumentsOnAnyBlank) {
    expect_requests("  SET \t k   v  \r\n", {{"SET", "k", "v"}});
    // A CR inside the line separates arguments: only the one before LF ends it.
    expect_requests("ECHO x\rECHO\r\n", {{"ECHO", "x", "ECHO"}});
    // \v and \f are blanks between arguments but not inside a bare word.
    expect_requests("\vECHO a\vb\f\r\n", {{"ECHO", "a\vb\f"}});
}

TEST(RespParser, KeepsSpacesInsideDoubleQuotes) {
    expect_requests("SET k \"a b\"\r\n", {{"SET", "k", "a b"}});
}

TEST(RespParser, UnescapesDoubleQuotedArguments) {
    expect_requests(R"(ECHO "\n\r\t\b\a\\\"\q")"
                    "\r\n",
                    {{"ECHO", "\n\r\t\b\a\\\"q"}});
}

TEST(RespParser, UnescapesHexBytesAndKeepsBadHexLiteral) {
    expect_requests(R"(ECHO "\x41\x4g\x00\xfF")"
                    "\r\n",
                    {{"ECHO", "Ax4g\0\xff"s}});
}

TEST(RespParser, UnescapesOnlyQuotesInsideSingleQuotes) {
    expect_requests(R"(ECHO 'a\'b\n')"
                    "\r\n",
                    {{"ECHO", "a'b\\n"}});
}

TEST(RespParser, JoinsQuotedTextToTheBareWordBeforeIt) {
    expect_requests("ECHO a\"b c\"\r\n", {{"ECHO", "ab c"}});
}

TEST(RespParser, AcceptsEmptyQuotedArguments) {
    expect_requests("SET k \"\"\r\nSET k ''\r\n", {{"SET", "k", ""}, {"SET", "k", ""}});
}

TEST(RespParser, AcceptsAnyBlankAfterAClosingQuote) {
    expect_requests("ECHO \"a\"\vx\r\n", {{"ECHO", "a", "x"}});
}

TEST(RespParser, RejectsUnbalancedQuotes) {
    for (const char* in : {"ECHO \"abc\r\n", "ECHO 'abc\r\n", "ECHO \"a\"b\r\n", "ECHO 'a'b\r\n",
                           "ECHO \"a\\\"\r\n", "ECHO \"a\\\r\n", "ECHO \"a\"\"b\"\r\n"}) {
        SCOPED_TRACE(in);
        expect_error(in, "ERR Protocol error: unbalanced quotes in request");
    }
}

TEST(RespParser, TreatsRequestsNotStartingWithStarAsInline) {
    // Redis 7 reads no RESP3 types in requests.
    expect_requests("$4\r\n%1\r\n", {{"$4"}, {"%1"}});
}

TEST(RespParser, NeverEndsAnInlineLineAfterANulByte) {
    // Redis finds line ends with strchr(): a NUL hides the newline after it.
    expect_requests("PING\0\r\n"s, {}, 7);
}

// ---------------------------------------------------------------------------
// Limits

TEST(RespParser, RejectsInlineRequestOverSixtyFourKilobytes) {
    expect_requests(std::string(65536, 'a'), {}, 65536);
    expect_error(std::string(65537, 'a'), "ERR Protocol error: too big inline request");
    expect_error("PING\0"s + std::string(65540, 'a'), "ERR Protocol error: too big inline request");
}

TEST(RespParser, AcceptsInlineLineEndingWithinTheLimit) {
    const std::string word(65535, 'a');
    expect_requests(word + "\r\n", {{word}});
    expect_error(word + "a\r\n", "ERR Protocol error: too big inline request");
}

TEST(RespParser, RejectsMultibulkCountLineOverSixtyFourKilobytes) {
    expect_requests(std::string("*").append(65535, '1'), {}, 65536);
    expect_error(std::string("*").append(65536, '1'),
                 "ERR Protocol error: too big mbulk count string");
}

TEST(RespParser, RejectsBulkLengthLineOverSixtyFourKilobytes) {
    expect_requests(std::string("*1\r\n$").append(65535, '1'), {}, 65540);
    expect_error(std::string("*1\r\n$").append(65536, '1'),
                 "ERR Protocol error: too big bulk count string");
}

TEST(RespParser, LimitsUnauthenticatedClientsToTenArguments) {
    Options unauth;
    unauth.auth = RespAuth::kUnauthenticated;
    expect_parse("*10\r\n", Outcome{{}, "", 5}, unauth);
    expect_error("*11\r\n", "ERR Protocol error: unauthenticated multibulk length", {}, unauth);
}

TEST(RespParser, LimitsUnauthenticatedClientsToSixteenKilobyteBulks) {
    Options unauth;
    unauth.auth = RespAuth::kUnauthenticated;
    expect_parse("*1\r\n$16384\r\n", Outcome{{}, "", 12}, unauth);
    expect_error("*1\r\n$16385\r\n", "ERR Protocol error: unauthenticated bulk length", {}, unauth);
}

// ---------------------------------------------------------------------------
// Incremental parsing

TEST(RespParser, ParsesHugeBulkFedOneByteAtATimeInLinearTime) {
    // Quadratic rescanning would take minutes here; kept state makes it
    // one step per byte.
    const size_t n = 4 << 20;
    std::string in = "*2\r\n$3\r\nSET\r\n$" + std::to_string(n) + "\r\n";
    in.append(n, 'v');
    in += "\r\n";
    const Outcome got = run(in, 1);
    ASSERT_EQ(got.requests.size(), 1u);
    EXPECT_EQ(got.requests[0][1].size(), n);
}

TEST(RespParser, StartsOverWhenTheInputShrinks) {
    RespParser p;
    EXPECT_EQ(p.parse("*2\r\n$4\r\nECHO\r\n$3\r\nab").status, ParseStatus::kNeedMore);
    const RespParseResult r = p.parse("PING\r\n");
    ASSERT_EQ(r.status, ParseStatus::kComplete);
    EXPECT_EQ(r.consumed, 6u);
    ASSERT_EQ(p.args().size(), 1u);
    EXPECT_EQ(p.args()[0], "PING");
}

TEST(RespParser, ParsesAgainAfterReset) {
    RespParser p;
    EXPECT_EQ(p.parse("*2\r\n$4\r\nECHO\r\n").status, ParseStatus::kNeedMore);
    p.reset();
    const RespParseResult r = p.parse("*1\r\n$4\r\nPING\r\n");
    ASSERT_EQ(r.status, ParseStatus::kComplete);
    EXPECT_EQ(r.consumed, 14u);
    EXPECT_EQ(p.args()[0], "PING");
}

TEST(RespParser, ParsesAgainAfterAnError) {
    RespParser p;
    EXPECT_EQ(p.parse("*x\r\n").status, ParseStatus::kError);
    EXPECT_EQ(p.parse("PING\r\n").status, ParseStatus::kComplete);
    EXPECT_EQ(p.args()[0], "PING");
}

}  // namespace
}  // namespace fulmar::proto
