/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the replay runner's engine-independent core: the parser on
 * every scenario of shared/testdata/rpl (counts checked against an
 * independent line count) and on malformed input, the MATCH rules on
 * hand-made packets, ADJUST, the fake clock and the fake network.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rpl.h"

/* ------------------------------------------------------------------------ */
/* Parser on the real scenarios                                              */

struct counts {
	size_t entries, steps, ranges;
};

/** Count keywords line by line, outside the CONFIG block: an independent oracle. */
static void count_lines(const char *path, struct counts *c)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	bool in_body = false;

	assert_non_null(f);
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!in_body) {
			in_body = strncmp(s, "CONFIG_END", 10) == 0;
			continue;
		}
		if (strncmp(s, "ENTRY_BEGIN", 11) == 0)
			c->entries++;
		else if (strncmp(s, "STEP ", 5) == 0 || strncmp(s, "STEP\t", 5) == 0)
			c->steps++;
		else if (strncmp(s, "RANGE_BEGIN", 11) == 0)
			c->ranges++;
	}
	fclose(f);
}

static size_t parse_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char path[4096], err[1024];
		struct rpl_scenario *sc = NULL;
		struct rpl_settings set;
		struct counts c;

		if (l < 5 || strcmp(de->d_name + l - 4, ".rpl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int ret = rpl_parse_file(path, &sc, err, sizeof(err));
		if (ret != 0)
			fail_msg("%s", err);
		count_lines(path, &c);
		if (rpl_scenario_count_entries(sc) != c.entries || sc->nsteps != c.steps ||
		    sc->nranges != c.ranges)
			fail_msg(
				"%s: parsed %zu entries %zu steps %zu ranges, file has %zu %zu %zu",
				path, rpl_scenario_count_entries(sc), sc->nsteps, sc->nranges,
				c.entries, c.steps, c.ranges);
		assert_true(sc->nsteps > 0);
		assert_non_null(sc->title);
		for (size_t i = 0; i < sc->nsteps; i++) {
			const struct rpl_step *s = &sc->steps[i];
			if (s->type == RPL_STEP_QUERY)
				assert_int_equal(ldns_pkt_qdcount(s->entry->pkt), 1);
			if (i)
				assert_true(s->num > sc->steps[i - 1].num);
		}
		if (rpl_settings_init(&set, sc, err, sizeof(err)) != 0)
			fail_msg("%s: settings: %s", path, err);
		if (!set.root.naddrs && !set.nstubs && !set.nforwards)
			fail_msg("%s: no server to start from", path);
		rpl_settings_deinit(&set);
		/* temp files are written and removed again */
		assert_int_equal(rpl_tempfiles_write(sc), 0);
		for (size_t i = 0; i < sc->ntempfiles; i++)
			assert_int_equal(access(sc->tempfiles[i].path, R_OK), 0);
		rpl_scenario_free(sc);
		n++;
	}
	closedir(d);
	return n;
}

static void test_parse_all_scenarios(void **state)
{
	char dir[4096];
	size_t n;

	(void)state;
	assert_true(parse_dir(OST_RPL_SELFTEST_DIR) >= 2);
	if (!OST_RPL_DIR[0])
		skip();
	snprintf(dir, sizeof(dir), "%s/unbound", OST_RPL_DIR);
	n = parse_dir(dir);
	assert_true(n >= 50);
	snprintf(dir, sizeof(dir), "%s/deckard", OST_RPL_DIR);
	assert_true(parse_dir(dir) >= 10);
}

/* ------------------------------------------------------------------------ */
/* Parser details and malformed input                                        */

static const char *const head =
	"server:\n"
	"\tval-override-date: \"20201020135527\"\n"
	"\ttrust-anchor: \"example.com. DS 55566 8 2 "
	"9c148338951ce1c3b5cd3da532f3d90dfcf92595148022f2c2fd98e5deee90af\"\n"
	"stub-zone:\n\tname: \".\"\n\tstub-addr: 192.0.2.1 # k\n"
	"auth-zone:\n\tname: \"example.org.\"\n\tzonefile:\n"
	"TEMPFILE_NAME ex.zone\n"
	"TEMPFILE_CONTENTS ex.zone\nexample.org. 3600 IN SOA a. b. 1 2 3 4 5\n"
	"TEMPFILE_END\n"
	"CONFIG_END\nSCENARIO_BEGIN test\n";

static struct rpl_scenario *parse_ok(const char *body)
{
	char text[16384], err[512];
	struct rpl_scenario *sc = NULL;

	if ((size_t)snprintf(text, sizeof(text), "%s%s", head, body) >= sizeof(text))
		fail_msg("test scenario too long");
	if (rpl_parse_buf(text, "t.rpl", &sc, err, sizeof(err)) != 0)
		fail_msg("unexpected parse error: %s", err);
	return sc;
}

static void test_parse_details(void **state)
{
	(void)state;
	struct rpl_scenario *sc = parse_ok(
		"$ORIGIN example.com.\n"
		"RANGE_BEGIN 0 100 192.0.2.1\n ADDRESS 2001:db8::1\n"
		"ENTRY_BEGIN\nMATCH opcode qname ede=3 serial=7\nADJUST copy_id sleep=1.5\n"
		"REPLY QR AA NXDOMAIN DO\nSECTION QUESTION\nwww IN A\n"
		"SECTION AUTHORITY\n@ 300 IN SOA ns hostmaster ( 1 2 ; c\n 3 4 5 )\n"
		"\tIN NS ns ; owner omitted\n"
		"EXTRA_PACKET\nREPLY QR\nSECTION ANSWER\nns IN A 192.0.2.2\n"
		"ENTRY_END\nRANGE_END\n"
		"STEP 1 QUERY\nENTRY_BEGIN\nREPLY RD\nSECTION QUESTION\nwww A\nENTRY_END\n"
		"STEP 5 TIME_PASSES ELAPSE 2.5\nSTEP 7 TRAFFIC\n"
		"SCENARIO_END\n");
	assert_int_equal(sc->nranges, 1);
	const struct rpl_range *r = &sc->ranges[0];
	assert_int_equal(r->naddrs, 2);
	assert_int_equal(r->addrs[1].ss_family, AF_INET6);
	const struct rpl_entry *e = r->entries;
	assert_non_null(e);
	assert_int_equal(e->match, RPL_M_OPCODE | RPL_M_QNAME | RPL_M_EDE | RPL_M_SERIAL);
	assert_int_equal(e->ede_code, 3);
	assert_int_equal(e->serial, 7);
	assert_int_equal(e->adjust, RPL_A_COPY_ID | RPL_A_SLEEP);
	assert_int_equal(e->sleep_ms, 1500);
	assert_true(e->has_do);
	assert_int_equal(ldns_pkt_get_rcode(e->pkt), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(e->pkt) && ldns_pkt_qr(e->pkt) && !ldns_pkt_rd(e->pkt));
	assert_int_equal(ldns_pkt_nscount(e->pkt), 2);
	const ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(e->pkt), 0);
	assert_int_equal(ldns_rr_ttl(soa), 300);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 5);
	const ldns_rr *ns = ldns_rr_list_rr(ldns_pkt_authority(e->pkt), 1);
	assert_int_equal(ldns_rr_get_type(ns), LDNS_RR_TYPE_NS);
	assert_int_equal(ldns_rr_ttl(ns), 3600);
	char *owner = ldns_rdf2str(ldns_rr_owner(ns));
	assert_string_equal(owner, "example.com.");
	free(owner);
	assert_non_null(e->extra);
	assert_int_equal(ldns_pkt_ancount(e->extra->pkt), 1);
	assert_int_equal(sc->nsteps, 3);
	assert_int_equal(sc->steps[1].type, RPL_STEP_TIME_PASSES);
	assert_int_equal(sc->steps[1].elapse_ms, 2500);
	assert_int_equal(sc->steps[2].type, RPL_STEP_TRAFFIC);
	assert_int_equal(rpl_scenario_count_entries(sc), 2);

	struct rpl_settings set;
	char err[256];
	assert_int_equal(rpl_settings_init(&set, sc, err, sizeof(err)), 0);
	assert_true(set.has_override_time);
	assert_int_equal(set.override_time, 1603202127); /* 2020-10-20 13:55:27 UTC */
	assert_int_equal(ldns_rr_list_rr_count(set.trust_anchors), 1);
	assert_int_equal(set.root.naddrs, 1);
	assert_true(set.qname_minimisation); /* Unbound's default */
	assert_int_equal(set.nauth_zones, 1);
	assert_null(set.auth_zones[0].zonefile); /* not written yet */
	rpl_settings_deinit(&set);
	assert_int_equal(rpl_tempfiles_write(sc), 0);
	const char *zf = rpl_config_get(sc, "auth-zone", "zonefile");
	assert_non_null(zf);
	FILE *f = fopen(zf, "r");
	assert_non_null(f);
	char line[200];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "SOA"));
	fclose(f);
	rpl_scenario_free(sc);
	assert_int_not_equal(access(zf, F_OK), 0);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{"CONFIG_END\n", "missing SCENARIO_BEGIN"},
		{"server:\nstub-addr 1.2.3.4\nCONFIG_END\n", ":2: config line"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nMATCH bogus\n",
		 ":5: "
		 "unknown "
		 "MATCH"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nREPLY QR\n"
		 "SECTION ANSWER\nwww.example. IN A 1.2.3\nENTRY_END\n",
		 ":7: bad record"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nREPLY QR\n"
		 "SECTION ANSWER\nwww.example. IN SOA ( a. b. 1 2 3 4 5\n",
		 "unbalanced"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nSTEP 5 NOTHING\nSTEP 5 NOTHING\nSCENARIO_END\n",
		 ":4: step 5 does not follow"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 QUERY\nSTEP 2 NOTHING\n", "needs an ENTRY"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 FROBNICATE\n", "unknown STEP type"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nADDRESS 1.2.3.400\n", "bad "
											"address"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nwww. IN A\n",
		 "outside a SECTION"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nREPLY QR BLAH\n",
		 "unknown REPLY"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\n", "missing RANGE_END"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nRANGE_BEGIN 0 10\nENTRY_BEGIN\nHEX_ANSWER_BEGIN\n"
		 "00 0z\nHEX_ANSWER_END\nENTRY_END\n",
		 "bad hex"},
		{"TEMPFILE_NAME x\nCONFIG_END\n", "must follow a key"},
		{"CONFIG_END\nSCENARIO_BEGIN x\nSTEP 1 TIME_PASSES ELAPSE soon\n", "TIME_PASSES"},
		{"", "missing CONFIG_END"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rpl_scenario *sc = (void *)1;
		char err[512];
		int ret = rpl_parse_buf(bad[i].text, "bad.rpl", &sc, err, sizeof(err));
		if (ret != -EINVAL || sc != NULL || !strstr(err, bad[i].msg))
			fail_msg("case %zu: ret %d err '%s', want '%s'", i, ret, err, bad[i].msg);
	}
}

/* ------------------------------------------------------------------------ */
/* MATCH and ADJUST on hand-made packets                                     */

/** The entry of the scenario's only step. */
static struct rpl_entry *step_entry(struct rpl_scenario *sc)
{
	assert_int_equal(sc->nsteps, 1);
	return sc->steps[0].entry;
}

/** Round-trip an entry's packet through wire format, as a real message would arrive. */
static ldns_pkt *as_received(const struct rpl_entry *e)
{
	uint8_t *wire;
	size_t len;
	ldns_pkt *p = NULL;

	assert_int_equal(rpl_entry_query(e, 0x1234, &wire, &len), 0);
	assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	free(wire);
	return p;
}

static struct rpl_scenario *one_entry(const char *entry)
{
	char body[8192];

	if ((size_t)snprintf(body, sizeof(body),
			     "STEP 1 CHECK_ANSWER\nENTRY_BEGIN\n%sENTRY_END\nSCENARIO_END\n",
			     entry) >= sizeof(body))
		fail_msg("test entry too long");
	return parse_ok(body);
}

static const char *const answer_text =
	"REPLY QR RD RA NOERROR\nSECTION QUESTION\nwww.example.com. IN A\n"
	"SECTION ANSWER\nwww.example.com. 300 IN A 10.0.0.1\nwww.example.com. 300 IN A 10.0.0.2\n"
	"SECTION AUTHORITY\nexample.com. 300 IN NS ns.example.com.\n"
	"SECTION ADDITIONAL\nns.example.com. 300 IN A 10.0.0.53\n";

static bool matches(const char *match_line, const char *got_entry)
{
	char want[4096], why[512];

	snprintf(want, sizeof(want), "%s\n%s", match_line, answer_text);
	struct rpl_scenario *w = one_entry(want), *g = one_entry(got_entry);
	ldns_pkt *p = as_received(step_entry(g));
	bool ok = rpl_match(step_entry(w), p, OST_PROTO_UDP, why, sizeof(why));
	if (!ok)
		assert_true(why[0] != '\0'); /* a mismatch always says why */
	ldns_pkt_free(p);
	rpl_scenario_free(w);
	rpl_scenario_free(g);
	return ok;
}

/** Copy @p src into @p dst replacing the first @p from by @p to. */
static void subst(char *dst, size_t len, const char *src, const char *from, const char *to)
{
	const char *at = strstr(src, from);

	assert_non_null(at);
	snprintf(dst, len, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
}

static void test_match(void **state)
{
	char got[4096];
	(void)state;

	/* identical */
	assert_true(matches("MATCH all", answer_text));
	/* reordered records, other name case: still the same answer */
	assert_true(matches("MATCH all",
			    "REPLY QR RD RA NOERROR\nSECTION QUESTION\nWWW.Example.COM. IN A\n"
			    "SECTION ANSWER\nwww.example.com. 300 IN A 10.0.0.2\n"
			    "WWW.example.com. 300 IN A 10.0.0.1\n"
			    "SECTION AUTHORITY\nexample.com. 300 IN NS NS.example.com.\n"
			    "SECTION ADDITIONAL\nns.example.com. 300 IN A 10.0.0.53\n"));
	/* a different address */
	snprintf(got, sizeof(got), "%s", answer_text);
	*strstr(got, "10.0.0.2") = '\0';
	strcat(got, "10.0.0.3\nSECTION AUTHORITY\nexample.com. 300 IN NS ns.example.com.\n"
		    "SECTION ADDITIONAL\nns.example.com. 300 IN A 10.0.0.53\n");
	assert_false(matches("MATCH all", got));
	assert_true(matches("MATCH opcode qtype qname", got));
	assert_false(matches("MATCH answer", got));
	assert_true(matches("MATCH authority", got));
	/* a missing record */
	assert_false(matches("MATCH all",
			     "REPLY QR RD RA NOERROR\nSECTION QUESTION\nwww.example.com. IN A\n"
			     "SECTION ANSWER\nwww.example.com. 300 IN A 10.0.0.1\n"
			     "SECTION AUTHORITY\nexample.com. 300 IN NS ns.example.com.\n"
			     "SECTION ADDITIONAL\nns.example.com. 300 IN A 10.0.0.53\n"));
	/* flags and rcode */
	snprintf(got, sizeof(got), "%s", answer_text);
	memcpy(strstr(got, "RA"), "AA", 2);
	assert_false(matches("MATCH all", got));
	assert_false(matches("MATCH flags", got));
	assert_true(matches("MATCH question answer", got));
	snprintf(got, sizeof(got), "%s", answer_text);
	memcpy(strstr(got, "NOERROR"), "REFUSED", 7);
	assert_false(matches("MATCH rcode", got));
	assert_true(matches("MATCH answer", got));
	/* TTLs count only under ttl */
	snprintf(got, sizeof(got), "%s", answer_text);
	memcpy(strstr(got, "300 IN A 10.0.0.1"), "299", 3);
	assert_true(matches("MATCH all", got));
	assert_false(matches("MATCH all ttl", got));
	/* qtype / qname / subdomain */
	assert_false(
		matches("MATCH qtype", "REPLY QR\nSECTION QUESTION\nwww.example.com. IN AAAA\n"));
	assert_true(
		matches("MATCH qname", "REPLY QR\nSECTION QUESTION\nwww.example.com. IN AAAA\n"));
	assert_false(matches("MATCH qname", "REPLY QR\nSECTION QUESTION\nexample.com. IN A\n"));
	assert_true(matches("MATCH qcase", "REPLY QR\nSECTION QUESTION\nwww.example.com. IN A\n"));
	assert_false(matches("MATCH qcase", "REPLY QR\nSECTION QUESTION\nwWw.example.com. IN A\n"));
	/* DO bit under all, and MATCH DO */
	subst(got, sizeof(got), answer_text, "NOERROR", "NOERROR DO");
	assert_false(matches("MATCH all", got));
	assert_true(matches("MATCH all_noedns", got));
	assert_true(matches("MATCH DO", got));
	assert_false(matches("MATCH DO", answer_text));
	assert_false(matches("MATCH noedns", got));
	assert_true(matches("MATCH noedns", answer_text));
	/* the empty MATCH matches everything */
	assert_true(matches("", "REPLY QR\nSECTION QUESTION\nother. IN MX\n"));
}

static void test_match_subdomain_ede(void **state)
{
	char why[256];
	(void)state;
	struct rpl_scenario *w =
		one_entry("MATCH subdomain\nSECTION QUESTION\nexample.com. IN NS\n");
	struct rpl_scenario *g1 = one_entry("SECTION QUESTION\na.b.EXAMPLE.com. IN A\n");
	struct rpl_scenario *g2 = one_entry("SECTION QUESTION\nexample.net. IN A\n");
	struct rpl_scenario *g3 = one_entry("SECTION QUESTION\nbadexample.com. IN A\n");
	ldns_pkt *p1 = as_received(step_entry(g1)), *p2 = as_received(step_entry(g2));
	ldns_pkt *p3 = as_received(step_entry(g3));
	assert_true(rpl_match(step_entry(w), p1, OST_PROTO_UDP, why, sizeof(why)));
	assert_false(rpl_match(step_entry(w), p2, OST_PROTO_UDP, why, sizeof(why)));
	assert_false(rpl_match(step_entry(w), p3, OST_PROTO_UDP, why, sizeof(why)));

	/* EDE: option 15, INFO-CODE 3 (stale answer), RFC 8914 */
	struct rpl_scenario *e3 = one_entry("MATCH ede=3\nSECTION QUESTION\nexample.com. IN NS\n");
	struct rpl_scenario *eany =
		one_entry("MATCH ede=any\nSECTION QUESTION\nexample.com. IN NS\n");
	struct rpl_scenario *e6 = one_entry("MATCH ede=6\nSECTION QUESTION\nexample.com. IN NS\n");
	struct rpl_scenario *with =
		one_entry("REPLY QR DO\nHEX_EDNSDATA_BEGIN\n000f 0002 0003\nHEX_EDNSDATA_END\n"
			  "SECTION QUESTION\nexample.com. IN NS\n");
	ldns_pkt *pe = as_received(step_entry(with));
	assert_true(rpl_match(step_entry(e3), pe, OST_PROTO_UDP, why, sizeof(why)));
	assert_true(rpl_match(step_entry(eany), pe, OST_PROTO_UDP, why, sizeof(why)));
	assert_false(rpl_match(step_entry(e6), pe, OST_PROTO_UDP, why, sizeof(why)));
	assert_non_null(strstr(why, "EDE 6 expected, found 3"));
	assert_false(rpl_match(step_entry(eany), p1, OST_PROTO_UDP, why, sizeof(why)));
	/* transport */
	struct rpl_scenario *tcp = one_entry("MATCH TCP\n");
	assert_false(rpl_match(step_entry(tcp), p1, OST_PROTO_UDP, why, sizeof(why)));
	assert_true(rpl_match(step_entry(tcp), p1, OST_PROTO_TCP, why, sizeof(why)));
	ldns_pkt_free(p1);
	ldns_pkt_free(p2);
	ldns_pkt_free(p3);
	ldns_pkt_free(pe);
	rpl_scenario_free(w);
	rpl_scenario_free(g1);
	rpl_scenario_free(g2);
	rpl_scenario_free(g3);
	rpl_scenario_free(e3);
	rpl_scenario_free(eany);
	rpl_scenario_free(e6);
	rpl_scenario_free(with);
	rpl_scenario_free(tcp);
}

static void test_reply_adjust(void **state)
{
	(void)state;
	struct rpl_scenario *q = one_entry("REPLY RD\nSECTION QUESTION\nWww.Example.com. IN A\n");
	struct rpl_scenario *a = one_entry("ADJUST copy_id\nREPLY QR AA\nSECTION QUESTION\n"
					   "www.example.com. IN A\nSECTION ANSWER\n"
					   "www.example.com. IN A 192.0.2.7\n");
	struct rpl_scenario *cq = one_entry("ADJUST copy_query\nREPLY QR\nSECTION QUESTION\n"
					    "something.else. IN MX\n");
	struct rpl_scenario *raw = one_entry("ADJUST raw_id\nRAW\nffff8180\n");
	ldns_pkt *query = as_received(step_entry(q)), *r = NULL;
	uint8_t *wire;
	size_t len;

	assert_int_equal(rpl_entry_reply(step_entry(a), query, &wire, &len), 0);
	assert_int_equal(ldns_wire2pkt(&r, wire, len), LDNS_STATUS_OK);
	free(wire);
	assert_int_equal(ldns_pkt_id(r), 0x1234);
	assert_true(ldns_pkt_aa(r));
	/* Deckard's copy_id keeps the query's 0x20 case */
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
	assert_string_equal(qn, "Www.Example.com.");
	free(qn);
	ldns_pkt_free(r);
	/* without copy_id the ID stays 0: a resolver must reject it */
	assert_int_equal(rpl_entry_reply(step_entry(cq), query, &wire, &len), 0);
	assert_int_equal(ldns_wire2pkt(&r, wire, len), LDNS_STATUS_OK);
	free(wire);
	assert_int_equal(ldns_pkt_id(r), 0);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(r), 0)),
			 LDNS_RR_TYPE_A);
	ldns_pkt_free(r);
	assert_int_equal(rpl_entry_reply(step_entry(raw), query, &wire, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(wire[0], 0x12);
	assert_int_equal(wire[1], 0x34);
	assert_int_equal(wire[2], 0x81);
	free(wire);
	ldns_pkt_free(query);
	rpl_scenario_free(q);
	rpl_scenario_free(a);
	rpl_scenario_free(cq);
	rpl_scenario_free(raw);
}

/* ------------------------------------------------------------------------ */
/* Fake clock                                                                */

static char fired_log[64];

static void log_fire(void *arg)
{
	strncat(fired_log, arg, sizeof(fired_log) - strlen(fired_log) - 1);
}

static void test_clock(void **state)
{
	struct fake_clock c;
	(void)state;

	fired_log[0] = '\0';
	rpl_clock_init(&c, 1000);
	const struct ost_clock *oc = &c.clock;
	uint64_t m0 = ost_clock_mono_ms(oc);
	assert_int_equal(ost_clock_wall_s(oc), 1000);
	assert_non_null(ost_clock_timer_start(oc, 300, log_fire, "c"));
	assert_non_null(ost_clock_timer_start(oc, 100, log_fire, "a"));
	struct ost_timer *t = ost_clock_timer_start(oc, 200, log_fire, "X");
	assert_non_null(ost_clock_timer_start(oc, 100, log_fire, "b"));
	ost_clock_timer_stop(oc, t);
	assert_int_equal(fake_clock_armed(&c), 3);
	fake_clock_advance(&c, 150);
	assert_string_equal(fired_log, "ab");
	assert_int_equal(ost_clock_mono_ms(oc), m0 + 150);
	assert_int_equal(ost_clock_wall_s(oc), 1000); /* 0.15 s */
	/* waiting for a timeout moves mono time only */
	assert_true(fake_clock_fire_next(&c));
	assert_string_equal(fired_log, "abc");
	assert_int_equal(ost_clock_mono_ms(oc), m0 + 300);
	assert_int_equal(ost_clock_wall_s(oc), 1000);
	assert_false(fake_clock_fire_next(&c));
	fake_clock_advance(&c, 3600 * 1000);
	assert_int_equal(ost_clock_wall_s(oc), 4600);
	assert_non_null(ost_clock_timer_start(oc, 5, log_fire, "z"));
	fake_clock_deinit(&c); /* frees unfired timers (leak-checked under ASan) */
	assert_string_equal(fired_log, "abc");
}

/* ------------------------------------------------------------------------ */
/* Fake network                                                              */

struct upq {
	struct ost_upstream_query q;
	uint8_t *wire;
	int status;
	int calls;
	ldns_pkt *reply;
	bool reject_next;
};

static int upq_cb(struct ost_upstream_query *q, int status, const uint8_t *pkt, size_t len)
{
	struct upq *u = q->arg;

	u->calls++;
	if (status == 0 && u->reject_next) {
		u->reject_next = false;
		return -EAGAIN;
	}
	u->status = status;
	if (status == 0)
		assert_int_equal(ldns_wire2pkt(&u->reply, pkt, len), LDNS_STATUS_OK);
	return 0;
}

static void upq_init(struct upq *u, const char *addr, const char *qname, uint16_t id)
{
	ldns_pkt *p = NULL;
	size_t len;

	memset(u, 0, sizeof(*u));
	assert_int_equal(
		ldns_pkt_query_new_frm_str(&p, qname, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD),
		LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	assert_int_equal(ldns_pkt2wire(&u->wire, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	assert_int_equal(rpl_addr_parse(addr, &u->q.addr), 0);
	u->q.addrlen = sizeof(struct sockaddr_in);
	u->q.wire = u->wire;
	u->q.len = len;
	u->q.timeout_ms = 1000;
	u->q.cb = upq_cb;
	u->q.arg = u;
}

static void upq_deinit(struct upq *u)
{
	free(u->wire);
	ldns_pkt_free(u->reply);
}

static void test_net(void **state)
{
	(void)state;
	struct rpl_scenario *sc = parse_ok(
		"RANGE_BEGIN 0 10\nADDRESS 192.0.2.1\n"
		"ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR AA\n"
		"SECTION QUESTION\nwww.example.com. IN A\nSECTION ANSWER\n"
		"www.example.com. IN A 192.0.2.80\nENTRY_END\nRANGE_END\n"
		"RANGE_BEGIN 11 20\nENTRY_BEGIN\nMATCH subdomain\nADJUST copy_id copy_query\n"
		"REPLY QR REFUSED\nSECTION QUESTION\nexample.com. IN A\nENTRY_END\nRANGE_END\n"
		"STEP 30 REPLY\nENTRY_BEGIN\nMATCH qname\nADJUST copy_id\nREPLY QR SERVFAIL\n"
		"SECTION QUESTION\nlate.example.org. IN A\nENTRY_END\n"
		"STEP 31 CHECK_OUT_QUERY\nENTRY_BEGIN\nMATCH qname\nSECTION QUESTION\n"
		"www.example.com. IN A\nENTRY_END\n"
		"SCENARIO_END\n");
	struct fake_clock c;
	struct rpl_net n;
	struct upq a, b, other, late, again;
	char why[1024];

	rpl_clock_init(&c, 0);
	rpl_net_init(&n, sc, &c);
	n.step = 1;
	/* answered by the first range, with the query's ID */
	upq_init(&a, "192.0.2.1@53", "www.example.com.", 0xbeef);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &a.q), 0);
	assert_int_equal(a.calls, 0); /* never from inside send() */
	assert_int_equal(rpl_net_pump(&n), 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(ldns_pkt_id(a.reply), 0xbeef);
	assert_int_equal(ldns_pkt_ancount(a.reply), 1);
	/* another destination: the range does not apply, the query stays pending */
	upq_init(&b, "192.0.2.9", "www.example.com.", 1);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &b.q), 0);
	assert_int_equal(rpl_net_pump(&n), 0);
	assert_int_equal(rpl_net_pending(&n), 1);
	/* at step 11 the address-less range answers it (subdomain, copy_query) */
	n.step = 11;
	assert_int_equal(rpl_net_pump(&n), 1);
	assert_int_equal(b.status, 0);
	assert_int_equal(ldns_pkt_get_rcode(b.reply), LDNS_RCODE_REFUSED);
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(b.reply), 0)));
	assert_string_equal(qn, "www.example.com.");
	free(qn);
	/* nothing answers example.org: it times out when time runs */
	upq_init(&other, "192.0.2.1", "www.example.org.", 2);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &other.q), 0);
	assert_int_equal(rpl_net_pump(&n), 0);
	assert_int_equal(other.calls, 0);
	assert_true(fake_clock_fire_next(&c));
	assert_int_equal(other.calls, 1);
	assert_int_equal(other.status, -ETIMEDOUT);
	/* a REPLY step answers a pending query; a rejected packet keeps it waiting */
	n.step = 30;
	upq_init(&late, "198.51.100.1", "late.example.org.", 3);
	late.reject_next = true;
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &late.q), 0);
	rpl_net_pump(&n);
	assert_int_equal(rpl_net_reply(&n, sc->steps[0].entry), 0);
	assert_int_equal(late.calls, 1);
	assert_int_equal(rpl_net_pending(&n), 1);
	assert_int_equal(rpl_net_reply(&n, sc->steps[0].entry), 0);
	assert_int_equal(late.calls, 2);
	assert_int_equal(ldns_pkt_get_rcode(late.reply), LDNS_RCODE_SERVFAIL);
	assert_int_equal(rpl_net_reply(&n, sc->steps[0].entry), -ENOENT);
	/* cancel: no callback ever */
	upq_init(&again, "192.0.2.1", "nothing.example.net.", 4);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &again.q), 0);
	n.tp.ops->cancel(n.tp.ctx, &again.q);
	assert_false(fake_clock_fire_next(&c));
	assert_int_equal(again.calls, 0);
	assert_int_equal(rpl_net_timeout_oldest(&n), -ENOENT);
	/* CHECK_OUT_QUERY: two www.example.com queries were sent; each is checked once */
	assert_int_equal(rpl_net_check_out(&n, sc->steps[1].entry, why, sizeof(why)), 0);
	assert_int_equal(rpl_net_check_out(&n, sc->steps[1].entry, why, sizeof(why)), 0);
	assert_int_equal(rpl_net_check_out(&n, sc->steps[1].entry, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "www.example.org."));
	assert_int_equal(n.nlog, 5);
	rpl_net_deinit(&n);
	fake_clock_deinit(&c);
	upq_deinit(&a);
	upq_deinit(&b);
	upq_deinit(&other);
	upq_deinit(&late);
	upq_deinit(&again);
	rpl_scenario_free(sc);
}

/*
 * testbound delivers a RANGE entry's reply to the query it matched whatever
 * the entry's ID (Unbound scenarios may omit ADJUST copy_id), so the fake
 * network gives such a reply the query's ID; for Deckard (a real network)
 * the entry's ID goes out as written.
 */
static void test_net_reply_routed(void **state)
{
	(void)state;
	struct rpl_scenario *sc =
		parse_ok("RANGE_BEGIN 0 10\n"
			 "ENTRY_BEGIN\nMATCH opcode qtype qname\nREPLY QR AA\n"
			 "SECTION QUESTION\nwww.example.com. IN A\nSECTION ANSWER\n"
			 "www.example.com. IN A 192.0.2.80\nENTRY_END\nRANGE_END\n"
			 "SCENARIO_END\n");
	struct fake_clock c;
	struct rpl_net n;
	struct upq ub, dk;

	rpl_clock_init(&c, 0);
	rpl_net_init(&n, sc, &c);
	n.step = 1;
	n.is_reply_routed = true;
	upq_init(&ub, "192.0.2.1", "www.example.com.", 0x4242);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &ub.q), 0);
	assert_int_equal(rpl_net_pump(&n), 1);
	assert_int_equal(ub.calls, 1);
	assert_int_equal(ldns_pkt_id(ub.reply), 0x4242);
	n.is_reply_routed = false;
	upq_init(&dk, "192.0.2.1", "www.example.com.", 0x4343);
	assert_int_equal(n.tp.ops->send(n.tp.ctx, &dk.q), 0);
	assert_int_equal(rpl_net_pump(&n), 1);
	assert_int_equal(dk.calls, 1);
	assert_int_equal(ldns_pkt_id(dk.reply), 0);
	rpl_net_deinit(&n);
	fake_clock_deinit(&c);
	upq_deinit(&ub);
	upq_deinit(&dk);
	rpl_scenario_free(sc);
}

/* ------------------------------------------------------------------------ */
/* Bad input never wins                                                      */

/** Every prefix of a real scenario (at many cut points) is refused cleanly or parsed. */
static void test_parse_truncated(void **state)
{
	static const char *const names[] = {"unbound/auth_zonemd_anchor.rpl",
					    "unbound/iter_nxns_cached.rpl",
					    "deckard/val_minimal_noerror.rpl"};
	(void)state;
	if (!OST_RPL_DIR[0])
		skip();
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		char path[4096], err[512];
		snprintf(path, sizeof(path), "%s/%s", OST_RPL_DIR, names[n]);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		char *text = calloc(1, 1 << 20);
		assert_non_null(text);
		size_t len = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		size_t ok = 0, refused = 0;
		for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
			char saved = text[cut];
			struct rpl_scenario *sc = NULL;
			text[cut] = '\0';
			int ret = rpl_parse_buf(text, "cut.rpl", &sc, err, sizeof(err));
			text[cut] = saved;
			if (ret == 0) {
				ok++;
				rpl_scenario_free(sc);
			} else {
				assert_int_equal(ret, -EINVAL);
				assert_null(sc);
				assert_non_null(strstr(err, "cut.rpl:"));
				refused++;
			}
		}
		/* a prefix lacks SCENARIO_END, so every cut is refused */
		assert_int_equal(ok, 0);
		assert_true(refused > 20);
		free(text);
	}
}

/* ------------------------------------------------------------------------ */
/* The driver, in process, on the echo forwarder                             */

static enum rpl_verdict run_text(const char *body, char *out, size_t outlen)
{
	struct rpl_scenario *sc = parse_ok(body);
	FILE *log = fmemopen(out, outlen, "w");

	assert_non_null(log);
	enum rpl_verdict v = rpl_run(sc, &rpl_echo_resolver, log, false);
	fclose(log);
	rpl_scenario_free(sc);
	return v;
}

static void test_driver(void **state)
{
	static const char *const range =
		"RANGE_BEGIN 0 100\nADDRESS 192.0.2.1\nENTRY_BEGIN\nMATCH qname qtype\n"
		"ADJUST copy_id\nREPLY QR AA\nSECTION QUESTION\nwww.example.com. IN A\n"
		"SECTION ANSWER\nwww.example.com. IN A 192.0.2.80\nENTRY_END\nRANGE_END\n"
		"STEP 1 QUERY\nENTRY_BEGIN\nREPLY RD\nSECTION QUESTION\nwww.example.com. IN A\n"
		"ENTRY_END\n";
	char body[4096], out[8192];
	(void)state;

	snprintf(body, sizeof(body),
		 "%sSTEP 2 CHECK_ANSWER\nENTRY_BEGIN\nMATCH answer\nSECTION ANSWER\n"
		 "www.example.com. IN A 192.0.2.80\nENTRY_END\nSCENARIO_END\n",
		 range);
	memset(out, 0, sizeof(out));
	assert_int_equal(run_text(body, out, sizeof(out)), RPL_PASS);
	/* the same with a wrong address fails, at that step, saying why */
	snprintf(body, sizeof(body),
		 "%sSTEP 2 CHECK_ANSWER\nENTRY_BEGIN\nMATCH answer\nSECTION ANSWER\n"
		 "www.example.com. IN A 192.0.2.81\nENTRY_END\nSCENARIO_END\n",
		 range);
	memset(out, 0, sizeof(out));
	assert_int_equal(run_text(body, out, sizeof(out)), RPL_FAIL);
	assert_non_null(strstr(out, "step 2 CHECK_ANSWER"));
	assert_non_null(strstr(out, "192.0.2.81"));
	/* CHECK_ANSWER with no query at all: no answer */
	memset(out, 0, sizeof(out));
	assert_int_equal(run_text("STEP 2 CHECK_ANSWER\nENTRY_BEGIN\nENTRY_END\nSCENARIO_END\n",
				  out, sizeof(out)),
			 RPL_FAIL);
	assert_non_null(strstr(out, "no answer"));
	/* testbound-only steps are refused when reached */
	memset(out, 0, sizeof(out));
	assert_int_equal(run_text("STEP 2 ASSIGN x = 1\nSCENARIO_END\n", out, sizeof(out)),
			 RPL_FAIL);
	assert_non_null(strstr(out, "testbound-only"));
	/* the echo forwarder needs a root address: a config error is not a pass */
	struct rpl_scenario *sc = NULL;
	char err[256];
	assert_int_equal(rpl_parse_buf("server:\n\tverbosity: 1\nCONFIG_END\n"
				       "SCENARIO_BEGIN x\nSTEP 1 NOTHING\nSCENARIO_END\n",
				       "noroot.rpl", &sc, err, sizeof(err)),
			 0);
	FILE *log = fmemopen(out, sizeof(out), "w");
	assert_int_equal(rpl_run(sc, &rpl_echo_resolver, log, false), RPL_ERROR);
	fclose(log);
	rpl_scenario_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_all_scenarios),
		cmocka_unit_test(test_parse_details),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_subdomain_ede),
		cmocka_unit_test(test_reply_adjust),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_net_reply_routed),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_driver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
