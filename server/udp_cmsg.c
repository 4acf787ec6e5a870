/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control messages of wildcard UDP listeners (see udp_cmsg.h): where each
 * query was sent to (IP_PKTINFO, IPV6_PKTINFO on receive) and where its
 * reply leaves from (the same messages on send). udp.c calls these only for
 * listeners bound to 0.0.0.0 or ::, so a listener on a specific address
 * pays nothing.
 */
#include "udp_cmsg.h"

#include <errno.h>
#include <string.h>

_Static_assert(_Alignof(union ost_udp_pktinfo_buf) >= _Alignof(struct cmsghdr) &&
		       _Alignof(union ost_udp_rctl_buf) >= _Alignof(struct cmsghdr),
	       "control buffers are aligned for struct cmsghdr");

bool ost_udp_is_wildcard(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
	return false;
}

int ost_udp_pktinfo_on(int fd, int family)
{
	int one = 1;
	int ret = family == AF_INET6
			  ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))
			  : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	return ret < 0 ? -errno : 0;
}

void ost_udp_local_get(const struct msghdr *h, struct ost_udp_local *out)
{
	memset(out, 0, sizeof(*out));
	/* A cut control buffer may hold half a message: trust none of it. */
	if (h->msg_flags & MSG_CTRUNC)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/*
			 * ipi_spec_dst, not ipi_addr: for unicast they are the same,
			 * but a datagram to a broadcast address has that in
			 * ipi_addr, which no reply may come from, and the
			 * interface's own address in ipi_spec_dst.
			 */
			out->family = AF_INET;
			out->ifindex = (unsigned)pi.ipi_ifindex;
			out->addr.v4 = pi.ipi_spec_dst;
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			out->family = AF_INET6;
			out->ifindex = pi.ipi6_ifindex;
			out->addr.v6 = pi.ipi6_addr;
			return;
		}
	}
}

size_t ost_udp_local_put(const struct ost_udp_local *from, int family,
			 union ost_udp_pktinfo_buf *out)
{
	if (!from || from->family == 0)
		return 0;
	/* Zeroed whole, padding too: udp.c compares these bytes to group replies. */
	memset(out, 0, sizeof(*out));
	struct cmsghdr *c = (struct cmsghdr *)out->buf;
	if (family == AF_INET) {
		if (from->family != AF_INET)
			return 0;
		/* ipi_ifindex 0: the route to the client picks the way out, as without. */
		struct in_pktinfo pi = {.ipi_ifindex = 0, .ipi_spec_dst = from->addr.v4};
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	/*
	 * An IPv6 socket. An IPv4 reply on a dual-stack one (to an IPv4-mapped
	 * client) takes the IPv4-mapped source in IPV6_PKTINFO as well (Linux:
	 * ip_cmsg_send() with allow_ipv6), and like IPv4 no interface. A
	 * link-local source is only unique with its interface.
	 */
	struct in6_pktinfo pi = {.ipi6_ifindex = 0};
	if (from->family == AF_INET) {
		pi.ipi6_addr.s6_addr[10] = 0xff;
		pi.ipi6_addr.s6_addr[11] = 0xff;
		memcpy(&pi.ipi6_addr.s6_addr[12], &from->addr.v4, 4);
	} else {
		pi.ipi6_addr = from->addr.v6;
		if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
			pi.ipi6_ifindex = from->ifindex;
	}
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return CMSG_SPACE(sizeof(pi));
}
