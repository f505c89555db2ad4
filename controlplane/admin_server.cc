// The admin socket and its connections; see admin_server.h.
#include "admin_server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "admin_commands.h"
#include "inet_socket.h"
#include "proto/resp_writer.h"
#include "sweep_driver.h"

namespace fulmar::controlplane {

// One admin client: RESP requests in, replies out, one at a time (a FLUSH
// or SWEEP NOW waits for every owner before the next request is read).
class AdminServer::Conn final : public EventHandler {
  public:
    Conn(AdminServer& server, int fd, uint64_t id) : server_(server), fd_(fd), id_(id) {}
    ~Conn() override { close_now(); }

    void on_event(uint32_t events) override {
        if (closed_) return;
        if ((events & EPOLLOUT) != 0) write_out();
        if (closed_ || (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) return;
        char buf[16 * 1024];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_now();
            return;
        }
        if (n > 0) in_.append(buf, static_cast<size_t>(n));
        process();
    }

    void on_reply(const OwnerReply&) {
        if (flush_pending_ == 0 || --flush_pending_ != 0) return;
        proto::RespWriter w(out_);
        w.write_simple("OK");
        process();
    }

    void close_now() {
        if (closed_) return;
        closed_ = true;
        server_.deps_.loop->remove(fd_);
        ::close(fd_);
        server_.retired_.push_back(id_);
    }

  private:
    void process() {
        while (!closed_ && !quitting_ && flush_pending_ == 0 && !sweep_pending_ && !in_.empty()) {
            const proto::RespParseResult r = parser_.parse(in_);
            if (r.status == proto::ParseStatus::kNeedMore) break;
            proto::RespWriter w(out_);
            if (r.status == proto::ParseStatus::kError) {
                w.write_error(parser_.error_message());
                quitting_ = true;  // as Redis: a protocol error ends the connection
                in_.clear();
                break;
            }
            const auto args = parser_.args();
            const AdminAction a = run_admin_command(args, view(), w);
            in_.erase(0, r.consumed);
            if (a == AdminAction::kQuit) quitting_ = true;
            if (a == AdminAction::kFlush) start_flush(w);
            if (a == AdminAction::kSweepNow) start_sweep();
        }
        write_out();
    }

    AdminView view() const {
        return AdminView{.dp = *server_.deps_.dp,
                         .cfg = *server_.deps_.cfg,
                         .mc = server_.deps_.mc,
                         .udp = server_.deps_.udp,
                         .channel = *server_.deps_.channel,
                         .sweep = server_.deps_.sweep,
                         .cluster_status = server_.deps_.cluster_status,
                         .replication_status = server_.deps_.replication_status,
                         .failover = server_.deps_.failover,
                         .repl_offsets = server_.deps_.repl_offsets,
                         .repl_acked = server_.deps_.repl_acked,
                         .ring = server_.deps_.ring};
    }

    // SWEEP NOW: the pacer runs a full pass; the answer is SWEEP's table
    // once it is over. The connection may be gone by then: looked up by id.
    void start_sweep() {
        sweep_pending_ = true;
        AdminServer& server = server_;
        const uint64_t id = id_;
        server_.deps_.sweep->full_pass([&server, id] {
            const auto c = server.conns_.find(id);
            if (c == server.conns_.end() || c->second->closed_) return;
            Conn& conn = *c->second;
            conn.sweep_pending_ = false;
            proto::RespWriter w(conn.out_);
            write_sweep(conn.view(), w);
            conn.process();
        });
    }

    void start_flush(proto::RespWriter& w) {
        static constexpr std::string_view kFlush = "flush_all\r\n";
        ShardChannel& ch = *server_.deps_.channel;
        std::vector<uint64_t> tickets(ch.n_shards());
        for (uint64_t& t : tickets)
            t = server_.next_ticket_++;
        if (!ch.fan_out(kFlush, nullptr, tickets)) {
            w.write_error("BUSY the owners' channel is full; try again");
            return;
        }
        for (uint64_t t : tickets)
            server_.tickets_.emplace(t, id_);
        flush_pending_ = tickets.size();
    }

    void write_out() {
        if (send_some(fd_, out_) == SendStatus::kFailed) {
            close_now();
            return;
        }
        if (quitting_ && out_.empty()) {
            close_now();
            return;
        }
        const uint32_t want = out_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT;
        if (want != interest_) {
            interest_ = want;
            server_.deps_.loop->modify(fd_, want, this);
        }
    }

    AdminServer& server_;
    int fd_;
    uint64_t id_;
    proto::RespParser parser_;
    std::string in_;
    std::string out_;
    size_t flush_pending_ = 0;
    bool sweep_pending_ = false;
    bool quitting_ = false;
    bool closed_ = false;
    uint32_t interest_ = EPOLLIN;
};

Result<std::unique_ptr<AdminServer>, std::string> AdminServer::listen(const AdminDeps& deps) {
    std::unique_ptr<AdminServer> s(new AdminServer(deps));
    const config::ControlplaneConfig& cp = deps.cfg->controlplane;
    s->path_ = cp.admin_socket;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(s->path_).parent_path(), ec);
    if (ec) return Err{fmt::format("cannot create the folder of {}: {}", s->path_, ec.message())};
    // A socket file left by a control plane that was killed; nothing listens
    // on it (the dataplane allows one control plane at a time).
    ::unlink(s->path_.c_str());
    s->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd_ < 0) return Err{fmt::format("socket: {}", std::strerror(errno))};
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, s->path_.data(), s->path_.size());
    // Created with no permissions at all, then opened up to exactly what the
    // config says: no window where anyone else may connect.
    const mode_t old = ::umask(0777);
    const int rc = ::bind(s->fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::umask(old);
    if (rc != 0)
        return Err{
            fmt::format("cannot bind the admin socket {}: {}", s->path_, std::strerror(errno))};
    mode_t mode = 0600;
    if (cp.admin_group) {
        const group* g = ::getgrnam(cp.admin_group->c_str());
        if (g == nullptr)
            return Err{fmt::format("controlplane.admin_group: no group '{}'", *cp.admin_group)};
        if (::chown(s->path_.c_str(), ::getuid(), g->gr_gid) != 0)
            return Err{fmt::format("chown {}: {}", s->path_, std::strerror(errno))};
        mode = 0660;
    }
    if (::chmod(s->path_.c_str(), mode) != 0)
        return Err{fmt::format("chmod {}: {}", s->path_, std::strerror(errno))};
    if (::listen(s->fd_, 64) != 0) return Err{fmt::format("listen: {}", std::strerror(errno))};
    if (!deps.loop->add(s->fd_, EPOLLIN, s.get()))
        return Err{fmt::format("epoll: {}", std::strerror(errno))};
    return s;
}

AdminServer::AdminServer(const AdminDeps& deps) : deps_(deps) {}

AdminServer::~AdminServer() {
    conns_.clear();
    if (fd_ >= 0) {
        deps_.loop->remove(fd_);
        ::close(fd_);
        ::unlink(path_.c_str());
    }
}

void AdminServer::on_event(uint32_t) {
    for (;;) {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;
        }
        const uint64_t id = next_conn_++;
        auto c = std::make_unique<Conn>(*this, fd, id);
        if (!deps_.loop->add(fd, EPOLLIN, c.get())) {
            // Closed by the connection going out of scope (its only owner).
            continue;
        }
        conns_.emplace(id, std::move(c));
    }
}

void AdminServer::on_reply(const OwnerReply& r) {
    const auto t = tickets_.find(r.ticket);
    if (t == tickets_.end()) return;
    const uint64_t conn = t->second;
    tickets_.erase(t);
    if (auto c = conns_.find(conn); c != conns_.end()) c->second->on_reply(r);
}

void AdminServer::tick() {
    for (uint64_t id : retired_)
        conns_.erase(id);
    retired_.clear();
}

}  // namespace fulmar::controlplane
