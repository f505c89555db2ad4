// The C API of libfulmar (include/fulmar/client.h): argument checks, the ring,
// request building per command, and the mapping of each reply to its
// documented return code. Traffic is the Exchange's (exchange.h, UDP) or the
// TcpExchange's (tcp_exchange.h), chosen per kind of operation by the
// client's transport option; both fill the same Request. A seeded client's
// ring is the cluster's, fetched with ring_fetch.h and replaced between
// requests when a fetch finds a higher epoch.
//
// Threading: a fulmar_client is used by one thread at a time; nothing here is
// shared between clients.
#include "fulmar/client.h"

#include <sys/random.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/callback_transport.h"
#include "client/exchange.h"
#include "client/ring_fetch.h"
#include "client/tcp_exchange.h"
#include "client/test_transport.h"
#include "client/text_reply.h"
#include "client/text_request.h"
#include "client/transport.h"
#include "ring/ketama.h"
#include "ring/node.h"
#include "ring/ring_doc.h"

namespace fc = fulmar::client;
namespace fr = fulmar::ring;

struct fulmar_client {
    fulmar_client(const fulmar_client_options& o, fr::Ketama&& r)
        : options(o), ring(std::move(r)) {}

    fulmar_client_options options;
    fr::Ketama ring;
    std::vector<std::string> names;       // "host:port" per server, in the user's (ring's) order
    std::vector<std::string> partitions;  // the entries' names ("" when none)
    std::vector<fc::Endpoint> endpoints;  // where each server is
    // UDP: the datagram transport and its exchange; null when nothing goes by UDP.
    std::unique_ptr<fc::Transport> transport;
    std::unique_ptr<fc::Exchange> exchange;
    // TCP: null when nothing goes by TCP.
    std::unique_ptr<fc::TcpExchange> tcp;

    // Seeded clients (fulmar_client_new_seeded): the ring is the cluster's,
    // fetched from its members (or the seeds) and replaced when a fetch
    // finds a higher epoch. Empty seeds: a static server list.
    std::vector<fc::Endpoint> seeds;
    uint64_t epoch = 0;
    uint64_t last_fetch_us = 0;  // last fetch attempt (CLOCK_MONOTONIC)
    uint32_t write_hash = 0;     // the ketama hash of the key of the write under way
    uint32_t next_fetch = 0;     // the member a fetch asks first (mod their number)

    // The last call's requests. Their reply buffers hold the bytes that
    // fulmar_item.value points into, so they live until the next call.
    std::vector<fc::Request> requests;
    size_t n_requests = 0;
    // Scratch reused between calls.
    std::vector<std::vector<uint32_t>> items_of_request;  // get: item indexes per request
    std::vector<uint32_t> node_of_item;
    std::vector<uint32_t> first_of_node;  // counting sort of items by node
    std::vector<uint32_t> items_by_node;
    std::vector<fc::ValueBlock> values;
};

namespace {

// memcached's item_size_ok(): 48-byte header + 8 CAS + key + NUL + value + CRLF.
constexpr size_t kItemOverhead = 48 + 8 + 1 + 2;
constexpr uint32_t kMaxTimeoutMs = 3'600'000;
constexpr uint32_t kMaxRetries = 1000;
constexpr uint32_t kMaxWindow = 1024;
constexpr uint32_t kMinRequestPayload = 300;  // "gets " + a 250-byte key + CRLF fits
constexpr uint32_t kMaxRequestPayload = 65'507 - FULMAR_MC_UDP_HEADER_SIZE;
constexpr uint32_t kMaxTcpConnections = 64;
constexpr uint32_t kMaxReconnectMinMs = 60'000;
constexpr uint32_t kMaxReconnectMaxMs = 600'000;
constexpr uint32_t kMaxRingRefreshMs = 3'600'000;

// What carries an operation.
enum class Op : uint8_t { kGet, kWrite };

bool over_tcp(const fulmar_client_options& o, Op op) {
    switch (o.transport) {
        case FULMAR_TRANSPORT_TCP:
            return true;
        case FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES:
            return op == Op::kWrite;
        default:
            return false;
    }
}

// ---------------------------------------------------------------- creation

// A C caller may store any int in an enum field; in C++ loading one outside
// the enumerators is undefined, so the fields are read as plain ints.
int enum_int(const void* field) {
    int v;
    std::memcpy(&v, field, sizeof v);
    return v;
}

int check_options(const fulmar_client_options& o) {
    static_assert(sizeof(o.transport) == sizeof(int) && sizeof(o.distribution) == sizeof(int));
    const int transport = enum_int(&o.transport);
    if (transport != FULMAR_TRANSPORT_UDP && transport != FULMAR_TRANSPORT_TCP &&
        transport != FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES) {
        return -EINVAL;
    }
    if (o.timeout_ms == 0 || o.timeout_ms > kMaxTimeoutMs || o.retries > kMaxRetries ||
        o.window == 0 || o.window > kMaxWindow || o.max_request_payload < kMinRequestPayload ||
        o.max_request_payload > kMaxRequestPayload) {
        return -EINVAL;
    }
    if (o.tcp_connections == 0 || o.tcp_connections > kMaxTcpConnections ||
        o.reconnect_min_ms == 0 || o.reconnect_min_ms > kMaxReconnectMinMs ||
        o.reconnect_max_ms < o.reconnect_min_ms || o.reconnect_max_ms > kMaxReconnectMaxMs) {
        return -EINVAL;
    }
    if (o.ring_refresh_ms > kMaxRingRefreshMs) return -EINVAL;
    const int distribution = enum_int(&o.distribution);
    if (distribution != FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY &&
        distribution != FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED) {
        return -EINVAL;
    }
    return 0;
}

fr::KetamaMode mode_of(fulmar_distribution d) {
    return d == FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED ? fr::KetamaMode::kLibmemcached
                                                        : fr::KetamaMode::kTwemproxy;
}

std::string display_name(const fr::Node& n) {
    std::string s;
    if (n.host.find(':') != std::string::npos) {
        s = "[" + n.host + "]";
    } else {
        s = n.host;
    }
    return s + ":" + std::to_string(n.port);
}

uint16_t random_request_id(uint64_t now_us) {
    // A new client should not start where a previous process on a reused port
    // left off, or that process's late replies could look like ours.
    uint16_t id = 0;
    if (::getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id)
        id = static_cast<uint16_t>(now_us ^ (now_us >> 16));
    return id;
}

// Opens what carries requests to `nodes` (the client's ring order) and
// makes them the client's, replacing any it had (connections to the old
// servers close). Callers: creation, and a seeded client's ring change.
int open_servers(fulmar_client& c, std::span<const fr::Node> nodes,
                 const fulmar_test_transport* callbacks, const uint16_t* first_id) {
    const fulmar_client_options& o = c.options;
    std::vector<std::string> names;
    std::vector<std::string> partitions;
    std::vector<fc::Endpoint> endpoints;
    for (const fr::Node& n : nodes) {
        names.push_back(display_name(n));
        partitions.push_back(n.name);
        endpoints.push_back(fc::Endpoint{n.host, n.port});
    }
    const bool udp = !over_tcp(o, Op::kGet) || !over_tcp(o, Op::kWrite);
    const bool tcp = over_tcp(o, Op::kGet) || over_tcp(o, Op::kWrite);
    std::unique_ptr<fc::Transport> transport;
    if (callbacks != nullptr) {
        if (callbacks->send == nullptr || callbacks->recv == nullptr ||
            callbacks->now_us == nullptr) {
            return -EINVAL;
        }
        if (tcp) return -EPROTONOSUPPORT;  // callbacks carry datagrams only
        transport = std::make_unique<fc::CallbackTransport>(*callbacks);
    } else if (udp) {
        if (const int rc = fc::make_udp_transport(endpoints, transport); rc != 0) return rc;
    }
    std::vector<fc::TcpAddress> addresses;
    if (tcp) {
        if (const int rc = fc::resolve_tcp(endpoints, addresses); rc != 0) return rc;
    }

    c.exchange.reset();  // it refers to the transport
    c.transport = std::move(transport);
    if (c.transport != nullptr) {
        const uint16_t id =
            first_id != nullptr ? *first_id : random_request_id(c.transport->now_us());
        c.exchange = std::make_unique<fc::Exchange>(
            *c.transport, static_cast<uint32_t>(names.size()),
            fc::ExchangeConf{uint64_t{o.timeout_ms} * 1000, o.window}, id);
    }
    c.tcp.reset();
    if (tcp) {
        c.tcp = std::make_unique<fc::TcpExchange>(
            std::move(addresses),
            fc::TcpConf{uint64_t{o.timeout_ms} * 1000, o.window, o.tcp_connections,
                        uint64_t{o.reconnect_min_ms} * 1000, uint64_t{o.reconnect_max_ms} * 1000});
    }
    c.names = std::move(names);
    c.partitions = std::move(partitions);
    c.endpoints = std::move(endpoints);
    return 0;
}

// Both constructors: parse, build the ring, then open the transport.
int create(const char* servers, const fulmar_client_options* options,
           const fulmar_test_transport* callbacks, const uint16_t* first_id, fulmar_client** out) {
    if (servers == nullptr || out == nullptr) return -EINVAL;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    if (options != nullptr) o = *options;
    if (const int rc = check_options(o); rc != 0) return rc;

    auto nodes = fr::parse_node_list(servers);
    if (!nodes) return -EINVAL;
    auto ring = fr::Ketama::build(nodes.value(), mode_of(o.distribution));
    if (!ring) return -EINVAL;

    auto c = std::make_unique<fulmar_client>(o, std::move(ring.value()));
    if (const int rc = open_servers(*c, nodes.value(), callbacks, first_id); rc != 0) return rc;
    *out = c.release();
    return 0;
}

// ---------------------------------------------------------------- seeded rings

uint64_t monotonic_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Asks the ring's members, then the seeds, for the ring, one at a time until
// one answers with a ring (a member outside the cluster answers epoch 0: the
// next is asked). Each fetch starts at the next member, from a random first
// one, so clients spread their fetches over the cluster. 0 with `doc` set, or
// the last failure: -ENODATA when every node that answered serves no ring,
// else fetch_ring()'s errors.
int fetch_cluster_ring(fulmar_client& c, fr::RingDoc& doc) {
    const uint64_t timeout_us = uint64_t{c.options.timeout_ms} * 1000;
    int last = -ETIMEDOUT;
    bool empty = false;
    const auto ask = [&](const fc::Endpoint& e) {
        fr::RingDoc d;
        const int rc = fc::fetch_ring(e, timeout_us, d);
        if (rc == 0 && d.epoch != 0 && !d.members.empty()) {
            doc = std::move(d);
            return true;
        }
        if (rc == 0) {
            empty = true;
        } else {
            last = rc;
        }
        return false;
    };
    const size_t n = c.endpoints.size();
    const size_t first = n > 0 ? c.next_fetch++ % n : 0;
    for (size_t i = 0; i < n; ++i)
        if (ask(c.endpoints[(first + i) % n])) return 0;
    for (const fc::Endpoint& e : c.seeds) {
        bool member = false;  // asked just now
        for (const fc::Endpoint& m : c.endpoints)
            member = member || (m.host == e.host && m.port == e.port);
        if (!member && ask(e)) return 0;
    }
    return empty ? -ENODATA : last;
}

// Makes `doc` the client's ring when its epoch is higher. 1 when it did, 0
// when the client's ring is as new, or an error of open_servers() (the old
// ring stays).
int adopt_ring(fulmar_client& c, const fr::RingDoc& doc) {
    if (doc.epoch <= c.epoch) return 0;
    auto ring = fr::build_ring(doc);
    if (!ring) return -EPROTO;
    // Open the new servers first: on failure the client keeps working on the old ring.
    fulmar_client next(c.options, std::move(ring.value()));
    if (const int rc = open_servers(next, doc.members, nullptr, nullptr); rc != 0) return rc;
    c.ring = std::move(next.ring);
    c.names = std::move(next.names);
    c.partitions = std::move(next.partitions);
    c.endpoints = std::move(next.endpoints);
    c.exchange.reset();
    c.transport = std::move(next.transport);
    c.exchange = std::move(next.exchange);
    c.tcp = std::move(next.tcp);
    c.epoch = doc.epoch;
    return 1;
}

// Fetches the cluster's ring and adopts it when newer: 1 switched, 0 same
// epoch, or why no ring could be had.
int refresh_ring(fulmar_client& c) {
    c.last_fetch_us = monotonic_us();
    fr::RingDoc doc;
    if (const int rc = fetch_cluster_ring(c, doc); rc != 0) return rc;
    return adopt_ring(c, doc);
}

// At the start of each call of a seeded client: refresh when the last fetch
// is ring_refresh_ms old. A failed fetch keeps the ring (the nodes may be
// busy, not gone) and is tried again an interval later.
void refresh_if_due(fulmar_client& c) {
    if (c.seeds.empty() || c.options.ring_refresh_ms == 0) return;
    if (monotonic_us() - c.last_fetch_us < uint64_t{c.options.ring_refresh_ms} * 1000) return;
    (void)refresh_ring(c);
}

int create_seeded(const char* seeds, const fulmar_client_options* options, fulmar_client** out) {
    if (seeds == nullptr || out == nullptr) return -EINVAL;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    if (options != nullptr) o = *options;
    if (const int rc = check_options(o); rc != 0) return rc;
    // The cluster's ring is ketama over partition names: twemproxy's labels.
    if (enum_int(&o.distribution) != FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY) return -EINVAL;
    auto nodes = fr::parse_node_list(seeds);
    if (!nodes) return -EINVAL;

    // An empty ring until the first fetch; the seeds are asked first.
    auto placeholder = fr::Ketama::build(nodes.value(), fr::KetamaMode::kTwemproxy);
    if (!placeholder) return -EINVAL;
    auto c = std::make_unique<fulmar_client>(o, std::move(placeholder.value()));
    for (const fr::Node& n : nodes.value()) {
        // A seed is an address, not a partition: no name, no weight.
        if (!n.name.empty() || n.weight != 1) return -EINVAL;
        c->seeds.push_back(fc::Endpoint{n.host, n.port});
    }
    c->last_fetch_us = monotonic_us();
    if (::getrandom(&c->next_fetch, sizeof c->next_fetch, GRND_NONBLOCK) != sizeof c->next_fetch) {
        c->next_fetch = static_cast<uint32_t>(c->last_fetch_us);
    }
    fr::RingDoc doc;
    if (const int rc = fetch_cluster_ring(*c, doc); rc != 0) return rc;
    if (const int rc = adopt_ring(*c, doc); rc < 0) return rc;
    *out = c.release();
    return 0;
}

// Runs requests on the transport the client uses for `op`.
int run_requests(fulmar_client& c, Op op, std::span<fc::Request> requests) {
    if (over_tcp(c.options, op)) return c.tcp->run(requests);
    return c.exchange->run(requests);
}

// ---------------------------------------------------------------- gets

// Worst outcome of a multi-get, in the order the API documents precedence.
int mget_result(const fulmar_item* items, size_t n) {
    bool proto = false;
    bool io = false;
    int other = 0;
    for (size_t i = 0; i < n; ++i) {
        switch (items[i].status) {
            case 0:
            case -ENOENT:
                break;
            case -ETIMEDOUT:
                return -ETIMEDOUT;
            case -EPROTO:
                proto = true;
                break;
            case -EIO:
                io = true;
                break;
            default:
                other = items[i].status;  // the transport failed
        }
    }
    if (other != 0) return other;
    if (proto) return -EPROTO;
    if (io) return -EIO;
    return 0;
}

// Builds the requests of one server's keys, split so each fits a datagram.
void build_get_requests(fulmar_client& c, std::string_view cmd, const fulmar_item* items,
                        uint32_t node, std::span<const uint32_t> keys) {
    const size_t max = c.options.max_request_payload;
    size_t text_len = 0;
    for (const uint32_t i : keys) {
        const size_t cost = fc::get_key_cost(items[i].key_len);
        if (text_len == 0 || text_len + cost + fc::kLineEnd > max) {
            if (text_len != 0) fc::append_text(c.requests[c.n_requests - 1].datagram, "\r\n");
            if (c.n_requests == c.requests.size()) c.requests.emplace_back();
            if (c.n_requests == c.items_of_request.size()) c.items_of_request.emplace_back();
            fc::Request& r = c.requests[c.n_requests];
            r.node = node;
            r.framing = fc::ReplyFraming::kValuesThenEnd;
            r.max_attempts = c.options.retries + 1;
            fc::begin_datagram(r.datagram);
            fc::append_text(r.datagram, cmd);
            c.items_of_request[c.n_requests].clear();
            ++c.n_requests;
            text_len = cmd.size();
        }
        fc::Request& r = c.requests[c.n_requests - 1];
        fc::append_text(r.datagram, " ");
        fc::append_text(r.datagram, std::string_view(items[i].key, items[i].key_len));
        c.items_of_request[c.n_requests - 1].push_back(i);
        text_len += cost;
    }
    if (text_len != 0) fc::append_text(c.requests[c.n_requests - 1].datagram, "\r\n");
}

// Fills the items of request r from its reply. memcached sends values in
// request order and only for hits, but memcached 1.6 sends each as its own UDP
// message, which the network may reorder; so each value fills the first
// unfilled item of its key, searched from just after the previous match (one
// comparison when in order). A repeated value for a key already filled is a
// duplicated message and is dropped; a value for a key never asked makes the
// whole reply suspect.
void apply_get_reply(fulmar_client& c, uint32_t r, fulmar_item* items) {
    constexpr int kUnfilled = 1;
    const fc::Request& req = c.requests[r];
    const std::vector<uint32_t>& keys = c.items_of_request[r];
    if (req.status != 0) {
        for (const uint32_t i : keys)
            items[i].status = req.status;
        return;
    }
    const fc::GetReplyStatus st =
        fc::parse_get_reply(std::string_view(req.reply.data(), req.reply.size()), c.values);
    if (st != fc::GetReplyStatus::kOk && st != fc::GetReplyStatus::kServerError) {
        for (const uint32_t i : keys)
            items[i].status = -EPROTO;
        return;
    }
    const auto key_of = [items](uint32_t i) {
        return std::string_view(items[i].key, items[i].key_len);
    };
    for (const uint32_t i : keys)
        items[i].status = kUnfilled;
    const size_t n = keys.size();
    size_t hint = 0;
    for (const fc::ValueBlock& v : c.values) {
        size_t found = n;
        bool asked = false;
        for (size_t k = 0; k < n; ++k) {
            const size_t j = (hint + k) % n;
            if (key_of(keys[j]) != v.key) continue;
            asked = true;
            if (items[keys[j]].status == kUnfilled) {
                found = j;
                break;
            }
        }
        if (found == n) {
            if (asked) continue;  // a duplicate
            for (const uint32_t i : keys)
                items[i].status = -EPROTO;
            return;
        }
        fulmar_item& it = items[keys[found]];
        it.status = 0;
        it.value = v.data.data();
        it.value_len = v.data.size();
        it.flags = v.flags;
        it.cas = v.cas;
        hint = found + 1;
    }
    // A server error ends the reply early: what it did not send is unknown.
    const int rest = st == fc::GetReplyStatus::kOk ? -ENOENT : -EIO;
    for (const uint32_t i : keys)
        if (items[i].status == kUnfilled) items[i].status = rest;
}

int mget(fulmar_client* c, std::string_view cmd, fulmar_item* items, size_t n) {
    if (c == nullptr || (items == nullptr && n > 0)) return -EINVAL;
    c->n_requests = 0;
    refresh_if_due(*c);
    bool bad = false;
    for (size_t i = 0; i < n; ++i) {
        fulmar_item& it = items[i];
        it.status = -ENOENT;
        it.flags = 0;
        it.value = nullptr;
        it.value_len = 0;
        it.cas = 0;
        if (it.key == nullptr || !fc::valid_key(std::string_view(it.key, it.key_len))) {
            it.status = -EINVAL;
            bad = true;
        }
    }
    if (bad) {
        for (size_t i = 0; i < n; ++i)
            if (items[i].status != -EINVAL) items[i].status = -ECANCELED;
        return -EINVAL;
    }
    if (n == 0) return 0;

    // Counting sort of items by server, keeping the caller's order within one.
    const size_t n_nodes = c->names.size();
    c->node_of_item.resize(n);
    c->first_of_node.assign(n_nodes + 1, 0);
    for (size_t i = 0; i < n; ++i) {
        c->node_of_item[i] = c->ring.node_for(std::string_view(items[i].key, items[i].key_len));
        ++c->first_of_node[c->node_of_item[i] + 1];
    }
    for (size_t s = 0; s < n_nodes; ++s)
        c->first_of_node[s + 1] += c->first_of_node[s];
    c->items_by_node.resize(n);
    {
        std::vector<uint32_t> next(c->first_of_node.begin(), c->first_of_node.end() - 1);
        for (size_t i = 0; i < n; ++i)
            c->items_by_node[next[c->node_of_item[i]]++] = static_cast<uint32_t>(i);
    }
    for (uint32_t s = 0; s < n_nodes; ++s) {
        const std::span<const uint32_t> keys(c->items_by_node.data() + c->first_of_node[s],
                                             c->first_of_node[s + 1] - c->first_of_node[s]);
        if (!keys.empty()) build_get_requests(*c, cmd, items, s, keys);
    }

    (void)run_requests(*c, Op::kGet, std::span(c->requests.data(), c->n_requests));
    for (uint32_t r = 0; r < c->n_requests; ++r)
        apply_get_reply(*c, r, items);
    return mget_result(items, n);
}

// ---------------------------------------------------------------- writes

// Which writes are resent after a timeout: those whose repetition leaves the
// state a single execution would (see fulmar_client_options.retries).
enum class Resend : uint8_t { kNever, kAllowed };

// Sends the request built in c.requests[0] to the key's server and reads its
// one-line reply. 0 with `reply` set, or -ETIMEDOUT / the transport's errno.
//
// A seeded client told "moved" fetches the ring; when a newer one names
// another server for the key, the request goes there once more (the node
// that refused it did not run it, so this is safe for every command). Told
// "moving", it fetches the ring for the calls to come; the caller gets
// -EAGAIN.
int exchange_one(fulmar_client& c, Resend resend, fc::SimpleReply& reply) {
    fc::Request& r = c.requests[0];
    r.max_attempts = resend == Resend::kAllowed ? c.options.retries + 1 : 1;
    c.n_requests = 1;
    for (bool redirected = false;; redirected = true) {
        (void)run_requests(c, Op::kWrite, std::span(c.requests.data(), 1));
        if (r.status != 0) return r.status;
        reply = fc::parse_simple_reply(std::string_view(r.reply.data(), r.reply.size()));
        const bool stale =
            reply.kind == fc::ReplyKind::kServerMoved || reply.kind == fc::ReplyKind::kServerMoving;
        if (c.seeds.empty() || !stale || redirected) return 0;
        const std::string old_name = c.names[r.node];
        if (refresh_ring(c) != 1 || reply.kind != fc::ReplyKind::kServerMoved) return 0;
        r.node = c.ring.node_for_hash(c.write_hash);
        if (c.names[r.node] == old_name) return 0;  // the newer ring agrees: nothing to redo
    }
}

// The replies every command maps the same way.
int common_reply_code(fc::ReplyKind k) {
    switch (k) {
        case fc::ReplyKind::kClientError:
            return -EINVAL;
        case fc::ReplyKind::kServerTooLarge:
            return -E2BIG;
        case fc::ReplyKind::kServerOutOfMemory:
            return -ENOMEM;
        case fc::ReplyKind::kServerMoving:
            return -EAGAIN;
        case fc::ReplyKind::kServerMoved:
        case fc::ReplyKind::kError:
        case fc::ReplyKind::kServerError:
            return -EIO;
        default:
            return -EPROTO;  // a reply this command never gets
    }
}

// Checks the client and key, and prepares c.requests[0] for the key's server.
int begin_write(fulmar_client* c, const char* key, size_t key_len, fc::Request*& r) {
    if (c == nullptr || key == nullptr || !fc::valid_key(std::string_view(key, key_len)))
        return -EINVAL;
    c->n_requests = 0;
    refresh_if_due(*c);
    if (c->requests.empty()) c->requests.emplace_back();
    r = &c->requests[0];
    c->write_hash = fr::ketama_hash(std::string_view(key, key_len));
    r->node = c->ring.node_for_hash(c->write_hash);
    r->framing = fc::ReplyFraming::kOneMessage;
    return 0;
}

struct StoreCommand {
    std::string_view name;
    Resend resend;
    int not_stored;  // what NOT_STORED means for this command
    int exists;      // EXISTS
    int not_found;   // NOT_FOUND
};

// Indexed by fulmar_store_mode.
constexpr StoreCommand kStoreCommands[] = {
    {fc::kCmdSet, Resend::kAllowed, -EPROTO, -EPROTO, -EPROTO},
    {fc::kCmdAdd, Resend::kNever, -EEXIST, -EPROTO, -EPROTO},
    {fc::kCmdReplace, Resend::kNever, -ENOENT, -EPROTO, -EPROTO},
    {fc::kCmdAppend, Resend::kNever, -ENOENT, -EPROTO, -EPROTO},
    {fc::kCmdPrepend, Resend::kNever, -ENOENT, -EPROTO, -EPROTO},
    {fc::kCmdCas, Resend::kNever, -EPROTO, -EEXIST, -ENOENT},
};

int arith(fulmar_client* c, std::string_view cmd, const char* key, size_t key_len, uint64_t delta,
          uint64_t* new_value) {
    fc::Request* r = nullptr;
    if (const int rc = begin_write(c, key, key_len, r); rc != 0) return rc;
    fc::build_arith(r->datagram, cmd, std::string_view(key, key_len), delta);
    fc::SimpleReply reply;
    if (const int rc = exchange_one(*c, Resend::kNever, reply); rc != 0) return rc;
    switch (reply.kind) {
        case fc::ReplyKind::kNumber:
            if (new_value != nullptr) *new_value = reply.number;
            return 0;
        case fc::ReplyKind::kNotFound:
            return -ENOENT;
        default:
            return common_reply_code(reply.kind);
    }
}

}  // namespace

// ---------------------------------------------------------------- C API

extern "C" {

void fulmar_client_options_init(fulmar_client_options* options) noexcept {
    if (options == nullptr) return;
    *options = fulmar_client_options{};
    options->timeout_ms = 250;
    options->retries = 2;
    options->window = 8;
    options->max_request_payload = FULMAR_MC_UDP_MAX_PAYLOAD;
    options->distribution = FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY;
    options->transport = FULMAR_TRANSPORT_UDP;
    options->tcp_connections = 2;
    options->reconnect_min_ms = 10;
    options->reconnect_max_ms = 1000;
    options->ring_refresh_ms = 1000;
}

int fulmar_client_new(const char* servers, const fulmar_client_options* options,
                      fulmar_client** out) noexcept {
    return create(servers, options, nullptr, nullptr, out);
}

int fulmar_client_new_with_transport(const char* servers, const fulmar_client_options* options,
                                     const fulmar_test_transport* transport,
                                     uint16_t first_request_id, fulmar_client** out) {
    if (transport == nullptr) return -EINVAL;
    return create(servers, options, transport, &first_request_id, out);
}

int fulmar_client_new_seeded(const char* seeds, const fulmar_client_options* options,
                             fulmar_client** out) noexcept {
    return create_seeded(seeds, options, out);
}

int fulmar_client_ring_epoch(const fulmar_client* client, uint64_t* epoch) noexcept {
    if (client == nullptr || epoch == nullptr) return -EINVAL;
    *epoch = client->epoch;
    return 0;
}

int fulmar_client_refresh_ring(fulmar_client* client) noexcept {
    if (client == nullptr || client->seeds.empty()) return -EINVAL;
    return refresh_ring(*client);
}

int fulmar_servers_validate(const char* servers, fulmar_distribution distribution, char* message,
                            size_t message_len) noexcept {
    std::string why;
    int rc = 0;
    if (servers == nullptr) {
        why = "no server list";
        rc = -EINVAL;
    } else if (distribution != FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY &&
               distribution != FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED) {
        why = "unknown distribution";
        rc = -EINVAL;
    } else if (auto nodes = fr::parse_node_list(servers); !nodes) {
        why = nodes.error().message;
        rc = -EINVAL;
    } else if (auto ring = fr::Ketama::build(nodes.value(), mode_of(distribution)); !ring) {
        why = ring.error().message;
        rc = -EINVAL;
    }
    if (message != nullptr && message_len > 0) {
        const size_t n = std::min(why.size(), message_len - 1);
        std::memcpy(message, why.data(), n);
        message[n] = '\0';
    }
    return rc;
}

void fulmar_client_free(fulmar_client* client) noexcept {
    delete client;
}

int fulmar_client_server_count(const fulmar_client* client) noexcept {
    if (client == nullptr) return -EINVAL;
    return static_cast<int>(client->names.size());
}

int fulmar_client_server_for(const fulmar_client* client, const char* key,
                             size_t key_len) noexcept {
    if (client == nullptr || key == nullptr || !fc::valid_key(std::string_view(key, key_len)))
        return -EINVAL;
    return static_cast<int>(client->ring.node_for(std::string_view(key, key_len)));
}

const char* fulmar_client_server_name(const fulmar_client* client, int index) noexcept {
    if (client == nullptr || index < 0 || static_cast<size_t>(index) >= client->names.size())
        return nullptr;
    return client->names[static_cast<size_t>(index)].c_str();
}

const char* fulmar_client_server_partition(const fulmar_client* client, int index) noexcept {
    if (client == nullptr || index < 0 || static_cast<size_t>(index) >= client->partitions.size())
        return nullptr;
    const std::string& p = client->partitions[static_cast<size_t>(index)];
    return p.empty() ? nullptr : p.c_str();
}

int fulmar_client_mget(fulmar_client* client, fulmar_item* items, size_t n_items) noexcept {
    return mget(client, fc::kCmdGet, items, n_items);
}

int fulmar_client_mgets(fulmar_client* client, fulmar_item* items, size_t n_items) noexcept {
    return mget(client, fc::kCmdGets, items, n_items);
}

int fulmar_client_get(fulmar_client* client, fulmar_item* item) noexcept {
    if (client == nullptr || item == nullptr) return -EINVAL;
    (void)mget(client, fc::kCmdGet, item, 1);
    return item->status;
}

int fulmar_client_store(fulmar_client* client, fulmar_store_mode mode, const char* key,
                        size_t key_len, const void* value, size_t value_len, uint32_t flags,
                        int32_t exptime, uint64_t cas) noexcept {
    if (static_cast<unsigned>(mode) > FULMAR_STORE_CAS) return -EINVAL;
    if (value == nullptr && value_len > 0) return -EINVAL;
    fc::Request* r = nullptr;
    if (const int rc = begin_write(client, key, key_len, r); rc != 0) return rc;
    const StoreCommand& cmd = kStoreCommands[mode];
    if (kItemOverhead + key_len + value_len > FULMAR_MC_ITEM_SIZE_MAX) return -E2BIG;
    // One datagram per request over UDP; a TCP stream has no such bound.
    if (!over_tcp(client->options, Op::kWrite) &&
        fc::store_request_size(cmd.name, key_len, flags, exptime, value_len, cas) >
            client->options.max_request_payload) {
        return -E2BIG;
    }
    const std::string_view v(value_len > 0 ? static_cast<const char*>(value) : "", value_len);
    fc::build_store(r->datagram, cmd.name, std::string_view(key, key_len), flags, exptime, v, cas);
    fc::SimpleReply reply;
    if (const int rc = exchange_one(*client, cmd.resend, reply); rc != 0) return rc;
    switch (reply.kind) {
        case fc::ReplyKind::kStored:
            return 0;
        case fc::ReplyKind::kNotStored:
            return cmd.not_stored;
        case fc::ReplyKind::kExists:
            return cmd.exists;
        case fc::ReplyKind::kNotFound:
            return cmd.not_found;
        default:
            return common_reply_code(reply.kind);
    }
}

int fulmar_client_set(fulmar_client* client, const char* key, size_t key_len, const void* value,
                      size_t value_len, uint32_t flags, int32_t exptime) noexcept {
    return fulmar_client_store(client, FULMAR_STORE_SET, key, key_len, value, value_len, flags,
                               exptime, 0);
}

int fulmar_client_delete(fulmar_client* client, const char* key, size_t key_len) noexcept {
    fc::Request* r = nullptr;
    if (const int rc = begin_write(client, key, key_len, r); rc != 0) return rc;
    fc::build_delete(r->datagram, std::string_view(key, key_len));
    fc::SimpleReply reply;
    if (const int rc = exchange_one(*client, Resend::kAllowed, reply); rc != 0) return rc;
    switch (reply.kind) {
        case fc::ReplyKind::kDeleted:
            return 0;
        case fc::ReplyKind::kNotFound:
            return -ENOENT;
        default:
            return common_reply_code(reply.kind);
    }
}

int fulmar_client_incr(fulmar_client* client, const char* key, size_t key_len, uint64_t delta,
                       uint64_t* new_value) noexcept {
    return arith(client, fc::kCmdIncr, key, key_len, delta, new_value);
}

int fulmar_client_decr(fulmar_client* client, const char* key, size_t key_len, uint64_t delta,
                       uint64_t* new_value) noexcept {
    return arith(client, fc::kCmdDecr, key, key_len, delta, new_value);
}

int fulmar_client_touch(fulmar_client* client, const char* key, size_t key_len,
                        int32_t exptime) noexcept {
    fc::Request* r = nullptr;
    if (const int rc = begin_write(client, key, key_len, r); rc != 0) return rc;
    fc::build_touch(r->datagram, std::string_view(key, key_len), exptime);
    fc::SimpleReply reply;
    if (const int rc = exchange_one(*client, Resend::kAllowed, reply); rc != 0) return rc;
    switch (reply.kind) {
        case fc::ReplyKind::kTouched:
            return 0;
        case fc::ReplyKind::kNotFound:
            return -ENOENT;
        default:
            return common_reply_code(reply.kind);
    }
}

int fulmar_client_test_stats(const fulmar_client* client, fulmar_test_stats* stats) {
    if (client == nullptr || stats == nullptr) return -EINVAL;
    const fc::ExchangeStats s = client->exchange ? client->exchange->stats() : fc::ExchangeStats{};
    stats->datagrams_sent = s.datagrams_sent;
    stats->send_errors = s.send_errors;
    stats->datagrams_received = s.datagrams_received;
    stats->bad_headers = s.bad_headers;
    stats->strays = s.strays;
    stats->duplicates = s.duplicates;
    stats->resends = s.resends;
    stats->timeouts = s.timeouts;
    stats->max_in_flight = s.max_in_flight;
    stats->max_total_in_flight = s.max_total_in_flight;
    return 0;
}

int fulmar_client_test_tcp_stats(const fulmar_client* client, fulmar_test_tcp_stats* stats) {
    if (client == nullptr || stats == nullptr) return -EINVAL;
    const fc::TcpStats s = client->tcp ? client->tcp->stats() : fc::TcpStats{};
    stats->connects = s.connects;
    stats->connect_failures = s.connect_failures;
    stats->breaks = s.breaks;
    stats->idle_closes = s.idle_closes;
    stats->requests_sent = s.requests_sent;
    stats->resends = s.resends;
    stats->timeouts = s.timeouts;
    stats->backoff_refusals = s.backoff_refusals;
    stats->protocol_errors = s.protocol_errors;
    stats->max_in_flight = s.max_in_flight;
    stats->max_total_in_flight = s.max_total_in_flight;
    return 0;
}

const char* fulmar_strerror(int err) noexcept {
    switch (err < 0 ? -err : err) {
        case 0:
            return "success";
        case ENOENT:
            return "not found (a miss, or no such key for the command)";
        case EEXIST:
            return "exists (add: key present; cas: item changed since gets)";
        case ETIMEDOUT:
            return "no reply from the server in time, after the retries (or TCP: connection "
                   "lost, server unreachable or in reconnect backoff)";
        case EINVAL:
            return "invalid argument (or the server answered CLIENT_ERROR)";
        case E2BIG:
            return "too large: item over the size limit or (UDP) request over one datagram";
        case ENOMEM:
            return "server out of memory";
        case EIO:
            return "server error (SERVER_ERROR or ERROR)";
        case EPROTO:
            return "malformed or unexpected reply from the server";
        case EPROTONOSUPPORT:
            return "transport not supported here";
        case EHOSTUNREACH:
            return "server host name did not resolve";
        case EAGAIN:
            return "the key is moving between cluster partitions; retry shortly";
        case ENODATA:
            return "the node serves no cluster ring (not a cluster member)";
        case ECANCELED:
            return "not sent: another key of the same call was invalid";
        default: {
            // Errors of socket(2)/connect(2)/poll(2): glibc's static, thread-safe table.
            const char* s = ::strerrordesc_np(err < 0 ? -err : err);
            return s != nullptr ? s : "unknown error";
        }
    }
}

}  // extern "C"
