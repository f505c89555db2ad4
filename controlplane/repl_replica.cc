#include "repl_replica.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "config/address_text.h"
#include "handoff.h"
#include "inet_socket.h"
#include "repl/log_record.h"
#include "repl_wire.h"

namespace fulmar::controlplane {
namespace {

constexpr uint64_t kRetryUs = 500'000;
constexpr uint64_t kAckEveryUs = 10'000;           // while positions move
constexpr uint64_t kAckIdleUs = 1'000'000;         // otherwise, as a keepalive
constexpr uint64_t kPrimaryTimeoutUs = 5'000'000;  // no byte for this long: the link is down
constexpr size_t kBatchBytes = 256 * 1024;
constexpr size_t kMaxPendingBytes = 64 << 20;  // all shards: past it, stop reading

}  // namespace

ReplReplica::ReplReplica(ShardChannel& channel, EventLoop& loop, uint32_t primary_addr,
                         uint16_t primary_port, size_t n_shards, std::optional<ReplResume> resume)
    : channel_(channel),
      loop_(loop),
      addr_(primary_addr),
      port_(primary_port),
      primary_text_(fmt::format("{}:{}", config::format_ipv4(primary_addr), primary_port)),
      shards_(n_shards) {
    if (resume && resume->seqs.size() == n_shards) {
        replid_ = resume->replid;
        for (size_t i = 0; i < n_shards; ++i) {
            if (resume->seqs[i] == UINT64_MAX) continue;  // that shard comes whole
            shards_[i].applied = shards_[i].queued = shards_[i].sent = resume->seqs[i];
            shards_[i].valid = shards_[i].sent_valid = true;
        }
    }
}

std::optional<ReplResume> ReplReplica::resume_point() const {
    if (!replid_) return std::nullopt;
    ReplResume r{.replid = *replid_};
    for (const Shard& s : shards_) {
        // A shard without a position to resume from: one no primary has.
        r.seqs.push_back(s.sent_valid ? s.sent : UINT64_MAX);
    }
    return r;
}

ReplReplica::~ReplReplica() {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
    }
}

void ReplReplica::connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        disconnect(fmt::format("socket: {}", std::strerror(errno)));
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr_);
    sa.sin_port = htons(port_);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS) {
        disconnect(fmt::format("connect to {}: {}", primary_text_, std::strerror(errno)));
        return;
    }
    state_ = State::kConnecting;
    last_io_us_ = repl_wall_us();
    in_.clear();
    out_.clear();
    reading_ = true;
    want_out_ = true;
    loop_.add(fd_, EPOLLIN | EPOLLOUT, this);
}

void ReplReplica::disconnect(std::string why) {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    if (!why.empty()) last_error_ = std::move(why);
    state_ = State::kIdle;
    if (move_) move_failed_ = true;
    retry_at_us_ = repl_wall_us() + kRetryUs;
    // Records received but not sent to the owners are dropped: the next
    // handshake resumes from what the owners applied.
    for (Shard& s : shards_) {
        s.pending.clear();
        if (s.syncing || s.awaiting_begin) s.valid = false;
        s.syncing = false;
        s.awaiting_begin = false;
        s.queued = s.applied;
    }
}

void ReplReplica::want_events() {
    if (fd_ < 0) return;
    loop_.modify(fd_, (reading_ ? uint32_t{EPOLLIN} : 0u) | (want_out_ ? uint32_t{EPOLLOUT} : 0u),
                 this);
}

void ReplReplica::on_event(uint32_t events) {
    if (fd_ < 0) return;
    if (state_ == State::kConnecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            disconnect(fmt::format("connect to {}: {}", primary_text_, std::strerror(err)));
            return;
        }
        if (move_) {
            out_ = repl_wire::format_move_request(*move_);
        } else {
            repl_wire::SyncRequest req{.replid = replid_, .seed_check = repl_seed_check()};
            for (const Shard& s : shards_)
                req.seqs.push_back(s.valid ? s.applied : UINT64_MAX);
            out_ = repl_wire::format_sync_request(req);
        }
        state_ = State::kHandshake;
    }
    if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
        disconnect(fmt::format("{} closed the connection", primary_text_));
        return;
    }
    if ((events & EPOLLIN) != 0) read();
    if (fd_ >= 0 && !out_.empty()) {
        if (send_some(fd_, out_) == SendStatus::kFailed) {
            disconnect(fmt::format("send to {}: {}", primary_text_, std::strerror(errno)));
            return;
        }
    }
    const bool want = fd_ >= 0 && !out_.empty();
    if (fd_ >= 0 && want != want_out_) {
        want_out_ = want;
        want_events();
    }
}

void ReplReplica::read() {
    char buf[65536];
    while (fd_ >= 0 && reading_) {
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n == 0) {
            disconnect(fmt::format("{} closed the connection", primary_text_));
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                disconnect(fmt::format("recv from {}: {}", primary_text_, std::strerror(errno)));
            break;
        }
        last_io_us_ = repl_wall_us();
        in_.append(buf, static_cast<size_t>(n));
        size_t off = 0;
        bool ok = true;
        while (ok) {
            if (state_ == State::kHandshake) {
                const size_t nl = in_.find('\n', off);
                if (nl == std::string::npos) {
                    if (in_.size() - off > repl_wire::kMaxLine) ok = false;
                    break;
                }
                std::string_view line(in_.data() + off, nl - off);
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                off = nl + 1;
                ok = handle_line(line);
                continue;
            }
            const auto used = repl_wire::for_each_frame(
                std::string_view(in_).substr(off), shards_.size(),
                [&](const repl_wire::FrameHeader& h, std::string_view payload) {
                    return handle_frame(h.shard, h.type, payload);
                });
            if (!used) {
                if (last_error_.empty()) last_error_ = "a frame no primary sends";
                ok = false;
                break;
            }
            off += *used;
            break;
        }
        in_.erase(0, off);
        if (!ok) {
            ++stats_.stream_errors;
            disconnect(last_error_.empty() ? "a broken stream" : last_error_);
            return;
        }
        if (!send_batches()) {
            // No room at the owners: stop reading until replies free some.
            reading_ = false;
            want_events();
        }
    }
}

bool ReplReplica::handle_line(std::string_view line) {
    std::string error;
    auto reply = repl_wire::parse_sync_reply(line, shards_.size(), error);
    if (!reply) {
        last_error_ = fmt::format("{} refused: {}", primary_text_, error);
        return false;
    }
    // A shard the primary resumes ('p') continues under its id, whichever
    // history we asked with (its own, or the one it inherited).
    replid_ = reply->replid;
    for (size_t i = 0; i < shards_.size(); ++i) {
        Shard& s = shards_[i];
        if (reply->modes[i] == 'p') {
            ++stats_.partial_syncs;
            s.queued = s.applied;
        } else {
            ++stats_.full_syncs;
            s.awaiting_begin = true;
            s.syncing = true;
            s.valid = false;
        }
    }
    state_ = State::kStreaming;
    ++stats_.connects;
    last_error_.clear();
    return true;
}

bool ReplReplica::handle_frame(uint16_t shard, uint16_t type, std::string_view payload) {
    if (type == repl_wire::kFrameHeartbeat) {
        if (payload.size() >= sizeof(uint64_t))
            std::memcpy(&primary_time_us_, payload.data(), sizeof(uint64_t));
        if (payload.size() >= 2 * sizeof(uint64_t))
            std::memcpy(&primary_offset_, payload.data() + 8, sizeof(uint64_t));
        return true;
    }
    if (type != repl_wire::kFrameRecords) return true;  // a newer primary's: skipped
    Shard& s = shards_[shard];
    while (!payload.empty()) {
        repl::RecordView v;
        if (repl::parse_record(payload, v) != repl::ParseStatus::kOk) {
            last_error_ = fmt::format("a malformed record for shard {}", shard);
            return false;
        }
        const repl::RecordKind k = v.h.kind;
        if (move_) {
            // A move: positions count records; kSnapBegin would clear the
            // shard, and this node keeps its own keys.
            ++s.queued;
            ++stats_.records;
            if (k == repl::RecordKind::kSnapBegin) {
                s.awaiting_begin = false;
                s.syncing = true;
                payload.remove_prefix(v.h.size);
                continue;
            }
            if (k == repl::RecordKind::kSnapEnd) s.syncing = false;
            if (!repl::is_snapshot(k) && s.awaiting_begin) {
                last_error_ = fmt::format("shard {}: a change before its snapshot began", shard);
                return false;
            }
            s.pending.append(payload.substr(0, v.h.size));
            s.pending_seq = s.queued;
            payload.remove_prefix(v.h.size);
            continue;
        }
        if (k == repl::RecordKind::kSnapBegin) {
            s.awaiting_begin = false;
            s.syncing = true;
            s.queued = v.h.seq;
        } else if (repl::is_mutation(k)) {
            if (s.awaiting_begin) {
                last_error_ = fmt::format("shard {}: a change before its full sync began", shard);
                return false;
            }
            if (v.h.seq != s.queued + 1) {
                last_error_ = fmt::format("shard {}: change {} after {}", shard, v.h.seq, s.queued);
                return false;
            }
            s.queued = v.h.seq;
        } else if (k == repl::RecordKind::kSnapEnd) {
            s.syncing = false;
        }
        s.pending.append(payload.substr(0, v.h.size));
        s.pending_seq = s.queued;
        if (v.h.time_us != 0) s.pending_time_us = v.h.time_us;
        payload.remove_prefix(v.h.size);
        ++stats_.records;
    }
    return true;
}

bool ReplReplica::send_batches() {
    size_t pending_total = 0;
    for (size_t i = 0; i < shards_.size(); ++i) {
        Shard& s = shards_[i];
        if (s.pending.empty()) continue;
        const uint64_t ticket = next_ticket_++;
        dataplane::Message* msg = channel_.prepare(s.pending, nullptr, ticket);
        if (msg == nullptr) {
            pending_total += s.pending.size();
            continue;
        }
        msg->kind = dataplane::MessageKind::kControlReplApply;
        channel_.send(i, msg);
        const bool valid_after = !s.syncing && !s.awaiting_begin;
        inflight_[ticket] = Batch{.shard = i,
                                  .seq_after = s.pending_seq,
                                  .time_us = s.pending_time_us,
                                  .valid_after = valid_after};
        s.sent = s.pending_seq;
        s.sent_valid = valid_after;
        s.pending.clear();
    }
    return pending_total < kBatchBytes && pending_total < kMaxPendingBytes;
}

void ReplReplica::on_reply(const OwnerReply& r) {
    auto it = inflight_.find(r.ticket);
    if (it == inflight_.end()) return;
    const Batch b = it->second;
    inflight_.erase(it);
    dataplane::ReplApplyResult res{};
    if (r.bytes != nullptr && r.len == sizeof(res)) {
        const void* p = rte_pktmbuf_read(r.bytes, 0, sizeof(res), &res);
        if (p != &res) std::memcpy(&res, p, sizeof(res));
    }
    stats_.apply_failed += res.failed;
    Shard& s = shards_[b.shard];
    s.applied = b.seq_after;
    s.valid = b.valid_after;
    if (b.time_us > applied_time_us_) applied_time_us_ = b.time_us;
    acked_dirty_ = true;
}

void ReplReplica::send_ack(uint64_t now_us) {
    repl_wire::Ack a{.time_us = applied_time_us_};
    for (const Shard& s : shards_)
        a.seqs.push_back(s.applied);
    out_ += repl_wire::format_ack(a);
    last_ack_us_ = now_us;
    acked_dirty_ = false;
    if (send_some(fd_, out_) == SendStatus::kFailed) {
        disconnect(fmt::format("send to {}: {}", primary_text_, std::strerror(errno)));
        return;
    }
    if (!out_.empty() && !want_out_) {
        want_out_ = true;
        want_events();
    }
}

size_t ReplReplica::tick() {
    const uint64_t now = repl_wall_us();
    size_t work = 0;
    if (state_ == State::kIdle) {
        if (move_failed_) return 0;  // the receiver starts the move over
        // Resume only from positions the owners confirmed.
        if (inflight_.empty() && now >= retry_at_us_) connect();
        return 0;
    }
    if (state_ != State::kStreaming) {
        if (now - last_io_us_ > kPrimaryTimeoutUs)
            disconnect(fmt::format("{} did not answer", primary_text_));
        return 0;
    }
    bool has_pending = false;
    for (const Shard& s : shards_)
        has_pending = has_pending || !s.pending.empty();
    if (has_pending) {
        work += 1;
        if (send_batches() && !reading_) {
            reading_ = true;
            want_events();
            read();  // what arrived while we did not read
        }
    }
    if (fd_ >= 0 &&
        ((acked_dirty_ && now - last_ack_us_ >= kAckEveryUs) || now - last_ack_us_ >= kAckIdleUs))
        send_ack(now);
    if (fd_ >= 0 && now - last_io_us_ > kPrimaryTimeoutUs)
        disconnect(fmt::format("no heartbeat from {} for {} s", primary_text_,
                               kPrimaryTimeoutUs / 1'000'000));
    return work;
}

bool ReplReplica::move_synced() const {
    if (state_ != State::kStreaming || !inflight_.empty()) return false;
    for (const Shard& s : shards_)
        if (s.syncing || s.awaiting_begin || !s.pending.empty() || s.applied != s.queued)
            return false;
    return true;
}

uint64_t ReplReplica::records_applied() const {
    uint64_t n = 0;
    for (const Shard& s : shards_)
        n += s.applied;
    return n;
}

size_t ReplReplica::kill_link() {
    if (fd_ < 0) return 0;
    disconnect("killed by CLIENT KILL");
    return 1;
}

bool ReplReplica::syncing() const {
    for (const Shard& s : shards_)
        if (s.syncing || s.awaiting_begin) return true;
    return false;
}

uint64_t ReplReplica::applied_offset() const {
    uint64_t sum = 0;
    for (const Shard& s : shards_)
        sum += s.applied;
    return sum;
}

std::string ReplReplica::info_lines() const {
    const uint64_t now = repl_wall_us();
    const size_t colon = primary_text_.rfind(':');
    // Caught up with what the primary had drained at its last heartbeat:
    // no lag, however old the newest change is.
    const bool caught_up = applied_offset() >= primary_offset_;
    const uint64_t lag_us =
        !caught_up && primary_time_us_ > applied_time_us_ && applied_time_us_ != 0
            ? primary_time_us_ - applied_time_us_
            : 0;
    return fmt::format(
        "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n"
        "master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\n"
        "slave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\nslave_read_only:1\r\n"
        "replica_lag_us:{}\r\nmaster_link_error:{}\r\nfulmar_full_syncs:{}\r\n"
        "fulmar_partial_syncs:{}\r\nfulmar_stream_errors:{}\r\nfulmar_apply_failed:{}\r\n",
        primary_text_.substr(0, colon), primary_text_.substr(colon + 1), link_up() ? "up" : "down",
        last_io_us_ == 0 ? -1 : static_cast<int64_t>((now - last_io_us_) / 1'000'000),
        syncing() ? 1 : 0, applied_offset(), applied_offset(), lag_us,
        last_error_.empty() ? "none" : last_error_, stats_.full_syncs, stats_.partial_syncs,
        stats_.stream_errors, stats_.apply_failed);
}

}  // namespace fulmar::controlplane
