// libFuzzer target: RESTORE's loader (engine/rdb_payload.h) and the store
// behind it. Arbitrary bytes are a DUMP payload's object; byte 0 picks
// whether they get a valid trailer (version 10 and the right CRC, so the
// fuzzer reaches the object parser) or are the whole payload as given (the
// trailer checks). A payload that loads is stored as an item on a small
// real shard (engine/rdb_restore.h, under Redis's default limits or tiny
// ones), dumped again from the item and loaded again: the second load must
// succeed and hold the same entries (lists and strings in order; sets and
// hashes as Redis's are, in any order). Anything else must be refused with
// a status, never a crash, a sanitizer report or unbounded memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/crc64.h"
#include "engine/engine_ctx.h"
#include "engine/rdb_payload.h"
#include "engine/rdb_restore.h"
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
        cfg.name = "fzrdb";
        cfg.memory_bytes = 8 << 20;
        cfg.index_entries = 64;
        auto r = store::Shard::create(cfg);
        check(r.ok());
        return std::move(r.value());
    }();
    return *s;
}

std::vector<std::string> canonical(const engine::rdb::Loaded& l) {
    std::vector<std::string> out(l.entries.begin(), l.entries.end());
    if (l.type == store::ItemType::kSet) std::sort(out.begin(), out.end());
    if (l.type == store::ItemType::kHash) {
        std::vector<std::string> pairs;
        for (size_t i = 0; i + 1 < out.size(); i += 2)
            pairs.push_back(out[i] + '\0' + out[i + 1]);
        std::sort(pairs.begin(), pairs.end());
        return pairs;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static const testing::EalSandbox eal("fulmar_fuzz_rdb", 64);
    check(eal.ok());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((mode & 1) == 0) {
        payload += std::string("\x0a\x00", 2);
        const uint64_t crc = crc64_jones(0, payload);
        for (int i = 0; i < 8; ++i)
            payload += static_cast<char>((crc >> (8 * i)) & 0xff);
    }
    engine::rdb::Loaded obj;
    if (engine::rdb::load(payload, obj) != engine::rdb::LoadStatus::kOk) return 0;
    check(!obj.entries.empty());
    if (obj.type == store::ItemType::kHash) check(obj.entries.size() % 2 == 0);

    engine::CollectionLimits limits;
    if ((mode & 2) != 0) {
        limits.list_max_listpack_size = 2;
        limits.set_max_intset_entries = 2;
        limits.hash_max_listpack_entries = 1;
        limits.hash_max_listpack_value = 4;
        limits.list_packed_threshold = 3;
    }
    store::Shard& s = shard();
    s.clear_all();
    const UnixTime now = 1'700'000'000;
    const store::KeyRef k("fuzzkey");
    if (engine::rdb::store_loaded(s, k, obj, engine::rdb::ItemAttrs{}, now, limits) !=
        engine::coll::WriteStatus::kStored)
        return 0;
    const store::Item* it = s.find(k, now);
    check(it != nullptr && it->type() == obj.type);
    std::string again;
    check(engine::rdb::dump(it->type(), it->value(), engine::coll::list_fill(limits), again));
    engine::rdb::Loaded back;
    check(engine::rdb::load(again, back) == engine::rdb::LoadStatus::kOk);
    check(back.type == obj.type);
    check(canonical(back) == canonical(obj));
    return 0;
}
