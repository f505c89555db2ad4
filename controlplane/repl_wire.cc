#include "repl_wire.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/numbers.h"

namespace fulmar::controlplane::repl_wire {
namespace {

// Splits on single spaces; empty fields make the line invalid.
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    while (!line.empty()) {
        const size_t sp = line.find(' ');
        out.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) break;
        line.remove_prefix(sp + 1);
        if (line.empty()) out.emplace_back();
    }
    return out;
}

bool parse_seqs(std::string_view text, std::vector<uint64_t>& out, size_t want) {
    out.clear();
    while (true) {
        const size_t comma = text.find(',');
        uint64_t v = 0;
        if (!parse_u64(text.substr(0, comma), v)) return false;
        out.push_back(v);
        if (out.size() > kMaxShards) return false;
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return want == 0 || out.size() == want;
}

bool parse_hex64(std::string_view s, uint64_t& out) {
    if (s.size() != 16) return false;
    uint64_t v = 0;
    for (const char c : s) {
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = v << 4 | static_cast<uint64_t>(d);
    }
    out = v;
    return true;
}

}  // namespace

std::string format_replid(uint64_t id) {
    return fmt::format("{:016x}", id);
}

std::string format_sync_request(const SyncRequest& r) {
    return fmt::format("FSYNC {} {} {} {}\r\n", r.replid ? format_replid(*r.replid) : "?",
                       r.seqs.size(), fmt::join(r.seqs, ","), format_replid(r.seed_check));
}

std::optional<SyncRequest> parse_sync_request(std::string_view line, std::string& error) {
    const auto f = fields(line);
    uint64_t n = 0;
    if (f.size() != 5 || f[0] != "FSYNC" || !parse_u64(f[2], n) || n == 0 || n > kMaxShards) {
        error = "expected FSYNC <replid|?> <n_shards> <seq>,... <seed>";
        return std::nullopt;
    }
    SyncRequest r;
    if (f[1] != "?") {
        uint64_t id = 0;
        if (!parse_hex64(f[1], id)) {
            error = "a replication id is 16 hex digits";
            return std::nullopt;
        }
        r.replid = id;
    }
    if (!parse_seqs(f[3], r.seqs, n)) {
        error = fmt::format("expected {} positions", n);
        return std::nullopt;
    }
    if (!parse_hex64(f[4], r.seed_check)) {
        error = "a seed check is 16 hex digits";
        return std::nullopt;
    }
    return r;
}

std::string format_move_request(const MoveRequest& r) {
    return fmt::format("MOVE {} {} {} {}\r\n", r.partition, r.epoch, r.n_shards,
                       format_replid(r.seed_check));
}

std::optional<MoveRequest> parse_move_request(std::string_view line, std::string& error) {
    const auto f = fields(line);
    MoveRequest r;
    if (f.size() != 5 || f[0] != "MOVE" || f[1].empty() || f[1].size() > 47 ||
        !parse_u64(f[2], r.epoch) || !parse_u64(f[3], r.n_shards) || r.n_shards == 0 ||
        r.n_shards > kMaxShards || !parse_hex64(f[4], r.seed_check)) {
        error = "expected MOVE <partition> <epoch> <n_shards> <seed>";
        return std::nullopt;
    }
    r.partition = std::string(f[1]);
    return r;
}

std::string format_sync_reply(const SyncReply& r) {
    return fmt::format("+FSYNC {} {} {}\r\n", format_replid(r.replid), r.modes.size(), r.modes);
}

std::optional<SyncReply> parse_sync_reply(std::string_view line, size_t n_shards,
                                          std::string& error) {
    if (line.starts_with("-")) {
        error = std::string(line.substr(1));
        return std::nullopt;
    }
    const auto f = fields(line);
    uint64_t n = 0;
    SyncReply r;
    if (f.size() != 4 || f[0] != "+FSYNC" || !parse_hex64(f[1], r.replid) || !parse_u64(f[2], n) ||
        n != n_shards || f[3].size() != n) {
        error = fmt::format("not a sync reply for {} shards: {}", n_shards, line.substr(0, 80));
        return std::nullopt;
    }
    for (const char c : f[3])
        if (c != 'p' && c != 'f') {
            error = "a shard's mode is p or f";
            return std::nullopt;
        }
    r.modes = std::string(f[3]);
    return r;
}

std::string format_ack(const Ack& a) {
    return fmt::format("ACK {} {}\r\n", fmt::join(a.seqs, ","), a.time_us);
}

std::optional<Ack> parse_ack(std::string_view line, size_t n_shards) {
    const auto f = fields(line);
    Ack a;
    if (f.size() != 3 || f[0] != "ACK" || !parse_seqs(f[1], a.seqs, n_shards) ||
        !parse_u64(f[2], a.time_us))
        return std::nullopt;
    return a;
}

}  // namespace fulmar::controlplane::repl_wire
