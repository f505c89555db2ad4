// fulmarctl's output; see reply_format.h.
#include "reply_format.h"

#include <fmt/core.h>

#include <algorithm>
#include <optional>

namespace fulmar::fulmarctl {

using proto::RespValue;

Result<Table, std::string> as_table(const RespValue& v) {
    if (v.is_error()) return Err{v.text};
    if (v.type != RespValue::Type::kArray || v.elements.size() % 2 != 0)
        return Err{std::string("the control plane sent no name/value table")};
    Table t;
    for (size_t i = 0; i < v.elements.size(); i += 2) {
        const RespValue& k = v.elements[i];
        const RespValue& x = v.elements[i + 1];
        auto text = [](const RespValue& e) -> std::optional<std::string> {
            if (e.type == RespValue::Type::kBulk || e.type == RespValue::Type::kSimple)
                return e.text;
            if (e.type == RespValue::Type::kInteger) return std::to_string(e.integer);
            return std::nullopt;
        };
        auto ks = text(k), xs = text(x);
        if (!ks || !xs) return Err{std::string("a table entry is not a string")};
        t.emplace_back(std::move(*ks), std::move(*xs));
    }
    return t;
}

Result<std::vector<Table>, std::string> as_rows(const RespValue& v) {
    if (v.is_error()) return Err{v.text};
    if (v.type != RespValue::Type::kArray)
        return Err{std::string("the control plane sent no list of tables")};
    std::vector<Table> rows;
    for (const RespValue& e : v.elements) {
        auto t = as_table(e);
        if (!t) return Err{t.error()};
        rows.push_back(std::move(t.value()));
    }
    return rows;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string json_value(std::string_view s) {
    const bool canonical =
        !s.empty() && s.size() <= 19 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        (s.size() == 1 || s[0] != '0');
    return canonical ? std::string(s) : json_string(s);
}

std::string table_text(const Table& t) {
    size_t w = 0;
    for (const auto& [k, v] : t)
        w = std::max(w, k.size());
    std::string out;
    for (const auto& [k, v] : t)
        out += fmt::format("{:<{}}  {}\n", k, w, v);
    return out;
}

std::string table_json(const Table& t) {
    std::string out = "{";
    for (size_t i = 0; i < t.size(); ++i) {
        if (i != 0) out += ", ";
        out += json_string(t[i].first);
        out += ": ";
        out += json_value(t[i].second);
    }
    return out + "}";
}

namespace {

std::string_view value_of(const Table& t, std::string_view name) {
    for (const auto& [k, v] : t)
        if (k == name) return v;
    return "-";
}

}  // namespace

std::string rows_text(const std::vector<Table>& rows, RowLayout layout) {
    if (rows.empty()) return "(none)\n";
    const Table& head = rows.front();
    std::string out;
    if (layout == RowLayout::kLinePerRow) {
        std::vector<size_t> widths;
        for (const auto& [k, v] : head) {
            size_t w = k.size();
            for (const Table& r : rows)
                w = std::max(w, value_of(r, k).size());
            widths.push_back(w);
        }
        for (size_t c = 0; c < head.size(); ++c)
            out += fmt::format("{}{:>{}}", c == 0 ? "" : "  ", head[c].first, widths[c]);
        out += '\n';
        for (const Table& r : rows) {
            for (size_t c = 0; c < head.size(); ++c)
                out += fmt::format("{}{:>{}}", c == 0 ? "" : "  ", value_of(r, head[c].first),
                                   widths[c]);
            out += '\n';
        }
        return out;
    }
    // One column per row: names down the left.
    size_t name_w = 0;
    for (const auto& [k, v] : head)
        name_w = std::max(name_w, k.size());
    std::vector<size_t> widths;
    for (const Table& r : rows) {
        size_t w = 0;
        for (const auto& [k, v] : head)
            w = std::max(w, value_of(r, k).size());
        widths.push_back(w);
    }
    for (const auto& [k, v] : head) {
        out += fmt::format("{:<{}}", k, name_w);
        for (size_t i = 0; i < rows.size(); ++i)
            out += fmt::format("  {:>{}}", value_of(rows[i], k), widths[i]);
        out += '\n';
    }
    return out;
}

std::string rows_json(const std::vector<Table>& rows) {
    std::string out = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
        if (i != 0) out += ", ";
        out += table_json(rows[i]);
    }
    return out + "]";
}

std::string config_text(const Table& t) {
    std::string out;
    for (const auto& [k, v] : t)
        out += fmt::format("{} = {}\n", k, v);
    return out;
}

std::string config_json(const Table& t) {
    std::string out = "{";
    for (size_t i = 0; i < t.size(); ++i) {
        if (i != 0) out += ", ";
        out += json_string(t[i].first);
        out += ": ";
        out += t[i].second == "unset" ? "null" : t[i].second;
    }
    return out + "}";
}

}  // namespace fulmar::fulmarctl
