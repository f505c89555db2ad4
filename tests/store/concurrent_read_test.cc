// One owner thread overwrites, deletes and evicts at full speed while reader
// threads read the same keys lock-free. Every value encodes its key and a
// generation, with a body derived from both, so a torn or misdirected read
// cannot pass the check.
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "shard_fixture.h"
#include "store/exptime.h"

#ifndef FULMAR_STRESS_SECONDS
#define FULMAR_STRESS_SECONDS 3
#endif

namespace fulmar::store {
namespace {

constexpr int kKeys = 100000;
// One writer plus readers on the remaining cores (at least one): more threads
// than cores would only measure the scheduler.
const unsigned kReaders = std::max(1u, std::thread::hardware_concurrency() - 1);

constexpr int kHotKeys = 16;

std::string key_of(int i) {
    return "stress:" + std::to_string(i);
}

// Half the traffic on a few hot keys, so readers and the writer meet on the
// same chunks (the free list is LIFO: a freed chunk is reused at once); the
// other half over many keys, so eviction and page moves run all the time.
template <typename Rng>
int pick_key(Rng& rng) {
    return (rng() & 1) ? static_cast<int>(rng() % kHotKeys) : static_cast<int>(rng() % kKeys);
}

// "<key>#<gen>#" then a body whose length and bytes depend on key and gen:
// lengths from a few bytes to a few KiB, so items hop between size classes
// and pages move under the readers.
std::string value_of(const std::string& key, uint64_t gen) {
    std::string v = key + "#" + std::to_string(gen) + "#";
    uint64_t x = std::hash<std::string>{}(key) ^ (gen * 0x9e3779b97f4a7c15ull);
    const size_t len = (x % 7 == 0) ? 1500 + x % 2500 : 8 + x % 200;
    for (size_t i = 0; i < len; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v.push_back(static_cast<char>('a' + (x >> 59)));
    }
    return v;
}

bool value_is_consistent(const std::string& key, std::string_view v) {
    const std::string prefix = key + "#";
    if (v.substr(0, prefix.size()) != prefix) return false;
    const size_t hash = v.find('#', prefix.size());
    if (hash == std::string_view::npos) return false;
    const uint64_t gen = std::stoull(std::string(v.substr(prefix.size(), hash - prefix.size())));
    return v == value_of(key, gen);
}

TEST(ConcurrentReaders, NeverSeeATornOrWrongValueWhileTheOwnerWrites) {
    const size_t sz = rte_rcu_qsbr_get_memsize(kReaders);
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc(nullptr, sz, RTE_CACHE_LINE_SIZE));
    ASSERT_NE(rcu, nullptr);
    ASSERT_EQ(rte_rcu_qsbr_init(rcu, kReaders), 0);
    // 24 MiB for 100k items averaging ~600 bytes: constant eviction.
    auto shard = testing::make_shard(24 << 20, 0, rcu);
    ASSERT_NE(shard, nullptr);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0}, hits{0}, bad{0};
    std::vector<std::thread> readers;
    for (unsigned t = 0; t < kReaders; ++t) {
        readers.emplace_back([&, t] {
            rte_rcu_qsbr_thread_register(rcu, t);
            rte_rcu_qsbr_thread_online(rcu, t);
            std::mt19937 rng(t + 1);
            std::vector<char> buf(kMaxItemSize);
            uint64_t n = 0, h = 0, b = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const std::string key = key_of(pick_key(rng));
                ItemMeta m;
                const ReadStatus st = shard->read(KeyRef(key), 1'700'000'000, buf, m);
                ++n;
                if (st == ReadStatus::kHit) {
                    ++h;
                    if (!value_is_consistent(key, std::string_view(buf.data(), m.value_len))) ++b;
                }
                rte_rcu_qsbr_quiescent(rcu, t);
            }
            rte_rcu_qsbr_thread_offline(rcu, t);
            rte_rcu_qsbr_thread_unregister(rcu, t);
            reads += n;
            hits += h;
            bad += b;
        });
    }

    std::mt19937_64 rng(7);
    std::vector<uint64_t> gen(kKeys, 0);
    uint64_t writes = 0;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(FULMAR_STRESS_SECONDS);
    while (std::chrono::steady_clock::now() < deadline) {
        for (int burst = 0; burst < 100; ++burst) {
            const int i = pick_key(rng);
            const std::string key = key_of(i);
            if (rng() % 10 == 0) {
                (void)shard->remove(KeyRef(key), 1'700'000'000);
            } else {
                const std::string v = value_of(key, ++gen[i]);
                ASSERT_EQ(shard->store(StoreMode::kSet, KeyRef(key), v, {}, 1'700'000'000),
                          StoreStatus::kStored);
            }
            ++writes;
        }
    }
    stop = true;
    for (auto& r : readers)
        r.join();
    const uint64_t evictions = shard->stats().evictions;
    const uint64_t moves = shard->stats().page_moves;
    shard.reset();
    rte_free(rcu);

    std::printf(
        "stress: %llu writes, %llu reads, %llu hits, %llu bad, %llu evictions, %llu page moves\n",
        static_cast<unsigned long long>(writes), static_cast<unsigned long long>(reads.load()),
        static_cast<unsigned long long>(hits.load()), static_cast<unsigned long long>(bad.load()),
        static_cast<unsigned long long>(evictions), static_cast<unsigned long long>(moves));
    EXPECT_GT(hits.load(), 0u);
    EXPECT_EQ(bad.load(), 0u);
}

}  // namespace
}  // namespace fulmar::store
