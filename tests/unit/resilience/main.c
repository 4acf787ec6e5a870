/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The resilience unit-test executable: runs the failover, probe and drill
 * groups, and holds the stderr capture helper they share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests_resilience.h"

void capture_start(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	if (!c->tmp)
		abort();
	c->saved_fd = dup(STDERR_FILENO);
	dup2(fileno(c->tmp), STDERR_FILENO);
}

char *capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	long n = ftell(c->tmp);
	char *s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	rewind(c->tmp);
	if (n > 0 && fread(s, 1, (size_t)n, c->tmp) != (size_t)n)
		abort();
	fclose(c->tmp);
	return s;
}

int main(void)
{
	int rc = 0;
	rc |= _cmocka_run_group_tests("failover", failover_tests, failover_tests_n, NULL, NULL);
#ifdef OST_TEST_PROBE
	rc |= _cmocka_run_group_tests("probe", probe_tests, probe_tests_n, NULL, NULL);
#endif
#ifdef OST_TEST_DRILL
	rc |= _cmocka_run_group_tests("drill", drill_tests, drill_tests_n, NULL, NULL);
#endif
	return rc;
}
