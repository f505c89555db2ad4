/*
 * libfulmar's TCP transport against a scripted server in a thread of this
 * process: replies cut into pieces of 1, 2, 5, 10, 100 and 1400 bytes, each
 * sent on its own (so pipelined replies share pieces and a \r arrives apart
 * from its \n), a reply outside the grammar, and a server that closes in the
 * middle of a reply.
 *
 * Two threads: the test's, and the server's (which only reads and writes
 * sockets; every assertion is on the test's thread).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/test_transport.h"
#include "fulmar/client.h"

static int g_listen = -1;
static char g_name[32];
static pthread_t g_thread;
static atomic_int g_chunk = 1400; /* reply bytes per send() */

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Keys k0..k29 hold "value-of-kN" repeated N+1 times; others are absent. */
static size_t value_for(const char* key, size_t key_len, char* out, size_t cap) {
    if (key_len < 2 || key[0] != 'k') return 0;
    const int n = atoi(key + 1);
    if (n < 0 || n >= 30) return 0;
    size_t len = 0;
    for (int i = 0; i <= n; ++i)
        len += (size_t)snprintf(out + len, cap - len, "value-of-k%d", n);
    return len;
}

/* Sends `len` bytes in pieces of g_chunk, each on its own. 0 or -1. */
static int send_chunked(int fd, const char* p, size_t len) {
    const size_t chunk = (size_t)atomic_load(&g_chunk);
    while (len > 0) {
        const size_t n = len < chunk ? len : chunk;
        if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n) return -1;
        p += n;
        len -= n;
        if (chunk < 1400) sleep_us(50);
    }
    return 0;
}

/* The reply to one request line (without its \r\n). */
static size_t reply_to(const char* line, size_t len, char* out, size_t cap) {
    size_t n = 0;
    if (len > 4 && memcmp(line, "get ", 4) == 0) {
        const char* p = line + 4;
        const char* end = line + len;
        while (p < end) {
            const char* sp = memchr(p, ' ', (size_t)(end - p));
            const size_t kl = (size_t)((sp != NULL ? sp : end) - p);
            if (kl == 7 && memcmp(p, "garbage", 7) == 0)
                return (size_t)snprintf(out, cap, "BOGUS\r\n");
            if (kl == 5 && memcmp(p, "close", 5) == 0) return (size_t)-1;
            char value[1024];
            const size_t vl = value_for(p, kl, value, sizeof value);
            if (vl > 0) {
                n += (size_t)snprintf(out + n, cap - n, "VALUE %.*s 7 %zu\r\n", (int)kl, p, vl);
                memcpy(out + n, value, vl);
                n += vl;
                memcpy(out + n, "\r\n", 2);
                n += 2;
            }
            p += kl + (sp != NULL);
        }
        return n + (size_t)snprintf(out + n, cap - n, "END\r\n");
    }
    if (len > 7 && memcmp(line, "delete ", 7) == 0)
        return (size_t)snprintf(out, cap, "DELETED\r\n");
    return (size_t)snprintf(out, cap, "ERROR\r\n");
}

/* Serves one connection until it closes. */
static void serve(int fd) {
    static char in[1 << 16];
    static char out[1 << 16];
    size_t have = 0;
    for (;;) {
        const ssize_t r = recv(fd, in + have, sizeof in - have, 0);
        if (r <= 0) return;
        have += (size_t)r;
        char* start = in;
        char* nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - in))) != NULL) {
            const size_t len = (size_t)(nl - start) - 1; /* without \r\n */
            const size_t n = reply_to(start, len, out, sizeof out);
            if (n == (size_t)-1) { /* half a reply, then gone */
                (void)send_chunked(fd, "VALUE close 0 10\r\nhalf", 22);
                return;
            }
            if (send_chunked(fd, out, n) != 0) return;
            start = nl + 1;
        }
        have -= (size_t)(start - in);
        memmove(in, start, have);
    }
}

static void* server_main(void* arg) {
    (void)arg;
    for (;;) {
        const int fd = accept(g_listen, NULL, NULL);
        if (fd < 0) return NULL; /* the listening socket was shut down */
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve(fd);
        close(fd);
    }
}

static int group_setup(void** state) {
    (void)state;
    g_listen = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (g_listen < 0 || bind(g_listen, (struct sockaddr*)&a, sizeof a) != 0 ||
        listen(g_listen, 16) != 0 || getsockname(g_listen, (struct sockaddr*)&a, &len) != 0) {
        return -1;
    }
    snprintf(g_name, sizeof g_name, "127.0.0.1:%d", ntohs(a.sin_port));
    return pthread_create(&g_thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void** state) {
    (void)state;
    shutdown(g_listen, SHUT_RDWR);
    pthread_join(g_thread, NULL);
    close(g_listen);
    return 0;
}

static fulmar_client* open_client(void) {
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.transport = FULMAR_TRANSPORT_TCP;
    o.timeout_ms = 3000;
    o.tcp_connections = 1; /* one stream: every reply follows another */
    o.max_request_payload = 300;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 10;
    fulmar_client* c = NULL;
    assert_int_equal(fulmar_client_new(g_name, &o, &c), 0);
    return c;
}

static fulmar_test_tcp_stats tcp_stats(const fulmar_client* c) {
    fulmar_test_tcp_stats s;
    assert_int_equal(fulmar_client_test_tcp_stats(c, &s), 0);
    return s;
}

#define N_KEYS 40

static void replies_cut_anywhere_are_read_whole(void** state) {
    (void)state;
    static const int chunks[] = {1, 2, 5, 10, 100, 1400};
    fulmar_client* c = open_client();
    char keys[N_KEYS][8];
    fulmar_item items[N_KEYS];
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; ++k) {
        atomic_store(&g_chunk, chunks[k]);
        /* ~40 keys in 300-byte get lines: several replies pipelined on one
         * connection, the later ones' first bytes in the earlier's last piece. */
        for (int i = 0; i < N_KEYS; ++i) {
            snprintf(keys[i], sizeof keys[i], "k%d", i);
            memset(&items[i], 0, sizeof items[i]);
            items[i].key = keys[i];
            items[i].key_len = strlen(keys[i]);
        }
        assert_int_equal(fulmar_client_mget(c, items, N_KEYS), 0);
        for (int i = 0; i < N_KEYS; ++i) {
            char want[1024];
            const size_t wl = value_for(keys[i], strlen(keys[i]), want, sizeof want);
            if (wl == 0) {
                assert_int_equal(items[i].status, -ENOENT);
                continue;
            }
            if (items[i].status != 0)
                fail_msg("chunk %d, %s: %s", chunks[k], keys[i], fulmar_strerror(items[i].status));
            assert_int_equal(items[i].flags, 7);
            assert_int_equal(items[i].value_len, wl);
            assert_memory_equal(items[i].value, want, wl);
        }
        assert_int_equal(fulmar_client_delete(c, "k1", 2), 0);
    }
    const fulmar_test_tcp_stats s = tcp_stats(c);
    assert_int_equal(s.connects, 1); /* one connection did it all */
    assert_int_equal(s.protocol_errors, 0);
    assert_int_equal(s.breaks, 0);
    fulmar_client_free(c);
}

static void a_reply_outside_the_grammar_is_eproto_and_costs_the_connection(void** state) {
    (void)state;
    atomic_store(&g_chunk, 1400);
    fulmar_client* c = open_client();
    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = "garbage";
    it.key_len = 7;
    assert_int_equal(fulmar_client_get(c, &it), -EPROTO);
    fulmar_test_tcp_stats s = tcp_stats(c);
    assert_int_equal(s.protocol_errors, 1);
    assert_int_equal(s.breaks, 1);
    /* The first failure reconnects at once. */
    it.key = "k3";
    it.key_len = 2;
    assert_int_equal(fulmar_client_get(c, &it), 0);
    s = tcp_stats(c);
    assert_int_equal(s.connects, 2);
    fulmar_client_free(c);
}

static void a_server_closing_mid_reply_is_retried_then_backed_off(void** state) {
    (void)state;
    atomic_store(&g_chunk, 5);
    fulmar_client* c = open_client();
    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = "close";
    it.key_len = 5;
    /* Broken, resent at once on a new connection, broken again: the server
     * is then in backoff and the last attempt fails without being sent. */
    assert_int_equal(fulmar_client_get(c, &it), -ETIMEDOUT);
    fulmar_test_tcp_stats s = tcp_stats(c);
    assert_int_equal(s.breaks, 2);
    assert_int_equal(s.resends, 1);
    assert_int_equal(s.backoff_refusals, 1);
    sleep_us(20000); /* past the 10 ms backoff */
    it.key = "k4";
    it.key_len = 2;
    assert_int_equal(fulmar_client_get(c, &it), 0);
    fulmar_client_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replies_cut_anywhere_are_read_whole),
        cmocka_unit_test(a_reply_outside_the_grammar_is_eproto_and_costs_the_connection),
        cmocka_unit_test(a_server_closing_mid_reply_is_retried_then_backed_off),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
