// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Linked into the static binaries only. netseg resolves no names: every
 * address it takes is numeric (inet_pton), and --metrics binds the socket
 * itself. libevent's evutil.o still refers to the resolver, which in a
 * static glibc binary would need glibc's NSS modules at run time from the
 * host it was copied to, and warns so at every link. These stand-ins keep
 * glibc's resolver out of the binary and fail as a lookup without NSS would.
 */
#include <netdb.h>
#include <stddef.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_FAIL;
}

void freeaddrinfo(struct addrinfo *res)
{
	(void)res;
}

const char *gai_strerror(int code)
{
	(void)code;
	return "name resolution is not built into netseg's static binaries";
}

struct servent *getservbyname(const char *name, const char *proto)
{
	(void)name;
	(void)proto;
	return NULL;
}

struct protoent *getprotobynumber(int proto)
{
	(void)proto;
	return NULL;
}
