/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ENTRY half of the .rpl parser: MATCH / ADJUST / REPLY lines, SECTIONs
 * whose resource records are parsed by ldns (ldns_rr_new_frm_str, with
 * $ORIGIN, $TTL, omitted owners and multi-line ( ) records handled here),
 * EXTRA_PACKET, HEX_ANSWER, HEX_EDNSDATA and RAW. See rpl_parse.c for the
 * rest of the file format.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpl.h"
#include "rpl_parser.h"
/* ------------------------------------------------------------------------ */
/* Resource records                                                          */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool is_class_word(const char *s)
{
	return strcasecmp(s, "IN") == 0 || strcasecmp(s, "CH") == 0 || strcasecmp(s, "HS") == 0 ||
	       strcasecmp(s, "CS") == 0 || strcasecmp(s, "ANY") == 0 ||
	       (strncasecmp(s, "CLASS", 5) == 0 && all_digits(s + 5));
}

static bool is_type_word(const char *s)
{
	return ldns_get_rr_type_by_name(s) != 0 || strcasecmp(s, "A") == 0 ||
	       (strncasecmp(s, "TYPE", 4) == 0 && all_digits(s + 4));
}

/*
 * Unbound's files may leave the owner out ("continues the previous owner"),
 * but they also indent every record, so leading blanks cannot tell. The
 * owner is missing when the first word is a class or a TTL, or a type
 * followed by something that is neither a class, a type nor a TTL (so that
 * an owner spelled like a type, "ns IN A ...", still works).
 */
static bool owner_omitted(const char *line)
{
	char copy[256];
	char *w[2];
	size_t n;

	snprintf(copy, sizeof(copy), "%s", line);
	n = rpl_p_split_words(copy, w, 2);
	if (n == 0)
		return false;
	if (is_class_word(w[0]) || all_digits(w[0]))
		return true;
	if (is_type_word(w[0]))
		return n < 2 || !(is_class_word(w[1]) || is_type_word(w[1]) || all_digits(w[1]));
	return false;
}

/** Remove '(' and ')' outside quotes; @return depth change. */
static int strip_parens(char *s)
{
	bool in_quote = false;
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '"')
			in_quote = !in_quote;
		else if (!in_quote && (*s == '(' || *s == ')')) {
			depth += *s == '(' ? 1 : -1;
			*s = ' ';
		}
	}
	return depth;
}

/**
 * Parse one record starting with line @p first (comments already removed),
 * reading continuation lines while parentheses are open.
 */
static int parse_rr(struct parser *p, char *first, bool question, ldns_rr **out)
{
	size_t cap = strlen(first) + 1024;
	char *text = malloc(cap);
	int depth;
	ldns_status st;
	int ret = 0;

	if (!text)
		return -ENOMEM;
	snprintf(text, cap, "%s", first);
	depth = strip_parens(text);
	while (depth > 0) {
		char *l = rpl_p_next_raw(p);
		if (!l) {
			free(text);
			return rpl_p_fail(p, "unbalanced '(' in record");
		}
		rpl_p_strip_comment(l, ';');
		depth += strip_parens(l);
		size_t need = strlen(text) + strlen(l) + 2;
		if (need > cap) {
			char *nt = realloc(text, need * 2);
			if (!nt) {
				free(text);
				return -ENOMEM;
			}
			text = nt;
			cap = need * 2;
		}
		strcat(text, " ");
		strcat(text, l);
	}
	if (depth < 0) {
		free(text);
		return rpl_p_fail(p, "unbalanced ')' in record");
	}
	char *rec = rpl_p_trim(text);
	char *full = NULL;
	if (owner_omitted(rec)) {
		if (!p->prev_owner) {
			free(text);
			return rpl_p_fail(p, "record without owner and no previous owner");
		}
		char *o = ldns_rdf2str(p->prev_owner);
		if (!o || asprintf(&full, "%s %s", o, rec) < 0) {
			free(o);
			free(text);
			return -ENOMEM;
		}
		free(o);
		rec = full;
	}
	if (question)
		st = ldns_rr_new_question_frm_str(out, rec, p->origin, NULL);
	else
		st = ldns_rr_new_frm_str(out, rec, p->default_ttl, p->origin, NULL);
	if (st != LDNS_STATUS_OK) {
		ret = rpl_p_fail(p, "bad record '%.80s': %s", rec, ldns_get_errorstr_by_id(st));
	} else {
		ldns_rdf_deep_free(p->prev_owner);
		p->prev_owner = ldns_rdf_clone(ldns_rr_owner(*out));
		if (!p->prev_owner) {
			ldns_rr_free(*out);
			*out = NULL;
			ret = -ENOMEM;
		}
	}
	free(full);
	free(text);
	return ret;
}

/** Handle $ORIGIN / $TTL. @return 1 if @p l was a directive, 0 if not, <0 on error */
int rpl_p_directive(struct parser *p, char *l)
{
	char *w[3];
	size_t n;

	if (l[0] != '$')
		return 0;
	n = rpl_p_split_words(l, w, 3);
	if (n == 2 && strcasecmp(w[0], "$ORIGIN") == 0) {
		ldns_rdf *o = ldns_dname_new_frm_str(w[1]);
		if (!o || (w[1][strlen(w[1]) - 1] != '.' && strcmp(w[1], ".") != 0)) {
			ldns_rdf_deep_free(o);
			return rpl_p_fail(p, "$ORIGIN needs an absolute name");
		}
		ldns_rdf_deep_free(p->origin);
		p->origin = o;
		return 1;
	}
	if (n == 2 && strcasecmp(w[0], "$TTL") == 0) {
		long v;
		if (rpl_p_parse_long(w[1], &v) || v < 0 || v > INT32_MAX)
			return rpl_p_fail(p, "bad $TTL");
		p->default_ttl = (uint32_t)v;
		return 1;
	}
	return rpl_p_fail(p, "unknown directive '%s'", w[0]);
}

/* ------------------------------------------------------------------------ */
/* ENTRY                                                                     */

static const struct {
	const char *word;
	uint32_t bit;
} match_words[] = {
	{"opcode", RPL_M_OPCODE},
	{"qtype", RPL_M_QTYPE},
	{"qname", RPL_M_QNAME},
	{"qcase", RPL_M_QCASE},
	{"subdomain", RPL_M_SUBDOMAIN},
	{"question", RPL_M_QUESTION},
	{"flags", RPL_M_FLAGS},
	{"rcode", RPL_M_RCODE},
	{"answer", RPL_M_ANSWER},
	{"authority", RPL_M_AUTHORITY},
	{"additional", RPL_M_ADDITIONAL},
	{"all", RPL_M_ALL},
	{"all_noedns", RPL_M_ALL_NOEDNS},
	{"ttl", RPL_M_TTL},
	{"DO", RPL_M_DO},
	{"noedns", RPL_M_NOEDNS},
	{"UDP", RPL_M_UDP},
	{"TCP", RPL_M_TCP},
	{"ednsdata", RPL_M_EDNSDATA},
	{"answertypes", RPL_M_ANSWERTYPES},
	{"answerrrsigs", RPL_M_ANSWERRRSIGS},
	{"edns", RPL_M_EDNS},
	{"nsid", RPL_M_NSID},
	{"client_cookie", RPL_M_CLIENT_COOKIE},
	{"server_cookie", RPL_M_SERVER_COOKIE},
};

static int parse_match(struct parser *p, struct rpl_entry *e, char *rest)
{
	char *w[32];
	size_t n = rpl_p_split_words(rest, w, 32);

	for (size_t i = 0; i < n; i++) {
		bool found = false;
		long v;

		for (size_t j = 0; j < sizeof(match_words) / sizeof(match_words[0]); j++) {
			if (strcasecmp(w[i], match_words[j].word) == 0) {
				e->match |= match_words[j].bit;
				found = true;
			}
		}
		if (found)
			continue;
		if (strncasecmp(w[i], "ede=", 4) == 0) {
			e->match |= RPL_M_EDE;
			if (strcasecmp(w[i] + 4, "any") == 0)
				e->ede_code = RPL_EDE_ANY;
			else if (rpl_p_parse_long(w[i] + 4, &v) == 0 && v >= 0 && v <= 65535)
				e->ede_code = (int)v;
			else
				return rpl_p_fail(p, "bad MATCH %s", w[i]);
		} else if (strncasecmp(w[i], "serial=", 7) == 0) {
			e->match |= RPL_M_SERIAL;
			if (rpl_p_parse_long(w[i] + 7, &v) || v < 0 || v > (long)UINT32_MAX)
				return rpl_p_fail(p, "bad MATCH %s", w[i]);
			e->serial = (uint32_t)v;
		} else {
			return rpl_p_fail(p, "unknown MATCH element '%s'", w[i]);
		}
	}
	return 0;
}

static int parse_adjust(struct parser *p, struct rpl_entry *e, char *rest)
{
	char *w[16];
	size_t n = rpl_p_split_words(rest, w, 16);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(w[i], "copy_id") == 0)
			e->adjust |= RPL_A_COPY_ID;
		else if (strcmp(w[i], "copy_query") == 0)
			e->adjust |= RPL_A_COPY_QUERY;
		else if (strcmp(w[i], "raw_id") == 0)
			e->adjust |= RPL_A_RAW_ID;
		else if (strcmp(w[i], "do_not_answer") == 0)
			e->adjust |= RPL_A_DO_NOT_ANSWER;
		else if (strcmp(w[i], "copy_ednsdata_assume_clientsubnet") == 0)
			e->adjust |= RPL_A_COPY_ECS;
		else if (strcmp(w[i], "increment_ecs_scope") == 0)
			e->adjust |= RPL_A_INCREMENT_ECS;
		else if (strncmp(w[i], "sleep=", 6) == 0 ||
			 strncmp(w[i], "packet_sleep=", 13) == 0) {
			bool is_packet = w[i][0] == 'p';
			char *end;
			double s = strtod(strchr(w[i], '=') + 1, &end);
			if (*end || s < 0 || s > 3600)
				return rpl_p_fail(p, "bad ADJUST %s", w[i]);
			e->adjust |= is_packet ? RPL_A_PACKET_SLEEP : RPL_A_SLEEP;
			e->sleep_ms = (unsigned)(s * 1000);
		} else {
			return rpl_p_fail(p, "unknown ADJUST element '%s'", w[i]);
		}
	}
	return 0;
}

static int parse_reply(struct parser *p, struct rpl_entry *e, ldns_pkt *pkt, char *rest)
{
	char *w[32];
	size_t n = rpl_p_split_words(rest, w, 32);

	for (size_t i = 0; i < n; i++) {
		const char *s = w[i];
		ldns_lookup_table *lt;

		if (strcmp(s, "QR") == 0)
			ldns_pkt_set_qr(pkt, true);
		else if (strcmp(s, "AA") == 0)
			ldns_pkt_set_aa(pkt, true);
		else if (strcmp(s, "TC") == 0)
			ldns_pkt_set_tc(pkt, true);
		else if (strcmp(s, "RD") == 0)
			ldns_pkt_set_rd(pkt, true);
		else if (strcmp(s, "RA") == 0)
			ldns_pkt_set_ra(pkt, true);
		else if (strcmp(s, "AD") == 0)
			ldns_pkt_set_ad(pkt, true);
		else if (strcmp(s, "CD") == 0)
			ldns_pkt_set_cd(pkt, true);
		else if (strcmp(s, "DO") == 0) {
			ldns_pkt_set_edns_do(pkt, true);
			ldns_pkt_set_edns_udp_size(pkt, 4096);
			e->has_do = true;
		} else if ((lt = ldns_lookup_by_name(ldns_opcodes, s)) != NULL)
			ldns_pkt_set_opcode(pkt, (ldns_pkt_opcode)lt->id);
		else if (strcmp(s, "NOTIMP") == 0)
			ldns_pkt_set_rcode(pkt, LDNS_RCODE_NOTIMPL);
		else if (strcmp(s, "BADVERS") == 0) {
			/* Extended rcode 16 = upper bits 1, lower bits 0 (RFC 6891 §6.1.3). */
			ldns_pkt_set_rcode(pkt, 0);
			ldns_pkt_set_edns_extended_rcode(pkt, 1);
			ldns_pkt_set_edns_udp_size(pkt, 4096);
		} else if ((lt = ldns_lookup_by_name(ldns_rcodes, s)) != NULL)
			ldns_pkt_set_rcode(pkt, (uint8_t)lt->id);
		else
			return rpl_p_fail(p, "unknown REPLY word '%s'", s);
	}
	return 0;
}

static struct rpl_entry *entry_new(int line)
{
	struct rpl_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->line = line;
	e->pkt = ldns_pkt_new();
	if (!e->pkt) {
		free(e);
		return NULL;
	}
	return e;
}

void rpl_p_entry_free(struct rpl_entry *e)
{
	while (e) {
		struct rpl_entry *next = e->next;
		rpl_p_entry_free(e->extra);
		ldns_pkt_free(e->pkt);
		free(e->raw);
		free(e->ednsdata);
		free(e);
		e = next;
	}
}

/** Parse an entry; the ENTRY_BEGIN line has just been read. */
int rpl_p_parse_entry(struct parser *p, struct rpl_entry **out)
{
	struct rpl_entry *e = entry_new(p->lineno);
	struct rpl_entry *cur = e;
	int section = -1; /* ldns_pkt_section, -1 = none yet */
	int ret = -EINVAL;
	char *l;

	if (!e)
		return -ENOMEM;
	while ((l = rpl_p_next_line(p)) != NULL) {
		char *w[2];

		if ((ret = rpl_p_directive(p, l)) < 0)
			goto fail;
		if (ret == 1)
			continue;
		if (rpl_p_is_kw(l, "ENTRY_END")) {
			*out = e;
			return 0;
		} else if (rpl_p_is_kw(l, "MATCH")) {
			ret = parse_match(p, e, l + 5);
		} else if (rpl_p_is_kw(l, "ADJUST")) {
			ret = parse_adjust(p, e, l + 6);
		} else if (rpl_p_is_kw(l, "REPLY") || rpl_p_is_kw(l, "FLAGS")) {
			/* Deckard's grammar accepts FLAGS as a synonym of REPLY */
			ret = parse_reply(p, cur, cur->pkt, l + 5);
		} else if (rpl_p_is_kw(l, "MANDATORY")) {
			e->is_mandatory = true;
		} else if (rpl_p_is_kw(l, "SECTION")) {
			if (rpl_p_split_words(l, w, 2) != 2)
				ret = rpl_p_fail(p, "SECTION needs a name");
			else if (strcmp(w[1], "QUESTION") == 0)
				section = LDNS_SECTION_QUESTION;
			else if (strcmp(w[1], "ANSWER") == 0)
				section = LDNS_SECTION_ANSWER;
			else if (strcmp(w[1], "AUTHORITY") == 0)
				section = LDNS_SECTION_AUTHORITY;
			else if (strcmp(w[1], "ADDITIONAL") == 0)
				section = LDNS_SECTION_ADDITIONAL;
			else
				ret = rpl_p_fail(p, "unknown SECTION '%s'", w[1]);
		} else if (rpl_p_is_kw(l, "EXTRA_PACKET")) {
			cur->extra = entry_new(p->lineno);
			if (!cur->extra) {
				ret = -ENOMEM;
				goto fail;
			}
			cur = cur->extra;
			section = -1;
		} else if (rpl_p_is_kw(l, "HEX_ANSWER_BEGIN") ||
			   rpl_p_is_kw(l, "HEX_EDNSDATA_BEGIN")) {
			bool is_answer = rpl_p_is_kw(l, "HEX_ANSWER_BEGIN");
			const char *end = is_answer ? "HEX_ANSWER_END" : "HEX_EDNSDATA_END";
			uint8_t **buf = is_answer ? &cur->raw : &e->ednsdata;
			size_t *len = is_answer ? &cur->raw_len : &e->ednsdata_len;
			for (;;) {
				l = rpl_p_next_line(p);
				if (!l) {
					ret = rpl_p_fail(p, "missing %s", end);
					goto fail;
				}
				if (rpl_p_is_kw(l, end))
					break;
				if ((ret = rpl_p_hex_append(p, l, buf, len)) != 0)
					goto fail;
			}
		} else if (rpl_p_is_kw(l, "RAW")) {
			l = rpl_p_next_line(p);
			if (!l) {
				ret = rpl_p_fail(p, "RAW without data");
				goto fail;
			}
			ret = rpl_p_hex_append(p, l, &cur->raw, &cur->raw_len);
		} else if (rpl_p_is_kw(l, "TSIG")) {
			ret = rpl_p_fail(p, "TSIG entries are not supported");
		} else if (section < 0) {
			ret = rpl_p_fail(p, "'%.40s' outside a SECTION", l);
		} else {
			ldns_rr *rr = NULL;
			ret = parse_rr(p, l, section == LDNS_SECTION_QUESTION, &rr);
			if (ret == 0 &&
			    !ldns_pkt_push_rr(cur->pkt, (ldns_pkt_section)section, rr)) {
				ldns_rr_free(rr);
				ret = -ENOMEM;
			}
		}
		if (ret < 0)
			goto fail;
	}
	ret = rpl_p_fail(p, "missing ENTRY_END");
fail:
	rpl_p_entry_free(e);
	return ret;
}
