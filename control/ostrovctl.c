/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ostrovctl: the operator's command-line client of the control socket.
 * `ostrovctl [-s SOCKET] COMMAND [ARGS] [--json]`. The command is checked
 * here first (a typo exits 2 without touching the daemon), sent as one
 * canonical line, and the reply's body goes to stdout; errors go to stderr.
 * Exit codes: 0 done, 1 the daemon refused the command, 2 usage error,
 * 3 the daemon could not be reached or answered garbage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ostrov/control.h"

#define DEFAULT_SOCKET "/run/ostrov/control.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ostrovctl [-s SOCKET] COMMAND [--json]\n"
		"commands:\n"
		"  status                          state, evidence, mirrors, probes\n"
		"  stats                           counters\n"
		"  cache flush [NAME]              flush the cache (or one name)\n"
		"  zone list                       mirrored zones\n"
		"  zone refresh NAME               refresh a mirror now\n"
		"  zone import NAME FILE           import a zone file into a mirror\n"
		"  mirror extend NAME DURATION     serve an expired mirror a while longer (EDE 3)\n"
		"  isolate | unisolate             force isolation / end it\n"
		"  drill start PROFILE [--duration S]  foreign-cut, foreign-loss, tld-cut,\n"
		"                                  poisoned-source\n"
		"  drill stop | drill report       end a drill / show its results\n"
		"  reload                          re-read the configuration (as SIGHUP)\n"
		"  nta add NAME [DURATION]         validation off for NAME and below, for a\n"
		"                                  while (default 1h; RFC 7646)\n"
		"  nta remove NAME | nta list      end one / show them all\n"
		"SOCKET defaults to $OSTROV_CONTROL_SOCKET or " DEFAULT_SOCKET ".\n");
}

int main(int argc, char **argv)
{
	const char *path = getenv("OSTROV_CONTROL_SOCKET");
	if (!path || !*path)
		path = DEFAULT_SOCKET;
	int i = 1;
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--json") != 0) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) &&
		    i + 1 < argc) {
			path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "ostrovctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	struct ost_ctl_request req;
	char err[256];
	if (ost_ctl_parse_argv(argc - i, argv + i, &req, err, sizeof(err)) < 0) {
		fprintf(stderr, "ostrovctl: %s\n", err);
		if (i == argc)
			usage(stderr);
		return 2;
	}
	struct ost_buf line = {0}, reply = {0};
	int fret = ost_ctl_format_line(&req, &line);
	if (fret < 0) {
		fprintf(stderr, "ostrovctl: %s\n",
			fret == -E2BIG ? "request longer than the control protocol allows"
				       : "out of memory");
		ost_buf_deinit(&line);
		return fret == -E2BIG ? 2 : 3;
	}
	int rc = ost_ctl_client_call(path, ost_buf_str(&line), 60000, &reply);
	ost_buf_deinit(&line);
	if (rc < 0) {
		fprintf(stderr, "ostrovctl: cannot reach ostrovd at %s: %s\n", path, strerror(-rc));
		ost_buf_deinit(&reply);
		return 3;
	}
	const char *r = ost_buf_str(&reply);
	const char *body = strchr(r, '\n');
	body = body ? body + 1 : r + reply.len;
	int status;
	if (strncmp(r, "OK\n", 3) == 0) {
		fputs(body, stdout);
		status = 0;
	} else if (strncmp(r, "ERR ", 4) == 0) {
		fprintf(stderr, "ostrovctl: %.*s\n", (int)(strcspn(r + 4, "\n")), r + 4);
		if (req.is_json)
			fputs(body, stdout);
		status = 1;
	} else {
		fprintf(stderr, "ostrovctl: unexpected reply from %s\n", path);
		status = 3;
	}
	ost_buf_deinit(&reply);
	return status;
}
