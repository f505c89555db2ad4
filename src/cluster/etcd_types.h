// The etcd v3 data model as plain C++ values: keys, revisions, leases, Txn
// compares and operations, watch events, and the status every call returns.
//
// Any thread (values only). Kept apart from etcd_client.h so that the
// partition agent and its unit tests (src/cluster/partition_agent.h, a fake
// store) use the same types without gRPC or protobuf.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fulmar::cluster {

enum class EtcdStatus : uint8_t {
    kUnavailable,    // no endpoint answered (etcd down, connection refused)
    kDeadline,       // the call's deadline passed
    kLeaseNotFound,  // the lease named in a Put, Txn or keepalive has expired
    kCompacted,      // a Get or Watch at a revision etcd has compacted away
    kInvalid,        // a request etcd rejected as malformed (bad key, too many ops)
    kCanceled,       // the call was cancelled (the client is shutting down)
    kError,          // anything else etcd or gRPC reported
};

std::string_view etcd_status_name(EtcdStatus status);

// Revisions and versions as etcd gives them: revisions are cluster-wide and
// grow with every write; version counts writes to one key since its creation
// (0: absent).
struct KeyValue {
    std::string key;
    std::string value;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    int64_t version = 0;
    int64_t lease = 0;  // 0: no lease
};

struct GetResult {
    std::vector<KeyValue> kvs;
    int64_t revision = 0;  // the store's revision the read saw
    int64_t count = 0;     // keys in range (kvs may be fewer under a limit)
};

// One compare of a Txn. MOD revision == 0 means "the key does not exist":
// create-if-absent. etcd fails a VALUE compare on an absent key.
struct Compare {
    enum class Target : uint8_t { kVersion, kCreateRevision, kModRevision, kValue };
    enum class Op : uint8_t { kEqual, kNotEqual, kGreater, kLess };
    std::string key;
    Target target = Target::kModRevision;
    Op op = Op::kEqual;
    int64_t number = 0;  // for kVersion, kCreateRevision, kModRevision
    std::string value;   // for kValue

    static Compare mod_revision(std::string key, Op op, int64_t rev) {
        return {std::move(key), Target::kModRevision, op, rev, {}};
    }
    static Compare version(std::string key, Op op, int64_t v) {
        return {std::move(key), Target::kVersion, op, v, {}};
    }
    static Compare value_is(std::string key, Op op, std::string v) {
        return {std::move(key), Target::kValue, op, 0, std::move(v)};
    }
};

// One operation of a Txn branch. A prefix range covers every key that starts
// with `key`.
struct TxnOp {
    enum class Kind : uint8_t { kPut, kGet, kDelete };
    enum class Range : uint8_t { kKey, kPrefix };
    Kind kind = Kind::kGet;
    std::string key;
    std::string value;  // kPut
    int64_t lease = 0;  // kPut
    Range range = Range::kKey;

    static TxnOp put(std::string key, std::string value, int64_t lease = 0) {
        return {Kind::kPut, std::move(key), std::move(value), lease, Range::kKey};
    }
    static TxnOp get(std::string key, Range range = Range::kKey) {
        return {Kind::kGet, std::move(key), {}, 0, range};
    }
    static TxnOp del(std::string key, Range range = Range::kKey) {
        return {Kind::kDelete, std::move(key), {}, 0, range};
    }
};

struct TxnRequest {
    std::vector<Compare> compares;
    std::vector<TxnOp> success;
    std::vector<TxnOp> failure;
};

struct TxnResult {
    bool succeeded = false;
    int64_t revision = 0;
    // One entry per kGet of the branch that ran, in order.
    std::vector<GetResult> gets;
};

struct LeaseGrant {
    int64_t id = 0;
    int64_t ttl_s = 0;  // what etcd granted (it may raise a short TTL)
};

struct WatchEvent {
    enum class Type : uint8_t { kPut, kDelete };
    Type type = Type::kPut;
    KeyValue kv;  // for kDelete: key and mod_revision (the delete's revision)
};

// Milliseconds of CLOCK_MONOTONIC: the keeper's send times, the agent's fence.
int64_t mono_now_ms();

// One keepalive round trip's outcome, as the keeper thread saw it.
struct KeepAliveReport {
    int64_t lease = 0;
    int64_t sent_ms = 0;  // mono_now_ms() just before the request was sent
    bool ok = false;
    int64_t ttl_s = 0;                      // ok: the TTL etcd restarted the lease with
    EtcdStatus error = EtcdStatus::kError;  // !ok: why (kLeaseNotFound: it expired)
};

// What a prefix watch tells its owner.
struct WatchReport {
    enum class Kind : uint8_t {
        kEvents,     // events, in revision order
        kConnected,  // the stream is (again) established; revision = etcd's then
        kBroken,     // the stream failed (error says why); it is being re-created
                     // from the last seen revision + 1, nothing is lost
        kCompacted,  // the revision to resume from is compacted away: the watch
                     // has stopped; re-read the prefix and watch anew
    };
    Kind kind = Kind::kEvents;
    uint64_t tag = 0;  // the EtcdWatch's tag: tells a replaced watch's reports apart
    std::vector<WatchEvent> events;
    int64_t revision = 0;
    EtcdStatus error = EtcdStatus::kError;
};

// The smallest key greater than every key that starts with `prefix`: etcd's
// range_end for a prefix read ("\0" for an empty prefix: all keys).
std::string prefix_range_end(std::string_view prefix);

}  // namespace fulmar::cluster
