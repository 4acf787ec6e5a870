/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The client side of the control protocol: connect to the unix socket, send
 * one line, read the whole reply until the server closes. Used by ostrovctl
 * and by the tests.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ostrov/control.h"

/* Replies are small (a report is a few kB); anything larger is a broken server. */
#define REPLY_MAX (16u << 20)

int ost_ctl_client_call(const char *path, const char *line, int timeout_ms, struct ost_buf *reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	size_t len = strlen(line);
	const char *parts[2] = {line, "\n"};
	size_t lens[2] = {len, 1};
	for (int i = 0; i < 2; i++) {
		const char *p = parts[i];
		size_t left = lens[i];
		while (left) {
			ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = -errno;
				goto out;
			}
			p += n;
			left -= (size_t)n;
		}
	}
	shutdown(fd, SHUT_WR);
	char buf[4096];
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (pr < 0) {
			rc = -errno;
			goto out;
		}
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* the server may reset after refusing us: keep what it said */
			rc = reply->len ? 0 : -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (reply->len + (size_t)n > REPLY_MAX) {
			rc = -EMSGSIZE;
			goto out;
		}
		if (ost_buf_printf(reply, "%.*s", (int)n, buf) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}
