// DUMP / RESTORE / DEBUG RELOAD / DEBUG OBJECT on the owner's side: every
// encoding round-trips, payloads redis-server 7.0.15 wrote load with the
// content and the encoding Redis gives them, and malformed payloads get
// Redis's errors without storing anything.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crc64.h"
#include "engine/rdb_payload.h"
#include "engine/resp_debug.h"
#include "engine/resp_util.h"
#include "resp_fixture.h"
#include "shm/layout.h"

namespace fulmar::engine {
namespace {

std::string unhex(std::string_view h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    return out;
}

// A payload's object with a fresh trailer (version 10, the right CRC).
std::string with_trailer(std::string body) {
    body += std::string("\x0a\x00", 2);
    const uint64_t crc = crc64_jones(0, body);
    for (int i = 0; i < 8; ++i)
        body += static_cast<char>((crc >> (8 * i)) & 0xff);
    return body;
}

std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// The bytes of a bulk reply.
std::string bulk_body(const std::string& reply) {
    const size_t eol = reply.find("\r\n");
    return reply.substr(eol + 2, reply.size() - eol - 4);
}

class RespDump : public RespExec {
  protected:
    void SetUp() override {
        RespExec::SetUp();
        ctx_.collections = &settings_;
    }
    std::string dump(const std::string& key) { return bulk_body(run({"dump", key})); }
    std::string encoding(const std::string& key) { return run({"object", "encoding", key}); }
    shm::CollectionSettings settings_;
};

// ---- payloads redis-server 7.0.15 wrote -------------------------------------

struct RedisPayload {
    const char* name;
    const char* hex;
    const char* encoding;  // OBJECT ENCODING after RESTORE with the defaults
    std::vector<std::string> read;
    std::string expect;
};

const RedisPayload kRedisPayloads[] = {
    {"int", "00c139300a009d94ea2793fc08b9", "$3\r\nint\r\n", {"get", "k"}, "$5\r\n12345\r\n"},
    {"big int",
     "000e31323334353637383930313233340a00afcb8c7b76a08b6a",
     "$3\r\nint\r\n",
     {"get", "k"},
     "$14\r\n12345678901234\r\n"},
    {"negative int8", "00c0f90a005e26d130d7a242ab", "$3\r\nint\r\n", {"get", "k"}, "$2\r\n-7\r\n"},
    {"embstr",
     "000568656c6c6f0a006372df766534200a",
     "$6\r\nembstr\r\n",
     {"get", "k"},
     "$5\r\nhello\r\n"},
    {"lzf string",
     "00c3094064016161e057000161610a00e8a3b507b06df271",
     "$3\r\nraw\r\n",
     {"get", "k"},
     bulk(std::string(100, 'a'))},
    // QUICKLIST_2, one LZF-compressed listpack node holding every integer
    // width and strings of 6-bit and 12-bit lengths.
    {"quicklist",
     "120102c33f40821a8200000009008161028162020101dffe02c12c02f270110104f4ff8000197f09933932"
     "323333373230333638353437373538303814e04678e03c000148ff0a000bbe2d0edb8eda1c",
     "$9\r\nquicklist\r\n",
     {"lrange", "k", "0", "-1"},
     "*9\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n$2\r\n-2\r\n$3\r\n300\r\n$5\r\n70000\r\n$19\r\n"
     "9223372036854775807\r\n$19\r\n9223372036854775808\r\n" +
         bulk(std::string(70, 'x'))},
    // Three listpack nodes (list-max-listpack-size 2).
    {"quicklist nodes",
     "1203020d0d0000000200816102816202ff020d0d0000000200816302816402ff020a0a0000000100816502ff"
     "0a00ec5236a76020a1db",
     "$9\r\nquicklist\r\n",
     {"lrange", "k", "0", "-1"},
     "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"},
    // A PLAIN node then a packed one (quicklist-packed-threshold 1b).
    {"quicklist plain",
     "1202010a78787878787878787878010262620a00f3661d2549478068",
     "$9\r\nquicklist\r\n",
     {"lrange", "k", "0", "-1"},
     "*2\r\n$10\r\nxxxxxxxxxx\r\n$2\r\nbb\r\n"},
    {"intset",
     "0bc32c38040800000006200301fbff80000001200b400000024004200000032003400001a086a01902f2052a"
     "200900000a00f371b8fb9200100d",
     "$6\r\nintset\r\n",
     {"sismember", "k", "5000000000"},
     ":1\r\n"},
    {"set",
     "02030163016101620a00d51bc2f0968e69c3",
     "$9\r\nhashtable\r\n",
     {"scard", "k"},
     ":3\r\n"},
    {"hash listpack",
     "10c31f3717370000000600816602817602816e02010183626967049e79e01400011fff0a008781ceb741cf87"
     "ee",
     "$8\r\nlistpack\r\n",
     {"hget", "k", "big"},
     bulk(std::string(30, 'y'))},
    // A plain HASH within the limits loads as a listpack, as in Redis.
    {"hash",
     "04020266320276320266310276310a008b6523ec6bc03cf6",
     "$8\r\nlistpack\r\n",
     {"hget", "k", "f2"},
     "$2\r\nv2\r\n"},
};

TEST_F(RespDump, RestoresEveryPayloadRedisWrites) {
    for (const RedisPayload& p : kRedisPayloads) {
        SCOPED_TRACE(p.name);
        run({"del", "k"});
        ASSERT_EQ(run({"restore", "k", "0", unhex(p.hex)}), "+OK\r\n");
        EXPECT_EQ(encoding("k"), p.encoding);
        std::vector<std::string> read = p.read;
        EXPECT_EQ(run(read), p.expect);
    }
}

TEST_F(RespDump, RestoreKeepsTheListNodesOfThePayload) {
    const RedisPayload& p = kRedisPayloads[6];
    ASSERT_EQ(run({"restore", "k", "0", unhex(p.hex)}), "+OK\r\n");
    // Our DUMP writes them back as the same three nodes, byte for byte.
    EXPECT_EQ(dump("k"), unhex(p.hex));
}

TEST_F(RespDump, SortedSetsAndStreamsAreRefusedClearly) {
    const std::string zset = unhex("110c0c00000002008161020101ff0a00a805ceb8d7a93302");
    EXPECT_EQ(run({"restore", "k", "0", zset}),
              "-ERR DUMP payload holds a sorted set (RDB type 17), a type Fulmar does not "
              "have\r\n");
    EXPECT_EQ(run({"exists", "k"}), ":0\r\n");
}

// ---- round trips ------------------------------------------------------------

TEST_F(RespDump, EveryEncodingRoundTrips) {
    run({"set", "str", std::string(300, 'q') + "tail"});
    run({"set", "num", "-123456"});
    run({"rpush", "list", "1", "two", std::string(5000, 'z'), "-70000", "x"});
    run({"sadd", "ints", "5", "-3", "70000", "9000000000"});
    run({"sadd", "words", "a", "b", "c"});
    run({"hset", "small", "f", "1", "g", "two"});
    std::vector<std::string> big = {"hset", "big"};
    for (int i = 0; i < 600; ++i) {
        big.push_back("f" + std::to_string(i));
        big.push_back(std::to_string(i));
    }
    run(big);
    for (const std::string key : {"str", "num", "list", "ints", "words", "small", "big"}) {
        SCOPED_TRACE(key);
        const std::string payload = dump(key);
        ASSERT_EQ(run({"restore", key + "2", "0", payload}), "+OK\r\n");
        EXPECT_EQ(encoding(key + "2"), encoding(key));
        EXPECT_EQ(dump(key + "2"), payload);
    }
    EXPECT_EQ(run({"lrange", "list2", "0", "-1"}), run({"lrange", "list", "0", "-1"}));
    EXPECT_EQ(run({"hget", "big2", "f599"}), "$3\r\n599\r\n");
    EXPECT_EQ(run({"sismember", "ints2", "9000000000"}), ":1\r\n");
}

TEST_F(RespDump, RestoreEncodesByTheLiveSettings) {
    run({"hset", "h", "a", "1", "b", "2", "c", "3"});
    const std::string payload = dump("h");
    // Redis converts a loaded listpack for its count only.
    settings_.hash_max_listpack_entries = 2;
    ASSERT_EQ(run({"restore", "h2", "0", payload}), "+OK\r\n");
    EXPECT_EQ(encoding("h2"), "$9\r\nhashtable\r\n");
    settings_.hash_max_listpack_entries = 128;
    settings_.hash_max_listpack_value = 0;
    ASSERT_EQ(run({"restore", "h3", "0", payload}), "+OK\r\n");
    EXPECT_EQ(encoding("h3"), "$8\r\nlistpack\r\n");
}

// ---- RESTORE's arguments and errors -----------------------------------------

TEST_F(RespDump, RestoreErrorsInRedisOrder) {
    run({"set", "k", "v"});
    const std::string payload = dump("k");
    EXPECT_EQ(run({"restore", "k", "0", payload}), "-BUSYKEY Target key name already exists.\r\n");
    // The key is checked before the TTL.
    EXPECT_EQ(run({"restore", "k", "-1", payload}), "-BUSYKEY Target key name already exists.\r\n");
    EXPECT_EQ(run({"restore", "n", "-1", payload}), "-ERR Invalid TTL value, must be >= 0\r\n");
    EXPECT_EQ(run({"restore", "n", "x", payload}),
              "-ERR value is not an integer or out of range\r\n");
    EXPECT_EQ(run({"restore", "n", "0", payload, "bogus"}), "-ERR syntax error\r\n");
    EXPECT_EQ(run({"restore", "n", "0", payload, "idletime", "-1"}),
              "-ERR Invalid IDLETIME value, must be >= 0\r\n");
    EXPECT_EQ(run({"restore", "n", "0", payload, "freq", "256"}),
              "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
    EXPECT_EQ(run({"restore", "n", "0", payload, "freq", "1", "idletime", "1"}),
              "-ERR syntax error\r\n");
    EXPECT_EQ(run({"restore", "n", "0", "short"}),
              "-ERR DUMP payload version or checksum are wrong\r\n");
    EXPECT_EQ(run({"exists", "n"}), ":0\r\n");
}

TEST_F(RespDump, RestoreReplaceTtlAbsttlIdletime) {
    run({"set", "k", "old"});
    run({"set", "src", "new"});
    const std::string payload = dump("src");
    EXPECT_EQ(run({"restore", "k", "5000", payload, "replace"}), "+OK\r\n");
    EXPECT_EQ(run({"get", "k"}), "$3\r\nnew\r\n");
    EXPECT_EQ(run({"pttl", "k"}), ":5000\r\n");
    const uint64_t at = clock_.now_ms() + 7000;
    EXPECT_EQ(run({"restore", "a", std::to_string(at), payload, "absttl"}), "+OK\r\n");
    EXPECT_EQ(run({"pttl", "a"}), ":7000\r\n");
    // An absolute time already past stores nothing, and REPLACE deletes.
    EXPECT_EQ(run({"restore", "k", "1", payload, "absttl", "replace"}), "+OK\r\n");
    EXPECT_EQ(run({"exists", "k"}), ":0\r\n");
    EXPECT_EQ(run({"restore", "i", "0", payload, "idletime", "1000"}), "+OK\r\n");
    EXPECT_EQ(run({"object", "idletime", "i"}), ":1000\r\n");
    EXPECT_EQ(run({"restore", "f", "0", payload, "freq", "100"}), "+OK\r\n");
}

TEST_F(RespDump, DumpOfAMissingKeyIsNull) {
    EXPECT_EQ(run({"dump", "nope"}), "$-1\r\n");
}

// ---- malformed payloads -----------------------------------------------------

TEST_F(RespDump, ChecksumAndVersionAreChecked) {
    run({"set", "k", "hello"});
    std::string p = dump("k");
    std::string bad_crc = p;
    bad_crc.back() ^= 1;
    EXPECT_EQ(run({"restore", "x", "0", bad_crc}),
              "-ERR DUMP payload version or checksum are wrong\r\n");
    std::string body = p.substr(0, p.size() - 10);
    std::string v11 = body + std::string("\x0b\x00", 2);
    const uint64_t crc = crc64_jones(0, v11);
    for (int i = 0; i < 8; ++i)
        v11 += static_cast<char>((crc >> (8 * i)) & 0xff);
    EXPECT_EQ(run({"restore", "x", "0", v11}),
              "-ERR DUMP payload version or checksum are wrong\r\n");
}

TEST_F(RespDump, MalformedObjectsAreBadDataFormat) {
    const std::vector<std::string> bodies = {
        std::string("\x00", 1),                                       // a string with no length
        std::string("\x00\x05hel", 5),                                // shorter than its length
        std::string("\x00\x05hello!", 8),                             // a byte after the object
        std::string("\x02\x00", 2),                                   // an empty set
        std::string("\x02\x02\x01\x61\x01\x61", 6),                   // a member twice
        std::string("\x04\x01\x01\x66", 4),                           // a field without its value
        std::string("\x0b\x08\x02\x00\x00\x00\x00\x00\x00\x00", 10),  // an empty intset
        std::string("\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00", 14),  // unsorted
        std::string("\x12\x01\x03\x01\x61", 5),                                       // container 3
        std::string("\x12\x01\x02\x07\x07\x00\x00\x00\x01\x00\xff", 11),      // count 1, no entry
        std::string("\x12\x01\x02\x08\x08\x00\x00\x00\x01\x00\x05\xff", 12),  // no backlen
        std::string("\x12\x00", 2),                                           // no node
        std::string("\x00\xc3\x05\x0a\x00\x61\x61\x61\x61", 9),  // LZF that does not decode
        std::string("\x00\xc4", 2),                              // no such string encoding
        std::string("\x08\x00", 2),                              // no such type
    };
    for (const std::string& b : bodies) {
        SCOPED_TRACE(testing::PrintToString(b));
        EXPECT_EQ(run({"restore", "x", "0", with_trailer(b)}), "-ERR Bad data format\r\n");
        EXPECT_EQ(run({"exists", "x"}), ":0\r\n");
    }
}

TEST_F(RespDump, HugeDeclaredLengthsAllocateNothing) {
    // A string claiming 2^63 bytes, LZF claiming 2^40, a set of 2^60.
    const std::vector<std::string> bodies = {
        std::string("\x00\x81\x7f\xff\xff\xff\xff\xff\xff\xff", 10),
        std::string("\x00\xc3\x01\x81\x00\x00\x01\x00\x00\x00\x00\x00\x61", 13),
        std::string("\x02\x81\x10\x00\x00\x00\x00\x00\x00\x00", 10),
    };
    for (const std::string& b : bodies) {
        const std::string r = run({"restore", "x", "0", with_trailer(b)});
        EXPECT_EQ(r, b == bodies[1] ? "-ERR DUMP payload's value exceeds the 1 MiB an item holds "
                                      "(memcached's item limit)\r\n"
                                    : "-ERR Bad data format\r\n");
        EXPECT_EQ(run({"exists", "x"}), ":0\r\n");
    }
}

TEST_F(RespDump, AValuePastTheItemLimitIsRefusedWhole) {
    // A well-formed set of 2,000 members of 600 bytes (1.2 MB): it loads,
    // and cannot be one item; the key is left as it was.
    std::string body("\x02\x47\xd0", 3);  // SET, 2000 (14-bit length)
    for (int i = 0; i < 2000; ++i) {
        std::string m(600, 'm');
        m.replace(0, 4, fmt::format("{:04}", i));
        body += std::string("\x42\x58", 2) + m;  // 600 as a 14-bit length
    }
    run({"set", "x", "old"});
    EXPECT_EQ(run({"restore", "x", "0", with_trailer(body), "replace"}),
              "-ERR collection exceeds the 1 MiB an item holds (memcached's item limit)\r\n");
    EXPECT_EQ(run({"get", "x"}), "$3\r\nold\r\n");
}

TEST_F(RespDump, FlippedBytesNeverCrash) {
    run({"rpush", "l", "a", "12", std::string(100, 'b'), "-5000"});
    run({"hset", "h", "f", "v", "n", "123456789012"});
    run({"sadd", "s", "1", "2", "300000"});
    for (const std::string key : {"l", "h", "s"}) {
        const std::string p = dump(key);
        const std::string body = p.substr(0, p.size() - 10);
        for (size_t i = 0; i < body.size(); ++i) {
            for (const uint8_t x : {0x01, 0x80, 0xff}) {
                std::string b = body;
                b[i] = static_cast<char>(b[i] ^ x);
                const std::string r = run({"restore", "x", "0", with_trailer(b), "replace"});
                EXPECT_TRUE(r == "+OK\r\n" || r[0] == '-') << r;
                run({"del", "x"});
            }
        }
    }
}

// ---- DEBUG RELOAD and DEBUG OBJECT ------------------------------------------

TEST_F(RespDump, ReloadReencodesByTheFreshRule) {
    // A set of integers grown past the intset limit and shrunk back stays
    // hashed (one-way conversion) until a reload.
    settings_.set_max_intset_entries = 4;
    run({"sadd", "s", "1", "2", "3", "4", "5"});
    run({"srem", "s", "5"});
    EXPECT_EQ(encoding("s"), "$9\r\nhashtable\r\n");
    run({"rpush", "l", "a", "b"});
    run({"pexpire", "l", "2500"});
    run({"set", "str", "v"});
    EXPECT_EQ(run({"debug", "reload"}), "+OK\r\n");
    EXPECT_EQ(encoding("s"), "$6\r\nintset\r\n");
    EXPECT_EQ(run({"smembers", "s"}), "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    EXPECT_EQ(run({"pttl", "l"}), ":2500\r\n");
    EXPECT_EQ(run({"lrange", "l", "0", "-1"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"get", "str"}), "$1\r\nv\r\n");
    EXPECT_EQ(run({"debug", "sleep", "0"}).substr(0, 5), "-ERR ");
}

TEST_F(RespDump, ReloadKeepsMemcachedsMetaState) {
    // An invalidated (stale) item stays stale, with its flags, through a
    // reload.
    EXPECT_EQ(mc("set k 42 0 1\r\nv\r\n"), "STORED\r\n");
    EXPECT_EQ(mc("md k I\r\n"), "HD\r\n");
    // The first read of a stale item wins the recache token (W)...
    EXPECT_EQ(mc("mg k v f\r\n"), "VA 1 f42 X W\r\nv\r\n");
    EXPECT_EQ(run({"debug", "reload"}), "+OK\r\n");
    // ...and after the reload it is still stale with the token handed out.
    EXPECT_EQ(mc("mg k v f\r\n"), "VA 1 f42 Z X\r\nv\r\n");
}

TEST_F(RespDump, DebugObjectDescribesTheItem) {
    run({"set", "n", "20000"});
    run({"rpush", "l", "a", "b", "c"});
    const resp::LocalViews v(ctx_);
    const RespReadCtx rc = resp::read_ctx(ctx_, v);
    proto::StringSink out;
    debug_object("n", rc, out);
    EXPECT_EQ(out.out.substr(0, 10), "+Value at:");
    EXPECT_NE(out.out.find(" refcount:1 encoding:int serializedlength:3 lru:"), std::string::npos)
        << out.out;
    out.out.clear();
    debug_object("l", rc, out);
    EXPECT_NE(out.out.find(" encoding:quicklist "), std::string::npos) << out.out;
    EXPECT_NE(out.out.find(" ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 ql_compressed:0 "
                           "ql_uncompressed_size:"),
              std::string::npos)
        << out.out;
    out.out.clear();
    debug_object("none", rc, out);
    EXPECT_EQ(out.out, "-ERR no such key\r\n");
}

TEST_F(RespDump, IncrRewritesInPlaceWhenTheNumberFits) {
    run({"set", "n", "20000"});
    run({"incr", "n"});
    const resp::LocalViews v(ctx_);
    const RespReadCtx rc = resp::read_ctx(ctx_, v);
    const auto address = [&] {
        proto::StringSink out;
        debug_object("n", rc, out);
        return out.out.substr(0, out.out.find(' ', 7));
    };
    const std::string before = address();
    run({"incr", "n"});
    EXPECT_EQ(address(), before);
    EXPECT_EQ(run({"get", "n"}), "$5\r\n20002\r\n");
    run({"incrby", "n", "-20003"});
    EXPECT_EQ(run({"get", "n"}), "$2\r\n-1\r\n");
}

}  // namespace
}  // namespace fulmar::engine
