// libFuzzer target: what a client reads from the network, whatever a server
// (or anyone spoofing one) sends. The input is cut into datagrams for the
// reassembly, and the reassembled text goes through every reply parser:
// nothing may crash, views must stay inside the text, and the incremental
// get scan must reach the verdict of the one-shot parse.
//
// Input: records of [seq, total, len, len bytes] until the bytes run out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "client/reassembly.h"
#include "client/text_reply.h"

using namespace fulmar::client;

namespace {

bool inside(std::string_view v, std::string_view text) {
    return v.empty() ||
           (v.data() >= text.data() && v.data() + v.size() <= text.data() + text.size());
}

void check_text(std::string_view text) {
    (void)parse_simple_reply(text);
    std::vector<ValueBlock> values;
    (void)parse_get_reply(text, values);
    for (const ValueBlock& b : values)
        if (!inside(b.key, text) || !inside(b.data, text)) std::abort();
    // The scan, fed the text as it might arrive (in three pieces), stops at
    // the first final verdict: the one-shot parse of the text scanned so far
    // must agree (what comes after a whole reply is not part of it).
    size_t cursor = 0;
    GetReplyStatus scan = GetReplyStatus::kIncomplete;
    size_t scanned = 0;
    for (const size_t end : {text.size() / 3, 2 * text.size() / 3, text.size()}) {
        scanned = end;
        scan = scan_get_reply(text.substr(0, end), cursor);
        if (cursor > end) std::abort();
        if (scan != GetReplyStatus::kIncomplete) break;
    }
    std::vector<ValueBlock> prefix_values;
    if (scan != parse_get_reply(text.substr(0, scanned), prefix_values)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The raw input as one reply text too: the parsers meet it when the
    // reply is a single datagram.
    check_text(std::string_view(reinterpret_cast<const char*>(data), size));

    Reassembly r;
    std::vector<char> message;
    size_t in_payloads = 0;
    size_t pos = 0;
    while (pos + 3 <= size) {
        const uint16_t seq = data[pos];
        const uint16_t total = data[pos + 1];
        const size_t len = std::min<size_t>(data[pos + 2], size - pos - 3);
        const std::span<const char> payload(reinterpret_cast<const char*>(data + pos + 3), len);
        pos += 3 + len;
        in_payloads += len;
        if (r.add(seq, total, payload) == AddStatus::kMessageComplete) {
            r.take_message(message);
            if (message.size() > in_payloads) std::abort();  // never more than was received
            check_text(std::string_view(message.data(), message.size()));
        }
    }
    return 0;
}
