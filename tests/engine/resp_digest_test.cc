// DEBUG DIGEST-VALUE's digest: equal contents give equal digests (a set's
// and a hash's order aside), any change gives another, a missing key zeros.
#include "engine/resp_digest.h"

#include <gtest/gtest.h>

#include "engine/resp_util.h"
#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

class RespDigest : public RespExec {
  protected:
    std::string digest(const std::string& key) {
        resp::LocalViews v(ctx_);
        return value_digest(key, resp::read_ctx(ctx_, v));
    }
};

TEST_F(RespDigest, ContentsNotOrderOrEncodingDecide) {
    EXPECT_EQ(digest("none"), std::string(40, '0'));
    run({"set", "a", "v"});
    run({"set", "b", "v"});
    EXPECT_EQ(digest("a"), digest("b"));
    EXPECT_EQ(digest("a").size(), 40u);
    run({"set", "b", "w"});
    EXPECT_NE(digest("a"), digest("b"));
    run({"sadd", "s1", "x", "y", "z"});
    run({"sadd", "s2", "z", "y", "x"});
    EXPECT_EQ(digest("s1"), digest("s2"));
    run({"hset", "h1", "f", "1", "g", "2"});
    run({"hset", "h2", "g", "2", "f", "1"});
    EXPECT_EQ(digest("h1"), digest("h2"));
    run({"hset", "h2", "g", "3"});
    EXPECT_NE(digest("h1"), digest("h2"));
    run({"rpush", "l1", "x", "y"});
    run({"rpush", "l2", "y", "x"});
    EXPECT_NE(digest("l1"), digest("l2"));  // a list's order counts
    // A string and a one-member list of the same bytes differ by type.
    run({"set", "str", "x"});
    run({"rpush", "lst", "x"});
    EXPECT_NE(digest("str"), digest("lst"));
}

// An intset's members digest as their text: the same set as an intset and
// as a hashtable (converted, then the text member removed) digests alike,
// and different integers differently.
TEST_F(RespDigest, AnIntsetDigestsItsMembers) {
    run({"sadd", "i1", "3", "1", "2"});
    run({"sadd", "i2", "1", "2", "3", "x"});
    run({"srem", "i2", "x"});
    ASSERT_EQ(run({"object", "encoding", "i1"}), "$6\r\nintset\r\n");
    ASSERT_EQ(run({"object", "encoding", "i2"}), "$9\r\nhashtable\r\n");
    EXPECT_EQ(digest("i1"), digest("i2"));
    run({"sadd", "i3", "1", "2", "4"});
    EXPECT_NE(digest("i1"), digest("i3"));
    run({"sadd", "i4", "1"});
    EXPECT_NE(digest("i4"), digest("i3"));
}

}  // namespace
}  // namespace fulmar::engine
