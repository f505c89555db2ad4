/*
 * libfulmar against real UDP peers: two Debian memcached processes started
 * here (`memcached -U <port> -p 0 -t 1`, killed by PID at the end). Sets, gets
 * and multi-gets 1,000 keys across both, checks that each key lives on the
 * server whereis names, maps every write reply memcached really sends, and
 * runs the example of docs/client.md.
 *
 * One thread; the servers belong to this process (they die with it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#include "fulmar/client.h"

#define N_SERVERS 2
#define N_KEYS 1000

typedef struct server {
    pid_t pid;
    int port;
    char name[32];
} server;

static server g_servers[N_SERVERS];
static char g_list[128];

/* A UDP port nobody holds right now (memcached may still lose a race for it:
 * start_server then tries another). */
static int free_udp_port(void) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
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
    return ntohs(a.sin_port);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int start_server(server* s) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        s->port = free_udp_port();
        snprintf(s->name, sizeof s->name, "127.0.0.1:%d", s->port);
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        const pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
            if (geteuid() == 0) {
                execl(FULMAR_MEMCACHED, "memcached", "-u", "root", "-l", "127.0.0.1", "-p", "0",
                      "-U", port, "-t", "1", (char*)NULL);
            } else {
                execl(FULMAR_MEMCACHED, "memcached", "-l", "127.0.0.1", "-p", "0", "-U", port, "-t",
                      "1", (char*)NULL);
            }
            _exit(127);
        }
        s->pid = pid;
        /* Ready when it answers a set; gone if it exited (port taken). */
        fulmar_client_options o;
        fulmar_client_options_init(&o);
        o.timeout_ms = 50;
        o.retries = 0;
        fulmar_client* c = NULL;
        if (fulmar_client_new(s->name, &o, &c) != 0) return -1;
        int ready = 0;
        for (int i = 0; i < 100 && !ready; ++i) {
            if (fulmar_client_set(c, "ready", 5, "1", 1, 0, 0) == 0) {
                ready = 1;
            } else if (waitpid(pid, NULL, WNOHANG) == pid) {
                s->pid = 0;
                break;
            } else {
                sleep_ms(20);
            }
        }
        fulmar_client_free(c);
        if (ready) return 0;
        if (s->pid != 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
    }
    return -1;
}

static void stop_server(server* s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static int group_setup(void** state) {
    (void)state;
    g_list[0] = '\0';
    for (int i = 0; i < N_SERVERS; ++i) {
        if (start_server(&g_servers[i]) != 0) {
            fprintf(stderr, "cannot start %s\n", FULMAR_MEMCACHED);
            return -1;
        }
        if (i > 0) strcat(g_list, ",");
        strcat(g_list, g_servers[i].name);
    }
    return 0;
}

static int group_teardown(void** state) {
    (void)state;
    for (int i = 0; i < N_SERVERS; ++i)
        stop_server(&g_servers[i]);
    return 0;
}

static fulmar_client* open_client(const char* servers) {
    fulmar_client* c = NULL;
    assert_int_equal(fulmar_client_new(servers, NULL, &c), 0);
    return c;
}

/* Key i and its value: 1 to ~1,200 bytes, so some replies span many datagrams. */
static void key_of(int i, char* key, size_t n) {
    snprintf(key, n, "key:%04d", i);
}

static size_t value_of(int i, char* value, size_t n) {
    int len = snprintf(value, n, "value-%d-", i);
    const size_t want = (size_t)len + (size_t)(i * 37) % 1200;
    for (; (size_t)len < want && (size_t)len < n - 1; ++len)
        value[len] = (char)('a' + (len + i) % 26);
    value[len] = '\0';
    return (size_t)len;
}

static void set_get_and_mget_a_thousand_keys(void** state) {
    (void)state;
    fulmar_client* c = open_client(g_list);
    static char keys[N_KEYS][16];
    static char values[N_KEYS][1300];
    static size_t lens[N_KEYS];
    for (int i = 0; i < N_KEYS; ++i) {
        key_of(i, keys[i], sizeof keys[i]);
        lens[i] = value_of(i, values[i], sizeof values[i]);
        const int rc =
            fulmar_client_set(c, keys[i], strlen(keys[i]), values[i], lens[i], (uint32_t)i, 0);
        if (rc != 0) fail_msg("set %s: %s", keys[i], fulmar_strerror(rc));
    }
    for (int i = 0; i < N_KEYS; i += 97) {
        fulmar_item it;
        memset(&it, 0, sizeof it);
        it.key = keys[i];
        it.key_len = strlen(keys[i]);
        assert_int_equal(fulmar_client_get(c, &it), 0);
        assert_int_equal(it.value_len, lens[i]);
        assert_memory_equal(it.value, values[i], lens[i]);
        assert_int_equal(it.flags, i);
    }

    /* All 1,000 at once, plus 100 that were never set. */
    static fulmar_item items[N_KEYS + 100];
    static char absent[100][16];
    for (int i = 0; i < N_KEYS + 100; ++i) {
        memset(&items[i], 0, sizeof items[i]);
        if (i < N_KEYS) {
            items[i].key = keys[i];
        } else {
            snprintf(absent[i - N_KEYS], sizeof absent[0], "absent:%d", i);
            items[i].key = absent[i - N_KEYS];
        }
        items[i].key_len = strlen(items[i].key);
    }
    assert_int_equal(fulmar_client_mget(c, items, N_KEYS + 100), 0);
    for (int i = 0; i < N_KEYS; ++i) {
        if (items[i].status != 0) fail_msg("%s: %s", keys[i], fulmar_strerror(items[i].status));
        assert_int_equal(items[i].value_len, lens[i]);
        assert_memory_equal(items[i].value, values[i], lens[i]);
        assert_int_equal(items[i].flags, i);
    }
    for (int i = N_KEYS; i < N_KEYS + 100; ++i)
        assert_int_equal(items[i].status, -ENOENT);

    /* Each key lives on the server whereis names, and only there. */
    int on[N_SERVERS] = {0};
    for (int s = 0; s < N_SERVERS; ++s) {
        fulmar_client* one = open_client(g_servers[s].name);
        assert_int_equal(fulmar_client_mget(one, items, N_KEYS), 0);
        for (int i = 0; i < N_KEYS; ++i) {
            const int home = fulmar_client_server_for(c, keys[i], strlen(keys[i]));
            assert_int_equal(items[i].status, home == s ? 0 : -ENOENT);
            on[s] += items[i].status == 0;
        }
        fulmar_client_free(one);
    }
    assert_true(on[0] > 300 && on[1] > 300); /* ketama spreads them */
    fulmar_client_free(c);
}

static void writes_map_memcached_replies(void** state) {
    (void)state;
    fulmar_client* c = open_client(g_list);
    const char* k = "w:key";
    const size_t kl = strlen(k);
    (void)fulmar_client_delete(c, k, kl);

    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_REPLACE, k, kl, "x", 1, 0, 0, 0), -ENOENT);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_APPEND, k, kl, "x", 1, 0, 0, 0), -ENOENT);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "x", 1, 0, 0, 1), -ENOENT);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_ADD, k, kl, "b", 1, 3, 0, 0), 0);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_ADD, k, kl, "b", 1, 3, 0, 0), -EEXIST);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_APPEND, k, kl, "c", 1, 0, 0, 0), 0);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_PREPEND, k, kl, "a", 1, 0, 0, 0), 0);

    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = k;
    it.key_len = kl;
    assert_int_equal(fulmar_client_mgets(c, &it, 1), 0);
    assert_int_equal(it.value_len, 3);
    assert_memory_equal(it.value, "abc", 3);
    assert_int_equal(it.flags, 3);
    assert_true(it.cas != 0);
    const uint64_t cas = it.cas;
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "new", 3, 0, 0, cas + 1),
                     -EEXIST);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "new", 3, 0, 0, cas), 0);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_CAS, k, kl, "newer", 5, 0, 0, cas),
                     -EEXIST);
    assert_int_equal(fulmar_client_store(c, FULMAR_STORE_REPLACE, k, kl, "r", 1, 0, 0, 0), 0);

    uint64_t v = 0;
    assert_int_equal(fulmar_client_incr(c, k, kl, 1, &v), -EINVAL); /* "r" is not a number */
    assert_int_equal(fulmar_client_set(c, k, kl, "10", 2, 0, 0), 0);
    assert_int_equal(fulmar_client_incr(c, k, kl, 5, &v), 0);
    assert_int_equal(v, 15);
    assert_int_equal(fulmar_client_decr(c, k, kl, 100, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(fulmar_client_touch(c, k, kl, 100), 0);
    assert_int_equal(fulmar_client_delete(c, k, kl), 0);
    assert_int_equal(fulmar_client_delete(c, k, kl), -ENOENT);
    assert_int_equal(fulmar_client_touch(c, k, kl, 100), -ENOENT);
    assert_int_equal(fulmar_client_incr(c, k, kl, 1, &v), -ENOENT);
    assert_int_equal(fulmar_client_get(c, &it), -ENOENT);

    /* Expired at once. */
    assert_int_equal(fulmar_client_set(c, k, kl, "gone", 4, 0, -1), 0);
    assert_int_equal(fulmar_client_get(c, &it), -ENOENT);
    fulmar_client_free(c);
}

static void an_unanswered_port_times_out(void** state) {
    (void)state;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    o.timeout_ms = 20;
    o.retries = 1;
    char list[64];
    snprintf(list, sizeof list, "127.0.0.1:%d", free_udp_port());
    fulmar_client* c = NULL;
    assert_int_equal(fulmar_client_new(list, &o, &c), 0);
    fulmar_item it;
    memset(&it, 0, sizeof it);
    it.key = "k";
    it.key_len = 1;
    assert_int_equal(fulmar_client_get(c, &it), -ETIMEDOUT);
    assert_int_equal(fulmar_client_set(c, "k", 1, "v", 1, 0, 0), -ETIMEDOUT);
    fulmar_client_free(c);
    assert_int_equal(fulmar_client_new("no-such-host.invalid:11211", &o, &c), -EHOSTUNREACH);
}

static void the_docs_example_runs(void** state) {
    (void)state;
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        execl(FULMAR_DOC_EXAMPLE, "client_doc_example", g_list, (char*)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_get_and_mget_a_thousand_keys),
        cmocka_unit_test(writes_map_memcached_replies),
        cmocka_unit_test(an_unanswered_port_times_out),
        cmocka_unit_test(the_docs_example_runs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
