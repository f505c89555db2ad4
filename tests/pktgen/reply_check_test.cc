// Reply verification: hits proven, misses counted, every kind of bad reply
// named.
#include "reply_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fulmar::pktgen {
namespace {

class ReplyCheck : public ::testing::Test {
  protected:
    ReplyCheck() : w_(make()), v_(w_.n_keys()) {}
    static Workload make() {
        WorkloadParams p;
        p.n_keys = 1000;
        p.key_len = 8;
        p.value_min = 3;
        p.value_max = 40;
        p.run_id = 11;
        return Workload::create(p).value();
    }
    std::string key(uint32_t k) const {
        std::string s(8, '\0');
        w_.format_key(k, s.data());
        return s;
    }
    // The VALUE block a server holding (k, version) would send.
    std::string block(uint32_t k, uint32_t version) const {
        std::string val(w_.value_len(k, version), '\0');
        w_.fill_value(k, version, val.data());
        return "VALUE " + key(k) + " " + std::to_string(w_.flags_of(version)) + " " +
               std::to_string(val.size()) + "\r\n" + val + "\r\n";
    }
    GetVerdict check(const std::string& reply, std::vector<uint32_t> keys,
                     std::vector<uint32_t> mins = {}) {
        if (mins.empty()) mins.assign(keys.size(), 0);
        const GetVerdict g = check_get_reply(reply, keys, mins, w_, v_);
        if (keys.size() == 1) {
            // The one-key path the generator takes must give the same verdict.
            const GetVerdict one = check_one_get_reply(reply, keys[0], mins[0], w_, v_);
            EXPECT_EQ(one.error, g.error) << reply;
            EXPECT_EQ(one.hits, g.hits) << reply;
            EXPECT_EQ(one.misses, g.misses) << reply;
            EXPECT_EQ(one.unverified, g.unverified) << reply;
        }
        return g;
    }

    Workload w_;
    KeyVersions v_;
};

TEST_F(ReplyCheck, HitWithTheStoredValueIsProven) {
    const uint32_t ver = v_.next(5);
    const GetVerdict g = check(block(5, ver) + "END\r\n", {5});
    EXPECT_EQ(g.error, ReplyError::kNone);
    EXPECT_EQ(g.hits, 1u);
    EXPECT_EQ(g.misses, 0u);
}

// The one-key path proves every byte: any single byte of a hit changed
// (value, key, flags, length, framing) is an error or not a hit, never a
// hit.
TEST_F(ReplyCheck, OneKeyPathFailsOnAnyChangedByte) {
    for (uint32_t k : {0u, 5u, 999u}) {
        const uint32_t ver = v_.next(k);
        const std::string good = block(k, ver) + "END\r\n";
        const GetVerdict ok = check_one_get_reply(good, k, 0, w_, v_);
        ASSERT_EQ(ok.error, ReplyError::kNone);
        ASSERT_EQ(ok.hits, 1u);
        for (size_t i = 0; i < good.size(); i++) {
            for (const char c : {'0', '9', 'x', ' ', '\r'}) {
                if (good[i] == c) continue;
                std::string bad = good;
                bad[i] = c;
                const GetVerdict g = check(bad, {k});
                EXPECT_TRUE(g.error != ReplyError::kNone || g.hits == 0)
                    << "byte " << i << " -> '" << c << "' still a hit: " << bad;
            }
        }
        // A wrong value byte is named as such.
        std::string bad = good;
        bad[good.size() - 8] ^= 1;  // the value's last byte
        EXPECT_EQ(check_one_get_reply(bad, k, 0, w_, v_).error, ReplyError::kWrongValue);
    }
}

TEST_F(ReplyCheck, EndAloneIsAMissForEveryKey) {
    const GetVerdict g = check("END\r\n", {1, 2, 3});
    EXPECT_EQ(g.error, ReplyError::kNone);
    EXPECT_EQ(g.misses, 3u);
}

TEST_F(ReplyCheck, MultiGetCountsSkippedKeysAsMissesAndRepeatsAsHits) {
    v_.next(1);
    v_.next(3);
    const GetVerdict g =
        check(block(1, 1) + block(3, 1) + block(3, 1) + "END\r\n", {1, 2, 3, 3, 4});
    EXPECT_EQ(g.error, ReplyError::kNone);
    EXPECT_EQ(g.hits, 3u);
    EXPECT_EQ(g.misses, 2u);
}

TEST_F(ReplyCheck, CasUniqueAfterTheLengthIsAccepted) {
    v_.next(9);
    std::string b = block(9, 1);
    b.insert(b.find("\r\n"), " 12345");
    EXPECT_EQ(check(b + "END\r\n", {9}).hits, 1u);
}

TEST_F(ReplyCheck, WrongBytesOrLengthAreWrongValue) {
    v_.next(5);
    std::string b = block(5, 1);
    b[b.find("\r\n") + 3] ^= 1;
    EXPECT_EQ(check(b + "END\r\n", {5}).error, ReplyError::kWrongValue);
    // A version whose stored length differs: the declared length is wrong.
    std::string val(w_.value_len(5, 1) + 1, 'x');
    const std::string longer = "VALUE " + key(5) + " " + std::to_string(w_.flags_of(1)) + " " +
                               std::to_string(val.size()) + "\r\n" + val + "\r\n";
    EXPECT_EQ(check(longer + "END\r\n", {5}).error, ReplyError::kWrongValue);
}

TEST_F(ReplyCheck, VersionsOutsideSentAndAckedAreCaught) {
    v_.next(5);
    v_.next(5);
    v_.next(5);  // sent up to 3
    EXPECT_EQ(check(block(5, 1) + "END\r\n", {5}, {2}).error, ReplyError::kStale);
    EXPECT_EQ(check(block(5, 2) + "END\r\n", {5}, {2}).error, ReplyError::kNone);
    EXPECT_EQ(check(block(5, 4) + "END\r\n", {5}).error, ReplyError::kFuture);
    EXPECT_EQ(check(block(6, 1) + "END\r\n", {6}).error, ReplyError::kFuture);  // never sent
}

TEST_F(ReplyCheck, OtherRunsDataIsUnverifiedUntilOursWasAcked) {
    WorkloadParams p = w_.params();
    p.run_id = 99;
    const Workload old = Workload::create(p).value();
    std::string val(old.value_len(5, 1), '\0');
    old.fill_value(5, 1, val.data());
    const std::string b = "VALUE " + key(5) + " " + std::to_string(old.flags_of(1)) + " " +
                          std::to_string(val.size()) + "\r\n" + val + "\r\nEND\r\n";
    const GetVerdict g = check(b, {5});
    EXPECT_EQ(g.error, ReplyError::kNone);
    EXPECT_EQ(g.unverified, 1u);
    EXPECT_EQ(check(b, {5}, {1}).error, ReplyError::kForeign);
}

TEST_F(ReplyCheck, KeysNotAskedForOrOutOfOrderAreUnexpected) {
    v_.next(1);
    v_.next(2);
    EXPECT_EQ(check(block(2, 1) + "END\r\n", {1}).error, ReplyError::kUnexpectedKey);
    EXPECT_EQ(check(block(2, 1) + block(1, 1) + "END\r\n", {1, 2}).error,
              ReplyError::kUnexpectedKey);
}

TEST_F(ReplyCheck, BrokenGrammarIsMalformed) {
    v_.next(1);
    const std::string b = block(1, 1);
    EXPECT_EQ(check(b, {1}).error, ReplyError::kMalformed);               // no END
    EXPECT_EQ(check(b + "END\r\nX", {1}).error, ReplyError::kMalformed);  // trailing bytes
    EXPECT_EQ(check(b.substr(0, b.size() - 1) + "END\r\n", {1}).error, ReplyError::kMalformed);
    EXPECT_EQ(check("VALUE " + key(1) + " x 3\r\nabc\r\nEND\r\n", {1}).error,
              ReplyError::kMalformed);
    EXPECT_EQ(check("VALUE " + key(1) + " 0 3", {1}).error, ReplyError::kMalformed);
    // Every prefix of a good reply is an error, never a crash or a false hit.
    const std::string good = b + "END\r\n";
    for (size_t i = 0; i < good.size(); i++)
        EXPECT_NE(check(good.substr(0, i), {1}).error, ReplyError::kNone) << i;
}

// The one-key path reads flags and lengths eight digits at a time, or one
// at a time near the end of a short reply; check() holds its verdict to the
// general path's for every spelling here (leading zeros, too many digits,
// signs, flags past 32 bits, nothing).
TEST_F(ReplyCheck, OneKeyPathReadsDigitsAsTheGeneralOne) {
    for (uint32_t k : {1u, 2u, 3u}) {
        const uint32_t ver = v_.next(k);
        std::string val(w_.value_len(k, ver), '\0');
        w_.fill_value(k, ver, val.data());
        const std::string f = std::to_string(w_.flags_of(ver));
        const std::string n = std::to_string(val.size());
        const std::vector<std::string> flags = {f,
                                                "0" + f,
                                                std::string(10 - f.size(), '0') + f,
                                                std::string(12 - f.size(), '0') + f,
                                                std::to_string(w_.flags_of(ver) + (1ULL << 32)),
                                                "+" + f,
                                                "",
                                                f + "x"};
        const std::vector<std::string> lens = {n,
                                               "0" + n,
                                               std::string(5 - n.size(), '0') + n,
                                               std::string(6 - n.size(), '0') + n,
                                               "-" + n,
                                               ""};
        for (const std::string& fl : flags)
            for (const std::string& ln : lens)
                check("VALUE " + key(k) + " " + fl + " " + ln + "\r\n" + val + "\r\nEND\r\n", {k});
        // The spellings the server writes are hits.
        EXPECT_EQ(
            check("VALUE " + key(k) + " " + f + " " + n + "\r\n" + val + "\r\nEND\r\n", {k}).hits,
            1u);
    }
}

TEST_F(ReplyCheck, ServerErrorsAreNamed) {
    EXPECT_EQ(check("SERVER_ERROR out of memory\r\n", {1}).error, ReplyError::kServerError);
    EXPECT_EQ(check("ERROR\r\n", {1}).error, ReplyError::kServerError);
    EXPECT_EQ(check_set_reply("STORED\r\n"), ReplyError::kNone);
    EXPECT_EQ(check_set_reply("SERVER_ERROR object too large for cache\r\n"),
              ReplyError::kServerError);
    EXPECT_EQ(check_set_reply("STORED\r\nSTORED\r\n"), ReplyError::kMalformed);
    EXPECT_EQ(check_set_reply("NOT_STORED\r\n"), ReplyError::kMalformed);
}

}  // namespace
}  // namespace fulmar::pktgen

namespace fulmar::pktgen {
namespace {

// 16-byte keys (the default) take a word-compare path in the one-key check:
// a hit is proven, and any byte of the key changed is not a hit.
TEST(ReplyCheck16, SixteenByteKeysComparedAsWords) {
    WorkloadParams p;
    p.n_keys = 1'000'000;
    p.value_min = p.value_max = 32;
    p.run_id = 3;
    const Workload w = Workload::create(p).value();
    KeyVersions v(w.n_keys());
    for (uint32_t k : {0u, 7u, 123'456u, 999'999u}) {
        const uint32_t ver = v.next(k);
        std::string key(16, '\0'), val(32, '\0');
        w.format_key(k, key.data());
        w.fill_value(k, ver, val.data());
        const std::string good = "VALUE " + key + " " + std::to_string(w.flags_of(ver)) +
                                 " 32\r\n" + val + "\r\nEND\r\n";
        const GetVerdict ok = check_one_get_reply(good, k, 0, w, v);
        EXPECT_EQ(ok.error, ReplyError::kNone);
        EXPECT_EQ(ok.hits, 1u);
        for (size_t i = 6; i < 6 + 16; i++) {
            std::string bad = good;
            bad[i] = bad[i] == '1' ? '2' : '1';
            const GetVerdict g = check_one_get_reply(bad, k, 0, w, v);
            EXPECT_TRUE(g.error != ReplyError::kNone || g.hits == 0) << "key byte " << i;
        }
    }
}

}  // namespace
}  // namespace fulmar::pktgen
