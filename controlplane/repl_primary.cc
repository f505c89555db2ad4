#include "repl_primary.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rte_memzone.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <random>

#include "handoff.h"
#include "inet_socket.h"
#include "repl_wire.h"
#include "shm/layout.h"
#include "store/digest.h"

namespace fulmar::controlplane {
namespace {

// Records go out in frames of at most this many bytes (a record larger
// than it gets a frame of its own).
constexpr size_t kFrameTarget = 1 << 20;
// Snapshot steps are asked for only while a replica's unsent stream is
// shorter than this: the walk goes at the replica's pace.
constexpr size_t kStepWhileBelow = 4 << 20;
constexpr uint32_t kStepBudget = 4096;  // chunks per step
constexpr uint64_t kHeartbeatUs = 100'000;
constexpr size_t kDrainBytes = 8 << 20;  // per shard per turn
constexpr uint64_t kUnknownSeq = UINT64_MAX;

}  // namespace

uint64_t repl_wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

uint64_t repl_seed_check() {
    return store::digest_key("fulmar replication seed check").lo;
}

class ReplPrimary::Link final : public EventHandler {
  public:
    enum class Mode : uint8_t { kNone, kSnapshotPending, kStreaming };
    struct Shard {
        Mode mode = Mode::kNone;
        uint32_t snapshot_id = 0;
        dataplane::ReplSnapshotStep cursor{};
        bool walking = false;        // a snapshot is under way (until its kSnapEnd is drained)
        bool steps_done = false;     // the owner wrote its kSnapEnd
        bool step_inflight = false;  // a step is at the owner
        uint64_t acked = 0;
    };

    Link(ReplPrimary& p, int fd, std::string peer, size_t n_shards)
        : p_(p), fd(fd), peer(std::move(peer)), shards(n_shards) {}
    ~Link() override {
        p_.loop_.remove(fd);
        ::close(fd);
    }

    void on_event(uint32_t events) override {
        if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
            dead = true;
            return;
        }
        if ((events & EPOLLIN) != 0) read();
        if ((events & EPOLLOUT) != 0) flush();
    }

    void read() {
        char buf[16384];
        while (!dead) {
            const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n > 0) {
                in.append(buf, static_cast<size_t>(n));
                if (in.size() > repl_wire::kMaxLine && in.find('\n') == std::string::npos) {
                    dead = true;  // a line no replica sends
                    return;
                }
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) dead = true;
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        size_t pos;
        while (!dead && (pos = in.find('\n')) != std::string::npos) {
            std::string_view line(in.data(), pos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!handshaken) {
                p_.handshake(*this, line);
            } else if (auto a = repl_wire::parse_ack(line, shards.size())) {
                for (size_t s = 0; s < shards.size(); ++s)
                    shards[s].acked = a->seqs[s];
                ack_time_us = a->time_us;
                last_ack_us = repl_wall_us();
            } else {
                dead = true;  // not our protocol
            }
            in.erase(0, pos + 1);
        }
    }

    // One record for shard `s`, into the open frame when it is that shard's.
    void add_record(size_t s, std::string_view bytes) {
        if (open_frame == std::string::npos || open_shard != s ||
            out.size() - open_frame - repl_wire::kFrameHeader + bytes.size() > kFrameTarget) {
            open_frame = out.size();
            open_shard = s;
            repl_wire::put_frame_header(
                out,
                {.len = 0, .shard = static_cast<uint16_t>(s), .type = repl_wire::kFrameRecords});
        }
        out.append(bytes);
        const auto len = static_cast<uint32_t>(out.size() - open_frame - repl_wire::kFrameHeader);
        std::memcpy(out.data() + open_frame, &len, sizeof(len));
    }

    // The primary's clock, and how far its logs have been drained (the sum
    // of the shards' seqs): a replica that applied that much is caught up.
    void heartbeat(uint64_t now_us, uint64_t drained) {
        repl_wire::put_frame_header(out,
                                    {.len = 16, .shard = 0, .type = repl_wire::kFrameHeartbeat});
        out.append(reinterpret_cast<const char*>(&now_us), sizeof(now_us));
        out.append(reinterpret_cast<const char*>(&drained), sizeof(drained));
        open_frame = std::string::npos;
    }

    void flush() {
        if (dead || out.empty()) return;
        open_frame = std::string::npos;  // offsets move as bytes go
        const SendStatus st = send_some(fd, out);
        if (st == SendStatus::kFailed) {
            dead = true;
            return;
        }
        const bool want = st == SendStatus::kBlocked;
        if (want != waiting_out) {
            waiting_out = want;
            p_.loop_.modify(fd, EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u), this);
        }
    }

    void start_snapshot(size_t s) {
        Shard& sh = shards[s];
        sh.mode = Mode::kSnapshotPending;
        sh.snapshot_id = p_.next_snapshot_id_++;
        sh.cursor = dataplane::ReplSnapshotStep{};
        sh.walking = true;
        sh.steps_done = false;
        sh.acked = 0;
        ++p_.stats_.full_syncs;
    }

    ReplPrimary& p_;
    int fd;
    std::string peer;
    std::vector<Shard> shards;
    std::string in;
    std::string out;
    size_t open_frame = std::string::npos;
    size_t open_shard = 0;
    bool handshaken = false;
    bool dead = false;
    bool waiting_out = false;
    uint64_t ack_time_us = 0;
    uint64_t last_ack_us = 0;
    // A ring move's link: which keys it gets, and per shard the records
    // sent (its ACKs count records applied).
    std::optional<MoveFilter> wants;
    std::string move_partition;
    uint64_t move_epoch = 0;
    std::vector<uint64_t> sent_records;
    uint64_t moved_records = 0;
    uint64_t moved_bytes = 0;

    void add_moved(size_t s, std::string_view bytes) {
        add_record(s, bytes);
        ++sent_records[s];
        ++moved_records;
        moved_bytes += bytes.size();
    }
};

ReplPrimary::ReplPrimary(ShardChannel& channel, EventLoop& loop,
                         const config::ReplicationConfig& cfg)
    : channel_(channel), loop_(loop), cfg_(cfg) {}

ReplPrimary::~ReplPrimary() {
    links_.clear();
    // No consumer any more: the owners stop paying for records nobody
    // reads (a log enabled later starts a new backlog).
    if (enabled_)
        for (repl::LogReader& r : logs_)
            r.disable();
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
    }
}

Result<std::unique_ptr<ReplPrimary>, std::string> ReplPrimary::create(
    ShardChannel& channel, EventLoop& loop, const config::ReplicationConfig& cfg, uint32_t addr,
    size_t n_shards) {
    std::unique_ptr<ReplPrimary> p(new ReplPrimary(channel, loop, cfg));
    for (size_t s = 0; s < n_shards; ++s) {
        const rte_memzone* mz = rte_memzone_lookup(shm::mutation_log_name(s).c_str());
        repl::LogShared* log = mz == nullptr
                                   ? nullptr
                                   : repl::attach_log({static_cast<std::byte*>(mz->addr), mz->len});
        if (log == nullptr)
            return Err(
                fmt::format("replication: shard {} has no mutation log (the dataplane runs with "
                            "replication.log_mb = 0?)",
                            s));
        p->logs_.emplace_back(log);
        // A log a previous control plane enabled keeps records nobody can
        // resume from: the first one drained starts the backlog.
        p->enabled_ = p->enabled_ || p->logs_.back().enabled();
    }
    p->backlogs_.resize(n_shards);
    p->drained_seq_.assign(n_shards, kUnknownSeq);
    std::random_device rd;
    p->replid_ = (uint64_t{rd()} << 32) | rd();
    auto sock = bind_inet(SOCK_STREAM, addr, cfg.port, "replication", 64);
    if (!sock) return Err(sock.error());
    p->fd_ = sock.value().fd;
    p->port_ = sock.value().port;
    if (!loop.add(p->fd_, EPOLLIN, p.get())) {
        return Err(fmt::format("replication: epoll: {}", std::strerror(errno)));
    }
    return p;
}

void ReplPrimary::on_event(uint32_t) {
    while (true) {
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        const int fd =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char ip[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        auto link = std::make_unique<Link>(
            *this, fd, fmt::format("{}:{}", ip, ntohs(peer.sin_port)), logs_.size());
        if (!loop_.add(fd, EPOLLIN, link.get())) continue;  // the Link closes it
        links_.push_back(std::move(link));
    }
}

void ReplPrimary::enable_logs() {
    if (enabled_) return;
    enabled_ = true;
    for (size_t s = 0; s < logs_.size(); ++s) {
        // Read before enabling: the owner gives out no seq while disabled,
        // so its first logged change is exactly this + 1.
        const uint64_t seq = logs_[s].last_seq();
        backlogs_[s].start_at(seq);
        drained_seq_[s] = seq;
        logs_[s].enable();
    }
}

void ReplPrimary::mirror() {
    for (auto& l : links_)
        l->dead = true;  // a replica's replicas would need a chain: not served
    for (size_t s = 0; s < logs_.size(); ++s) {
        backlogs_[s] = ReplBacklog();
        drained_seq_[s] = kUnknownSeq;  // the first mirrored record starts it
        logs_[s].enable(repl::kLogMirror);
    }
    enabled_ = true;
    mirroring_ = true;
    replid2_.reset();
    replid2_until_.clear();
}

std::vector<uint64_t> ReplPrimary::drain_all() {
    for (size_t s = 0; s < logs_.size(); ++s)
        while (logs_[s].pending_bytes() != 0)
            drain_shard(s);
    std::vector<uint64_t> out;
    for (const uint64_t q : drained_seq_)
        out.push_back(q == kUnknownSeq ? 0 : q);
    return out;
}

void ReplPrimary::promote(std::optional<uint64_t> old_replid) {
    const std::vector<uint64_t> until = drain_all();
    replid2_ = old_replid;
    replid2_until_ = until;
    std::random_device rd;
    replid_ = (uint64_t{rd()} << 32) | rd();
    for (size_t s = 0; s < logs_.size(); ++s) {
        // The owner's next own change follows the last record it mirrored.
        if (drained_seq_[s] == kUnknownSeq) {
            drained_seq_[s] = logs_[s].last_seq();
            backlogs_[s].start_at(drained_seq_[s]);
        }
        logs_[s].enable(repl::kLogOwn);
    }
    mirroring_ = false;
}

void ReplPrimary::move_handshake(Link& l, std::string_view line) {
    std::string error;
    auto req = repl_wire::parse_move_request(line, error);
    std::optional<MoveFilter> filter;
    if (req && mirroring_) error = "this node is a replica: connect to its partition's primary";
    if (req && error.empty() && req->n_shards != logs_.size())
        error =
            fmt::format("this node has {} shards, the receiver {}", logs_.size(), req->n_shards);
    if (req && error.empty() && req->seed_check != repl_seed_check())
        error =
            "the receiver hashes keys with another seed: give every node the same "
            "dataplane.digest_seed";
    if (req && error.empty()) {
        if (!move_resolver_)
            error = "this node is not a ring member";
        else
            filter = move_resolver_(*req, error);
    }
    if (!req || !filter) {
        l.out += fmt::format("-ERR {}\r\n", error.empty() ? "no such move" : error);
        l.flush();
        l.dead = true;
        return;
    }
    enable_logs();
    for (size_t s = 0; s < logs_.size(); ++s)
        drain_shard(s);
    l.wants = std::move(*filter);
    l.move_partition = req->partition;
    l.move_epoch = req->epoch;
    l.sent_records.assign(logs_.size(), 0);
    l.out += repl_wire::format_sync_reply(
        repl_wire::SyncReply{.replid = replid_, .modes = std::string(logs_.size(), 'f')});
    for (size_t s = 0; s < logs_.size(); ++s)
        l.start_snapshot(s);
    fmt::print("fulmar-controlplane: ring move to {} (epoch {}) from {}: sending its keys\n",
               req->partition, req->epoch, l.peer);
    std::fflush(stdout);
    l.handshaken = true;
    l.flush();
}

void ReplPrimary::handshake(Link& l, std::string_view line) {
    if (line.starts_with("MOVE ")) {
        move_handshake(l, line);
        return;
    }
    std::string error;
    auto req = repl_wire::parse_sync_request(line, error);
    if (req && mirroring_) error = "this node is a replica: connect to its primary";
    if (req && req->seqs.size() != logs_.size())
        error = fmt::format(
            "this primary has {} shards, the replica {}: configure the same "
            "number of workers on both",
            logs_.size(), req->seqs.size());
    if (req && error.empty() && req->seed_check != repl_seed_check())
        error =
            "this replica hashes keys with another seed than its primary: give both the same "
            "dataplane.digest_seed";
    if (!req || !error.empty()) {
        l.out += fmt::format("-ERR {}\r\n", error);
        l.flush();
        l.dead = true;
        return;
    }
    enable_logs();
    // What is still in the logs belongs after the backlog as it is now.
    for (size_t s = 0; s < logs_.size(); ++s)
        drain_shard(s);
    repl_wire::SyncReply reply{.replid = replid_};
    for (size_t s = 0; s < logs_.size(); ++s) {
        // Our own history, or our old primary's up to where we had it.
        const bool ours = req->replid && *req->replid == replid_;
        const bool inherited = req->replid && replid2_ && *req->replid == *replid2_ &&
                               s < replid2_until_.size() && req->seqs[s] <= replid2_until_[s];
        const bool resume = (ours || inherited) && backlogs_[s].covers(req->seqs[s]);
        reply.modes.push_back(resume ? 'p' : 'f');
    }
    l.out += repl_wire::format_sync_reply(reply);
    // Operators see why a replica got everything again.
    std::string held;
    for (const ReplBacklog& b : backlogs_)
        held += fmt::format(" {}..{}", b.first_seq(), b.last_seq());
    fmt::print("fulmar-controlplane: replica {} asked {} from {}: {} (backlog{}; ours {}{})\n",
               l.peer, req->replid ? repl_wire::format_replid(*req->replid) : std::string("?"),
               fmt::join(req->seqs, ","), reply.modes, held, repl_wire::format_replid(replid_),
               replid2_
                   ? fmt::format(", inherited {} up to {}", repl_wire::format_replid(*replid2_),
                                 fmt::join(replid2_until_, ","))
                   : std::string());
    std::fflush(stdout);
    for (size_t s = 0; s < logs_.size(); ++s) {
        if (reply.modes[s] == 'p') {
            Link::Shard& sh = l.shards[s];
            sh.mode = Link::Mode::kStreaming;
            sh.acked = req->seqs[s];
            backlogs_[s].for_each_after(
                req->seqs[s],
                [&](const repl::RecordView&, std::string_view bytes) { l.add_record(s, bytes); });
            ++stats_.partial_syncs;
        } else {
            l.start_snapshot(s);
        }
    }
    l.handshaken = true;
    ++stats_.connected;
    l.flush();
}

void ReplPrimary::drain_shard(size_t s) {
    ReplBacklog& backlog = backlogs_[s];
    logs_[s].drain(kDrainBytes, [&](const repl::RecordView& v, std::string_view bytes) {
        if (repl::is_mutation(v.h.kind)) {
            const uint64_t prev = drained_seq_[s];
            // (A replica's mirrored log jumps where a full sync restarts it:
            // the backlog starts again there, nobody to resync.)
            if (prev != kUnknownSeq && v.h.seq != prev + 1 && !mirroring_) {
                // The owner dropped records: whoever streams this shard
                // missed them and gets it whole again.
                stats_.log_gaps += v.h.seq - prev - 1;
                for (auto& l : links_) {
                    if (!l->handshaken || l->shards[s].mode == Link::Mode::kNone) continue;
                    // A move's receiver would keep keys deleted in the gap.
                    if (l->wants)
                        l->dead = true;
                    else
                        l->start_snapshot(s);
                }
            }
            drained_seq_[s] = v.h.seq;
            backlog.append(v, bytes);
            for (auto& l : links_) {
                if (l->shards[s].mode != Link::Mode::kStreaming) continue;
                if (!l->wants) {
                    l->add_record(s, bytes);
                } else if (v.h.kind == repl::RecordKind::kStore ||
                           v.h.kind == repl::RecordKind::kDelete) {
                    if (l->wants->wants(v.key)) l->add_moved(s, bytes);
                } else {
                    // A flush cannot be told to a receiver that has keys of
                    // its own: it starts the move over (the walk respects it).
                    l->dead = true;
                }
            }
            return;
        }
        for (auto& l : links_) {
            Link::Shard& sh = l->shards[s];
            if (sh.mode == Link::Mode::kNone || sh.snapshot_id != v.h.snapshot_id) continue;
            if (v.h.kind == repl::RecordKind::kSnapBegin) sh.mode = Link::Mode::kStreaming;
            if (sh.mode != Link::Mode::kStreaming) continue;
            if (l->wants) {
                if (v.h.kind != repl::RecordKind::kSnapItem || l->wants->wants(v.key))
                    l->add_moved(s, bytes);
            } else {
                l->add_record(s, bytes);
            }
            if (v.h.kind == repl::RecordKind::kSnapItem) {
                ++stats_.snapshot_records;
                stats_.snapshot_bytes += bytes.size();
            }
            if (v.h.kind == repl::RecordKind::kSnapEnd) sh.walking = false;
        }
    });
}

void ReplPrimary::request_steps() {
    for (auto& l : links_) {
        if (!l->handshaken || l->dead || l->out.size() >= kStepWhileBelow) continue;
        for (size_t s = 0; s < l->shards.size(); ++s) {
            Link::Shard& sh = l->shards[s];
            if (!sh.walking || sh.steps_done || sh.step_inflight) continue;
            dataplane::ReplSnapshotStep step = sh.cursor;
            step.snapshot_id = sh.snapshot_id;
            step.budget = kStepBudget;
            step.move_to = l->wants ? l->wants->pending_member + 1 : 0;
            // A quarter of the log stays for mutations.
            step.keep_free_kb = static_cast<uint32_t>((size_t{cfg_.log_mb} << 20) / 4 / 1024);
            const uint64_t ticket = next_ticket_++;
            dataplane::Message* msg = channel_.prepare(
                {reinterpret_cast<const char*>(&step), sizeof(step)}, nullptr, ticket);
            if (msg == nullptr) return;  // no room now: next turn
            msg->kind = dataplane::MessageKind::kControlReplSnapshot;
            channel_.send(s, msg);
            sh.step_inflight = true;
            steps_[ticket] = {l.get(), s};
        }
    }
}

void ReplPrimary::on_reply(const OwnerReply& r) {
    auto it = steps_.find(r.ticket);
    if (it == steps_.end()) return;  // its replica is gone
    auto [link, s] = it->second;
    steps_.erase(it);
    Link::Shard& sh = link->shards[s];
    sh.step_inflight = false;
    dataplane::ReplSnapshotStep step{};
    if (r.bytes == nullptr || r.len != sizeof(step)) return;  // retried next turn
    const void* p = rte_pktmbuf_read(r.bytes, 0, sizeof(step), &step);
    if (p != &step) std::memcpy(&step, p, sizeof(step));
    if (step.snapshot_id != sh.snapshot_id) return;  // a step of a snapshot started over
    sh.cursor = step;
    sh.steps_done = step.done != 0;
}

size_t ReplPrimary::tick() {
    size_t work = 0;
    for (size_t i = 0; i < links_.size();) {
        Link& l = *links_[i];
        if (l.out.size() > (size_t{cfg_.replica_output_limit_mb} << 20)) {
            ++stats_.output_limit_cut;
            l.dead = true;
        }
        if (l.dead) {
            close_link(l);
            links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        ++i;
    }
    if (enabled_) {
        if (mirroring_) {
            // A replica's logs: only the backlog is kept (no links).
            for (size_t s = 0; s < logs_.size(); ++s)
                if (logs_[s].pending_bytes() != 0) drain_shard(s);
            const uint64_t now = repl_wall_us();
            const uint64_t keep_us = uint64_t{cfg_.backlog_seconds} * 1'000'000;
            for (ReplBacklog& b : backlogs_)
                b.trim(now > keep_us ? now - keep_us : 0, size_t{cfg_.backlog_max_mb} << 20);
            return work;
        }
        for (size_t s = 0; s < logs_.size(); ++s) {
            const size_t before = logs_[s].pending_bytes();
            if (before == 0) continue;
            drain_shard(s);
            work += 1;
        }
        const uint64_t now = repl_wall_us();
        const uint64_t keep_us = uint64_t{cfg_.backlog_seconds} * 1'000'000;
        for (ReplBacklog& b : backlogs_)
            b.trim(now > keep_us ? now - keep_us : 0, size_t{cfg_.backlog_max_mb} << 20);
        const bool beat = now - last_heartbeat_us_ >= kHeartbeatUs;
        if (beat) last_heartbeat_us_ = now;
        uint64_t drained = 0;
        for (const uint64_t q : drained_seq_)
            drained += q == kUnknownSeq ? 0 : q;
        for (auto& l : links_) {
            if (!l->handshaken) continue;
            if (beat) l->heartbeat(now, drained);
            if (!l->out.empty() && !l->waiting_out) l->flush();
        }
        request_steps();
    }
    return work;
}

void ReplPrimary::close_link(Link& l) {
    for (auto it = steps_.begin(); it != steps_.end();) {
        if (it->second.first == &l)
            it = steps_.erase(it);
        else
            ++it;
    }
}

std::vector<ReplPrimary::MoveLinkStatus> ReplPrimary::move_links() const {
    std::vector<MoveLinkStatus> out;
    for (const auto& l : links_) {
        if (!l->handshaken || l->dead || !l->wants) continue;
        MoveLinkStatus m{.partition = l->move_partition,
                         .epoch = l->move_epoch,
                         .snapshot_done = true,
                         .caught_up = l->out.empty(),
                         .keys = l->moved_records,
                         .bytes = l->moved_bytes,
                         .unsent_bytes = l->out.size()};
        for (size_t s = 0; s < l->shards.size(); ++s) {
            const Link::Shard& sh = l->shards[s];
            m.snapshot_done = m.snapshot_done && !sh.walking;
            m.caught_up = m.caught_up && sh.acked >= l->sent_records[s];
            m.pages_walked += sh.cursor.page;
        }
        m.caught_up = m.caught_up && m.snapshot_done;
        out.push_back(std::move(m));
    }
    return out;
}

size_t ReplPrimary::close_move_links() {
    size_t n = 0;
    for (auto& l : links_)
        if (l->wants && !l->dead) {
            l->dead = true;
            ++n;
        }
    return n;
}

size_t ReplPrimary::kill_links() {
    size_t n = 0;
    for (auto& l : links_)
        if (!l->dead) {
            l->dead = true;
            ++n;
        }
    return n;
}

size_t ReplPrimary::n_replicas() const {
    size_t n = 0;
    for (const auto& l : links_)
        n += l->handshaken && !l->dead && !l->wants ? 1 : 0;
    return n;
}

std::vector<uint64_t> ReplPrimary::last_seqs() const {
    std::vector<uint64_t> out;
    for (const repl::LogReader& r : logs_)
        out.push_back(r.last_seq());
    return out;
}

size_t ReplPrimary::acked_at_least(const std::vector<uint64_t>& seqs) const {
    size_t n = 0;
    for (const auto& l : links_) {
        if (!l->handshaken || l->dead || l->wants) continue;
        bool all = true;
        for (size_t s = 0; s < seqs.size() && s < l->shards.size(); ++s)
            all = all && l->shards[s].acked >= seqs[s];
        n += all ? 1 : 0;
    }
    return n;
}

std::string ReplPrimary::info_lines() const {
    std::string out;
    size_t i = 0;
    const uint64_t now = repl_wall_us();
    const std::vector<uint64_t> last = last_seqs();
    for (const auto& l : links_) {
        if (!l->handshaken || l->dead || l->wants) continue;
        uint64_t offset = 0;
        bool syncing = false, caught_up = true;
        for (size_t s = 0; s < l->shards.size(); ++s) {
            offset += l->shards[s].acked;
            syncing = syncing || l->shards[s].walking;
            caught_up = caught_up && l->shards[s].acked >= last[s];
        }
        const uint64_t lag_us =
            caught_up || l->ack_time_us == 0 || now < l->ack_time_us ? 0 : now - l->ack_time_us;
        const size_t colon = l->peer.rfind(':');
        out += fmt::format(
            "slave{}:ip={},port={},state={},offset={},lag={},lag_us={},unsent_bytes={}\r\n", i++,
            l->peer.substr(0, colon), l->peer.substr(colon + 1), syncing ? "send_bulk" : "online",
            offset, l->last_ack_us == 0 ? 0 : (now - l->last_ack_us) / 1'000'000, lag_us,
            l->out.size());
    }
    return out;
}

}  // namespace fulmar::controlplane
