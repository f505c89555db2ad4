/*
 * Fake memcached servers for the client tests; see fake_net.h.
 */
#include "fake_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t load_be16(const uint8_t* p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void store_be16(uint8_t* p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xff);
}

void fake_init(fake_net* net) {
    memset(net, 0, sizeof *net);
    net->now_us = 1000000;
    net->entries = calloc(FAKE_MAX_KEYS, sizeof(fake_entry));
}

void fake_free(fake_net* net) {
    for (size_t i = 0; i < net->n_inbox; ++i)
        free(net->inbox[i]);
    for (size_t i = 0; i < net->n_entries; ++i)
        free(net->entries[i].value);
    free(net->inbox);
    free(net->entries);
    memset(net, 0, sizeof *net);
}

static fake_entry* find(fake_net* net, const char* key, size_t key_len) {
    for (size_t i = 0; i < net->n_entries; ++i) {
        if (strlen(net->entries[i].key) == key_len &&
            memcmp(net->entries[i].key, key, key_len) == 0)
            return &net->entries[i];
    }
    return NULL;
}

static void put_bytes(fake_net* net, const char* key, size_t key_len, const char* value,
                      size_t value_len, uint32_t flags, uint64_t cas) {
    fake_entry* e = find(net, key, key_len);
    if (e == NULL) {
        if (net->n_entries == FAKE_MAX_KEYS || key_len > FULMAR_MC_MAX_KEY_LEN) abort();
        e = &net->entries[net->n_entries++];
        memcpy(e->key, key, key_len);
        e->key[key_len] = '\0';
    }
    if (value_len > FAKE_MAX_VALUE) abort();
    free(e->value);
    e->value = malloc(value_len + 1);
    memcpy(e->value, value, value_len);
    e->value_len = value_len;
    e->flags = flags;
    e->cas = cas;
}

void fake_put(fake_net* net, const char* key, const char* value, uint32_t flags, uint64_t cas) {
    put_bytes(net, key, strlen(key), value, strlen(value), flags, cas);
}

static void push(fake_net* net, uint32_t node, uint64_t at, uint32_t completes, const void* data,
                 size_t len) {
    if (len > FAKE_MAX_DATAGRAM) abort();
    if (net->n_inbox == net->cap_inbox) {
        net->cap_inbox = net->cap_inbox ? net->cap_inbox * 2 : 64;
        net->inbox = realloc(net->inbox, net->cap_inbox * sizeof *net->inbox);
    }
    fake_datagram* d = malloc(sizeof *d);
    d->node = node;
    d->deliver_at_us = at;
    d->completes = completes;
    d->len = len;
    memcpy(d->data, data, len);
    net->inbox[net->n_inbox++] = d;
}

void fake_inject(fake_net* net, uint32_t node, const void* data, size_t len) {
    push(net, node, net->now_us, 0, data, len);
}

/* A growing text buffer for replies. */
typedef struct text {
    char* p;
    size_t len, cap;
} text;

static void text_add(text* t, const char* s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_str(text* t, const char* s) {
    text_add(t, s, strlen(s));
}

/* Computes the reply a memcached would give (get/gets/set only: enough here). */
static void serve(fake_net* net, const char* req, size_t len, text* out) {
    const char* eol = memchr(req, '\n', len);
    if (eol == NULL || eol == req || eol[-1] != '\r') {
        text_str(out, "ERROR\r\n");
        return;
    }
    const char* end = eol - 1;
    int gets = len > 5 && memcmp(req, "gets ", 5) == 0;
    if (gets || (len > 4 && memcmp(req, "get ", 4) == 0)) {
        const char* p = req + (gets ? 5 : 4);
        while (p < end) {
            const char* sp = memchr(p, ' ', (size_t)(end - p));
            const char* k_end = sp ? sp : end;
            net->key_requests++;
            fake_entry* e = find(net, p, (size_t)(k_end - p));
            if (e != NULL) {
                char line[FULMAR_MC_MAX_KEY_LEN + 100];
                int n = gets ? snprintf(line, sizeof line, "VALUE %s %u %zu %llu\r\n", e->key,
                                        e->flags, e->value_len, (unsigned long long)e->cas)
                             : snprintf(line, sizeof line, "VALUE %s %u %zu\r\n", e->key, e->flags,
                                        e->value_len);
                text_add(out, line, (size_t)n);
                text_add(out, e->value, e->value_len);
                text_str(out, "\r\n");
            }
            p = k_end + 1;
        }
        text_str(out, "END\r\n");
        return;
    }
    if (len > 4 && memcmp(req, "set ", 4) == 0) {
        char key[FULMAR_MC_MAX_KEY_LEN + 1];
        unsigned flags;
        long exptime;
        size_t bytes;
        if (sscanf(req + 4, "%250s %u %ld %zu", key, &flags, &exptime, &bytes) == 4 &&
            (size_t)(req + len - (eol + 1)) == bytes + 2) {
            put_bytes(net, key, strlen(key), eol + 1, bytes, flags, 1);
            text_str(out, "STORED\r\n");
            return;
        }
        text_str(out, "CLIENT_ERROR bad data chunk\r\n");
        return;
    }
    text_str(out, "ERROR\r\n");
}

static int fake_send(void* ctx, uint32_t node, const void* datagram, size_t len) {
    fake_net* net = ctx;
    const uint8_t* d = datagram;
    net->n_requests++;
    if (node < FAKE_MAX_NODES) net->requests_per_node[node]++;
    if (len > net->max_request_len) net->max_request_len = len;
    net->last_node = node;
    net->last_request_len = len < FAKE_MAX_DATAGRAM ? len : FAKE_MAX_DATAGRAM;
    memcpy(net->last_request, d, net->last_request_len);
    if (len < 8) return 0;
    if (net->drop_requests > 0) {
        net->drop_requests--;
        return 0;
    }
    if (node < 32 && (net->dead_node_mask & (1u << node))) return 0;

    const uint16_t id = load_be16(d);
    text reply = {0};
    if (net->canned != NULL) {
        text_str(&reply, net->canned);
    } else {
        serve(net, (const char*)d + 8, len - 8, &reply);
    }

    uint64_t at = net->now_us;
    if (net->delay_us > 0) {
        at += net->delay_us;
        if (net->delay_count > 0 && --net->delay_count == 0) net->delay_us = 0;
    }
    if (net->forge) {
        uint8_t f[64];
        const char* body = "VALUE k 0 1\r\nX\r\nEND\r\n";
        /* a reply to someone else's request */
        store_be16(f, (uint16_t)(id ^ 0x4000));
        store_be16(f + 2, 0);
        store_be16(f + 4, 1);
        store_be16(f + 6, 0);
        memcpy(f + 8, body, strlen(body));
        push(net, node, at, 0, f, 8 + strlen(body));
        /* our id, but from another server */
        store_be16(f, id);
        push(net, node + 1, at, 0, f, 8 + strlen(body));
        /* too short for a header */
        push(net, node, at, 0, f, 5);
        /* our id, sequence out of range; then total 0 */
        store_be16(f + 2, 7);
        store_be16(f + 4, 3);
        push(net, node, at, 0, f, 8 + strlen(body));
        store_be16(f + 2, 0);
        store_be16(f + 4, 0);
        push(net, node, at, 0, f, 8 + strlen(body));
    }

    /* Messages: the whole reply, or (split_values) one per VALUE block with END
     * riding on the last. */
    size_t cuts[FAKE_MAX_KEYS + 2];
    size_t n_msgs = 0;
    cuts[0] = 0;
    if (net->split_values) {
        size_t pos = 0;
        size_t n = 0;
        while (n_msgs < FAKE_MAX_KEYS && pos + 6 < reply.len &&
               sscanf(reply.p + pos, "VALUE %*s %*u %zu", &n) == 1) {
            const char* eol = strstr(reply.p + pos, "\r\n");
            pos = (size_t)(eol - reply.p) + 2 + n + 2;
            if (pos + 5 < reply.len) cuts[++n_msgs] = pos; /* END stays with the last */
        }
    }
    cuts[++n_msgs] = reply.len;

    if (node < FAKE_MAX_NODES) {
        if (++net->in_flight[node] > net->max_in_flight[node])
            net->max_in_flight[node] = net->in_flight[node];
    }
    const size_t chunk = net->chunk ? net->chunk : FULMAR_MC_UDP_MAX_PAYLOAD;
    for (size_t mi = 0; mi < n_msgs; ++mi) {
        const size_t m = net->reverse_values && mi + 1 < n_msgs ? n_msgs - 2 - mi : mi;
        const char* text = reply.p + cuts[m];
        const size_t text_len = cuts[m + 1] - cuts[m];
        size_t total = (text_len + chunk - 1) / chunk;
        if (total == 0) total = 1;
        int drop0 = 0;
        if (net->drop_datagram > 0 && total > 1) {
            net->drop_datagram--;
            drop0 = 1;
        }
        for (size_t i = 0; i < total; ++i) {
            const size_t seq = net->reverse ? total - 1 - i : i;
            if (drop0 && seq == 0) continue;
            uint8_t buf[FAKE_MAX_DATAGRAM];
            const size_t off = seq * chunk;
            const size_t n = text_len - off < chunk ? text_len - off : chunk;
            store_be16(buf, id);
            store_be16(buf + 2, (uint16_t)seq);
            store_be16(buf + 4, (uint16_t)total);
            store_be16(buf + 6, 0);
            if (n > 0) memcpy(buf + 8, text + off, n);
            const int last = mi + 1 == n_msgs && i == total - 1;
            push(net, node, at, last ? node + 1 : 0, buf, 8 + n);
            if (net->duplicate) push(net, node, at, 0, buf, 8 + n);
        }
    }
    free(reply.p);
    return 0;
}

static long fake_recv(void* ctx, uint64_t deadline_us, uint32_t* node, void* buf, size_t cap) {
    fake_net* net = ctx;
    if (net->fail_recv) return -EIO;
    size_t best = net->n_inbox;
    for (size_t i = 0; i < net->n_inbox; ++i) {
        if (best == net->n_inbox || net->inbox[i]->deliver_at_us < net->inbox[best]->deliver_at_us)
            best = i;
    }
    if (best == net->n_inbox || net->inbox[best]->deliver_at_us > deadline_us) {
        if (deadline_us > net->now_us) net->now_us = deadline_us;
        return -ETIMEDOUT;
    }
    fake_datagram* d = net->inbox[best];
    memmove(net->inbox + best, net->inbox + best + 1,
            (net->n_inbox - best - 1) * sizeof *net->inbox);
    net->n_inbox--;
    if (d->deliver_at_us > net->now_us) net->now_us = d->deliver_at_us;
    if (d->completes != 0 && d->completes - 1 < FAKE_MAX_NODES) net->in_flight[d->completes - 1]--;
    *node = d->node;
    const size_t n = d->len < cap ? d->len : cap;
    memcpy(buf, d->data, n);
    const long len = (long)d->len;
    free(d);
    return len;
}

static uint64_t fake_now_us(void* ctx) {
    return ((fake_net*)ctx)->now_us;
}

fulmar_test_transport fake_transport(fake_net* net) {
    fulmar_test_transport t = {net, fake_send, fake_recv, fake_now_us};
    return t;
}
