// What the Redis listener's clients share: the registry of live clients
// (CLIENT LIST, KILL, ID), the password (AUTH), the CONFIG parameters, and
// the server-wide figures INFO reports.
//
// One per Redis listener, owned by its McServer on the control plane's loop
// thread (single-threaded: no locks). Sessions register themselves when
// they open and leave when their connection closes.
//
// CONFIG is a small registry: each parameter is a name, a getter and, when
// it can change at run time, a setter that checks the value. Other command
// groups add theirs with add_config() (list-max-listpack-size, ...); a
// parameter that is not registered is Redis's "Unknown option" error, never
// a silent no-op.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "config/dataplane_config.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

class EventLoop;
class MetricsSource;
class RespSession;
class OrderedOutput;

struct RespConfigParam {
    std::string name;
    std::function<std::string()> get;
    // Unset: immutable ("can't set immutable config"). Returns an error text
    // (Redis's, after "CONFIG SET failed (possibly related to argument
    // '<name>') - ") or nullopt once set.
    std::function<std::optional<std::string>(std::string_view)> set;
};

class RespServerState {
  public:
    // The parameters the control plane has (port, requirepass, maxclients,
    // timeout...), from the control plane's configuration.
    // `maxmemory`: the shards' item memory in all (bytes), fixed at start,
    // over `n_shards`. `collections` and `memory_policy`: where the owners
    // read the collection settings and maxmemory (the dataplane's shared
    // zone); null: blocks of this object's own (tests).
    void init(const config::ControlplaneConfig& cfg, EventLoop* loop, UnixTime started,
              uint64_t maxmemory = 0, shm::CollectionSettings* collections = nullptr,
              shm::MemoryPolicy* memory_policy = nullptr, size_t n_shards = 1);

    // ---- clients ----
    void add(RespSession* s, uint64_t id);
    void remove(uint64_t id);
    // Live sessions by id (Redis's client id), in id order.
    const std::map<uint64_t, RespSession*>& clients() const { return clients_; }

    // ---- AUTH ----
    // Empty: no password (every client is authenticated).
    const std::string& requirepass() const { return requirepass_; }

    // ---- CONFIG ----
    void add_config(RespConfigParam p);
    // Redis's stringmatch() on names, case-blind: the parameters matching any
    // of `patterns`, each once, in registration order.
    std::vector<const RespConfigParam*> match_config(
        std::span<const std::string_view> patterns) const;
    const RespConfigParam* find_config(std::string_view name) const;

    // ---- figures (INFO, CONFIG RESETSTAT) ----
    uint64_t total_commands = 0;
    uint64_t total_connections = 0;
    uint64_t rejected_auth = 0;  // AUTH/HELLO with a wrong password
    UnixTime started = 0;
    const MetricsSource* metrics = nullptr;  // set by main once it exists
    EventLoop* loop = nullptr;
    uint16_t port = 0;
    uint32_t max_clients = 0;
    // DEBUG SET-ACTIVE-EXPIRE: pauses or resumes the paced TTL sweep (main
    // wires it to the SweepDriver); unset, the subcommand is unknown.
    std::function<void(bool)> set_active_expire;
    // The collection settings the owners read (DEBUG
    // QUICKLIST-PACKED-THRESHOLD writes there); set by init().
    shm::CollectionSettings* collections = nullptr;
    shm::MemoryPolicy* memory = nullptr;
    void reset_stats();

    // ---- replication (main wires these; unset: no replication role) ----
    // INFO replication's lines (role:... and what follows).
    std::function<std::string()> replication_info;
    // WAIT: the owners' last change per shard, and how many replicas
    // acknowledged at least those.
    std::function<std::vector<uint64_t>()> repl_last_seqs;
    std::function<size_t(const std::vector<uint64_t>&)> repl_acked;
    // REPLICAOF host port (host order) | NO ONE (nullopt): an error text, or
    // nullopt when done.
    std::function<std::optional<std::string>(std::optional<std::pair<uint32_t, uint16_t>>)>
        replicaof;
    // CLIENT KILL TYPE master (true) | replica: cuts those links; how many.
    std::function<size_t(bool master)> kill_replication_links;
    // WAIT's blocked clients: each answered (RespSession::finish_wait) once
    // enough replicas acknowledged its target or its deadline passed.
    struct ReplWait {
        RespSession* session;
        uint64_t ticket;
        OrderedOutput* out;
        std::vector<uint64_t> target;
        size_t n;
        int64_t deadline_us;  // steady clock; 0: no deadline
    };
    void add_wait(ReplWait w) { waits_.push_back(std::move(w)); }
    // The session's waits, removed (it closes): their tickets.
    std::vector<uint64_t> drop_waits(const RespSession* s);
    void check_waits();

  private:
    std::vector<ReplWait> waits_;
    std::map<uint64_t, RespSession*> clients_;
    std::string requirepass_;
    std::vector<RespConfigParam> config_;
    shm::CollectionSettings own_collections_;
    shm::MemoryPolicy own_memory_;
};

}  // namespace fulmar::controlplane
