// EtcdClient against a real etcd: KV, leases, Txn compare-and-swap, prefix
// watch, the lease keeper, deadlines when etcd is not there, and several
// endpoints of which one is dead.
//
// Needs a running etcd: tests/cluster/etcd_it.py starts one (its own data
// directory, loopback ports) and passes FULMAR_ETCD_ENDPOINT; without it the
// test fails, it does not skip. Every test works under its own key prefix.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "cluster/etcd_client.h"

namespace fulmar::cluster {
namespace {

std::string endpoint() {
    const char* e = std::getenv("FULMAR_ETCD_ENDPOINT");
    return e != nullptr ? e : "";
}

// A loopback port where nothing listens (FULMAR_ETCD_DEAD_ENDPOINT).
std::string dead_endpoint() {
    const char* e = std::getenv("FULMAR_ETCD_DEAD_ENDPOINT");
    return e != nullptr ? e : "";
}

class EtcdClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_FALSE(endpoint().empty()) << "FULMAR_ETCD_ENDPOINT is not set (run etcd_it.py)";
        auto c = EtcdClient::create(EtcdOptions{{endpoint()}, std::chrono::milliseconds(2000)});
        ASSERT_TRUE(c.ok());
        client_ = std::move(c.value());
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        prefix_ = std::string("/fulmar-test/") + info->name() + "/";
        ASSERT_TRUE(client_->del_prefix(prefix_).ok()) << client_->last_error();
    }
    std::string key(const std::string& k) const { return prefix_ + k; }

    std::unique_ptr<EtcdClient> client_;
    std::string prefix_;
};

// Waits up to `ms` for `fd` to be readable.
bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

TEST(EtcdTarget, BuildsOneGrpcTargetFromEndpoints) {
    EXPECT_EQ(etcd_target({"127.0.0.1:2379"}).value(), "ipv4:127.0.0.1:2379");
    EXPECT_EQ(etcd_target({"http://127.0.0.1:1", "127.0.0.2:2/"}).value(),
              "ipv4:127.0.0.1:1,127.0.0.2:2");
    EXPECT_EQ(etcd_target({"[::1]:2379"}).value(), "ipv6:[::1]:2379");
    EXPECT_EQ(etcd_target({"etcd.example:2379"}).value(), "dns:///etcd.example:2379");
    EXPECT_EQ(etcd_target({}).error(), EtcdStatus::kInvalid);
    EXPECT_EQ(etcd_target({"https://127.0.0.1:2379"}).error(), EtcdStatus::kInvalid);
    EXPECT_EQ(etcd_target({"a.example:1", "b.example:1"}).error(), EtcdStatus::kInvalid);
    EXPECT_EQ(etcd_target({"noport"}).error(), EtcdStatus::kInvalid);
    EXPECT_EQ(etcd_target({"127.0.0.1:1,127.0.0.1:2"}).error(), EtcdStatus::kInvalid);
}

TEST(PrefixRangeEnd, IncrementsTheLastByteBelow0xff) {
    EXPECT_EQ(prefix_range_end("/a/"), "/a0");
    EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
    EXPECT_EQ(prefix_range_end(""), std::string(1, '\0'));
    EXPECT_EQ(prefix_range_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST_F(EtcdClientTest, PutGetPrefixDelete) {
    auto r1 = client_->put(key("a"), "1");
    ASSERT_TRUE(r1.ok()) << client_->last_error();
    ASSERT_TRUE(client_->put(key("b"), "2").ok());
    ASSERT_TRUE(client_->put(key("c/d"), std::string("x\0y", 3)).ok());
    // Outside the prefix: "/fulmar-test/<name>0" sorts right after it.
    ASSERT_TRUE(client_->put(prefix_.substr(0, prefix_.size() - 1) + "0", "out").ok());

    auto one = client_->get(key("a"));
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->kvs.size(), 1u);
    EXPECT_EQ(one->kvs[0].value, "1");
    EXPECT_EQ(one->kvs[0].version, 1);
    EXPECT_EQ(one->kvs[0].mod_revision, r1.value());
    EXPECT_GE(one->revision, r1.value());

    auto all = client_->get_prefix(prefix_);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->kvs.size(), 3u);
    EXPECT_EQ(all->count, 3);
    EXPECT_EQ(all->kvs[0].key, key("a"));
    EXPECT_EQ(all->kvs[2].value, std::string("x\0y", 3));

    EXPECT_EQ(client_->del(key("a")).value(), 1);
    EXPECT_EQ(client_->del(key("a")).value(), 0);
    EXPECT_TRUE(client_->get(key("a"))->kvs.empty());
    EXPECT_EQ(client_->del_prefix(prefix_).value(), 2);
    EXPECT_EQ(client_->get(prefix_.substr(0, prefix_.size() - 1) + "0")->kvs.size(), 1u);
    EXPECT_EQ(client_->del(prefix_.substr(0, prefix_.size() - 1) + "0").value(), 1);
}

TEST_F(EtcdClientTest, GetAtAnOlderRevision) {
    auto first = client_->put(key("k"), "old");
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(client_->put(key("k"), "new").ok());
    EXPECT_EQ(client_->get(key("k"))->kvs[0].value, "new");
    EXPECT_EQ(client_->get(key("k"))->kvs[0].version, 2);
    auto then = client_->get(key("k"), first.value());
    ASSERT_TRUE(then.ok());
    ASSERT_EQ(then->kvs.size(), 1u);
    EXPECT_EQ(then->kvs[0].value, "old");
    auto prefix_then = client_->get_prefix(prefix_, first.value() - 1);
    ASSERT_TRUE(prefix_then.ok());
    EXPECT_TRUE(prefix_then->kvs.empty());
}

TEST_F(EtcdClientTest, LeaseGrantPutKeepaliveRevoke) {
    auto lease = client_->lease_grant(10);
    ASSERT_TRUE(lease.ok()) << client_->last_error();
    EXPECT_NE(lease->id, 0);
    EXPECT_EQ(lease->ttl_s, 10);
    ASSERT_TRUE(client_->put(key("leased"), "v", lease->id).ok());
    EXPECT_EQ(client_->get(key("leased"))->kvs[0].lease, lease->id);

    auto ttl = client_->lease_keepalive_once(lease->id);
    ASSERT_TRUE(ttl.ok()) << client_->last_error();
    EXPECT_EQ(ttl.value(), 10);

    ASSERT_TRUE(client_->lease_revoke(lease->id).ok());
    EXPECT_TRUE(client_->get(key("leased"))->kvs.empty());  // revoking deletes its keys
    EXPECT_EQ(client_->lease_keepalive_once(lease->id).error(), EtcdStatus::kLeaseNotFound);
    EXPECT_EQ(client_->put(key("leased"), "v", lease->id).error(), EtcdStatus::kLeaseNotFound);
    EXPECT_EQ(client_->lease_revoke(lease->id).error(), EtcdStatus::kLeaseNotFound);
}

TEST_F(EtcdClientTest, TxnCreateIfAbsentAndCompareVersionAndValue) {
    auto create = [&](const std::string& v) {
        TxnRequest t;
        t.compares.push_back(Compare::mod_revision(key("k"), Compare::Op::kEqual, 0));
        t.success.push_back(TxnOp::put(key("k"), v));
        t.failure.push_back(TxnOp::get(key("k")));
        return client_->txn(t);
    };
    auto first = create("first");
    ASSERT_TRUE(first.ok()) << client_->last_error();
    EXPECT_TRUE(first->succeeded);
    EXPECT_TRUE(first->gets.empty());
    auto second = create("second");
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(second->succeeded);
    ASSERT_EQ(second->gets.size(), 1u);
    ASSERT_EQ(second->gets[0].kvs.size(), 1u);
    EXPECT_EQ(second->gets[0].kvs[0].value, "first");  // the failure branch's read

    TxnRequest by_version;
    by_version.compares.push_back(Compare::version(key("k"), Compare::Op::kEqual, 1));
    by_version.success.push_back(TxnOp::put(key("k"), "v2"));
    by_version.success.push_back(TxnOp::get(key("k")));
    auto v = client_->txn(by_version);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->succeeded);
    ASSERT_EQ(v->gets.size(), 1u);
    EXPECT_EQ(v->gets[0].kvs[0].value, "v2");
    auto again = client_->txn(by_version);  // version is 2 now
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->succeeded);

    TxnRequest by_value;
    by_value.compares.push_back(Compare::value_is(key("k"), Compare::Op::kEqual, "v2"));
    by_value.compares.push_back(Compare::mod_revision(key("absent"), Compare::Op::kEqual, 0));
    by_value.success.push_back(TxnOp::del(prefix_, TxnOp::Range::kPrefix));
    auto del = client_->txn(by_value);
    ASSERT_TRUE(del.ok());
    EXPECT_TRUE(del->succeeded);
    EXPECT_TRUE(client_->get_prefix(prefix_)->kvs.empty());

    // etcd fails a VALUE compare on an absent key, whatever the operator.
    TxnRequest absent;
    absent.compares.push_back(Compare::value_is(key("k"), Compare::Op::kNotEqual, "zz"));
    auto a = client_->txn(absent);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(a->succeeded);
}

TEST_F(EtcdClientTest, WatchDeliversPrefixEventsThroughTheEventfd) {
    auto start = client_->put(key("before"), "0");
    ASSERT_TRUE(start.ok());
    // From the revision of "before": its put is history the watch replays.
    auto watch = client_->watch_prefix(prefix_, start.value(), 7);
    ASSERT_TRUE(watch->reports().valid());
    ASSERT_TRUE(client_->put(key("a"), "1").ok());
    ASSERT_TRUE(client_->put(prefix_.substr(0, prefix_.size() - 1) + "0", "outside").ok());
    ASSERT_TRUE(client_->del(key("before")).ok());

    std::vector<WatchEvent> events;
    bool connected = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (events.size() < 3 && std::chrono::steady_clock::now() < until) {
        if (!readable(watch->reports().fd(), 200)) continue;
        for (auto& r : watch->reports().drain()) {
            EXPECT_EQ(r.tag, 7u);
            if (r.kind == WatchReport::Kind::kConnected) connected = true;
            for (auto& e : r.events)
                events.push_back(e);
        }
    }
    EXPECT_TRUE(connected);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].type, WatchEvent::Type::kPut);
    EXPECT_EQ(events[0].kv.key, key("before"));
    EXPECT_EQ(events[0].kv.mod_revision, start.value());
    EXPECT_EQ(events[1].kv.key, key("a"));
    EXPECT_EQ(events[1].kv.value, "1");
    EXPECT_EQ(events[2].type, WatchEvent::Type::kDelete);
    EXPECT_EQ(events[2].kv.key, key("before"));
    EXPECT_GT(events[2].kv.mod_revision, events[1].kv.mod_revision);
    ASSERT_TRUE(client_->del(prefix_.substr(0, prefix_.size() - 1) + "0").ok());
}

TEST_F(EtcdClientTest, KeeperHoldsALeaseUntilDestroyed) {
    auto lease = client_->lease_grant(2);
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(client_->put(key("held"), "v", lease->id).ok());
    int ok_reports = 0;
    {
        auto keeper = client_->keep_alive(lease->id, std::chrono::milliseconds(500));
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(4500);
        int64_t last_sent = 0;
        while (std::chrono::steady_clock::now() < until) {
            if (!readable(keeper->reports().fd(), 100)) continue;
            for (auto& r : keeper->reports().drain()) {
                EXPECT_TRUE(r.ok) << etcd_status_name(r.error);
                EXPECT_EQ(r.lease, lease->id);
                EXPECT_EQ(r.ttl_s, 2);
                EXPECT_GT(r.sent_ms, last_sent);
                EXPECT_LE(r.sent_ms, mono_now_ms());
                last_sent = r.sent_ms;
                ++ok_reports;
            }
        }
        // 4.5 s is past twice the TTL: only the renewals kept the key.
        EXPECT_EQ(client_->get(key("held"))->kvs.size(), 1u);
    }
    EXPECT_GE(ok_reports, 7);
    // Unrenewed, the lease lapses within its TTL (etcd checks every 500 ms).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (!client_->get(key("held"))->kvs.empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(client_->get(key("held"))->kvs.empty());
    EXPECT_EQ(client_->lease_keepalive_once(lease->id).error(), EtcdStatus::kLeaseNotFound);
}

TEST_F(EtcdClientTest, KeeperReportsALeaseThatIsGoneAndStops) {
    auto lease = client_->lease_grant(5);
    ASSERT_TRUE(lease.ok());
    auto keeper = client_->keep_alive(lease->id, std::chrono::milliseconds(200));
    ASSERT_TRUE(readable(keeper->reports().fd(), 2000));
    ASSERT_TRUE(client_->lease_revoke(lease->id).ok());
    bool gone = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!gone && std::chrono::steady_clock::now() < until) {
        if (!readable(keeper->reports().fd(), 100)) continue;
        for (auto& r : keeper->reports().drain()) {
            gone = gone || (!r.ok && r.error == EtcdStatus::kLeaseNotFound);
        }
    }
    EXPECT_TRUE(gone);
    // Stopped: no more rounds after the one that found the lease gone.
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_TRUE(keeper->reports().drain().empty());
}

TEST(EtcdClientDown, CallsFailWithinTheirDeadlineWhenNoEtcdAnswers) {
    ASSERT_FALSE(dead_endpoint().empty()) << "FULMAR_ETCD_DEAD_ENDPOINT is not set";
    auto c = EtcdClient::create(EtcdOptions{{dead_endpoint()}, std::chrono::milliseconds(300)});
    ASSERT_TRUE(c.ok());
    auto& client = *c.value();
    auto t0 = std::chrono::steady_clock::now();
    auto put = client.put("/k", "v");
    ASSERT_FALSE(put.ok());
    EXPECT_TRUE(put.error() == EtcdStatus::kUnavailable || put.error() == EtcdStatus::kDeadline)
        << etcd_status_name(put.error());
    EXPECT_FALSE(client.get("/k").ok());
    EXPECT_FALSE(client.lease_grant(5).ok());
    EXPECT_FALSE(client.lease_keepalive_once(1).ok());
    EXPECT_FALSE(client.txn(TxnRequest{}).ok());
    auto spent = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(spent, std::chrono::milliseconds(5 * 300 + 500));

    // A watch waits for a connection (it never had a stream to break):
    // no report, and destroying it cancels the wait at once.
    auto watch = client.watch_prefix("/", 0);
    EXPECT_FALSE(readable(watch->reports().fd(), 1500));
    auto t1 = std::chrono::steady_clock::now();
    watch.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(500));

    // So does a keeper, each round bounded by the call timeout.
    auto keeper = client.keep_alive(1, std::chrono::milliseconds(200));
    ASSERT_TRUE(readable(keeper->reports().fd(), 2000));
    auto rounds = keeper->reports().drain();
    ASSERT_FALSE(rounds.empty());
    EXPECT_FALSE(rounds[0].ok);
    EXPECT_EQ(rounds[0].error, EtcdStatus::kDeadline) << etcd_status_name(rounds[0].error);
    auto t2 = std::chrono::steady_clock::now();
    keeper.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t2, std::chrono::milliseconds(500));
}

TEST(EtcdClientEndpoints, ADeadMemberInTheListIsSkipped) {
    ASSERT_FALSE(endpoint().empty());
    ASSERT_FALSE(dead_endpoint().empty());
    auto c = EtcdClient::create(
        EtcdOptions{{dead_endpoint(), endpoint()}, std::chrono::milliseconds(2000)});
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 6; ++i) {  // round robin: every call would meet the dead one
        auto put = c.value()->put("/fulmar-test/endpoints", std::to_string(i));
        ASSERT_TRUE(put.ok()) << i << ": " << c.value()->last_error();
    }
    EXPECT_EQ(c.value()->get("/fulmar-test/endpoints")->kvs[0].value, "5");
    EXPECT_EQ(c.value()->del("/fulmar-test/endpoints").value(), 1);
}

}  // namespace
}  // namespace fulmar::cluster
