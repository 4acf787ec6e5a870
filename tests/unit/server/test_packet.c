/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for server/packet.c: valid queries built with ldns (with and
 * without EDNS) and hand-crafted malformed packets (short, responses, wrong
 * QDCOUNT, other opcodes, long labels and names, compression loops and
 * forward pointers, bad OPT records), and the answers it writes, read back
 * with ldns_wire2pkt().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "packet.h"

/* A query built with ldns; @edns_size 0 means without EDNS. */
static size_t make_query(uint8_t *out, size_t cap, const char *name, ldns_rr_type type,
			 uint16_t edns_size, bool do_bit, uint16_t id)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	if (edns_size) {
		ldns_pkt_set_edns_udp_size(p, edns_size);
		ldns_pkt_set_edns_do(p, do_bit);
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

/* A 12-byte header followed by @body. */
static size_t make_raw(uint8_t *out, uint8_t flags1, uint16_t qd, uint16_t ar, const uint8_t *body,
		       size_t blen)
{
	memset(out, 0, 12);
	out[0] = 0xab;
	out[1] = 0xcd;
	out[2] = flags1;
	out[5] = (uint8_t)qd;
	out[4] = (uint8_t)(qd >> 8);
	out[11] = (uint8_t)ar;
	if (blen)
		memcpy(out + 12, body, blen);
	return 12 + blen;
}

static void test_valid_query_no_edns(void **state)
{
	(void)state;
	uint8_t buf[512], ans[512];
	size_t len =
		make_query(buf, sizeof(buf), "Example.COM.", LDNS_RR_TYPE_AAAA, 0, false, 4242);
	struct ost_question q;
	assert_int_equal(ost_pkt_classify(buf, len, &q), OST_PKT_QUERY);
	assert_int_equal(q.id, 4242);
	assert_true(q.rd);
	assert_true(q.has_question);
	assert_false(q.has_edns);
	assert_int_equal(q.edns_size, 512);
	assert_int_equal(q.qtype, LDNS_RR_TYPE_AAAA);
	assert_int_equal(q.qclass, LDNS_RR_CLASS_IN);
	assert_int_equal(q.qname_len, 13);
	assert_memory_equal(q.qname, "\7Example\3COM\0", 13); /* case kept for the echo */

	size_t n = ost_pkt_write_rcode(&q, LDNS_RCODE_REFUSED, 1232, ans, sizeof(ans));
	assert_int_equal(n, 12 + 13 + 4);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, ans, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 4242);
	assert_true(ldns_pkt_qr(r));
	assert_true(ldns_pkt_ra(r));
	assert_true(ldns_pkt_rd(r));
	assert_false(ldns_pkt_aa(r));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_get_opcode(r), LDNS_PACKET_QUERY);
	assert_int_equal(ldns_pkt_qdcount(r), 1);
	assert_int_equal(ldns_pkt_arcount(r), 0);
	assert_false(ldns_pkt_edns(r));
	ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(r), 0);
	ldns_rdf *want = ldns_dname_new_frm_str("example.com.");
	assert_int_equal(ldns_dname_compare(ldns_rr_owner(qrr), want), 0);
	assert_int_equal(ldns_rr_get_type(qrr), LDNS_RR_TYPE_AAAA);
	ldns_rdf_deep_free(want);
	ldns_pkt_free(r);
}

static void test_valid_query_edns(void **state)
{
	(void)state;
	uint8_t buf[512], ans[512];
	size_t len =
		make_query(buf, sizeof(buf), "www.example.org.", LDNS_RR_TYPE_A, 4096, true, 7);
	struct ost_question q;
	assert_int_equal(ost_pkt_classify(buf, len, &q), OST_PKT_QUERY);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_size, 4096);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_version, 0);

	size_t n = ost_pkt_write_rcode(&q, LDNS_RCODE_REFUSED, 1232, ans, sizeof(ans));
	assert_int_equal(n, 12 + 17 + 4 + 11);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, ans, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 7);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	assert_true(ldns_pkt_edns(r));
	assert_int_equal(ldns_pkt_edns_udp_size(r), 1232);
	assert_true(ldns_pkt_edns_do(r));
	assert_int_equal(ldns_pkt_edns_version(r), 0);
	ldns_pkt_free(r);

	/* A tiny advertised size is raised to 512 (RFC 6891 6.2.5). */
	len = make_query(buf, sizeof(buf), "a.", LDNS_RR_TYPE_A, 100, false, 8);
	assert_int_equal(ost_pkt_classify(buf, len, &q), OST_PKT_QUERY);
	assert_int_equal(q.edns_size, 512);
	assert_false(q.edns_do);
	/* Too small an output buffer writes nothing. */
	assert_int_equal(ost_pkt_write_rcode(&q, LDNS_RCODE_REFUSED, 1232, ans, 20), 0);
}

static void test_short_and_response(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct ost_question q;
	size_t len = make_query(buf, sizeof(buf), "example.com.", LDNS_RR_TYPE_A, 0, false, 1);
	for (size_t i = 0; i < 12; i++)
		assert_int_equal(ost_pkt_classify(buf, i, &q), OST_PKT_DROP);
	buf[2] |= 0x80; /* QR=1 */
	assert_int_equal(ost_pkt_classify(buf, len, &q), OST_PKT_DROP);
	assert_int_equal(ost_pkt_verdict_rcode(OST_PKT_DROP), -1);
	assert_string_equal(ost_pkt_verdict_str(OST_PKT_DROP), "drop");
}

static void expect_formerr_answer(const uint8_t *pkt, size_t len, bool with_question)
{
	struct ost_question q;
	uint8_t ans[512];
	enum ost_pkt_verdict v = ost_pkt_classify(pkt, len, &q);
	assert_int_equal(v, OST_PKT_FORMERR);
	size_t n =
		ost_pkt_write_rcode(&q, (unsigned)ost_pkt_verdict_rcode(v), 1232, ans, sizeof(ans));
	assert_true(n >= 12);
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, ans, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), ldns_read_uint16(pkt));
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(r), with_question ? 1 : 0);
	ldns_pkt_free(r);
}

static void test_qdcount(void **state)
{
	(void)state;
	uint8_t buf[512];
	static const uint8_t q1[] = {1, 'a', 0, 0, 1, 0, 1};
	static const uint8_t q2[] = {1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 0x01, 0, 0, NULL, 0), false);
	expect_formerr_answer(buf, make_raw(buf, 0x01, 2, 0, q2, sizeof(q2)), false);
	struct ost_question q;
	assert_int_equal(ost_pkt_classify(buf, make_raw(buf, 0x01, 1, 0, q1, sizeof(q1)), &q),
			 OST_PKT_QUERY);
	assert_int_equal(q.id, 0xabcd);
}

static void test_opcode(void **state)
{
	(void)state;
	uint8_t buf[512], ans[512];
	static const uint8_t q1[] = {1, 'a', 0, 0, 6, 0, 1};
	struct ost_question q;
	/* IQUERY (1), STATUS (2), NOTIFY (4), UPDATE (5). */
	static const uint8_t ops[] = {1, 2, 4, 5, 15};
	for (size_t i = 0; i < sizeof(ops); i++) {
		size_t len = make_raw(buf, (uint8_t)(ops[i] << 3), 1, 0, q1, sizeof(q1));
		assert_int_equal(ost_pkt_classify(buf, len, &q), OST_PKT_NOTIMP);
		size_t n = ost_pkt_write_rcode(&q, LDNS_RCODE_NOTIMPL, 1232, ans, sizeof(ans));
		assert_int_equal(n, 12);
		assert_int_equal(ans[2] & 0x80, 0x80);          /* QR */
		assert_int_equal((ans[2] >> 3) & 0x0f, ops[i]); /* opcode copied */
		assert_int_equal(ans[3] & 0x0f, LDNS_RCODE_NOTIMPL);
	}
}

static void test_bad_names(void **state)
{
	(void)state;
	uint8_t buf[1024], body[600];
	/* Label type 01 (a 64-byte "label"): not a valid length. */
	memset(body, 'x', sizeof(body));
	body[0] = 64;
	body[65] = 0;
	memcpy(body + 66, "\0\1\0\1", 4);
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, body, 70), false);
	/* 63-byte label is fine. */
	body[0] = 63;
	body[64] = 0;
	memcpy(body + 65, "\0\1\0\1", 4);
	struct ost_question q;
	assert_int_equal(ost_pkt_classify(buf, make_raw(buf, 1, 1, 0, body, 69), &q),
			 OST_PKT_QUERY);
	/* Exactly 255 bytes: three 63-byte labels, one of 61, root. */
	size_t p = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t l = i < 3 ? 63 : 61;
		body[p++] = l;
		memset(body + p, 'y', l);
		p += l;
	}
	body[p++] = 0;
	assert_int_equal(p, 255);
	memcpy(body + p, "\0\1\0\1", 4);
	assert_int_equal(ost_pkt_classify(buf, make_raw(buf, 1, 1, 0, body, p + 4), &q),
			 OST_PKT_QUERY);
	assert_int_equal(q.qname_len, 255);
	/* 257 bytes: the last label one byte longer. */
	p = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t l = i < 3 ? 63 : 63;
		body[p++] = l;
		memset(body + p, 'y', l);
		p += l;
	}
	body[p++] = 0;
	memcpy(body + p, "\0\1\0\1", 4);
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, body, p + 4), false);
	/* Name running off the end of the packet, and question without type/class. */
	static const uint8_t cut[] = {5, 'a', 'b'};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, cut, sizeof(cut)), false);
	static const uint8_t notype[] = {1, 'a', 0, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, notype, sizeof(notype)), false);
}

static void test_compression(void **state)
{
	(void)state;
	uint8_t buf[512];
	/* A pointer to itself (offset 12): the classic loop. */
	static const uint8_t self[] = {0xc0, 12, 0, 1, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, self, sizeof(self)), false);
	/* "a" then a pointer back to "a": a loop through a label. */
	static const uint8_t loop[] = {1, 'a', 0xc0, 12, 0, 1, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, loop, sizeof(loop)), false);
	/* A forward pointer to a well-formed name later in the packet. */
	static const uint8_t fwd[] = {0xc0, 18, 0, 1, 0, 1, 1, 'a', 0};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, fwd, sizeof(fwd)), false);
	/* A pointer into the header. */
	static const uint8_t hdr[] = {0xc0, 2, 0, 1, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, hdr, sizeof(hdr)), false);
	/* A pointer cut in half. */
	static const uint8_t half[] = {1, 'a', 0xc0};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, half, sizeof(half)), false);
	/* Label type 10 (0x80). */
	static const uint8_t t10[] = {0x80, 1, 0, 1, 0, 1};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 0, t10, sizeof(t10)), false);
}

static void test_bad_opt(void **state)
{
	(void)state;
	uint8_t buf[512], ans[512];
	struct ost_question q;
	/* Question "a. A" then an OPT: root owner, type 41, size 1232, ext/ver/flags, rdlen. */
	uint8_t body[64] = {1, 'a', 0, 0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	size_t blen = 18;
	assert_int_equal(ost_pkt_classify(buf, make_raw(buf, 1, 1, 1, body, blen), &q),
			 OST_PKT_QUERY);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_size, 1232);
	/* Version 1: BADVERS, answered with an OPT carrying the upper rcode bits. */
	body[13] = 1;
	enum ost_pkt_verdict v = ost_pkt_classify(buf, make_raw(buf, 1, 1, 1, body, blen), &q);
	assert_int_equal(v, OST_PKT_BADVERS);
	size_t n =
		ost_pkt_write_rcode(&q, (unsigned)ost_pkt_verdict_rcode(v), 1232, ans, sizeof(ans));
	ldns_pkt *r = NULL;
	assert_int_equal(ldns_wire2pkt(&r, ans, n), LDNS_STATUS_OK);
	assert_true(ldns_pkt_edns(r));
	assert_int_equal(ldns_pkt_edns_extended_rcode(r), 1); /* 16 >> 4 */
	assert_int_equal(ldns_pkt_get_rcode(r), 0);           /* 16 & 15 */
	ldns_pkt_free(r);
	body[13] = 0;
	/* Two OPT records. */
	uint8_t two[64];
	memcpy(two, body, blen);
	memcpy(two + blen, body + 7, 11);
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 2, two, blen + 11), true);
	/* An option whose length runs past RDATA. */
	uint8_t opt[64];
	memcpy(opt, body, blen);
	opt[17] = 4; /* rdlen 4: option code 10, length 8 */
	memcpy(opt + blen, "\0\x0a\0\x08", 4);
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 1, opt, blen + 4), true);
	/* OPT owner not the root. */
	uint8_t owner[64] = {1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 1, owner, 20), true);
	/* RDATA longer than the packet. */
	memcpy(opt, body, blen);
	opt[17] = 40;
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 1, opt, blen), true);
	/* ARCOUNT claims a record that is not there. */
	expect_formerr_answer(buf, make_raw(buf, 1, 1, 2, body, blen), true);
}

/*
 * Random mutations of a valid query must never crash or read out of bounds
 * (run under the asan preset to make that check strict), and every verdict
 * must be one of the enum's values.
 */
static void test_mutations(void **state)
{
	(void)state;
	uint8_t base[512], buf[512];
	size_t len =
		make_query(base, sizeof(base), "mutate.example.", LDNS_RR_TYPE_A, 1232, true, 9);
	srand(12345);
	unsigned counts[OST_PKT_VERDICT_COUNT] = {0};
	for (int i = 0; i < 20000; i++) {
		memcpy(buf, base, len);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++)
			buf[rand() % len] = (uint8_t)rand();
		size_t l = (size_t)(rand() % 8 == 0 ? rand() % (int)len : (int)len);
		struct ost_question q;
		enum ost_pkt_verdict v = ost_pkt_classify(buf, l, &q);
		assert_true((unsigned)v < OST_PKT_VERDICT_COUNT);
		counts[v]++;
		uint8_t ans[600];
		if (v != OST_PKT_DROP)
			assert_true(ost_pkt_write_rcode(&q, 5, 1232, ans, sizeof(ans)) >= 12);
	}
	/* The mutations reach every verdict, so the test exercises every path. */
	for (int v = 0; v < OST_PKT_VERDICT_COUNT; v++)
		assert_true(counts[v] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_query_no_edns),
		cmocka_unit_test(test_valid_query_edns),
		cmocka_unit_test(test_short_and_response),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_opcode),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_bad_opt),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
