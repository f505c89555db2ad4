// A fresh shard per test, on anonymous memory, no concurrent readers.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "common/clock.h"
#include "store/shard.h"

namespace fulmar::store::testing {

inline std::string unique_shard_name() {
    static std::atomic<int> n{0};
    return "t" + std::to_string(n++);
}

inline std::unique_ptr<Shard> make_shard(size_t memory, uint32_t index_entries = 0,
                                         rte_rcu_qsbr* rcu = nullptr) {
    ShardConfig cfg;
    cfg.name = unique_shard_name();
    cfg.memory_bytes = memory;
    cfg.index_entries = index_entries;
    cfg.rcu = rcu;
    auto s = Shard::create(cfg);
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(s.value()) : nullptr;
}

}  // namespace fulmar::store::testing
