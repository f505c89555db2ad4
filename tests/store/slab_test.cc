#include "store/slab.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace fulmar::store {
namespace {

struct SlabFixture : ::testing::Test {
    std::vector<std::byte> mem = std::vector<std::byte>(4 * kPageSize + kPageSize);
    std::span<std::byte> aligned() {
        auto p = reinterpret_cast<uintptr_t>(mem.data());
        auto a = (p + kPageSize - 1) & ~(uintptr_t{kPageSize} - 1);
        return {reinterpret_cast<std::byte*>(a), 4 * kPageSize};
    }
    // The shard keeps this in shared memory; here a plain aligned buffer.
    std::vector<shm::ShardMeta> meta_mem =
        std::vector<shm::ShardMeta>(shm::ShardMeta::bytes_for(4) / sizeof(shm::ShardMeta) + 1);
    shm::ShardMeta& meta() { return meta_mem[0]; }
};

TEST_F(SlabFixture, ClassesGrowByAQuarterFrom64BytesToOnePage) {
    Slab s(aligned(), meta());
    EXPECT_EQ(s.cls(0).chunk_size, 64u);
    EXPECT_EQ(s.cls(1).chunk_size, 80u);
    for (size_t i = 1; i < s.n_classes(); ++i) {
        EXPECT_GT(s.cls(i).chunk_size, s.cls(i - 1).chunk_size);
        EXPECT_EQ(s.cls(i).chunk_size % 8, 0u);
    }
    EXPECT_EQ(s.cls(static_cast<uint8_t>(s.n_classes() - 1)).chunk_size, kPageSize);
}

TEST_F(SlabFixture, A16ByteKeyWith32ByteValueFitsThe80ByteClass) {
    Slab s(aligned(), meta());
    EXPECT_EQ(s.cls(s.class_for(item_total_size(16, 32))).chunk_size, 80u);
    EXPECT_EQ(s.class_for(kPageSize + 1), kNoClass);
    EXPECT_EQ(s.cls(s.class_for(kPageSize)).chunk_size, kPageSize);
    EXPECT_EQ(s.class_for(1), 0);
}

// Every size up to 8 KiB (the table's range and past it): the smallest class
// that holds it.
TEST_F(SlabFixture, ClassForIsTheSmallestClassThatFits) {
    Slab s(aligned(), meta());
    for (size_t total = 0; total <= 8192; ++total) {
        uint8_t want = 0;
        while (s.cls(want).chunk_size < total)
            ++want;
        ASSERT_EQ(s.class_for(total), want) << total;
    }
}

TEST_F(SlabFixture, AllocatesEveryChunkOnceThenRunsOut) {
    Slab s(aligned(), meta());
    const uint8_t big = s.class_for(kPageSize);
    std::set<Item*> seen;
    for (int i = 0; i < 4; ++i) {
        Item* it = s.alloc(big);
        ASSERT_NE(it, nullptr);
        EXPECT_TRUE(seen.insert(it).second);
        it->type_bits = 1;
    }
    EXPECT_EQ(s.alloc(big), nullptr);
    EXPECT_EQ(s.alloc(0), nullptr);  // no page left for another class
    s.free(*seen.begin());
    EXPECT_EQ(s.alloc(big), *seen.begin());
}

TEST_F(SlabFixture, FreeChangesTheVersionSoReadersNotice) {
    Slab s(aligned(), meta());
    Item* it = s.alloc(0);
    const uint32_t v = it->version.load();
    EXPECT_EQ(v % 2, 0u);
    s.free(it);
    EXPECT_NE(it->version.load(), v);
    EXPECT_EQ(it->version.load() % 2, 0u);
}

TEST_F(SlabFixture, DetachedPageLeavesItsClassAndJoinsAnother) {
    Slab s(aligned(), meta());
    Item* a = s.alloc(0);
    const uint32_t page = s.page_of(a);
    s.free(a);
    EXPECT_EQ(s.cls(0).n_pages, 1u);
    s.detach_page(page);
    EXPECT_EQ(s.cls(0).n_pages, 0u);
    EXPECT_EQ(s.cls(0).n_free, 0u);
    EXPECT_EQ(s.chunk_size_of(a), 0u);
    s.attach_page(page, 3);
    EXPECT_EQ(s.cls(3).n_pages, 1u);
    EXPECT_EQ(s.chunk_size_of(a), s.cls(3).chunk_size);
}

}  // namespace
}  // namespace fulmar::store
