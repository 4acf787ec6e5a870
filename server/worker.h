/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file worker.h
 * The daemon's worker threads and the hook where client queries are answered.
 *
 * ostrovd runs one worker per core. Each has its own libuv loop, its own UDP
 * socket per listen address (SO_REUSEPORT: the kernel spreads datagrams over
 * the workers), a share of the TCP listeners (one listening socket per
 * address, accepted from by every worker), its own clock and its own
 * transport for upstream queries. Nothing is shared between workers except
 * the read-only configuration and a TCP connection counter.
 *
 * Example: a datagram from 127.0.0.1@40000 reaches worker 1's socket for
 * 127.0.0.1@5300. udp.c checks the client ACL, packet.c classifies it as a
 * query, and ost_worker_answer() (engine.c) gets a struct ost_client_query.
 * It looks in the cache and answers at once, or ost_reply_hold()s the reply
 * target, starts resolving with &w->clock.clock and &w->transport.tp, and
 * later calls ost_reply_send() and ost_reply_release().
 */
#ifndef OSTROV_SERVER_WORKER_H
#define OSTROV_SERVER_WORKER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>

#include <uv.h>

#include "ostrov/config.h"
#include "ostrov/transport.h"

#include "packet.h"
#include "uvio.h"

struct ost_udp_listener;
struct ost_tcp_listener;
struct ost_tcp_conn;
struct ost_worker;
struct ost_engine;

/** What every worker shares: read-only after start, except the atomics. */
struct ost_server {
	const struct ost_config *cfg; /**< the configuration */
	struct ost_worker *workers;   /**< array of n_workers */
	unsigned n_workers;           /**< worker threads */
	atomic_uint tcp_conns;        /**< open client TCP connections, all workers */
	struct ost_engine *engine;    /**< cache, hints and resolver config, or NULL */
};

/** Per-worker counters (each written only by its worker's thread). */
struct ost_worker_stats {
	uint64_t udp_queries; /**< datagrams classified as queries */
	uint64_t tcp_queries; /**< TCP messages classified as queries */
	uint64_t dropped;     /**< packets dropped (short, responses, ACL drop) */
	uint64_t errors;      /**< FORMERR, NOTIMP and BADVERS answers */
	uint64_t acl_denied;  /**< packets or connections outside access.allow */
	uint64_t tcp_refused; /**< connections over tcp-max-connections */
	uint64_t send_failed; /**< replies that could not be sent */
	/* UDP receive path (udp.c): how datagrams arrive, to tune coalescing by. */
	uint64_t udp_wakeups;    /**< readable events and coalescing timer expiries */
	uint64_t udp_recv_calls; /**< recvmmsg() calls */
	uint64_t udp_datagrams;  /**< datagrams they returned */
	uint64_t udp_batch[4];   /**< recvmmsg() returning 1, 2-4, 5-16, 17-64 datagrams */
	uint64_t udp_send_calls; /**< sendmmsg() calls */
	uint64_t udp_coalesced;  /**< wake-ups that waited for more datagrams (coalescing) */
	uint64_t udp_gso_sends;  /**< messages sent with UDP_SEGMENT (several replies each) */
	uint64_t udp_gso_dgrams; /**< replies sent inside those messages */
	uint64_t rcode[17];      /**< replies sent by rcode; [16] BADVERS (OST_RCODE_SLOTS) */
};

/** One worker thread and everything its loop owns. */
struct ost_worker {
	unsigned id;                       /**< 0 .. n_workers-1, for logs */
	struct ost_server *srv;            /**< shared state */
	const struct ost_config *cfg;      /**< srv->cfg */
	uv_loop_t loop;                    /**< this worker's loop */
	uv_thread_t thread;                /**< its thread */
	uv_async_t stop;                   /**< ost_worker_stop() wakes the loop with it */
	struct ost_uv_clock clock;         /**< the engine's clock for this worker */
	struct ost_uv_transport transport; /**< the engine's transport for this worker */
	struct ost_udp_listener **udp;     /**< UDP sockets, one per listen address */
	struct ost_tcp_listener **tcp;     /**< TCP listeners, one per listen address */
	size_t n_listen;                   /**< entries in @p udp and @p tcp */
	struct ost_tcp_conn *conns;        /**< open client connections */
	struct ost_worker_stats stats;     /**< counters */
	/** uv_hrtime() when the listener read the message(s) it hands on now: taken
	 *  once per recvmmsg() batch (udp.c) or TCP read (tcp.c), so one clock read
	 *  serves a whole batch; where the client latency histogram starts */
	uint64_t rx_ns;
	void *engine; /**< resolver, cache reader ... (engine.c), or NULL */
};

/**
 * The local address a UDP query was sent to, as a listener bound to a
 * wildcard address (0.0.0.0, ::) reads it from IP_PKTINFO / IPV6_PKTINFO
 * (udp_cmsg.c): its reply leaves from there, not from whatever address the
 * kernel's routing would pick on a multi-homed host.
 */
struct ost_udp_local {
	sa_family_t family; /**< AF_INET, AF_INET6 (also IPv4-mapped), or 0: not known */
	unsigned ifindex;   /**< the interface the query came in on */
	union {
		struct in_addr v4;  /**< AF_INET */
		struct in6_addr v6; /**< AF_INET6 */
	} addr;                     /**< the address */
};

/**
 * Where a reply goes. Inside ost_worker_answer() it is valid as it is; to
 * answer later, copy it and call ost_reply_hold() on the copy.
 */
struct ost_reply_to {
	struct ost_worker *w;           /**< the worker the query came to */
	enum ost_proto proto;           /**< UDP or TCP */
	struct sockaddr_storage client; /**< the client's address */
	struct ost_udp_listener *udp;   /**< UDP: the socket it came in on */
	struct ost_udp_local local;     /**< UDP on a wildcard listener: where it was sent to */
	struct ost_tcp_conn *tcp;       /**< TCP: its connection */
	uint16_t max_size;              /**< largest reply the client accepts */
};

/** A client query as ost_worker_answer() receives it. */
struct ost_client_query {
	struct ost_reply_to to; /**< where the reply goes */
	const uint8_t *wire;    /**< the query message, borrowed for the call */
	size_t len;             /**< its length */
	struct ost_question q;  /**< what the classifier found in it */
	uint64_t rx_ns;         /**< when it was read (ost_worker.rx_ns) */
};

/**
 * THE answering hook (engine.c): produce the answer to a well-formed,
 * allowed query. Without a resolver (no root hints) it answers REFUSED; with
 * RD=0 too (no cache snooping, as Unbound's "allow"); otherwise from the
 * cache (OST_CTAG_MSG) at once, or through ost_resolve() later.
 * @param w the worker
 * @param cq the query, borrowed for the call
 */
void ost_worker_answer(struct ost_worker *w, struct ost_client_query *cq);

/**
 * Send a reply. Over UDP a reply longer than to->max_size is refused with
 * -EMSGSIZE (the caller truncates: TC=1, RFC 7766 5); over TCP the length
 * prefix is added here.
 * @param to the reply target
 * @param pkt the message, copied if it cannot be sent at once
 * @param len its length
 * @return 0, -EMSGSIZE, -ECONNRESET when the TCP connection is gone, or a
 *         libuv error
 */
int ost_reply_send(const struct ost_reply_to *to, const uint8_t *pkt, size_t len) OST_WUR;

/** Keep the reply target of @p to valid after ost_worker_answer() returns. */
void ost_reply_hold(struct ost_reply_to *to);

/** Release what ost_reply_hold() kept. */
void ost_reply_release(struct ost_reply_to *to);

/**
 * Answer @p q with only an rcode (REFUSED for a denied client, SERVFAIL, an
 * error the classifier found); a failure to send is counted.
 * @param w the worker
 * @param to the reply target
 * @param q the question
 * @param rcode the rcode
 */
void ost_worker_answer_rcode(struct ost_worker *w, const struct ost_reply_to *to,
			     const struct ost_question *q, unsigned rcode);

/**
 * Handle one message from a client: ACL (already decided by the caller and
 * passed in @p allowed), classification, error answers, or the hook.
 * Called by udp.c and tcp.c; @p to is filled except for max_size.
 */
void ost_worker_on_message(struct ost_worker *w, struct ost_reply_to *to, bool allowed,
			   const uint8_t *pkt, size_t len);

/**
 * Set up a worker on sockets the caller has bound (ost_udp_socket(),
 * ost_tcp_socket()): its loop, listeners, clock and transport. Runs in the
 * main thread before the worker's thread starts.
 * @param w the worker (zeroed by the caller)
 * @param srv shared state
 * @param id its number
 * @param udp_fds bound UDP sockets, one per listen address; taken over
 * @param tcp_fds listening TCP sockets, one per listen address; duplicated
 * @return 0 or a negative error (then ost_worker_deinit() cleans up)
 */
int ost_worker_init(struct ost_worker *w, struct ost_server *srv, unsigned id, const int *udp_fds,
		    const int *tcp_fds) OST_WUR;

/** Start the worker's thread. @return 0 or a libuv error */
int ost_worker_start(struct ost_worker *w) OST_WUR;

/** Ask the worker to close everything and end its loop (any thread). */
void ost_worker_stop(struct ost_worker *w);

/** Wait for the thread to end, then release the loop. */
void ost_worker_join(struct ost_worker *w);

/** Release a worker whose thread never started (on a start-up failure). */
void ost_worker_deinit(struct ost_worker *w);

/* ---- udp.c and tcp.c ---- */

/**
 * Open a UDP socket for @p a with SO_REUSEPORT and bind it.
 * @return the descriptor, or a negative errno
 */
int ost_udp_socket(const struct ost_addr *a) OST_WUR;

/**
 * Open a TCP socket for @p a (SO_REUSEADDR but not SO_REUSEPORT, so a second
 * daemon on the same address fails here) and listen on it.
 * @return the descriptor, or a negative errno
 */
int ost_tcp_socket(const struct ost_addr *a) OST_WUR;

/** Take over bound socket @p fd as worker @p w's UDP listener for @p a. */
int ost_udp_listener_open(struct ost_worker *w, int fd, const struct ost_addr *a,
			  struct ost_udp_listener **out) OST_WUR;

/** Close a UDP listener (freed in its close callback). */
void ost_udp_listener_close(struct ost_udp_listener *l);

/** Keep @p l's memory alive for a held reply. */
void ost_udp_listener_ref(struct ost_udp_listener *l);
/** Drop a reference taken with ost_udp_listener_ref(). */
void ost_udp_listener_unref(struct ost_udp_listener *l);

/**
 * Send @p pkt to @p to from listener @p l (-ECONNRESET once it is closing).
 * On a wildcard listener the reply leaves from @p from (the address the query
 * was sent to; NULL or family 0: the kernel picks); other listeners ignore it.
 */
int ost_udp_send(struct ost_udp_listener *l, const struct sockaddr *to,
		 const struct ost_udp_local *from, const uint8_t *pkt, size_t len) OST_WUR;

/** Accept from listening socket @p fd (duplicated) in worker @p w. */
int ost_tcp_listener_open(struct ost_worker *w, int fd, const struct ost_addr *a,
			  struct ost_tcp_listener **out) OST_WUR;

/** Close a TCP listener (freed in its close callback). */
void ost_tcp_listener_close(struct ost_tcp_listener *l);

/** Close every client connection of @p w (on shutdown). */
void ost_tcp_close_all(struct ost_worker *w);

/** Send one framed message on @p c. */
int ost_tcp_send(struct ost_tcp_conn *c, const uint8_t *pkt, size_t len) OST_WUR;

/** Reference counting of connections for held replies. */
void ost_tcp_conn_ref(struct ost_tcp_conn *c);
/** Drop a reference taken with ost_tcp_conn_ref(). */
void ost_tcp_conn_unref(struct ost_tcp_conn *c);

#endif
