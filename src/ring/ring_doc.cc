// The ring document's text form (ring_doc.h).
#include "ring/ring_doc.h"

#include <fmt/format.h>

#include <set>

namespace fulmar::ring {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

Err<std::string> fail(std::string why) {
    return Err<std::string>{std::move(why)};
}

}  // namespace

int RingDoc::find(std::string_view name) const {
    for (size_t i = 0; i < members.size(); ++i)
        if (members[i].name == name) return static_cast<int>(i);
    return -1;
}

bool valid_partition_name(std::string_view name) {
    if (name.empty() || name.size() > 47) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

std::string format_ring_doc(const RingDoc& doc) {
    std::string out = fmt::format("epoch {}\n", doc.epoch);
    for (const Node& n : doc.members) {
        const bool v6 = n.host.find(':') != std::string::npos;
        out += fmt::format("{}{}{}:{}:{} {}\n", v6 ? "[" : "", n.host, v6 ? "]" : "", n.port,
                           n.weight, n.name);
    }
    return out;
}

Result<RingDoc, std::string> parse_ring_doc(std::string_view text) {
    RingDoc doc;
    bool have_epoch = false;
    std::set<std::string, std::less<>> names;
    size_t line_no = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.remove_suffix(1);
        if (line.empty()) continue;
        if (!have_epoch) {
            if (!line.starts_with("epoch ") || !parse_u64(line.substr(6), doc.epoch))
                return fail(
                    fmt::format("ring line {}: expected 'epoch N', got '{}'", line_no, line));
            have_epoch = true;
            continue;
        }
        auto node = parse_node(line);
        if (!node) return fail(fmt::format("ring line {}: {}", line_no, node.error().message));
        if (!valid_partition_name(node.value().name))
            return fail(fmt::format(
                "ring line {}: '{}' needs a partition name (letters, digits, '-', '_', '.'; at "
                "most 47)",
                line_no, line));
        if (!names.insert(node.value().name).second)
            return fail(fmt::format("ring line {}: partition '{}' is listed twice", line_no,
                                    node.value().name));
        doc.members.push_back(std::move(node.value()));
    }
    if (!have_epoch) return fail(std::string("ring: no 'epoch N' line"));
    return doc;
}

Result<Ketama, RingError> build_ring(const RingDoc& doc) {
    return Ketama::build(doc.members, KetamaMode::kTwemproxy);
}

}  // namespace fulmar::ring
