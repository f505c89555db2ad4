/*
 * Wire constants of the protocols Fulmar speaks, for applications and for
 * Fulmar itself. C and C++; no dependencies.
 */
#ifndef FULMAR_PROTOCOL_H
#define FULMAR_PROTOCOL_H

/** Default UDP and TCP port of the memcached protocols. */
#define FULMAR_MEMCACHED_PORT 11211

/** Bytes of the memcached UDP frame header (request id, sequence, total, reserved). */
#define FULMAR_MC_UDP_HEADER_SIZE 8

/** Reply payload per UDP datagram, frame header aside (memcached's UDP_MAX_PAYLOAD_SIZE). */
#define FULMAR_MC_UDP_MAX_PAYLOAD 1400

/** Longest key the memcached protocols accept. */
#define FULMAR_MC_MAX_KEY_LEN 250

/** memcached's default item size limit: header, key and value together. */
#define FULMAR_MC_ITEM_SIZE_MAX (1024 * 1024)

#endif /* FULMAR_PROTOCOL_H */
