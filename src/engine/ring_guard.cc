// The cluster ring check (ring_guard.h).
#include "engine/ring_guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ring/ketama.h"

namespace fulmar::engine {
namespace {

std::string_view text_of(const char* p, size_t max) {
    size_t n = 0;
    while (n < max && p[n] != '\0')
        ++n;
    return {p, n};
}

std::string_view host_of(std::string_view address) {
    const size_t colon = address.rfind(':');
    return colon == std::string_view::npos ? address : address.substr(0, colon);
}

}  // namespace

uint32_t ring_slot_owner(const shm::RingSlot& slot, uint32_t hash) {
    const uint32_t* end = slot.values + slot.n_points;
    const uint32_t* it = std::lower_bound(slot.values, end, hash);
    const size_t i = it == end ? 0 : static_cast<size_t>(it - slot.values);
    return slot.owners[i];
}

RingAnswer ring_check_slow(shm::RingShm& ring, uint32_t current, std::string_view key, bool write) {
    RingAnswer a;
    const shm::RingSlot& cur = ring.slots[(current - 1) % shm::kRingSlots];
    if (cur.n_points == 0) return a;
    a.hash = ring::ketama_hash(key);
    a.owner = ring_slot_owner(cur, a.hash);
    a.slot = &cur;
    if (cur.me < 0 || a.owner != static_cast<uint32_t>(cur.me)) {
        a.verdict = RingVerdict::kMoved;
        (write ? ring.moved_writes : ring.moved_reads).fetch_add(1, std::memory_order_relaxed);
        return a;
    }
    if (!write || ring.frozen.load(std::memory_order_acquire) == 0) return a;
    const uint32_t pend = ring.pending.load(std::memory_order_acquire);
    if (pend == 0) return a;
    const shm::RingSlot& next = ring.slots[(pend - 1) % shm::kRingSlots];
    if (next.n_points == 0) return a;
    const uint32_t to = ring_slot_owner(next, a.hash);
    if (next.me >= 0 && to == static_cast<uint32_t>(next.me)) return a;
    a.verdict = RingVerdict::kFrozen;
    a.slot = &next;
    a.owner = to;
    ring.frozen_writes.fetch_add(1, std::memory_order_relaxed);
    return a;
}

std::string fill_ring_slot(const ring::RingDoc& doc, const ring::Ketama& ketama,
                           std::string_view me, uint16_t resp_port, shm::RingSlot& slot) {
    if (doc.members.size() > shm::kMaxRingMembers)
        return fmt::format("a ring of {} partitions: at most {}", doc.members.size(),
                           shm::kMaxRingMembers);
    if (ketama.n_points() > shm::kMaxRingPoints || ketama.n_points() == 0)
        return fmt::format("a ring of {} points: at most {}", ketama.n_points(),
                           shm::kMaxRingPoints);
    slot.epoch = doc.epoch;
    slot.n_members = static_cast<uint32_t>(doc.members.size());
    slot.me = doc.find(me);
    slot.resp_port = resp_port;
    for (size_t i = 0; i < doc.members.size(); ++i) {
        const ring::Node& n = doc.members[i];
        shm::RingMember& m = slot.members[i];
        std::memset(&m, 0, sizeof(m));
        const std::string addr = n.host.find(':') != std::string::npos
                                     ? fmt::format("[{}]:{}", n.host, n.port)
                                     : fmt::format("{}:{}", n.host, n.port);
        std::memcpy(m.name, n.name.data(), std::min(n.name.size(), shm::kRingNameMax - 1));
        std::memcpy(m.address, addr.data(), std::min(addr.size(), shm::kRingAddressMax - 1));
        m.weight = n.weight;
    }
    const auto values = ketama.point_values();
    const auto owners = ketama.point_owners();
    for (size_t i = 0; i < values.size(); ++i) {
        slot.values[i] = values[i];
        slot.owners[i] = static_cast<uint8_t>(owners[i]);
    }
    slot.n_points = static_cast<uint32_t>(values.size());
    return {};
}

bool ring_serves_key(const EngineCtx& ctx, std::string_view key) {
    if (ctx.shared == nullptr) return true;
    const uint32_t cur = ctx.shared->ring.current.load(std::memory_order_acquire);
    if (cur == 0) return true;
    const shm::RingSlot& s = ctx.shared->ring.slots[(cur - 1) % shm::kRingSlots];
    if (s.n_points == 0) return true;
    return s.me >= 0 && ring_slot_owner(s, ring::ketama_hash(key)) == static_cast<uint32_t>(s.me);
}

bool ring_moves_key_to(const EngineCtx& ctx, std::string_view key, uint32_t to) {
    if (ctx.shared == nullptr) return true;
    const uint32_t cur = ctx.shared->ring.current.load(std::memory_order_acquire);
    const uint32_t pend = ctx.shared->ring.pending.load(std::memory_order_acquire);
    if (cur == 0 || pend == 0) return true;
    const shm::RingSlot& c = ctx.shared->ring.slots[(cur - 1) % shm::kRingSlots];
    const shm::RingSlot& p = ctx.shared->ring.slots[(pend - 1) % shm::kRingSlots];
    if (c.n_points == 0 || p.n_points == 0 || c.me < 0) return true;
    const uint32_t h = ring::ketama_hash(key);
    return ring_slot_owner(c, h) == static_cast<uint32_t>(c.me) && ring_slot_owner(p, h) == to;
}

void write_resp_ring_error(const RingAnswer& a, proto::ReplySink& out) {
    const shm::RingMember& m = a.slot->members[a.owner];
    const std::string_view name = text_of(m.name, shm::kRingNameMax);
    if (a.verdict == RingVerdict::kFrozen) {
        out.append(
            fmt::format("-TRYAGAIN the key is moving to partition {} (ring epoch {}); retry\r\n",
                        name, a.slot->epoch));
        return;
    }
    out.append(fmt::format("-MOVED {} {}:{}\r\n", a.hash,
                           host_of(text_of(m.address, shm::kRingAddressMax)), a.slot->resp_port));
}

void write_mc_ring_error(const RingAnswer& a, proto::ReplySink& out) {
    const shm::RingMember& m = a.slot->members[a.owner];
    const std::string_view name = text_of(m.name, shm::kRingNameMax);
    if (a.verdict == RingVerdict::kFrozen) {
        out.append(fmt::format(
            "SERVER_ERROR moving: the key is moving to partition {} (ring epoch {}); retry\r\n",
            name, a.slot->epoch));
        return;
    }
    out.append(
        fmt::format("SERVER_ERROR moved: the key belongs to partition {} at {} (ring epoch "
                    "{})\r\n",
                    name, text_of(m.address, shm::kRingAddressMax), a.slot->epoch));
}

}  // namespace fulmar::engine
