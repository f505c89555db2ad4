// engine::route_datagram: where a datagram runs, and what it hands on
// parsed. Moved here from the dataplane with the function; the packet tests
// (tests/packet/worker_test.cc) check the same rules on real workers.
#include "engine/route.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/engine_ctx.h"
#include "store/digest.h"

namespace fulmar::engine {
namespace {

constexpr RoutePolicy kTwoShards{.n_shards = 2, .admin_over_udp = false};

std::string key_on_shard(size_t shard, size_t n_shards, std::string_view prefix = "key") {
    for (int n = 0;; ++n) {
        std::string k = std::string(prefix) + std::to_string(n);
        if (shard_index(store::digest_key(k), n_shards) == shard) return k;
    }
}

Route route(std::string_view payload, const RoutePolicy& policy = kTwoShards) {
    ParsedRequest parsed;
    return route_datagram(payload, policy, parsed);
}

TEST(RouteDatagram, ReadsRunWhereTheyArrive) {
    const std::string k0 = key_on_shard(0, 2), k1 = key_on_shard(1, 2);
    for (const std::string& p :
         {"get " + k1 + "\r\n", "gets " + k0 + " " + k1 + "\r\n", std::string("version\r\n"),
          std::string("mn\r\n"), std::string("bogus\r\n"), std::string("quit\r\n")}) {
        EXPECT_EQ(route(p).kind, RouteKind::kLocal) << p;
    }
}

TEST(RouteDatagram, WritesGoToTheirKeysOwner) {
    const std::string k1 = key_on_shard(1, 2);
    for (const std::string& p :
         {"set " + k1 + " 0 0 1\r\nx\r\n", "set " + k1 + " -1 0 1\r\nx\r\n",
          "delete " + k1 + "\r\n", "incr " + k1 + " 1\r\n", "touch " + k1 + " 10\r\n",
          "gat 0 " + k1 + "\r\n", "ms " + k1 + " 1\r\nx\r\n", "mg " + k1 + " v\r\n",
          "set " + k1 + " 0 0 2000000\r\n", "ms " + k1 + " 2000000\r\n"}) {
        const Route r = route(p);
        EXPECT_EQ(r.kind, RouteKind::kOwner) << p;
        EXPECT_EQ(r.shard, 1) << p;
    }
}

TEST(RouteDatagram, RefusesWritesSpanningShardsAndAdminUnlessAllowed) {
    const std::string k0 = key_on_shard(0, 2), k1 = key_on_shard(1, 2);
    EXPECT_EQ(route("set " + k0 + " 0 0 1\r\na\r\nset " + k1 + " 0 0 1\r\nb\r\n").kind,
              RouteKind::kRefuseSpan);
    EXPECT_EQ(route("gat 0 " + k0 + " " + k1 + "\r\n").kind, RouteKind::kRefuseSpan);
    EXPECT_EQ(route("md " + k1 + "\r\ndelete " + k0 + "\r\n").kind, RouteKind::kRefuseSpan);
    for (const char* admin : {"stats\r\n", "flush_all\r\n", "verbosity 1\r\n"})
        EXPECT_EQ(route(admin).kind, RouteKind::kRefuseAdmin) << admin;
    const RoutePolicy admin{.n_shards = 2, .admin_over_udp = true};
    EXPECT_EQ(route("stats\r\n", admin).kind, RouteKind::kLocal);
    EXPECT_EQ(route("verbosity 1\r\n", admin).kind, RouteKind::kLocal);
    EXPECT_EQ(route("flush_all\r\n", admin).kind, RouteKind::kRefuseSpan)
        << "flush_all writes every shard";
    EXPECT_EQ(route("flush_all\r\n", {.n_shards = 1, .admin_over_udp = true}).kind,
              RouteKind::kLocal);
}

// A lone complete classic request comes back parsed, with its key's digest:
// the lcore that runs it needs neither parser nor hash.
TEST(RouteDatagram, HandsOnALoneRequestParsedAndDigested) {
    const std::string k1 = key_on_shard(1, 2);
    for (const std::string& p : {"set " + k1 + " 5 0 3\r\nabc\r\n",  // the one-pass path
                                 "set " + k1 + " 5 0 3 noreply\r\nabc\r\n",
                                 "add  " + k1 + " 5 0 3\r\nabc\r\n",  // the full parser
                                 "delete " + k1 + "\r\n"}) {
        ParsedRequest parsed;
        const Route r = route_datagram(p, kTwoShards, parsed);
        EXPECT_EQ(r.kind, RouteKind::kOwner) << p;
        ASSERT_TRUE(parsed.valid) << p;
        EXPECT_EQ(parsed.request.key, k1);
        EXPECT_EQ(parsed.digest, store::digest_key(k1)) << p;
        EXPECT_EQ(parsed.key().digest, parsed.digest);
        EXPECT_EQ(parsed.key().key, k1);
    }
    ParsedRequest parsed;
    route_datagram("set " + k1 + " 5 0 3\r\nabc\r\n", kTwoShards, parsed);
    EXPECT_EQ(parsed.request.command, proto::McTextCommand::kSet);
    EXPECT_EQ(parsed.request.value, "abc");
    EXPECT_EQ(parsed.request.flags, 5u);
    route_datagram("version\r\n", kTwoShards, parsed);
    EXPECT_TRUE(parsed.valid) << "a keyless request is handed on parsed too";
}

TEST(RouteDatagram, HandsOnTheBytesWhenTheParseCannotTravel) {
    const std::string k1 = key_on_shard(1, 2);
    for (const std::string& p : {"set " + k1 + " 0 0 1\r\na\r\ndelete " + k1 + "\r\n",  // two
                                 "ms " + k1 + " 1\r\nx\r\n",                            // meta
                                 "set " + k1 + " 0 0 2000000\r\n",                      // refused
                                 "delete " + k1 + "\r\nget",                            // cut short
                                 "get " + k1 + "\r\n"}) {  // the GET fast path
        ParsedRequest parsed;
        parsed.valid = true;
        route_datagram(p, kTwoShards, parsed);
        EXPECT_FALSE(parsed.valid) << p;
    }
}

}  // namespace
}  // namespace fulmar::engine
