// The compact collection encoding: round trips, the bytes it takes, what a
// corrupt value decodes to (nothing, never a read past the end), and the
// owner's write/find on a real shard (TTL kept, empty deletes, types).
#include "engine/resp_collection.h"

#include <gtest/gtest.h>

#include <cstring>
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

// Sets of text and large hashes: the hashed form (entries, then an index);
// look-ups probe it, or scan a compact value. Hashes here switch past 127
// fields (hash-max-listpack-entries).
constexpr size_t kSmallHash = 127;

coll::EncodePolicy small_hashes() {
    coll::EncodePolicy p;
    p.limits.hash_max_listpack_entries = kSmallHash;
    return p;
}

std::string encode_as(store::ItemType t, const std::vector<std::string_view>& e,
                      const coll::EncodePolicy& p = small_hashes()) {
    const uint8_t tag = coll::choose_encoding(t, e, p, 0);
    std::string out(coll::encoded_size(tag, t, 1, e), '\0');
    coll::encode(tag, t, 1, e, out.data());
    return out;
}

TEST(CollectionCodec, LargeSetsAndHashesGetAnIndexAndLookupsFindEveryKey) {
    std::vector<std::string> names;
    for (size_t i = 0; i < 300; ++i)
        names.push_back("name" + std::to_string(i));
    for (const store::ItemType t : {store::ItemType::kSet, store::ItemType::kHash}) {
        const size_t step = t == store::ItemType::kHash ? 2 : 1;
        for (const size_t keys : {kSmallHash, kSmallHash + 1, size_t{300}}) {
            std::vector<std::string_view> e;
            for (size_t i = 0; i < keys * step; ++i)
                e.push_back(names[i / step]);  // a hash: field i, value i
            const std::string bytes = encode_as(t, e);
            // A set of text is hashed at any size, as Redis's.
            const bool hashed = t == store::ItemType::kSet || keys > kSmallHash;
            EXPECT_EQ(static_cast<uint8_t>(bytes[0]), hashed ? coll::kHashed : coll::kCompact);
            EXPECT_EQ(coll::size(bytes), static_cast<int64_t>(e.size()));
            std::vector<std::string_view> out;
            ASSERT_TRUE(coll::decode(bytes, out)) << keys;
            EXPECT_EQ(out, e);
            for (size_t i = 0; i < keys; ++i) {
                const coll::Hit h = coll::lookup(bytes, names[i], step);
                ASSERT_TRUE(h.found) << keys << " " << i;
                if (step == 2) {
                    EXPECT_EQ(h.next, names[i]);
                }
            }
            EXPECT_FALSE(coll::lookup(bytes, "absent", step).found);
            EXPECT_FALSE(coll::lookup(bytes, "", step).found);
        }
    }
    // A hash's values are never keys.
    const std::vector<std::string_view> h = {"f", "v"};
    EXPECT_FALSE(coll::lookup(encode_as(store::ItemType::kHash, h), "v", 2).found);
    // A list never gets an index.
    std::vector<std::string_view> l(500, "x");
    EXPECT_EQ(static_cast<uint8_t>(encode_as(store::ItemType::kList, l)[0]), coll::kCompact);
}

TEST(CollectionCodec, AnIndexThatWouldNotFitTheItemIsLeftOut) {
    // 200 members just long enough that the entries fit one item and the
    // entries and their index (256 slots) do not.
    size_t len = 4000;
    auto compact = [&] { return coll::kHeaderSize + 200 * (len + 2); };
    auto hashed = [&] { return coll::kHashedHeaderSize + 200 * (len + 2) + 256 * 4; };
    while (!(mc_item_fits(1, compact()) && !mc_item_fits(1, hashed())))
        ++len;
    std::vector<std::string> big;
    for (size_t i = 0; i < 200; ++i)
        big.push_back(std::string(len - 10, 'x') + std::to_string(1000000000 + i));
    const std::vector<std::string_view> e(big.begin(), big.end());
    const std::string bytes = encode_as(store::ItemType::kSet, e);
    EXPECT_EQ(bytes.size(), compact());
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), coll::kCompact);
    EXPECT_TRUE(coll::lookup(bytes, big[150], 1).found);
}

// ---- intsets ------------------------------------------------------------------

std::string intset_of(const std::vector<std::string_view>& e) {
    std::string out(coll::encoded_size(coll::kIntset, store::ItemType::kSet, 1, e), '\0');
    coll::encode(coll::kIntset, store::ItemType::kSet, 1, e, out.data());
    return out;
}

TEST(CollectionCodec, AnIntsetKeepsInt64sAscendingAndReadsBackTheirText) {
    const std::vector<std::string_view> e = {
        "5", "-9223372036854775808", "0", "9223372036854775807", "-1", "17"};
    const std::string bytes = intset_of(e);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), coll::kIntset);
    EXPECT_EQ(bytes.size(), coll::kIntsetHeaderSize + 8 * e.size());
    EXPECT_EQ(coll::size(bytes), 6);
    coll::Entries out;
    ASSERT_TRUE(coll::decode(bytes, out));
    const std::vector<std::string_view> sorted = {"-9223372036854775808", "-1", "0", "5", "17",
                                                  "9223372036854775807"};
    EXPECT_EQ(static_cast<const std::vector<std::string_view>&>(out), sorted);
    // Moved, the views stay good (the text is on the heap).
    coll::Entries moved = std::move(out);
    EXPECT_EQ(static_cast<const std::vector<std::string_view>&>(moved), sorted);
    for (std::string_view m : sorted)
        EXPECT_TRUE(coll::lookup(bytes, m, 1).found) << m;
    // Only string2ll's form is a member: no '+', no leading zero, no space,
    // no "-0", nothing past 64 bits.
    for (std::string_view m :
         {"+5", "05", " 5", "5 ", "-0", "9223372036854775808", "4", "18", "", "abc", "1.0"})
        EXPECT_FALSE(coll::lookup(bytes, m, 1).found) << m;
    // The plain decoder cannot make text: an intset is not a list of views.
    std::vector<std::string_view> views;
    EXPECT_FALSE(coll::decode(bytes, views));
    // Corrupt: a count past the bytes, a length not 8-aligned.
    std::string bad = bytes;
    bad[1] = 100;
    EXPECT_FALSE(coll::decode(bad, out));
    EXPECT_EQ(coll::size(bad), -1);
    EXPECT_FALSE(coll::lookup(bad, "5", 1).found);
    EXPECT_FALSE(coll::decode(bytes.substr(0, bytes.size() - 1), out));
}

TEST(CollectionCodec, TheEncodingRulesAreRedis7s) {
    using store::ItemType;
    coll::EncodePolicy p;  // 512 / 512 / 64: Redis's defaults
    const std::vector<std::string_view> ints = {"1", "2", "3"};
    const std::vector<std::string_view> mixed = {"1", "a"};
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, 0), coll::kIntset);
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, mixed, p, 0), coll::kHashed);
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, {{"01"}}, p, 0), coll::kHashed);
    p.limits.set_max_intset_entries = 3;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, 0), coll::kIntset);
    p.limits.set_max_intset_entries = 2;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, 0), coll::kHashed);
    // One way: a hashed set that grows stays hashed, all integers or not;
    // a fresh one (a STORE) follows the rule.
    p.limits.set_max_intset_entries = 512;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, coll::kHashed), coll::kHashed);
    p.change = coll::Change::kShrink;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, coll::kHashed), coll::kHashed);
    p.change = coll::Change::kFresh;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, coll::kHashed), coll::kIntset);
    // A removal never converts, even past a lowered limit.
    p.change = coll::Change::kShrink;
    p.limits.set_max_intset_entries = 1;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, coll::kIntset), coll::kIntset);
    p.change = coll::Change::kGrow;
    EXPECT_EQ(coll::choose_encoding(ItemType::kSet, ints, p, coll::kIntset), coll::kHashed);

    coll::EncodePolicy h;
    const std::string v64(64, 'v'), v65(65, 'v');
    const std::vector<std::string_view> fits = {"f", v64};
    const std::vector<std::string_view> long_value = {"f", v65};
    const std::vector<std::string_view> long_field = {v65, "v"};
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, fits, h, 0), coll::kCompact);
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, long_value, h, 0), coll::kHashed);
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, long_field, h, 0), coll::kHashed);
    h.limits.hash_max_listpack_entries = 0;
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, fits, h, 0), coll::kHashed);
    h.limits.hash_max_listpack_entries = 1;
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, fits, h, 0), coll::kCompact);
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, fits, h, coll::kHashed), coll::kHashed);
    h.change = coll::Change::kShrink;
    h.limits.hash_max_listpack_value = 1;
    EXPECT_EQ(coll::choose_encoding(ItemType::kHash, fits, h, coll::kCompact), coll::kCompact);
    // Lists are never set or hash encoded.
    EXPECT_EQ(coll::choose_encoding(ItemType::kList, ints, h, 0), coll::kCompact);
}

TEST(CollectionCodec, CorruptHashedValuesFindNothingAndDecodeToNothing) {
    std::vector<std::string> names;
    for (size_t i = 0; i < 200; ++i)
        names.push_back("m" + std::to_string(i));
    const std::vector<std::string_view> e(names.begin(), names.end());
    const std::string good = encode_as(store::ItemType::kSet, e);
    ASSERT_EQ(static_cast<uint8_t>(good[0]), coll::kHashed);
    std::vector<std::string_view> out;
    // Every index slot pointing past the entries, or into the middle of one.
    std::string bad = good;
    const auto u32_at = [&](size_t at) {
        uint32_t v = 0;
        std::memcpy(&v, good.data() + at, 4);
        return v;
    };
    const uint32_t elen = u32_at(5);
    // The index sits between the header and the entries.
    const size_t index_end = coll::kHashedHeaderSize + size_t{u32_at(9)} * 4;
    for (size_t at = coll::kHashedHeaderSize; at + 4 <= index_end; at += 4) {
        const uint32_t past = elen + 7;
        std::memcpy(bad.data() + at, &past, 4);
    }
    EXPECT_FALSE(coll::lookup(bad, "m5", 1).found);
    EXPECT_TRUE(coll::decode(bad, out));  // the entries are intact
    for (size_t at = coll::kHashedHeaderSize; at + 4 <= index_end; at += 4) {
        const uint32_t self_loop = 1;  // every slot names the first entry
        std::memcpy(bad.data() + at, &self_loop, 4);
    }
    EXPECT_FALSE(coll::lookup(bad, "m5", 1).found);  // probes end: no endless loop
    // Lengths that disagree with the value's size.
    for (size_t field = 1; field < coll::kHashedHeaderSize; field += 4) {
        std::string b = good;
        b[field] = static_cast<char>(b[field] + 1);
        EXPECT_FALSE(coll::lookup(b.substr(0, b.size() - 1), "m5", 1).found);
        EXPECT_FALSE(coll::decode(b.substr(0, b.size() - 1), out));
    }
    std::string not_pow2 = good;
    not_pow2[9] = 3;
    not_pow2[10] = not_pow2[11] = not_pow2[12] = 0;
    EXPECT_FALSE(coll::decode(not_pow2, out));
    EXPECT_FALSE(coll::decode(good.substr(0, 12), out));
    EXPECT_EQ(coll::size("plain"), -1);
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
