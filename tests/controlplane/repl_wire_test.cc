// The replication stream's text lines and frames (controlplane/repl_wire.h)
// and the primary's backlog (controlplane/repl_backlog.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "repl_backlog.h"
#include "repl_wire.h"

namespace fulmar::controlplane {
namespace {

using namespace repl_wire;

TEST(ReplWire, SyncRequestRoundTripsAndRejectsWhatNoReplicaSends) {
    SyncRequest r{
        .replid = 0x0123456789abcdefull, .seqs = {5, 0, 18446744073709551615ull}, .seed_check = 42};
    const std::string line = format_sync_request(r);
    ASSERT_TRUE(line.ends_with("\r\n"));
    std::string error;
    auto back = parse_sync_request(line.substr(0, line.size() - 2), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->replid, r.replid);
    EXPECT_EQ(back->seqs, r.seqs);
    EXPECT_EQ(back->seed_check, 42u);
    auto none = parse_sync_request("FSYNC ? 2 0,0 000000000000002a", error);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->replid);
    for (const char* bad :
         {"", "FSYNC", "FSYNC ? 2 0 000000000000002a", "FSYNC ? 0  000000000000002a",
          "FSYNC xyz 1 0 000000000000002a", "FSYNC ? 1 -1 000000000000002a", "FSYNC ? 1 0 2a",
          "FSYNC ? 1 0,1 000000000000002a", "FSYNC  ? 1 0 000000000000002a",
          "FSYNC ? 999 0 000000000000002a", "PSYNC ? 1 0 000000000000002a"})
        EXPECT_FALSE(parse_sync_request(bad, error)) << bad;
}

TEST(ReplWire, SyncReplyAndAck) {
    const std::string line = format_sync_reply({.replid = 7, .modes = "pf"});
    std::string error;
    auto r = parse_sync_reply(line.substr(0, line.size() - 2), 2, error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->modes, "pf");
    EXPECT_FALSE(parse_sync_reply(line.substr(0, line.size() - 2), 3, error));
    EXPECT_FALSE(parse_sync_reply("+FSYNC 0000000000000007 2 px", 2, error));
    EXPECT_FALSE(parse_sync_reply("-ERR shards differ", 2, error));
    EXPECT_EQ(error, "ERR shards differ");
    const std::string ack = format_ack({.seqs = {3, 4}, .time_us = 99});
    auto a = parse_ack(ack.substr(0, ack.size() - 2), 2);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->seqs, (std::vector<uint64_t>{3, 4}));
    EXPECT_EQ(a->time_us, 99u);
    EXPECT_FALSE(parse_ack("ACK 3 99", 2));
    EXPECT_FALSE(parse_ack("ACK 3,4", 2));
}

TEST(ReplWire, FramesAreTakenWholeAndBadOnesBreakTheStream) {
    std::string in;
    put_frame_header(in, {.len = 3, .shard = 1, .type = kFrameRecords});
    in += "abc";
    put_frame_header(in, {.len = 5, .shard = 0, .type = kFrameHeartbeat});
    in += "de";  // the second frame is not whole yet
    std::vector<std::string> got;
    auto used = for_each_frame(in, 2, [&](const FrameHeader& h, std::string_view p) {
        got.push_back(std::to_string(h.shard) + ":" + std::string(p));
        return true;
    });
    ASSERT_TRUE(used);
    EXPECT_EQ(*used, kFrameHeader + 3);
    EXPECT_EQ(got, (std::vector<std::string>{"1:abc"}));
    EXPECT_FALSE(for_each_frame(in, 1, [](auto&, auto) { return true; }));  // shard 1 of 1
    std::string huge;
    put_frame_header(huge, {.len = kMaxFrame + 1, .shard = 0, .type = kFrameRecords});
    EXPECT_FALSE(for_each_frame(huge, 1, [](auto&, auto) { return true; }));
}

std::string record(uint64_t seq, uint64_t time_us, std::string_view key) {
    repl::RecordHeader h{};
    h.kind = repl::RecordKind::kDelete;
    h.seq = seq;
    h.time_us = time_us;
    h.key_len = static_cast<uint8_t>(key.size());
    h.size = static_cast<uint32_t>(repl::record_size(key.size(), 0));
    std::string b(reinterpret_cast<const char*>(&h), sizeof(h));
    b += key;
    b.resize(h.size, '\0');
    return b;
}

void append(ReplBacklog& b, uint64_t seq, uint64_t time_us, std::string_view key) {
    const std::string bytes = record(seq, time_us, key);
    repl::RecordView v;
    ASSERT_EQ(repl::parse_record(bytes, v), repl::ParseStatus::kOk);
    b.append(v, bytes);
}

TEST(ReplBacklog, CoversWhatItHoldsAndHandsBackTheRest) {
    ReplBacklog b;
    b.start_at(10);
    EXPECT_TRUE(b.covers(10));  // nothing missed yet
    for (uint64_t s = 11; s <= 20; ++s)
        append(b, s, s * 1000, "k" + std::to_string(s));
    EXPECT_TRUE(b.covers(10));
    EXPECT_TRUE(b.covers(15));
    EXPECT_TRUE(b.covers(20));
    EXPECT_FALSE(b.covers(9));
    EXPECT_FALSE(b.covers(21));
    std::vector<uint64_t> after;
    b.for_each_after(
        15, [&](const repl::RecordView& v, std::string_view) { after.push_back(v.h.seq); });
    EXPECT_EQ(after, (std::vector<uint64_t>{16, 17, 18, 19, 20}));
    // A gap: nobody resumes across it.
    append(b, 25, 25000, "k25");
    EXPECT_EQ(b.gaps(), 1u);
    EXPECT_FALSE(b.covers(15));
    EXPECT_TRUE(b.covers(24));
}

TEST(ReplBacklog, TrimsWholeChunksByAgeAndSize) {
    ReplBacklog b;
    b.start_at(0);
    const std::string key(200, 'k');
    uint64_t seq = 0;
    // Three chunks' worth.
    while (b.bytes() < 3 * ReplBacklog::kChunkBytes) {
        ++seq;
        append(b, seq, seq, key);
    }
    const uint64_t last = seq;
    b.trim(0, SIZE_MAX);
    EXPECT_TRUE(b.covers(0));
    b.trim(0, ReplBacklog::kChunkBytes * 2);
    EXPECT_FALSE(b.covers(0));
    EXPECT_TRUE(b.covers(last - 10));
    EXPECT_LE(b.bytes(), ReplBacklog::kChunkBytes * 2 + ReplBacklog::kChunkBytes);
    b.trim(last + 1, SIZE_MAX);  // everything older than now: all but the newest chunk
    EXPECT_TRUE(b.covers(last));
    EXPECT_GT(b.first_seq(), last / 2);
}

}  // namespace
}  // namespace fulmar::controlplane
