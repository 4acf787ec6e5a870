/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The test doubles every engine test shares (static library
 * ost_test_support, tests/support/): a pinned clock whose timers fire only
 * when the test moves it, and a fake network of authoritative servers behind
 * a struct ost_transport. Nothing here opens a socket or sleeps.
 *
 * A server answers in one of two ways. Zone servers (mode FM_ZONES, made by
 * fake_server() or fake_zone()) answer from zone data given as zone-file text
 * and parsed with ldns, like a small authoritative server, with switchable
 * misbehaviours (FB_*); the resolver, transfer and mirror tests use them.
 * Probe servers (fake_server_add() with another mode) answer any SOA or NS
 * question with one synthesised record, or drop, refuse, SERVFAIL, leave out
 * AA or spoof; the resilience and control tests use them. A test with its
 * own idea of an upstream (a fuzz target) installs a responder instead.
 *
 * Example: fake_clock_init(&clk, 1800000000); fake_net_init(&net, &clk);
 * fake_zone(&net, "127.53.0.1", ".", ". 3600 IN NS a.root.test.\n...");
 * the engine gets &clk.clock and &net.tp; its query for "ru. NS" to
 * 127.53.0.1 is logged in net.log and answered with the referral 10 ms later,
 * when the test calls fake_clock_run(&clk, 60000).
 *
 * A broken fixture (a bad test record, a full server table, a cancel of a
 * query that is not in flight) is reported with fake_fail(), which prints and
 * aborts: the library serves cmocka tests and fuzz targets alike.
 */
#ifndef OSTROV_TEST_SUPPORT_H
#define OSTROV_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/resolver.h"
#include "ostrov/transport.h"

/**
 * Report a broken test fixture and abort.
 * @param fmt printf format of the reason
 */
__attribute__((noreturn, format(printf, 1, 2))) void fake_fail(const char *fmt, ...);

/* ---- the pinned clock (fake_clock.c) ---- */

/**
 * A pinned clock. Wall time reads wall_s + (now_ms - lag_ms) / 1000: it
 * follows monotonic time except where the test moved monotonic time alone
 * (fake_clock_fire_next()), which adds to lag_ms. Tests may move now_ms and
 * wall_s by hand.
 */
struct fake_clock {
	struct ost_clock clock;   /**< handed to the code under test */
	uint64_t now_ms;          /**< monotonic now */
	int64_t wall_s;           /**< wall clock at now_ms == lag_ms */
	uint64_t lag_ms;          /**< monotonic time that did not move the wall clock */
	struct ost_timer *timers; /**< armed timers, by deadline then arming order */
	uint64_t seq;             /**< arming counter (tie-breaker for equal deadlines) */
	bool is_lax;              /**< stopping a timer that is not armed is ignored, else fatal */
};

/**
 * Start a clock at monotonic 1,000,000 ms.
 * @param c the clock
 * @param wall_s wall time at monotonic 0 (so it reads wall_s + 1000 now)
 */
void fake_clock_init(struct fake_clock *c, int64_t wall_s);
/**
 * Start a clock at monotonic @p now_ms.
 * @param c the clock
 * @param wall_s wall time at monotonic 0
 * @param now_ms monotonic now
 */
void fake_clock_init_at(struct fake_clock *c, int64_t wall_s, uint64_t now_ms);
/**
 * Make the wall clock read @p wall_s now (it follows monotonic time from here).
 * @param c the clock
 * @param wall_s the wall time now
 */
void fake_clock_set_wall(struct fake_clock *c, int64_t wall_s);
/**
 * Free timers still armed, without firing them.
 * @param c the clock
 * @return how many there were
 */
size_t fake_clock_deinit(struct fake_clock *c);
/**
 * Fire every timer due within @p ms, in order (each sees its own deadline as
 * now), then move now by @p ms. Wall time follows.
 * @param c the clock
 * @param ms how far to move
 */
void fake_clock_advance(struct fake_clock *c, uint64_t ms);
/**
 * Fire timers in order until none is left or @p max_ms passed; now ends at
 * the last one fired. Wall time follows.
 * @param c the clock
 * @param max_ms how far at most
 * @return timers fired
 */
size_t fake_clock_run(struct fake_clock *c, uint64_t max_ms);
/**
 * Fire the earliest timer, moving monotonic time only (the wall clock stays).
 * @param c the clock
 * @return false when none is armed
 */
bool fake_clock_fire_next(struct fake_clock *c);
/**
 * @param c the clock
 * @return deadline of the earliest armed timer, UINT64_MAX when none is
 */
uint64_t fake_clock_next_deadline(const struct fake_clock *c);
/**
 * @param c the clock
 * @return armed timers
 */
size_t fake_clock_armed(const struct fake_clock *c);

/* ---- the fake network (fake_transport.c) and its servers (fake_auth.c) ---- */

/** How a server answers. */
enum fake_mode {
	FM_ZONES = 0, /**< from its zones, shaped by its FB_* behaviour */
	FM_ANSWER,    /**< probe server: one SOA/NS record, AA, NOERROR */
	FM_DROP,      /**< probe server: never answers (-ETIMEDOUT at the query's timeout) */
	FM_REFUSE,    /**< probe server: -ECONNREFUSED after 1 ms */
	FM_SERVFAIL,  /**< probe server: answers SERVFAIL */
	FM_NOAA,      /**< probe server: answers without AA */
	FM_SPOOF,     /**< probe server: a wrong-ID packet first, then the right answer */
};

/** Misbehaviours of a zone server (FM_ZONES). */
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

/** One zone of a zone server. */
struct fake_zone {
	ldns_rdf *apex;    /**< its apex */
	ldns_rr_list *rrs; /**< all its records */
};

/** One fake authoritative server, on port 53 of one address. */
struct fake_server {
	char ip[64];                            /**< its address, as given */
	struct sockaddr_storage addr;           /**< the same, port 53 */
	socklen_t addrlen;                      /**< its length */
	enum fake_mode mode;                    /**< how it answers */
	struct fake_zone zones[FAKE_MAX_ZONES]; /**< FM_ZONES: its zones */
	size_t n_zones;                         /**< how many */
	unsigned behaviour;                     /**< FM_ZONES: FB_* flags */
	ldns_rr_list *inject;                   /**< FB_INJECT records (owned, may be NULL) */
	unsigned n_queries;                     /**< queries received */
	unsigned n_tcp;                         /**< of which over TCP */
	unsigned n_axfr;                        /**< of which AXFR */
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

struct fake_net;
struct fake_pending;

/**
 * A responder that replaces the servers: it schedules replies to @p p with
 * fake_reply(). Called from inside send(); it must not call back itself.
 */
typedef void (*fake_respond_cb)(struct fake_net *n, struct fake_pending *p,
				const struct ost_upstream_query *uq, void *arg);

/** The fake network. */
struct fake_net {
	struct ost_transport tp;                      /**< handed to the code under test */
	struct fake_clock *clk;                       /**< delivery and timeouts (borrowed) */
	struct fake_server servers[FAKE_MAX_SERVERS]; /**< the servers */
	size_t n_servers;                             /**< how many */
	struct fake_query *log;                       /**< every query sent, in order */
	size_t n_log;                                 /**< how many */
	size_t cap_log;                               /**< allocated */
	uint32_t latency_ms;                          /**< answer delay (default 10) */
	struct fake_pending *pending;                 /**< queries in flight */
	unsigned n_sent;                              /**< queries sent */
	unsigned n_unknown;                           /**< of which to no server (dropped) */
	size_t n_cancelled;                           /**< queries the code under test cancelled */
	unsigned rnd;                                 /**< PRNG state for FB_GARBAGE */
	unsigned flips;                               /**< bytes flipped per FB_GARBAGE answer */
	bool is_cb_checked;      /**< a callback returning other than 0 or -EAGAIN is fatal */
	fake_respond_cb respond; /**< replaces the servers when set */
	void *respond_arg;       /**< its argument */
};

/**
 * Start an empty network on @p clk.
 * @param n the network
 * @param clk its clock (borrowed)
 */
void fake_net_init(struct fake_net *n, struct fake_clock *clk);
/**
 * Drop the queries in flight (no callbacks) and free the servers' zones.
 * @param n the network
 */
void fake_net_deinit(struct fake_net *n);
/**
 * Deliver @p status and @p wire to the query @p p after @p ms. A packet the
 * callback rejects (-EAGAIN) leaves the query waiting for its next reply;
 * anything else ends it and drops its other replies.
 * @param n the network
 * @param p the query
 * @param ms delay
 * @param status 0 with @p wire, or a negative errno
 * @param wire malloc'd packet (takes ownership), or NULL
 * @param len its length
 */
void fake_reply(struct fake_net *n, struct fake_pending *p, uint64_t ms, int status, uint8_t *wire,
		size_t len);
/**
 * @param n the network
 * @return queries in flight
 */
size_t fake_inflight(const struct fake_net *n);
/**
 * @param n the network
 * @param ip server IP, NULL: any
 * @param qname question name, NULL: any
 * @param qtype question type, 0: any
 * @return queries logged that match
 */
size_t fake_count(const struct fake_net *n, const char *ip, const char *qname, uint16_t qtype);

/**
 * Fill @p ss with @p ip port 53 (a bad address is fatal).
 * @param ip IPv4 or IPv6 address
 * @param ss filled
 * @return its length
 */
socklen_t fake_addr(const char *ip, struct sockaddr_storage *ss);
/**
 * @param n the network
 * @param ip address
 * @return the server at @p ip, or NULL
 */
struct fake_server *fake_server_get(struct fake_net *n, const char *ip);
/**
 * @param n the network
 * @param ip address
 * @return the server at @p ip, added as a zone server if it is new
 */
struct fake_server *fake_server(struct fake_net *n, const char *ip);
/**
 * Add a probe server (a second server at one address is fatal).
 * @param n the network
 * @param ip address
 * @param mode how it answers
 * @return the server
 */
struct fake_server *fake_server_add(struct fake_net *n, const char *ip, enum fake_mode mode);
/**
 * Give @p ip authority over @p apex with the records of @p text.
 * @param n the network
 * @param ip server address (added if new)
 * @param apex zone apex
 * @param text zone-file lines, one RR each
 */
void fake_zone(struct fake_net *n, const char *ip, const char *apex, const char *text);

/** fake_zone() for each {ip, apex, text} row of @p zones (@p n rows). */
void fake_zones(struct fake_net *n, const char *const zones[][3], size_t count);
/**
 * Append the records of @p text to the zone @p apex already on @p ip.
 * @param n the network
 * @param ip server address
 * @param apex zone apex
 * @param text zone-file lines, one RR each
 */
void fake_add(struct fake_net *n, const char *ip, const char *apex, const char *text);
/**
 * Parse zone-file lines (a bad one is fatal).
 * @param text one RR a line; blank lines and ';' comments are skipped
 * @return the records (owned by the caller)
 */
ldns_rr_list *fake_rrs(const char *text);

/**
 * The records of @p l in presentation format, one a line, concatenated (cut
 * at @p size - 1 characters).
 * @param l the records (NULL: none)
 * @param buf filled, NUL-terminated
 * @param size its size
 */
void fake_rrs_str(const ldns_rr_list *l, char *buf, size_t size);

/**
 * Fill a root hint: @p name at @p ip port 53 (a bad address is fatal).
 * @param h filled (zeroed first)
 * @param name name server name (borrowed)
 * @param ip its address
 */
void fake_root_hint(struct ost_root_hint *h, const char *name, const char *ip);

struct ost_cache;

/**
 * A fresh cache for a resolver test: make the temporary directory
 * /tmp/ost-@p tag-XXXXXX into @p dir and open an 8 MiB cache there with the
 * resolver's default TTL caps (86400 s, negative 3600 s) on @p clock.
 * Remove @p dir with fake_rmtree() after closing the cache.
 * @return 0, or a negative errno / OST_E* of ost_cache_open()
 */
int fake_cache_new(char *dir, size_t dirlen, const char *tag, const struct ost_clock *clock,
		   struct ost_cache **out);

/**
 * Remove a directory tree (a test's temporary directory), symbolic links
 * not followed.
 * @param dir the directory
 * @return 0, or a negative errno
 */
int fake_rmtree(const char *dir);

/**
 * The servers' responder (fake_auth.c): answer @p uq from the server at its
 * address, or drop it when there is none. fake_net's send() calls it unless
 * a responder is installed.
 * @param n the network
 * @param p the query in flight
 * @param uq the query
 */
void fake_auth_respond(struct fake_net *n, struct fake_pending *p,
		       const struct ost_upstream_query *uq);

#endif
