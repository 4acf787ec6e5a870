/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file xfr.h
 * Keeping mirrored zones fresh: the AXFR/IXFR client (RFC 5936, RFC 1995)
 * with TSIG (RFC 8945), the SOA refresh/retry/expire scheduler with source
 * rotation (RFC 1035 §4.3.5, RFC 8806 §3), NOTIFY handling (RFC 1996) and the
 * helpers the daemon uses to serve a verified mirror by AXFR downstream.
 *
 * Everything here is sans-I/O: queries go through struct ost_transport
 * (TCP for transfers, UDP for SOA probes), time through struct ost_clock.
 *
 * Example: the scheduler's refresh timer for "ru." fires (SOA refresh 1800 s
 * plus up to 10 % jitter). It asks the first source 127.53.2.1@53 "ru. SOA"
 * over UDP; the serial 2026112602 is newer than the stored 2026112601 (RFC
 * 1982), so it starts ost_xfr_start() over TCP to the same source. The AXFR
 * arrives in 14 messages; each is checked (ID, question, rcode, TSIG when
 * configured, every owner inside ru., byte and record limits) as it
 * streams. The closing SOA ends it, ost_mirror_import_rrs() verifies DNSSEC
 * and ZONEMD and commits atomically, and the scheduler arms the next refresh.
 * Had the source died half-way, the transfer would fail with "connection
 * reset after 7 messages, 5120 records", the stored version would stay, and
 * the next source would be tried; when all fail, the SOA retry timer runs.
 */
#ifndef OSTROV_XFR_H
#define OSTROV_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/error.h"
#include "ostrov/transport.h"
#include "ostrov/zone.h"

/** A TSIG key (RFC 8945). */
struct ost_tsig_key {
	char name[256];   /**< key name, absolute ("xfr-key.") */
	char alg[64];     /**< algorithm name ("hmac-sha256.") */
	char secret[256]; /**< shared secret, base64 */
};

/**
 * Parse "name:alg:secret" (alg without the trailing dot is fine:
 * hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha1, hmac-md5.sig-alg.reg.int).
 * @param s the text
 * @param out receives the key
 * @return 0 or -EINVAL
 */
OST_EXPORT OST_WUR int ost_tsig_key_parse(const char *s, struct ost_tsig_key *out);

/** A transfer source. */
struct ost_xfr_source {
	struct sockaddr_storage addr; /**< address and port */
	socklen_t addrlen;            /**< length of @p addr */
	char text[64];                /**< "127.53.0.1@53", for logs and the import source */
	bool has_tsig;                /**< sign requests and require signed replies */
	struct ost_tsig_key tsig;     /**< the key when has_tsig */
};

/**
 * Parse "ADDR@PORT" or "ADDR" (port 53), optionally followed by
 * " tsig NAME:ALG:SECRET".
 * @param s the text
 * @param out receives the source
 * @return 0 or -EINVAL
 */
OST_EXPORT OST_WUR int ost_xfr_source_parse(const char *s, struct ost_xfr_source *out);

/** What a transfer is asked to do. */
struct ost_xfr_request {
	const char *zone;                 /**< zone name ("ru.") */
	const struct ost_xfr_source *src; /**< where from (borrowed until done) */
	bool ixfr;                        /**< ask IXFR (RFC 1995) with @p have_serial */
	uint32_t have_serial;             /**< serial of the stored copy (IXFR only) */
	uint32_t timeout_ms;              /**< whole transfer; 0 = 60 s */
	uint64_t max_bytes;               /**< summed wire size limit while streaming; 0 = none */
	uint64_t max_records;             /**< record limit while streaming; 0 = none */
	/** For IXFR: the mirror's store, to apply incremental differences to the
	 * stored version (the result is verified whole); NULL = use AXFR instead. */
	struct ost_zone_store *store;
};

/** Outcome of a transfer. */
struct ost_xfr_result {
	int status;                    /**< 0 imported or up to date, else why not (negative) */
	bool is_up_to_date;            /**< IXFR said our serial is current: nothing imported */
	bool is_ixfr_fallback;         /**< the IXFR answer was incremental and AXFR was used */
	bool is_ixfr_applied;          /**< IXFR differences were applied to the stored version */
	uint32_t serial;               /**< serial transferred */
	uint64_t messages;             /**< messages received */
	uint64_t records;              /**< records received (SOA twice) */
	uint64_t bytes;                /**< wire bytes received */
	uint64_t transfer_ms;          /**< from send to the closing SOA */
	uint64_t import_ms;            /**< verification and commit */
	enum ost_zone_verdict verdict; /**< import verdict (OST_ZV_OK when not reached) */
	char reason[256];              /**< human reason on failure */
};

struct ost_xfr;

/**
 * Called once when a transfer ends; the result is borrowed for the call.
 * The callback may call ost_xfr_free() on @p x.
 */
typedef void (*ost_xfr_cb)(struct ost_xfr *x, const struct ost_xfr_result *res, void *arg);

/**
 * Start a transfer into the mirror. On success the callback is called exactly
 * once (never from inside this function), unless ost_xfr_free() comes first.
 * @param m the mirror the zone belongs to (ost_mirror_import_rrs() at the end)
 * @param tp the transport (TCP)
 * @param clock the clock (transfer time, fetched_at)
 * @param rq the request (copied; rq->src must stay valid until done)
 * @param cb completion callback
 * @param arg its argument
 * @param out receives the transfer handle
 * @return 0, -EINVAL, -ENOMEM, or the transport's send error (no callback)
 */
OST_EXPORT OST_WUR int ost_xfr_start(struct ost_mirror *m, const struct ost_transport *tp,
				     const struct ost_clock *clock,
				     const struct ost_xfr_request *rq, ost_xfr_cb cb, void *arg,
				     struct ost_xfr **out);

/** Cancel (if running) and free a transfer; NULL is fine. @param x the transfer */
OST_EXPORT void ost_xfr_free(struct ost_xfr *x);

/* ------------------------------------------------------------------------- */
/* NOTIFY (RFC 1996)                                                           */

/** A parsed NOTIFY. */
struct ost_notify {
	char zone[256];  /**< the zone named in the question, presentation form */
	uint16_t id;     /**< message ID, echoed in the answer */
	bool has_serial; /**< an SOA in the answer section gave a serial hint */
	uint32_t serial; /**< that serial */
};

/**
 * Parse a NOTIFY request (opcode 4, QR=0, one SOA question, class IN).
 * @param pkt the message
 * @param len its length
 * @param out receives the fields
 * @return 0, OST_EMALFORMED (not a well-formed NOTIFY)
 */
OST_EXPORT OST_WUR int ost_notify_parse(const uint8_t *pkt, size_t len, struct ost_notify *out);

/**
 * Build the answer to a NOTIFY (RFC 1996 §4.7: same ID, opcode and question,
 * QR=1, AA=1), with @p rcode (NOERROR, or REFUSED/NOTAUTH for strangers).
 * @param pkt the NOTIFY
 * @param len its length
 * @param rcode LDNS_RCODE_*
 * @param buf output
 * @param cap its size
 * @param out_len receives the answer's length
 * @return 0, OST_EMALFORMED, -ENOBUFS
 */
OST_EXPORT OST_WUR int ost_notify_answer(const uint8_t *pkt, size_t len, uint8_t rcode,
					 uint8_t *buf, size_t cap, size_t *out_len);

/**
 * Build a NOTIFY for @p zone with the SOA serial hint (RFC 1996 §3.7).
 * @param zone zone name
 * @param serial its SOA serial
 * @param id message ID
 * @param buf output
 * @param cap its size
 * @param out_len receives the length
 * @return 0, -EINVAL, -ENOBUFS
 */
OST_EXPORT OST_WUR int ost_notify_build(const char *zone, uint32_t serial, uint16_t id,
					uint8_t *buf, size_t cap, size_t *out_len);

/* ------------------------------------------------------------------------- */
/* The refresh scheduler                                                       */

/** Configuration of one zone kept fresh by the scheduler. */
struct ost_refresh_zone_config {
	const char *zone;                     /**< zone name (configured in the mirror) */
	const struct ost_xfr_source *sources; /**< ordered sources, copied */
	size_t n_sources;                     /**< how many */
	bool ixfr;                            /**< ask IXFR first (falls back to AXFR) */
	uint64_t max_bytes;                   /**< limits enforced while streaming */
	uint64_t max_records;                 /**< record limit */
	uint32_t timeout_ms;                  /**< per transfer; 0 = 60 s */
	uint32_t soa_timeout_ms;              /**< per SOA probe; 0 = 2 s */
};

/** States of one zone's refresh machine. */
enum ost_refresh_state {
	/** A timer is armed (refresh, retry or start); nothing in flight. */
	OST_RS_IDLE = 0,
	/** An SOA query (UDP) to the current source is in flight. */
	OST_RS_SOA,
	/** A transfer (TCP) from the current source is in flight. */
	OST_RS_XFR,
	OST_RS_COUNT,
};

/** @return the name of @p s for logs */
OST_EXPORT const char *ost_refresh_state_str(enum ost_refresh_state s);

/** Status of one zone of the scheduler (for control and tests). */
struct ost_refresh_status {
	enum ost_refresh_state state; /**< current state */
	uint64_t next_check_ms;       /**< monotonic time the next check is due (IDLE) */
	size_t source;                /**< index of the source tried now / next */
	uint64_t checks;              /**< SOA checks started */
	uint64_t transfers;           /**< transfers started */
	uint64_t imports;             /**< transfers that imported a new version */
	uint64_t failures;            /**< failed checks or transfers (any source) */
	uint64_t up_to_date;          /**< checks that found the serial current */
	uint64_t notifies;            /**< accepted NOTIFYs */
	uint64_t expired;             /**< times the stored version passed its SOA expire */
	char last_error[256];         /**< last failure, "" if none */
	uint64_t last_import_ms;      /**< import time of the last imported version */
	uint64_t last_transfer_ms;    /**< transfer time of the last imported version */
};

struct ost_refresh;

/** Called after a new version of @p zone was imported (e.g. NOTIFY downstream). */
typedef void (*ost_refresh_update_cb)(const char *zone, uint32_t serial, void *arg);

/**
 * Create the scheduler.
 * @param m the mirror (borrowed)
 * @param store its store (borrowed; the SOA check refreshes the metadata)
 * @param tp transport for SOA probes and transfers (borrowed)
 * @param clock clock and timers (borrowed)
 * @param out receives the scheduler
 * @return 0, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_refresh_new(struct ost_mirror *m, struct ost_zone_store *store,
				       const struct ost_transport *tp,
				       const struct ost_clock *clock, struct ost_refresh **out);

/** Stop every timer and transfer, free the scheduler (NULL is fine). */
OST_EXPORT void ost_refresh_free(struct ost_refresh *r);

/**
 * Add a zone (before ost_refresh_start()).
 * @return 0, -EINVAL (no sources, unknown zone), -ENOMEM
 */
OST_EXPORT OST_WUR int ost_refresh_add_zone(struct ost_refresh *r,
					    const struct ost_refresh_zone_config *cfg);

/** Register the callback for new versions. */
OST_EXPORT void ost_refresh_set_update_cb(struct ost_refresh *r, ost_refresh_update_cb cb,
					  void *arg);

/**
 * Arm the timers: a zone without a usable version is checked at once, the
 * others when their SOA refresh interval since the last fetch runs out.
 */
OST_EXPORT void ost_refresh_start(struct ost_refresh *r);

/**
 * A NOTIFY arrived (RFC 1996 §3.11): accepted only from a configured source
 * address of the zone (the port is ignored); triggers an SOA check now,
 * starting with that source.
 * @param r the scheduler
 * @param n the parsed NOTIFY
 * @param from the sender
 * @return 0 accepted, -ENOENT unknown zone, OST_ENOTALLOWED stranger
 */
OST_EXPORT OST_WUR int ost_refresh_notify(struct ost_refresh *r, const struct ost_notify *n,
					  const struct sockaddr *from);

/**
 * Check a zone now (ostrovctl zone refresh).
 * @return 0, -ENOENT
 */
OST_EXPORT OST_WUR int ost_refresh_now(struct ost_refresh *r, const char *zone);

/**
 * Status of a zone.
 * @return 0, -ENOENT
 */
OST_EXPORT OST_WUR int ost_refresh_status(struct ost_refresh *r, const char *zone,
					  struct ost_refresh_status *out);

/* ------------------------------------------------------------------------- */
/* Serving AXFR downstream                                                     */

/**
 * Build the AXFR answer messages for the stored version of @p zone: SOA
 * first and last, every record of the zone (RRSIGs, NSEC, glue included),
 * split into messages of at most @p max_msg bytes. The question and ID are
 * taken from @p query.
 * @param store the store
 * @param zone zone name
 * @param query the client's AXFR query (its ID and question are echoed)
 * @param qlen its length
 * @param max_msg largest message (at most 65535)
 * @param msgs receives a malloc'd array of malloc'd messages
 * @param lens receives their lengths (malloc'd)
 * @param n receives the count
 * @param serial receives the serial served
 * @return 0, -ENOENT (no stored version), OST_EMALFORMED, -ENOMEM
 */
OST_EXPORT OST_WUR int ost_xfr_out_build(struct ost_zone_store *store, const char *zone,
					 const uint8_t *query, size_t qlen, size_t max_msg,
					 uint8_t ***msgs, size_t **lens, size_t *n,
					 uint32_t *serial);

/** Free what ost_xfr_out_build() returned. */
OST_EXPORT void ost_xfr_out_free(uint8_t **msgs, size_t *lens, size_t n);

#endif
