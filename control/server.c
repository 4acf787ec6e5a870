/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control socket server: a unix stream socket created with mode 0600 (so
 * only its owner, and root, can connect at all) and a second lock, the peer
 * uid from SO_PEERCRED, which must be root or the daemon's own. One small
 * blocking thread serves one request per connection with a 5 s deadline, so
 * a stuck or malicious client cannot hold the daemon; the engine objects are
 * only touched through the dispatcher's executor. control/ is not engine
 * code, so plain POSIX sockets and the system clock are fine here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ostrov/control.h"
#include "ostrov/log.h"

#define REQUEST_DEADLINE_MS 5000

struct ost_ctl_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	int wake[2];
	pthread_t thread;
	struct ost_ctl_dispatch *d;
	uid_t daemon_uid;
};

bool ost_ctl_peer_allowed(uid_t uid, uid_t daemon_uid)
{
	return uid == 0 || uid == daemon_uid;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client went away; nothing to tell it */
		p += n;
		len -= (size_t)n;
	}
}

/* Read one line within the deadline. @return its length, or -1 (timeout, error, too long). */
static ssize_t read_line(int fd, char *buf, size_t cap, bool *is_too_long)
{
	size_t len = 0;
	int64_t deadline = now_ms() + REQUEST_DEADLINE_MS;
	*is_too_long = false;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return (ssize_t)len; /* EOF without newline: take what came */
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl)
			return nl - buf + 1;
		if (len == cap) {
			*is_too_long = true;
			return -1;
		}
	}
}

/*
 * Closing a unix socket with unread input resets the connection, and the
 * client may lose our reply; read (and ignore) what it sent, briefly.
 */
static void drain(int cfd)
{
	char buf[1024];
	shutdown(cfd, SHUT_WR);
	for (int i = 0; i < 8; i++) {
		struct pollfd pfd = {.fd = cfd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			return;
		if (recv(cfd, buf, sizeof(buf), 0) <= 0)
			return;
	}
}

static void serve(struct ost_ctl_server *s, int cfd)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		send_all(cfd, "ERR cannot identify the peer\n", 29);
		return;
	}
	if (!ost_ctl_peer_allowed(cr.uid, s->daemon_uid)) {
		ost_log(OST_LOG_WARN, "control", "connection refused uid=%u pid=%d",
			(unsigned)cr.uid, (int)cr.pid);
		const char *msg = "ERR permission denied: only root and the daemon's user may "
				  "control it\n";
		send_all(cfd, msg, strlen(msg));
		drain(cfd);
		return;
	}
	char *buf = malloc(OST_CTL_LINE_MAX + 3);
	if (!buf) {
		send_all(cfd, "ERR out of memory\n", 18);
		return;
	}
	bool is_too_long;
	ssize_t n = read_line(cfd, buf, OST_CTL_LINE_MAX + 2, &is_too_long);
	struct ost_buf reply = {0};
	if (n < 0) {
		ost_buf_printf(&reply, "ERR %s\n",
			       is_too_long ? "request longer than 4096 bytes"
					   : "no complete request within 5 s");
		if (is_too_long) {
			send_all(cfd, ost_buf_str(&reply), reply.len);
			drain(cfd);
			ost_buf_deinit(&reply);
			free(buf);
			return;
		}
	} else {
		char op[64];
		snprintf(op, sizeof(op), "uid:%u", (unsigned)cr.uid);
		(void)ost_ctl_handle_line(s->d, buf, (size_t)n, op, &reply);
	}
	if (reply.has_oom)
		send_all(cfd, "ERR out of memory\n", 18);
	else
		send_all(cfd, ost_buf_str(&reply), reply.len);
	ost_buf_deinit(&reply);
	free(buf);
}

static void *server_main(void *arg)
{
	struct ost_ctl_server *s = arg;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN},
					{.fd = s->wake[0], .events = POLLIN}};
		int pr = poll(pfd, 2, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0 || pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		int cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		serve(s, cfd);
		close(cfd);
	}
	return NULL;
}

int ost_ctl_server_start(const char *path, struct ost_ctl_dispatch *d, struct ost_ctl_server **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path); /* a socket left by a previous run */
	}
	struct ost_ctl_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->d = d;
	s->daemon_uid = geteuid();
	s->wake[0] = s->wake[1] = -1;
	int rc = 0;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		goto fail;
	}
	strcpy(sa.sun_path, path);
	/*
	 * The socket file gets its mode at bind(); with umask 0177 it is born
	 * 0600, so there is no window in which others could connect. umask is
	 * process-wide, but it only narrows what other threads create meanwhile.
	 */
	mode_t old = umask(0177);
	int b = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	int bind_errno = errno;
	umask(old);
	if (b < 0) {
		rc = -bind_errno;
		goto fail;
	}
	if (chmod(path, 0600) < 0 || listen(s->fd, 16) < 0 || pipe2(s->wake, O_CLOEXEC) < 0) {
		rc = -errno;
		unlink(path);
		goto fail;
	}
	rc = -pthread_create(&s->thread, NULL, server_main, s);
	if (rc < 0) {
		unlink(path);
		goto fail;
	}
	ost_log(OST_LOG_INFO, "control", "control socket ready path=%s mode=0600", path);
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s);
	return rc;
}

void ost_ctl_server_stop(struct ost_ctl_server *s)
{
	if (!s)
		return;
	ssize_t w;
	do
		w = write(s->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->wake[0]);
	close(s->wake[1]);
	unlink(s->path);
	free(s);
}
