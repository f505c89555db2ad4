// One memcached TCP client: its socket, its session, its replies in order.
//
// Owned by McServer on the control plane's loop thread.
//
// The connection is its session's executor (engine/mc_executor.h):
//   get/gets      read here, lock-free, from the shards' shared memory; a hit
//                 on an item never fetched since it was stored also asks the
//                 owner to mark it fetched (memcached does, mg's h flag
//                 reports it, and only the owner writes items)
//   mg            read here too when its flags only report and the item is
//                 already fetched and not stale (nothing to write); else owner
//   everything else that touches items (writes, gat, flush_all, stats)
//                 is sent to the key's owner (flush_all to every owner) and
//                 its reply takes its place in the output when it comes back
// Order: replies leave in request order (the output is a list of ready bytes
// and placeholders). A read waits while this connection still has requests
// at the owners, so it sees the connection's own writes; writes to one owner
// keep their order (one FIFO inbox per owner).
//
//   output: [ready bytes][ticket 17: at owner][ready bytes][ticket 18] ...
//            ^ written to the socket as soon as everything before is ready
//
// Backpressure: when the channel has no room, or the client has not taken
// output_buffer_limit_mb of replies, the session waits, the socket is no
// longer read, and the client's TCP window closes; the connection goes on
// with the bytes it holds when there is room again. A client over the limit
// that takes nothing for kSlowReaderGraceS is disconnected. A single reply
// may be larger than the limit (a multi-get of big values): it is sent.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mc_executor.h"
#include "engine/mc_session.h"
#include "event_loop.h"
#include "mc_server.h"

namespace fulmar::controlplane {

class McConnection final : public EventHandler, public engine::McExecutor {
  public:
    McConnection(McServer& server, int fd, uint64_t id, const sockaddr_in& peer, UnixTime now);
    ~McConnection() override;
    McConnection(const McConnection&) = delete;
    McConnection& operator=(const McConnection&) = delete;

    void on_event(uint32_t events) override;
    // The owner's reply to `ticket` (after `op`).
    void on_reply(uint64_t ticket, PostOp op, const OwnerReply& r);
    // Goes on after a wait for room in the channel.
    void retry();
    void close_now();

    uint64_t id() const { return id_; }
    bool idle_since(UnixTime t) const { return last_active_ < t && pending_ == 0; }
    // Replies past output_buffer_limit_mb that the client has not taken a
    // byte of for kSlowReaderGraceS: it is closed (McServer::tick).
    bool slow_reader(UnixTime now) const;
    static constexpr UnixTime kSlowReaderGraceS = 5;
    std::string peer_text() const;
    std::string_view state_text() const;

    // engine::McExecutor
    engine::ExecStatus classic(const proto::McTextRequest& req, const store::KeyRef& key,
                               std::string_view raw, proto::ReplySink& out) override;
    void classic_error(proto::McTextError error, const proto::McTextRequest& req,
                       std::string_view raw, proto::ReplySink& out) override;
    engine::ExecStatus meta(const proto::McMetaRequest& req, std::string_view raw,
                            proto::ReplySink& out) override;
    void unlink(const proto::McMetaRequest& req) override;

  private:
    // The connection's output: ready bytes and placeholders, in order.
    class Output final : public proto::ReplySink {
      public:
        void append(std::string_view bytes) override;
        void append_deferred(uint64_t ticket) override;
        // Fills the placeholder of `ticket`; false when there is none (its
        // place was dropped with memcached's queue).
        bool fill(uint64_t ticket, std::string&& bytes);
        struct Part {
            std::string bytes;
            uint64_t ticket = 0;  // 0: ready
        };
        std::deque<Part> parts;
        size_t ready_bytes = 0;  // in ready parts not yet written
        size_t written = 0;      // of parts.front(), when ready
    };

    // Sends a request to `shard`'s owner; its reply goes in `out` in order.
    // False (nothing sent) when the channel has no room.
    bool forward(size_t shard, std::string_view bytes, const engine::ParsedRequest* parsed,
                 PostOp op, proto::ReplySink* out);
    engine::ExecStatus get_local(const proto::McTextRequest& req, proto::ReplySink& out);
    engine::ExecStatus gat(const proto::McTextRequest& req, std::string_view raw,
                           proto::ReplySink& out);
    void on_readable();
    void process();
    void write_out();
    void update_interest();
    size_t output_limit() const;
    // Replies ready and unsent past the limit: requests wait (kWait).
    bool output_full() const;
    size_t shard_of(const store::KeyDigest& d) const;

    McServer& server_;
    int fd_;
    uint64_t id_;
    sockaddr_in peer_;
    engine::McSession session_;
    std::string in_;
    size_t in_off_ = 0;
    Output out_;
    size_t pending_ = 0;    // requests at the owners
    bool waiting_ = false;  // the session asked to wait
    bool closing_ = false;  // close once the output is written
    bool closed_ = false;
    uint32_t interest_ = 0;  // epoll events registered
    UnixTime last_active_ = 0;
    UnixTime last_progress_ = 0;  // the client last took reply bytes
    // A get's pieces before they go out: ready bytes or prepared requests.
    struct Piece {
        size_t bytes_end;         // end of this piece's ready bytes in scratch_out_
        dataplane::Message* msg;  // null: ready bytes only
        size_t shard;
        uint64_t ticket;
    };
    std::vector<Piece> pieces_;
    std::vector<store::KeyDigest> marked_;  // items a get asked to mark fetched
    std::string scratch_out_;
};

}  // namespace fulmar::controlplane
