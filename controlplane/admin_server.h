// The admin endpoint: RESP over a Unix socket (owned by root, mode 0600, or
// 0660 with a configured group), so `fulmarctl` and `redis-cli -s` both
// speak to it. Commands are in admin_commands.h.
//
// Owned by the control plane's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "config/dataplane_config.h"
#include "event_loop.h"
#include "proto/resp_parser.h"
#include "proto/resp_writer.h"
#include "shard_channel.h"
#include "store/dataplane_zone.h"

namespace fulmar::controlplane {

class McServer;
class McUdpServer;
class SweepDriver;

struct AdminDeps {
    store::AttachedDataplane* dp = nullptr;
    EventLoop* loop = nullptr;
    const config::DataplaneConfig* cfg = nullptr;
    McServer* mc = nullptr;      // null when memcached TCP is off
    McUdpServer* udp = nullptr;  // null when the port has no kernel side
    ShardChannel* channel = nullptr;
    SweepDriver* sweep = nullptr;  // null: no pacer; SWEEP shows nothing
    // CLUSTER STATUS and REPLICATION's tables (main wires them; unset: this
    // node is in no cluster / CLUSTER says so).
    std::function<std::vector<std::pair<std::string, std::string>>()> cluster_status;
    std::function<std::vector<std::pair<std::string, std::string>>()> replication_status;
    // FAILOVER: starts a planned switchover; "" or why not.
    std::function<std::string()> failover;
    std::function<std::vector<uint64_t>()> repl_offsets;
    std::function<size_t(const std::vector<uint64_t>&)> repl_acked;
    std::function<void(std::span<const std::string_view>, proto::RespWriter&)> ring;
};

// Tickets of the admin's requests at the owners carry this bit, so the
// loop hands their replies here and not to memcached's connections.
inline constexpr uint64_t kAdminTicketBit = uint64_t{1} << 63;

class AdminServer final : public EventHandler {
  public:
    static Result<std::unique_ptr<AdminServer>, std::string> listen(const AdminDeps& deps);
    ~AdminServer() override;

    void on_event(uint32_t events) override;  // accept
    void on_reply(const OwnerReply& r);
    void tick();

    const AdminDeps& deps() const { return deps_; }

  private:
    class Conn;
    explicit AdminServer(const AdminDeps& deps);

    AdminDeps deps_;
    int fd_ = -1;
    std::string path_;
    uint64_t next_conn_ = 1;
    uint64_t next_ticket_ = kAdminTicketBit | 1;
    std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
    std::unordered_map<uint64_t, uint64_t> tickets_;  // ticket -> admin connection
    std::vector<uint64_t> retired_;
    friend class Conn;
};

}  // namespace fulmar::controlplane
