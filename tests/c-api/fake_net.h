/*
 * A scripted network of fake memcached servers behind the client's test
 * transport: replies are computed from a small table of keys, cut into
 * datagrams of `chunk` bytes, and can be reordered, duplicated, dropped,
 * delayed or surrounded by forged datagrams. Time is a counter that jumps to
 * the client's deadline when nothing is left to deliver, so timeouts cost no
 * real time.
 *
 * One test thread; one fake_net per client.
 */
#ifndef FULMAR_TESTS_FAKE_NET_H
#define FULMAR_TESTS_FAKE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "client/test_transport.h"

#define FAKE_MAX_NODES 8
#define FAKE_MAX_KEYS 1024
#define FAKE_MAX_VALUE 8192
#define FAKE_MAX_DATAGRAM 2048

typedef struct fake_datagram {
    uint32_t node;
    uint64_t deliver_at_us;
    uint32_t completes; /* 1 + node when this is the last datagram of a reply */
    size_t len;
    uint8_t data[FAKE_MAX_DATAGRAM];
} fake_datagram;

typedef struct fake_entry {
    char key[FULMAR_MC_MAX_KEY_LEN + 1];
    char* value; /* malloc'd */
    size_t value_len;
    uint32_t flags;
    uint64_t cas;
} fake_entry;

typedef struct fake_net {
    uint64_t now_us;

    /* behaviour, set by tests */
    size_t chunk;            /* reply payload bytes per datagram; 0 = 1400 */
    int reverse;             /* deliver each reply's datagrams last first */
    int duplicate;           /* deliver every reply datagram twice */
    int forge;               /* surround each reply with strays and bad headers */
    int split_values;        /* memcached 1.6: each VALUE block its own message, END in the last */
    int reverse_values;      /* ... and those messages, but the last, in reverse order */
    unsigned drop_requests;  /* the next N requests get no reply at all */
    unsigned drop_datagram;  /* the next N multi-datagram replies lose datagram 0 */
    uint64_t delay_us;       /* replies arrive this late */
    unsigned delay_count;    /* ... for the next N replies only (0: all, when delay_us) */
    uint32_t dead_node_mask; /* requests to these nodes are never answered */
    const char* canned;      /* when set: the reply text to every request */
    int fail_recv;           /* recv() fails with -EIO */

    /* observations */
    unsigned n_requests;
    unsigned requests_per_node[FAKE_MAX_NODES];
    unsigned in_flight[FAKE_MAX_NODES]; /* requests answered but not yet fully delivered */
    unsigned max_in_flight[FAKE_MAX_NODES];
    char last_request[FAKE_MAX_DATAGRAM];
    size_t last_request_len;
    size_t max_request_len;
    uint32_t last_node;
    unsigned key_requests; /* keys asked in all get requests */

    /* the servers' data (shared by every node: placement is the client's business) */
    fake_entry* entries;
    size_t n_entries;

    fake_datagram** inbox; /* in arrival order; delivered earliest deliver_at first */
    size_t n_inbox;
    size_t cap_inbox;
} fake_net;

void fake_init(fake_net* net);
void fake_free(fake_net* net);
void fake_put(fake_net* net, const char* key, const char* value, uint32_t flags, uint64_t cas);
/* A transport whose ctx is `net`. */
fulmar_test_transport fake_transport(fake_net* net);
/* Queues a forged datagram as if node `node` had sent it. */
void fake_inject(fake_net* net, uint32_t node, const void* data, size_t len);

#endif /* FULMAR_TESTS_FAKE_NET_H */
