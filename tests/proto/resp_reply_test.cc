// The RESP reply reader (fulmarctl's side of the admin socket): every reply
// type, replies cut at every fragment size, malformed replies, and the
// writer's output read back.
#include <gtest/gtest.h>

#include <string>

#include "proto/resp_reply.h"
#include "proto/resp_writer.h"

namespace fulmar::proto {
namespace {

RespValue read_all(std::string_view in) {
    RespValue v;
    std::string why;
    const RespReplyResult r = parse_resp_reply(in, v, &why);
    EXPECT_EQ(r.status, ParseStatus::kComplete) << why;
    EXPECT_EQ(r.consumed, in.size());
    return v;
}

TEST(RespReply, ReadsEveryResp2Type) {
    EXPECT_EQ(read_all("+PONG\r\n").text, "PONG");
    EXPECT_EQ(read_all("+PONG\r\n").type, RespValue::Type::kSimple);
    const RespValue e = read_all("-ERR no such thing\r\n");
    EXPECT_TRUE(e.is_error());
    EXPECT_EQ(e.text, "ERR no such thing");
    EXPECT_EQ(read_all(":-42\r\n").integer, -42);
    EXPECT_EQ(read_all("$5\r\nab\r\nc\r\n").text, "ab\r\nc");
    EXPECT_EQ(read_all("$0\r\n\r\n").type, RespValue::Type::kBulk);
    EXPECT_EQ(read_all("$-1\r\n").type, RespValue::Type::kNull);
    EXPECT_EQ(read_all("*-1\r\n").type, RespValue::Type::kNull);
    const RespValue a = read_all("*2\r\n*1\r\n:1\r\n$1\r\nx\r\n");
    ASSERT_EQ(a.elements.size(), 2u);
    EXPECT_EQ(a.elements[0].elements[0].integer, 1);
    EXPECT_EQ(a.elements[1].text, "x");
}

TEST(RespReply, ReadsResp3TypesAsTheirResp2Forms) {
    EXPECT_EQ(read_all("_\r\n").type, RespValue::Type::kNull);
    EXPECT_EQ(read_all("#t\r\n").integer, 1);
    EXPECT_EQ(read_all(",1.5\r\n").text, "1.5");
    EXPECT_EQ(read_all("%1\r\n+a\r\n:1\r\n").elements.size(), 2u);
    EXPECT_EQ(read_all("~1\r\n+a\r\n").elements.size(), 1u);
}

TEST(RespReply, NeedsMoreAtEveryCutOfAReply) {
    const std::string reply = "*3\r\n$4\r\nname\r\n:7\r\n*2\r\n+a\r\n$-1\r\n";
    for (size_t cut = 0; cut < reply.size(); ++cut) {
        RespValue v;
        EXPECT_EQ(parse_resp_reply(std::string_view(reply).substr(0, cut), v).status,
                  ParseStatus::kNeedMore)
            << cut;
    }
    for (size_t step : kFragmentSizes) {
        // Fed as a client reads it: more bytes each time, parsed again.
        std::string buf;
        RespValue v;
        RespReplyResult r;
        size_t at = 0;
        do {
            const size_t n = step == 0 ? reply.size() : std::min(step, reply.size() - at);
            buf.append(reply, at, n);
            at += n;
            r = parse_resp_reply(buf, v);
        } while (r.status == ParseStatus::kNeedMore && at < reply.size());
        ASSERT_EQ(r.status, ParseStatus::kComplete) << step;
        EXPECT_EQ(v.elements[0].text, "name");
    }
}

TEST(RespReply, LeavesTheNextReplyUnread) {
    RespValue v;
    const RespReplyResult r = parse_resp_reply("+OK\r\n:1\r\n", v);
    EXPECT_EQ(r.status, ParseStatus::kComplete);
    EXPECT_EQ(r.consumed, 5u);
}

TEST(RespReply, RejectsMalformedReplies) {
    for (std::string_view bad : {"?x\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "$1\r\nab\r\n",
                                 "*-2\r\n", "#x\r\n", "_x\r\n"}) {
        RespValue v;
        std::string why;
        EXPECT_EQ(parse_resp_reply(bad, v, &why).status, ParseStatus::kError) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

TEST(RespReply, AHugeAggregateCountAllocatesNothingUntilTheBytesCome) {
    RespValue v;
    EXPECT_EQ(parse_resp_reply("*16000000\r\n:1\r\n", v).status, ParseStatus::kNeedMore);
    EXPECT_EQ(parse_resp_reply("*99999999\r\n", v).status, ParseStatus::kError);
}

TEST(RespReply, DeepNestingIsAnError) {
    std::string deep;
    for (int i = 0; i < 40; ++i)
        deep += "*1\r\n";
    deep += ":1\r\n";
    RespValue v;
    EXPECT_EQ(parse_resp_reply(deep, v).status, ParseStatus::kError);
}

TEST(RespReply, ReadsWhatTheWriterWrites) {
    std::string out;
    RespWriter w(out);
    w.write_array(3);
    w.write_bulk("items");
    w.write_integer(12);
    w.write_error("nope");  // the writer adds the code
    const RespValue v = read_all(out);
    ASSERT_EQ(v.elements.size(), 3u);
    EXPECT_EQ(v.elements[0].text, "items");
    EXPECT_EQ(v.elements[1].integer, 12);
    EXPECT_EQ(v.elements[2].text, "ERR nope");
}

}  // namespace
}  // namespace fulmar::proto
