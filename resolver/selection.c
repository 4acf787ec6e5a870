/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Server selection memory of one resolver (one worker): smoothed RTT and
 * timeout per server address (RFC 6298 arithmetic, the timeout doubling on
 * each timeout up to a cap), consecutive failures with the time of the last
 * one, and whether the server rejects EDNS. Plus the upstream allow-list
 * check that every outbound address passes before anything is sent.
 *
 * The table is per worker, so there are no locks; it is bounded and simply
 * cleared when full, which forgets RTTs but never correctness.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/** Servers remembered before the table is cleared. */
#define SEL_MAX_ENTRIES  8192
/** A server that failed recently is avoided for this long (scaled by fails). */
#define SEL_FAIL_HOLD_MS 1000

int ost_sel_init(struct ost_sel *s)
{
	s->n_buckets = 1024;
	s->count = 0;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	return s->buckets ? 0 : -ENOMEM;
}

static void sel_clear(struct ost_sel *s)
{
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct ost_srv *e = s->buckets[i];
		while (e) {
			struct ost_srv *n = e->next;
			free(e);
			e = n;
		}
		s->buckets[i] = NULL;
	}
	s->count = 0;
}

void ost_sel_deinit(struct ost_sel *s)
{
	if (!s->buckets)
		return;
	sel_clear(s);
	free(s->buckets);
	s->buckets = NULL;
}

/* Compare address family, address and port only (sockaddr padding varies). */
static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static uint32_t addr_hash(const struct sockaddr_storage *a)
{
	/* FNV-1a over the address bytes and port; the table is private to the
	 * worker and bounded, so collision flooding only costs a clear. */
	const uint8_t *p;
	size_t n;
	uint16_t port;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		p = (const uint8_t *)&x->sin_addr;
		n = sizeof(x->sin_addr);
		port = x->sin_port;
	} else {
		const struct sockaddr_in6 *x = (const void *)a;
		p = (const uint8_t *)&x->sin6_addr;
		n = sizeof(x->sin6_addr);
		port = x->sin6_port;
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

struct ost_srv *ost_sel_get(struct ost_sel *s, const struct sockaddr_storage *addr,
			    socklen_t addrlen, const struct ost_resolver_config *cfg)
{
	size_t b = addr_hash(addr) & (s->n_buckets - 1);
	for (struct ost_srv *e = s->buckets[b]; e; e = e->next) {
		if (addr_eq(&e->addr, addr))
			return e;
	}
	if (s->count >= SEL_MAX_ENTRIES)
		sel_clear(s);
	struct ost_srv *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(&e->addr, addr, addrlen);
	e->addrlen = addrlen;
	e->rto_ms = cfg->initial_rto_ms;
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->count++;
	return e;
}

uint32_t ost_sel_timeout(const struct ost_srv *srv, const struct ost_resolver_config *cfg)
{
	uint32_t t = srv->rto_ms ? srv->rto_ms : cfg->initial_rto_ms;
	if (t > cfg->max_rto_ms)
		t = cfg->max_rto_ms;
	return t;
}

uint32_t ost_sel_score(const struct ost_srv *srv, uint64_t now_ms)
{
	/* Known servers rank by smoothed RTT; unknown ones by their initial
	 * timeout, so a fast known server wins and a slow one loses to a
	 * fresh one (which is how new servers get measured). A server that
	 * failed recently is pushed back by its failure count for a while
	 * (failure memory), but stays usable when nothing better exists. */
	uint32_t score = srv->has_rtt ? srv->srtt_ms : srv->rto_ms / 2;
	if (srv->timeouts)
		score = srv->rto_ms;
	if (srv->fails && now_ms < srv->last_fail_ms + (uint64_t)SEL_FAIL_HOLD_MS * srv->fails)
		score += 10000u * (srv->fails > 10 ? 10 : srv->fails);
	return score;
}

void ost_sel_on_reply(struct ost_srv *srv, uint32_t rtt_ms, const struct ost_resolver_config *cfg)
{
	/* RFC 6298 §2: SRTT = 7/8 SRTT + 1/8 R, RTTVAR = 3/4 RTTVAR + 1/4
	 * |SRTT - R|, RTO = SRTT + 4 RTTVAR, bounded. */
	if (!srv->has_rtt) {
		srv->srtt_ms = rtt_ms;
		srv->rttvar_ms = rtt_ms / 2;
		srv->has_rtt = true;
	} else {
		uint32_t diff =
			srv->srtt_ms > rtt_ms ? srv->srtt_ms - rtt_ms : rtt_ms - srv->srtt_ms;
		srv->rttvar_ms = (3 * srv->rttvar_ms + diff) / 4;
		srv->srtt_ms = (7 * srv->srtt_ms + rtt_ms) / 8;
	}
	uint32_t rto = srv->srtt_ms + 4 * srv->rttvar_ms;
	if (rto < 50)
		rto = 50;
	if (rto > cfg->max_rto_ms)
		rto = cfg->max_rto_ms;
	srv->rto_ms = rto;
	srv->timeouts = 0;
	srv->fails = 0;
}

void ost_sel_on_timeout(struct ost_srv *srv, uint64_t now_ms, const struct ost_resolver_config *cfg)
{
	/* RFC 6298 §5.5: back off the timer, capped. */
	uint64_t rto = (uint64_t)(srv->rto_ms ? srv->rto_ms : cfg->initial_rto_ms) * 2;
	srv->rto_ms = rto > cfg->max_rto_ms ? cfg->max_rto_ms : (uint32_t)rto;
	srv->timeouts++;
	ost_sel_on_fail(srv, now_ms);
}

void ost_sel_on_fail(struct ost_srv *srv, uint64_t now_ms)
{
	srv->fails++;
	srv->last_fail_ms = now_ms;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool ost_sel_allowed(const struct ost_resolver_cidr *allow, size_t n_allow,
		     const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;
		const uint8_t *a = (const uint8_t *)&in->sin_addr;
		if (!allow)
			return a[0] == 127;
		for (size_t i = 0; i < n_allow; i++) {
			if (allow[i].addr.ss_family != AF_INET || allow[i].prefix > 32)
				continue;
			const struct sockaddr_in *n = (const void *)&allow[i].addr;
			if (prefix_match(a, (const uint8_t *)&n->sin_addr, allow[i].prefix))
				return true;
		}
		return false;
	}
	if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)addr;
		const uint8_t *a = (const uint8_t *)&in6->sin6_addr;
		if (!allow)
			return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		for (size_t i = 0; i < n_allow; i++) {
			if (allow[i].addr.ss_family != AF_INET6 || allow[i].prefix > 128)
				continue;
			const struct sockaddr_in6 *n = (const void *)&allow[i].addr;
			if (prefix_match(a, (const uint8_t *)&n->sin6_addr, allow[i].prefix))
				return true;
		}
		return false;
	}
	return false;
}
