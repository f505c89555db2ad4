// What the Redis listener's clients share; see resp_server_state.h.
#include "resp_server_state.h"

#include <fmt/core.h>

#include <algorithm>

namespace fulmar::controlplane {
namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same(char a, char b, bool nocase) {
    return nocase ? lower(a) == lower(b) : a == b;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return same(x, y, true); });
}

// Redis 7.0's stringmatchlen_impl (util.c), on views: the same answers,
// including for unbalanced brackets and trailing backslashes.
bool match_impl(std::string_view p, std::string_view s, bool nocase, bool& skip_longer,
                int nesting) {
    if (nesting > 1000) return false;
    auto at = [&p](size_t i) { return i < p.size() ? p[i] : '\0'; };
    while (!p.empty() && !s.empty()) {
        switch (p[0]) {
            case '*':
                while (p.size() > 1 && p[1] == '*')
                    p.remove_prefix(1);
                if (p.size() == 1) return true;
                while (!s.empty()) {
                    if (match_impl(p.substr(1), s, nocase, skip_longer, nesting + 1)) return true;
                    if (skip_longer) return false;
                    s.remove_prefix(1);
                }
                skip_longer = true;
                return false;
            case '?':
                s.remove_prefix(1);
                break;
            case '[': {
                p.remove_prefix(1);
                const bool negate = at(0) == '^';
                if (negate) p.remove_prefix(1);
                bool match = false;
                size_t consumed_extra = 0;
                for (;;) {
                    if (at(0) == '\\' && p.size() >= 2) {
                        p.remove_prefix(1);
                        if (p[0] == s[0]) match = true;
                    } else if (at(0) == ']') {
                        break;
                    } else if (p.empty()) {
                        consumed_extra = 1;
                        break;
                    } else if (p.size() >= 3 && p[1] == '-') {
                        int start = static_cast<unsigned char>(p[0]);
                        int end = static_cast<unsigned char>(p[2]);
                        int c = static_cast<unsigned char>(s[0]);
                        if (start > end) std::swap(start, end);
                        if (nocase) {
                            start = lower(static_cast<char>(start));
                            end = lower(static_cast<char>(end));
                            c = lower(static_cast<char>(c));
                        }
                        p.remove_prefix(2);
                        if (c >= start && c <= end) match = true;
                    } else if (same(p[0], s[0], nocase)) {
                        match = true;
                    }
                    p.remove_prefix(1);
                }
                if (negate) match = !match;
                if (!match) return false;
                s.remove_prefix(1);
                // At ']' (or, unterminated, nothing left): the step below
                // passes it; unterminated, Redis stepped back onto the last
                // character first, which the step then passes again.
                if (consumed_extra != 0) continue;
                break;
            }
            case '\\':
                if (p.size() >= 2) p.remove_prefix(1);
                [[fallthrough]];
            default:
                if (!same(p[0], s[0], nocase)) return false;
                s.remove_prefix(1);
                break;
        }
        p.remove_prefix(1);
        if (s.empty()) {
            while (!p.empty() && p[0] == '*')
                p.remove_prefix(1);
            break;
        }
    }
    return p.empty() && s.empty();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view s, bool nocase) {
    bool skip_longer = false;
    return match_impl(pattern, s, nocase, skip_longer, 0);
}

void RespServerState::init(const config::ControlplaneConfig& cfg, EventLoop* event_loop,
                           UnixTime start, uint64_t maxmemory) {
    loop = event_loop;
    started = start;
    port = cfg.redis_port;
    max_clients = cfg.max_connections;
    requirepass_ = cfg.requirepass;
    config_.clear();
    add_config({"requirepass", [this] { return requirepass_; },
                [this](std::string_view v) -> std::optional<std::string> {
                    requirepass_ = std::string(v);
                    return std::nullopt;
                }});
    add_config({"port", [this] { return fmt::format("{}", port); }, nullptr});
    add_config(
        {"bind",
         [listen = cfg.listen] { return listen ? config::format_ipv4(*listen) : std::string("*"); },
         nullptr});
    // The memcached listener's limit: every TCP client counts.
    add_config({"maxclients", [this] { return fmt::format("{}", max_clients); }, nullptr});
    add_config({"timeout", [t = cfg.idle_timeout_s] { return fmt::format("{}", t); }, nullptr});
    add_config({"databases", [] { return std::string("1"); }, nullptr});
    // The shards' memory is hugepages sized at the dataplane's start.
    add_config({"maxmemory", [maxmemory] { return fmt::format("{}", maxmemory); }, nullptr});
    // No persistence: nothing is saved, and that cannot change. Setting the
    // value it has is taken (the Redis suite's `overrides {save ""}`).
    add_config({"save", [] { return std::string(); },
                [](std::string_view v) -> std::optional<std::string> {
                    if (v.empty()) return std::nullopt;
                    return std::string("no persistence here: save is always \"\"");
                }});
    add_config({"appendonly", [] { return std::string("no"); },
                [](std::string_view v) -> std::optional<std::string> {
                    if (v.size() == 2 && (v[0] | 0x20) == 'n' && (v[1] | 0x20) == 'o')
                        return std::nullopt;
                    if (v.size() == 3 && std::string(v) == "yes")
                        return std::string("no persistence here: appendonly is always no");
                    return std::string("argument must be 'yes' or 'no'");
                }});
}

void RespServerState::add(RespSession* s, uint64_t id) {
    clients_[id] = s;
    ++total_connections;
}

void RespServerState::remove(uint64_t id) {
    clients_.erase(id);
}

void RespServerState::add_config(RespConfigParam p) {
    const auto same_name = [&p](const RespConfigParam& q) { return q.name == p.name; };
    const auto it = std::find_if(config_.begin(), config_.end(), same_name);
    if (it != config_.end())
        *it = std::move(p);
    else
        config_.push_back(std::move(p));
}

std::vector<const RespConfigParam*> RespServerState::match_config(
    std::span<const std::string_view> patterns) const {
    std::vector<const RespConfigParam*> out;
    for (const RespConfigParam& p : config_) {
        for (std::string_view pat : patterns) {
            const bool glob = pat.find_first_of("[*?") != std::string_view::npos;
            const bool hit = glob ? glob_match(pat, p.name, true) : iequals(pat, p.name);
            if (hit) {
                out.push_back(&p);
                break;
            }
        }
    }
    return out;
}

const RespConfigParam* RespServerState::find_config(std::string_view name) const {
    for (const RespConfigParam& p : config_)
        if (iequals(name, p.name)) return &p;
    return nullptr;
}

void RespServerState::reset_stats() {
    total_commands = 0;
    total_connections = 0;
    rejected_auth = 0;
}

}  // namespace fulmar::controlplane
