// Byte-exact replies in both protocol versions; the expected bytes were
// captured from redis-server 7.0.15 (HELLO 2 / HELLO 3, DEBUG PROTOCOL,
// ZSCORE, BLPOP) where Redis sends that type.
#include "proto/resp_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace fulmar::proto {
namespace {

using namespace std::string_literals;

std::string encode(RespVersion v, const std::function<void(RespWriter&)>& fn) {
    std::string out;
    RespWriter w(out, v);
    fn(w);
    return out;
}

std::string resp2(const std::function<void(RespWriter&)>& fn) {
    return encode(RespVersion::kResp2, fn);
}

std::string resp3(const std::function<void(RespWriter&)>& fn) {
    return encode(RespVersion::kResp3, fn);
}

void expect_both(const std::function<void(RespWriter&)>& fn, std::string_view v2,
                 std::string_view v3) {
    EXPECT_EQ(resp2(fn), v2);
    EXPECT_EQ(resp3(fn), v3);
}

TEST(RespWriter, WritesSimpleStrings) {
    expect_both([](RespWriter& w) { w.write_simple("OK"); }, "+OK\r\n", "+OK\r\n");
    expect_both([](RespWriter& w) { w.write_simple(""); }, "+\r\n", "+\r\n");
}

TEST(RespWriter, ReplacesLineBreaksInSimpleStrings) {
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_simple("a\r\nb\nc"); }), "+a  b c\r\n");
    const std::string long_text = std::string(300, 'x') + "\r\n" + std::string(300, 'y');
    EXPECT_EQ(resp2([&](RespWriter& w) { w.write_simple(long_text); }),
              std::string("+").append(300, 'x') + "  " + std::string(300, 'y') + "\r\n");
}

TEST(RespWriter, PrefixesErrorsWithErrUnlessTheyCarryACode) {
    expect_both([](RespWriter& w) { w.write_error("syntax error"); }, "-ERR syntax error\r\n",
                "-ERR syntax error\r\n");
    EXPECT_EQ(resp3([](RespWriter& w) {
                  w.write_error("-WRONGTYPE Operation against a key holding the wrong kind");
              }),
              "-WRONGTYPE Operation against a key holding the wrong kind\r\n");
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_error(""); }), "-ERR \r\n");
}

TEST(RespWriter, TrimsLineBreaksAroundErrorsAndBlanksThemInside) {
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_error("\r\nbad\r\nthing\n"); }),
              "-ERR bad  thing\r\n");
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_error("\n-NOPE x"); }), "-NOPE x\r\n");
}

TEST(RespWriter, WritesParserErrorsAsSimpleErrors) {
    EXPECT_EQ(resp2([](RespWriter& w) {
                  w.write_simple_error("ERR Protocol error: invalid bulk length");
              }),
              "-ERR Protocol error: invalid bulk length\r\n");
}

TEST(RespWriter, WritesIntegers) {
    expect_both([](RespWriter& w) { w.write_integer(0); }, ":0\r\n", ":0\r\n");
    expect_both([](RespWriter& w) { w.write_integer(-42); }, ":-42\r\n", ":-42\r\n");
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_integer(std::numeric_limits<int64_t>::min()); }),
              ":-9223372036854775808\r\n");
    EXPECT_EQ(resp2([](RespWriter& w) { w.write_integer(std::numeric_limits<int64_t>::max()); }),
              ":9223372036854775807\r\n");
}

TEST(RespWriter, WritesBinarySafeBulkStrings) {
    expect_both([](RespWriter& w) { w.write_bulk("a\r\nb\0c"s); }, "$6\r\na\r\nb\0c\r\n"s,
                "$6\r\na\r\nb\0c\r\n"s);
    expect_both([](RespWriter& w) { w.write_bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
    const std::string big(1000, 'z');
    EXPECT_EQ(resp3([&](RespWriter& w) { w.write_bulk(big); }), "$1000\r\n" + big + "\r\n");
}

TEST(RespWriter, WritesNullPerVersion) {
    expect_both([](RespWriter& w) { w.write_null(); }, "$-1\r\n", "_\r\n");
}

TEST(RespWriter, WritesNullArrayPerVersion) {
    expect_both([](RespWriter& w) { w.write_null_array(); }, "*-1\r\n", "_\r\n");
}

TEST(RespWriter, WritesArrayHeaderThenElements) {
    expect_both(
        [](RespWriter& w) {
            w.write_array(2);
            w.write_bulk("a");
            w.write_integer(1);
        },
        "*2\r\n$1\r\na\r\n:1\r\n", "*2\r\n$1\r\na\r\n:1\r\n");
    expect_both([](RespWriter& w) { w.write_array(0); }, "*0\r\n", "*0\r\n");
}

TEST(RespWriter, WritesMapsAsFlatArraysInResp2) {
    expect_both(
        [](RespWriter& w) {
            w.write_map(2);
            w.write_integer(0);
            w.write_bool(false);
            w.write_integer(1);
            w.write_bool(true);
        },
        "*4\r\n:0\r\n:0\r\n:1\r\n:1\r\n", "%2\r\n:0\r\n#f\r\n:1\r\n#t\r\n");
    expect_both([](RespWriter& w) { w.write_map(0); }, "*0\r\n", "%0\r\n");
}

TEST(RespWriter, WritesSetsAsArraysInResp2) {
    expect_both([](RespWriter& w) { w.write_set(3); }, "*3\r\n", "~3\r\n");
}

TEST(RespWriter, WritesPushAsArraysInResp2) {
    expect_both([](RespWriter& w) { w.write_push(3); }, "*3\r\n", ">3\r\n");
}

TEST(RespWriter, FormatsDoublesAsRedisSevenZero) {
    expect_both([](RespWriter& w) { w.write_double(1.1); }, "$18\r\n1.1000000000000001\r\n",
                ",1.1000000000000001\r\n");
    expect_both([](RespWriter& w) { w.write_double(0.1); }, "$19\r\n0.10000000000000001\r\n",
                ",0.10000000000000001\r\n");
    expect_both([](RespWriter& w) { w.write_double(1e300); }, "$23\r\n1.0000000000000001e+300\r\n",
                ",1.0000000000000001e+300\r\n");
    expect_both([](RespWriter& w) { w.write_double(3); }, "$1\r\n3\r\n", ",3\r\n");
    expect_both([](RespWriter& w) { w.write_double(3.141); }, "$5\r\n3.141\r\n", ",3.141\r\n");
    expect_both([](RespWriter& w) { w.write_double(-2.5); }, "$4\r\n-2.5\r\n", ",-2.5\r\n");
}

TEST(RespWriter, SpellsOutInfinitiesAndNan) {
    const double inf = std::numeric_limits<double>::infinity();
    expect_both([&](RespWriter& w) { w.write_double(inf); }, "$3\r\ninf\r\n", ",inf\r\n");
    expect_both([&](RespWriter& w) { w.write_double(-inf); }, "$4\r\n-inf\r\n", ",-inf\r\n");
    expect_both([](RespWriter& w) { w.write_double(std::nan("")); }, "$3\r\nnan\r\n", ",nan\r\n");
}

TEST(RespWriter, WritesBooleansAsIntegersInResp2) {
    expect_both([](RespWriter& w) { w.write_bool(true); }, ":1\r\n", "#t\r\n");
    expect_both([](RespWriter& w) { w.write_bool(false); }, ":0\r\n", "#f\r\n");
}

TEST(RespWriter, WritesVerbatimStringsAsBulksInResp2) {
    expect_both([](RespWriter& w) { w.write_verbatim("txt", "This is a verbatim\nstring"); },
                "$25\r\nThis is a verbatim\nstring\r\n",
                "=29\r\ntxt:This is a verbatim\nstring\r\n");
}

TEST(RespWriter, PadsOrCutsTheVerbatimFormatToThreeCharacters) {
    EXPECT_EQ(resp3([](RespWriter& w) { w.write_verbatim("md", "x"); }), "=5\r\nmd :x\r\n");
    EXPECT_EQ(resp3([](RespWriter& w) { w.write_verbatim("markdown", "x"); }), "=5\r\nmar:x\r\n");
}

TEST(RespWriter, WritesBigNumbersAsBulksInResp2) {
    expect_both([](RespWriter& w) { w.write_big_number("1234567999999999999999999999999999999"); },
                "$37\r\n1234567999999999999999999999999999999\r\n",
                "(1234567999999999999999999999999999999\r\n");
}

TEST(RespWriter, SwitchesVersionMidStreamAsHelloDoes) {
    std::string out;
    RespWriter w(out);
    EXPECT_EQ(w.version(), RespVersion::kResp2);
    w.write_null();
    w.set_version(RespVersion::kResp3);
    w.write_null();
    EXPECT_EQ(out, "$-1\r\n_\r\n");
}

TEST(RespWriter, WritesIntoAnyReplySink) {
    StringSink sink;
    RespWriter w(sink, RespVersion::kResp3);
    w.write_map(1);
    w.write_bulk("proto");
    w.write_integer(3);
    EXPECT_EQ(sink.out, "%1\r\n$5\r\nproto\r\n:3\r\n");
}

}  // namespace
}  // namespace fulmar::proto
