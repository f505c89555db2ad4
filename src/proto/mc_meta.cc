// memcached meta protocol request parser; see mc_meta.h for the grammar and
// the memcached behaviours it reproduces.
#include "proto/mc_meta.h"

#include <cstring>

#include "common/numbers.h"

namespace fulmar::proto {
namespace {

// ---- Lines and tokens ---------------------------------------------------

// Tokens kept per line: memcached's meta commands refuse a line of
// kMcMetaMaxTokens tokens or more (counting its terminal one), so the first
// kMcMetaMaxTokens tell every outcome apart and later ones are never looked at.
struct Tokens {
    std::array<std::string_view, kMcMetaMaxTokens> tok;
    size_t n = 0;  // saturates at kMcMetaMaxTokens
};

// memcached's tokenize_command(): split on ' ' only (tabs stay inside tokens),
// runs of spaces collapse, leading and trailing spaces vanish.
void tokenize(std::string_view line, Tokens& t) {
    t.n = 0;
    size_t i = 0;
    while (i < line.size() && t.n < kMcMetaMaxTokens) {
        while (i < line.size() && line[i] == ' ')
            ++i;
        if (i == line.size()) break;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ')
            ++i;
        t.tok[t.n++] = line.substr(start, i - start);
    }
}

// ---- Base64, memcached's variant ----------------------------------------

constexpr uint8_t kB64Invalid = 0x80;

constexpr std::array<uint8_t, 256> make_b64_table() {
    std::array<uint8_t, 256> t{};
    for (auto& v : t)
        v = kB64Invalid;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<uint8_t>(alphabet[i])] = static_cast<uint8_t>(i);
    t['='] = 0;
    return t;
}
constexpr std::array<uint8_t, 256> kB64Table = make_b64_table();
constexpr std::string_view kB64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decodes as memcached's base64_decode() does, since clients see the key it
// produces echoed back: bytes outside the alphabet are skipped, the alphabet
// bytes (with '=') must come in whole quads, decoding stops after the first
// quad holding padding, and more than two '=' there is an error. `out` holds
// at least in.size() * 3 / 4 bytes. Returns 0 on error (an empty key is one).
size_t b64_decode(std::string_view in, char* out) {
    size_t count = 0;
    for (char c : in)
        if (kB64Table[static_cast<uint8_t>(c)] != kB64Invalid) ++count;
    if (count == 0 || count % 4 != 0) return 0;

    uint8_t quad[4];
    size_t q = 0;
    size_t n = 0;
    int pad = 0;
    for (char c : in) {
        const uint8_t v = kB64Table[static_cast<uint8_t>(c)];
        if (v == kB64Invalid) continue;
        if (c == '=') ++pad;
        quad[q++] = v;
        if (q < 4) continue;
        out[n++] = static_cast<char>((quad[0] << 2) | (quad[1] >> 4));
        out[n++] = static_cast<char>((quad[1] << 4) | (quad[2] >> 2));
        out[n++] = static_cast<char>((quad[2] << 6) | quad[3]);
        q = 0;
        if (pad == 0) continue;
        if (pad > 2) return 0;
        n -= static_cast<size_t>(pad);
        break;
    }
    return n;
}

// ---- Flags --------------------------------------------------------------

void reset(McMetaRequest& r, McMetaCommand command) {
    // Field by field rather than `r = {}`: the 250-byte key buffer needs no
    // clearing, and this runs once per request.
    r.command = command;
    r.raw_key = {};
    r.key_binary = false;
    r.data = {};
    r.n_flags = 0;
    r.present = 0;
    r.ttl = 0;
    r.vivify_ttl = 0;
    r.recache_ttl = 0;
    r.client_flags = 0;
    r.compare_cas = 0;
    r.new_cas = 0;
    r.delta = 1;
    r.initial = 0;
    r.mode = 0;
    r.set_mode = McMetaSetMode::kSet;
    r.arithmetic_mode = McMetaArithmeticMode::kIncrement;
    r.opaque = {};
    r.key_len_ = 0;
}

bool decode_key(McMetaRequest& r) {
    r.key_binary = true;
    const size_t n = b64_decode(r.raw_key, r.key_buf_.data());
    r.key_len_ = static_cast<uint8_t>(n);
    return n != 0;
}

// memcached's _meta_flag_preparse(), shared by mg, ms, md and ma: a repeated
// flag or an unknown one stops the scan at once; a bad token is remembered
// and the scan goes on, so the last bad token names the error. A bad F token
// names none of its own: the line is then a plain bad command line format,
// unless another bad token named an error.
McMetaError scan_flags(std::span<const std::string_view> toks, McMetaRequest& r) {
    uint64_t seen[2] = {0, 0};
    bool bad = false;
    McMetaError named = McMetaError::kNone;
    for (std::string_view t : toks) {
        const auto c = static_cast<uint8_t>(t[0]);
        // memcached keeps a seen[127] table and reports bytes past it as repeats.
        if (c >= 127 || (seen[c >> 6] >> (c & 63) & 1) != 0) return McMetaError::kDuplicateFlag;
        seen[c >> 6] |= uint64_t{1} << (c & 63);
        const std::string_view arg = t.substr(1);
        switch (c) {
            case 'b':
                if (!decode_key(r)) {
                    bad = true;
                    named = McMetaError::kKeyDecode;
                }
                break;
            case 'N':
            case 'T':
            case 'R': {
                int32_t& dst = c == 'N' ? r.vivify_ttl : c == 'T' ? r.ttl : r.recache_ttl;
                if (!parse_i32(arg, dst)) {
                    bad = true;
                    named = McMetaError::kBadToken;
                }
                break;
            }
            case 'C':
            case 'E':
                if (!parse_u64(arg, c == 'C' ? r.compare_cas : r.new_cas)) {
                    bad = true;
                    named = McMetaError::kBadToken;
                }
                break;
            case 'F':
                if (!parse_u32(arg, r.client_flags)) bad = true;
                break;
            case 'J':
                if (!parse_u64(arg, r.initial)) {
                    bad = true;
                    named = McMetaError::kBadInitial;
                }
                break;
            case 'D':
                if (!parse_u64(arg, r.delta)) {
                    bad = true;
                    named = McMetaError::kBadDelta;
                }
                break;
            case 'M':
                if (t.size() != 2) {
                    bad = true;
                    named = McMetaError::kModeLength;
                } else {
                    r.mode = t[1];
                }
                break;
            case 'O':
                r.opaque = arg;
                break;
            // No token; P and L are proxy hints memcached accepts and ignores.
            case 'I':
            case 'L':
            case 'P':
            case 'c':
            case 'f':
            case 'h':
            case 'k':
            case 'l':
            case 'q':
            case 's':
            case 't':
            case 'u':
            case 'v':
            case 'x':
                break;
            default:
                return McMetaError::kInvalidFlag;
        }
        r.flags[r.n_flags++] = McMetaFlag{t[0], arg};
        r.present |= McMetaRequest::flag_bit(t[0]);
    }
    if (!bad) return McMetaError::kNone;
    return named != McMetaError::kNone ? named : McMetaError::kBadFormat;
}

bool opaque_too_long(const McMetaRequest& r) {
    return r.has('O') && r.opaque.size() + 1 > kMcMetaMaxOpaqueLen;
}

McMetaResult fail(McMetaError e, size_t consumed, size_t swallow = 0) {
    return {ParseStatus::kError, e, consumed, swallow};
}

McMetaResult done(size_t consumed) {
    return {ParseStatus::kComplete, McMetaError::kNone, consumed, 0};
}

// ---- Commands -----------------------------------------------------------
// Each check sits where memcached 1.6.18 makes it, as the first failing
// check decides which error line the client reads.

// mg <key> <flag>*
McMetaResult parse_get(const Tokens& t, size_t line_len, McMetaRequest& r) {
    if (t.n < 2) return fail(McMetaError::kUnknownCommand, line_len);
    if (r.raw_key.size() > kMcMetaKeyMaxLen) return fail(McMetaError::kBadFormat, line_len);
    if (t.n >= kMcMetaMaxTokens) return fail(McMetaError::kGetFlagsTooLong, line_len);
    const McMetaError e = scan_flags(std::span(t.tok).subspan(2, t.n - 2), r);
    if (e != McMetaError::kNone) return fail(e, line_len);
    // memcached finds a long opaque only while writing the reply; mg has no
    // side effect to undo by then, bar a T that came before the O.
    if (opaque_too_long(r)) return fail(McMetaError::kOpaqueTooLong, line_len);
    return done(line_len);
}

// ms <key> <datalen> <flag>*\r\n<data>\r\n
McMetaResult parse_set(std::string_view input, const Tokens& t, size_t line_len,
                       size_t max_data_len, McMetaRequest& r) {
    // Until the length is known nothing of the data is swallowed: memcached
    // then reads the data block as commands of its own.
    if (t.n < 2) return fail(McMetaError::kUnknownCommand, line_len);
    if (r.raw_key.size() > kMcMetaKeyMaxLen) return fail(McMetaError::kBadFormat, line_len);
    if (t.n == 2) return fail(McMetaError::kBadFormat, line_len);
    if (t.n >= kMcMetaMaxTokens) return fail(McMetaError::kFlagsTooLong, line_len);
    int32_t len = 0;
    if (!parse_i32(t.tok[2], len) || len < 0 || len > kMcMetaMaxDataLen)
        return fail(McMetaError::kBadFormat, line_len);
    const size_t data_len = static_cast<size_t>(len);
    const size_t swallow = data_len + 2;

    McMetaError e = scan_flags(std::span(t.tok).subspan(3, t.n - 3), r);
    if (e != McMetaError::kNone) return fail(e, line_len, swallow);
    switch (r.mode) {
        case 0:
        case 'S':
            r.set_mode = McMetaSetMode::kSet;
            break;
        case 'E':
            r.set_mode = McMetaSetMode::kAdd;
            break;
        case 'A':
            r.set_mode = McMetaSetMode::kAppend;
            break;
        case 'P':
            r.set_mode = McMetaSetMode::kPrepend;
            break;
        case 'R':
            r.set_mode = McMetaSetMode::kReplace;
            break;
        default:
            return fail(McMetaError::kBadSetMode, line_len, swallow);
    }
    if (opaque_too_long(r)) return fail(McMetaError::kOpaqueTooLong, line_len, swallow);
    if (data_len > max_data_len) return fail(McMetaError::kTooLarge, line_len, swallow);

    // Compare lengths before adding: input.size() - line_len cannot wrap.
    if (input.size() - line_len < swallow) return {};
    const std::string_view block = input.substr(line_len, swallow);
    // memcached reads exactly datalen + 2 bytes and then checks their end;
    // a wrong end costs the whole block, never a resync on "\r\n".
    if (block[data_len] != '\r' || block[data_len + 1] != '\n')
        return fail(McMetaError::kBadDataChunk, line_len + swallow);
    r.data = block.substr(0, data_len);
    return done(line_len + swallow);
}

// md <key> <flag>*  and  ma <key> <flag>*
McMetaResult parse_delete_or_arithmetic(const Tokens& t, size_t line_len, McMetaRequest& r) {
    if (t.n < 2) return fail(McMetaError::kUnknownCommand, line_len);
    if (r.raw_key.size() > kMcMetaKeyMaxLen) return fail(McMetaError::kBadFormat, line_len);
    if (t.n >= kMcMetaMaxTokens) return fail(McMetaError::kFlagsTooLong, line_len);
    // md and ma drop the flag scanner's own message for one catch-all line.
    if (scan_flags(std::span(t.tok).subspan(2, t.n - 2), r) != McMetaError::kNone)
        return fail(McMetaError::kInvalidOrDuplicateFlag, line_len);
    if (r.command == McMetaCommand::kArithmetic) {
        switch (r.mode) {
            case 0:
            case 'I':
            case '+':
                r.arithmetic_mode = McMetaArithmeticMode::kIncrement;
                break;
            case 'D':
            case '-':
                r.arithmetic_mode = McMetaArithmeticMode::kDecrement;
                break;
            default:
                return fail(McMetaError::kBadArithmeticMode, line_len);
        }
    }
    // memcached's ma notices a long opaque only after it has applied the
    // delta; refusing it up front keeps the same reply without the change.
    if (opaque_too_long(r)) return fail(McMetaError::kOpaqueTooLong, line_len);
    return done(line_len);
}

// me <key> [b]
McMetaResult parse_debug(const Tokens& t, size_t line_len, McMetaRequest& r) {
    if (t.n < 2 || r.raw_key.size() > kMcMetaKeyMaxLen)
        return fail(McMetaError::kBadFormat, line_len);
    if (t.n >= 3 && t.tok[2] == "b") {
        if (!decode_key(r)) return fail(McMetaError::kBadFormat, line_len);
        r.present |= McMetaRequest::flag_bit('b');
    }
    return done(line_len);
}

}  // namespace

std::string_view mc_meta_error_line(McMetaError e) {
    switch (e) {
        case McMetaError::kNone:
        case McMetaError::kLineTooLong:
            return {};
        case McMetaError::kUnknownCommand:
            return kMcMetaErrUnknownCommand;
        case McMetaError::kBadFormat:
            return kMcMetaErrBadFormat;
        case McMetaError::kGetFlagsTooLong:
            return kMcMetaErrGetFlagsTooLong;
        case McMetaError::kFlagsTooLong:
            return kMcMetaErrFlagsTooLong;
        case McMetaError::kDuplicateFlag:
            return kMcMetaErrDuplicateFlag;
        case McMetaError::kInvalidFlag:
            return kMcMetaErrInvalidFlag;
        case McMetaError::kInvalidOrDuplicateFlag:
            return kMcMetaErrInvalidOrDuplicateFlag;
        case McMetaError::kBadToken:
            return kMcMetaErrBadToken;
        case McMetaError::kModeLength:
            return kMcMetaErrModeLength;
        case McMetaError::kBadInitial:
            return kMcMetaErrBadInitial;
        case McMetaError::kBadDelta:
            return kMcMetaErrBadDelta;
        case McMetaError::kKeyDecode:
            return kMcMetaErrKeyDecode;
        case McMetaError::kOpaqueTooLong:
            return kMcMetaErrOpaqueTooLong;
        case McMetaError::kBadSetMode:
            return kMcMetaErrBadSetMode;
        case McMetaError::kBadArithmeticMode:
            return kMcMetaErrBadArithmeticMode;
        case McMetaError::kBadDataChunk:
            return kMcMetaErrBadDataChunk;
        case McMetaError::kTooLarge:
            return kMcMetaErrTooLarge;
    }
    return {};
}

McMetaResult parse_mc_meta(std::string_view input, McMetaRequest& out, size_t max_data_len) {
    // A "\n" at offset kMcMetaMaxLineLen still ends an acceptable line;
    // memcached gives up once it holds more than that many bytes without one.
    const size_t scan = input.size() < kMcMetaMaxLineLen + 1 ? input.size() : kMcMetaMaxLineLen + 1;
    const void* nl = scan == 0 ? nullptr : std::memchr(input.data(), '\n', scan);
    if (nl == nullptr) {
        if (input.size() > kMcMetaMaxLineLen) return fail(McMetaError::kLineTooLong, 0);
        return {};
    }
    const size_t nl_at = static_cast<size_t>(static_cast<const char*>(nl) - input.data());
    const size_t line_len = nl_at + 1;
    std::string_view line = input.substr(0, nl_at);
    // memcached strips the "\r" only from a line longer than one byte, and
    // then stops at the first NUL (it tokenizes with strlen()).
    if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
    if (const size_t nul = line.find('\0'); nul != std::string_view::npos)
        line = line.substr(0, nul);

    Tokens t;
    tokenize(line, t);
    if (t.n == 0 || t.tok[0].size() != 2 || t.tok[0][0] != 'm')
        return fail(McMetaError::kUnknownCommand, line_len);

    McMetaCommand command;
    switch (t.tok[0][1]) {
        case 'g':
            command = McMetaCommand::kGet;
            break;
        case 's':
            command = McMetaCommand::kSet;
            break;
        case 'd':
            command = McMetaCommand::kDelete;
            break;
        case 'a':
            command = McMetaCommand::kArithmetic;
            break;
        case 'n':
            command = McMetaCommand::kNoop;
            break;
        case 'e':
            command = McMetaCommand::kDebug;
            break;
        default:
            return fail(McMetaError::kUnknownCommand, line_len);
    }
    reset(out, command);
    // mn takes no key: memcached ignores whatever follows it, and so must
    // the request (no 300-byte "key" out of a junk token).
    if (t.n >= 2 && command != McMetaCommand::kNoop) out.raw_key = t.tok[1];

    switch (command) {
        case McMetaCommand::kGet:
            return parse_get(t, line_len, out);
        case McMetaCommand::kSet:
            return parse_set(input, t, line_len, max_data_len, out);
        case McMetaCommand::kDelete:
        case McMetaCommand::kArithmetic:
            return parse_delete_or_arithmetic(t, line_len, out);
        case McMetaCommand::kNoop:
            return done(line_len);
        case McMetaCommand::kDebug:
            return parse_debug(t, line_len, out);
    }
    return fail(McMetaError::kUnknownCommand, line_len);
}

McMetaMatch match_mc_meta(std::string_view input) {
    size_t i = 0;
    while (i < input.size() && input[i] == ' ')
        ++i;
    if (i == input.size()) return McMetaMatch::kNeedMore;
    if (input[i] != 'm') return McMetaMatch::kNotMeta;
    // The command token must be exactly "m?": look at the byte after it.
    if (i + 1 == input.size()) return McMetaMatch::kNeedMore;
    const char second = input[i + 1];
    if (second == ' ' || second == '\n' || second == '\0') return McMetaMatch::kNotMeta;
    if (i + 2 == input.size()) return McMetaMatch::kNeedMore;
    const char end = input[i + 2];
    // "m\r\n" is the one-byte token "m".
    if (second == '\r' && end == '\n') return McMetaMatch::kNotMeta;
    if (end == ' ' || end == '\n' || end == '\0') return McMetaMatch::kMeta;
    // "m?\r" ends the token only as the line's "\r\n".
    if (end != '\r') return McMetaMatch::kNotMeta;
    if (i + 3 == input.size()) return McMetaMatch::kNeedMore;
    return input[i + 3] == '\n' ? McMetaMatch::kMeta : McMetaMatch::kNotMeta;
}

size_t mc_meta_base64_encode(std::string_view in, std::span<char> out) {
    if (out.size() < mc_meta_base64_len(in.size())) return 0;
    size_t n = 0;
    size_t i = 0;
    auto byte = [&](size_t k) { return static_cast<uint8_t>(in[k]); };
    for (; i + 3 <= in.size(); i += 3) {
        out[n++] = kB64Alphabet[byte(i) >> 2];
        out[n++] = kB64Alphabet[((byte(i) & 0x03) << 4) | (byte(i + 1) >> 4)];
        out[n++] = kB64Alphabet[((byte(i + 1) & 0x0f) << 2) | (byte(i + 2) >> 6)];
        out[n++] = kB64Alphabet[byte(i + 2) & 0x3f];
    }
    if (i < in.size()) {
        out[n++] = kB64Alphabet[byte(i) >> 2];
        if (i + 1 == in.size()) {
            out[n++] = kB64Alphabet[(byte(i) & 0x03) << 4];
            out[n++] = '=';
        } else {
            out[n++] = kB64Alphabet[((byte(i) & 0x03) << 4) | (byte(i + 1) >> 4)];
            out[n++] = kB64Alphabet[(byte(i + 1) & 0x0f) << 2];
        }
        out[n++] = '=';
    }
    return n;
}

}  // namespace fulmar::proto
