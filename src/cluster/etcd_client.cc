// etcd v3 over gRPC: the unary calls, the lease keeper and the prefix watch
// (etcd_client.h).
#include "cluster/etcd_client.h"

#include <arpa/inet.h>

#include <ctime>
#include <utility>

#include "cluster/etcd_pb.h"

namespace fulmar::cluster {

struct EtcdChannel {
    std::string target;
    std::chrono::milliseconds call_timeout;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
};

namespace {

EtcdStatus status_of(const grpc::Status& s) {
    switch (s.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
            return EtcdStatus::kUnavailable;
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return EtcdStatus::kDeadline;
        case grpc::StatusCode::CANCELLED:
            return EtcdStatus::kCanceled;
        case grpc::StatusCode::INVALID_ARGUMENT:
            return EtcdStatus::kInvalid;
        case grpc::StatusCode::NOT_FOUND:
            // etcd's ErrGRPCLeaseNotFound: "etcdserver: requested lease not found".
            if (s.error_message().find("lease not found") != std::string::npos) {
                return EtcdStatus::kLeaseNotFound;
            }
            return EtcdStatus::kError;
        case grpc::StatusCode::OUT_OF_RANGE:
            // ErrGRPCCompacted: "etcdserver: mvcc: required revision has been compacted".
            if (s.error_message().find("compacted") != std::string::npos) {
                return EtcdStatus::kCompacted;
            }
            return EtcdStatus::kError;
        default:
            return EtcdStatus::kError;
    }
}

void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

KeyValue kv_of(const mvccpb::KeyValue& kv) {
    return KeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                    kv.mod_revision(), kv.version(), kv.lease()};
}

GetResult get_of(const etcdserverpb::RangeResponse& r) {
    GetResult out;
    out.revision = r.header().revision();
    out.count = r.count();
    out.kvs.reserve(static_cast<size_t>(r.kvs_size()));
    for (const auto& kv : r.kvs())
        out.kvs.push_back(kv_of(kv));
    return out;
}

void fill_compare(const Compare& c, etcdserverpb::Compare* out) {
    out->set_key(c.key);
    switch (c.op) {
        case Compare::Op::kEqual:
            out->set_result(etcdserverpb::Compare::EQUAL);
            break;
        case Compare::Op::kNotEqual:
            out->set_result(etcdserverpb::Compare::NOT_EQUAL);
            break;
        case Compare::Op::kGreater:
            out->set_result(etcdserverpb::Compare::GREATER);
            break;
        case Compare::Op::kLess:
            out->set_result(etcdserverpb::Compare::LESS);
            break;
    }
    switch (c.target) {
        case Compare::Target::kVersion:
            out->set_target(etcdserverpb::Compare::VERSION);
            out->set_version(c.number);
            break;
        case Compare::Target::kCreateRevision:
            out->set_target(etcdserverpb::Compare::CREATE);
            out->set_create_revision(c.number);
            break;
        case Compare::Target::kModRevision:
            out->set_target(etcdserverpb::Compare::MOD);
            out->set_mod_revision(c.number);
            break;
        case Compare::Target::kValue:
            out->set_target(etcdserverpb::Compare::VALUE);
            out->set_value(c.value);
            break;
    }
}

void fill_op(const TxnOp& op, etcdserverpb::RequestOp* out) {
    std::string end = op.range == TxnOp::Range::kPrefix ? prefix_range_end(op.key) : "";
    switch (op.kind) {
        case TxnOp::Kind::kPut: {
            auto* put = out->mutable_request_put();
            put->set_key(op.key);
            put->set_value(op.value);
            put->set_lease(op.lease);
            break;
        }
        case TxnOp::Kind::kGet: {
            auto* range = out->mutable_request_range();
            range->set_key(op.key);
            range->set_range_end(end);
            break;
        }
        case TxnOp::Kind::kDelete: {
            auto* del = out->mutable_request_delete_range();
            del->set_key(op.key);
            del->set_range_end(end);
            break;
        }
    }
}

bool is_ipv4_endpoint(std::string_view ep) {
    auto colon = ep.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == ep.size()) return false;
    std::string host(ep.substr(0, colon));
    in_addr addr{};
    return ::inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool is_ipv6_endpoint(std::string_view ep) {
    // "[::1]:2379"
    auto close = ep.find("]:");
    if (ep.empty() || ep[0] != '[' || close == std::string_view::npos) return false;
    std::string host(ep.substr(1, close - 1));
    in6_addr addr{};
    return ::inet_pton(AF_INET6, host.c_str(), &addr) == 1 && close + 2 < ep.size();
}

}  // namespace

Result<std::string, EtcdStatus> etcd_target(const std::vector<std::string>& endpoints) {
    if (endpoints.empty()) return Err{EtcdStatus::kInvalid};
    std::vector<std::string_view> bare;
    for (const auto& ep : endpoints) {
        std::string_view e = ep;
        if (e.starts_with("https://")) return Err{EtcdStatus::kInvalid};  // no TLS here
        if (e.starts_with("http://")) e.remove_prefix(7);
        while (!e.empty() && e.back() == '/')
            e.remove_suffix(1);
        if (e.empty() || e.find_first_of(", /") != std::string_view::npos) {
            return Err{EtcdStatus::kInvalid};
        }
        bare.push_back(e);
    }
    bool all_v4 = true;
    bool all_v6 = true;
    for (auto e : bare) {
        all_v4 = all_v4 && is_ipv4_endpoint(e);
        all_v6 = all_v6 && is_ipv6_endpoint(e);
    }
    if (all_v4 || all_v6) {
        std::string target = all_v4 ? "ipv4:" : "ipv6:";
        for (size_t i = 0; i < bare.size(); ++i) {
            if (i > 0) target += ',';
            target += bare[i];
        }
        return target;
    }
    // A name: DNS may give several addresses; several names are not one
    // gRPC target, so a cluster is given by its members' addresses.
    if (bare.size() > 1 || bare[0].find(':') == std::string_view::npos) {
        return Err{EtcdStatus::kInvalid};
    }
    return "dns:///" + std::string(bare[0]);
}

// ---- EtcdClient: unary calls ---------------------------------------------

Result<std::unique_ptr<EtcdClient>, EtcdStatus> EtcdClient::create(const EtcdOptions& options) {
    auto target = etcd_target(options.endpoints);
    if (!target) return Err{target.error()};
    if (options.call_timeout.count() <= 0) return Err{EtcdStatus::kInvalid};
    grpc::ChannelArguments args;
    args.SetLoadBalancingPolicyName("round_robin");
    // A restarted etcd must be found again within a fraction of a lease TTL,
    // not after gRPC's default backoff (1 s growing to 120 s). MIN_RECONNECT
    // is really the connect timeout (default 20 s): a connect that hangs
    // (a blackholed member) must give way to the next try within a second.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Detects a member that vanished without closing the connection (a cut
    // link) on idle watch streams. etcd rejects pings more often than every
    // 5 s (--grpc-keepalive-min-time) with GOAWAY, so not below that.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    auto ch = std::make_shared<EtcdChannel>();
    ch->target = std::move(target.value());
    ch->call_timeout = options.call_timeout;
    ch->channel = grpc::CreateCustomChannel(ch->target, grpc::InsecureChannelCredentials(), args);
    ch->kv = etcdserverpb::KV::NewStub(ch->channel);
    ch->lease = etcdserverpb::Lease::NewStub(ch->channel);
    ch->watch = etcdserverpb::Watch::NewStub(ch->channel);
    return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(ch)));
}

EtcdClient::EtcdClient(std::shared_ptr<EtcdChannel> channel) : channel_(std::move(channel)) {}
EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::target() const {
    return channel_->target;
}

#define FULMAR_ETCD_CALL(stub, method, req, resp)                   \
    grpc::ClientContext ctx;                                        \
    set_deadline(ctx, channel_->call_timeout);                      \
    grpc::Status st = channel_->stub->method(&ctx, (req), &(resp)); \
    if (!st.ok()) {                                                 \
        last_error_ = st.error_message();                           \
        return Err{status_of(st)};                                  \
    }

Result<int64_t, EtcdStatus> EtcdClient::put(std::string_view key, std::string_view value,
                                            int64_t lease) {
    etcdserverpb::PutRequest req;
    req.set_key(std::string(key));
    req.set_value(std::string(value));
    req.set_lease(lease);
    etcdserverpb::PutResponse resp;
    FULMAR_ETCD_CALL(kv, Put, req, resp);
    return resp.header().revision();
}

Result<GetResult, EtcdStatus> EtcdClient::get(std::string_view key, int64_t revision) {
    etcdserverpb::RangeRequest req;
    req.set_key(std::string(key));
    req.set_revision(revision);
    etcdserverpb::RangeResponse resp;
    FULMAR_ETCD_CALL(kv, Range, req, resp);
    return get_of(resp);
}

Result<GetResult, EtcdStatus> EtcdClient::get_prefix(std::string_view prefix, int64_t revision) {
    etcdserverpb::RangeRequest req;
    req.set_key(std::string(prefix));
    req.set_range_end(prefix_range_end(prefix));
    req.set_revision(revision);
    etcdserverpb::RangeResponse resp;
    FULMAR_ETCD_CALL(kv, Range, req, resp);
    return get_of(resp);
}

Result<int64_t, EtcdStatus> EtcdClient::del(std::string_view key) {
    etcdserverpb::DeleteRangeRequest req;
    req.set_key(std::string(key));
    etcdserverpb::DeleteRangeResponse resp;
    FULMAR_ETCD_CALL(kv, DeleteRange, req, resp);
    return resp.deleted();
}

Result<int64_t, EtcdStatus> EtcdClient::del_prefix(std::string_view prefix) {
    etcdserverpb::DeleteRangeRequest req;
    req.set_key(std::string(prefix));
    req.set_range_end(prefix_range_end(prefix));
    etcdserverpb::DeleteRangeResponse resp;
    FULMAR_ETCD_CALL(kv, DeleteRange, req, resp);
    return resp.deleted();
}

Result<TxnResult, EtcdStatus> EtcdClient::txn(const TxnRequest& request) {
    etcdserverpb::TxnRequest req;
    for (const auto& c : request.compares)
        fill_compare(c, req.add_compare());
    for (const auto& op : request.success)
        fill_op(op, req.add_success());
    for (const auto& op : request.failure)
        fill_op(op, req.add_failure());
    etcdserverpb::TxnResponse resp;
    FULMAR_ETCD_CALL(kv, Txn, req, resp);
    TxnResult out;
    out.succeeded = resp.succeeded();
    out.revision = resp.header().revision();
    for (const auto& r : resp.responses()) {
        if (r.has_response_range()) out.gets.push_back(get_of(r.response_range()));
    }
    return out;
}

Result<LeaseGrant, EtcdStatus> EtcdClient::lease_grant(int64_t ttl_s) {
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(ttl_s);
    etcdserverpb::LeaseGrantResponse resp;
    FULMAR_ETCD_CALL(lease, LeaseGrant, req, resp);
    if (!resp.error().empty()) {
        last_error_ = resp.error();
        return Err{EtcdStatus::kError};
    }
    return LeaseGrant{resp.id(), resp.ttl()};
}

Result<int64_t, EtcdStatus> EtcdClient::lease_revoke(int64_t lease) {
    etcdserverpb::LeaseRevokeRequest req;
    req.set_id(lease);
    etcdserverpb::LeaseRevokeResponse resp;
    FULMAR_ETCD_CALL(lease, LeaseRevoke, req, resp);
    return resp.header().revision();
}

#undef FULMAR_ETCD_CALL

namespace {

// One keepalive round trip on a short stream of its own, bounded by the
// deadline: a long-lived stream's Read cannot be given one, and a renewal
// that hangs is worse than one that fails.
Result<int64_t, EtcdStatus> keepalive_round(EtcdChannel& ch, int64_t lease, std::string* why) {
    grpc::ClientContext ctx;
    set_deadline(ctx, ch.call_timeout);
    // Wait (until the deadline) for a connection rather than fail at once.
    // With the synchronous API, gRPC makes connection progress only while
    // some thread waits in a call (else every 5 s, its backup poller): the
    // keeper's rounds are what reconnects the channel after an etcd restart
    // quickly, so that the primary renews and unfences in about a second.
    ctx.set_wait_for_ready(true);
    auto stream = ch.lease->LeaseKeepAlive(&ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(lease);
    etcdserverpb::LeaseKeepAliveResponse resp;
    bool got = stream->Write(req) && stream->Read(&resp);
    if (got) {
        // The reply is in; end the stream without waiting on etcd's side.
        ctx.TryCancel();
        stream->Finish().ok();
        // etcd answers TTL 0 (not an error) for a lease that has expired.
        if (resp.ttl() <= 0) return Err{EtcdStatus::kLeaseNotFound};
        return resp.ttl();
    }
    grpc::Status st = stream->Finish();
    if (why != nullptr) *why = st.error_message();
    if (st.ok()) return Err{EtcdStatus::kUnavailable};  // closed without a reply
    return Err{status_of(st)};
}

}  // namespace

Result<int64_t, EtcdStatus> EtcdClient::lease_keepalive_once(int64_t lease) {
    return keepalive_round(*channel_, lease, &last_error_);
}

std::unique_ptr<LeaseKeeper> EtcdClient::keep_alive(
    int64_t lease, std::chrono::milliseconds period,
    std::shared_ptr<EventQueue<KeepAliveReport>> out) {
    return std::make_unique<LeaseKeeper>(channel_, lease, period, std::move(out));
}

std::unique_ptr<EtcdWatch> EtcdClient::watch_prefix(std::string prefix, int64_t start_revision,
                                                    uint64_t tag,
                                                    std::shared_ptr<EventQueue<WatchReport>> out) {
    return std::make_unique<EtcdWatch>(channel_, std::move(prefix), start_revision, tag,
                                       std::move(out));
}

// ---- LeaseKeeper -----------------------------------------------------------

LeaseKeeper::LeaseKeeper(std::shared_ptr<EtcdChannel> channel, int64_t lease,
                         std::chrono::milliseconds period,
                         std::shared_ptr<EventQueue<KeepAliveReport>> out)
    : channel_(std::move(channel)),
      lease_(lease),
      period_(period),
      reports_(out ? std::move(out) : std::make_shared<EventQueue<KeepAliveReport>>()) {
    thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void LeaseKeeper::run() {
    for (;;) {
        KeepAliveReport report;
        report.lease = lease_;
        report.sent_ms = mono_now_ms();
        auto next = std::chrono::steady_clock::now() + period_;
        auto r = keepalive_round(*channel_, lease_, nullptr);
        report.ok = r.ok();
        if (r.ok()) {
            report.ttl_s = r.value();
        } else {
            report.error = r.error();
        }
        reports_->push(report);
        if (!r.ok() && r.error() == EtcdStatus::kLeaseNotFound) return;  // nothing left to keep
        std::unique_lock lock(mu_);
        if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
}

// ---- EtcdWatch -------------------------------------------------------------

struct EtcdWatch::Stream {
    grpc::ClientContext ctx;
};

EtcdWatch::EtcdWatch(std::shared_ptr<EtcdChannel> channel, std::string prefix,
                     int64_t start_revision, uint64_t tag,
                     std::shared_ptr<EventQueue<WatchReport>> out)
    : channel_(std::move(channel)),
      prefix_(std::move(prefix)),
      start_revision_(start_revision),
      tag_(tag),
      reports_(out ? std::move(out) : std::make_shared<EventQueue<WatchReport>>()) {
    thread_ = std::thread([this] { run(); });
}

EtcdWatch::~EtcdWatch() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
        if (stream_ != nullptr) stream_->ctx.TryCancel();
    }
    cv_.notify_all();
    thread_.join();
}

void EtcdWatch::run() {
    int64_t next_revision = start_revision_;
    bool reported_broken = false;
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
        auto started = std::chrono::steady_clock::now();
        if (!follow(next_revision, reported_broken)) return;
        // A stream that lived a while was healthy: start backing off afresh.
        if (std::chrono::steady_clock::now() - started > std::chrono::seconds(2)) {
            backoff = std::chrono::milliseconds(100);
        }
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, backoff, [this] { return stop_; })) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
}

bool EtcdWatch::follow(int64_t& next_revision, bool& reported_broken) {
    Stream stream;
    {
        std::lock_guard lock(mu_);
        if (stop_) return false;
        stream_ = &stream;
    }
    // Wait for a connection instead of failing at once (and, waiting,
    // drive the reconnect: see keepalive_round); ~EtcdWatch cancels.
    stream.ctx.set_wait_for_ready(true);
    auto rw = channel_->watch->Watch(&stream.ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(prefix_range_end(prefix_));
    create->set_start_revision(next_revision);
    bool keep_going = true;
    bool left_live = false;  // we stopped reading a live stream: it must be cancelled
    if (rw->Write(req)) {
        etcdserverpb::WatchResponse resp;
        while (rw->Read(&resp)) {
            if (resp.compact_revision() != 0) {
                WatchReport r;
                r.kind = WatchReport::Kind::kCompacted;
                r.revision = resp.compact_revision();
                r.error = EtcdStatus::kCompacted;
                r.tag = tag_;
                reports_->push(std::move(r));
                keep_going = false;
                left_live = true;
                break;
            }
            if (resp.created()) {
                // Watching from "now" (0) resumes after the revision etcd had.
                if (next_revision == 0) next_revision = resp.header().revision() + 1;
                reported_broken = false;
                WatchReport r;
                r.kind = WatchReport::Kind::kConnected;
                r.revision = resp.header().revision();
                r.tag = tag_;
                reports_->push(std::move(r));
            }
            if (resp.canceled()) {  // etcd dropped it (not compaction): re-create
                left_live = true;
                break;
            }
            if (resp.events_size() == 0) continue;
            WatchReport r;
            r.kind = WatchReport::Kind::kEvents;
            r.revision = resp.header().revision();
            r.events.reserve(static_cast<size_t>(resp.events_size()));
            for (const auto& ev : resp.events()) {
                WatchEvent e;
                e.type = ev.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete
                                                            : WatchEvent::Type::kPut;
                e.kv = kv_of(ev.kv());
                next_revision = std::max(next_revision, ev.kv().mod_revision() + 1);
                r.events.push_back(std::move(e));
            }
            r.tag = tag_;
            reports_->push(std::move(r));
        }
    }
    // Finish waits for etcd to close a stream we leave while it is live.
    if (left_live) stream.ctx.TryCancel();
    grpc::Status st = rw->Finish();
    bool stopping;
    {
        std::lock_guard lock(mu_);
        stream_ = nullptr;
        stopping = stop_;
    }
    if (stopping) return false;
    if (keep_going && !reported_broken) {
        WatchReport r;
        r.kind = WatchReport::Kind::kBroken;
        r.error = st.ok() ? EtcdStatus::kUnavailable : status_of(st);
        r.tag = tag_;
        reports_->push(std::move(r));
        reported_broken = true;
    }
    return keep_going;
}

}  // namespace fulmar::cluster
