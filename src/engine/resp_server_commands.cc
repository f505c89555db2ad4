// The Redis server and connection commands' table entries, and COMMAND,
// which answers from the table itself (COUNT, LIST, INFO, DOCS, GETKEYS).
//
// Most entries here are kSession: they need the connection's state (its
// protocol, name, authentication, transaction), so the control plane's
// session answers them (controlplane/resp_server_session.cc) and an owner
// never runs one; the table holds their arity, so arity errors, COMMAND
// and unknown-command errors treat them as every other command.
#include <fmt/core.h>

#include <array>
#include <vector>

#include "engine/resp_debug.h"
#include "engine/resp_groups.h"
#include "engine/resp_util.h"

namespace fulmar::engine {
namespace {

using namespace resp;

// Redis's signed arity: n exactly, -n at least n.
int64_t signed_arity(const CommandArity& a) {
    return a.max == a.min ? int64_t{a.min} : -int64_t{a.min};
}

// The group COMMAND DOCS names (the one field Redis always sends); the
// table keeps no group column, so the server's own commands are named here
// and the rest are "generic" unless they are strings' (docs/resp-progress.md).
std::string_view doc_group(const RespCommand& c) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 28> kGroups{{
        {"hello", "connection"},     {"auth", "connection"},      {"client", "connection"},
        {"reset", "connection"},     {"ping", "connection"},      {"echo", "connection"},
        {"quit", "connection"},      {"select", "connection"},    {"info", "server"},
        {"config", "server"},        {"debug", "server"},         {"command", "server"},
        {"dbsize", "server"},        {"flushall", "server"},      {"multi", "transactions"},
        {"exec", "transactions"},    {"discard", "transactions"}, {"watch", "transactions"},
        {"unwatch", "transactions"}, {"function", "scripting"},   {"get", "string"},
        {"set", "string"},           {"mget", "string"},          {"mset", "string"},
        {"incr", "string"},          {"append", "string"},        {"strlen", "string"},
        {"setnx", "string"},
    }};
    for (const auto& [name, group] : kGroups)
        if (name == c.spec.name) return group;
    return "generic";
}

void write_flags(const RespCommand& c, RespWriter& w) {
    std::vector<std::string_view> flags;
    if (c.spec.has(kCmdRead)) flags.push_back("readonly");
    if (c.spec.has(kCmdWrite)) flags.push_back("write");
    if (c.spec.keys.numkeys != 0) flags.push_back("movablekeys");
    w.write_set(flags.size());
    for (std::string_view f : flags)
        w.write_simple(f);
}

// One entry of COMMAND / COMMAND INFO, as Redis 7.0's addReplyCommandInfo.
void write_info(const RespCommand& c, RespWriter& w) {
    const KeySpec k = c.spec.keys;
    w.write_array(10);
    w.write_bulk(c.spec.name);
    w.write_integer(signed_arity(c.spec.arity));
    write_flags(c, w);
    // Keys after a count move: Redis gives 0 0 0 and a keynum spec.
    const bool movable = k.numkeys != 0;
    w.write_integer(movable ? 0 : k.first);
    w.write_integer(movable ? 0 : k.last);
    w.write_integer(movable ? 0 : k.step);
    // ACL categories: what the table knows (reads, writes).
    const bool rd = c.spec.has(kCmdRead), wr = c.spec.has(kCmdWrite);
    w.write_set(rd || wr ? 1 : 0);
    if (rd) w.write_simple("@read");
    if (wr) w.write_simple("@write");
    w.write_set(0);  // tips
    w.write_set(k.none() ? 0 : 1);
    if (!k.none()) {
        w.write_map(3);
        w.write_bulk("flags");
        w.write_set(1);
        w.write_simple(wr ? "RW" : "RO");
        w.write_bulk("begin_search");
        w.write_map(2);
        w.write_bulk("type");
        w.write_bulk("index");
        w.write_bulk("spec");
        w.write_map(1);
        w.write_bulk("index");
        w.write_integer(movable ? k.numkeys : k.first);
        w.write_bulk("find_keys");
        w.write_map(2);
        if (movable) {
            w.write_bulk("type");
            w.write_bulk("keynum");
            w.write_bulk("spec");
            w.write_map(3);
            w.write_bulk("keynumidx");
            w.write_integer(0);
            w.write_bulk("firstkey");
            w.write_integer(1);
            w.write_bulk("keystep");
            w.write_integer(1);
            w.write_set(0);  // subcommands
            return;
        }
        w.write_bulk("type");
        w.write_bulk("range");
        w.write_bulk("spec");
        w.write_map(3);
        w.write_bulk("lastkey");
        w.write_integer(k.last < 0 ? k.last : k.last - k.first);
        w.write_bulk("keystep");
        w.write_integer(k.step);
        w.write_bulk("limit");
        w.write_integer(0);
    }
    w.write_set(0);  // subcommands
}

void write_docs(const RespCommand& c, RespWriter& w) {
    w.write_map(1);
    w.write_bulk("group");
    w.write_bulk(doc_group(c));
}

// COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...] | GETKEYS cmd ...]
bool parse_command(const RespRequest& req, ReplySink& out) {
    const auto& a = req.args;
    if (a.size() == 1) return true;
    const std::string_view sub = a[1];
    auto arity = [&](bool ok) {
        if (!ok)
            RespWriter(out).write_error(resp_arity_error(fmt::format("command|{}", lower(sub))));
        return ok;
    };
    if (iequals(sub, "COUNT")) return arity(a.size() == 2);
    if (iequals(sub, "INFO") || iequals(sub, "DOCS")) return true;
    if (iequals(sub, "LIST")) {
        // FILTERBY MODULE|ACLCAT|PATTERN: not kept by the table.
        if (!arity(a.size() == 2 || a.size() == 5)) return false;
        if (a.size() == 2) return true;
        RespWriter(out).write_error("COMMAND LIST FILTERBY is not supported");
        return false;
    }
    if (iequals(sub, "GETKEYS")) return arity(a.size() >= 4);
    RespWriter(out).write_error(
        fmt::format("unknown subcommand '{}'. Try COMMAND HELP.", sub.substr(0, 128)));
    return false;
}

void op_command(const RespRequest& req, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    RespWriter w(out);
    const auto& a = req.args;
    const auto all = resp_commands();
    if (a.size() == 1) {
        w.write_array(all.size());
        for (const RespCommand& c : all)
            write_info(c, w);
        return;
    }
    const std::string_view sub = a[1];
    if (iequals(sub, "COUNT")) {
        w.write_integer(static_cast<int64_t>(all.size()));
    } else if (iequals(sub, "LIST")) {
        w.write_array(all.size());
        for (const RespCommand& c : all)
            w.write_bulk(c.spec.name);
    } else if (iequals(sub, "INFO")) {
        if (a.size() == 2) {
            w.write_array(all.size());
            for (const RespCommand& c : all)
                write_info(c, w);
            return;
        }
        w.write_array(a.size() - 2);
        for (size_t i = 2; i < a.size(); ++i) {
            const RespCommand* c = find_resp_command(a[i]);
            if (c == nullptr)
                w.write_null();
            else
                write_info(*c, w);
        }
    } else if (iequals(sub, "DOCS")) {
        // Unknown names are left out, as in Redis.
        std::vector<const RespCommand*> found;
        if (a.size() == 2) {
            for (const RespCommand& c : all)
                found.push_back(&c);
        } else {
            for (size_t i = 2; i < a.size(); ++i)
                if (const RespCommand* c = find_resp_command(a[i])) found.push_back(c);
        }
        w.write_map(found.size());
        for (const RespCommand* c : found) {
            w.write_bulk(c->spec.name);
            write_docs(*c, w);
        }
    } else {  // GETKEYS
        const std::span<const std::string_view> cmd = a.subspan(2);
        const RespCommand* c = find_resp_command(cmd[0]);
        if (c == nullptr) {
            w.write_error("Invalid command specified");
            return;
        }
        if (c->spec.keys.none()) {
            w.write_error("The command has no key arguments");
            return;
        }
        const CommandArity ar = c->spec.arity;
        if (cmd.size() < ar.min || (ar.max != kAnyArity && cmd.size() > ar.max)) {
            w.write_error("Invalid number of arguments specified for command");
            return;
        }
        const std::vector<size_t> keys = resp_key_positions(*c, cmd);
        w.write_array(keys.size());
        for (size_t i : keys)
            w.write_bulk(cmd[i]);
    }
}

// FUNCTION FLUSH [ASYNC | SYNC] | LIST: there is no scripting here, so no
// function is ever loaded: FLUSH has nothing to remove (the Redis test
// suite's external mode runs it before every unit) and LIST is empty. The
// subcommands that would load or run one are refused.
bool parse_function(const RespRequest& req, ReplySink& out) {
    const auto& a = req.args;
    const std::string_view sub = a[1];
    RespWriter w(out);
    if (iequals(sub, "FLUSH")) {
        if (a.size() == 2 || (a.size() == 3 && (iequals(a[2], "ASYNC") || iequals(a[2], "SYNC"))))
            return true;
        if (a.size() > 3)
            w.write_error(fmt::format(
                "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                sub));
        else
            w.write_error("FUNCTION FLUSH only supports SYNC|ASYNC option");
        return false;
    }
    if (iequals(sub, "LIST")) return true;
    for (std::string_view known : {"DELETE", "DUMP", "KILL", "LOAD", "RESTORE", "STATS"}) {
        if (iequals(sub, known)) {
            w.write_error(fmt::format("FUNCTION {} is not supported: no scripting here", known));
            return false;
        }
    }
    w.write_error(fmt::format("unknown subcommand '{}'. Try FUNCTION HELP.", sub.substr(0, 128)));
    return false;
}

void op_function(const RespRequest& req, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    RespWriter w(out);
    if (iequals(req.args[1], "FLUSH"))
        w.write_simple("OK");
    else
        w.write_array(0);
}

// ---- the table ---------------------------------------------------------------

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"command", at_least(1), kLocal, {}, parse_command, op_command}},
    RespCommand{Spec{"function", at_least(2), kLocal, {}, parse_function, op_function}},
    RespCommand{Spec{"hello", at_least(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"auth", at_least(2), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"client", at_least(2), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"reset", exactly(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"info", at_least(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"wait", exactly(3), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"replicaof", exactly(3), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"slaveof", exactly(3), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"config", at_least(2), kSession, {}, nullptr, nullptr}},
    // The session answers DEBUG; only RELOAD reaches the owners (op_debug).
    RespCommand{Spec{"debug", at_least(2), kSession, {}, nullptr, op_debug}},
    RespCommand{Spec{"multi", exactly(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"exec", exactly(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"discard", exactly(1), kSession, {}, nullptr, nullptr}},
    RespCommand{Spec{"watch", at_least(2), kSession, kEveryKey, nullptr, nullptr}},
    RespCommand{Spec{"unwatch", exactly(1), kSession, {}, nullptr, nullptr}},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_server_commands() {
    return kTable;
}

}  // namespace fulmar::engine
