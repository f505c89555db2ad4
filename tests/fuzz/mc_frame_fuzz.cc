// libFuzzer target: the UDP frame decoder must accept or reject any bytes
// without reading past them.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/mc_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fulmar::proto::McFrame f;
    auto span = std::span(reinterpret_cast<const std::byte*>(data), size);
    if (fulmar::proto::decode_request_frame(span, f) == fulmar::proto::FrameStatus::kOk) {
        std::byte out[fulmar::proto::kMcFrameHeaderSize];
        fulmar::proto::encode_frame(f, out);
    }
    return 0;
}
