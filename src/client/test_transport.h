/*
 * Internal C entry points for tests: a client over a transport made of
 * callbacks, so C tests can script servers that reorder, duplicate, drop or
 * forge datagrams and can move time by hand (no test sleeps through a timeout).
 * Not installed; not exported from the shared library (tests link the static one).
 *
 * Threading: as for fulmar_client: the callbacks run on the thread calling the
 * client, only during a call.
 */
#ifndef FULMAR_CLIENT_TEST_TRANSPORT_H
#define FULMAR_CLIENT_TEST_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fulmar/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A transport as callbacks; fulmar_client_new_with_transport() copies it. */
typedef struct fulmar_test_transport {
    void* ctx; /**< passed to every callback */
    /** Sends one datagram (8-byte frame header included) to server `node`: 0 or -errno. */
    int (*send)(void* ctx, uint32_t node, const void* datagram, size_t len);
    /**
     * Delivers the next datagram that arrives before now_us() reaches
     * deadline_us: copies at most `cap` bytes into buf, sets *node, returns the
     * datagram's length. Returns -ETIMEDOUT when none arrives in time (a fake
     * clock then moves to deadline_us), or another -errno to fail the call.
     */
    long (*recv)(void* ctx, uint64_t deadline_us, uint32_t* node, void* buf, size_t cap);
    /** Monotonic time in microseconds. */
    uint64_t (*now_us)(void* ctx);
} fulmar_test_transport;

/**
 * As fulmar_client_new(), over `transport` instead of UDP sockets: host names
 * are parsed and placed on the ring but never resolved. The first request id
 * is `first_request_id`, so tests can forge replies to ids they predict.
 * -EPROTONOSUPPORT when options ask for TCP: the callbacks carry datagrams.
 */
int fulmar_client_new_with_transport(const char* servers, const fulmar_client_options* options,
                                     const fulmar_test_transport* transport,
                                     uint16_t first_request_id, fulmar_client** out);

/** What the client's exchange counted since it was created. */
typedef struct fulmar_test_stats {
    uint64_t datagrams_sent;
    uint64_t send_errors;
    uint64_t datagrams_received;
    uint64_t bad_headers; /**< shorter than 8 bytes, or sequence/total inconsistent */
    uint64_t strays;      /**< request id not in flight, or from another server */
    uint64_t duplicates;
    uint64_t resends;
    uint64_t timeouts;            /**< requests given up */
    uint32_t max_in_flight;       /**< most requests in flight to one server at once */
    uint32_t max_total_in_flight; /**< most requests in flight at once */
} fulmar_test_stats;

/** Fills *stats (zeros when the client uses no UDP); -EINVAL when an argument is NULL. */
int fulmar_client_test_stats(const fulmar_client* client, fulmar_test_stats* stats);

/** What the client's TCP exchange counted since it was created (tcp_exchange.h). */
typedef struct fulmar_test_tcp_stats {
    uint64_t connects;         /**< connections established */
    uint64_t connect_failures; /**< refused, unreachable or timed out */
    uint64_t breaks;           /**< connections lost while in use (reset, EOF, garbage) */
    uint64_t idle_closes;      /**< found closed by the server between calls */
    uint64_t requests_sent;    /**< attempts written, resends included */
    uint64_t resends;
    uint64_t timeouts;         /**< connections closed because their oldest request timed out */
    uint64_t backoff_refusals; /**< requests failed at once: server in reconnect backoff */
    uint64_t protocol_errors;  /**< replies outside the grammar */
    uint32_t max_in_flight;    /**< most requests in flight on one connection */
    uint32_t max_total_in_flight;
} fulmar_test_tcp_stats;

/** Fills *stats (zeros when the client uses no TCP); -EINVAL when an argument is NULL. */
int fulmar_client_test_tcp_stats(const fulmar_client* client, fulmar_test_tcp_stats* stats);

#ifdef __cplusplus
}
#endif

#endif /* FULMAR_CLIENT_TEST_TRANSPORT_H */
