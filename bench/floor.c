// SPDX-License-Identifier: BSD-2-Clause
/*
 * The benchmark floor: a trivial UDP responder that answers every DNS query with the query
 * itself, QR bit set, and does nothing else. It reads and writes in batches of 64 with
 * recvmmsg()/sendmmsg() on one blocking socket per thread, so its CPU time per query is about
 * the least any resolver can spend on this machine's loopback: the kernel's share of one
 * receive and one send plus almost nothing in user space. bench/run.py measures it exactly
 * like the resolvers and prints every resolver's cost as a multiple of it.
 *
 * Usage: floor [-a ADDR] [-p PORT] [-t THREADS] [-g]   (defaults 127.0.0.1, 5304, 1, off)
 * With several threads each one owns an SO_REUSEPORT socket, like a resolver's workers.
 * It runs until killed; loopback addresses only.
 *
 * -g (an experiment, off by default so the floor keeps its meaning) sends the answers of a
 * batch that go to the same peer with the same length as ONE message with a UDP_SEGMENT
 * (UDP GSO, Linux >= 4.18) control message: the kernel walks the send path once and splits
 * the datagram again at the receiving socket. Answers to other peers or of other lengths go
 * as before, in the same sendmmsg(). Every 2^16 answers it prints on stderr the share that
 * went out in such groups.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH      64
#define BUF_SIZE   4096
#define HDR_SIZE   12
#define MAX_THREAD 16

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* include/uapi/linux/udp.h, for older C libraries */
#endif

static int use_gso; /* -g */

/** One worker: its socket and its batch buffers. */
struct floor_worker {
	int fd;                              /**< bound UDP socket */
	pthread_t thread;                    /**< the thread serving fd */
	struct mmsghdr msgs[BATCH];          /**< batch headers, reused */
	struct iovec iovs[BATCH];            /**< one iovec per message */
	struct sockaddr_in peers[BATCH];     /**< senders, replies go back there */
	unsigned char bufs[BATCH][BUF_SIZE]; /**< message buffers */
	unsigned long answers;               /**< answers sent (-g statistics) */
	unsigned long in_gso;                /**< of which in UDP_SEGMENT groups */
};

/** Control buffer of one UDP_SEGMENT message. */
union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))]; /**< the cmsg */
	struct cmsghdr align;                   /**< alignment */
};

static int same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/*
 * -g: regroup the m answers in out[] so that answers with the same peer and length form one
 * message with one iovec per answer and a UDP_SEGMENT cmsg. Order within a peer and length
 * is kept. @return the number of messages now in out[]
 */
static int group_gso(struct floor_worker *w, struct mmsghdr *out, int m, struct iovec *giov,
		     union gso_cmsg *cms)
{
	struct mmsghdr in[BATCH];
	int used[BATCH] = {0};
	int k = 0, nv = 0;
	memcpy(in, out, (size_t)m * sizeof(in[0]));
	for (int i = 0; i < m; i++) {
		if (used[i]) {
			continue;
		}
		const struct sockaddr_in *peer = in[i].msg_hdr.msg_name;
		size_t len = in[i].msg_hdr.msg_iov->iov_len;
		struct msghdr *h = &out[k].msg_hdr;
		*h = in[i].msg_hdr;
		h->msg_iov = &giov[nv];
		h->msg_iovlen = 0;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		out[k].msg_len = 0;
		for (int j = i; j < m; j++) {
			if (used[j] || in[j].msg_hdr.msg_iov->iov_len != len ||
			    !same_peer(peer, in[j].msg_hdr.msg_name)) {
				continue;
			}
			used[j] = 1;
			giov[nv++] = *in[j].msg_hdr.msg_iov;
			h->msg_iovlen++;
		}
		if (h->msg_iovlen > 1) {
			h->msg_control = cms[k].buf;
			h->msg_controllen = sizeof(cms[k].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)len;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			w->in_gso += h->msg_iovlen;
		}
		k++;
	}
	w->answers += (unsigned long)m;
	if ((w->answers >> 16) != ((w->answers - (unsigned long)m) >> 16)) {
		fprintf(stderr, "floor: answers=%lu in_gso=%lu (%.1f %%)\n", w->answers, w->in_gso,
			100.0 * (double)w->in_gso / (double)w->answers);
	}
	return k;
}

static int open_socket(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		return -errno;
	}
	int one = 1;
	int rcvbuf = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	/* A larger buffer only absorbs bursts; failure to enlarge it is harmless. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/*
 * Receive up to BATCH datagrams (blocking for the first one only), turn each query into its
 * own answer and send the batch back in one call. Packets shorter than a DNS header or with
 * QR already set are dropped, so two floors can never ping-pong.
 */
static void *serve(void *arg)
{
	struct floor_worker *w = arg;
	struct mmsghdr out[BATCH];
	struct iovec giov[BATCH];
	union gso_cmsg cms[BATCH];

	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			w->iovs[i].iov_base = w->bufs[i];
			w->iovs[i].iov_len = BUF_SIZE;
			memset(&w->msgs[i].msg_hdr, 0, sizeof(w->msgs[i].msg_hdr));
			w->msgs[i].msg_hdr.msg_iov = &w->iovs[i];
			w->msgs[i].msg_hdr.msg_iovlen = 1;
			w->msgs[i].msg_hdr.msg_name = &w->peers[i];
			w->msgs[i].msg_hdr.msg_namelen = sizeof(w->peers[i]);
		}
		int n = recvmmsg(w->fd, w->msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("floor: recvmmsg");
			exit(1);
		}
		int m = 0;
		for (int i = 0; i < n; i++) {
			unsigned char *pkt = w->bufs[i];
			size_t len = w->msgs[i].msg_len;
			if (len < HDR_SIZE || (pkt[2] & 0x80) != 0) {
				continue;
			}
			pkt[2] |= 0x80; /* QR: this is a response (RFC 1035 section 4.1.1) */
			w->iovs[i].iov_len = len;
			out[m] = w->msgs[i];
			out[m].msg_len = 0;
			m++;
		}
		if (use_gso) {
			m = group_gso(w, out, m, giov, cms);
		}
		int sent = 0;
		while (sent < m) {
			int r = sendmmsg(w->fd, out + sent, (unsigned)(m - sent), 0);
			if (r < 0) {
				if (errno == EINTR) {
					continue;
				}
				/* A full send buffer drops the rest of the batch: that is loss. */
				break;
			}
			sent += r;
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor [-a ADDR] [-p PORT] [-t THREADS] [-g]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr_str = "127.0.0.1";
	long port = 5304;
	long threads = 1;
	int opt;

	while ((opt = getopt(argc, argv, "a:p:t:gh")) != -1) {
		switch (opt) {
		case 'a':
			addr_str = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			break;
		case 'g':
			use_gso = 1;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || threads < 1 || threads > MAX_THREAD) {
		usage();
	}

	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr_str, &addr.sin_addr) != 1) {
		fprintf(stderr, "floor: bad IPv4 address '%s'\n", addr_str);
		return 2;
	}
	/* The lab rule: nothing here ever listens or answers outside 127.0.0.0/8. */
	if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "floor: %s is not a loopback address\n", addr_str);
		return 2;
	}

	static struct floor_worker workers[MAX_THREAD];
	for (long i = 0; i < threads; i++) {
		workers[i].fd = open_socket(&addr);
		if (workers[i].fd < 0) {
			fprintf(stderr, "floor: bind %s@%ld: %s\n", addr_str, port,
				strerror(-workers[i].fd));
			return 1;
		}
	}
	for (long i = 1; i < threads; i++) {
		int err = pthread_create(&workers[i].thread, NULL, serve, &workers[i]);
		if (err != 0) {
			fprintf(stderr, "floor: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	serve(&workers[0]);
	return 0;
}
