// A thin, synchronous etcd v3 client over gRPC (etcd's native API): KV
// Put/Range/DeleteRange, Txn, leases, and two background helpers, a lease
// keeper and a prefix watch, for the partition agent (partition_agent.h).
//
// Threads: an EtcdClient belongs to one owner thread (the control plane's
// epoll loop). Every call carries a deadline (EtcdOptions::call_timeout), so
// the owner never blocks for longer, whatever etcd does; no exception leaves
// the client. The long-lived work, renewing a lease every few seconds and
// following a watch stream, runs on a thread per LeaseKeeper / EtcdWatch,
// which hands results back through an EventQueue: the owner polls its
// eventfd in epoll and drains it. Unary calls fail at once while the channel
// has no connection (etcd down); keepalive rounds and watches wait for one,
// which is also what drives gRPC to reconnect (etcd_client.cc).
//
// Why gRPC: Debian packages no C++ etcd client, and the HTTP/JSON gateway
// (base64 keys, defaults omitted, a connection per watch, a POST per
// keepalive) proved fragile for watches and leases. The protobuf code is
// generated at build time from etcd's own protos (tools/etcd-protos.sh); this
// header exposes none of it.
//
// Endpoints: "host:port" or "http://host:port", one or several (the members
// of one etcd cluster). Several numeric addresses become one gRPC target
// ("ipv4:a:p,b:p"), balanced round robin over the members that answer, so a
// dead member is skipped; a single name is resolved by DNS.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/etcd_types.h"
#include "cluster/event_queue.h"
#include "common/result.h"

namespace fulmar::cluster {

struct EtcdOptions {
    std::vector<std::string> endpoints;
    // Deadline of every unary call and of each keepalive round trip.
    std::chrono::milliseconds call_timeout{500};
};

// The gRPC channel and stubs, shared by a client and its keepers and watches
// (each may outlive the others).
struct EtcdChannel;

// Renews one lease every `period` on its own thread, one short keepalive
// stream per round, each bounded by the call timeout (so a dead etcd shows
// as a failed round, never a hang). Stops renewing once etcd says the lease
// is gone. Owner thread: construct, drain reports(), destroy (joins; at most
// one call timeout). Reports go to `out` when given (one queue, one eventfd
// for the successive keepers of an owner), else to a queue of its own.
class LeaseKeeper {
  public:
    LeaseKeeper(std::shared_ptr<EtcdChannel> channel, int64_t lease,
                std::chrono::milliseconds period,
                std::shared_ptr<EventQueue<KeepAliveReport>> out = nullptr);
    ~LeaseKeeper();
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    int64_t lease() const { return lease_; }
    EventQueue<KeepAliveReport>& reports() { return *reports_; }

  private:
    void run();

    std::shared_ptr<EtcdChannel> channel_;
    int64_t lease_;
    std::chrono::milliseconds period_;
    std::shared_ptr<EventQueue<KeepAliveReport>> reports_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

// Watches every key under a prefix from a revision on, on its own thread.
// The stream waits for a connection (no report until there is one); after
// an established stream fails it reports kBroken and is re-created (after
// 100 ms to 1 s) from the revision after the last event seen. Owner thread: construct, drain
// reports(), destroy (cancels the stream and joins). Reports go to `out` when
// given, else to a queue of its own; each carries `tag`.
class EtcdWatch {
  public:
    EtcdWatch(std::shared_ptr<EtcdChannel> channel, std::string prefix, int64_t start_revision,
              uint64_t tag = 0, std::shared_ptr<EventQueue<WatchReport>> out = nullptr);
    ~EtcdWatch();
    EtcdWatch(const EtcdWatch&) = delete;
    EtcdWatch& operator=(const EtcdWatch&) = delete;

    EventQueue<WatchReport>& reports() { return *reports_; }

  private:
    struct Stream;
    void run();
    // One stream's life; false when the watch must stop (stop or compacted).
    bool follow(int64_t& next_revision, bool& reported_broken);

    std::shared_ptr<EtcdChannel> channel_;
    std::string prefix_;
    int64_t start_revision_;
    uint64_t tag_;
    std::shared_ptr<EventQueue<WatchReport>> reports_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    Stream* stream_ = nullptr;  // the live stream, to cancel it from ~EtcdWatch (under mu_)
    std::thread thread_;
};

class EtcdClient {
  public:
    // Validates the endpoints and builds the channel; connects lazily, so an
    // etcd that is down is not an error here. Errors: kInvalid (no endpoint,
    // https, or several endpoints that are not all numeric addresses).
    static Result<std::unique_ptr<EtcdClient>, EtcdStatus> create(const EtcdOptions& options);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // The etcd revision after the write.
    Result<int64_t, EtcdStatus> put(std::string_view key, std::string_view value,
                                    int64_t lease = 0);
    // revision 0: the latest.
    Result<GetResult, EtcdStatus> get(std::string_view key, int64_t revision = 0);
    Result<GetResult, EtcdStatus> get_prefix(std::string_view prefix, int64_t revision = 0);
    // How many keys were deleted.
    Result<int64_t, EtcdStatus> del(std::string_view key);
    Result<int64_t, EtcdStatus> del_prefix(std::string_view prefix);
    Result<TxnResult, EtcdStatus> txn(const TxnRequest& request);

    Result<LeaseGrant, EtcdStatus> lease_grant(int64_t ttl_s);
    // The revision after the revoke (which deletes the lease's keys).
    Result<int64_t, EtcdStatus> lease_revoke(int64_t lease);
    // One keepalive round trip: the TTL the lease was restarted with;
    // kLeaseNotFound when it has expired.
    Result<int64_t, EtcdStatus> lease_keepalive_once(int64_t lease);

    std::unique_ptr<LeaseKeeper> keep_alive(
        int64_t lease, std::chrono::milliseconds period,
        std::shared_ptr<EventQueue<KeepAliveReport>> out = nullptr);
    std::unique_ptr<EtcdWatch> watch_prefix(std::string prefix, int64_t start_revision,
                                            uint64_t tag = 0,
                                            std::shared_ptr<EventQueue<WatchReport>> out = nullptr);

    // gRPC's message for the last failed call on this client, for logs.
    const std::string& last_error() const { return last_error_; }
    // The gRPC target the endpoints became ("ipv4:127.0.0.1:2379,...").
    const std::string& target() const;

  private:
    explicit EtcdClient(std::shared_ptr<EtcdChannel> channel);

    std::shared_ptr<EtcdChannel> channel_;
    std::string last_error_;
};

// The gRPC target for a list of endpoints, or kInvalid (exposed for tests).
Result<std::string, EtcdStatus> etcd_target(const std::vector<std::string>& endpoints);

}  // namespace fulmar::cluster
