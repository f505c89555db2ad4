// PartitionAgent on FakeEtcd with a hand-driven clock: one primary among
// several nodes, failover to the most caught-up candidate, fencing before
// the lease can lapse (checked against the fake's own lease expiry at every
// 10 ms step, for every node), no failover while etcd is down, a cut-off
// primary coming back as a replica, and a foreign epoch bump.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cluster/partition_agent.h"
#include "fake_etcd.h"

namespace fulmar::cluster {
namespace {

using testing::FakeEtcd;
using testing::FakeStore;
using Role = PartitionAgent::Role;

struct Node {
    std::string id;
    uint64_t offset = 0;
    std::unique_ptr<FakeStore> store;
    std::unique_ptr<PartitionAgent> agent;
    bool alive = true;
    std::vector<std::string> events;  // "primary 1", "replica addr-b 2", "fenced", ...
    int64_t fenced_at = -1;
};

class AgentSim : public ::testing::Test {
  protected:
    static AgentConfig config_for(const std::string& id) {
        AgentConfig c;
        c.partition = "p0";
        c.node_id = id;
        c.address = "addr-" + id;
        c.ttl = std::chrono::milliseconds(3000);
        c.fence_margin = std::chrono::milliseconds(500);
        c.settle = std::chrono::milliseconds(300);
        return c;
    }

    Node& add(const std::string& id, uint64_t offset = 0) {
        auto n = std::make_unique<Node>();
        n->id = id;
        n->offset = offset;
        n->store = std::make_unique<FakeStore>(etcd_);
        Node* raw = n.get();
        AgentCallbacks cb;
        cb.became_primary = [raw](uint64_t e) { raw->events.push_back(fmt_event("primary", e)); };
        cb.became_replica = [raw](const std::string& a, uint64_t e) {
            raw->events.push_back("replica " + a + " " + std::to_string(e));
        };
        cb.stepped_down = [raw](uint64_t e) { raw->events.push_back(fmt_event("down", e)); };
        cb.fenced = [this, raw] {
            raw->events.push_back("fenced");
            raw->fenced_at = etcd_.now_ms;
        };
        cb.unfenced = [raw] { raw->events.push_back("unfenced"); };
        cb.replication_offset = [raw] { return raw->offset; };
        EXPECT_EQ(agent_config_error(config_for(id)), "");
        n->agent = std::make_unique<PartitionAgent>(config_for(id), *n->store, std::move(cb));
        nodes_.push_back(std::move(n));
        return *raw;
    }
    static std::string fmt_event(const char* what, uint64_t e) {
        return std::string(what) + " " + std::to_string(e);
    }

    // Advances time by `ms` in 10 ms steps, checking at each step that a
    // node allowed to write holds the primary key on a lease that etcd has
    // not expired and cannot expire before the fence: the safety property.
    void run(int64_t ms) {
        for (int64_t t = 0; t < ms; t += 10) {
            etcd_.now_ms += 10;
            etcd_.expire();
            for (auto& n : nodes_) {
                if (!n->alive) continue;
                n->store->step(*n->agent);
                n->agent->tick(etcd_.now_ms);
            }
            check_fencing();
        }
    }
    void check_fencing() {
        int writers = 0;
        for (auto& n : nodes_) {
            if (!n->alive || !n->agent->may_write(etcd_.now_ms)) continue;
            ++writers;
            const KeyValue* p = etcd_.find("/fulmar/partitions/p0/primary");
            ASSERT_NE(p, nullptr) << n->id << " may write with no primary key";
            ASSERT_EQ(p->lease, n->agent->lease()) << n->id << " writes on a key not its own";
            auto lease = etcd_.leases.find(n->agent->lease());
            ASSERT_NE(lease, etcd_.leases.end());
            ASSERT_LE(n->agent->fence_deadline_ms() + 500, lease->second.expiry_ms)
                << n->id << "'s fence is not margin ahead of its lease's expiry";
        }
        ASSERT_LE(writers, 1);
    }
    int64_t run_until(const std::function<bool()>& done, int64_t limit_ms) {
        int64_t spent = 0;
        while (!done() && spent < limit_ms) {
            run(10);
            spent += 10;
        }
        return spent;
    }
    std::vector<Node*> primaries() {
        std::vector<Node*> out;
        for (auto& n : nodes_) {
            if (n->alive && n->agent->role() == Role::kPrimary) out.push_back(n.get());
        }
        return out;
    }
    std::string value(const std::string& key) {
        const KeyValue* kv = etcd_.find(key);
        return kv != nullptr ? kv->value : "(absent)";
    }
    void kill(Node& n) {
        n.alive = false;  // its keeper stops with it: the lease lapses unrenewed
    }

    FakeEtcd etcd_;
    std::vector<std::unique_ptr<Node>> nodes_;
};

TEST(AgentConfigError, RejectsUnusableSettings) {
    AgentConfig c;
    c.partition = "p";
    c.node_id = "n";
    c.address = "10.0.0.1:7000";
    EXPECT_EQ(agent_config_error(c), "");
    auto bad = c;
    bad.node_id = "a/b";
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.node_id = "a b";
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.partition = "";
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.address = "";
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.ttl = std::chrono::milliseconds(500);
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.fence_margin = std::chrono::milliseconds(2000);  // 2/3 of 3 s
    EXPECT_NE(agent_config_error(bad), "");
    bad = c;
    bad.root = "/x";
    EXPECT_NE(agent_config_error(bad), "");
}

TEST_F(AgentSim, ALoneNodeBecomesPrimaryAtEpochOne) {
    Node& a = add("a");
    run(1000);
    EXPECT_EQ(a.agent->role(), Role::kPrimary);
    EXPECT_EQ(a.agent->epoch(), 1u);
    EXPECT_TRUE(a.agent->may_write(etcd_.now_ms));
    EXPECT_EQ(value("/fulmar/partitions/p0/epoch"), "1");
    EXPECT_EQ(value("/fulmar/partitions/p0/primary"), "1 a addr-a");
    EXPECT_EQ(etcd_.find("/fulmar/partitions/p0/primary")->lease, a.agent->lease());
    EXPECT_EQ(etcd_.find("/fulmar/partitions/p0/candidates/a"), nullptr);  // withdrawn
    EXPECT_EQ(a.events, (std::vector<std::string>{"primary 1", "unfenced"}));
    // Renewals keep it primary and writable far past the TTL.
    run(20'000);
    EXPECT_TRUE(a.agent->may_write(etcd_.now_ms));
    EXPECT_EQ(a.events.size(), 2u);
}

TEST_F(AgentSim, ThreeNodesElectExactlyOnePrimaryTheOthersFollowIt) {
    add("a", 5);
    add("b", 5);
    add("c", 5);
    run(2000);
    auto p = primaries();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0]->id, "a");  // equal offsets: the smallest node id
    for (auto& n : nodes_) {
        if (n.get() == p[0]) continue;
        EXPECT_EQ(n->agent->role(), Role::kReplica);
        EXPECT_EQ(n->events, (std::vector<std::string>{"replica addr-a 1"}));
        EXPECT_FALSE(n->agent->may_write(etcd_.now_ms));
    }
}

TEST_F(AgentSim, TheMostCaughtUpCandidateWinsAtStart) {
    add("a", 10);
    Node& b = add("b", 30);
    add("c", 20);
    run(2000);
    auto p = primaries();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], &b);
}

TEST_F(AgentSim, FailoverToTheMostCaughtUpWithinTtlPlusASecond) {
    Node& a = add("a", 100);
    Node& b = add("b", 0);
    Node& c = add("c", 0);
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    // Replication ran: c is ahead of b.
    b.offset = 70;
    c.offset = 90;
    kill(a);
    int64_t took = run_until([&] { return !primaries().empty(); }, 10'000);
    EXPECT_LE(took, 3000 + 1000);
    auto p = primaries();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], &c);
    EXPECT_EQ(c.agent->epoch(), 2u);
    EXPECT_EQ(value("/fulmar/partitions/p0/epoch"), "2");
    run(1000);
    EXPECT_EQ(b.agent->role(), Role::kReplica);
    EXPECT_EQ(b.events.back(), "replica addr-c 2");
    EXPECT_EQ(c.events, (std::vector<std::string>{"replica addr-a 1", "primary 2", "unfenced"}));
    // The loser withdrew its candidate key; the winner's went in its Txn.
    EXPECT_EQ(etcd_.find("/fulmar/partitions/p0/candidates/b"), nullptr);
    EXPECT_EQ(etcd_.find("/fulmar/partitions/p0/candidates/c"), nullptr);
}

TEST_F(AgentSim, ACandidateThatDiesLetsTheNextBestWin) {
    Node& a = add("a", 0);
    Node& b = add("b", 0);
    Node& c = add("c", 0);
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    b.offset = 50;
    c.offset = 80;
    kill(a);
    // c publishes its candidacy and then dies before its Txn.
    run_until([&] { return etcd_.find("/fulmar/partitions/p0/candidates/c") != nullptr; }, 5000);
    kill(c);
    int64_t took = run_until([&] { return !primaries().empty(); }, 10'000);
    EXPECT_LE(took, 3000 + 1000);  // c's lease lapses, then b is the best
    EXPECT_EQ(b.agent->role(), Role::kPrimary);
    EXPECT_EQ(b.agent->epoch(), 2u);
}

TEST_F(AgentSim, EtcdDownThePrimaryFencesInTimeAndNobodyTakesOver) {
    Node& a = add("a");
    Node& b = add("b");
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    int64_t lease_expiry = etcd_.leases.at(a.agent->lease()).expiry_ms;
    int64_t down_at = etcd_.now_ms;
    etcd_.up = false;
    run(10'000);
    // Fenced no later than margin before the lease could have lapsed
    // (check_fencing proved the same at each step).
    ASSERT_GE(a.fenced_at, 0);
    EXPECT_LE(a.fenced_at, lease_expiry - 500);
    EXPECT_LE(a.fenced_at - down_at, 3000);
    EXPECT_FALSE(a.agent->may_write(etcd_.now_ms));
    EXPECT_EQ(a.agent->role(), Role::kPrimary);  // still primary, just fenced
    EXPECT_EQ(b.agent->role(), Role::kReplica);  // no failover without etcd
    EXPECT_EQ(b.events, (std::vector<std::string>{"replica addr-a 1"}));

    etcd_.restart();  // same data: the leases get their TTL afresh
    int64_t took = run_until([&] { return a.agent->may_write(etcd_.now_ms); }, 5000);
    EXPECT_LE(took, 1100);  // the next renewal (every TTL/3) unfences
    EXPECT_EQ(a.agent->epoch(), 1u);
    EXPECT_EQ(a.events, (std::vector<std::string>{"primary 1", "unfenced", "fenced", "unfenced"}));
    run(5000);
    EXPECT_EQ(b.agent->role(), Role::kReplica);
    EXPECT_EQ(primaries().size(), 1u);
}

TEST_F(AgentSim, ACutOffPrimaryFencesAndComesBackAsAReplica) {
    Node& a = add("a");
    Node& b = add("b");
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    a.store->reachable = false;  // etcd is up for b, gone for a
    int64_t took = run_until([&] { return b.agent->role() == Role::kPrimary; }, 10'000);
    EXPECT_LE(took, 3000 + 1000);
    EXPECT_EQ(b.agent->epoch(), 2u);
    ASSERT_GE(a.fenced_at, 0);
    EXPECT_FALSE(a.agent->may_write(etcd_.now_ms));
    a.store->reachable = true;
    run(3000);
    EXPECT_EQ(a.agent->role(), Role::kReplica);
    EXPECT_EQ(a.agent->epoch(), 2u);
    ASSERT_GE(a.events.size(), 4u);
    EXPECT_EQ(a.events[2], "fenced");
    EXPECT_EQ(a.events[3], "down 1");
    EXPECT_EQ(a.events.back(), "replica addr-b 2");
    EXPECT_EQ(primaries().size(), 1u);
}

TEST_F(AgentSim, APrimarySeeingAHigherEpochStepsDownAndAFreshElectionFollows) {
    Node& a = add("a");
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    // An operator (or a bug elsewhere) moves the epoch on.
    ++etcd_.revision;
    etcd_.write("/fulmar/partitions/p0/epoch", "7", 0);
    run(50);
    EXPECT_NE(a.agent->role(), Role::kPrimary);
    EXPECT_FALSE(a.agent->may_write(etcd_.now_ms));
    run(2000);
    EXPECT_EQ(a.agent->role(), Role::kPrimary);
    EXPECT_EQ(a.agent->epoch(), 8u);
    EXPECT_EQ(a.events, (std::vector<std::string>{"primary 1", "unfenced", "fenced", "down 1",
                                                  "primary 8", "unfenced"}));
}

TEST_F(AgentSim, ACompactedWatchMakesTheAgentReadAndWatchAgain) {
    Node& a = add("a");
    Node& b = add("b");
    run(2000);
    ASSERT_EQ(b.agent->role(), Role::kReplica);
    ASSERT_EQ(b.store->watches, 1);
    WatchReport compacted;
    compacted.kind = WatchReport::Kind::kCompacted;
    compacted.error = EtcdStatus::kCompacted;
    b.agent->on_watch(compacted, etcd_.now_ms);
    run(100);
    EXPECT_EQ(b.store->watches, 2);
    EXPECT_EQ(b.agent->role(), Role::kReplica);
    kill(a);  // the new watch must carry the primary key's deletion
    int64_t took = run_until([&] { return b.agent->role() == Role::kPrimary; }, 10'000);
    EXPECT_LE(took, 3000 + 1000);
}

TEST_F(AgentSim, AMalformedEpochStopsElections) {
    ++etcd_.revision;
    etcd_.write("/fulmar/partitions/p0/epoch", "seven", 0);
    Node& a = add("a");
    run(3000);
    EXPECT_EQ(a.agent->role(), Role::kCandidate);
    EXPECT_EQ(etcd_.find("/fulmar/partitions/p0/primary"), nullptr);
}

TEST_F(AgentSim, ARestartedNodeWaitsForItsOldPrimaryKeyToLapse) {
    Node& a = add("a");
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    kill(a);
    Node& a2 = add("a");  // the same node id, a new process and lease
    run(1000);
    EXPECT_EQ(a2.agent->role(), Role::kCandidate);  // its old key still stands
    EXPECT_TRUE(a2.events.empty());
    int64_t took = run_until([&] { return a2.agent->role() == Role::kPrimary; }, 10'000);
    EXPECT_LE(took, 3000 + 1000);
    EXPECT_EQ(a2.agent->epoch(), 2u);
}

TEST_F(AgentSim, EtcdDownAtStartDelaysButDoesNotBreakTheFirstElection) {
    etcd_.up = false;
    Node& a = add("a");
    run(5000);
    EXPECT_EQ(a.agent->role(), Role::kStarting);
    EXPECT_FALSE(a.agent->may_write(etcd_.now_ms));
    etcd_.restart();
    run(3000);
    EXPECT_EQ(a.agent->role(), Role::kPrimary);
    EXPECT_EQ(a.agent->epoch(), 1u);
}

}  // namespace
}  // namespace fulmar::cluster

namespace fulmar::cluster {
namespace {

TEST_F(AgentSim, AResigningPrimaryHandsOverAndStaysOutForItsHold) {
    Node& a = add("a", 50);
    Node& b = add("b", 50);
    Node& c = add("c", 50);
    run(2000);
    ASSERT_EQ(a.agent->role(), Role::kPrimary);
    EXPECT_FALSE(b.agent->resign(etcd_.now_ms, 5000));  // only a primary resigns
    ASSERT_TRUE(a.agent->resign(etcd_.now_ms, 5000));
    EXPECT_FALSE(a.agent->may_write(etcd_.now_ms));
    int64_t took = run_until([&] { return !primaries().empty() && primaries()[0] != &a; }, 5000);
    EXPECT_LE(took, 1500) << "a handover needs no lease to lapse";
    auto p = primaries();
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], &b);  // equal offsets: the smallest id among the others
    EXPECT_EQ(b.agent->epoch(), 2u);
    run(1000);
    EXPECT_EQ(a.agent->role(), Role::kReplica);
    EXPECT_EQ(a.events.back(), "replica addr-b 2");
    EXPECT_EQ(c.agent->role(), Role::kReplica);
}

}  // namespace
}  // namespace fulmar::cluster
