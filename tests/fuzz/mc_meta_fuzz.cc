// libFuzzer target: the meta parser must walk any byte stream, pipelined
// requests and swallowed data blocks included, without reading or consuming
// past what it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/mc_meta.h"

namespace {

using namespace fulmar::proto;

void check(bool ok) {
    if (!ok) std::abort();
}

// One connection's worth of parsing, as a connection loop would drive it.
void walk(std::string_view in, size_t max_data_len) {
    McMetaRequest req;
    size_t owed = 0;
    while (!in.empty()) {
        const size_t skip = owed < in.size() ? owed : in.size();
        in.remove_prefix(skip);
        owed -= skip;
        if (in.empty()) return;
        const McMetaResult r = parse_mc_meta(in, req, max_data_len);
        check(r.consumed <= in.size());
        if (r.status == ParseStatus::kNeedMore) {
            check(r.consumed == 0);
            return;
        }
        if (r.status == ParseStatus::kComplete) {
            check(r.consumed > 0 && r.error == McMetaError::kNone);
            check(req.n_flags <= kMcMetaMaxFlags);
            check(req.key().size() <= kMcMetaKeyMaxLen);
            check(req.data.size() <= max_data_len);
            check(req.data.empty() ||
                  (req.data.data() >= in.data() &&
                   req.data.data() + req.data.size() <= in.data() + r.consumed));
            if (req.key_binary) {
                char enc[mc_meta_base64_len(kMcMetaKeyMaxLen)];
                check(mc_meta_base64_encode(req.key(), enc) <= sizeof(enc));
            }
        } else {
            check(r.error != McMetaError::kNone);
            check(!mc_meta_error_line(r.error).empty() || r.error == McMetaError::kLineTooLong);
        }
        if (r.consumed == 0) return;  // kLineTooLong: the connection closes
        in.remove_prefix(r.consumed);
        owed = r.swallow;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    walk(in, kMcMetaDefaultMaxDataLen);
    walk(in, 8);  // reaches the too-large path with small inputs
    (void)match_mc_meta(in);
    return 0;
}
