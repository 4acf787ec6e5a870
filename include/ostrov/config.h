/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file config.h
 * The daemon configuration as plain C data, and the address and CIDR helpers
 * it is made of.
 *
 * server/config.c reads the YAML file (the shared contract in TEAM.md) with
 * libyaml and fills a struct ost_config; nothing of libyaml leaks into it, so
 * the engine can read its settings (qname-minimisation, edns-buffer-size ...)
 * without linking libyaml. Every error names FILE:LINE and the key.
 *
 * Example: `ostrovd -c lab/ostrov.yaml` calls ost_config_load(); the file has
 * `listen: ["127.0.0.1@5300"]`, so cfg.server.listen[0] holds 127.0.0.1 port
 * 5300 and the text "127.0.0.1@5300"; the workers bind it, and each client
 * address is checked with ost_acl_match(&cfg.access.allow, ...).
 */
#ifndef OSTROV_CONFIG_H
#define OSTROV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ostrov/drill.h"
#include "ostrov/error.h"
#include "ostrov/failover.h"
#include "ostrov/log.h"

/** Default DNS port for addresses written without "@port". */
#define OST_CONFIG_DEFAULT_PORT 53
/** Size of the text form "ADDR@PORT" (a full IPv6 address and a port fit). */
#define OST_ADDR_TEXT_MAX       64

/** A socket address together with the text it was written as. */
struct ost_addr {
	struct sockaddr_storage ss;   /**< address and port */
	socklen_t len;                /**< length of @p ss */
	char text[OST_ADDR_TEXT_MAX]; /**< "127.0.0.1@5300", for logs */
};

/** One address prefix (RFC 4632 notation, IPv4 or IPv6). */
struct ost_cidr {
	int family;        /**< AF_INET or AF_INET6 */
	uint8_t prefix;    /**< prefix length in bits */
	uint8_t bytes[16]; /**< network address, host bits cleared */
};

/** A list of prefixes: an address matches when it is inside any of them. */
struct ost_acl {
	struct ost_cidr *v; /**< the prefixes, heap array owned by the list */
	size_t n;           /**< how many */
};

/** What to do with a query from a client outside access.allow. */
/** One probe target of resilience.probes (root, foreign or national). */
struct ost_probe_target {
	struct ost_addr addr;  /**< server address and port */
	enum ost_fo_class cls; /**< class the result feeds */
	char zone[256];        /**< zone asked about, presentation format with the final dot */
	uint16_t qtype;        /**< SOA (root, national) or NS (foreign) */
};

/** Most national zones resilience.national-zones may list. */
#define OST_NATIONAL_ZONES_MAX 32

enum ost_deny_action {
	OST_DENY_REFUSE = 0, /**< answer REFUSED */
	OST_DENY_DROP,       /**< send nothing */
	OST_DENY_ACTION_COUNT,
};

/** One mirrored zone of the mirror section (RFC 8806 local copies). */
struct ost_mirror_zone_cfg {
	char *name;              /**< zone name, e.g. "." or "ru." */
	char **sources;          /**< "ADDR@PORT [tsig NAME:ALG:SECRET]", in order */
	size_t n_sources;        /**< how many */
	char *bootstrap;         /**< zone file imported when nothing usable is stored */
	char *trust_anchor_file; /**< own DS/DNSKEY anchors; NULL: resolver's file or parent DS */
	bool require_zonemd;     /**< reject versions without ZONEMD (RFC 8976) */
	bool ixfr;               /**< ask IXFR first (falls back to AXFR) */
	uint64_t max_size;       /**< bytes (0 = none) */
	uint64_t max_records;    /**< records (0 = none) */
	struct ost_acl allow_transfer; /**< downstream clients allowed to AXFR it */
	struct ost_addr *notify;       /**< downstream addresses notified of new versions */
	size_t n_notify;               /**< how many */
	unsigned line;                 /**< line of the zone in the file, for messages */
};

/** The whole configuration; strings and arrays are owned by it. */
/**
 * A stub or forward zone of section resolver: names at or below @p name are
 * resolved by asking @p addrs, not the parents' servers (struct
 * ost_stub_addr in include/ostrov/resolver.h says how each kind is asked).
 */
struct ost_zone_servers_cfg {
	char name[256];         /**< zone, presentation format, lower case, final dot */
	bool forward;           /**< forward-zones (recursive servers) or stub-zones */
	struct ost_addr *addrs; /**< server addresses, heap array */
	size_t n_addrs;         /**< how many (1 .. 16) */
};

struct ost_config {
	char *path; /**< the file it was read from */
	/** Section server: */
	struct {
		struct ost_addr *listen;      /**< UDP and TCP on each */
		size_t n_listen;              /**< how many */
		unsigned workers;             /**< worker threads; 0 = number of cores */
		enum ost_log_level log_level; /**< most verbose level written */
		uint32_t tcp_idle_timeout_ms; /**< close idle client TCP connections */
		uint32_t tcp_max_connections; /**< total client TCP connections */
		uint32_t udp_coalesce_us;     /**< UDP receive coalescing window (us), 0 = off */
		bool udp_gso;                 /**< same-size replies to a client: one GSO send */
		char *control_socket;         /**< path of the control socket, or NULL */
		/** address of the Prometheus /metrics HTTP endpoint (server/metrics.c);
		 *  its len is 0 when metrics-listen is not set: no endpoint */
		struct ost_addr metrics_listen;
		struct ost_acl metrics_allow; /**< clients allowed to scrape, default loopback */
	} server;
	/** Section access: */
	struct {
		struct ost_acl allow;             /**< clients allowed to query */
		enum ost_deny_action deny_action; /**< for the others */
	} access;
	/** Section resolver: */
	struct {
		char *root_hints_file;         /**< root hints, zone-file syntax, or NULL */
		char *trust_anchor_file;       /**< DS/DNSKEY trust anchors, or NULL */
		struct ost_acl upstream_allow; /**< the only upstream addresses ever queried */
		uint16_t upstream_port;        /**< port for name-server addresses */
		uint32_t upstream_port_reuse;  /**< UDP queries per source port (1: fresh port each)
						*/
		bool qname_minimisation;       /**< RFC 9156 */
		uint16_t edns_buffer_size;     /**< our EDNS UDP payload size */
		bool validation;               /**< DNSSEC validation on */
		struct ost_zone_servers_cfg *zones; /**< forward-zones then stub-zones */
		size_t n_zones;                     /**< how many */
		/** negative trust anchors (RFC 7646) that never expire: presentation
		 *  names with the final dot, lower case; heap array of heap strings */
		char **negative_trust_anchors;
		size_t n_negative_trust_anchors; /**< how many */
		uint32_t nta_lifetime_s;         /**< `nta add` without DURATION (3600) */
		uint32_t nta_max_lifetime_s;     /**< longest `nta add` DURATION (604800) */
		/* per client request, as struct ost_resolver_config (each ends in
		 * SERVFAIL with an EDE when reached) */
		uint32_t max_depth;       /**< referrals followed per (sub-)request (16) */
		uint32_t max_subrequests; /**< sub-requests (NS addresses) per request (8) */
		uint32_t max_queries;     /**< upstream queries per client request (32) */
		uint32_t max_cname;       /**< CNAME/DNAME links followed (12) */
		uint32_t max_time_ms;     /**< total time per client request (10000) */
		uint32_t initial_rto_ms;  /**< timeout for a server without RTT data (400) */
		uint32_t max_rto_ms;      /**< cap of the backed-off timeout (3000) */
		bool serve_stale;         /**< RFC 8767 serve-stale (yes) */
		uint32_t stale_ttl;       /**< TTL of stale records (30), RFC 8767 §4 */
		/** refresh a cached answer a client hits in the last tenth of its TTL
		 *  (yes); read by the worker's hit path from its configuration */
		bool prefetch;
	} resolver;
	/** Section cache: */
	struct {
		char *path;                /**< LMDB environment directory, or NULL */
		uint64_t size;             /**< map size in bytes */
		uint32_t min_ttl;          /**< seconds */
		uint32_t max_ttl;          /**< seconds */
		uint32_t max_negative_ttl; /**< seconds */
		uint32_t commit_interval;  /**< ms between cache write commits, at least */
		uint32_t front_entries;    /**< per-worker copies of hot entries, 0: none */
	} cache;
	/**
	 * Section resilience: the failover machine, its probes and the drills
	 * (resilience/README.md). Every key of failover:, probes: and drill:
	 * that is not a list of targets goes to ost_fo_config_set(),
	 * ost_probe_config_set() or ost_drill_config_set().
	 */
	struct {
		struct ost_fo_config fo;       /**< failover thresholds and windows */
		struct ost_probe_config probe; /**< probe timing */
		struct ost_drill_config drill; /**< drill map, targets, abort guard */
		bool probe_root_hints;         /**< probe every root hint (". SOA"), default yes */
		struct ost_probe_target *targets; /**< explicit probe targets, heap array */
		size_t n_targets;                 /**< how many */
		/** national zones in wire format is the server's business; these are
		 *  presentation names with the final dot, lower case */
		char national_zones[OST_NATIONAL_ZONES_MAX][256];
		size_t n_national_zones; /**< how many (default: ru., xn--p1ai., su.) */
	} resilience;
	/** Section mirror (optional): verified local copies of zones. */
	struct {
		char *path;                        /**< LMDB directory of the mirror store */
		uint64_t size;                     /**< map size in bytes */
		struct ost_addr *listen;           /**< AXFR/SOA out, NOTIFY in; may be empty */
		size_t n_listen;                   /**< how many */
		struct ost_mirror_zone_cfg *zones; /**< mirrored zones */
		size_t n_zones;                    /**< how many */
		unsigned verify_threads;           /**< threads parsing and verifying an import
						      (verify-threads); 0 = one per core */
	} mirror;
};

/**
 * Fill @p cfg with the defaults (loopback listen on port 53, loopback-only
 * access and upstream lists ...). Allocates; release with ost_config_deinit().
 * @param cfg the configuration
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_config_init(struct ost_config *cfg) OST_WUR;

/**
 * Read a YAML configuration file over the defaults.
 * @param cfg receives the configuration; on failure its content is
 *        unspecified, but it must still be released with ost_config_deinit()
 * @param path the file
 * @param err receives "FILE:LINE: key: problem" on failure
 * @param errlen size of @p err
 * @return 0, OST_ECONFIG for a bad file, or a negative errno when the file
 *         cannot be read or memory runs out
 */
OST_EXPORT int ost_config_load(struct ost_config *cfg, const char *path, char *err,
			       size_t errlen) OST_WUR;

/** Release everything @p cfg owns (it may then be initialised again). */
OST_EXPORT void ost_config_deinit(struct ost_config *cfg);

/**
 * Parse "ADDR@PORT" or "ADDR" (IPv4 or IPv6; an IPv6 address may be in
 * brackets, "[::]@53"). 0.0.0.0 and :: are accepted (wildcard listeners).
 * @param s the text
 * @param default_port port when "@PORT" is absent
 * @param out receives the address and a normalised text
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_addr_parse(const char *s, uint16_t default_port, struct ost_addr *out) OST_WUR;

/**
 * Parse "ADDR/LEN" or a bare address (a host prefix). Host bits are cleared.
 * @param s the text
 * @param out receives the prefix
 * @return 0 or -EINVAL
 */
OST_EXPORT int ost_cidr_parse(const char *s, struct ost_cidr *out) OST_WUR;

/**
 * Is @p sa inside @p acl? IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
 * matched as the IPv4 address.
 * @param acl the list
 * @param sa an AF_INET or AF_INET6 address (other families never match)
 * @return true when some prefix contains it
 */
OST_EXPORT bool ost_acl_match(const struct ost_acl *acl, const struct sockaddr *sa);

/**
 * Append a prefix to @p acl.
 * @return 0 or -ENOMEM
 */
OST_EXPORT int ost_acl_add(struct ost_acl *acl, const struct ost_cidr *c) OST_WUR;

/** Release the prefixes of @p acl and empty it. */
OST_EXPORT void ost_acl_deinit(struct ost_acl *acl);

/**
 * Write the text form "ADDR@PORT" of @p sa.
 * @param sa an AF_INET or AF_INET6 address
 * @param buf receives the text
 * @param cap size of @p buf (OST_ADDR_TEXT_MAX is enough)
 * @return @p buf
 */
OST_EXPORT const char *ost_sockaddr_str(const struct sockaddr *sa, char *buf, size_t cap);

#endif
