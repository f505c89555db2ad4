/*
 * libfulmar: a memcached client for Fulmar appliances (and any memcached-protocol
 * server) with a ketama ring, get / multi-get fanned out to every node at once,
 * and writes with their replies checked; over UDP, over TCP (a small pool of
 * pipelined connections per node), or UDP gets with TCP writes.
 *
 * Threading: a fulmar_client is owned by one thread at a time; no function may be
 * called on the same client from two threads at once. Distinct clients share
 * nothing (the library has no global state), so one client per thread scales.
 * No background thread: TCP connections are opened, read and re-opened inside
 * the calls.
 *
 * Errors: every function that can fail returns 0 (or a count) on success and a
 * negative errno value on failure, documented per function; fulmar_strerror()
 * describes them. Both transports return the same codes for the same outcome.
 * Nothing is retried behind the caller's back except what
 * fulmar_client_options.retries allows. Out of memory aborts the process (the
 * library is built without exceptions), as in the rest of Fulmar.
 *
 * Memory: values returned by the get functions point into buffers owned by the
 * client; they stay valid until the next call on that client (any call other
 * than fulmar_client_server_for / _server_name / _server_partition /
 * _server_count / _ring_epoch) or fulmar_client_free(). Copy what must live
 * longer.
 *
 * Clusters: a client made with fulmar_client_new_seeded() learns the ring of
 * a Fulmar cluster (its partitions, each a named ketama node) from any node
 * and follows it as partitions are added and removed: inside its calls, never
 * in the background (see fulmar_client_new_seeded). A client made from a
 * server list keeps that list for its whole life.
 */
#ifndef FULMAR_CLIENT_H
#define FULMAR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "fulmar/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FULMAR_API __attribute__((visibility("default")))
#else
#define FULMAR_API
#endif

/* No exception ever leaves the library; C++ callers may rely on it. */
#ifdef __cplusplus
#define FULMAR_NOEXCEPT noexcept
#else
#define FULMAR_NOEXCEPT
#endif

/** An opaque client: its ring, sockets, request ids and reply buffers. */
typedef struct fulmar_client fulmar_client;

/** How keys are placed on servers. Both are ketama (MD5, 160 points per weight unit). */
typedef enum fulmar_distribution {
    /** twemproxy/nutcracker's ketama: points named "host:port-i" (the default). */
    FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY = 0,
    /** libmemcached's MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED placement. */
    FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED = 1,
} fulmar_distribution;

/**
 * Transport of requests, chosen per client for gets (get, gets, multi-gets) and
 * for writes (every other command).
 *
 * TCP: up to tcp_connections connections per server, opened when first needed
 * (not by fulmar_client_new), each carrying up to `window` pipelined requests
 * whose replies are matched in order. A connection that breaks (reset, closed
 * by the server, a request on it timed out, or a reply that is not memcached's
 * grammar) is closed; the requests it carried are resent on a new connection
 * within `retries` where resending is safe, else fail with -ETIMEDOUT. A server
 * that fails again is left alone for an exponential backoff (reconnect_min_ms,
 * doubling to reconnect_max_ms; the first reconnect is immediate); requests
 * for it meanwhile fail at once with -ETIMEDOUT. A reply resets the backoff.
 */
typedef enum fulmar_transport_kind {
    /** memcached's UDP framing: one request per datagram, replies reassembled. */
    FULMAR_TRANSPORT_UDP = 0,
    /** memcached text over TCP for every command: no datagram size limit on writes. */
    FULMAR_TRANSPORT_TCP = 1,
    /**
     * The classic memcached deployment: gets over UDP (cheap fan-out, a lost
     * reply is a miss), writes over TCP (values up to the item size limit, no
     * loss). The servers must listen on both, at the same host:port.
     */
    FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES = 2,
} fulmar_transport_kind;

/**
 * Client options. Start from fulmar_client_options_init() and change fields;
 * fulmar_client_new() copies the struct. Fields are only ever added at the end.
 */
typedef struct fulmar_client_options {
    /** Wait for one reply, per attempt, in milliseconds (default 250; 1..3600000). */
    uint32_t timeout_ms;
    /**
     * Resends after the first attempt when no complete reply arrives in time
     * (default 2); over TCP, when the request's connection broke or timed out
     * before its reply (see fulmar_transport_kind). Applies to get/gets and to
     * the writes whose repetition leaves the same state: set, delete and touch.
     * add, replace, append, prepend, cas, incr and decr are sent once, because
     * a resent one could apply twice.
     */
    uint32_t retries;
    /**
     * Requests in flight per server at once over UDP, per connection over TCP
     * (default 8; 1..1024). Bounds the burst of replies converging on this
     * host (incast) during a multi-get; over TCP, the pipelining depth.
     */
    uint32_t window;
    /**
     * Largest request payload per datagram, frame header aside (default
     * FULMAR_MC_UDP_MAX_PAYLOAD = 1400; 300..65499). Multi-gets are split to
     * fit (over TCP too: each "get k1 k2 ..." line stays this short); a write
     * sent over UDP that does not fit is refused with -E2BIG, because memcached
     * and Fulmar serve only single-datagram requests (over TCP writes are bound
     * by FULMAR_MC_ITEM_SIZE_MAX only). Raise it only where the path MTU
     * allows (jumbo frames): Fulmar drops IP fragments.
     */
    uint32_t max_request_payload;
    /** Key placement (default FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY). */
    fulmar_distribution distribution;
    /** Transport (default FULMAR_TRANSPORT_UDP). */
    fulmar_transport_kind transport;
    /** TCP: connections per server at most, opened as the load needs them (default 2; 1..64). */
    uint32_t tcp_connections;
    /**
     * TCP: how long a server is left alone after its second failure in a row
     * (a refused or timed-out connect, a broken connection, a timeout), in ms;
     * each further failure doubles it (default 10; 1..60000). A reply ends the
     * run of failures.
     */
    uint32_t reconnect_min_ms;
    /** TCP: the longest such wait, in ms (default 1000; reconnect_min_ms..600000). */
    uint32_t reconnect_max_ms;
    /**
     * Seeded clients (fulmar_client_new_seeded): the ring is fetched again at
     * the start of a call when the last fetch is this old, in ms (default
     * 1000; 0..3600000; 0: only after a "moved" or "moving" reply). Ignored
     * by clients made from a server list.
     */
    uint32_t ring_refresh_ms;
} fulmar_client_options;

/**
 * One key of a get: the caller fills key and key_len; the call fills the rest.
 *
 * status after a get:
 *  - 0: hit; value/value_len/flags are set (cas too, for the gets variants).
 *  - -ENOENT: miss: the server answered and does not hold the key.
 *  - -ETIMEDOUT: no complete reply from the key's server after every retry
 *    (over TCP also: its connection broke with the request in flight, or the
 *    server could not be connected or is in its reconnect backoff); callers
 *    that treat the cache as optional use it as a miss.
 *  - -EINVAL: the key is invalid (see fulmar_client_mget); nothing was sent.
 *  - -ECANCELED: the key is valid but another key of the same call was not, so
 *    nothing was sent.
 *  - -EPROTO: the server's reply could not be parsed or did not match the
 *    request (over TCP the connection is then closed: the stream is lost).
 *  - -EIO: the server answered SERVER_ERROR, CLIENT_ERROR or ERROR.
 *  - another negative errno: waiting for replies failed (ppoll(2)); every key
 *    not answered by then carries it. A failed connect(2) or a broken TCP
 *    connection is -ETIMEDOUT, never this.
 */
typedef struct fulmar_item {
    const char* key;   /**< in: key bytes (not NUL-terminated necessarily) */
    size_t key_len;    /**< in: 1..FULMAR_MC_MAX_KEY_LEN */
    int status;        /**< out: 0, -ENOENT, -ETIMEDOUT, -EINVAL, -ECANCELED, -EPROTO, -EIO */
    uint32_t flags;    /**< out: the client flags stored with the value */
    const char* value; /**< out: the value (valid as described above), or NULL */
    size_t value_len;  /**< out: bytes of value */
    uint64_t cas;      /**< out: CAS unique (gets variants only; 0 otherwise) */
} fulmar_item;

/** How fulmar_client_store() stores (memcached's storage commands). */
typedef enum fulmar_store_mode {
    FULMAR_STORE_SET = 0,     /**< store unconditionally */
    FULMAR_STORE_ADD = 1,     /**< store only if the key is absent */
    FULMAR_STORE_REPLACE = 2, /**< store only if the key is present */
    FULMAR_STORE_APPEND = 3,  /**< add bytes after the present value (flags, TTL kept) */
    FULMAR_STORE_PREPEND = 4, /**< add bytes before the present value (flags, TTL kept) */
    FULMAR_STORE_CAS = 5,     /**< store only if the CAS unique still matches */
} fulmar_store_mode;

/** Fills *options with the defaults documented on each field. */
FULMAR_API void fulmar_client_options_init(fulmar_client_options* options) FULMAR_NOEXCEPT;

/**
 * Creates a client for a list of servers. Over TCP nothing is connected yet:
 * each server's first connection opens with the first request for it.
 *
 * @param servers "host:port[:weight][ name]" entries separated by commas (blanks
 *        around entries ignored), e.g. "10.0.0.1:11211, 10.0.0.2:11211:2";
 *        IPv6 as "[fd00::1]:11211". twemproxy's syntax: a name, twemproxy mode
 *        only, replaces "host:port" as the ketama label. Placement depends on
 *        each entry's host, port, weight and name, not on the order. Host names
 *        are resolved once, here.
 * @param options NULL for the defaults, else see fulmar_client_options.
 * @param out receives the client on success; untouched on failure.
 * @return 0, or
 *  - -EINVAL: servers or out is NULL, the list is empty or an entry is malformed
 *    (bad port, weight 0, ...), or an option is out of range;
 *  - -EHOSTUNREACH: a host name did not resolve;
 *  - another negative errno from socket(2) or connect(2) of the UDP sockets
 *    (e.g. -EMFILE).
 */
FULMAR_API int fulmar_client_new(const char* servers, const fulmar_client_options* options,
                                 fulmar_client** out) FULMAR_NOEXCEPT;

/**
 * Creates a client for a Fulmar cluster from one or more of its nodes: asks
 * the seeds in turn, with memcached's text protocol over TCP, for the ring
 * ("ring\r\n", answered "RING <epoch>", one "NODE <host:port>:<weight> <name>"
 * line per partition in ring order, "END") and places keys by ketama over the
 * partition names, as nutcracker does given the same entries. The client then
 * follows the cluster's ring without a restart, inside its own calls:
 *  - at the start of a call, when options.ring_refresh_ms have passed since
 *    the last fetch;
 *  - after a write answered "SERVER_ERROR moved: ..." (the key's partition
 *    changed) or "SERVER_ERROR moving: ..." (a move is flipping it).
 * A fetch asks the current ring's members (each fetch starting at the next
 * one, the first chosen at random, so clients spread their fetches), then the
 * seeds, until one answers with a ring, each within options.timeout_ms; a higher epoch
 * replaces the ring (its servers are connected as for fulmar_client_new();
 * connections to the old ones close). A write refused as moved is sent once
 * more to the key's server in the newer ring, whatever the command: the node
 * that refused it did not run it. A failed fetch keeps the ring.
 *
 * Reads of keys whose partition changed are misses until the ring is
 * fetched (a node answers a get for another partition's key with a miss),
 * so ring_refresh_ms bounds how long a client reads from a stale ring.
 *
 * @param seeds "host:port" entries separated by commas, the nodes' memcached
 *        TCP port (the same port the ring lists); no weights or names. The
 *        ring's addresses carry every transport: with UDP (the default) the
 *        nodes must serve memcached UDP on the same port as TCP (Fulmar's
 *        defaults: 11211 for both).
 * @param options NULL for the defaults, else see fulmar_client_options;
 *        distribution must be FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY.
 * @param out receives the client on success; untouched on failure.
 * @return 0, or
 *  - -EINVAL: seeds or out is NULL, a seed is malformed or has a name or a
 *    weight other than 1, an
 *    option is out of range, or the distribution is not twemproxy's;
 *  - -ENODATA: the seeds that answered serve no ring (not cluster members);
 *  - -ETIMEDOUT: no seed answered in time (refused, closed, silent);
 *  - -EHOSTUNREACH: a seed's host name (or a member's) did not resolve;
 *  - -EPROTO: a reply was not a ring; -EIO: the server does not know the
 *    command (a memcached, or a Fulmar without cluster support);
 *  - another negative errno from socket(2) (e.g. -EMFILE).
 *  When several seeds fail, the last one's error is returned.
 */
FULMAR_API int fulmar_client_new_seeded(const char* seeds, const fulmar_client_options* options,
                                        fulmar_client** out) FULMAR_NOEXCEPT;

/**
 * The epoch of the ring a seeded client routes by (0 for a client made from a
 * server list).
 *
 * @return 0 with *epoch set, or -EINVAL when client or epoch is NULL.
 */
FULMAR_API int fulmar_client_ring_epoch(const fulmar_client* client,
                                        uint64_t* epoch) FULMAR_NOEXCEPT;

/**
 * Fetches a seeded client's ring now (as fulmar_client_new_seeded describes)
 * and switches to it when its epoch is higher.
 *
 * @return 1 when the client switched to a newer ring, 0 when its ring is
 *         current, -EINVAL for NULL or a client made from a server list, or
 *         the error of the last node asked (-ETIMEDOUT, -ENODATA, -EPROTO,
 *         -EIO, -EHOSTUNREACH); the client then keeps its ring.
 */
FULMAR_API int fulmar_client_refresh_ring(fulmar_client* client) FULMAR_NOEXCEPT;

/**
 * Checks a server list as fulmar_client_new() would parse it, without resolving
 * or opening anything, and explains the first mistake.
 *
 * @param message when not NULL, receives a NUL-terminated explanation (e.g.
 *        "server '10.0.0.1:0': port must be 1-65535"), truncated to message_len.
 * @return 0 when the list is valid for that distribution, -EINVAL otherwise
 *         (also for a NULL servers).
 */
FULMAR_API int fulmar_servers_validate(const char* servers, fulmar_distribution distribution,
                                       char* message, size_t message_len) FULMAR_NOEXCEPT;

/** Closes the client's sockets (UDP and TCP) and frees it; NULL is ignored. */
FULMAR_API void fulmar_client_free(fulmar_client* client) FULMAR_NOEXCEPT;

/** Number of servers of the client, or -EINVAL when client is NULL. */
FULMAR_API int fulmar_client_server_count(const fulmar_client* client) FULMAR_NOEXCEPT;

/**
 * The server a key lives on (what `fulmar-cli whereis` prints).
 *
 * @return the server's index (0-based, in the order given to fulmar_client_new,
 *         or the ring's order for a seeded client), or -EINVAL for a NULL client or an invalid key
 * (see fulmar_client_mget).
 */
FULMAR_API int fulmar_client_server_for(const fulmar_client* client, const char* key,
                                        size_t key_len) FULMAR_NOEXCEPT;

/**
 * The "host:port" of server `index` as given to fulmar_client_new (for a
 * seeded client: of the ring's member `index`), or NULL when client is NULL
 * or index is out of range. Valid until fulmar_client_free(); for a seeded
 * client, until its next call that may fetch the ring (every call but the
 * server and epoch accessors).
 */
FULMAR_API const char* fulmar_client_server_name(const fulmar_client* client,
                                                 int index) FULMAR_NOEXCEPT;

/**
 * The name of server `index`: twemproxy's optional name of a list entry, a
 * cluster partition's name for a seeded client. NULL when the entry has no
 * name, client is NULL or index is out of range. Valid as
 * fulmar_client_server_name().
 */
FULMAR_API const char* fulmar_client_server_partition(const fulmar_client* client,
                                                      int index) FULMAR_NOEXCEPT;

/**
 * Gets many keys at once: keys are grouped by server, each group is sent as
 * "get k1 k2 ...\r\n" requests of at most options.max_request_payload bytes, all
 * servers are asked at once (at most options.window requests in flight per
 * server, over TCP per connection) and replies are matched (UDP: by request id
 * and reassembled, in any order, whether the server sends a reply as one
 * message (Fulmar) or one message per value (memcached 1.6); TCP: in order). Each item's status
 * says what happened to that key (see fulmar_item). One thread, no background work: the call
 * returns when every key is answered or timed out (at most timeout_ms x (retries + 1) after its
 * request could be sent).
 *
 * A key is valid when it has 1..250 bytes, none of them a space or control
 * character (0x00-0x20, 0x7f), as memcached requires.
 *
 * @return 0 when every key got an answer (hit or miss: see each status), or
 *  - -EINVAL: client is NULL, items is NULL while n_items > 0, or a key is
 *    invalid (those items get status -EINVAL, the others -ECANCELED; nothing is
 *    sent);
 *  - -ETIMEDOUT: at least one key got no answer (status -ETIMEDOUT); the others
 *    are filled in;
 *  - -EPROTO / -EIO: at least one server replied with garbage / an error and no
 *    key timed out; the other keys are filled in;
 *  - another negative errno: waiting for replies failed (see fulmar_item).
 */
FULMAR_API int fulmar_client_mget(fulmar_client* client, fulmar_item* items,
                                  size_t n_items) FULMAR_NOEXCEPT;

/** As fulmar_client_mget(), with "gets": each hit also carries its CAS unique. */
FULMAR_API int fulmar_client_mgets(fulmar_client* client, fulmar_item* items,
                                   size_t n_items) FULMAR_NOEXCEPT;

/**
 * Gets one key: fulmar_client_mget() of one item.
 *
 * @param item in: key, key_len; out: the rest (see fulmar_item).
 * @return item->status: 0 (hit), -ENOENT (miss), -ETIMEDOUT, -EINVAL, -EPROTO,
 *         -EIO; -EINVAL too when client or item is NULL.
 */
FULMAR_API int fulmar_client_get(fulmar_client* client, fulmar_item* item) FULMAR_NOEXCEPT;

/**
 * Stores a value (set, add, replace, append, prepend, cas) and checks the reply.
 *
 * @param flags client flags kept with the value (ignored by append/prepend).
 * @param exptime memcached's: 0 never, up to 30 days relative seconds, beyond
 *        that a Unix time; negative expires at once.
 * @param cas the CAS unique from a gets; used only by FULMAR_STORE_CAS.
 * @return 0 on STORED, or
 *  - -EEXIST: add found the key present (NOT_STORED), or cas found it changed
 *    since the gets (EXISTS);
 *  - -ENOENT: replace/append/prepend found no key (NOT_STORED), or cas found
 *    no key (NOT_FOUND);
 *  - -EINVAL: NULL client, NULL value with value_len > 0, invalid key, or an
 *    unknown mode; or the server answered CLIENT_ERROR;
 *  - -E2BIG: the item exceeds FULMAR_MC_ITEM_SIZE_MAX, the request does not fit
 *    one datagram (options.max_request_payload; writes over UDP only), or the
 *    server answered "SERVER_ERROR object too large for cache";
 *  - -ENOMEM: the server answered "SERVER_ERROR out of memory ...";
 *  - -EAGAIN: a Fulmar cluster node answered "SERVER_ERROR moving": the key
 *    is moving between partitions at this instant; nothing was stored, retry
 *    shortly (the same for every write below);
 *  - -EIO: another SERVER_ERROR (including "moved" when the ring, fetched
 *    again by a seeded client, still names that node), or ERROR (command
 *    unknown to the server);
 *  - -EPROTO: a reply that is not one of the above (including NOT_STORED to a
 *    set or cas, which memcached never sends);
 *  - -ETIMEDOUT: no reply in time (after the retries for set), or over TCP the
 *    connection broke before the reply or the server is unreachable / in its
 *    backoff; the store may or may not have happened.
 */
FULMAR_API int fulmar_client_store(fulmar_client* client, fulmar_store_mode mode, const char* key,
                                   size_t key_len, const void* value, size_t value_len,
                                   uint32_t flags, int32_t exptime, uint64_t cas) FULMAR_NOEXCEPT;

/** fulmar_client_store() with FULMAR_STORE_SET; same return values. */
FULMAR_API int fulmar_client_set(fulmar_client* client, const char* key, size_t key_len,
                                 const void* value, size_t value_len, uint32_t flags,
                                 int32_t exptime) FULMAR_NOEXCEPT;

/**
 * Deletes a key.
 *
 * @return 0 on DELETED, -ENOENT on NOT_FOUND (also when a retry follows an
 *         attempt whose reply was lost but which did delete), -EINVAL, -EIO,
 *         -EPROTO, -ETIMEDOUT as for fulmar_client_store().
 */
FULMAR_API int fulmar_client_delete(fulmar_client* client, const char* key,
                                    size_t key_len) FULMAR_NOEXCEPT;

/**
 * Adds delta to a decimal value (64-bit unsigned, wrapping, as memcached).
 *
 * @param new_value receives the value after the increment; may be NULL.
 * @return 0, or -ENOENT (NOT_FOUND), -EINVAL (bad arguments, or CLIENT_ERROR:
 *         the stored value is not a decimal number), -EIO, -EPROTO, -ETIMEDOUT
 *         (sent once: the increment may or may not have happened).
 */
FULMAR_API int fulmar_client_incr(fulmar_client* client, const char* key, size_t key_len,
                                  uint64_t delta, uint64_t* new_value) FULMAR_NOEXCEPT;

/** As fulmar_client_incr(), subtracting; memcached floors the result at 0. */
FULMAR_API int fulmar_client_decr(fulmar_client* client, const char* key, size_t key_len,
                                  uint64_t delta, uint64_t* new_value) FULMAR_NOEXCEPT;

/**
 * Sets a key's expiry time without fetching it.
 *
 * @return 0 on TOUCHED, -ENOENT on NOT_FOUND, -EINVAL, -EIO, -EPROTO, -ETIMEDOUT
 *         as for fulmar_client_store().
 */
FULMAR_API int fulmar_client_touch(fulmar_client* client, const char* key, size_t key_len,
                                   int32_t exptime) FULMAR_NOEXCEPT;

/**
 * A static English description of a value returned by this library (negative or
 * positive errno); "unknown error" for others. Never NULL.
 */
FULMAR_API const char* fulmar_strerror(int err) FULMAR_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* FULMAR_CLIENT_H */
