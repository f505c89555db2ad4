// rte_hash wrapper; see index.h for the concurrency contract.
#include "store/index.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>

namespace fulmar::store {

Result<Index, IndexStatus> Index::create(const std::string& name, uint32_t entries,
                                         rte_rcu_qsbr* rcu, int socket_id) {
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = entries < 64 ? 64 : entries;
    p.key_len = sizeof(KeyDigest);
    // Never called by us (every call passes the signature), but rte_hash
    // wants one.
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = socket_id;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash* h = rte_hash_create(&p);
    if (h == nullptr) return Err{IndexStatus::kNoMemory};
    if (rcu != nullptr) {
        rte_hash_rcu_config cfg{};
        cfg.v = rcu;
        cfg.mode = RTE_HASH_QSBR_MODE_DQ;
        if (rte_hash_rcu_qsbr_add(h, &cfg) != 0) {
            rte_hash_free(h);
            return Err{IndexStatus::kRcuFailed};
        }
    }
    return Index(h, rcu != nullptr);
}

Index::~Index() {
    if (h_ != nullptr) rte_hash_free(h_);
}

IndexStatus Index::upsert(const KeyDigest& d, Item* it) {
    const int rc = rte_hash_add_key_with_hash_data(h_, &d, d.sig(), it);
    return rc == 0 ? IndexStatus::kOk : IndexStatus::kFull;
}

bool Index::erase(const KeyDigest& d) {
    const int32_t pos = rte_hash_del_key_with_hash(h_, &d, d.sig());
    if (pos < 0) return false;
    // In lock-free mode rte_hash keeps a deleted slot until told; with RCU
    // its defer queue frees it after a grace period, without RCU there are
    // no other readers and it can go at once.
    if (!has_rcu_) rte_hash_free_key_with_position(h_, pos);
    return true;
}

}  // namespace fulmar::store
