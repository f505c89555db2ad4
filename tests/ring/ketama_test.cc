// Tests of the ketama ring: MD5 key hash, point counts (including the peers' float rounding),
// placement vectors, the consistency property on 1,000,000 keys, and construction errors.
//
// The placement vectors were computed from the algorithm alone (Python: hashlib.md5, float32
// rounding with struct.pack('f') after every step, bisect on (value, node)), and the same rings
// were checked against the peers by tests/ring/nutcracker_placement_test.py.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "ring/ketama.h"

namespace fulmar::ring {
namespace {

Node node(std::string host, uint16_t port, uint32_t weight = 1) {
    Node n;
    n.host = std::move(host);
    n.port = port;
    n.weight = weight;
    return n;
}

Ketama build_or_die(const std::vector<Node>& nodes, KetamaMode mode = KetamaMode::kTwemproxy) {
    auto ring = Ketama::build(nodes, mode);
    EXPECT_TRUE(ring.ok()) << (ring.ok() ? "" : ring.error().message);
    return std::move(ring).value();
}

RingStatus build_error(const std::vector<Node>& nodes, KetamaMode mode = KetamaMode::kTwemproxy) {
    auto ring = Ketama::build(nodes, mode);
    EXPECT_FALSE(ring.ok());
    return ring.ok() ? RingStatus::kEmpty : ring.error().status;
}

// Keys of the vectors: short, long (memcached's 250-byte maximum), digits, UTF-8.
const std::array<std::string, 17> kVectorKeys = {
    "foo",
    "bar",
    "baz",
    "hello",
    "key:1",
    "key:2",
    "key:3",
    "user:1000",
    "session:abc",
    "x",
    "fulmar",
    "memcached",
    "twemproxy",
    std::string(250, 'a'),
    "0",
    "key-with-dash",
    "\xc3\xa9t\xc3\xa9",
};

void expect_places(const Ketama& ring, const std::array<uint32_t, 17>& want) {
    for (size_t i = 0; i < kVectorKeys.size(); i++)
        EXPECT_EQ(ring.node_for(kVectorKeys[i]), want[i]) << "key " << kVectorKeys[i];
}

// ---------------------------------------------------------------------------
// Key hash

TEST(KetamaHash, IsTheFirstFourBytesOfMd5LittleEndian) {
    // RFC 1321 test suite: MD5("") = d41d8cd9..., MD5("a") = 0cc175b9..., MD5("abc") = 90015098...
    EXPECT_EQ(ketama_hash(""), 0xd98c1dd4U);
    EXPECT_EQ(ketama_hash("a"), 0xb975c10cU);
    EXPECT_EQ(ketama_hash("abc"), 0x98500190U);
}

// ---------------------------------------------------------------------------
// Points

TEST(KetamaPoints, EqualWeightsGiveEveryNode160Points) {
    for (uint16_t n = 1; n <= 12; n++) {
        std::vector<Node> nodes;
        for (uint16_t i = 0; i < n; i++)
            nodes.push_back(node("10.0.0.1", 20000 + i));
        const Ketama ring = build_or_die(nodes);
        EXPECT_EQ(ring.n_points(), 160U * n) << n << " nodes";
        for (uint32_t i = 0; i < n; i++)
            EXPECT_EQ(ring.points_of(i), 160U);
    }
}

TEST(KetamaPoints, WeightsScalePointsInProportion) {
    const Ketama ring = build_or_die(
        {node("10.0.0.1", 11211, 1), node("10.0.0.2", 11211, 2), node("10.0.0.3", 11211, 3)});
    EXPECT_EQ(ring.points_of(0), 80U);
    EXPECT_EQ(ring.points_of(1), 160U);
    EXPECT_EQ(ring.points_of(2), 240U);
    EXPECT_EQ(ring.n_points(), 480U);
}

TEST(KetamaPoints, ScalingAllWeightsTogetherChangesNothing) {
    const Ketama small = build_or_die({node("a", 1, 1), node("b", 2, 2), node("c", 3, 3)});
    const Ketama large = build_or_die({node("a", 1, 100), node("b", 2, 200), node("c", 3, 300)});
    for (uint32_t i = 0; i < 3; i++)
        EXPECT_EQ(small.points_of(i), large.points_of(i));
    for (uint32_t k = 0; k < 10000; k++) {
        const std::string key = "key:" + std::to_string(k);
        ASSERT_EQ(small.node_for(key), large.node_for(key)) << key;
    }
}

TEST(KetamaPoints, RoundsSharesDownInFloatAsThePeersDo) {
    // 25 equal nodes: 1/25 in float times 40 times 25 is 39.999998, which floors to 39 groups.
    std::vector<Node> nodes;
    for (uint16_t i = 0; i < 25; i++)
        nodes.push_back(node("127.0.0.1", 20001 + i));
    const Ketama equal = build_or_die(nodes);
    for (uint32_t i = 0; i < 25; i++)
        EXPECT_EQ(equal.points_of(i), 156U);
    EXPECT_EQ(equal.n_points(), 3900U);

    // Exact shares 32, 32, 32, 320, 384.
    const Ketama weighted = build_or_die({node("cache-a", 11211, 1), node("cache-b", 11211, 1),
                                          node("cache-c", 11211, 1), node("cache-d", 11211, 10),
                                          node("cache-e", 11211, 12)});
    const std::array<uint32_t, 5> want = {28, 28, 28, 320, 380};
    for (uint32_t i = 0; i < 5; i++)
        EXPECT_EQ(weighted.points_of(i), want[i]) << "node " << i;
}

TEST(KetamaPoints, ATinyWeightShareGetsNoPointsAndNoKeys) {
    // 2 nodes * 40 * 1/1001 = 0.08 groups: floors to 0, as in both peers.
    const Ketama ring = build_or_die({node("a", 1, 1), node("b", 2, 1000)});
    EXPECT_EQ(ring.points_of(0), 0U);
    EXPECT_EQ(ring.n_points(), 316U);  // 2 * 40 * 1000/1001 = 79.92 -> 79 groups
    for (uint32_t k = 0; k < 1000; k++)
        EXPECT_EQ(ring.node_for("k" + std::to_string(k)), 1U);
}

// ---------------------------------------------------------------------------
// Placement vectors

TEST(KetamaPlacement, MatchesTheReferenceForThreeLocalNodes) {
    // Labels "127.0.0.1" (port 11211 is left out), "127.0.0.1:11212", "127.0.0.1:11213".
    const Ketama ring = build_or_die(
        {node("127.0.0.1", 11211), node("127.0.0.1", 11212), node("127.0.0.1", 11213)});
    expect_places(ring, {0, 1, 1, 0, 0, 0, 0, 2, 0, 2, 0, 2, 0, 1, 2, 0, 0});
    // The two lowest points are 0x00f35431 (node 1) and 0x00fd272f (node 0).
    EXPECT_EQ(ring.node_for_hash(0), 1U);
    EXPECT_EQ(ring.node_for_hash(0x00f35431), 1U);
    EXPECT_EQ(ring.node_for_hash(0x00f35432), 0U);  // the next point, 0x00fd272f
    // Past the highest point (0xffe0f4b2) the ring wraps to the lowest.
    EXPECT_EQ(ring.node_for_hash(0xffffffff), 1U);
}

TEST(KetamaPlacement, MatchesTheReferenceForWeightedNodes) {
    const Ketama ring = build_or_die(
        {node("10.0.0.1", 11211, 1), node("10.0.0.2", 11211, 2), node("10.0.0.3", 11211, 3)});
    expect_places(ring, {1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 2, 1, 1, 2, 2, 2, 2});
}

TEST(KetamaPlacement, MatchesTheReferenceWhenFloatRoundingDropsPoints) {
    const Ketama weighted = build_or_die({node("cache-a", 11211, 1), node("cache-b", 11211, 1),
                                          node("cache-c", 11211, 1), node("cache-d", 11211, 10),
                                          node("cache-e", 11211, 12)});
    expect_places(weighted, {4, 3, 4, 4, 4, 4, 3, 4, 3, 4, 4, 3, 3, 4, 3, 4, 4});

    std::vector<Node> nodes;
    for (uint16_t i = 0; i < 25; i++)
        nodes.push_back(node("127.0.0.1", 20001 + i));
    const Ketama equal = build_or_die(nodes);
    expect_places(equal, {5, 15, 2, 9, 3, 15, 0, 23, 2, 8, 0, 11, 10, 8, 15, 0, 18});
}

TEST(KetamaPlacement, ModesAgreeWhenNodesHaveNoNames) {
    const std::vector<Node> nodes = {node("10.1.0.1", 11211, 2), node("10.1.0.2", 11300, 1),
                                     node("cache.example", 11211, 5), node("10.1.0.4", 7, 1)};
    const Ketama twemproxy = build_or_die(nodes, KetamaMode::kTwemproxy);
    const Ketama libmemcached = build_or_die(nodes, KetamaMode::kLibmemcached);
    ASSERT_EQ(twemproxy.n_points(), libmemcached.n_points());
    for (uint32_t k = 0; k < 100000; k++) {
        const std::string key = "user:" + std::to_string(k);
        ASSERT_EQ(twemproxy.node_for(key), libmemcached.node_for(key)) << key;
    }
}

TEST(KetamaPlacement, ATwemproxyNameStandsInForHostAndPort) {
    // A node named "alpha" hashes "alpha-0", "alpha-1"...: the points of a host "alpha" on the
    // default port, whatever its real address.
    Node named = node("10.9.9.9", 4000);
    named.name = "alpha";
    const Ketama by_name = build_or_die({named, node("10.0.0.2", 11211)});
    const Ketama by_host = build_or_die({node("alpha", 11211), node("10.0.0.2", 11211)});
    for (uint32_t k = 0; k < 10000; k++) {
        const std::string key = "k" + std::to_string(k);
        ASSERT_EQ(by_name.node_for(key), by_host.node_for(key)) << key;
    }
}

TEST(KetamaPlacement, TwemproxySendsTheEmptyKeyToTheLowestPoint) {
    // nc_server.c hashes an empty key to 0 without MD5; libmemcached has no empty keys and we
    // hash it like any other.
    const std::vector<Node> nodes = {node("cache-a", 11211, 1), node("cache-b", 11211, 1),
                                     node("cache-c", 11211, 1), node("cache-d", 11211, 10),
                                     node("cache-e", 11211, 12)};
    const Ketama twemproxy = build_or_die(nodes, KetamaMode::kTwemproxy);
    const Ketama libmemcached = build_or_die(nodes, KetamaMode::kLibmemcached);
    EXPECT_EQ(twemproxy.node_for(""), twemproxy.node_for_hash(0));
    EXPECT_EQ(twemproxy.node_for(""), 3U);
    EXPECT_EQ(libmemcached.node_for(""), libmemcached.node_for_hash(ketama_hash("")));
    EXPECT_EQ(libmemcached.node_for(""), 4U);
}

TEST(KetamaPlacement, OneNodeOwnsEveryKey) {
    const Ketama ring = build_or_die({node("10.0.0.1", 11211)});
    EXPECT_EQ(ring.n_points(), 160U);
    for (uint32_t h : {0U, 1U, 0x80000000U, 0xffffffffU})
        EXPECT_EQ(ring.node_for_hash(h), 0U);
}

// ---------------------------------------------------------------------------
// Consistency: the point of ketama

constexpr uint32_t kManyKeys = 1000000;

std::vector<uint32_t> hashes_of_many_keys() {
    std::vector<uint32_t> hashes(kManyKeys);
    for (uint32_t k = 0; k < kManyKeys; k++)
        hashes[k] = ketama_hash("key:" + std::to_string(k));
    return hashes;
}

std::vector<Node> numbered_nodes(uint32_t n) {
    std::vector<Node> nodes;
    for (uint32_t i = 0; i < n; i++)
        nodes.push_back(node("10.0.0." + std::to_string(i + 1), 11211));
    return nodes;
}

TEST(KetamaConsistency, AddingOneOfNNodesMovesAboutOneNthOfTheKeysAllToIt) {
    const std::vector<uint32_t> hashes = hashes_of_many_keys();
    const uint32_t n = 10;
    const Ketama before = build_or_die(numbered_nodes(n));
    const Ketama after = build_or_die(numbered_nodes(n + 1));  // adds node index n at the end
    uint32_t moved = 0;
    for (uint32_t h : hashes) {
        const uint32_t a = before.node_for_hash(h);
        const uint32_t b = after.node_for_hash(h);
        if (a == b) continue;
        moved++;
        ASSERT_EQ(b, n) << "a key moved between two old nodes";
    }
    const double expected = double(kManyKeys) / (n + 1);
    EXPECT_GT(moved, expected * 0.7);
    EXPECT_LT(moved, expected * 1.3);
}

TEST(KetamaConsistency, RemovingOneOfNNodesMovesOnlyItsKeys) {
    const std::vector<uint32_t> hashes = hashes_of_many_keys();
    const uint32_t n = 10;
    const uint32_t gone = 4;
    std::vector<Node> nodes = numbered_nodes(n);
    const Ketama before = build_or_die(nodes);
    nodes.erase(nodes.begin() + gone);
    const Ketama after = build_or_die(nodes);
    uint32_t moved = 0;
    for (uint32_t h : hashes) {
        const uint32_t a = before.node_for_hash(h);
        uint32_t b = after.node_for_hash(h);
        if (b >= gone) b++;  // back to the old numbering
        if (a == b) continue;
        moved++;
        ASSERT_EQ(a, gone) << "a key left a node that stayed";
    }
    const double expected = double(kManyKeys) / n;
    EXPECT_GT(moved, expected * 0.7);
    EXPECT_LT(moved, expected * 1.3);
}

TEST(KetamaConsistency, SpreadsKeysInProportionToWeight) {
    const std::vector<uint32_t> hashes = hashes_of_many_keys();
    const Ketama ring = build_or_die(
        {node("10.0.0.1", 11211, 1), node("10.0.0.2", 11211, 2), node("10.0.0.3", 11211, 3)});
    std::array<uint32_t, 3> owned = {};
    for (uint32_t h : hashes)
        owned[ring.node_for_hash(h)]++;
    for (uint32_t i = 0; i < 3; i++) {
        const double expected = kManyKeys * (i + 1) / 6.0;
        EXPECT_GT(owned[i], expected * 0.8) << "node " << i;
        EXPECT_LT(owned[i], expected * 1.2) << "node " << i;
    }
}

// ---------------------------------------------------------------------------
// Errors

TEST(KetamaBuild, RejectsAnEmptyServerList) {
    EXPECT_EQ(build_error({}), RingStatus::kEmpty);
    EXPECT_EQ(build_error({}, KetamaMode::kLibmemcached), RingStatus::kEmpty);
}

TEST(KetamaBuild, RejectsAZeroWeight) {
    EXPECT_EQ(build_error({node("a", 1), node("b", 2, 0)}), RingStatus::kBadWeight);
}

TEST(KetamaBuild, RejectsWeightsThatSumPast32Bits) {
    EXPECT_EQ(build_error({node("a", 1, 0xffffffffU), node("b", 2, 1)}), RingStatus::kBadWeight);
}

TEST(KetamaBuild, RejectsTwoNodesWithTheSameLabel) {
    // "10.0.0.1" on 11211 and a node named "10.0.0.1" hash the same strings.
    Node named = node("10.0.0.2", 5000);
    named.name = "10.0.0.1";
    auto ring =
        Ketama::build(std::vector<Node>{node("10.0.0.1", 11211), named}, KetamaMode::kTwemproxy);
    ASSERT_FALSE(ring.ok());
    EXPECT_EQ(ring.error().status, RingStatus::kDuplicateNode);
    EXPECT_NE(ring.error().message.find("as node 0"), std::string::npos) << ring.error().message;
    EXPECT_EQ(build_error({node("a", 1), node("a", 1, 3)}), RingStatus::kDuplicateNode);
}

TEST(KetamaBuild, RejectsNamesInLibmemcachedMode) {
    Node named = node("10.0.0.2", 5000);
    named.name = "alpha";
    EXPECT_EQ(build_error({named}, KetamaMode::kLibmemcached), RingStatus::kBadName);
}

TEST(KetamaBuild, RejectsAnEmptyHostOrALongLabel) {
    EXPECT_EQ(build_error({node("", 11211)}), RingStatus::kBadName);
    EXPECT_EQ(build_error({node(std::string(256, 'h'), 11211)}), RingStatus::kBadName);
}

TEST(KetamaBuild, RejectsMoreThanTheNodeLimit) {
    const std::vector<Node> nodes(kMaxNodes + 1, node("a", 1));
    EXPECT_EQ(build_error(nodes), RingStatus::kTooManyNodes);
}

}  // namespace
}  // namespace fulmar::ring
