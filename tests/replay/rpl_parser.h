/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file rpl_parser.h
 * Private to the .rpl parser (rpl_parse.c: lines, CONFIG, RANGE, STEP;
 * rpl_entry.c: ENTRY contents and resource records): the parser state and
 * the text helpers both halves use.
 */
#ifndef OSTROV_TESTS_REPLAY_RPL_PARSER_H
#define OSTROV_TESTS_REPLAY_RPL_PARSER_H

#include "rpl.h"

/** Parser state over the file's lines. */
struct parser {
	const char *name;        /**< file name for messages */
	char **lines;            /**< the lines, pointing into @p buf */
	size_t nlines;           /**< number of lines */
	size_t next;             /**< index of the next unread line */
	int lineno;              /**< number of the line read last (1-based) */
	char *buf;               /**< writable copy of the text */
	char *err;               /**< message buffer */
	size_t errlen;           /**< its size */
	struct rpl_scenario *sc; /**< what is being built */
	ldns_rdf *origin;        /**< $ORIGIN, or NULL */
	uint32_t default_ttl;    /**< $TTL */
	ldns_rdf *prev_owner;    /**< owner of the previous RR */
};

/** Set "name:line: message" in p->err. @return -EINVAL */
__attribute__((format(printf, 2, 3))) int rpl_p_fail(struct parser *p, const char *fmt, ...);
/** Cut @p s at the first @p c outside double quotes. */
void rpl_p_strip_comment(char *s, char c);
/** @return @p s without leading/trailing blanks (trailing ones are cut in place) */
char *rpl_p_trim(char *s);
/** Split @p s in place into at most @p max words. @return the number of words */
size_t rpl_p_split_words(char *s, char **w, size_t max);
/** @return whether line @p s starts with keyword @p kw followed by a blank or the end */
bool rpl_p_is_kw(const char *s, const char *kw);
/** @return the next raw (writable) line, or NULL at the end */
char *rpl_p_next_raw(struct parser *p);
/** @return the next non-empty line, comments removed and trimmed, or NULL */
char *rpl_p_next_line(struct parser *p);
/** Parse a decimal long. @return 0 or -EINVAL */
int rpl_p_parse_long(const char *s, long *out);
/** Append hex digits of @p s to *@p buf. @return 0, -EINVAL or -ENOMEM */
int rpl_p_hex_append(struct parser *p, const char *s, uint8_t **buf, size_t *len);
/** realloc @p arr to hold @p n + 1 elements of @p size. @return the array or NULL */
void *rpl_p_grow(void *arr, size_t n, size_t size);
/** Handle $ORIGIN / $TTL. @return 1 if @p l was one, 0 if not, <0 on error */
int rpl_p_directive(struct parser *p, char *l);
/** Parse an entry; ENTRY_BEGIN has just been read. @return 0 or an error */
int rpl_p_parse_entry(struct parser *p, struct rpl_entry **out);
/** Free an entry list (with EXTRA_PACKET parts). NULL is allowed. */
void rpl_p_entry_free(struct rpl_entry *e);

#endif
