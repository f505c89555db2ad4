// FakeEtcd: an in-memory etcd for the partition agent's unit tests — keys
// with revisions and versions, leases that expire on a hand-driven clock,
// Txn compares as etcd evaluates them, an event log for watches — and
// FakeStore, one node's ClusterStore on it, whose keeper and watch the test
// drives by step(). etcd can be down (every call fails, leases neither expire
// nor renew, and on restart every lease gets its TTL afresh, as etcd does on
// a new leader) and one node can be cut off from it.
//
// Test thread only.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cluster/partition_agent.h"

namespace fulmar::cluster::testing {

class FakeEtcd {
  public:
    struct Lease {
        int64_t ttl_s = 0;
        int64_t expiry_ms = 0;
    };

    int64_t now_ms = 1'000'000;
    bool up = true;
    int64_t revision = 1;
    std::map<int64_t, Lease> leases;
    std::map<std::string, KeyValue> kvs;
    std::vector<WatchEvent> log;  // every event, revision order

    void expire() {
        if (!up) return;
        std::vector<int64_t> due;
        for (const auto& [id, l] : leases) {
            if (l.expiry_ms <= now_ms) due.push_back(id);
        }
        for (int64_t id : due)
            revoke(id);
    }
    bool revoke(int64_t id) {
        if (leases.erase(id) == 0) return false;
        bool wrote = false;
        for (auto it = kvs.begin(); it != kvs.end();) {
            if (it->second.lease != id) {
                ++it;
                continue;
            }
            if (!wrote) ++revision;
            wrote = true;
            remove_event(it->first);
            it = kvs.erase(it);
        }
        return true;
    }
    void restart() {
        up = true;
        for (auto& [id, l] : leases)
            l.expiry_ms = now_ms + l.ttl_s * 1000;
    }
    int64_t grant(int64_t ttl_s) {
        int64_t id = next_lease_++;
        leases[id] = Lease{ttl_s, now_ms + ttl_s * 1000};
        return id;
    }
    const KeyValue* find(const std::string& key) const {
        auto it = kvs.find(key);
        return it == kvs.end() ? nullptr : &it->second;
    }
    // Write at the current revision (the caller bumped it once per request).
    void write(const std::string& key, const std::string& value, int64_t lease) {
        KeyValue& kv = kvs[key];
        if (kv.version == 0) kv.create_revision = revision;
        kv.key = key;
        kv.value = value;
        kv.lease = lease;
        kv.mod_revision = revision;
        kv.version++;
        log.push_back(WatchEvent{WatchEvent::Type::kPut, kv});
    }
    void remove_event(const std::string& key) {
        KeyValue gone;
        gone.key = key;
        gone.mod_revision = revision;
        log.push_back(WatchEvent{WatchEvent::Type::kDelete, gone});
    }
    bool compare(const Compare& c) const {
        const KeyValue* kv = find(c.key);
        if (c.target == Compare::Target::kValue) {
            if (kv == nullptr) return false;  // etcd: VALUE on an absent key fails
            int r = kv->value.compare(c.value);
            return apply(c.op, r < 0 ? -1 : (r > 0 ? 1 : 0));
        }
        int64_t have = 0;
        if (kv != nullptr) {
            have = c.target == Compare::Target::kVersion          ? kv->version
                   : c.target == Compare::Target::kCreateRevision ? kv->create_revision
                                                                  : kv->mod_revision;
        }
        return apply(c.op, have < c.number ? -1 : (have > c.number ? 1 : 0));
    }
    static bool apply(Compare::Op op, int cmp) {
        switch (op) {
            case Compare::Op::kEqual:
                return cmp == 0;
            case Compare::Op::kNotEqual:
                return cmp != 0;
            case Compare::Op::kGreater:
                return cmp > 0;
            case Compare::Op::kLess:
                return cmp < 0;
        }
        return false;
    }
    GetResult range(const std::string& key, bool prefix) const {
        GetResult g;
        g.revision = revision;
        for (const auto& [k, kv] : kvs) {
            if (prefix ? k.starts_with(key) : k == key) g.kvs.push_back(kv);
        }
        g.count = static_cast<int64_t>(g.kvs.size());
        return g;
    }

  private:
    int64_t next_lease_ = 0x1000;
};

class FakeStore final : public ClusterStore {
  public:
    explicit FakeStore(FakeEtcd& etcd) : e_(etcd) {}

    bool reachable = true;  // false: this node is cut off from etcd
    int64_t kept_lease = 0;
    bool watching = false;
    int watches = 0;  // watch() calls: the first, and one per re-read

    bool ok() const { return e_.up && reachable; }

    Result<LeaseGrant, EtcdStatus> lease_grant(int64_t ttl_s) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        return LeaseGrant{e_.grant(ttl_s), ttl_s};
    }
    Result<int64_t, EtcdStatus> lease_revoke(int64_t lease) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        if (!e_.revoke(lease)) return Err{EtcdStatus::kLeaseNotFound};
        return e_.revision;
    }
    Result<GetResult, EtcdStatus> get_prefix(std::string_view prefix) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        return e_.range(std::string(prefix), true);
    }
    Result<int64_t, EtcdStatus> put(std::string_view key, std::string_view value,
                                    int64_t lease) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        if (lease != 0 && e_.leases.count(lease) == 0) return Err{EtcdStatus::kLeaseNotFound};
        ++e_.revision;
        e_.write(std::string(key), std::string(value), lease);
        return e_.revision;
    }
    Result<int64_t, EtcdStatus> del(std::string_view key) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        if (e_.find(std::string(key)) == nullptr) return int64_t{0};
        ++e_.revision;
        e_.remove_event(std::string(key));
        e_.kvs.erase(std::string(key));
        return int64_t{1};
    }
    Result<TxnResult, EtcdStatus> txn(const TxnRequest& request) override {
        if (!ok()) return Err{EtcdStatus::kUnavailable};
        bool pass = std::all_of(request.compares.begin(), request.compares.end(),
                                [&](const Compare& c) { return e_.compare(c); });
        const auto& ops = pass ? request.success : request.failure;
        for (const auto& op : ops) {
            if (op.kind == TxnOp::Kind::kPut && op.lease != 0 && e_.leases.count(op.lease) == 0) {
                return Err{EtcdStatus::kLeaseNotFound};
            }
        }
        bool writes = std::any_of(ops.begin(), ops.end(),
                                  [](const TxnOp& op) { return op.kind != TxnOp::Kind::kGet; });
        if (writes) ++e_.revision;
        TxnResult out;
        out.succeeded = pass;
        for (const auto& op : ops) {
            bool prefix = op.range == TxnOp::Range::kPrefix;
            switch (op.kind) {
                case TxnOp::Kind::kGet:
                    out.gets.push_back(e_.range(op.key, prefix));
                    break;
                case TxnOp::Kind::kPut:
                    e_.write(op.key, op.value, op.lease);
                    break;
                case TxnOp::Kind::kDelete:
                    for (const auto& kv : e_.range(op.key, prefix).kvs) {
                        e_.remove_event(kv.key);
                        e_.kvs.erase(kv.key);
                    }
                    break;
            }
        }
        out.revision = e_.revision;
        return out;
    }
    void keep_alive(int64_t lease, std::chrono::milliseconds period) override {
        kept_lease = lease;
        period_ms_ = period.count();
        next_send_ms_ = e_.now_ms;  // the real keeper's first round is at once
    }
    void watch(std::string_view prefix, int64_t start_revision) override {
        watching = true;
        ++watches;
        watch_prefix_ = std::string(prefix);
        cursor_ = start_revision;
        broken_ = false;
    }

    // What the keeper and watch threads would have reported by now.
    void step(PartitionAgent& agent) {
        int64_t now = e_.now_ms;
        if (kept_lease != 0 && now >= next_send_ms_) {
            next_send_ms_ = now + period_ms_;
            KeepAliveReport r;
            r.lease = kept_lease;
            r.sent_ms = now;
            auto it = e_.leases.find(kept_lease);
            if (!ok()) {
                r.error = EtcdStatus::kUnavailable;
            } else if (it == e_.leases.end()) {
                r.error = EtcdStatus::kLeaseNotFound;
                kept_lease = 0;  // the keeper stops
            } else {
                it->second.expiry_ms = now + it->second.ttl_s * 1000;
                r.ok = true;
                r.ttl_s = it->second.ttl_s;
            }
            agent.on_keepalive(r, now);
        }
        if (!watching) return;
        if (!ok()) {
            if (!broken_) {
                broken_ = true;
                WatchReport r;
                r.kind = WatchReport::Kind::kBroken;
                r.error = EtcdStatus::kUnavailable;
                agent.on_watch(r, now);
            }
            return;
        }
        if (broken_) {
            broken_ = false;
            WatchReport r;
            r.kind = WatchReport::Kind::kConnected;
            r.revision = e_.revision;
            agent.on_watch(r, now);
        }
        WatchReport r;
        r.revision = e_.revision;
        for (const auto& ev : e_.log) {
            if (ev.kv.mod_revision >= cursor_ && ev.kv.key.starts_with(watch_prefix_)) {
                r.events.push_back(ev);
            }
        }
        if (r.events.empty()) return;
        cursor_ = e_.revision + 1;
        agent.on_watch(r, now);
    }

  private:
    FakeEtcd& e_;
    int64_t period_ms_ = 1000;
    int64_t next_send_ms_ = 0;
    std::string watch_prefix_;
    int64_t cursor_ = 0;
    bool broken_ = false;
};

}  // namespace fulmar::cluster::testing
