// What the Redis listener's clients share; see resp_server_state.h.
#include "resp_server_state.h"

#include "common/ascii.h"

#include "common/glob_match.h"

#include <fmt/core.h>

#include <algorithm>

#include "resp_collection_config.h"
#include "resp_memory_config.h"

namespace fulmar::controlplane {
void RespServerState::init(const config::ControlplaneConfig& cfg, EventLoop* event_loop,
                           UnixTime start, uint64_t maxmemory, shm::CollectionSettings* collections,
                           shm::MemoryPolicy* memory_policy, size_t n_shards) {
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
    this->collections = collections != nullptr ? collections : &own_collections_;
    add_collection_config(*this, *this->collections);
    memory = memory_policy != nullptr ? memory_policy : &own_memory_;
    add_memory_config(*this, *memory, maxmemory, n_shards);
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
            const bool hit = glob ? glob_match(pat, p.name, true) : ascii_iequals(pat, p.name);
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
        if (ascii_iequals(name, p.name)) return &p;
    return nullptr;
}

void RespServerState::reset_stats() {
    total_commands = 0;
    total_connections = 0;
    rejected_auth = 0;
}

}  // namespace fulmar::controlplane
