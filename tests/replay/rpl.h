/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file rpl.h
 * The replay conformance runner's own interfaces (private to tests/replay/):
 * the parsed form of a .rpl scenario, the MATCH/ADJUST logic, the fake
 * clock and fake network, and the step driver.
 *
 * The runner is written from ../shared/testdata/rpl/FORMAT.md. Everything
 * here is engine-independent: the resolver under test is reached through a
 * small struct rpl_resolver_ops, implemented by run_echo.c (a forwarding
 * "echo resolver", only for the runner's self-tests) and run_engine.c (the
 * real engine, built once include/ostrov/resolver.h exists).
 *
 * Example: `STEP 1 QUERY www.example.com. A` is turned into a wire query and
 * handed to the resolver; the resolver sends "www.example.com. A" to
 * 193.0.14.129 through the fake transport; the fake network finds the RANGE
 * covering step 1 that lists 193.0.14.129, takes the first ENTRY whose MATCH
 * accepts the query, applies ADJUST copy_id and queues the reply; the driver
 * pumps it back into the resolver, which answers the client; `STEP 10
 * CHECK_ANSWER` compares that answer with its ENTRY under MATCH all. No
 * socket is ever opened: the addresses are only keys into the script.
 */
#ifndef OSTROV_TESTS_REPLAY_RPL_H
#define OSTROV_TESTS_REPLAY_RPL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ostrov/clock.h"
#include "ostrov/transport.h"

#include "ost_test.h"

/* ------------------------------------------------------------------------ */
/* Scenario model                                                            */

/** MATCH elements (FORMAT.md §4), one bit each. */
enum rpl_match_bit {
	RPL_M_OPCODE = 1u << 0,         /**< opcode */
	RPL_M_QTYPE = 1u << 1,          /**< first question's type */
	RPL_M_QNAME = 1u << 2,          /**< first question's name, any case */
	RPL_M_QCASE = 1u << 3,          /**< first question's name, exact case (DK) */
	RPL_M_SUBDOMAIN = 1u << 4,      /**< actual qname at or below the entry's */
	RPL_M_QUESTION = 1u << 5,       /**< qname + qtype + qclass */
	RPL_M_FLAGS = 1u << 6,          /**< QR AA TC RD RA AD CD exactly (DK) */
	RPL_M_RCODE = 1u << 7,          /**< rcode incl. extended rcode */
	RPL_M_ANSWER = 1u << 8,         /**< answer section as a multiset */
	RPL_M_AUTHORITY = 1u << 9,      /**< authority section */
	RPL_M_ADDITIONAL = 1u << 10,    /**< additional section (OPT excluded) */
	RPL_M_ALL = 1u << 11,           /**< all of the above plus the DO bit */
	RPL_M_ALL_NOEDNS = 1u << 12,    /**< all, ignoring EDNS (UB) */
	RPL_M_TTL = 1u << 13,           /**< also compare TTLs in sections (UB) */
	RPL_M_DO = 1u << 14,            /**< DO bit set (UB) */
	RPL_M_NOEDNS = 1u << 15,        /**< no OPT record (UB) */
	RPL_M_UDP = 1u << 16,           /**< sent over UDP (UB) */
	RPL_M_TCP = 1u << 17,           /**< sent over TCP (UB) */
	RPL_M_EDE = 1u << 18,           /**< Extended DNS Error code (UB), see ede_code */
	RPL_M_SERIAL = 1u << 19,        /**< IXFR with this SOA serial (UB) */
	RPL_M_ANSWERTYPES = 1u << 20,   /**< only the answer's RR types (DK) */
	RPL_M_ANSWERRRSIGS = 1u << 21,  /**< only the answer's RRSIGs (DK) */
	RPL_M_EDNS = 1u << 22,          /**< EDNS version and payload size (DK) */
	RPL_M_NSID = 1u << 23,          /**< NSID option as in the entry (DK) */
	RPL_M_EDNSDATA = 1u << 24,      /**< EDNS options equal HEX_EDNSDATA (UB) */
	RPL_M_CLIENT_COOKIE = 1u << 25, /**< 8-byte cookie option present (UB) */
	RPL_M_SERVER_COOKIE = 1u << 26, /**< 24-byte cookie option present (UB) */
};

/** ADJUST elements (FORMAT.md §4), one bit each. */
enum rpl_adjust_bit {
	RPL_A_COPY_ID = 1u << 0,       /**< copy the query ID (and qname case, DK) */
	RPL_A_COPY_QUERY = 1u << 1,    /**< copy the whole question section */
	RPL_A_RAW_ID = 1u << 2,        /**< copy the ID into a RAW answer (DK) */
	RPL_A_DO_NOT_ANSWER = 1u << 3, /**< never answer (DK) */
	RPL_A_SLEEP = 1u << 4,         /**< delay the answer (UB sleep=) */
	RPL_A_PACKET_SLEEP = 1u << 5,  /**< delay each packet (UB packet_sleep=) */
	RPL_A_COPY_ECS = 1u << 6,      /**< copy_ednsdata_assume_clientsubnet (UB, unsupported) */
	RPL_A_INCREMENT_ECS = 1u << 7, /**< increment_ecs_scope (UB, unsupported) */
};

/** Code of `ede=any`. */
#define RPL_EDE_ANY (-2)

/** One DNS message with its matching/adjusting rules (ENTRY_BEGIN..ENTRY_END). */
struct rpl_entry {
	int line;                /**< line of ENTRY_BEGIN */
	uint32_t match;          /**< enum rpl_match_bit set */
	uint32_t adjust;         /**< enum rpl_adjust_bit set */
	int ede_code;            /**< for RPL_M_EDE: code or RPL_EDE_ANY */
	uint32_t serial;         /**< for RPL_M_SERIAL */
	unsigned sleep_ms;       /**< for RPL_A_SLEEP / RPL_A_PACKET_SLEEP */
	bool has_do;             /**< REPLY listed DO */
	bool is_mandatory;       /**< MANDATORY (DK): must be used */
	ldns_pkt *pkt;           /**< header and sections; owned */
	uint8_t *raw;            /**< HEX_ANSWER or RAW bytes instead of @p pkt, owned */
	size_t raw_len;          /**< length of @p raw */
	uint8_t *ednsdata;       /**< HEX_EDNSDATA bytes, owned */
	size_t ednsdata_len;     /**< length of @p ednsdata */
	struct rpl_entry *extra; /**< EXTRA_PACKET: the next packet of the reply, owned */
	struct rpl_entry *next;  /**< next entry of the range */
	unsigned used;           /**< times used as an answer */
};

/** A RANGE: canned answers active for steps from..to, for some destinations. */
struct rpl_range {
	int line;                       /**< line of RANGE_BEGIN */
	long from;                      /**< first step */
	long to;                        /**< last step */
	struct sockaddr_storage *addrs; /**< ADDRESS list (port 0 = any), owned */
	size_t naddrs;                  /**< 0 = any destination */
	struct rpl_entry *entries;      /**< in file order */
};

/** STEP types (FORMAT.md §6). */
enum rpl_step_type {
	RPL_STEP_QUERY = 0,       /**< send a query to the resolver */
	RPL_STEP_CHECK_ANSWER,    /**< check one answer of the resolver */
	RPL_STEP_CHECK_OUT_QUERY, /**< check that an upstream query was sent */
	RPL_STEP_REPLY,           /**< answer a pending upstream query */
	RPL_STEP_TIME_PASSES,     /**< move the fake clock */
	RPL_STEP_TIMEOUT,         /**< time out the oldest pending upstream query */
	RPL_STEP_TRAFFIC,         /**< let pending traffic flow */
	RPL_STEP_NOTHING,         /**< no-op */
	RPL_STEP_UNSUPPORTED,     /**< parsed but not portable (ASSIGN, CHECK_AUTOTRUST ...) */
	RPL_STEP_COUNT,
};

/** One STEP. */
struct rpl_step {
	int line;                /**< line of STEP */
	long num;                /**< step number */
	enum rpl_step_type type; /**< what to do */
	char *type_word;         /**< the type as written, owned */
	struct rpl_entry *entry; /**< QUERY/CHECK_ANSWER/CHECK_OUT_QUERY/REPLY, owned */
	uint64_t elapse_ms;      /**< TIME_PASSES ELAPSE */
	char *arg;               /**< rest of the line (e.g. ADDRESS, EVAL expr), owned */
};

/** One `key: value` line of the CONFIG block. */
struct rpl_kv {
	int line;       /**< line number */
	char *key;      /**< key without the colon, owned */
	char *value;    /**< value with quotes and comments stripped, owned */
	char *tempfile; /**< TEMPFILE_NAME given as the value (path set by rpl_tempfiles_write) */
};

/** A clause (`server:`, `stub-zone:` ...); "" holds Deckard's top-level keys. */
struct rpl_clause {
	int line;          /**< line of the clause header */
	char *name;        /**< clause name without colon, owned */
	struct rpl_kv *kv; /**< keys in order, owned */
	size_t nkv;        /**< number of keys */
};

/** TEMPFILE_CONTENTS block. */
struct rpl_tempfile {
	char *name;     /**< name in the scenario, owned */
	char *contents; /**< text, $INCLUDE_TEMPFILE kept as written, owned */
	char *path;     /**< written path (rpl_tempfiles_write), owned */
};

/** A whole parsed scenario. */
struct rpl_scenario {
	char *path;                     /**< file name, owned */
	char *title;                    /**< SCENARIO_BEGIN text, owned */
	struct rpl_clause *clauses;     /**< CONFIG clauses in order, owned */
	size_t nclauses;                /**< number of clauses */
	char **commandline;             /**< COMMANDLINE options (UB), owned */
	size_t ncommandline;            /**< number of options */
	bool has_autotrust;             /**< AUTOTRUST_FILE present (UB RFC 5011 state) */
	struct rpl_tempfile *tempfiles; /**< TEMPFILE_CONTENTS blocks, owned */
	size_t ntempfiles;              /**< number of temp files */
	char *tempdir;                  /**< directory of written temp files, owned */
	struct rpl_range *ranges;       /**< RANGEs in file order, owned */
	size_t nranges;                 /**< number of ranges */
	struct rpl_step *steps;         /**< STEPs in file order, owned */
	size_t nsteps;                  /**< number of steps */
};

/**
 * Parse a scenario from memory.
 * @param text the file contents (NUL-terminated)
 * @param name file name for messages
 * @param out receives the scenario (free with rpl_scenario_free)
 * @param err receives "name:line: message" on failure
 * @return 0, -EINVAL (malformed, see @p err) or -ENOMEM
 */
int rpl_parse_buf(const char *text, const char *name, struct rpl_scenario **out, char *err,
		  size_t errlen);

/** Read and parse a scenario file; see rpl_parse_buf(). @return 0, -errno or -EINVAL */
int rpl_parse_file(const char *path, struct rpl_scenario **out, char *err, size_t errlen);

/** Free a scenario, removing its written temp files. NULL is allowed. */
void rpl_scenario_free(struct rpl_scenario *sc);

/**
 * Write every TEMPFILE_CONTENTS into a fresh directory under $TMPDIR (or
 * /tmp) and point the config keys that named them at the files.
 * @return 0 or -errno
 */
int rpl_tempfiles_write(struct rpl_scenario *sc);

/**
 * First value of @p key in the first clause named @p clause (NULL = any
 * clause; "" = Deckard's top level). @return the value or NULL
 */
const char *rpl_config_get(const struct rpl_scenario *sc, const char *clause, const char *key);

/** Total number of entries in ranges and steps (incl. EXTRA_PACKET parts). */
size_t rpl_scenario_count_entries(const struct rpl_scenario *sc);

/** @return the name of a step type */
const char *rpl_step_type_str(enum rpl_step_type t);

/**
 * Parse "1.2.3.4", "2001:db8::1", "1.2.3.4@5353" or "1.2.3.4#53" into @p ss
 * (port 0 when absent). @return 0 or -EINVAL
 */
int rpl_addr_parse(const char *s, struct sockaddr_storage *ss);

/** Write @p ss as text ("1.2.3.4" or "1.2.3.4@53" when port != 0). */
void rpl_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Settings: the CONFIG keys translated into typed values                   */

/** A zone with server addresses (stub-zone, forward-zone, root hints). */
struct rpl_zone_servers {
	ldns_rdf *name;                 /**< zone name, owned */
	struct sockaddr_storage *addrs; /**< addresses (port 0 = 53), owned */
	size_t naddrs;                  /**< number of addresses */
	char **hosts;                   /**< stub-host / forward-host names, owned */
	size_t nhosts;                  /**< number of host names */
};

/** An auth-zone clause (RFC 8806 local copy / our zone mirror). */
struct rpl_auth_zone {
	ldns_rdf *name;             /**< zone name, owned */
	const char *zonefile;       /**< zone file path (borrowed from the scenario), or NULL */
	const char *zonefile_temp;  /**< or TEMPFILE_NAME of the zone file (borrowed), or NULL */
	bool for_downstream;        /**< answer clients authoritatively (default yes) */
	bool for_upstream;          /**< use instead of querying upstream (default yes) */
	bool fallback_enabled;      /**< query upstream when the copy fails (default no) */
	bool zonemd_check;          /**< verify ZONEMD (default no) */
	bool zonemd_reject_absence; /**< no ZONEMD = failure (default no) */
	size_t nmasters;            /**< number of master/primary/url lines */
};

/** Typed view of a scenario's CONFIG, with Unbound's / Deckard's defaults. */
struct rpl_settings {
	bool is_deckard;                       /**< Deckard key set (no clauses) */
	struct rpl_zone_servers root;          /**< root hints (stub-zone "." or stub-addr) */
	struct rpl_zone_servers *stubs;        /**< non-root stub zones, owned */
	size_t nstubs;                         /**< number of stub zones */
	struct rpl_zone_servers *forwards;     /**< forward zones, owned */
	size_t nforwards;                      /**< number of forward zones */
	ldns_rr_list *trust_anchors;           /**< DS/DNSKEY trust anchors, owned */
	ldns_rdf **insecure;                   /**< domain-insecure (NTAs), owned */
	size_t ninsecure;                      /**< number of NTAs */
	bool has_override_time;                /**< val-override-date given */
	int64_t override_time;                 /**< its POSIX time */
	bool qname_minimisation;               /**< RFC 9156 (UB default yes, DK default on) */
	bool validation;                       /**< module-config has "validator" */
	const char *module_config;             /**< module-config as written, or NULL */
	bool serve_expired;                    /**< RFC 8767 on */
	uint32_t serve_expired_ttl;            /**< max staleness in s, 0 = no limit */
	uint32_t serve_expired_reply_ttl;      /**< TTL of stale answers (default 30) */
	uint32_t serve_expired_client_timeout; /**< ms before a stale answer (UB default 1800) */
	bool serve_expired_ttl_reset;          /**< reset staleness on failed refresh */
	bool serve_original_ttl;               /**< answer with the original TTL */
	bool aggressive_nsec;                  /**< RFC 8198 */
	uint32_t cache_min_ttl;                /**< default 0 */
	uint32_t cache_max_ttl;                /**< default 86400 */
	uint32_t cache_max_negative_ttl;       /**< default 3600 */
	bool do_ip4;                           /**< default yes */
	bool do_ip6;                           /**< default yes */
	bool ede;                              /**< RFC 8914 EDE in answers (UB default no) */
	bool ede_serve_expired;                /**< EDE 3 on stale answers */
	bool minimal_responses;                /**< UB default yes */
	bool target_fetch_none;                /**< target-fetch-policy all zeros */
	bool fake_sha1;                        /**< accept SHA-1 algorithms in tests */
	bool trust_anchor_signaling;           /**< RFC 8145 key-tag queries (UB default yes) */
	struct rpl_auth_zone *auth_zones;      /**< auth-zone clauses, owned */
	size_t nauth_zones;                    /**< number of auth zones */
	char *unsupported;                     /**< first config feature we cannot map, owned */
};

/**
 * Translate the scenario's CONFIG into @p s.
 * @return 0, or -EINVAL with @p err set (bad address, bad trust anchor ...)
 */
int rpl_settings_init(struct rpl_settings *s, const struct rpl_scenario *sc, char *err,
		      size_t errlen);

/** Free what rpl_settings_init() allocated. */
void rpl_settings_deinit(struct rpl_settings *s);

/* ------------------------------------------------------------------------ */
/* Matching and replies                                                      */

/**
 * Does @p actual match @p e under e's MATCH rules?
 * @param proto transport the message travelled on (for MATCH UDP/TCP)
 * @param why receives the first difference on mismatch
 * @return true when it matches
 */
bool rpl_match(const struct rpl_entry *e, const ldns_pkt *actual, enum ost_proto proto, char *why,
	       size_t whylen);

/**
 * Build the reply of @p e to @p query, applying ADJUST copy_id, copy_query,
 * raw_id (only the first packet; EXTRA_PACKET parts are not delivered).
 * @param query the query, or NULL (no copying)
 * @param query_wire its wire form (for RAW id copying), or NULL
 * @param out receives malloc'd wire bytes
 * @return 0, -ENOMEM or -EINVAL
 */
int rpl_entry_reply(const struct rpl_entry *e, const ldns_pkt *query, uint8_t **out,
		    size_t *outlen);

/**
 * Build a client query from a QUERY step's entry: question, flags of its
 * REPLY line, OPT with DO (payload 4096) when DO is listed, and @p id.
 * @return 0, -ENOMEM or -EINVAL
 */
int rpl_entry_query(const struct rpl_entry *e, uint16_t id, uint8_t **out, size_t *outlen);

/* ------------------------------------------------------------------------ */
/* Fake clock: struct fake_clock of tests/support/ (ost_test.h)              */

/**
 * Start the runner's pinned clock: mono at 1,000,000 ms, wall at @p wall_s
 * (the scenario's val-override-date, else a fixed date). Wall time moves only
 * on TIME_PASSES (fake_clock_advance()), which also moves mono time: one
 * clock for TTLs and DNSSEC windows alike, as FORMAT.md §7 recommends
 * (Deckard semantics). Waiting for an upstream timeout
 * (fake_clock_fire_next()) moves only mono time, so an unanswered query does
 * not age the cache (testbound does the same: its timeouts are
 * instantaneous). Nothing ever sleeps.
 */
void rpl_clock_init(struct fake_clock *c, int64_t wall_s);

/* ------------------------------------------------------------------------ */
/* Fake network                                                              */

/** State of one outbound query. */
enum rpl_outq_state {
	RPL_OUTQ_PENDING = 0, /**< waiting for a range answer, a REPLY step or its timeout */
	RPL_OUTQ_ANSWERED,    /**< answered */
	RPL_OUTQ_TIMEDOUT,    /**< no answer: -ETIMEDOUT delivered */
	RPL_OUTQ_CANCELLED,   /**< cancelled by the engine */
	RPL_OUTQ_COUNT,
};

/** One query the resolver sent upstream (kept for CHECK_OUT_QUERY and reports). */
struct rpl_outq {
	struct ost_upstream_query *q; /**< the engine's query while pending */
	struct sockaddr_storage addr; /**< destination */
	enum ost_proto proto;         /**< UDP or TCP */
	ldns_pkt *pkt;                /**< parsed query (NULL if unparseable), owned */
	long step;                    /**< step at which it was sent */
	enum rpl_outq_state state;    /**< where it is */
	long tried_step;              /**< last step whose ranges were searched, -1 = none */
	bool is_checked;              /**< consumed by a CHECK_OUT_QUERY */
	bool had_range_answer;        /**< answered from a RANGE */
	struct ost_timer *timer;      /**< timeout (or sleep=) timer */
	uint8_t *delayed;             /**< reply waiting for a sleep= timer, owned */
	size_t delayed_len;           /**< its length */
	struct rpl_net *net;          /**< back pointer for timers */
};

/** The fake network: scripted authoritative servers behind an ost_transport. */
struct rpl_net {
	struct ost_transport tp;  /**< handed to the engine */
	struct rpl_scenario *sc;  /**< the script (borrowed) */
	struct fake_clock *clock; /**< for timeouts (borrowed) */
	long step;                /**< current step number */
	struct rpl_outq **log;    /**< every query sent, in order, owned */
	size_t nlog;              /**< number of queries */
	size_t caplog;            /**< capacity */
	FILE *trace;              /**< verbose trace, or NULL */
	/**
	 * testbound (Unbound scenarios): a reply goes to the query it answers
	 * whatever its ID, so a reply without ADJUST copy_id gets the query's
	 * ID here. Deckard (a real network) sends the entry's ID as it is.
	 */
	bool is_reply_routed;
};

/** Prepare a network for @p sc on @p clock. */
void rpl_net_init(struct rpl_net *n, struct rpl_scenario *sc, struct fake_clock *clock);

/** Free the log (cancelling nothing: the engine must be gone). */
void rpl_net_deinit(struct rpl_net *n);

/**
 * Answer every pending query that a RANGE active at the current step can
 * answer, repeating until nothing changes (answers make the engine send
 * more). @return number of packets delivered
 */
size_t rpl_net_pump(struct rpl_net *n);

/**
 * REPLY step: answer the oldest pending query that @p e matches with @p e.
 * @return 0, or -ENOENT when no pending query matches
 */
int rpl_net_reply(struct rpl_net *n, struct rpl_entry *e);

/** TIMEOUT step: time out the oldest pending query. @return 0 or -ENOENT */
int rpl_net_timeout_oldest(struct rpl_net *n);

/**
 * CHECK_OUT_QUERY: find the oldest unchecked sent query @p e matches and
 * mark it checked. @return 0 or -ENOENT (with the candidates in @p why)
 */
int rpl_net_check_out(struct rpl_net *n, const struct rpl_entry *e, char *why, size_t whylen);

/** @return number of pending queries */
size_t rpl_net_pending(const struct rpl_net *n);

/**
 * Find the answer a RANGE gives to @p query sent to @p addr at @p step.
 * @return the entry or NULL
 */
struct rpl_entry *rpl_net_find(const struct rpl_scenario *sc, long step,
			       const struct sockaddr_storage *addr, const ldns_pkt *query,
			       enum ost_proto proto);

/* ------------------------------------------------------------------------ */
/* Resolver under test and the step driver                                  */

/** Delivers the resolver's answer to a client query (wire borrowed). */
typedef void (*rpl_answer_cb)(void *arg, const uint8_t *wire, size_t len);

/** What the driver needs from a resolver. */
struct rpl_resolver_ops {
	const char *name; /**< "echo", "engine" */
	/**
	 * Create a resolver for @p s using @p clock and @p tp.
	 * @return 0, or -ENOTSUP with @p err saying which feature is missing,
	 *         or another negative error
	 */
	int (*open)(void **st, const struct rpl_settings *s, const struct rpl_scenario *sc,
		    const struct ost_clock *clock, const struct ost_transport *tp, char *err,
		    size_t errlen);
	/** Submit a client query (wire borrowed); @p cb is called once with the answer. */
	int (*query)(void *st, const uint8_t *wire, size_t len, rpl_answer_cb cb, void *arg);
	/** Optional: called whenever the network went quiet (e.g. commit cache writes). */
	void (*tick)(void *st);
	/** Destroy the resolver, cancelling what is in flight (no callbacks). */
	void (*close)(void *st);
};

/** The forwarding resolver used only by the runner's self-tests (run_echo.c). */
extern const struct rpl_resolver_ops rpl_echo_resolver;

/** Outcome of one scenario. */
enum rpl_verdict {
	RPL_PASS = 0, /**< every step succeeded */
	RPL_FAIL,     /**< a step failed */
	RPL_ERROR,    /**< the scenario could not be run (parse, setup) */
	RPL_VERDICT_COUNT,
};

/**
 * Run @p sc against @p ops, reporting to @p log.
 * @param verbose trace upstream traffic and every step
 * @return the verdict
 */
enum rpl_verdict rpl_run(struct rpl_scenario *sc, const struct rpl_resolver_ops *ops, FILE *log,
			 bool verbose);

#endif
