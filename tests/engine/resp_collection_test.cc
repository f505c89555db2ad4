// The compact collection encoding: round trips, the bytes it takes, what a
// corrupt value decodes to (nothing, never a read past the end), and the
// owner's write/find on a real shard (TTL kept, empty deletes, types).
#include "engine/resp_collection.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

using namespace std::string_literals;

std::string encode(const std::vector<std::string_view>& e) {
    std::string out(coll::encoded_size(e), '\0');
    coll::encode(e, out.data());
    return out;
}

TEST(CollectionCodec, RoundTripsEntriesOfEveryLength) {
    const std::string big(20000, 'x');
    const std::vector<std::string_view> in = {"",
                                              "a",
                                              std::string_view("\0\r\n", 3),
                                              std::string_view(big.data(), 127),
                                              std::string_view(big.data(), 128),
                                              big};
    const std::string bytes = encode(in);
    // header + 1-byte lengths for 0, 1, 3, 127; 2 bytes for 128, 3 for 20000.
    EXPECT_EQ(bytes.size(), coll::kHeaderSize + 4 + 2 + 3 + 0 + 1 + 3 + 127 + 128 + 20000);
    std::vector<std::string_view> out;
    ASSERT_TRUE(coll::decode(bytes, out));
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i)
        EXPECT_EQ(out[i], in[i]) << i;
}

TEST(CollectionCodec, RefusesCorruptValues) {
    std::vector<std::string_view> out;
    EXPECT_FALSE(coll::decode("", out));
    EXPECT_FALSE(coll::decode("plain string", out));
    std::string bytes = encode({"abc", "de"});
    EXPECT_FALSE(coll::decode(std::string_view(bytes).substr(0, bytes.size() - 1), out));
    EXPECT_FALSE(coll::decode(bytes + "x", out));
    bytes[1] = 100;  // the count says more entries than there are bytes
    EXPECT_FALSE(coll::decode(bytes, out));
    std::string endless = encode({"a"});
    endless[coll::kHeaderSize] = static_cast<char>(0xFF);  // a varint that never ends
    EXPECT_FALSE(coll::decode(endless, out));
}

class CollectionWrite : public RespExec {};

TEST_F(CollectionWrite, WritesFindsKeepsTtlAndDeletesWhenEmpty) {
    const std::string key = "coll";
    const store::KeyRef k(key);  // views the string: keep it alive
    store::Shard& s = ctx_.shard_for(k);
    const UnixTime now = ctx_.now();
    const std::vector<std::string_view> e = {"one", "two", "three"};
    ASSERT_EQ(coll::write(s, k, store::ItemType::kList, e, now + 100, now),
              coll::WriteStatus::kStored);
    std::vector<std::string_view> got;
    UnixTime exp = 0;
    ASSERT_EQ(coll::find(s, k, store::ItemType::kList, now, got, &exp), coll::Found::kFound);
    EXPECT_EQ(got, e);
    EXPECT_EQ(exp, now + 100);
    EXPECT_EQ(coll::find(s, k, store::ItemType::kSet, now, got), coll::Found::kWrongType);
    EXPECT_EQ(run({"type", "coll"}), "+list\r\n");
    EXPECT_EQ(run({"get", "coll"}),
              "-WRONGTYPE Operation against a key holding the wrong kind "
              "of value\r\n");
    EXPECT_EQ(run({"mget", "coll"}), "*1\r\n$-1\r\n");
    EXPECT_EQ(run({"ttl", "coll"}), ":100\r\n");
    // A rewrite from the old item's own views.
    ASSERT_EQ(coll::find(s, k, store::ItemType::kList, now, got), coll::Found::kFound);
    got.erase(got.begin());
    ASSERT_EQ(coll::write(s, k, store::ItemType::kList, got, now + 100, now),
              coll::WriteStatus::kStored);
    ASSERT_EQ(coll::find(s, k, store::ItemType::kList, now, got), coll::Found::kFound);
    EXPECT_EQ(got, (std::vector<std::string_view>{"two", "three"}));
    EXPECT_EQ(coll::write(s, k, store::ItemType::kList, {}, 0, now), coll::WriteStatus::kDeleted);
    EXPECT_EQ(run({"type", "coll"}), "+none\r\n");
}

TEST_F(CollectionWrite, MemcachedSeesOnlyStrings) {
    const std::string key = "h";
    const store::KeyRef k(key);  // views the string: keep it alive
    store::Shard& s = ctx_.shard_for(k);
    const std::vector<std::string_view> e = {"f", "v"};
    ASSERT_EQ(coll::write(s, k, store::ItemType::kHash, e, 0, ctx_.now()),
              coll::WriteStatus::kStored);
    EXPECT_EQ(mc("get h\r\n"), "END\r\n");
    EXPECT_EQ(mc("gat 100 h\r\n"), "END\r\n");
    EXPECT_EQ(mc("touch h 100\r\n"), "NOT_FOUND\r\n");
    EXPECT_EQ(mc("incr h 1\r\n"), "NOT_FOUND\r\n");
    EXPECT_EQ(mc("append h 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
    EXPECT_EQ(mc("add h 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
    EXPECT_EQ(mc("mg h v N30\r\n"), "EN\r\n");
    EXPECT_EQ(mc("me h\r\n"), "EN\r\n");
    EXPECT_EQ(run({"type", "h"}), "+hash\r\n");
    // Writes that replace a key replace a collection too, as Redis's SET.
    EXPECT_EQ(mc("set h 0 0 1\r\nx\r\n"), "STORED\r\n");
    EXPECT_EQ(run({"type", "h"}), "+string\r\n");
    ASSERT_EQ(coll::write(s, k, store::ItemType::kHash, e, 0, ctx_.now()),
              coll::WriteStatus::kStored);
    EXPECT_EQ(mc("delete h\r\n"), "DELETED\r\n");
    EXPECT_EQ(run({"exists", "h"}), ":0\r\n");
}

TEST_F(CollectionWrite, StringCommandsOnACollectionAreWrongType) {
    const std::string key = "s";
    const store::KeyRef k(key);  // views the string: keep it alive
    const std::vector<std::string_view> e = {"m"};
    ASSERT_EQ(coll::write(ctx_.shard_for(k), k, store::ItemType::kSet, e, 0, ctx_.now()),
              coll::WriteStatus::kStored);
    const std::string wrong =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT_EQ(run({"incr", "s"}), wrong);
    EXPECT_EQ(run({"append", "s", "x"}), wrong);
    EXPECT_EQ(run({"strlen", "s"}), wrong);
    EXPECT_EQ(run({"set", "s", "x", "GET"}), wrong);
    EXPECT_EQ(run({"type", "s"}), "+set\r\n");
    EXPECT_EQ(run({"set", "s", "x"}), "+OK\r\n");
    EXPECT_EQ(run({"get", "s"}), "$1\r\nx\r\n");
}

}  // namespace
}  // namespace fulmar::engine
