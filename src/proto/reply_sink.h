// Where replies go: the engine appends wire bytes, the transport decides how
// they travel (a TCP buffer, 1400-byte UDP datagrams in mbufs, a test string).
//
// Owned by whoever runs the engine (one lcore or connection); not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fulmar::proto {

class ReplySink {
  public:
    virtual ~ReplySink() = default;
    virtual void append(std::string_view bytes) = 0;
};

// Collects everything into one string: tests, and the TCP control plane.
class StringSink final : public ReplySink {
  public:
    void append(std::string_view bytes) override { out.append(bytes); }
    std::string out;
};

}  // namespace fulmar::proto
