// memcached classic text request parser; see mc_text.h for the grammar and
// the memcached 1.6 behaviour it reproduces.
#include "proto/mc_text.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "common/numbers.h"
#include "proto/mc_text_grammar.h"
#include "proto/mc_wire.h"

namespace fulmar::proto {
namespace {

// memcached's MAX_TOKENS is 24, the terminal token included: only the first
// 23 tokens of a line are looked at before the command runs.
constexpr size_t kMemcachedFirstTokens = 23;
// A line of over 2048 bytes may still be a multi-get if "get "/"gets "
// follows at most this many spaces.
constexpr size_t kMaxLeadingSpacesOfLargeGet = 100;

// ---- lines and tokens ------------------------------------------------------

McTextTokens tokenize(std::string_view line) {
    McTextTokens t;
    McTokenIter it(line);
    std::string_view tok;
    while (it.next(tok)) {
        if (t.n == kMcMaxFixedTokens) {
            t.more = true;
            break;
        }
        t.v[t.n++] = tok;
    }
    return t;
}

// What follows token `tok` (a view into `line`) up to the end of the line.
std::string_view rest_after(std::string_view line, std::string_view tok) {
    const size_t end = static_cast<size_t>(tok.data() - line.data()) + tok.size();
    return line.substr(end);
}

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

// memcached lets a multi-get line grow without bound, and nothing else.
bool is_large_get(std::string_view in) {
    size_t spaces = 0;
    while (spaces < in.size() && spaces <= kMaxLeadingSpacesOfLargeGet && in[spaces] == ' ')
        ++spaces;
    if (spaces > kMaxLeadingSpacesOfLargeGet) return false;
    const std::string_view s = in.substr(spaces);
    return s.starts_with("get ") || s.starts_with("gets ");
}

// ---- numbers as memcached's safe_strto* read them --------------------------
//
// memcached hands each token to strtol/strtoul/strtoull (64-bit long) and
// then accepts when the digits end the token or stop at a whitespace byte.
// So leading whitespace, a sign and any number of leading zeros pass, bytes
// after a tab pass unread, and 32-bit fields keep the low 32 bits of the
// 64-bit value. numbers.h parses the digits; the C quirks live here.

bool c_isspace(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

struct CNumber {
    bool negative = false;
    uint64_t magnitude = 0;
};

// False where strto* converts nothing or reports ERANGE on the magnitude, or
// where safe_strto* rejects the byte after the digits.
bool scan_c_number(std::string_view tok, CNumber& out) {
    size_t i = 0;
    while (i < tok.size() && c_isspace(tok[i]))
        ++i;
    if (i < tok.size() && (tok[i] == '+' || tok[i] == '-')) {
        out.negative = tok[i] == '-';
        ++i;
    }
    const size_t digits = i;
    while (i < tok.size() && tok[i] == '0')
        ++i;
    const size_t significant = i;
    while (i < tok.size() && tok[i] >= '0' && tok[i] <= '9')
        ++i;
    if (i == digits) return false;
    if (i < tok.size() && !c_isspace(tok[i])) return false;
    out.magnitude = 0;
    if (i == significant) return true;
    return parse_u64(tok.substr(significant, i - significant), out.magnitude);
}

// safe_strtol: a long (int64) cut to int32.
bool c_strtol32(std::string_view tok, int32_t& out) {
    CNumber n;
    if (!scan_c_number(tok, n)) return false;
    constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
    if (n.magnitude > kMaxPositive + (n.negative ? 1 : 0)) return false;
    const uint64_t bits = n.negative ? 0 - n.magnitude : n.magnitude;
    out = static_cast<int32_t>(static_cast<uint32_t>(bits));
    return true;
}

// safe_strtoull: negation wraps as in strtoull; memcached then refuses only
// results that look negative as int64 in a token holding a '-'.
bool c_strtoull(std::string_view tok, uint64_t& out) {
    CNumber n;
    if (!scan_c_number(tok, n)) return false;
    const uint64_t v = n.negative ? 0 - n.magnitude : n.magnitude;
    if (static_cast<int64_t>(v) < 0 && tok.find('-') != std::string_view::npos) return false;
    out = v;
    return true;
}

// safe_strtoul: as safe_strtoull, then cut to 32 bits.
bool c_strtoul32(std::string_view tok, uint32_t& out) {
    uint64_t v = 0;
    if (!c_strtoull(tok, v)) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

// ---- unknown commands ----------------------------------------------------

// memcached only checks for "HTTP/" (and closes) once a command has missed
// every branch of its dispatch: names starting with these letters, and the
// names below (admin commands Fulmar lacks, answered "ERROR" here), never
// get that far.
constexpr std::string_view kNoHttpCheckFirstChars = "gsacidt";
constexpr std::array<std::string_view, 12> kNoHttpCheckNames = {
    "replace",     "prepend", "bget",      "flush_all", "version",  "quit",
    "lru_crawler", "watch",   "verbosity", "lru",       "extstore", "refresh_certs",
};

bool is_http_request(std::string_view line, std::string_view name) {
    if (kNoHttpCheckFirstChars.find(name.front()) != std::string_view::npos) return false;
    if (std::find(kNoHttpCheckNames.begin(), kNoHttpCheckNames.end(), name) !=
        kNoHttpCheckNames.end())
        return false;
    McTokenIter it(line);
    std::string_view tok, last;
    for (size_t i = 0; i < kMemcachedFirstTokens && it.next(tok); ++i)
        last = tok;
    return last.starts_with("HTTP/");
}

McTextResult error_result(McTextError e, size_t consumed) {
    return {.status = ParseStatus::kError, .error = e, .consumed = consumed, .needed = 0};
}

}  // namespace

// ---- per-command line parsing ----------------------------------------------
//
// The line parsers of mc_text_grammar.h. Each runs after the grammar's arity
// check and returns kNone when the line is good. Checks run in memcached's
// order, since the first failing one picks the reply and noreply may or may
// not be known by then.

McTextError parse_mc_get_tokens(std::string_view line, const McTextTokens& t, McTextRequest& req) {
    std::string_view after = t.v[0];
    if (req.command == McTextCommand::kGat || req.command == McTextCommand::kGats) {
        if (!c_strtol32(t.v[1], req.exptime)) return McTextError::kInvalidExptime;
        after = t.v[1];
    }
    req.keys = rest_after(line, after);
    // memcached finds a long key midway and drops the replies built so far;
    // checking first gives the same bytes on the wire.
    McTokenIter it(req.keys);
    std::string_view key;
    bool first = true;
    while (it.next(key)) {
        if (key.size() > kMcMaxKeyLen) return McTextError::kBadFormat;
        if (first) req.key = key;
        first = false;
    }
    return McTextError::kNone;
}

McTextError parse_mc_storage_tokens(std::string_view, const McTextTokens& t, McTextRequest& req) {
    const bool cas = req.command == McTextCommand::kCas;
    req.noreply = t.last() == "noreply";
    if (t.v[1].size() > kMcMaxKeyLen) return McTextError::kBadFormat;
    req.key = t.v[1];
    int32_t len = 0;
    if (!c_strtoul32(t.v[2], req.flags) || !c_strtol32(t.v[3], req.exptime) ||
        !c_strtol32(t.v[4], len))
        return McTextError::kBadFormat;
    if (cas && !c_strtoull(t.v[5], req.cas)) return McTextError::kBadFormat;
    if (len < 0 || static_cast<uint32_t>(len) > kMcMaxValueLenAccepted)
        return McTextError::kBadFormat;
    req.value_len = static_cast<uint32_t>(len);
    return McTextError::kNone;
}

McTextError parse_mc_delete_tokens(std::string_view, const McTextTokens& t, McTextRequest& req) {
    if (t.count() > 2) {
        // "delete <key> 0" is a leftover of the old hold time; memcached sets
        // noreply before deciding the line is bad, so that error is silent.
        const bool hold_is_zero = t.v[2] == "0";
        req.noreply = t.last() == "noreply";
        const bool valid = (t.count() == 3 && (hold_is_zero || req.noreply)) ||
                           (t.count() == 4 && hold_is_zero && req.noreply);
        if (!valid) return McTextError::kBadDeleteFormat;
    }
    if (t.v[1].size() > kMcMaxKeyLen) return McTextError::kBadFormat;
    req.key = t.v[1];
    return McTextError::kNone;
}

// incr, decr, touch: <key> <number> [noreply]; a 4th token is ignored.
McTextError parse_mc_key_number_tokens(std::string_view, const McTextTokens& t,
                                       McTextRequest& req) {
    req.noreply = t.last() == "noreply";
    if (t.v[1].size() > kMcMaxKeyLen) return McTextError::kBadFormat;
    req.key = t.v[1];
    if (req.command == McTextCommand::kTouch)
        return c_strtol32(t.v[2], req.exptime) ? McTextError::kNone : McTextError::kInvalidExptime;
    return c_strtoull(t.v[2], req.delta) ? McTextError::kNone : McTextError::kInvalidDelta;
}

McTextError parse_mc_flush_all_tokens(std::string_view, const McTextTokens& t, McTextRequest& req) {
    req.noreply = t.count() > 1 && t.last() == "noreply";
    // Any token count but the bare forms means token 1 is the delay, even
    // "flush_all 10 20" (20 ignored) and "flush_all noreply 10" (bad delay).
    if (t.count() != (req.noreply ? 2u : 1u) && !c_strtol32(t.v[1], req.exptime))
        return McTextError::kInvalidExptime;
    return McTextError::kNone;
}

McTextError parse_mc_verbosity_tokens(std::string_view, const McTextTokens& t, McTextRequest& req) {
    // "verbosity noreply" is a silent bad line: noreply is read first.
    req.noreply = t.last() == "noreply";
    return c_strtoul32(t.v[1], req.verbosity) ? McTextError::kNone : McTextError::kBadFormat;
}

McTextError parse_mc_stats_tokens(std::string_view line, const McTextTokens& t,
                                  McTextRequest& req) {
    req.stats_args = trim_spaces(rest_after(line, t.v[0]));
    return McTextError::kNone;
}

McTextError parse_mc_bare_tokens(std::string_view, const McTextTokens&, McTextRequest&) {
    return McTextError::kNone;
}

std::string_view mc_text_error_reply(McTextError e) {
    switch (e) {
        case McTextError::kUnknownCommand:
        case McTextError::kBadArity:
            return kMcError;
        case McTextError::kBadFormat:
            return kMcClientErrorBadFormat;
        case McTextError::kBadDeleteFormat:
            return kMcClientErrorBadDeleteFormat;
        case McTextError::kInvalidExptime:
            return kMcClientErrorInvalidExptime;
        case McTextError::kInvalidDelta:
            return kMcClientErrorInvalidDelta;
        case McTextError::kBadDataChunk:
            return kMcClientErrorBadDataChunk;
        case McTextError::kObjectTooLarge:
            return kMcServerErrorTooLarge;
        case McTextError::kNone:
        case McTextError::kSwallowed:
        case McTextError::kLineTooLong:
        case McTextError::kHttpRequest:
        case McTextError::kMetaCommand:
            break;
    }
    return {};
}

bool McTokenIter::next(std::string_view& token) {
    size_t i = 0;
    while (i < rest_.size() && rest_[i] == ' ')
        ++i;
    if (i == rest_.size()) {
        rest_ = {};
        return false;
    }
    size_t end = rest_.find(' ', i);
    if (end == std::string_view::npos) end = rest_.size();
    token = rest_.substr(i, end - i);
    rest_.remove_prefix(end);
    return true;
}

McTextResult McTextParser::parse(std::string_view in, McTextRequest& req) {
    req = McTextRequest{};
    if (swallow_ > 0) {
        if (in.empty()) return {};
        const size_t n = static_cast<size_t>(std::min<uint64_t>(swallow_, in.size()));
        swallow_ -= n;
        return error_result(McTextError::kSwallowed, n);
    }

    // A non-get line must show its newline within 2049 bytes, however it
    // arrived (see mc_text.h), so only that much is searched.
    const bool large_get = is_large_get(in);
    const size_t window = large_get ? in.size() : kMcMaxLineWithoutNewline + 1;
    const size_t nl = in.substr(0, window).find('\n');
    if (nl == std::string_view::npos) {
        if (!large_get && in.size() > kMcMaxLineWithoutNewline)
            return error_result(McTextError::kLineTooLong, 0);
        return {};
    }
    const size_t line_size = nl + 1;
    std::string_view line = in.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // memcached runs strlen over the line: a NUL ends it.
    if (const void* nul = std::memchr(line.data(), '\0', line.size()))
        line = line.substr(0, static_cast<size_t>(static_cast<const char*>(nul) - line.data()));

    const McTextTokens t = tokenize(line);
    if (t.n == 0 || t.v[0].size() < 2) return error_result(McTextError::kUnknownCommand, line_size);
    const std::string_view name = t.v[0];
    if (name.size() == 2 && name[0] == 'm') return error_result(McTextError::kMetaCommand, 0);

    req.command = find_mc_text_command(name);
    if (req.command == McTextCommand::kNone) {
        if (is_http_request(line, name)) return error_result(McTextError::kHttpRequest, 0);
        return error_result(McTextError::kUnknownCommand, line_size);
    }
    const McTextGrammar& g = mc_text_grammar(req.command);
    if (t.count() < g.min_tokens || (g.max_tokens != kMcAnyTokens && t.count() > g.max_tokens))
        return error_result(McTextError::kBadArity, line_size);
    if (const McTextError e = g.parse_line(line, t, req); e != McTextError::kNone)
        return error_result(e, line_size);
    if (g.data == McTextData::kNone) {
        return {.status = ParseStatus::kComplete,
                .error = McTextError::kNone,
                .consumed = line_size,
                .needed = 0};
    }

    // value_len <= INT_MAX - 2: no overflow on any 64-bit size_t.
    const size_t need = line_size + req.value_len + 2;
    if (req.value_len > conf_.max_value_len) {
        // memcached swallows <bytes> + 2 as they come, looking at none of them.
        const size_t have = std::min(in.size(), need);
        swallow_ = need - have;
        return error_result(McTextError::kObjectTooLarge, have);
    }
    if (in.size() < need) {
        return {.status = ParseStatus::kNeedMore,
                .error = McTextError::kNone,
                .consumed = 0,
                .needed = need};
    }
    req.value = in.substr(line_size, req.value_len);
    if (in[need - 2] != '\r' || in[need - 1] != '\n')
        return error_result(McTextError::kBadDataChunk, need);
    return {.status = ParseStatus::kComplete,
            .error = McTextError::kNone,
            .consumed = need,
            .needed = 0};
}

}  // namespace fulmar::proto
