// notify-keyspace-events letters (common/keyspace_events.h): parsed and
// written back as redis-server 7.0.15's CONFIG SET / CONFIG GET do.
#include "common/keyspace_events.h"

#include <gtest/gtest.h>

namespace fulmar {
namespace {

std::string round_trip(std::string_view letters) {
    uint16_t f = 0;
    EXPECT_TRUE(parse_notify_flags(letters, f)) << letters;
    return notify_flags_text(f);
}

TEST(KeyspaceEvents, WritesFlagsBackAsRedisConfigGetDoes) {
    // Each pair: what CONFIG SET took, what redis-server 7.0.15's CONFIG GET said.
    EXPECT_EQ(round_trip("KEA"), "AKE");
    EXPECT_EQ(round_trip("AKEn"), "AKE");  // 'n' is on, but "A" hides it
    EXPECT_EQ(round_trip("gE"), "gE");
    EXPECT_EQ(round_trip("$K"), "$K");
    EXPECT_EQ(round_trip("KEg$lshzxetdmn"), "AKEm");
    EXPECT_EQ(round_trip("Kx"), "xK");
    EXPECT_EQ(round_trip(""), "");
    EXPECT_EQ(round_trip("E"), "E");
    EXPECT_EQ(round_trip("nKE"), "nKE");
}

TEST(KeyspaceEvents, ParsesEveryLetterAndRejectsOthers) {
    uint16_t f = 0;
    ASSERT_TRUE(parse_notify_flags("AKEn", f));
    EXPECT_EQ(f & kNotifyAll, kNotifyAll);
    EXPECT_NE(f & kNotifyNew, 0);
    EXPECT_EQ(f & kNotifyKeyMiss, 0);  // not in A
    EXPECT_TRUE(notify_enabled(f));
    f = 7;
    EXPECT_FALSE(parse_notify_flags("KQ", f));
    EXPECT_EQ(f, 7);  // untouched on error
    EXPECT_FALSE(parse_notify_flags("a", f));
    // A class without K or E, or K and E without a class, publish nothing.
    ASSERT_TRUE(parse_notify_flags("g$", f));
    EXPECT_FALSE(notify_enabled(f));
    ASSERT_TRUE(parse_notify_flags("KE", f));
    EXPECT_FALSE(notify_enabled(f));
}

}  // namespace
}  // namespace fulmar
