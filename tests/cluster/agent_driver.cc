// agent_driver: one PartitionAgent on a real etcd, in the shape the control
// plane will run it (one epoll thread: the keeper's and the watch's eventfds
// plus a 50 ms tick), printing its events on stdout for tests/cluster/etcd_it.py.
//
//   agent_driver --endpoints 127.0.0.1:2379[,...] --partition P --node N
//                --address A [--offset N] [--ttl-ms 3000] [--margin-ms 500]
//                [--settle-ms 300] [--call-timeout-ms 300] [--seconds 120]
//
// stdout, one line per event, each starting with CLOCK_MONOTONIC in ms:
//   T ready | T primary EPOCH | T replica ADDRESS EPOCH | T down EPOCH
//   T fenced DEADLINE | T unfenced DEADLINE
// DEADLINE is the fence deadline (monotonic ms) at that moment. The agent's
// own log goes to stderr.
#include <fmt/format.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cluster/etcd_agent_store.h"
#include "cluster/etcd_client.h"
#include "cluster/partition_agent.h"

namespace {

using namespace fulmar::cluster;

void out(const std::string& line) {
    std::fputs(fmt::format("{} {}\n", mono_now_ms(), line).c_str(), stdout);
    std::fflush(stdout);
}

bool parse_ms(const char* text, int64_t& v) {
    char* end = nullptr;
    long long n = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || n < 0) return false;
    v = n;
    return true;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        size_t comma = s.find(',', start);
        parts.push_back(s.substr(start, comma - start));
        if (comma == std::string::npos) return parts;
        start = comma + 1;
    }
}

int usage() {
    std::fputs(
        "usage: agent_driver --endpoints E[,E] --partition P --node N --address A\n"
        "       [--offset N] [--ttl-ms MS] [--margin-ms MS] [--settle-ms MS]\n"
        "       [--call-timeout-ms MS] [--seconds S]\n",
        stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    AgentConfig config;
    std::string endpoints;
    int64_t offset = 0, ttl = 3000, margin = 500, settle = 300, call_timeout = 300, seconds = 120;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const char* v = argv[++i];
        bool ok = true;
        if (a == "--endpoints") {
            endpoints = v;
        } else if (a == "--partition") {
            config.partition = v;
        } else if (a == "--node") {
            config.node_id = v;
        } else if (a == "--address") {
            config.address = v;
        } else if (a == "--offset") {
            ok = parse_ms(v, offset);
        } else if (a == "--ttl-ms") {
            ok = parse_ms(v, ttl);
        } else if (a == "--margin-ms") {
            ok = parse_ms(v, margin);
        } else if (a == "--settle-ms") {
            ok = parse_ms(v, settle);
        } else if (a == "--call-timeout-ms") {
            ok = parse_ms(v, call_timeout);
        } else if (a == "--seconds") {
            ok = parse_ms(v, seconds);
        } else {
            ok = false;
        }
        if (!ok) return usage();
    }
    config.ttl = std::chrono::milliseconds(ttl);
    config.fence_margin = std::chrono::milliseconds(margin);
    config.settle = std::chrono::milliseconds(settle);
    if (auto why = agent_config_error(config); !why.empty()) {
        std::fprintf(stderr, "agent_driver: %s\n", why.c_str());
        return 2;
    }
    auto client =
        EtcdClient::create(EtcdOptions{split(endpoints), std::chrono::milliseconds(call_timeout)});
    if (!client) {
        std::fprintf(stderr, "agent_driver: bad endpoints '%s'\n", endpoints.c_str());
        return 2;
    }
    EtcdAgentStore store(*client.value());
    if (!store.valid()) {
        std::perror("agent_driver: eventfd");
        return 1;
    }

    PartitionAgent* agent_ptr = nullptr;
    AgentCallbacks cb;
    cb.became_primary = [](uint64_t e) { out(fmt::format("primary {}", e)); };
    cb.became_replica = [](const std::string& a, uint64_t e) {
        out(fmt::format("replica {} {}", a, e));
    };
    cb.stepped_down = [](uint64_t e) { out(fmt::format("down {}", e)); };
    cb.fenced = [&agent_ptr] { out(fmt::format("fenced {}", agent_ptr->fence_deadline_ms())); };
    cb.unfenced = [&agent_ptr] { out(fmt::format("unfenced {}", agent_ptr->fence_deadline_ms())); };
    cb.replication_offset = [offset] { return static_cast<uint64_t>(offset); };
    cb.log = [&config](std::string_view text) {
        std::fputs(fmt::format("{} [{}] {}\n", mono_now_ms(), config.node_id, text).c_str(),
                   stderr);
    };
    PartitionAgent agent(config, store, std::move(cb));
    agent_ptr = &agent;

    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        std::perror("agent_driver: epoll_create1");
        return 1;
    }
    for (int fd : {store.keepalive_fd(), store.watch_fd()}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            std::perror("agent_driver: epoll_ctl");
            return 1;
        }
    }
    out("ready");
    int64_t stop_at = mono_now_ms() + seconds * 1000;
    while (mono_now_ms() < stop_at) {
        epoll_event evs[2];
        int n = ::epoll_wait(ep, evs, 2, 50);
        if (n < 0 && errno != EINTR) {
            std::perror("agent_driver: epoll_wait");
            return 1;
        }
        int64_t now = mono_now_ms();
        store.pump(agent, now);
        agent.tick(now);
    }
    ::close(ep);
    return 0;
}
