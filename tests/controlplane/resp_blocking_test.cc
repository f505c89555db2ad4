// The blocked-client registry: waiters of a key woken in arrival order, only
// those of the key written, timeouts answered once at the tick, and clients
// that leave forgotten.
#include "resp_blocking.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace fulmar::controlplane {
namespace {

struct Client final : BlockedClient {
    Client(std::string n, std::vector<std::string>& log) : name(std::move(n)), log(log) {}
    void wake() override { log.push_back(name + " wake"); }
    void time_out() override { log.push_back(name + " timeout"); }
    std::string name;
    std::vector<std::string>& log;
};

TEST(RespBlocking, WakesTheWaitersOfAKeyLongestWaitingFirst) {
    std::vector<std::string> log;
    RespBlocking r;
    Client a("a", log), b("b", log), c("c", log);
    const std::array<std::string_view, 1> k{"k"};
    const std::array<std::string_view, 2> k_and_j{"j", "k"};
    r.block(b, k, 0);
    r.block(a, k_and_j, 0);
    r.block(c, std::array<std::string_view, 1>{"other"}, 0);
    EXPECT_EQ(r.blocked_clients(), 3u);
    r.signal("k");
    EXPECT_EQ(log, (std::vector<std::string>{"b wake", "a wake"}));
    log.clear();
    r.signal("j");
    r.signal("none");
    EXPECT_EQ(log, (std::vector<std::string>{"a wake"}));
    log.clear();
    r.unblock(b);
    r.signal("k");
    EXPECT_EQ(log, (std::vector<std::string>{"a wake"}));
    r.unblock(a);
    r.unblock(a);  // twice is harmless
    r.unblock(c);
    EXPECT_FALSE(r.any());
    log.clear();
    r.signal("k");
    EXPECT_TRUE(log.empty());
}

TEST(RespBlocking, TimesOutOnlyPastTheDeadlineAndOnce) {
    std::vector<std::string> log;
    RespBlocking r;
    Client a("a", log), b("b", log);
    const std::array<std::string_view, 1> k{"k"};
    r.block(a, k, 1000);
    r.block(b, k, 0);  // forever
    r.expire(999);
    EXPECT_TRUE(log.empty());
    r.expire(1000);
    EXPECT_EQ(log, (std::vector<std::string>{"a timeout"}));
    r.expire(1'000'000'000);
    EXPECT_EQ(log.size(), 1u);
    EXPECT_EQ(r.blocked_clients(), 1u);
    log.clear();
    r.signal("k");
    EXPECT_EQ(log, (std::vector<std::string>{"b wake"}));
}

TEST(RespBlocking, AClientThatCouldNotSendIsWokenAtTheTick) {
    std::vector<std::string> log;
    RespBlocking r;
    Client a("a", log), b("b", log);
    const std::array<std::string_view, 1> k{"k"};
    r.block(a, k, 0);
    r.block(b, k, 0);
    r.wake_later(a);
    r.wake_later(b);
    r.unblock(b);  // gone before the tick: not woken
    r.expire(1);
    EXPECT_EQ(log, (std::vector<std::string>{"a wake"}));
}

}  // namespace
}  // namespace fulmar::controlplane
