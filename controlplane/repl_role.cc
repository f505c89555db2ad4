#include "repl_role.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "config/address_text.h"
#include "repl_wire.h"

namespace fulmar::controlplane {

ReplRole::ReplRole(ShardChannel& channel, EventLoop& loop, const config::ReplicationConfig& cfg,
                   uint32_t listen_addr, size_t n_shards, shm::ReplicaState& state)
    : channel_(channel),
      loop_(loop),
      cfg_(cfg),
      listen_addr_(listen_addr),
      n_shards_(n_shards),
      state_(state) {}

std::optional<std::string> ReplRole::start() {
    if (cfg_.replica_of_addr) return become_replica(*cfg_.replica_of_addr, cfg_.replica_of_port);
    return become_primary();
}

std::optional<std::string> ReplRole::become_primary() {
    std::optional<uint64_t> old_replid;
    if (replica_) old_replid = replica_->replid();
    replica_.reset();
    if (primary_ && primary_->mirroring()) {
        // Promoted: its log continued the old primary's history, so that
        // primary's other replicas resume from here.
        primary_->promote(old_replid);
        publish();
        return std::nullopt;
    }
    if (!primary_ && cfg_.port != 0 && cfg_.log_mb != 0) {
        auto p = ReplPrimary::create(channel_, loop_, cfg_, listen_addr_, n_shards_);
        if (!p) {
            publish();
            return p.error();
        }
        primary_ = std::move(p.value());
    }
    publish();
    return std::nullopt;
}

std::optional<std::string> ReplRole::become_replica(uint32_t addr, uint16_t port) {
    if (addr == 0 || port == 0) return "a primary is an IPv4 address and a port";
    // Where the new primary may resume us from: the link we had (a replica
    // following a new primary), or our own history (a primary stepping
    // down: the new one inherited it, up to where it had it).
    std::optional<ReplResume> resume;
    if (replica_) {
        resume = replica_->resume_point();
    } else if (primary_ && !primary_->mirroring()) {
        resume = ReplResume{.replid = primary_->replid(), .seqs = primary_->drain_all()};
    }
    replica_.reset();
    if (!primary_ && cfg_.port != 0 && cfg_.log_mb != 0) {
        auto p = ReplPrimary::create(channel_, loop_, cfg_, listen_addr_, n_shards_);
        if (p) primary_ = std::move(p.value());  // no listener: resumes need no backlog here
    }
    if (primary_) primary_->mirror();
    replica_ =
        std::make_unique<ReplReplica>(channel_, loop_, addr, port, n_shards_, std::move(resume));
    fenced_ = false;
    publish();
    return std::nullopt;
}

void ReplRole::set_fenced(bool fenced) {
    fenced_ = fenced;
    publish();
}

void ReplRole::publish() {
    // The text first: an owner that sees the flag reads it to name the
    // primary in its error.
    std::string text = replica_ ? replica_->primary().substr(0, replica_->primary().rfind(':'))
                                : std::string("(fenced)");
    char buf[shm::kPrimaryTextMax] = {};
    std::memcpy(buf, text.data(), std::min(text.size(), sizeof(buf) - 1));
    std::memcpy(state_.primary, buf, sizeof(buf));
    const uint32_t v = replica_ ? kReadOnlyReplica : fenced_ ? kFencedPrimary : kWritable;
    state_.read_only.store(v, std::memory_order_release);
}

size_t ReplRole::tick() {
    size_t work = 0;
    if (primary_) work += primary_->tick();
    if (replica_) work += replica_->tick();
    return work;
}

void ReplRole::on_reply(const OwnerReply& r) {
    if ((r.ticket & kReplReplicaTicketBit) != 0) {
        if (replica_) replica_->on_reply(r);
    } else if (primary_) {
        primary_->on_reply(r);
    }
}

std::string ReplRole::info() const {
    if (replica_) return "role:slave\r\n" + replica_->info_lines() + "connected_slaves:0\r\n";
    std::string t = fmt::format("role:master\r\nconnected_slaves:{}\r\n",
                                primary_ ? primary_->n_replicas() : 0);
    t += fmt::format("fulmar_fenced:{}\r\n", fenced_ ? 1 : 0);
    if (primary_) {
        const ReplPrimaryStats& st = primary_->stats();
        t += primary_->info_lines();
        t += fmt::format(
            "master_replid:{}\r\nmaster_repl_offset:{}\r\nfulmar_full_syncs:{}\r\n"
            "fulmar_partial_syncs:{}\r\nfulmar_log_gaps:{}\r\nfulmar_output_limit_cut:{}\r\n"
            "fulmar_snapshot_bytes:{}\r\n",
            repl_wire::format_replid(primary_->replid()), offset(), st.full_syncs, st.partial_syncs,
            st.log_gaps, st.output_limit_cut, st.snapshot_bytes);
    }
    return t;
}

std::vector<std::pair<std::string, std::string>> ReplRole::status() const {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string text = info();
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find("\r\n", at);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + at, end - at);
        const size_t colon = line.find(':');
        if (colon != std::string_view::npos)
            out.emplace_back(std::string(line.substr(0, colon)),
                             std::string(line.substr(colon + 1)));
        at = end + 2;
    }
    return out;
}

std::vector<uint64_t> ReplRole::last_seqs() const {
    return primary_ ? primary_->last_seqs() : std::vector<uint64_t>{};
}

size_t ReplRole::acked_at_least(const std::vector<uint64_t>& seqs) const {
    return primary_ ? primary_->acked_at_least(seqs) : 0;
}

size_t ReplRole::kill_links(bool master) {
    if (master) return replica_ ? replica_->kill_link() : 0;
    return primary_ ? primary_->kill_links() : 0;
}

uint64_t ReplRole::offset() const {
    if (replica_) return replica_->applied_offset();
    uint64_t sum = 0;
    for (const uint64_t q : last_seqs())
        sum += q;
    return sum;
}

}  // namespace fulmar::controlplane
