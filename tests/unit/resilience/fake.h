/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Test doubles for resilience/: a pinned clock whose timers fire only when
 * the test advances it (wall time follows monotonic time), and a fake
 * network of authoritative servers that answer SOA/NS probes built with
 * ldns, with per-server behaviours (answer, drop, refuse, SERVFAIL, no AA,
 * a spoofed wrong-ID packet first). Every query sent is counted per server.
 */
#ifndef OSTROV_TEST_RESILIENCE_FAKE_H
#define OSTROV_TEST_RESILIENCE_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ostrov/clock.h"
#include "ostrov/transport.h"

struct fake_clock {
	struct ost_clock clock;   /* handed to the code under test */
	uint64_t now_ms;          /* monotonic now */
	int64_t wall0_s;          /* wall clock at now_ms == 0 */
	struct ost_timer *timers; /* armed, sorted by deadline */
	uint64_t seq;
};

void fake_clock_init(struct fake_clock *c, int64_t wall0_s);
/** Free timers still armed. @return how many there were */
size_t fake_clock_deinit(struct fake_clock *c);
/** Fire every timer due within @p ms, in order, then move now by @p ms. */
void fake_clock_advance(struct fake_clock *c, uint64_t ms);
/** @return armed timers */
size_t fake_clock_armed(const struct fake_clock *c);

enum fake_mode {
	FM_ANSWER = 0, /* SOA/NS answer, AA, NOERROR */
	FM_DROP,       /* never answers: -ETIMEDOUT at the query's timeout */
	FM_REFUSE,     /* -ECONNREFUSED after 1 ms */
	FM_SERVFAIL,   /* answers SERVFAIL */
	FM_NOAA,       /* answers without AA */
	FM_SPOOF,      /* a wrong-ID packet first, then the right answer */
};

#define FAKE_MAX_SERVERS 32

struct fake_server {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum fake_mode mode;
	unsigned n_queries; /* queries received */
	unsigned n_tcp;     /* of which over TCP */
	unsigned n_axfr;    /* of which AXFR */
};

struct fake_pending;

struct fake_net {
	struct ost_transport tp; /* handed to the code under test */
	struct fake_clock *clk;
	struct fake_server servers[FAKE_MAX_SERVERS];
	size_t n_servers;
	uint32_t latency_ms; /* answer delay (default 20) */
	struct fake_pending *pending;
	unsigned n_sent; /* all queries */
	unsigned n_cancelled;
	unsigned n_unknown; /* queries to unknown addresses (dropped) */
};

void fake_net_init(struct fake_net *n, struct fake_clock *clk);
void fake_net_deinit(struct fake_net *n);
/** Add a server at @p ip port 53. */
struct fake_server *fake_server_add(struct fake_net *n, const char *ip, enum fake_mode mode);
/** @return the server at @p ip, or NULL */
struct fake_server *fake_server_get(struct fake_net *n, const char *ip);
/** Fill @p ss with @p ip port 53. @return its length */
socklen_t fake_addr(const char *ip, struct sockaddr_storage *ss);
/** @return queries in flight */
size_t fake_inflight(const struct fake_net *n);

#endif
