// The partition agent's state machine (partition_agent.h).
#include "cluster/partition_agent.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace fulmar::cluster {

namespace {

bool parse_u64(std::string_view text, uint64_t& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

bool has_space(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

}  // namespace

std::string agent_config_error(const AgentConfig& config) {
    if (config.root.empty() || config.root.back() != '/') return "root must end with '/'";
    if (config.partition.empty() || config.partition.find('/') != std::string::npos ||
        has_space(config.partition)) {
        return "partition name must be non-empty, without '/' or white space";
    }
    if (config.node_id.empty() || config.node_id.find('/') != std::string::npos ||
        has_space(config.node_id)) {
        return "node id must be non-empty, without '/' or white space";
    }
    if (config.address.empty() || has_space(config.address)) {
        return "address must be non-empty, without white space";
    }
    if (config.ttl < std::chrono::seconds(1)) return "lease TTL must be at least 1 s";
    if (config.fence_margin.count() < 0 || config.fence_margin >= config.ttl * 2 / 3) {
        // Past 2/3 TTL a primary would fence between two on-time renewals.
        return "fence margin must be at least 0 and below 2/3 of the TTL";
    }
    if (config.settle.count() < 0) return "settle delay must not be negative";
    return {};
}

std::string_view PartitionAgent::role_name(Role role) {
    switch (role) {
        case Role::kStarting:
            return "starting";
        case Role::kCandidate:
            return "candidate";
        case Role::kReplica:
            return "replica";
        case Role::kPrimary:
            return "primary";
    }
    return "?";
}

PartitionAgent::PartitionAgent(AgentConfig config, ClusterStore& store, AgentCallbacks callbacks)
    : config_(std::move(config)),
      store_(store),
      cb_(std::move(callbacks)),
      prefix_(config_.root + config_.partition + "/"),
      retry_ms_(config_.ttl.count() / 3) {}

std::string PartitionAgent::candidate_key(std::string_view node) const {
    return prefix_ + "candidates/" + std::string(node);
}

void PartitionAgent::note(std::string_view text) const {
    if (cb_.log) cb_.log(text);
}

bool PartitionAgent::failed(EtcdStatus status, std::string_view what, int64_t now_ms) {
    note(fmt::format("{}: {}", what, etcd_status_name(status)));
    if (status == EtcdStatus::kLeaseNotFound) {
        lease_lost(now_ms);
    } else {
        next_try_ms_ = now_ms + retry_ms_;
    }
    return true;
}

void PartitionAgent::tick(int64_t now_ms) {
    if (lease_ == 0 && now_ms >= next_try_ms_) acquire_lease(now_ms);
    if (lease_ != 0 && need_snapshot_ && now_ms >= next_try_ms_) read_snapshot(now_ms);
    if (lease_ != 0 && !need_snapshot_ && role_ == Role::kCandidate) campaign(now_ms);
    update_fence(now_ms);
}

void PartitionAgent::acquire_lease(int64_t now_ms) {
    int64_t ttl_s = (config_.ttl.count() + 999) / 1000;
    auto granted = store_.lease_grant(ttl_s);
    if (!granted) {
        failed(granted.error(), "lease grant", now_ms);
        return;
    }
    lease_ = granted->id;
    // Sent at now_ms (or later): etcd's clock for the lease started after.
    renewed_until_ms_ = now_ms + granted->ttl_s * 1000;
    store_.keep_alive(lease_, std::chrono::milliseconds(retry_ms_));
    need_snapshot_ = true;
    published_ = false;
    note(fmt::format("lease {:x} granted, TTL {} s", lease_, granted->ttl_s));
}

void PartitionAgent::read_snapshot(int64_t now_ms) {
    auto got = store_.get_prefix(prefix_);
    if (!got) {
        failed(got.error(), "reading the partition's keys", now_ms);
        return;
    }
    primary_.reset();
    primary_revision_ = 0;
    epoch_value_ = 0;
    epoch_revision_ = 0;
    epoch_valid_ = true;
    candidates_.clear();
    for (const auto& kv : got->kvs)
        apply_kv(kv, false);
    need_snapshot_ = false;
    store_.watch(prefix_, got->revision + 1);
    settle_role(now_ms);
}

void PartitionAgent::apply_kv(const KeyValue& kv, bool deleted) {
    if (!kv.key.starts_with(prefix_)) return;
    std::string_view rel = std::string_view(kv.key).substr(prefix_.size());
    if (rel == "primary") {
        // Older than what we hold (a Txn's own result came first): stale.
        if (kv.mod_revision <= primary_revision_) return;
        primary_revision_ = kv.mod_revision;
        if (deleted) {
            primary_.reset();
            return;
        }
        Primary p;
        p.lease = kv.lease;
        p.mod_revision = kv.mod_revision;
        std::string_view v = kv.value;
        auto s1 = v.find(' ');
        auto s2 = s1 == std::string_view::npos ? s1 : v.find(' ', s1 + 1);
        if (s2 == std::string_view::npos || !parse_u64(v.substr(0, s1), p.epoch)) {
            // Still a primary (it blocks elections), but not one we can follow.
            note(fmt::format("malformed primary value '{}'", v));
            p.epoch = 0;
        } else {
            p.node = std::string(v.substr(s1 + 1, s2 - s1 - 1));
            p.address = std::string(v.substr(s2 + 1));
        }
        primary_ = std::move(p);
    } else if (rel == "epoch") {
        if (kv.mod_revision <= epoch_revision_) return;
        if (deleted) {
            // Someone removed the epoch: counting restarts at 1, which is
            // safe for the Txn (MOD 0) but not for followers comparing epochs.
            note("epoch key deleted");
            epoch_value_ = 0;
            epoch_revision_ = 0;
            epoch_valid_ = true;
            return;
        }
        epoch_revision_ = kv.mod_revision;
        epoch_valid_ = parse_u64(kv.value, epoch_value_);
        if (!epoch_valid_) note(fmt::format("malformed epoch '{}': no elections", kv.value));
    } else if (rel.starts_with("candidates/")) {
        std::string node(rel.substr(11));
        auto it = candidates_.find(node);
        if (it != candidates_.end() && kv.mod_revision <= it->second.mod_revision) return;
        if (deleted) {
            if (it != candidates_.end()) candidates_.erase(it);
            return;
        }
        Candidate c;
        c.mod_revision = kv.mod_revision;
        if (!parse_u64(kv.value, c.offset)) note(fmt::format("malformed offset of {}", node));
        candidates_[node] = c;
    }
}

void PartitionAgent::settle_role(int64_t now_ms) {
    bool mine =
        primary_ && primary_->node == config_.node_id && primary_->lease == lease_ && lease_ != 0;
    if (mine && epoch_valid_ && epoch_value_ > primary_->epoch) {
        // The epoch moved on under our key (an operator, a bug): ours is
        // not the current primacy. Give up the lease, which deletes our
        // keys so that an election can happen, and start afresh.
        if (role_ == Role::kPrimary) {
            step_down(fmt::format("epoch {} is past ours ({})", epoch_value_, primary_->epoch),
                      now_ms);
        }
        auto revoked = store_.lease_revoke(lease_);
        if (!revoked) note("revoking our lease failed; it lapses unrenewed");
        lease_lost(now_ms);
        return;
    }
    if (mine) {
        if (role_ != Role::kPrimary) become_primary(primary_->epoch, now_ms);
        return;
    }
    if (role_ == Role::kPrimary) {
        step_down(primary_ ? "another node holds the primary key" : "our primary key is gone",
                  now_ms);
    }
    if (primary_ && primary_->node == config_.node_id) {
        // Our own key from before a restart (another lease): nobody to
        // follow; it lapses with that lease, then we compete.
        role_ = Role::kCandidate;
        return;
    }
    if (primary_) {
        if (role_ != Role::kReplica || replica_of_ != primary_->address ||
            replica_epoch_ != primary_->epoch) {
            role_ = Role::kReplica;
            replica_of_ = primary_->address;
            replica_epoch_ = primary_->epoch;
            if (published_) {
                // Withdraw from the finished race; the key would lapse with
                // our lease only when this node stops.
                auto gone = store_.del(candidate_key(config_.node_id));
                if (!gone) note("withdrawing the candidate key failed; it is replaced next race");
                published_ = false;
            }
            note(fmt::format("replica of {} ({}), epoch {}", primary_->node, primary_->address,
                             primary_->epoch));
            if (cb_.became_replica) cb_.became_replica(primary_->address, primary_->epoch);
        }
        return;
    }
    if (role_ != Role::kCandidate) {
        role_ = Role::kCandidate;
        replica_of_.clear();
        replica_epoch_ = 0;
        published_ = false;
        note("no primary: candidate");
    }
}

bool PartitionAgent::most_caught_up() const {
    for (const auto& [node, c] : candidates_) {
        if (node == config_.node_id) continue;
        if (c.offset > my_offset_) return false;
        if (c.offset == my_offset_ && node < config_.node_id) return false;
    }
    return true;
}

void PartitionAgent::campaign(int64_t now_ms) {
    if (primary_ || !epoch_valid_ || now_ms < next_try_ms_ || now_ms < hold_until_ms_) return;
    if (!published_) {
        my_offset_ = cb_.replication_offset ? cb_.replication_offset() : 0;
        std::string key = candidate_key(config_.node_id);
        auto put = store_.put(key, fmt::format("{}", my_offset_), lease_);
        if (!put) {
            failed(put.error(), "publishing the candidate key", now_ms);
            return;
        }
        published_ = true;
        published_ms_ = now_ms;
        candidates_[config_.node_id] = Candidate{my_offset_, put.value()};
        note(fmt::format("candidate at offset {}", my_offset_));
        return;
    }
    if (now_ms < published_ms_ + config_.settle.count() || !most_caught_up()) return;
    // A lease that may lapse any moment would make a primary that is fenced
    // at once; renewals will tell (or lose the lease) first.
    if (now_ms >= fence_deadline_ms()) return;
    uint64_t new_epoch = epoch_value_ + 1;
    TxnRequest req;
    req.compares.push_back(Compare::mod_revision(primary_key(), Compare::Op::kEqual, 0));
    req.compares.push_back(
        Compare::mod_revision(epoch_key(), Compare::Op::kEqual, epoch_revision_));
    req.success.push_back(TxnOp::put(epoch_key(), fmt::format("{}", new_epoch)));
    req.success.push_back(
        TxnOp::put(primary_key(),
                   fmt::format("{} {} {}", new_epoch, config_.node_id, config_.address), lease_));
    req.success.push_back(TxnOp::del(candidate_key(config_.node_id)));
    req.failure.push_back(TxnOp::get(primary_key()));
    req.failure.push_back(TxnOp::get(epoch_key()));
    auto done = store_.txn(req);
    if (!done) {
        failed(done.error(), "election Txn", now_ms);
        return;
    }
    if (!done->succeeded) {
        // Someone else won, or we had an old epoch: take what etcd has.
        for (const auto& g : done->gets) {
            for (const auto& kv : g.kvs)
                apply_kv(kv, false);
        }
        next_try_ms_ = now_ms + config_.settle.count();
        note("election Txn lost");
        settle_role(now_ms);
        return;
    }
    published_ = false;
    candidates_.erase(config_.node_id);
    epoch_value_ = new_epoch;
    epoch_revision_ = done->revision;
    epoch_valid_ = true;
    primary_ = Primary{new_epoch, config_.node_id, config_.address, lease_, done->revision};
    primary_revision_ = done->revision;
    become_primary(new_epoch, now_ms);
}

void PartitionAgent::become_primary(uint64_t epoch, int64_t now_ms) {
    role_ = Role::kPrimary;
    my_epoch_ = epoch;
    replica_of_.clear();
    replica_epoch_ = 0;
    note(fmt::format("primary at epoch {}", epoch));
    if (cb_.became_primary) cb_.became_primary(epoch);
    update_fence(now_ms);
}

bool PartitionAgent::resign(int64_t now_ms, int64_t hold_ms) {
    if (role_ != Role::kPrimary) return false;
    // Only the primary writes its key: deleting it is giving up ours. The
    // watch then tells everyone (us included) that there is no primary.
    auto del = store_.del(primary_key());
    if (!del) {
        failed(del.error(), "deleting the primary key (resign)", now_ms);
        return false;
    }
    hold_until_ms_ = now_ms + hold_ms;
    primary_.reset();  // the watch will say so too; until then it is not ours to take back
    step_down("resigned (planned switchover)", now_ms);
    return true;
}

void PartitionAgent::step_down(std::string_view why, int64_t now_ms) {
    uint64_t old_epoch = my_epoch_;
    role_ = Role::kCandidate;
    published_ = false;
    note(fmt::format("stepping down: {}", why));
    update_fence(now_ms);
    if (cb_.stepped_down) cb_.stepped_down(old_epoch);
}

void PartitionAgent::lease_lost(int64_t now_ms) {
    note(fmt::format("lease {:x} lost", lease_));
    lease_ = 0;
    renewed_until_ms_ = 0;
    if (role_ == Role::kPrimary) step_down("lease lost", now_ms);
    role_ = Role::kStarting;
    replica_of_.clear();
    replica_epoch_ = 0;
    published_ = false;
    need_snapshot_ = true;
    update_fence(now_ms);
}

void PartitionAgent::on_keepalive(const KeepAliveReport& report, int64_t now_ms) {
    if (lease_ == 0 || report.lease != lease_) return;  // a replaced lease's renewal
    if (report.ok) {
        if (renewals_failing_) note("lease renewed again");
        renewals_failing_ = false;
        renewed_until_ms_ = std::max(renewed_until_ms_, report.sent_ms + report.ttl_s * 1000);
    } else if (report.error == EtcdStatus::kLeaseNotFound) {
        lease_lost(now_ms);
    } else if (!renewals_failing_) {
        renewals_failing_ = true;
        note(fmt::format("lease renewal failed ({})", etcd_status_name(report.error)));
    }
    update_fence(now_ms);
}

void PartitionAgent::on_watch(const WatchReport& report, int64_t now_ms) {
    switch (report.kind) {
        case WatchReport::Kind::kEvents:
            for (const auto& ev : report.events) {
                apply_kv(ev.kv, ev.type == WatchEvent::Type::kDelete);
            }
            if (lease_ != 0 && !need_snapshot_) settle_role(now_ms);
            break;
        case WatchReport::Kind::kConnected:
            break;
        case WatchReport::Kind::kBroken:
            note(fmt::format("watch broken ({}), resuming", etcd_status_name(report.error)));
            break;
        case WatchReport::Kind::kCompacted:
            note("watch compacted: reading the partition again");
            need_snapshot_ = true;
            break;
    }
    update_fence(now_ms);
}

void PartitionAgent::update_fence(int64_t now_ms) {
    bool w = may_write(now_ms);
    if (w == writable_) return;
    writable_ = w;
    note(w ? "unfenced: writes allowed" : "fenced: writes refused");
    if (w) {
        if (cb_.unfenced) cb_.unfenced();
    } else {
        if (cb_.fenced) cb_.fenced();
    }
}

}  // namespace fulmar::cluster
