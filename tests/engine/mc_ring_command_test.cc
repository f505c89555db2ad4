// The memcached `ring` command: the ring this node serves, read from the
// dataplane's shared memory, in the form libfulmar's seeded mode parses
// (RING <epoch>, one NODE line per member in ring order, END).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/ring_guard.h"
#include "engine/route.h"
#include "resp_fixture.h"
#include "ring/ring_doc.h"

namespace fulmar::engine {
namespace {

class RingCommand : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        dp_ = std::make_unique<shm::DataplaneShm>();
        ctx_.shared = dp_.get();
    }

    void publish(const ring::RingDoc& d, uint32_t slot) {
        auto k = ring::build_ring(d);
        ASSERT_TRUE(k);
        ASSERT_EQ(fill_ring_slot(d, k.value(), "alpha", 6379, dp_->ring.slots[slot]), "");
        dp_->ring.current.store(slot + 1);
    }

    std::unique_ptr<shm::DataplaneShm> dp_;
};

TEST_F(RingCommand, WithoutARingItIsEpochZeroAndNoMember) {
    EXPECT_EQ(mc("ring\r\n"), "RING 0\r\nEND\r\n");
    ctx_.shared = nullptr;  // an engine without a dataplane (tools, tests)
    EXPECT_EQ(mc("ring\r\n"), "RING 0\r\nEND\r\n");
}

TEST_F(RingCommand, ListsTheMembersInRingOrderWithWeightAndName) {
    auto d = ring::parse_ring_doc(
        "epoch 7\n198.18.150.11:11211:1 alpha\n198.18.150.12:11300:3 beta\n"
        "[fd00::5]:11211:2 gamma\n");
    ASSERT_TRUE(d) << d.error();
    publish(d.value(), 2);
    const std::string reply = mc("ring\r\n");
    EXPECT_EQ(reply,
              "RING 7\r\nNODE 198.18.150.11:11211:1 alpha\r\nNODE 198.18.150.12:11300:3 "
              "beta\r\nNODE [fd00::5]:11211:2 gamma\r\nEND\r\n");
    // The NODE lines are ring document lines: they parse back to the same ring.
    std::string doc = "epoch 7\n";
    size_t at = reply.find("NODE ");
    while (at != std::string::npos) {
        const size_t end = reply.find("\r\n", at);
        doc += reply.substr(at + 5, end - at - 5) + "\n";
        at = reply.find("NODE ", end);
    }
    auto back = ring::parse_ring_doc(doc);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), d.value());
}

TEST_F(RingCommand, FollowsTheCurrentSlot) {
    auto a = ring::parse_ring_doc("epoch 1\n198.18.150.11:11211:1 alpha\n");
    auto b =
        ring::parse_ring_doc("epoch 2\n198.18.150.11:11211:1 alpha\n198.18.150.12:11211:1 beta\n");
    ASSERT_TRUE(a && b);
    publish(a.value(), 0);
    EXPECT_EQ(mc("ring\r\n"), "RING 1\r\nNODE 198.18.150.11:11211:1 alpha\r\nEND\r\n");
    publish(b.value(), 1);
    EXPECT_EQ(mc("ring\r\n"),
              "RING 2\r\nNODE 198.18.150.11:11211:1 alpha\r\nNODE 198.18.150.12:11211:1 "
              "beta\r\nEND\r\n");
    dp_->ring.current.store(0);
    EXPECT_EQ(mc("ring\r\n"), "RING 0\r\nEND\r\n");
}

TEST_F(RingCommand, TakesNoArgumentsAndPipelines) {
    EXPECT_EQ(mc("ring extra\r\n"), "ERROR\r\n");
    EXPECT_EQ(mc("ring\r\nversion\r\n").substr(0, 21), "RING 0\r\nEND\r\nVERSION ");
}

TEST(RingCommandRoute, RunsWhereTheDatagramArrivesOverUdp) {
    // A read of shared memory: any worker answers it, admin over UDP or not.
    ParsedRequest parsed;
    const Route r = route_datagram("ring\r\n", RoutePolicy{.n_shards = 4}, parsed);
    EXPECT_EQ(r.kind, RouteKind::kLocal);
    EXPECT_TRUE(parsed.valid);
    EXPECT_EQ(parsed.request.command, proto::McTextCommand::kRing);
}

}  // namespace
}  // namespace fulmar::engine
