/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file transport.h
 * The transport interface: how the engine sends queries to authoritative
 * servers without touching a socket.
 *
 * The engine fills a struct ost_upstream_query (server address, protocol,
 * query wire, timeout, completion callback) and hands it to send(). The
 * transport delivers every packet that arrives from exactly that address and
 * port (UDP: on the query's own random-port socket; TCP: on its connection)
 * to the callback. The engine checks ID and question; a callback that returns
 * -EAGAIN rejects the packet (a spoof attempt) and the transport keeps
 * waiting until the timeout. Any other return ends the query: the transport
 * releases its resources and never calls back again.
 *
 * server/upstream.c implements it with libuv; tests use a fake that records
 * the queries and answers from a script; resilience/ wraps a transport to
 * simulate loss during drills.
 *
 * Example: the iterator asks 127.53.0.1:53 over UDP for "ru. NS"; the reply
 * has TC=1, so it sends the same question again with proto OST_PROTO_TCP.
 */
#ifndef OSTROV_TRANSPORT_H
#define OSTROV_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Transport protocol of one outbound query. */
enum ost_proto {
	OST_PROTO_UDP = 0, /**< one datagram each way */
	OST_PROTO_TCP,     /**< RFC 7766 stream, 2-byte length prefix added by the transport */
	OST_PROTO_COUNT,
};

struct ost_upstream_query;

/**
 * Completion of an outbound query.
 * @param q the query
 * @param status 0 with @p pkt set, or -ETIMEDOUT, -ECONNREFUSED, -ENETUNREACH,
 *        OST_ENOTALLOWED (address outside the allow-list) ... with @p pkt NULL
 * @param pkt the packet received, borrowed for the duration of the call
 * @param len its length
 * @return 0 when the query is finished; -EAGAIN (only with status 0) to
 *         reject this packet and keep waiting for another
 */
typedef int (*ost_upstream_cb)(struct ost_upstream_query *q, int status, const uint8_t *pkt,
			       size_t len);

/** One query to one server, owned by the engine until it completes. */
struct ost_upstream_query {
	struct sockaddr_storage addr; /**< server address and port */
	socklen_t addrlen;            /**< length of @p addr */
	enum ost_proto proto;         /**< UDP or TCP */
	const uint8_t *wire;          /**< query message, borrowed until completion */
	size_t len;                   /**< its length */
	uint32_t timeout_ms;          /**< give up after this long */
	ost_upstream_cb cb;           /**< completion callback */
	void *arg;                    /**< for the engine */
	void *tp_priv;                /**< for the transport */
};

/** Operations a transport provides. */
struct ost_transport_ops {
	/**
	 * Start sending @p q. On success the callback is called exactly once
	 * with a final status (or several times with rejected packets first).
	 * @return 0, or a negative error when nothing was sent (no callback)
	 */
	int (*send)(void *ctx, struct ost_upstream_query *q);
	/** Abandon @p q: its callback is never called again. */
	void (*cancel)(void *ctx, struct ost_upstream_query *q);
};

/** A transport: operations plus their state. */
struct ost_transport {
	const struct ost_transport_ops *ops; /**< the operations */
	void *ctx;                           /**< passed to every operation */
};

#endif
