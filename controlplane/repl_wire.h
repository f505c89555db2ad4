// The replication stream between two control planes, over TCP: what a
// replica and its primary say to each other.
//
// Pure functions (no sockets) so the parsers are unit tested and fuzzed.
// Both ends run on their control plane's loop thread.
//
//   replica -> primary   FSYNC <replid|?> <n_shards> <seq>,<seq>,... <seed>\r\n
//   primary -> replica   +FSYNC <replid> <n_shards> <mode per shard: p|f>\r\n
//                        or -ERR <why>\r\n, then close
//   primary -> replica   frames, forever:
//                        +----------+--------+--------+------------------+
//                        | len (32) | shard  | type   | payload (len)    |
//                        +----------+--------+--------+------------------+
//                        type 1: records of that shard (repl/log_record.h),
//                                back to back, in the owner's order
//                        type 2: heartbeat: the primary's wall clock (u64 µs)
//                                and its drained offset (u64, sum over shards)
//   replica -> primary   ACK <seq>,<seq>,... <time_us>\r\n   (applied so far;
//                        time_us: the newest applied record's, primary clock)
//
// A ring move (controlplane/ring_member.h) uses the same stream: the new
// owner asks an old one for the keys the pending ring gives it,
//   new owner -> old     MOVE <partition> <ring epoch> <n_shards> <seed>\r\n
// and gets +FSYNC with every shard 'f': a snapshot and the mutations of
// those keys only (kSnapBegin does not clear: the receiver keeps its own
// keys). Its ACKs then count records applied per shard, not seqs (the
// filtered stream has holes in its seqs).
//
// A seq is a mutation's number in its shard (the primary's owner gives them
// out); a replica's position in a shard is the last one it applied. `p`:
// the stream resumes after the replica's position from the backlog; `f`:
// the shard comes whole (kSnapBegin ... kSnapEnd, mutations interleaved).
// <seed>: 16 hex digits that tell whether both hash keys with the same
// seed (store/digest.h: the shard of a key depends on it), not the seed.
// Numbers are little-endian (both ends are x86 or ARM appliances).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fulmar::controlplane::repl_wire {

inline constexpr size_t kFrameHeader = 8;
inline constexpr uint16_t kFrameRecords = 1;
inline constexpr uint16_t kFrameHeartbeat = 2;
// A frame larger than this is a broken stream (records are at most ~1 MiB
// each; the primary closes frames at 1 MiB).
inline constexpr uint32_t kMaxFrame = 4u << 20;
inline constexpr size_t kMaxLine = 64 * 1024;
inline constexpr size_t kMaxShards = 128;

struct FrameHeader {
    uint32_t len = 0;
    uint16_t shard = 0;
    uint16_t type = 0;
};

inline void put_frame_header(std::string& out, const FrameHeader& h) {
    char b[kFrameHeader];
    std::memcpy(b, &h.len, 4);
    std::memcpy(b + 4, &h.shard, 2);
    std::memcpy(b + 6, &h.type, 2);
    out.append(b, sizeof(b));
}
inline FrameHeader get_frame_header(const char* p) {
    FrameHeader h;
    std::memcpy(&h.len, p, 4);
    std::memcpy(&h.shard, p + 4, 2);
    std::memcpy(&h.type, p + 6, 2);
    return h;
}

// Frames at the start of `in` (the replica's receive buffer): f(header,
// payload) for each whole one, in order, while it returns true. Returns the
// bytes consumed, or nullopt when a frame no primary sends (larger than
// kMaxFrame, a shard >= n_shards) or f returned false: the stream is broken.
template <typename F>
std::optional<size_t> for_each_frame(std::string_view in, size_t n_shards, F&& f) {
    size_t off = 0;
    while (in.size() - off >= kFrameHeader) {
        const FrameHeader h = get_frame_header(in.data() + off);
        if (h.len > kMaxFrame || h.shard >= n_shards) return std::nullopt;
        if (in.size() - off - kFrameHeader < h.len) break;
        if (!f(h, in.substr(off + kFrameHeader, h.len))) return std::nullopt;
        off += kFrameHeader + h.len;
    }
    return off;
}

struct SyncRequest {
    std::optional<uint64_t> replid;  // none: "?" (a replica that holds nothing it can resume)
    std::vector<uint64_t> seqs;      // per shard
    uint64_t seed_check = 0;         // seed_check() of the replica
};
struct MoveRequest {
    std::string partition;  // the receiving partition (ring member name)
    uint64_t epoch = 0;     // the pending ring's epoch
    uint64_t n_shards = 0;
    uint64_t seed_check = 0;
};
struct SyncReply {
    uint64_t replid = 0;
    std::string modes;  // 'p' or 'f' per shard
};
struct Ack {
    std::vector<uint64_t> seqs;
    uint64_t time_us = 0;
};

std::string format_sync_request(const SyncRequest& r);
// `line` without its CRLF. nullopt: not a valid request (the error says why).
std::optional<SyncRequest> parse_sync_request(std::string_view line, std::string& error);
std::string format_move_request(const MoveRequest& r);
std::optional<MoveRequest> parse_move_request(std::string_view line, std::string& error);
std::string format_sync_reply(const SyncReply& r);
std::optional<SyncReply> parse_sync_reply(std::string_view line, size_t n_shards,
                                          std::string& error);
std::string format_ack(const Ack& a);
std::optional<Ack> parse_ack(std::string_view line, size_t n_shards);

// A replication id as 16 hex digits.
std::string format_replid(uint64_t id);

}  // namespace fulmar::controlplane::repl_wire
