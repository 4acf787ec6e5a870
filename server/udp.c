/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Client-facing UDP: one socket per worker and listen address, all bound to
 * the same address and port with SO_REUSEPORT, so the kernel hashes clients
 * over the workers with no shared queue and no lock.
 *
 * The sockets are created and bound by the main thread (ost_udp_socket) so
 * that a bind failure is reported before any thread starts; each worker then
 * watches its own with a uv_poll_t and does the I/O itself, because libuv's
 * uv_udp_t receives in batches but sends every reply with its own system call.
 *
 * One batch, per readable event (on_poll):
 *   recvmmsg(64) into per-slot receive buffers
 *   -> per datagram: ACL, ost_worker_on_message() (classification, cache hit)
 *   -> every reply produced meanwhile is copied by ost_udp_send() into the
 *      next per-slot send buffer (the one copy)
 *   -> one sendmmsg() for the whole batch, where replies of one size to one
 *      client travel as one UDP GSO message (server.udp-gso, build_gso()).
 * It repeats while the socket has a full batch queued, up to BATCH_ROUNDS
 * times, then returns to the loop so TCP and upstream replies get their turn.
 *
 * Replies made outside a batch (cache misses answered when an upstream reply
 * arrives) take the same slots and leave together, with one sendmmsg(), when
 * DEFER_MAX of them wait, at the end of the loop iteration's I/O phase (a
 * uv_check_t), or in the idle phase before the loop could block again (a
 * uv_idle_t: replies made by timers or after the check ran). So no reply
 * waits for another event, and the added delay is at most the rest of the
 * iteration. perf had shown sendto() at ~11 % of a cache-miss resolution,
 * half of it waking the idle client inside the call, which one sendmmsg()
 * pays once. Measured in the lab (1 worker, 9,902 distinct validated names,
 * dnsperf -q 200, alternating runs on a busy machine), CPU us per
 * resolution, medians: libuv udp.c 229, batched receive only 238, this 203.
 *
 * Adaptive receive coalescing (server.udp-coalesce-us, the window W; 0 is
 * off), the idea of NIC interrupt moderation and NAPI. On an otherwise idle
 * core at 40k qps a readable event found 2.0 datagrams on average (a third
 * of the recvmmsg() calls returned one, at 20k qps 1.3), so every query paid
 * half an epoll wake-up and context switch, recvmmsg() and sendmmsg() (which
 * wakes the client), and about 90 % of the hit cost was kernel work. So
 * each listener keeps a moving average of the time between datagrams
 * (gap_ns, per wake-up: the time since the last one over the datagrams it
 * read). When it is
 * below W/2 (more than two datagrams per window), after a batch the socket
 * is no longer watched and a timerfd (libuv timers have 1 ms steps) is armed
 * for W; when it fires, everything queued is read with recvmmsg() and
 * answered with one sendmmsg() (one wake-up of the client), and the timer
 * is armed again while the traffic keeps up. A window that finds nothing,
 * or an average back above W/2, returns to reading on every event, so a
 * datagram waits at most W (plus the batch before it) and at low rates
 * nothing waits at all: the first datagram after a quiet spell always
 * finds the socket watched. A window that ends with a full last round
 * re-arms at once. TCP, upstream replies and deferred sends are other
 * handles of the same loop and run as before; the timer only replaces the
 * socket's readable event. Measured (bench/coalesce_ab.py, alternating
 * rounds, bench/RESULTS.md 2026-11-26): at 40k qps W = 100 us cut ostrovd's
 * CPU per cache hit by 40 % (0.94x Unbound's -> 0.58x, Knot Resolver's 0.74x
 * -> 0.45x) with 6.4 datagrams per wake-up, for ~85 us more median latency
 * and the same p99; at 10k and 2k qps it never engaged; on a core starved by
 * other work (which batches by itself) it changed nothing measurable. But
 * on a quiet machine with the standard harness (bench/run.py's nice -10, not
 * SCHED_FIFO; 2026-11-27 00:03, 3 alternating rounds, load 1.3) dnsperf's
 * bursts already gave 4.6 datagrams per recvmmsg() without it, and W = 100
 * cost the same CPU (10.05 against 10.05 us per hit, Unbound 12.23) for
 * 150 instead of 62 us median latency: W = 100 is shorter than the gap
 * between dnsperf's bursts (~125 us at 40k qps), so a window rarely merged
 * two bursts. Longer windows do (2026-11-27 04:00, same harness, UDP GSO
 * on, 2 alternating rounds, medians): W = 150 7.26 us per hit, 200 6.46,
 * 250 5.91, 500 4.59, 1000 3.46, against 8.09 off and Unbound's 11.33;
 * median latency 172, 212, 270, 478, 822 us against 70 off and 60. On the
 * mixed set (gso_ab.py --mix) W = 200 gave 7.46 against 9.49 off (Unbound
 * 13.06). At 10k qps it engages at the edge (24.2 against 28.0 us, p50 117
 * against 81). So the default is W = 200: a fifth to a third less CPU per
 * query under load for ~150 us of median latency there, nothing at low
 * rates; 0 restores reading on every event for the lowest latency.
 *
 * The counters in the stats line (udp_wakeups, udp_recv_calls,
 * udp_datagrams, udp_batch_*, udp_send_calls, udp_coalesced, udp_gso_sends,
 * udp_gso_dgrams) show which regime a worker is in.
 *
 * A listener bound to a wildcard address (0.0.0.0@53, [::]@53) receives
 * queries sent to every local address, and a reply sent without a source
 * leaves from the one routing picks, which a client that asked another one
 * of a multi-homed host drops. So such a listener asks for each datagram's
 * destination (IP_PKTINFO, IPV6_RECVPKTINFO: a control buffer per receive
 * slot), the reply target carries it (ost_reply_to.local, also across an
 * upstream round trip), and every reply names it as its source in the same
 * kind of control message (udp_cmsg.c): in its send slot, after UDP_SEGMENT
 * in a GSO message (build_gso() groups only replies with one client and one
 * source), and on the queue. Listeners on a specific address set no control
 * buffers and send exactly as before.
 *
 * Nothing is allocated per packet: the slots belong to the listener; only
 * when the socket's send buffer is full is a reply copied onto a queue, which
 * drains when the socket is writable again.
 *
 * Slots are SLOT_SIZE (4 KiB) bytes. A longer query is dropped as truncated
 * (as libuv's UV_UDP_PARTIAL was); a reply longer than a slot (an EDNS
 * buffer above 4096 was configured) skips the batch and is sent at once.
 *
 * Socket buffers: SO_RCVBUF and SO_SNDBUF of SOCK_BUF_BYTES (8 MiB), with
 * SO_RCVBUFFORCE/SO_SNDBUFFORCE first so root is not capped by
 * net.core.rmem_max; the sizes the kernel granted are logged. With Linux's
 * default of about 208 KiB a 40k qps load lost 0.3 % of its queries whenever
 * the worker was descheduled for a few ms on a busy machine.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ostrov/log.h"

#include "udp_cmsg.h"
#include "worker.h"

#define BATCH          64
#define BATCH_ROUNDS   8
#define DEFER_MAX      8
#define SLOT_SIZE      4096
#define SOCK_BUF_BYTES (8 * 1024 * 1024)
/* UDP GSO: the longest reply sent as a segment, and the most payload per message. */
#define GSO_MAX_SEG    1232
#define GSO_MAX_BYTES  65000

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* include/uapi/linux/udp.h (Linux 4.18), for older C libraries */
#endif

_Static_assert(BATCH <= 64, "the GSO grouping marks taken slots in a uint64_t");

/* The control messages of one UDP GSO send: the segment size, then on a wildcard
 * listener the source (udp_cmsg.h). */
#define GSO_CMSG_SPACE CMSG_SPACE(sizeof(uint16_t))
union gso_cmsg {
	char buf[GSO_CMSG_SPACE + OST_UDP_PKTINFO_SPACE];
	struct cmsghdr align;
};

/* A reply waiting for the socket to become writable. */
struct queued_send {
	struct queued_send *next;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t ctllen;                 /* its source (wildcard listener) in ctl, or 0 */
	union ost_udp_pktinfo_buf ctl; /* (ctllen) */
	size_t len;
	uint8_t data[];
};

struct ost_udp_listener {
	uv_poll_t poll;   /* poll.data points back to this */
	uv_poll_t tpoll;  /* the coalescing timer (tfd), when tfd >= 0 */
	uv_check_t check; /* flushes replies made outside a batch ... */
	uv_idle_t idle;   /* ... or this, whichever runs first */
	int fd;
	int tfd; /* timerfd of receive coalescing, or -1 (then it is off) */
	struct ost_worker *w;
	const struct ost_addr *addr; /* from the configuration */
	int refs;                    /* held replies (ost_reply_hold) */
	bool closing;                /* uv_close() called */
	int open_handles;            /* poll, tpoll, check and idle until closed */
	bool in_batch;               /* replies go into the send slots */
	int events;                  /* UV_READABLE | UV_WRITABLE watched on fd */
	bool coalescing;             /* fd is not read on events: the timer reads it */
	bool defer_on;               /* check and idle are started */
	bool has_gso;                /* the kernel takes UDP_SEGMENT and it has not refused it */
	bool has_pktinfo;            /* wildcard address: replies name their source (udp_cmsg.h) */
	int family;                  /* the socket's address family */
	uint64_t last_rx_ns;         /* uv_hrtime() of the last wake-up that read datagrams */
	uint64_t gap_ns;             /* moving average of the time between datagrams */
	unsigned n_out;              /* send slots used in this batch */
	struct queued_send *q_head;  /* replies waiting for room */
	struct queued_send **q_tail;
	struct mmsghdr rmsg[BATCH];
	struct iovec riov[BATCH];
	struct sockaddr_storage rname[BATCH];
	union ost_udp_rctl_buf rctl[BATCH]; /* where each datagram went (has_pktinfo) */
	struct mmsghdr smsg[BATCH];
	struct iovec siov[BATCH];
	struct sockaddr_storage sname[BATCH];
	union ost_udp_pktinfo_buf spkt[BATCH]; /* each reply's source (has_pktinfo; controllen) */
	uint64_t skey[BATCH]; /* destination of each send slot, folded (equal keys: compare) */
	/* The batch regrouped for UDP GSO (build_gso): messages, their iovecs in order, the
	 * send slot of each iovec and each message's control buffer. */
	struct mmsghdr gmsg[BATCH];
	struct iovec giov[BATCH];
	uint8_t gslot[BATCH];
	union gso_cmsg gcmsg[BATCH];
	unsigned n_giov;
	uint8_t rbuf[BATCH][SLOT_SIZE];
	uint8_t sbuf[BATCH][SLOT_SIZE];
};

static socklen_t addr_len(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Raise one socket buffer: as root past net.core.{r,w}mem_max, else up to it. */
static void grow_buffer(int fd, int force_opt, int opt)
{
	int bytes = SOCK_BUF_BYTES;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static int buffer_size(int fd, int opt)
{
	int bytes = 0;
	socklen_t len = sizeof(bytes);
	if (getsockopt(fd, SOL_SOCKET, opt, &bytes, &len) < 0)
		return -1;
	return bytes;
}

int ost_udp_socket(const struct ost_addr *a)
{
	int family = a->ss.ss_family;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* An IPv6 socket must not also take the IPv4 port another entry may name. */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	/* Larger buffers only absorb bursts: failing to get them is not an error. */
	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}

/* ---- sending ------------------------------------------------------------------------ */

static void update_events(struct ost_udp_listener *l);

/* Queue a reply from source control message @p ctl (@p ctllen bytes, 0: none). */
static int enqueue(struct ost_udp_listener *l, const struct sockaddr *to, socklen_t tolen,
		   const union ost_udp_pktinfo_buf *ctl, size_t ctllen, const uint8_t *pkt,
		   size_t len)
{
	struct queued_send *qs = malloc(sizeof(*qs) + len);
	if (!qs)
		return -ENOMEM;
	qs->next = NULL;
	memcpy(&qs->to, to, tolen);
	qs->tolen = tolen;
	qs->ctllen = ctllen;
	if (ctllen)
		memcpy(qs->ctl.buf, ctl->buf, ctllen);
	qs->len = len;
	memcpy(qs->data, pkt, len);
	*l->q_tail = qs;
	l->q_tail = &qs->next;
	update_events(l);
	return 0;
}

/*
 * Send one reply, from the source in control message @p ctl when @p ctllen is not 0.
 * @return 0 when sent, 1 when the socket is full, or a negative errno
 */
static int send_one(struct ost_udp_listener *l, const struct sockaddr *to, socklen_t tolen,
		    const union ost_udp_pktinfo_buf *ctl, size_t ctllen, const uint8_t *pkt,
		    size_t len)
{
	struct iovec iov = {.iov_base = (void *)pkt, .iov_len = len};
	struct msghdr h = {.msg_name = (void *)to,
			   .msg_namelen = tolen,
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = (void *)ctl->buf,
			   .msg_controllen = ctllen};
	for (;;) {
		if ((ctllen ? sendmsg(l->fd, &h, MSG_DONTWAIT)
			    : sendto(l->fd, pkt, len, MSG_DONTWAIT, to, tolen)) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 1;
		return -errno;
	}
}

/* Send what waits on the queue, oldest first, while the socket takes it. */
static void drain_queue(struct ost_udp_listener *l)
{
	while (l->q_head) {
		struct queued_send *qs = l->q_head;
		int ret = send_one(l, (const struct sockaddr *)&qs->to, qs->tolen, &qs->ctl,
				   qs->ctllen, qs->data, qs->len);
		if (ret == 1)
			break;
		if (ret < 0)
			l->w->stats.send_failed++;
		l->q_head = qs->next;
		if (!l->q_head)
			l->q_tail = &l->q_head;
		free(qs);
	}
	update_events(l);
}

/* ---- UDP GSO ------------------------------------------------------------------------ */

/*
 * A destination (address and port) folded into 64 bits: exact for IPv4, a hash for IPv6.
 * Equal keys are confirmed with same_dest(); different keys are different destinations.
 */
static uint64_t dest_key(const struct sockaddr *to)
{
	if (to->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)to;
		return (uint64_t)in->sin_addr.s_addr << 16 | in->sin_port;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)to;
	uint64_t a, b;
	memcpy(&a, in6->sin6_addr.s6_addr, 8);
	memcpy(&b, in6->sin6_addr.s6_addr + 8, 8);
	return (a ^ (b * 0x9e3779b97f4a7c15u) ^ in6->sin6_scope_id) + in6->sin6_port + (1ull << 63);
}

/*
 * Whether send slots @p i and @p j go to one destination from one source. A
 * wildcard listener's replies to one client may leave from several of its
 * addresses (the client asked more than one), and one GSO message has one.
 */
static bool same_dest(const struct ost_udp_listener *l, unsigned i, unsigned j)
{
	const struct msghdr *a = &l->smsg[i].msg_hdr, *b = &l->smsg[j].msg_hdr;
	socklen_t len = a->msg_namelen;
	return l->skey[i] == l->skey[j] && len == b->msg_namelen &&
	       memcmp(&l->sname[i], &l->sname[j], len) == 0 &&
	       (!l->has_pktinfo ||
		(a->msg_controllen == b->msg_controllen &&
		 memcmp(l->spkt[i].buf, l->spkt[j].buf, a->msg_controllen) == 0));
}

/*
 * UDP GSO (UDP_SEGMENT, Linux 4.18): several datagrams of one size to one
 * destination go down as ONE message whose payload the kernel cuts into
 * segments of that size, the last one may be shorter. On loopback the
 * sender pays nearly the whole path of each datagram (ip_output, the
 * loopback device, the softirq's ip_rcv/udp_rcv, the enqueue and wake-up
 * of the receiver); with GSO it walks that path once per message and only
 * udp_rcv cuts it back into datagrams (the receiving socket gets them one
 * by one unless it asked for UDP_GRO); on a network device the cut is made
 * by the card or once in software before the driver. A client receives
 * exactly the datagrams it would get without it.
 *
 * So the batch is regrouped: each message takes a reply and then the
 * following replies to the same destination while they have the same
 * length, and then one shorter reply to it, if that comes next, as the
 * last segment; a longer reply to that destination ends the message (and
 * starts the next one), so the replies to one client keep their order.
 * Replies to other destinations stay single messages, in the same
 * sendmmsg(). A segment is at most GSO_MAX_SEG bytes (1232: it fits the
 * IPv6 minimum MTU of 1280 with its headers, as a segment must fit the
 * path's MTU: GSO never fragments) and a message at most GSO_MAX_BYTES.
 *
 * Where it pays: several replies to the same address and port in one batch,
 * i.e. a client that sends many queries from one socket (load generators,
 * a forwarder or load balancer with a fixed socket pool in front of us).
 * Stub resolvers pick a new source port per query: their replies never
 * share a message and go as before.
 *
 * Measured (bench/gso_ab.py, 1 worker at 40k qps, 3 alternating rounds,
 * SCHED_FIFO because the shared machine's load made nice'd runs vary by
 * +-20 %; 2026-11-27), CPU us per cache hit, medians: run.py's 100 hit
 * names (every reply one length) 15.10 without, 14.03 with (-7 %; 88 % of
 * the replies in GSO messages of 2.7; Unbound 16.18); with
 * udp-coalesce-us=100, 6 datagrams per wake-up, 8.75 -> 7.55 (-14 %). A mix
 * of types and name lengths (bench/gso_ab.py --mix; a shorter reply joining
 * as the last segment raised its GSO share from 21 to 50 %): 16.93 -> 16.88,
 * nothing measurable, the messages being mostly pairs; with coalescing 81 %,
 * 11.03 -> 10.93. Twenty client sockets: 0.4 % in GSO, 13.58 against 13.68,
 * within the noise: regrouping a batch that finds nothing costs nothing
 * visible, so it is on by default.
 *
 * @return the messages in gmsg[], or 0 when no two replies could share one
 * (then smsg[] goes as it is)
 */
static unsigned build_gso(struct ost_udp_listener *l, unsigned n)
{
	uint64_t taken = 0;
	unsigned m = 0, v = 0;
	bool grouped = false;
	for (unsigned i = 0; i < n; i++) {
		if (taken & (1ull << i))
			continue;
		size_t len = l->siov[i].iov_len;
		struct msghdr *h = &l->gmsg[m].msg_hdr;
		*h = l->smsg[i].msg_hdr;
		h->msg_iov = &l->giov[v];
		l->giov[v] = l->siov[i];
		l->gslot[v++] = (uint8_t)i;
		size_t total = len;
		for (unsigned j = i + 1; j < n && len <= GSO_MAX_SEG; j++) {
			if (l->skey[j] != l->skey[i] || (taken & (1ull << j)) ||
			    !same_dest(l, i, j))
				continue;
			size_t len_j = l->siov[j].iov_len;
			if (len_j > len || total + len_j > GSO_MAX_BYTES)
				break;
			taken |= 1ull << j;
			total += len_j;
			l->giov[v] = l->siov[j];
			l->gslot[v++] = (uint8_t)j;
			h->msg_iovlen++;
			if (len_j < len)
				break; /* a shorter one can only be the last segment */
		}
		if (h->msg_iovlen > 1) {
			/* The segment size, then the source the slots share (same_dest()). */
			size_t src_len = l->smsg[i].msg_hdr.msg_controllen;
			h->msg_control = l->gcmsg[m].buf;
			h->msg_controllen = GSO_CMSG_SPACE + src_len;
			struct cmsghdr *c = &l->gcmsg[m].align;
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)len;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			if (src_len)
				memcpy(l->gcmsg[m].buf + GSO_CMSG_SPACE, l->spkt[i].buf, src_len);
			grouped = true;
		}
		m++;
	}
	l->n_giov = v;
	return grouped ? m : 0;
}

/*
 * Turn gmsg[from..] back into one plain message per reply (after the kernel
 * refused a GSO message). @return the messages in gmsg[] now
 */
static unsigned ungroup(struct ost_udp_listener *l, unsigned from)
{
	unsigned first = (unsigned)(l->gmsg[from].msg_hdr.msg_iov - l->giov);
	unsigned m = from;
	for (unsigned v = first; v < l->n_giov; v++, m++) {
		unsigned s = l->gslot[v];
		l->gmsg[m].msg_hdr = l->smsg[s].msg_hdr;
		l->gmsg[m].msg_hdr.msg_iov = &l->giov[v];
	}
	return m;
}

/*
 * The kernel refused UDP_SEGMENT for good (EIO: no checksum offload on the
 * device or an IPsec path; EINVAL: the segment does not fit the device's
 * MTU; ENOPROTOOPT: an old kernel): plain sendmmsg() from now on.
 */
static bool is_gso_refused(int err)
{
	return err == EIO || err == EINVAL || err == ENOPROTOOPT;
}

static void gso_off(struct ost_udp_listener *l, int err)
{
	l->has_gso = false;
	ost_log(OST_LOG_INFO, "server", "udp gso off addr=%s worker=%u err=\"%s\"", l->addr->text,
		l->w->id, strerror(err));
}

/* Count what went out in GSO messages among @p n sent messages. */
static void count_gso(struct ost_udp_listener *l, const struct mmsghdr *msg, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (msg[i].msg_hdr.msg_iovlen > 1) {
			l->w->stats.udp_gso_sends++;
			l->w->stats.udp_gso_dgrams += msg[i].msg_hdr.msg_iovlen;
		}
	}
}

/* ---- sending the batch ----------------------------------------------------------------- */

/* Send the batch's replies with sendmmsg(); what does not fit is queued. */
static void flush_batch(struct ost_udp_listener *l)
{
	unsigned n = l->n_out, done = 0;
	struct mmsghdr *msg = l->smsg;
	int refused = 0; /* errno of a GSO message whose replies are being sent one by one */
	l->n_out = 0;
	if (n > 1 && l->has_gso && l->w->cfg->server.udp_gso) {
		unsigned m = build_gso(l, n);
		if (m) {
			msg = l->gmsg;
			n = m;
		}
	}
	/* Nothing may overtake queued replies' room: keep the order simple. */
	while (done < n && !l->q_head) {
		l->w->stats.udp_send_calls++;
		int ret = sendmmsg(l->fd, msg + done, n - done, MSG_DONTWAIT);
		if (ret > 0) {
			/* Its first reply went alone: GSO itself was refused, not its address. */
			if (refused)
				gso_off(l, refused);
			refused = 0;
			if (msg == l->gmsg)
				count_gso(l, msg + done, (unsigned)ret);
			done += (unsigned)ret;
			continue;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && msg[done].msg_hdr.msg_iovlen > 1 &&
		    (is_gso_refused(errno) || errno == EMSGSIZE)) {
			/*
			 * This GSO message is refused: its replies and the rest go one by
			 * one. EINVAL also means a bad address (port 0, which a spoofed
			 * query can bring): GSO is turned off only when the first reply
			 * then goes through alone, so no client can turn it off.
			 */
			refused = errno == EMSGSIZE ? 0 : errno;
			n = ungroup(l, done);
			continue;
		}
		if (ret < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			/* This message is refused (e.g. its address): skip it only. */
			refused = 0;
			l->w->stats.send_failed += msg[done].msg_hdr.msg_iovlen;
			done++;
			continue;
		}
		break;
	}
	for (; done < n; done++) {
		const struct msghdr *h = &msg[done].msg_hdr;
		for (size_t v = 0; v < h->msg_iovlen; v++) {
			/* The send slot of this reply, whose source it keeps. */
			unsigned s = msg == l->gmsg ? l->gslot[h->msg_iov + v - l->giov] : done;
			if (enqueue(l, h->msg_name, h->msg_namelen, &l->spkt[s],
				    l->smsg[s].msg_hdr.msg_controllen, h->msg_iov[v].iov_base,
				    h->msg_iov[v].iov_len) < 0)
				l->w->stats.send_failed++;
		}
	}
}

/* Send the replies made outside a batch. */
static void flush_deferred(struct ost_udp_listener *l)
{
	l->defer_on = false;
	uv_check_stop(&l->check);
	uv_idle_stop(&l->idle);
	if (l->n_out)
		flush_batch(l);
}

static void on_check(uv_check_t *h)
{
	flush_deferred(h->data);
}

static void on_idle(uv_idle_t *h)
{
	flush_deferred(h->data);
}

int ost_udp_send(struct ost_udp_listener *l, const struct sockaddr *to,
		 const struct ost_udp_local *from, const uint8_t *pkt, size_t len)
{
	if (l->closing)
		return -ECONNRESET;
	socklen_t tolen = addr_len(to);
	if (len <= SLOT_SIZE) {
		if (l->n_out == BATCH || (!l->in_batch && l->n_out >= DEFER_MAX))
			flush_batch(l);
		unsigned i = l->n_out++;
		memcpy(l->sbuf[i], pkt, len);
		memcpy(&l->sname[i], to, tolen);
		l->skey[i] = dest_key(to);
		l->siov[i].iov_len = len;
		l->smsg[i].msg_hdr.msg_namelen = tolen;
		if (l->has_pktinfo)
			l->smsg[i].msg_hdr.msg_controllen =
				ost_udp_local_put(from, l->family, &l->spkt[i]);
		if (!l->in_batch && !l->defer_on) {
			l->defer_on = true;
			(void)uv_check_start(&l->check, on_check);
			(void)uv_idle_start(&l->idle, on_idle);
		}
		return 0;
	}
	union ost_udp_pktinfo_buf ctl;
	size_t ctllen = l->has_pktinfo ? ost_udp_local_put(from, l->family, &ctl) : 0;
	if (!l->q_head) {
		int ret = send_one(l, to, tolen, &ctl, ctllen, pkt, len);
		if (ret <= 0)
			return ret;
	}
	return enqueue(l, to, tolen, &ctl, ctllen, pkt, len);
}

/* ---- receiving ---------------------------------------------------------------------- */

/* One recvmmsg() batch. @return the datagrams read (0: none queued) */
static int receive_batch(struct ost_udp_listener *l)
{
	struct ost_worker *w = l->w;
	for (unsigned i = 0; i < BATCH; i++)
		l->rmsg[i].msg_hdr.msg_namelen = sizeof(l->rname[i]);
	if (l->has_pktinfo)
		for (unsigned i = 0; i < BATCH; i++)
			l->rmsg[i].msg_hdr.msg_controllen = sizeof(l->rctl[i].buf);
	int n;
	do {
		n = recvmmsg(l->fd, l->rmsg, BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	w->stats.udp_recv_calls++;
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			ost_log(OST_LOG_DEBUG, "server", "udp receive error addr=%s err=\"%s\"",
				l->addr->text, strerror(errno));
		return 0;
	}
	w->stats.udp_datagrams += (unsigned)n;
	/* One clock read for the whole batch: its queries' latency starts here. */
	w->rx_ns = uv_hrtime();
	w->stats.udp_batch[n == 1 ? 0 : n <= 4 ? 1 : n <= 16 ? 2 : 3]++;
	l->in_batch = true;
	for (int i = 0; i < n && !l->closing; i++) {
		const struct msghdr *h = &l->rmsg[i].msg_hdr;
		const struct sockaddr *addr = (const struct sockaddr *)&l->rname[i];
		if ((h->msg_flags & MSG_TRUNC) || h->msg_namelen == 0) {
			w->stats.dropped++;
			continue;
		}
		/* The client ACL comes before anything else looks at the bytes. */
		bool allowed = ost_acl_match(&w->cfg->access.allow, addr);
		if (!allowed && w->cfg->access.deny_action == OST_DENY_DROP) {
			w->stats.acl_denied++;
			w->stats.dropped++;
			continue;
		}
		struct ost_reply_to to = {.w = w, .proto = OST_PROTO_UDP, .udp = l};
		memcpy(&to.client, addr, addr_len(addr));
		if (l->has_pktinfo)
			ost_udp_local_get(h, &to.local);
		ost_worker_on_message(w, &to, allowed, l->rbuf[i], l->rmsg[i].msg_len);
	}
	l->in_batch = false;
	if (l->n_out)
		flush_batch(l);
	return n;
}

/* Read what is queued, a batch at a time. @return the datagrams read */
static unsigned receive_all(struct ost_udp_listener *l)
{
	unsigned total = 0;
	for (unsigned round = 0; round < BATCH_ROUNDS && !l->closing; round++) {
		int n = receive_batch(l);
		total += (unsigned)n;
		if (n < BATCH)
			break;
	}
	return total;
}

/* ---- adaptive receive coalescing ------------------------------------------------------ */

/* Arm the coalescing timer for @p ns nanoseconds from now (0 disarms it). */
static int arm_timer(struct ost_udp_listener *l, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
			     .tv_nsec = (long)(ns % 1000000000u)},
	};
	/* Setting the timer also clears its expiry count, so tfd stops being readable. */
	return timerfd_settime(l->tfd, 0, &its, NULL);
}

/*
 * Account a wake-up at @p now that read @p n datagrams in the moving average
 * of the time between datagrams (weight 1/4 for the newest sample). An empty
 * wake-up counts as one datagram: a window without traffic raises the average.
 */
static void note_arrivals(struct ost_udp_listener *l, uint64_t now, unsigned n)
{
	uint64_t sample = now - l->last_rx_ns;
	if (sample > 1000000000u)
		sample = 1000000000u;
	sample /= n ? n : 1;
	if (sample >= l->gap_ns)
		l->gap_ns += (sample - l->gap_ns) / 4;
	else
		l->gap_ns -= (l->gap_ns - sample) / 4;
	l->last_rx_ns = now;
}

/* Worth waiting: datagrams come more than twice per window of @p window_ns. */
static bool is_busy(const struct ost_udp_listener *l, uint64_t window_ns)
{
	return window_ns && l->gap_ns * 2 < window_ns;
}

static void on_timer(uv_poll_t *p, int status, int events)
{
	struct ost_udp_listener *l = p->data;
	uint64_t window_ns = (uint64_t)l->w->cfg->server.udp_coalesce_us * 1000;
	if (status == 0 && !(events & UV_READABLE))
		return;
	if (status == 0 && l->coalescing && !l->closing) {
		l->w->stats.udp_wakeups++;
		l->w->stats.udp_coalesced++;
		uint64_t now = uv_hrtime();
		unsigned n = receive_all(l);
		note_arrivals(l, now, n);
		/* A full last round left datagrams queued: come back at once. */
		uint64_t next = n == BATCH * BATCH_ROUNDS ? 1 : window_ns;
		if (n > 0 && is_busy(l, window_ns) && !l->closing && arm_timer(l, next) == 0)
			return;
	}
	/* Back to reading on events, each datagram as soon as it comes. */
	(void)arm_timer(l, 0);
	l->coalescing = false;
	update_events(l);
}

/*
 * After a wake-up on a readable event: when datagrams have come faster than
 * two per window lately, stop watching the socket and read it when the
 * window ends, so that the next wake-up finds several (see the top).
 */
static void maybe_coalesce(struct ost_udp_listener *l)
{
	uint64_t window_ns = (uint64_t)l->w->cfg->server.udp_coalesce_us * 1000;
	if (l->tfd < 0 || l->closing || !is_busy(l, window_ns))
		return;
	if (arm_timer(l, window_ns) < 0)
		return;
	l->coalescing = true;
	update_events(l);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct ost_udp_listener *l = p->data;
	if (status < 0) {
		ost_log(OST_LOG_DEBUG, "server", "udp poll error addr=%s err=\"%s\"", l->addr->text,
			uv_strerror(status));
		return;
	}
	if (events & UV_WRITABLE)
		drain_queue(l);
	if (!(events & UV_READABLE) || l->coalescing)
		return;
	l->w->stats.udp_wakeups++;
	if (l->w->cfg->server.udp_coalesce_us == 0 || l->tfd < 0) {
		(void)receive_all(l);
		return;
	}
	uint64_t now = uv_hrtime();
	unsigned n = receive_all(l);
	if (n > 0) {
		note_arrivals(l, now, n);
		maybe_coalesce(l);
	}
}

/* Watch the socket for what is wanted now: reading unless coalescing, writing when queued. */
static void update_events(struct ost_udp_listener *l)
{
	int want = (l->coalescing ? 0 : UV_READABLE) | (l->q_head ? UV_WRITABLE : 0);
	if (l->closing || want == l->events)
		return;
	l->events = want;
	if (want)
		(void)uv_poll_start(&l->poll, want, on_poll);
	else
		(void)uv_poll_stop(&l->poll);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void listener_maybe_free(struct ost_udp_listener *l)
{
	if (l->open_handles == 0 && l->refs == 0)
		free(l);
}

static void on_closed(uv_handle_t *h)
{
	struct ost_udp_listener *l = h->data;
	if (--l->open_handles > 0)
		return;
	close(l->fd);
	if (l->tfd >= 0)
		close(l->tfd);
	while (l->q_head) {
		struct queued_send *qs = l->q_head;
		l->q_head = qs->next;
		free(qs);
	}
	l->q_tail = &l->q_head;
	listener_maybe_free(l);
}

void ost_udp_listener_ref(struct ost_udp_listener *l)
{
	l->refs++;
}

void ost_udp_listener_unref(struct ost_udp_listener *l)
{
	l->refs--;
	listener_maybe_free(l);
}

int ost_udp_listener_open(struct ost_worker *w, int fd, const struct ost_addr *a,
			  struct ost_udp_listener **out)
{
	struct ost_udp_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	l->w = w;
	l->addr = a;
	l->fd = fd;
	l->tfd = -1;
	l->gap_ns = 1000000000u;
	l->q_tail = &l->q_head;
	l->family = a->ss.ss_family;
	/* Only a wildcard listener sets each reply's source (udp_cmsg.h); the others as ever. */
	if (ost_udp_is_wildcard(&a->ss)) {
		int ret = ost_udp_pktinfo_on(fd, l->family);
		if (ret < 0) {
			ost_log(OST_LOG_ERR, "server", "udp pktinfo failed addr=%s err=\"%s\"",
				a->text, strerror(-ret));
			free(l);
			close(fd);
			return ret;
		}
		l->has_pktinfo = true;
		for (unsigned i = 0; i < BATCH; i++) {
			l->rmsg[i].msg_hdr.msg_control = l->rctl[i].buf;
			l->smsg[i].msg_hdr.msg_control = l->spkt[i].buf;
		}
	}
	for (unsigned i = 0; i < BATCH; i++) {
		l->riov[i] = (struct iovec){.iov_base = l->rbuf[i], .iov_len = SLOT_SIZE};
		l->rmsg[i].msg_hdr.msg_iov = &l->riov[i];
		l->rmsg[i].msg_hdr.msg_iovlen = 1;
		l->rmsg[i].msg_hdr.msg_name = &l->rname[i];
		l->siov[i].iov_base = l->sbuf[i];
		l->smsg[i].msg_hdr.msg_iov = &l->siov[i];
		l->smsg[i].msg_hdr.msg_iovlen = 1;
		l->smsg[i].msg_hdr.msg_name = &l->sname[i];
	}
	int ret = uv_poll_init_socket(&w->loop, &l->poll, fd);
	if (ret < 0) {
		free(l);
		close(fd);
		return ret;
	}
	(void)uv_check_init(&w->loop, &l->check); /* these cannot fail */
	(void)uv_idle_init(&w->loop, &l->idle);
	l->poll.data = l->tpoll.data = l->check.data = l->idle.data = l;
	l->open_handles = 3;
	/* Without a timer the listener still works, reading on every event. */
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd >= 0 && uv_poll_init(&w->loop, &l->tpoll, tfd) == 0) {
		l->tfd = tfd;
		l->open_handles++;
		(void)uv_poll_start(&l->tpoll, UV_READABLE, on_timer);
	} else if (tfd >= 0) {
		close(tfd);
	}
	if (tfd < 0)
		ost_log(OST_LOG_WARN, "server", "udp coalescing off addr=%s err=\"%s\"", a->text,
			strerror(errno));
	/* Kernels before 4.18 ignore a UDP_SEGMENT cmsg (one long datagram would leave): ask. */
	int gso_size = 0;
	socklen_t gso_len = sizeof(gso_size);
	l->has_gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso_size, &gso_len) == 0;
	if (!l->has_gso && w->cfg->server.udp_gso)
		ost_log(OST_LOG_INFO, "server", "udp gso off addr=%s worker=%u err=\"%s\"", a->text,
			w->id, strerror(errno));
	l->events = UV_READABLE;
	ret = uv_poll_start(&l->poll, UV_READABLE, on_poll);
	if (ret < 0) {
		ost_udp_listener_close(l);
		return ret;
	}
	ost_log(OST_LOG_INFO, "server", "udp socket ready addr=%s worker=%u rcvbuf=%d sndbuf=%d",
		a->text, w->id, buffer_size(fd, SO_RCVBUF), buffer_size(fd, SO_SNDBUF));
	*out = l;
	return 0;
}

void ost_udp_listener_close(struct ost_udp_listener *l)
{
	/* Replies already made still go out; later ones get -ECONNRESET. */
	if (l->n_out)
		flush_batch(l);
	l->closing = true;
	uv_close((uv_handle_t *)&l->poll, on_closed);
	if (l->tfd >= 0)
		uv_close((uv_handle_t *)&l->tpoll, on_closed);
	uv_close((uv_handle_t *)&l->check, on_closed);
	uv_close((uv_handle_t *)&l->idle, on_closed);
}
