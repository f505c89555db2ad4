// Reassembly by (id, seq, total): any arrival order, duplicates, bad
// sequence numbers, short middle datagrams, pool exhaustion.
#include "reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "zipf.h"

namespace fulmar::pktgen {
namespace {

std::string text(size_t n, uint64_t seed) {
    Rng r(seed);
    std::string s(n, '\0');
    for (char& c : s)
        c = static_cast<char>('a' + r.below(26));
    return s;
}

// Cuts `s` into datagrams of `size` bytes, memcached's way.
std::vector<std::string> cut(const std::string& s, size_t size) {
    std::vector<std::string> out;
    for (size_t off = 0; off < s.size(); off += size)
        out.push_back(s.substr(off, size));
    return out;
}

TEST(Reassembler, AnyArrivalOrderGivesTheReplyBack) {
    Reassembler r(4, 8, 100);
    const std::string reply = text(650, 1);
    std::vector<std::string> parts = cut(reply, 100);  // 7 datagrams
    Rng rng(2);
    for (int round = 0; round < 20; round++) {
        std::vector<uint16_t> order(parts.size());
        for (uint16_t i = 0; i < order.size(); i++)
            order[i] = i;
        for (size_t i = order.size(); i > 1; i--)
            std::swap(order[i - 1], order[rng.below(i)]);
        const uint16_t c = r.acquire(7);
        ASSERT_NE(c, Reassembler::kNone);
        for (size_t i = 0; i < order.size(); i++) {
            const AddResult a = r.add(c, order[i], 7, parts[order[i]]);
            ASSERT_EQ(a, i + 1 == order.size() ? AddResult::kComplete : AddResult::kMore);
        }
        EXPECT_EQ(r.bytes(c), reply);
        r.release(c);
    }
    EXPECT_EQ(r.n_free(), 4u);
}

TEST(Reassembler, DuplicatesAreIgnoredAndContradictionsRejected) {
    Reassembler r(1, 4, 10);
    const uint16_t c = r.acquire(3);
    EXPECT_EQ(r.add(c, 0, 3, "0123456789"), AddResult::kMore);
    EXPECT_EQ(r.add(c, 0, 3, "0123456789"), AddResult::kDuplicate);
    EXPECT_EQ(r.add(c, 3, 3, "x"), AddResult::kBad);            // seq >= total
    EXPECT_EQ(r.add(c, 1, 4, "x"), AddResult::kBad);            // total changed
    EXPECT_EQ(r.add(c, 1, 3, "01234567890"), AddResult::kBad);  // over the payload size
    EXPECT_EQ(r.add(c, 2, 3, "end"), AddResult::kMore);
    EXPECT_EQ(r.add(c, 1, 3, "abcdefghij"), AddResult::kComplete);
    EXPECT_EQ(r.bytes(c), "0123456789abcdefghijend");
}

TEST(Reassembler, ShortMiddleDatagramsAreClosedUp) {
    Reassembler r(1, 4, 10);
    const uint16_t c = r.acquire(3);
    EXPECT_EQ(r.add(c, 2, 3, "ccc"), AddResult::kMore);
    EXPECT_EQ(r.add(c, 0, 3, "aaaa"), AddResult::kMore);
    EXPECT_EQ(r.add(c, 1, 3, "bb"), AddResult::kComplete);
    EXPECT_EQ(r.bytes(c), "aaaabbccc");
}

TEST(Reassembler, PoolRunsOutAndRefills) {
    Reassembler r(2, 4, 10);
    EXPECT_EQ(r.acquire(5), Reassembler::kNone);  // more datagrams than a context holds
    EXPECT_EQ(r.acquire(0), Reassembler::kNone);
    const uint16_t a = r.acquire(2);
    const uint16_t b = r.acquire(2);
    EXPECT_NE(a, b);
    EXPECT_EQ(r.acquire(2), Reassembler::kNone);
    EXPECT_EQ(r.add(a, 1, 2, "x"), AddResult::kMore);
    r.release(a);  // released half-way: the next user starts clean
    const uint16_t c = r.acquire(2);
    EXPECT_EQ(c, a);
    EXPECT_EQ(r.add(c, 1, 2, "y"), AddResult::kMore);
    EXPECT_EQ(r.add(c, 0, 2, "z"), AddResult::kComplete);
    EXPECT_EQ(r.bytes(c), "zy");
}

}  // namespace
}  // namespace fulmar::pktgen
