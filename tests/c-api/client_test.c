/*
 * The C API of libfulmar over a scripted transport (fake_net.h): placement,
 * fan-out and splitting of multi-gets, reassembly of reordered, duplicated,
 * lost and forged datagrams, timeouts, retries, the window, argument checks and
 * the return code of every write reply. Time is fake: no test sleeps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/test_transport.h"
#include "fake_net.h"
#include "fulmar/client.h"

typedef struct env {
    fake_net net;
    fulmar_client* c;
} env;

static int setup(void** state) {
    env* e = calloc(1, sizeof *e);
    fake_init(&e->net);
    *state = e;
    return 0;
}

static int teardown(void** state) {
    env* e = *state;
    fulmar_client_free(e->c);
    fake_free(&e->net);
    free(e);
    return 0;
}

/* A client over e's fake network; options may be NULL. */
static fulmar_client* open_client(env* e, const char* servers, const fulmar_client_options* o) {
    fulmar_test_transport t = fake_transport(&e->net);
    fulmar_client_free(e->c);
    e->c = NULL;
    assert_int_equal(fulmar_client_new_with_transport(servers, o, &t, 100, &e->c), 0);
    return e->c;
}

static fulmar_test_stats stats_of(const fulmar_client* c) {
    fulmar_test_stats s;
    assert_int_equal(fulmar_client_test_stats(c, &s), 0);
    return s;
}

static fulmar_item item_for(const char* key) {
    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = key;
    it.key_len = strlen(key);
    return it;
}

static void assert_value(const fulmar_item* it, const char* value) {
    assert_int_equal(it->status, 0);
    assert_int_equal(it->value_len, strlen(value));
    assert_memory_equal(it->value, value, it->value_len);
}

/* ------------------------------------------------------------ placement */

static const char* const kRefKeys[] = {"foo",        "bar", "baz",   "user:1", "user:2",
                                       "session-42", "a",   "hello", "fulmar", "ketama"};

/* Expected servers computed apart from the library (a Python transcription of
 * twemproxy's ketama: MD5 "label-i", 4 points a digest, float share). */
static void whereis_matches_an_independent_ketama(void** state) {
    env* e = *state;
    static const int equal[] = {0, 1, 1, 0, 2, 2, 1, 0, 0, 0};
    static const int weighted[] = {0, 1, 1, 1, 2, 2, 1, 0, 0, 1};
    fulmar_client* c = open_client(e, "127.0.0.1:11211,127.0.0.1:11212,127.0.0.1:11213", NULL);
    assert_int_equal(fulmar_client_server_count(c), 3);
    for (size_t i = 0; i < 10; ++i)
        assert_int_equal(fulmar_client_server_for(c, kRefKeys[i], strlen(kRefKeys[i])), equal[i]);
    assert_string_equal(fulmar_client_server_name(c, 1), "127.0.0.1:11212");
    assert_null(fulmar_client_server_name(c, 3));
    assert_null(fulmar_client_server_name(c, -1));

    c = open_client(e, "127.0.0.1:11211, 127.0.0.1:11212:2, 127.0.0.1:11213", NULL);
    for (size_t i = 0; i < 10; ++i) {
        assert_int_equal(fulmar_client_server_for(c, kRefKeys[i], strlen(kRefKeys[i])),
                         weighted[i]);
    }
}

static void distribution_option_selects_the_peer_ring(void** state) {
    env* e = *state;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    /* twemproxy hashes "[::1]:11212-i", libmemcached "::1:11212-i": k0 lands apart. */
    fulmar_client* c = open_client(e, "[::1]:11212,[::2]:11212", &o);
    assert_int_equal(fulmar_client_server_for(c, "k0", 2), 1);
    assert_string_equal(fulmar_client_server_name(c, 0), "[::1]:11212");
    o.distribution = FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED;
    c = open_client(e, "[::1]:11212,[::2]:11212", &o);
    assert_int_equal(fulmar_client_server_for(c, "k0", 2), 0);

    /* Names are twemproxy's only. */
    fulmar_test_transport t = fake_transport(&e->net);
    fulmar_client* bad = NULL;
    assert_int_equal(fulmar_client_new_with_transport("a:1 alpha", &o, &t, 1, &bad), -EINVAL);
    assert_null(bad);
}

static void each_get_goes_to_the_whereis_server(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1,c:1", NULL);
    for (int i = 0; i < 60; ++i) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", i);
        fulmar_item it = item_for(key);
        assert_int_equal(fulmar_client_get(c, &it), -ENOENT);
        assert_int_equal(e->net.last_node, fulmar_client_server_for(c, key, strlen(key)));
    }
    /* Every server got some: the ring spreads 60 keys. */
    for (int s = 0; s < 3; ++s)
        assert_true(e->net.requests_per_node[s] > 5);
}

/* ------------------------------------------------------------ multi-get */

static void mget_sends_one_request_per_server_and_fills_every_key(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1,c:1", NULL);
    char keys[40][16];
    char values[40][32];
    fulmar_item items[40];
    for (int i = 0; i < 40; ++i) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        snprintf(values[i], sizeof values[i], "value of %d", i);
        if (i % 4 != 3) fake_put(&e->net, keys[i], values[i], (uint32_t)i, 0);
        items[i] = item_for(keys[i]);
    }
    assert_int_equal(fulmar_client_mget(c, items, 40), 0);
    assert_int_equal(e->net.n_requests, 3);
    for (int s = 0; s < 3; ++s)
        assert_int_equal(e->net.requests_per_node[s], 1);
    for (int i = 0; i < 40; ++i) {
        if (i % 4 == 3) {
            assert_int_equal(items[i].status, -ENOENT);
            assert_null(items[i].value);
        } else {
            assert_value(&items[i], values[i]);
            assert_int_equal(items[i].flags, i);
            assert_int_equal(items[i].cas, 0);
        }
    }
}

static void mget_with_no_keys_sends_nothing(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1", NULL);
    assert_int_equal(fulmar_client_mget(c, NULL, 0), 0);
    assert_int_equal(e->net.n_requests, 0);
}

static void mget_of_a_repeated_key_fills_both(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    fake_put(&e->net, "x", "1", 0, 0);
    fulmar_item items[3] = {item_for("x"), item_for("y"), item_for("x")};
    assert_int_equal(fulmar_client_mget(c, items, 3), 0);
    assert_value(&items[0], "1");
    assert_int_equal(items[1].status, -ENOENT);
    assert_value(&items[2], "1");
}

static void mget_splits_requests_to_fit_one_datagram(void** state) {
    env* e = *state;
    enum { kKeys = 100 };
    static char keys[kKeys][201];
    fulmar_item items[kKeys];
    for (int i = 0; i < kKeys; ++i) {
        memset(keys[i], 'k', 200);
        snprintf(keys[i] + 190, 11, "%010d", i);
        items[i] = item_for(keys[i]);
    }
    fulmar_client* c = open_client(e, "a:1", NULL);
    assert_int_equal(fulmar_client_mget(c, items, kKeys), 0);
    /* "get" + 6 x " key" + CRLF = 1213 bytes; a 7th key would make 1414 > 1400. */
    assert_int_equal(e->net.n_requests, 17);
    assert_true(e->net.max_request_len <= 8 + FULMAR_MC_UDP_MAX_PAYLOAD);
    assert_int_equal(e->net.key_requests, kKeys);

    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.max_request_payload = 300;
    c = open_client(e, "a:1", &o);
    e->net.n_requests = 0;
    e->net.key_requests = 0;
    assert_int_equal(fulmar_client_mget(c, items, kKeys), 0);
    assert_int_equal(e->net.n_requests, kKeys);
    assert_int_equal(e->net.key_requests, kKeys);
}

static void gets_returns_cas_uniques(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    fake_put(&e->net, "x", "vx", 3, 77);
    fake_put(&e->net, "y", "vy", 4, 1ull << 40);
    fulmar_item items[2] = {item_for("x"), item_for("y")};
    assert_int_equal(fulmar_client_mgets(c, items, 2), 0);
    assert_value(&items[0], "vx");
    assert_int_equal(items[0].cas, 77);
    assert_int_equal(items[0].flags, 3);
    assert_int_equal(items[1].cas, 1ull << 40);
    assert_memory_equal(e->net.last_request + 8, "gets ", 5);
}

/* ------------------------------------------------------------ reassembly */

static void reassembles_reordered_and_duplicated_datagrams(void** state) {
    env* e = *state;
    static char big[5001];
    for (int i = 0; i < 5000; ++i)
        big[i] = (char)('a' + i % 26);
    fake_put(&e->net, "big", big, 1, 0);
    fake_put(&e->net, "small", "s", 2, 0);
    e->net.chunk = 97; /* 5,045 bytes: 53 datagrams, none aligned with a line */
    e->net.reverse = 1;
    e->net.duplicate = 1;
    fulmar_client* c = open_client(e, "a:1", NULL);
    fulmar_item items[3] = {item_for("big"), item_for("none"), item_for("small")};
    assert_int_equal(fulmar_client_mget(c, items, 3), 0);
    assert_value(&items[0], big);
    assert_int_equal(items[1].status, -ENOENT);
    assert_value(&items[2], "s");
    fulmar_test_stats s = stats_of(c);
    /* Every copy but the last: that one arrives after the reply is whole. */
    assert_int_equal(s.duplicates, 52);
    assert_int_equal(s.resends, 0);
}

/* memcached 1.6 sends each value of a multi-get as its own message, sequence
 * numbers restarting at 0, the END riding on the last one. */
static void reassembles_one_message_per_value(void** state) {
    env* e = *state;
    static char big[2001];
    memset(big, 'b', 2000);
    static char mid[301];
    memset(mid, 'm', 300);
    fake_put(&e->net, "w", big, 1, 11);
    fake_put(&e->net, "x", mid, 2, 12);
    fake_put(&e->net, "z", "small", 3, 13);
    e->net.split_values = 1;
    e->net.chunk = 128;
    fulmar_client* c = open_client(e, "a:1", NULL);
    for (int round = 0; round < 4; ++round) {
        e->net.reverse = round & 1;        /* datagrams within each message */
        e->net.reverse_values = round & 2; /* the messages themselves, END last */
        fulmar_item items[5] = {item_for("x"), item_for("y"), item_for("z"), item_for("w"),
                                item_for("x")};
        assert_int_equal(fulmar_client_mgets(c, items, 5), 0);
        assert_value(&items[0], mid);
        assert_int_equal(items[0].cas, 12);
        assert_int_equal(items[1].status, -ENOENT);
        assert_value(&items[2], "small");
        assert_int_equal(items[2].flags, 3);
        assert_value(&items[3], big);
        assert_int_equal(items[3].cas, 11);
        assert_value(&items[4], mid);
    }
    assert_int_equal(e->net.n_requests, 4);
    assert_int_equal(stats_of(c).resends, 0);
}

static void ignores_strays_foreign_senders_and_bad_headers(void** state) {
    env* e = *state;
    fake_put(&e->net, "k", "real", 0, 0); /* the forged replies say "X" */
    e->net.forge = 1;
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    fulmar_item items[4] = {item_for("k"), item_for("j"), item_for("l"), item_for("m")};
    assert_int_equal(fulmar_client_mget(c, items, 4), 0);
    assert_value(&items[0], "real");
    for (int i = 1; i < 4; ++i)
        assert_int_equal(items[i].status, -ENOENT);
    const unsigned n = e->net.n_requests;
    fulmar_test_stats s = stats_of(c);
    assert_int_equal(s.strays, 2 * n);      /* a foreign id, our id from the other server */
    assert_int_equal(s.bad_headers, 3 * n); /* short, sequence >= total, total 0 */
    assert_int_equal(s.resends, 0);
}

static void a_lost_datagram_is_retried_after_one_timeout(void** state) {
    env* e = *state;
    static char big[3001];
    memset(big, 'v', 3000);
    fake_put(&e->net, "big", big, 0, 0);
    e->net.drop_datagram = 1;
    fulmar_client* c = open_client(e, "a:1", NULL);
    const uint64_t start = e->net.now_us;
    fulmar_item it = item_for("big");
    assert_int_equal(fulmar_client_get(c, &it), 0);
    assert_value(&it, big);
    assert_int_equal(e->net.now_us - start, 250000); /* the default timeout, once */
    fulmar_test_stats s = stats_of(c);
    assert_int_equal(s.resends, 1);
    assert_int_equal(s.timeouts, 0);
}

static void a_late_reply_to_an_earlier_attempt_is_a_stray(void** state) {
    env* e = *state;
    fake_put(&e->net, "k", "v", 0, 0);
    e->net.delay_us = 300000; /* the first reply comes 50 ms after the deadline */
    e->net.delay_count = 1;
    fulmar_client* c = open_client(e, "a:1", NULL);
    fulmar_item it = item_for("k");
    assert_int_equal(fulmar_client_get(c, &it), 0);
    assert_int_equal(stats_of(c).resends, 1);
    /* The late datagram arrives during the next call and is dropped there. */
    fake_put(&e->net, "k2", "v2", 0, 0);
    it = item_for("k2");
    e->net.now_us += 100000;
    assert_int_equal(fulmar_client_get(c, &it), 0);
    assert_value(&it, "v2");
    assert_int_equal(stats_of(c).strays, 1);
}

/* ------------------------------------------------------------ timeouts, window */

static void no_reply_times_out_after_every_retry(void** state) {
    env* e = *state;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.timeout_ms = 10;
    o.retries = 3;
    fulmar_client* c = open_client(e, "a:1", &o);
    e->net.drop_requests = 1000;
    const uint64_t start = e->net.now_us;
    fulmar_item it = item_for("k");
    assert_int_equal(fulmar_client_get(c, &it), -ETIMEDOUT);
    assert_int_equal(it.status, -ETIMEDOUT);
    assert_null(it.value);
    assert_int_equal(e->net.n_requests, 4);
    assert_int_equal(e->net.now_us - start, 40000);
    assert_int_equal(stats_of(c).timeouts, 1);

    o.retries = 0;
    c = open_client(e, "a:1", &o);
    e->net.n_requests = 0;
    assert_int_equal(fulmar_client_get(c, &it), -ETIMEDOUT);
    assert_int_equal(e->net.n_requests, 1);
}

static void a_dead_server_times_out_while_the_others_answer(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1,c:1", NULL);
    fulmar_item items[30];
    char keys[30][8];
    for (int i = 0; i < 30; ++i) {
        snprintf(keys[i], sizeof keys[i], "d%d", i);
        fake_put(&e->net, keys[i], "v", 0, 0);
        items[i] = item_for(keys[i]);
    }
    e->net.dead_node_mask = 1u << 1;
    const uint64_t start = e->net.now_us;
    assert_int_equal(fulmar_client_mget(c, items, 30), -ETIMEDOUT);
    int dead = 0;
    for (int i = 0; i < 30; ++i) {
        if (fulmar_client_server_for(c, keys[i], strlen(keys[i])) == 1) {
            assert_int_equal(items[i].status, -ETIMEDOUT);
            ++dead;
        } else {
            assert_value(&items[i], "v");
        }
    }
    assert_true(dead > 0);
    /* Three attempts of 250 ms, the live servers answered during the first. */
    assert_int_equal(e->net.now_us - start, 750000);
    assert_int_equal(e->net.requests_per_node[1], 3);
}

static void window_bounds_requests_in_flight_per_server(void** state) {
    env* e = *state;
    enum { kKeys = 300 };
    static char keys[kKeys][101];
    fulmar_item items[kKeys];
    for (int i = 0; i < kKeys; ++i) {
        memset(keys[i], 'w', 100);
        snprintf(keys[i] + 90, 11, "%010d", i);
        items[i] = item_for(keys[i]);
        if (i % 2 == 0) fake_put(&e->net, keys[i], "v", 0, 0);
    }
    for (uint32_t window = 1; window <= 3; ++window) {
        fulmar_client_options o;
        fulmar_client_options_init(&o);
        o.window = window;
        fulmar_client* c = open_client(e, "a:1,b:1", &o);
        memset(e->net.max_in_flight, 0, sizeof e->net.max_in_flight);
        e->net.n_requests = 0;
        assert_int_equal(fulmar_client_mget(c, items, kKeys), 0);
        assert_true(e->net.n_requests > 2 * window); /* the window had to hold some back */
        assert_int_equal(e->net.max_in_flight[0], window);
        assert_int_equal(e->net.max_in_flight[1], window);
        assert_int_equal(stats_of(c).max_in_flight, window);
        for (int i = 0; i < kKeys; ++i)
            assert_int_equal(items[i].status, i % 2 ? -ENOENT : 0);
    }
}

/* window x servers may exceed the 16-bit request id space; the client caps
 * what is in flight in all instead of running out of ids. */
static void requests_in_flight_stay_within_the_id_space(void** state) {
    env* e = *state;
    enum { kServers = 20, kKeys = 17000 };
    char servers[kServers * 8];
    servers[0] = '\0';
    for (int s = 0; s < kServers; ++s) {
        char one[16];
        snprintf(one, sizeof one, "%ss%d:1", s ? "," : "", s);
        strcat(servers, one);
    }
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.window = 1024;
    o.max_request_payload = 300; /* one 250-byte key a request */
    fulmar_client* c = open_client(e, servers, &o);
    char(*keys)[FULMAR_MC_MAX_KEY_LEN + 1] = calloc(kKeys, sizeof *keys);
    fulmar_item* items = calloc(kKeys, sizeof *items);
    for (int i = 0; i < kKeys; ++i) {
        memset(keys[i], 'i', FULMAR_MC_MAX_KEY_LEN);
        snprintf(keys[i] + 240, 11, "%010d", i);
        items[i] = item_for(keys[i]);
    }
    assert_int_equal(fulmar_client_mget(c, items, kKeys), 0);
    for (int i = 0; i < kKeys; ++i)
        assert_int_equal(items[i].status, -ENOENT);
    assert_int_equal(e->net.n_requests, kKeys);
    fulmar_test_stats s = stats_of(c);
    assert_int_equal(s.max_total_in_flight, 16384);
    assert_int_equal(s.max_in_flight, 1024);
    free(keys);
    free(items);
}

static void a_failing_transport_fails_the_call_not_the_client(void** state) {
    env* e = *state;
    fake_put(&e->net, "k", "v", 0, 0);
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    fulmar_item items[2] = {item_for("k"), item_for("j")};
    e->net.fail_recv = 1;
    assert_int_equal(fulmar_client_mget(c, items, 2), -EIO);
    assert_int_equal(items[0].status, -EIO);
    assert_int_equal(items[1].status, -EIO);
    /* The same client works again; the replies queued before the failure are strays now. */
    e->net.fail_recv = 0;
    assert_int_equal(fulmar_client_mget(c, items, 2), 0);
    assert_value(&items[0], "v");
    assert_int_equal(items[1].status, -ENOENT);
    assert_true(stats_of(c).strays > 0);
}

/* ------------------------------------------------------------ reply mapping */

typedef struct get_case {
    const char* reply;
    int status_x; /* of key "x" */
    int status_y; /* of key "y" */
    int rc;
} get_case;

static void get_replies_map_to_statuses(void** state) {
    env* e = *state;
    static const get_case cases[] = {
        {"END\r\n", -ENOENT, -ENOENT, 0},
        {"VALUE x 0 1\r\na\r\nEND\r\n", 0, -ENOENT, 0},
        {"VALUE y 0 1\r\na\r\nEND\r\n", -ENOENT, 0, 0},
        {"VALUE x 0 1\r\na\r\nVALUE y 5 2\r\nbb\r\nEND\r\n", 0, 0, 0},
        /* Values may come as separate messages in any order (memcached 1.6). */
        {"VALUE y 0 1\r\na\r\nVALUE x 0 1\r\na\r\nEND\r\n", 0, 0, 0},
        /* A duplicated message repeats a value: dropped. */
        {"VALUE x 0 1\r\na\r\nVALUE x 0 1\r\na\r\nEND\r\n", 0, -ENOENT, 0},
        /* Never whole: waits for more messages until the timeout, every attempt. */
        {"VALUE x 0 1\r\na\r\n", -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT},
        {"", -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT},
        {"EN", -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT},
        /* Malformed: the whole reply is suspect. */
        {"VALUE x 0 5\r\nabc\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO}, /* short data */
        {"VALUE x 0 1\r\naXEND\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"VALUE z 0 1\r\na\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO}, /* not asked */
        {"VALUE x 0 1\r\na\r\nVALUE z 0 1\r\na\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"VALUE x zero 1\r\na\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"VALUE x 0 1 2 3\r\na\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"END\r\nEND\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"BOGUS\r\n", -EPROTO, -EPROTO, -EPROTO},
        {"STORED\r\n", -EPROTO, -EPROTO, -EPROTO},
        /* Server errors: what came before the error stands. */
        {"SERVER_ERROR out of memory writing get response\r\n", -EIO, -EIO, -EIO},
        {"VALUE x 0 1\r\na\r\nSERVER_ERROR busy\r\n", 0, -EIO, -EIO},
        {"CLIENT_ERROR bad command line format\r\n", -EIO, -EIO, -EIO},
        {"ERROR\r\n", -EIO, -EIO, -EIO},
    };
    fulmar_client* c = open_client(e, "a:1", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        e->net.canned = cases[i].reply;
        fulmar_item items[2] = {item_for("x"), item_for("y")};
        const int rc = fulmar_client_mget(c, items, 2);
        if (rc != cases[i].rc || items[0].status != cases[i].status_x ||
            items[1].status != cases[i].status_y) {
            fail_msg("reply %zu '%s': rc %d x %d y %d", i, cases[i].reply, rc, items[0].status,
                     items[1].status);
        }
    }
}

enum write_cmd { W_STORE, W_DELETE, W_INCR, W_DECR, W_TOUCH };

typedef struct write_case {
    enum write_cmd cmd;
    fulmar_store_mode mode;
    const char* reply;
    int rc;
} write_case;

static int run_write(fulmar_client* c, const write_case* w, uint64_t* number) {
    switch (w->cmd) {
        case W_STORE:
            return fulmar_client_store(c, w->mode, "k", 1, "abc", 3, 5, 100, 77);
        case W_DELETE:
            return fulmar_client_delete(c, "k", 1);
        case W_INCR:
            return fulmar_client_incr(c, "k", 1, 5, number);
        case W_DECR:
            return fulmar_client_decr(c, "k", 1, 5, number);
        case W_TOUCH:
            return fulmar_client_touch(c, "k", 1, 10);
    }
    return 1;
}

static void every_write_reply_maps_to_its_documented_code(void** state) {
    env* e = *state;
    static const write_case cases[] = {
        {W_STORE, FULMAR_STORE_SET, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_SET, "NOT_STORED\r\n", -EPROTO},
        {W_STORE, FULMAR_STORE_SET, "SERVER_ERROR object too large for cache\r\n", -E2BIG},
        {W_STORE, FULMAR_STORE_SET, "SERVER_ERROR out of memory storing object\r\n", -ENOMEM},
        {W_STORE, FULMAR_STORE_SET, "SERVER_ERROR writes to keys of different shards\r\n", -EIO},
        {W_STORE, FULMAR_STORE_SET, "CLIENT_ERROR bad data chunk\r\n", -EINVAL},
        {W_STORE, FULMAR_STORE_SET, "ERROR\r\n", -EIO},
        {W_STORE, FULMAR_STORE_SET, "STORED\r\nSTORED\r\n", -EPROTO},
        {W_STORE, FULMAR_STORE_SET, "STORED", -EPROTO},
        {W_STORE, FULMAR_STORE_SET, "DELETED\r\n", -EPROTO},
        {W_STORE, FULMAR_STORE_ADD, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_ADD, "NOT_STORED\r\n", -EEXIST},
        {W_STORE, FULMAR_STORE_REPLACE, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_REPLACE, "NOT_STORED\r\n", -ENOENT},
        {W_STORE, FULMAR_STORE_APPEND, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_APPEND, "NOT_STORED\r\n", -ENOENT},
        {W_STORE, FULMAR_STORE_PREPEND, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_PREPEND, "NOT_STORED\r\n", -ENOENT},
        {W_STORE, FULMAR_STORE_CAS, "STORED\r\n", 0},
        {W_STORE, FULMAR_STORE_CAS, "EXISTS\r\n", -EEXIST},
        {W_STORE, FULMAR_STORE_CAS, "NOT_FOUND\r\n", -ENOENT},
        {W_STORE, FULMAR_STORE_CAS, "NOT_STORED\r\n", -EPROTO},
        {W_STORE, FULMAR_STORE_ADD, "EXISTS\r\n", -EPROTO},
        {W_DELETE, 0, "DELETED\r\n", 0},
        {W_DELETE, 0, "NOT_FOUND\r\n", -ENOENT},
        {W_DELETE, 0, "STORED\r\n", -EPROTO},
        {W_DELETE, 0, "SERVER_ERROR oops\r\n", -EIO},
        {W_INCR, 0, "NOT_FOUND\r\n", -ENOENT},
        {W_INCR, 0, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", -EINVAL},
        {W_INCR, 0, "-1\r\n", -EPROTO},
        {W_INCR, 0, "+1\r\n", -EPROTO},
        {W_INCR, 0, "18446744073709551616\r\n", -EPROTO},
        {W_INCR, 0, "STORED\r\n", -EPROTO},
        {W_DECR, 0, "NOT_FOUND\r\n", -ENOENT},
        {W_TOUCH, 0, "TOUCHED\r\n", 0},
        {W_TOUCH, 0, "NOT_FOUND\r\n", -ENOENT},
        {W_TOUCH, 0, "ERROR\r\n", -EIO},
        {W_TOUCH, 0, "DELETED\r\n", -EPROTO},
    };
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        e->net.canned = cases[i].reply;
        uint64_t number = 0;
        const int rc = run_write(c, &cases[i], &number);
        if (rc != cases[i].rc)
            fail_msg("case %zu, reply '%s': got %d, want %d", i, cases[i].reply, rc, cases[i].rc);
    }

    uint64_t v = 0;
    e->net.canned = "42\r\n";
    assert_int_equal(fulmar_client_incr(c, "k", 1, 1, &v), 0);
    assert_int_equal(v, 42);
    e->net.canned = "18446744073709551615\r\n";
    assert_int_equal(fulmar_client_decr(c, "k", 1, 1, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(fulmar_client_incr(c, "k", 1, 1, NULL), 0);
}

static void write_requests_have_memcached_syntax(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1", NULL);
    e->net.canned = "STORED\r\n";
    static const struct {
        write_case w;
        const char* text;
    } cases[] = {
        {{W_STORE, FULMAR_STORE_SET, 0, 0}, "set k 5 100 3\r\nabc\r\n"},
        {{W_STORE, FULMAR_STORE_ADD, 0, 0}, "add k 5 100 3\r\nabc\r\n"},
        {{W_STORE, FULMAR_STORE_REPLACE, 0, 0}, "replace k 5 100 3\r\nabc\r\n"},
        {{W_STORE, FULMAR_STORE_APPEND, 0, 0}, "append k 5 100 3\r\nabc\r\n"},
        {{W_STORE, FULMAR_STORE_PREPEND, 0, 0}, "prepend k 5 100 3\r\nabc\r\n"},
        {{W_STORE, FULMAR_STORE_CAS, 0, 0}, "cas k 5 100 3 77\r\nabc\r\n"},
        {{W_DELETE, 0, 0, 0}, "delete k\r\n"},
        {{W_INCR, 0, 0, 0}, "incr k 5\r\n"},
        {{W_DECR, 0, 0, 0}, "decr k 5\r\n"},
        {{W_TOUCH, 0, 0, 0}, "touch k 10\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        uint64_t n;
        (void)run_write(c, &cases[i].w, &n);
        assert_int_equal(e->net.last_request_len, 8 + strlen(cases[i].text));
        assert_memory_equal(e->net.last_request + 8, cases[i].text, strlen(cases[i].text));
        assert_int_equal(e->net.last_node, fulmar_client_server_for(c, "k", 1));
        /* frame header: total 1, sequence 0, reserved 0 */
        assert_memory_equal(e->net.last_request + 2, "\0\0\0\1\0\0", 6);
    }
    /* Negative exptime and the largest flags are written as memcached reads them. */
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_SET, "k", 1, NULL, 0, UINT32_MAX, -1, 0),
                     0);
    const char* want = "set k 4294967295 -1 0\r\n\r\n";
    assert_memory_equal(e->net.last_request + 8, want, strlen(want));
}

static void only_repeatable_writes_are_resent(void** state) {
    env* e = *state;
    static const struct {
        write_case w;
        unsigned sends;
    } cases[] = {
        {{W_STORE, FULMAR_STORE_SET, 0, 0}, 3},
        {{W_DELETE, 0, 0, 0}, 3},
        {{W_TOUCH, 0, 0, 0}, 3},
        {{W_STORE, FULMAR_STORE_ADD, 0, 0}, 1},
        {{W_STORE, FULMAR_STORE_REPLACE, 0, 0}, 1},
        {{W_STORE, FULMAR_STORE_APPEND, 0, 0}, 1},
        {{W_STORE, FULMAR_STORE_PREPEND, 0, 0}, 1},
        {{W_STORE, FULMAR_STORE_CAS, 0, 0}, 1},
        {{W_INCR, 0, 0, 0}, 1},
        {{W_DECR, 0, 0, 0}, 1},
    };
    fulmar_client* c = open_client(e, "a:1", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        e->net.drop_requests = 100;
        e->net.n_requests = 0;
        uint64_t n;
        assert_int_equal(run_write(c, &cases[i].w, &n), -ETIMEDOUT);
        assert_int_equal(e->net.n_requests, cases[i].sends);
    }
    /* A set whose first reply is lost succeeds on the resend. */
    e->net.drop_requests = 1;
    assert_int_equal(fulmar_client_set(c, "k", 1, "v", 1, 9, 0), 0);
    fulmar_item it = item_for("k");
    assert_int_equal(fulmar_client_get(c, &it), 0);
    assert_value(&it, "v");
    assert_int_equal(it.flags, 9);
}

/* ------------------------------------------------------------ arguments */

static void bad_arguments_are_refused_before_sending(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1", NULL);
    char long_key[FULMAR_MC_MAX_KEY_LEN + 2];
    memset(long_key, 'k', sizeof long_key);
    static char big[FULMAR_MC_UDP_MAX_PAYLOAD + 1];
    memset(big, 'v', sizeof big);
    uint64_t v;
    fulmar_item it = item_for("k");

    /* NULL client, item, key */
    assert_int_equal(fulmar_client_get(NULL, &it), -EINVAL);
    assert_int_equal(fulmar_client_get(c, NULL), -EINVAL);
    assert_int_equal(fulmar_client_mget(NULL, &it, 1), -EINVAL);
    assert_int_equal(fulmar_client_mget(c, NULL, 1), -EINVAL);
    assert_int_equal(fulmar_client_set(NULL, "k", 1, "v", 1, 0, 0), -EINVAL);
    assert_int_equal(fulmar_client_set(c, NULL, 1, "v", 1, 0, 0), -EINVAL);
    assert_int_equal(fulmar_client_set(c, "k", 1, NULL, 1, 0, 0), -EINVAL);
    assert_int_equal(fulmar_client_delete(c, NULL, 0), -EINVAL);
    assert_int_equal(fulmar_client_incr(NULL, "k", 1, 1, &v), -EINVAL);
    assert_int_equal(fulmar_client_touch(c, NULL, 1, 0), -EINVAL);
    assert_int_equal(fulmar_client_server_for(NULL, "k", 1), -EINVAL);
    assert_int_equal(fulmar_client_server_count(NULL), -EINVAL);
    assert_int_equal(fulmar_client_store(c, (fulmar_store_mode)6, "k", 1, "v", 1, 0, 0, 0),
                     -EINVAL);
    it.key = NULL;
    assert_int_equal(fulmar_client_get(c, &it), -EINVAL);

    /* keys: empty, too long, spaces, control characters, DEL */
    static const char* const bad_keys[] = {"", "a b", "a\r\nb", "tab\there", "nul", "del\x7f"};
    static const size_t bad_lens[] = {0, 3, 4, 8, 4, 4}; /* "nul" with its NUL byte */
    for (size_t i = 0; i < 6; ++i) {
        it = item_for(bad_keys[i]);
        it.key_len = bad_lens[i];
        assert_int_equal(fulmar_client_get(c, &it), -EINVAL);
        assert_int_equal(it.status, -EINVAL);
        assert_int_equal(fulmar_client_set(c, bad_keys[i], bad_lens[i], "v", 1, 0, 0), -EINVAL);
        assert_int_equal(fulmar_client_delete(c, bad_keys[i], bad_lens[i]), -EINVAL);
        assert_int_equal(fulmar_client_incr(c, bad_keys[i], bad_lens[i], 1, &v), -EINVAL);
        assert_int_equal(fulmar_client_touch(c, bad_keys[i], bad_lens[i], 1), -EINVAL);
        assert_int_equal(fulmar_client_server_for(c, bad_keys[i], bad_lens[i]), -EINVAL);
    }
    assert_int_equal(fulmar_client_set(c, long_key, FULMAR_MC_MAX_KEY_LEN + 1, "v", 1, 0, 0),
                     -EINVAL);
    assert_int_equal(fulmar_client_server_for(c, long_key, FULMAR_MC_MAX_KEY_LEN + 1), -EINVAL);
    assert_int_equal(e->net.n_requests, 0);

    /* One bad key spoils the whole multi-get: nothing is sent. */
    fulmar_item items[3] = {item_for("good"), item_for("b ad"), item_for("fine")};
    assert_int_equal(fulmar_client_mget(c, items, 3), -EINVAL);
    assert_int_equal(items[0].status, -ECANCELED);
    assert_int_equal(items[1].status, -EINVAL);
    assert_int_equal(items[2].status, -ECANCELED);
    assert_int_equal(e->net.n_requests, 0);

    /* A value that would not fit one datagram. */
    assert_int_equal(fulmar_client_set(c, "k", 1, big, sizeof big, 0, 0), -E2BIG);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_APPEND, "k", 1, big, 1380, 0, 0, 0),
                     -E2BIG);
    assert_int_equal(e->net.n_requests, 0);

    /* The largest key and the largest value that fit are sent. */
    e->net.canned = "STORED\r\n";
    assert_int_equal(fulmar_client_set(c, long_key, FULMAR_MC_MAX_KEY_LEN, "v", 1, 0, 0), 0);
    /* "set k 0 0 1382\r\n" + 1382 + "\r\n" = 1400 */
    assert_int_equal(fulmar_client_set(c, "k", 1, big, 1382, 0, 0), 0);
    assert_int_equal(fulmar_client_set(c, "k", 1, big, 1383, 0, 0), -E2BIG);
    assert_int_equal(e->net.n_requests, 2);
}

static void a_larger_request_payload_admits_larger_values(void** state) {
    env* e = *state;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.max_request_payload = 9000 - 28 - 8; /* jumbo frames */
    fulmar_client* c = open_client(e, "a:1", &o);
    static char big[8000];
    memset(big, 'j', sizeof big);
    e->net.canned = "STORED\r\n";
    assert_int_equal(fulmar_client_set(c, "k", 1, big, sizeof big, 0, 0), 0);
}

static void client_creation_checks_servers_and_options(void** state) {
    env* e = *state;
    fulmar_test_transport t = fake_transport(&e->net);
    fulmar_client* c = NULL;
    static const char* const bad_servers[] = {"",        " , ",   "a",       "a:", "a:0",
                                              "a:65536", "a:1:0", "a:1,a:1", ":1", "a:x"};
    for (size_t i = 0; i < sizeof bad_servers / sizeof bad_servers[0]; ++i) {
        assert_int_equal(fulmar_client_new_with_transport(bad_servers[i], NULL, &t, 1, &c),
                         -EINVAL);
    }
    assert_int_equal(fulmar_client_new_with_transport(NULL, NULL, &t, 1, &c), -EINVAL);
    assert_int_equal(fulmar_client_new_with_transport("a:1", NULL, &t, 1, NULL), -EINVAL);
    assert_int_equal(fulmar_client_new_with_transport("a:1", NULL, NULL, 1, &c), -EINVAL);
    assert_int_equal(fulmar_client_new(NULL, NULL, &c), -EINVAL);

    fulmar_client_options o;
    fulmar_client_options_init(&o);
    assert_int_equal(o.timeout_ms, 250);
    assert_int_equal(o.retries, 2);
    assert_int_equal(o.window, 8);
    assert_int_equal(o.max_request_payload, 1400);
    assert_int_equal(o.distribution, FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY);
    assert_int_equal(o.transport, FULMAR_TRANSPORT_UDP);
    assert_int_equal(o.tcp_connections, 2);
    assert_int_equal(o.reconnect_min_ms, 10);
    assert_int_equal(o.reconnect_max_ms, 1000);
    static const struct {
        int field;
        uint32_t value;
        int rc;
    } opts[] = {
        {0, 0, -EINVAL},     {0, 3600001, -EINVAL}, {1, 1001, -EINVAL},   {2, 0, -EINVAL},
        {2, 1025, -EINVAL},  {3, 299, -EINVAL},     {3, 65500, -EINVAL},  {4, 2, -EINVAL},
        {5, 3, -EINVAL},     {6, 0, -EINVAL},       {6, 65, -EINVAL},     {7, 0, -EINVAL},
        {7, 60001, -EINVAL}, {8, 9, -EINVAL},       {8, 600001, -EINVAL},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; ++i) {
        fulmar_client_options_init(&o);
        switch (opts[i].field) {
            case 0:
                o.timeout_ms = opts[i].value;
                break;
            case 1:
                o.retries = opts[i].value;
                break;
            case 2:
                o.window = opts[i].value;
                break;
            case 3:
                o.max_request_payload = opts[i].value;
                break;
            case 4:
                o.distribution = (fulmar_distribution)opts[i].value;
                break;
            case 5:
                o.transport = (fulmar_transport_kind)opts[i].value;
                break;
            case 6:
                o.tcp_connections = opts[i].value;
                break;
            case 7:
                o.reconnect_min_ms = opts[i].value;
                break;
            case 8:
                o.reconnect_max_ms = opts[i].value;
                break;
        }
        assert_int_equal(fulmar_client_new_with_transport("a:1", &o, &t, 1, &c), opts[i].rc);
        assert_int_equal(fulmar_client_new("127.0.0.1:11211", &o, &c), opts[i].rc);
    }
    assert_null(c);

    /* The callbacks carry datagrams: TCP needs real sockets. */
    fulmar_client_options_init(&o);
    o.transport = FULMAR_TRANSPORT_TCP;
    assert_int_equal(fulmar_client_new_with_transport("a:1", &o, &t, 1, &c), -EPROTONOSUPPORT);
    o.transport = FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES;
    assert_int_equal(fulmar_client_new_with_transport("a:1", &o, &t, 1, &c), -EPROTONOSUPPORT);
    assert_null(c);
    /* Over TCP nothing is connected at creation: a closed port is no error yet. */
    assert_int_equal(fulmar_client_new("127.0.0.1:1", &o, &c), 0);
    fulmar_client_free(c);
}

static void servers_validate_explains_the_first_mistake(void** state) {
    (void)state;
    char msg[128];
    assert_int_equal(fulmar_servers_validate("a:1, b:2:3", FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY,
                                             msg, sizeof msg),
                     0);
    assert_string_equal(msg, "");
    assert_int_equal(fulmar_servers_validate("a:1,10.0.0.1:0", FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY,
                                             msg, sizeof msg),
                     -EINVAL);
    assert_non_null(strstr(msg, "10.0.0.1:0"));
    char tiny[8];
    assert_int_equal(
        fulmar_servers_validate("a:0", FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY, tiny, sizeof tiny),
        -EINVAL);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(fulmar_servers_validate(NULL, FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY, NULL, 0),
                     -EINVAL);
    assert_int_equal(
        fulmar_servers_validate("a:1 n", FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED, NULL, 0),
        -EINVAL);
}

static void strerror_describes_every_documented_code(void** state) {
    (void)state;
    static const int codes[] = {
        0,    -ENOENT,          -EEXIST, -ETIMEDOUT,    -EINVAL,    -E2BIG, -ENOMEM,
        -EIO, -EPROTONOSUPPORT, -EPROTO, -EHOSTUNREACH, -ECANCELED, -EMFILE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        const char* s = fulmar_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(fulmar_strerror(-ETIMEDOUT), fulmar_strerror(ETIMEDOUT));
    assert_string_equal(fulmar_strerror(-100000), "unknown error");
}

static void set_then_get_round_trips_through_the_fake(void** state) {
    env* e = *state;
    fulmar_client* c = open_client(e, "a:1,b:1,c:1", NULL);
    assert_int_equal(fulmar_client_set(c, "greeting", 8, "hello", 5, 7, 0), 0);
    assert_int_equal(fulmar_client_set(c, "empty", 5, "", 0, 0, 0), 0);
    fulmar_item items[2] = {item_for("greeting"), item_for("empty")};
    assert_int_equal(fulmar_client_mget(c, items, 2), 0);
    assert_value(&items[0], "hello");
    assert_int_equal(items[0].flags, 7);
    assert_int_equal(items[1].status, 0);
    assert_int_equal(items[1].value_len, 0);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(whereis_matches_an_independent_ketama),
        T(distribution_option_selects_the_peer_ring),
        T(each_get_goes_to_the_whereis_server),
        T(mget_sends_one_request_per_server_and_fills_every_key),
        T(mget_with_no_keys_sends_nothing),
        T(mget_of_a_repeated_key_fills_both),
        T(mget_splits_requests_to_fit_one_datagram),
        T(gets_returns_cas_uniques),
        T(reassembles_reordered_and_duplicated_datagrams),
        T(reassembles_one_message_per_value),
        T(ignores_strays_foreign_senders_and_bad_headers),
        T(a_lost_datagram_is_retried_after_one_timeout),
        T(a_late_reply_to_an_earlier_attempt_is_a_stray),
        T(no_reply_times_out_after_every_retry),
        T(a_dead_server_times_out_while_the_others_answer),
        T(window_bounds_requests_in_flight_per_server),
        T(requests_in_flight_stay_within_the_id_space),
        T(a_failing_transport_fails_the_call_not_the_client),
        T(get_replies_map_to_statuses),
        T(every_write_reply_maps_to_its_documented_code),
        T(write_requests_have_memcached_syntax),
        T(only_repeatable_writes_are_resent),
        T(bad_arguments_are_refused_before_sending),
        T(a_larger_request_payload_admits_larger_values),
        T(client_creation_checks_servers_and_options),
        T(servers_validate_explains_the_first_mistake),
        T(strerror_describes_every_documented_code),
        T(set_then_get_round_trips_through_the_fake),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
