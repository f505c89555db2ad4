// Differential test: the same request streams to Debian's memcached 1.6.18
// (started here on a free loopback port) and to an in-process McSession;
// the replies must match byte for byte, CAS values and the version string
// aside.
//
// Each stream gets its own connection and its own keys (a prefix per
// stream), so streams do not see each other's items; flush_all is global on
// both sides alike. Both sides run on the real clock, and no stream depends
// on a TTL running out (exptimes are 0, far away, or already past) or on a
// delayed flush: TTL timing is for mc_classic_test.cc on a ManualClock.
//
// Reading memcached's reply: every stream ends with "mn", and we read until
// as many "MN" lines as our session wrote, the connection closes, or
// memcached has been silent for kSilenceMs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../store/shard_fixture.h"
#include "engine/engine_ctx.h"
#include "engine/mc_session.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

extern char** environ;

namespace fulmar::engine {
namespace {

using namespace std::string_literals;

constexpr const char* kMemcachedPath = "/usr/bin/memcached";
constexpr int kSilenceMs = 300;
constexpr auto kExchangeCap = std::chrono::seconds(10);
constexpr std::string_view kSentinel = "mn\r\n";
constexpr std::string_view kMn = "MN\r\n";

// ---- the real memcached ------------------------------------------------------

int connect_loopback(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

// A port nobody listens on right now: bind port 0 and let the kernel pick.
uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

class Memcached {
  public:
    bool start() {
        if (::access(kMemcachedPath, X_OK) != 0) return false;
        for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
            port_ = free_port();
            if (port_ == 0) continue;
            const std::string port = std::to_string(port_);
            std::vector<const char*> argv = {
                kMemcachedPath, "-u", "root", "-l", "127.0.0.1", "-p", port.c_str(),
                "-U",           "0",  "-m",   "64", "-t",        "1",  nullptr};
            posix_spawn_file_actions_t fa;
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
            posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
            pid_t pid = 0;
            const int rc = posix_spawn(&pid, kMemcachedPath, &fa, nullptr,
                                       const_cast<char* const*>(argv.data()), environ);
            posix_spawn_file_actions_destroy(&fa);
            if (rc != 0) return false;
            pid_ = pid;
            if (!wait_accepting()) stop();  // the port was taken meanwhile: try another
        }
        return pid_ > 0;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    uint16_t port() const { return port_; }

  private:
    bool wait_accepting() {
        for (int i = 0; i < 200; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;  // exited (port in use): reaped
                return false;
            }
            const int fd = connect_loopback(port_);
            if (fd >= 0) {
                ::close(fd);
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    pid_t pid_ = -1;
    uint16_t port_ = 0;
};

size_t count_mn(std::string_view s) {
    size_t n = 0;
    for (size_t at = 0; (at = s.find(kMn, at)) != std::string_view::npos; at += kMn.size())
        if (at == 0 || s[at - 1] == '\n') ++n;
    return n;
}

// Sends `req` on a fresh connection and reads the replies (see the file
// comment for when reading stops). Sends and reads at once, so a large
// reply cannot block a large request.
std::string exchange(uint16_t port, std::string_view req, size_t want_mn) {
    std::string got;
    const int fd = connect_loopback(port);
    if (fd < 0) return "<connect failed>";
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + kExchangeCap;
    std::vector<char> buf(1 << 16);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, static_cast<short>(POLLIN | (sent < req.size() ? POLLOUT : 0)), 0};
        const int n = ::poll(&p, 1, sent < req.size() ? 1000 : kSilenceMs);
        if (n == 0) {
            if (sent == req.size()) break;  // silence
            continue;
        }
        if (n < 0) break;
        if (p.revents & POLLOUT) {
            const ssize_t w = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
            if (w > 0) sent += static_cast<size_t>(w);
            if (w < 0 && errno != EAGAIN) sent = req.size();  // closed on us: just read
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                got += "<closed>";
                break;
            }
            if (r > 0) got.append(buf.data(), static_cast<size_t>(r));
        }
        if (sent == req.size() && got.ends_with(kMn) && count_mn(got) >= want_mn) break;
    }
    ::close(fd);
    return got;
}

// ---- masking ----------------------------------------------------------------------

// Replaces the CAS of "VALUE <key> <flags> <bytes> <cas>" lines, the c<cas>
// tokens of meta status lines and the version string with "*", stepping
// over data blocks so that their bytes are never read as lines.
std::string mask(std::string_view s) {
    std::string out;
    size_t pos = 0;
    auto tokens = [](std::string_view line) {
        std::vector<std::string_view> t;
        size_t i = 0;
        while (i < line.size()) {
            const size_t j = std::min(line.find(' ', i), line.size());
            t.push_back(line.substr(i, j - i));
            i = j + 1;
        }
        return t;
    };
    while (pos < s.size()) {
        const size_t eol = s.find("\r\n", pos);
        if (eol == std::string_view::npos) {
            out.append(s.substr(pos));
            break;
        }
        const std::string_view line = s.substr(pos, eol - pos);
        pos = eol + 2;
        std::vector<std::string_view> t = tokens(line);
        size_t data = 0;
        bool has_data = false;
        std::string masked;
        if (line.starts_with("VERSION ")) {
            masked = "VERSION *";
        } else if (line.starts_with("VALUE ") && (t.size() == 4 || t.size() == 5)) {
            data = std::strtoull(std::string(t[3]).c_str(), nullptr, 10);
            has_data = true;
            masked = std::string(line);
            if (t.size() == 5)
                masked = std::string(line.substr(0, t[4].data() - line.data())) + "*";
        } else if (t.size() >= 1 && (t[0] == "VA" || t[0] == "HD" || t[0] == "EN" || t[0] == "NF" ||
                                     t[0] == "NS" || t[0] == "EX")) {
            size_t first = 1;
            if (t[0] == "VA" && t.size() >= 2) {
                data = std::strtoull(std::string(t[1]).c_str(), nullptr, 10);
                has_data = true;
                first = 2;
            }
            masked = std::string(
                line.substr(0, t[first - 1].data() + t[first - 1].size() - line.data()));
            for (size_t i = first; i < t.size(); ++i) {
                masked += ' ';
                masked += t[i].starts_with('c') ? "c*"s : std::string(t[i]);
            }
        } else {
            masked = std::string(line);
        }
        out += masked;
        out += "\r\n";
        if (has_data) {
            const size_t n = std::min(s.size() - pos, data + 2);
            out.append(s.substr(pos, n));
            pos += n;
        }
    }
    return out;
}

// Makes bytes readable in a failure message.
std::string printable(std::string_view s, size_t max = 2000) {
    std::string out;
    for (const char c : s.substr(0, max)) {
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n\n";
        else if (c >= 32 && c < 127)
            out += c;
        else
            out += "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 15]) +
                   std::string(1, "0123456789abcdef"[c & 15]);
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

// ---- the fixture -------------------------------------------------------------------

class McDiff : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = new Memcached();
        if (!server_->start()) {
            delete server_;
            server_ = nullptr;
            return;
        }
        for (int i = 0; i < 2; ++i) {
            shards_.push_back(store::testing::make_shard(32 << 20));
            ptrs_.push_back(shards_.back().get());
        }
        scratch_.resize(store::kMaxItemSize);
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
        ctx_.clock = &clock_;
        ctx_.scratch = std::span<char>(scratch_);
        ctx_.stats = &stats_;
        ctx_.started = clock_.now();
    }

    static void TearDownTestSuite() {
        if (server_ != nullptr) server_->stop();
        delete server_;
        server_ = nullptr;
        shards_.clear();
        ptrs_.clear();
    }

    void SetUp() override {
        // memcached is the reference: without it the test cannot pass.
        ASSERT_NE(server_, nullptr) << kMemcachedPath << " could not be started";
    }

    // Our replies to `in` on a fresh session, fed at once.
    static std::string ours(std::string_view in) {
        McSession session(ctx_);
        proto::StringSink sink;
        const McFeedResult r = session.feed(in, sink);
        if (r.status == McSessionStatus::kClose) sink.out += "<closed>";
        return sink.out;
    }

    // Runs `tmpl`, with '$' replaced by a fresh key prefix and the sentinel
    // appended unless `sentinel` is false, on both sides; true when the
    // masked replies match. A mismatch is tried once more with fresh keys
    // before it counts: memcached's background threads (LRU maintainer and
    // crawler) very rarely change an outcome (about 1 stream in 30,000
    // here), while our side is deterministic.
    static bool same(const std::string& tmpl, bool sentinel = true) {
        std::string req, mine, theirs;
        for (int attempt = 0; attempt < 2; ++attempt) {
            req = keyed(tmpl) + (sentinel ? std::string(kSentinel) : std::string());
            mine = ours(req);
            // Stop at the last MN only when it answers the sentinel; after a
            // close, or when the sentinel was read as data, wait for EOF or
            // silence.
            const size_t want_mn = mine.ends_with(kMn) ? count_mn(mine) : SIZE_MAX;
            theirs = exchange(server_->port(), req, want_mn);
            if (mask(mine) == mask(theirs)) return true;
        }
        if (++failures_ <= 15)
            ADD_FAILURE() << "request:\n"
                          << printable(req) << "\n--- ours:\n"
                          << printable(mine) << "\n--- memcached:\n"
                          << printable(theirs);
        return false;
    }

    static std::string prefix() { return "d" + std::to_string(++streams_) + "_"; }

    // `tmpl` with every '$' replaced by a fresh key prefix.
    static std::string keyed(std::string_view tmpl) {
        const std::string p = prefix();
        std::string out;
        for (const char c : tmpl) {
            if (c == '$')
                out += p;
            else
                out += c;
        }
        return out;
    }

    static inline Memcached* server_ = nullptr;
    static inline SystemClock clock_;
    static inline std::vector<std::unique_ptr<store::Shard>> shards_;
    static inline std::vector<store::Shard*> ptrs_;
    static inline std::vector<char> scratch_;
    static inline EngineStats stats_;
    static inline EngineCtx ctx_;
    static inline int streams_ = 0;
    static inline int failures_ = 0;
};

// ---- hand-written edge cases ---------------------------------------------------------

const std::vector<std::string> kClassicCases = {
    // storage
    "set $a 5 0 3\r\nabc\r\nget $a\r\n",
    "set $a 0 0 0\r\n\r\nget $a\r\ngets $a\r\n",
    "set $a 4294967295 0 1\r\n1\r\nget $a\r\nset $a 4294967296 0 1\r\n2\r\nget $a\r\n",
    "set $a -1 0 1\r\n1\r\nset $a 0 0 -1\r\nset $a 0 x 1\r\n1\r\nset $a 00012 +0 1\r\n1\r\nget "
    "$a\r\n",
    "add $a 0 0 1\r\n1\r\nadd $a 0 0 1\r\n2\r\nreplace $b 0 0 1\r\n1\r\nreplace $a 3 0 1\r\n3\r\n"
    "get $a $b\r\n",
    "set $t 5 0 2\r\nab\r\nappend $t 9 0 2\r\ncd\r\nprepend $t 7 0 2\r\nxy\r\nget $t\r\n"
    "append $nx 0 0 1\r\na\r\nprepend $nx 0 0 1\r\na\r\n",
    "set $a 0 0 1 noreply\r\n1\r\nadd $a 0 0 1 noreply\r\n2\r\nreplace $x 0 0 1 noreply\r\n3\r\n"
    "append $a 0 0 1 noreply\r\n4\r\ncas $a 0 0 1 99 noreply\r\n5\r\nget $a\r\n",
    "set $a 0 0 1 junk\r\n1\r\nset $a 0 0 1 noreply extra\r\n1\r\nget $a\r\n",
    "cas $c 0 0 1 1\r\n1\r\nset $c 0 0 1\r\n1\r\ncas $c 0 0 1 0\r\n2\r\n"
    "cas $c 0 0 1 99999999999\r\n2\r\ncas $c 0 0 1\r\n2\r\n",
    "set $a 0 1000 1\r\n1\r\nset $b 0 -1 1\r\n1\r\nset $c 0 1000000000 1\r\n1\r\nget $a $b $c\r\n",
    // data chunks
    "set $a 0 0 1\r\nxyz\r\nget $a\r\n",
    "set $a 0 0 1 noreply\r\nxyz\r\nversion\r\n",
    "set $a 0 0 3\r\nab\r\n\r\nget $a\r\n",
    "set $a 0 0 2\r\nab\n\nget $a\r\n",
    "set $a 0 0 2\r\nabcd\r\n",
    // retrieval
    "set $a 1 0 1\r\nA\r\nset $c 3 0 1\r\nC\r\nget $a $b $c $a\r\nbget $a\r\n",
    "get\r\ngets\r\ngat\r\ngat 10\r\ngats 0\r\ngat x $a\r\n",
    "set $a 0 0 1\r\n1\r\ngat 1000 $a $b\r\ngat -1 $a\r\nget $a\r\n",
    "get  $a   $b  \r\nget $a\n",
    // delete
    "set $a 0 0 1\r\n1\r\ndelete $a\r\ndelete $a\r\ndelete $a 0\r\ndelete $a noreply\r\n"
    "delete $a 0 noreply\r\ndelete $a 1\r\ndelete $a noreply 0\r\ndelete\r\ndelete $a 0 0 0\r\n",
    // incr, decr
    "set $a 0 0 1\r\n1\r\nincr $a 5\r\nget $a\r\ndecr $a 10\r\ngets $a\r\n",
    "set $n 0 0 3\r\n100\r\ndecr $n 1\r\nget $n\r\nincr $n 1\r\nget $n\r\nincr $n 900\r\nget "
    "$n\r\n",
    "set $n 0 0 20\r\n18446744073709551615\r\nincr $n 1\r\nget $n\r\n"
    "incr $n 18446744073709551615\r\ndecr $n 18446744073709551615\r\n",
    "set $n 0 0 3\r\n 12\r\nincr $n 1\r\nset $n 0 0 3\r\n-12\r\nincr $n 1\r\nset $n 0 0 "
    "3\r\n12a\r\n"
    "incr $n 1\r\nset $n 0 0 0\r\n\r\nincr $n 1\r\nset $n 0 0 3\r\n1 2\r\nincr $n 1\r\nget $n\r\n",
    "incr $n 1\r\ndecr $n 1\r\nincr $n -1\r\nincr $n x\r\nincr $n\r\nincr $n 1 2 3\r\n",
    "set $n 0 0 1\r\n5\r\nincr $n 2 noreply\r\ndecr $n 1 noreply\r\nincr $n 1 junk\r\n"
    "incr $n +3\r\nincr $n 007\r\nget $n\r\n",
    "set $n 0 0 2\r\n99\r\nincr $n 1\r\ngets $n\r\n",
    "set $n 7 0 5\r\n00042\r\ndecr $n 2\r\nget $n\r\n",
    // touch
    "touch $a 10\r\nset $a 0 0 1\r\n1\r\ntouch $a 10\r\ntouch $a 10 noreply\r\ntouch $a x\r\n"
    "touch $a\r\ntouch $a -1\r\nget $a\r\n",
    // flush_all (no positive delay: that would outlive the stream)
    "set $a 0 0 1\r\n1\r\nflush_all\r\nget $a\r\nset $a 0 0 1\r\n2\r\nget $a\r\n",
    "flush_all 0\r\nflush_all -1\r\nflush_all noreply\r\nflush_all abc\r\nflush_all 0 0 0\r\n"
    "flush_all noreply 0\r\nflush_all 0 noreply\r\n",
    // admin
    "version\r\nversion extra tokens\r\nverbosity 1\r\nverbosity 1 noreply\r\nverbosity\r\n"
    "verbosity x\r\nverbosity noreply\r\nverbosity 0 0 0\r\n",
    "stats foo\r\nstats detail\r\nstats cachedump\r\nstats cachedump 1 x\r\n"
    "stats cachedump 100 1\r\nstats noreply\r\n",
    // bad lines
    "bogus\r\n\r\n\n  \r\nx\r\nGET\r\nSET $a 0 0 1\r\n",
    "set $a 0 0\r\nset $a 0 0 1 2 3\r\nget $a\r\n",
    "get $a\0junk\r\nset $a 0 0 1\0 junk\r\n1\r\nget $a\r\n"s,
    "set\t$a 0 0 1\r\n1\r\n",
    // long keys
    "set $" + std::string(240, 'k') + " 0 0 1\r\n1\r\nget $" + std::string(240, 'k') + "\r\n",
    "set " + std::string(251, 'k') + " 0 0 1\r\n1\r\ndelete " + std::string(251, 'k') +
        "\r\nincr " + std::string(251, 'k') + " 1\r\ntouch " + std::string(251, 'k') + " 1\r\n",
    // the reply queue
    "set $a 0 0 1\r\n1\r\nversion\r\nget $a " + std::string(251, 'k') + "\r\nversion\r\n",
    "version\r\nget $a\r\nversion\r\nget " + std::string(251, 'k') + "\r\nversion\r\n",
    "set $a 0 0 1\r\n1\r\nget $a\r\nversion\r\ngets " + std::string(251, 'k') + "\r\n",
    "version\r\nmn\r\nversion\r\nget " + std::string(251, 'k') + "\r\n",
    "set $a 0 0 1\r\n1\r\nget $a\r\nquit\r\nget $a\r\n",
    "version\r\nquit now\r\n",
    "set $a 0 0 1\r\n1\r\ngat -1 $a " + std::string(251, 'k') + "\r\nget $a\r\n",
    "set $a 0 0 1\r\n1\r\nmg $a h\r\nget $a " + std::string(251, 'k') + "\r\nmg $a h\r\n",
};

TEST_F(McDiff, ClassicEdgeCases) {
    for (const std::string& c : kClassicCases)
        same(c);
}

TEST_F(McDiff, RequestsPerEventWrites) {
    const std::string long_get = "get " + std::string(251, 'k') + "\r\n";
    for (size_t n : {5, 19, 20, 21, 22, 30, 40, 41, 42, 45, 61}) {
        std::string s;
        for (size_t i = 0; i < n; ++i)
            s += i % 3 == 0 ? "set $x 0 0 1\r\n1\r\n" : "version\r\n";
        same(s + long_get);
    }
}

TEST_F(McDiff, ItemSizeLimit) {
    auto set = [](std::string_view cmd, std::string_view key, uint32_t flags, size_t len,
                  std::string_view extra = "") {
        return std::string(cmd) + " " + std::string(key) + " " + std::to_string(flags) + " 0 " +
               std::to_string(len) + std::string(extra) + "\r\n" + std::string(len, 'v') + "\r\n";
    };
    for (size_t len : {1048515, 1048516, 1048517})
        same(set("set", "$", 0, len) + "get $ $\r\ndelete $\r\n");
    for (size_t len : {1048512, 1048513})
        same(set("set", "$", 1, len) + "delete $\r\n");
    same("set $a 0 0 1\r\n1\r\n" + set("set", "$a", 0, 2000000) + "get $a\r\n");
    same("set $a 0 0 1\r\n1\r\n" + set("add", "$a", 0, 1048600) + "get $a\r\n");
    same("set $a 0 0 1\r\n1\r\n" + set("set", "$a", 0, 1048600, " noreply") + "get $a\r\n");
    same(set("set", "$b", 0, 600000) + set("append", "$b", 0, 600000) + "delete $b\r\n");
    same("set $b 0 0 10\r\n0123456789\r\n" + set("append", "$b", 5, 1048513) +
         set("append", "$b", 0, 1048507) + "delete $b\r\n");
    same("set $a 1 0 1048513\r\n" + std::string(1048513, 'x') + "XYget $a\r\n");
}

TEST_F(McDiff, ClosingConnections) {
    same("set $a 0 0 1\r\n1\r\nversion\r\nGET / HTTP/1.1\r\n");
    same("set $a 0 0 1\r\n1\r\nversion\r\nPOST /x HTTP/1.0\r\nget $a\r\n");
    // No sentinel: its newline would end the long line.
    same("version\r\n" + std::string(3000, 'x'), false);
    same("version\r\n" + std::string(2049, 'y'), false);
}

const std::vector<std::string> kMetaCases = {
    "mn\r\nmn extra\r\n",
    "ms $a 2\r\nhi\r\nmg $a v\r\nmg $a s f v k\r\nmg $a O123 q v\r\nmg $b v\r\nmg $b q v\r\n"
    "mg $b k O9\r\n",
    "ms $a 2 T1000 F5\r\nhi\r\nmg $a f v\r\nms $a 2 c\r\nyo\r\nmg $a c v\r\n",
    "ms $a 2 q\r\nhi\r\nms $a 2 MA\r\n!!\r\nmg $a v\r\nms $a 1 ME\r\nx\r\nms $b 1 MR\r\nx\r\n"
    "ms $a 1 MP\r\n<\r\nmg $a v\r\nms $a 1 MX\r\nx\r\n",
    "md $a\r\nms $a 1\r\n1\r\nmd $a q\r\nmd $a\r\nmg $a v\r\nmd $a k O5\r\n",
    "ma $n\r\nma $n N0 J5 v\r\nma $n v\r\nma $n MD D3 v\r\nma $n D100 MD v\r\nma $n q\r\n"
    "ma $n v c\r\nms $t 2\r\nab\r\nma $t\r\n",
    "mg $a zz\r\nms $a\r\nms $a x\r\nms $a 2 !\r\nhi\r\nmg\r\nmz $a\r\n",
    "ms $a 2000000\r\n" + std::string(2000000, 'm') + "\r\nmn\r\n",
    "set $a 0 0 1\r\n1\r\nms $a 2000000\r\n" + std::string(2000000, 'm') + "\r\nget $a\r\n",
    "ms $a 2\r\nabcd\r\nmg $a v\r\n",
    "mg " + std::string(251, 'k') + " v\r\nms " + std::string(251, 'k') + " 1\r\nx\r\n",
    "set $a 3 0 2\r\nhi\r\nmg $a v f\r\nms $b 2 F7\r\nyo\r\nget $b\r\ngets $a\r\nmg $a h v\r\n"
    "mg $a h\r\n",
    "ms $a 2 I\r\nhi\r\nmg $a v\r\n",
    // a queued mg reply holds its item: incr/decr cannot rewrite it in place
    "set $n 0 0 3\r\n100\r\nmg $n\r\ndecr $n 1\r\nget $n\r\ndecr $n 1\r\nget $n\r\n",
    "set $n 0 0 3\r\n100\r\nmg $n v\r\nma $n MD v c\r\nmg $n v\r\nmn\r\nma $n MD\r\nmg $n v\r\n",
    "set $n 0 0 3\r\n100\r\nmg $n q k\r\nset $n 0 0 3\r\n500\r\ndecr $n 1\r\nmg $n v\r\n",
    "set $n 0 0 3\r\n100\r\nmg $x\r\ndecr $n 1\r\nmg $n v\r\n",
};

TEST_F(McDiff, MetaEdgeCases) {
    for (const std::string& c : kMetaCases)
        same(c);
}

// CAS values differ between the two servers, so a matching cas has to be
// sent with each side's own number: one step at a time, on one session and
// one connection.
TEST_F(McDiff, CasWithTheRightUniqueStores) {
    const std::string key = prefix() + "c";
    McSession session(ctx_);
    const int fd = connect_loopback(server_->port());
    ASSERT_GE(fd, 0);
    auto mine = [&](const std::string& req) {
        proto::StringSink sink;
        (void)session.feed(req, sink);
        return sink.out;
    };
    auto theirs = [&](const std::string& req) {
        const std::string out = req + std::string(kSentinel);
        EXPECT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
        std::string got;
        char buf[4096];
        while (!got.ends_with(kMn)) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 2000) <= 0) break;
            const ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
            if (r <= 0) break;
            got.append(buf, static_cast<size_t>(r));
        }
        got.resize(got.size() - std::min(got.size(), kMn.size()));
        return got;
    };
    auto both = [&](const std::string& req) {
        EXPECT_EQ(mask(mine(req)), mask(theirs(req))) << req;
    };
    auto cas_in = [](const std::string& gets_reply) {
        const size_t eol = gets_reply.find("\r\n");
        const size_t sp = gets_reply.rfind(' ', eol);
        return gets_reply.substr(sp + 1, eol - sp - 1);
    };

    both("set " + key + " 0 0 1\r\n1\r\n");
    const std::string gets = "gets " + key + "\r\n";
    const std::string our_cas = cas_in(mine(gets));
    const std::string their_cas = cas_in(theirs(gets));
    auto cas_cmd = [&](const std::string& unique, char v) {
        return "cas " + key + " 3 0 1 " + unique + "\r\n" + v + "\r\n";
    };
    EXPECT_EQ(mine(cas_cmd(our_cas, '2')), "STORED\r\n");
    EXPECT_EQ(theirs(cas_cmd(their_cas, '2')), "STORED\r\n");
    both("get " + key + "\r\n");
    // The old unique no longer matches on either side.
    EXPECT_EQ(mine(cas_cmd(our_cas, '3')), "EXISTS\r\n");
    EXPECT_EQ(theirs(cas_cmd(their_cas, '3')), "EXISTS\r\n");
    // Meta: ms C with the current unique, then with a stale one.
    const std::string our_now = cas_in(mine(gets));
    const std::string their_now = cas_in(theirs(gets));
    auto ms_cmd = [&](const std::string& unique) {
        return "ms " + key + " 1 C" + unique + "\r\n4\r\n";
    };
    EXPECT_EQ(mine(ms_cmd(our_now)), "HD\r\n");
    EXPECT_EQ(theirs(ms_cmd(their_now)), "HD\r\n");
    both(ms_cmd("1"));
    both("mg " + key + " v\r\n");
    ::close(fd);
}

// ---- random pipelines ---------------------------------------------------------------

class Gen {
  public:
    explicit Gen(uint64_t seed) : rng_(seed) {}

    std::string stream(const std::string& p) {
        std::string s;
        const int n = pick(1, 30);
        for (int i = 0; i < n; ++i)
            s += command(p);
        if (pick(0, 20) == 0) s += "quit\r\n";
        return s;
    }

  private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(0, 99) < percent; }

    std::string key(const std::string& p) {
        if (chance(1)) return std::string(251, 'L');
        return p + "k" + std::to_string(pick(0, 4));
    }
    std::string keys(const std::string& p) {
        std::string s = key(p);
        for (int i = pick(0, 3); i > 0; --i)
            s += " " + key(p);
        return s;
    }
    std::string value() {
        std::string v;
        if (chance(40)) {
            static const char* kNumbers[] = {
                "0", "1", "99", "100", "12345", "18446744073709551615", " 5", "007", "-1", "1 2"};
            return kNumbers[pick(0, 9)];
        }
        for (int i = pick(0, 20); i > 0; --i)
            v += static_cast<char>('a' + pick(0, 25));
        return v;
    }
    std::string flags() {
        static const char* kFlags[] = {"0", "1", "42", "4294967295", "4294967296", "-1", "x"};
        return chance(90) ? kFlags[pick(0, 3)] : kFlags[pick(4, 6)];
    }
    std::string exptime() {
        static const char* kExp[] = {"0", "0", "1000", "-1", "1000000000", "abc"};
        return kExp[pick(0, chance(95) ? 4 : 5)];
    }
    std::string noreply() { return chance(20) ? " noreply" : ""; }
    std::string delta() {
        static const char* kDelta[] = {"1", "5", "100", "18446744073709551615", "0", "-1", "x"};
        return kDelta[pick(0, chance(90) ? 4 : 6)];
    }

    std::string storage(const std::string& p) {
        static const char* kCmds[] = {"set", "add", "replace", "append", "prepend", "cas"};
        const std::string cmd = kCmds[pick(0, 5)];
        const std::string v = value();
        size_t len = v.size();
        if (chance(3)) len = len + 1;  // bad data chunk
        std::string s =
            cmd + " " + key(p) + " " + flags() + " " + exptime() + " " + std::to_string(len);
        if (cmd == "cas") s += chance(50) ? " 0" : " 99999999999";
        return s + noreply() + "\r\n" + v + "\r\n";
    }

    std::string meta(const std::string& p) {
        switch (pick(0, 4)) {
            case 0:
                return "mn\r\n";
            case 1: {
                static const char* kFlags[] = {"",      " v",   " v f", " s v", " k",
                                               " O7 v", " q v", " c v", " h"};
                return "mg " + key(p) + kFlags[pick(0, 8)] + "\r\n";
            }
            case 2: {
                static const char* kFlags[] = {"",    " T1000", " F9", " q",  " c",
                                               " MA", " MP",    " ME", " MR", " I"};
                const std::string v = value();
                return "ms " + key(p) + " " + std::to_string(v.size()) + kFlags[pick(0, 9)] +
                       "\r\n" + v + "\r\n";
            }
            case 3: {
                static const char* kFlags[] = {"", " q", " k O1"};
                return "md " + key(p) + kFlags[pick(0, 2)] + "\r\n";
            }
            default: {
                static const char* kFlags[] = {"",      " v", " N0 J7 v", " MD v",
                                               " D9 v", " q", " MI D2"};
                return "ma " + key(p) + kFlags[pick(0, 6)] + "\r\n";
            }
        }
    }

    std::string command(const std::string& p) {
        const int r = pick(0, 99);
        if (r < 25) return storage(p);
        if (r < 40) {
            static const char* kGets[] = {"get ", "gets ", "bget "};
            return kGets[pick(0, 2)] + keys(p) + "\r\n";
        }
        if (r < 45) return (chance(50) ? "gat " : "gats ") + exptime() + " " + keys(p) + "\r\n";
        if (r < 52) {
            static const char* kTails[] = {"", " 0", " noreply", " 0 noreply", " 1"};
            return "delete " + key(p) + kTails[pick(0, 4)] + "\r\n";
        }
        if (r < 62)
            return (chance(50) ? "incr " : "decr ") + key(p) + " " + delta() + noreply() + "\r\n";
        if (r < 67) return "touch " + key(p) + " " + exptime() + noreply() + "\r\n";
        if (r < 82) return meta(p);
        if (r < 84) return chance(50) ? "flush_all\r\n" : "flush_all noreply\r\n";
        if (r < 86) return "version\r\n";
        if (r < 88) return "verbosity 1" + noreply() + "\r\n";
        static const char* kBad[] = {"bogus\r\n",          "\r\n",        "get\r\n",
                                     "set a 0 0\r\n",      "incr a\r\n",  "stats foo\r\n",
                                     "delete a 1 2 3\r\n", "touch a\r\n", "gat x a\r\n",
                                     "verbosity\r\n"};
        return kBad[pick(0, 9)];
    }

    std::mt19937_64 rng_;
};

// FULMAR_DIFF_SEED and FULMAR_DIFF_STREAMS explore beyond the fixed seed.
TEST_F(McDiff, RandomPipelines) {
    const char* seed = std::getenv("FULMAR_DIFF_SEED");
    const char* streams = std::getenv("FULMAR_DIFF_STREAMS");
    Gen gen(seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20240607);
    const int n_streams = streams != nullptr ? std::atoi(streams) : 400;
    int mismatches = 0;
    for (int i = 0; i < n_streams; ++i)
        if (!same(gen.stream("$"))) ++mismatches;
    EXPECT_EQ(mismatches, 0) << "of " << n_streams << " streams";
}

}  // namespace
}  // namespace fulmar::engine
