/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file udp_cmsg.h
 * The source address of replies on a wildcard UDP listener (udp_cmsg.c),
 * for server/udp.c only.
 *
 * A socket bound to 0.0.0.0@53 or [::]@53 receives queries sent to every
 * local address, and a reply sent without a source address leaves from the
 * one the kernel's routing picks: on a multi-homed host a client that asked
 * 192.0.2.1 may hear from 192.0.2.2 and drop the answer. So such a socket
 * asks for the destination of each datagram (IP_PKTINFO, IPV6_RECVPKTINFO)
 * and each reply names its source in the same kind of control message, as
 * Unbound's interface-automatic and Knot Resolver do.
 *
 * Example: a query to 127.0.0.2@5300 reaches the listener on 0.0.0.0@5300.
 * recvmmsg() returns an IP_PKTINFO message with it; ost_udp_local_get()
 * turns it into a struct ost_udp_local {AF_INET, lo, 127.0.0.2}, carried by
 * the reply target (struct ost_reply_to) while the query is answered, now
 * or after an upstream round trip. ost_udp_local_put() writes the reply's
 * IP_PKTINFO (ipi_spec_dst 127.0.0.2, ipi_ifindex 0), and sendmmsg() sends
 * it from 127.0.0.2. Listeners on a specific address use none of this.
 */
#ifndef OSTROV_SERVER_UDP_CMSG_H
#define OSTROV_SERVER_UDP_CMSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "worker.h"

/** The bytes of the one pktinfo control message a reply carries. */
#define OST_UDP_PKTINFO_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))

/** A reply's pktinfo control message, aligned for struct cmsghdr. */
union ost_udp_pktinfo_buf {
	char buf[OST_UDP_PKTINFO_SPACE]; /**< the message */
	/** alignment of struct cmsghdr (its first member), which cannot be a member here:
	 *  it ends in a flexible array, and this union sits inside other structs */
	size_t align;
};

/**
 * The control buffer of one received datagram: room for IPV6_PKTINFO and
 * IP_PKTINFO both (an IPv6 socket that also takes IPv4 may get both).
 */
union ost_udp_rctl_buf {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		 CMSG_SPACE(sizeof(struct in_pktinfo))]; /**< the messages */
	size_t align; /**< alignment of struct cmsghdr, as in ost_udp_pktinfo_buf */
};

/**
 * Whether @p a is a wildcard address (0.0.0.0 or ::), whose listener needs
 * the source of each reply set.
 */
bool ost_udp_is_wildcard(const struct sockaddr_storage *a);

/**
 * Ask the kernel for the destination of each datagram on @p fd, a socket of
 * @p family: IP_PKTINFO, or IPV6_RECVPKTINFO (which also reports IPv4
 * datagrams on a dual-stack socket, as IPv4-mapped addresses).
 * @return 0 or a negative errno
 */
int ost_udp_pktinfo_on(int fd, int family) OST_WUR;

/**
 * Read where a received datagram was sent to from its control messages.
 * @param h the message as recvmmsg() returned it
 * @param out the address; family 0 when there was none (or it was cut)
 */
void ost_udp_local_get(const struct msghdr *h, struct ost_udp_local *out);

/**
 * Write the pktinfo control message that sends a reply from @p from on a
 * socket of @p family: IPv4 names ipi_spec_dst with ipi_ifindex 0 (routing
 * still picks the way out); IPv6 names the address, and the interface only
 * for a link-local one, whose scope is that interface.
 * @param from the source; NULL or family 0 for none
 * @param family the socket's address family
 * @param out where the message goes
 * @return the bytes written (the msg_controllen), or 0 for none
 */
size_t ost_udp_local_put(const struct ost_udp_local *from, int family,
			 union ost_udp_pktinfo_buf *out);

#endif
