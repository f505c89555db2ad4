// libFuzzer target: whatever the one-pass recognisers (get line, set) accept,
// the full classic parser must read as the same request, consuming the whole
// input. The dataplane serves accepted datagrams without the full parser, so
// a disagreement would be a wrong reply or a wrong write.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/mc_get_line.h"
#include "proto/mc_set_line.h"
#include "proto/mc_text.h"

using namespace fulmar::proto;

namespace {

constexpr uint32_t kMaxValue = 1048516;  // the engine's, as the session configures

void check_get(std::string_view in) {
    McGetLine line;
    if (!parse_mc_get_line(in, line)) return;
    for (size_t i = 0; i < line.n_keys; ++i) {
        const std::string_view k = line.keys[i];
        if (k.empty() || k.size() > kMcMaxKeyLen || k.data() < in.data() ||
            k.data() + k.size() > in.data() + in.size())
            std::abort();
    }
    McTextParser parser;
    McTextRequest req;
    const McTextResult r = parser.parse(in, req);
    if (r.status != ParseStatus::kComplete || r.consumed != in.size()) std::abort();
    if (req.command != (line.with_cas ? McTextCommand::kGets : McTextCommand::kGet)) std::abort();
    McTokenIter it = req.key_iter();
    std::string_view k;
    size_t n = 0;
    while (it.next(k)) {
        if (n >= line.n_keys || k != line.keys[n]) std::abort();
        ++n;
    }
    if (n != line.n_keys) std::abort();
}

void check_set(std::string_view in) {
    McTextRequest fast;
    if (!parse_mc_set_line(in, kMaxValue, fast)) return;
    McTextParser parser(McTextConf{kMaxValue});
    McTextRequest req;
    const McTextResult r = parser.parse(in, req);
    if (r.status != ParseStatus::kComplete || r.consumed != in.size()) std::abort();
    if (req.command != fast.command || req.key != fast.key || req.value != fast.value ||
        req.flags != fast.flags || req.value_len != fast.value_len || req.exptime != fast.exptime ||
        req.noreply != fast.noreply)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    check_get(in);
    check_set(in);
    return 0;
}
