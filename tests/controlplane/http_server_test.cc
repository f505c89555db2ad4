// The control plane's HTTP server: request heads parsed alone, then the
// server on a real EventLoop and a loopback socket (port 0): 200 with the
// route's body, 404, 405, keep-alive, Connection: close, oversized heads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "event_loop.h"
#include "http_server.h"

namespace fulmar::controlplane {
namespace {

TEST(HttpRequestHead, ParsesMethodPathAndKeepAlive) {
    HttpRequest r;
    const std::string in = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nGET /";
    ASSERT_EQ(parse_http_request(in, r), HttpParseStatus::kComplete);
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/metrics");
    EXPECT_TRUE(r.keep_alive);
    EXPECT_FALSE(r.has_body);
    EXPECT_EQ(r.consumed, in.size() - 5);
}

TEST(HttpRequestHead, NeedsMoreAtEveryCut) {
    const std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t cut = 0; cut < in.size(); ++cut) {
        HttpRequest r;
        EXPECT_EQ(parse_http_request(std::string_view(in).substr(0, cut), r),
                  HttpParseStatus::kNeedMore)
            << cut;
    }
}

TEST(HttpRequestHead, ConnectionCloseAndHttp10EndTheConnection) {
    HttpRequest r;
    ASSERT_EQ(parse_http_request("GET / HTTP/1.1\r\nconnection: Close\r\n\r\n", r),
              HttpParseStatus::kComplete);
    EXPECT_FALSE(r.keep_alive);
    ASSERT_EQ(parse_http_request("GET / HTTP/1.0\r\n\r\n", r), HttpParseStatus::kComplete);
    EXPECT_FALSE(r.keep_alive);
    ASSERT_EQ(parse_http_request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", r),
              HttpParseStatus::kComplete);
    EXPECT_TRUE(r.keep_alive);
}

TEST(HttpRequestHead, RejectsWhatIsNotHttp1AndOversizedHeads) {
    HttpRequest r;
    for (std::string_view bad : {"GET\r\n\r\n", "GET / HTTP/2\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                                 "GET x HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nnocolon\r\n\r\n"})
        EXPECT_EQ(parse_http_request(bad, r), HttpParseStatus::kBad) << bad;
    EXPECT_EQ(parse_http_request(std::string(kMaxRequestHead + 1, 'a'), r),
              HttpParseStatus::kTooLarge);
    ASSERT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", r),
              HttpParseStatus::kComplete);
    EXPECT_TRUE(r.has_body);
}

class HttpServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto s = HttpServer::listen(loop_, INADDR_LOOPBACK, 0);
        ASSERT_TRUE(s.ok()) << s.error();
        server_ = std::move(s.value());
        server_->route("/metrics", "text/plain; version=0.0.4", [this] {
            ++scrapes_;
            return std::string("fulmar_up 1\n");
        });
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(server_->port());
        ASSERT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    }
    void TearDown() override {
        if (fd_ >= 0) ::close(fd_);
    }

    // Sends `req`, runs the loop until `n` responses (by Content-Length) or
    // the server closed; returns what came back.
    std::string exchange(std::string_view req, size_t n = 1) {
        EXPECT_EQ(::send(fd_, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
        std::string got;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline && complete(got) < n) {
            loop_.run_once(10);
            server_->tick();
            char buf[4096];
            const ssize_t k = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (k == 0) {
                closed_ = true;
                break;
            }
            if (k > 0) got.append(buf, static_cast<size_t>(k));
        }
        return got;
    }

    static size_t complete(const std::string& s) {
        size_t n = 0, at = 0;
        for (;;) {
            const size_t head = s.find("\r\n\r\n", at);
            if (head == std::string::npos) return n;
            const size_t cl = s.find("Content-Length: ", at);
            const size_t len = std::stoul(s.substr(cl + 16));
            if (s.size() < head + 4 + len) return n;
            at = head + 4 + len;
            ++n;
        }
    }

    EventLoop loop_;
    std::unique_ptr<HttpServer> server_;
    int fd_ = -1;
    int scrapes_ = 0;
    bool closed_ = false;
};

TEST_F(HttpServerTest, GetMetricsAnswers200WithTheRoutesBodyAndType) {
    const std::string r = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
    EXPECT_NE(r.find("Content-Length: 12\r\n"), std::string::npos);
    EXPECT_TRUE(r.ends_with("\r\n\r\nfulmar_up 1\n"));
    EXPECT_EQ(scrapes_, 1);
}

TEST_F(HttpServerTest, KeepsTheConnectionForPipelinedRequests) {
    const std::string r = exchange("GET /metrics HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n", 2);
    EXPECT_EQ(complete(r), 2u);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(r.find("HTTP/1.1 404 Not Found"), std::string::npos);
    EXPECT_FALSE(closed_);
    EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpServerTest, OtherMethodsAre405AndConnectionCloseCloses) {
    std::string r = exchange("DELETE /metrics HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 405")) << r;
    EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos);
    r = exchange("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", 2);
    EXPECT_TRUE(closed_);
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, AnOversizedHeadIs431AndCloses) {
    const std::string r =
        exchange("GET /" + std::string(kMaxRequestHead + 10, 'a') + " HTTP/1.1\r\n\r\n", 2);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 431")) << r.substr(0, 80);
    EXPECT_TRUE(closed_);
    EXPECT_EQ(scrapes_, 0);
}

}  // namespace
}  // namespace fulmar::controlplane
