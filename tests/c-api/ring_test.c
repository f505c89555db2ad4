/*
 * libfulmar's seeded mode (fulmar_client_new_seeded) against a fake Fulmar
 * cluster in a thread of this process: four TCP listeners on loopback ports
 * 27xxx, each a "node" that answers the memcached `ring` command with a ring
 * document the test controls, stores sets (logging which node got which key)
 * and can refuse writes as a cluster node does ("SERVER_ERROR moved: ...",
 * "SERVER_ERROR moving: ..."). The test changes the ring's epoch mid-test and
 * checks that the client follows it without a restart, that keys go where
 * libfulmar's ketama over the same named entries puts them (a static client
 * given the same "host:port:weight name" list: ring::Ketama in twemproxy
 * mode), and that names, not addresses, place keys. fulmar-cli --seed too.
 *
 * Two threads: the test's, and the server's (which only reads and writes
 * sockets and the shared state under g_mu; every assertion is on the test's).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fulmar/client.h"

#define N_NODES 4
#define MAX_CONNS 64
#define LOG_MAX 4096

/* What one fake node does with a write. */
enum write_mode { kStore = 0, kMoved = 1, kMoving = 2 };
/* What it does with `ring`. */
enum ring_mode { kRingServe = 0, kRingNone = 1, kRingClose = 2, kRingUnknown = 3 };

typedef struct node {
    int listen_fd;
    int port;
    char addr[32]; /* "127.0.0.1:port" */
    enum write_mode writes;
    enum ring_mode ring;
    int ring_requests; /* `ring` commands answered */
} node;

typedef struct conn {
    int fd;
    int node;
    size_t have;
    char in[8192];
} conn;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static node g_nodes[N_NODES];
static char g_doc[1024]; /* the ring reply's body: "RING n\r\nNODE ...\r\n" (END added) */
static struct {
    int node;
    char key[256];
} g_log[LOG_MAX]; /* every stored set: which node got which key */
static int g_log_n;
static atomic_int g_stop;
static pthread_t g_thread;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Names of partition i ("alpha"...) and the ring entries of a set of nodes. */
static const char* const kNames[N_NODES] = {"alpha", "beta", "gamma", "delta"};

/* The ring every node serves from now on: epoch, then members by node index. */
static void set_ring(unsigned epoch, const int* members, int n) {
    pthread_mutex_lock(&g_mu);
    int len = snprintf(g_doc, sizeof g_doc, "RING %u\r\n", epoch);
    for (int i = 0; i < n; ++i)
        len += snprintf(g_doc + len, sizeof g_doc - (size_t)len, "NODE %s:1 %s\r\n",
                        g_nodes[members[i]].addr, kNames[members[i]]);
    pthread_mutex_unlock(&g_mu);
}

/* The same members as a static server list ("host:port:1 name,..."). */
static void static_list(const int* members, int n, char* out, size_t cap) {
    size_t len = 0;
    for (int i = 0; i < n; ++i)
        len += (size_t)snprintf(out + len, cap - len, "%s%s:1 %s", i > 0 ? "," : "",
                                g_nodes[members[i]].addr, kNames[members[i]]);
}

static void set_modes(int n, enum write_mode w, enum ring_mode r) {
    pthread_mutex_lock(&g_mu);
    g_nodes[n].writes = w;
    g_nodes[n].ring = r;
    pthread_mutex_unlock(&g_mu);
}

static void clear_log(void) {
    pthread_mutex_lock(&g_mu);
    g_log_n = 0;
    pthread_mutex_unlock(&g_mu);
}

/* The node the last set of `key` reached, or -1. */
static int node_of_key(const char* key) {
    int found = -1;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_log_n; ++i)
        if (strcmp(g_log[i].key, key) == 0) found = g_log[i].node;
    pthread_mutex_unlock(&g_mu);
    return found;
}

static int ring_requests(int n) {
    pthread_mutex_lock(&g_mu);
    const int r = g_nodes[n].ring_requests;
    pthread_mutex_unlock(&g_mu);
    return r;
}

static int send_all(int fd, const char* p, size_t len) {
    while (len > 0) {
        const ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Handles the requests buffered on c. 0 to keep the connection, -1 to close. */
static int serve_buffer(conn* c) {
    char out[4096];
    for (;;) {
        char* nl = memchr(c->in, '\n', c->have);
        if (nl == NULL) return 0;
        const size_t line_len = (size_t)(nl - c->in) + 1;
        char line[1024];
        const size_t ll = line_len - 2 < sizeof line - 1 ? line_len - 2 : sizeof line - 1;
        memcpy(line, c->in, ll);
        line[ll] = '\0';
        size_t consumed = line_len;
        size_t n = 0;
        pthread_mutex_lock(&g_mu);
        node* me = &g_nodes[c->node];
        char key[256];
        unsigned flags, bytes;
        int exptime;
        if (strcmp(line, "ring") == 0) {
            ++me->ring_requests;
            if (me->ring == kRingClose) {
                pthread_mutex_unlock(&g_mu);
                return -1;
            }
            if (me->ring == kRingServe) {
                n = (size_t)snprintf(out, sizeof out, "%sEND\r\n", g_doc);
            } else if (me->ring == kRingNone) {
                n = (size_t)snprintf(out, sizeof out, "RING 0\r\nEND\r\n");
            } else {
                n = (size_t)snprintf(out, sizeof out, "ERROR\r\n");
            }
        } else if (sscanf(line, "set %255s %u %d %u", key, &flags, &exptime, &bytes) == 4) {
            if (c->have < line_len + bytes + 2) { /* the data block is not all here */
                pthread_mutex_unlock(&g_mu);
                return 0;
            }
            consumed += bytes + 2;
            if (me->writes == kMoved) {
                n = (size_t)snprintf(out, sizeof out,
                                     "SERVER_ERROR moved: the key belongs to partition x at "
                                     "127.0.0.1:1 (ring epoch 99)\r\n");
            } else if (me->writes == kMoving) {
                n = (size_t)snprintf(out, sizeof out,
                                     "SERVER_ERROR moving: the key is moving to partition x "
                                     "(ring epoch 99); retry\r\n");
            } else {
                if (g_log_n < LOG_MAX) {
                    g_log[g_log_n].node = c->node;
                    snprintf(g_log[g_log_n].key, sizeof g_log[g_log_n].key, "%s", key);
                    ++g_log_n;
                }
                n = (size_t)snprintf(out, sizeof out, "STORED\r\n");
            }
        } else {
            n = (size_t)snprintf(out, sizeof out, "ERROR\r\n");
        }
        pthread_mutex_unlock(&g_mu);
        if (send_all(c->fd, out, n) != 0) return -1;
        c->have -= consumed;
        memmove(c->in, c->in + consumed, c->have);
    }
}

static void* server_main(void* arg) {
    (void)arg;
    static conn conns[MAX_CONNS];
    int n_conns = 0;
    while (!atomic_load(&g_stop)) {
        struct pollfd p[N_NODES + MAX_CONNS];
        for (int i = 0; i < N_NODES; ++i)
            p[i] = (struct pollfd){g_nodes[i].listen_fd, POLLIN, 0};
        for (int i = 0; i < n_conns; ++i)
            p[N_NODES + i] = (struct pollfd){conns[i].fd, POLLIN, 0};
        if (poll(p, (nfds_t)(N_NODES + n_conns), 20) <= 0) continue;
        for (int i = 0; i < N_NODES; ++i) {
            if (!(p[i].revents & POLLIN)) continue;
            const int fd = accept(g_nodes[i].listen_fd, NULL, NULL);
            if (fd < 0) continue;
            if (n_conns == MAX_CONNS) {
                close(fd);
                continue;
            }
            conns[n_conns++] = (conn){.fd = fd, .node = i, .have = 0};
        }
        for (int i = n_conns - 1; i >= 0; --i) {
            if (!(p[N_NODES + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            conn* c = &conns[i];
            const ssize_t r = recv(c->fd, c->in + c->have, sizeof c->in - c->have, 0);
            if (r <= 0 || (c->have += (size_t)r, serve_buffer(c) != 0)) {
                close(c->fd);
                conns[i] = conns[--n_conns];
            }
        }
    }
    for (int i = 0; i < n_conns; ++i)
        close(conns[i].fd);
    return NULL;
}

/* Binds the four nodes to 127.0.0.1:27300+... (the next ten ports up when one is taken). */
static int group_setup(void** state) {
    (void)state;
    for (int base = 27300; base < 27400; base += 10) {
        int ok = 1;
        for (int i = 0; i < N_NODES && ok; ++i) {
            const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            const int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)(base + i)),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
                if (fd >= 0) close(fd);
                for (int j = 0; j < i; ++j)
                    close(g_nodes[j].listen_fd);
                ok = 0;
                break;
            }
            g_nodes[i] = (node){.listen_fd = fd, .port = base + i};
            snprintf(g_nodes[i].addr, sizeof g_nodes[i].addr, "127.0.0.1:%d", base + i);
        }
        if (!ok) continue;
        const int members[] = {0, 1};
        set_ring(1, members, 2);
        return pthread_create(&g_thread, NULL, server_main, NULL) == 0 ? 0 : -1;
    }
    return -1;
}

static int group_teardown(void** state) {
    (void)state;
    atomic_store(&g_stop, 1);
    pthread_join(g_thread, NULL);
    for (int i = 0; i < N_NODES; ++i)
        close(g_nodes[i].listen_fd);
    return 0;
}

/* Each test starts from ring epoch 1 = {alpha, beta}, every node serving. */
static int test_setup(void** state) {
    (void)state;
    for (int i = 0; i < N_NODES; ++i)
        set_modes(i, kStore, kRingServe);
    const int members[] = {0, 1};
    set_ring(1, members, 2);
    clear_log();
    return 0;
}

static fulmar_client_options tcp_options(uint32_t refresh_ms) {
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.transport = FULMAR_TRANSPORT_TCP;
    o.timeout_ms = 500;
    o.ring_refresh_ms = refresh_ms;
    return o;
}

static fulmar_client* seeded(const char* seeds, uint32_t refresh_ms) {
    const fulmar_client_options o = tcp_options(refresh_ms);
    fulmar_client* c = NULL;
    assert_int_equal(fulmar_client_new_seeded(seeds, &o, &c), 0);
    assert_non_null(c);
    return c;
}

static fulmar_client* static_client(const char* list) {
    const fulmar_client_options o = tcp_options(0);
    fulmar_client* c = NULL;
    assert_int_equal(fulmar_client_new(list, &o, &c), 0);
    return c;
}

static uint64_t epoch_of(const fulmar_client* c) {
    uint64_t e = 12345;
    assert_int_equal(fulmar_client_ring_epoch(c, &e), 0);
    return e;
}

/* Every key of 1000 has the same partition (name) in both clients. */
static void assert_same_placement(const fulmar_client* a, const fulmar_client* b) {
    for (int i = 0; i < 1000; ++i) {
        char key[32];
        const int len = snprintf(key, sizeof key, "key:%d", i);
        const int sa = fulmar_client_server_for(a, key, (size_t)len);
        const int sb = fulmar_client_server_for(b, key, (size_t)len);
        assert_true(sa >= 0 && sb >= 0);
        assert_string_equal(fulmar_client_server_partition(a, sa),
                            fulmar_client_server_partition(b, sb));
    }
}

/* Sets key:0..n-1 and checks each reached the node its ring names. */
static void set_keys_and_check_nodes(fulmar_client* c, int n, const char* tag) {
    for (int i = 0; i < n; ++i) {
        char key[32];
        const int len = snprintf(key, sizeof key, "%s:%d", tag, i);
        assert_int_equal(fulmar_client_set(c, key, (size_t)len, "v", 1, 0, 0), 0);
        const int s = fulmar_client_server_for(c, key, (size_t)len);
        const int got = node_of_key(key);
        assert_true(got >= 0);
        assert_string_equal(g_nodes[got].addr, fulmar_client_server_name(c, s));
    }
}

static void learns_the_ring_from_a_seed_and_places_keys_by_name(void** state) {
    (void)state;
    fulmar_client* c = seeded(g_nodes[0].addr, 1000);
    assert_int_equal(epoch_of(c), 1);
    assert_int_equal(fulmar_client_server_count(c), 2);
    assert_string_equal(fulmar_client_server_name(c, 0), g_nodes[0].addr);
    assert_string_equal(fulmar_client_server_partition(c, 0), "alpha");
    assert_string_equal(fulmar_client_server_name(c, 1), g_nodes[1].addr);
    assert_string_equal(fulmar_client_server_partition(c, 1), "beta");

    /* The same named entries as a static list: ring::Ketama, twemproxy mode. */
    char list[256];
    const int members[] = {0, 1};
    static_list(members, 2, list, sizeof list);
    fulmar_client* s = static_client(list);
    assert_same_placement(c, s);
    fulmar_client_free(s);
    /* Names, not addresses, are the labels: other addresses, same placement. */
    s = static_client("198.18.0.1:11211:1 alpha,198.18.0.2:11211:1 beta");
    assert_same_placement(c, s);
    fulmar_client_free(s);
    /* ...and without the names the placement differs (the check can fail). */
    s = static_client(g_nodes[0].addr);
    fulmar_client_free(s);
    snprintf(list, sizeof list, "%s,%s", g_nodes[0].addr, g_nodes[1].addr);
    s = static_client(list);
    int differ = 0;
    for (int i = 0; i < 1000; ++i) {
        char key[32];
        const int len = snprintf(key, sizeof key, "key:%d", i);
        differ += fulmar_client_server_for(c, key, (size_t)len) !=
                  fulmar_client_server_for(s, key, (size_t)len);
    }
    assert_true(differ > 50);
    fulmar_client_free(s);

    set_keys_and_check_nodes(c, 200, "first");
    /* A static list keeps working as before next to it. */
    static_list(members, 2, list, sizeof list);
    s = static_client(list);
    assert_int_equal(fulmar_client_set(s, "plain", 5, "v", 1, 0, 0), 0);
    assert_int_equal(fulmar_client_refresh_ring(s), -EINVAL);
    assert_int_equal(epoch_of(s), 0);
    fulmar_client_free(s);
    fulmar_client_free(c);
}

static void follows_a_new_epoch_during_use(void** state) {
    (void)state;
    fulmar_client* c = seeded(g_nodes[1].addr, 300);
    assert_int_equal(epoch_of(c), 1);
    set_keys_and_check_nodes(c, 100, "before");

    assert_int_equal(fulmar_client_refresh_ring(c), 0); /* the interval starts now */
    const uint64_t t0 = now_ms();
    const int grown[] = {0, 1, 2};
    set_ring(2, grown, 3);
    /* Within the refresh interval the client keeps its ring (checked when
     * this machine was quick enough to stay inside it)... */
    assert_int_equal(fulmar_client_set(c, "x", 1, "v", 1, 0, 0), 0);
    if (now_ms() - t0 < 250) assert_int_equal(epoch_of(c), 1);
    /* ...and after it, the next call fetches the new one. */
    sleep_ms(350);
    assert_int_equal(fulmar_client_set(c, "y", 1, "v", 1, 0, 0), 0);
    assert_int_equal(epoch_of(c), 2);
    assert_int_equal(fulmar_client_server_count(c), 3);
    assert_string_equal(fulmar_client_server_partition(c, 2), "gamma");
    char list[256];
    static_list(grown, 3, list, sizeof list);
    fulmar_client* s = static_client(list);
    assert_same_placement(c, s);
    fulmar_client_free(s);
    set_keys_and_check_nodes(c, 200, "after");
    int on_gamma = 0;
    for (int i = 0; i < 200; ++i) {
        char key[32];
        snprintf(key, sizeof key, "after:%d", i);
        on_gamma += node_of_key(key) == 2;
    }
    assert_true(on_gamma > 20); /* about a third moved to the new partition */

    /* Gets fetch it too (this fake node answers a get with ERROR). */
    const int four[] = {0, 1, 2, 3};
    set_ring(3, four, 4);
    sleep_ms(350);
    fulmar_item item = {.key = "z", .key_len = 1};
    assert_int_equal(fulmar_client_get(c, &item), -EIO);
    assert_int_equal(epoch_of(c), 3);
    assert_int_equal(fulmar_client_server_count(c), 4);

    /* An older epoch is never adopted. */
    const int old[] = {0, 1};
    set_ring(1, old, 2);
    assert_int_equal(fulmar_client_refresh_ring(c), 0);
    assert_int_equal(epoch_of(c), 3);
    assert_int_equal(fulmar_client_server_count(c), 4);
    fulmar_client_free(c);
}

static void a_moved_write_fetches_the_ring_and_goes_to_the_new_owner(void** state) {
    (void)state;
    const int three[] = {0, 1, 2};
    set_ring(5, three, 3);
    fulmar_client* c = seeded(g_nodes[0].addr, 0); /* fetch only when told */
    assert_int_equal(epoch_of(c), 5);
    /* A key of beta's. */
    char key[32];
    int len = 0;
    for (int i = 0;; ++i) {
        len = snprintf(key, sizeof key, "moved:%d", i);
        const int s = fulmar_client_server_for(c, key, (size_t)len);
        if (strcmp(fulmar_client_server_partition(c, s), "beta") == 0) break;
    }
    /* beta leaves the ring: it refuses writes as a cluster node does. */
    const int two[] = {0, 2};
    set_ring(6, two, 2);
    set_modes(1, kMoved, kRingServe);
    const int before = ring_requests(0) + ring_requests(1) + ring_requests(2);
    assert_int_equal(fulmar_client_set(c, key, (size_t)len, "v", 1, 0, 0), 0);
    /* Asked the members (any of them may be first), not the seed alone. */
    assert_true(ring_requests(0) + ring_requests(1) + ring_requests(2) > before);
    assert_int_equal(epoch_of(c), 6);
    assert_int_equal(fulmar_client_server_count(c), 2);
    const int now = node_of_key(key);
    assert_true(now == 0 || now == 2);
    assert_string_equal(g_nodes[now].addr, fulmar_client_server_name(
                                               c, fulmar_client_server_for(c, key, (size_t)len)));

    /* Moved again with no newer ring to be had: the error comes back (once). */
    set_modes(now, kMoved, kRingServe);
    assert_int_equal(fulmar_client_set(c, key, (size_t)len, "v", 1, 0, 0), -EIO);
    assert_int_equal(epoch_of(c), 6);
    /* At a flip: -EAGAIN, nothing stored. */
    set_modes(now, kMoving, kRingServe);
    clear_log();
    assert_int_equal(fulmar_client_set(c, key, (size_t)len, "v", 1, 0, 0), -EAGAIN);
    assert_int_equal(node_of_key(key), -1);
    fulmar_client_free(c);
}

static void fetches_fall_back_to_other_members_and_the_seeds(void** state) {
    (void)state;
    /* The seed is delta, outside the ring. */
    fulmar_client* c = seeded(g_nodes[3].addr, 0);
    assert_int_equal(epoch_of(c), 1);
    /* alpha hangs up on `ring`, beta is not (any longer) a member: the seed answers. */
    set_modes(0, kStore, kRingClose);
    set_modes(1, kStore, kRingNone);
    const int next[] = {0, 1, 2};
    set_ring(7, next, 3);
    const int before = ring_requests(3);
    assert_int_equal(fulmar_client_refresh_ring(c), 1);
    assert_int_equal(ring_requests(3), before + 1);
    assert_int_equal(epoch_of(c), 7);
    /* Now gamma, a member, answers before the seed is asked. */
    const int next2[] = {1, 2};
    set_ring(8, next2, 2);
    assert_int_equal(fulmar_client_refresh_ring(c), 1);
    assert_int_equal(ring_requests(3), before + 1);
    assert_int_equal(epoch_of(c), 8);
    /* Nobody answers with a ring: the client keeps its own. */
    for (int i = 0; i < N_NODES; ++i)
        set_modes(i, kStore, kRingClose);
    assert_int_equal(fulmar_client_refresh_ring(c), -ETIMEDOUT);
    assert_int_equal(epoch_of(c), 8);
    assert_int_equal(fulmar_client_server_count(c), 2);
    fulmar_client_free(c);
}

static void seeds_that_cannot_give_a_ring_are_errors(void** state) {
    (void)state;
    const fulmar_client_options o = tcp_options(1000);
    fulmar_client* c = NULL;
    set_modes(0, kStore, kRingNone);
    assert_int_equal(fulmar_client_new_seeded(g_nodes[0].addr, &o, &c), -ENODATA);
    set_modes(0, kStore, kRingUnknown);
    assert_int_equal(fulmar_client_new_seeded(g_nodes[0].addr, &o, &c), -EIO);
    set_modes(0, kStore, kRingClose);
    assert_int_equal(fulmar_client_new_seeded(g_nodes[0].addr, &o, &c), -ETIMEDOUT);
    assert_null(c);
    /* A later seed that answers wins. */
    char seeds[128];
    snprintf(seeds, sizeof seeds, "%s, %s", g_nodes[0].addr, g_nodes[1].addr);
    assert_int_equal(fulmar_client_new_seeded(seeds, &o, &c), 0);
    assert_int_equal(epoch_of(c), 1);
    fulmar_client_free(c);
    c = NULL;
    /* Bad arguments. */
    assert_int_equal(fulmar_client_new_seeded(NULL, &o, &c), -EINVAL);
    assert_int_equal(fulmar_client_new_seeded("127.0.0.1:0", &o, &c), -EINVAL);
    char named[64];
    snprintf(named, sizeof named, "%s:1 alpha", g_nodes[1].addr);
    assert_int_equal(fulmar_client_new_seeded(named, &o, &c), -EINVAL);
    snprintf(named, sizeof named, "%s:2", g_nodes[1].addr);
    assert_int_equal(fulmar_client_new_seeded(named, &o, &c), -EINVAL);
    fulmar_client_options lm = o;
    lm.distribution = FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED;
    assert_int_equal(fulmar_client_new_seeded(g_nodes[1].addr, &lm, &c), -EINVAL);
    fulmar_client_options slow = o;
    slow.ring_refresh_ms = 3600001;
    assert_int_equal(fulmar_client_new_seeded(g_nodes[1].addr, &slow, &c), -EINVAL);
    assert_null(c);
    assert_int_equal(fulmar_client_refresh_ring(NULL), -EINVAL);
}

/* Runs fulmar-cli with `args`; its stdout in out. The exit status. */
static int run_cli(const char* args, char* out, size_t cap) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s", FULMAR_CLI, args);
    FILE* f = popen(cmd, "r");
    assert_non_null(f);
    const size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    const int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void the_cli_takes_a_seed(void** state) {
    (void)state;
    const int three[] = {0, 1, 2};
    set_ring(9, three, 3);
    char args[256];
    char out[2048];
    char want[1024];
    snprintf(args, sizeof args, "--seed %s ring", g_nodes[2].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 0);
    snprintf(want, sizeof want, "RING 9\nNODE %s alpha\nNODE %s beta\nNODE %s gamma\nEND\n",
             g_nodes[0].addr, g_nodes[1].addr, g_nodes[2].addr);
    assert_string_equal(out, want);

    snprintf(args, sizeof args, "--seed %s --tcp set clikey hello", g_nodes[2].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 0);
    assert_string_equal(out, "STORED\n");
    fulmar_client* c = seeded(g_nodes[0].addr, 1000);
    const int s = fulmar_client_server_for(c, "clikey", 6);
    assert_int_equal(node_of_key("clikey"), s); /* members 0,1,2 are nodes 0,1,2 */
    snprintf(args, sizeof args, "--seed %s whereis clikey", g_nodes[1].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 0);
    snprintf(want, sizeof want, "clikey -> %d %s %s\n", s, fulmar_client_server_name(c, s),
             fulmar_client_server_partition(c, s));
    assert_string_equal(out, want);
    fulmar_client_free(c);

    /* One of --servers and --seed; --seed with libmemcached's ring is refused. */
    snprintf(args, sizeof args, "--seed %s --servers %s ring 2>/dev/null", g_nodes[1].addr,
             g_nodes[1].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 2);
    snprintf(args, sizeof args, "--seed %s --libmemcached ring 2>/dev/null", g_nodes[1].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 2);
    set_modes(1, kStore, kRingNone);
    snprintf(args, sizeof args, "--seed %s ring 2>/dev/null", g_nodes[1].addr);
    assert_int_equal(run_cli(args, out, sizeof out), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(learns_the_ring_from_a_seed_and_places_keys_by_name, test_setup),
        cmocka_unit_test_setup(follows_a_new_epoch_during_use, test_setup),
        cmocka_unit_test_setup(a_moved_write_fetches_the_ring_and_goes_to_the_new_owner,
                               test_setup),
        cmocka_unit_test_setup(fetches_fall_back_to_other_members_and_the_seeds, test_setup),
        cmocka_unit_test_setup(seeds_that_cannot_give_a_ring_are_errors, test_setup),
        cmocka_unit_test_setup(the_cli_takes_a_seed, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
