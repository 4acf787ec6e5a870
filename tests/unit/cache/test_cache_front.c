/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The readers' front tables (cache/front.c): a repeated hit is served from a
 * copy, and the copy is exactly what LMDB holds in the snapshot being read.
 * Checked here: copies serve the same bytes and metadata; any commit (ours,
 * a flush, another process's) retires them; an entry lent in a session is
 * never overwritten in it; big entries and a disabled table still answer.
 */
#include "fixture.h"

/* Read @p name (A, MSG tag) in the reader's open session; asserts a hit. */
static struct ost_cache_entry hit(struct ost_cache_reader *rd, const char *name)
{
	struct ost_cache_entry g;
	assert_int_equal(ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_MSG, &g), 0);
	return g;
}

static uint64_t front_hits(struct fx *f)
{
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	return st.front_hits;
}

static void assert_payload(const struct ost_cache_entry *g, const char *want)
{
	assert_int_equal(g->len, strlen(want));
	assert_memory_equal(g->data, want, g->len);
}

void test_front_serves_copies(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	struct ost_cache_entry e = mk_entry(OST_CTAG_MSG, OST_RANK_AUTH_ANSWER, 300, "hot-answer");
	e.sec = OST_SEC_SECURE;
	e.flags = 3;
	e.rcode = 3;
	e.ede = 22;
	put1(f, "hot.example.ru", 1, e);
	put1(f, "other.example.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 60, "other"));
	assert_int_equal(ost_cache_reader_new(f->cache, &f->rd), 0);
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	struct ost_cache_entry from_lmdb = hit(f->rd, "hot.example.ru");
	/* The second read in a snapshot makes the copy, the third is served from it. */
	(void)hit(f->rd, "hot.example.ru");
	assert_int_equal(front_hits(f), 0);
	struct ost_cache_entry from_front = hit(f->rd, "HOT.Example.RU");
	assert_int_equal(front_hits(f), 1);
	assert_ptr_not_equal(from_front.data, from_lmdb.data);
	assert_payload(&from_front, "hot-answer");
	assert_int_equal(from_front.tag, from_lmdb.tag);
	assert_int_equal(from_front.rank, OST_RANK_AUTH_ANSWER);
	assert_int_equal(from_front.sec, OST_SEC_SECURE);
	assert_int_equal(from_front.flags, 3);
	assert_int_equal(from_front.rcode, 3);
	assert_int_equal(from_front.ede, 22);
	assert_int_equal(from_front.ttl, from_lmdb.ttl);
	assert_int_equal(from_front.stored_at, from_lmdb.stored_at);
	assert_int_equal(from_front.expires_at, from_lmdb.expires_at);
	/* Another type or tag of the same owner is another key. */
	struct ost_cache_entry g;
	assert_int_equal(ost_cache_reader_get(f->rd, wire("hot.example.ru"), 28, OST_CTAG_MSG, &g),
			 -ENOENT);
	assert_int_equal(ost_cache_reader_get(f->rd, wire("hot.example.ru"), 1, OST_CTAG_RRSET, &g),
			 -ENOENT);
	ost_cache_reader_end(f->rd);
	/* With nothing committed, copies outlive the session. */
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	assert_payload((struct ost_cache_entry[]){hit(f->rd, "hot.example.ru")}, "hot-answer");
	assert_int_equal(front_hits(f), 2);
	ost_cache_reader_end(f->rd);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 2);
}

/* Make the hot copy of @p name in a session of its own. */
static void warm(struct fx *f, const char *name)
{
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	for (int i = 0; i < 3; i++)
		(void)hit(f->rd, name);
	ost_cache_reader_end(f->rd);
}

void test_front_follows_commits(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	put1(f, "a.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "first"));
	assert_int_equal(ost_cache_reader_new(f->cache, &f->rd), 0);
	warm(f, "a.ru");
	uint64_t fh = front_hits(f);
	assert_int_equal(fh, 1);

	/* A new value for the same key: the copy is not served again. */
	put1(f, "a.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "second"));
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	assert_payload((struct ost_cache_entry[]){hit(f->rd, "a.ru")}, "second");
	assert_int_equal(front_hits(f), fh);
	ost_cache_reader_end(f->rd);

	/* A commit about another key retires the copies too (one snapshot id). */
	warm(f, "a.ru");
	fh = front_hits(f);
	put1(f, "b.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "b"));
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	assert_payload((struct ost_cache_entry[]){hit(f->rd, "a.ru")}, "second");
	assert_int_equal(front_hits(f), fh);
	ost_cache_reader_end(f->rd);

	/* A flush: the name is gone, not served from its copy. */
	warm(f, "a.ru");
	assert_true(ost_cache_flush(f->cache, wire("a.ru")) >= 1);
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	struct ost_cache_entry g;
	assert_int_equal(ost_cache_reader_get(f->rd, wire("a.ru"), 1, OST_CTAG_MSG, &g), -ENOENT);
	ost_cache_reader_end(f->rd);

	/* Another process sharing the file writes: our copy is retired. */
	put1(f, "c.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "parent"));
	warm(f, "c.ru");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ost_cache *c;
		struct ost_cache_batch *b;
		struct ost_cache_entry e = mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "child");
		if (ost_cache_open(&c, &f->cfg, &f->clock))
			_exit(10);
		int code = 0;
		if (ost_cache_batch_new(c, &b) || ost_cache_batch_put(b, wire("c.ru"), 1, &e) ||
		    ost_cache_batch_commit(b))
			code = 11;
		ost_cache_batch_free(b);
		ost_cache_close(c);
		_exit(code);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	assert_payload((struct ost_cache_entry[]){hit(f->rd, "c.ru")}, "child");
	ost_cache_reader_end(f->rd);
}

/* An entry lent in a session stays intact while colliding keys are read. */
void test_front_lending(void **state)
{
	struct fx *f = *state;
	f->cfg.front_entries = 2;
	open_cache(f);
	char name[32], data[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%d.ru", i);
		snprintf(data, sizeof(data), "data-of-%d", i);
		put1(f, name, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, data));
	}
	assert_int_equal(ost_cache_reader_new(f->cache, &f->rd), 0);
	warm(f, "n0.ru");
	assert_int_equal(ost_cache_reader_begin(f->rd), 0);
	struct ost_cache_entry lent = hit(f->rd, "n0.ru");
	struct ost_cache_entry all[40];
	for (int round = 0; round < 3; round++)
		for (int i = 1; i < 40; i++) {
			snprintf(name, sizeof(name), "n%d.ru", i);
			all[i] = hit(f->rd, name);
		}
	assert_payload(&lent, "data-of-0");
	for (int i = 1; i < 40; i++) {
		snprintf(data, sizeof(data), "data-of-%d", i);
		assert_payload(&all[i], data);
	}
	ost_cache_reader_end(f->rd);
	/* Two slots, forty names: every read was still right, and some from copies. */
	assert_true(front_hits(f) >= 2);
}

void test_front_limits(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	char big[2001];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	put1(f, "big.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, big));
	assert_int_equal(ost_cache_reader_new(f->cache, &f->rd), 0);
	warm(f, "big.ru");
	warm(f, "big.ru");
	assert_int_equal(front_hits(f), 0); /* too big to copy, still served */
	ost_cache_reader_free(f->rd);
	f->rd = NULL;

	f->cfg.front_entries = OST_CACHE_FRONT_OFF;
	reopen_cache(f);
	put1(f, "a.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "a"));
	assert_int_equal(ost_cache_reader_new(f->cache, &f->rd), 0);
	warm(f, "a.ru");
	warm(f, "a.ru");
	assert_int_equal(front_hits(f), 0);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.hits, 6);
	assert_int_equal(ost_cache_front_slots(OST_CACHE_FRONT_OFF), 0);
	assert_int_equal(ost_cache_front_slots(0), OST_CACHE_FRONT_DEFAULT);
	assert_int_equal(ost_cache_front_slots(1000), 1024);
	assert_int_equal(ost_cache_front_slots(1u << 30), 65536);
}
