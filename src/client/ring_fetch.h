// Seeded clients: asks one node for the cluster ring with the memcached
// `ring` command and reads the reply into a ring document (ring/ring_doc.h).
//
// Owned by the fulmar_client that fetches (one thread); blocking, bounded by
// a deadline: one short-lived TCP connection per fetch, apart from the
// client's pooled connections, because the reply is not one of the shapes
// the exchanges frame (a line, or VALUE blocks then END) and a fetch is rare
// (at most once per ring_refresh_ms, and after a "moved" reply).
//
//   -> ring\r\n
//   <- RING <epoch>\r\n
//      NODE <host:port>:<weight> <name>\r\n      (per member, ring order)
//      END\r\n
#pragma once

#include <cstdint>
#include <string_view>

#include "client/transport.h"
#include "ring/ring_doc.h"

namespace fulmar::client {

// The longest ring reply read: 64 members of < 140 bytes each fit many
// times over; anything longer is not a ring reply.
inline constexpr size_t kMaxRingReply = 64 * 1024;

// Parses a whole `ring` reply. 0 with `out` set; -EPROTO when it is not the
// grammar above (or a NODE line is not a valid named server entry); -EIO
// when the node answered ERROR / CLIENT_ERROR / SERVER_ERROR (a server
// without the command); -EAGAIN when the text ends before END.
int parse_ring_reply(std::string_view text, ring::RingDoc& out);

// Connects to `node`, sends "ring\r\n" and parses the reply, all within
// timeout_us. 0, or -ETIMEDOUT (no connection or no whole reply in time,
// the connection refused or closed early), -EHOSTUNREACH (the name did
// not resolve), -EPROTO, -EIO as parse_ring_reply().
int fetch_ring(const Endpoint& node, uint64_t timeout_us, ring::RingDoc& out);

}  // namespace fulmar::client
