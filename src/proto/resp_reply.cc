// RESP reply reader; see resp_reply.h.
#include "proto/resp_reply.h"

#include <charconv>

namespace fulmar::proto {
namespace {

struct Reader {
    std::string_view in;
    size_t pos = 0;
    std::string why;

    enum class Step : uint8_t { kOk, kNeedMore, kError };

    Step fail(std::string_view what) {
        why = what;
        return Step::kError;
    }

    // The line from pos to its CRLF (without it); pos moves past the CRLF.
    Step line(std::string_view& out) {
        const size_t cr = in.find("\r\n", pos);
        if (cr == std::string_view::npos) return Step::kNeedMore;
        out = in.substr(pos, cr - pos);
        pos = cr + 2;
        return Step::kOk;
    }

    Step integer_line(int64_t& v) {
        std::string_view l;
        if (Step s = line(l); s != Step::kOk) return s;
        const auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
        if (ec != std::errc() || end != l.data() + l.size() || l.empty())
            return fail("bad integer in a reply");
        return Step::kOk;
    }

    Step value(RespValue& out, size_t depth) {
        if (depth > kRespReplyMaxDepth) return fail("reply nested too deep");
        if (pos >= in.size()) return Step::kNeedMore;
        const char type = in[pos++];
        out = RespValue{};
        switch (type) {
            case '+':
            case '-':
            case ',': {
                std::string_view l;
                if (Step s = line(l); s != Step::kOk) return s;
                out.type = type == '+'   ? RespValue::Type::kSimple
                           : type == '-' ? RespValue::Type::kError
                                         : RespValue::Type::kBulk;
                out.text = l;
                return Step::kOk;
            }
            case ':':
                out.type = RespValue::Type::kInteger;
                return integer_line(out.integer);
            case '#': {
                std::string_view l;
                if (Step s = line(l); s != Step::kOk) return s;
                if (l != "t" && l != "f") return fail("bad boolean in a reply");
                out.type = RespValue::Type::kInteger;
                out.integer = l == "t" ? 1 : 0;
                return Step::kOk;
            }
            case '_': {
                std::string_view l;
                if (Step s = line(l); s != Step::kOk) return s;
                if (!l.empty()) return fail("bad null in a reply");
                return Step::kOk;
            }
            case '$': {
                int64_t n = 0;
                if (Step s = integer_line(n); s != Step::kOk) return s;
                if (n == -1) return Step::kOk;
                if (n < 0) return fail("bad bulk length in a reply");
                const auto len = static_cast<size_t>(n);
                if (in.size() - pos < len + 2) return Step::kNeedMore;
                if (in.substr(pos + len, 2) != "\r\n") return fail("bulk string without CRLF");
                out.type = RespValue::Type::kBulk;
                out.text = in.substr(pos, len);
                pos += len + 2;
                return Step::kOk;
            }
            case '*':
            case '%':
            case '~':
            case '>': {
                int64_t n = 0;
                if (Step s = integer_line(n); s != Step::kOk) return s;
                if (n == -1 && type == '*') return Step::kOk;
                if (n < 0 || n > kRespReplyMaxElements) return fail("bad aggregate length");
                if (type == '%') n *= 2;
                // Each element takes at least 3 bytes ("_\r\n"): until the
                // input could hold them all, allocate nothing.
                if (static_cast<size_t>(n) * 3 > in.size() - pos) return Step::kNeedMore;
                out.type = RespValue::Type::kArray;
                out.elements.resize(static_cast<size_t>(n));
                for (RespValue& e : out.elements)
                    if (Step s = value(e, depth + 1); s != Step::kOk) return s;
                return Step::kOk;
            }
            default:
                return fail("unknown reply type byte");
        }
    }
};

}  // namespace

RespReplyResult parse_resp_reply(std::string_view in, RespValue& out, std::string* error) {
    Reader r{.in = in};
    switch (r.value(out, 0)) {
        case Reader::Step::kOk:
            return {ParseStatus::kComplete, r.pos};
        case Reader::Step::kNeedMore:
            return {ParseStatus::kNeedMore, 0};
        case Reader::Step::kError:
            break;
    }
    if (error != nullptr) *error = r.why;
    return {ParseStatus::kError, 0};
}

}  // namespace fulmar::proto
