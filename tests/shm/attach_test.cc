// The shared-memory layout seen from a reader: zones created as the primary
// creates them are found by name, checked, and read through ShardViews
// exactly as the owner's own reads (in one process here; the cross-process
// proof is tests/integration/shm_secondary_test.py).
#include <rte_memzone.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "engine/engine_ctx.h"
#include "store/dataplane_zone.h"
#include "store/digest.h"
#include "store/shard.h"

namespace fulmar::store {
namespace {

struct Primary {
    DataplaneZones zones;
    std::vector<std::unique_ptr<Shard>> shards;
};

std::unique_ptr<Primary> make_primary(uint32_t n) {
    auto p = std::make_unique<Primary>();
    auto z = DataplaneZones::create(n, SOCKET_ID_ANY, 1000);
    EXPECT_TRUE(z.ok()) << (z.ok() ? "" : z.error());
    if (!z.ok()) return nullptr;
    p->zones = std::move(z.value());
    for (uint32_t i = 0; i < n; ++i) {
        ShardConfig sc;
        sc.name = shm::shard_name(i);
        sc.memory_bytes = 4 << 20;
        sc.memory = MemoryKind::kMemzone;
        sc.rcu = p->zones.rcu();
        sc.owner_thread_id = i;
        auto s = Shard::create(sc);
        EXPECT_TRUE(s.ok());
        if (!s.ok()) return nullptr;
        p->shards.push_back(std::move(s.value()));
    }
    return p;
}

TEST(DataplaneAttach, FindsEveryShardByNameAndReadsItsItems) {
    auto p = make_primary(2);
    ASSERT_NE(p, nullptr);
    const uint64_t seed = digest_seed();
    std::vector<std::string> keys;
    for (int i = 0; i < 200; ++i) {
        keys.push_back("attach-key-" + std::to_string(i));
        const KeyRef k(keys.back());
        Shard& s = *p->shards[engine::shard_index(k.digest, 2)];
        ASSERT_EQ(s.store(StoreMode::kSet, k, "v" + std::to_string(i), {.flags = 7}, 1000),
                  StoreStatus::kStored);
    }
    set_digest_seed(seed + 1);  // attach must restore the primary's seed
    auto a = attach_dataplane();
    ASSERT_TRUE(a.ok()) << a.error();
    EXPECT_EQ(digest_seed(), seed);
    ASSERT_EQ(a.value().shards.size(), 2u);
    EXPECT_EQ(a.value().first_reader_thread_id(), 2u);
    EXPECT_EQ(a.value().shm->n_workers, 2u);
    std::vector<char> buf(64);
    int hits_per_shard[2] = {0, 0};
    for (int i = 0; i < 200; ++i) {
        const KeyRef k(keys[i]);
        ItemMeta meta;
        const size_t s = engine::shard_index(k.digest, 2);
        ASSERT_EQ(a.value().shards[s].read(k, 1000, buf, meta), ReadStatus::kHit) << keys[i];
        EXPECT_EQ(std::string_view(buf.data(), meta.value_len), "v" + std::to_string(i));
        EXPECT_EQ(meta.flags, 7u);
        ++hits_per_shard[s];
        // The other shard does not hold it.
        EXPECT_EQ(a.value().shards[1 - s].read(k, 1000, buf, meta), ReadStatus::kMiss);
    }
    EXPECT_GT(hits_per_shard[0], 0);
    EXPECT_GT(hits_per_shard[1], 0);
    // Counters and flush horizons are read from the same shared meta.
    EXPECT_EQ(a.value().shards[0].stats().sets + a.value().shards[1].stats().sets, 200u);
    p->shards[0]->flush_all(0, 1001);
    for (int i = 0; i < 200; ++i) {
        const KeyRef k(keys[i]);
        ItemMeta meta;
        if (engine::shard_index(k.digest, 2) == 0) {
            EXPECT_EQ(a.value().shards[0].read(k, 1001, buf, meta), ReadStatus::kMiss);
        }
    }
}

TEST(DataplaneAttach, WithoutAPrimaryExplainsWhy) {
    auto a = attach_dataplane();
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().find("no dataplane runs with this --file-prefix"), std::string::npos)
        << a.error();
}

TEST(DataplaneAttach, RefusesAZoneOfTheWrongShape) {
    auto p = make_primary(1);
    ASSERT_NE(p, nullptr);
    auto* meta = const_cast<shm::ShardMeta*>(&p->shards[0]->view().meta());
    meta->magic = 0;
    auto a = attach_dataplane();
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().find("shard 0"), std::string::npos) << a.error();
    meta->magic = shm::kShardMagic;
    meta->layout_version = shm::kLayoutVersion + 1;
    a = attach_dataplane();
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().find("layout version"), std::string::npos) << a.error();
    meta->layout_version = shm::kLayoutVersion;
    EXPECT_TRUE(attach_dataplane().ok());
}

TEST(DataplaneZones, RefuseMoreWorkersThanTheLayoutHolds) {
    auto z = DataplaneZones::create(shm::kMaxWorkers + 1, SOCKET_ID_ANY, 0);
    ASSERT_FALSE(z.ok());
    EXPECT_NE(z.error().find("workers"), std::string::npos);
}

}  // namespace
}  // namespace fulmar::store
