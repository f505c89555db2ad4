// A Transport over the C callbacks of test_transport.h.
//
// Owned by one fulmar_client; one thread.
#pragma once

#include "client/test_transport.h"
#include "client/transport.h"

namespace fulmar::client {

class CallbackTransport final : public Transport {
  public:
    explicit CallbackTransport(const fulmar_test_transport& cb) : cb_(cb) {}

    int send(uint32_t node, std::span<const std::byte> datagram) override {
        return cb_.send(cb_.ctx, node, datagram.data(), datagram.size());
    }
    long recv(uint64_t deadline_us, uint32_t& node, std::span<std::byte> buf) override {
        return cb_.recv(cb_.ctx, deadline_us, &node, buf.data(), buf.size());
    }
    uint64_t now_us() override { return cb_.now_us(cb_.ctx); }

  private:
    fulmar_test_transport cb_;
};

}  // namespace fulmar::client
