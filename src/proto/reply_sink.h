// Where replies go: the engine appends wire bytes, the transport decides how
// they travel (a TCP buffer, 1400-byte UDP datagrams in mbufs, a test string).
//
// Owned by whoever runs the engine (one lcore or connection); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.h"

namespace fulmar::proto {

class ReplySink {
  public:
    virtual ~ReplySink() = default;
    virtual void append(std::string_view bytes) = 0;
    // A reply that another thread or process produces later (the control
    // plane's requests at the owner workers): `ticket` names it, its place is
    // here. Only the control plane's sinks take one; on every other path
    // nothing defers, and a deferral there is a bug caught at once.
    virtual void append_deferred(uint64_t /*ticket*/) { FULMAR_CHECK(false); }

    // The Redis protocol the replies are for (HELLO 3 makes it RESP3): a
    // RespWriter on this sink writes it unless told otherwise. Memcached's
    // sinks never look.
    bool resp3() const { return resp3_; }
    void set_resp3(bool on) { resp3_ = on; }

  private:
    bool resp3_ = false;
};

// Collects everything into one string: tests, and the TCP control plane.
class StringSink final : public ReplySink {
  public:
    void append(std::string_view bytes) override { out.append(bytes); }
    std::string out;
};

}  // namespace fulmar::proto
