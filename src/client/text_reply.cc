// memcached text reply parsers; see text_reply.h for the grammar.
#include "client/text_reply.h"

#include <algorithm>

#include "common/numbers.h"

namespace fulmar::client {
namespace {

// Splits off the line ending at the first \r\n. False when there is none.
bool take_line(std::string_view& text, std::string_view& line) {
    const size_t end = text.find("\r\n");
    if (end == std::string_view::npos) return false;
    line = text.substr(0, end);
    text.remove_prefix(end + 2);
    return true;
}

bool is_error_line(std::string_view line) {
    return line == kReplyError || line.starts_with(kReplyClientError) ||
           line.starts_with(kReplyServerError);
}

// Next space-separated token; memcached separates with single spaces.
std::string_view next_token(std::string_view& s) {
    const size_t sp = s.find(' ');
    const std::string_view tok = s.substr(0, sp);
    s.remove_prefix(sp == std::string_view::npos ? s.size() : sp + 1);
    return tok;
}

}  // namespace

SimpleReply parse_simple_reply(std::string_view text) {
    std::string_view line;
    if (!take_line(text, line) || !text.empty()) return {};
    if (line == kReplyStored) return {ReplyKind::kStored};
    if (line == kReplyNotStored) return {ReplyKind::kNotStored};
    if (line == kReplyExists) return {ReplyKind::kExists};
    if (line == kReplyNotFound) return {ReplyKind::kNotFound};
    if (line == kReplyDeleted) return {ReplyKind::kDeleted};
    if (line == kReplyTouched) return {ReplyKind::kTouched};
    if (line == kReplyError) return {ReplyKind::kError};
    if (line.starts_with(kReplyClientError)) return {ReplyKind::kClientError};
    if (line.starts_with(kReplyTooLarge)) return {ReplyKind::kServerTooLarge};
    if (line.starts_with(kReplyOutOfMemory)) return {ReplyKind::kServerOutOfMemory};
    if (line.starts_with(kReplyMoved)) return {ReplyKind::kServerMoved};
    if (line.starts_with(kReplyMoving)) return {ReplyKind::kServerMoving};
    if (line.starts_with(kReplyServerError)) return {ReplyKind::kServerError};
    SimpleReply r;
    // incr/decr: the new value in plain decimal (parse_u64 also takes a '+',
    // which memcached never sends, so insist on digits).
    if (!line.empty() && line.front() >= '0' && line.front() <= '9' && parse_u64(line, r.number)) {
        r.kind = ReplyKind::kNumber;
    }
    return r;
}

namespace {

enum class Block : uint8_t { kValue, kEnd, kError, kIncomplete, kMalformed };

// Reads the block at text[pos]: a VALUE line and its data, END, or an error
// line. On kValue, kEnd and kError, `next` is the offset after it.
Block read_block(std::string_view text, size_t pos, ValueBlock& v, size_t& next) {
    std::string_view rest = text.substr(pos);
    std::string_view line;
    if (!take_line(rest, line)) {
        // A line cut short is incomplete while it can still become a block.
        const std::string_view head = text.substr(pos);
        const auto may_become = [head](std::string_view word) {
            const size_t n = std::min(head.size(), word.size());
            return head.substr(0, n) == word.substr(0, n);
        };
        const bool could_be = may_become(kReplyValue) || may_become("END\r") ||
                              may_become(kReplyError) || may_become(kReplyClientError) ||
                              may_become(kReplyServerError);
        return could_be ? Block::kIncomplete : Block::kMalformed;
    }
    if (line == kReplyEnd) {
        next = text.size() - rest.size();
        return Block::kEnd;
    }
    if (is_error_line(line)) {
        next = text.size() - rest.size();
        return Block::kError;
    }
    if (!line.starts_with(kReplyValue)) return Block::kMalformed;
    line.remove_prefix(kReplyValue.size());
    v = ValueBlock{};
    v.key = next_token(line);
    const std::string_view flags = next_token(line);
    const std::string_view bytes = next_token(line);
    const std::string_view cas = next_token(line);
    uint64_t n = 0;
    if (v.key.empty() || !parse_u32(flags, v.flags) || !parse_u64(bytes, n) || !line.empty() ||
        (!cas.empty() && !parse_u64(cas, v.cas))) {
        return Block::kMalformed;
    }
    if (rest.size() < n + 2) {
        // Data still arriving, unless what did arrive already breaks the frame.
        if (rest.size() > n && rest[n] != '\r') return Block::kMalformed;
        return Block::kIncomplete;
    }
    if (rest.substr(n, 2) != "\r\n") return Block::kMalformed;
    v.data = rest.substr(0, n);
    next = text.size() - rest.size() + n + 2;
    return Block::kValue;
}

}  // namespace

// Reads blocks from `pos` until a final verdict or the end of what arrived,
// handing each whole value to `on_value` and leaving `pos` at the first block
// not yet whole. With `end` NULL the reply must be the whole text (one UDP
// reply); else bytes may follow it (a TCP stream) and `end` receives its length.
template <typename OnValue>
GetReplyStatus walk_get_reply(std::string_view text, size_t& pos, size_t* end, OnValue&& on_value) {
    for (;;) {
        ValueBlock v;
        size_t next = 0;
        switch (read_block(text, pos, v, next)) {
            case Block::kValue:
                on_value(v);
                pos = next;
                continue;
            case Block::kEnd:
                if (end != nullptr) {
                    *end = next;
                    return GetReplyStatus::kOk;
                }
                return next == text.size() ? GetReplyStatus::kOk : GetReplyStatus::kMalformed;
            case Block::kError:
                if (end != nullptr) *end = next;
                return GetReplyStatus::kServerError;
            case Block::kIncomplete:
                return GetReplyStatus::kIncomplete;
            case Block::kMalformed:
                return GetReplyStatus::kMalformed;
        }
    }
}

GetReplyStatus scan_get_reply(std::string_view text, size_t& cursor) {
    return walk_get_reply(text, cursor, nullptr, [](const ValueBlock&) {});
}

GetReplyStatus scan_get_reply_prefix(std::string_view text, size_t& cursor, size_t& end) {
    return walk_get_reply(text, cursor, &end, [](const ValueBlock&) {});
}

GetReplyStatus parse_get_reply(std::string_view text, std::vector<ValueBlock>& out) {
    out.clear();
    size_t pos = 0;
    return walk_get_reply(text, pos, nullptr, [&](const ValueBlock& v) { out.push_back(v); });
}

size_t line_reply_end(std::string_view text, size_t& from) {
    const size_t at = text.find("\r\n", from);
    if (at == std::string_view::npos) {
        // A \r at the very end may be followed by its \n in the next read.
        from = text.empty() ? 0 : text.size() - 1;
        return 0;
    }
    return at + 2;
}

}  // namespace fulmar::client
