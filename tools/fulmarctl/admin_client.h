// fulmarctl's connection to the control plane's admin socket: one command
// as a RESP array, one reply read back (proto/resp_reply.h).
//
// Owned by one thread. Blocking, with a timeout per reply.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "proto/resp_reply.h"

namespace fulmar::fulmarctl {

enum class ClientErrorKind : uint8_t {
    kNotRunning,  // nothing listens at the path (no file, or refused)
    kIo,          // connect/send/recv failed otherwise, or timed out
    kProtocol,    // the bytes were not RESP
};

struct ClientError {
    ClientErrorKind kind = ClientErrorKind::kIo;
    std::string message;  // complete, for a person
};

class AdminClient {
  public:
    static Result<AdminClient, ClientError> connect(const std::string& path, int timeout_ms = 5000);
    AdminClient(AdminClient&& o) noexcept;
    AdminClient& operator=(AdminClient&&) = delete;
    ~AdminClient();

    Result<proto::RespValue, ClientError> call(const std::vector<std::string_view>& args);

  private:
    AdminClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
    std::string in_;
};

}  // namespace fulmar::fulmarctl
