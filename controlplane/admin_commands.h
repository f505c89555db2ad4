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
//   QUIT                   +OK, then the connection closes
//
// No SWEEP: the TTL sweep runs in the owners' housekeeping (its results are
// the sweep_reclaimed counters of STATS and /metrics); nothing asks it to run.
//
// Runs on the control plane's loop thread; reads shared memory only (FLUSH
// is carried out by the admin server, through the owners).
#pragma once

#include <span>
#include <string_view>

#include "config/dataplane_config.h"
#include "proto/resp_writer.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"

namespace fulmar::controlplane {

class McServer;
class McUdpServer;

struct AdminView {
    const store::AttachedDataplane& dp;
    const config::DataplaneConfig& cfg;
    const McServer* mc;
    const McUdpServer* udp;  // memcached UDP that came as fragments; may be null
    const ShardChannel& channel;
};

enum class AdminAction : uint8_t {
    kDone,   // the reply is written
    kFlush,  // the server flushes every shard, then answers
    kQuit,   // reply written; close after it
};

AdminAction run_admin_command(std::span<const std::string_view> args, const AdminView& view,
                              proto::RespWriter& out);

}  // namespace fulmar::controlplane
