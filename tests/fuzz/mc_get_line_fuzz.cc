// libFuzzer target: whatever the one-pass get line accepts, the full classic
// parser must read as the same get/gets with the same keys, consuming the
// whole input (the dataplane serves accepted datagrams without the full
// parser, so a disagreement would be a wrong reply).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/mc_get_line.h"
#include "proto/mc_text.h"

using namespace fulmar::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    McGetLine line;
    if (!parse_mc_get_line(in, line)) return 0;
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
    return 0;
}
