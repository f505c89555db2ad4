// The pub/sub hub (controlplane/pubsub_hub.h) with clients that only record
// what is pushed to them: subscriptions, counts, deliveries and their exact
// bytes (RESP2 arrays, RESP3 pushes), patterns, shard channels, leaving.
#include "pubsub_hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace fulmar::controlplane {
namespace {

class Recorder final : public PubSubClient {
  public:
    explicit Recorder(proto::RespVersion v = proto::RespVersion::kResp2) : version_(v) {}
    void push(std::string_view bytes) override { pushed.emplace_back(bytes); }
    proto::RespVersion protocol() const override { return version_; }
    std::vector<std::string> pushed;

  private:
    proto::RespVersion version_;
};

constexpr auto kGlobal = ChannelKind::kGlobal;
constexpr auto kShard = ChannelKind::kShard;

std::vector<std::string> sorted(std::vector<std::string_view> v) {
    std::vector<std::string> out(v.begin(), v.end());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(PubSubHub, DeliversToEveryChannelSubscriberInRedisBytes) {
    PubSubHub hub;
    Recorder a, b, other;
    EXPECT_TRUE(hub.subscribe(a, kGlobal, "news"));
    EXPECT_TRUE(hub.subscribe(b, kGlobal, "news"));
    EXPECT_TRUE(hub.subscribe(other, kGlobal, "sport"));
    EXPECT_EQ(hub.publish(kGlobal, "news", "hello"), 2u);
    const std::string msg = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    EXPECT_EQ(a.pushed, std::vector<std::string>{msg});
    EXPECT_EQ(b.pushed, std::vector<std::string>{msg});
    EXPECT_TRUE(other.pushed.empty());
    EXPECT_EQ(hub.publish(kGlobal, "nobody", "x"), 0u);
    EXPECT_EQ(hub.stats().published, 2u);
    EXPECT_EQ(hub.stats().deliveries, 2u);
}

TEST(PubSubHub, SubscribingTwiceCountsOnce) {
    PubSubHub hub;
    Recorder a;
    EXPECT_TRUE(hub.subscribe(a, kGlobal, "c"));
    EXPECT_FALSE(hub.subscribe(a, kGlobal, "c"));
    EXPECT_EQ(a.subscription_count(), 1u);
    EXPECT_EQ(hub.numsub(kGlobal, "c"), 1u);
    EXPECT_EQ(hub.publish(kGlobal, "c", "m"), 1u);
    EXPECT_EQ(a.pushed.size(), 1u);
}

TEST(PubSubHub, PatternsMatchWithGlobsAndCountEachMatch) {
    PubSubHub hub;
    Recorder a;
    hub.subscribe(a, kGlobal, "news.tech");
    hub.psubscribe(a, "news.*");
    hub.psubscribe(a, "news.[st]ech");
    hub.psubscribe(a, "sport.*");
    EXPECT_EQ(a.subscription_count(), 4u);
    EXPECT_EQ(hub.numpat(), 3u);
    // Redis counts a client once per subscription that matched.
    EXPECT_EQ(hub.publish(kGlobal, "news.tech", "m"), 3u);
    ASSERT_EQ(a.pushed.size(), 3u);
    EXPECT_EQ(a.pushed[0], "*3\r\n$7\r\nmessage\r\n$9\r\nnews.tech\r\n$1\r\nm\r\n");
    std::vector<std::string> pm(a.pushed.begin() + 1, a.pushed.end());
    std::sort(pm.begin(), pm.end());
    EXPECT_EQ(pm[1], "*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$1\r\nm\r\n");
    EXPECT_EQ(pm[0],
              "*4\r\n$8\r\npmessage\r\n$12\r\nnews.[st]ech\r\n$9\r\nnews.tech\r\n$1\r\nm\r\n");
}

TEST(PubSubHub, AnEmptyPatternIsAPatternToo) {
    PubSubHub hub;
    Recorder a;
    hub.psubscribe(a, "");
    EXPECT_EQ(hub.publish(kGlobal, "", "m"), 1u);
    ASSERT_EQ(a.pushed.size(), 1u);
    EXPECT_EQ(a.pushed[0], "*4\r\n$8\r\npmessage\r\n$0\r\n\r\n$0\r\n\r\n$1\r\nm\r\n");
}

TEST(PubSubHub, Resp3ClientsGetPushesAndResp2ClientsArrays) {
    PubSubHub hub;
    Recorder two, three(proto::RespVersion::kResp3);
    hub.subscribe(two, kGlobal, "c");
    hub.subscribe(three, kGlobal, "c");
    hub.psubscribe(three, "*");
    EXPECT_EQ(hub.publish(kGlobal, "c", "hi"), 3u);
    EXPECT_EQ(two.pushed,
              std::vector<std::string>{"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n"});
    EXPECT_EQ(three.pushed, (std::vector<std::string>{
                                ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n",
                                ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nc\r\n$2\r\nhi\r\n"}));
}

TEST(PubSubHub, ShardChannelsAreANamespaceOfTheirOwn) {
    PubSubHub hub;
    Recorder plain, shard, pattern;
    hub.subscribe(plain, kGlobal, "x");
    hub.subscribe(shard, kShard, "x");
    hub.psubscribe(pattern, "*");
    EXPECT_EQ(shard.shard_subscription_count(), 1u);
    EXPECT_EQ(shard.subscription_count(), 0u);
    EXPECT_TRUE(shard.subscribed());
    // SPUBLISH reaches shard subscribers only, never patterns.
    EXPECT_EQ(hub.publish(kShard, "x", "s"), 1u);
    EXPECT_EQ(shard.pushed,
              std::vector<std::string>{"*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\ns\r\n"});
    EXPECT_TRUE(plain.pushed.empty());
    EXPECT_TRUE(pattern.pushed.empty());
    EXPECT_EQ(hub.publish(kGlobal, "x", "g"), 2u);
    EXPECT_EQ(shard.pushed.size(), 1u);
    EXPECT_EQ(sorted(hub.channels(kShard, "", true)), std::vector<std::string>{"x"});
    EXPECT_EQ(hub.numsub(kShard, "x"), 1u);
    EXPECT_EQ(hub.numsub(kGlobal, "x"), 1u);
    EXPECT_EQ(hub.n_channels(kShard), 1u);
    EXPECT_EQ(hub.n_channels(kGlobal), 1u);
}

TEST(PubSubHub, ShardChannelsARingGaveAwayAreLeftWithAPush) {
    PubSubHub hub;
    Recorder a, b(proto::RespVersion::kResp3);
    hub.subscribe(a, kShard, "mine");
    hub.subscribe(a, kShard, "gone");
    hub.subscribe(b, kShard, "gone");
    hub.subscribe(b, kGlobal, "gone");  // a plain channel is not the ring's
    EXPECT_EQ(hub.drop_shard_channels([](std::string_view ch) { return ch != "gone"; }), 1u);
    // Redis 7.0's removeChannelsInSlot: "sunsubscribe", the channel, the
    // shard channels left.
    EXPECT_EQ(a.pushed,
              std::vector<std::string>{"*3\r\n$12\r\nsunsubscribe\r\n$4\r\ngone\r\n:1\r\n"});
    EXPECT_EQ(b.pushed,
              std::vector<std::string>{">3\r\n$12\r\nsunsubscribe\r\n$4\r\ngone\r\n:0\r\n"});
    EXPECT_EQ(hub.numsub(kShard, "gone"), 0u);
    EXPECT_EQ(hub.numsub(kShard, "mine"), 1u);
    EXPECT_EQ(hub.numsub(kGlobal, "gone"), 1u);
    EXPECT_EQ(a.shard_subscription_count(), 1u);
    EXPECT_EQ(b.shard_subscription_count(), 0u);
    EXPECT_TRUE(b.subscribed());
    EXPECT_EQ(hub.publish(kShard, "gone", "m"), 0u);
    EXPECT_EQ(hub.drop_shard_channels([](std::string_view) { return true; }), 0u);
}

TEST(PubSubHub, ListsOnlyChannelsWithSubscribersMatchingThePattern) {
    PubSubHub hub;
    Recorder a, b;
    hub.subscribe(a, kGlobal, "news.a");
    hub.subscribe(b, kGlobal, "news.b");
    hub.subscribe(b, kGlobal, "sport");
    EXPECT_EQ(sorted(hub.channels(kGlobal, "", true)),
              (std::vector<std::string>{"news.a", "news.b", "sport"}));
    EXPECT_EQ(sorted(hub.channels(kGlobal, "news.*", false)),
              (std::vector<std::string>{"news.a", "news.b"}));
    EXPECT_TRUE(hub.channels(kGlobal, "", false).empty());  // "" matches "" only
    EXPECT_TRUE(hub.unsubscribe(a, kGlobal, "news.a"));
    EXPECT_FALSE(hub.unsubscribe(a, kGlobal, "news.a"));
    EXPECT_EQ(sorted(hub.channels(kGlobal, "news.*", false)), std::vector<std::string>{"news.b"});
    EXPECT_EQ(hub.numsub(kGlobal, "news.a"), 0u);
}

TEST(PubSubHub, DropLeavesEverythingAndStopsDeliveries) {
    PubSubHub hub;
    Recorder a, b;
    for (const char* ch : {"c1", "c2", "c3"})
        hub.subscribe(a, kGlobal, ch);
    hub.psubscribe(a, "c*");
    hub.subscribe(a, kShard, "s");
    hub.subscribe(b, kGlobal, "c1");
    hub.psubscribe(b, "c*");
    hub.drop(a);
    EXPECT_FALSE(a.subscribed());
    EXPECT_EQ(hub.publish(kGlobal, "c1", "m"), 2u);
    EXPECT_EQ(hub.publish(kShard, "s", "m"), 0u);
    EXPECT_TRUE(a.pushed.empty());
    EXPECT_EQ(sorted(hub.channels(kGlobal, "", true)), std::vector<std::string>{"c1"});
    EXPECT_EQ(hub.numpat(), 1u);
    EXPECT_TRUE(hub.channels(kShard, "", true).empty());
}

TEST(PubSubHub, PunsubscribeRemovesThePatternOnceNobodyHasIt) {
    PubSubHub hub;
    Recorder a, b;
    hub.psubscribe(a, "p*");
    hub.psubscribe(b, "p*");
    EXPECT_EQ(hub.numpat(), 1u);
    EXPECT_TRUE(hub.punsubscribe(a, "p*"));
    EXPECT_FALSE(hub.punsubscribe(a, "p*"));
    EXPECT_EQ(hub.numpat(), 1u);
    EXPECT_EQ(hub.publish(kGlobal, "pq", "m"), 1u);
    EXPECT_TRUE(hub.punsubscribe(b, "p*"));
    EXPECT_EQ(hub.numpat(), 0u);
}

TEST(PubSubHub, ThousandsOfSubscribersShareOneFormattedMessage) {
    PubSubHub hub;
    std::vector<Recorder> subs(10000);
    for (Recorder& r : subs)
        hub.subscribe(r, kGlobal, "wide");
    const std::string body(128, 'x');
    EXPECT_EQ(hub.publish(kGlobal, "wide", body), subs.size());
    for (const Recorder& r : subs)
        ASSERT_EQ(r.pushed.size(), 1u);
    // Leaving in any order keeps the others subscribed.
    for (size_t i = 0; i < subs.size(); i += 2)
        hub.drop(subs[i]);
    EXPECT_EQ(hub.numsub(kGlobal, "wide"), subs.size() / 2);
    EXPECT_EQ(hub.publish(kGlobal, "wide", body), subs.size() / 2);
    EXPECT_EQ(subs[1].pushed.size(), 2u);
    EXPECT_EQ(subs[0].pushed.size(), 1u);
}

}  // namespace
}  // namespace fulmar::controlplane
