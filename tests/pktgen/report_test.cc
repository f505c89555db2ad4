// The report's verdict on the generator: busy share, busy time per request,
// and the "generator is the limit" line and JSON flag at 95% busy.
#include "report.h"

#include <gtest/gtest.h>

#include <string>

namespace fulmar::pktgen {
namespace {

Report with_loop(uint64_t loop, uint64_t idle) {
    Report r;
    r.link.loop_cycles = loop;
    r.link.idle_cycles = idle;
    r.warmup.sent = 100;
    r.measure.sent = 900;
    r.tsc_hz = 1'000'000'000;  // one cycle a ns
    return r;
}

TEST(Report, BusyShareAndTimePerRequest) {
    const Report r = with_loop(100'000, 25'000);
    EXPECT_DOUBLE_EQ(generator_busy(r.link), 0.75);
    // 75,000 busy ns over 1,000 requests.
    EXPECT_DOUBLE_EQ(generator_busy_ns_per_request(r), 75.0);
    Report unknown = r;
    unknown.tsc_hz = 0;
    EXPECT_EQ(generator_busy_ns_per_request(unknown), 0.0);
    EXPECT_EQ(generator_busy(LinkStats{}), 0.0);
    // Turns that lost the CPU count neither as busy nor as idle.
    Report stalled = r;
    stalled.link.loop_cycles += 50'000;
    stalled.link.stalled_cycles = 50'000;
    EXPECT_DOUBLE_EQ(generator_busy(stalled.link), 0.75);
    EXPECT_DOUBLE_EQ(generator_busy_ns_per_request(stalled), 75.0);
    EXPECT_NE(summary_text(stalled).find("33.3% of the loop in turns that lost the CPU"),
              std::string::npos);
}

TEST(Report, SaysWhenTheGeneratorIsTheLimit) {
    const Report bound = with_loop(100'000, 1'000);  // 99% busy
    EXPECT_NE(summary_text(bound).find("the generator, not the server, is the limit"),
              std::string::npos);
    EXPECT_NE(json_text(bound).find("\"limited\": true"), std::string::npos);
    const Report waiting = with_loop(100'000, 40'000);  // 60% busy: the server is slower
    EXPECT_EQ(summary_text(waiting).find("is the limit"), std::string::npos);
    EXPECT_NE(json_text(waiting).find("\"limited\": false"), std::string::npos);
    EXPECT_NE(json_text(waiting).find("\"busy\": 0.6000"), std::string::npos);
}

}  // namespace
}  // namespace fulmar::pktgen
