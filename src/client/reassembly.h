// Reassembly of one reply from its memcached UDP datagrams.
//
// Owned by the exchange slot of one in-flight request; one thread.
//
// A reply arrives as one or more *messages*, each cut into `total` datagrams
// numbered 0..total-1 that repeat the request id and the total:
//
//   Fulmar, memcached <= 1.5:  the whole reply is one message
//       [id|0|3] VALUE a ..  [id|1|3] ...  [id|2|3] ... END\r\n
//   memcached 1.6:             one message per response object of a multi-get
//       [id|0|1] VALUE a 0 1\r\nx\r\n   [id|0|2] VALUE b ...  [id|1|2] ...\r\nEND\r\n
//
// The datagrams of a message may arrive in any order or twice (a duplicate is
// ignored); a datagram whose total disagrees with the open message's, or whose
// sequence number is out of range, is ignored. Messages are taken in the order
// they complete: memcached 1.6 gives no way to order them (each restarts at
// sequence 0), so the caller decides from the text when the reply is whole
// (text_reply.h) and matches values by key, not by position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fulmar::client {

enum class AddStatus : uint8_t {
    kIncomplete,       // kept; the open message needs more datagrams
    kMessageComplete,  // kept; the open message is whole: call take_message()
    kDuplicate,        // this sequence number of the open message was already kept
    kMismatch,         // sequence number >= total, total 0, or total unlike the open message's
};

class Reassembly {
  public:
    void reset();
    AddStatus add(uint16_t seq, uint16_t total, std::span<const char> payload);
    // Appends the open message's payloads in sequence order to `out` and
    // closes it: the next datagram opens a new message. Only after kMessageComplete.
    void take_message(std::vector<char>& out);

  private:
    uint16_t total_ = 0;  // of the open message; 0: none open
    uint16_t n_received_ = 0;
    // One buffer per sequence number; kept between requests so a client that
    // keeps getting multi-datagram replies stops allocating.
    std::vector<std::vector<char>> parts_;
    std::vector<uint8_t> have_;
};

}  // namespace fulmar::client
