// memcached meta commands on the shards; see mc_meta_exec.h for the contract
// and the places where we knowingly differ from memcached 1.6.18.
//
// Each command builds its status line in a stack buffer (ReplyLine) and
// appends it, and the value if any, to the sink: nothing is allocated. Flags
// are walked in request order because memcached echoes them that way, and
// because order changes results: "mg k t T30" shows the old TTL, "mg k T30 t"
// the new one. Header changes (TTL, win/stale/fetched bits, CAS) are made on
// local copies during the walk and written once, under the item's seqlock.
#include "engine/mc_meta_exec.h"
#include "engine/replica_guard.h"
#include "engine/ring_guard.h"

#include <array>
#include <cstring>

#include "common/assert.h"
#include "common/numbers.h"
#include "proto/mc_wire.h"
#include "store/exptime.h"

namespace fulmar::engine {
namespace {

using proto::McMetaFlag;
using proto::McMetaRequest;
using proto::ReplySink;
using store::ArithOp;
using store::Item;
using store::KeyRef;
using store::Shard;
using store::StoreArgs;
using store::StoreMode;
using store::StoreStatus;

// ---- Reply line ---------------------------------------------------------

// Longest line: "VA " + 10 digits, s t f l (" x" + 10 digits each), c (" c" +
// 20), " h1", a 32-byte opaque (" " + 32), a 250-byte key in base64 (" k" +
// 336 + " b"), " Z X W" and "\r\n": 467 bytes. me's line is shorter (~430).
constexpr size_t kMaxLine = 512;
static_assert(3 + 10 + 4 * 12 + 22 + 3 + 33 +
                      (2 + proto::mc_meta_base64_len(proto::kMcMetaKeyMaxLen) + 2) + 6 + 2 <=
                  kMaxLine,
              "ReplyLine must hold the longest meta reply line");

class ReplyLine {
  public:
    void add(std::string_view s) {
        // The parser bounds every input-sized part (key, opaque), so only a
        // bug here can overflow; the static_assert above sizes the buffer.
        FULMAR_CHECK(n_ + s.size() <= buf_.size());
        if (!s.empty()) std::memcpy(buf_.data() + n_, s.data(), s.size());
        n_ += s.size();
    }
    void add(char c) { add(std::string_view(&c, 1)); }
    void add_u64(uint64_t v) {
        char digits[24];
        add(std::string_view(digits, format_u64(v, digits)));
    }
    void add_i64(int64_t v) {
        char digits[24];
        add(std::string_view(digits, format_i64(v, digits)));
    }
    // " <c>": a return flag, maybe followed by its value.
    void flag(char c) {
        add(' ');
        add(c);
    }
    // " k<key>", or " k<base64> b" for a binary key: memcached re-encodes
    // from the decoded bytes rather than echo what the client sent.
    void key(std::string_view key, bool binary) {
        flag('k');
        if (!binary) {
            add(key);
            return;
        }
        std::array<char, proto::mc_meta_base64_len(proto::kMcMetaKeyMaxLen)> b64;
        add(std::string_view(b64.data(), proto::mc_meta_base64_encode(key, b64)));
        add(" b");
    }
    // " O<opaque>": the whole token, as sent.
    void opaque(const McMetaFlag& f) {
        flag('O');
        add(f.token);
    }
    // Remaining TTL as memcached renders it: -1 for none, else the
    // difference as an unsigned 32-bit number (an item given T-1 in this
    // very request shows a wrapped value there too).
    void ttl(UnixTime exptime, UnixTime now) {
        if (exptime == 0)
            add("-1");
        else
            add_u64(static_cast<uint32_t>(exptime - now));
    }
    void crlf() { add(proto::kMcMetaCrlf); }
    std::string_view view() const { return {buf_.data(), n_}; }

  private:
    std::array<char, kMaxLine> buf_;
    size_t n_ = 0;
};

// The O and k echo that every status line carries, in request order.
void echo_opaque_and_key(const McMetaRequest& req, ReplyLine& line) {
    for (const McMetaFlag& f : req.flag_list()) {
        if (f.name == 'O')
            line.opaque(f);
        else if (f.name == 'k')
            line.key(req.key(), req.key_binary);
    }
}

// A status line with only O and k echoed ("NF Oxx kfoo\r\n").
void reply_status(const McMetaRequest& req, std::string_view status, ReplySink& out) {
    ReplyLine line;
    line.add(status);
    echo_opaque_and_key(req, line);
    line.crlf();
    out.append(line.view());
}

UnixTime abs_ttl(int32_t ttl, UnixTime now) {
    return store::exptime_to_abs(ttl, now);
}

// E: the CAS to give an item this request creates or changes; 0 lets the
// shard draw the next one.
uint64_t cas_override(const McMetaRequest& req) {
    return req.has('E') ? req.new_cas : 0;
}

// Creates and publishes an item under `k` holding `value`, flags 0, no TTL
// (the caller sets N's TTL while walking the flags, as memcached does).
// nullptr when memory or the index is exhausted.
Item* create_item(Shard& shard, const KeyRef& k, std::string_view value, const McMetaRequest& req,
                  UnixTime now) {
    StoreArgs args;
    args.cas_set = cas_override(req);
    StoreStatus st;
    Item* fresh = shard.allocate(k, static_cast<uint32_t>(value.size()), args, now, nullptr, st);
    if (fresh == nullptr) return nullptr;
    // An empty view may have a null data pointer, which memcpy must not see.
    if (!value.empty()) std::memcpy(fresh->value_ptr(), value.data(), value.size());
    if (shard.publish(k, fresh, nullptr) != StoreStatus::kStored) return nullptr;
    return fresh;
}

// ---- mg <key> <flag>* ------------------------------------------------------

// The flags of mg that only report (no T, N, R, E or other flag that may
// change the item): with these, a hit on an item already fetched and not
// stale leaves it exactly as it was.
bool is_read_only_get_flag(char c) {
    switch (c) {
        case 'b':
        case 'c':
        case 'f':
        case 'h':
        case 'k':
        case 'l':
        case 'O':
        case 'q':
        case 's':
        case 't':
        case 'u':
        case 'v':
            return true;
        default:
            return false;
    }
}

// The reporting flags of an mg hit, in request order (T, N and R are the
// caller's); `exptime` as the request has made it so far.
void put_get_flag(ReplyLine& line, const McMetaRequest& req, const McMetaFlag& f,
                  const MetaGetFields& it, UnixTime exptime, UnixTime now) {
    switch (f.name) {
        case 's':
            line.flag('s');
            line.add_u64(it.value_len);
            break;
        case 't':
            line.flag('t');
            line.ttl(exptime, now);
            break;
        case 'c':
            line.flag('c');
            line.add_u64(it.cas);
            break;
        case 'f':
            line.flag('f');
            line.add_u64(it.client_flags);
            break;
        case 'l':
            line.flag('l');
            line.add_u64(static_cast<uint32_t>(now - it.time));
            break;
        case 'h':
            // As it was before this request: the bump comes after.
            line.flag('h');
            line.add((it.type_bits & store::kItemFetched) != 0 ? '1' : '0');
            break;
        case 'O':
            line.opaque(f);
            break;
        case 'k':
            line.key(req.key(), req.key_binary);
            break;
        default:
            break;
    }
}
//
// Hit: "VA <len> <flags>*\r\n<data>\r\n" with v, else "HD <flags>*\r\n". A
// miss with N creates an empty item and answers as a hit with W (1.6.18
// does; later releases answer EN W). Miss: "EN <O k>*\r\n", nothing with q.
void meta_get(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    const KeyRef k(req.key());
    Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const bool touching = req.has('T');

    Item* it = shard.find(k, now);
    // A Redis collection under the key: absent to memcached, and N must
    // not replace it.
    const bool other_type = it != nullptr && !it->is_string();
    if (other_type) it = nullptr;
    bool created = false;
    if (it == nullptr && req.has('N') && !other_type) {
        it = create_item(shard, k, {}, req, now);
        created = it != nullptr;
    }

    // memcached counts an mg with T as a touch, any other as a get; a
    // vivified miss counts as a hit.
    if (touching) {
        ++ctx.stats->cmd_touch;
        ++(it != nullptr ? ctx.stats->touch_hits : ctx.stats->touch_misses);
    } else {
        ++ctx.stats->cmd_get;
        ++(it != nullptr ? ctx.stats->get_hits : ctx.stats->get_misses);
    }

    if (it == nullptr) {
        if (!req.quiet()) reply_status(req, proto::kMcMetaEn, out);
        return;
    }

    UnixTime exptime = it->exptime;
    uint8_t bits = it->type_bits;
    bool won = false;
    const MetaGetFields fields{.value_len = it->value_len,
                               .cas = it->cas,
                               .client_flags = it->client_flags,
                               .time = it->time,
                               .type_bits = it->type_bits};
    ReplyLine line;
    if (req.has('v')) {
        line.add(proto::kMcMetaVa);
        line.add(' ');
        line.add_u64(it->value_len);
    } else {
        line.add(proto::kMcMetaHd);
    }
    for (const McMetaFlag& f : req.flag_list()) {
        switch (f.name) {
            case 'T':
                exptime = abs_ttl(req.ttl, now);
                break;
            case 'N':
                if (created) {
                    exptime = abs_ttl(req.vivify_ttl, now);
                    won = true;
                }
                break;
            case 'R':
                // Win the recache token when the TTL left is below R's,
                // unless another client already holds it.
                if ((bits & store::kItemWinSent) == 0 && !created && exptime != 0 &&
                    exptime < abs_ttl(req.recache_ttl, now)) {
                    won = true;
                }
                break;
            default:
                put_get_flag(line, req, f, fields, exptime, now);
                break;
        }
    }
    // Z before X, and never W with Z: the token went to someone else.
    if ((bits & store::kItemWinSent) != 0) line.flag('Z');
    if ((bits & store::kItemStale) != 0) {
        line.flag('X');
        if ((bits & store::kItemWinSent) == 0) won = true;
    }
    if (won) {
        line.flag('W');
        bits |= store::kItemWinSent;
    }
    line.crlf();
    out.append(line.view());
    if (req.has('v')) {
        out.append(it->value());
        out.append(proto::kMcMetaCrlf);
    }

    // u reads without the LRU bump, which is also what marks an item fetched.
    if (!req.has('u')) {
        bits |= store::kItemFetched;
        it->touch_ref();
    }
    if (bits != it->type_bits || exptime != it->exptime) {
        shard.modify(it, [&](Item& i) {
            i.type_bits = bits;
            if (i.exptime != exptime) i.set_expiry(exptime);
        });
    }
}

// ---- ms <key> <datalen> <flag>*\r\n<data>\r\n ------------------------------
//
// "HD|NS|EX|NF <O k c>*\r\n"; q hides HD. M picks the mode (E add, A append,
// P prepend, R replace, S set); C turns set and replace into cas and guards
// append and prepend; add ignores it. With I, a cas whose C is older than the
// item's CAS still stores, marked stale, keeping the old TTL and win token.

StoreMode store_mode(proto::McMetaSetMode m) {
    switch (m) {
        case proto::McMetaSetMode::kAdd:
            return StoreMode::kAdd;
        case proto::McMetaSetMode::kAppend:
            return StoreMode::kAppend;
        case proto::McMetaSetMode::kPrepend:
            return StoreMode::kPrepend;
        case proto::McMetaSetMode::kReplace:
            return StoreMode::kReplace;
        case proto::McMetaSetMode::kSet:
            break;
    }
    return StoreMode::kSet;
}

// Replaces `old` with `data`, marked stale (ms I with an older CAS).
StoreStatus store_stale(Shard& shard, const KeyRef& k, std::string_view data, StoreArgs args,
                        Item* old, UnixTime now, uint64_t& cas) {
    args.exptime = old->exptime;
    StoreStatus st;
    Item* fresh = shard.allocate(k, static_cast<uint32_t>(data.size()), args, now, old, st);
    if (fresh == nullptr) return st;
    if (!data.empty()) std::memcpy(fresh->value_ptr(), data.data(), data.size());
    // Still in write state from allocate(): no reader sees these bits torn.
    fresh->type_bits |=
        static_cast<uint8_t>(store::kItemStale | (old->type_bits & store::kItemWinSent));
    cas = fresh->cas;
    return shard.publish(k, fresh, old);
}

// Drops the current value of `k`: memcached does so when a store fails for
// size or memory, so that a failed update never leaves the old value served.
void drop_old_value(Shard& shard, const KeyRef& k, UnixTime now) {
    if (Item* old = shard.find(k, now)) shard.unlink(old);
}

void meta_set(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    const KeyRef k(req.key());
    Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const std::string_view data = req.data;
    ++ctx.stats->cmd_set;

    if (!mc_item_fits(k.key.size(), data.size())) {
        drop_old_value(shard, k, now);
        out.append(proto::kMcMetaErrTooLarge);
        return;
    }

    StoreArgs args;
    args.flags = req.has('F') ? req.client_flags : 0;
    args.exptime = req.has('T') ? abs_ttl(req.ttl, now) : 0;
    args.cas_set = cas_override(req);
    StoreMode mode = store_mode(req.set_mode);
    const bool concat = mode == StoreMode::kAppend || mode == StoreMode::kPrepend;
    if (req.has('C')) {
        if (mode == StoreMode::kSet || mode == StoreMode::kReplace) {
            mode = StoreMode::kCas;
            args.cas_in = req.compare_cas;
        } else if (concat) {
            args.cas_in = req.compare_cas;
        }
    }

    StoreStatus st = StoreStatus::kNotStored;
    uint64_t cas = 0;
    Item* old = (mode == StoreMode::kCas || concat) ? shard.find(k, now) : nullptr;
    if (mode == StoreMode::kCas && old != nullptr && req.has('I') && req.compare_cas != 0 &&
        req.compare_cas < old->cas) {
        st = store_stale(shard, k, data, args, old, now, cas);
    } else if (concat && old != nullptr && (args.cas_in == 0 || args.cas_in == old->cas) &&
               !mc_item_fits(k.key.size(), size_t{old->value_len} + data.size())) {
        // memcached cannot allocate the joined item and answers NS, keeping
        // the old one.
        st = StoreStatus::kNotStored;
    } else {
        st = shard.store(mode, k, data, args, now, &cas);
    }

    std::string_view status;
    switch (st) {
        case StoreStatus::kStored:
            status = proto::kMcMetaHd;
            ++ctx.stats->total_items;
            if (mode == StoreMode::kCas) ++ctx.stats->cas_hits;
            break;
        case StoreStatus::kExists:
            status = proto::kMcMetaEx;
            if (mode == StoreMode::kCas) ++ctx.stats->cas_badval;
            break;
        case StoreStatus::kNotFound:
            status = proto::kMcMetaNf;
            if (mode == StoreMode::kCas) ++ctx.stats->cas_misses;
            break;
        case StoreStatus::kTooLarge:
            // Only a joined append/prepend can get here (the size was
            // checked above), and memcached answers NS for it.
            status = proto::kMcMetaNs;
            break;
        case StoreStatus::kNoMemory:
            drop_old_value(shard, k, now);
            out.append(proto::kMcServerErrorOutOfMemoryStoring);
            return;
        default:
            status = proto::kMcMetaNs;
            break;
    }
    if (st == StoreStatus::kStored && req.quiet()) return;

    ReplyLine line;
    line.add(status);
    for (const McMetaFlag& f : req.flag_list()) {
        switch (f.name) {
            case 'O':
                line.opaque(f);
                break;
            case 'k':
                line.key(req.key(), req.key_binary);
                break;
            case 'c':
                // 0 when nothing was stored, as memcached.
                line.flag('c');
                line.add_u64(st == StoreStatus::kStored ? cas : 0);
                break;
            default:
                break;
        }
    }
    line.crlf();
    out.append(line.view());
}

// ---- md <key> <flag>* ------------------------------------------------------
//
// "HD|NF|EX <O k>*\r\n"; q hides HD. C deletes only on a CAS match. I marks
// the item stale instead (new CAS, win token cleared, T's TTL if given). x
// swaps the value for an empty one with F's flags and T's TTL, keeping the
// item (and its CAS, unless E says otherwise).
void meta_delete(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    const KeyRef k(req.key());
    Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();

    Item* it = shard.find(k, now);
    if (it == nullptr) {
        ++ctx.stats->delete_misses;
        reply_status(req, proto::kMcMetaNf, out);
        return;
    }
    if (req.has('C') && it->cas != req.compare_cas) {
        ++ctx.stats->delete_misses;
        reply_status(req, proto::kMcMetaEx, out);
        return;
    }

    if (req.has('x')) {
        StoreArgs args;
        args.flags = req.has('F') ? req.client_flags : 0;
        args.exptime = req.has('T') ? abs_ttl(req.ttl, now) : 0;
        args.cas_set = req.has('E') ? req.new_cas : it->cas;
        StoreStatus st;
        Item* fresh = shard.allocate(k, 0, args, now, it, st);
        if (fresh == nullptr) {
            out.append(proto::kMcServerErrorOutOfMemory);
            return;
        }
        if (shard.publish(k, fresh, it) != StoreStatus::kStored) {
            reply_status(req, proto::kMcMetaNs, out);
            return;
        }
        it = fresh;
    }

    if (req.has('I')) {
        const UnixTime exptime = req.has('T') ? abs_ttl(req.ttl, now) : it->exptime;
        const uint64_t cas = req.has('E') ? req.new_cas : shard.next_cas();
        shard.modify(it, [&](Item& i) {
            if (i.exptime != exptime) i.set_expiry(exptime);
            // Clearing the token lets the next mg win the recache.
            i.type_bits =
                static_cast<uint8_t>((i.type_bits | store::kItemStale) & ~store::kItemWinSent);
            i.cas = cas;
        });
    } else {
        ++ctx.stats->delete_hits;
        if (!req.has('x')) shard.unlink(it);
    }
    if (!req.quiet()) reply_status(req, proto::kMcMetaHd, out);
}

// ---- ma <key> <flag>* ------------------------------------------------------
//
// "HD <c t O k>*\r\n", or with v "VA <len> <flags>*\r\n<number>\r\n"; misses
// "NF", CAS mismatch "EX", both with O k only. q hides HD/VA of an existing
// item but not of one N just created (1.6.18 sets noreply only on the
// former). N creates the item from J (default 0) on a miss with N's TTL; T
// sets the TTL of the result.
void meta_arithmetic(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    const KeyRef k(req.key());
    Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const bool incr = req.arithmetic_mode == proto::McMetaArithmeticMode::kIncrement;
    const uint64_t cas_in = req.has('C') ? req.compare_cas : 0;

    uint64_t value = 0;
    const StoreStatus st =
        shard.arith(k, incr ? ArithOp::kIncr : ArithOp::kDecr, req.delta, now, cas_in, value);
    Item* it = nullptr;
    bool created = false;
    char digits[24];
    size_t n_digits = 0;
    switch (st) {
        case StoreStatus::kOk:
            ++(incr ? ctx.stats->incr_hits : ctx.stats->decr_hits);
            it = shard.find(k, now);  // the item arith() left, rewritten or new
            if (it != nullptr && req.has('E')) {
                shard.modify(it, [&](Item& i) { i.cas = req.new_cas; });
            }
            n_digits = format_u64(value, digits);
            break;
        case StoreStatus::kNotFound:
            if (!req.has('N')) {
                ++(incr ? ctx.stats->incr_misses : ctx.stats->decr_misses);
                reply_status(req, proto::kMcMetaNf, out);
                return;
            }
            n_digits = format_u64(req.initial, digits);
            it = create_item(shard, k, std::string_view(digits, n_digits), req, now);
            if (it == nullptr) {
                out.append(proto::kMcServerErrorOutOfMemoryVivify);
                return;
            }
            created = true;
            break;
        case StoreStatus::kExists:
            reply_status(req, proto::kMcMetaEx, out);
            return;
        case StoreStatus::kNonNumeric:
            out.append(proto::kMcClientErrorNonNumeric);
            return;
        default:  // kNoMemory, kTooLarge: the longer number found no room
            out.append(proto::kMcServerErrorOutOfMemory);
            return;
    }
    if (it == nullptr) {
        // arith() succeeded but the item is gone: cannot happen on the
        // owner thread; answer as a miss rather than crash.
        reply_status(req, proto::kMcMetaNf, out);
        return;
    }

    UnixTime exptime = it->exptime;
    ReplyLine line;
    if (req.has('v')) {
        line.add(proto::kMcMetaVa);
        line.add(' ');
        line.add_u64(n_digits);
    } else {
        line.add(proto::kMcMetaHd);
    }
    for (const McMetaFlag& f : req.flag_list()) {
        switch (f.name) {
            case 'c':
                line.flag('c');
                line.add_u64(it->cas);
                break;
            case 't':
                line.flag('t');
                line.ttl(exptime, now);
                break;
            case 'T':
                exptime = abs_ttl(req.ttl, now);
                break;
            case 'N':
                if (created) exptime = abs_ttl(req.vivify_ttl, now);
                break;
            case 'O':
                line.opaque(f);
                break;
            case 'k':
                line.key(req.key(), req.key_binary);
                break;
            default:
                break;
        }
    }
    if (exptime != it->exptime) shard.modify(it, [&](Item& i) { i.set_expiry(exptime); });
    if (req.quiet() && !created) return;
    line.crlf();
    if (req.has('v')) {
        line.add(std::string_view(digits, n_digits));
        line.crlf();
    }
    out.append(line.view());
}

// ---- me <key> [b] ----------------------------------------------------------
//
// "ME <key> exp=<s> la=<s> cas=<n> fetch=<yes|no> cls=<n> size=<n>\r\n" or
// "EN\r\n". exp is now minus the expiry (negative while the item lives, -1
// for none), as memcached prints it. Does not count as a fetch.
void meta_debug(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    const KeyRef k(req.key());
    Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const Item* it = shard.find(k, now);
    if (it == nullptr || !it->is_string()) {
        out.append(proto::kMcMetaEn);
        out.append(proto::kMcMetaCrlf);
        return;
    }
    ReplyLine line;
    line.add(proto::kMcMetaMe);
    line.add(' ');
    if (req.key_binary) {
        std::array<char, proto::mc_meta_base64_len(proto::kMcMetaKeyMaxLen)> b64;
        line.add(std::string_view(b64.data(), proto::mc_meta_base64_encode(req.key(), b64)));
    } else {
        line.add(req.key());
    }
    line.add(" exp=");
    line.add_i64(it->exptime == 0 ? -1 : static_cast<int32_t>(now - it->exptime));
    line.add(" la=");
    line.add_u64(static_cast<uint32_t>(now - it->time));
    line.add(" cas=");
    line.add_u64(it->cas);
    line.add((it->type_bits & store::kItemFetched) != 0 ? " fetch=yes" : " fetch=no");
    line.add(" cls=");
    line.add_u64(uint64_t{it->class_id} + 1);
    line.add(" size=");
    line.add_u64(it->total_size());
    line.crlf();
    out.append(line.view());
}

}  // namespace

bool meta_get_reads_only(const McMetaRequest& req) {
    if (req.command != proto::McMetaCommand::kGet) return false;
    for (const McMetaFlag& f : req.flag_list())
        if (!is_read_only_get_flag(f.name)) return false;
    return true;
}

bool meta_get_hit_changes_nothing(const McMetaRequest& req, const MetaGetFields& it) {
    // Stale items hand out win tokens (a write); the first bump marks fetched.
    if ((it.type_bits & store::kItemStale) != 0) return false;
    return req.has('u') || (it.type_bits & store::kItemFetched) != 0;
}

void write_meta_get_hit(const McMetaRequest& req, const MetaGetFields& it, std::string_view value,
                        UnixTime exptime, UnixTime now, ReplySink& out) {
    ReplyLine line;
    if (req.has('v')) {
        line.add(proto::kMcMetaVa);
        line.add(' ');
        line.add_u64(it.value_len);
    } else {
        line.add(proto::kMcMetaHd);
    }
    for (const McMetaFlag& f : req.flag_list())
        put_get_flag(line, req, f, it, exptime, now);
    if ((it.type_bits & store::kItemWinSent) != 0) line.flag('Z');
    line.crlf();
    out.append(line.view());
    if (req.has('v')) {
        out.append(value);
        out.append(proto::kMcMetaCrlf);
    }
}

void write_meta_get_miss(const McMetaRequest& req, ReplySink& out) {
    if (!req.quiet()) reply_status(req, proto::kMcMetaEn, out);
}

void execute_meta(const McMetaRequest& req, EngineCtx& ctx, ReplySink& out) {
    // mg changes an item only with T (touch) or N (vivify); the rest of a
    // get is a read a replica serves.
    const bool writes =
        req.command == proto::McMetaCommand::kSet || req.command == proto::McMetaCommand::kDelete ||
        req.command == proto::McMetaCommand::kArithmetic ||
        (req.command == proto::McMetaCommand::kGet && (req.has('T') || req.has('N')));
    if (writes && is_read_only_replica(ctx)) {
        refuse_mc_write(ctx, out);
        return;
    }
    if (const RingAnswer a = req.command == proto::McMetaCommand::kNoop
                                 ? RingAnswer{}
                                 : ring_check(ctx, req.key(), writes);
        a.verdict != RingVerdict::kServe) {
        // Another partition's key: a miss for a read, an error for a write.
        if (writes)
            write_mc_ring_error(a, out);
        else if (req.command == proto::McMetaCommand::kGet)
            write_meta_get_miss(req, out);
        else
            reply_status(req, proto::kMcMetaEn, out);
        return;
    }
    switch (req.command) {
        case proto::McMetaCommand::kGet:
            meta_get(req, ctx, out);
            return;
        case proto::McMetaCommand::kSet:
            meta_set(req, ctx, out);
            return;
        case proto::McMetaCommand::kDelete:
            meta_delete(req, ctx, out);
            return;
        case proto::McMetaCommand::kArithmetic:
            meta_arithmetic(req, ctx, out);
            return;
        case proto::McMetaCommand::kNoop:
            out.append(proto::kMcMetaMn);
            return;
        case proto::McMetaCommand::kDebug:
            meta_debug(req, ctx, out);
            return;
    }
}

}  // namespace fulmar::engine
