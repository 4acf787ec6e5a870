/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file packet.h
 * Classification of incoming client packets and the header-only answers the
 * daemon writes itself (REFUSED, FORMERR, NOTIMP, BADVERS).
 *
 * This is the first code every client byte meets, so it is pure (no libuv,
 * no globals), allocation-free, and safe on any input; tests/fuzz feeds it
 * arbitrary bytes. It is the documented exception to "use ldns for wire
 * format" (TEAM.md rule 2): ldns_wire2pkt() allocates a packet, a list and an
 * RR per record, which is too much for the cache-hit path, so the question
 * and the OPT record are read by hand here. ldns still provides the header
 * accessors and constants used below.
 *
 * Example: a UDP datagram `id=0x1234 RD=1 QD=1 AR=1 "example.com. A" + OPT
 * 4096` gives OST_PKT_QUERY with q.qname = "\7example\3com\0", q.has_edns =
 * true, q.edns_size = 4096; ost_pkt_write_rcode(&q, LDNS_RCODE_REFUSED, 1232,
 * buf, sizeof(buf)) writes the 40-byte REFUSED answer with our OPT.
 */
#ifndef OSTROV_SERVER_PACKET_H
#define OSTROV_SERVER_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What to do with a packet a client sent. */
enum ost_pkt_verdict {
	OST_PKT_DROP = 0, /**< send nothing: shorter than a header, or a response (QR=1) */
	OST_PKT_QUERY,    /**< a well-formed query: answer it */
	OST_PKT_FORMERR,  /**< answer FORMERR: QDCOUNT != 1, bad name, truncated records */
	OST_PKT_NOTIMP,   /**< answer NOTIMP: opcode other than QUERY */
	OST_PKT_BADVERS,  /**< answer BADVERS: EDNS version above 0 (RFC 6891 6.1.3) */
	OST_PKT_VERDICT_COUNT,
};

/** Largest uncompressed domain name in wire form (RFC 1035 2.3.4). */
#define OST_PKT_NAME_MAX  255
/** EDNS payload size assumed for a client without EDNS (RFC 1035 4.2.1). */
#define OST_PKT_UDP_PLAIN 512

/** What the classifier learnt about a query; filled as far as parsing got. */
struct ost_question {
	uint16_t id;                     /**< message ID */
	uint8_t opcode;                  /**< header opcode */
	bool rd;                         /**< recursion desired */
	bool cd;                         /**< checking disabled */
	bool has_question;               /**< the question below was parsed */
	uint8_t qname[OST_PKT_NAME_MAX]; /**< QNAME in wire form, uncompressed, case kept */
	uint8_t qname_len;               /**< its length including the root label */
	uint16_t qtype;                  /**< QTYPE */
	uint16_t qclass;                 /**< QCLASS */
	bool has_edns;                   /**< a valid OPT record was present */
	uint16_t edns_size;              /**< client's UDP payload size (at least 512) */
	uint8_t edns_version;            /**< EDNS version */
	bool edns_do;                    /**< DNSSEC OK bit */
};

/**
 * Classify a packet received from a client. Never allocates, never reads
 * beyond @p len, terminates on every input (compression pointers must point
 * strictly backwards, RFC 1035 4.1.4 as tightened by RFC 9267).
 * @param pkt the packet
 * @param len its length
 * @param q receives the header fields, question and EDNS data
 * @return the verdict
 */
enum ost_pkt_verdict ost_pkt_classify(const uint8_t *pkt, size_t len, struct ost_question *q);

/** @return a short name of @p v for logs */
const char *ost_pkt_verdict_str(enum ost_pkt_verdict v);

/**
 * Write a header-only answer: the query's ID, opcode, RD and CD, QR=1, RA=1,
 * the question when it was parsed, and an OPT record when the client sent
 * EDNS (or always for BADVERS).
 * @param q the classified query
 * @param rcode a full 12-bit rcode (LDNS_RCODE_REFUSED, 16 for BADVERS ...)
 * @param edns_size our UDP payload size to advertise in the OPT record
 * @param out receives the message
 * @param cap size of @p out
 * @return the length written, or 0 when @p cap is too small
 */
size_t ost_pkt_write_rcode(const struct ost_question *q, unsigned rcode, uint16_t edns_size,
			   uint8_t *out, size_t cap);

/**
 * The rcode that answers @p v (FORMERR, NOTIMP, BADVERS) or -1 for
 * OST_PKT_DROP and OST_PKT_QUERY.
 */
int ost_pkt_verdict_rcode(enum ost_pkt_verdict v);

#endif
