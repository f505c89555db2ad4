// A small HTTP/1.1 server on the control plane's EventLoop: GET (and HEAD)
// of a few fixed paths, each answered with a body made on the spot; 404 for
// other paths, 405 for other methods. What Prometheus needs to scrape
// /metrics (metrics_text.h), nothing more: no request bodies, no chunked
// encoding, no TLS (bind it to a management address).
//
// Owned by the control plane's loop thread; not thread-safe. Non-blocking
// throughout: a slow scraper holds only its own buffers. Connections are kept
// alive (HTTP/1.1) unless the client says `Connection: close` or speaks
// HTTP/1.0; at most kMaxConnections at once (more are closed at accept),
// idle ones closed after kIdleTimeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "event_loop.h"

namespace fulmar::controlplane {

// ---- the request line and headers, parsed (pure; tested alone) ----

enum class HttpParseStatus : uint8_t {
    kNeedMore,  // no blank line yet
    kComplete,  // a request; `consumed` bytes of input are its head
    kBad,       // not HTTP/1.x: answer 400 and close
    kTooLarge,  // the head passed kMaxRequestHead without ending: 431 and close
};

inline constexpr size_t kMaxRequestHead = 8192;

struct HttpRequest {
    std::string_view method;  // views into the parsed input
    std::string_view path;    // the target without its query string
    bool keep_alive = true;   // HTTP/1.1 without `Connection: close`
    bool has_body = false;    // Content-Length > 0 or Transfer-Encoding: not served
    size_t consumed = 0;
};

HttpParseStatus parse_http_request(std::string_view in, HttpRequest& out);

// ---- the server ----

class HttpServer final : public EventHandler {
  public:
    static constexpr size_t kMaxConnections = 32;
    static constexpr std::chrono::seconds kIdleTimeout{60};

    using Body = std::function<std::string()>;

    // Binds `addr:port` (host order; port 0: any free port) and accepts.
    static Result<std::unique_ptr<HttpServer>, std::string> listen(EventLoop& loop, uint32_t addr,
                                                                   uint16_t port);
    ~HttpServer() override;

    // GET `path` answers 200 with body() and this Content-Type.
    void route(std::string path, std::string content_type, Body body);

    void on_event(uint32_t events) override;  // accept
    // Frees closed connections and closes idle ones; after each loop turn.
    void tick();

    uint16_t port() const { return port_; }
    size_t connections() const { return conns_.size(); }

  private:
    class Conn;
    struct Route {
        std::string content_type;
        Body body;
    };
    explicit HttpServer(EventLoop& loop);
    // The whole response (status line, headers, body) to `req`.
    std::string respond(const HttpRequest& req) const;

    EventLoop& loop_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::unordered_map<std::string, Route> routes_;
    uint64_t next_conn_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
    std::vector<uint64_t> retired_;
    std::chrono::steady_clock::time_point last_idle_scan_{};
    friend class Conn;
};

}  // namespace fulmar::controlplane
