/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test doubles for the resolver engine: a pinned clock whose timers fire
 * only when the test advances it, and a fake network of authoritative
 * servers that answer from zone data given as zone-file text (parsed with
 * ldns), with switchable misbehaviours (drop, refuse, FORMERR to EDNS, TC
 * over UDP, spoofed packets first, broken QNAME-minimisation handling,
 * injected out-of-zone records). Every outbound query is logged.
 */
#ifndef OSTROV_TEST_RESOLVER_FAKE_H
#define OSTROV_TEST_RESOLVER_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/transport.h"

/** The pinned clock. */
struct fake_clock {
	struct ost_clock clock;   /**< handed to the engine */
	uint64_t now_ms;          /**< monotonic now */
	int64_t wall_s;           /**< wall clock at now_ms == 0 */
	struct ost_timer *timers; /**< armed timers, sorted by deadline */
	uint64_t seq;             /**< tie-breaker for equal deadlines */
};

void fake_clock_init(struct fake_clock *c, int64_t wall_s);
/** Free timers still armed (none should be). @return how many there were */
size_t fake_clock_deinit(struct fake_clock *c);
/** Fire every timer due within @p ms, in order, then move now by @p ms. */
void fake_clock_advance(struct fake_clock *c, uint64_t ms);
/** Fire timers in order until none is left or @p max_ms passed. @return timers fired */
size_t fake_clock_run(struct fake_clock *c, uint64_t max_ms);

/** Misbehaviours of a fake server. */
enum fake_behaviour {
	FB_NONE = 0,
	FB_DROP = 1 << 0,         /**< never answers (timeout) */
	FB_REFUSE = 1 << 1,       /**< REFUSED to everything */
	FB_FORMERR_EDNS = 1 << 2, /**< FORMERR to queries with OPT */
	FB_TC_UDP = 1 << 3,       /**< TC=1 and no records over UDP */
	FB_SPOOF = 1 << 4,        /**< a wrong-ID and a wrong-question packet arrive first */
	FB_NX_ENT = 1 << 5,       /**< NXDOMAIN for names that exist only below (broken) */
	FB_INJECT = 1 << 6,       /**< adds the server's inject records to every answer */
	FB_LAME = 1 << 7,         /**< NOERROR, no AA, no data, no referral */
	FB_NETERR = 1 << 8,       /**< every query fails with -ECONNREFUSED */
	FB_GARBAGE = 1 << 11,     /**< answers are mutated: random bytes flipped (ID kept) */
	FB_FULL = 1 << 10,        /**< positive answers carry the apex NS and their addresses */
	FB_UPWARD = 1 << 9,       /**< refers every query up to ru. (an upward referral) */
};

#define FAKE_MAX_SERVERS 32
#define FAKE_MAX_ZONES   8
#define FAKE_MAX_LOG     256

struct fake_zone {
	ldns_rdf *apex;
	ldns_rr_list *rrs;
};

struct fake_server {
	char ip[64];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct fake_zone zones[FAKE_MAX_ZONES];
	size_t n_zones;
	unsigned behaviour;
	ldns_rr_list *inject;
	unsigned n_queries;
};

/** One logged outbound query. */
struct fake_query {
	char server[64];    /**< server IP */
	char qname[256];    /**< question name, presentation format */
	uint16_t qtype;     /**< question type */
	bool tcp;           /**< sent over TCP */
	bool edns;          /**< carried OPT */
	uint16_t id;        /**< DNS ID */
	uint16_t edns_size; /**< its UDP size */
	bool rd;            /**< RD bit (set toward forwarders only) */
	bool cd;            /**< CD bit */
};

struct fake_pending;

struct fake_net {
	struct ost_transport tp; /**< handed to the engine */
	struct fake_clock *clk;  /**< delivery and timeouts */
	struct fake_server servers[FAKE_MAX_SERVERS];
	size_t n_servers;
	struct fake_query log[FAKE_MAX_LOG];
	size_t n_log;
	uint32_t latency_ms;          /**< answer delay (default 10) */
	struct fake_pending *pending; /**< queries in flight */
	size_t cancelled;             /**< queries the engine cancelled */
	unsigned rnd;                 /**< PRNG state for FB_GARBAGE */
	unsigned flips;               /**< bytes flipped per FB_GARBAGE answer */
};

void fake_net_init(struct fake_net *n, struct fake_clock *clk);
void fake_net_deinit(struct fake_net *n);
/** Add (or find) the server @p ip on port 53. */
struct fake_server *fake_server(struct fake_net *n, const char *ip);
/** Give @p ip authority over @p apex with the records of @p text (one RR per line). */
void fake_zone(struct fake_net *n, const char *ip, const char *apex, const char *text);
/** Append the records of @p text to the zone @p apex already on @p ip. */
void fake_add(struct fake_net *n, const char *ip, const char *apex, const char *text);
/** Parse zone-file lines into a list (aborts the test on a bad line). */
ldns_rr_list *fake_rrs(const char *text);
/** @return queries logged for @p qname (NULL: any) and @p qtype (0: any) to @p ip (NULL: any) */
size_t fake_count(const struct fake_net *n, const char *ip, const char *qname, uint16_t qtype);
/** @return number of queries in flight */
size_t fake_inflight(const struct fake_net *n);

#endif
