/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ost_replay: the replay conformance runner's command line.
 *
 *   ost_replay [--skip FILE] [--echo] [-v] SCENARIO.rpl
 *       run one scenario; exit 0 passed, 1 failed, 2 could not run,
 *       77 listed in the skip file (ctest SKIP_RETURN_CODE).
 *   ost_replay --all [--skip FILE] [--echo] DIR...
 *       run every *.rpl of each DIR, each in a child process (a crash
 *       fails that scenario only), and print
 *       "replay: N passed, N failed, N skipped"; exit 1 if any failed.
 *
 * The skip file has one "<dir>/<file>.rpl <reason>" per line ('#' starts a
 * comment); a scenario is skipped when its path ends with "/<dir>/<file>".
 * --echo runs the self-test forwarder (run_echo.c) instead of the engine.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpl.h"

#ifdef OST_REPLAY_HAVE_ENGINE
/** The real engine (run_engine.c). */
extern const struct rpl_resolver_ops rpl_engine_resolver;
#endif

/** Exit code ctest reads as "skipped". */
#define EXIT_SKIPPED 77

struct options {
	const char *skip_file;
	bool is_echo;
	bool verbose;
	bool is_all;
};

/** @return the reason when @p path is listed in the skip file, else NULL (malloc'd) */
static char *skip_reason(const char *skip_file, const char *path)
{
	FILE *f;
	char line[1024];
	char *reason = NULL;

	if (!skip_file)
		return NULL;
	f = fopen(skip_file, "r");
	if (!f) {
		fprintf(stderr, "ost_replay: cannot open skip file %s: %s\n", skip_file,
			strerror(errno));
		exit(2);
	}
	while (!reason && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *key = strtok(line, " \t\r\n");
		if (!key)
			continue;
		char *why = strtok(NULL, "\r\n");
		size_t kl = strlen(key), pl = strlen(path);
		if ((pl == kl && strcmp(path, key) == 0) ||
		    (pl > kl && path[pl - kl - 1] == '/' && strcmp(path + pl - kl, key) == 0)) {
			while (why && (*why == ' ' || *why == '\t'))
				why++;
			reason = strdup(why && *why ? why : "(no reason given)");
		}
	}
	fclose(f);
	return reason;
}

static const struct rpl_resolver_ops *resolver(const struct options *o)
{
	if (o->is_echo)
		return &rpl_echo_resolver;
#ifdef OST_REPLAY_HAVE_ENGINE
	return &rpl_engine_resolver;
#else
	return NULL;
#endif
}

/** Run one scenario; @return an exit code. */
static int run_one(const struct options *o, const char *path)
{
	char err[1024];
	struct rpl_scenario *sc;
	const struct rpl_resolver_ops *ops = resolver(o);
	char *reason = skip_reason(o->skip_file, path);

	if (reason) {
		printf("SKIP %s: %s\n", path, reason);
		free(reason);
		return EXIT_SKIPPED;
	}
	if (rpl_parse_file(path, &sc, err, sizeof(err)) != 0) {
		printf("ERROR %s\n", err);
		return 2;
	}
	if (!ops) {
		printf("FAIL %s: the engine is not built (include/ostrov/resolver.h missing); "
		       "list the scenario in skip.txt or build the engine\n",
		       path);
		rpl_scenario_free(sc);
		return 1;
	}
	enum rpl_verdict v = rpl_run(sc, ops, stdout, o->verbose);
	if (v == RPL_PASS)
		printf("PASS %s (%zu steps)\n", path, sc->nsteps);
	rpl_scenario_free(sc);
	return v == RPL_PASS ? 0 : v == RPL_FAIL ? 1 : 2;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_all(const struct options *o, int ndirs, char **dirs)
{
	unsigned passed = 0, failed = 0, skipped = 0;

	for (int d = 0; d < ndirs; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;
		char **files = NULL;
		size_t n = 0;

		if (!dir) {
			printf("ERROR %s: %s\n", dirs[d], strerror(errno));
			failed++;
			continue;
		}
		while ((de = readdir(dir)) != NULL) {
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 4, ".rpl") != 0)
				continue;
			char **nf = realloc(files, (n + 1) * sizeof(*nf));
			if (!nf || asprintf(&nf[n], "%s/%s", dirs[d], de->d_name) < 0) {
				fprintf(stderr, "ost_replay: out of memory\n");
				exit(2);
			}
			files = nf;
			n++;
		}
		closedir(dir);
		if (n)
			qsort(files, n, sizeof(*files), cmp_str);
		for (size_t i = 0; i < n; i++) {
			int status = 0;
			fflush(stdout);
			pid_t pid = fork();
			if (pid == 0)
				_exit(run_one(o, files[i]));
			if (pid < 0 || waitpid(pid, &status, 0) != pid) {
				printf("ERROR %s: cannot run: %s\n", files[i], strerror(errno));
				failed++;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				passed++;
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIPPED) {
				skipped++;
			} else {
				if (WIFSIGNALED(status))
					printf("FAIL %s: killed by signal %d\n", files[i],
					       WTERMSIG(status));
				failed++;
			}
			free(files[i]);
		}
		free(files);
	}
	printf("replay: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ost_replay [--skip FILE] [--echo] [-v] SCENARIO.rpl\n"
			"       ost_replay --all [--skip FILE] [--echo] DIR...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
			o.skip_file = argv[++i];
		else if (strcmp(argv[i], "--echo") == 0)
			o.is_echo = true;
		else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
			o.verbose = true;
		else if (strcmp(argv[i], "--all") == 0)
			o.is_all = true;
		else
			usage();
	}
	if (i >= argc || (!o.is_all && i + 1 != argc))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.is_all)
		return run_all(&o, argc - i, argv + i);
	return run_one(&o, argv[i]);
}
