// RESP request parser; see resp_parser.h for the contract. The checks and
// their order follow Redis 7.0's processMultibulkBuffer, processInlineBuffer
// and sdssplitargs, so that a client sees the same reply, or the same error,
// for the same bytes.
#include "proto/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/numbers.h"

namespace fulmar::proto {
namespace {

constexpr std::string_view kErrInvalidMultibulk = "ERR Protocol error: invalid multibulk length";
constexpr std::string_view kErrInvalidBulk = "ERR Protocol error: invalid bulk length";
constexpr std::string_view kErrUnbalancedQuotes =
    "ERR Protocol error: unbalanced quotes in request";
constexpr std::string_view kErrTooBigInline = "ERR Protocol error: too big inline request";
constexpr std::string_view kErrTooBigMbulk = "ERR Protocol error: too big mbulk count string";
constexpr std::string_view kErrTooBigBulk = "ERR Protocol error: too big bulk count string";
constexpr std::string_view kErrUnauthMultibulk =
    "ERR Protocol error: unauthenticated multibulk length";
constexpr std::string_view kErrUnauthBulk = "ERR Protocol error: unauthenticated bulk length";
constexpr std::string_view kErrExpectedDollar = "ERR Protocol error: expected '$', got '";

// Redis's string2ll, which is stricter than parse_i64: no '+', no leading
// zeros, no "-0", at most 20 characters. "*01" and "$+3" are protocol errors.
bool redis_string2ll(std::string_view s, int64_t& out) {
    if (s.empty() || s.size() >= 21) return false;
    if (s == "0") {
        out = 0;
        return true;
    }
    const size_t first_digit = s.front() == '-' ? 1 : 0;
    if (first_digit >= s.size() || s[first_digit] < '1' || s[first_digit] > '9') return false;
    return parse_i64(s, out);
}

// isspace() in the C locale, which sdssplitargs uses between arguments.
bool is_c_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

}  // namespace

RespParser::RespParser(RespParserConfig config) : config_(config) {}

void RespParser::reset() {
    stage_ = Stage::kStart;
    line_start_ = 0;
    scanned_ = 0;
    line_blocked_ = false;
    pos_ = 0;
    args_left_ = 0;
    bulk_len_ = 0;
    seen_len_ = 0;
    spans_.clear();
    args_.clear();
}

RespParseResult RespParser::parse(std::string_view input) {
    // The saved offsets are only meaningful if the caller kept its side of
    // the contract; a shorter input means it did not, so start over rather
    // than index past the end.
    if (stage_ != Stage::kStart && input.size() < seen_len_) reset();
    seen_len_ = input.size();
    args_.clear();

    if (stage_ == Stage::kStart) {
        if (input.empty()) return {ParseStatus::kNeedMore, 0};
        reset();
        seen_len_ = input.size();
        stage_ = input.front() == '*' ? Stage::kMultibulkCount : Stage::kInline;
    }
    if (stage_ == Stage::kInline) return parse_inline(input);
    return parse_multibulk(input);
}

// Redis finds the end of a line with strchr() on its NUL-terminated query
// buffer, so a NUL byte before the terminator hides it for good; and it gives
// up once more than max_inline_len bytes have arrived without one. Redis
// checks that after every read(), so its exact cut-off depends on read sizes;
// we take the one byte-by-byte arrival gives (the terminator must lie within
// the first max_inline_len + 1 bytes), which makes the outcome independent of
// how the input was fragmented.
RespParser::LineEnd RespParser::find_line_end(std::string_view input, char delim, size_t& at) {
    const size_t window_end = std::min(input.size(), line_start_ + config_.max_inline_len + 1);
    if (!line_blocked_) {
        for (size_t i = scanned_; i < window_end; ++i) {
            if (input[i] == delim) {
                scanned_ = i;  // found again at once when the next byte arrives
                at = i;
                return LineEnd::kFound;
            }
            if (input[i] == '\0') {
                line_blocked_ = true;
                break;
            }
        }
        if (!line_blocked_) scanned_ = window_end;
    }
    if (input.size() - line_start_ > config_.max_inline_len) return LineEnd::kTooLong;
    return LineEnd::kNotYet;
}

RespParseResult RespParser::parse_inline(std::string_view input) {
    size_t nl = 0;
    switch (find_line_end(input, '\n', nl)) {
        case LineEnd::kTooLong:
            return fail(kErrTooBigInline);
        case LineEnd::kNotYet:
            return {ParseStatus::kNeedMore, 0};
        case LineEnd::kFound:
            break;
    }
    size_t line_end = nl;
    if (line_end > 0 && input[line_end - 1] == '\r') --line_end;
    if (!split_inline(input.substr(0, line_end))) return fail(kErrUnbalancedQuotes);
    args_.clear();
    for (const ArgSpan& s : spans_)
        args_.emplace_back(inline_buf_.data() + s.offset, s.len);
    return complete(nl + 1);
}

// sdssplitargs over one line (which holds no NUL, see find_line_end): words
// split on blanks, "double quotes" with C escapes and \xHH, 'single quotes'
// with \' only; a closing quote must be followed by a blank or the end.
// Unescaped text goes to inline_buf_ and its pieces to spans_.
bool RespParser::split_inline(std::string_view line) {
    inline_buf_.clear();
    spans_.clear();
    // Unescaping never lengthens the text, so this is the only allocation,
    // and only until the buffer has seen the longest line.
    inline_buf_.reserve(line.size());
    const size_t n = line.size();
    auto at = [&](size_t k) -> char { return k < n ? line[k] : '\0'; };

    size_t i = 0;
    for (;;) {
        while (i < n && is_c_space(line[i]))
            ++i;
        if (i >= n) return true;
        const size_t start = inline_buf_.size();
        bool in_double = false;
        bool in_single = false;
        bool done = false;
        while (!done) {
            const char c = at(i);
            if (in_double) {
                if (c == '\\' && at(i + 1) == 'x' && is_hex_digit(at(i + 2)) &&
                    is_hex_digit(at(i + 3))) {
                    inline_buf_.push_back(
                        static_cast<char>(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3))));
                    i += 3;
                } else if (c == '\\' && at(i + 1) != '\0') {
                    ++i;
                    switch (line[i]) {
                        case 'n':
                            inline_buf_.push_back('\n');
                            break;
                        case 'r':
                            inline_buf_.push_back('\r');
                            break;
                        case 't':
                            inline_buf_.push_back('\t');
                            break;
                        case 'b':
                            inline_buf_.push_back('\b');
                            break;
                        case 'a':
                            inline_buf_.push_back('\a');
                            break;
                        default:
                            inline_buf_.push_back(line[i]);
                            break;
                    }
                } else if (c == '"') {
                    if (at(i + 1) != '\0' && !is_c_space(at(i + 1))) return false;
                    done = true;
                } else if (c == '\0') {
                    return false;
                } else {
                    inline_buf_.push_back(c);
                }
            } else if (in_single) {
                if (c == '\\' && at(i + 1) == '\'') {
                    ++i;
                    inline_buf_.push_back('\'');
                } else if (c == '\'') {
                    if (at(i + 1) != '\0' && !is_c_space(at(i + 1))) return false;
                    done = true;
                } else if (c == '\0') {
                    return false;
                } else {
                    inline_buf_.push_back(c);
                }
            } else {
                // Only these end a bare word: '\v' and '\f' are part of it,
                // although they count as blanks between words.
                switch (c) {
                    case ' ':
                    case '\n':
                    case '\r':
                    case '\t':
                    case '\0':
                        done = true;
                        break;
                    case '"':
                        in_double = true;
                        break;
                    case '\'':
                        in_single = true;
                        break;
                    default:
                        inline_buf_.push_back(c);
                        break;
                }
            }
            if (i < n) ++i;
        }
        spans_.push_back({start, inline_buf_.size() - start});
    }
}

RespParseResult RespParser::parse_multibulk(std::string_view input) {
    if (stage_ == Stage::kMultibulkCount) {
        size_t cr = 0;
        switch (find_line_end(input, '\r', cr)) {
            case LineEnd::kTooLong:
                return fail(kErrTooBigMbulk);
            case LineEnd::kNotYet:
                return {ParseStatus::kNeedMore, 0};
            case LineEnd::kFound:
                break;
        }
        // Redis waits for one byte after '\r' and skips it without looking:
        // "*1\rX" is a count line too.
        if (cr + 2 > input.size()) return {ParseStatus::kNeedMore, 0};
        int64_t count = 0;
        if (!redis_string2ll(input.substr(1, cr - 1), count) ||
            count > std::numeric_limits<int32_t>::max())
            return fail(kErrInvalidMultibulk);
        if (count > kRespUnauthMaxArgs && auth_ == RespAuth::kUnauthenticated)
            return fail(kErrUnauthMultibulk);
        pos_ = cr + 2;
        // *0, *-1 and any other negative count: a request with no arguments.
        if (count <= 0) return complete(pos_);
        args_left_ = count;
        spans_.clear();
        stage_ = Stage::kBulkHeader;
        line_start_ = scanned_ = pos_;
        line_blocked_ = false;
    }

    for (;;) {
        if (stage_ == Stage::kBulkHeader) {
            size_t cr = 0;
            switch (find_line_end(input, '\r', cr)) {
                case LineEnd::kTooLong:
                    return fail(kErrTooBigBulk);
                case LineEnd::kNotYet:
                    return {ParseStatus::kNeedMore, 0};
                case LineEnd::kFound:
                    break;
            }
            if (cr + 2 > input.size()) return {ParseStatus::kNeedMore, 0};
            if (input[line_start_] != '$') return fail_expected_dollar(input[line_start_]);
            int64_t len = 0;
            if (!redis_string2ll(input.substr(line_start_ + 1, cr - line_start_ - 1), len) ||
                len < 0 || static_cast<uint64_t>(len) > config_.max_bulk_len)
                return fail(kErrInvalidBulk);
            if (len > kRespUnauthMaxBulkLen && auth_ == RespAuth::kUnauthenticated)
                return fail(kErrUnauthBulk);
            bulk_len_ = static_cast<size_t>(len);
            pos_ = cr + 2;
            stage_ = Stage::kBulkData;
        }

        // Redis does not check that the 2 bytes after the data are "\r\n"
        // either: it skips them.
        if (input.size() - pos_ < bulk_len_ + 2) return {ParseStatus::kNeedMore, 0};
        spans_.push_back({pos_, bulk_len_});
        pos_ += bulk_len_ + 2;
        if (--args_left_ == 0) break;
        stage_ = Stage::kBulkHeader;
        line_start_ = scanned_ = pos_;
        line_blocked_ = false;
    }

    args_.clear();
    for (const ArgSpan& s : spans_)
        args_.emplace_back(input.data() + s.offset, s.len);
    return complete(pos_);
}

RespParseResult RespParser::complete(size_t consumed) {
    stage_ = Stage::kStart;
    seen_len_ = 0;
    return {ParseStatus::kComplete, consumed};
}

RespParseResult RespParser::fail(std::string_view message) {
    static_assert(kErrUnauthMultibulk.size() <= sizeof(error_), "longest message must fit");
    const size_t n = std::min(message.size(), error_.size());
    std::memcpy(error_.data(), message.data(), n);
    error_len_ = n;
    reset();
    return {ParseStatus::kError, 0};
}

RespParseResult RespParser::fail_expected_dollar(char got) {
    // Redis formats the byte with %c and then turns CR and LF into spaces so
    // that the error stays one line.
    if (got == '\r' || got == '\n') got = ' ';
    const size_t n = kErrExpectedDollar.size();
    static_assert(kErrExpectedDollar.size() + 2 <= sizeof(error_));
    std::memcpy(error_.data(), kErrExpectedDollar.data(), n);
    error_[n] = got;
    error_[n + 1] = '\'';
    error_len_ = n + 2;
    reset();
    return {ParseStatus::kError, 0};
}

}  // namespace fulmar::proto
