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
    EXPECT_EQ(s.find_config("maxmemory")->set, nullptr);
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
    EXPECT_EQ(names, (std::vector<std::string>{"port", "maxclients", "maxmemory"}));
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
