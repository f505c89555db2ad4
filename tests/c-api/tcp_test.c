/*
 * libfulmar over TCP against real servers: by default three Debian memcached
 * processes started here (`memcached -p <port> -U 0 -l 127.0.0.1`, stopped by
 * PID at the end), or any memcached-text TCP servers named by
 *
 *   FULMAR_TEST_TCP_SERVERS=198.18.0.1:11211 c_api_tcp_test      (or as argv[1])
 *
 * e.g. the Fulmar appliance inside its namespace (`ip netns exec fulmar ...`).
 * The tests that kill and restart servers start memcached servers of their
 * own in either mode; the mixed-transport test expects UDP on the same
 * host:port as TCP.
 *
 * Covers: ring fan-out of set/get/multi-get across the servers, values of the
 * largest size memcached stores, every write reply's code (the same as over
 * UDP), a server killed with requests in flight (they fail with -ETIMEDOUT at
 * once, the other servers' keys answer, calls succeed again after the restart),
 * a restart between calls (found before a non-resendable add is lost), a
 * silent server (timeouts), pipelining depth and throughput, and fulmar-cli's
 * --tcp / --transport.
 *
 * One thread (plus short-lived children); the servers die with this process.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/test_transport.h"
#include "fulmar/client.h"

#define N_SERVERS 3
#define MAX_LIST 1024

typedef struct server {
    pid_t pid;
    int port;
    int udp; /* also serve UDP on the same port */
    char name[32];
} server;

static server g_servers[N_SERVERS];
static char g_list[MAX_LIST]; /* the servers every test uses */
static int g_external;        /* 1: g_list came from the environment */
static char g_dual[MAX_LIST]; /* servers with UDP and TCP on one port */
static server g_dual_server;

/* ------------------------------------------------------------ helpers */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A loopback port free for TCP and UDP right now (memcached may still lose a
 * race for it: start_server then tries another). */
static int free_port(void) {
    for (;;) {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0 ||
            getsockname(fd, (struct sockaddr*)&a, &len) != 0) {
            abort();
        }
        close(fd);
        const int u = socket(AF_INET, SOCK_DGRAM, 0);
        const int ok = u >= 0 && bind(u, (struct sockaddr*)&a, sizeof a) == 0;
        if (u >= 0) close(u);
        if (ok) return ntohs(a.sin_port);
    }
}

static fulmar_client_options tcp_options(void) {
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.transport = FULMAR_TRANSPORT_TCP;
    o.timeout_ms = 2000;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 200;
    return o;
}

static fulmar_client* open_client(const char* servers, const fulmar_client_options* o) {
    fulmar_client* c = NULL;
    const int rc = fulmar_client_new(servers, o, &c);
    if (rc != 0) fail_msg("fulmar_client_new(%s): %s", servers, fulmar_strerror(rc));
    return c;
}

static fulmar_test_tcp_stats tcp_stats(const fulmar_client* c) {
    fulmar_test_tcp_stats s;
    assert_int_equal(fulmar_client_test_tcp_stats(c, &s), 0);
    return s;
}

static fulmar_item item_for(const char* key) {
    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = key;
    it.key_len = strlen(key);
    return it;
}

/* Keys unique to this run, so a shared server's old data cannot pass a test. */
static unsigned g_run;

static void key_of(const char* prefix, int i, char* key, size_t n) {
    snprintf(key, n, "%s:%u:%05d", prefix, g_run, i);
}

static size_t value_of(int i, char* value, size_t n) {
    int len = snprintf(value, n, "value-%d-", i);
    const size_t want = (size_t)len + (size_t)(i * 37) % 1200;
    for (; (size_t)len < want && (size_t)len < n - 1; ++len)
        value[len] = (char)('a' + (len + i) % 26);
    value[len] = '\0';
    return (size_t)len;
}

/* ------------------------------------------------------------ servers */

static int wait_ready(server* s) {
    fulmar_client_options o = tcp_options();
    o.timeout_ms = 100;
    o.retries = 0;
    o.reconnect_min_ms = 1;
    o.reconnect_max_ms = 1;
    fulmar_client* c = NULL;
    if (fulmar_client_new(s->name, &o, &c) != 0) return -1;
    int ready = 0;
    for (int i = 0; i < 200 && !ready; ++i) {
        if (fulmar_client_set(c, "ready", 5, "1", 1, 0, 0) == 0) {
            ready = 1;
        } else if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            break;
        } else {
            sleep_ms(10);
        }
    }
    fulmar_client_free(c);
    return ready ? 0 : -1;
}

/* Starts memcached on s->port (a fresh one when `keep_port` is 0). */
static int start_server(server* s, int keep_port) {
    for (int attempt = 0; attempt < (keep_port ? 50 : 5); ++attempt) {
        if (!keep_port) s->port = free_port();
        snprintf(s->name, sizeof s->name, "127.0.0.1:%d", s->port);
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        const pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
            const char* udp = s->udp ? port : "0";
            if (geteuid() == 0) {
                execl(FULMAR_MEMCACHED, "memcached", "-u", "root", "-l", "127.0.0.1", "-p", port,
                      "-U", udp, "-t", "2", (char*)NULL);
            } else {
                execl(FULMAR_MEMCACHED, "memcached", "-l", "127.0.0.1", "-p", port, "-U", udp, "-t",
                      "2", (char*)NULL);
            }
            _exit(127);
        }
        s->pid = pid;
        if (wait_ready(s) == 0) return 0;
        if (s->pid != 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        if (keep_port) sleep_ms(20); /* the old process's port may linger */
    }
    return -1;
}

static void stop_server(server* s, int sig) {
    if (s->pid <= 0) return;
    kill(s->pid, sig);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static int group_setup(void** state) {
    (void)state;
    g_run = (unsigned)getpid() ^ (unsigned)now_ms();
    const char* env = getenv("FULMAR_TEST_TCP_SERVERS");
    if (env != NULL && env[0] != '\0') {
        if (strlen(env) >= MAX_LIST) return -1;
        strcpy(g_list, env);
        strcpy(g_dual, env);
        g_external = 1;
        return 0;
    }
    g_list[0] = '\0';
    for (int i = 0; i < N_SERVERS; ++i) {
        if (start_server(&g_servers[i], 0) != 0) {
            fprintf(stderr, "cannot start %s\n", FULMAR_MEMCACHED);
            return -1;
        }
        if (i > 0) strcat(g_list, ",");
        strcat(g_list, g_servers[i].name);
    }
    g_dual_server.udp = 1;
    if (start_server(&g_dual_server, 0) != 0) return -1;
    strcpy(g_dual, g_dual_server.name);
    return 0;
}

static int group_teardown(void** state) {
    (void)state;
    for (int i = 0; i < N_SERVERS; ++i)
        stop_server(&g_servers[i], SIGTERM);
    stop_server(&g_dual_server, SIGTERM);
    return 0;
}

/* ------------------------------------------------------------ fan-out */

#define N_KEYS 1000

static void set_get_and_mget_fan_out_over_the_ring(void** state) {
    (void)state;
    const fulmar_client_options o = tcp_options();
    fulmar_client* c = open_client(g_list, &o);
    static char keys[N_KEYS][32];
    static char values[N_KEYS][1300];
    static size_t lens[N_KEYS];
    for (int i = 0; i < N_KEYS; ++i) {
        key_of("fan", i, keys[i], sizeof keys[i]);
        lens[i] = value_of(i, values[i], sizeof values[i]);
        const int rc =
            fulmar_client_set(c, keys[i], strlen(keys[i]), values[i], lens[i], (uint32_t)i, 0);
        if (rc != 0) fail_msg("set %s: %s", keys[i], fulmar_strerror(rc));
    }
    for (int i = 0; i < N_KEYS; i += 97) {
        fulmar_item it = item_for(keys[i]);
        assert_int_equal(fulmar_client_get(c, &it), 0);
        assert_int_equal(it.value_len, lens[i]);
        assert_memory_equal(it.value, values[i], lens[i]);
        assert_int_equal(it.flags, i);
    }

    /* All at once, plus 100 never set, plus a repeated key. */
    static fulmar_item items[N_KEYS + 101];
    static char absent[100][32];
    for (int i = 0; i < N_KEYS + 100; ++i) {
        if (i < N_KEYS) {
            items[i] = item_for(keys[i]);
        } else {
            key_of("absent", i, absent[i - N_KEYS], sizeof absent[0]);
            items[i] = item_for(absent[i - N_KEYS]);
        }
    }
    items[N_KEYS + 100] = item_for(keys[7]);
    assert_int_equal(fulmar_client_mget(c, items, N_KEYS + 101), 0);
    for (int i = 0; i < N_KEYS; ++i) {
        if (items[i].status != 0) fail_msg("%s: %s", keys[i], fulmar_strerror(items[i].status));
        assert_int_equal(items[i].value_len, lens[i]);
        assert_memory_equal(items[i].value, values[i], lens[i]);
        assert_int_equal(items[i].flags, i);
    }
    for (int i = N_KEYS; i < N_KEYS + 100; ++i)
        assert_int_equal(items[i].status, -ENOENT);
    assert_int_equal(items[N_KEYS + 100].status, 0);
    assert_memory_equal(items[N_KEYS + 100].value, values[7], lens[7]);

    /* Each key lives on the server whereis names, and only there. */
    const int n_servers = fulmar_client_server_count(c);
    int spread = 0;
    for (int s = 0; s < n_servers; ++s) {
        fulmar_client* one = open_client(fulmar_client_server_name(c, s), &o);
        assert_int_equal(fulmar_client_mget(one, items, N_KEYS), 0);
        int on = 0;
        for (int i = 0; i < N_KEYS; ++i) {
            const int home = fulmar_client_server_for(c, keys[i], strlen(keys[i]));
            assert_int_equal(items[i].status, home == s ? 0 : -ENOENT);
            on += items[i].status == 0;
        }
        spread += on > N_KEYS / (4 * n_servers); /* ketama spreads them */
        fulmar_client_free(one);
    }
    assert_int_equal(spread, n_servers);
    fulmar_client_free(c);
}

/* ------------------------------------------------------------ large values */

/* memcached's item_size_ok(): 48-byte header + 8 CAS + key + NUL + value + CRLF. */
#define ITEM_OVERHEAD (48 + 8 + 1 + 2)

static void values_up_to_the_item_size_limit_round_trip(void** state) {
    (void)state;
    const fulmar_client_options o = tcp_options();
    fulmar_client* c = open_client(g_list, &o);
    enum { kBig = 3 };
    char keys[kBig][32];
    size_t lens[kBig];
    char* values[kBig];
    for (int i = 0; i < kBig; ++i) {
        key_of("big", i, keys[i], sizeof keys[i]);
        lens[i] = FULMAR_MC_ITEM_SIZE_MAX - ITEM_OVERHEAD - strlen(keys[i]) - (size_t)i * 1000;
        values[i] = malloc(lens[i] + 1);
        assert_non_null(values[i]);
        for (size_t j = 0; j < lens[i]; ++j)
            values[i][j] = (char)('A' + (j * 7 + (size_t)i) % 53);
        /* Flags 0: memcached stores nonzero flags in 4 more bytes. */
        const int rc = fulmar_client_set(c, keys[i], strlen(keys[i]), values[i], lens[i], 0, 0);
        if (rc != 0) fail_msg("set %zu bytes: %s", lens[i], fulmar_strerror(rc));
    }
    if (!g_external) {
        /* ... so the largest value with flags is too large for memcached: its
         * reply comes before the value is all written, and the call after
         * finds the client well (on a fresh connection: the old one had the
         * rest of the value to write). */
        assert_int_equal(fulmar_client_set(c, keys[0], strlen(keys[0]), values[0], lens[0], 5, 0),
                         -E2BIG);
        assert_int_equal(fulmar_client_set(c, "after-big", 9, "1", 1, 0, 0), 0);
        /* memcached dropped the old value of a set that failed: store it again. */
        assert_int_equal(fulmar_client_set(c, keys[0], strlen(keys[0]), values[0], lens[0], 0, 0),
                         0);
    }
    /* One byte more is refused before sending, as over UDP. */
    assert_int_equal(fulmar_client_set(c, keys[0], strlen(keys[0]), values[0], lens[0] + 1, 0, 0),
                     -E2BIG);

    fulmar_item items[kBig + 1];
    for (int i = 0; i < kBig; ++i)
        items[i] = item_for(keys[i]);
    items[kBig] = item_for("big:absent");
    assert_int_equal(fulmar_client_mget(c, items, kBig + 1), 0);
    for (int i = 0; i < kBig; ++i) {
        assert_int_equal(items[i].status, 0);
        assert_int_equal(items[i].value_len, lens[i]);
        assert_int_equal(items[i].flags, 0);
        assert_memory_equal(items[i].value, values[i], lens[i]);
    }
    assert_int_equal(items[kBig].status, -ENOENT);
    for (int i = 0; i < kBig; ++i)
        free(values[i]);
    fulmar_client_free(c);
}

/* ------------------------------------------------------------ write codes */

/* Every write reply memcached sends, in one sequence; the codes it returns. */
#define N_STEPS 26
static void write_sequence(fulmar_client* c, const char* k, int codes[N_STEPS]) {
    const size_t kl = strlen(k);
    int n = 0;
    uint64_t v = 0;
    (void)fulmar_client_delete(c, k, kl);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_REPLACE, k, kl, "x", 1, 0, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_APPEND, k, kl, "x", 1, 0, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_PREPEND, k, kl, "x", 1, 0, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "x", 1, 0, 0, 1);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_ADD, k, kl, "b", 1, 3, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_ADD, k, kl, "b", 1, 3, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_APPEND, k, kl, "c", 1, 0, 0, 0);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_PREPEND, k, kl, "a", 1, 0, 0, 0);
    fulmar_item it = item_for(k);
    codes[n++] = fulmar_client_mgets(c, &it, 1);
    assert_int_equal(it.value_len, 3);
    assert_memory_equal(it.value, "abc", 3);
    assert_int_equal(it.flags, 3);
    const uint64_t cas = it.cas;
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "new", 3, 0, 0, cas + 1);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "new", 3, 0, 0, cas);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "newer", 5, 0, 0, cas);
    codes[n++] = fulmar_client_store(c, FULMAR_STORE_REPLACE, k, kl, "r", 1, 0, 0, 0);
    codes[n++] = fulmar_client_incr(c, k, kl, 1, &v); /* "r" is not a number */
    codes[n++] = fulmar_client_set(c, k, kl, "10", 2, 0, 0);
    codes[n++] = fulmar_client_incr(c, k, kl, 5, &v);
    assert_int_equal(v, 15);
    codes[n++] = fulmar_client_decr(c, k, kl, 100, &v);
    assert_int_equal(v, 0);
    codes[n++] = fulmar_client_touch(c, k, kl, 100);
    codes[n++] = fulmar_client_delete(c, k, kl);
    codes[n++] = fulmar_client_delete(c, k, kl);
    codes[n++] = fulmar_client_touch(c, k, kl, 100);
    codes[n++] = fulmar_client_incr(c, k, kl, 1, &v);
    codes[n++] = fulmar_client_decr(c, k, kl, 1, &v);
    codes[n++] = fulmar_client_get(c, &it);
    codes[n++] = fulmar_client_set(c, k, kl, "gone", 4, 0, -1); /* expired at once */
    codes[n++] = fulmar_client_get(c, &it);
    assert_int_equal(n, N_STEPS);
}

/* What write_sequence returns over UDP (c-api-memcached checks the same). */
static const int kWriteCodes[N_STEPS] = {
    -ENOENT, -ENOENT, -ENOENT, -ENOENT, 0,       -EEXIST, 0, 0,       0,
    -EEXIST, 0,       -EEXIST, 0,       -EINVAL, 0,       0, 0,       0,
    0,       -ENOENT, -ENOENT, -ENOENT, -ENOENT, -ENOENT, 0, -ENOENT,
};

static void assert_codes(const int* got, const int* want, const char* what) {
    for (int i = 0; i < N_STEPS; ++i)
        if (got[i] != want[i])
            fail_msg("%s: step %d returned %s, expected %s", what, i, fulmar_strerror(got[i]),
                     fulmar_strerror(want[i]));
}

static void write_replies_map_to_the_codes_of_the_udp_path(void** state) {
    (void)state;
    const fulmar_client_options o = tcp_options();
    fulmar_client* c = open_client(g_list, &o);
    char k[32];
    key_of("w", 0, k, sizeof k);
    int codes[N_STEPS];
    write_sequence(c, k, codes);
    assert_codes(codes, kWriteCodes, "tcp");
    fulmar_client_free(c);
}

/* UDP gets + TCP writes, and each transport alone, against one server that
 * serves both: the same codes, and each operation on its transport. */
static void udp_gets_with_tcp_writes_and_both_paths_agree(void** state) {
    (void)state;
    static const fulmar_transport_kind kinds[] = {FULMAR_TRANSPORT_UDP, FULMAR_TRANSPORT_TCP,
                                                  FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES};
    for (size_t t = 0; t < sizeof kinds / sizeof kinds[0]; ++t) {
        fulmar_client_options o = tcp_options();
        o.transport = kinds[t];
        o.timeout_ms = 500;
        fulmar_client* c = open_client(g_dual, &o);
        char k[32];
        key_of("mixed", (int)t, k, sizeof k);
        int codes[N_STEPS];
        write_sequence(c, k, codes);
        char what[16];
        snprintf(what, sizeof what, "transport %d", (int)kinds[t]);
        assert_codes(codes, kWriteCodes, what);

        fulmar_test_stats udp;
        assert_int_equal(fulmar_client_test_stats(c, &udp), 0);
        const fulmar_test_tcp_stats tcp = tcp_stats(c);
        switch (kinds[t]) {
            case FULMAR_TRANSPORT_UDP:
                assert_int_equal(tcp.requests_sent, 0);
                assert_true(udp.datagrams_sent >= N_STEPS);
                break;
            case FULMAR_TRANSPORT_TCP:
                assert_int_equal(udp.datagrams_sent, 0);
                assert_true(tcp.requests_sent >= N_STEPS);
                break;
            default: /* 3 gets by UDP, the rest (and the cleanup delete) by TCP */
                assert_int_equal(udp.datagrams_sent, 3);
                assert_int_equal(tcp.requests_sent, N_STEPS - 3 + 1);
                break;
        }

        /* A write too large for a datagram goes through when writes use TCP. */
        static char big[100000];
        memset(big, 'm', sizeof big);
        const int rc = fulmar_client_set(c, k, strlen(k), big, sizeof big, 0, 0);
        if (kinds[t] == FULMAR_TRANSPORT_UDP) {
            assert_int_equal(rc, -E2BIG);
        } else {
            assert_int_equal(rc, 0);
            fulmar_item it = item_for(k);
            assert_int_equal(fulmar_client_get(c, &it), 0); /* over UDP in mixed mode */
            assert_int_equal(it.value_len, sizeof big);
            assert_memory_equal(it.value, big, sizeof big);
        }
        fulmar_client_free(c);
    }
}

/* ------------------------------------------------------------ failures */

/* Kills `pid` with `sig` after `ms`, from a child, while this thread is
 * blocked in a call. Returns the child to reap. */
static pid_t kill_later(pid_t pid, int sig, long ms) {
    const pid_t k = fork();
    if (k == 0) {
        sleep_ms(ms);
        kill(pid, sig);
        _exit(0);
    }
    return k;
}

static void a_server_killed_mid_call_fails_in_flight_requests_then_reconnects(void** state) {
    (void)state;
    /* Servers of its own to kill (the list under test, external or not, is
     * never touched): it runs against the appliance's run as well. */
    server a = {0}, b = {0};
    assert_int_equal(start_server(&a, 0), 0);
    assert_int_equal(start_server(&b, 0), 0);
    char list[80];
    snprintf(list, sizeof list, "%s,%s", a.name, b.name);
    fulmar_client_options o = tcp_options();
    o.timeout_ms = 3000;
    fulmar_client* c = open_client(list, &o);

    enum { kN = 200 };
    static char keys[kN][32];
    static fulmar_item items[kN];
    int on_a = 0;
    for (int i = 0; i < kN; ++i) {
        key_of("kill", i, keys[i], sizeof keys[i]);
        assert_int_equal(fulmar_client_set(c, keys[i], strlen(keys[i]), "v", 1, 0, 0), 0);
        on_a += fulmar_client_server_for(c, keys[i], strlen(keys[i])) == 0;
    }
    assert_true(on_a > 0 && on_a < kN);

    /* a stops answering, then dies while the multi-get's requests are on its
     * connection: they fail at once, not after the 3 s timeout, and b answers. */
    kill(a.pid, SIGSTOP);
    const pid_t killer = kill_later(a.pid, SIGKILL, 200);
    for (int i = 0; i < kN; ++i)
        items[i] = item_for(keys[i]);
    uint64_t t0 = now_ms();
    assert_int_equal(fulmar_client_mget(c, items, kN), -ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    waitpid(killer, NULL, 0);
    waitpid(a.pid, NULL, 0);
    a.pid = 0;
    assert_true(took >= 150 && took < 2000);
    for (int i = 0; i < kN; ++i) {
        const int home = fulmar_client_server_for(c, keys[i], strlen(keys[i]));
        assert_int_equal(items[i].status, home == 0 ? -ETIMEDOUT : 0);
    }
    fulmar_test_tcp_stats s = tcp_stats(c);
    /* The immediate reconnect was refused, or (when it raced the dying
     * process's listening socket) accepted and reset. */
    assert_true(s.breaks >= 1);
    assert_true(s.breaks + s.connect_failures >= 2);

    /* While a is down, its keys fail fast (backoff), b's keys work. */
    const char* ka = NULL;
    const char* kb = NULL;
    for (int i = 0; i < kN; ++i) {
        if (fulmar_client_server_for(c, keys[i], strlen(keys[i])) == 0) {
            ka = keys[i];
        } else {
            kb = keys[i];
        }
    }
    t0 = now_ms();
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_ADD, ka, strlen(ka), "x", 1, 0, 0, 0),
                     -ETIMEDOUT);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(fulmar_client_set(c, kb, strlen(kb), "w", 1, 0, 0), 0);

    /* Back on the same port: a later call reconnects within the longest backoff. */
    assert_int_equal(start_server(&a, 1), 0);
    t0 = now_ms();
    int rc;
    while ((rc = fulmar_client_set(c, ka, strlen(ka), "again", 5, 0, 0)) != 0 &&
           now_ms() - t0 < 5000) {
        assert_int_equal(rc, -ETIMEDOUT);
        sleep_ms(5);
    }
    assert_int_equal(rc, 0);
    assert_true(now_ms() - t0 < 5000);
    fulmar_item it = item_for(ka);
    assert_int_equal(fulmar_client_get(c, &it), 0);
    assert_memory_equal(it.value, "again", 5);
    s = tcp_stats(c);
    assert_true(s.backoff_refusals >= 1);

    fulmar_client_free(c);
    stop_server(&a, SIGTERM);
    stop_server(&b, SIGTERM);
}

static void a_restart_between_calls_does_not_cost_an_add(void** state) {
    (void)state;
    server a = {0};
    assert_int_equal(start_server(&a, 0), 0);
    const fulmar_client_options o = tcp_options();
    fulmar_client* c = open_client(a.name, &o);
    assert_int_equal(fulmar_client_set(c, "before", 6, "1", 1, 0, 0), 0);
    stop_server(&a, SIGTERM);
    assert_int_equal(start_server(&a, 1), 0);
    /* The pooled connection is dead; found so before the add is written to it
     * (an add is never resent). */
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_ADD, "after", 5, "2", 1, 0, 0, 0), 0);
    const fulmar_test_tcp_stats s = tcp_stats(c);
    assert_int_equal(s.idle_closes, 1);
    assert_int_equal(s.resends, 0);
    fulmar_client_free(c);
    stop_server(&a, SIGTERM);
}

static void a_silent_server_times_out_and_is_backed_off(void** state) {
    (void)state;
    /* A listening socket nobody accepts from: connects succeed (the kernel
     * completes them), requests are never answered. */
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr*)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr*)&a, &len), 0);
    char name[32];
    snprintf(name, sizeof name, "127.0.0.1:%d", ntohs(a.sin_port));

    fulmar_client_options o = tcp_options();
    o.timeout_ms = 100;
    o.retries = 2;
    o.reconnect_min_ms = 500;
    o.reconnect_max_ms = 500;
    fulmar_client* c = open_client(name, &o);
    fulmar_item it = item_for("k");
    uint64_t t0 = now_ms();
    /* Timed out, resent at once on a fresh connection, timed out again: then
     * the server is in backoff and the last attempt is not made. */
    assert_int_equal(fulmar_client_get(c, &it), -ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    assert_true(took >= 190 && took < 400);
    fulmar_test_tcp_stats s = tcp_stats(c);
    assert_int_equal(s.timeouts, 2);
    assert_int_equal(s.resends, 1);
    assert_int_equal(s.backoff_refusals, 1);
    /* In backoff: refused at once. */
    t0 = now_ms();
    assert_int_equal(fulmar_client_set(c, "k", 1, "v", 1, 0, 0), -ETIMEDOUT);
    assert_true(now_ms() - t0 < 50);
    s = tcp_stats(c);
    assert_int_equal(s.backoff_refusals, 2); /* the get's last attempt, and the set */
    fulmar_client_free(c);
    close(fd);
}

/* ------------------------------------------------------------ pipelining */

#define N_PIPE 20000

static void many_requests_in_flight_per_connection(void** state) {
    (void)state;
    fulmar_client_options o = tcp_options();
    o.window = 64;
    o.max_request_payload = 300; /* ~15 keys a request: many requests */
    fulmar_client* c = open_client(g_list, &o);
    static char keys[N_PIPE][32];
    static fulmar_item items[N_PIPE];
    uint64_t t0 = now_ms();
    for (int i = 0; i < N_PIPE; ++i) {
        key_of("pipe", i, keys[i], sizeof keys[i]);
        char v[16];
        const int n = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(fulmar_client_set(c, keys[i], strlen(keys[i]), v, (size_t)n, 0, 0), 0);
    }
    const uint64_t set_ms = now_ms() - t0;
    fulmar_test_tcp_stats before = tcp_stats(c);

    for (int i = 0; i < N_PIPE; ++i)
        items[i] = item_for(keys[i]);
    t0 = now_ms();
    assert_int_equal(fulmar_client_mget(c, items, N_PIPE), 0);
    const uint64_t mget_ms = now_ms() - t0;
    for (int i = 0; i < N_PIPE; ++i) {
        char v[16];
        const int n = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(items[i].status, 0);
        assert_int_equal(items[i].value_len, (size_t)n);
        assert_memory_equal(items[i].value, v, (size_t)n);
    }
    const fulmar_test_tcp_stats s = tcp_stats(c);
    const uint64_t gets = s.requests_sent - before.requests_sent;
    assert_true(gets > 1000);
    assert_true(s.max_in_flight > 8); /* pipelined, not one at a time */
    assert_true(s.max_in_flight <= 64);
    assert_int_equal(s.resends, 0);
    print_message(
        "%d sets one by one: %llu ms (%.0f/s); one multi-get of %d keys in %llu get "
        "requests: %llu ms (%.0f keys/s), up to %u requests in flight per connection, "
        "%u in all\n",
        N_PIPE, (unsigned long long)set_ms, N_PIPE * 1000.0 / (double)(set_ms + 1), N_PIPE,
        (unsigned long long)gets, (unsigned long long)mget_ms,
        N_PIPE * 1000.0 / (double)(mget_ms + 1), s.max_in_flight, s.max_total_in_flight);
    /* Sanity, not a benchmark: loopback on a loaded 2-core VM does well over this. */
    assert_true(mget_ms < 10000);
    fulmar_client_free(c);
}

/* ------------------------------------------------------------ fulmar-cli */

/* Runs fulmar-cli with `args` (NULL-terminated); its stdout into out. */
static int run_cli(const char* const* args, char* out, size_t cap) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(FULMAR_CLI, (char* const*)args);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void the_cli_speaks_tcp(void** state) {
    (void)state;
    char key[32];
    key_of("cli", 0, key, sizeof key);
    char out[512];
    const char* set[] = {"fulmar-cli", "--tcp", "--servers", g_list, "set", key, "hello", NULL};
    assert_int_equal(run_cli(set, out, sizeof out), 0);
    assert_string_equal(out, "STORED\n");
    const char* get[] = {"fulmar-cli", "--transport", "tcp",  "--connections",
                         "1",          "--servers",   g_list, "get",
                         key,          NULL};
    assert_int_equal(run_cli(get, out, sizeof out), 0);
    char want[128];
    snprintf(want, sizeof want, "VALUE %s 0 5\nhello\nEND\n", key);
    assert_string_equal(out, want);
    const char* mixed[] = {"fulmar-cli", "--transport", "udp-gets-tcp-writes",
                           "--servers",  g_dual,        "set",
                           key,          "mixed",       NULL};
    assert_int_equal(run_cli(mixed, out, sizeof out), 0);
    const char* bad[] = {"fulmar-cli", "--transport", "sctp", "--servers",
                         g_list,       "get",         key,    NULL};
    assert_int_equal(run_cli(bad, out, sizeof out), 2);
}

int main(int argc, char** argv) {
    if (argc > 1) setenv("FULMAR_TEST_TCP_SERVERS", argv[1], 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_get_and_mget_fan_out_over_the_ring),
        cmocka_unit_test(values_up_to_the_item_size_limit_round_trip),
        cmocka_unit_test(write_replies_map_to_the_codes_of_the_udp_path),
        cmocka_unit_test(udp_gets_with_tcp_writes_and_both_paths_agree),
        cmocka_unit_test(a_server_killed_mid_call_fails_in_flight_requests_then_reconnects),
        cmocka_unit_test(a_restart_between_calls_does_not_cost_an_add),
        cmocka_unit_test(a_silent_server_times_out_and_is_backed_off),
        cmocka_unit_test(many_requests_in_flight_per_connection),
        cmocka_unit_test(the_cli_speaks_tcp),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
