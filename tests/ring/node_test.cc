// Tests of server entry parsing ("host:port[:weight][ name]") and of ketama labels.
#include <gtest/gtest.h>

#include <string>

#include "ring/node.h"

namespace fulmar::ring {
namespace {

Node parse_or_die(std::string_view entry) {
    auto node = parse_node(entry);
    EXPECT_TRUE(node.ok()) << entry << ": " << (node.ok() ? "" : node.error().message);
    return node.ok() ? std::move(node).value() : Node{};
}

TEST(ServerEntry, ParsesHostPortAndWeight) {
    const Node n = parse_or_die("cache-a.local:11212:3");
    EXPECT_EQ(n.host, "cache-a.local");
    EXPECT_EQ(n.port, 11212);
    EXPECT_EQ(n.weight, 3U);
    EXPECT_EQ(n.name, "");
}

TEST(ServerEntry, DefaultsTheWeightToOne) {
    const Node n = parse_or_die("10.0.0.1:11211");
    EXPECT_EQ(n.host, "10.0.0.1");
    EXPECT_EQ(n.port, 11211);
    EXPECT_EQ(n.weight, 1U);
}

TEST(ServerEntry, AcceptsTheExtremesOfPortAndWeight) {
    EXPECT_EQ(parse_or_die("h:1:4294967295").weight, 4294967295U);
    EXPECT_EQ(parse_or_die("h:65535").port, 65535);
    EXPECT_EQ(parse_or_die("h:1:007").weight, 7U);  // a weight is not hashed: zeros are harmless
}

TEST(ServerEntry, ParsesATwemproxyName) {
    const Node n = parse_or_die("10.0.0.2:11211:1 alpha");
    EXPECT_EQ(n.host, "10.0.0.2");
    EXPECT_EQ(n.name, "alpha");
    EXPECT_EQ(ketama_label(n, KetamaMode::kTwemproxy), "alpha");
}

TEST(ServerEntry, ParsesABracketedIpv6Address) {
    const Node n = parse_or_die("[fd00::1]:11300:2");
    EXPECT_EQ(n.host, "fd00::1");
    EXPECT_EQ(n.port, 11300);
    EXPECT_EQ(n.weight, 2U);
}

TEST(ServerEntry, IgnoresBlanksAroundTheEntry) {
    EXPECT_EQ(parse_or_die("  10.0.0.1:11211:2\t").weight, 2U);
}

struct BadEntry {
    const char* entry;
    RingStatus status;
    const char* says;  // a fragment of the message
};

TEST(ServerEntry, RejectsBadEntriesWithAClearMessage) {
    const BadEntry cases[] = {
        {"", RingStatus::kBadServer, "empty entry"},
        {"   ", RingStatus::kBadServer, "empty entry"},
        {"10.0.0.1", RingStatus::kBadPort, "host:port"},
        {"10.0.0.1:", RingStatus::kBadPort, "1-65535"},
        {":11211", RingStatus::kBadName, "empty host"},
        {"[]:11211", RingStatus::kBadName, "empty host"},
        {"10.0.0.1:0", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:65536", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:99999999999999999999999", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:+80", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:-80", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:8o", RingStatus::kBadPort, "1-65535"},
        {"10.0.0.1:011211", RingStatus::kBadPort, "leading zero"},
        {"10.0.0.1:11211:0", RingStatus::kBadWeight, "weight"},
        {"10.0.0.1:11211:", RingStatus::kBadWeight, "weight"},
        {"10.0.0.1:11211:x", RingStatus::kBadWeight, "weight"},
        {"10.0.0.1:11211:4294967296", RingStatus::kBadWeight, "weight"},
        {"10.0.0.1:11211:1:2", RingStatus::kBadServer, "too many ':'"},
        {"fd00::1:11211:1", RingStatus::kBadPort, "1-65535"},  // parsed as host "fd00", port ""
        {"[fd00::1:11211", RingStatus::kBadServer, "without ']'"},
        {"[fd00::1]11211", RingStatus::kBadPort, "host:port"},
        {"10.0.0.1:11211:1 two words", RingStatus::kBadName, "one word"},
    };
    for (const BadEntry& c : cases) {
        auto node = parse_node(c.entry);
        ASSERT_FALSE(node.ok()) << "accepted '" << c.entry << "'";
        EXPECT_EQ(node.error().status, c.status) << c.entry << ": " << node.error().message;
        EXPECT_NE(node.error().message.find(c.says), std::string::npos)
            << c.entry << ": " << node.error().message;
    }
}

TEST(ServerEntry, ErrorMessagesNameTheEntry) {
    auto node = parse_node("10.0.0.1:0");
    ASSERT_FALSE(node.ok());
    EXPECT_EQ(node.error().message, "server '10.0.0.1:0': port must be 1-65535 in decimal");
    EXPECT_STREQ(ring_status_name(node.error().status), "bad-port");
}

TEST(ServerEntry, RejectsAHostOrNameLongerThanAHostname) {
    EXPECT_EQ(parse_node(std::string(256, 'h') + ":1").error().status, RingStatus::kBadName);
    EXPECT_EQ(parse_node("h:1:1 " + std::string(256, 'n')).error().status, RingStatus::kBadName);
    EXPECT_TRUE(parse_node(std::string(255, 'h') + ":1").ok());
}

TEST(ServerList, ParsesCommaSeparatedEntries) {
    auto nodes = parse_node_list("10.0.0.1:11211, 10.0.0.2:11212:2 ,[::1]:7:3 beta");
    ASSERT_TRUE(nodes.ok()) << nodes.error().message;
    ASSERT_EQ(nodes->size(), 3U);
    EXPECT_EQ((*nodes)[0].host, "10.0.0.1");
    EXPECT_EQ((*nodes)[1].port, 11212);
    EXPECT_EQ((*nodes)[1].weight, 2U);
    EXPECT_EQ((*nodes)[2].host, "::1");
    EXPECT_EQ((*nodes)[2].name, "beta");
}

TEST(ServerList, RejectsABlankListAsEmpty) {
    EXPECT_EQ(parse_node_list("").error().status, RingStatus::kEmpty);
    EXPECT_EQ(parse_node_list(" \t ").error().status, RingStatus::kEmpty);
}

TEST(ServerList, RejectsAnEmptyEntryOrABadOne) {
    EXPECT_EQ(parse_node_list("a:1,,b:2").error().status, RingStatus::kBadServer);
    EXPECT_EQ(parse_node_list("a:1,").error().status, RingStatus::kBadServer);
    auto bad = parse_node_list("a:1, b:0");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "server 'b:0': port must be 1-65535 in decimal");
}

TEST(KetamaLabel, LeavesOutTheDefaultPort) {
    Node n;
    n.host = "10.0.0.1";
    n.port = 11211;
    EXPECT_EQ(ketama_label(n, KetamaMode::kTwemproxy), "10.0.0.1");
    EXPECT_EQ(ketama_label(n, KetamaMode::kLibmemcached), "10.0.0.1");
    n.port = 11212;
    EXPECT_EQ(ketama_label(n, KetamaMode::kTwemproxy), "10.0.0.1:11212");
    EXPECT_EQ(ketama_label(n, KetamaMode::kLibmemcached), "10.0.0.1:11212");
}

TEST(KetamaLabel, BracketsIpv6OnlyForTwemproxy) {
    // twemproxy hashes the address as written in its config; libmemcached its bare hostname.
    Node n;
    n.host = "fd00::1";
    n.port = 7000;
    EXPECT_EQ(ketama_label(n, KetamaMode::kTwemproxy), "[fd00::1]:7000");
    EXPECT_EQ(ketama_label(n, KetamaMode::kLibmemcached), "fd00::1:7000");
}

}  // namespace
}  // namespace fulmar::ring
