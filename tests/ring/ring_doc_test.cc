// The ring document's text form: what etcd holds and clients read.
#include "ring/ring_doc.h"

#include <gtest/gtest.h>

namespace fulmar::ring {
namespace {

TEST(RingDoc, FormatsAndParsesBack) {
    RingDoc d;
    d.epoch = 7;
    d.members.push_back(Node{"alpha", "198.18.150.11", 11211, 1});
    d.members.push_back(Node{"beta", "fd00::1", 11311, 3});
    const std::string text = format_ring_doc(d);
    EXPECT_EQ(text, "epoch 7\n198.18.150.11:11211:1 alpha\n[fd00::1]:11311:3 beta\n");
    auto back = parse_ring_doc(text);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), d);
    EXPECT_EQ(back.value().find("beta"), 1);
    EXPECT_EQ(back.value().find("gamma"), -1);
}

TEST(RingDoc, AnEmptyRingHasAnEpochAndNoMember) {
    auto d = parse_ring_doc("epoch 0\n");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d.value().members.empty());
}

TEST(RingDoc, RefusesWhatItCannotPlace) {
    EXPECT_FALSE(parse_ring_doc(""));
    EXPECT_FALSE(parse_ring_doc("198.18.150.11:11211:1 a\n"));
    EXPECT_FALSE(parse_ring_doc("epoch x\n"));
    EXPECT_FALSE(parse_ring_doc("epoch 1\n198.18.150.11:11211:1\n"));  // no name
    EXPECT_FALSE(parse_ring_doc("epoch 1\n198.18.150.11:11211:1 a\n198.18.150.12:11211:1 a\n"));
    EXPECT_FALSE(parse_ring_doc("epoch 1\n198.18.150.11:0:1 a\n"));
    const auto e = parse_ring_doc("epoch 1\n198.18.150.11:11211:1 a/b\n");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().find("line 2"), std::string::npos);
}

TEST(RingDoc, TheRingIsKetamaOverTheNames) {
    // Same names, other addresses: the same placement (a partition keeps
    // its keys when its primary moves).
    auto a = parse_ring_doc("epoch 1\n10.0.0.1:11211:1 p1\n10.0.0.2:11211:1 p2\n");
    auto b = parse_ring_doc("epoch 2\n10.9.0.7:11311:1 p1\n10.9.0.8:11311:1 p2\n");
    auto ka = build_ring(a.value());
    auto kb = build_ring(b.value());
    ASSERT_TRUE(ka && kb);
    for (int i = 0; i < 1000; ++i) {
        const std::string key = "k" + std::to_string(i);
        EXPECT_EQ(ka.value().node_for(key), kb.value().node_for(key));
    }
}

}  // namespace
}  // namespace fulmar::ring
