// Cluster mode on one node: keys of other partitions are misses (memcached
// reads), errors naming the owner (memcached writes), MOVED (RESP); at a
// flip, writes to the moving keys are refused while reads are served.
#include "engine/ring_guard.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/mc_get_batch.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

ring::RingDoc doc_of(uint64_t epoch, std::vector<std::string> names) {
    ring::RingDoc d;
    d.epoch = epoch;
    uint8_t last = 11;
    for (const std::string& n : names)
        d.members.push_back(ring::Node{n, fmt::format("198.18.150.{}", last++), 11211, 1});
    return d;
}

class RingGuard : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        dp_ = std::make_unique<shm::DataplaneShm>();
        ctx_.shared = dp_.get();
    }

    void publish(const ring::RingDoc& d, uint32_t slot, bool pending = false) {
        auto k = ring::build_ring(d);
        ASSERT_TRUE(k);
        ASSERT_EQ(fill_ring_slot(d, k.value(), "a", 6379, dp_->ring.slots[slot]), "");
        (pending ? dp_->ring.pending : dp_->ring.current).store(slot + 1);
    }

    // A key that `from` owns in `d` (and, with `to`, `to` owns in `e`).
    static std::string key_owned(const ring::RingDoc& d, std::string_view from,
                                 const ring::RingDoc* e = nullptr, std::string_view to = "") {
        const auto kd = ring::build_ring(d);
        const auto ke = e != nullptr ? ring::build_ring(*e) : ring::build_ring(d);
        for (int i = 0; i < 100000; ++i) {
            const std::string key = fmt::format("key:{}", i);
            if (d.members[kd.value().node_for(key)].name != from) continue;
            if (e != nullptr && e->members[ke.value().node_for(key)].name != to) continue;
            return key;
        }
        ADD_FAILURE() << "no key";
        return {};
    }

    std::unique_ptr<shm::DataplaneShm> dp_;
};

TEST_F(RingGuard, WithoutARingEveryKeyIsServed) {
    EXPECT_EQ(mc("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
    EXPECT_EQ(mc("get k\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
    EXPECT_EQ(ring_check(ctx_, "k", true).verdict, RingVerdict::kServe);
}

TEST_F(RingGuard, AnotherPartitionsKeyIsAMissAnErrorAndMoved) {
    const ring::RingDoc d = doc_of(3, {"a", "b", "c"});
    const std::string mine = key_owned(d, "a");
    const std::string theirs = key_owned(d, "b");
    // Stored before the ring existed: still there, but no longer served.
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nx\r\n", theirs)), "STORED\r\n");
    publish(d, 0);
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nv\r\n", mine)), "STORED\r\n");
    EXPECT_EQ(mc(fmt::format("get {} {}\r\n", theirs, mine)),
              fmt::format("VALUE {} 0 1\r\nv\r\nEND\r\n", mine));
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nv\r\n", theirs)),
              "SERVER_ERROR moved: the key belongs to partition b at 198.18.150.12:11211 (ring "
              "epoch 3)\r\n");
    EXPECT_EQ(mc(fmt::format("mg {} v\r\n", theirs)), "EN\r\n");
    EXPECT_EQ(mc(fmt::format("ms {} 1\r\nv\r\n", theirs)).substr(0, 19), "SERVER_ERROR moved:");
    const uint32_t h = ring::ketama_hash(theirs);
    EXPECT_EQ(run({"set", theirs, "v"}), fmt::format("-MOVED {} 198.18.150.12:6379\r\n", h));
    EXPECT_EQ(run({"get", theirs}), fmt::format("-MOVED {} 198.18.150.12:6379\r\n", h));
    EXPECT_EQ(run({"get", mine}), "$1\r\nv\r\n");
    // A multi-key command is served only when every key is ours.
    EXPECT_EQ(run({"del", mine, theirs}).substr(0, 6), "-MOVED");
    EXPECT_GE(dp_->ring.moved_reads.load(), 3u);
    EXPECT_GE(dp_->ring.moved_writes.load(), 3u);
}

TEST_F(RingGuard, TheDataplanesGetBatchMissesAnotherPartitionsKeys) {
    const ring::RingDoc d = doc_of(3, {"a", "b", "c"});
    const std::string mine = key_owned(d, "a");
    const std::string theirs = key_owned(d, "b");
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nx\r\n", theirs)), "STORED\r\n");
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nv\r\n", mine)), "STORED\r\n");
    publish(d, 0);
    McGetBatch batch;
    const std::string line = fmt::format("get {}\r\n", theirs);
    const std::string line2 = fmt::format("get {}\r\n", mine);
    ASSERT_EQ(batch.add_datagram(line), McGetBatch::AddResult::kAdded);
    ASSERT_EQ(batch.add_datagram(line2), McGetBatch::AddResult::kAdded);
    batch.lookup(ctx_);
    std::string out(1400, '\0');
    const size_t n = batch.write_reply(0, out.data(), out.size());
    EXPECT_EQ(out.substr(0, n), "END\r\n");
    const size_t n2 = batch.write_reply(1, out.data(), out.size());
    EXPECT_EQ(out.substr(0, n2), fmt::format("VALUE {} 0 1\r\nv\r\nEND\r\n", mine));
    EXPECT_EQ(dp_->ring.moved_reads.load(), 1u);
}

TEST_F(RingGuard, ANodeOutsideTheRingServesNothing) {
    publish(doc_of(1, {"b", "c"}), 0);
    EXPECT_EQ(mc("set k 0 0 1\r\nv\r\n").substr(0, 19), "SERVER_ERROR moved:");
    EXPECT_EQ(mc("get k\r\n"), "END\r\n");
}

TEST_F(RingGuard, AtTheFlipWritesToMovingKeysWaitAndReadsAreServed) {
    const ring::RingDoc now = doc_of(4, {"a", "b", "c"});
    const ring::RingDoc next = doc_of(5, {"a", "b", "c", "d"});
    const std::string moving = key_owned(now, "a", &next, "d");
    const std::string staying = key_owned(now, "a", &next, "a");
    publish(now, 0);
    publish(next, 1, true);
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nv\r\n", moving)), "STORED\r\n");
    dp_->ring.frozen.store(1);
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nw\r\n", moving)),
              "SERVER_ERROR moving: the key is moving to partition d (ring epoch 5); retry\r\n");
    EXPECT_EQ(run({"incr", moving}),
              "-TRYAGAIN the key is moving to partition d (ring epoch 5); retry\r\n");
    EXPECT_EQ(mc(fmt::format("get {}\r\n", moving)),
              fmt::format("VALUE {} 0 1\r\nv\r\nEND\r\n", moving));
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nv\r\n", staying)), "STORED\r\n");
    EXPECT_EQ(dp_->ring.frozen_writes.load(), 2u);
    dp_->ring.frozen.store(0);
    EXPECT_EQ(mc(fmt::format("set {} 0 0 1\r\nw\r\n", moving)), "STORED\r\n");
}

}  // namespace
}  // namespace fulmar::engine
