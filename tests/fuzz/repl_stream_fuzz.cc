// libFuzzer target: what a replica reads from the network (controlplane/
// repl_wire.h, repl/log_record.h) and what its owner then does with it.
// Byte 0 picks the part: the handshake lines either side, an ACK, or the
// frame stream, whose records are parsed and applied to a small real shard
// (store::Shard::apply). A record the parser accepts may name any key,
// flags, times or CAS; strings, deletions, flushes and clears must apply or
// be refused with a status, never crash or leak. (Collections' encodings
// are the primary's and are not re-validated on a replica: the stream is
// trusted as Redis trusts its primary's; see docs/replication.md.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "repl/log_record.h"
#include "repl_wire.h"
#include "ring/ring_doc.h"
#include "store/shard.h"
#include "support/eal_sandbox.h"

namespace {

using namespace fulmar;

void check(bool ok) {
    if (!ok) std::abort();
}

store::Shard& shard() {
    static std::unique_ptr<store::Shard> s = [] {
        store::ShardConfig cfg;
        cfg.name = "fzrepl";
        cfg.memory_bytes = 4 << 20;
        cfg.index_entries = 256;
        auto r = store::Shard::create(cfg);
        check(r.ok());
        return std::move(r.value());
    }();
    return *s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static const testing::EalSandbox eal("fulmar_fuzz_repl", 64);
    check(eal.ok());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string error;
    switch (data[0] % 6) {
        case 0:
            if (auto r = controlplane::repl_wire::parse_sync_request(in, error)) {
                // What parses formats back to a line that parses the same.
                const std::string line = controlplane::repl_wire::format_sync_request(*r);
                auto again = controlplane::repl_wire::parse_sync_request(
                    line.substr(0, line.size() - 2), error);
                check(again && again->seqs == r->seqs && again->replid == r->replid);
            }
            return 0;
        case 1:
            (void)controlplane::repl_wire::parse_sync_reply(in, 2, error);
            return 0;
        case 2:
            (void)controlplane::repl_wire::parse_ack(in, 2);
            return 0;
        case 3:
            // A ring move's handshake (ring_member.h), and the ring document
            // it refers to (etcd's /fulmar/ring/ values): what parses
            // formats back to the same.
            if (auto r = controlplane::repl_wire::parse_move_request(in, error)) {
                const std::string line = controlplane::repl_wire::format_move_request(*r);
                auto again = controlplane::repl_wire::parse_move_request(
                    line.substr(0, line.size() - 2), error);
                check(again && again->partition == r->partition && again->epoch == r->epoch &&
                      again->n_shards == r->n_shards && again->seed_check == r->seed_check);
            }
            return 0;
        case 4:
            if (auto d = ring::parse_ring_doc(in)) {
                auto again = ring::parse_ring_doc(ring::format_ring_doc(d.value()));
                check(again && again.value() == d.value());
                if (!d.value().members.empty() && d.value().members.size() <= 64)
                    (void)ring::build_ring(d.value());
            }
            return 0;
        default:
            break;
    }
    const auto used = controlplane::repl_wire::for_each_frame(
        in, 2, [](const controlplane::repl_wire::FrameHeader& h, std::string_view payload) {
            if (h.type != controlplane::repl_wire::kFrameRecords) return true;
            while (!payload.empty()) {
                repl::RecordView v;
                if (repl::parse_record(payload, v) != repl::ParseStatus::kOk) return false;
                check(v.h.size <= payload.size() && v.key.size() == v.h.key_len &&
                      v.value.size() == v.h.value_len);
                const uint8_t type = v.h.type_bits & store::kItemTypeMask;
                const bool item =
                    v.h.kind == repl::RecordKind::kStore || v.h.kind == repl::RecordKind::kSnapItem;
                if (!item || type == static_cast<uint8_t>(store::ItemType::kString))
                    (void)shard().apply(v, 1'700'000'000);
                payload.remove_prefix(v.h.size);
            }
            return true;
        });
    check(!used || *used <= in.size());
    return 0;
}
