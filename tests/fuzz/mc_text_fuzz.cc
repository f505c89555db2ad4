// libFuzzer target: the classic text parser must walk any byte stream, a
// request at a time, without reading or consuming past it, and must read it
// the same whether the bytes come at once or in pieces.
//
// The first byte picks the value size limit (so refused-and-swallowed values
// are exercised too) and the piece size of the second pass.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/mc_text.h"

namespace {

using namespace fulmar::proto;

struct Event {
    ParseStatus status;
    McTextError error;
    size_t consumed;
    McTextCommand command;
    bool operator==(const Event&) const = default;
};

void check_views(std::string_view in, const McTextResult& r, const McTextRequest& req) {
    const auto inside = [&](std::string_view v) {
        return v.empty() ||
               (v.data() >= in.data() && v.data() + v.size() <= in.data() + r.consumed);
    };
    if (!inside(req.key) || !inside(req.keys) || !inside(req.value) || !inside(req.stats_args))
        std::abort();
    McTokenIter it = req.key_iter();
    std::string_view key;
    while (it.next(key))
        if (key.empty() || key.size() > kMcMaxKeyLen) std::abort();
}

// Runs the parser over `in` delivered `piece` bytes at a time (0: at once).
std::vector<Event> walk(std::string_view in, size_t piece, McTextConf conf) {
    McTextParser parser(conf);
    std::vector<Event> events;
    std::string buf;
    size_t pos = 0;
    bool stopped = false;
    while (pos < in.size() && !stopped) {
        const size_t n = piece == 0 ? in.size() : std::min(piece, in.size() - pos);
        buf.append(in.substr(pos, n));
        pos += n;
        for (;;) {
            McTextRequest req;
            const McTextResult r = parser.parse(buf, req);
            if (r.consumed > buf.size()) std::abort();
            if (r.status == ParseStatus::kNeedMore) {
                if (r.consumed != 0) std::abort();
                break;
            }
            if (r.status == ParseStatus::kComplete) check_views(buf, r, req);
            if (r.error == McTextError::kSwallowed) {
                // More of a refused value: part of the refusal, however split.
                if (events.empty() || events.back().error != McTextError::kObjectTooLarge)
                    std::abort();
                events.back().consumed += r.consumed;
            } else {
                events.push_back({r.status, r.error, r.consumed, req.command});
            }
            if (r.consumed == 0) {  // a close, or a meta command for another parser
                stopped = true;
                break;
            }
            buf.erase(0, r.consumed);
        }
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const McTextConf conf{.max_value_len = data[0] < 128 ? 1024u * 1024u : data[0] % 16u};
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    if (walk(in, 0, conf) != walk(in, 1 + data[0] % 7, conf)) std::abort();
    return 0;
}
