// The control plane's small HTTP server; see http_server.h.
#include "http_server.h"

#include "common/ascii.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "inet_socket.h"

namespace fulmar::controlplane {

// ===========================================================================
// Parsing

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Whether a comma-separated header value lists `token` (Connection: a, close).
bool lists(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        if (ascii_iequals(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

HttpParseStatus parse_http_request(std::string_view in, HttpRequest& out) {
    // Clients may send a stray CRLF between requests (RFC 9112 2.2).
    size_t start = 0;
    while (start + 1 < in.size() && in[start] == '\r' && in[start + 1] == '\n')
        start += 2;
    const size_t end = in.find("\r\n\r\n", start);
    if (end == std::string_view::npos)
        return in.size() > kMaxRequestHead ? HttpParseStatus::kTooLarge
                                           : HttpParseStatus::kNeedMore;
    if (end + 4 > kMaxRequestHead + start) return HttpParseStatus::kTooLarge;
    std::string_view head = in.substr(start, end - start);
    const size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);

    // method SP target SP HTTP/1.x
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return HttpParseStatus::kBad;
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpParseStatus::kBad;
    HttpRequest r;
    r.method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (target.front() != '/') return HttpParseStatus::kBad;
    r.path = target.substr(0, target.find('?'));
    r.keep_alive = version == "HTTP/1.1";

    while (!head.empty()) {
        const size_t next = head.find("\r\n");
        const std::string_view h = head.substr(0, next);
        head = next == std::string_view::npos ? std::string_view{} : head.substr(next + 2);
        const size_t colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) return HttpParseStatus::kBad;
        const std::string_view name = h.substr(0, colon);
        const std::string_view value = trim(h.substr(colon + 1));
        if (ascii_iequals(name, "connection")) {
            if (lists(value, "close")) r.keep_alive = false;
            if (lists(value, "keep-alive")) r.keep_alive = true;
        } else if (ascii_iequals(name, "content-length")) {
            if (value != "0") r.has_body = true;
        } else if (ascii_iequals(name, "transfer-encoding")) {
            r.has_body = true;
        }
    }
    r.consumed = end + 4;
    out = r;
    return HttpParseStatus::kComplete;
}

// ===========================================================================
// A connection

class HttpServer::Conn final : public EventHandler {
  public:
    Conn(HttpServer& server, int fd, uint64_t id)
        : server_(server), fd_(fd), id_(id), last_active_(std::chrono::steady_clock::now()) {}
    ~Conn() override { close_now(); }

    void on_event(uint32_t events) override {
        if (closed_) return;
        last_active_ = std::chrono::steady_clock::now();
        if ((events & EPOLLOUT) != 0) {
            write_out();
            if (!closed_ && out_.empty() && !in_.empty()) process();  // the next request
        }
        if (closed_ || (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) return;
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_now();
            return;
        }
        if (n > 0 && !closing_) in_.append(buf, static_cast<size_t>(n));
        process();
    }

    void close_now() {
        if (closed_) return;
        closed_ = true;
        server_.loop_.remove(fd_);
        ::close(fd_);
        server_.retired_.push_back(id_);
    }

    bool idle_since(std::chrono::steady_clock::time_point t) const {
        return out_.empty() && last_active_ < t;
    }

  private:
    void process() {
        // One request at a time: the next is parsed once the last reply is
        // written, so a client pipelining requests it does not read cannot
        // make us render (and hold) replies without bound.
        while (!closing_ && !in_.empty() && out_.empty()) {
            HttpRequest req;
            const HttpParseStatus st = parse_http_request(in_, req);
            if (st == HttpParseStatus::kNeedMore) break;
            if (st != HttpParseStatus::kComplete) {
                const bool big = st == HttpParseStatus::kTooLarge;
                out_ += fmt::format(
                    "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                    "Connection: close\r\n\r\n{}",
                    big ? "431 Request Header Fields Too Large" : "400 Bad Request", big ? 23 : 12,
                    big ? "request head too large\n" : "bad request\n");
                closing_ = true;
                break;
            }
            out_ += server_.respond(req);
            if (!req.keep_alive || req.has_body) closing_ = true;
            in_.erase(0, req.consumed);
            if (closing_) break;
            write_out();  // taken at once (the usual case): on to the next
            if (closed_) return;
        }
        if (closing_) in_.clear();
        write_out();
    }

    void write_out() {
        if (send_some(fd_, out_) == SendStatus::kFailed) {
            close_now();
            return;
        }
        if (closing_ && out_.empty()) {
            close_now();
            return;
        }
        // Not read while a reply waits to be taken (see process()).
        const uint32_t want = out_.empty() ? EPOLLIN : EPOLLOUT;
        if (want != interest_) {
            interest_ = want;
            server_.loop_.modify(fd_, want, this);
        }
    }

    HttpServer& server_;
    int fd_;
    uint64_t id_;
    std::string in_;
    std::string out_;
    bool closing_ = false;  // answer what is queued, then close
    bool closed_ = false;
    uint32_t interest_ = EPOLLIN;
    std::chrono::steady_clock::time_point last_active_;
};

// ===========================================================================
// The server

Result<std::unique_ptr<HttpServer>, std::string> HttpServer::listen(EventLoop& loop, uint32_t addr,
                                                                    uint16_t port) {
    std::unique_ptr<HttpServer> s(new HttpServer(loop));
    auto sock = bind_inet(SOCK_STREAM, addr, port, "HTTP (/metrics)", 64);
    if (!sock) return Err{sock.error()};
    s->fd_ = sock.value().fd;
    s->port_ = sock.value().port;
    if (!loop.add(s->fd_, EPOLLIN, s.get()))
        return Err{fmt::format("epoll: {}", std::strerror(errno))};
    return s;
}

HttpServer::HttpServer(EventLoop& loop) : loop_(loop) {}

HttpServer::~HttpServer() {
    conns_.clear();
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
    }
}

void HttpServer::route(std::string path, std::string content_type, Body body) {
    routes_[std::move(path)] = Route{std::move(content_type), std::move(body)};
}

std::string HttpServer::respond(const HttpRequest& req) const {
    std::string_view status = "200 OK";
    std::string_view type = "text/plain; charset=utf-8";
    std::string body;
    const bool head = req.method == "HEAD";
    std::string_view extra;
    if (req.has_body) {
        status = "400 Bad Request";
        body = "request bodies are not served\n";
    } else if (req.method != "GET" && !head) {
        status = "405 Method Not Allowed";
        extra = "Allow: GET, HEAD\r\n";
        body = "GET or HEAD only\n";
    } else if (auto r = routes_.find(std::string(req.path)); r != routes_.end()) {
        type = r->second.content_type;
        body = r->second.body();
    } else {
        status = "404 Not Found";
        body = "not found; try /metrics\n";
    }
    std::string out = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}{}\r\n", status, type,
        body.size(), extra, req.keep_alive && !req.has_body ? "" : "Connection: close\r\n");
    if (!head) out += body;
    return out;
}

void HttpServer::on_event(uint32_t) {
    for (;;) {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (conns_.size() - retired_.size() >= kMaxConnections) {
            ::close(fd);
            continue;
        }
        const uint64_t id = next_conn_++;
        auto c = std::make_unique<Conn>(*this, fd, id);
        if (!loop_.add(fd, EPOLLIN, c.get())) {
            // Closed by the connection going out of scope (its only owner).
            continue;
        }
        conns_.emplace(id, std::move(c));
    }
}

void HttpServer::tick() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_idle_scan_ >= std::chrono::seconds(1)) {
        last_idle_scan_ = now;
        for (auto& [id, c] : conns_)
            if (c->idle_since(now - kIdleTimeout)) c->close_now();
    }
    for (uint64_t id : retired_)
        conns_.erase(id);
    retired_.clear();
}

}  // namespace fulmar::controlplane
