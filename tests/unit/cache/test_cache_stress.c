/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Cache tests under stress and across processes: a damaged tree, a flood of
 * distinct names four times the map with a hot set, worker threads reading
 * and submitting concurrently, submits while another process holds LMDB's
 * writer lock, two processes sharing one file, and kill -9 in the middle of
 * a write flood. Registered in test_cache.c's table.
 */
#include "fixture.h"

static off_t file_size(const char *dir, const char *name)
{
	char p[160];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

void test_bounded_flood(void **state)
{
	struct fx *f = *state;
	f->cfg.max_bytes = 16u << 20;
	f->cfg.touch_interval = 1;
	open_cache(f);
	enum {
		HOT = 64,
		PER_BATCH = 200,
		PAYLOAD = 400
	};
	char payload[PAYLOAD + 1];
	memset(payload, 'p', PAYLOAD);
	payload[PAYLOAD] = 0;
	char name[64];
	for (int i = 0; i < HOT; i++) {
		snprintf(name, sizeof(name), "hot%d.popular.ru", i);
		put1(f, name, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 86400, "hot"));
	}
	struct ost_cache_reader *rd;
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	f->rd = rd;
	f->b = b;
	/* About 4x the map in distinct names, 3x if counting only payloads. */
	size_t total = 0, target = 4 * f->cfg.max_bytes;
	unsigned n = 0;
	uint64_t max_entries = 0;
	int commits = 0;
	while (total < target) {
		f->fc.wall += 1;
		for (int j = 0; j < PER_BATCH; j++, n++) {
			snprintf(name, sizeof(name), "flood%u.zone%u.example", n, n % 97);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 86400, payload);
			assert_int_equal(ost_cache_batch_put(b, wire(name), 1, &e), 0);
			total += PAYLOAD + strlen(name) + OST_CACHE_HDR_LEN;
		}
		assert_int_equal(ost_cache_batch_commit(b), 0);
		commits++;
		/* Hot names are read between batches; their hits are reported. */
		assert_int_equal(ost_cache_reader_begin(rd), 0);
		for (int i = 0; i < HOT; i++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "hot%d.popular.ru", i);
			assert_int_equal(ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_MSG, &g),
					 0);
		}
		ost_cache_reader_end(rd);
		struct ost_cache_stats st;
		ost_cache_stats_get(f->cache, &st);
		if (st.entries > max_entries)
			max_entries = st.entries;
		assert_true(st.bytes_used <= st.bytes_max);
	}
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	print_message("flood: commits=%d entries=%llu max=%llu evictions=%llu rounds=%llu "
		      "used=%llu/%llu\n",
		      commits, (unsigned long long)st.entries, (unsigned long long)max_entries,
		      (unsigned long long)st.evictions, (unsigned long long)st.gc_rounds,
		      (unsigned long long)st.bytes_used, (unsigned long long)st.bytes_max);
	assert_true(st.evictions > 0);
	assert_true(st.gc_rounds > 0);
	/* Not wiped: a good share of the peak is still there. */
	assert_true(st.entries * 3 >= max_entries);
	assert_true(file_size(f->path, "data.mdb") <= (off_t)f->cfg.max_bytes);
	/* The recent flood survives better than the old: the first batch is gone. */
	struct ost_cache_entry g;
	char buf[PAYLOAD + 1];
	assert_int_equal(get1(f, "flood0.zone0.example", 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)),
			 -ENOENT);
	snprintf(name, sizeof(name), "flood%u.zone%u.example", n - 1, (n - 1) % 97);
	assert_int_equal(get1(f, name, 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
	for (int i = 0; i < HOT; i++) {
		snprintf(name, sizeof(name), "hot%d.popular.ru", i);
		assert_int_equal(get1(f, name, 1, OST_CTAG_MSG, &g, buf, sizeof(buf)), 0);
	}
	ost_cache_batch_free(b);
	ost_cache_reader_free(rd);
	f->rd = NULL;
	f->b = NULL;
}

void test_two_processes(void **state)
{
	struct fx *f = *state;
	open_cache(f); /* the parent's environment is open across the fork */
	int to_child[2], to_parent[2];
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Child: its own environment on the same file. Learn one name. */
		struct ost_cache *c;
		char x;
		int code = 0;
		if (ost_cache_open(&c, &f->cfg, &f->clock))
			_exit(10);
		struct ost_cache_batch *b;
		struct ost_cache_entry e =
			mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "learned-by-child");
		if (ost_cache_batch_new(c, &b) || ost_cache_batch_put(b, wire("c.ru"), 1, &e) ||
		    ost_cache_batch_commit(b))
			code = 11;
		ost_cache_batch_free(b);
		if (write(to_parent[1], "w", 1) != 1)
			code = 12;
		/* Wait for the parent's write, then answer it from the cache. */
		if (read(to_child[0], &x, 1) != 1)
			code = 13;
		struct ost_cache_reader *rd;
		struct ost_cache_entry g;
		if (ost_cache_reader_new(c, &rd) || ost_cache_reader_begin(rd))
			_exit(14);
		if (ost_cache_reader_get(rd, wire("p.ru"), 1, OST_CTAG_MSG, &g) || g.len != 17 ||
		    memcmp(g.data, "learned-by-parent", 17))
			code = 15;
		ost_cache_reader_end(rd);
		ost_cache_reader_free(rd);
		ost_cache_close(c);
		_exit(code);
	}
	char x;
	assert_int_equal(read(to_parent[0], &x, 1), 1);
	struct ost_cache_entry g;
	char buf[32];
	assert_int_equal(get1(f, "c.ru", 1, OST_CTAG_MSG, &g, buf, 32), 0);
	assert_string_equal(buf, "learned-by-child");
	put1(f, "p.ru", 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 300, "learned-by-parent"));
	assert_int_equal(write(to_child[1], "p", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* Child of the kill test: commit numbered batches forever, acking each. */
static void flood_child(struct fx *f, int round, int ack_fd)
{
	struct ost_cache *c;
	if (ost_cache_open(&c, &f->cfg, &f->clock))
		_exit(20);
	struct ost_cache_batch *b;
	if (ost_cache_batch_new(c, &b))
		_exit(21);
	char name[64], data[200];
	memset(data, 'k', sizeof(data) - 1);
	data[sizeof(data) - 1] = 0;
	for (uint32_t i = 0;; i++) {
		for (int j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, i, j);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 3600, data);
			if (ost_cache_batch_put(b, wire(name), 1, &e))
				_exit(22);
		}
		if (ost_cache_batch_commit(b))
			_exit(23);
		if (write(ack_fd, &i, sizeof(i)) != sizeof(i))
			_exit(24);
	}
}

void test_kill9(void **state)
{
	struct fx *f = *state;
	f->cfg.no_sync = false; /* the default mode is what must survive */
	f->cfg.max_bytes = 64u << 20;
	srand((unsigned)getpid());
	uint64_t total_checked = 0;
	for (int round = 0; round < 10; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			flood_child(f, round, p[1]);
		}
		close(p[1]);
		/* Wait until the child is well into its flood, then kill it at a
		 * random point of the next batch or commit. */
		int want = 1 + rand() % 4;
		uint32_t acked = 0, got;
		for (int k = 0; k < want; k++) {
			assert_int_equal(read(p[0], &got, sizeof(got)), sizeof(got));
			acked = got + 1;
		}
		struct timespec jitter = {0, (long)(rand() % 3000) * 1000};
		nanosleep(&jitter, NULL); /* randomise the instant, not waiting for anything */
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		/* More acks may sit in the pipe: those batches committed too. */
		while (read(p[0], &got, sizeof(got)) == sizeof(got))
			acked = got + 1;
		close(p[0]);

		open_cache(f);
		assert_int_equal(count_corrupt(f), 0);
		struct ost_cache_reader *rd;
		assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
		assert_int_equal(ost_cache_reader_begin(rd), 0);
		char name[64];
		for (uint32_t i = 0; i < acked; i++) {
			for (int j = 0; j < 200; j += 7) {
				struct ost_cache_entry g;
				snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, i, j);
				assert_int_equal(
					ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_RRSET, &g),
					0);
				assert_int_equal(g.len, 199);
				total_checked++;
			}
		}
		/* The batch in flight at the kill is all there or not at all. */
		int present = 0;
		for (int j = 0; j < 200; j++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "n%d-%u-%d.kill.test", round, acked, j);
			int rc = ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_RRSET, &g);
			assert_true(rc == 0 || rc == -ENOENT);
			present += rc == 0;
		}
		assert_true(present == 0 || present == 200);
		ost_cache_reader_end(rd);
		ost_cache_reader_free(rd);
		/* And it still takes writes. */
		put1(f, "after-kill.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "ok"));
		ost_cache_close(f->cache);
		f->cache = NULL;
	}
	assert_true(total_checked > 0);

	/* The worst instant: killed while holding LMDB's writer lock. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
		    mdb_env_set_mapsize(env, f->cfg.max_bytes) ||
		    mdb_env_open(env, f->path, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn))
			_exit(30);
		if (write(p[1], "L", 1) != 1)
			_exit(31);
		pause();
		_exit(32);
	}
	char x;
	assert_int_equal(read(p[0], &x, 1), 1);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(p[0]);
	close(p[1]);
	alarm(20); /* a stuck writer lock fails the test instead of hanging it */
	open_cache(f);
	put1(f, "after-lock-holder.ru", 1, mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 60, "ok"));
	alarm(0);
	assert_int_equal(count_corrupt(f), 0);
}

struct worker_arg {
	struct fx *f;
	int id;
	int failures;
	long hits;
};

/* A worker: read the hot set with its reader, learn names, submit batches. */
static void *worker_main(void *p)
{
	struct worker_arg *a = p;
	struct ost_cache_reader *rd;
	struct ost_cache_batch *b;
	if (ost_cache_reader_new(a->f->cache, &rd) || ost_cache_batch_new(a->f->cache, &b)) {
		a->failures++;
		return NULL;
	}
	char name[64];
	uint8_t w[256];
	for (int i = 0; i < 40; i++) {
		if (ost_cache_reader_begin(rd)) {
			a->failures++;
			continue;
		}
		for (int h = 0; h < 16; h++) {
			struct ost_cache_entry g;
			snprintf(name, sizeof(name), "hot%d.t.ru", h);
			wire_to(name, w); /* wire() is not thread-safe */
			if (ost_cache_reader_get(rd, w, 1, OST_CTAG_MSG, &g) || g.len != 3)
				a->failures++;
			else
				a->hits++;
		}
		ost_cache_reader_end(rd);
		for (int j = 0; j < 50; j++) {
			snprintf(name, sizeof(name), "w%d-%d-%d.t.ru", a->id, i, j);
			wire_to(name, w);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, "learned");
			if (ost_cache_batch_put(b, w, 1, &e))
				a->failures++;
		}
		if (ost_cache_batch_submit(b))
			a->failures++;
	}
	ost_cache_batch_free(b);
	ost_cache_reader_free(rd);
	return NULL;
}

void test_threads_submit(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	char name[64];
	for (int h = 0; h < 16; h++) {
		snprintf(name, sizeof(name), "hot%d.t.ru", h);
		put1(f, name, 1, mk_entry(OST_CTAG_MSG, OST_RANK_ANSWER, 600, "hot"));
	}
	pthread_t t[3];
	struct worker_arg a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = (struct worker_arg){.f = f, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].failures, 0);
		assert_int_equal(a[i].hits, 40 * 16);
	}
	ost_cache_sync(f->cache);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, 16 + 3 * 40 * 50);
	assert_int_equal(st.write_dropped, 0);
	assert_true(st.hits >= 3 * 40 * 16);
	struct ost_cache_entry g;
	char buf[16];
	assert_int_equal(get1(f, "w2-39-49.t.ru", 1, OST_CTAG_RRSET, &g, buf, 16), 0);
	assert_string_equal(buf, "learned");
	/* Close commits whatever is still queued. */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, "late");
	assert_int_equal(ost_cache_batch_put(b, wire("late.t.ru"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_submit(b), 0);
	assert_int_equal(ost_cache_batch_pending(b), 0);
	ost_cache_batch_free(b);
	reopen_cache(f);
	assert_int_equal(get1(f, "late.t.ru", 1, OST_CTAG_RRSET, &g, buf, 16), 0);
}

/*
 * Submitting never waits for the writer: another process holds LMDB's writer
 * lock while this one's workers keep submitting. Submissions return at once;
 * past 1/8 of the map queued, batches are dropped and counted. When the lock
 * is released everything accepted is committed.
 */
void test_submit_never_blocks(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	int go[2], ready[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		char x;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 4) ||
		    mdb_env_open(env, f->path, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn))
			_exit(40);
		if (write(ready[1], "L", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(41);
		mdb_txn_abort(txn);
		mdb_env_close(env);
		_exit(0);
	}
	char x;
	assert_int_equal(read(ready[0], &x, 1), 1);

	alarm(20); /* a blocking submit fails the test instead of hanging it */
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	char payload[300], name[64];
	memset(payload, 'q', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = 0;
	int accepted = 0, dropped = 0;
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 100; j++) {
			snprintf(name, sizeof(name), "s%d-%d.block.test", i, j);
			struct ost_cache_entry e =
				mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, payload);
			assert_int_equal(ost_cache_batch_put(b, wire(name), 1, &e), 0);
		}
		int rc = ost_cache_batch_submit(b);
		assert_true(rc == 0 || rc == OST_ELIMIT);
		assert_int_equal(ost_cache_batch_pending(b), 0);
		if (rc == 0)
			accepted++;
		else
			dropped++;
	}
	alarm(0);
	assert_true(accepted > 0);
	assert_true(dropped > 0);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.write_dropped, (uint64_t)dropped * 100);
	assert_int_equal(st.entries, 0); /* nothing could be written yet */

	/* Release the lock: the writer commits what it accepted. */
	assert_int_equal(write(go[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ost_cache_sync(f->cache);
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.entries, (uint64_t)accepted * 100);
	struct ost_cache_entry g;
	char buf[320];
	assert_int_equal(get1(f, "s0-99.block.test", 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
	ost_cache_batch_free(b);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/*
 * Damage inside a valid environment (pages overwritten, as a failing disk
 * or an OS crash in no-sync mode would): no crash, no wrong data served,
 * the file is moved aside and writes stop; the next open starts fresh.
 */
void test_damaged_tree(void **state)
{
	struct fx *f = *state;
	open_cache(f);
	char data[300], name[64];
	memset(data, 'k', sizeof(data) - 1);
	data[sizeof(data) - 1] = 0;
	struct ost_cache_batch *b;
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "d%d.damage.test", i);
		struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, data);
		assert_int_equal(ost_cache_batch_put(b, wire(name), 1, &e), 0);
		if (ost_cache_batch_pending(b) == 500)
			assert_int_equal(ost_cache_batch_commit(b), 0);
	}
	assert_int_equal(ost_cache_batch_commit(b), 0);
	ost_cache_batch_free(b);
	ost_cache_close(f->cache);
	f->cache = NULL;

	char p[128];
	snprintf(p, sizeof(p), "%s/data.mdb", f->path);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	srand(11);
	uint8_t junk[4096];
	for (int pg = 20; pg < 200; pg++) {
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rand();
		assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)pg * 4096), 4096);
	}
	close(fd);

	open_cache(f); /* the meta pages are intact: it opens */
	assert_int_equal(count_corrupt(f), 0);
	struct ost_cache_reader *rd;
	assert_int_equal(ost_cache_reader_new(f->cache, &rd), 0);
	f->rd = rd;
	int ok = 0, damaged = 0;
	for (int i = 0; i < 5000; i++) {
		struct ost_cache_entry g;
		snprintf(name, sizeof(name), "d%d.damage.test", i);
		assert_int_equal(ost_cache_reader_begin(rd), 0);
		int rc = ost_cache_reader_get(rd, wire(name), 1, OST_CTAG_RRSET, &g);
		if (rc == 0) {
			/* Whatever is served is exactly what was stored. */
			assert_int_equal(g.len, 299);
			assert_memory_equal(g.data, data, 299);
			ok++;
		} else {
			assert_true(rc == OST_ECORRUPT || rc == -ENOENT);
			damaged += rc == OST_ECORRUPT;
		}
		ost_cache_reader_end(rd);
	}
	print_message("damaged tree: ok=%d corrupt=%d\n", ok, damaged);
	assert_true(damaged > 0);
	assert_int_equal(count_corrupt(f), 1); /* moved aside at run time */
	assert_int_equal(ost_cache_batch_new(f->cache, &b), 0);
	struct ost_cache_entry e = mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 600, "x");
	assert_int_equal(ost_cache_batch_put(b, wire("new.damage.test"), 1, &e), 0);
	assert_int_equal(ost_cache_batch_commit(b), OST_ECORRUPT);
	ost_cache_batch_free(b);
	assert_int_equal(ost_cache_flush(f->cache, NULL), OST_ECORRUPT);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_int_equal(st.write_dropped, 1);
	assert_true(st.decode_errors >= (uint64_t)damaged);
	assert_int_equal(st.damaged, 1);
	ost_cache_reader_free(rd);
	f->rd = NULL;

	reopen_cache(f);
	check_fresh_and_usable(f);
}

/*
 * Two processes flood one 16 MiB cache at once, each with twice the map in
 * distinct names: the shared usage record keeps eviction coordinated, no
 * commit fails, the file stays bounded and both processes' recent names are
 * there at the end.
 */
void test_two_process_flood(void **state)
{
	struct fx *f = *state;
	f->cfg.max_bytes = 16u << 20;
	const int64_t t0 = f->fc.wall;
	pid_t pids[2];
	fflush(NULL);
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] != 0)
			continue;
		struct ost_cache *cache;
		struct ost_cache_batch *b;
		char payload[400], name[64];
		uint8_t w[256];
		memset(payload, 'f', sizeof(payload) - 1);
		payload[sizeof(payload) - 1] = 0;
		if (ost_cache_open(&cache, &f->cfg, &f->clock) || ost_cache_batch_new(cache, &b))
			_exit(50);
		for (int i = 0; i < 160; i++) {
			/*
			 * One second per batch, so the last batches are the most
			 * recently used: with every stamp equal, eviction had no
			 * reason to keep them, and whether the other process's
			 * sweep removed them depended on where its hand was.
			 */
			f->fc.wall = t0 + i;
			for (int j = 0; j < 200; j++) {
				snprintf(name, sizeof(name), "p%d-%d-%d.two.flood", c, i, j);
				struct ost_cache_entry e =
					mk_entry(OST_CTAG_RRSET, OST_RANK_ANSWER, 3600, payload);
				if (ost_cache_batch_put(b, wire_to(name, w), 1, &e))
					_exit(51);
			}
			if (ost_cache_batch_commit(b))
				_exit(52);
		}
		ost_cache_batch_free(b);
		ost_cache_close(cache);
		_exit(0);
	}
	for (int c = 0; c < 2; c++) {
		int status;
		assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	f->fc.wall = t0 + 160;
	open_cache(f);
	struct ost_cache_stats st;
	ost_cache_stats_get(f->cache, &st);
	assert_true(st.entries > 5000);
	assert_true(st.bytes_used <= st.bytes_max);
	assert_true(file_size(f->path, "data.mdb") <= (off_t)f->cfg.max_bytes);
	/* Both processes' most recent batch survived every eviction round. */
	struct ost_cache_entry g;
	char buf[512], name[64];
	for (int c = 0; c < 2; c++) {
		for (int j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "p%d-159-%d.two.flood", c, j);
			assert_int_equal(get1(f, name, 1, OST_CTAG_RRSET, &g, buf, sizeof(buf)), 0);
		}
	}
}
