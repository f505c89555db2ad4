// The typed message between lcores and processes: a request for the worker
// that owns its keys, and the reply path back to whoever asked.
//
// Who owns a message: whoever holds its pointer. A sender (a worker that
// received a write it does not own, or the control plane, a DPDK secondary)
// takes one from the message pool (shm::kMessagePool), fills it and
// enqueues it on the owner's inbox ring (shm::inbox_ring_name(owner)); from
// then on it is the owner's. The owner runs it and either puts it back in
// the pool (UDP: the reply leaves as a frame) or rewrites it into a reply
// and enqueues it on the reply ring the request named (control plane),
// which then owns it and puts it back in the pool when done.
//
// Plain data in hugepage memory, mapped at the same address in both
// processes: pointers here are to mbufs, rings and request bytes in
// hugepages only; nothing points into a process's private heap, no
// vtables, no function pointers (commands are named by their id; each
// process looks the entry up in its own table, engine/mc_commands.h).
//
//   Message (kMessageSize bytes, cache-line aligned)
//   +-------------------------------------------------------------------+
//   | kind | status | from | reply_len | request_id (control)           |
//   | body: the request's bytes (views into an mbuf)                    |
//   | parsed: engine::ParsedRequest {McTextRequest, KeyDigest, valid}   |
//   |   valid: run it as is (nothing parsed or digested twice)          |
//   |   else:  run `body` through a session (several requests, meta)    |
//   | reply_to (by kind):                                               |
//   |   kUdpDatagram:     UdpReplyTo {mbuf, net::UdpRequest, req id}    |
//   |   kControlRequest:  ControlReplyTo {request mbuf, reply ring}     |
//   |   kControlMarkFetched: ControlReplyTo (key + CAS in `parsed`)     |
//   |   kControlResp:     ControlReplyTo (a RESP request in `body`;     |
//   |                     resp_flags: RESP3, EXEC)                      |
//   |   kControlSweep:    SweepStep {reply ring, budget}                 |
//   |   kControlSweepDone: SweepStep: what the step found (freed keys)   |
//   |   kControlReply:    reply: mbuf chain of reply_len bytes (or null)|
//   +-------------------------------------------------------------------+
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "engine/route.h"
#include "net/classify.h"

namespace fulmar::dataplane {

enum class MessageKind : uint8_t {
    kUdpDatagram,     // a memcached UDP datagram for the owner; reply: a frame
    kControlRequest,  // memcached text from the control plane; reply: kControlReply
    kControlReply,    // the owner's answer to a kControlRequest
    // The control plane served a get of an item never fetched since it was
    // stored: the owner marks it fetched (memcached's ITEM_FETCHED, which
    // mg's h flag reports) if it is still the item read, parsed.request.cas.
    // parsed: key (in `body`) and digest. Reply: kControlReply, no bytes.
    kControlMarkFetched,
    // The control plane's sweep pacer asks for one bounded TTL sweep step
    // (store::Shard::sweep) of `sweep.budget` chunks. Reply: the message
    // comes back as kControlSweepDone on `sweep.replies`, the step's
    // figures in `sweep` (and with sweep.want_keys, the keys it freed, for
    // Redis's expired events); nothing in the request arena.
    kControlSweep,
    kControlSweepDone,
    // One Redis request from the control plane, in `body` as one multibulk
    // (engine::write_resp_request): the owner parses it and runs it with
    // engine::run_resp_request; with kRespFlagExec in control.resp_flags,
    // a transaction (engine::run_resp_transaction). The reply is RESP3 when
    // kRespFlagResp3 is set. Nothing in `parsed`. Reply: kControlReply with
    // the RESP reply bytes.
    kControlResp,
    // Replication (controlplane/repl_*). kControlReplSnapshot: one step of a
    // full-sync walk (store::Shard::snapshot_step) whose records go into the
    // shard's mutation log; `body` is a ReplSnapshotStep, and the reply's
    // bytes are that struct with the cursor moved on. kControlReplApply: a
    // replica's owner applies a primary's records (repl/log_record.h, back
    // to back in `body`) in order; reply bytes: a ReplApplyResult.
    kControlReplSnapshot,
    kControlReplApply,
    // Cluster rebalancing (controlplane/ring_member.h): one step of the walk
    // that deletes the keys the published ring gives to other partitions
    // (store::Shard::drop_step); `body` is a RingDropStep, and so are the
    // reply's bytes, with the cursor moved on.
    kControlRingDrop,
};

// kControlRingDrop's request and reply bytes.
struct RingDropStep {
    uint32_t budget;   // request: chunks to look at
    uint32_t page;     // cursor, in and out
    uint32_t chunk;    // cursor, in and out
    uint32_t done;     // reply: the walk reached the end
    uint64_t dropped;  // reply: keys deleted by this step
};

// kControlReplSnapshot's request and reply bytes.
struct ReplSnapshotStep {
    uint32_t snapshot_id;   // request
    uint32_t budget;        // request: chunks to look at
    uint32_t keep_free_kb;  // request: room the walk leaves in the log for mutations
    uint32_t page;          // cursor, in and out
    uint32_t chunk;         // cursor, in and out
    uint32_t started;       // cursor: the kSnapBegin record is in the log
    uint32_t done;          // reply: the kSnapEnd record is in the log
    uint32_t logged;        // reply: the owner logs its changes (the log is enabled)
    // request: a ring move's walk (controlplane/ring_member.h): only the
    // items the published rings move from this node to member move_to - 1
    // of the pending ring go into the log; 0: every item.
    uint32_t move_to;
    uint32_t reserved;
};

// kControlReplApply's reply bytes.
struct ReplApplyResult {
    uint32_t applied;  // records applied
    uint32_t failed;   // of those, items this replica could not hold (memory)
    uint32_t bad;      // a record that did not parse ended the batch
    uint32_t reserved;
};

enum class ReplyStatus : uint8_t {
    kOk,         // `reply` holds reply_len bytes (null when there are none: noreply)
    kNoBuffers,  // the reply could not be copied into mbufs (pool empty): no bytes
    kOverflow,   // the reply outgrew the worker's reply buffer: no bytes
};

// Where a UDP request's reply goes: built in (or from) the request's own
// frame, sent on the owner's TX queue.
struct UdpReplyTo {
    rte_mbuf* frame;      // the request frame; the reply reuses it
    net::UdpRequest udp;  // its addresses and payload (views into `frame`)
    uint16_t request_id;  // memcached frame request id, echoed
};

// Where a control-plane request's reply goes.
struct ControlReplyTo {
    rte_mbuf* request;  // holds the request's bytes (`body`); the owner frees it
    rte_ring* replies;  // the control plane's reply ring: the message comes back there
    // kControlResp: kRespFlag* (the client's protocol, a transaction).
    // Here rather than in Message: the union's largest member (SweepStep)
    // leaves room, so the message does not grow.
    uint8_t resp_flags = 0;
};

// kControlResp's flags.
inline constexpr uint8_t kRespFlagResp3 = 1;  // the client speaks RESP3 (HELLO 3)
// `body` is a transaction (engine::run_resp_transaction): a WATCH list, then
// the queued requests, run back to back and answered as one array (EXEC).
inline constexpr uint8_t kRespFlagExec = 2;

// A sweep step and what it found. The budget is in chunks, not time: the
// owner's step stays a plain bounded loop (no clock read per chunk) and is
// deterministic in tests; the pacer turns its CPU goal into chunks with the
// cycles each step reports (cycles / chunk measured on the owner).
inline constexpr uint32_t kSweepWantExpired = 1;
inline constexpr uint32_t kSweepWantEvicted = 2;

struct SweepStep {
    rte_ring* replies;       // request: the control plane's reply ring
    uint32_t budget;         // request: chunks (and skipped pages) to visit
    uint32_t chunks;         // reply: chunks visited on due pages
    uint32_t pages_skipped;  // reply: pages passed over (nothing there can have expired)
    uint32_t pages_done;     // reply: pages finished, skipped included
    uint32_t ttl_seen;       // reply: items with a TTL visited, expired or not
    uint32_t reclaimed;      // reply: of those, expired and freed
    uint32_t pages_used;     // reply: pages holding items (the estimate's density)
    uint32_t n_pages;        // reply: the shard's pages
    uint64_t cycles;         // reply: TSC cycles of the step on the owner
    uint64_t ttl_items;      // reply: the shard's items with a TTL after the step
    // Redis keyspace notifications: asked with want_keys, the keys the step
    // freed (expired) and those the owner evicted since its last step come
    // back in `keys` (a chain from the control plane's reply pool, each key
    // as a length byte and its bytes, expired ones first, evicted ones from
    // evicted_at; freed by the control plane), those past a bound counted in
    // the *_dropped fields. A step with budget 0 only brings the evicted
    // keys (the owner's log must not wait for the sweep's pace).
    // (The owner notes evicted keys while shm::MemoryPolicy::log_evicted
    // says so; kSweepWantEvicted marks the steps sent for them.)
    uint32_t want_keys;        // request: kSweepWantExpired | kSweepWantEvicted
    uint32_t keys_len;         // reply: bytes in `keys`
    uint32_t keys_dropped;     // reply: freed keys not in `keys`
    uint32_t mid_page;         // reply: nonzero when the step ended partway through a due page
    uint32_t evicted_at;       // reply: where the evicted keys start in `keys`
    uint32_t evicted_dropped;  // reply: evicted keys not in `keys`
    rte_mbuf* keys;            // reply: null when none
};

struct alignas(RTE_CACHE_LINE_SIZE) Message {
    MessageKind kind = MessageKind::kUdpDatagram;
    ReplyStatus status = ReplyStatus::kOk;  // kControlReply
    uint16_t from = 0;                      // the sending worker (control plane: UINT16_MAX)
    uint32_t reply_len = 0;                 // kControlReply: bytes in `reply`
    uint64_t request_id = 0;                // control plane: its id for the request, echoed
    std::string_view body;                  // the request's memcached text (frame header off)
    engine::ParsedRequest parsed;
    union {
        UdpReplyTo udp{};  // kUdpDatagram
        ControlReplyTo
            control;      // kControlRequest, kControlMarkFetched, kControlResp, kControlRepl*
        SweepStep sweep;  // kControlSweep, kControlSweepDone
        rte_mbuf* reply;  // kControlReply: the reply bytes, chained mbufs
    };
};

inline constexpr uint16_t kFromControlPlane = UINT16_MAX;
inline constexpr size_t kMessageSize = sizeof(Message);

static_assert(std::is_trivially_copyable_v<Message>, "plain data: copied between processes");
static_assert(std::is_trivially_destructible_v<Message>);
static_assert(kMessageSize % RTE_CACHE_LINE_SIZE == 0);
static_assert(kMessageSize <= 4 * RTE_CACHE_LINE_SIZE, "a hand-off touches at most 4 lines");

}  // namespace fulmar::dataplane
