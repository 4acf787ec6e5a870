/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of control/: the request parser on good and garbage input, the
 * canonical line round trip, the dispatcher over a real failover machine and
 * drill controller (isolate twice, unisolate when not isolated, unknown
 * profile, second drill start, commands without handler: clear errors, state
 * unchanged), and the socket: mode 0600, a round trip through the server
 * thread with the real ostrovctl binary, and a non-owner refused twice over
 * (by the file mode and by SO_PEERCRED).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ostrov/control.h"

#include "ost_test.h"

/*
 * ---------------------------------------------------------------------------
 * Parser
 * ---------------------------------------------------------------------------
 */

static void parse_ok(const char *line, struct ost_ctl_request *req)
{
	char err[256] = "";
	int rc = ost_ctl_parse_line(line, strlen(line), req, err, sizeof(err));
	if (rc != 0)
		print_error("'%s': %s\n", line, err);
	assert_int_equal(rc, 0);
}

static void test_ctl_parse_commands(void **state)
{
	(void)state;
	struct ost_ctl_request r;
	parse_ok("status", &r);
	assert_int_equal(r.cmd, OST_CTL_STATUS);
	assert_false(r.is_json);
	parse_ok("status --json\n", &r);
	assert_true(r.is_json);
	parse_ok("  stats\r\n", &r);
	assert_int_equal(r.cmd, OST_CTL_STATS);
	parse_ok("cache flush", &r);
	assert_int_equal(r.cmd, OST_CTL_CACHE_FLUSH);
	assert_false(r.has_name);
	parse_ok("cache flush Example.COM", &r);
	assert_true(r.has_name);
	assert_string_equal(r.name, "Example.COM.");
	parse_ok("zone list", &r);
	assert_int_equal(r.cmd, OST_CTL_ZONE_LIST);
	parse_ok("zone refresh ru", &r);
	assert_string_equal(r.name, "ru.");
	parse_ok("zone import xn--p1ai \"/var/lib/ostrov/zones/rf zone.txt\"", &r);
	assert_int_equal(r.cmd, OST_CTL_ZONE_IMPORT);
	assert_string_equal(r.file, "/var/lib/ostrov/zones/rf zone.txt");
	parse_ok("mirror extend . 12h", &r);
	assert_int_equal(r.cmd, OST_CTL_MIRROR_EXTEND);
	assert_string_equal(r.name, ".");
	assert_int_equal(r.duration_s, 43200);
	parse_ok("isolate", &r);
	assert_int_equal(r.cmd, OST_CTL_ISOLATE);
	parse_ok("--json unisolate", &r);
	assert_int_equal(r.cmd, OST_CTL_UNISOLATE);
	assert_true(r.is_json);
	parse_ok("drill start foreign-loss --duration 600", &r);
	assert_int_equal(r.cmd, OST_CTL_DRILL_START);
	assert_int_equal(r.profile, OST_DRILL_FOREIGN_LOSS);
	assert_true(r.has_duration);
	assert_int_equal(r.duration_s, 600);
	parse_ok("drill start --duration=10m tld-cut --json", &r);
	assert_int_equal(r.profile, OST_DRILL_TLD_CUT);
	assert_int_equal(r.duration_s, 600);
	assert_true(r.is_json);
	parse_ok("drill start poisoned-source", &r);
	assert_false(r.has_duration);
	parse_ok("drill stop", &r);
	assert_int_equal(r.cmd, OST_CTL_DRILL_STOP);
	parse_ok("drill report --json", &r);
	assert_int_equal(r.cmd, OST_CTL_DRILL_REPORT);
	parse_ok("reload", &r);
	assert_int_equal(r.cmd, OST_CTL_RELOAD);
	/* negative trust anchors (RFC 7646) */
	parse_ok("nta add Bad-DS.ru", &r);
	assert_int_equal(r.cmd, OST_CTL_NTA_ADD);
	assert_true(r.has_name);
	assert_string_equal(r.name, "Bad-DS.ru.");
	assert_false(r.has_duration); /* the daemon's resolver.nta-lifetime applies */
	parse_ok("nta add bad-ds.ru. 90m --json", &r);
	assert_true(r.has_duration);
	assert_int_equal(r.duration_s, 5400);
	assert_true(r.is_json);
	parse_ok("nta add \"--odd.example.\" 7d", &r);
	assert_string_equal(r.name, "--odd.example.");
	assert_int_equal(r.duration_s, 7 * 86400);
	parse_ok("nta remove bad-ds.ru.", &r);
	assert_int_equal(r.cmd, OST_CTL_NTA_REMOVE);
	assert_string_equal(r.name, "bad-ds.ru.");
	parse_ok("nta list --json", &r);
	assert_int_equal(r.cmd, OST_CTL_NTA_LIST);
	assert_true(r.is_json);
	assert_false(r.has_name);
	assert_string_equal(ost_ctl_cmd_str(OST_CTL_NTA_ADD), "nta add");
	for (int c = 0; c < OST_CTL_CMD_COUNT; c++)
		assert_string_not_equal(ost_ctl_cmd_str((enum ost_ctl_cmd)c), "?");
}

static void test_ctl_parse_garbage(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		size_t len; /* 0: strlen */
		const char *err;
	} bad[] = {
		{"", 0, "empty request"},
		{"   \n", 0, "empty request"},
		{"\x01status", 0, "control character 0x01"},
		{"stat\0us", 7, "NUL byte"},
		{"frobnicate", 0, "unknown command 'frobnicate'"},
		{"drill", 0, "unknown drill command ''"},
		{"drill dance", 0, "unknown drill command 'dance'"},
		{"drill start", 0, "usage: drill start PROFILE"},
		{"drill start mars-cut", 0, "unknown drill profile 'mars-cut'"},
		{"drill start foreign-cut --duration", 0, "--duration needs a value"},
		{"drill start foreign-cut --duration 0", 0, "bad --duration"},
		{"drill start foreign-cut --duration=abc", 0, "bad --duration"},
		{"drill start foreign-cut extra", 0, "usage: drill start"},
		{"status extra", 0, "usage: status"},
		{"status --duration 5", 0, "--duration applies to drill start only"},
		{"isolate --force", 0, "unknown option '--force'"},
		{"mirror extend . 10x", 0, "bad duration '10x'"},
		{"mirror extend . -5", 0, "bad duration"},
		{"mirror extend . 99999999999999999999", 0, "bad duration"},
		{"mirror extend a..b 10", 0, "not a valid DNS name"},
		{"mirror extend .", 0, "usage: mirror extend NAME DURATION"},
		{"zone import ru.", 0, "usage: zone import NAME FILE"},
		{"zone import ru. \"\"", 0, "bad file name"},
		{"zone refresh \"unterminated", 0, "unterminated quote"},
		{"zone refresh a\"b", 0, "quote inside a word"},
		{"zone refresh \"a\"b", 0, "text right after a closing quote"},
		{"zone refresh \"a\\nb\"", 0, "bad escape"},
		{"a b c d e f g h i", 0, "too many words"},
		{"cache flush a b", 0, "usage: cache flush [NAME]"},
		{"status\x7f", 0, "control character 0x7f"},
		{"\xff\xfe", 0, "unknown command"},
		{"nta", 0, "unknown nta command ''"},
		{"nta delete x.", 0, "unknown nta command 'delete'"},
		{"nta add", 0, "usage: nta add NAME [DURATION]"},
		{"nta add a. 1h extra", 0, "usage: nta add NAME [DURATION]"},
		{"nta add a..b", 0, "not a valid DNS name"},
		{"nta add a. 0", 0, "bad duration '0'"},
		{"nta add a. 1w", 0, "bad duration '1w'"},
		{"nta add a. --duration 5", 0, "--duration applies to drill start only"},
		{"nta add .", 0, "no negative trust anchor for the root"},
		{"nta add . 1h", 0, "no negative trust anchor for the root"},
		{"nta remove", 0, "usage: nta remove NAME"},
		{"nta remove a. 1h", 0, "usage: nta remove NAME"},
		{"nta list a.", 0, "usage: nta list"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ost_ctl_request r;
		char err[256] = "";
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].line);
		int rc = ost_ctl_parse_line(bad[i].line, len, &r, err, sizeof(err));
		if (rc != -EINVAL || !strstr(err, bad[i].err))
			print_error("case %zu: rc %d err '%s' (want '%s')\n", i, rc, err,
				    bad[i].err);
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(err, bad[i].err));
	}
	/* longer than the limit */
	char *big = malloc(OST_CTL_LINE_MAX + 100);
	memset(big, 'a', OST_CTL_LINE_MAX + 99);
	big[OST_CTL_LINE_MAX + 99] = '\0';
	struct ost_ctl_request r;
	char err[256];
	assert_int_equal(ost_ctl_parse_line(big, strlen(big), &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 4096"));
	/* a long but legal name-length limit */
	memcpy(big, "cache flush ", 12);
	big[12 + 300] = '\0';
	assert_int_equal(ost_ctl_parse_line(big, strlen(big), &r, err, sizeof(err)), -EINVAL);
	free(big);
	assert_int_equal(ost_ctl_parse_line(NULL, 0, &r, err, sizeof(err)), -EINVAL);
	/* argv: control characters are refused too */
	char *argv[] = {"zone", "refresh", "ru.\n"};
	assert_int_equal(ost_ctl_parse_argv(3, argv, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "control character"));
}

static void test_ctl_duration(void **state)
{
	(void)state;
	uint32_t d;
	assert_int_equal(ost_ctl_parse_duration("90", &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(ost_ctl_parse_duration("90s", &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(ost_ctl_parse_duration("30m", &d), 0);
	assert_int_equal(d, 1800);
	assert_int_equal(ost_ctl_parse_duration("2d", &d), 0);
	assert_int_equal(d, 172800);
	assert_int_equal(ost_ctl_parse_duration("3650d", &d), 0);
	const char *bad[] = {"", "0", "0s", "3651d", "1w", "1hh", "h", "-1", " 1", "1 ", NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(ost_ctl_parse_duration(bad[i], &d), -EINVAL);
	assert_int_equal(ost_ctl_parse_duration(NULL, &d), -EINVAL);
}

static void test_ctl_format_roundtrip(void **state)
{
	(void)state;
	const char *lines[] = {
		"status --json",
		"cache flush example.com.",
		"cache flush",
		"zone import ru. \"/tmp/a \\\"quoted\\\" b\\\\c\"",
		"mirror extend . 3600",
		"drill start foreign-cut --duration 600 --json",
		"drill start tld-cut",
		"unisolate",
		"nta add bad-ds.ru.",
		"nta add bad-ds.ru. 600 --json",
		"nta add \"--x.ru.\" 60",
		"nta remove bad-ds.ru.",
		"nta list --json",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct ost_ctl_request a, b;
		parse_ok(lines[i], &a);
		struct ost_buf buf = {0};
		assert_int_equal(ost_ctl_format_line(&a, &buf), 0);
		assert_string_equal(ost_buf_str(&buf), lines[i]);
		parse_ok(ost_buf_str(&buf), &b);
		assert_memory_equal(&a, &b, sizeof(a));
		ost_buf_deinit(&buf);
	}
	/* argv and line parse alike */
	char *argv[] = {"zone", "import", "ru", "/tmp/a b", "--json"};
	struct ost_ctl_request a, b;
	char err[256];
	assert_int_equal(ost_ctl_parse_argv(5, argv, &a, err, sizeof(err)), 0);
	parse_ok("zone import ru \"/tmp/a b\" --json", &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

/*
 * A seeded random-input run over the parser (the in-ctest cousin of a fuzz
 * target): lines glued from grammar words, quotes, escapes, control bytes
 * and random bytes. Every line must be accepted or refused with a message;
 * every accepted line must survive format -> parse unchanged.
 */
static void test_ctl_parse_random(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"status",  "stats",  "cache",      "flush",       "zone",    "list",
		"refresh", "import", "mirror",     "extend",      "isolate", "unisolate",
		"drill",   "start",  "stop",       "report",      "reload",  "foreign-cut",
		"tld-cut", "--json", "--duration", "--duration=", "10m",     "0",
		"ru.",     ".",      "a..b",       "\"",          "\\",      "\"a b\"",
		" ",       " ",      " ",          "\t",          "\n",      "\r",
		"\x01",    "\x7f",   "\xc3\xa9",   "x",           "nta",     "add",
		"remove"};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	uint64_t rng = 0x0572;
	unsigned accepted = 0;
	char line[600];
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = 0;
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned n = (unsigned)(rng >> 60) + 1;
		for (unsigned k = 0; k < n; k++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			if ((rng >> 56) < 16) { /* a random byte now and then */
				line[len++] = (char)(rng >> 40);
				continue;
			}
			const char *p = pieces[(rng >> 33) % np];
			size_t pl = strlen(p);
			memcpy(line + len, p, pl);
			len += pl;
			if ((rng >> 20) & 1)
				line[len++] = ' ';
		}
		struct ost_ctl_request a, b;
		char err[256] = "";
		int rc = ost_ctl_parse_line(line, len, &a, err, sizeof(err));
		if (rc != 0) {
			assert_int_equal(rc, -EINVAL);
			assert_true(err[0] != '\0');
			continue;
		}
		accepted++;
		struct ost_buf buf = {0};
		assert_int_equal(ost_ctl_format_line(&a, &buf), 0);
		assert_int_equal(
			ost_ctl_parse_line(ost_buf_str(&buf), buf.len, &b, err, sizeof(err)), 0);
		assert_memory_equal(&a, &b, sizeof(a));
		ost_buf_deinit(&buf);
	}
	print_message("  100000 random lines, %u accepted and round-tripped\n", accepted);
	assert_true(accepted > 100);
}

/*
 * ---------------------------------------------------------------------------
 * Dispatcher over real resilience objects
 * ---------------------------------------------------------------------------
 */

struct cfx {
	struct fake_clock clk;
	struct fake_net net;
	struct ost_fo *fo;
	struct ost_drill *drill;
	struct ost_ctl_dispatch *d;
	unsigned exec_calls;
};

static void exec_inline(void *ctx, void (*fn)(void *), void *arg)
{
	struct cfx *f = ctx;
	f->exec_calls++;
	fn(arg);
}

static struct cfx *cfx_new(void)
{
	struct cfx *f = calloc(1, sizeof(*f));
	fake_clock_init_at(&f->clk, 1790000000, 0);
	fake_net_init(&f->net, &f->clk);
	f->net.latency_ms = 20; /* the probe timing these tests were written for */
	assert_int_equal(ost_fo_new(NULL, &f->clk.clock, &f->fo), 0);
	assert_int_equal(ost_fo_event(f->fo, OST_FO_EV_MIRROR_READY, NULL), 0);
	assert_int_equal(ost_drill_new(NULL, &f->clk.clock, &f->net.tp, f->fo, 1, &f->drill), 0);
	f->d = ost_ctl_dispatch_new();
	assert_non_null(f->d);
	assert_int_equal(ost_ctl_register_failover(f->d, f->fo, NULL), 0);
	assert_int_equal(ost_ctl_register_drill(f->d, f->drill), 0);
	ost_ctl_set_executor(f->d, exec_inline, f);
	return f;
}

static void cfx_free(struct cfx *f)
{
	ost_ctl_dispatch_free(f->d);
	ost_drill_free(f->drill);
	ost_fo_free(f->fo);
	fake_net_deinit(&f->net);
	fake_clock_deinit(&f->clk);
	free(f);
}

/* Run @p line; @return the reply (static buffer swapped per call) */
static const char *run(struct cfx *f, const char *line, int want_rc)
{
	static struct ost_buf b;
	ost_buf_deinit(&b);
	int rc = ost_ctl_handle_line(f->d, line, strlen(line), "uid:0", &b);
	if (rc != want_rc)
		print_error("'%s' -> %d: %s\n", line, rc, ost_buf_str(&b));
	assert_int_equal(rc, want_rc);
	return ost_buf_str(&b);
}

static void test_ctl_dispatch_failover(void **state)
{
	(void)state;
	struct cfx *f = cfx_new();
	const char *r = run(f, "status", 0);
	assert_non_null(strstr(r, "OK\nstate:        NORMAL"));
	r = run(f, "status --json", 0);
	assert_non_null(strstr(r, "OK\n{\"ok\":true,\"failover\":{\"state\":\"NORMAL\""));
	r = run(f, "unisolate", -EINVAL);
	assert_string_equal(r, "ERR not isolated (state is NORMAL)\n");
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL);
	r = run(f, "isolate --json", 0);
	assert_string_equal(r,
			    "OK\n{\"ok\":true,\"state\":\"ISOLATED\",\"previous\":\"NORMAL\"}\n");
	r = run(f, "isolate", -EALREADY);
	assert_non_null(strstr(r, "ERR already isolated by an operator"));
	assert_int_equal(ost_fo_state(f->fo), OST_FO_ISOLATED);
	r = run(f, "unisolate", 0);
	assert_non_null(strstr(r, "ISOLATED -> RECOVERING"));
	r = run(f, "unisolate --json", -EINVAL);
	assert_string_equal(r, "ERR not isolated (state is RECOVERING)\n"
			       "{\"ok\":false,\"error\":\"not isolated (state is RECOVERING)\"}\n");
	/* mirror extend */
	r = run(f, "mirror extend . 1h", -ENOENT);
	assert_non_null(strstr(r, "ERR no mirror of zone ."));
	int64_t now = ost_clock_wall_s(&f->clk.clock);
	assert_int_equal(ost_fo_feed_mirror(f->fo, ".", 9, now - 1, now + 2 * 86400, true), 0);
	r = run(f, "mirror extend . 2d --json", 0);
	assert_non_null(strstr(r, "\"clamped_to_rrsig_horizon\":true"));
	assert_non_null(strstr(r, "\"granted_s\":86400"));
	struct ost_fo_policy pol;
	ost_fo_policy(f->fo, OST_FO_NAME_ROOT, ".", &pol);
	assert_int_equal(pol.mirror, OST_FO_MIRROR_EXTENDED);
	/* commands nobody registered and garbage */
	r = run(f, "reload", -ENOTSUP);
	assert_string_equal(r, "ERR 'reload' is not available in this daemon\n");
	r = run(f, "cache flush --json", -ENOTSUP);
	assert_non_null(strstr(r, "{\"ok\":false,\"error\":\"'cache flush' is not available"));
	r = run(f, "\x16\x03\x01 garbage", -EINVAL);
	assert_non_null(strstr(r, "ERR control character"));
	r = run(f, "status --nope --json", -EINVAL);
	assert_non_null(strstr(r, "{\"ok\":false"));
	assert_int_equal(ost_fo_state(f->fo), OST_FO_RECOVERING);
	assert_true(f->exec_calls >= 8); /* every handler ran through the executor */
	cfx_free(f);
}

static void test_ctl_dispatch_drill(void **state)
{
	(void)state;
	struct cfx *f = cfx_new();
	const char *r = run(f, "drill report", -ENOENT);
	assert_string_equal(r, "ERR no drill has run yet\n");
	r = run(f, "drill stop", -ENOENT);
	assert_string_equal(r, "ERR no drill is running\n");
	r = run(f, "drill start mars-cut", -EINVAL);
	assert_non_null(strstr(r, "ERR unknown drill profile 'mars-cut'"));
	assert_false(ost_drill_is_running(f->drill));
	r = run(f, "drill start foreign-cut --duration 10m --json", 0);
	assert_non_null(strstr(r, "\"id\":\"drill-foreign-cut-"));
	r = run(f, "drill start tld-cut", -EBUSY);
	assert_non_null(strstr(r, "ERR a drill is already running (drill-foreign-cut-"));
	struct ost_drill_report rep;
	assert_int_equal(ost_drill_report_get(f->drill, &rep), 0);
	assert_int_equal(rep.profile, OST_DRILL_FOREIGN_CUT); /* unchanged */
	r = run(f, "drill start tld-cut --duration 3d", -EINVAL);
	fake_clock_advance(&f->clk, 5000);
	r = run(f, "drill report --json", 0);
	assert_non_null(strstr(r, "\"profile\":\"foreign-cut\",\"running\":true"));
	r = run(f, "drill stop", 0);
	r = run(f, "drill report", 0);
	assert_non_null(strstr(r, "stopped by: operator"));
	assert_false(ost_drill_is_running(f->drill));
	cfx_free(f);
}

/*
 * ---------------------------------------------------------------------------
 * Socket
 * ---------------------------------------------------------------------------
 */

/* Run ostrovctl; @return its exit status, stdout in @p out (malloc'd) */
static int ostrovctl(const char *sock, char **out, const char *a1, const char *a2, const char *a3,
		     const char *a4)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);
		close(pfd[0]);
		execl(OSTROVCTL_PATH, "ostrovctl", "-s", sock, a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	struct ost_buf b = {0};
	char buf[4096];
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		ost_buf_printf(&b, "%.*s", (int)n, buf);
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*out = strdup(ost_buf_str(&b));
	ost_buf_deinit(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_ctl_socket_roundtrip(void **state)
{
	(void)state;
	struct cfx *f = cfx_new();
	char dir[] = "/tmp/ostrov-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	struct ost_ctl_server *srv = NULL;
	assert_int_equal(ost_ctl_server_start(path, f->d, &srv), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());

	/* in-process client */
	struct ost_buf b = {0};
	assert_int_equal(ost_ctl_client_call(path, "status --json", 5000, &b), 0);
	assert_non_null(
		strstr(ost_buf_str(&b), "OK\n{\"ok\":true,\"failover\":{\"state\":\"NORMAL\""));
	ost_buf_deinit(&b);
	/* garbage on the socket: a clear error, server still fine */
	assert_int_equal(ost_ctl_client_call(path, "\x05\x06garbage\x01", 5000, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "ERR control character"));
	ost_buf_deinit(&b);
	char *big = malloc(10000);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	assert_int_equal(ost_ctl_client_call(path, big, 5000, &b), 0);
	assert_string_equal(ost_buf_str(&b), "ERR request longer than 4096 bytes\n");
	ost_buf_deinit(&b);
	free(big);

	/* the real ostrovctl binary */
	char *out = NULL;
	assert_int_equal(ostrovctl(path, &out, "isolate", "--json", NULL, NULL), 0);
	assert_string_equal(out, "{\"ok\":true,\"state\":\"ISOLATED\",\"previous\":\"NORMAL\"}\n");
	free(out);
	assert_int_equal(ostrovctl(path, &out, "isolate", NULL, NULL, NULL), 1);
	free(out);
	assert_int_equal(ostrovctl(path, &out, "status", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "state:        ISOLATED (forced by operator)"));
	free(out);
	assert_int_equal(ostrovctl(path, &out, "unisolate", NULL, NULL, NULL), 0);
	free(out);
	assert_int_equal(ostrovctl(path, &out, "unisolate", "--json", NULL, NULL), 1);
	assert_string_equal(out,
			    "{\"ok\":false,\"error\":\"not isolated (state is RECOVERING)\"}\n");
	free(out);
	assert_int_equal(ostrovctl(path, &out, "drill", "start", "mars-cut", NULL), 2);
	free(out);
	assert_int_equal(ostrovctl(path, &out, "drill", "start", "tld-cut", "--json"), 0);
	assert_non_null(strstr(out, "\"profile\":\"tld-cut\""));
	free(out);
	assert_int_equal(ostrovctl(path, &out, "drill", "start", "tld-cut", NULL), 1);
	free(out);
	assert_int_equal(ostrovctl(path, &out, "drill", "stop", NULL, NULL), 0);
	free(out);
	assert_int_equal(ostrovctl(path, &out, "drill", "report", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"stop_reason\":\"operator\""));
	free(out);
	assert_int_equal(ostrovctl(path, &out, "reload", NULL, NULL, NULL), 1);
	free(out);

	/* a second server on the same path replaces the stale socket; a regular file is refused */
	ost_ctl_server_stop(srv);
	assert_int_equal(lstat(path, &st), -1); /* unlinked */
	assert_int_equal(ost_ctl_client_call(path, "status", 1000, &b), -ENOENT);
	ost_buf_deinit(&b);
	FILE *fp = fopen(path, "w");
	fclose(fp);
	assert_int_equal(ost_ctl_server_start(path, f->d, &srv), -EEXIST);
	unlink(path);
	assert_int_equal(ostrovctl(path, &out, "status", NULL, NULL, NULL), 3);
	free(out);
	rmdir(dir);
	cfx_free(f);
}

/*
 * The executor contract as ostrovd will use it: handlers must run on the
 * thread that owns the engine objects (the main loop). Here a "loop" thread
 * waits for jobs; the executor hands each job over and waits until it ran.
 */
struct loop {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(void *);
	void *arg;
	bool is_done, is_quit;
	pthread_t thread;
	unsigned jobs;
};

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->fn && !l->is_quit)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->is_quit)
			break;
		void (*fn)(void *) = l->fn;
		pthread_mutex_unlock(&l->mu);
		fn(l->arg);
		pthread_mutex_lock(&l->mu);
		l->fn = NULL;
		l->is_done = true;
		l->jobs++;
		pthread_cond_broadcast(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void exec_on_loop(void *ctx, void (*fn)(void *), void *arg)
{
	struct loop *l = ctx;
	pthread_mutex_lock(&l->mu);
	l->fn = fn;
	l->arg = arg;
	l->is_done = false;
	pthread_cond_broadcast(&l->cv);
	while (!l->is_done)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

static pthread_t handler_thread;

static int h_whoami(const struct ost_ctl_request *req, struct ost_buf *out, void *arg)
{
	(void)req;
	(void)arg;
	handler_thread = pthread_self();
	ost_buf_printf(out, "ran\n");
	return 0;
}

static void test_ctl_executor_thread(void **state)
{
	(void)state;
	struct loop l = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	assert_int_equal(pthread_create(&l.thread, NULL, loop_main, &l), 0);
	struct ost_ctl_dispatch *d = ost_ctl_dispatch_new();
	assert_int_equal(ost_ctl_register(d, OST_CTL_STATS, h_whoami, NULL), 0);
	assert_int_equal(ost_ctl_register(d, OST_CTL_CMD_COUNT, h_whoami, NULL), -EINVAL);
	ost_ctl_set_executor(d, exec_on_loop, &l);
	char dir[] = "/tmp/ostrov-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	struct ost_ctl_server *srv = NULL;
	assert_int_equal(ost_ctl_server_start(path, d, &srv), 0);
	struct ost_buf b = {0};
	assert_int_equal(ost_ctl_client_call(path, "stats", 5000, &b), 0);
	assert_string_equal(ost_buf_str(&b), "OK\nran\n");
	ost_buf_deinit(&b);
	assert_true(pthread_equal(handler_thread, l.thread));
	assert_int_equal(l.jobs, 1);
	/* garbage never reaches the loop */
	assert_int_equal(ost_ctl_client_call(path, "stats stats", 5000, &b), 0);
	assert_non_null(strstr(ost_buf_str(&b), "ERR usage: stats"));
	ost_buf_deinit(&b);
	assert_int_equal(l.jobs, 1);
	ost_ctl_server_stop(srv);
	rmdir(dir);
	pthread_mutex_lock(&l.mu);
	l.is_quit = true;
	pthread_cond_broadcast(&l.cv);
	pthread_mutex_unlock(&l.mu);
	pthread_join(l.thread, NULL);
	ost_ctl_dispatch_free(d);
}

/* In a child as "nobody": try the socket. @return 0 EACCES, 1 refused by the server, 2 other */
static int try_as_nobody(const char *path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(9);
		struct ost_buf b = {0};
		int rc = ost_ctl_client_call(path, "isolate", 5000, &b);
		if (rc == -EACCES)
			_exit(0);
		if (rc == 0 && strstr(ost_buf_str(&b), "ERR permission denied"))
			_exit(1);
		_exit(2);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_ctl_socket_non_owner(void **state)
{
	(void)state;
	assert_true(ost_ctl_peer_allowed(0, 1000));
	assert_true(ost_ctl_peer_allowed(1000, 1000));
	assert_false(ost_ctl_peer_allowed(1001, 1000));
	if (geteuid() != 0) {
		print_message("  not root: the cross-user part needs to switch users; skipped\n");
		skip();
	}
	struct cfx *f = cfx_new();
	char dir[] = "/tmp/ostrov-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0); /* only the socket's own mode protects it */
	char path[128];
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	struct ost_ctl_server *srv = NULL;
	assert_int_equal(ost_ctl_server_start(path, f->d, &srv), 0);
	/* lock 1: mode 0600 */
	assert_int_equal(try_as_nobody(path), 0);
	/* lock 2: even through a socket opened up by mistake, SO_PEERCRED refuses */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(try_as_nobody(path), 1);
	assert_int_equal(ost_fo_state(f->fo), OST_FO_NORMAL); /* nothing happened */
	ost_ctl_server_stop(srv);
	rmdir(dir);
	cfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_parse_commands),
		cmocka_unit_test(test_ctl_parse_garbage),
		cmocka_unit_test(test_ctl_duration),
		cmocka_unit_test(test_ctl_format_roundtrip),
		cmocka_unit_test(test_ctl_parse_random),
		cmocka_unit_test(test_ctl_dispatch_failover),
		cmocka_unit_test(test_ctl_dispatch_drill),
		cmocka_unit_test(test_ctl_socket_roundtrip),
		cmocka_unit_test(test_ctl_executor_thread),
		cmocka_unit_test(test_ctl_socket_non_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
