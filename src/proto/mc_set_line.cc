// One-pass set recognition; see mc_set_line.h.
#include "proto/mc_set_line.h"

#include "proto/mc_get_line.h"

namespace fulmar::proto {
namespace {

// A run of 1..max_digits decimal digits at p[pos..end) no larger than
// `limit`, then the byte `stop`; advances pos past `stop`.
bool plain_number(std::string_view s, size_t& pos, size_t max_digits, uint64_t limit, char stop,
                  uint64_t& out) {
    uint64_t v = 0;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (++n > max_digits) return false;
        v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
    }
    if (n == 0 || v > limit || pos >= s.size() || s[pos] != stop) return false;
    ++pos;
    out = v;
    return true;
}

}  // namespace

bool parse_mc_set_line(std::string_view body, uint32_t max_value_len, McTextRequest& req) {
    if (!body.starts_with("set ")) return false;
    size_t pos = 4;
    const size_t key_end = mc_plain_key_end(body.data(), pos, body.size());
    const size_t key_len = key_end - pos;
    if (key_len == 0 || key_len > kMcMaxKeyLen || key_end >= body.size() || body[key_end] != ' ')
        return false;
    const std::string_view key = body.substr(pos, key_len);
    pos = key_end + 1;
    uint64_t flags, exptime, bytes;
    if (!plain_number(body, pos, 10, UINT32_MAX, ' ', flags) ||
        !plain_number(body, pos, 10, INT32_MAX, ' ', exptime))
        return false;
    // <bytes>, then "\r\n" or " noreply\r\n".
    bool noreply = false;
    const size_t bytes_at = pos;
    if (!plain_number(body, pos, 7, max_value_len, '\r', bytes)) {
        pos = bytes_at;
        if (!plain_number(body, pos, 7, max_value_len, ' ', bytes) ||
            body.substr(pos, 8) != "noreply\r")
            return false;
        noreply = true;
        pos += 8;
    }
    if (pos >= body.size() || body[pos] != '\n') return false;
    ++pos;
    // Exactly the data and its "\r\n", and nothing after.
    if (body.size() - pos != bytes + 2 || body[body.size() - 2] != '\r' || body.back() != '\n')
        return false;
    req = McTextRequest{};
    req.command = McTextCommand::kSet;
    req.noreply = noreply;
    req.key = key;
    req.value = body.substr(pos, bytes);
    req.flags = static_cast<uint32_t>(flags);
    req.value_len = static_cast<uint32_t>(bytes);
    req.exptime = static_cast<int32_t>(exptime);
    return true;
}

}  // namespace fulmar::proto
