// What the Redis listener's clients share (resp_server_state.h): Redis's
// glob (stringmatchlen, for CONFIG GET), the CONFIG registry (patterns,
// case-blind names, immutable parameters, other groups' additions) and the
// password from the control plane's configuration.
#include "resp_server_state.h"

#include <gtest/gtest.h>

#include "common/glob_match.h"

#include <string>
#include <string_view>
#include <vector>

namespace fulmar::controlplane {
namespace {

using fulmar::glob_match;  // common/glob_match.h: the one every pattern uses

TEST(GlobMatch, IsRedisStringmatch) {
    EXPECT_TRUE(glob_match("*", "anything", false));
    EXPECT_TRUE(glob_match("max*", "maxclients", false));
    EXPECT_FALSE(glob_match("max*", "amaxclients", false));
    EXPECT_TRUE(glob_match("*port*", "port", false));
    EXPECT_TRUE(glob_match("h?llo", "hello", false));
    EXPECT_FALSE(glob_match("h?llo", "hllo", false));
    EXPECT_TRUE(glob_match("h[ae]llo", "hallo", false));
    EXPECT_FALSE(glob_match("h[ae]llo", "hillo", false));
    EXPECT_TRUE(glob_match("h[^e]llo", "hallo", false));
    EXPECT_FALSE(glob_match("h[^e]llo", "hello", false));
    EXPECT_TRUE(glob_match("h[a-c]llo", "hbllo", false));
    EXPECT_TRUE(glob_match("h[c-a]llo", "hbllo", false));  // a reversed range
    EXPECT_TRUE(glob_match("a\\*b", "a*b", false));
    EXPECT_FALSE(glob_match("a\\*b", "axb", false));
    EXPECT_TRUE(glob_match("MAX*", "maxclients", true));
    EXPECT_FALSE(glob_match("MAX*", "maxclients", false));
    EXPECT_TRUE(glob_match("a**b", "ab", false));
    EXPECT_TRUE(glob_match("", "", false));
    EXPECT_FALSE(glob_match("", "a", false));
    // Unterminated class: Redis takes what it read as the class.
    EXPECT_TRUE(glob_match("a[b", "ab", false));
    EXPECT_FALSE(glob_match("a[b", "ac", false));
    // A trailing backslash matches itself.
    EXPECT_TRUE(glob_match("a\\", "a\\", false));
    // Many stars on a long miss end (Redis's skipLongerMatches).
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a'), false));
}

TEST(RespServerState, ConfigFromTheControlPlaneConfig) {
    config::ControlplaneConfig cfg;
    cfg.redis_port = 6400;
    cfg.max_connections = 77;
    cfg.requirepass = "pw";
    RespServerState s;
    s.init(cfg, nullptr, 100, 64u << 20);
    EXPECT_EQ(s.requirepass(), "pw");
    ASSERT_NE(s.find_config("PORT"), nullptr);
    EXPECT_EQ(s.find_config("port")->get(), "6400");
    EXPECT_EQ(s.find_config("maxclients")->get(), "77");
    EXPECT_EQ(s.find_config("port")->set, nullptr);  // immutable
    EXPECT_EQ(s.find_config("maxmemory")->get(), "67108864");
    EXPECT_EQ(s.find_config("nosuch"), nullptr);
    // No persistence: the value it has is taken, any other refused.
    EXPECT_FALSE(s.find_config("save")->set("").has_value());
    EXPECT_EQ(s.find_config("save")->set("900 1").value_or(""),
              "no persistence here: save is always \"\"");
    EXPECT_FALSE(s.find_config("appendonly")->set("no").has_value());
    EXPECT_EQ(s.find_config("appendonly")->set("yes").value_or(""),
              "no persistence here: appendonly is always no");
    EXPECT_EQ(s.find_config("appendonly")->set("maybe").value_or(""),
              "argument must be 'yes' or 'no'");
    // requirepass changes at run time.
    ASSERT_NE(s.find_config("requirepass")->set, nullptr);
    EXPECT_FALSE(s.find_config("requirepass")->set("other").has_value());
    EXPECT_EQ(s.requirepass(), "other");
}

TEST(RespServerState, PatternsMatchEachParameterOnce) {
    RespServerState s;
    s.init(config::ControlplaneConfig{}, nullptr, 0);
    std::vector<std::string_view> pats{"*port*", "port", "max*"};
    std::vector<std::string> names;
    for (const RespConfigParam* p : s.match_config(pats))
        names.push_back(p->name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"port", "maxclients", "maxmemory", "maxmemory-policy"}));
}

// maxmemory lowers the owners' page budget (whole 1 MiB pages per shard);
// the policy is allkeys-lru or noeviction, nothing else.
TEST(RespServerState, MaxmemoryAndItsPolicyReachTheOwners) {
    RespServerState s;
    s.init(config::ControlplaneConfig{}, nullptr, 0, 64u << 20, nullptr, nullptr, 2);
    const shm::MemoryPolicy& m = *s.memory;
    EXPECT_EQ(m.max_pages.load(), shm::kAllPages);
    EXPECT_EQ(s.find_config("maxmemory-policy")->get(), "allkeys-lru");
    EXPECT_FALSE(s.find_config("maxmemory")->set("10mb").has_value());
    EXPECT_EQ(m.max_pages.load(), 5u);  // 10 MiB over two shards
    EXPECT_EQ(s.find_config("maxmemory")->get(), "10485760");
    EXPECT_FALSE(s.find_config("maxmemory")->set("1").has_value());
    EXPECT_EQ(m.max_pages.load(), 0u);  // none: everything goes
    EXPECT_FALSE(s.find_config("maxmemory")->set("0").has_value());
    EXPECT_EQ(m.max_pages.load(), shm::kAllPages);
    EXPECT_EQ(s.find_config("maxmemory")->get(), "67108864");
    EXPECT_TRUE(s.find_config("maxmemory")->set("1gb").has_value());  // above the memory
    EXPECT_TRUE(s.find_config("maxmemory")->set("x").has_value());
    EXPECT_EQ(m.max_pages.load(), shm::kAllPages);
    EXPECT_FALSE(s.find_config("maxmemory-policy")->set("NOEVICTION").has_value());
    EXPECT_EQ(m.evict.load(), 0);
    EXPECT_EQ(s.find_config("maxmemory-policy")->get(), "noeviction");
    EXPECT_TRUE(s.find_config("maxmemory-policy")->set("volatile-lru").has_value());
    EXPECT_EQ(m.evict.load(), 0);
    EXPECT_FALSE(s.find_config("maxmemory-policy")->set("allkeys-lru").has_value());
    EXPECT_EQ(m.evict.load(), 1);
}

TEST(RespServerState, OtherGroupsAddTheirParameters) {
    RespServerState s;
    s.init(config::ControlplaneConfig{}, nullptr, 0);
    std::string value = "128";
    s.add_config({"list-max-listpack-size", [&value] { return value; },
                  [&value](std::string_view v) -> std::optional<std::string> {
                      if (v.empty()) return std::string("argument must be a number");
                      value = std::string(v);
                      return std::nullopt;
                  }});
    const RespConfigParam* p = s.find_config("list-max-listpack-size");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->set("").value_or(""), "argument must be a number");
    EXPECT_FALSE(p->set("64").has_value());
    EXPECT_EQ(p->get(), "64");
    // A second registration of a name replaces the first.
    s.add_config({"list-max-listpack-size", [] { return std::string("1"); }, nullptr});
    EXPECT_EQ(s.find_config("list-max-listpack-size")->get(), "1");
}

TEST(RespServerState, ClientsRegistryAndStats) {
    RespServerState s;
    s.init(config::ControlplaneConfig{}, nullptr, 0);
    s.add(nullptr, 5);
    s.add(nullptr, 3);
    EXPECT_EQ(s.clients().size(), 2u);
    EXPECT_EQ(s.clients().begin()->first, 3u);  // id order
    s.remove(5);
    EXPECT_EQ(s.clients().size(), 1u);
    EXPECT_EQ(s.total_connections, 2u);
    s.total_commands = 9;
    s.reset_stats();
    EXPECT_EQ(s.total_commands, 0u);
    EXPECT_EQ(s.total_connections, 0u);
}

}  // namespace
}  // namespace fulmar::controlplane

namespace fulmar::controlplane {
namespace {

// The collection parameters write where the owners read (the settings
// block), take Redis's ranges and errors, and refuse what no encoding obeys
// (a compressed list).
TEST(RespCollectionConfig, SettingsReachTheSharedBlock) {
    RespServerState s;
    shm::CollectionSettings c;
    s.init(config::ControlplaneConfig{}, nullptr, 0, 0, &c);
    const RespConfigParam* fill = s.find_config("list-max-listpack-size");
    const RespConfigParam* alias = s.find_config("list-max-ziplist-size");
    ASSERT_NE(fill, nullptr);
    ASSERT_NE(alias, nullptr);
    EXPECT_EQ(fill->get(), "-2");
    EXPECT_FALSE(alias->set("5").has_value());
    EXPECT_EQ(c.list_max_listpack_size.load(), 5);
    EXPECT_EQ(fill->get(), "5");
    EXPECT_EQ(fill->set("x").value_or(""), "argument couldn't be parsed into an integer");
    EXPECT_EQ(fill->set("3000000000").value_or(""),
              "argument must be between -2147483648 and 2147483647 inclusive");
    EXPECT_EQ(c.list_max_listpack_size.load(), 5);

    const RespConfigParam* depth = s.find_config("list-compress-depth");
    ASSERT_NE(depth, nullptr);
    EXPECT_EQ(depth->get(), "0");
    EXPECT_FALSE(depth->set("2").has_value());
    EXPECT_EQ(c.list_compress_depth.load(), 2);
    EXPECT_EQ(depth->get(), "2");
    EXPECT_EQ(depth->set("-1").value_or(""), "argument must be between 0 and 2147483647 inclusive");
    EXPECT_EQ(depth->set("x").value_or(""), "argument couldn't be parsed into an integer");
    EXPECT_FALSE(depth->set("0").has_value());
    EXPECT_EQ(depth->get(), "0");

    // Sets and hashes: stored where the owners read them (each name and its
    // alias one cell), Redis 7.0.15's size_t ranges and errors.
    struct Cell {
        const char* name;
        std::atomic<int64_t>* cell;
        bool memory = false;  // memtoull: no sign, so "-1" is not a number at all
    };
    for (const Cell& x : {Cell{"set-max-intset-entries", &c.set_max_intset_entries},
                          Cell{"hash-max-listpack-entries", &c.hash_max_listpack_entries},
                          Cell{"hash-max-ziplist-entries", &c.hash_max_listpack_entries},
                          Cell{"hash-max-listpack-value", &c.hash_max_listpack_value, true},
                          Cell{"hash-max-ziplist-value", &c.hash_max_listpack_value, true}}) {
        SCOPED_TRACE(x.name);
        const RespConfigParam* p = s.find_config(x.name);
        ASSERT_NE(p, nullptr);
        EXPECT_FALSE(p->set("7").has_value());
        EXPECT_EQ(x.cell->load(), 7);
        EXPECT_EQ(p->get(), "7");
        EXPECT_FALSE(p->set("0").has_value());
        EXPECT_EQ(x.cell->load(), 0);
        EXPECT_FALSE(p->set("9223372036854775807").has_value());
        EXPECT_EQ(p->get(), "9223372036854775807");
        EXPECT_EQ(p->set("-1").value_or(""),
                  x.memory ? "argument must be a memory value"
                           : "argument must be between 0 and 9223372036854775807 inclusive");
        EXPECT_EQ(p->get(), "9223372036854775807");
    }
    EXPECT_EQ(s.find_config("set-max-intset-entries")->set("1kb").value_or(""),
              "argument couldn't be parsed into an integer");
    EXPECT_EQ(s.find_config("hash-max-listpack-entries")->set("x").value_or(""),
              "argument couldn't be parsed into an integer");
    // The value one is a memory value: units, and no sign.
    const RespConfigParam* value = s.find_config("hash-max-listpack-value");
    EXPECT_FALSE(value->set("1kb").has_value());
    EXPECT_EQ(c.hash_max_listpack_value.load(), 1024);
    EXPECT_FALSE(s.find_config("hash-max-ziplist-value")->set("2k").has_value());
    EXPECT_EQ(value->get(), "2000");
    EXPECT_EQ(value->set("1xb").value_or(""), "argument must be a memory value");
    EXPECT_EQ(value->set("-5").value_or(""), "argument must be a memory value");
    EXPECT_EQ(value->get(), "2000");
}

}  // namespace
}  // namespace fulmar::controlplane
