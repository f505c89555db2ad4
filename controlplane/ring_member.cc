#include "ring_member.h"

#include <fmt/format.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/numbers.h"
#include "config/address_text.h"
#include "engine/ring_guard.h"
#include "repl_primary.h"
#include "repl_replica.h"

namespace fulmar::controlplane {
namespace {

constexpr std::string_view kRoot = "/fulmar/ring/";
constexpr std::string_view kPartitions = "/fulmar/partitions/";
constexpr int64_t kRefreshMs = 500;  // besides every watch event
// An old owner frozen this long without a flip calls it off and thaws.
constexpr int64_t kFreezeMaxMs = 3000;
constexpr uint32_t kDropBudget = 8192;  // chunks per step
constexpr int64_t kProgressEveryMs = 500;

int64_t mono_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string key(std::string_view leaf) {
    return std::string(kRoot) + std::string(leaf);
}

// The member name owning the arc that ends at `point`.
const std::string& owner_at(const ring::RingDoc& d, const ring::Ketama& k, uint32_t point) {
    return d.members[k.node_for_hash(point)].name;
}

}  // namespace

RingMember::RingMember(Deps deps) : deps_(std::move(deps)) {}

RingMember::~RingMember() {
    if (queue_) deps_.loop.remove(queue_->fd());
    watch_.reset();
}

Result<std::unique_ptr<RingMember>, std::string> RingMember::create(Deps deps) {
    std::unique_ptr<RingMember> m(new RingMember(std::move(deps)));
    m->queue_ = std::make_shared<cluster::EventQueue<cluster::WatchReport>>();
    if (!m->queue_->valid()) return Err(std::string("ring: no eventfd"));
    if (!m->deps_.loop.add(m->queue_->fd(), EPOLLIN, m.get()))
        return Err(std::string("ring: epoll"));
    m->watch_ = m->deps_.etcd.watch_prefix(std::string(kRoot), 0, 1, m->queue_);
    // A control plane that died left its rings published: the owners may be
    // reading those slots, so they count as held until replaced. A freeze
    // it left stays until this one knows better (the first refresh calls
    // off a flip the dead one may have been part of, or sees it done).
    shm::RingShm& r = m->deps_.ring;
    m->cur_slot_ = r.current.load(std::memory_order_acquire) % (shm::kRingSlots + 1);
    m->pend_slot_ = r.pending.load(std::memory_order_acquire) % (shm::kRingSlots + 1);
    if (r.frozen.load(std::memory_order_acquire) != 0) {
        m->frozen_ = true;
        m->done_written_ = true;  // only a flip, a cancel or the call-off thaws it
        m->frozen_at_ms_ = mono_ms();
    }
    return m;
}

void RingMember::on_event(uint32_t) {
    for (const cluster::WatchReport& r : queue_->drain()) {
        if (r.kind == cluster::WatchReport::Kind::kCompacted)
            watch_ = deps_.etcd.watch_prefix(std::string(kRoot), 0, 1, queue_);
        if (r.kind != cluster::WatchReport::Kind::kBroken) dirty_ = true;
    }
    tick();
}

void RingMember::log(std::string_view text) const {
    fmt::print("fulmar-controlplane: ring {}: {}\n", me(), text);
    std::fflush(stdout);
}

// ---- what etcd holds -------------------------------------------------------

void RingMember::refresh(int64_t now) {
    dirty_ = false;
    next_refresh_ms_ = now + kRefreshMs;
    auto got = deps_.etcd.get_prefix(std::string(kRoot));
    if (!got) return;  // etcd away: keep serving the ring we have
    std::optional<View> current, pending;
    std::map<std::string, std::string> done;
    for (const cluster::KeyValue& kv : got.value().kvs) {
        const std::string_view leaf = std::string_view(kv.key).substr(kRoot.size());
        if (leaf.starts_with("done/") || leaf.starts_with("ready/")) {
            done[std::string(leaf)] = kv.value;
            continue;
        }
        if (leaf != "current" && leaf != "pending") continue;
        auto doc = ring::parse_ring_doc(kv.value);
        if (!doc) {
            log(fmt::format("{} in etcd is not a ring: {}", kv.key, doc.error()));
            continue;
        }
        View v{.doc = std::move(doc.value()), .rev = kv.mod_revision};
        if (!v.doc.members.empty()) {
            auto k = ring::build_ring(v.doc);
            if (!k) {
                log(fmt::format("{}: {}", kv.key, k.error().message));
                continue;
            }
            v.ketama = std::make_shared<const ring::Ketama>(std::move(k.value()));
        }
        (leaf == "current" ? current : pending) = std::move(v);
    }
    apply(std::move(current), std::move(pending), std::move(done), now);
}

void RingMember::release_slot(std::atomic<uint32_t>& which, uint32_t& held, int64_t now) {
    which.store(0, std::memory_order_release);
    if (held != 0) slot_free_at_[held - 1] = now;
    held = 0;
}

bool RingMember::publish_slot(const View& v, std::atomic<uint32_t>& which, uint32_t& held,
                              int64_t now) {
    if (!v.ketama) {
        release_slot(which, held, now);
        return true;
    }
    // A slot nobody has been told about for the grace period.
    uint32_t pick = 0;
    for (uint32_t i = 1; i <= shm::kRingSlots && pick == 0; ++i)
        if (i != cur_slot_ && i != pend_slot_ &&
            now - slot_free_at_[i - 1] >= static_cast<int64_t>(shm::kRingSlotGraceMs))
            pick = i;
    if (pick == 0) return false;  // again at the next tick
    shm::RingSlot& slot = deps_.ring.slots[pick - 1];
    if (std::string why =
            engine::fill_ring_slot(v.doc, *v.ketama, me(), deps_.cfg.controlplane.redis_port, slot);
        !why.empty()) {
        log(why);
        return false;
    }
    which.store(pick, std::memory_order_release);
    if (held != 0) slot_free_at_[held - 1] = now;
    held = pick;
    return true;
}

bool RingMember::sync_shm(int64_t now) {
    // Runs every loop turn: compares in place, copies only on a change.
    const auto same = [](const std::optional<ring::RingDoc>& held, const std::optional<View>& v) {
        return held.has_value() == v.has_value() && (!held || *held == v->doc);
    };
    const auto doc_of = [](const std::optional<View>& v) {
        return v ? std::optional<ring::RingDoc>(v->doc) : std::nullopt;
    };
    if (!same(shm_cur_, current_)) {
        const bool ok = current_ ? publish_slot(*current_, deps_.ring.current, cur_slot_, now)
                                 : (release_slot(deps_.ring.current, cur_slot_, now), true);
        if (!ok) return false;
        shm_cur_ = doc_of(current_);
        // Keys the new ring gives away go; so do any a move left behind.
        drop_needed_ = true;
    }
    if (!same(shm_pend_, pending_)) {
        const bool ok = pending_ ? publish_slot(*pending_, deps_.ring.pending, pend_slot_, now)
                                 : (release_slot(deps_.ring.pending, pend_slot_, now), true);
        if (!ok) return false;
        shm_pend_ = doc_of(pending_);
    }
    return true;
}

void RingMember::apply(std::optional<View> current, std::optional<View> pending,
                       std::map<std::string, std::string> done, int64_t now) {
    if (!loaded_) {
        loaded_ = true;
        // This node's earlier control plane may have said ready/ or done/
        // for the move under way and then died, having taken writes since
        // for all it knows: no flip may count on those words. Putting
        // pending again makes every ready/ and done/ of it stale.
        if (pending && (done.contains("ready/" + me()) || done.contains("done/" + me()))) {
            cluster::TxnRequest t;
            t.compares.push_back(cluster::Compare::mod_revision(
                key("pending"), cluster::Compare::Op::kEqual, pending->rev));
            t.success.push_back(cluster::TxnOp::put(key("pending"), format_ring_doc(pending->doc)));
            auto r = deps_.etcd.txn(t);
            if (!r) {
                loaded_ = false;  // etcd away: decide again at the next refresh
                return;
            }
            log("restarted during a move: its flip is called off and starts again");
            dirty_ = true;
            return;
        }
    }
    const bool cur_changed =
        current.has_value() != current_.has_value() || (current && current->doc != current_->doc);
    const bool pend_changed =
        pending.has_value() != pending_.has_value() || (pending && pending->doc != pending_->doc);
    if (cur_changed) {
        if (frozen_ && current && pending_ && current->doc.members == pending_->doc.members) {
            last_pause_ms_ = now - frozen_at_ms_;
            ++flips_seen_;
            last_move_keys_ = last_move_bytes_ = 0;
            if (const ReplPrimary* p = deps_.role.primary())
                for (const auto& l : p->move_links()) {
                    last_move_keys_ += l.keys;
                    last_move_bytes_ += l.bytes;
                }
            last_move_ms_ = now - move_started_ms_;
            log(fmt::format("flipped to epoch {}: writes to the moved keys were held {} ms",
                            current->doc.epoch, last_pause_ms_));
        } else if (current) {
            log(fmt::format("ring epoch {}: {} partitions", current->doc.epoch,
                            current->doc.members.size()));
        }
    }
    current_ = std::move(current);
    done_ = std::move(done);
    if (cur_changed || pend_changed) {
        stop_move(cur_changed ? "the ring changed" : "the pending ring changed");
        pending_ = std::move(pending);
        flows_ = flows();
        if (pending_) {
            move_started_ms_ = now;
            // A receiver first drops what an earlier, broken move left here,
            // so it cannot come back; a sender has nothing to drop.
            for (const Flow& f : flows_)
                drop_needed_ = drop_needed_ || f.to == me();
        }
    } else if (pending) {
        pending_->rev = pending->rev;  // re-put by a called-off flip
    }
}

std::vector<RingMember::Flow> RingMember::flows() const {
    std::vector<Flow> out;
    if (!pending_ || !current_ || !pending_->ketama || !current_->ketama) return out;
    // Every arc ends at a point of one ring or the other: the owners at
    // each such point, before and after, say who gives keys to whom.
    std::set<std::pair<std::string, std::string>> seen;
    for (const ring::Ketama* k : {current_->ketama.get(), pending_->ketama.get()}) {
        for (const uint32_t p : k->point_values()) {
            const std::string& from = owner_at(current_->doc, *current_->ketama, p);
            const std::string& to = owner_at(pending_->doc, *pending_->ketama, p);
            if (from != to && seen.emplace(from, to).second) out.push_back({from, to});
        }
    }
    return out;
}

// ---- the loop --------------------------------------------------------------

void RingMember::tick() {
    const int64_t now = mono_ms();
    if (dirty_ || now >= next_refresh_ms_) refresh(now);
    // Nothing moves or drops before the owners see the rings it is about.
    if (!sync_shm(now)) return;
    if (!deps_.may_write()) {
        // A replica (or a fenced primary) serves the ring and moves nothing:
        // its primary's moves reach it through replication.
        if (frozen_ || !incoming_.empty()) stop_move("this node is not its partition's primary");
        drop_needed_ = drop_needed_ || drop_running_;
        return;
    }
    install_resolver();
    run_drop();
    if (!pending_) return;
    run_incoming(now);
    run_outgoing(now);
    try_flip();
    publish_progress(now);
}

void RingMember::install_resolver() {
    // Each ReplPrimary the role creates (a failover makes a new one) gets it.
    ReplPrimary* p = deps_.role.primary();
    if (p == nullptr || p->has_move_resolver()) return;
    p->set_move_resolver([this](const repl_wire::MoveRequest& req,
                                std::string& error) -> std::optional<ReplPrimary::MoveFilter> {
        if (!pending_ || !current_ || !pending_->ketama || !current_->ketama) {
            error = "no move is under way here";
            return std::nullopt;
        }
        if (req.epoch != pending_->doc.epoch) {
            error = fmt::format("this node moves to ring epoch {}, not {}", pending_->doc.epoch,
                                req.epoch);
            return std::nullopt;
        }
        const int from = current_->doc.find(me());
        const int to = pending_->doc.find(req.partition);
        if (from < 0 || to < 0) {
            error = fmt::format("no keys move from {} to {}", me(), req.partition);
            return std::nullopt;
        }
        return ReplPrimary::MoveFilter{.wants =
                                           [cur = current_->ketama, next = pending_->ketama,
                                            from = static_cast<uint32_t>(from),
                                            to = static_cast<uint32_t>(to)](std::string_view k) {
                                               const uint32_t h = ring::ketama_hash(k);
                                               return cur->node_for_hash(h) == from &&
                                                      next->node_for_hash(h) == to;
                                           },
                                       .pending_member = static_cast<uint32_t>(to)};
    });
}

void RingMember::run_drop() {
    if (!drop_running_) {
        if (!drop_needed_ || !current_) return;
        drop_needed_ = false;
        drop_running_ = true;
        dropped_ = 0;
        drop_steps_.assign(deps_.n_shards, dataplane::RingDropStep{.budget = kDropBudget});
        drop_inflight_.assign(deps_.n_shards, 0);
    }
    bool all_done = true;
    for (size_t s = 0; s < deps_.n_shards; ++s) {
        if (drop_steps_[s].done != 0) continue;
        all_done = false;
        if (drop_inflight_[s] != 0) continue;
        dataplane::RingDropStep step = drop_steps_[s];
        step.budget = kDropBudget;
        dataplane::Message* msg =
            deps_.channel.prepare({reinterpret_cast<const char*>(&step), sizeof(step)}, nullptr,
                                  kRingTicketBit | (uint64_t{s} << 32) | 0);
        if (msg == nullptr) return;
        msg->kind = dataplane::MessageKind::kControlRingDrop;
        deps_.channel.send(s, msg);
        drop_inflight_[s] = 1;
    }
    if (all_done) {
        drop_running_ = false;
        dropped_total_ += dropped_;
        if (dropped_ != 0) log(fmt::format("dropped {} keys other partitions own", dropped_));
    }
}

void RingMember::on_reply(const OwnerReply& r) {
    for (Incoming& in : incoming_)
        in.link->on_reply(r);
    if ((r.ticket >> 40 & 0xffff) != 0) return;  // a move link's batch
    const size_t s = static_cast<size_t>(r.ticket >> 32 & 0xff);
    dataplane::RingDropStep step{};
    if (r.bytes == nullptr || r.len != sizeof(step) || s >= deps_.n_shards) return;
    const void* p = rte_pktmbuf_read(r.bytes, 0, sizeof(step), &step);
    if (p != &step) std::memcpy(&step, p, sizeof(step));
    if (step.budget == 0) {
        // A freeze barrier: the owner has run its inbox up to here, so every
        // write it runs from now on sees the freeze.
        if (barrier_left_ > 0) --barrier_left_;
        return;
    }
    if (s < drop_inflight_.size()) {
        drop_inflight_[s] = 0;
        drop_steps_[s] = step;
        dropped_ += step.dropped;
    }
}

// ---- the new owner's side ----------------------------------------------------

void RingMember::run_incoming(int64_t now) {
    std::vector<std::string> sources;
    for (const Flow& f : flows_)
        if (f.to == me()) sources.push_back(f.from);
    if (sources.empty()) return;
    for (const Incoming& in : incoming_) {
        if (!in.link->failed()) continue;
        log(fmt::format("the move link from {} broke ({}): dropping what came and starting over",
                        in.source, in.link->last_error()));
        incoming_.clear();
        drop_needed_ = true;
        return;
    }
    if (!incoming_.empty()) {
        for (Incoming& in : incoming_)
            in.link->tick();
        return;
    }
    if (drop_running_ || drop_needed_) return;  // the walk first: nothing stale stays
    if (now < next_incoming_try_ms_) return;
    next_incoming_try_ms_ = now + 200;  // a source without a primary yet: ask again soon
    // Each old owner's primary, as its partition's agent published it.
    std::vector<Incoming> links;
    for (size_t i = 0; i < sources.size(); ++i) {
        auto got = deps_.etcd.get(std::string(kPartitions) + sources[i] + "/primary");
        if (!got || got.value().kvs.empty()) return;           // no primary yet: next tick
        const std::string& v = got.value().kvs.front().value;  // "<epoch> <node> <address>"
        const size_t sp = v.rfind(' ');
        const std::string addr = sp == std::string::npos ? v : v.substr(sp + 1);
        const size_t colon = addr.rfind(':');
        const auto ip = colon == std::string::npos
                            ? std::nullopt
                            : config::parse_ipv4(std::string_view(addr).substr(0, colon));
        uint32_t port = 0;
        if (!ip || !parse_u32(std::string_view(addr).substr(colon + 1), port) || port == 0 ||
            port > 65535) {
            log(fmt::format("partition {}'s primary address '{}' is not A.B.C.D:port", sources[i],
                            addr));
            return;
        }
        auto link = std::make_unique<ReplReplica>(deps_.channel, deps_.loop, *ip,
                                                  static_cast<uint16_t>(port), deps_.n_shards);
        link->set_move(repl_wire::MoveRequest{.partition = me(),
                                              .epoch = pending_->doc.epoch,
                                              .n_shards = deps_.n_shards,
                                              .seed_check = repl_seed_check()},
                       kRingTicketBit | (uint64_t{i + 1} << 40));
        links.push_back(Incoming{sources[i], std::move(link)});
    }
    incoming_ = std::move(links);
    incoming_epoch_ = pending_->doc.epoch;
    log(fmt::format("receiving the keys ring epoch {} gives us from {}", incoming_epoch_,
                    fmt::join(sources, ", ")));
}

// ---- the old owner's side ----------------------------------------------------

void RingMember::run_outgoing(int64_t now) {
    std::set<std::string> dests;
    for (const Flow& f : flows_)
        if (f.from == me()) dests.insert(f.to);
    if (dests.empty()) return;
    ReplPrimary* p = deps_.role.primary();
    if (p == nullptr) return;
    const auto links = p->move_links();
    bool all_caught_up = true;
    for (const std::string& d : dests) {
        bool found = false;
        for (const auto& l : links)
            if (l.partition == d && l.epoch == pending_->doc.epoch) {
                found = true;
                all_caught_up = all_caught_up && l.caught_up;
            }
        all_caught_up = all_caught_up && found;
        if (!found && frozen_) {
            log(fmt::format("the move link to {} is gone while frozen: thawing", d));
            thaw();
            return;
        }
    }
    if (!frozen_) {
        if (!all_caught_up) return;
        // Caught up: say so, and freeze when every old owner is, so that the
        // moving keys wait once for the flip, not for the slowest sender.
        const std::string rev = std::to_string(pending_->rev);
        auto mine = done_.find("ready/" + me());
        if (mine == done_.end() || mine->second != rev) {
            if (deps_.etcd.put(key("ready/" + me()), rev)) dirty_ = true;
            return;
        }
        for (const Flow& f : flows_) {
            auto it = done_.find("ready/" + f.from);
            if (it == done_.end() || it->second != rev) return;
        }
        freeze(now);
        return;
    }
    if (done_written_) {
        if (now - frozen_at_ms_ > kFreezeMaxMs) {
            // Call the flip off: a new revision of pending makes every done/
            // written for this one useless to a flip.
            cluster::TxnRequest t;
            t.compares.push_back(cluster::Compare::mod_revision(
                key("pending"), cluster::Compare::Op::kEqual, pending_->rev));
            t.success.push_back(
                cluster::TxnOp::put(key("pending"), format_ring_doc(pending_->doc)));
            auto r = deps_.etcd.txn(t);
            if (r && r.value().succeeded) {
                log(fmt::format("no flip {} ms after the freeze: called off, writes resume",
                                kFreezeMaxMs));
                thaw();
                dirty_ = true;
            }
        }
        return;
    }
    if (barrier_left_ > 0) return;
    if (!drained_) {
        // Every write before the freeze is in the logs now: out to the links.
        p->drain_all();
        drained_ = true;
        return;  // their status next tick
    }
    if (!all_caught_up) return;
    auto put = deps_.etcd.put(key("done/" + me()), std::to_string(pending_->rev));
    if (!put) return;  // again next tick
    done_written_ = true;
    dirty_ = true;
}

void RingMember::freeze(int64_t now) {
    deps_.ring.frozen.store(1, std::memory_order_release);
    frozen_ = true;
    frozen_at_ms_ = now;
    drained_ = false;
    done_written_ = false;
    barrier_left_ = 0;
    for (size_t s = 0; s < deps_.n_shards; ++s) {
        dataplane::RingDropStep step{};  // budget 0: looks at nothing, answers
        dataplane::Message* msg =
            deps_.channel.prepare({reinterpret_cast<const char*>(&step), sizeof(step)}, nullptr,
                                  kRingTicketBit | (uint64_t{s} << 32) | 1);
        if (msg == nullptr) {
            thaw();  // no room for the barrier now: next tick
            return;
        }
        msg->kind = dataplane::MessageKind::kControlRingDrop;
        deps_.channel.send(s, msg);
        ++barrier_left_;
    }
}

void RingMember::thaw() {
    deps_.ring.frozen.store(0, std::memory_order_release);
    frozen_ = false;
    drained_ = false;
    done_written_ = false;
    // Barrier replies still on their way are ignored (barrier_left_ 0).
    barrier_left_ = 0;
}

void RingMember::stop_move(std::string_view why) {
    if (ReplPrimary* p = deps_.role.primary())
        if (p->close_move_links() != 0) log(fmt::format("move links closed: {}", why));
    if (!incoming_.empty()) log(fmt::format("receiving stopped: {}", why));
    incoming_.clear();
    if (frozen_) thaw();
}

void RingMember::try_flip() {
    if (!pending_ || !current_) return;
    std::set<std::string> sources;
    for (const Flow& f : flows_)
        sources.insert(f.from);
    const std::string rev = std::to_string(pending_->rev);
    for (const std::string& s : sources) {
        auto it = done_.find("done/" + s);
        if (it == done_.end() || it->second != rev) return;
    }
    cluster::TxnRequest t;
    t.compares.push_back(cluster::Compare::mod_revision(
        key("current"), cluster::Compare::Op::kEqual, current_->rev));
    t.compares.push_back(cluster::Compare::mod_revision(
        key("pending"), cluster::Compare::Op::kEqual, pending_->rev));
    for (const std::string& s : sources)
        t.compares.push_back(
            cluster::Compare::value_is(key("done/" + s), cluster::Compare::Op::kEqual, rev));
    t.success.push_back(cluster::TxnOp::put(key("current"), format_ring_doc(pending_->doc)));
    t.success.push_back(cluster::TxnOp::del(key("pending")));
    t.success.push_back(cluster::TxnOp::del(key("done/"), cluster::TxnOp::Range::kPrefix));
    t.success.push_back(cluster::TxnOp::del(key("ready/"), cluster::TxnOp::Range::kPrefix));
    t.success.push_back(cluster::TxnOp::del(key("progress/"), cluster::TxnOp::Range::kPrefix));
    auto r = deps_.etcd.txn(t);
    if (r && r.value().succeeded) log(fmt::format("flip to ring epoch {}", pending_->doc.epoch));
    dirty_ = true;
}

// ---- status and changes --------------------------------------------------------

void RingMember::publish_progress(int64_t now) {
    if (now - last_progress_ms_ < kProgressEveryMs) return;
    last_progress_ms_ = now;
    const ReplPrimary* p = deps_.role.primary();
    if (p == nullptr) return;
    uint64_t keys = 0, bytes = 0;
    size_t n = 0, synced = 0;
    for (const auto& l : p->move_links()) {
        keys += l.keys;
        bytes += l.bytes;
        ++n;
        synced += l.snapshot_done ? 1 : 0;
    }
    if (n == 0) return;
    (void)deps_.etcd.put(key("progress/" + me()),
                         fmt::format("{} {} {} {} {} {}", pending_->doc.epoch, keys, bytes,
                                     now - move_started_ms_, synced, n));
}

std::vector<std::pair<std::string, std::string>> RingMember::status(int64_t now) const {
    std::vector<std::pair<std::string, std::string>> out;
    const auto members = [](const View& v) {
        std::string s;
        for (const ring::Node& n : v.doc.members)
            s += fmt::format("{}{}={}:{}:{}", s.empty() ? "" : " ", n.name, n.host, n.port,
                             n.weight);
        return s;
    };
    out.emplace_back("partition", me());
    out.emplace_back("epoch", current_ ? std::to_string(current_->doc.epoch) : "0");
    out.emplace_back("members", current_ ? members(*current_) : "");
    std::string phase = "serving";
    if (pending_) phase = frozen_ ? (done_written_ ? "flipping" : "freezing") : "moving";
    out.emplace_back("phase", phase);
    out.emplace_back("pending_epoch", pending_ ? std::to_string(pending_->doc.epoch) : "-");
    out.emplace_back("pending_members", pending_ ? members(*pending_) : "-");
    std::string moves;
    for (const Flow& f : flows_)
        moves += fmt::format("{}{}->{}", moves.empty() ? "" : " ", f.from, f.to);
    out.emplace_back("moves", moves.empty() ? "-" : moves);
    // This node's part: what it sends and what it receives.
    uint64_t keys = 0, bytes = 0;
    std::string sending;
    double walked = 0;
    size_t n_links = 0;
    if (const ReplPrimary* p = deps_.role.primary())
        for (const auto& l : p->move_links()) {
            keys += l.keys;
            bytes += l.bytes;
            ++n_links;
            walked += l.snapshot_done          ? 1.0
                      : deps_.total_pages == 0 ? 0.0
                                               : static_cast<double>(l.pages_walked) /
                                                     static_cast<double>(deps_.total_pages);
            sending += fmt::format("{}{}:{}", sending.empty() ? "" : " ", l.partition,
                                   l.caught_up       ? "caught-up"
                                   : l.snapshot_done ? "streaming"
                                                     : "snapshot");
        }
    out.emplace_back("sending", sending.empty() ? "-" : sending);
    out.emplace_back("sent_keys", std::to_string(keys));
    out.emplace_back("sent_bytes", std::to_string(bytes));
    const double secs = pending_ ? static_cast<double>(now - move_started_ms_) / 1000.0 : 0.0;
    out.emplace_back("elapsed_s", fmt::format("{:.1f}", secs));
    out.emplace_back("rate_keys_s", secs > 0 ? fmt::format("{:.0f}", keys / secs) : "0");
    out.emplace_back("rate_mb_s", secs > 0 ? fmt::format("{:.1f}", bytes / secs / 1e6) : "0");
    // The walks' share done (what the snapshot still has to look at), and
    // the time left at the rate so far.
    const double share = n_links == 0 ? 0.0 : walked / static_cast<double>(n_links);
    out.emplace_back("progress_pct", n_links == 0 ? "-" : fmt::format("{:.0f}", share * 100));
    out.emplace_back("eta_s", n_links == 0 || share <= 0.0
                                  ? std::string("-")
                                  : fmt::format("{:.1f}", secs * (1.0 - share) / share));
    std::string receiving;
    uint64_t received = 0;
    for (const Incoming& in : incoming_) {
        received += in.link->records_applied();
        receiving += fmt::format("{}{}:{}", receiving.empty() ? "" : " ", in.source,
                                 in.link->move_synced() ? "caught-up" : "syncing");
    }
    out.emplace_back("receiving", receiving.empty() ? "-" : receiving);
    out.emplace_back("received_records", std::to_string(received));
    // Every old owner's progress, as each published it.
    std::string cluster_keys;
    for (const auto& [leaf, value] : done_)
        cluster_keys += fmt::format("{}{}", cluster_keys.empty() ? "" : " ", leaf);
    out.emplace_back("ready_done", cluster_keys.empty() ? "-" : cluster_keys);
    out.emplace_back("flips", std::to_string(flips_seen_));
    out.emplace_back("dropping", drop_running_ ? "yes" : "no");
    out.emplace_back("dropped_keys",
                     std::to_string(dropped_total_ + (drop_running_ ? dropped_ : 0)));
    out.emplace_back("last_flip_pause_ms",
                     last_pause_ms_ < 0 ? std::string("-") : std::to_string(last_pause_ms_));
    out.emplace_back("last_move_keys", std::to_string(last_move_keys_));
    out.emplace_back("last_move_bytes", std::to_string(last_move_bytes_));
    out.emplace_back("last_move_ms",
                     last_move_ms_ < 0 ? std::string("-") : std::to_string(last_move_ms_));
    out.emplace_back("moved_reads", std::to_string(deps_.ring.moved_reads.load()));
    out.emplace_back("moved_writes", std::to_string(deps_.ring.moved_writes.load()));
    out.emplace_back("frozen_writes", std::to_string(deps_.ring.frozen_writes.load()));
    return out;
}

std::string RingMember::change(std::string_view op, std::span<const std::string_view> args) {
    auto got = deps_.etcd.get_prefix(std::string(kRoot));
    if (!got) return "etcd did not answer";
    std::optional<cluster::KeyValue> cur, pend;
    for (const cluster::KeyValue& kv : got.value().kvs) {
        if (kv.key == key("current")) cur = kv;
        if (kv.key == key("pending")) pend = kv;
    }
    if (op == "cancel") {
        if (!pend) return "no move is under way";
        cluster::TxnRequest t;
        t.compares.push_back(cluster::Compare::mod_revision(
            key("pending"), cluster::Compare::Op::kEqual, pend->mod_revision));
        t.success.push_back(cluster::TxnOp::del(key("pending")));
        t.success.push_back(cluster::TxnOp::del(key("done/"), cluster::TxnOp::Range::kPrefix));
        t.success.push_back(cluster::TxnOp::del(key("progress/"), cluster::TxnOp::Range::kPrefix));
        auto r = deps_.etcd.txn(t);
        if (!r || !r.value().succeeded)
            return "the move changed meanwhile (it flipped?): look again";
        dirty_ = true;
        return "";
    }
    if (pend) return "a move is under way (RING STATUS): wait for its flip, or RING CANCEL it";
    ring::RingDoc doc;
    if (cur) {
        auto d = ring::parse_ring_doc(cur->value);
        if (!d) return fmt::format("the ring in etcd is damaged: {}", d.error());
        doc = std::move(d.value());
    }
    if (op == "add") {
        const std::string_view name = args[0];
        if (!ring::valid_partition_name(name))
            return "a partition name is letters, digits, '-', '_', '.' (at most 47)";
        if (doc.find(name) >= 0) return fmt::format("partition {} is in the ring already", name);
        uint32_t weight = 1;
        if (args.size() > 2 && (!parse_u32(args[2], weight) || weight == 0))
            return "the weight is 1 or more";
        auto node = ring::parse_node(fmt::format("{}:{} {}", args[1], weight, name));
        if (!node) return node.error().message;
        doc.members.push_back(std::move(node.value()));
    } else {
        const int at = doc.find(args[0]);
        if (at < 0) return fmt::format("partition {} is not in the ring", args[0]);
        if (doc.members.size() == 1) return "the ring's last partition stays";
        doc.members.erase(doc.members.begin() + at);
    }
    if (doc.members.size() > shm::kMaxRingMembers)
        return fmt::format("at most {} partitions", shm::kMaxRingMembers);
    doc.epoch += 1;
    if (auto k = ring::build_ring(doc); !k) return k.error().message;
    cluster::TxnRequest t;
    if (!cur) {
        // The first partition: nothing to move, the ring starts with it.
        t.compares.push_back(
            cluster::Compare::version(key("current"), cluster::Compare::Op::kEqual, 0));
        t.success.push_back(cluster::TxnOp::put(key("current"), format_ring_doc(doc)));
    } else {
        t.compares.push_back(cluster::Compare::mod_revision(
            key("current"), cluster::Compare::Op::kEqual, cur->mod_revision));
        t.compares.push_back(
            cluster::Compare::version(key("pending"), cluster::Compare::Op::kEqual, 0));
        t.success.push_back(cluster::TxnOp::put(key("pending"), format_ring_doc(doc)));
    }
    auto r = deps_.etcd.txn(t);
    if (!r) return "etcd did not answer";
    if (!r.value().succeeded) return "the ring changed meanwhile: look again";
    dirty_ = true;
    return "";
}

void RingMember::admin(std::span<const std::string_view> args, proto::RespWriter& out) {
    const auto is = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(),
                          [](char x, char y) { return (x | 0x20) == (y | 0x20); });
    };
    const int64_t now = mono_ms();
    if (args.size() <= 1 || (args.size() == 2 && is(args[1], "status"))) {
        refresh(now);
        const auto rows = status(now);
        out.write_array(rows.size() * 2);
        for (const auto& [k, v] : rows) {
            out.write_bulk(k);
            out.write_bulk(v);
        }
        return;
    }
    std::string why;
    if (is(args[1], "add") && (args.size() == 4 || args.size() == 5))
        why = change("add", args.subspan(2));
    else if (is(args[1], "remove") && args.size() == 3)
        why = change("remove", args.subspan(2));
    else if (is(args[1], "cancel") && args.size() == 2)
        why = change("cancel", {});
    else
        why =
            "usage: RING [STATUS] | RING ADD name host:port [weight] | RING REMOVE name | RING "
            "CANCEL";
    if (why.empty()) {
        refresh(now);
        out.write_simple("OK");
    } else {
        out.write_error(why);
    }
}

}  // namespace fulmar::controlplane
