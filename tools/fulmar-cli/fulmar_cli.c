/*
 * fulmar-cli: memcached commands through libfulmar, from the shell.
 *
 *   fulmar-cli --servers h:p[:w],h:p get|gets KEY...      (mget: same)
 *   fulmar-cli --servers ... set|add|replace|append|prepend KEY VALUE
 *   fulmar-cli --servers ... cas KEY VALUE CAS
 *   fulmar-cli --servers ... delete KEY | incr KEY N | decr KEY N | touch KEY TTL
 *   fulmar-cli --servers ... whereis KEY...
 *   fulmar-cli --seed h:p[,h:p] ...   a Fulmar cluster's ring, learnt from any node
 *   fulmar-cli --seed h:p ring        the ring the client routes by
 *   fulmar-cli --transport tcp|udp|udp-gets-tcp-writes ...   (--tcp: tcp)
 *
 * Prints replies in memcached's words (VALUE/END, STORED, DELETED...). Exit
 * status: 0 success, 1 a key missing or a write refused (-ENOENT, -EEXIST),
 * 2 usage, 3 anything else (timeouts, server errors).
 *
 * One thread, one client, one command per run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fulmar/client.h"

enum { kExitOk = 0, kExitRefused = 1, kExitUsage = 2, kExitFailed = 3 };

static const char kUsage[] =
    "usage: fulmar-cli --servers HOST:PORT[:WEIGHT][ NAME],... [options] COMMAND ARGS\n"
    "       fulmar-cli --seed HOST:PORT[,HOST:PORT...] [options] COMMAND ARGS\n"
    "  --seed: the servers are a Fulmar cluster's partitions, asked of any node\n"
    "  (its memcached TCP port) with the `ring` command\n"
    "commands:\n"
    "  get|mget|gets KEY...       values in memcached's VALUE/END form\n"
    "  set|add|replace|append|prepend KEY VALUE\n"
    "  cas KEY VALUE CAS\n"
    "  delete KEY | incr KEY N | decr KEY N | touch KEY TTL\n"
    "  whereis KEY...             the server each key lives on\n"
    "  ring                       the servers in ring order (and the epoch, --seed)\n"
    "options:\n"
    "  --timeout MS   per attempt (250)      --retries N    resends (2)\n"
    "  --window N     in flight per server, per connection over TCP (8)\n"
    "  --transport T  udp (default), tcp, or udp-gets-tcp-writes\n"
    "  --tcp          same as --transport tcp\n"
    "  --connections N  TCP connections per server (2)\n"
    "  --libmemcached libmemcached's ketama instead of twemproxy's (not with --seed)\n"
    "  --ring-refresh MS  --seed: fetch the ring again after MS of use (1000)\n"
    "  --flags F      client flags of a store (0)\n"
    "  --ttl S        exptime of a store (0: none)\n";

/* Whole decimal numbers only: strtoull alone accepts "-1", " 7" and "7x". */
static int parse_u64(const char* s, uint64_t max, uint64_t* out) {
    if (s == NULL || *s < '0' || *s > '9') return 0;
    char* end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) return 0;
    *out = v;
    return 1;
}

static int parse_i32(const char* s, int32_t* out) {
    uint64_t v;
    if (s != NULL && s[0] == '-' && parse_u64(s + 1, 2147483648u, &v)) {
        *out = (int32_t)(-(int64_t)v);
        return 1;
    }
    if (!parse_u64(s, INT32_MAX, &v)) return 0;
    *out = (int32_t)v;
    return 1;
}

static const struct {
    const char* name;
    fulmar_transport_kind kind;
} kTransports[] = {
    {"udp", FULMAR_TRANSPORT_UDP},
    {"tcp", FULMAR_TRANSPORT_TCP},
    {"udp-gets-tcp-writes", FULMAR_TRANSPORT_UDP_GETS_TCP_WRITES},
};

static int parse_transport(const char* s, fulmar_transport_kind* out) {
    for (size_t i = 0; i < sizeof kTransports / sizeof kTransports[0]; ++i) {
        if (strcmp(s, kTransports[i].name) == 0) {
            *out = kTransports[i].kind;
            return 1;
        }
    }
    return 0;
}

static int exit_code(int rc) {
    if (rc == 0) return kExitOk;
    if (rc == -ENOENT || rc == -EEXIST) return kExitRefused;
    return kExitFailed;
}

static int report(const char* what, int rc, const char* ok_word) {
    if (rc == 0) {
        puts(ok_word);
    } else {
        fprintf(stderr, "%s: %s\n", what, fulmar_strerror(rc));
    }
    return exit_code(rc);
}

static int cmd_get(fulmar_client* c, int gets, char** keys, int n) {
    fulmar_item* items = calloc((size_t)n, sizeof *items);
    if (items == NULL) return kExitFailed;
    for (int i = 0; i < n; ++i) {
        items[i].key = keys[i];
        items[i].key_len = strlen(keys[i]);
    }
    const int rc =
        gets ? fulmar_client_mgets(c, items, (size_t)n) : fulmar_client_mget(c, items, (size_t)n);
    if (rc == -EINVAL) { /* nothing was sent: name the bad keys only */
        for (int i = 0; i < n; ++i)
            if (items[i].status == -EINVAL) fprintf(stderr, "%s: invalid key\n", keys[i]);
        free(items);
        return kExitUsage;
    }
    int worst = 0;
    for (int i = 0; i < n; ++i) {
        const fulmar_item* it = &items[i];
        if (it->status == 0) {
            if (gets) {
                printf("VALUE %s %u %zu %llu\n", it->key, it->flags, it->value_len,
                       (unsigned long long)it->cas);
            } else {
                printf("VALUE %s %u %zu\n", it->key, it->flags, it->value_len);
            }
            fwrite(it->value, 1, it->value_len, stdout);
            putchar('\n');
        } else {
            if (it->status != -ENOENT)
                fprintf(stderr, "%s: %s\n", it->key, fulmar_strerror(it->status));
            if (worst == 0 || exit_code(it->status) > exit_code(worst)) worst = it->status;
        }
    }
    puts("END");
    free(items);
    return exit_code(worst);
}

static int cmd_whereis(fulmar_client* c, char** keys, int n) {
    for (int i = 0; i < n; ++i) {
        const int s = fulmar_client_server_for(c, keys[i], strlen(keys[i]));
        if (s < 0) {
            fprintf(stderr, "%s: %s\n", keys[i], fulmar_strerror(s));
            return kExitUsage;
        }
        const char* partition = fulmar_client_server_partition(c, s);
        if (partition != NULL) {
            printf("%s -> %d %s %s\n", keys[i], s, fulmar_client_server_name(c, s), partition);
        } else {
            printf("%s -> %d %s\n", keys[i], s, fulmar_client_server_name(c, s));
        }
    }
    return kExitOk;
}

/* The servers the client routes by, shaped like the node's `ring` reply
 * (without weights, which the API does not expose): epoch 0 for a list. */
static int cmd_ring(fulmar_client* c) {
    uint64_t epoch = 0;
    (void)fulmar_client_ring_epoch(c, &epoch);
    printf("RING %llu\n", (unsigned long long)epoch);
    const int n = fulmar_client_server_count(c);
    for (int i = 0; i < n; ++i) {
        const char* partition = fulmar_client_server_partition(c, i);
        printf("NODE %s%s%s\n", fulmar_client_server_name(c, i), partition != NULL ? " " : "",
               partition != NULL ? partition : "");
    }
    puts("END");
    return kExitOk;
}

static const struct {
    const char* name;
    fulmar_store_mode mode;
} kStoreModes[] = {
    {"set", FULMAR_STORE_SET},         {"add", FULMAR_STORE_ADD},
    {"replace", FULMAR_STORE_REPLACE}, {"append", FULMAR_STORE_APPEND},
    {"prepend", FULMAR_STORE_PREPEND}, {"cas", FULMAR_STORE_CAS},
};

static int run(fulmar_client* c, const char* cmd, char** args, int n, uint32_t flags, int32_t ttl) {
    if (strcmp(cmd, "get") == 0 || strcmp(cmd, "mget") == 0)
        return n >= 1 ? cmd_get(c, 0, args, n) : kExitUsage;
    if (strcmp(cmd, "gets") == 0) return n >= 1 ? cmd_get(c, 1, args, n) : kExitUsage;
    if (strcmp(cmd, "whereis") == 0) return n >= 1 ? cmd_whereis(c, args, n) : kExitUsage;
    if (strcmp(cmd, "ring") == 0) return n == 0 ? cmd_ring(c) : kExitUsage;
    for (size_t i = 0; i < sizeof kStoreModes / sizeof kStoreModes[0]; ++i) {
        if (strcmp(cmd, kStoreModes[i].name) != 0) continue;
        const int is_cas = kStoreModes[i].mode == FULMAR_STORE_CAS;
        uint64_t cas = 0;
        if (n != (is_cas ? 3 : 2) || (is_cas && !parse_u64(args[2], UINT64_MAX, &cas)))
            return kExitUsage;
        const int rc = fulmar_client_store(c, kStoreModes[i].mode, args[0], strlen(args[0]),
                                           args[1], strlen(args[1]), flags, ttl, cas);
        return report(cmd, rc, "STORED");
    }
    if (strcmp(cmd, "delete") == 0) {
        if (n != 1) return kExitUsage;
        return report(cmd, fulmar_client_delete(c, args[0], strlen(args[0])), "DELETED");
    }
    if (strcmp(cmd, "incr") == 0 || strcmp(cmd, "decr") == 0) {
        uint64_t delta, v = 0;
        if (n != 2 || !parse_u64(args[1], UINT64_MAX, &delta)) return kExitUsage;
        const int rc = cmd[0] == 'i' ? fulmar_client_incr(c, args[0], strlen(args[0]), delta, &v)
                                     : fulmar_client_decr(c, args[0], strlen(args[0]), delta, &v);
        if (rc == 0) printf("%llu\n", (unsigned long long)v);
        return rc == 0 ? kExitOk : report(cmd, rc, "");
    }
    if (strcmp(cmd, "touch") == 0) {
        int32_t t;
        if (n != 2 || !parse_i32(args[1], &t)) return kExitUsage;
        return report(cmd, fulmar_client_touch(c, args[0], strlen(args[0]), t), "TOUCHED");
    }
    return kExitUsage;
}

int main(int argc, char** argv) {
    // One option a line:
    // clang-format off
    static const struct option long_opts[] = {
        {"servers", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"ring-refresh", required_argument, NULL, 'R'},
        {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'r'},
        {"window", required_argument, NULL, 'w'},
        {"flags", required_argument, NULL, 'f'},
        {"ttl", required_argument, NULL, 'T'},
        {"libmemcached", no_argument, NULL, 'L'},
        {"transport", required_argument, NULL, 'P'},
        {"tcp", no_argument, NULL, 'C'},
        {"connections", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    // clang-format on
    const char* servers = NULL;
    const char* seed = NULL;
    fulmar_client_options o;
    fulmar_client_options_init(&o);
    uint32_t flags = 0;
    int32_t ttl = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:h", long_opts, NULL)) != -1) {
        uint64_t v;
        switch (opt) {
            case 's':
                servers = optarg;
                break;
            case 'S':
                seed = optarg;
                break;
            case 'R':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                o.ring_refresh_ms = (uint32_t)v;
                break;
            case 't':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                o.timeout_ms = (uint32_t)v;
                break;
            case 'r':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                o.retries = (uint32_t)v;
                break;
            case 'w':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                o.window = (uint32_t)v;
                break;
            case 'f':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                flags = (uint32_t)v;
                break;
            case 'T':
                if (!parse_i32(optarg, &ttl)) goto usage;
                break;
            case 'L':
                o.distribution = FULMAR_DISTRIBUTION_KETAMA_LIBMEMCACHED;
                break;
            case 'P':
                if (!parse_transport(optarg, &o.transport)) goto usage;
                break;
            case 'C':
                o.transport = FULMAR_TRANSPORT_TCP;
                break;
            case 'n':
                if (!parse_u64(optarg, UINT32_MAX, &v)) goto usage;
                o.tcp_connections = (uint32_t)v;
                break;
            case 'h':
                fputs(kUsage, stdout);
                return kExitOk;
            default:
                goto usage;
        }
    }
    if ((servers == NULL) == (seed == NULL) || optind >= argc) goto usage;
    if (seed != NULL && o.distribution != FULMAR_DISTRIBUTION_KETAMA_TWEMPROXY) {
        fputs(
            "fulmar-cli: a cluster's ring is twemproxy's ketama: --libmemcached does not apply "
            "to --seed\n",
            stderr);
        return kExitUsage;
    }

    char why[256];
    if (fulmar_servers_validate(seed != NULL ? seed : servers, o.distribution, why, sizeof why) !=
        0) {
        fprintf(stderr, "fulmar-cli: %s\n", why);
        return kExitUsage;
    }
    fulmar_client* c = NULL;
    const int rc =
        seed != NULL ? fulmar_client_new_seeded(seed, &o, &c) : fulmar_client_new(servers, &o, &c);
    if (rc != 0) {
        fprintf(stderr, "fulmar-cli: %s\n", fulmar_strerror(rc));
        return rc == -EINVAL ? kExitUsage : kExitFailed;
    }
    const int status = run(c, argv[optind], argv + optind + 1, argc - optind - 1, flags, ttl);
    fulmar_client_free(c);
    if (status == kExitUsage) fputs(kUsage, stderr);
    return status;

usage:
    fputs(kUsage, stderr);
    return kExitUsage;
}
