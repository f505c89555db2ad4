// The admin endpoint's commands: what `fulmarctl` (and `redis-cli -s`) can
// ask the control plane. Replies are RESP; a table is a flat array of
// name/value pairs (RESP2, so every client reads it).
//
//   PING [msg]             +PONG (or the message)
//   STATUS                 who runs, since when, workers, shards, items, clients
//   STATS [PER-WORKER]     every counter: totals, or one table per worker
//   SLABS                  one table per shard and slab class that holds a page
//                          or evicted: chunk size, pages, live, free, evictions
//   CONFIG SHOW            the configuration this control plane loaded: every
//                          key (config_entries), values spelled as in TOML
//   FLUSH                  flush_all on every shard (through the owners)
//   SWEEP [NOW]            the TTL sweep pacer's state, one table per shard
//                          (sweep_pacer.h: estimate, rate, CPU share, totals);
//                          NOW first runs a full pass over every shard through
//                          the owners and answers when it is over
//   ADDRESS [LIST]         the port's service addresses, dotted quads
//   ADDRESS ADD a.b.c.d    serve a service address (the kernel side, then
//                          the dataplane, which announces it by gratuitous
//                          ARP); ADDRESS REMOVE a.b.c.d the reverse
//                          (service_address.h)
//   RING [STATUS]          the cluster ring and the move under way (a table)
//   RING ADD name host:port [weight] | RING REMOVE name | RING CANCEL
//                          start a move to a ring with / without a partition,
//                          or call the one under way off (ring_member.h)
//   QUIT                   +OK, then the connection closes
//
// Runs on the control plane's loop thread; reads shared memory only (FLUSH
// is carried out by the admin server, through the owners; ADDRESS writes
// the service address table, whose only writer this thread is).
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "config/dataplane_config.h"
#include "proto/resp_writer.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"

namespace fulmar::controlplane {

class McServer;
class McUdpServer;
class SweepDriver;

struct AdminView {
    const store::AttachedDataplane& dp;
    const config::DataplaneConfig& cfg;
    const McServer* mc;
    const McUdpServer* udp;  // memcached UDP that came as fragments; may be null
    const ShardChannel& channel;
    const SweepDriver* sweep = nullptr;  // null: no pacer (tests)
    std::function<std::vector<std::pair<std::string, std::string>>()> cluster_status;
    std::function<std::vector<std::pair<std::string, std::string>>()> replication_status;
    std::function<std::string()> failover;
    // REPLICATION OFFSETS / ACKED: the owners' positions per shard, and how
    // many replicas acknowledged at least the given ones (fulmarctl wait).
    std::function<std::vector<uint64_t>()> repl_offsets;
    std::function<size_t(const std::vector<uint64_t>&)> repl_acked;
    // RING ...: the cluster ring (ring_member.h); null without [cluster].
    std::function<void(std::span<const std::string_view>, proto::RespWriter&)> ring;
};

enum class AdminAction : uint8_t {
    kDone,      // the reply is written
    kFlush,     // the server flushes every shard, then answers
    kSweepNow,  // the server runs a full sweep pass, then answers write_sweep()
    kQuit,      // reply written; close after it
};

// SWEEP's reply: one table per shard.
void write_sweep(const AdminView& view, proto::RespWriter& out);

AdminAction run_admin_command(std::span<const std::string_view> args, const AdminView& view,
                              proto::RespWriter& out);

}  // namespace fulmar::controlplane
